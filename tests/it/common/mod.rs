//! Shared test harness: a running emulator, a temporary folder with a `telephony.yaml`, and the real `reconcile`
//! binary pointed at both with a clean environment. The sample account and file come from the emulator crate
//! (`ultravox_emulator::sample`), which the benchmark shares.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use ultravox_emulator::sample::{
    AGENT_A, AGENT_B, API_KEY, FULL_FILE, PLIVO_TOKEN, TELNYX_API_KEY, TELNYX_PUBLIC_KEY, TWILIO_TOKEN, full_state,
};
pub use ultravox_emulator::{AccountState, Emulator, EmulatorConfig, Fault, Plivo, Telnyx, Twilio};

pub struct Fixture {
    pub emu: Emulator,
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

impl Fixture {
    /// An emulator with one empty account for [`API_KEY`], and a folder holding [`FULL_FILE`] and its secret file.
    pub fn new() -> Fixture {
        Fixture::with_state(AccountState::default())
    }

    pub fn with_state(state: AccountState) -> Fixture {
        let emu = Emulator::start(EmulatorConfig {
            accounts: vec![(API_KEY.to_string(), state)],
            ..EmulatorConfig::default()
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = Fixture { emu, dir, env: BTreeMap::new() };
        fixture.write("telephony.yaml", FULL_FILE);
        fixture.write("secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));
        let mut fixture = fixture;
        for (k, v) in [
            ("ULTRAVOX_API_KEY", API_KEY),
            ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN),
            ("TELNYX_PUBLIC_KEY", TELNYX_PUBLIC_KEY),
            ("PLIVO_AUTH_TOKEN", PLIVO_TOKEN),
            // The tests written before the endpoint families assert the account-level pair's requests; tests of the
            // other families say so (`--endpoints`, or `Fixture::family`).
            ("RECONCILE_ENDPOINTS", "account"),
        ] {
            fixture.env.insert(k.to_string(), v.to_string());
        }
        fixture
    }

    /// Runs later commands through this endpoint family (`auto`, `provider`, `account`).
    pub fn family(mut self, family: &str) -> Fixture {
        self.env.insert("RECONCILE_ENDPOINTS".into(), family.into());
        self
    }

    /// The requests received, as `METHOD path field,field` lines (the JSON body's top-level keys, sorted).
    pub fn request_lines_with_fields(&self) -> Vec<String> {
        self.emu
            .requests()
            .iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.json_keys().join(",")).trim_end().to_string())
            .collect()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write");
    }

    /// The real binary, in the fixture's folder, with only the fixture's environment and the emulator's URL.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("reconcile").expect("binary");
        cmd.env_clear().current_dir(self.dir.path()).env("ULTRAVOX_API_URL", self.emu.url()).env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// Runs the binary and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = self.cmd(args).output().expect("run");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The requests the emulator received, as `METHOD path` lines.
    pub fn request_lines(&self) -> Vec<String> {
        self.emu.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect()
    }

    /// The JSON bodies of the PATCH requests received.
    pub fn patch_bodies(&self) -> Vec<serde_json::Value> {
        self.emu.requests().into_iter().filter(|r| r.method == "PATCH").filter_map(|r| r.json).collect()
    }

    pub fn account(&self) -> AccountState {
        self.emu.account(API_KEY).expect("account")
    }
}

impl Drop for Fixture {
    /// Every write body a test sent must conform to the official request schema.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let violations = self.emu.schema_violations();
            assert!(violations.is_empty(), "bodies that break the official schema:\n{}", violations.join("\n"));
        }
    }
}

pub const GET_CONFIG: &str = "GET /api/accounts/me/telephony_config";
pub const PATCH_CONFIG: &str = "PATCH /api/accounts/me/telephony_config";
pub const GET_TWILIO: &str = "GET /api/telephony_configs/twilio";
pub const GET_TELNYX: &str = "GET /api/telephony_configs/telnyx";
pub const GET_PLIVO: &str = "GET /api/telephony_configs/plivo";

/// Every secret value a test may resolve, to check that none leaks.
pub fn all_secrets() -> Vec<&'static str> {
    vec![API_KEY, TWILIO_TOKEN, TELNYX_API_KEY, TELNYX_PUBLIC_KEY, PLIVO_TOKEN]
}
