//! End to end: the real binary against the emulator, asserting exit codes, output and the exact requests received.

use crate::common::*;
use serde_json::json;

fn set_mixed_prefix_lengths(f: &Fixture) {
    f.emu.set_prefix_length_for("twilio.authToken", 4);
    f.emu.set_prefix_length_for("telnyx.apiKey", 7);
    f.emu.set_prefix_length_for("telnyx.publicKey", 2);
    f.emu.set_prefix_length_for("plivo.authToken", 10);
}

/// The complete blocks [`FULL_FILE`] declares, as every family sends them to create the providers.
fn full_blocks() -> Vec<(String, serde_json::Value)> {
    vec![
        (
            "twilio".into(),
            json!({
                "accountSid": "AC0123456789abcdef0123456789abcdef",
                "authToken": TWILIO_TOKEN,
                "callCreationAllowedAgentIds": [AGENT_A, AGENT_B],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {"From": "user.phone_number"}
            }),
        ),
        (
            "telnyx".into(),
            json!({
                "accountSid": "2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c",
                "apiKey": TELNYX_API_KEY,
                "publicKey": TELNYX_PUBLIC_KEY,
                "applicationSid": "1234567890123456789",
                "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": true,
                "requestContextMapping": {}
            }),
        ),
        (
            "plivo".into(),
            json!({
                "authId": "MAXXXXXXXXXXXXXXXXXX",
                "authToken": PLIVO_TOKEN,
                "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {}
            }),
        ),
    ]
}

/// The keys of a JSON object, sorted.
fn keys(value: &serde_json::Value) -> Vec<&str> {
    value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[test]
fn create_all_then_no_changes_with_mixed_prefix_lengths() {
    for family in FAMILIES {
        let f = Fixture::new().family(family);
        set_mixed_prefix_lengths(&f);

        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}: {out}");
        assert!(out.contains("+ twilio will be created"), "{out}");
        assert!(out.contains("+ telnyx will be created"), "{out}");
        assert!(out.contains("+ plivo will be created"), "{out}");
        assert!(out.contains("Plan: 3 to create, 0 to update, 0 to delete."), "{out}");
        assert_eq!(f.request_lines(), reads(family), "{family}");

        f.emu.clear_requests();
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 3 created, 0 updated, 0 deleted"), "{out}");
        assert_eq!(f.write_lines(), create_all_writes(family), "{family}");
        assert_eq!(f.sent(), full_blocks(), "{family}: every family sends the complete blocks to create");
        assert_eq!(f.account(), full_state(), "{family}");

        f.emu.clear_requests();
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: {out}");
        assert!(out.contains("No changes. The account matches telephony.yaml."), "{out}");
        assert_eq!(f.request_lines(), reads(family), "{family}");
    }
}

#[test]
fn no_change_sends_no_write() {
    for family in FAMILIES {
        for prefix_len in [1, 6] {
            let f = Fixture::with_state(full_state()).family(family);
            f.emu.set_prefix_length(prefix_len);
            let (code, out, err) = f.run(&["apply", "--auto-approve"]);
            assert_eq!(code, 0, "{out}{err}");
            assert!(out.contains("No changes."), "{out}");
            assert!(!out.contains("Apply complete"), "{out}");
            assert_eq!(f.request_lines(), reads(family), "{family}, prefix length {prefix_len}");
        }
    }
}

#[test]
fn rotate_sends_every_declared_secret() {
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        let (code, out, _) = f.run(&["plan", "--rotate", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}");
        assert_eq!(out.matches("(secret) rotation requested; will be sent").count(), 4, "{out}");
        assert!(out.contains("Plan: 0 to create, 3 to update, 0 to delete."), "{out}");

        f.emu.clear_requests();
        let (code, _, err) = f.run(&["apply", "--rotate", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {err}");
        let sent = f.sent();
        assert_eq!(f.sent_providers(), ["twilio", "telnyx", "plivo"], "{family}");
        assert_eq!(sent[0].1["authToken"], TWILIO_TOKEN);
        assert_eq!(sent[1].1["apiKey"], TELNYX_API_KEY);
        assert_eq!(sent[1].1["publicKey"], TELNYX_PUBLIC_KEY);
        assert_eq!(sent[2].1["authToken"], PLIVO_TOKEN);
        match family {
            // One write of complete blocks.
            "account" => assert_eq!(f.write_lines(), [format!("{PATCH_CONFIG} plivo,telnyx,twilio")]),
            // One PATCH per provider with its secrets alone.
            _ => assert_eq!(
                f.write_lines(),
                [
                    "PATCH /api/telephony_configs/twilio authToken",
                    "PATCH /api/telephony_configs/telnyx apiKey,publicKey",
                    "PATCH /api/telephony_configs/plivo authToken",
                ],
                "{family}"
            ),
        }
    }
}

#[test]
fn a_changed_secret_is_sent_in_its_provider_only() {
    for family in FAMILIES {
        let mut state = full_state();
        state.twilio.as_mut().unwrap().auth_token = "an-older-token".into();
        let f = Fixture::with_state(state).family(family);
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}");
        assert!(out.contains("~ twilio will be updated"), "{out}");
        assert!(out.contains("(secret) changed; will be sent"), "{out}");
        assert!(out.contains("telnyx: no changes"), "{out}");

        f.emu.clear_requests();
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let sent = f.sent();
        assert_eq!(f.sent_providers(), ["twilio"], "{family}");
        assert_eq!(sent[0].1["authToken"], TWILIO_TOKEN);
        let fields = if family == "account" { ALL_TWILIO } else { "authToken" };
        assert_eq!(keys(&sent[0].1).join(","), fields, "{family}: a complete block, or the changed field alone");
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_non_secret_change_in_one_provider_writes_only_that_provider() {
    for family in FAMILIES {
        let mut state = full_state();
        state.telnyx.as_mut().unwrap().application_sid = "999".into();
        let f = Fixture::with_state(state).family(family);
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}");
        assert!(out.contains("~ telnyx will be updated"), "{out}");
        assert!(out.contains(r#"applicationSid: "999" -> "1234567890123456789""#), "{out}");
        let unchanged =
            if family == "account" { "(secret) unchanged; re-sent" } else { "(secret) unchanged (not sent)" };
        assert_eq!(out.matches(unchanged).count(), 2, "{family}: apiKey and publicKey\n{out}");
        assert!(out.contains("Plan: 0 to create, 1 to update, 0 to delete."), "{out}");

        f.emu.clear_requests();
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let sent = f.sent();
        assert_eq!(f.sent_providers(), ["telnyx"], "{family}");
        if family == "account" {
            // The account-level endpoint takes complete blocks: the unchanged secrets are re-sent.
            assert_eq!(f.write_lines(), [format!("{PATCH_CONFIG} telnyx")]);
            assert_eq!(sent[0].1["apiKey"], TELNYX_API_KEY);
            assert_eq!(sent[0].1["publicKey"], TELNYX_PUBLIC_KEY);
            assert_eq!(sent[0].1["applicationSid"], "1234567890123456789");
        } else {
            // The provider endpoint takes the changed field alone: no secret is sent.
            assert_eq!(f.write_lines(), ["PATCH /api/telephony_configs/telnyx applicationSid"], "{family}");
            assert_eq!(sent[0].1, json!({"applicationSid": "1234567890123456789"}), "{family}");
        }
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn agent_reorder_and_case_are_no_change() {
    for family in FAMILIES {
        let mut state = full_state();
        state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_B.to_uppercase(), AGENT_A.into()];
        let f = Fixture::with_state(state).family(family);
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: {out}");
        assert!(out.contains("No changes."), "{out}");
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        assert!(f.write_lines().is_empty(), "{family}: {:?}", f.write_lines());
    }
}

#[test]
fn agent_list_change_shows_added_and_removed_ids() {
    for family in FAMILIES {
        let mut state = full_state();
        state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
        let f = Fixture::with_state(state).family(family);
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}");
        assert!(out.contains(&format!("+ {AGENT_B}")), "{out}");
        f.emu.clear_requests();
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let sent = f.sent();
        assert_eq!(f.sent_providers(), ["twilio"], "{family}");
        assert_eq!(sent[0].1["callCreationAllowedAgentIds"], json!([AGENT_A, AGENT_B]), "{family}");
    }
}

#[test]
fn agent_ids_are_shown_as_each_side_spells_them_and_compared_without_case() {
    // The account spells B in upper case, the file drops B and keeps A (upper case in the account, lower in the
    // file): only B is removed, and it is shown as the account holds it.
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.to_uppercase(), AGENT_B.to_uppercase()];
    let f = Fixture::with_state(state);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(&format!("    - {AGENT_A}\n    - {AGENT_B}\n"), &format!("    - {AGENT_A}\n")),
    );
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains(&format!("        - {}\n", AGENT_B.to_uppercase())), "{out}");
    assert!(!out.to_lowercase().contains(&format!("+ {AGENT_A}")), "A is in both: {out}");
    assert!(!out.to_lowercase().contains(&format!("- {AGENT_A}")), "A is in both: {out}");
    let (_, md, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(md.contains(&format!("− <code>{}</code>", AGENT_B.to_uppercase())), "{md}");
    assert!(!md.to_lowercase().contains(&format!("<code>{AGENT_A}</code>")), "{md}");
}

#[test]
fn null_deletes_a_provider() {
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        f.write(
            "telephony.yaml",
            &FULL_FILE.replace(
                "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
                "plivo: null\n",
            ),
        );
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}");
        assert!(out.contains("- plivo will be deleted"), "{out}");
        assert!(out.contains("Plan: 0 to create, 0 to update, 1 to delete."), "{out}");
        f.emu.clear_requests();
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let delete = if family == "account" {
            format!("{PATCH_CONFIG} plivo")
        } else {
            "DELETE /api/telephony_configs/plivo".into()
        };
        assert_eq!(f.request_lines_with_fields(), with(reads(family), &[&delete]), "{family}");
        assert_eq!(f.sent(), [("plivo".to_string(), serde_json::Value::Null)], "{family}");
        assert_eq!(f.account().plivo, None, "{family}");

        f.emu.clear_requests();
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}");
        assert!(out.contains("plivo: absent, as declared (null)"), "{out}");
    }
}

#[test]
fn an_unmanaged_provider_is_left_alone() {
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        f.write("telephony.yaml", FULL_FILE.split("plivo:").next().unwrap());
        let mut state = full_state();
        state.twilio.as_mut().unwrap().auth_token = "an-older-token".into();
        f.emu.set_account(API_KEY, state);
        let (code, out, _) = f.run(&["plan"]);
        assert_eq!(code, 0, "{family}");
        assert!(
            out.contains("plivo: not managed (absent from the file); configured on the account, left as it is"),
            "{out}"
        );
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        assert_eq!(f.sent_providers(), ["twilio"], "{family}");
        assert_eq!(f.account().plivo, full_state().plivo, "{family}");
    }
}

#[test]
fn a_literal_secret_is_refused_before_anything_is_sent() {
    let f = Fixture::new();
    f.write("telephony.yaml", &FULL_FILE.replace("{ env: TWILIO_AUTH_TOKEN }", "pasted-token-value-123"));
    for args in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
        let (code, out, err) = f.run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("telephony.yaml:4:14"), "{err}");
        assert!(err.contains("twilio.authToken: is a literal secret"), "{err}");
        assert!(err.contains("{ env: TWILIO_AUTH_TOKEN }"), "the hint shows the fix: {err}");
        assert!(!err.contains("pasted-token-value-123") && !out.contains("pasted-token-value-123"), "{err}");
    }
    assert!(f.emu.requests().is_empty());
}

#[test]
fn a_missing_env_var_names_the_reference_and_sends_nothing() {
    let mut f = Fixture::new();
    f.env.remove("TELNYX_PUBLIC_KEY");
    f.env.remove("PLIVO_AUTH_TOKEN");
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("telnyx.publicKey: environment variable TELNYX_PUBLIC_KEY is not set"), "{err}");
    assert!(err.contains("telephony.yaml:13:14"), "{err}");
    assert!(err.contains("PLIVO_AUTH_TOKEN"), "all problems at once: {err}");
    assert!(err.contains("2 problems"), "{err}");
    assert!(f.emu.requests().is_empty());
    // validate never reads a secret, so it passes without them.
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_missing_secret_file_names_the_reference() {
    let f = Fixture::new();
    std::fs::remove_file(f.path("secrets/telnyx-api-key")).unwrap();
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("telnyx.apiKey: cannot read file secrets/telnyx-api-key"), "{err}");
    assert!(err.contains("no such file"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn unauthorized_and_forbidden_show_the_server_message_after_one_request() {
    let mut f = Fixture::new();
    f.env.insert("ULTRAVOX_API_KEY".into(), "not-a-known-key".into());
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("GET http://127.0.0.1:"), "{err}");
    assert!(err.contains("answered HTTP 401"), "{err}");
    assert!(err.contains("Invalid API key"), "{err}");
    assert!(err.contains("hint: check the Ultravox API key"), "{err}");
    assert!(!err.contains("not-a-known-key"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    let f = Fixture::with_state(AccountState { forbidden: true, ..AccountState::default() });
    let (code, _, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("answered HTTP 403"), "{err}");
    assert!(err.contains("permission"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn a_400_to_the_write_shows_the_servers_field_messages() {
    for family in FAMILIES {
        let f = Fixture::new().family(family);
        // The account-level pair nests its messages by provider; a provider endpoint answers for its own fields.
        let body = if family == "account" {
            r#"{"twilio": {"accountSid": ["Not a valid Twilio SID."]}, "telnyx": {"callCreationAllowedAgentIds": {"0": ["Must be a valid UUID."]}}}"#
        } else {
            r#"{"accountSid": ["Not a valid Twilio SID."], "callCreationAllowedAgentIds": {"0": ["Must be a valid UUID."]}}"#
        };
        f.emu.push_fault_for(create_method(family), Fault::status_with_body(400, body));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {err}");
        assert!(out.contains("+ twilio will be created"), "the plan is shown before the write fails: {out}");
        assert!(!out.contains("Apply complete"), "{out}");
        assert!(err.contains(&format!("{} http://127.0.0.1:", create_method(family))), "{err}");
        assert!(err.contains("answered HTTP 400"), "{err}");
        if family == "account" {
            assert!(err.contains("twilio.accountSid: Not a valid Twilio SID."), "{err}");
            assert!(err.contains("telnyx.callCreationAllowedAgentIds[0]: Must be a valid UUID."), "{err}");
        } else {
            // The URL names the provider; the messages name its fields.
            assert!(err.contains("/api/telephony_configs/twilio answered HTTP 400\n"), "{family}: {err}");
            assert!(err.contains("\n  accountSid: Not a valid Twilio SID.\n"), "{family}: {err}");
            assert!(err.contains("\n  callCreationAllowedAgentIds[0]: Must be a valid UUID.\n"), "{family}: {err}");
            assert!(err.contains("written: none; failed: twilio; not written: telnyx, plivo"), "{family}: {err}");
        }
        // A 400 is not retried, and nothing is written after it.
        assert_eq!(f.write_lines(), create_all_writes(family)[..1], "{family}");
        assert_eq!(f.account(), AccountState::default(), "{family}");
    }
}

#[test]
fn apply_off_a_terminal_without_auto_approve_refuses_and_sends_nothing() {
    let f = Fixture::new();
    let (code, _, err) = f
        .cmd(&["apply"])
        .write_stdin("yes\n")
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("refusing to apply without confirmation"), "{err}");
    assert!(err.contains("--auto-approve"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn plain_http_is_refused_for_non_loopback_hosts() {
    let f = Fixture::new();
    let (code, _, err) = f
        .cmd(&["plan", "--api-url", "http://api.example.com"])
        .output()
        .map(|o| (o.status.code().unwrap(), String::new(), String::from_utf8_lossy(&o.stderr).into_owned()))
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("refusing to send the API key over plain http to http://api.example.com"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn requests_carry_the_api_key_and_user_agent() {
    for family in FAMILIES {
        let f = Fixture::new().family(family);
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let requests = f.emu.requests();
        assert_eq!(requests.len(), reads(family).len() + create_all_writes(family).len(), "{family}");
        for request in requests {
            assert_eq!(request.header("x-api-key"), Some(API_KEY), "{family}: {} {}", request.method, request.path);
            assert_eq!(request.header("user-agent"), Some(concat!("reconcile/", env!("CARGO_PKG_VERSION"))));
        }
    }
}

#[test]
fn an_unverifiable_secret_is_reported_and_sent_only_with_rotate() {
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        f.emu.set_prefix_length_for("plivo.authToken", 0);
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: {out}");
        assert!(out.contains("(secret) unverifiable: no prefix from the API; not sent"), "{out}");
        assert!(out.contains("plivo.authToken"), "{out}");
        assert!(out.contains("--rotate"), "{out}");
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        assert!(f.write_lines().is_empty(), "{family}: {:?}", f.write_lines());
        assert_eq!(f.run(&["apply", "--auto-approve", "--rotate"]).0, 0, "{family}");
        assert_eq!(f.sent_providers(), ["twilio", "telnyx", "plivo"], "{family}: --rotate sends every secret");
        assert_eq!(f.sent()[2].1["authToken"], PLIVO_TOKEN, "{family}");
    }
}

#[test]
fn usage_errors_exit_1_not_2() {
    let f = Fixture::new();
    assert_eq!(f.run(&["plan", "--no-such-flag"]).0, 1);
    assert_eq!(f.run(&["frobnicate"]).0, 1);
    assert_eq!(f.run(&["--help"]).0, 0);
}

/// Runs `reconcile apply` on a pseudo-terminal (util-linux `script`), typing `answer` at the prompt.
fn apply_on_a_terminal(f: &Fixture, answer: &str) -> (i32, String) {
    use std::io::Write;
    let binary = assert_cmd::cargo::cargo_bin("reconcile");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{} apply", binary.display()), "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("ULTRAVOX_API_URL", f.emu.url())
        .env("NO_COLOR", "1")
        .envs(&f.env)
        .current_dir(f.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    // The prompt waits for a line; typing ahead is fine on a terminal.
    child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let f = Fixture::new();
    let (code, screen) = apply_on_a_terminal(&f, "no");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Plan: 3 to create"), "{screen}");
    assert!(screen.contains("Only 'yes' is accepted"), "{screen}");
    assert!(screen.contains("apply cancelled; nothing was sent"), "{screen}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    let (code, screen) = apply_on_a_terminal(&f, "yes");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Apply complete: 3 created"), "{screen}");
    assert_eq!(f.sent_providers(), ["twilio", "telnyx", "plivo"]);
}

#[test]
fn a_write_whose_answer_gives_no_prefix_is_applied_with_a_warning() {
    for family in FAMILIES {
        let f = Fixture::new().family(family);
        f.emu.set_prefix_length_for("plivo.authToken", 0);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 3 created"), "{out}");
        assert_eq!(err.matches("warning: the API's answer gave no prefix for plivo.authToken").count(), 1, "{err}");
        assert_eq!(f.write_lines(), create_all_writes(family), "{family}");
    }
}

#[test]
fn a_referenced_value_with_surrounding_whitespace_is_refused_before_anything_is_sent() {
    let mut f = Fixture::new();
    f.env.insert("TWILIO_AUTH_TOKEN".into(), format!(" {TWILIO_TOKEN}"));
    f.write("acct", "AC0123456789abcdef0123456789abcdef\n\n");
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace("accountSid: AC0123456789abcdef0123456789abcdef", "accountSid: { file: acct }"),
    );
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("twilio.accountSid: the value of file acct has leading or trailing whitespace"), "{err}");
    assert!(
        err.contains(
            "twilio.authToken: the value of environment variable TWILIO_AUTH_TOKEN has leading or trailing whitespace"
        ),
        "{err}"
    );
    assert!(err.contains("the API trims values"), "{err}");
    assert!(!err.contains(TWILIO_TOKEN), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn a_server_message_echoing_a_piece_of_a_secret_is_hidden_whole() {
    for family in FAMILIES {
        let f = Fixture::new().family(family);
        let piece = &TWILIO_TOKEN[..9];
        let messages = format!(r#"{{"authToken": ["token starting {piece} is revoked"]}}"#);
        let body = if family == "account" { format!(r#"{{"twilio": {messages}}}"#) } else { messages };
        f.emu.push_fault_for(create_method(family), Fault::status_with_body(400, body));
        let (code, _, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}");
        let field = if family == "account" { "twilio.authToken" } else { "twilio answered HTTP 400: authToken" };
        assert!(err.contains(&format!("{field}: [hidden: holds part of a secret]")), "{family}: {err}");
        assert!(!err.contains(piece) && !err.contains("is revoked"), "{family}: {err}");
    }
}

#[test]
fn a_local_api_is_reached_directly_whatever_the_proxy_settings() {
    let f = Fixture::with_state(full_state());
    let output = f
        .cmd(&["plan"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn help_does_not_print_the_api_url_from_the_environment() {
    let f = Fixture::new();
    let output =
        f.cmd(&["plan", "--help"]).env("ULTRAVOX_API_URL", "https://user:pw-1234@api.example").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("[env: ULTRAVOX_API_URL]"), "{text}");
    assert!(!text.contains("pw-1234"), "{text}");
}

/// A deletion is written `plivo: null` (or `~`); `plivo:` with nothing after it (every field commented out) is a
/// located error, and nothing is sent, on every family.
#[test]
fn a_provider_key_with_no_value_is_an_error_and_null_or_tilde_deletes() {
    let plivo_block = "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n";
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        let commented = "plivo:\n#  authId: MAXXXXXXXXXXXXXXXXXX\n#  authToken: { env: PLIVO_AUTH_TOKEN }\n";
        f.write("telephony.yaml", &FULL_FILE.replace(plivo_block, commented));
        for command in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
            let (code, out, err) = f.run(command);
            assert_eq!(code, 1, "{family}, {command:?}: {out}{err}");
            assert!(
                err.contains("error[empty-value]: plivo: the key has no value, which could be a deletion by accident"),
                "{err}"
            );
            assert!(err.contains("--> telephony.yaml:16:1"), "{err}");
            assert!(err.contains("write `plivo: null` to delete it from the account"), "{err}");
        }
        assert!(f.emu.requests().is_empty(), "{family}: nothing is sent");
        assert!(f.account().plivo.is_some(), "{family}");

        for deletion in ["plivo: null\n", "plivo: ~\n", "plivo: Null  # gone\n"] {
            f.emu.set_account(API_KEY, full_state());
            f.write("telephony.yaml", &FULL_FILE.replace(plivo_block, deletion));
            let (code, out, err) = f.run(&["apply", "--auto-approve"]);
            assert_eq!(code, 0, "{family}, {deletion:?}: {out}{err}");
            assert!(out.contains("- plivo will be deleted"), "{out}");
            assert_eq!(f.account().plivo, None, "{family}, {deletion:?}");
        }
    }
}
