//! The quickstart: `cargo run --example quickstart`.
//!
//! Starts the bundled Ultravox emulator on a free local port, copies `examples/telephony.yaml` into a temporary
//! folder with demo secrets, and runs the real `reconcile` binary: `plan`, `apply --auto-approve`, then `plan` again,
//! which shows "No changes". No Ultravox account and no network are needed.
//!
//! It uses the default endpoint family, `auto`: plans read with the one account-level GET, and apply writes through
//! the provider-scoped endpoints (here three POSTs, each with its provider's complete block). The requests the
//! emulator received are listed at the end, with their bodies' field names.

mod support;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use ultravox_emulator::{AccountState, Emulator, EmulatorConfig};

const DEMO_API_KEY: &str = "demo-key";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = support::build_reconcile(&manifest_dir, "quickstart", !cfg!(debug_assertions))?;

    let emu = Emulator::start(EmulatorConfig {
        accounts: vec![(DEMO_API_KEY.to_string(), AccountState::default())],
        ..EmulatorConfig::default()
    });
    // Different prefix lengths per secret, as a real account may show: the diff never assumes one.
    emu.set_prefix_length_for("twilio.authToken", 4);
    emu.set_prefix_length_for("telnyx.apiKey", 6);
    emu.set_prefix_length_for("telnyx.publicKey", 3);
    emu.set_prefix_length_for("plivo.authToken", 8);

    let work = std::env::temp_dir().join(format!("reconcile-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(work.join("secrets")).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let example = std::fs::read_to_string(manifest_dir.join("examples/telephony.yaml")).map_err(|e| e.to_string())?;
    std::fs::write(work.join("telephony.yaml"), example).map_err(|e| e.to_string())?;
    std::fs::write(work.join("secrets/telnyx-api-key"), "KEYdemo-telnyx-api-key\n").map_err(|e| e.to_string())?;

    println!("Emulator: {} (account key {DEMO_API_KEY:?}); working folder: {}\n", emu.url(), work.display());
    let env = [
        ("ULTRAVOX_API_URL", emu.url()),
        ("ULTRAVOX_API_KEY", DEMO_API_KEY.to_string()),
        ("TWILIO_AUTH_TOKEN", "demo-twilio-auth-token".to_string()),
        ("TELNYX_PUBLIC_KEY", "demo-telnyx-public-key".to_string()),
        ("PLIVO_AUTH_TOKEN", "demo-plivo-auth-token".to_string()),
    ];
    let steps: [(&[&str], i32); 3] =
        [(&["plan"], 0), (&["apply", "--auto-approve"], 0), (&["plan", "--detailed-exitcode"], 0)];
    for (args, expected) in steps {
        println!("$ reconcile {}", args.join(" "));
        let status = Command::new(&binary)
            .args(args)
            .current_dir(&work)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .status()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        println!("(exit code {})\n", status.code().unwrap_or(-1));
        if status.code() != Some(expected) {
            return Err(format!("`reconcile {}` exited {:?}, expected {expected}", args.join(" "), status.code()));
        }
    }
    let requests = emu.requests();
    println!("The emulator received {} requests (default endpoint family: auto):", requests.len());
    for r in &requests {
        let providers =
            r.json.as_ref().and_then(|j| j.as_object()).map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "));
        match providers {
            Some(fields) => println!("  {} {}  (body fields: {fields})", r.method, r.path),
            None => println!("  {} {}", r.method, r.path),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
