//! What the commands share once the files are chosen: reading each file (checked and resolved, no network yet), the
//! check that no two files manage the same provider of one account, the one API every file of a run talks to, and
//! one file's session with its account (its plan, and what `plan --out` saves of it).

use std::path::{Path, PathBuf};

use url::Url;

use crate::agents::{self, NameError};
use crate::api::client::{self, ClientOptions};
use crate::api::{Client, Deprecation};
use crate::apply;
use crate::batch::{self, AccountTagger, FileAccount};
use crate::config::model::Declaration;
use crate::config::{self, resolve};
use crate::diff::PlanOptions;
use crate::endpoints::Family;
use crate::error::Error;
use crate::plan::Plan;
use crate::planfile::PlanFile;
use crate::render::{Output, report};
use crate::selection::Selection;
use crate::state::RemoteState;

use super::Settings;

/// A declaration file read, checked and resolved (no network yet).
pub(super) struct Loaded {
    pub path: PathBuf,
    pub config: config::Config,
    pub resolved: resolve::Resolved,
}

pub(super) fn load(path: &Path) -> Result<Loaded, Error> {
    let config = config::load(path)?;
    let resolved = resolve::resolve(&config)?;
    Ok(Loaded { path: path.to_path_buf(), config, resolved })
}

/// A file as given, and what loading it gave.
pub(super) type LoadedFile = (PathBuf, Result<Loaded, Error>);

/// Loads every file of the selection (a folder that could not be listed fails in its place), then refuses the run
/// if two of them manage the same provider (or the SIP config, or the registrations) of one account.
pub(super) fn load_all(selection: &Selection) -> Result<Vec<LoadedFile>, Error> {
    let loaded: Vec<LoadedFile> = selection
        .files
        .iter()
        .map(|path| match selection.unreadable(path) {
            Some(reason) => (path.clone(), Err(config::unreadable_folder(path, reason).into())),
            None => (path.clone(), load(path)),
        })
        .collect();
    check_accounts(loaded.iter().filter_map(|(_, l)| l.as_ref().ok()))?;
    Ok(loaded)
}

/// Whether a file manages each provider (declares it, as a block or `null`), by [`crate::provider::Provider::index`].
pub(super) fn manages(providers: &[Declaration; 3]) -> [bool; 3] {
    providers.clone().map(|d| !matches!(d, Declaration::Unmanaged))
}

/// Refuses, before anything is sent, two loaded files that manage the same provider of the same account.
pub(super) fn check_accounts<'a>(loaded: impl Iterator<Item = &'a Loaded>) -> Result<(), Error> {
    let loaded: Vec<&Loaded> = loaded.collect();
    if loaded.len() < 2 {
        return Ok(());
    }
    let tagger = AccountTagger::new()?;
    let accounts: Vec<FileAccount> = loaded
        .into_iter()
        .map(|l| FileAccount {
            file: l.path.display().to_string(),
            account: tagger.tag(&l.resolved.api_key),
            manages: manages(&l.config.providers),
            manages_sip: l.config.sip.is_some(),
            manages_registrations: l.config.registrations.is_some(),
        })
        .collect();
    batch::check_accounts(&accounts)
}

/// The first `Deprecation`/`Sunset` notice any account's answers carried: the run warns once, at its end.
#[derive(Clone, Default)]
pub(super) struct Notices(std::sync::Arc<std::sync::Mutex<Option<Deprecation>>>);

impl Notices {
    pub fn note(&self, client: &Client) {
        if let Some(notice) = client.deprecation() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(notice);
        }
    }

    /// Warns (stderr, never an error) if any answer said its endpoint is deprecated.
    pub fn warn(&self, out: Output) {
        if let Some(notice) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            report::deprecated(&mut { out }, notice);
        }
    }
}

/// The API every file of a run talks to: one HTTP client (one connection pool) shared by all accounts.
pub(super) struct Api {
    http: reqwest::Client,
    base: Url,
    /// The API root as it may be shown (no credentials).
    pub shown: String,
    options: ClientOptions,
    /// The family given on the command line (`auto` when none).
    pub family: Family,
    notices: Notices,
}

impl Api {
    pub fn new(settings: &Settings, notices: &Notices) -> Result<Api, Error> {
        let raw = if settings.api_url.trim().is_empty() { client::DEFAULT_API_URL } else { &settings.api_url };
        let base = client::parse_base_url(raw)?;
        let options = ClientOptions { request_timeout: settings.timeout, ..ClientOptions::default() };
        let http = client::http_client(&base, &options)?;
        Ok(Api {
            http,
            shown: client::display_url(&base),
            base,
            options,
            family: settings.endpoints.unwrap_or_default(),
            notices: notices.clone(),
        })
    }

    /// A client for one account: its own API key and retry state, over the shared connection pool.
    pub fn client(&self, api_key: secrecy::SecretString) -> Client {
        Client::with_http(self.http.clone(), self.base.clone(), api_key, self.options.clone())
    }

    /// A session through the command line's endpoint family.
    pub fn session(&self, file: Loaded) -> Session {
        self.session_with(file, self.family)
    }

    pub fn session_with(&self, file: Loaded, family: Family) -> Session {
        let client = self.client(file.resolved.api_key.clone());
        Session { file, client, family, notices: self.notices.clone() }
    }

    /// One file's plan through the command line's family: its session, the account as read, and the plan.
    pub async fn plan(&self, file: Result<Loaded, Error>, options: PlanOptions) -> Result<Planned, Error> {
        let file = file?;
        not_interrupted()?;
        let mut session = self.session(file);
        let (remote, plan) = session.fetch_and_plan(options).await?;
        Ok(Planned { session, remote, plan })
    }
}

/// Whether a file's work may start: not once a signal was received ([`crate::stop`]); the file is then reported as
/// not started, and nothing is sent to its account.
pub(super) fn not_interrupted() -> Result<(), Error> {
    match crate::stop::requested() {
        Some(signal) => Err(Error::NotStarted { signal }),
        None => Ok(()),
    }
}

/// A file's plan, with its session (to write it) and the account as it was read (to save it).
pub(super) struct Planned {
    pub session: Session,
    pub remote: RemoteState,
    pub plan: Plan,
}

/// One file and a client for its account.
pub(super) struct Session {
    pub file: Loaded,
    pub client: Client,
    /// The endpoint family reads and writes go through.
    family: Family,
    notices: Notices,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.notices.note(&self.client);
    }
}

impl Session {
    pub fn name(&self) -> String {
        self.file.path.display().to_string()
    }

    /// Looks up agents written by name, fetches the account's config (and the SIP settings the file manages) and
    /// makes the plan.
    pub async fn fetch_and_plan(&mut self, options: PlanOptions) -> Result<(RemoteState, Plan), Error> {
        agents::resolve_names(&self.client, &self.file.config, &mut self.file.resolved).await.map_err(|e| match e {
            NameError::Api(e) => Error::Api(e),
            NameError::Config(e) => Error::Config(e),
        })?;
        let remote = apply::read_state(&self.client, self.family, &self.file.resolved.desired).await?;
        let plan = Plan::new(&self.file.resolved.desired, &remote, self.family, options)
            .with_agent_names(self.file.resolved.names_by_id.clone());
        Ok((remote, plan))
    }

    /// The plan as `plan --out` saves it.
    pub fn saved(&self, api: &Api, remote: &RemoteState, plan: &Plan) -> PlanFile {
        let (source, api_key) = (&self.file.config.source, &self.file.resolved.api_key);
        PlanFile::new(plan, &self.name(), source, &api.shown, remote, api_key)
    }
}
