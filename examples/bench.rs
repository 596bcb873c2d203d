//! The process-overhead benchmark: `cargo run --release --example bench [-- RUNS]`.
//!
//! The quality bar: `reconcile plan` against a local server stays within 1.5x the wall time of `curl` fetching the
//! same endpoint. This starts the emulator with an account holding all three providers, then times, alternately,
//! `curl` doing the one GET and `reconcile plan` (release build: read and validate the file, resolve secrets, the
//! same GET, diff, render) on the tests' three-provider file, which matches the account. It prints the median and the 90th percentile of each
//! and their ratio, and exits 1 when the median ratio is over 1.5. A benchmark, not a test: run it on a quiet machine.
//!
//! `plan` is timed under each endpoint family (`--endpoints account|auto|provider`). `account` and `auto` read with
//! the one account-level GET and are compared with curl doing that GET; `provider` reads with three concurrent
//! provider GETs and is compared with one curl fetching the same three URLs (over one connection).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use common::{Emulator, EmulatorConfig};

const KEY: &str = common::API_KEY;
const LIMIT: f64 = 1.5;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("bench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = support::build_reconcile(&manifest_dir, true)?;
    let account = common::full_state();
    let emu =
        Emulator::start(EmulatorConfig { accounts: vec![(KEY.to_string(), account)], ..EmulatorConfig::default() });
    let work = std::env::temp_dir().join(format!("reconcile-bench-{}", std::process::id()));
    std::fs::create_dir_all(work.join("secrets")).map_err(|e| e.to_string())?;
    std::fs::write(work.join("telephony.yaml"), common::FULL_FILE).map_err(|e| e.to_string())?;
    std::fs::write(work.join("secrets/telnyx-api-key"), format!("{}\n", common::TELNYX_API_KEY))
        .map_err(|e| e.to_string())?;
    let account_url = format!("{}/api/accounts/me/telephony_config", emu.url());
    let provider_urls: Vec<String> =
        ["twilio", "telnyx", "plivo"].iter().map(|p| format!("{}/api/telephony_configs/{p}", emu.url())).collect();

    println!("{runs} runs each, alternating, against the emulator on {}", emu.url());
    println!("{:<36} {:>10} {:>10}", "", "median", "p90");
    let mut within = true;
    for family in ["account", "auto", "provider"] {
        let mut reconcile = Command::new(&binary);
        reconcile
            .args(["--endpoints", family, "plan", "--detailed-exitcode"])
            .current_dir(&work)
            .env_clear()
            .env("ULTRAVOX_API_URL", emu.url())
            .env("ULTRAVOX_API_KEY", KEY)
            .env("TWILIO_AUTH_TOKEN", common::TWILIO_TOKEN)
            .env("TELNYX_PUBLIC_KEY", common::TELNYX_PUBLIC_KEY)
            .env("PLIVO_AUTH_TOKEN", common::PLIVO_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-f", "-H", &format!("X-API-Key: {KEY}")]).stdout(Stdio::null());
        let (curl_label, urls) = if family == "provider" {
            ("curl (three provider GETs)", provider_urls.clone())
        } else {
            ("curl (one account GET)", vec![account_url.clone()])
        };
        for url in &urls {
            curl.args(["-o", "/dev/null", url]);
        }

        // Both must succeed (plan: exit 0, "No changes") before anything is timed.
        for (name, cmd) in [("reconcile plan", &mut reconcile), ("curl", &mut curl)] {
            let status = cmd.status().map_err(|e| format!("cannot run {name} ({family}): {e}"))?;
            if !status.success() {
                return Err(format!("{name} ({family}) exited {:?}", status.code()));
            }
        }
        let (mut t_curl, mut t_plan) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            t_curl.push(time(&mut curl)?);
            t_plan.push(time(&mut reconcile)?);
        }
        let (c50, c90) = stats(&mut t_curl);
        let (p50, p90) = stats(&mut t_plan);
        let ratio = p50.as_secs_f64() / c50.as_secs_f64();
        println!("{:<36} {:>8.2}ms {:>8.2}ms", curl_label, ms(c50), ms(c90));
        println!("{:<36} {:>8.2}ms {:>8.2}ms", format!("reconcile --endpoints {family} plan"), ms(p50), ms(p90));
        println!("  ratio of medians: {ratio:.2} (limit {LIMIT})");
        within &= ratio <= LIMIT;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(within)
}

fn time(cmd: &mut Command) -> Result<Duration, String> {
    let start = Instant::now();
    let status = cmd.status().map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("a timed run exited {:?}", status.code()));
    }
    Ok(elapsed)
}

fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
