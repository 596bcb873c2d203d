//! Running each command over its declaration files. The command line (`cli`) hands over plain settings; this module
//! reads the files, checks that no two of them manage the same provider of one account, and then does each file's
//! work (one unit per file: one file in, its messages and result out), at most `--jobs` files at once, reporting
//! each in file order as soon as it and those before it are done. With one file (a single `-f FILE`, or none) the
//! output is exactly a one-file run's; with several, each file's part sits under a heading and an overall summary
//! closes the run (see [`render::report`]).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::agents::{self, NameError};
use crate::api::client::{self, ClientOptions};
use crate::api::{Client, Deprecation};
use crate::apply;
use crate::batch::{self, AccountTag, AccountTagger, FileAccount};
use crate::config::model::Declaration;
use crate::config::{self, resolve};
use crate::diff::{self, Plan, PlanOptions};
use crate::endpoints::{self, Family};
use crate::error::{Error, Outcome};
use crate::import;
use crate::planfile::{self, PlanFile, StaleError};
use crate::provider::Provider;
use crate::render::json::{ErrorReport, FailedFile, FileEntry, PlanDocument, SeveralDocument};
use crate::render::markdown::FileResult;
use crate::render::report::{self, Tally};
use crate::render::{self, Buffer, Format, Output, Sink};
use crate::secret::Reference;
use crate::selection::{self, DEFAULT_FILE, Selection};
use crate::state::RemoteState;

/// What every command that reads declaration files is given.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `-f` paths as given (files or folders); empty means `telephony.yaml`.
    pub files: Vec<PathBuf>,
    /// The API root as given (empty means the default).
    pub api_url: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// How many files (accounts) are worked on at once; at least 1.
    pub jobs: usize,
    /// `--endpoints` (or `RECONCILE_ENDPOINTS`), when given.
    pub endpoints: Option<Family>,
}

#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub detailed_exitcode: bool,
    pub rotate: bool,
    pub format: Format,
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub planfile: Option<PathBuf>,
    pub auto_approve: bool,
    pub rotate: bool,
    pub format: Format,
}

#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub out: Option<PathBuf>,
    pub force: bool,
    /// Where the written references point (`--secrets`).
    pub secrets: import::SecretSource,
}

// ---------------------------------------------------------------------------------------------------------------
// validate

pub fn validate(settings: &Settings, mut out: Output) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    if !selection.several {
        let path = &selection.files[0];
        let config = config::load(path)?;
        out.status(&report::valid(path, managed(&config.providers)));
        return Ok(Outcome::Success);
    }
    let mut tally = Tally::default();
    let mut accounts = Vec::new();
    for path in &selection.files {
        match config::load(path) {
            Ok(config) => {
                out.status(&report::valid(path, managed(&config.providers)));
                tally.valid();
                accounts.push(FileAccount {
                    file: path.display().to_string(),
                    account: reference_tag(&config.api_key.value, &config.base_dir),
                    manages: manages(&config.providers),
                });
            }
            Err(e) => {
                report::error(&mut out, &Error::Config(e));
                tally.failure(&path.display().to_string());
            }
        }
    }
    // validate reads no secret: files that read their API key from the same place are the same account.
    let same_account = batch::check_accounts(&accounts);
    out.status(&report::overall_valid(&tally));
    if let Err(e) = &same_account {
        report::error(&mut out, e);
    }
    Ok(if tally.failed.is_empty() && same_account.is_ok() { Outcome::Success } else { Outcome::SomeFailed })
}

fn managed(providers: &[Declaration; 3]) -> usize {
    providers.iter().filter(|d| !matches!(d, Declaration::Unmanaged)).count()
}

fn manages(providers: &[Declaration; 3]) -> [bool; 3] {
    providers.clone().map(|d| !matches!(d, Declaration::Unmanaged))
}

fn reference_tag(reference: &Reference, base_dir: &Path) -> AccountTag {
    AccountTag::Reference(reference.place(base_dir))
}

// ---------------------------------------------------------------------------------------------------------------
// Reading files and talking to the API

/// A declaration file read, checked and resolved (no network yet).
struct Loaded {
    path: PathBuf,
    config: config::Config,
    resolved: resolve::Resolved,
}

fn load(path: &Path) -> Result<Loaded, Error> {
    let config = config::load(path)?;
    let resolved = resolve::resolve(&config)?;
    Ok(Loaded { path: path.to_path_buf(), config, resolved })
}

/// Refuses, before anything is sent, two loaded files that manage the same provider of the same account.
fn check_accounts<'a>(loaded: impl Iterator<Item = &'a Loaded>) -> Result<(), Error> {
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
        })
        .collect();
    batch::check_accounts(&accounts)
}

/// The first `Deprecation`/`Sunset` notice any account's answers carried: the run warns once, at its end.
#[derive(Clone, Default)]
struct Notices(std::sync::Arc<std::sync::Mutex<Option<Deprecation>>>);

impl Notices {
    fn note(&self, client: &Client) {
        if let Some(notice) = client.deprecation() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(notice);
        }
    }

    /// Warns (stderr, never an error) if any answer said its endpoint is deprecated.
    fn warn(&self, out: Output) {
        if let Some(notice) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            report::deprecated(&mut { out }, notice);
        }
    }
}

/// The API every file of a run talks to: one HTTP client (one connection pool) shared by all accounts.
struct Api {
    http: reqwest::Client,
    base: Url,
    /// The API root as it may be shown (no credentials).
    shown: String,
    options: ClientOptions,
    /// The family given on the command line (`auto` when none).
    family: Family,
    notices: Notices,
}

impl Api {
    fn new(settings: &Settings, notices: &Notices) -> Result<Api, Error> {
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
    fn client(&self, api_key: secrecy::SecretString) -> Client {
        Client::with_http(self.http.clone(), self.base.clone(), api_key, self.options.clone())
    }

    /// A session through the command line's endpoint family.
    fn session(&self, file: Loaded) -> Session {
        self.session_with(file, self.family)
    }

    fn session_with(&self, file: Loaded, family: Family) -> Session {
        let client = self.client(file.resolved.api_key.clone());
        Session { file, client, family, notices: self.notices.clone() }
    }
}

/// One file and a client for its account.
struct Session {
    file: Loaded,
    client: Client,
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
    fn name(&self) -> String {
        self.file.path.display().to_string()
    }

    /// Looks up agents written by name, fetches the account's config and makes the plan.
    async fn fetch_and_plan(&mut self, options: PlanOptions) -> Result<(RemoteState, Plan), Error> {
        agents::resolve_names(&self.client, &self.file.config, &mut self.file.resolved).await.map_err(|e| match e {
            NameError::Api(e) => Error::Api(e),
            NameError::Config(e) => Error::Config(e),
        })?;
        let remote = apply::read(&self.client, self.family).await?;
        let mut plan = diff::plan(&self.file.resolved.desired, &remote, options);
        plan.agent_names = self.file.resolved.names_by_id.clone();
        plan.requests = endpoints::requests(&plan, self.family);
        Ok((remote, plan))
    }

    /// The plan as `plan --out` saves it.
    fn saved(&self, api: &Api, remote: &RemoteState, plan: &Plan, rotate: bool) -> PlanFile {
        PlanFile {
            plan_file_version: planfile::PLAN_FILE_VERSION,
            reconcile_version: env!("CARGO_PKG_VERSION").to_string(),
            file: self.name(),
            file_sha256: planfile::file_digest(&self.file.config.source),
            api_url: api.shown.clone(),
            rotate,
            account_fingerprint: planfile::account_fingerprint(remote, &self.file.resolved.api_key),
            providers: plan.providers.clone(),
            endpoints: self.family,
            requests: plan.requests.clone(),
        }
    }
}

/// A file whose plan is made (and checked, for a saved plan), ready to be written.
struct Ready {
    session: Session,
    plan: Plan,
}

/// What one file's unit of work did.
struct FileDone {
    plan: Plan,
    /// For apply: the providers written (empty: nothing to do).
    written: Option<Vec<Provider>>,
    /// For `plan --out`: this file's part of the saved plan.
    saved: Option<PlanFile>,
}

/// `None` when several files' JSON or Markdown is assembled at the end instead of printed per file.
type Shown = Option<Format>;

/// The tail of every apply: shows the plan (unless it is already on screen), sends the write, and reports.
async fn write(ready: Ready, shown: Shown, plan_on_screen: bool, sink: &mut dyn Sink) -> Result<FileDone, Error> {
    let Ready { session, plan } = ready;
    let name = session.name();
    if plan.is_empty() {
        if let Some(format) = shown {
            if plan_on_screen {
                report::after_apply(sink, &plan, &name, format, &[]);
            } else {
                report::show(sink, &plan, &name, format, Some(&[]));
            }
        }
        return Ok(FileDone { plan, written: Some(Vec::new()), saved: None });
    }
    if let (Some(format), false) = (shown, plan_on_screen) {
        report::before_apply(sink, &plan, &name, format);
    }
    let applied = match apply::apply(&session.client, &plan, &session.file.resolved.desired, &plan.requests).await {
        Ok(applied) => applied,
        Err(e) => {
            // With one file, `--format json` still prints the plan's document, with the failure in it.
            if shown == Some(Format::Json) {
                let doc = PlanDocument::new(&plan, &name).with_failure(e.written().to_vec(), e.to_string(), e.hint());
                sink.data(&render::json::render(&doc));
            }
            return Err(e.into());
        }
    };
    report::warn_unverified(sink, &applied.unverified);
    if let Some(format) = shown {
        report::after_apply(sink, &plan, &name, format, &applied.written);
    }
    Ok(FileDone { plan, written: Some(applied.written), saved: None })
}

// ---------------------------------------------------------------------------------------------------------------
// Several files: the per-file reports and the overall summary

type MarkdownEntry = (String, Result<(Plan, Option<String>), String>);

/// A file as given, and what loading it gave.
type LoadedFile = (PathBuf, Result<Loaded, Error>);

/// Collects the results of several files and prints them in file order.
struct Report {
    out: Output,
    format: Format,
    /// Whether this is apply's report (written rather than planned).
    applied: bool,
    tally: Tally,
    json: Vec<FileEntry>,
    /// Each file, and its plan with apply's report line, or its error message.
    markdown: Vec<MarkdownEntry>,
    printed: usize,
}

impl Report {
    fn new(out: Output, format: Format, applied: bool) -> Report {
        Report { out, format, applied, tally: Tally::default(), json: Vec::new(), markdown: Vec::new(), printed: 0 }
    }

    /// How a unit shows its file: text as it goes (into its buffer); JSON and Markdown at the end, whole.
    fn shown(&self) -> Shown {
        (self.format == Format::Text).then_some(Format::Text)
    }

    /// The heading above a file's part of the text output.
    fn heading(&mut self, file: &str) {
        let p = self.out.stdout;
        self.out.data(&format!("{}{}", if self.printed > 0 { "\n" } else { "" }, report::heading(file, p)));
        self.printed += 1;
    }

    /// A file's error on stderr only, naming the file (for checks made before anything is shown).
    fn failure_only(&mut self, file: &str, error: &Error) {
        let mut out = self.out;
        match error {
            Error::Config(_) => report::error(&mut out, error),
            other => {
                out.error(&format!("{file}: {other}"), other.hint().as_deref());
            }
        }
        self.tally.failure(file);
    }

    /// One file's messages and result, in its turn. `show_plan`: the unit did not show the plan itself.
    fn file(&mut self, file: &str, buffer: Buffer, result: Result<FileDone, Error>, show_plan: bool) {
        let mut out = self.out;
        if self.format == Format::Text {
            self.heading(file);
        }
        buffer.print();
        match result {
            Ok(done) => {
                if show_plan && self.format == Format::Text {
                    report::show(&mut out, &done.plan, file, Format::Text, None);
                }
                self.tally.plan(&done.plan);
                self.collect(file, Ok((done.plan, done.written)));
            }
            Err(error) => {
                if self.format == Format::Text {
                    out.data(&report::failed_line(out.stdout));
                }
                // Every output path scrubs against every secret the process read, whichever file it came from.
                let (message, hint) = report::error_text(&error);
                match &error {
                    Error::Config(_) => report::error(&mut out, &error),
                    // Under its heading on stdout, but stderr may be read apart: the message names the file.
                    _ => out.error(&format!("{file}: {message}"), hint.as_deref()),
                }
                self.tally.failure(file);
                self.collect(file, Err(ErrorReport { message, hint }));
            }
        }
    }

    fn collect(&mut self, file: &str, result: Result<(Plan, Option<Vec<Provider>>), ErrorReport>) {
        match self.format {
            Format::Text => {}
            Format::Json => self.json.push(match result {
                Ok((plan, written)) => {
                    let doc = PlanDocument::new(&plan, file);
                    FileEntry::Planned(match written {
                        Some(written) => doc.with_apply(written),
                        None => doc,
                    })
                }
                Err(error) => FileEntry::Failed(FailedFile { file: file.to_string(), error }),
            }),
            Format::Markdown => self.markdown.push((
                file.to_string(),
                result
                    .map(|(plan, written)| {
                        let line = written.map(|w| report::applied_line(&plan, &w));
                        (plan, line)
                    })
                    .map_err(|e| e.message),
            )),
        }
    }

    /// Prints the overall summary (text) or the whole document (JSON, Markdown).
    fn finish(self) -> Tally {
        let out = self.out;
        match self.format {
            Format::Text => out.data(&format!("\n{}", report::overall(&self.tally, self.applied, out.stdout))),
            Format::Json => out.data(&render::json::render_several(&SeveralDocument::new(self.json))),
            Format::Markdown => {
                let files: Vec<(String, FileResult<'_>)> = self
                    .markdown
                    .iter()
                    .map(|(file, result)| {
                        let entry = match result {
                            Ok((plan, applied)) => FileResult::Planned { plan, applied: applied.clone() },
                            Err(message) => FileResult::Failed { message },
                        };
                        (file.clone(), entry)
                    })
                    .collect();
                let headline = report::overall_counts(&self.tally, self.applied, render::Palette::plain());
                out.data(&render::markdown::render_several(&files, &headline));
            }
        }
        self.tally
    }
}

/// Loads every file, then refuses the run if two of them manage the same provider of one account.
fn load_all(selection: &Selection) -> Result<Vec<LoadedFile>, Error> {
    let loaded: Vec<LoadedFile> = selection.files.iter().map(|path| (path.clone(), load(path))).collect();
    check_accounts(loaded.iter().filter_map(|(_, l)| l.as_ref().ok()))?;
    Ok(loaded)
}

// ---------------------------------------------------------------------------------------------------------------
// plan

pub async fn plan(settings: &Settings, s: &PlanSettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = plan_files(settings, s, out, &notices).await;
    notices.warn(out);
    result
}

async fn plan_files(settings: &Settings, s: &PlanSettings, out: Output, notices: &Notices) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let mut loaded = load_all(&selection)?;
    let options = PlanOptions { rotate: s.rotate };
    if !selection.several {
        let (_, file) = loaded.remove(0);
        let file = file?;
        let api = Api::new(settings, notices)?;
        let mut session = api.session(file);
        let (remote, plan) = session.fetch_and_plan(options).await?;
        if let Some(path) = &s.out {
            let protected = session.file.config.protected_files();
            save(path, vec![session.saved(&api, &remote, &plan, s.rotate)], &protected)?;
            out.status(&report::saved_plan(path));
        }
        report::show(&mut { out }, &plan, &session.name(), s.format, None);
        return Ok(if s.detailed_exitcode && !plan.is_empty() { Outcome::ChangesPresent } else { Outcome::Success });
    }

    let api = Api::new(settings, notices)?;
    let mut report = Report::new(out, s.format, false);
    // No file the run reads (any declaration file, any secret file) may be overwritten by the saved plan.
    let protected: Vec<(PathBuf, String)> =
        loaded.iter().filter_map(|(_, l)| l.as_ref().ok()).flat_map(|l| l.config.protected_files()).collect();
    let mut saved = Vec::new();
    let api = &api;
    batch::in_order(
        loaded,
        settings.jobs,
        |(path, file)| async move {
            let result = async {
                let mut session = api.session(file?);
                let (remote, plan) = session.fetch_and_plan(options).await?;
                let saved = s.out.is_some().then(|| session.saved(api, &remote, &plan, s.rotate));
                Ok(FileDone { plan, written: None, saved })
            };
            (path, result.await)
        },
        |(path, mut result): (PathBuf, Result<FileDone, Error>)| {
            if let Ok(done) = &mut result {
                saved.extend(done.saved.take());
            }
            report.file(&path.display().to_string(), Buffer::new(out), result, true);
        },
    )
    .await;
    let tally = report.finish();
    if let Some(path) = &s.out {
        if tally.failed.is_empty() {
            save(path, saved, &protected)?;
            out.status(&report::saved_plan(path));
        } else {
            out.warning(&report::not_saved(path, tally.failed.len()));
        }
    }
    Ok(outcome(&tally, s.detailed_exitcode))
}

fn save(path: &Path, plans: Vec<PlanFile>, protected: &[(PathBuf, String)]) -> Result<(), Error> {
    Ok(planfile::write_all(path, plans, protected)?)
}

fn outcome(tally: &Tally, detailed_exitcode: bool) -> Outcome {
    if !tally.failed.is_empty() {
        Outcome::SomeFailed
    } else if detailed_exitcode && tally.changed > 0 {
        Outcome::ChangesPresent
    } else {
        Outcome::Success
    }
}

// ---------------------------------------------------------------------------------------------------------------
// apply

pub async fn apply(settings: &Settings, s: &ApplySettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = match &s.planfile {
        Some(path) => apply_saved(settings, s, path, out, &notices).await,
        None => apply_files(settings, s, out, &notices).await,
    };
    notices.warn(out);
    result
}

async fn apply_files(settings: &Settings, s: &ApplySettings, out: Output, notices: &Notices) -> Result<Outcome, Error> {
    let selection = selection::select(&settings.files)?;
    let loaded = load_all(&selection)?;
    if !selection.several {
        if let Some((_, Err(_))) = loaded.first() {
            let (_, file) = loaded.into_iter().next().expect("one file was selected");
            return file.map(|_| Outcome::Success);
        }
    }
    let interactive = std::io::stdin().is_terminal();
    if !s.auto_approve && !interactive {
        return Err(Error::NotATerminal);
    }
    let api = Api::new(settings, notices)?;
    let options = PlanOptions { rotate: s.rotate };
    let several = selection.several;
    let mut report = Report::new(out, s.format, true);
    let api = &api;
    if s.auto_approve {
        // Each file: plan, show, write, report; the files go on independently.
        if !several {
            let (_, file) = loaded.into_iter().next().expect("one file was selected");
            plan_and_write(api, file, options, Some(s.format), &mut { out }).await?;
            return Ok(Outcome::Success);
        }
        let shown = report.shown();
        batch::in_order(
            loaded,
            settings.jobs,
            |(path, file)| async move {
                let mut buffer = Buffer::new(out);
                let result = plan_and_write(api, file, options, shown, &mut buffer).await;
                (path, buffer, result)
            },
            |(path, buffer, result): (PathBuf, Buffer, _)| {
                report.file(&path.display().to_string(), buffer, result, false)
            },
        )
        .await;
        return Ok(outcome(&report.finish(), false));
    }

    // Interactive: every plan first, one question, then the writes.
    let mut ready = Vec::new();
    let mut first_error = None;
    batch::in_order(
        loaded,
        settings.jobs,
        |(path, file)| async move {
            let result = async {
                let mut session = api.session(file?);
                let (_, plan) = session.fetch_and_plan(options).await?;
                Ok(Ready { session, plan })
            };
            (path, result.await)
        },
        |(path, result): (PathBuf, Result<Ready, Error>)| match result {
            Ok(r) => {
                let mut sink = out;
                let name = r.session.name();
                if !several {
                    if r.plan.is_empty() {
                        report::show(&mut sink, &r.plan, &name, s.format, Some(&[]));
                    } else {
                        report::before_apply(&mut sink, &r.plan, &name, s.format);
                    }
                } else if s.format == Format::Text {
                    report.heading(&name);
                    report::before_apply(&mut sink, &r.plan, &name, Format::Text);
                }
                ready.push(r);
            }
            Err(e) if !several => first_error = Some(e),
            Err(e) => report.file(&path.display().to_string(), Buffer::new(out), Err(e), false),
        },
    )
    .await;
    if let Some(e) = first_error {
        return Err(e);
    }
    if ready.iter().any(|r| !r.plan.is_empty()) {
        let answer = out.ask(&report::confirm_question(ready.len()));
        if answer.as_deref() != Some("yes") {
            return Err(Error::Cancelled);
        }
    } else if !several {
        return Ok(Outcome::Success);
    }
    write_ready(ready, several, settings.jobs, s.format, true, report).await
}

/// The tail of every apply, once each file's plan is made (and shown, when `plan_on_screen`): one file is written as
/// a one-file run; several in file order, at most `jobs` at once, each under its heading, then the overall summary.
async fn write_ready(
    mut ready: Vec<Ready>,
    several: bool,
    jobs: usize,
    format: Format,
    plan_on_screen: bool,
    mut report: Report,
) -> Result<Outcome, Error> {
    let out = report.out;
    if !several {
        write(ready.remove(0), Some(format), plan_on_screen, &mut { out }).await?;
        return Ok(Outcome::Success);
    }
    let shown = report.shown();
    batch::in_order(
        ready,
        jobs,
        |r| async move {
            let name = r.session.name();
            let mut buffer = Buffer::new(out);
            let result = write(r, shown, plan_on_screen, &mut buffer).await;
            (name, buffer, result)
        },
        |(name, buffer, result)| report.file(&name, buffer, result, false),
    )
    .await;
    Ok(outcome(&report.finish(), false))
}

/// One file of `apply --auto-approve`: plan, then [`write`].
async fn plan_and_write(
    api: &Api,
    file: Result<Loaded, Error>,
    options: PlanOptions,
    shown: Shown,
    sink: &mut dyn Sink,
) -> Result<FileDone, Error> {
    let mut session = api.session(file?);
    let (_, plan) = session.fetch_and_plan(options).await?;
    write(Ready { session, plan }, shown, false, sink).await
}

/// `apply PLANFILE`: every file the plan covers is checked first (re-read, account fetched, plan made again); if
/// any moved, nothing is sent to any account. Then each is applied exactly as planned, without asking.
async fn apply_saved(
    settings: &Settings,
    s: &ApplySettings,
    path: &Path,
    out: Output,
    notices: &Notices,
) -> Result<Outcome, Error> {
    let saved = planfile::read(path)?;
    let several = saved.len() > 1;
    if !settings.files.is_empty() {
        let given = selection::select(&settings.files)?.files;
        let matches =
            given.len() == saved.len() && given.iter().zip(&saved).all(|(g, p)| same_file(g, Path::new(&p.file)));
        if !matches {
            let list = |names: Vec<String>| names.join(", ");
            return Err(StaleError::OtherFile {
                planned: list(saved.iter().map(|p| p.file.clone()).collect()),
                given: list(given.iter().map(|g| g.display().to_string()).collect()),
            }
            .into());
        }
    }
    // Read and checked before anything is fetched, so that an edit reads as "changed" rather than as a new problem.
    let loaded: Vec<(PlanFile, Result<Loaded, Error>)> = saved
        .into_iter()
        .map(|plan| {
            let file = load_planned(&plan, settings.endpoints);
            (plan, file)
        })
        .collect();
    if !several {
        if let Some((_, Err(_))) = loaded.first() {
            let (_, file) = loaded.into_iter().next().expect("a plan file covers a file");
            return file.map(|_| Outcome::Success);
        }
    }
    check_accounts(loaded.iter().filter_map(|(_, l)| l.as_ref().ok()))?;
    let api = Api::new(settings, notices)?;
    let files = loaded.len();
    let mut ready = Vec::new();
    let mut report = Report::new(out, Format::Text, true);
    let mut first_error = None;
    let api_ref = &api;
    batch::in_order(
        loaded,
        settings.jobs,
        |(plan, file)| async move {
            let name = plan.file.clone();
            (name, check_saved(api_ref, plan, file).await)
        },
        |(name, result): (String, Result<Ready, Error>)| match result {
            Ok(r) => ready.push(r),
            Err(e) if !several => first_error = Some(e),
            // Only the files that cannot be applied are named: the rest are not shown until all pass.
            Err(e) => report.failure_only(&name, &e),
        },
    )
    .await;
    if let Some(e) = first_error {
        return Err(e);
    }
    if !report.tally.failed.is_empty() {
        return Err(Error::StaleFiles { stale: report.tally.failed.len(), files });
    }
    write_ready(ready, several, settings.jobs, s.format, false, Report::new(out, s.format, true)).await
}

/// Reads the file a saved plan names, refusing it when its text changed since.
fn load_planned(saved: &PlanFile, endpoints: Option<Family>) -> Result<Loaded, Error> {
    let path = PathBuf::from(&saved.file);
    let changed = |text: &str| planfile::file_digest(text) != saved.file_sha256;
    if std::fs::read_to_string(&path).is_ok_and(|text| changed(&text)) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if let Some(given) = endpoints.filter(|given| *given != saved.endpoints) {
        return Err(StaleError::OtherFamily { planned: saved.endpoints, given }.into());
    }
    let file = load(&path)?;
    if changed(&file.config.source) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    Ok(file)
}

/// Checks one file of a saved plan against the account as it is now.
async fn check_saved(api: &Api, saved: PlanFile, file: Result<Loaded, Error>) -> Result<Ready, Error> {
    let file = file?;
    if api.shown != saved.api_url {
        return Err(StaleError::OtherApi { planned: saved.api_url.clone(), now: api.shown.clone() }.into());
    }
    let mut session = api.session_with(file, saved.endpoints);
    let (remote, plan) = session.fetch_and_plan(PlanOptions { rotate: saved.rotate }).await?;
    if planfile::account_fingerprint(&remote, &session.file.resolved.api_key) != saved.account_fingerprint {
        return Err(StaleError::AccountChanged.into());
    }
    planfile::compare_plans(&saved.providers, &plan)?;
    if plan.requests != saved.requests {
        return Err(StaleError::RequestsChanged.into());
    }
    Ok(Ready { session, plan })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// import

/// `import`: one GET of the account's config, written as a starting file (secrets only as references).
pub async fn import(settings: &Settings, s: &ImportSettings, out: Output) -> Result<Outcome, Error> {
    let notices = Notices::default();
    let result = import_file(settings, s, out, &notices).await;
    notices.warn(out);
    result
}

async fn import_file(
    settings: &Settings,
    s: &ImportSettings,
    out: Output,
    notices: &Notices,
) -> Result<Outcome, Error> {
    if settings.files.len() > 1 {
        return Err(Error::ImportSeveral { count: settings.files.len() });
    }
    let file = settings.files.first().cloned().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    if s.out.is_none() && file.is_dir() {
        return Err(Error::ImportFolder { path: file.display().to_string() });
    }
    let dest = match &s.out {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => Some(file),
    };
    if let Some(path) = &dest {
        import::check_destination(path, s.force)?;
    }
    let api_key = import::api_key()?;
    crate::redact::register_secret(&api_key);
    let api = Api::new(settings, notices)?;
    let client = api.client(api_key);
    let remote = apply::read(&client, api.family).await;
    notices.note(&client);
    let remote = remote?;
    let imported = import::starting_file(&remote, &s.secrets)?;
    match &dest {
        Some(path) => import::write_file(path, &imported.text, s.force)?,
        None => out.data(&imported.text),
    }
    for note in &imported.notes {
        out.warning(note);
    }
    let checked_as = dest.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    let problems = import::problems(&imported, &checked_as);
    if problems > 0 {
        out.warning(&report::import_problems(problems));
    }
    let default_file = dest.as_deref().is_some_and(|p| p == Path::new(DEFAULT_FILE));
    out.status(&report::import_next_steps(&imported, dest.as_deref(), default_file));
    Ok(Outcome::Success)
}
