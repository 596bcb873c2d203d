//! The command line: arguments (clap) and the dispatch to each command. `main` only maps the result to an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::client::{self, DEFAULT_API_URL};
use crate::api::{ApiError, Client, ClientOptions, TelephonyApi};
use crate::apply::{self, ApplyError};
use crate::config::{self, ConfigError, resolve};
use crate::diff::{self, Plan, PlanOptions};
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
}

fn open(global: &GlobalArgs, path: PathBuf) -> Result<Session, Error> {
    let config = config::load(&path)?;
    let resolved = resolve::resolve(&config)?;
    let base = client::parse_base_url(&global.api_url)?;
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
    let session = open(global, file_path(global))?;
    let remote = session.client.fetch_config().await?;
    let options = PlanOptions { rotate: args.rotate };
    let plan = diff::plan(&session.resolved.desired, &remote, options);
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
    let session = open(global, file_path(global))?;
    let interactive = std::io::stdin().is_terminal();
    if !args.auto_approve && !interactive {
        return Err(Error::Refused {
            message: "refusing to apply without confirmation: standard input is not a terminal; nothing was sent"
                .into(),
            hint: "pass --auto-approve to apply unattended (as in CI), or a plan saved with `reconcile plan --out`"
                .into(),
        });
    }
    let remote = session.client.fetch_config().await?;
    let plan = diff::plan(&session.resolved.desired, &remote, PlanOptions { rotate: args.rotate });
    if plan.is_empty() {
        show(out, &plan, &session.file_name(), args.format, Some(&[]));
        return Ok(Outcome::Success);
    }
    if !args.auto_approve {
        show(out, &plan, &session.file_name(), args.format, None);
        let answer = out.ask("Apply these changes to the account? Only 'yes' is accepted: ");
        if answer.as_deref() != Some("yes") {
            return Err(Error::Refused {
                message: "apply cancelled; nothing was sent".into(),
                hint: "answer 'yes' to apply, or pass --auto-approve".into(),
            });
        }
    }
    let applied = apply::apply(&session.client, &plan, &session.resolved.desired).await?;
    if args.auto_approve {
        show(out, &plan, &session.file_name(), args.format, Some(&applied.written));
    } else {
        out.data(&applied_line(&plan, &applied.written));
    }
    Ok(Outcome::Success)
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
    let session = open(global, planned_path)?;
    if changed(&session.config.source) {
        return Err(StaleError::FileChanged { file: saved.file.clone() }.into());
    }
    if session.api_url != saved.api_url {
        return Err(StaleError::OtherApi { planned: saved.api_url.clone(), now: session.api_url.clone() }.into());
    }
    let remote = session.client.fetch_config().await?;
    if planfile::account_fingerprint(&remote, &session.resolved.api_key) != saved.account_fingerprint {
        return Err(StaleError::AccountChanged.into());
    }
    let plan = diff::plan(&session.resolved.desired, &remote, PlanOptions { rotate: saved.rotate });
    planfile::compare_plans(&saved.providers, &plan)?;
    let applied = apply::apply(&session.client, &plan, &session.resolved.desired).await?;
    show(out, &plan, &session.file_name(), args.format, Some(&applied.written));
    Ok(Outcome::Success)
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
