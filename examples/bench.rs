//! The process-overhead benchmark: `cargo run --release --example bench [-- RUNS]`.
//!
//! The quality bar: `reconcile plan` against a local server stays within 1.5x the wall time of `curl` fetching the
//! same endpoint. This starts the emulator with an account holding all three providers, then times, alternately,
//! `curl` doing the one GET and `reconcile plan` (release build: read and validate the file, resolve secrets, the
//! same GET, diff, render) on the tests' three-provider file, which matches the account. It prints the median and the 90th percentile of each
//! and their ratio, and exits 1 when the median ratio is over 1.5. A benchmark, not a test: run it on a quiet machine.

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
    let url = format!("{}/api/accounts/me/telephony_config", emu.url());

    let mut reconcile = Command::new(&binary);
    reconcile
        .args(["plan", "--detailed-exitcode"])
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
    curl.args(["-sS", "-f", "-o", "/dev/null", "-H", &format!("X-API-Key: {KEY}"), &url]).stdout(Stdio::null());

    // Both must succeed (plan: exit 0, "No changes") before anything is timed.
    for (name, cmd) in [("reconcile plan", &mut reconcile), ("curl", &mut curl)] {
        let status = cmd.status().map_err(|e| format!("cannot run {name}: {e}"))?;
        if !status.success() {
            return Err(format!("{name} exited {:?}", status.code()));
        }
    }
    let (mut t_curl, mut t_plan) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        t_curl.push(time(&mut curl)?);
        t_plan.push(time(&mut reconcile)?);
    }
    let _ = std::fs::remove_dir_all(&work);
    let (c50, c90) = stats(&mut t_curl);
    let (p50, p90) = stats(&mut t_plan);
    let ratio = p50.as_secs_f64() / c50.as_secs_f64();
    println!("{runs} runs each, alternating, against the emulator on {}", emu.url());
    println!("{:<16} {:>10} {:>10}", "", "median", "p90");
    println!("{:<16} {:>8.2}ms {:>8.2}ms", "curl (one GET)", ms(c50), ms(c90));
    println!("{:<16} {:>8.2}ms {:>8.2}ms", "reconcile plan", ms(p50), ms(p90));
    println!("ratio of medians: {ratio:.2} (limit {LIMIT})");
    Ok(ratio <= LIMIT)
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
