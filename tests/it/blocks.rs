//! A provider's block as the property tests (`property`, `data_kept`) generate it, provider-agnostic, and the account
//! a list of them seeds the emulator with.

use std::collections::BTreeMap;

use crate::common::{AccountState, Plivo, Telnyx, Twilio};

/// One provider block: identifiers and secrets in the order of the provider's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub identifiers: Vec<String>,
    pub secrets: Vec<String>,
    /// Indexes into the test's list of agent IDs, in order.
    pub agents: Vec<usize>,
    pub allow_all: bool,
    pub mapping: BTreeMap<String, String>,
}

impl Block {
    /// The block's agent IDs, out of `agents` (the test's list).
    pub fn agent_ids(&self, agents: &[&str]) -> Vec<String> {
        self.agents.iter().map(|&a| agents[a].to_string()).collect()
    }
}

/// The account holding `remote` (twilio, telnyx, plivo; `None`: not configured), agent IDs out of `agents`.
pub fn account(remote: &[Option<Block>; 3], agents: &[&str]) -> AccountState {
    let mut state = AccountState::default();
    if let Some(b) = &remote[0] {
        state.twilio = Some(Twilio {
            account_sid: b.identifiers[0].clone(),
            auth_token: b.secrets[0].clone(),
            allowed_agent_ids: b.agent_ids(agents),
            allow_all_agents: b.allow_all,
            request_context_mapping: b.mapping.clone(),
        });
    }
    if let Some(b) = &remote[1] {
        state.telnyx = Some(Telnyx {
            account_sid: b.identifiers[0].clone(),
            application_sid: b.identifiers[1].clone(),
            api_key: b.secrets[0].clone(),
            public_key: b.secrets[1].clone(),
            allowed_agent_ids: b.agent_ids(agents),
            allow_all_agents: b.allow_all,
            request_context_mapping: b.mapping.clone(),
        });
    }
    if let Some(b) = &remote[2] {
        state.plivo = Some(Plivo {
            auth_id: b.identifiers[0].clone(),
            auth_token: b.secrets[0].clone(),
            allowed_agent_ids: b.agent_ids(agents),
            allow_all_agents: b.allow_all,
            request_context_mapping: b.mapping.clone(),
        });
    }
    state
}
