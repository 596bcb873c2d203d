//! A sample account holding all three providers, the `telephony.yaml` that declares exactly it, and the secrets that
//! file resolves to: the fixture `reconcile`'s integration tests start from, and what its benchmark plans against.
//!
//! [`FULL_FILE`] reads `telnyx.apiKey` from `secrets/telnyx-api-key` (holding [`TELNYX_API_KEY`]) and the other
//! secrets from `TWILIO_AUTH_TOKEN`, `TELNYX_PUBLIC_KEY` and `PLIVO_AUTH_TOKEN`; the API key is [`API_KEY`] (from
//! `ULTRAVOX_API_KEY`). With those set, planning it against [`full_state`] finds no change.

use std::collections::BTreeMap;

use crate::{AccountState, Plivo, Telnyx, Twilio};

/// The sample account's API key.
pub const API_KEY: &str = "test-uvx-key-4f1c";
/// Agent IDs the sample's Twilio block allows.
pub const AGENT_A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
pub const AGENT_B: &str = "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6";

/// The secret values [`FULL_FILE`] resolves to; none may ever appear in `reconcile`'s output.
pub const TWILIO_TOKEN: &str = "Tq7wR2-token-QX7R-0001";
pub const TELNYX_API_KEY: &str = "KEYt3lX-api-9Z3M";
pub const TELNYX_PUBLIC_KEY: &str = "pbK7tn-pub-W2V8xy";
pub const PLIVO_TOKEN: &str = "Pl4vQ-token-LK55-aaaa";

/// A `telephony.yaml` declaring all three providers, equal to [`full_state`].
pub const FULL_FILE: &str = r#"version: 1
twilio:
  accountSid: AC0123456789abcdef0123456789abcdef
  authToken: { env: TWILIO_AUTH_TOKEN }
  callCreationAllowedAgentIds:
    - 3c90c3cc-0d44-4b50-8888-8dd25736052a
    - 9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6
  requestContextMapping:
    From: user.phone_number
telnyx:
  accountSid: 2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c
  apiKey: { file: secrets/telnyx-api-key }
  publicKey: { env: TELNYX_PUBLIC_KEY }
  applicationSid: "1234567890123456789"
  callCreationAllowAllAgents: true
plivo:
  authId: MAXXXXXXXXXXXXXXXXXX
  authToken: { env: PLIVO_AUTH_TOKEN }
"#;

/// The account [`FULL_FILE`] declares, with its secrets.
pub fn full_state() -> AccountState {
    AccountState {
        twilio: Some(Twilio {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: TWILIO_TOKEN.into(),
            allowed_agent_ids: vec![AGENT_A.into(), AGENT_B.into()],
            allow_all_agents: false,
            request_context_mapping: BTreeMap::from([("From".to_string(), "user.phone_number".to_string())]),
        }),
        telnyx: Some(Telnyx {
            account_sid: "2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c".into(),
            api_key: TELNYX_API_KEY.into(),
            public_key: TELNYX_PUBLIC_KEY.into(),
            application_sid: "1234567890123456789".into(),
            allowed_agent_ids: vec![],
            allow_all_agents: true,
            request_context_mapping: BTreeMap::new(),
        }),
        plivo: Some(Plivo {
            auth_id: "MAXXXXXXXXXXXXXXXXXX".into(),
            auth_token: PLIVO_TOKEN.into(),
            allowed_agent_ids: vec![],
            allow_all_agents: false,
            request_context_mapping: BTreeMap::new(),
        }),
        ..AccountState::default()
    }
}
