//! The process-overhead benchmark: `cargo run --release --example bench [-- RUNS]`.
//!
//! The quality bar: `reconcile plan` against a local server stays within 1.5x the wall time of `curl` fetching the
//! same endpoint. This starts the emulator with an account holding all three providers, then times, alternately,
//! `curl` doing the one GET and `reconcile plan` (release build: read and validate the file, resolve secrets, the
//! same GET, diff, render) on the three-provider sample file (`ultravox_emulator::sample`, the tests' too), which
//! matches the account. It prints the median and the 90th percentile of each and their ratio, and exits 1 when the
//! median ratio is over 1.5. A benchmark, not a test: run it on a quiet machine.
//!
//! `plan` is timed under each endpoint family (`--endpoints account|auto|provider`). `account` and `auto` read with
//! the one account-level GET and are compared with curl doing that GET; `provider` reads with three concurrent
//! provider GETs and is compared with one curl fetching the same three URLs (over one connection).
//!
//! Scale: `reconcile plan -f accounts/ --jobs 32` over 10, 100 and 1,000 files in folders, each its own account
//! (its own API key, read from a file beside it) seeded in the emulator, which adds 50 ms to every answer. Each row
//! is the median of three runs, against the ideal `N x latency / jobs` (never less than one latency: no plan is
//! faster than its one GET), with the peak memory (the high-water mark of resident memory, from `wait4`) of the
//! reconcile process. The bar, for 1,000 accounts: at most 1.3x the ideal and under 50 MB.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ultravox_emulator::sample::{self, API_KEY as KEY};
use ultravox_emulator::{AccountState, Emulator, EmulatorConfig};

const LIMIT: f64 = 1.5;
/// The scale bar: wall time over the ideal, and peak memory, for the largest row.
const SCALE_LIMIT: f64 = 1.3;
const MEMORY_LIMIT_MB: f64 = 50.0;
const LATENCY: Duration = Duration::from_millis(50);
const JOBS: usize = 32;
const SCALE_ROWS: [usize; 3] = [10, 100, 1000];

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
    if cfg!(debug_assertions) {
        return Err("the benchmark measures a release build: run `cargo run --release --example bench`".to_string());
    }
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = support::build_reconcile(&manifest_dir, "bench", true)?;
    let account = sample::full_state();
    let emu =
        Emulator::start(EmulatorConfig { accounts: vec![(KEY.to_string(), account)], ..EmulatorConfig::default() });
    let work = std::env::temp_dir().join(format!("reconcile-bench-{}", std::process::id()));
    std::fs::create_dir_all(work.join("secrets")).map_err(|e| e.to_string())?;
    std::fs::write(work.join("telephony.yaml"), sample::FULL_FILE).map_err(|e| e.to_string())?;
    std::fs::write(work.join("secrets/telnyx-api-key"), format!("{}\n", sample::TELNYX_API_KEY))
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
            .env("TWILIO_AUTH_TOKEN", sample::TWILIO_TOKEN)
            .env("TELNYX_PUBLIC_KEY", sample::TELNYX_PUBLIC_KEY)
            .env("PLIVO_AUTH_TOKEN", sample::PLIVO_TOKEN)
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
    println!();
    let scale_ok = scale(&binary, &emu)?;
    Ok(within && scale_ok)
}

/// The scale rows (see the module's doc); answers whether the largest row meets the bar.
fn scale(binary: &Path, emu: &Emulator) -> Result<bool, String> {
    let largest = SCALE_ROWS[SCALE_ROWS.len() - 1];
    let work = std::env::temp_dir().join(format!("reconcile-bench-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut twilio = sample::full_state().twilio.ok_or("the sample account has twilio")?;
    twilio.allowed_agent_ids.clear();
    twilio.request_context_mapping.clear();
    for i in 0..largest {
        let key = format!("bench-account-{i:04}-key");
        emu.set_account(&key, AccountState { twilio: Some(twilio.clone()), ..Default::default() });
    }
    emu.set_latency(LATENCY);
    println!(
        "Scale: `reconcile plan -f accounts/ --jobs {JOBS}`, one account per file, {} ms added to every answer; \
         median of 3 runs",
        LATENCY.as_millis()
    );
    println!(
        "{:>6} {:>9} {:>5} {:>10} {:>10} {:>7} {:>12}",
        "N", "latency", "jobs", "ideal", "measured", "ratio", "peak memory"
    );
    let mut ok = true;
    for n in SCALE_ROWS {
        let dir = work.join(format!("n{n}"));
        for i in 0..n {
            let folder = dir.join(format!("accounts/team{:02}/account{i:04}", i % 10));
            std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
            std::fs::write(folder.join("api-key"), format!("bench-account-{i:04}-key\n")).map_err(|e| e.to_string())?;
            std::fs::write(
                folder.join("telephony.yaml"),
                format!(
                    "account:\n  apiKey: {{ file: api-key }}\ntwilio:\n  accountSid: {}\n  authToken: {{ env: TWILIO_AUTH_TOKEN }}\n",
                    twilio.account_sid
                ),
            )
            .map_err(|e| e.to_string())?;
        }
        let mut cmd = Command::new(binary);
        cmd.args(["plan", "-f", "accounts", "--jobs", &JOBS.to_string(), "--detailed-exitcode"])
            .current_dir(&dir)
            .env_clear()
            .env("ULTRAVOX_API_URL", emu.url())
            .env("TWILIO_AUTH_TOKEN", sample::TWILIO_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut times = Vec::new();
        let mut peak_kb = 0;
        for _ in 0..3 {
            let (elapsed, max_rss_kb) = time_with_memory(&mut cmd)?;
            times.push(elapsed);
            peak_kb = peak_kb.max(max_rss_kb);
        }
        let (measured, _) = stats(&mut times);
        let ideal = (LATENCY * n as u32 / JOBS as u32).max(LATENCY);
        let ratio = measured.as_secs_f64() / ideal.as_secs_f64();
        let peak_mb = peak_kb as f64 / 1024.0;
        println!(
            "{n:>6} {:>7}ms {JOBS:>5} {:>8.0}ms {:>8.0}ms {ratio:>7.2} {peak_mb:>9.1} MB",
            LATENCY.as_millis(),
            ms(ideal),
            ms(measured)
        );
        if n == largest {
            ok = ratio <= SCALE_LIMIT && peak_mb < MEMORY_LIMIT_MB;
            println!(
                "{n} accounts: {ratio:.2}x the ideal (limit {SCALE_LIMIT}x), peak memory {peak_mb:.1} MB (limit \
                 {MEMORY_LIMIT_MB} MB): {}",
                if ok { "within the bar" } else { "OVER THE BAR" }
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(ok)
}

/// Runs a command that must exit 0 (no changes), and answers its wall time and its peak resident memory in KiB.
fn time_with_memory(cmd: &mut Command) -> Result<(Duration, i64), String> {
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; `pid` is our own child, waited for exactly once (the
    // `Child` handle is dropped without waiting).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    drop(child);
    if waited != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("a scale run exited with status {status:#x} (expected 0: no changes)"));
    }
    // Linux reports ru_maxrss in KiB.
    Ok((elapsed, usage.ru_maxrss))
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
