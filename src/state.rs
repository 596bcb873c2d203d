//! The two sides the diff compares: the desired state (the file, references resolved) and the remote state (what the
//! API answered). Neither holds a full secret in a printable form: desired secrets are [`SecretString`]s, remote
//! secrets are only the prefixes the API returns, kept in [`RemotePrefix`], whose `Debug` hides them; the one kind of
//! secret the API returns whole (a SIP fallback handler's) is a [`RemoteSecret`], a secret of the run.
//!
//! Besides the three providers, both sides hold the account's SIP config and SIP registrations, each `None` when the
//! file does not manage it (and then it is not read either).

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;

use crate::provider::Provider;
use crate::sip::{Allowance, RegistrationKey};

/// Fields every provider block has, compared field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Lower-cased UUIDs, in the order given (compared as a set).
    pub allowed_agent_ids: Vec<String>,
    pub allow_all_agents: bool,
    pub request_context_mapping: BTreeMap<String, String>,
}

/// A provider as the file wants it, with secrets resolved.
#[derive(Clone, Debug)]
pub struct DesiredProvider {
    pub provider: Provider,
    /// In the order of [`Provider::identifier_fields`].
    pub identifiers: Vec<(&'static str, String)>,
    /// In the order of [`Provider::secret_fields`].
    pub secrets: Vec<(&'static str, SecretString)>,
    pub settings: Settings,
}

impl DesiredProvider {
    pub fn identifier(&self, field: &str) -> Option<&str> {
        self.identifiers.iter().find(|(f, _)| *f == field).map(|(_, v)| v.as_str())
    }
    pub fn secret(&self, field: &str) -> Option<&SecretString> {
        self.secrets.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }
}

/// What the file says about one provider, resolved.
#[derive(Clone, Debug)]
pub enum Desired {
    /// The file does not name the provider: whatever the account holds stays.
    Unmanaged,
    /// `provider: null`: it must be absent from the account.
    Absent,
    /// A block, its references resolved: the whole truth for that provider.
    Present(DesiredProvider),
}

/// The whole desired state: the providers, indexed by [`Provider::index`], and the SIP settings the file manages.
#[derive(Clone, Debug)]
pub struct DesiredState {
    pub providers: [Desired; 3],
    /// `sip:`; `None` when the file leaves the SIP config unmanaged.
    pub sip: Option<DesiredSip>,
    /// `sipRegistrations:`, the complete list; `None` when the file leaves the registrations unmanaged.
    pub registrations: Option<Vec<DesiredRegistration>>,
}

impl Default for DesiredState {
    /// Nothing managed.
    fn default() -> DesiredState {
        DesiredState {
            providers: [Desired::Unmanaged, Desired::Unmanaged, Desired::Unmanaged],
            sip: None,
            registrations: None,
        }
    }
}

/// The SIP config as the file wants it: the whole truth (omitted fields are the API's defaults).
#[derive(Clone, Debug, Default)]
pub struct DesiredSip {
    /// Canonical IPv4 networks, in file order (compared as a set).
    pub allowed_cidr_ranges: Vec<String>,
    pub allow_all_agents: bool,
    /// In file order (compared as a set), agents written by name resolved.
    pub allowed_agents: Vec<Allowance>,
    /// `None`: no fallback handler.
    pub fallback: Option<DesiredFallback>,
}

/// The fallback handler as the file wants it.
#[derive(Clone, Debug)]
pub struct DesiredFallback {
    pub url: String,
    /// The resolved secrets; `None`: keep the account's (the API generates one for a new handler).
    pub secrets: Option<Vec<SecretString>>,
}

/// A SIP registration as the file wants it, its password resolved.
#[derive(Clone, Debug)]
pub struct DesiredRegistration {
    pub key: RegistrationKey,
    pub password: SecretString,
    pub outbound_proxy: Option<String>,
    pub auth_user: Option<String>,
}

impl DesiredState {
    pub fn get(&self, provider: Provider) -> &Desired {
        &self.providers[provider.index()]
    }
}

/// A prefix of a secret, as the API returned it. It is never printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct RemotePrefix(String);

impl RemotePrefix {
    pub fn new(prefix: String) -> RemotePrefix {
        RemotePrefix(prefix)
    }
    /// The prefix itself, for the comparison in `diff`, the account's fingerprint (`planfile`) and cleaning the server's
    /// messages of it (`api::client`); never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RemotePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemotePrefix(<{} chars>)", self.0.chars().count())
    }
}

/// A provider block as the API returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteProvider {
    pub provider: Provider,
    pub identifiers: BTreeMap<String, String>,
    /// `None` when the API returned no prefix object for the field.
    pub prefixes: BTreeMap<String, Option<RemotePrefix>>,
    pub settings: Settings,
}

impl RemoteProvider {
    pub fn identifier(&self, field: &str) -> Option<&str> {
        self.identifiers.get(field).map(String::as_str)
    }
    pub fn prefix(&self, field: &str) -> Option<&RemotePrefix> {
        self.prefixes.get(field).and_then(Option::as_ref)
    }
}

/// A secret the API returned whole (a SIP fallback handler's signing secret): a secret of the run from the moment it
/// is read (registered with the scrubber by the client), never printed: `Debug` shows only its length. Compared
/// exactly.
#[derive(Clone)]
pub struct RemoteSecret(SecretString);

impl RemoteSecret {
    pub fn new(secret: SecretString) -> RemoteSecret {
        RemoteSecret(secret)
    }
    /// The value, for the comparison in `diff`, a request body that keeps it, and saved plans' keyed fingerprint;
    /// never for output.
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl PartialEq for RemoteSecret {
    fn eq(&self, other: &RemoteSecret) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for RemoteSecret {}

impl fmt::Debug for RemoteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemoteSecret(<{} chars>)", self.expose().chars().count())
    }
}

/// The account's SIP config as the API returned it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteSip {
    /// As returned (canonical when they parse as networks).
    pub allowed_cidr_ranges: Vec<String>,
    pub allow_all_agents: bool,
    pub allowed_agents: Vec<Allowance>,
    pub fallback: Option<RemoteFallback>,
    /// Read-only: where SIP trunks send calls.
    pub domain: Option<String>,
}

/// The fallback handler as the API returned it: its URL, and its secrets whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFallback {
    pub url: String,
    pub secrets: Vec<RemoteSecret>,
}

/// A SIP registration as the API returned it (never its password).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRegistration {
    /// `registrationId`, the last part of its path.
    pub id: String,
    pub key: RegistrationKey,
    pub outbound_proxy: Option<String>,
    pub auth_user: Option<String>,
    /// Whether the registration is active: `None` until the API knows.
    pub successful: Option<bool>,
}

/// The account's telephony config, indexed by [`Provider::index`], and the SIP settings read (only those the file
/// manages are read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteState {
    pub providers: [Option<RemoteProvider>; 3],
    /// `None` when not read.
    pub sip: Option<RemoteSip>,
    /// Every registration, every page read; `None` when not read.
    pub registrations: Option<Vec<RemoteRegistration>>,
}

impl RemoteState {
    pub fn get(&self, provider: Provider) -> Option<&RemoteProvider> {
        self.providers[provider.index()].as_ref()
    }
}
