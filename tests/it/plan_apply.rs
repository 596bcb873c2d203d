//! End to end: the real binary against the emulator, asserting exit codes, output and the exact requests received.

use crate::common::*;
use serde_json::json;

fn set_mixed_prefix_lengths(f: &Fixture) {
    f.emu.set_prefix_length_for("twilio.authToken", 4);
    f.emu.set_prefix_length_for("telnyx.apiKey", 7);
    f.emu.set_prefix_length_for("telnyx.publicKey", 2);
    f.emu.set_prefix_length_for("plivo.authToken", 10);
}

#[test]
fn create_all_then_no_changes_with_mixed_prefix_lengths() {
    let f = Fixture::new();
    set_mixed_prefix_lengths(&f);

    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("+ twilio will be created"), "{out}");
    assert!(out.contains("+ telnyx will be created"), "{out}");
    assert!(out.contains("+ plivo will be created"), "{out}");
    assert!(out.contains("Plan: 3 to create, 0 to update, 0 to delete."), "{out}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Apply complete: 3 created, 0 updated, 0 deleted"), "{out}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, PATCH_CONFIG]);
    let body = &f.patch_bodies()[0];
    assert_eq!(
        body,
        &json!({
            "twilio": {
                "accountSid": "AC0123456789abcdef0123456789abcdef",
                "authToken": TWILIO_TOKEN,
                "callCreationAllowedAgentIds": [AGENT_A, AGENT_B],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {"From": "user.phone_number"}
            },
            "telnyx": {
                "accountSid": "2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c",
                "apiKey": TELNYX_API_KEY,
                "publicKey": TELNYX_PUBLIC_KEY,
                "applicationSid": "1234567890123456789",
                "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": true,
                "requestContextMapping": {}
            },
            "plivo": {
                "authId": "MAXXXXXXXXXXXXXXXXXX",
                "authToken": PLIVO_TOKEN,
                "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": false,
                "requestContextMapping": {}
            }
        })
    );
    assert_eq!(f.account(), full_state());

    f.emu.clear_requests();
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes. The account matches telephony.yaml."), "{out}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn no_change_sends_no_write() {
    for prefix_len in [1, 6] {
        let f = Fixture::with_state(full_state());
        f.emu.set_prefix_length(prefix_len);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("No changes."), "{out}");
        assert!(!out.contains("Apply complete"), "{out}");
        assert_eq!(f.request_lines(), vec![GET_CONFIG], "prefix length {prefix_len}");
    }
}

#[test]
fn rotate_sends_every_declared_secret() {
    let f = Fixture::with_state(full_state());
    let (code, out, _) = f.run(&["plan", "--rotate", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert_eq!(out.matches("(secret) rotation requested; will be sent").count(), 4, "{out}");
    assert!(out.contains("Plan: 0 to create, 3 to update, 0 to delete."), "{out}");

    f.emu.clear_requests();
    let (code, _, err) = f.run(&["apply", "--rotate", "--auto-approve"]);
    assert_eq!(code, 0, "{err}");
    let bodies = f.patch_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["twilio"]["authToken"], TWILIO_TOKEN);
    assert_eq!(bodies[0]["telnyx"]["apiKey"], TELNYX_API_KEY);
    assert_eq!(bodies[0]["telnyx"]["publicKey"], TELNYX_PUBLIC_KEY);
    assert_eq!(bodies[0]["plivo"]["authToken"], PLIVO_TOKEN);
}

#[test]
fn a_changed_secret_is_sent_in_its_provider_only() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = "an-older-token".into();
    let f = Fixture::with_state(state);
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(out.contains("~ twilio will be updated"), "{out}");
    assert!(out.contains("(secret) changed; will be sent"), "{out}");
    assert!(out.contains("telnyx: no changes"), "{out}");

    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let bodies = f.patch_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["twilio"]);
    assert_eq!(bodies[0]["twilio"]["authToken"], TWILIO_TOKEN);
    assert_eq!(f.account(), full_state());
}

#[test]
fn a_non_secret_change_in_one_provider_patches_only_that_provider() {
    let mut state = full_state();
    state.telnyx.as_mut().unwrap().application_sid = "999".into();
    let f = Fixture::with_state(state);
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(out.contains("~ telnyx will be updated"), "{out}");
    assert!(out.contains(r#"applicationSid: "999" -> "1234567890123456789""#), "{out}");
    assert!(out.contains("apiKey:") && out.contains("(secret) unchanged; re-sent"), "{out}");
    assert!(out.contains("Plan: 0 to create, 1 to update, 0 to delete."), "{out}");

    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(f.request_lines(), vec![GET_CONFIG, PATCH_CONFIG]);
    let body = &f.patch_bodies()[0];
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["telnyx"]);
    // The account-level endpoint takes complete blocks: the unchanged secrets are re-sent.
    assert_eq!(body["telnyx"]["apiKey"], TELNYX_API_KEY);
    assert_eq!(body["telnyx"]["publicKey"], TELNYX_PUBLIC_KEY);
    assert_eq!(body["telnyx"]["applicationSid"], "1234567890123456789");
    assert_eq!(f.account(), full_state());
}

#[test]
fn agent_reorder_and_case_are_no_change() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_B.to_uppercase(), AGENT_A.into()];
    let f = Fixture::with_state(state);
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert!(f.patch_bodies().is_empty());
}

#[test]
fn agent_list_change_shows_added_and_removed_ids() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    let f = Fixture::with_state(state);
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(out.contains(&format!("+ {AGENT_B}")), "{out}");
    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(f.patch_bodies()[0]["twilio"]["callCreationAllowedAgentIds"], json!([AGENT_A, AGENT_B]));
}

#[test]
fn null_deletes_a_provider() {
    let f = Fixture::with_state(full_state());
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(out.contains("- plivo will be deleted"), "{out}");
    assert!(out.contains("Plan: 0 to create, 0 to update, 1 to delete."), "{out}");
    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(f.request_lines(), vec![GET_CONFIG, PATCH_CONFIG]);
    assert_eq!(f.patch_bodies(), vec![json!({"plivo": null})]);
    assert_eq!(f.account().plivo, None);

    f.emu.clear_requests();
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0);
    assert!(out.contains("plivo: absent, as declared (null)"), "{out}");
}

#[test]
fn an_unmanaged_provider_is_left_alone() {
    let f = Fixture::with_state(full_state());
    f.write("telephony.yaml", FULL_FILE.split("plivo:").next().unwrap());
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = "an-older-token".into();
    f.emu.set_account(API_KEY, state);
    let (code, out, _) = f.run(&["plan"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("plivo: not managed (absent from the file); configured on the account, left as it is"),
        "{out}"
    );
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let bodies = f.patch_bodies();
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].get("plivo").is_none(), "{}", bodies[0]);
    assert_eq!(f.account().plivo, full_state().plivo);
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
fn a_400_from_patch_shows_the_servers_field_messages() {
    let f = Fixture::new();
    f.emu.push_fault_for(
        "PATCH",
        Fault::Status {
            code: 400,
            body: Some(r#"{"twilio": {"accountSid": ["Not a valid Twilio SID."]}, "telnyx": {"callCreationAllowedAgentIds": {"0": ["Must be a valid UUID."]}}}"#.into()),
            retry_after: None,
        },
    );
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("+ twilio will be created"), "the plan is shown before the write fails: {out}");
    assert!(!out.contains("Apply complete"), "{out}");
    assert!(err.contains("PATCH http://127.0.0.1:"), "{err}");
    assert!(err.contains("answered HTTP 400"), "{err}");
    assert!(err.contains("twilio.accountSid: Not a valid Twilio SID."), "{err}");
    assert!(err.contains("telnyx.callCreationAllowedAgentIds[0]: Must be a valid UUID."), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, PATCH_CONFIG], "a 400 is not retried");
    assert_eq!(f.account(), AccountState::default());
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
    let f = Fixture::new();
    f.run(&["plan"]);
    let requests = f.emu.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-api-key"), Some(API_KEY));
    assert_eq!(requests[0].header("user-agent"), Some(concat!("reconcile/", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn an_unverifiable_secret_is_reported_and_sent_only_with_rotate() {
    let f = Fixture::with_state(full_state());
    f.emu.set_prefix_length_for("plivo.authToken", 0);
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(secret) unverifiable: no prefix from the API; not sent"), "{out}");
    assert!(out.contains("plivo.authToken"), "{out}");
    assert!(out.contains("--rotate"), "{out}");
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert!(f.patch_bodies().is_empty());
    assert_eq!(f.run(&["apply", "--auto-approve", "--rotate"]).0, 0);
    assert_eq!(f.patch_bodies().len(), 1);
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
    assert_eq!(f.patch_bodies().len(), 1);
}

#[test]
fn a_write_whose_answer_gives_no_prefix_is_applied_with_a_warning() {
    let f = Fixture::new();
    f.emu.set_prefix_length_for("plivo.authToken", 0);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Apply complete: 3 created"), "{out}");
    assert!(err.contains("warning: the API's answer gave no prefix for plivo.authToken"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, PATCH_CONFIG]);
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
    let f = Fixture::new();
    let piece = &TWILIO_TOKEN[..9];
    f.emu.push_fault_for(
        "PATCH",
        Fault::Status {
            code: 400,
            body: Some(format!(r#"{{"twilio": {{"authToken": ["token starting {piece} is revoked"]}}}}"#)),
            retry_after: None,
        },
    );
    let (code, _, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("twilio.authToken: [hidden: holds part of a secret]"), "{err}");
    assert!(!err.contains(piece) && !err.contains("is revoked"), "{err}");
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
