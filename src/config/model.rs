//! What a valid `telephony.yaml` declares, before any reference is resolved.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::node::Loc;
use crate::provider::Provider;
use crate::secret::Reference;

/// The only file format version.
pub const FORMAT_VERSION: i128 = 1;
/// Where the Ultravox API key comes from when the file does not say.
pub const DEFAULT_API_KEY_ENV: &str = "ULTRAVOX_API_KEY";

/// A validated `telephony.yaml`.
#[derive(Clone, Debug)]
pub struct Config {
    /// The path as the user gave it (shown in messages).
    pub path: PathBuf,
    /// The folder that relative `file:` references are resolved against.
    pub base_dir: PathBuf,
    /// The file's text, kept for diagnostics and for saved plans' fingerprints.
    pub source: String,
    pub api_key: Located<Reference>,
    /// Indexed by [`Provider::index`].
    pub providers: [Declaration; 3],
    /// `sip:`, when the file manages the account's SIP config (`None`: absent, unmanaged).
    pub sip: Option<SipSpec>,
    /// `sipRegistrations:`, the complete list when the file manages it (`None`: absent, unmanaged).
    pub registrations: Option<Vec<Located<RegistrationSpec>>>,
}

impl Config {
    pub fn declaration(&self, provider: Provider) -> &Declaration {
        &self.providers[provider.index()]
    }

    /// The files the tool must never overwrite: this file and every file a reference names (a secret file, an
    /// encrypted SOPS file), each with what it is.
    pub fn protected_files(&self) -> Vec<(PathBuf, String)> {
        let mut files = vec![(self.path.clone(), "the declaration file".to_string())];
        for reference in self.references() {
            if let Some(path) = reference.value.file() {
                files.push((self.base_dir.join(path), format!("the file {} is read from", reference.path)));
            }
        }
        files
    }

    /// Every reference the file makes, in file order: the API key's, each managed provider's identifiers and
    /// secrets, the SIP fallback handler's secrets and the registrations' passwords.
    pub fn references(&self) -> Vec<Located<&Reference>> {
        fn located<'a, T>(value: &'a Reference, l: &Located<T>) -> Located<&'a Reference> {
            Located { value, loc: l.loc, path: l.path.clone() }
        }
        let mut out = vec![located(&self.api_key.value, &self.api_key)];
        for declaration in &self.providers {
            if let Declaration::Managed(spec) = declaration {
                for (_, l) in &spec.identifiers {
                    if let IdentifierSource::Reference(reference) = &l.value {
                        out.push(located(reference, l));
                    }
                }
                for (_, l) in &spec.secrets {
                    out.push(located(&l.value, l));
                }
            }
        }
        if let Some(secrets) = self.sip.as_ref().and_then(|sip| sip.fallback.as_ref()).and_then(|f| f.secrets.as_ref())
        {
            out.extend(secrets.iter().map(|l| located(&l.value, l)));
        }
        for registration in self.registrations.iter().flatten() {
            let password = &registration.value.password;
            out.push(located(&password.value, password));
        }
        out.sort_by_key(|r| r.loc);
        out
    }
}

/// A value and where it was written (`None` for defaults the file did not spell out).
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub loc: Option<Loc>,
    /// The field path, e.g. `twilio.authToken`.
    pub path: String,
}

/// What the file says about one provider.
#[derive(Clone, Debug, PartialEq)]
pub enum Declaration {
    /// The file does not name the provider: the tool leaves it as it is.
    Unmanaged,
    /// `provider: null`: it must be absent from the account.
    Absent,
    /// A block: the whole truth for that provider.
    Managed(ProviderSpec),
}

/// An identifier: written in the file, or read from a reference (not a secret, so shown in plans).
#[derive(Clone, Debug, PartialEq)]
pub enum IdentifierSource {
    Literal(String),
    Reference(Reference),
}

/// One entry of `callCreationAllowedAgentIds`.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentEntry {
    /// A UUID, lower-cased.
    Id(String),
    /// `{ agent: NAME }`: resolved through `GET /api/agents` to exactly one agent with that exact name.
    Name(String),
}

/// A declared provider block.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderSpec {
    pub provider: Provider,
    /// In the order of [`Provider::identifier_fields`].
    pub identifiers: Vec<(&'static str, Located<IdentifierSource>)>,
    /// In the order of [`Provider::secret_fields`].
    pub secrets: Vec<(&'static str, Located<Reference>)>,
    pub allowed_agents: Vec<Located<AgentEntry>>,
    pub allow_all_agents: bool,
    pub request_context_mapping: BTreeMap<String, String>,
}

/// `sip:`: the account's SIP config, the whole truth for it (omitted fields mean the API's defaults: no ranges, no
/// agents, `allowAllAgents: false`, no fallback handler).
#[derive(Clone, Debug, PartialEq)]
pub struct SipSpec {
    /// Canonical IPv4 networks (`203.0.113.0/24`), in file order.
    pub allowed_cidr_ranges: Vec<String>,
    pub allow_all_agents: bool,
    pub allowed_agents: Vec<Located<AllowanceSpec>>,
    /// `None`: no fallback handler (`fallbackHandler: null`, or left out).
    pub fallback: Option<FallbackSpec>,
}

/// One entry of `sip.allowedAgents`.
#[derive(Clone, Debug, PartialEq)]
pub struct AllowanceSpec {
    pub agent: AgentEntry,
    /// `None`: the API's default, `^agent_<agentId>$`.
    pub to_user_pattern: Option<String>,
}

/// `sip.fallbackHandler`.
#[derive(Clone, Debug, PartialEq)]
pub struct FallbackSpec {
    pub url: String,
    /// `None`: keep the secrets the account has (the API generates one for a new handler).
    pub secrets: Option<Vec<Located<Reference>>>,
}

/// One entry of `sipRegistrations`, identified by `username` and `proxy` together.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistrationSpec {
    pub username: String,
    pub proxy: String,
    /// Write-only: the API never shows it, not even a prefix.
    pub password: Located<Reference>,
    pub outbound_proxy: Option<String>,
    pub auth_user: Option<String>,
}

impl RegistrationSpec {
    pub fn key(&self) -> crate::sip::RegistrationKey {
        crate::sip::RegistrationKey::new(self.username.clone(), self.proxy.clone())
    }
}
