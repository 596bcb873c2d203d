//! Secret safety in the corners (issue 9): odd literals, secrets in other fields, odd files, safe plan files, honest
//! exit codes on stdout failures and interruptions, JSON on failure, and YAML tags. Each test runs the real binary
//! against the emulator and checks the exit code, what was printed, and what was (not) sent.

use std::process::Stdio;

use crate::common::*;

/// Every secret and every 8-character piece of one.
fn pieces() -> Vec<String> {
    let mut out = Vec::new();
    for secret in all_secrets() {
        let chars: Vec<char> = secret.chars().collect();
        for window in chars.windows(8) {
            out.push(window.iter().collect());
        }
    }
    out
}

fn assert_no_piece(what: &str, text: &str) {
    for piece in pieces() {
        assert!(!text.contains(&piece), "{what}: leaked {piece:?} in:\n{text}");
    }
}

/// The real binary as a plain `std::process::Command` (for stdout redirections and signals).
fn std_cmd(f: &Fixture, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reconcile"));
    cmd.env_clear().current_dir(f.dir.path()).env("ULTRAVOX_API_URL", f.emu.url()).env("NO_COLOR", "1");
    for (k, v) in &f.env {
        cmd.env(k, v);
    }
    cmd.args(args);
    cmd
}

fn plan_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

#[test]
fn a_literal_secret_of_any_shape_is_masked_in_diagnostics() {
    let f = Fixture::new();
    for (shape, block) in [
        ("flow list", format!("  authToken: [{TWILIO_TOKEN}]\n")),
        ("block list", format!("  authToken:\n    - {TWILIO_TOKEN}\n    - 12345678901234\n")),
        ("nested mapping", format!("  authToken:\n    inner:\n      deeper: {TWILIO_TOKEN}\n")),
        ("block scalar", format!("  authToken: |\n    {TWILIO_TOKEN}\n")),
    ] {
        f.write("telephony.yaml", &format!("twilio:\n  accountSid: AC1\n{block}"));
        let (code, out, err) = f.run(&["validate"]);
        assert_eq!(code, 1, "{shape}: {out}{err}");
        assert!(err.contains("twilio.authToken"), "{shape}: {err}");
        if shape == "flow list" {
            assert!(err.contains("  3 |   authToken: ********\n"), "{shape}: one mask for the whole value: {err}");
        }
        if shape != "nested mapping" {
            assert!(err.contains("********"), "{shape}: {err}");
        }
        assert_no_piece(shape, &format!("{out}{err}"));
        assert!(!err.contains("12345678901234"), "{shape}: {err}");
    }
}

#[test]
fn a_secret_reused_as_an_identifier_is_hidden_in_every_format_and_the_saved_plan_still_applies() {
    let mut f = Fixture::new();
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace("accountSid: AC0123456789abcdef0123456789abcdef", "accountSid: { env: TWILIO_SID }"),
    );
    f.env.insert("TWILIO_SID".into(), TWILIO_TOKEN.into());
    for (format, shown) in [
        ("text", "+ accountSid:                  [hidden: holds part of a secret]\n"),
        ("json", "\"after\": \"[hidden: holds part of a secret]\""),
        ("markdown", "| <code>accountSid</code> | <em>none</em> | <code>[hidden: holds part of a secret]</code> |"),
    ] {
        let (code, out, err) = f.run(&["plan", "--format", format, "--detailed-exitcode"]);
        assert_eq!(code, 2, "{format}: {out}{err}");
        assert!(out.contains(shown), "{format}: the identifier is shown masked whole: {out}");
        if format == "json" {
            serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        }
        assert_no_piece(format, &format!("{out}{err}"));
    }
    let (code, out, err) = f.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    assert!(saved.contains("\"after\": \"[hidden: holds part of a secret]\""), "{saved}");
    assert_no_piece("saved plan", &saved);
    // The masked value is only what is shown: the saved plan applies, and sends the true value.
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    let sent = f.sent();
    assert_eq!(f.sent_providers(), ["twilio", "telnyx", "plivo"], "{out}{err}");
    assert_eq!(sent[0].1["accountSid"], TWILIO_TOKEN, "the true value is sent");
    assert_no_piece("apply", &format!("{out}{err}"));
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
    // Another value behind the same mask (the variable now holds another value with the secret in it) is a change
    // the saved plan did not review: refused, nothing sent.
    f.env.insert("TWILIO_SID".into(), format!("{TWILIO_TOKEN}-1"));
    let (code, out, err) = f.run(&["plan", "--out", "again.json"]);
    assert_eq!(code, 0, "{out}{err}");
    f.env.insert("TWILIO_SID".into(), format!("{TWILIO_TOKEN}-2"));
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "again.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "refusing to apply the saved plan: since the plan was made, a value the plan shows hidden (it holds part \
             of a secret) is not the same; nothing was sent"
        ),
        "{err}"
    );
    assert!(f.write_lines().is_empty(), "{:?}", f.write_lines());
}

#[test]
fn a_secret_pasted_into_the_accounts_identifier_or_mapping_is_never_printed() {
    let mut state = full_state();
    let twilio = state.twilio.as_mut().unwrap();
    twilio.account_sid = TWILIO_TOKEN.into();
    twilio.request_context_mapping.insert("From".into(), format!("user.{PLIVO_TOKEN}"));
    let f = Fixture::with_state(state);
    for format in ["text", "json", "markdown"] {
        let (code, out, err) = f.run(&["-vvv", "plan", "--format", format, "--detailed-exitcode"]);
        assert_eq!(code, 2, "{format}: {out}{err}");
        assert!(out.contains("accountSid") && out.contains("[hidden: holds part of a secret]"), "{format}: {out}");
        assert_no_piece(format, &format!("{out}{err}"));
    }
    // import knows only the API key: an identifier holding it stops the import, naming the field; nothing is
    // written, and no placeholder ever reaches a file.
    let mut state = full_state();
    state.plivo.as_mut().unwrap().auth_id = format!("MA-{API_KEY}");
    f.emu.set_account(API_KEY, state);
    for out_arg in ["imported.yaml", "-"] {
        let (code, out, err) = f.run(&["import", "--out", out_arg]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(
                "error: the account's plivo.authId holds part of the Ultravox API key this run read; the file would \
                 put it in git, so nothing was written"
            ),
            "{err}"
        );
        assert!(err.contains("hint: change the value on the account"), "{err}");
        assert!(out.is_empty(), "{out}");
        assert_no_piece("import", &format!("{out}{err}"));
    }
    assert!(!f.path("imported.yaml").exists());
}

#[test]
fn an_agent_name_holding_a_secret_is_hidden_in_the_hint() {
    let mut state = full_state();
    state.agents = vec![ultravox_emulator::Agent::new(AGENT_B, format!("Sales {TWILIO_TOKEN}"))];
    let f = Fixture::with_state(state);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace("    - 3c90c3cc-0d44-4b50-8888-8dd25736052a\n", "    - { agent: Sales }\n"),
    );
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("agents with a similar name: [hidden: holds part of a secret] ({AGENT_B})")),
        "{err}"
    );
    assert_no_piece("hint", &format!("{out}{err}"));
}

#[test]
fn control_characters_in_secrets_and_identifiers_are_refused_before_any_request() {
    type Setup = Box<dyn Fn(&mut Fixture)>;
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "inner newline in a secret",
            Box::new(|f: &mut Fixture| {
                f.env.insert("TWILIO_AUTH_TOKEN".into(), "Tq7wR2-line\nQX7R-0002".into());
            }),
            "twilio.authToken: the value of environment variable TWILIO_AUTH_TOKEN holds a control or invisible character (U+000A)",
        ),
        (
            "tab in a secret",
            Box::new(|f: &mut Fixture| {
                f.env.insert("PLIVO_AUTH_TOKEN".into(), "Pl4vQ\tLK55-bbbb".into());
            }),
            "plivo.authToken: the value of environment variable PLIVO_AUTH_TOKEN holds a control or invisible character (U+0009)",
        ),
        (
            "NUL in a literal identifier",
            Box::new(|f: &mut Fixture| {
                f.write("telephony.yaml", &FULL_FILE.replace("authId: MAXXXXXXXXXXXXXXXXXX", "authId: \"MAXX\\0XX\""));
            }),
            "plivo.authId: the value holds a control or invisible character (U+0000)",
        ),
        (
            "escape in a referenced identifier",
            Box::new(|f: &mut Fixture| {
                f.write(
                    "telephony.yaml",
                    &FULL_FILE.replace("authId: MAXXXXXXXXXXXXXXXXXX", "authId: { env: PLIVO_ID }"),
                );
                f.env.insert("PLIVO_ID".into(), "MA\u{1b}[2J".into());
            }),
            "plivo.authId: the value of environment variable PLIVO_ID holds a control or invisible character (U+001B)",
        ),
    ];
    for (name, setup, expected) in cases {
        let mut f = Fixture::with_state(full_state());
        setup(&mut f);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("--> telephony.yaml:"), "{name}: located: {err}");
        assert!(f.request_lines().is_empty(), "{name}: sent {:?}", f.request_lines());
        assert!(!err.contains("QX7R-0002") && !err.contains("LK55-bbbb"), "{name}: {err}");
    }
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_secret_file_is_never_sent() {
    let mut state = full_state();
    state.telnyx.as_mut().unwrap().api_key = "KEYother-remote".into();
    let f = Fixture::with_state(state);
    f.write("secrets/telnyx-api-key", &format!("\u{feff}{TELNYX_API_KEY}\r\n"));
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    let sent = f.sent();
    assert_eq!(f.sent_providers(), ["telnyx"], "{sent:?}");
    assert_eq!(sent[0].1["apiKey"], TELNYX_API_KEY);
    assert_eq!(f.account().telnyx.unwrap().api_key, TELNYX_API_KEY);
    // The next plan agrees: the account holds the secret without the mark.
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_a_secret_file_or_as_f_is_an_error_at_once() {
    let f = Fixture::with_state(full_state());
    std::fs::remove_file(f.path("secrets/telnyx-api-key")).unwrap();
    mkfifo(&f.path("secrets/telnyx-api-key"));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("telnyx.apiKey: cannot read file secrets/telnyx-api-key (./secrets/telnyx-api-key): it is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());

    mkfifo(&f.path("pipe.yaml"));
    for (path, kind) in [
        ("pipe.yaml", "a FIFO (named pipe)"),
        ("/dev/null", "a device"),
        ("secrets", "the folder holds no telephony.yaml"),
    ] {
        let (code, out, err) = f.run(&["plan", "-f", path]);
        assert_eq!(code, 1, "{path}: {out}{err}");
        assert!(err.contains(kind), "{path}: {err}");
    }
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());
}

/// Runs the binary, killing it after [`WAIT_LIMIT`] (a hang becomes a failure, never a stuck suite).
#[cfg(unix)]
fn run_bounded(f: &Fixture, args: &[&str]) -> (i32, String, String) {
    let output = f.cmd(args).timeout(WAIT_LIMIT).output().expect("run");
    let code = output.status.code().unwrap_or(-1);
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_ne!(code, -1, "{args:?} did not end within {}s: {out}{err}", WAIT_LIMIT.as_secs());
    (code, out.into_owned(), err.into_owned())
}

/// Every file the tool reads (a secret file, a `-f` file, a SOPS file, a saved plan, and the declaration a saved plan
/// names) must be a regular file or a link to one: a FIFO, a device, a socket or a folder is an error at once, never
/// a wait nor a read without end; and none is read past its cap, checked before reading.
#[cfg(unix)]
#[test]
fn every_file_read_must_be_a_regular_file_within_a_cap() {
    use std::os::unix::fs::symlink;
    let f = Fixture::with_state(full_state());
    mkfifo(&f.path("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(f.path("socket")).unwrap();
    std::fs::create_dir(f.path("folder")).unwrap();
    symlink(f.path("pipe"), f.path("link-to-pipe")).unwrap();
    symlink("/dev/zero", f.path("link-to-zero")).unwrap();
    let oversized = |name: &str, len: u64| {
        // Sparse: as large as it says, without the disk space.
        std::fs::File::create(f.path(name)).unwrap().set_len(len).unwrap();
    };
    let kinds = [
        ("pipe", "a FIFO (named pipe)"),
        ("link-to-pipe", "a FIFO (named pipe)"),
        ("link-to-zero", "a device"),
        ("socket", "a socket"),
        ("folder", "a directory"),
    ];

    // The secret file a reference reads.
    let secret = f.path("secrets/telnyx-api-key");
    for (name, kind) in kinds {
        std::fs::remove_file(&secret).unwrap();
        symlink(f.path(name), &secret).unwrap();
        let (code, out, err) = run_bounded(&f, &["plan"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(
            err.contains(&format!(
                "cannot read file secrets/telnyx-api-key (./secrets/telnyx-api-key): it is {kind}, not a regular file"
            )),
            "{name}: {err}"
        );
    }
    std::fs::remove_file(&secret).unwrap();
    oversized("secrets/telnyx-api-key", 1 << 30);
    let (code, out, err) = run_bounded(&f, &["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("file secrets/telnyx-api-key is larger than 65536 bytes"), "{err}");
    f.write("secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));

    // The file given to -f.
    for (name, kind) in kinds.iter().filter(|(name, _)| *name != "folder") {
        let (code, out, err) = run_bounded(&f, &["plan", "-f", name]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(err.contains(&format!("the file is {kind}, not a regular file")), "{name}: {err}");
    }
    oversized("huge.yaml", 1 << 30);
    let (code, out, err) = run_bounded(&f, &["plan", "-f", "huge.yaml"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the file is larger than 1048576 bytes"), "{err}");

    // A saved plan.
    for (name, kind) in kinds {
        let (code, out, err) = run_bounded(&f, &["apply", name]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(
            err.contains(&format!("cannot read plan file {name}: it is {kind}, not a regular file")),
            "{name}: {err}"
        );
    }
    oversized("huge-plan.json", 65 << 20);
    let (code, out, err) = run_bounded(&f, &["apply", "huge-plan.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cannot read plan file huge-plan.json: it is larger than 67108864 bytes"), "{err}");
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());

    // The declaration a saved plan names, replaced since by something that is not a regular file: refused at once,
    // before anything is sent (it used to wait forever on a FIFO, and read a device into memory without end).
    f.write("plan-dir/telephony.yaml", FULL_FILE);
    f.write("plan-dir/secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));
    let (code, out, err) = run_bounded(&f, &["plan", "-f", "plan-dir/telephony.yaml", "--out", "saved.json"]);
    assert_eq!(code, 0, "{out}{err}");
    f.emu.clear_requests();
    for (name, kind) in kinds.iter().filter(|(name, _)| *name != "folder") {
        std::fs::remove_file(f.path("plan-dir/telephony.yaml")).unwrap();
        symlink(f.path(name), f.path("plan-dir/telephony.yaml")).unwrap();
        let (code, out, err) = run_bounded(&f, &["apply", "saved.json"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(err.contains(&format!("the file is {kind}, not a regular file")), "{name}: {err}");
        assert!(err.contains("--> plan-dir/telephony.yaml"), "{name}: {err}");
    }
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());

    // A SOPS file (checked by validate, which never decrypts).
    f.write("sops.yaml", "twilio:\n  accountSid: AC1\n  authToken: { sops: pipe, key: twilio.authToken }\n");
    let (code, out, err) = run_bounded(&f, &["validate", "-f", "sops.yaml"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("it is a FIFO (named pipe), not a regular file"), "{err}");
}

#[test]
fn a_token_file_or_env_file_given_to_f_is_not_echoed() {
    let f = Fixture::new();
    f.write("token.txt", &format!("{TWILIO_TOKEN}\n"));
    f.write(".env", &format!("TWILIO_AUTH_TOKEN={TWILIO_TOKEN}\nPLIVO_AUTH_TOKEN={PLIVO_TOKEN}\n"));
    for file in ["token.txt", ".env"] {
        let (code, out, err) = f.run(&["validate", "-f", file]);
        assert_eq!(code, 1, "{file}: {out}{err}");
        assert!(err.contains("expected a mapping of providers, found a string"), "{file}: {err}");
        assert!(err.contains("none of it is shown"), "{file}: {err}");
        assert!(!err.contains("TWILIO_AUTH_TOKEN="), "{file}: {err}");
        assert_no_piece(file, &format!("{out}{err}"));
    }
}

#[test]
fn plan_out_never_overwrites_the_declaration_or_a_secret_file_nor_a_link_or_device() {
    let f = Fixture::with_state(full_state());
    let declaration = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
    for (target, expected) in [
        ("telephony.yaml", "refusing to overwrite telephony.yaml: it is the declaration file"),
        ("./secrets/telnyx-api-key", "it is the file telnyx.apiKey is read from"),
        ("/dev/null", "refusing to replace /dev/null: it is a device"),
    ] {
        let (code, out, err) = f.run(&["plan", "--out", target]);
        assert_eq!(code, 1, "{target}: {out}{err}");
        assert!(err.contains(expected), "{target}: {err}");
    }
    assert_eq!(std::fs::read_to_string(f.path("telephony.yaml")).unwrap(), declaration);
    assert_eq!(std::fs::read_to_string(f.path("secrets/telnyx-api-key")).unwrap(), format!("{TELNYX_API_KEY}\n"));

    #[cfg(unix)]
    {
        // A link at the target is refused, and what it points at is untouched.
        f.write("victim.txt", "precious\n");
        std::os::unix::fs::symlink(f.path("victim.txt"), f.path("linked.json")).unwrap();
        let (code, out, err) = f.run(&["plan", "--out", "linked.json"]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("refusing to replace linked.json: it is a symbolic link"), "{err}");
        // A link planted at the old fixed temporary name is never followed.
        std::os::unix::fs::symlink(f.path("victim.txt"), f.path(".plan.json.tmp")).unwrap();
        let (code, out, err) = f.run(&["plan", "--out", "plan.json"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains("Saved the plan to plan.json"), "{err}");
        assert_eq!(std::fs::read_to_string(f.path("victim.txt")).unwrap(), "precious\n");
        let meta = std::fs::symlink_metadata(f.path("plan.json")).unwrap();
        assert!(meta.file_type().is_file());
        // Replacing an earlier plan (a regular file) is fine, and leaves no temporary file behind.
        let (code, out, err) = f.run(&["plan", "--out", "plan.json"]);
        assert_eq!(code, 0, "{out}{err}");
        let leftovers: Vec<String> = std::fs::read_dir(f.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") && n != ".plan.json.tmp")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_exit_1_and_a_closed_pipe_is_not_an_error() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().account_sid = "AC-other".into();
    let f = Fixture::with_state(state);
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let output = std_cmd(&f, &["plan"]).stdout(full()).output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("error: cannot write to standard output: No space left on device"), "{err}");

    let output = std_cmd(&f, &["apply", "--auto-approve"]).stdout(full()).output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");
    assert_eq!(f.sent_providers(), ["twilio"], "the write itself was sent");

    // A reader that went away (`| head`): not an error. The pipe's read end is closed before the run starts, so
    // every write to stdout fails with a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std_cmd(&f, &["plan"]).stdout(writer).output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn apply_json_prints_a_document_on_failure_too() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().account_sid = "AC-other".into();
    let f = Fixture::with_state(state);
    let validator = plan_schema();
    f.emu.push_fault_for("PATCH", Fault::status_with_body(400, r#"{"accountSid": ["Invalid SID."]}"#));
    let (code, out, err) = f.run(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(f.write_lines(), ["PATCH /api/telephony_configs/twilio accountSid"], "the write was sent and refused");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(validator.is_valid(&doc), "{out}");
    assert_eq!(doc["apply"]["status"], "failed");
    assert!(doc["error"]["message"].as_str().unwrap().contains("Invalid SID."), "{out}");
    assert_eq!(doc["summary"]["update"], 1);

    // A failure before any plan: still one document, with the failure in it.
    let mut f = Fixture::with_state(full_state());
    f.env.remove("PLIVO_AUTH_TOKEN");
    let (code, out, err) = f.run(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(validator.is_valid(&doc), "{out}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("plivo.authToken: environment variable PLIVO_AUTH_TOKEN is not set"),
        "{out}"
    );
    assert!(doc.get("providers").is_none(), "{out}");
    assert!(f.request_lines().is_empty());
}

#[cfg(unix)]
#[test]
fn an_interruption_during_the_write_says_it_may_have_landed() {
    for (family, signal) in FAMILIES.into_iter().flat_map(|family| [(family, "INT"), (family, "TERM")]) {
        let mut state = full_state();
        state.twilio.as_mut().unwrap().account_sid = "AC-other".into();
        let f = Fixture::with_state(state).family(family);
        f.emu.push_fault_for("PATCH", Fault::Delay(std::time::Duration::from_secs(30)));
        let child =
            std_cmd(&f, &["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Wait until the write reached the server, then interrupt.
        wait_until("the PATCH to reach the emulator", || f.request_lines().iter().any(|l| l.starts_with("PATCH")));
        let sent = std::process::Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
        assert!(sent.unwrap().success());
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{family}, SIG{signal}: {err}");
        assert!(
            err.contains(&format!(
                "was in flight when the run was interrupted (SIG{signal}): it may or may not have landed"
            )),
            "{err}"
        );
        assert!(err.contains("run `reconcile plan`"), "{err}");
    }
}

/// On the provider endpoints: the write in flight is in doubt, and nothing after it is sent.
#[cfg(unix)]
#[test]
fn an_interruption_part_way_through_provider_writes_sends_nothing_more() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().account_sid = "AC-other".into();
    state.telnyx = None;
    let f = Fixture::with_state(state).family("provider");
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    f.emu.push_fault_for("POST", Fault::Delay(std::time::Duration::from_secs(30)));
    let child =
        std_cmd(&f, &["apply", "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_until("the POST to reach the emulator", || f.request_lines().iter().any(|l| l.starts_with("POST")));
    let sent = std::process::Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    assert!(sent.unwrap().success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "POST {}/api/telephony_configs/telnyx was in flight when the run was interrupted (SIGINT): it may or may not \
             have landed",
            f.emu.url()
        )),
        "{err}"
    );
    assert!(
        err.contains("written: twilio; in doubt (it may or may not have landed): telnyx; not written: plivo"),
        "{err}"
    );
    assert_eq!(
        f.write_lines(),
        vec![
            "PATCH /api/telephony_configs/twilio accountSid".to_string(),
            format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}")
        ]
    );
}

#[test]
fn yaml_binary_and_custom_tags_are_refused_and_merge_keys_work() {
    let f = Fixture::new();
    for (text, expected) in [
        ("twilio:\n  accountSid: !!binary QUMxMjM=\n  authToken: { env: TWILIO_AUTH_TOKEN }\n", "telephony.yaml:2:15"),
        ("twilio:\n  accountSid: AC1\n  authToken: !secret { env: TWILIO_AUTH_TOKEN }\n", "telephony.yaml:3:14"),
        ("twilio: !provider\n  accountSid: AC1\n  authToken: { env: TWILIO_AUTH_TOKEN }\n", "telephony.yaml:1:9"),
    ] {
        f.write("telephony.yaml", text);
        let (code, out, err) = f.run(&["validate"]);
        assert_eq!(code, 1, "{text}: {out}{err}");
        assert!(err.contains(expected), "{text}: {err}");
        assert!(err.contains("is not supported") || err.contains("values are not accepted"), "{err}");
    }
    // Core-schema tags that only say what YAML infers are fine.
    f.write("telephony.yaml", "twilio:\n  accountSid: !!str AC1\n  authToken: { env: TWILIO_AUTH_TOKEN }\n");
    let (code, out, err) = f.run(&["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    // Merge keys are supported: the merged mapping is what the plan sends.
    f.write(
        "telephony.yaml",
        "twilio:\n  accountSid: AC1\n  authToken: { env: TWILIO_AUTH_TOKEN }\n  requestContextMapping: &map\n    From: user.phone_number\nplivo:\n  authId: MA1\n  authToken: { env: PLIVO_AUTH_TOKEN }\n  requestContextMapping:\n    <<: *map\n    To: user.called\n",
    );
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    let mapping = f.account().plivo.unwrap().request_context_mapping;
    assert_eq!(mapping.get("From").map(String::as_str), Some("user.phone_number"));
    assert_eq!(mapping.get("To").map(String::as_str), Some("user.called"));
}

#[test]
fn a_prefix_with_a_tab_echoed_by_the_server_is_still_recognised() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = "Zx\tQw-remote-token".into();
    let f = Fixture::with_state(state);
    f.emu.set_prefix_length(6);
    f.emu.push_fault_for("PATCH", Fault::status_with_body(400, r#"{"detail": "prefix Zx\tQw- does not match"}"#));
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(f.sent_providers(), ["twilio"], "the write was sent and refused");
    assert!(err.contains("prefix [hidden: a secret's prefix] does not match"), "{err}");
    assert!(!err.contains("Zx") && !err.contains("Qw-"), "{err}");
}

#[test]
fn a_secret_shorter_than_eight_characters_is_refused_located_before_any_request() {
    // No credential is that short; refusing it lets every other rule look for 8-character pieces.
    let mut f = Fixture::new();
    f.env.insert("TWILIO_AUTH_TOKEN".into(), "Jv3Xq8".into());
    f.write("secrets/telnyx-api-key", "k1\n");
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "error[short-secret]: twilio.authToken: the value of environment variable TWILIO_AUTH_TOKEN is 6 \
             characters long; no credential is shorter than 8, so it is refused\n  --> telephony.yaml:4:14"
        ),
        "{err}"
    );
    assert!(err.contains("error[short-secret]: telnyx.apiKey: the value of file secrets/telnyx-api-key is 2"), "{err}");
    assert!(err.contains("hint: check that environment variable TWILIO_AUTH_TOKEN holds the whole secret"), "{err}");
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());
    assert!(!format!("{out}{err}").contains("Jv3Xq8"), "{out}{err}");
    // The API key too.
    f.env.insert("TWILIO_AUTH_TOKEN".into(), TWILIO_TOKEN.into());
    f.write("secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));
    f.env.insert("ULTRAVOX_API_KEY".into(), "short".into());
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("error[short-secret]: account.apiKey: the value of environment variable ULTRAVOX_API_KEY is 5"),
        "{err}"
    );
    let (code, out, err) = f.run(&["import", "--out", "-"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the Ultravox API key is 5 characters long; no API key is shorter than 8"), "{err}");
    assert!(f.request_lines().is_empty(), "{:?}", f.request_lines());
}

#[test]
fn a_dotenv_that_is_not_even_valid_yaml_is_not_echoed() {
    // A `.env` whose value holds `: ` fails to parse as YAML at all; its lines are still not shown.
    let f = Fixture::new();
    f.write(".env", &format!("TWILIO_AUTH_TOKEN={TWILIO_TOKEN}\nEXTRA_JSON={{\"token\": \"{PLIVO_TOKEN}\"}}\n"));
    let (code, out, err) = f.run(&["validate", "-f", ".env"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(err.contains("none of it is shown"), "{err}");
    assert!(!err.contains("EXTRA_JSON") && !err.contains("TWILIO_AUTH_TOKEN="), "{err}");
    assert_no_piece(".env", &format!("{out}{err}"));
}

/// Invisible and line-breaking characters beyond the zero-width and bidirectional ones (the Unicode line and
/// paragraph separators, a soft hyphen, the Arabic letter mark, tag characters that smuggle hidden text, a variation
/// selector) in the account's values: never printed as they are, in any format, yet kept exactly (JSON reads back
/// to them, `import` writes them so that the plan of the imported file has no changes).
#[test]
fn every_invisible_or_line_breaking_character_is_neutralised_in_every_format_and_kept_exactly() {
    const HIDDEN: [char; 7] = ['\u{2028}', '\u{2029}', '\u{ad}', '\u{61c}', '\u{e0041}', '\u{e007f}', '\u{fe0f}'];
    let mapping: std::collections::BTreeMap<String, String> = [
        ("From", "user.phone_number"),
        ("ls", "a\u{2028}b"),
        ("ps", "c\u{2029}d"),
        ("shy", "soft\u{ad}hyphen"),
        ("alm", "x\u{61c}y"),
        ("tag", "t\u{e0041}\u{e007f}z"),
        ("vs", "v\u{fe0f}w"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut state = full_state();
    state.twilio.as_mut().unwrap().request_context_mapping = mapping.clone();
    let mut f = Fixture::with_state(state);
    let raw = |what: &str, text: &str| {
        let found: Vec<String> =
            HIDDEN.iter().filter(|c| text.contains(**c)).map(|c| format!("U+{:04X}", *c as u32)).collect();
        assert!(found.is_empty(), "{what} holds {found:?} as they are:\n{text}");
    };

    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{err}");
    raw("the text plan", &format!("{out}{err}"));
    for escaped in ["a\\u{2028}b", "c\\u{2029}d", "soft\\u{00ad}hyphen", "x\\u{061c}y", "t\\u{e0041}\\u{e007f}z"] {
        assert!(out.contains(escaped), "{escaped} not in:\n{out}");
    }

    let (code, out, err) = f.run(&["plan", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    raw("the JSON plan", &out);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    let twilio = doc["providers"].as_array().unwrap().iter().find(|p| p["provider"] == "twilio").unwrap();
    let change = twilio["changes"].as_array().unwrap().iter().find(|c| c["field"] == "requestContextMapping").unwrap();
    assert_eq!(change["before"], serde_json::to_value(&mapping).unwrap(), "{out}");

    let (code, out, err) = f.run(&["plan", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    raw("the Markdown plan", &out);

    assert_eq!(f.run(&["plan", "--out", "plan.json"]).0, 0);
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    raw("the saved plan", &saved);
    serde_json::from_str::<serde_json::Value>(&saved).unwrap_or_else(|e| panic!("{e}:\n{saved}"));

    let (code, imported, err) = f.run(&["import", "--out", "-"]);
    assert_eq!(code, 0, "{err}");
    raw("the imported file", &imported);
    f.write("imported.yaml", &imported);
    // The imported file reads every secret from the environment.
    f.env.insert("TELNYX_API_KEY".into(), TELNYX_API_KEY.into());
    let (code, out, err) = f.run(&["plan", "-f", "imported.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes. The account matches imported.yaml."), "{out}{err}");
}
