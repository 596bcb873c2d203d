//! The command line: arguments (clap) and the dispatch to each command. `main` only maps the result to an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::client::{self, DEFAULT_API_URL};
use crate::api::{ApiError, Client, ClientOptions, TelephonyApi};
use crate::apply::{self, ApplyError};
use crate::config::{self, ConfigError, resolve};
use crate::diff::{self, PlanOptions};
use crate::render::{self, ColorChoice, Output};

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
    /// The declaration file.
    #[arg(short = 'f', long = "file", global = true, default_value = "telephony.yaml", value_name = "PATH")]
    pub file: PathBuf,
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
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when there are changes (0 when none, 1 on error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Send every declared secret, whatever the API's prefixes say.
    #[arg(long)]
    pub rotate: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Send every declared secret, whatever the API's prefixes say.
    #[arg(long)]
    pub rotate: bool,
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
    }
}

fn block_on<F: std::future::Future<Output = Result<Outcome, Error>>>(future: F) -> Result<Outcome, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?
        .block_on(future)
}

fn file_name(global: &GlobalArgs) -> String {
    global.file.display().to_string()
}

fn validate(global: &GlobalArgs, out: Output) -> Result<Outcome, Error> {
    let config = config::load(&global.file)?;
    let managed = config.providers.iter().filter(|d| !matches!(d, config::model::Declaration::Unmanaged)).count();
    out.status(&format!(
        "{} is valid ({managed} provider{} declared).",
        file_name(global),
        if managed == 1 { "" } else { "s" }
    ));
    Ok(Outcome::Success)
}

/// Everything a command needs after the file is read: the resolved state and a client for the account.
struct Session {
    resolved: resolve::Resolved,
    client: Client,
}

fn open(global: &GlobalArgs) -> Result<Session, Error> {
    let config = config::load(&global.file)?;
    let resolved = resolve::resolve(&config)?;
    let base = client::parse_base_url(&global.api_url)?;
    let options = ClientOptions { request_timeout: Duration::from_secs(global.timeout), ..ClientOptions::default() };
    let client = Client::new(base, resolved.api_key.clone(), resolved.scrubber.clone(), options)?;
    Ok(Session { resolved, client })
}

async fn plan(global: &GlobalArgs, args: &PlanArgs, out: Output) -> Result<Outcome, Error> {
    let session = open(global)?;
    let remote = session.client.fetch_config().await?;
    let plan = diff::plan(&session.resolved.desired, &remote, PlanOptions { rotate: args.rotate });
    out.data(&render::text::plan(&plan, &file_name(global), out.stdout));
    if args.detailed_exitcode && !plan.is_empty() { Ok(Outcome::ChangesPresent) } else { Ok(Outcome::Success) }
}

async fn apply(global: &GlobalArgs, args: &ApplyArgs, out: Output) -> Result<Outcome, Error> {
    let session = open(global)?;
    let interactive = std::io::stdin().is_terminal();
    if !args.auto_approve && !interactive {
        return Err(Error::Refused {
            message: "refusing to apply without confirmation: standard input is not a terminal; nothing was sent"
                .into(),
            hint: "pass --auto-approve to apply unattended (as in CI), or run it in a terminal to confirm".into(),
        });
    }
    let remote = session.client.fetch_config().await?;
    let plan = diff::plan(&session.resolved.desired, &remote, PlanOptions { rotate: args.rotate });
    out.data(&render::text::plan(&plan, &file_name(global), out.stdout));
    if plan.is_empty() {
        return Ok(Outcome::Success);
    }
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
    let c = plan.counts();
    out.data(&format!(
        "Apply complete: {} created, {} updated, {} deleted ({} in one write).",
        c.create,
        c.update,
        c.delete,
        applied.written.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
    ));
    Ok(Outcome::Success)
}
