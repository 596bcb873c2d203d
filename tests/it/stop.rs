//! Stopping when told: a REAL SIGINT or SIGTERM sent to the real binary (`libc::kill`) while it works on several
//! accounts at once. The emulator holds every write in flight (its write latency), so that when the signal is sent
//! every job is waiting on an answer and no request is on its way; its request log then proves that no request
//! reached it after the signal. Each write in flight is reported, under its file, as in doubt; the files not started
//! are named once; the run exits 1. A second signal ends the process at once, and a signal at apply's question ends
//! it there and then.
#![cfg(unix)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// Files (each its own account) of [`accounts`].
const FILES: usize = 6;

fn key(i: usize) -> String {
    format!("stop-test-key-{i:02}-abcdef")
}

fn file(i: usize) -> String {
    format!("acct/a{i:02}/telephony.yaml")
}

/// `acct/aNN/telephony.yaml`, each its own (empty) account, each creating twilio and plivo: two POSTs on `auto`.
fn accounts() -> Fixture {
    let mut f = Fixture::new();
    for i in 0..FILES {
        f.write(
            &file(i),
            &format!(
                "account:\n  apiKey: {{ env: KEY_{i:02} }}\ntwilio:\n  accountSid: AC0123456789abcdef0123456789abcdef\n  \
                 authToken: {{ env: TWILIO_AUTH_TOKEN }}\nplivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: {{ env: \
                 PLIVO_AUTH_TOKEN }}\n"
            ),
        );
        f.env.insert(format!("KEY_{i:02}"), key(i));
        f.emu.set_account(&key(i), AccountState::empty());
    }
    f
}

/// The real binary with the fixture's environment, output captured.
fn spawn(f: &Fixture, args: &[&str]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("reconcile"));
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    cmd.envs(&f.env).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("run reconcile")
}

/// Sends a real signal to a process.
fn kill(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) with a pid this test spawned and a valid signal number; it touches no memory.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal}) failed: {}", std::io::Error::last_os_error());
}

/// The requests with this account's key, as `METHOD path` lines.
fn requests_of(f: &Fixture, key: &str) -> Vec<String> {
    f.emu
        .requests()
        .iter()
        .filter(|r| r.header("x-api-key") == Some(key))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn is_write(r: &ultravox_emulator::RecordedRequest) -> bool {
    r.method != "GET"
}

/// `apply -f acct --jobs 2`, each write held by the emulator: once both jobs wait on their first POST, a real
/// SIGINT or SIGTERM. No request reaches the emulator after it; the two POSTs in flight are in doubt, each under its
/// file; the four files not started are named; exit 1. In text and in JSON.
#[test]
fn the_first_signal_stops_every_account_at_once_and_the_writes_in_flight_are_in_doubt() {
    for (signal, name, format) in [(libc::SIGINT, "SIGINT", "text"), (libc::SIGTERM, "SIGTERM", "json")] {
        let f = accounts();
        f.emu.set_write_latency(Duration::from_secs(600));
        let child = spawn(&f, &["apply", "-f", "acct", "--auto-approve", "--jobs", "2", "--format", format]);
        wait_until("both jobs to wait on a POST", || {
            f.emu.in_flight() == 2 && f.emu.requests().iter().filter(|r| is_write(r)).count() == 2
        });
        let before = f.emu.requests().len();
        kill(child.id(), signal);
        let output = child.wait_with_output().unwrap();
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let after = f.emu.requests().len();
        assert_eq!(after - before, 0, "{name}: requests after the signal: {:?}", &f.request_lines()[before..]);
        assert_eq!(output.status.code(), Some(1), "{name}: {out}{err}");

        // The two files at work: their plan's GET, then the POST in flight; nothing else.
        for i in 0..2 {
            assert_eq!(
                requests_of(&f, &key(i)),
                [GET_CONFIG, "POST /api/telephony_configs/twilio"],
                "{name}: {}",
                file(i)
            );
            assert!(
                err.contains(&format!(
                    "error: {}: POST {}/api/telephony_configs/twilio was in flight when the run was interrupted \
                     ({name}): it may or may not have landed\n  written: none; in doubt (it may or may not have \
                     landed): twilio; not written: plivo",
                    file(i),
                    f.emu.url()
                )),
                "{name}: {err}"
            );
        }
        assert_eq!(err.matches("hint: the write may or may not have been applied: run `reconcile plan`").count(), 2);
        // The others: not started, nothing sent.
        for i in 2..FILES {
            assert!(requests_of(&f, &key(i)).is_empty(), "{name}: {}", file(i));
        }
        let not_started: Vec<String> = (2..FILES).map(file).collect();
        assert!(
            err.contains(&format!(
                "error: interrupted ({name}): 4 files were not started, and nothing was sent to their accounts: {}",
                not_started.join(", ")
            )),
            "{name}: {err}"
        );
        assert_eq!(err.matches(&format!("reconcile: interrupted ({name}): stopping")).count(), 1, "{err}");

        if format == "text" {
            assert!(out.contains("Not started: the run was interrupted (SIGINT) before this file."), "{out}");
            assert!(out.contains("Overall: 6 files: 6 failed ("), "{out}");
        } else {
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            let files = doc["files"].as_array().unwrap();
            for entry in &files[..2] {
                assert_eq!(
                    entry["apply"],
                    serde_json::json!({"status": "failed", "written": [], "inDoubt": ["twilio"], "notWritten": ["plivo"]}),
                    "{out}"
                );
            }
            for entry in &files[2..] {
                assert!(entry.get("providers").is_none(), "{out}");
                let message = entry["error"]["message"].as_str().unwrap();
                assert!(message.contains("before this file was started; nothing was sent to its account"), "{out}");
            }
            assert_eq!(doc["summary"]["failed"].as_array().unwrap().len(), FILES, "{out}");
        }
    }
}

/// The SIP writes stop too: with the SIP config's PATCH held in flight, a real SIGINT. No request reaches the emulator
/// after it; the PATCH is in doubt, named `sip`, and the registrations' writes after it are not written; exit 1. In
/// text and in JSON (`inDoubtSip`, `notWrittenSip`).
#[test]
fn a_signal_during_a_sip_write_leaves_it_in_doubt_and_sends_nothing_more() {
    for format in ["text", "json"] {
        let mut f = Fixture::with_state(
            AccountState::default()
                .with_sip(ultravox_emulator::SipConfig::default().ranges(["10.0.0.0/8"]))
                .with_registration(ultravox_emulator::SipRegistration::new(
                    "reg-carol",
                    "carol",
                    "old-trunk.example.com",
                    "Cr4lTz9QwY",
                )),
        );
        f.write(
            "telephony.yaml",
            "sip:\n  allowedCidrRanges: [203.0.113.0/24]\nsipRegistrations:\n  - username: alice\n    proxy: \
             trunk.example.com\n    password: { env: SIP_ALICE_PASSWORD }\n",
        );
        f.env.insert("SIP_ALICE_PASSWORD".into(), "Ap4nValicePassT6r2".into());
        f.emu.set_write_latency(Duration::from_secs(600));
        let child = spawn(&f, &["apply", "--auto-approve", "--format", format]);
        wait_until("the SIP config's PATCH to be held", || {
            f.emu.in_flight() == 1 && f.emu.requests().iter().any(is_write)
        });
        let before = f.emu.requests().len();
        kill(child.id(), libc::SIGINT);
        let output = child.wait_with_output().unwrap();
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(f.emu.requests().len() - before, 0, "{format}: requests after the signal");
        assert_eq!(output.status.code(), Some(1), "{format}: {out}{err}");
        let writes: Vec<String> = f.request_lines().into_iter().filter(|l| !l.starts_with("GET ")).collect();
        assert_eq!(writes, ["PATCH /api/sip"], "{format}");
        let message = format!(
            "PATCH {}/api/sip was in flight when the run was interrupted (SIGINT): it may or may not have landed",
            f.emu.url()
        );
        if format == "text" {
            assert!(
                err.contains(&format!(
                    "{message}\n  written: none; in doubt (it may or may not have landed): sip; not written: \
                     registration alice@trunk.example.com, registration carol@old-trunk.example.com"
                )),
                "{err}"
            );
        } else {
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(
                doc["apply"],
                serde_json::json!({"status": "failed", "written": [], "inDoubtSip": ["sip"], "notWrittenSip":
                    ["registration alice@trunk.example.com", "registration carol@old-trunk.example.com"]}),
                "{out}"
            );
            assert!(doc["error"]["message"].as_str().unwrap().contains(&message), "{out}");
        }
    }
}

/// The reads are stopped too: `plan` over several accounts, each GET held by the emulator, ends at once on the
/// first signal with nothing more sent.
#[test]
fn a_signal_during_the_reads_ends_the_plan_with_nothing_more_sent() {
    let f = accounts();
    f.emu.set_latency(Duration::from_secs(600));
    let child = spawn(&f, &["plan", "-f", "acct", "--jobs", "3"]);
    wait_until("three GETs in flight", || f.emu.in_flight() == 3);
    let before = f.emu.requests().len();
    kill(child.id(), libc::SIGINT);
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(f.emu.requests().len() - before, 0, "requests after the signal");
    assert_eq!(before, 3);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: {}: GET {}/api/accounts/me/telephony_config was abandoned: the run was interrupted (SIGINT) \
             before its answer came",
            file(0),
            f.emu.url()
        )),
        "{err}"
    );
    assert!(err.contains("3 files were not started"), "{err}");
}

/// A second signal ends the process at once, whatever it is doing: here it is stuck writing a plan larger than the
/// pipe its output goes to (one page, which nobody reads), where a first signal cannot free it.
#[cfg(target_os = "linux")]
#[test]
fn a_second_signal_ends_the_process_at_once() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let f = Fixture::new();
    // A plan of a few kilobytes: twilio's mapping holds 200 entries, each shown on its own line.
    let mapping: String = (0..200).map(|i| format!("    Field{i:03}: user.field{i:03}\n")).collect();
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "  requestContextMapping:\n    From: user.phone_number\n",
            &format!("  requestContextMapping:\n{mapping}"),
        ),
    );
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors it is given room for.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the descriptors were just made by pipe(2) and are owned here only.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl(2) on a pipe this test owns.
    let capacity = unsafe { libc::fcntl(write_end.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    assert!(capacity > 0, "F_SETPIPE_SZ: {}", std::io::Error::last_os_error());
    let stderr_path = f.path("stderr.txt");
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("reconcile"));
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    cmd.envs(&f.env).args(["plan"]);
    cmd.stdout(Stdio::from(write_end)).stderr(std::fs::File::create(&stderr_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    let buffered = || {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int, the bytes waiting in the pipe.
        unsafe { libc::ioctl(read_end.as_raw_fd(), libc::FIONREAD, &mut n) };
        n
    };
    // The plan is printed in one write, larger than the pipe: once it has begun, it cannot end unread.
    wait_until("the plan to be printed", || buffered() > 0);
    kill(child.id(), libc::SIGINT);
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    wait_until("the first signal to be noted", || stderr().contains("reconcile: interrupted (SIGINT): stopping"));
    assert_eq!(child.try_wait().unwrap(), None, "the first signal cannot end a write to a full pipe: {}", stderr());
    kill(child.id(), libc::SIGINT);
    let mut status = None;
    wait_until("reconcile to exit", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(1), "{}", stderr());
    assert!(stderr().contains("reconcile: SIGINT again: exiting at once"), "{}", stderr());
    drop(read_end);
}

/// At apply's question nothing is in flight: a signal ends the run there and then, and no write is sent.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_at_the_question_cancels_with_no_write_sent() {
    use std::io::Read;
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed (apply asks only on a terminal)");
        return;
    }
    let f = accounts();
    let bin = assert_cmd::cargo::cargo_bin("reconcile");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} apply -f acct", bin.display()), "/dev/null"]);
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    cmd.envs(&f.env).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let (sender, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut buf = [0; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ = sender.send(all.clone());
        }
    });
    let mut seen = String::new();
    wait_until("the question", || {
        while let Ok(text) = output.try_recv() {
            seen = text;
        }
        seen.contains("Apply these changes to the accounts of 6 files?")
    });
    let pid = wait_for_descendant(child.id(), "reconcile");
    kill(pid, libc::SIGINT);
    wait_until("the run to end", || {
        while let Ok(text) = output.try_recv() {
            seen = text;
        }
        seen.contains("reconcile: interrupted (SIGINT); apply cancelled; no write was sent")
    });
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}");
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());
}

/// A signal while sops decrypts (here a stand-in that would take 30 s, the default timeout): sops is stopped there and
/// then, the run says so rather than waiting for the timeout, and nothing is sent.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_sops_decrypts_stops_it_and_sends_nothing() {
    let mut f = Fixture::with_state(full_state()).with_sops();
    f.write(
        "telephony.yaml",
        "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { sops: secrets.enc.yaml, key: plivo.authToken }\n",
    );
    let slow = f.script("slow-sops", "exec sleep 30\n");
    f.env.insert("RECONCILE_SOPS".into(), slow.display().to_string());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let child = spawn(&f, &["apply", "--auto-approve"]);
        let sops = wait_for_descendant(child.id(), "sleep");
        kill(child.id(), signal);
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{err}");
        let name = if signal == libc::SIGINT { "SIGINT" } else { "SIGTERM" };
        assert!(
            err.contains(&format!(
                "error[sops-decrypt-failed]: plivo.authToken: interrupted ({name}) while sops was decrypting \
                 secrets.enc.yaml; it was stopped"
            )),
            "{err}"
        );
        assert!(!err.contains("within 30s"), "not the timeout: {err}");
        assert!(!std::path::Path::new(&format!("/proc/{sops}")).exists(), "sops was stopped and reaped");
        assert!(f.emu.requests().is_empty(), "{:?}", f.request_lines());
    }
}

/// The process named `name` among the descendants of `pid` (read from /proc), once it is there.
#[cfg(target_os = "linux")]
fn wait_for_descendant(pid: u32, name: &str) -> u32 {
    let parent_of = |p: u32| -> Option<(u32, String)> {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after its closing parenthesis.
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1.to_string();
        let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
        Some((ppid, comm))
    };
    let mut found = None;
    wait_until(&format!("a `{name}` process under {pid}"), || {
        let Ok(entries) = std::fs::read_dir("/proc") else { return false };
        for entry in entries.flatten() {
            let Some(p) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Some((_, comm)) = parent_of(p) else { continue };
            if comm != name {
                continue;
            }
            // Walk up: is `pid` an ancestor?
            let mut up = p;
            while let Some((ppid, _)) = parent_of(up) {
                if ppid == pid {
                    found = Some(p);
                    return true;
                }
                if ppid <= 1 {
                    break;
                }
                up = ppid;
            }
        }
        false
    });
    found.expect("found")
}
