//! The local Ultravox API emulator as a standalone server, for demos and manual runs of `reconcile`.
//!
//! ```text
//! cargo run -p ultravox-emulator -- [--port 8787] [--host 127.0.0.1] [--api-key KEY ...] [--prefix-length N]
//!     [--agents-page-size N] [--page-links-origin ORIGIN] [--latency-ms N] [--write-latency-ms N]
//!     [--partial-patch-answers] [--seed FILE.json]
//!     [--account-endpoint served|404|405|410|html|json] [--provider-endpoints served|404|html|json]
//!     [--account-omits PROVIDER ...] [--deprecation VALUE] [--sunset HTTP-DATE]
//!     [--sip-endpoints served|404|html] [--registrations-page-size N]
//!     [--registration-status active|inactive|unknown] [--duplicate-registration 400|409|accept]
//!     [--missing-registration 404|410|html] [--omitted-pattern filled|null|omitted]
//!     [--unset-registration-fields null|empty|omitted] [--bare-host-ranges]
//! ```
//!
//! `--account-endpoint 404` answers the deprecated account-level pair as after its removal (405, 410, an HTML 404
//! and a 404 whose JSON is not the API's are the alternatives a server might give); `--provider-endpoints html` (or
//! `json`) plays a server without the provider-scoped endpoints. `--account-omits plivo` leaves plivo out of the
//! account-level answers. `--write-latency-ms` holds every write that long before carrying it out (reads answer at
//! once). `--deprecation`/`--sunset` add those headers to every answer of the account-level pair.
//! `--page-links-origin` writes the agents listing's page links with another origin (an internal host name, or
//! `http://` behind a TLS-terminating proxy). `--partial-patch-answers` answers a PATCH with only the fields (or,
//! account-level, the providers) it sent.
//! The SIP options play the answers the reference leaves to inference (see the library's `sip` module).
//!
//! Prints `Ultravox emulator listening on http://HOST:PORT` on stdout, then serves until killed. Every `--api-key`
//! gets an empty account unless the seed file has it; with neither, the one account is `demo-key`. A seed file is
//! `{"accounts": {"KEY": {"twilio": {"accountSid": "AC...", "authToken": "...", ...}, "agents": [...]}}}`, the
//! format of `GET /_emulator/state`. Faults and the request log are reachable under `/_emulator/`.

use std::io::Write;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ultravox_emulator::{
    AccountState, DeprecationHeaders, DuplicateRegistration, Emulator, EmulatorConfig, EndpointMode,
    MissingRegistration, OmittedPattern, RegistrationStatus, Seed, UnsetText,
};

/// A local, stateful emulator of the Ultravox telephony-config and agents API.
#[derive(Debug, Parser)]
#[command(name = "ultravox-emulator")]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address or host name to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// An API key to accept (an empty account unless the seed has it). Repeatable; `demo-key` when none is given
    /// and the seed has no account.
    #[arg(long = "api-key", value_name = "KEY")]
    api_keys: Vec<String>,
    /// Characters of each secret shown as its prefix [default: 4].
    #[arg(long, value_name = "N")]
    prefix_length: Option<usize>,
    /// Default and largest page of `GET /api/agents` [default: 100].
    #[arg(long, value_name = "N")]
    agents_page_size: Option<usize>,
    /// Milliseconds added to every API answer (served concurrently: a wait, not a busy server).
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Milliseconds every write (any method but GET and HEAD) waits before it is carried out, on top of
    /// --latency-ms: reads answer at once while writes stay in flight.
    #[arg(long, value_name = "N", default_value_t = 0)]
    write_latency_ms: u64,
    /// The origin of the agents listing's `next`/`previous` links, e.g. `http://internal-api:8000`, as a server
    /// behind a proxy writes them [default: the origin the request was sent to].
    #[arg(long, value_name = "ORIGIN")]
    page_links_origin: Option<String>,
    /// Answer a provider-scoped PATCH with only the fields its body held (a secret as its `{name}Prefix`), and the
    /// account-level PATCH with only the providers it held, as a server answering a merge with what changed would
    /// [default: the whole provider or account].
    #[arg(long)]
    partial_patch_answers: bool,
    /// Carry out a telephony-config POST or PATCH (provider-scoped or account-level) and answer it with its status
    /// (201 or 200) and an empty body, as a server that does not echo what it stored would [default: the stored
    /// config].
    #[arg(long)]
    empty_write_answers: bool,
    /// Accounts to start with: `{"accounts": {"KEY": {...}}}`, secrets in clear.
    #[arg(long, value_name = "FILE.json")]
    seed: Option<PathBuf>,
    /// The account-level pair (`/api/accounts/me/telephony_config`): `served`, or answered as removed with 404 (the
    /// API's JSON), 405, 410, `html` (a 404 page) or `json` (a 404 with `{"error": "no such route"}`).
    #[arg(long, value_name = "MODE", default_value = "served", value_parser = EndpointMode::parse)]
    account_endpoint: EndpointMode,
    /// The provider-scoped endpoints (`/api/telephony_configs/{provider}`): `served`, or missing (404, `html`, or
    /// `json`: a 404 whose JSON is not the API's).
    #[arg(long, value_name = "MODE", default_value = "served", value_parser = EndpointMode::parse)]
    provider_endpoints: EndpointMode,
    /// A provider (twilio, telnyx, plivo) the account-level answers leave out altogether. Repeatable.
    #[arg(long = "account-omits", value_name = "PROVIDER", value_parser = ["twilio", "telnyx", "plivo"])]
    account_omits: Vec<String>,
    /// A `Deprecation` header on every answer of the account-level pair, e.g. `@1772323200` (2026-03-01).
    #[arg(long, value_name = "VALUE")]
    deprecation: Option<String>,
    /// A `Sunset` header on every answer of the account-level pair, e.g. `Tue, 01 Dec 2026 00:00:00 GMT`.
    #[arg(long, value_name = "HTTP-DATE")]
    sunset: Option<String>,
    /// The SIP endpoints (`/api/sip`, `/api/sip/registrations`): `served`, or missing (404, `html`).
    #[arg(long, value_name = "MODE", default_value = "served", value_parser = EndpointMode::parse)]
    sip_endpoints: EndpointMode,
    /// Default and largest page of `GET /api/sip/registrations` [default: 100].
    #[arg(long, value_name = "N")]
    registrations_page_size: Option<usize>,
    /// `successful` of a registration when it is created: `active` (true), `inactive` (false) or `unknown` (null).
    #[arg(long, value_name = "STATUS", default_value = "active", value_parser = RegistrationStatus::parse)]
    registration_status: RegistrationStatus,
    /// A registration duplicating another's username and proxy: refused with `400`, `409`, or `accept`ed.
    #[arg(long, value_name = "MODE", default_value = "400", value_parser = DuplicateRegistration::parse)]
    duplicate_registration: DuplicateRegistration,
    /// A request for an unknown registration ID: `404` (the API's JSON), `410`, or `html` (a 404 page).
    #[arg(long, value_name = "MODE", default_value = "404", value_parser = MissingRegistration::parse)]
    missing_registration: MissingRegistration,
    /// An allowance written without `toUserPattern` is answered with the default `filled` in, `null`, or `omitted`.
    #[arg(long, value_name = "MODE", default_value = "filled", value_parser = OmittedPattern::parse)]
    omitted_pattern: OmittedPattern,
    /// A registration's unset `outboundProxy` or `authUser` is answered as `null`, `empty` (`""`), or `omitted`.
    #[arg(long, value_name = "MODE", default_value = "null", value_parser = UnsetText::parse)]
    unset_registration_fields: UnsetText,
    /// Show a one-address range (`/32`) of the SIP config as its bare address, as PostgreSQL's `inet` prints it.
    #[arg(long)]
    bare_host_ranges: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut seed = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Seed::from_json(&text).map_err(|e| format!("{} is not a valid seed: {e}", path.display()))?
        }
        None => Seed::default(),
    };
    let mut keys = args.api_keys;
    if keys.is_empty() && seed.accounts.is_empty() {
        keys.push("demo-key".to_string());
    }
    for key in keys {
        seed.accounts.entry(key).or_insert_with(AccountState::empty);
    }

    let addr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", args.host))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", args.host))?;
    let config = EmulatorConfig {
        accounts: seed.accounts.into_iter().collect(),
        prefix_length: args.prefix_length.unwrap_or(0),
        agents_page_size: args.agents_page_size.unwrap_or(0),
        latency: std::time::Duration::from_millis(args.latency_ms),
        registrations_page_size: args.registrations_page_size.unwrap_or(0),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start_on(addr, config).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    if args.prefix_length == Some(0) {
        emulator.set_prefix_length(0);
    }
    emulator.set_write_latency(std::time::Duration::from_millis(args.write_latency_ms));
    emulator.set_page_links_origin(args.page_links_origin.as_deref());
    emulator.set_partial_patch_answers(args.partial_patch_answers);
    emulator.set_empty_write_answers(args.empty_write_answers);
    emulator.set_account_omits(&args.account_omits.iter().map(String::as_str).collect::<Vec<_>>());
    emulator.set_account_endpoint(args.account_endpoint);
    emulator.set_provider_endpoints(args.provider_endpoints);
    emulator.set_sip_endpoints(args.sip_endpoints);
    emulator.set_new_registration_status(args.registration_status.0);
    emulator.set_duplicate_registration(args.duplicate_registration);
    emulator.set_missing_registration(args.missing_registration);
    emulator.set_omitted_pattern(args.omitted_pattern);
    emulator.set_unset_registration_text(args.unset_registration_fields);
    emulator.set_bare_host_ranges(args.bare_host_ranges);
    if args.deprecation.is_some() || args.sunset.is_some() {
        emulator.set_deprecation(Some(DeprecationHeaders { deprecation: args.deprecation, sunset: args.sunset }));
    }

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "Ultravox emulator listening on {}", emulator.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(stdout);

    // The server runs on its own thread until the process is killed.
    loop {
        std::thread::park();
    }
}
