//! What the emulator stores per account: the three telephony providers with their full secrets, the agents, the SIP
//! config and the SIP registrations (their passwords included).
//!
//! These types are also the seed format (`--seed FILE.json`, `PUT /_emulator/state`): the API's own camelCase field
//! names, but with the secrets in clear (`authToken`, `apiKey`, `publicKey`, a registration's `password`) where the
//! API only shows prefixes, or nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One account, reached with its API key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountState {
    #[serde(default)]
    pub twilio: Option<Twilio>,
    #[serde(default)]
    pub telnyx: Option<Telnyx>,
    #[serde(default)]
    pub plivo: Option<Plivo>,
    /// In creation order, which is the order `GET /api/agents` lists them in.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// Every request with this key answers 403.
    #[serde(default)]
    pub forbidden: bool,
    /// The SIP config (every account has one; the API's defaults unless seeded).
    #[serde(default)]
    pub sip: SipConfig,
    /// The SIP registrations, in creation order (the order `GET /api/sip/registrations` lists them in).
    #[serde(default)]
    pub sip_registrations: Vec<SipRegistration>,
}

impl AccountState {
    /// No provider configured, no agents.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn with_twilio(mut self, twilio: Twilio) -> Self {
        self.twilio = Some(twilio);
        self
    }

    pub fn with_telnyx(mut self, telnyx: Telnyx) -> Self {
        self.telnyx = Some(telnyx);
        self
    }

    pub fn with_plivo(mut self, plivo: Plivo) -> Self {
        self.plivo = Some(plivo);
        self
    }

    /// Appends one agent.
    pub fn with_agent(mut self, agent_id: impl Into<String>, name: impl Into<String>) -> Self {
        self.agents.push(Agent::new(agent_id, name));
        self
    }

    /// Appends agents.
    pub fn with_agents(mut self, agents: impl IntoIterator<Item = Agent>) -> Self {
        self.agents.extend(agents);
        self
    }

    /// Marks the account so that every request answers 403.
    pub fn with_forbidden(mut self) -> Self {
        self.forbidden = true;
        self
    }

    pub fn with_sip(mut self, sip: SipConfig) -> Self {
        self.sip = sip;
        self
    }

    /// Appends one SIP registration.
    pub fn with_registration(mut self, registration: SipRegistration) -> Self {
        self.sip_registrations.push(registration);
        self
    }
}

/// The SIP domain of an account the seed gives none.
pub const DEFAULT_SIP_DOMAIN: &str = "demo.sip.ultravox.ai";

fn default_domain() -> String {
    DEFAULT_SIP_DOMAIN.to_string()
}

/// The account's SIP config (`SipConfig`), the fallback handler's secrets in clear (the API returns them whole too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SipConfig {
    #[serde(default)]
    pub allowed_cidr_ranges: Vec<String>,
    #[serde(default)]
    pub allow_all_agents: bool,
    #[serde(default)]
    pub allowed_agents: Vec<AgentAllowance>,
    #[serde(default)]
    pub fallback_handler: Option<FallbackHandler>,
    /// Read-only in the API.
    #[serde(default = "default_domain")]
    pub domain: String,
}

impl Default for SipConfig {
    /// The API's defaults: no range, no agent, no fallback handler.
    fn default() -> SipConfig {
        SipConfig {
            allowed_cidr_ranges: Vec::new(),
            allow_all_agents: false,
            allowed_agents: Vec::new(),
            fallback_handler: None,
            domain: default_domain(),
        }
    }
}

impl SipConfig {
    pub fn ranges<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ranges: I) -> Self {
        self.allowed_cidr_ranges = ranges.into_iter().map(Into::into).collect();
        self
    }

    pub fn allow_all(mut self, allow: bool) -> Self {
        self.allow_all_agents = allow;
        self
    }

    /// Appends one allowance (`pattern` `None`: the default).
    pub fn allowance(mut self, agent_id: impl Into<String>, pattern: Option<&str>) -> Self {
        self.allowed_agents
            .push(AgentAllowance { agent_id: agent_id.into(), to_user_pattern: pattern.map(Into::into) });
        self
    }

    pub fn fallback<I: IntoIterator<Item = S>, S: Into<String>>(mut self, url: impl Into<String>, secrets: I) -> Self {
        self.fallback_handler =
            Some(FallbackHandler { url: url.into(), secrets: secrets.into_iter().map(Into::into).collect() });
        self
    }
}

/// One agent incoming SIP calls may reach (`AgentAllowance`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentAllowance {
    pub agent_id: String,
    /// `None`: not given, the API's default `^agent_<agentId>$` applies.
    #[serde(default)]
    pub to_user_pattern: Option<String>,
}

/// The fallback webhook (`FallbackHandler`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FallbackHandler {
    pub url: String,
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// A SIP registration (`SipRegistration`), its write-only password kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SipRegistration {
    pub registration_id: String,
    #[serde(default)]
    pub created: String,
    pub username: String,
    pub password: String,
    pub proxy: String,
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    #[serde(default)]
    pub auth_user: Option<String>,
    /// Whether it is active: `None` until known.
    #[serde(default)]
    pub successful: Option<bool>,
}

impl SipRegistration {
    /// An active registration.
    pub fn new(
        registration_id: impl Into<String>,
        username: impl Into<String>,
        proxy: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        SipRegistration {
            registration_id: registration_id.into(),
            created: "2026-01-01T00:00:00.000000Z".into(),
            username: username.into(),
            password: password.into(),
            proxy: proxy.into(),
            outbound_proxy: None,
            auth_user: None,
            successful: Some(true),
        }
    }

    pub fn outbound_proxy(mut self, proxy: &str) -> Self {
        self.outbound_proxy = Some(proxy.into());
        self
    }

    pub fn auth_user(mut self, user: &str) -> Self {
        self.auth_user = Some(user.into());
        self
    }

    pub fn successful(mut self, successful: Option<bool>) -> Self {
        self.successful = successful;
        self
    }
}

/// An agent as the emulator lists it. `created` and the other read-only fields of the API are derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agent {
    pub agent_id: String,
    pub name: String,
}

impl Agent {
    pub fn new(agent_id: impl Into<String>, name: impl Into<String>) -> Self {
        Self { agent_id: agent_id.into(), name: name.into() }
    }

    /// An agent with a predictable UUID: `Agent::numbered(7, "x")` has id `00000000-0000-4000-8000-000000000007`.
    pub fn numbered(n: u64, name: impl Into<String>) -> Self {
        Self::new(numbered_uuid(n), name)
    }
}

/// The UUID [`Agent::numbered`] gives to agent `n` (a valid version-4 layout, lowercase).
pub fn numbered_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
}

/// `twilio`: identifiers, one secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Twilio {
    pub account_sid: String,
    pub auth_token: String,
    #[serde(default, rename = "callCreationAllowedAgentIds")]
    pub allowed_agent_ids: Vec<String>,
    #[serde(default, rename = "callCreationAllowAllAgents")]
    pub allow_all_agents: bool,
    #[serde(default)]
    pub request_context_mapping: BTreeMap<String, String>,
}

impl Twilio {
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            allowed_agent_ids: Vec::new(),
            allow_all_agents: false,
            request_context_mapping: BTreeMap::new(),
        }
    }
}

/// `telnyx`: two identifiers, two secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Telnyx {
    pub account_sid: String,
    pub api_key: String,
    pub public_key: String,
    pub application_sid: String,
    #[serde(default, rename = "callCreationAllowedAgentIds")]
    pub allowed_agent_ids: Vec<String>,
    #[serde(default, rename = "callCreationAllowAllAgents")]
    pub allow_all_agents: bool,
    #[serde(default)]
    pub request_context_mapping: BTreeMap<String, String>,
}

impl Telnyx {
    pub fn new(
        account_sid: impl Into<String>,
        api_key: impl Into<String>,
        public_key: impl Into<String>,
        application_sid: impl Into<String>,
    ) -> Self {
        Self {
            account_sid: account_sid.into(),
            api_key: api_key.into(),
            public_key: public_key.into(),
            application_sid: application_sid.into(),
            allowed_agent_ids: Vec::new(),
            allow_all_agents: false,
            request_context_mapping: BTreeMap::new(),
        }
    }
}

/// `plivo`: one identifier, one secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plivo {
    pub auth_id: String,
    pub auth_token: String,
    #[serde(default, rename = "callCreationAllowedAgentIds")]
    pub allowed_agent_ids: Vec<String>,
    #[serde(default, rename = "callCreationAllowAllAgents")]
    pub allow_all_agents: bool,
    #[serde(default)]
    pub request_context_mapping: BTreeMap<String, String>,
}

impl Plivo {
    pub fn new(auth_id: impl Into<String>, auth_token: impl Into<String>) -> Self {
        Self {
            auth_id: auth_id.into(),
            auth_token: auth_token.into(),
            allowed_agent_ids: Vec::new(),
            allow_all_agents: false,
            request_context_mapping: BTreeMap::new(),
        }
    }
}

/// The whole emulated backend: every account by API key. The format of `--seed` files and of `/_emulator/state`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountState>,
}

impl Seed {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A string field of a provider block: an identifier, or a secret the API only shows a prefix of.
pub(crate) struct TextField<P> {
    /// The API's name, e.g. `authToken`.
    pub name: &'static str,
    pub secret: bool,
    pub max_chars: Option<usize>,
    pub get: fn(&P) -> &String,
    pub get_mut: fn(&mut P) -> &mut String,
}

/// The fields every provider shares, borrowed.
pub(crate) struct Access<'a> {
    pub allowed_agent_ids: &'a Vec<String>,
    pub allow_all_agents: bool,
    pub request_context_mapping: &'a BTreeMap<String, String>,
}

/// The fields every provider shares, borrowed mutably.
pub(crate) struct AccessMut<'a> {
    pub allowed_agent_ids: &'a mut Vec<String>,
    pub allow_all_agents: &'a mut bool,
    pub request_context_mapping: &'a mut BTreeMap<String, String>,
}

/// What validation and rendering need to know of a provider, so they are written once for all three.
pub(crate) trait Provider: Clone + Sized + 'static {
    /// The key in the account-level body and the last path segment of the provider-scoped endpoint.
    const NAME: &'static str;
    /// The provider's own name, for messages.
    const TITLE: &'static str;
    /// All string fields, each required on creation, in the schema's order.
    const FIELDS: &'static [TextField<Self>];

    /// Every string empty, every other field at its default: the start of a creation.
    fn blank() -> Self;
    fn access(&self) -> Access<'_>;
    fn access_mut(&mut self) -> AccessMut<'_>;
    fn slot(account: &mut AccountState) -> &mut Option<Self>;
}

macro_rules! provider {
    ($ty:ident, $slot:ident, $title:literal, [$($field:ident: $json:literal, secret = $secret:literal, max = $max:expr);+ $(;)?]) => {
        impl $ty {
            /// Allows calls for exactly these agents.
            pub fn allowed_agents<I, S>(mut self, ids: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.allowed_agent_ids = ids.into_iter().map(Into::into).collect();
                self
            }

            /// Sets `callCreationAllowAllAgents`.
            pub fn allow_all(mut self, allow: bool) -> Self {
                self.allow_all_agents = allow;
                self
            }

            /// Adds one `requestContextMapping` entry.
            pub fn context(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
                self.request_context_mapping.insert(from.into(), to.into());
                self
            }
        }

        impl Provider for $ty {
            const NAME: &'static str = stringify!($slot);
            const TITLE: &'static str = $title;
            const FIELDS: &'static [TextField<Self>] = &[$(TextField {
                name: $json,
                secret: $secret,
                max_chars: $max,
                get: |p| &p.$field,
                get_mut: |p| &mut p.$field,
            }),+];

            fn blank() -> Self {
                Self {
                    $($field: String::new(),)+
                    allowed_agent_ids: Vec::new(),
                    allow_all_agents: false,
                    request_context_mapping: BTreeMap::new(),
                }
            }

            fn access(&self) -> Access<'_> {
                Access {
                    allowed_agent_ids: &self.allowed_agent_ids,
                    allow_all_agents: self.allow_all_agents,
                    request_context_mapping: &self.request_context_mapping,
                }
            }

            fn access_mut(&mut self) -> AccessMut<'_> {
                AccessMut {
                    allowed_agent_ids: &mut self.allowed_agent_ids,
                    allow_all_agents: &mut self.allow_all_agents,
                    request_context_mapping: &mut self.request_context_mapping,
                }
            }

            fn slot(account: &mut AccountState) -> &mut Option<Self> {
                &mut account.$slot
            }
        }
    };
}

provider!(Twilio, twilio, "Twilio", [
    account_sid: "accountSid", secret = false, max = None;
    auth_token: "authToken", secret = true, max = None;
]);

provider!(Telnyx, telnyx, "Telnyx", [
    account_sid: "accountSid", secret = false, max = None;
    api_key: "apiKey", secret = true, max = None;
    public_key: "publicKey", secret = true, max = None;
    application_sid: "applicationSid", secret = false, max = Some(40);
]);

provider!(Plivo, plivo, "Plivo", [
    auth_id: "authId", secret = false, max = None;
    auth_token: "authToken", secret = true, max = None;
]);
