//! The command line: arguments (clap), turned into the plain settings each command takes, and the dispatch to it.
//! `main` only maps the result to an exit code. Nothing else in the crate imports this module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::client::DEFAULT_API_URL;
use crate::commands;
use crate::commands::{ApplySettings, ImportSettings, PlanSettings, Settings};
use crate::config;
use crate::endpoints::Family;
pub use crate::error::{Error, Outcome};
use crate::render::{self, ColorChoice, Format, Output, ValidateFormat};

mod man_and_completions;

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
    /// A declaration file, or a folder standing for every telephony.yaml beneath it (hidden folders skipped).
    /// Repeatable [default: telephony.yaml; with `apply PLANFILE`, the files the plan names].
    #[arg(short = 'f', long = "file", global = true, value_name = "PATH", action = clap::ArgAction::Append)]
    pub file: Vec<PathBuf>,
    /// The Ultravox API root. http:// is accepted only for loopback hosts (the emulator).
    #[arg(long, global = true, env = "ULTRAVOX_API_URL", hide_env_values = true, default_value = DEFAULT_API_URL, value_name = "URL")]
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
    /// Which Ultravox endpoints to use [default: auto]. `auto` reads with the
    /// account-level GET (falling back to the provider GETs when it is gone) and writes per provider; `provider` uses
    /// only the provider-scoped endpoints (minimal writes, one per provider); `account` uses the deprecated
    /// account-level pair (one atomic write). With `apply PLANFILE`, the plan's family unless given.
    #[arg(long = "endpoints", global = true, env = "RECONCILE_ENDPOINTS", value_parser = FamilyParser, value_name = "FAMILY")]
    endpoints_given: Option<FamilyArg>,
    /// Seconds one request may take before it is abandoned.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// How many files (accounts) are worked on at once.
    #[arg(long, global = true, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,
}

/// `--endpoints` as given: a family, or nothing (an empty `RECONCILE_ENDPOINTS`, as CI systems set for an undefined
/// variable, means "not given").
#[derive(Debug, Clone, Copy)]
pub struct FamilyArg(Option<Family>);

/// Parses `--endpoints`, listing the families for help and shell completions.
#[derive(Clone, Copy, Debug)]
struct FamilyParser;

impl clap::builder::TypedValueParser for FamilyParser {
    type Value = FamilyArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<FamilyArg, clap::Error> {
        let text = value.to_str().map(str::trim).unwrap_or("?");
        if text.is_empty() {
            return Ok(FamilyArg(None));
        }
        clap::builder::EnumValueParser::<Family>::new().parse_ref(cmd, arg, value).map(|f| FamilyArg(Some(f)))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        use clap::ValueEnum;
        Some(Box::new(Family::value_variants().iter().filter_map(Family::to_possible_value)))
    }
}

impl GlobalArgs {
    /// The endpoint family given by `--endpoints` or `RECONCILE_ENDPOINTS`, if any.
    pub fn endpoints(&self) -> Option<Family> {
        self.endpoints_given.and_then(|given| given.0)
    }

    /// The API root; an empty `ULTRAVOX_API_URL` (as CI systems set for an undefined variable) means the default.
    pub fn api_url(&self) -> &str {
        if self.api_url.trim().is_empty() { DEFAULT_API_URL } else { &self.api_url }
    }

    /// What every command that reads declaration files is given.
    pub fn settings(&self) -> Settings {
        Settings {
            files: self.file.clone(),
            api_url: self.api_url().to_string(),
            timeout: std::time::Duration::from_secs(self.timeout),
            jobs: usize::try_from(self.jobs).unwrap_or(1),
            endpoints: self.endpoints(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the file: structure, rules, well-formed secret references. Never uses the network or reads a secret.
    Validate(ValidateArgs),
    /// Fetch the account's config and show what apply would change, and the requests it would send (GET only).
    Plan(PlanArgs),
    /// Make the account match the file: a write per changed provider (one write in all with `--endpoints account`),
    /// then one for the SIP config and one per changed SIP registration.
    Apply(ApplyArgs),
    /// Print a JSON Schema: of telephony.yaml (for editors), or of `plan --format json`.
    Schema(SchemaArgs),
    /// Show a JSON plan (what `plan --format json` or `apply --format json` printed) as text, Markdown, or GitLab's
    /// Terraform report. Reads no declaration file and never uses the network.
    Show(ShowArgs),
    /// Write a starting telephony.yaml from the account's current config (its telephony config, SIP config and SIP
    /// registrations, read with GETs; secrets only as references).
    Import(ImportArgs),
    /// Print a shell completion script on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, with a section for every command.
    Man,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// How to print the verdict: `json` adds a document on stdout, each problem with its code, file, line and
    /// column (schema/validate.schema.json).
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where to write the file [default: the -f path, telephony.yaml]; `-` prints it on stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the destination if it exists.
    #[arg(long)]
    pub force: bool,
    /// How the written file reads its secrets: `env` (`{ env: NAME }`, the conventional names), or `sops:FILE`
    /// (`{ sops: FILE, key: twilio.authToken }`..., FILE relative to the written file's folder; the file's header
    /// lists the keys to put in it).
    #[arg(long, value_name = "env|sops:FILE", default_value = "env")]
    pub secrets: crate::import::SecretSource,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The JSON plan document; `-` reads it from standard input.
    #[arg(value_name = "JSONPLAN")]
    pub document: PathBuf,
    /// How to print it: `text` and `markdown` as plan's formats; `gitlab` as {"create": N, "update": N, "delete": N},
    /// for GitLab's artifacts:reports:terraform.
    #[arg(long, value_enum, default_value_t = crate::show::ShowFormat::Text)]
    pub format: crate::show::ShowFormat,
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
    /// The output of `validate --format json` (schema/validate.schema.json).
    Validate,
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
    #[arg(long, value_name = "PLANFILE", value_parser = plan_file_path)]
    pub out: Option<PathBuf>,
}

/// `plan --out`'s path: a file, never `-` (which `import --out` takes for stdout, and which would otherwise be a file
/// named `-`): stdout already carries the plan in the `--format` asked for.
fn plan_file_path(text: &str) -> Result<PathBuf, String> {
    if text == "-" {
        return Err("a saved plan is written to a file, not to stdout; name a file (e.g. --out plan.json), or use \
                    --format json to print the plan on stdout"
            .into());
    }
    Ok(PathBuf::from(text))
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

/// Sets up logging and runs a parsed command line.
pub fn run(cli: Cli) -> (Output, Result<Outcome, Error>) {
    let out = Output::new(cli.global.color, cli.global.quiet);
    init_logging(&cli.global);
    let result = dispatch(&cli, out);
    if let Err(error) = &result
        && !render::stdout_used()
    {
        failure_document(&cli, out, error);
    }
    (out, result)
}

/// `--format json` prints a document whatever happens, so that scripts never parse nothing: for a run that failed
/// before its command printed one, a document holding the error (a file's problems one by one).
fn failure_document(cli: &Cli, out: Output, error: &Error) {
    let failure = render::report::error_report(error);
    let (format, planfile) = match &cli.command {
        Command::Validate(args) if args.format == ValidateFormat::Json => {
            let doc = render::json::ValidateDocument::new(Vec::new(), Some(failure));
            return out.document(&render::json::render_validate(&doc));
        }
        Command::Plan(args) => (args.format, None),
        Command::Apply(args) => (args.format, args.planfile.as_ref()),
        _ => return,
    };
    if format == Format::Json {
        let file = match error {
            Error::Config(e) => Some(e.file.clone()),
            _ => cli.global.file.first().or(planfile).cloned(),
        };
        let file = file.map_or_else(|| "telephony.yaml".into(), |p| p.display().to_string());
        out.document(&render::json::render(&render::json::PlanDocument::failed_early(&file, failure)));
    }
}

/// Prints an error the way its kind reads best.
pub fn report(out: &Output, error: &Error) {
    render::report::error(&mut { *out }, error);
}

fn init_logging(global: &GlobalArgs) {
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
        // Through the output path (each line checked for secrets, control characters neutralised), without colour:
        // its escape sequences would be neutralised.
        .with_writer(render::LogWriter)
        .with_ansi(false)
        .without_time()
        .with_target(global.verbose >= 2)
        .try_init();
}

fn dispatch(cli: &Cli, out: Output) -> Result<Outcome, Error> {
    if matches!(cli.command, Command::Plan(_) | Command::Apply(_) | Command::Import(_)) {
        // The commands that talk to the API stop gracefully on SIGINT or SIGTERM (see `crate::stop`).
        crate::stop::listen();
    }
    match &cli.command {
        Command::Validate(args) => commands::validate(&cli.global.settings(), args.format, out),
        Command::Plan(args) => block_on(commands::plan(&cli.global.settings(), &args.settings(), out)),
        Command::Apply(args) => block_on(commands::apply(&cli.global.settings(), &args.settings(), out)),
        Command::Schema(args) => {
            out.document(&match args.target {
                SchemaFor::File => config::schema::render(),
                SchemaFor::Plan => render::json::schema(),
                SchemaFor::Validate => render::json::validate_schema(),
            });
            Ok(Outcome::Success)
        }
        Command::Show(args) => {
            crate::show::show(&args.document, args.format, out)?;
            Ok(Outcome::Success)
        }
        Command::Import(args) => block_on(commands::import(&cli.global.settings(), &args.settings(), out)),
        Command::Completions(args) => {
            out.data(&man_and_completions::completions(args.shell));
            Ok(Outcome::Success)
        }
        Command::Man => {
            out.data(&man_and_completions::man_page());
            Ok(Outcome::Success)
        }
    }
}

impl PlanArgs {
    fn settings(&self) -> PlanSettings {
        PlanSettings {
            detailed_exitcode: self.detailed_exitcode,
            rotate: self.rotate,
            format: self.format,
            out: self.out.clone(),
        }
    }
}

impl ApplyArgs {
    fn settings(&self) -> ApplySettings {
        ApplySettings {
            planfile: self.planfile.clone(),
            auto_approve: self.auto_approve,
            rotate: self.rotate,
            format: self.format,
        }
    }
}

impl ImportArgs {
    fn settings(&self) -> ImportSettings {
        ImportSettings { out: self.out.clone(), force: self.force, secrets: self.secrets.clone() }
    }
}

fn block_on<F: std::future::Future<Output = Result<Outcome, Error>>>(future: F) -> Result<Outcome, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_endpoints_value_means_not_given() {
        let parse =
            |value: &str| Cli::try_parse_from(["reconcile", "--endpoints", value, "validate"]).map(|c| c.global);
        assert_eq!(parse("").unwrap().endpoints(), None);
        assert_eq!(parse("provider").unwrap().endpoints(), Some(Family::Provider));
        assert!(parse("bogus").is_err());
    }

    #[test]
    fn an_empty_api_url_means_the_default() {
        let parse = |url: &str| Cli::try_parse_from(["reconcile", "--api-url", url, "validate"]).unwrap().global;
        assert_eq!(parse("").api_url(), DEFAULT_API_URL);
        assert_eq!(parse("  ").api_url(), DEFAULT_API_URL);
        assert_eq!(parse("http://127.0.0.1:1").api_url(), "http://127.0.0.1:1");
    }
}
