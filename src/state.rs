//! The two sides the diff compares: the desired state (the file, references resolved) and the remote state (what the
//! API answered). Neither holds a full secret in a printable form: desired secrets are [`SecretString`]s, remote
//! secrets are only the prefixes the API returns, kept in [`RemotePrefix`], whose `Debug` hides them.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;

use crate::provider::Provider;

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

/// The whole desired state, indexed by [`Provider::index`].
#[derive(Clone, Debug)]
pub struct DesiredState {
    pub providers: [Desired; 3],
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

/// The account's telephony config, indexed by [`Provider::index`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteState {
    pub providers: [Option<RemoteProvider>; 3],
}

impl RemoteState {
    pub fn get(&self, provider: Provider) -> Option<&RemoteProvider> {
        self.providers[provider.index()].as_ref()
    }
}
