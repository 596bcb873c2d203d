//! The GitHub Action's scripts (`action/*.py`), run with the machine's `python3` as the action runs them:
//!
//! - `install.py` against a local release host serving an archive built here from the binary under test: a right
//!   checksum installs it and it runs; a wrong one is refused before anything is extracted or run; an unknown
//!   platform fails closed without a request;
//! - `run.py` over the emulator: one run of reconcile, and every output, the summary and the Markdown from its JSON;
//! - `github.py` against a fake of GitHub's REST API: one comment found by its marker, created once and then updated
//!   in place, never a second, cut under GitHub's limit; one drift issue opened, updated when the fingerprint
//!   changes, closed when the drift clears.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::*;
use crate::fakes::{BODY_LIMIT, BOT, FakeGitHub, Issue, OWNER_REPO, ReleaseHost, TOKEN};

const LINUX_TARGET: &str = "x86_64-unknown-linux-musl";
const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("action").join(name)
}

/// `python3 action/NAME` with only the given environment (and PATH, to find python3).
fn python(name: &str, env: &BTreeMap<String, String>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("python3");
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("PYTHONDONTWRITEBYTECODE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.arg(script(name)).args(args).output().expect("python3 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A release archive as dist lays it out: `reconcile-<target>/reconcile` beside the docs, gzipped.
fn tar_gz(target: &str, binary: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let root = format!("reconcile-{target}");
    let mut add = |name: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        builder.append_data(&mut header, format!("{root}/{name}"), data).unwrap();
    };
    add("README.md", 0o644, b"# reconcile\n");
    add("reconcile", 0o755, binary);
    builder.into_inner().unwrap().finish().unwrap()
}

/// A zip as dist makes for Windows: flat, stored (no compression needed for the test).
fn zip(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32fast::hash(data);
    let (len, name_len) = (data.len() as u32, name.len() as u16);
    let mut out = Vec::new();
    // Local file header.
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method (stored), time, date
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let central = out.len() as u32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // made by (unix), needed, flags, method, time, date
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // extra, comment, disk, internal attributes
    out.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes()); // external attributes: a regular file, 0755
    out.extend_from_slice(&0u32.to_le_bytes()); // offset of the local header
    out.extend_from_slice(name.as_bytes());
    let size = out.len() as u32 - central;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn reconcile_binary() -> Vec<u8> {
    std::fs::read(assert_cmd::cargo::cargo_bin("reconcile")).expect("the built binary")
}

/// The release archive of the binary under test, built once per test run (a debug binary is large).
fn linux_archive() -> &'static [u8] {
    static ARCHIVE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ARCHIVE.get_or_init(|| tar_gz(LINUX_TARGET, &reconcile_binary()))
}

/// `<hex> *<name>` for the archive above, computed once.
fn linux_checksum_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| format!("{} *reconcile-{LINUX_TARGET}.tar.gz\n", sha256_hex(linux_archive())))
}

/// Publishes the binary under test as this version's Linux x64 release.
fn publish_linux(host: &ReleaseHost) {
    let name = format!("reconcile-{LINUX_TARGET}.tar.gz");
    let dir = format!("/releases/download/{VERSION}");
    host.put(&format!("{dir}/{name}.sha256"), linux_checksum_line().as_bytes().to_vec());
    host.put(&format!("{dir}/{name}"), linux_archive().to_vec());
}

/// Puts `archive` and its dist-style checksum file (`<hex> *<name>`, here for `checksum_of`'s bytes) on the host.
fn publish(host: &ReleaseHost, name: &str, archive: Vec<u8>, checksum_of: &[u8]) {
    let dir = format!("/releases/download/{VERSION}");
    host.put(&format!("{dir}/{name}.sha256"), format!("{} *{name}\n", sha256_hex(checksum_of)).into_bytes());
    host.put(&format!("{dir}/{name}"), archive);
}

/// The environment `install.py` runs in as a step on a Linux x64 runner, with the local host as the release's.
fn install_env(host: &ReleaseHost, tmp: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("RECONCILE_DOWNLOAD_BASE".into(), format!("{}/releases/download/{VERSION}", host.url()));
    env.insert("RUNNER_OS".into(), "Linux".into());
    env.insert("RUNNER_ARCH".into(), "X64".into());
    env.insert("RUNNER_TEMP".into(), tmp.display().to_string());
    env.insert("GITHUB_OUTPUT".into(), tmp.join("output").display().to_string());
    env.insert("GITHUB_PATH".into(), tmp.join("path").display().to_string());
    env
}

fn outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Installs the binary under test from a local release host; returns the installed path.
fn install_from_local_release(tmp: &Path) -> PathBuf {
    let host = ReleaseHost::start();
    publish_linux(&host);
    let own = tmp.join("install");
    std::fs::create_dir_all(&own).unwrap();
    let dest = tmp.join("bin");
    let (code, out, err) = python("install.py", &install_env(&host, &own), &["--dest", &dest.display().to_string()]);
    assert_eq!(code, 0, "{out}\n{err}");
    dest.join("reconcile")
}

#[test]
fn a_right_checksum_installs_the_release_and_it_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let host = ReleaseHost::start();
    let name = format!("reconcile-{LINUX_TARGET}.tar.gz");
    publish_linux(&host);
    let dest = tmp.path().join("bin");
    // No --version: the action's own release, from the Cargo.toml beside the scripts.
    let (code, out, err) =
        python("install.py", &install_env(&host, tmp.path()), &["--dest", &dest.display().to_string()]);
    assert_eq!(code, 0, "{out}\n{err}");
    println!("{out}");
    let installed = dest.join("reconcile");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("reconcile {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        host.log(),
        [
            format!("GET /releases/download/{VERSION}/{name}.sha256 -> 200"),
            format!("GET /releases/download/{VERSION}/{name} -> 200"),
        ],
        "the checksum first, then the archive, once each"
    );
    let set = outputs(&tmp.path().join("output"));
    assert_eq!(set.get("path").map(String::as_str), Some(installed.to_str().unwrap()));
    assert_eq!(set.get("version").map(String::as_str), Some(VERSION));
    assert_eq!(std::fs::read_to_string(tmp.path().join("path")).unwrap(), format!("{}\n", dest.display()));
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1, "only the binary is written");
}

/// A stand-in binary that leaves a mark when it runs (and would pass the version check).
fn marking_binary(mark: &Path) -> Vec<u8> {
    format!("#!/bin/sh\necho ran > '{}'\necho reconcile {}\n", mark.display(), env!("CARGO_PKG_VERSION")).into_bytes()
}

#[test]
fn a_wrong_checksum_is_refused_before_anything_is_extracted_or_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = tmp.path().join("it-ran");
    let host = ReleaseHost::start();
    let name = format!("reconcile-{LINUX_TARGET}.tar.gz");
    let archive = tar_gz(LINUX_TARGET, &marking_binary(&mark));
    let dest = tmp.path().join("bin");
    let env = install_env(&host, tmp.path());
    let args = ["--dest", dest.to_str().unwrap()];

    // The archive was swapped (or damaged) after the checksum was made.
    publish(&host, &name, archive.clone(), b"the archive that was released");
    let (code, out, err) = python("install.py", &env, &args);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains(&format!("checksum mismatch for {name}")), "{err}");
    assert!(err.contains("nothing was extracted or run"), "{err}");
    assert!(out.contains("::error title=reconcile action::checksum mismatch"), "an annotation: {out}");
    assert!(!mark.exists(), "nothing ran");
    assert!(!dest.join("reconcile").exists() && !dest.join("reconcile.partial").exists(), "nothing installed");

    // A checksum file for another file is refused too.
    host.put(
        &format!("/releases/download/{VERSION}/{name}.sha256"),
        format!("{} *reconcile-other.tar.gz\n", sha256_hex(&archive)).into_bytes(),
    );
    let (code, _, err) = python("install.py", &env, &args);
    assert_eq!(code, 1);
    assert!(err.contains("the checksum file names 'reconcile-other.tar.gz'"), "{err}");
    assert!(!mark.exists());

    // The same archive with its right checksum does install and run: the check is what held it back.
    publish(&host, &name, archive.clone(), &archive);
    let (code, out, err) = python("install.py", &env, &args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(mark.exists(), "the verified binary ran its version check");
}

#[test]
fn an_unknown_platform_or_a_missing_release_fails_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let host = ReleaseHost::start();
    let mut env = install_env(&host, tmp.path());
    for (os, arch) in [("Windows", "ARM64"), ("Linux", "ARM"), ("FreeBSD", "X64")] {
        env.insert("RUNNER_OS".into(), os.into());
        env.insert("RUNNER_ARCH".into(), arch.into());
        let (code, _, err) = python("install.py", &env, &[]);
        assert_eq!(code, 1);
        assert!(err.contains(&format!("no prebuilt reconcile for {os}/{arch}")), "{err}");
        assert!(err.contains("nothing was installed"), "{err}");
    }
    assert!(host.log().is_empty(), "no request for a platform without a build: {:?}", host.log());

    env.insert("RUNNER_OS".into(), "Linux".into());
    env.insert("RUNNER_ARCH".into(), "X64".into());
    let (code, _, err) = python("install.py", &env, &["--version", "v9.9.9"]);
    assert_eq!(code, 1);
    assert!(err.contains("answered HTTP 404 (no such release or platform build"), "{err}");
    let (code, _, err) = python("install.py", &env, &["--version", "latest"]);
    assert_eq!(code, 1);
    assert!(err.contains("version must be a release tag such as v1.2.3, not 'latest'"), "{err}");
    env.insert("RECONCILE_DOWNLOAD_BASE".into(), "http://example.com/releases".into());
    let (code, _, err) = python("install.py", &env, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("only https:// URLs are used"), "{err}");
}

#[test]
fn the_windows_zip_is_installed_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = tmp.path().join("it-ran");
    let host = ReleaseHost::start();
    let name = "reconcile-x86_64-pc-windows-msvc.zip";
    // A stand-in named as on Windows (this machine runs it whatever its name): the zip path, not the binary, is tested.
    let archive = zip("reconcile.exe", &marking_binary(&mark));
    let dest = tmp.path().join("bin");
    let mut env = install_env(&host, tmp.path());
    env.insert("RUNNER_OS".into(), "Windows".into());
    publish(&host, name, archive.clone(), b"another zip");
    let (code, _, err) = python("install.py", &env, &["--dest", dest.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!mark.exists() && !dest.join("reconcile.exe").exists());
    publish(&host, name, archive.clone(), &archive);
    let (code, out, err) = python("install.py", &env, &["--dest", dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(dest.join("reconcile.exe").is_file() && mark.exists());
}

// ---------------------------------------------------------------------------------------------------------------
// run.py

/// The account drifted: twilio's agents edited, plivo to delete.
fn drifted() -> Fixture {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    let f = Fixture::with_state(state).family("auto");
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    f
}

/// The environment of the action's run step: the fixture's secrets (from the workflow's env), the inputs, and
/// GitHub's files.
fn run_env(f: &Fixture, binary: &Path, tmp: &Path, inputs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env = f.env.clone();
    env.remove("RECONCILE_ENDPOINTS");
    env.insert("ULTRAVOX_API_URL".into(), f.emu.url());
    env.insert("NO_COLOR".into(), "1".into());
    env.insert("RECONCILE".into(), binary.display().to_string());
    env.insert("RUNNER_TEMP".into(), tmp.display().to_string());
    env.insert("GITHUB_ACTIONS".into(), "true".into());
    env.insert("GITHUB_ACTION".into(), "plan".into());
    env.insert("GITHUB_WORKSPACE".into(), f.dir.path().display().to_string());
    env.insert("GITHUB_OUTPUT".into(), tmp.join("output").display().to_string());
    env.insert("GITHUB_STEP_SUMMARY".into(), tmp.join("summary.md").display().to_string());
    for (k, v) in inputs {
        env.insert(format!("INPUT_{k}"), v.to_string());
    }
    env
}

/// `run.py` in the fixture's folder (the workspace).
fn run_step(f: &Fixture, env: &BTreeMap<String, String>) -> (i32, String, String) {
    let mut cmd = Command::new("python3");
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("PYTHONDONTWRITEBYTECODE", "1");
    cmd.envs(env).current_dir(f.dir.path()).arg(script("run.py"));
    let output = cmd.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn one_plan_through_the_action_scripts_sets_every_output_from_its_json() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = install_from_local_release(tmp.path());
    let f = drifted();
    let env = run_env(
        &f,
        &binary,
        tmp.path(),
        &[("COMMAND", "plan"), ("FILES", "telephony.yaml"), ("DETAILED_EXITCODE", "true")],
    );
    let (code, out, err) = run_step(&f, &env);
    assert_eq!(code, 0, "the step itself succeeds; the action's last step judges exit-code\n{out}\n{err}");
    println!("--- GITHUB_OUTPUT ---\n{}", std::fs::read_to_string(tmp.path().join("output")).unwrap());
    let set = outputs(&tmp.path().join("output"));
    let (_, json, _) = f.run(&["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fingerprint = doc["driftFingerprint"].as_str().unwrap();
    let plan_json = tmp.path().join("reconcile-plan").join("plan.json");
    let plan_md = tmp.path().join("reconcile-plan").join("plan.md");
    let expected: BTreeMap<String, String> = [
        ("exit-code", "2"),
        ("has-changes", "true"),
        ("to-create", "0"),
        ("to-update", "1"),
        ("to-delete", "1"),
        ("drift-fingerprint", fingerprint),
        ("plan-json", plan_json.to_str().unwrap()),
        ("plan-markdown", plan_md.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(set, expected);
    // One run: the emulator saw one plan's reads (the `auto` family's one GET), not one per form.
    assert_eq!(f.request_lines(), [GET_CONFIG, GET_CONFIG], "the step's plan, then this test's own");
    assert_eq!(std::fs::read_to_string(&plan_json).unwrap().trim_end(), json.trim_end());
    let (_, markdown, _) = f.run(&["plan", "--format", "markdown"]);
    assert_eq!(std::fs::read_to_string(&plan_md).unwrap(), markdown);
    assert_eq!(std::fs::read_to_string(tmp.path().join("summary.md")).unwrap(), markdown);
    let (_, text, _) = f.run(&["plan"]);
    assert!(out.contains(&text), "the text plan is in the log:\n{out}");
    for secret in all_secrets() {
        for shown in [&out, &err, &markdown, &json] {
            assert!(!shown.contains(secret));
        }
    }
}

#[test]
fn a_failed_plan_still_writes_the_summary_and_exit_code_1_with_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = install_from_local_release(tmp.path());
    let f = Fixture::new();
    f.write("telephony.yaml", "twilio:\n  accountSid: AC1\n  authToken: literal-token-value\n");
    let env = run_env(&f, &binary, tmp.path(), &[("COMMAND", "plan"), ("FILES", "")]);
    let (code, out, err) = run_step(&f, &env);
    assert_eq!(code, 0, "{out}\n{err}");
    let set = outputs(&tmp.path().join("output"));
    assert_eq!(set["exit-code"], "1");
    for empty in ["has-changes", "to-create", "to-update", "to-delete", "drift-fingerprint"] {
        assert_eq!(set[empty], "", "{empty} is unknown when no plan was made");
    }
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    // plan --format json prints a failure document, which the summary shows: every problem, located and coded.
    assert!(summary.starts_with("<!-- reconcile-plan -->\n### reconcile: failed\n"), "{summary}");
    assert!(summary.contains("error[literal-secret]: twilio.authToken: is a literal secret"), "{summary}");
    assert!(!summary.contains("literal-token-value"), "{summary}");
    assert!(
        err.contains(
            "::error file=telephony.yaml,line=3,col=14,title=reconcile literal-secret::twilio.authToken: is a literal secret"
        ),
        "{err}"
    );
    assert!(!err.contains("literal-token-value"));

    // validate (for pull requests from forks: no secret): only exit-code, and the same annotations.
    std::fs::remove_file(tmp.path().join("output")).unwrap();
    let env = run_env(&f, &binary, tmp.path(), &[("COMMAND", "validate")]);
    let (code, _, err) = run_step(&f, &env);
    assert_eq!(code, 0);
    let set = outputs(&tmp.path().join("output"));
    assert_eq!((set["exit-code"].as_str(), set["plan-markdown"].as_str()), ("1", ""));
    assert!(err.contains("::error file=telephony.yaml,line=3,col=14,"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn apply_through_the_action_scripts_writes_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = install_from_local_release(tmp.path());
    let f = drifted();
    let env = run_env(
        &f,
        &binary,
        tmp.path(),
        &[("COMMAND", "apply"), ("FILES", "."), ("ENDPOINTS", "provider"), ("JOBS", "2")],
    );
    let (code, out, err) = run_step(&f, &env);
    assert_eq!(code, 0, "{out}\n{err}");
    let set = outputs(&tmp.path().join("output"));
    assert_eq!((set["exit-code"].as_str(), set["to-update"].as_str(), set["to-delete"].as_str()), ("0", "1", "1"));
    let markdown = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(markdown.contains("1 applied (0 created, 1 updated, 1 deleted)"), "{markdown}");
    let (_, after, _) = f.run(&["plan", "--format", "json", "--endpoints", "provider"]);
    assert!(after.contains("\"hasChanges\": false"), "{after}");

    for (inputs, says) in [
        (vec![("COMMAND", "destroy")], "input command must be plan or apply (or validate), not 'destroy'"),
        (vec![("ENDPOINTS", "all")], "input endpoints must be auto, provider or account"),
        (vec![("JOBS", "0")], "input jobs must be a number from 1 to 1024"),
        (vec![("DETAILED_EXITCODE", "maybe")], "input detailed-exitcode must be true or false"),
    ] {
        let (code, _, err) = run_step(&f, &run_env(&f, &binary, tmp.path(), &inputs));
        assert_eq!(code, 1);
        assert!(err.contains(says), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// github.py: the comment and the drift issue

fn github_env(gh: &FakeGitHub, tmp: &Path, pr: Option<u64>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("GITHUB_API_URL".into(), gh.url());
    env.insert("GITHUB_REPOSITORY".into(), OWNER_REPO.into());
    env.insert("GITHUB_TOKEN".into(), TOKEN.into());
    env.insert("GITHUB_WORKFLOW".into(), "reconcile plan".into());
    env.insert("GITHUB_SERVER_URL".into(), "https://github.com".into());
    env.insert("GITHUB_RUN_ID".into(), "4242".into());
    env.insert("GITHUB_SHA".into(), "0123456789abcdef0123456789abcdef01234567".into());
    if let Some(number) = pr {
        let event = tmp.join("event.json");
        std::fs::write(&event, serde_json::json!({"pull_request": {"number": number}}).to_string()).unwrap();
        env.insert("GITHUB_EVENT_PATH".into(), event.display().to_string());
    }
    env
}

fn write(path: &Path, text: &str) -> String {
    std::fs::File::create(path).unwrap().write_all(text.as_bytes()).unwrap();
    path.display().to_string()
}

/// The comments on `pr` that the action made (marker first).
fn action_comments(gh: &FakeGitHub, pr: u64) -> Vec<crate::fakes::Comment> {
    gh.comments(pr).into_iter().filter(|c| c.body.starts_with("<!-- reconcile-action comment:")).collect()
}

#[test]
fn the_comment_is_created_once_then_updated_in_place_never_duplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = FakeGitHub::start();
    gh.add_pull_request(7);
    // A busy pull request: 150 comments (two pages of 100), one quoting an old plan, one from another tool.
    for i in 0..150 {
        gh.add_comment(7, &format!("review comment {i}"), "octocat", "User");
    }
    gh.add_comment(7, "> <!-- reconcile-action comment:0000 -->\n> quoted", "octocat", "User");
    gh.add_comment(7, "<!-- other-bot -->\nlgtm", "other[bot]", "Bot");
    let env = github_env(&gh, tmp.path(), Some(7));
    let first = write(&tmp.path().join("first.md"), "<!-- reconcile-plan -->\n### reconcile plan: 1 to update\n");
    let args = |body: &str| {
        vec!["comment".to_string(), "--body-file".into(), body.to_string(), "--files".into(), "prod staging".into()]
    };
    let run = |body: &str| {
        let args = args(body);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        python("github.py", &env, &args)
    };

    let (code, out, err) = run(&first);
    assert_eq!(code, 0, "{out}\n{err}");
    let log = gh.log();
    println!("--- first run ---\n{}", log.join("\n"));
    let list = format!("GET /repos/{OWNER_REPO}/issues/7/comments?per_page=100");
    let list2 = format!("GET /repos/{OWNER_REPO}/issues/7/comments?page=2&per_page=100");
    assert_eq!(
        log,
        [
            format!("{list} -> 200"),
            format!("{list2} -> 200"),
            format!("POST /repos/{OWNER_REPO}/issues/7/comments -> 201")
        ]
    );
    let mine = action_comments(&gh, 7);
    assert_eq!(mine.len(), 1);
    let id = mine[0].id;
    assert_eq!(mine[0].login, BOT);
    assert!(mine[0].body.contains("\n<!-- reconcile-plan -->\n### reconcile plan: 1 to update\n"), "{}", mine[0].body);
    assert!(
        mine[0].body.contains("[run 4242](https://github.com/acme/telephony/actions/runs/4242)"),
        "{}",
        mine[0].body
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));

    // The next push: the same comment, edited.
    gh.clear_log();
    let second = write(&tmp.path().join("second.md"), "<!-- reconcile-plan -->\n### reconcile plan: no changes\n");
    let (code, out, err) = run(&second);
    assert_eq!(code, 0, "{out}\n{err}");
    let log = gh.log();
    println!("--- second run ---\n{}", log.join("\n"));
    assert_eq!(
        log,
        [
            format!("{list} -> 200"),
            format!("{list2} -> 200"),
            format!("PATCH /repos/{OWNER_REPO}/issues/comments/{id} -> 200")
        ]
    );
    let mine = action_comments(&gh, 7);
    assert_eq!(mine.len(), 1, "never a second comment");
    assert_eq!(mine[0].id, id);
    assert!(mine[0].body.contains("### reconcile plan: no changes"));

    // Nothing new to say: no write at all.
    gh.clear_log();
    let (code, _, _) = run(&second);
    assert_eq!(code, 0);
    assert_eq!(gh.log(), [format!("{list} -> 200"), format!("{list2} -> 200")]);

    // Another file set in the same workflow has its own comment; so has another workflow.
    let other = vec!["comment", "--body-file", &second, "--files", "dev"];
    python("github.py", &env, &other);
    let mut env2 = env.clone();
    env2.insert("GITHUB_WORKFLOW".into(), "nightly".into());
    python("github.py", &env2, &["comment", "--body-file", &second, "--files", "prod staging"]);
    assert_eq!(action_comments(&gh, 7).len(), 3);
    assert_eq!(gh.comments(7).len(), 152 + 3, "the others' comments untouched");
    assert!(gh.comments(7).iter().filter(|c| c.login != BOT).all(|c| !c.body.contains("reconcile plan:")));

    // A comment written with a personal token (its author a user, not a bot) is found and kept too.
    gh.add_pull_request(8);
    let marker = format!("<!-- reconcile-action comment:{} -->", &sha256_hex(b"reconcile plan\0prod staging")[..16]);
    let by_user = gh.add_comment(8, &format!("{marker}\nan older plan\n"), "release-bot-user", "User");
    let mut env8 = env.clone();
    env8.insert("GITHUB_EVENT_PATH".into(), {
        let event = tmp.path().join("event8.json");
        std::fs::write(&event, r#"{"pull_request": {"number": 8}}"#).unwrap();
        event.display().to_string()
    });
    gh.clear_log();
    let (code, _, err) = python("github.py", &env8, &["comment", "--body-file", &second, "--files", "prod staging"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(gh.log().last().unwrap(), &format!("PATCH /repos/{OWNER_REPO}/issues/comments/{by_user} -> 200"));
    assert_eq!(gh.comments(8).len(), 1);
}

#[test]
fn a_body_over_githubs_limit_is_cut_under_it_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = FakeGitHub::start();
    gh.add_pull_request(3);
    let env = github_env(&gh, tmp.path(), Some(3));
    let mut long = String::from("<!-- reconcile-plan -->\n### reconcile plan\n<details><summary>all</summary>\n\n");
    while long.chars().count() < 2 * BODY_LIMIT {
        long.push_str("| <code>field</code> | <code>é before</code> | <code>after ✓</code> |\n");
    }
    let body = write(&tmp.path().join("long.md"), &long);
    let (code, out, err) = python("github.py", &env, &["comment", "--body-file", &body]);
    assert_eq!(code, 0, "{out}\n{err}");
    let mine = action_comments(&gh, 3);
    let stored = &mine[0].body;
    assert!(stored.chars().count() <= BODY_LIMIT, "{}", stored.chars().count());
    assert!(stored.chars().count() > BODY_LIMIT - 1_000, "cut near the limit, not far below");
    assert!(
        stored.contains("\n</details>\n\n> [!CAUTION]\n> Cut to stay under GitHub's 65536-character limit"),
        "{}",
        &stored[stored.len() - 300..]
    );

    // The fake holds GitHub's line: one character more is refused.
    let (code, _, err) = python(
        "github.py",
        &{
            let mut e = env.clone();
            e.insert("GITHUB_API_URL".into(), gh.url());
            e
        },
        &["comment", "--body-file", &write(&tmp.path().join("ok.md"), "short")],
    );
    assert_eq!(code, 0, "{err}");
    let refused = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        reqwest::Client::new()
            .post(format!("{}/repos/{OWNER_REPO}/issues/3/comments", gh.url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"body": "x".repeat(BODY_LIMIT + 1)}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(refused.as_u16(), 422);
}

#[test]
fn no_pull_request_no_comment_and_a_bad_token_is_named_not_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = FakeGitHub::start();
    gh.add_pull_request(5);
    let body = write(&tmp.path().join("plan.md"), "<!-- reconcile-plan -->\nplan\n");
    let (code, out, _) = python("github.py", &github_env(&gh, tmp.path(), None), &["comment", "--body-file", &body]);
    assert_eq!(code, 0);
    assert!(out.contains("Not a pull request: no comment."), "{out}");
    assert!(gh.log().is_empty());

    let mut env = github_env(&gh, tmp.path(), Some(5));
    env.insert("GITHUB_TOKEN".into(), "ghs_revokedToken999".into());
    let (code, out, err) = python("github.py", &env, &["comment", "--body-file", &body]);
    assert_eq!(code, 1);
    assert!(err.contains("answered HTTP 401: Bad credentials (the token is not valid)"), "{err}");
    assert!(!out.contains("ghs_revoked") && !err.contains("ghs_revoked"));
}

#[test]
fn one_drift_issue_opened_updated_when_the_fingerprint_changes_and_closed_when_it_clears() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = FakeGitHub::start();
    // Unrelated: a pull request and another workflow's drift issue, both labelled drift.
    gh.add(Issue {
        number: 1,
        title: "PR".into(),
        body: String::new(),
        state: "open".into(),
        labels: vec!["drift".into()],
        pull_request: true,
    });
    gh.add(Issue {
        number: 2,
        title: "other".into(),
        body: "<!-- reconcile-action drift:ffffffffffffffff fingerprint:aa -->\nother".into(),
        state: "open".into(),
        labels: vec!["drift".into()],
        pull_request: false,
    });
    let mut env = github_env(&gh, tmp.path(), None);
    env.insert("GITHUB_WORKFLOW".into(), "reconcile drift".into());
    let body = write(&tmp.path().join("drift.md"), "<!-- reconcile-plan -->\n### reconcile plan: 1 to update\n");
    let drift = |has: &str, fp: &str| {
        gh.clear_log();
        let (code, out, err) = python(
            "github.py",
            &env,
            &["drift-issue", "--body-file", &body, "--has-changes", has, "--fingerprint", fp],
        );
        assert_eq!(code, 0, "{out}\n{err}");
        gh.log()
    };
    let list = format!("GET /repos/{OWNER_REPO}/issues?state=open&labels=drift&per_page=100 -> 200");
    let (a, b) = ("a".repeat(64), "b".repeat(64));

    assert_eq!(drift("true", &a), [list.clone(), format!("POST /repos/{OWNER_REPO}/issues -> 201")]);
    let opened = gh.issues().into_iter().find(|i| i.number == 3).expect("issue 3 opened");
    assert_eq!(opened.labels, ["drift"]);
    assert!(
        opened.body.contains(&format!("fingerprint:{a} -->"))
            && opened.body.contains("### reconcile plan: 1 to update")
    );

    assert_eq!(drift("true", &a), std::slice::from_ref(&list), "the same drift: nothing sent");
    assert_eq!(
        drift("true", &b),
        [
            list.clone(),
            format!("PATCH /repos/{OWNER_REPO}/issues/3 -> 200"),
            format!("POST /repos/{OWNER_REPO}/issues/3/comments -> 201")
        ]
    );
    let third = || gh.issues().into_iter().find(|i| i.number == 3).unwrap();
    assert!(third().body.contains(&format!("fingerprint:{b} -->")));
    assert_eq!(drift("true", &b), std::slice::from_ref(&list));
    assert_eq!(
        drift("false", ""),
        [
            list.clone(),
            format!("POST /repos/{OWNER_REPO}/issues/3/comments -> 201"),
            format!("PATCH /repos/{OWNER_REPO}/issues/3 -> 200")
        ]
    );
    assert_eq!(third().state, "closed");
    assert_eq!(drift("false", ""), std::slice::from_ref(&list), "no drift, no open issue: nothing sent");
    // Drift again: a new issue (the closed one stays closed); the other workflow's issue was never touched.
    assert_eq!(drift("true", &a), [list, format!("POST /repos/{OWNER_REPO}/issues -> 201")]);
    let issues = gh.issues();
    assert_eq!(issues.len(), 3);
    assert_eq!((issues[0].number, issues[0].state.as_str(), issues[0].body.ends_with("\nother")), (2, "open", true));
}

// ---------------------------------------------------------------------------------------------------------------
// action.yml itself

/// Every `${{ inputs.X }}` and `${{ steps.Y.outputs.Z }}` names what exists; expressions reach scripts only through
/// `env:` (never inside `run:`, where a value could inject shell); the outputs are the ones `run.py` sets.
#[test]
fn action_yml_declares_its_inputs_and_outputs_and_refers_only_to_them() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let inputs = keys(&action["inputs"]);
    for wanted in ["command", "files", "version", "endpoints", "jobs", "comment", "detailed-exitcode"] {
        assert!(inputs.contains(&wanted.to_string()), "input {wanted}");
    }
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    for step in steps {
        let run = step["run"].as_str().unwrap_or_default();
        assert!(!run.contains("${{"), "an expression inside run: {run}");
    }
    let scripts: String =
        ["run.py", "install.py"].iter().map(|s| std::fs::read_to_string(script(s)).unwrap()).collect();
    let outputs = keys(&action["outputs"]);
    for wanted in ["has-changes", "to-create", "to-update", "to-delete", "exit-code", "plan-json"] {
        assert!(outputs.contains(&wanted.to_string()), "output {wanted}");
    }
    for name in &outputs {
        let value = action["outputs"][name]["value"].as_str().unwrap();
        let inner = value.strip_prefix("${{ steps.").and_then(|v| v.strip_suffix(" }}")).unwrap();
        let (step, output) = inner.split_once(".outputs.").unwrap();
        assert!(ids.contains(&step), "{name}: no step {step}");
        assert!(scripts.contains(&format!("set_output(\"{output}\"")), "{name}: no script sets {output}");
    }
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${{") {
        let end = rest[at..].find("}}").unwrap() + at;
        let expr = rest[at + 3..end].trim();
        for word in expr.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_')) {
            if let Some(input) = word.strip_prefix("inputs.") {
                assert!(inputs.contains(&input.to_string()), "unknown input {input}");
            }
            if let Some(step) = word.strip_prefix("steps.") {
                let id = step.split('.').next().unwrap();
                assert!(ids.contains(&id), "unknown step {id}");
            }
        }
        rest = &rest[end..];
    }
}

/// No recipe compiles: the GitHub ones use the action, GitLab's the verified archive; GitLab's plan hands the widget
/// its counts.
#[test]
fn the_ci_recipes_install_prebuilt_and_never_compile() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let mut recipes = vec![dir.join("gitlab-ci.yml")];
    for entry in std::fs::read_dir(dir.join("github")).unwrap() {
        recipes.push(entry.unwrap().path());
    }
    assert!(recipes.len() >= 4);
    for path in &recipes {
        let text = std::fs::read_to_string(path).unwrap();
        let _: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for word in ["cargo ", "rustup", "rust:"] {
            assert!(!text.contains(word), "{} mentions {word:?}", path.display());
        }
        if path.starts_with(dir.join("github")) {
            assert!(text.contains("uses: your-org/reconcile@v"), "{} uses the action", path.display());
        }
    }
    let gitlab: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("gitlab-ci.yml")).unwrap()).unwrap();
    assert_eq!(gitlab["plan"]["artifacts"]["reports"]["terraform"], "reconcile.tfplan.json");
    let install = gitlab[".reconcile"]["before_script"][0].as_str().unwrap();
    let check = install.find("sha256sum -c").expect("the checksum is checked");
    assert!(check < install.find("tar -xzf").unwrap() && check < install.find("reconcile --version").unwrap());
}

/// GitLab's install, as the recipe writes it, run with this machine's `sh`, `wget`, `sha256sum` and `tar` against the
/// local release host: the right archive installs and runs; a wrong one is refused before it is unpacked or run.
#[test]
fn the_gitlab_recipe_installs_the_verified_archive_and_refuses_another() {
    let recipe: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/gitlab-ci.yml")).unwrap(),
    )
    .unwrap();
    let install = recipe[".reconcile"]["before_script"][0].as_str().unwrap().to_string();
    // The snippet picks the archive by `uname -m`: the binary under test is served under this machine's name.
    let machine = Command::new("uname").arg("-m").output().unwrap();
    let target = match String::from_utf8_lossy(&machine.stdout).trim() {
        "x86_64" => LINUX_TARGET,
        "aarch64" | "arm64" => "aarch64-unknown-linux-musl",
        other => panic!("the recipe has no archive for {other}"),
    };
    let host = ReleaseHost::start();
    let project = tempfile::tempdir().unwrap();
    let run = || {
        Command::new("sh")
            .arg("-c")
            .arg(format!("{install}\necho \"args: $*\""))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CI_PROJECT_DIR", project.path())
            .env("RECONCILE_RELEASES", format!("{}/releases/download", host.url()))
            .env("RECONCILE_VERSION", VERSION)
            .env("RECONCILE_FILES", "prod staging")
            .current_dir(project.path())
            .output()
            .unwrap()
    };
    let installed = project.path().join(".reconcile/reconcile");
    let mark = project.path().join("it-ran");
    let name = format!("reconcile-{target}.tar.gz");
    let impostor = tar_gz(target, &marking_binary(&mark));
    publish(&host, &name, impostor, b"the released archive");
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("checksum mismatch: {name} is not the release's")), "{stdout}");
    assert!(!installed.exists() && !mark.exists(), "nothing unpacked or run");

    if target == LINUX_TARGET {
        publish_linux(&host);
    } else {
        let archive = tar_gz(target, &reconcile_binary());
        publish(&host, &name, archive.clone(), &archive);
    }
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("reconcile {}\n", env!("CARGO_PKG_VERSION"))), "{stdout}");
    assert!(stdout.contains("args: -f prod -f staging"), "{stdout}");
    assert!(installed.is_file());
}

/// The release's archive names agree everywhere: dist's targets (dist-workspace.toml), `cargo binstall`'s metadata
/// (Cargo.toml) and the action's installer (action/install.py) all name `reconcile-<target>.tar.gz` (`.zip` on
/// Windows) holding `reconcile-<target>/reconcile` (`reconcile.exe` at the root of the zip), and binstall never
/// falls back to compiling.
#[test]
fn dist_binstall_and_the_installer_name_the_same_archives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    let dist = read("dist-workspace.toml");
    let targets_line = dist.lines().find(|l| l.starts_with("targets = ")).unwrap();
    let mut targets: Vec<&str> = targets_line.split('"').skip(1).step_by(2).collect();
    targets.sort_unstable();
    let mut wanted = vec![
        "aarch64-apple-darwin",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "x86_64-pc-windows-msvc",
        "x86_64-unknown-linux-musl",
    ];
    wanted.sort_unstable();
    assert_eq!(targets, wanted);
    assert!(dist.contains("unix-archive = \".tar.gz\"") && dist.contains("github-attestations = true"));

    let cargo = read("Cargo.toml");
    let section = |name: &str| -> BTreeMap<String, String> {
        let start = cargo.find(&format!("\n[{name}]\n")).unwrap_or_else(|| panic!("[{name}]"));
        cargo[start + name.len() + 4..]
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect()
    };
    let base = section("package.metadata.binstall");
    let windows = section("package.metadata.binstall.overrides.x86_64-pc-windows-msvc");
    assert_eq!(base["disabled-strategies"], r#"["quick-install", "compile"]"#);
    let install = read("action/install.py");
    for target in targets {
        let meta = if target.contains("windows") { &windows } else { &base };
        let expand = |template: &str| {
            template
                .replace("{ repo }", "https://github.com/your-org/reconcile")
                .replace("{ version }", env!("CARGO_PKG_VERSION"))
                .replace("{ name }", "reconcile")
                .replace("{ target }", target)
                .replace("{ bin }", "reconcile")
                .replace("{ binary-ext }", if target.contains("windows") { ".exe" } else { "" })
        };
        let archive = if target.contains("windows") {
            format!("reconcile-{target}.zip")
        } else {
            format!("reconcile-{target}.tar.gz")
        };
        assert_eq!(
            expand(&meta["pkg-url"]),
            format!("https://github.com/your-org/reconcile/releases/download/{VERSION}/{archive}")
        );
        let inside = if target.contains("windows") {
            "reconcile.exe".to_string()
        } else {
            format!("reconcile-{target}/reconcile")
        };
        assert_eq!(expand(&meta["bin-dir"]), inside);
        assert!(install.contains(&format!("\"{target}\"")), "install.py knows {target}");
    }
}
