//! Running each command: reading the file, talking to the API, and handing the results to `render`. The command
//! line itself (arguments, errors, exit outcomes) is `cli`'s.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::agents::{self, NameError};
use crate::api::client;
use crate::api::{Client, ClientOptions};
use crate::apply;
use crate::cli::{ApplyArgs, Error, GlobalArgs, ImportArgs, Outcome, PlanArgs};
use crate::config::{self, resolve};
use crate::diff::{self, Plan, PlanOptions};
use crate::endpoints::{self, Family};
use crate::import;
use crate::planfile::{self, PlanFile, StaleError};
use crate::render::json::PlanDocument;
use crate::render::{self, Format, Output};

const DEFAULT_FILE: &str = "telephony.yaml";

fn file_path(global: &GlobalArgs) -> PathBuf {
    global.file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE))
}

pub(crate) fn validate(global: &GlobalArgs, out: Output) -> Result<Outcome, Error> {
    let path = file_path(global);
    let config = config::load(&path)?;
    let managed = config.providers.iter().filter(|d| !matches!(d, config::model::Declaration::Unmanaged)).count();
    out.status(&format!(
        "{} is valid ({managed} provider{} declared).",
        path.display(),
        if managed == 1 { "" } else { "s" }
    ));
    Ok(Outcome::Success)
}

/// Everything a command needs after the file is read: the file, the resolved state, and a client for the account.
struct Session {
    path: PathBuf,
    config: config::Config,
    resolved: resolve::Resolved,
    client: Client,
    api_url: String,
    /// The endpoint family reads and writes go through.
    family: Family,
}

impl Session {
    fn file_name(&self) -> String {
        self.path.display().to_string()
    }

    /// Looks up agents written by name (the only network use before the plan's GET).
    async fn lookup_agents(&mut self) -> Result<(), Error> {
        agents::resolve_names(&self.client, &self.config, &mut self.resolved).await.map_err(|e| match e {
            NameError::Api(e) => Error::Api(e),
            NameError::Config(e) => Error::Config(e),
        })
    }

    /// The plan against `remote`, with the names of agents written by name and the requests apply would send.
    fn plan(&self, remote: &crate::state::RemoteState, options: PlanOptions) -> Plan {
        let mut plan = diff::plan(&self.resolved.desired, remote, options);
        plan.agent_names = self.resolved.names_by_id.clone();
        plan.requests = endpoints::requests(&plan, self.family);
        plan
    }

    /// Reads the account through the session's family.
    async fn read(&self) -> Result<crate::state::RemoteState, Error> {
        Ok(apply::read(&self.client, self.family).await?)
    }
}

fn open(global: &GlobalArgs, path: PathBuf) -> Result<Session, Error> {
    let config = config::load(&path)?;
    let resolved = resolve::resolve(&config)?;
    let base = client::parse_base_url(global.api_url())?;
    let api_url = client::display_url(&base);
    let options = ClientOptions { request_timeout: Duration::from_secs(global.timeout), ..ClientOptions::default() };
    let client = Client::new(base, resolved.api_key.clone(), resolved.scrubber.clone(), options)?;
    Ok(Session { path, config, resolved, client, api_url, family: global.endpoints().unwrap_or_default() })
}

/// Warns once (on stderr, never an error) when an answer said its endpoint is deprecated.
fn warn_deprecated(out: Output, client: &Client) {
    if let Some(notice) = client.deprecation() {
        out.warning(&notice.to_string());
    }
}

/// Prints a plan in the chosen format; `applied` adds apply's report.
fn show(out: Output, plan: &Plan, file: &str, format: Format, applied: Option<&[crate::model::Provider]>) {
    match format {
        Format::Text => {
            out.data(&render::text::plan(plan, file, out.stdout));
            if let Some(written) = applied {
                out.data(&applied_line(plan, written));
            }
        }
        Format::Json => {
            let mut doc = PlanDocument::new(plan, file);
            if let Some(written) = applied {
                doc = doc.with_apply(written.to_vec());
            }
            out.data(&render::json::render(&doc));
        }
        Format::Markdown => {
            let mut text = render::markdown::render(plan, file);
            if let Some(written) = applied {
                text.push_str(&format!("\n**{}**\n", applied_line(plan, written)));
            }
            out.data(&text);
        }
    }
}

fn applied_line(plan: &Plan, written: &[crate::model::Provider]) -> String {
    if written.is_empty() {
        return "Nothing to apply: no write was sent.".into();
    }
    let c = plan.counts();
    let how = if plan.requests.len() == 1 && plan.requests[0].provider().is_none() {
        " in one write"
    } else {
        ": one request each"
    };
    format!(
        "Apply complete: {} created, {} updated, {} deleted ({}{how}).",
        c.create,
        c.update,
        c.delete,
        written.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
    )
}

pub(crate) async fn plan(global: &GlobalArgs, args: &PlanArgs, out: Output) -> Result<Outcome, Error> {
    let mut session = open(global, file_path(global))?;
    let result = plan_in(&mut session, args, out).await;
    warn_deprecated(out, &session.client);
    result
}

async fn plan_in(session: &mut Session, args: &PlanArgs, out: Output) -> Result<Outcome, Error> {
    session.lookup_agents().await?;
    let remote = session.read().await?;
    let plan = session.plan(&remote, PlanOptions { rotate: args.rotate });
    if let Some(path) = &args.out {
        let saved = PlanFile {
            plan_file_version: planfile::PLAN_FILE_VERSION,
            reconcile_version: env!("CARGO_PKG_VERSION").to_string(),
            file: session.file_name(),
            file_sha256: planfile::file_digest(&session.config.source),
            api_url: session.api_url.clone(),
            rotate: args.rotate,
            account_fingerprint: planfile::account_fingerprint(&remote, &session.resolved.api_key),
            providers: plan.providers.clone(),
            endpoints: session.family,
            requests: plan.requests.clone(),
        };
        planfile::write(path, &saved, &session.config.protected_files())?;
        out.status(&format!(
            "Saved the plan to {}; apply it with `reconcile apply {}`.",
            path.display(),
            path.display()
        ));
    }
    show(out, &plan, &session.file_name(), args.format, None);
    if args.detailed_exitcode && !plan.is_empty() { Ok(Outcome::ChangesPresent) } else { Ok(Outcome::Success) }
}

pub(crate) async fn apply(global: &GlobalArgs, args: &ApplyArgs, out: Output) -> Result<Outcome, Error> {
    if let Some(path) = &args.planfile {
        return apply_saved(global, args, path, out).await;
    }
    let mut session = open(global, file_path(global))?;
    let result = apply_in(&mut session, args, out).await;
    warn_deprecated(out, &session.client);
    result
}

async fn apply_in(session: &mut Session, args: &ApplyArgs, out: Output) -> Result<Outcome, Error> {
    let interactive = std::io::stdin().is_terminal();
    if !args.auto_approve && !interactive {
        return Err(Error::Refused {
            message: "refusing to apply without confirmation: standard input is not a terminal; nothing was sent"
                .into(),
            hint: "pass --auto-approve to apply unattended (as in CI), or a plan saved with `reconcile plan --out`"
                .into(),
        });
    }
    session.lookup_agents().await?;
    let remote = session.read().await?;
    let plan = session.plan(&remote, PlanOptions { rotate: args.rotate });
    if plan.is_empty() {
        show(out, &plan, &session.file_name(), args.format, Some(&[]));
        return Ok(Outcome::Success);
    }
    show_before_apply(out, &plan, &session.file_name(), args.format);
    if !args.auto_approve {
        let answer = out.ask("Apply these changes to the account? Only 'yes' is accepted: ");
        if answer.as_deref() != Some("yes") {
            return Err(Error::Refused {
                message: "apply cancelled; nothing was sent".into(),
                hint: "answer 'yes' to apply, or pass --auto-approve".into(),
            });
        }
    }
    let applied = write(session, &plan, args.format, out).await?;
    warn_unverified(out, &applied.unverified);
    show_after_apply(out, &plan, &session.file_name(), args.format, &applied.written);
    Ok(Outcome::Success)
}

/// Sends the plan's write; with `--format json`, a failure still prints the plan's document, with the failure in it.
async fn write(session: &Session, plan: &Plan, format: Format, out: Output) -> Result<apply::Applied, Error> {
    match apply::apply(&session.client, plan, &session.resolved.desired, &plan.requests).await {
        Ok(applied) => Ok(applied),
        Err(e) => {
            if format == Format::Json {
                let doc = PlanDocument::new(plan, &session.file_name()).with_failure(e.to_string(), e.hint());
                out.data(&render::json::render(&doc));
            }
            Err(e.into())
        }
    }
}

fn warn_unverified(out: Output, unverified: &[String]) {
    if !unverified.is_empty() {
        out.warning(&format!(
            "the API's answer gave no prefix for {}, so whether the value sent landed cannot be checked; \
             `reconcile plan` will show it as unverifiable",
            unverified.join(", ")
        ));
    }
}

/// Text and Markdown show the plan before the write, so that it is on screen (and in the CI log) whatever happens
/// next; JSON is one document, printed once the outcome is known.
fn show_before_apply(out: Output, plan: &Plan, file: &str, format: Format) {
    if format != Format::Json {
        show(out, plan, file, format, None);
    }
}

fn show_after_apply(out: Output, plan: &Plan, file: &str, format: Format, written: &[crate::model::Provider]) {
    match format {
        Format::Json => show(out, plan, file, format, Some(written)),
        Format::Text => out.data(&applied_line(plan, written)),
        Format::Markdown => out.data(&format!("\n**{}**", applied_line(plan, written))),
    }
}

/// `apply PLANFILE`: re-reads the file the plan names, refuses when anything moved, else applies exactly that plan.
async fn apply_saved(
    global: &GlobalArgs,
    args: &ApplyArgs,
    path: &std::path::Path,
    out: Output,
) -> Result<Outcome, Error> {
    let saved = planfile::read(path)?;
    let planned_path = PathBuf::from(&saved.file);
    if let Some(given) = &global.file {
        if !same_file(given, &planned_path) {
            return Err(
                StaleError::OtherFile { planned: saved.file.clone(), given: given.display().to_string() }.into()
            );
        }
    }
    // Checked before the file is validated, so that an edit reads as "changed" rather than as a new problem.
    let changed = |text: &str| planfile::file_digest(text) != saved.file_sha256;
    if std::fs::read_to_string(&planned_path).is_ok_and(|text| changed(&text)) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if let Some(given) = global.endpoints().filter(|given| *given != saved.endpoints) {
        return Err(StaleError::OtherFamily { planned: saved.endpoints, given }.into());
    }
    let mut session = open(global, planned_path)?;
    session.family = saved.endpoints;
    let result = apply_saved_in(&mut session, &saved, args, out).await;
    warn_deprecated(out, &session.client);
    result
}

async fn apply_saved_in(
    session: &mut Session,
    saved: &PlanFile,
    args: &ApplyArgs,
    out: Output,
) -> Result<Outcome, Error> {
    let changed = |text: &str| planfile::file_digest(text) != saved.file_sha256;
    if changed(&session.config.source) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if session.api_url != saved.api_url {
        return Err(StaleError::OtherApi { planned: saved.api_url.clone(), now: session.api_url.clone() }.into());
    }
    session.lookup_agents().await?;
    let remote = session.read().await?;
    if planfile::account_fingerprint(&remote, &session.resolved.api_key) != saved.account_fingerprint {
        return Err(StaleError::AccountChanged.into());
    }
    let plan = session.plan(&remote, PlanOptions { rotate: saved.rotate });
    planfile::compare_plans(&saved.providers, &plan)?;
    if plan.requests != saved.requests {
        return Err(StaleError::RequestsChanged.into());
    }
    if plan.is_empty() {
        show(out, &plan, &session.file_name(), args.format, Some(&[]));
        return Ok(Outcome::Success);
    }
    show_before_apply(out, &plan, &session.file_name(), args.format);
    let applied = write(session, &plan, args.format, out).await?;
    warn_unverified(out, &applied.unverified);
    show_after_apply(out, &plan, &session.file_name(), args.format, &applied.written);
    Ok(Outcome::Success)
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `import`: one GET of the account's config, written as a starting file (secrets only as references).
pub(crate) async fn import(global: &GlobalArgs, args: &ImportArgs, out: Output) -> Result<Outcome, Error> {
    let dest = match &args.out {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => Some(file_path(global)),
    };
    if let Some(path) = &dest {
        import::check_destination(path, args.force)?;
    }
    let api_key = import::api_key()?;
    let base = client::parse_base_url(global.api_url())?;
    let mut scrubber = crate::secret::Scrubber::default();
    scrubber.add(&api_key);
    let options = ClientOptions { request_timeout: Duration::from_secs(global.timeout), ..ClientOptions::default() };
    let client = Client::new(base, api_key, scrubber, options)?;
    let remote = apply::read(&client, global.endpoints().unwrap_or_default()).await;
    warn_deprecated(out, &client);
    let remote = remote?;
    let imported = import::render(&remote)?;
    match &dest {
        Some(path) => import::write_file(path, &imported.text, args.force)?,
        None => out.data(&imported.text),
    }
    for note in &imported.notes {
        out.warning(note);
    }
    let checked_as = dest.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    let problems = import::problems(&imported, &checked_as);
    if problems > 0 {
        out.warning(&format!(
            "the imported file does not pass validation yet ({problems} problem{}): the account holds what the \
             file's rules reject; run `reconcile validate` to see where, and fix it",
            if problems == 1 { "" } else { "s" }
        ));
    }
    let default_file = dest.as_deref().is_some_and(|p| p == std::path::Path::new(DEFAULT_FILE));
    out.status(&import::next_steps(&imported, dest.as_deref(), default_file));
    Ok(Outcome::Success)
}
