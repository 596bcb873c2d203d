//! The command line: arguments (clap) and the dispatch to each command. `main` only maps the result to an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::agents::{self, NameError};
use crate::api::client::{self, DEFAULT_API_URL};
use crate::api::{ApiError, Client, ClientOptions, TelephonyApi};
use crate::apply::{self, ApplyError};
use crate::config::{self, ConfigError, resolve};
use crate::diff::{self, Plan, PlanOptions};
use crate::import::{self, ImportError};
use crate::planfile::{self, PlanFile, StaleError};
use crate::render::json::PlanDocument;
use crate::render::{self, ColorChoice, Format, Output};

/// Keep an Ultravox account's telephony credentials (Twilio, Telnyx, Plivo) declared in a file.
///
/// `plan` shows what would change without revealing any secret; `apply` makes the account match the file, sending
/// only what is needed. The API key comes from the file's `account.apiKey` reference (by default the
/// ULTRAVOX_API_KEY environment variable), never from the command line.
#[derive(Debug, Parser)]
#[command(name = "reconcile", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The declaration file [default: telephony.yaml; with `apply PLANFILE`, the file the plan names].
    #[arg(short = 'f', long = "file", global = true, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The Ultravox API root. http:// is accepted only for loopback hosts (the emulator).
    #[arg(long, global = true, env = "ULTRAVOX_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub api_url: String,
    /// When to colour output; NO_COLOR is honoured with `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors and warnings on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Seconds one request may take before it is abandoned.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

impl GlobalArgs {
    /// The API root; an empty `ULTRAVOX_API_URL` (as CI systems set for an undefined variable) means the default.
    pub fn api_url(&self) -> &str {
        if self.api_url.trim().is_empty() { DEFAULT_API_URL } else { &self.api_url }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the file: structure, rules, well-formed secret references. Never uses the network or reads a secret.
    Validate,
    /// Fetch the account's config and show what apply would change (one GET).
    Plan(PlanArgs),
    /// Make the account match the file: one write holding only the providers that change.
    Apply(ApplyArgs),
    /// Print a JSON Schema: of telephony.yaml (for editors), or of `plan --format json`.
    Schema(SchemaArgs),
    /// Write a starting telephony.yaml from the account's current config (one GET; secrets only as references).
    Import(ImportArgs),
    /// Print a shell completion script on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, with a section for every command.
    Man,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where to write the file [default: the -f path, telephony.yaml]; `-` prints it on stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the destination if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document's schema to print.
    #[arg(long = "for", value_enum, default_value_t = SchemaFor::File)]
    pub target: SchemaFor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaFor {
    /// telephony.yaml (schema/telephony.schema.json).
    File,
    /// The output of `plan --format json` (schema/plan.schema.json).
    Plan,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when there are changes (0 when none, 1 on error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Send every declared secret, whatever the API's prefixes say.
    #[arg(long)]
    pub rotate: bool,
    /// How to print the plan on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan to this file, for `reconcile apply PLANFILE` (holds no secret material).
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`: applied exactly, without asking, unless anything moved since.
    #[arg(value_name = "PLANFILE")]
    pub planfile: Option<PathBuf>,
    /// Apply without asking for confirmation (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Send every declared secret, whatever the API's prefixes say.
    #[arg(long, conflicts_with = "planfile")]
    pub rotate: bool,
    /// How to print the plan and the report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How a successful run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// `plan --detailed-exitcode` found changes.
    ChangesPresent,
}

/// Why a run failed. Every variant is exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{message}")]
    Refused { message: String, hint: String },
    #[error("refusing to apply the saved plan: {0}; nothing was sent")]
    Stale(#[from] StaleError),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(_) | Error::Runtime(_) => None,
            Error::Api(e) => e.hint(),
            Error::Apply(e) => e.hint(),
            Error::Import(e) => Some(e.hint()),
            Error::Refused { hint, .. } => Some(hint.clone()),
            Error::Stale(e) => Some(e.hint()),
            Error::Write { .. } => Some("check that the folder exists and is writable".into()),
        }
    }
}

/// Sets up logging and runs a parsed command line.
pub fn run(cli: Cli) -> (Output, Result<Outcome, Error>) {
    let out = Output::new(cli.global.color, cli.global.quiet);
    init_logging(&cli.global, out.stderr.enabled);
    let result = dispatch(&cli, out);
    (out, result)
}

/// Prints an error the way its kind reads best.
pub fn report(out: &Output, error: &Error) {
    match error {
        Error::Config(e) => out.error_block(&render::diagnostics::render(e, out.stderr)),
        other => out.error(&other.to_string(), other.hint().as_deref()),
    }
}

fn init_logging(global: &GlobalArgs, ansi: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "reconcile=info,warn",
            2 => "reconcile=debug,info",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .with_target(global.verbose >= 2)
        .try_init();
}

fn dispatch(cli: &Cli, out: Output) -> Result<Outcome, Error> {
    match &cli.command {
        Command::Validate => validate(&cli.global, out),
        Command::Plan(args) => block_on(plan(&cli.global, args, out)),
        Command::Apply(args) => block_on(apply(&cli.global, args, out)),
        Command::Schema(args) => {
            out.data(&match args.target {
                SchemaFor::File => config::schema::render(),
                SchemaFor::Plan => render::json::schema(),
            });
            Ok(Outcome::Success)
        }
        Command::Import(args) => block_on(import(&cli.global, args, out)),
        Command::Completions(args) => {
            out.data(&completions(args.shell));
            Ok(Outcome::Success)
        }
        Command::Man => {
            out.data(&man_page());
            Ok(Outcome::Success)
        }
    }
}

fn block_on<F: std::future::Future<Output = Result<Outcome, Error>>>(future: F) -> Result<Outcome, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?
        .block_on(future)
}

const DEFAULT_FILE: &str = "telephony.yaml";

fn file_path(global: &GlobalArgs) -> PathBuf {
    global.file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE))
}

fn validate(global: &GlobalArgs, out: Output) -> Result<Outcome, Error> {
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

    /// The plan against `remote`, with the names of agents written by name.
    fn plan(&self, remote: &crate::state::RemoteState, options: PlanOptions) -> Plan {
        let mut plan = diff::plan(&self.resolved.desired, remote, options);
        plan.agent_names = self.resolved.names_by_id.clone();
        plan
    }
}

fn open(global: &GlobalArgs, path: PathBuf) -> Result<Session, Error> {
    let config = config::load(&path)?;
    let resolved = resolve::resolve(&config)?;
    let base = client::parse_base_url(global.api_url())?;
    let api_url = client::display_url(&base);
    let options = ClientOptions { request_timeout: Duration::from_secs(global.timeout), ..ClientOptions::default() };
    let client = Client::new(base, resolved.api_key.clone(), resolved.scrubber.clone(), options)?;
    Ok(Session { path, config, resolved, client, api_url })
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
    format!(
        "Apply complete: {} created, {} updated, {} deleted ({} in one write).",
        c.create,
        c.update,
        c.delete,
        written.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
    )
}

async fn plan(global: &GlobalArgs, args: &PlanArgs, out: Output) -> Result<Outcome, Error> {
    let mut session = open(global, file_path(global))?;
    session.lookup_agents().await?;
    let remote = session.client.fetch_config().await?;
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
        };
        planfile::write(path, &saved)
            .map_err(|e| Error::Write { path: path.display().to_string(), reason: e.kind().to_string() })?;
        out.status(&format!(
            "Saved the plan to {}; apply it with `reconcile apply {}`.",
            path.display(),
            path.display()
        ));
    }
    show(out, &plan, &session.file_name(), args.format, None);
    if args.detailed_exitcode && !plan.is_empty() { Ok(Outcome::ChangesPresent) } else { Ok(Outcome::Success) }
}

async fn apply(global: &GlobalArgs, args: &ApplyArgs, out: Output) -> Result<Outcome, Error> {
    if let Some(path) = &args.planfile {
        return apply_saved(global, args, path, out).await;
    }
    let mut session = open(global, file_path(global))?;
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
    let remote = session.client.fetch_config().await?;
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
    let applied = apply::apply(&session.client, &plan, &session.resolved.desired).await?;
    warn_unverified(out, &applied.unverified);
    show_after_apply(out, &plan, &session.file_name(), args.format, &applied.written);
    Ok(Outcome::Success)
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
    let mut session = open(global, planned_path)?;
    if changed(&session.config.source) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if session.api_url != saved.api_url {
        return Err(StaleError::OtherApi { planned: saved.api_url.clone(), now: session.api_url.clone() }.into());
    }
    session.lookup_agents().await?;
    let remote = session.client.fetch_config().await?;
    if planfile::account_fingerprint(&remote, &session.resolved.api_key) != saved.account_fingerprint {
        return Err(StaleError::AccountChanged.into());
    }
    let plan = session.plan(&remote, PlanOptions { rotate: saved.rotate });
    planfile::compare_plans(&saved.providers, &plan)?;
    if plan.is_empty() {
        show(out, &plan, &session.file_name(), args.format, Some(&[]));
        return Ok(Outcome::Success);
    }
    show_before_apply(out, &plan, &session.file_name(), args.format);
    let applied = apply::apply(&session.client, &plan, &session.resolved.desired).await?;
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
async fn import(global: &GlobalArgs, args: &ImportArgs, out: Output) -> Result<Outcome, Error> {
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
    let remote = client.fetch_config().await?;
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

/// The completion script for a shell.
fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "reconcile", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// The man page: the main command's page, then a section for each command (its synopsis, description and
/// options), then exit status, environment and files.
fn man_page() -> String {
    use clap::CommandFactory;
    use clap_mangen::roff::{Roff, bold, roman};
    // Every rendered piece starts with the same preamble (for apostrophes); the page keeps only the first.
    let preamble = Roff::new().render();
    let render = |f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        // Writing into memory cannot fail.
        let _ = f(&mut buf);
        String::from_utf8_lossy(&buf).replace(preamble.as_str(), "")
    };
    let top = Cli::command().disable_help_subcommand(true);
    let man = clap_mangen::Man::new(top.clone());
    let mut page = preamble.clone();
    page.push_str(&render(&|w| {
        man.render_title(w)?;
        man.render_name_section(w)?;
        man.render_synopsis_section(w)?;
        man.render_description_section(w)?;
        man.render_options_section(w)
    }));
    // Each command under a heading naming it: its synopsis and description, and its options one level lower.
    let without_heading =
        |text: String| text.lines().filter(|l| !l.starts_with(".SH ")).map(|l| format!("{l}\n")).collect::<String>();
    let lowered = |text: String| {
        text.lines()
            .map(|l| match l.strip_prefix(".SH ") {
                Some(rest) => format!(".SS {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect::<String>()
    };
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("reconcile {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(&name));
        let mut heading = Roff::new();
        heading.control("SH", [name.to_uppercase().as_str()]);
        page.push_str(&heading.to_roff());
        page.push_str(&without_heading(render(&|w| man.render_synopsis_section(w))));
        page.push_str(".PP\n");
        page.push_str(&without_heading(render(&|w| man.render_description_section(w))));
        page.push_str(&lowered(render(&|w| man.render_options_section(w))));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "Success (plan: no changes, or changes without --detailed-exitcode)."),
        ("1", "Any error or refusal: invalid file, unresolved secret, API error, cancelled apply, usage error."),
        ("2", "plan --detailed-exitcode found changes."),
    ] {
        roff.control("TP", []).text([bold(code)]).text([roman(meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        (
            "ULTRAVOX_API_KEY",
            "The Ultravox API key, unless the file's account.apiKey names another reference. It is never accepted on \
             the command line.",
        ),
        ("ULTRAVOX_API_URL", "The API root, as --api-url."),
        (
            "TWILIO_AUTH_TOKEN, TELNYX_API_KEY, TELNYX_PUBLIC_KEY, PLIVO_AUTH_TOKEN",
            "The conventional names of the provider secrets a file references (import writes these references).",
        ),
        ("NO_COLOR", "Disables colour with --color auto."),
        ("RUST_LOG", "Overrides the log filter that -v and -q set."),
    ] {
        roff.control("TP", []).text([bold(name)]).text([roman(meaning)]);
    }
    roff.control("SH", ["FILES"]);
    roff.control("TP", []).text([bold("telephony.yaml")]).text([roman(
        "The declaration, by default in the current folder; file references in it are relative to its folder.",
    )]);
    page.push_str(&render(&|w| roff.to_writer(w)));
    page.push_str(&render(&|w| man.render_version_section(w)));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_api_url_means_the_default() {
        let parse = |url: &str| Cli::try_parse_from(["reconcile", "--api-url", url, "validate"]).unwrap().global;
        assert_eq!(parse("").api_url(), DEFAULT_API_URL);
        assert_eq!(parse("  ").api_url(), DEFAULT_API_URL);
        assert_eq!(parse("http://127.0.0.1:1").api_url(), "http://127.0.0.1:1");
    }
}
