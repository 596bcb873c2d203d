//! Several files and accounts in one run: `-f` repeated and folders, output grouped per file in file order, one
//! file's failure not stopping the others, exit codes over all files, the same provider of one account refused
//! before anything is sent, saved plans covering every file, and `--jobs` bounding the accounts worked on at once.

use std::time::Duration;

use crate::common::*;
use serde_json::json;

const PROD_KEY: &str = "prod-api-key-7731-xq";
const STAGING_KEY: &str = "staging-api-key-5524-zr";
const DEV_KEY: &str = "dev-api-key-9002-kw";
const PROD_TOKEN: &str = "tw-prod-token-AAAA-1111";
const STAGING_TOKEN: &str = "tw-staging-token-BBBB-2222";
const DEV_TOKEN: &str = "tw-dev-token-CCCC-3333";
const SID_A: &str = "AC0123456789abcdef0123456789abcdef";
const SID_B: &str = "ACfedcba9876543210fedcba9876543210";

fn twilio_file(key_env: &str, token_env: &str, sid: &str) -> String {
    format!(
        "account:\n  apiKey: {{ env: {key_env} }}\ntwilio:\n  accountSid: {sid}\n  authToken: {{ env: {token_env} }}\n"
    )
}

fn twilio(sid: &str, token: &str) -> Twilio {
    Twilio {
        account_sid: sid.into(),
        auth_token: token.into(),
        allowed_agent_ids: vec![],
        allow_all_agents: false,
        request_context_mapping: Default::default(),
    }
}

/// A repository `repo/` with `dev/`, `prod/` and `staging/telephony.yaml`, each its own account: dev matches its
/// account, prod has a changed token, staging's twilio is to be created.
fn repo() -> Fixture {
    let mut f = Fixture::new();
    f.write("repo/prod/telephony.yaml", &twilio_file("PROD_KEY", "PROD_TOKEN", SID_A));
    f.write("repo/staging/telephony.yaml", &twilio_file("STAGING_KEY", "STAGING_TOKEN", SID_B));
    f.write("repo/dev/telephony.yaml", &twilio_file("DEV_KEY", "DEV_TOKEN", SID_A));
    for (k, v) in [
        ("PROD_KEY", PROD_KEY),
        ("STAGING_KEY", STAGING_KEY),
        ("DEV_KEY", DEV_KEY),
        ("PROD_TOKEN", PROD_TOKEN),
        ("STAGING_TOKEN", STAGING_TOKEN),
        ("DEV_TOKEN", DEV_TOKEN),
    ] {
        f.env.insert(k.into(), v.into());
    }
    f.emu.set_account(PROD_KEY, AccountState::empty().with_twilio(twilio(SID_A, "tw-old-prod-ZZZZ")));
    f.emu.set_account(STAGING_KEY, AccountState::empty());
    f.emu.set_account(DEV_KEY, AccountState::empty().with_twilio(twilio(SID_A, DEV_TOKEN)));
    f
}

/// The writes on the default family, `auto`: prod's changed token, staging's new twilio.
const PATCH_TWILIO: &str = "PATCH /api/telephony_configs/twilio";
const POST_TWILIO: &str = "POST /api/telephony_configs/twilio";

const DEV: &str = "repo/dev/telephony.yaml";
const PROD: &str = "repo/prod/telephony.yaml";
const STAGING: &str = "repo/staging/telephony.yaml";

/// The requests the emulator received with this API key, as `METHOD path` lines.
fn requests_of(f: &Fixture, key: &str) -> Vec<String> {
    f.emu
        .requests()
        .iter()
        .filter(|r| r.header("x-api-key") == Some(key))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn position(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}

fn assert_no_secret(text: &str) {
    for secret in [PROD_KEY, STAGING_KEY, DEV_KEY, PROD_TOKEN, STAGING_TOKEN, DEV_TOKEN, "tw-old-prod-ZZZZ"] {
        assert!(!text.contains(secret), "leaked {secret}:\n{text}");
        assert!(!text.contains(&secret[..8]), "leaked a piece of {secret}:\n{text}");
    }
}

#[test]
fn a_folder_plans_every_file_grouped_in_path_order_with_an_overall_summary() {
    let f = repo();
    let (code, out, err) = f.run(&["plan", "-f", "repo"]);
    assert_eq!(code, 0, "{out}{err}");
    let (dev, prod, staging) = (
        position(&out, &format!("=== {DEV} ===")),
        position(&out, &format!("=== {PROD} ===")),
        position(&out, &format!("=== {STAGING} ===")),
    );
    assert!(dev < prod && prod < staging, "{out}");
    let dev_part = &out[dev..prod];
    assert!(dev_part.contains(&format!("No changes. The account matches {DEV}.")), "{dev_part}");
    let prod_part = &out[prod..staging];
    assert!(prod_part.contains("~ twilio will be updated"), "{prod_part}");
    assert!(prod_part.contains("authToken: (secret) changed; will be sent"), "{prod_part}");
    assert!(out[staging..].contains("+ twilio will be created"), "{out}");
    assert!(
        out.trim_end()
            .ends_with("Overall: 3 files: 2 with changes (1 to create, 1 to update, 0 to delete), 1 without changes."),
        "{out}"
    );
    // One GET per account, each with its own key.
    for key in [DEV_KEY, PROD_KEY, STAGING_KEY] {
        assert_eq!(requests_of(&f, key), vec![GET_CONFIG], "{key}");
    }
    assert_eq!(f.emu.requests().len(), 3);
    assert_no_secret(&format!("{out}{err}"));

    let (code, _, _) = f.run(&["plan", "-f", "repo", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    let (code, _, _) = f.run(&["plan", "-f", DEV, "-f", "repo/dev", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the same file given twice is read once, and it has no changes");
}

#[test]
fn output_follows_file_order_whatever_finishes_first() {
    let f = repo();
    // The first file's account answers slowest: the others finish first, but are printed after it.
    f.emu.set_latency(Duration::from_millis(200));
    f.emu.set_latency_for(DEV_KEY, Duration::from_millis(600));
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--jobs", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(position(&out, DEV) < position(&out, PROD) && position(&out, PROD) < position(&out, STAGING), "{out}{err}");
    // All three were asked before the first one answered: the work overlapped.
    assert_eq!(f.emu.max_in_flight(), 3);
}

#[test]
fn the_first_files_are_printed_before_a_slow_last_one_answers() {
    use std::io::BufRead;
    let f = repo();
    f.emu.set_latency_for(STAGING_KEY, Duration::from_secs(3));
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reconcile"));
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    cmd.envs(&f.env).args(["plan", "-f", "repo"]).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Lines as they are printed, read on a thread so that waiting for one has a deadline.
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).try_for_each(|line| sender.send(line)));
    let deadline = std::time::Instant::now() + WAIT_LIMIT;
    let mut seen = String::new();
    while !seen.contains("Plan: 0 to create, 1 to update") {
        let line = next_line(&lines, deadline, &seen).unwrap_or_else(|| panic!("reconcile ended early:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
    }
    // dev's and prod's plans are out while staging's account is still answering.
    assert_eq!(f.emu.in_flight(), 1, "{seen}");
    assert!(!seen.contains(STAGING), "{seen}");
    let mut rest = Vec::new();
    while let Some(line) = next_line(&lines, deadline, &seen) {
        rest.push(line);
    }
    assert!(child.wait().unwrap().success());
    assert!(rest.iter().any(|l| l.contains(STAGING)), "{rest:?}");
}

/// The next line `lines` receives, or `None` once its sender is gone (the output ended); panics at `deadline`, showing
/// the output `seen` so far.
fn next_line(lines: &std::sync::mpsc::Receiver<String>, deadline: std::time::Instant, seen: &str) -> Option<String> {
    match lines.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        Ok(line) => Some(line),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("gave up after {}s waiting for reconcile's output; so far:\n{seen}", WAIT_LIMIT.as_secs())
        }
    }
}

#[test]
fn jobs_bounds_how_many_accounts_are_worked_on_at_once() {
    let f = repo();
    for i in 0..5 {
        let key = format!("extra-api-key-{i}-abcdef");
        f.write(&format!("repo/extra{i}/telephony.yaml"), &twilio_file(&format!("EXTRA_KEY_{i}"), "DEV_TOKEN", SID_A));
        f.emu.set_account(&key, AccountState::empty());
    }
    let mut cmd = f.cmd(&["plan", "-f", "repo", "--jobs", "2"]);
    for i in 0..5 {
        cmd.env(format!("EXTRA_KEY_{i}"), format!("extra-api-key-{i}-abcdef"));
    }
    f.emu.set_latency(Duration::from_millis(100));
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(f.emu.requests().len(), 8);
    assert_eq!(f.emu.max_in_flight(), 2);
    let (code, _, err) = f.run(&["plan", "-f", "repo", "--jobs", "0"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_retry_after_holds_up_only_its_own_account() {
    let f = repo();
    // Whichever account asks first is told to come back in a second; the others are answered meanwhile.
    f.emu.push_fault(Fault::status_retry_after(429, "1"));
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--jobs", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    let keys: Vec<String> =
        f.emu.requests().iter().map(|r| r.header("x-api-key").unwrap_or_default().to_string()).collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(keys[3], keys[0], "the throttled account asks again last, after the others: {keys:?}");
    let mut others = keys[1..3].to_vec();
    others.sort();
    assert!(!others.contains(&keys[0]) && others[0] != others[1], "{keys:?}");
}

#[test]
fn one_failing_file_does_not_stop_the_others_and_the_run_exits_1() {
    let f = repo();
    // staging's key is refused; a fourth file does not even parse.
    f.emu.set_account(STAGING_KEY, AccountState { forbidden: true, ..AccountState::default() });
    f.write("repo/zz/telephony.yaml", "twilio:\n  accountSid: AC1\n  authToken: literal-token\n");
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--detailed-exitcode"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("~ twilio will be updated"), "prod is still planned: {out}");
    assert!(out.contains(&format!("No changes. The account matches {DEV}.")), "{out}");
    assert!(err.contains(&format!("error: {STAGING}: GET ")) && err.contains("HTTP 403"), "{err}");
    assert!(err.contains("repo/zz/telephony.yaml:3:"), "{err}");
    assert!(out.contains("2 failed (repo/staging/telephony.yaml, repo/zz/telephony.yaml)"), "{out}");
    assert_no_secret(&format!("{out}{err}"));

    // apply: the others are written, the failures are reported, exit 1.
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "-f", "repo", "--auto-approve"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(requests_of(&f, PROD_KEY), vec![GET_CONFIG, PATCH_TWILIO]);
    assert_eq!(requests_of(&f, DEV_KEY), vec![GET_CONFIG]);
    assert_eq!(f.emu.account(PROD_KEY).unwrap().twilio.unwrap().auth_token, PROD_TOKEN);
    assert!(out.contains("Apply complete: 0 created, 1 updated, 0 deleted (twilio in one write)."), "{out}");
    assert!(
        out.contains("Overall: 4 files: 1 applied (0 created, 1 updated, 0 deleted), 1 without changes, 2 failed"),
        "{out}"
    );
}

#[test]
fn two_files_managing_one_provider_of_one_account_are_refused_before_any_request() {
    let f = repo();
    // staging reads prod's key: the same account, and both manage twilio.
    f.write("repo/staging/telephony.yaml", &twilio_file("PROD_KEY", "STAGING_TOKEN", SID_B));
    for command in [&["plan", "-f", "repo"][..], &["apply", "-f", "repo", "--auto-approve"]] {
        let (code, out, err) = f.run(command);
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(&format!(
                "{PROD} and {STAGING} both manage twilio of the same Ultravox account; nothing was sent"
            )),
            "{err}"
        );
        assert!(f.emu.requests().is_empty(), "{:?}", f.request_lines());
        assert_no_secret(&format!("{out}{err}"));
    }
    // validate (which reads no secret) sees the same reference.
    let (code, _, err) = f.run(&["validate", "-f", "repo"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("both manage twilio"), "{err}");

    // The same account managing different providers in different files is fine.
    f.write(
        "repo/staging/telephony.yaml",
        "account:\n  apiKey: { env: PROD_KEY }\nplivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: STAGING_TOKEN }\n",
    );
    let (code, out, err) = f.run(&["plan", "-f", "repo"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("+ plivo will be created"), "{out}");
}

#[test]
fn validate_checks_every_file_and_names_the_invalid_ones() {
    let f = repo();
    f.write("repo/staging/telephony.yaml", "twilo:\n  accountSid: AC1\n");
    let (code, out, err) = f.run(&["validate", "-f", "repo"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("{DEV} is valid (1 provider declared).")), "{err}");
    assert!(err.contains(&format!("{PROD} is valid")), "{err}");
    assert!(err.contains("repo/staging/telephony.yaml:1:1"), "{err}");
    assert!(err.contains(&format!("2 of 3 files are valid; 1 is not: {STAGING}.")), "{err}");
    assert!(position(&err, DEV) < position(&err, PROD) && position(&err, PROD) < position(&err, "twilo"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn folders_are_searched_recursively_in_path_order_skipping_hidden_ones() {
    let f = repo();
    // A hidden folder's file is never read (this one would not even validate), nor a file of another name.
    f.write("repo/.archive/telephony.yaml", "not: [valid");
    f.write("repo/prod/notes.yaml", "not: [valid");
    f.write("repo/prod/eu/telephony.yaml", "account:\n  apiKey: { env: DEV_KEY }\nplivo: null\n");
    let (code, _, err) = f.run(&["validate", "-f", "repo"]);
    assert_eq!(code, 0, "{err}");
    let order: Vec<&str> =
        err.lines().filter_map(|l| l.split(" is valid").next().filter(|_| l.contains(" is valid"))).collect();
    assert_eq!(order, vec![DEV, "repo/prod/eu/telephony.yaml", PROD, STAGING], "{err}");
    assert!(err.contains("All 4 files are valid."), "{err}");

    f.write("empty/.hidden/telephony.yaml", "x");
    let (code, _, err) = f.run(&["validate", "-f", "empty"]);
    assert_eq!(code, 1);
    assert!(err.contains("empty: the folder holds no telephony.yaml"), "{err}");
}

#[test]
fn json_covers_every_file_in_one_document_valid_against_the_schema() {
    let f = repo();
    f.emu.set_account(STAGING_KEY, AccountState { forbidden: true, ..AccountState::default() });
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{out}");
    let files: Vec<&str> = doc["files"].as_array().unwrap().iter().map(|e| e["file"].as_str().unwrap()).collect();
    assert_eq!(files, vec![DEV, PROD, STAGING]);
    assert_eq!(doc["summary"]["files"], 3);
    assert_eq!(doc["summary"]["withChanges"], 1);
    assert_eq!(doc["summary"]["failed"], serde_json::json!([STAGING]));
    assert_eq!(doc["files"][1]["summary"]["update"], 1);
    assert!(doc["files"][2]["error"]["message"].as_str().unwrap().contains("HTTP 403"), "{out}");
    assert_no_secret(&format!("{out}{err}"));

    // apply's document covers every file too.
    f.emu.set_account(STAGING_KEY, AccountState::empty());
    let (code, out, err) = f.run(&["apply", "-f", "repo", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(validator.iter_errors(&doc).next().is_none(), "{out}");
    let statuses: Vec<&str> =
        doc["files"].as_array().unwrap().iter().map(|e| e["apply"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["nothingToDo", "applied", "applied"]);
}

#[test]
fn markdown_is_one_comment_with_a_section_per_file() {
    let f = repo();
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("<!-- reconcile-plan -->").count(), 1, "{out}");
    assert!(out.starts_with("<!-- reconcile-plan -->\n### reconcile plan: 3 files: 2 with changes"), "{out}");
    let sections: Vec<usize> =
        [DEV, PROD, STAGING].iter().map(|file| position(&out, &format!("#### <code>{file}</code>"))).collect();
    assert!(sections.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert!(out.contains(&format!("#### <code>{PROD}</code>: 0 to create, 1 to update, 0 to delete")), "{out}");
    assert!(out.contains("##### ~ <code>twilio</code> will be updated"), "{out}");
    assert_no_secret(&out);
}

#[test]
fn a_markdown_comment_for_many_large_files_is_cut_fairly_under_the_limit() {
    let f = Fixture::new();
    let mut cmd_env = Vec::new();
    // 40 accounts, each file allowing 100 agents that the account does not: a long table per file.
    for i in 0..40 {
        let agents: String =
            (0..100).map(|n| format!("    - {}\n", ultravox_emulator::numbered_uuid(i * 1000 + n))).collect();
        f.write(
            &format!("many/a{i:02}/telephony.yaml"),
            &format!(
                "account:\n  apiKey: {{ env: KEY_{i} }}\ntwilio:\n  accountSid: {SID_A}\n  authToken: {{ env: TWILIO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds:\n{agents}"
            ),
        );
        let key = format!("many-api-key-{i:02}-qwerty");
        f.emu.set_account(&key, AccountState::empty());
        cmd_env.push((format!("KEY_{i}"), key));
    }
    let mut cmd = f.cmd(&["plan", "-f", "many", "--format", "markdown", "--jobs", "16"]);
    cmd.envs(cmd_env);
    let output = cmd.output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(out.chars().count() <= 65_536, "{} characters", out.chars().count());
    // Every file keeps its section and headline; the tables were cut with a note.
    for i in 0..40 {
        assert!(out.contains(&format!("#### <code>many/a{i:02}/telephony.yaml</code>: 1 to create")), "a{i:02}");
    }
    assert!(out.contains("This comment was cut to stay under GitHub's 65536-character limit"), "{out}");
}

#[test]
fn a_saved_plan_covers_every_file_and_applies_them_all() {
    let f = repo();
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--out", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("Saved the plan to plan.json"), "{err}");
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    assert_no_secret(&saved);
    let doc: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(doc["files"].as_array().unwrap().len(), 3);
    f.emu.clear_requests();

    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(requests_of(&f, PROD_KEY), vec![GET_CONFIG, PATCH_TWILIO]);
    assert_eq!(requests_of(&f, STAGING_KEY), vec![GET_CONFIG, POST_TWILIO]);
    assert_eq!(requests_of(&f, DEV_KEY), vec![GET_CONFIG]);
    assert!(position(&out, DEV) < position(&out, PROD) && position(&out, PROD) < position(&out, STAGING), "{out}{err}");
    assert!(out.contains("Overall: 3 files: 2 applied (1 created, 1 updated, 0 deleted), 1 without changes."), "{out}");
    assert_eq!(f.emu.account(STAGING_KEY).unwrap().twilio.unwrap().auth_token, STAGING_TOKEN);
    assert_no_secret(&format!("{out}{err}"));
}

#[test]
fn a_saved_plan_is_refused_whole_when_one_file_is_stale() {
    // A file edited since the plan.
    let f = repo();
    assert_eq!(f.run(&["plan", "-f", "repo", "--out", "plan.json"]).0, 0);
    f.write(STAGING, &twilio_file("STAGING_KEY", "STAGING_TOKEN", SID_A));
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("{STAGING} changed since the plan was made")), "{err}");
    assert!(err.contains("refusing to apply the saved plan: 1 of its 3 files cannot be applied as planned"), "{err}");
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());

    // An account changed since the plan (someone rotated prod's token by hand).
    let f = repo();
    assert_eq!(f.run(&["plan", "-f", "repo", "--out", "plan.json"]).0, 0);
    f.emu.set_account(PROD_KEY, AccountState::empty().with_twilio(twilio(SID_A, "hand-rotated-token-YYYY")));
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("{PROD}: refusing to apply the saved plan: the account's telephony config changed")),
        "{err}"
    );
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());
    assert_eq!(f.emu.account(STAGING_KEY).unwrap().twilio, None, "nothing was written to the other accounts");

    // -f must name the plan's files.
    let (code, _, err) = f.run(&["apply", "plan.json", "-f", "repo/prod"]);
    assert_eq!(code, 1);
    assert!(err.contains("the plan was made from repo/dev/telephony.yaml, repo/prod/telephony.yaml"), "{err}");
}

/// `apply --format json PLANFILE` refused because one file of several is stale: one document, grouped per file in file
/// order, each entry saying why it was not applied (the stale file its own reason, never "see above", which a
/// script reading stdout cannot see).
#[test]
fn a_saved_plan_refused_whole_is_one_json_document_naming_each_file_and_why() {
    let f = repo();
    assert_eq!(f.run(&["plan", "-f", "repo", "--out", "plan.json"]).0, 0);
    f.emu.set_account(PROD_KEY, AccountState::empty().with_twilio(twilio(SID_A, "hand-rotated-token-YYYY")));
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "--format", "json", "plan.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let files = doc["files"].as_array().unwrap_or_else(|| panic!("no files: {out}"));
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(names, vec![DEV, PROD, STAGING], "{out}");
    let message = |i: usize| files[i]["error"]["message"].as_str().unwrap_or_else(|| panic!("{out}")).to_string();
    assert!(message(1).contains("refusing to apply the saved plan: the account's telephony config changed"), "{out}");
    for i in [0, 2] {
        assert!(message(i).starts_with("not applied: the saved plan is applied whole or not at all"), "{out}");
        assert!(message(i).contains("nothing was sent"), "{out}");
    }
    assert!(!out.contains("see above"), "{out}");
    assert_eq!(doc["summary"]["failed"], json!([DEV, PROD, STAGING]), "{out}");
    assert_eq!(doc["summary"]["hasChanges"], json!(false), "{out}");
    // stderr still names the stale file and the refusal of the whole.
    assert!(err.contains(&format!("{PROD}: refusing to apply the saved plan")), "{err}");
    assert!(err.contains("1 of its 3 files cannot be applied as planned"), "{err}");
    assert_no_secret(&format!("{out}{err}"));
}

#[test]
fn a_plan_is_not_saved_when_a_file_failed_and_apply_off_a_terminal_refuses_before_any_request() {
    let f = repo();
    f.emu.set_account(STAGING_KEY, AccountState { forbidden: true, ..AccountState::default() });
    let (code, out, err) = f.run(&["plan", "-f", "repo", "--out", "plan.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the plan was not saved to plan.json: 1 file failed"), "{err}");
    assert!(!f.path("plan.json").exists());

    f.emu.clear_requests();
    let (code, _, err) = f.run(&["apply", "-f", "repo"]);
    assert_eq!(code, 1);
    assert!(err.contains("refusing to apply without confirmation: standard input is not a terminal"), "{err}");
    assert!(f.emu.requests().is_empty());
}

/// `apply` on a terminal (through util-linux `script`, which gives it one): every plan, one question, the writes.
#[test]
fn apply_on_a_terminal_shows_every_plan_and_asks_once() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let run = |answer: &str| {
        let f = repo();
        let bin = assert_cmd::cargo::cargo_bin("reconcile");
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{} apply -f repo", bin.display()), "/dev/null"]);
        cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
        cmd.envs(&f.env).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (f, output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (f, code, out) = run("yes");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("Apply these changes to the accounts of 3 files?").count(), 1, "{out}");
    let question = position(&out, "Apply these changes");
    assert!(
        position(&out, "~ twilio will be updated") < question && position(&out, "+ twilio will be created") < question
    );
    assert!(
        out[question..].contains("Overall: 3 files: 2 applied (1 created, 1 updated, 0 deleted), 1 without changes."),
        "{out}"
    );
    assert_eq!(requests_of(&f, PROD_KEY), vec![GET_CONFIG, PATCH_TWILIO]);
    assert_eq!(requests_of(&f, STAGING_KEY), vec![GET_CONFIG, POST_TWILIO]);

    let (f, code, out) = run("no");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("apply cancelled; nothing was sent"), "{out}");
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());
}

#[test]
fn import_takes_one_file() {
    let f = repo();
    let (code, _, err) = f.run(&["import", "-f", "a.yaml", "-f", "b.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("import writes one file from one account, but 2 files were given"), "{err}");
    assert!(f.emu.requests().is_empty());

    let (code, _, err) = f.run(&["import", "-f", "repo"]);
    assert_eq!(code, 1);
    assert!(err.contains("import writes one file, but repo is a folder"), "{err}");
    assert!(err.contains("hint: pass one -f PATH (or --out PATH) to import into"), "{err}");
    assert!(f.emu.requests().is_empty());
}

/// With several files, a file applied part-way is its plan's document, with what was written, in doubt, failed and
/// not written: exactly the document a one-file run of it prints. The run's summary counts it as failed.
#[test]
fn json_of_several_files_holds_a_part_way_apply_exactly_as_a_one_file_run() {
    let two_providers = |key_env: &str| {
        format!(
            "account:\n  apiKey: {{ env: {key_env} }}\ntwilio:\n  accountSid: {SID_A}\n  authToken: {{ env: PROD_TOKEN }}\n\
             plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: {{ env: PLIVO_AUTH_TOKEN }}\n"
        )
    };
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    // plivo's POST refused (failed), or landed with its answer lost and the read-back failing (in doubt).
    let refused = Fault::status_with_body(400, r#"{"authId": ["Invalid auth id."]}"#);
    let lost = Fault::DropAfterApplyThenFailReads { status: 500, reads: 1 };
    for (fault, fate) in [(refused, json!({"failed": ["plivo"]})), (lost, json!({"inDoubt": ["plivo"]}))] {
        let mut f = Fixture::new();
        f.write("two/a/telephony.yaml", &two_providers("PROD_KEY"));
        f.write("two/b/telephony.yaml", &two_providers("STAGING_KEY"));
        f.env.insert("PROD_KEY".into(), PROD_KEY.into());
        f.env.insert("STAGING_KEY".into(), STAGING_KEY.into());
        f.env.insert("PROD_TOKEN".into(), PROD_TOKEN.into());
        let run = |args: &[&str]| {
            f.emu.set_account(PROD_KEY, AccountState::empty());
            f.emu.set_account(STAGING_KEY, AccountState::empty());
            // a's first POST (twilio) passes; its second (plivo) meets the fault.
            f.emu.push_fault_for("POST", Fault::Delay(Duration::ZERO));
            f.emu.push_fault_for("POST", fault.clone());
            let (code, out, err) = f.run(args);
            assert_eq!(code, 1, "{args:?}: {out}{err}");
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert!(validator.iter_errors(&doc).next().is_none(), "{out}");
            doc
        };
        let several = run(&["apply", "-f", "two", "--auto-approve", "--format", "json", "--jobs", "1"]);
        let one = run(&["apply", "-f", "two/a/telephony.yaml", "--auto-approve", "--format", "json"]);
        assert_eq!(several["files"][0], one, "the same document as a one-file run");
        let mut apply = json!({"status": "failed", "written": ["twilio"]});
        apply.as_object_mut().unwrap().extend(fate.as_object().unwrap().clone());
        assert_eq!(one["apply"], apply, "{one}");
        assert!(one["providers"].is_array() && one["requests"].is_array(), "{one}");
        assert_eq!(several["files"][1]["apply"]["status"], "applied");
        assert_eq!(several["summary"]["failed"], json!(["two/a/telephony.yaml"]));
        assert_eq!(several["summary"]["create"], 4);
    }
}

/// Runs the binary as an ordinary user would, for whom a folder of mode 000 cannot be listed. As root, the DAC
/// capabilities are dropped from the bounding set with util-linux's setpriv; `None` when that is not possible.
#[cfg(unix)]
fn as_ordinary_user(f: &Fixture, args: &[&str]) -> Option<(i32, String, String)> {
    // SAFETY: geteuid(2) has no preconditions and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    let drop_caps = ["--bounding-set", "-dac_override,-dac_read_search", "--"];
    let mut cmd = if root {
        let works = std::process::Command::new("setpriv").args(drop_caps).arg("true").status();
        if !works.is_ok_and(|s| s.success()) {
            return None;
        }
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(drop_caps).arg(assert_cmd::cargo::cargo_bin("reconcile"));
        cmd
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("reconcile"))
    };
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    let output = cmd.envs(&f.env).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Some((output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr)))
}

/// A folder beneath a `-f` folder that cannot be read is an error naming that exact folder, in its place; the other
/// files still run, and the run exits 1.
#[cfg(unix)]
#[test]
fn an_unreadable_folder_beneath_f_fails_in_its_place_and_the_others_run() {
    use std::os::unix::fs::PermissionsExt;
    let f = repo();
    f.write("repo/locked/deep/telephony.yaml", &twilio_file("DEV_KEY", "DEV_TOKEN", SID_A));
    std::fs::set_permissions(f.path("repo/locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let runs = [&["plan", "-f", "repo"][..], &["validate", "-f", "repo"], &["plan", "-f", "repo", "--format", "json"]];
    let results: Vec<_> = runs.iter().map(|args| as_ordinary_user(&f, args)).collect();
    std::fs::set_permissions(f.path("repo/locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    if results.iter().any(Option::is_none) {
        // The one assertion that needs a folder its reader cannot list.
        eprintln!(
            "skipped: running as root without setpriv able to drop CAP_DAC_OVERRIDE, a folder cannot be unreadable"
        );
        return;
    }
    let results: Vec<(i32, String, String)> = results.into_iter().flatten().collect();

    let (code, out, err) = &results[0];
    assert_eq!(*code, 1, "{out}{err}");
    assert!(
        err.contains(
            "error[unreadable-file]: cannot read the folder: permission denied\n  --> repo/locked\n  hint: make it \
             readable"
        ),
        "{err}"
    );
    assert!(!err.contains("--> repo\n"), "the exact folder, not the one given: {err}");
    // The others are planned, and the folder has its place in path order (after dev, before prod).
    let dev = out.find(&format!("=== {DEV} ===")).unwrap();
    let locked = out.find("=== repo/locked ===").unwrap();
    let prod = out.find(&format!("=== {PROD} ===")).unwrap();
    assert!(dev < locked && locked < prod, "{out}");
    assert!(out.contains("~ twilio will be updated") && out.contains("+ twilio will be created"), "{out}");
    assert!(out.contains("1 failed (repo/locked)"), "{out}");
    // Each account read once by each of the two plans; nothing else.
    for key in [DEV_KEY, PROD_KEY, STAGING_KEY] {
        assert_eq!(requests_of(&f, key), vec![GET_CONFIG; 2]);
    }
    assert_eq!(f.emu.requests().len(), 6);

    let (code, _, err) = &results[1];
    assert_eq!(*code, 1, "{err}");
    assert!(err.contains("--> repo/locked"), "{err}");
    assert!(err.contains(&format!("{PROD} is valid")), "{err}");

    let (code, out, _) = &results[2];
    assert_eq!(*code, 1);
    let doc: serde_json::Value = serde_json::from_str(out).unwrap();
    assert_eq!(doc["summary"]["failed"], json!(["repo/locked"]));
    assert_eq!(doc["files"][1]["error"]["diagnostics"][0]["code"], "unreadable-file", "{out}");
}

/// A folder holding one file still reads as a run over a folder, and its summary counts in the singular.
#[test]
fn a_folder_of_one_file_is_summed_up_in_the_singular() {
    let f = repo();
    let (code, out, err) = f.run(&["plan", "-f", "repo/dev"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.trim_end().ends_with("Overall: 1 file: 1 without changes."), "{out}");
}
