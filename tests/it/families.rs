//! End to end, per endpoint family: the real binary against the emulator, asserting exit codes, output and the exact
//! requests received (method, path, and the body's field names). Every body is checked against the official request
//! schemas by the harness.

use crate::common::*;
use serde_json::json;
use ultravox_emulator::{DeprecationHeaders, EndpointMode};

const POST_TWILIO: &str = "POST /api/telephony_configs/twilio";

/// The requests, with each run of concurrent provider GETs sorted.
fn lines(f: &Fixture) -> Vec<String> {
    f.request_lines_with_fields()
}

/// The families that write through the provider endpoints.
const PROVIDER_WRITES: [&str; 2] = ["auto", "provider"];

fn provider_reads() -> Vec<String> {
    reads("provider")
}

/// The account with twilio's agent list cut to one, telnyx absent and plivo present.
fn mixed_state() -> AccountState {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    state.telnyx = None;
    state
}

const MIXED_FILE: &str = r#"twilio:
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
plivo: null
"#;

#[test]
fn provider_family_creates_with_complete_blocks_then_has_nothing_to_do() {
    let f = Fixture::new().family("provider");
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("Apply will send:\n  1. POST /api/telephony_configs/twilio (accountSid, authToken,"), "{out}");
    assert_eq!(lines(&f), provider_reads(), "plan: one GET per provider");

    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Apply complete: 3 created, 0 updated, 0 deleted (twilio, telnyx, plivo: one request each)."),
        "{out}"
    );
    let expected = with(
        provider_reads(),
        &[
            &format!("{POST_TWILIO} {ALL_TWILIO}"),
            &format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}"),
            &format!("POST /api/telephony_configs/plivo {ALL_PLIVO}"),
        ],
    );
    assert_eq!(lines(&f), expected);
    assert_eq!(f.account(), full_state());

    f.emu.clear_requests();
    let (code, out, _) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0);
    assert!(out.contains("Nothing to apply"), "{out}");
    assert_eq!(lines(&f), provider_reads(), "no write when nothing changed");
}

#[test]
fn provider_family_update_sends_only_the_changed_field_and_never_an_unchanged_secret() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    let f = Fixture::with_state(state).family("provider");
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(out.contains("authToken:                   (secret) unchanged (not sent)"), "{out}");
    assert!(out.contains("1. PATCH /api/telephony_configs/twilio (callCreationAllowedAgentIds)"), "{out}");

    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines(&f), with(provider_reads(), &["PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds"]));
    let patch = f.emu.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.json.unwrap(), json!({"callCreationAllowedAgentIds": [AGENT_A, AGENT_B]}));
    assert_eq!(f.account(), full_state());
}

#[test]
fn a_patch_answered_with_only_what_it_sent_is_checked_on_that() {
    // A server may answer a field-level merge with only the fields it changed: what the PATCH did not send and the
    // answer leaves out was not touched, and is not "differs from what was sent".
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    state.plivo.as_mut().unwrap().auth_token = "old-plivo-token-zzzz".into();
    let f = Fixture::with_state(state);
    f.emu.set_partial_patch_answers(true);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        f.write_lines(),
        [
            "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds",
            "PATCH /api/telephony_configs/plivo authToken"
        ]
    );
    assert!(!err.contains("prefix"), "the sent secret's prefix came back: {err}");
    assert_eq!(f.account(), full_state());
    let (code, _, err) = f.run(&["apply", "--rotate", "--auto-approve"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_account_level_patch_answered_with_only_what_it_wrote_is_checked_on_that() {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    let f = Fixture::with_state(state).family("account");
    f.emu.set_partial_patch_answers(true);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.write_lines(), ["PATCH /api/accounts/me/telephony_config twilio"]);
    assert_eq!(f.account(), full_state());
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn provider_family_rotation_sends_every_declared_secret_and_nothing_else() {
    let f = Fixture::with_state(full_state()).family("provider");
    let (code, _, err) = f.run(&["apply", "--rotate", "--auto-approve"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        lines(&f),
        with(
            provider_reads(),
            &[
                "PATCH /api/telephony_configs/twilio authToken",
                "PATCH /api/telephony_configs/telnyx apiKey,publicKey",
                "PATCH /api/telephony_configs/plivo authToken",
            ]
        )
    );
}

#[test]
fn provider_family_delete_then_nothing_left() {
    let f = Fixture::with_state(full_state()).family("provider");
    f.write("telephony.yaml", "plivo: null\n");
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines(&f), with(provider_reads(), &["DELETE /api/telephony_configs/plivo"]));
    assert!(f.account().plivo.is_none());
    f.emu.clear_requests();
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn mixed_changes_write_creates_and_updates_first_then_deletes() {
    for family in ["provider", "auto"] {
        let f = Fixture::with_state(mixed_state()).family(family);
        f.write("telephony.yaml", MIXED_FILE);
        let (code, out, err) = f.run(&["plan", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            doc["requests"],
            json!([
                {"method": "PATCH", "path": "/api/telephony_configs/twilio", "fields": ["callCreationAllowedAgentIds"]},
                {"method": "POST", "path": "/api/telephony_configs/telnyx", "fields": ["accountSid", "applicationSid",
                    "apiKey", "publicKey", "callCreationAllowedAgentIds", "callCreationAllowAllAgents",
                    "requestContextMapping"]},
                {"method": "DELETE", "path": "/api/telephony_configs/plivo", "fields": []},
            ]),
            "{family}"
        );
        let (code, out, _) = f.run(&["plan", "--format", "markdown"]);
        assert_eq!(code, 0);
        assert!(out.contains("will send 3 requests, one per changed provider, in this order:"), "{out}");
        assert!(out.contains("3. <code>DELETE /api/telephony_configs/plivo</code>\n"), "{out}");

        f.emu.clear_requests();
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{out}{err}");
        let reads = if family == "auto" { vec![GET_CONFIG.to_string()] } else { provider_reads() };
        assert_eq!(
            lines(&f),
            with(
                reads,
                &[
                    "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds",
                    &format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}"),
                    "DELETE /api/telephony_configs/plivo",
                ]
            ),
            "{family}"
        );
        let mut want = full_state();
        want.plivo = None;
        assert_eq!(f.account(), want, "{family}");
    }
}

#[test]
fn account_family_is_one_patch_of_complete_blocks() {
    let f = Fixture::with_state(mixed_state()).family("account");
    f.write("telephony.yaml", MIXED_FILE);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(twilio, telnyx, plivo in one write)"), "{out}");
    assert!(out.contains("authToken:                   (secret) unchanged; re-sent"), "{out}");
    assert_eq!(lines(&f), vec![GET_CONFIG.to_string(), format!("{PATCH_CONFIG} plivo,telnyx,twilio")]);
}

#[test]
fn auto_reads_with_the_account_get_and_falls_back_when_it_is_gone() {
    for mode in [EndpointMode::Gone(404), EndpointMode::Gone(405), EndpointMode::Gone(410), EndpointMode::GoneHtml] {
        let mut state = full_state();
        state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
        let f = Fixture::with_state(state).family("auto");
        f.emu.set_account_endpoint(mode);
        let (code, out, err) = f.run(&["-v", "apply", "--auto-approve"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
        assert_eq!(err.matches("reading through the provider-scoped endpoints instead").count(), 1, "{err}");
        assert_eq!(lines(&f)[..1], [GET_CONFIG.to_string()], "{mode:?}: the account-level GET first");
        let rest = lines(&f)[1..].to_vec();
        assert_eq!(rest, with(provider_reads(), &["PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds"]));
        assert_eq!(f.account(), full_state());
        let (_, _, quiet) = f.run(&["plan"]);
        assert!(!quiet.contains("provider-scoped"), "said only at -v: {quiet}");
    }
}

#[test]
fn a_404_that_is_not_the_apis_json_is_an_error_not_everything_to_create() {
    // An HTML page, and a JSON body that is not the API's `{"detail": ...}` (a gateway's `{"error": ...}`): only the
    // API's own 404 says "not configured".
    for mode in [EndpointMode::GoneHtml, EndpointMode::GoneForeignJson] {
        let f = Fixture::new().family("provider");
        f.emu.set_provider_endpoints(mode);
        for command in [&["plan"][..], &["apply", "--auto-approve"]] {
            let (code, out, err) = f.run(command);
            assert_eq!(code, 1, "{mode:?}, {command:?}: {out}{err}");
            assert!(out.is_empty(), "{out}");
            assert!(
                err.contains(&format!("{}/api/telephony_configs/", f.emu.url())) && err.contains("answered HTTP 404"),
                "names the URL: {err}"
            );
            assert!(err.contains("answered HTTP 404 with no API error body"), "{err}");
            assert!(err.contains("--api-url") && err.contains("--endpoints account"), "{err}");
            assert!(!err.contains("will be created"), "{err}");
        }
        assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{mode:?}: nothing written");
    }
}

/// `auto` reads through the account-level GET, so a server without the provider-scoped endpoints plans fine; the
/// first write finds the path missing, and the error offers `--endpoints account`, which then applies.
#[test]
fn auto_against_a_server_without_provider_endpoints_offers_the_account_family() {
    for mode in [EndpointMode::GoneHtml, EndpointMode::GoneForeignJson] {
        let f = Fixture::new();
        f.emu.set_provider_endpoints(mode);
        let (code, out, err) = f.run(&["plan"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{mode:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "error: POST {}/api/telephony_configs/twilio answered HTTP 404 with no API error body: this server has \
                 no such endpoint",
                f.emu.url()
            )),
            "{mode:?}: {err}"
        );
        assert!(err.contains("written: none; failed: twilio; not written: telnyx, plivo"), "{mode:?}: {err}");
        assert!(err.contains("pass --endpoints account"), "{mode:?}: {err}");
        assert_eq!(f.write_lines(), [format!("{POST_TWILIO} {ALL_TWILIO}")], "{mode:?}: one POST, not repeated");
        // What the hint says works.
        let (code, out, err) = f.run(&["--endpoints", "account", "apply", "--auto-approve"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
        assert_eq!(f.account(), full_state(), "{mode:?}");
    }
}

/// An account-level answer must say something (a block or null) of each provider: one that leaves a provider out
/// is an error naming it, never "not configured" (which would show a provider declared `null` as absent, or plan
/// to create one that exists).
#[test]
fn an_account_answer_silent_about_a_provider_is_an_error() {
    for family in ["auto", "account"] {
        for omitted in [&["twilio", "telnyx", "plivo"][..], &["plivo"]] {
            let f = Fixture::with_state(full_state()).family(family);
            f.write(
                "telephony.yaml",
                &FULL_FILE.replace(
                    "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
                    "plivo: null\n",
                ),
            );
            f.emu.set_account_omits(omitted);
            for command in [&["plan"][..], &["apply", "--auto-approve"]] {
                let (code, out, err) = f.run(command);
                assert_eq!(code, 1, "{family}, {omitted:?}, {command:?}: {out}{err}");
                assert!(
                    err.contains(&format!(
                        "GET {}/api/accounts/me/telephony_config answered something that is not a telephony config: it \
                         says nothing about `{}`",
                        f.emu.url(),
                        omitted[0]
                    )),
                    "{family}, {omitted:?}: {err}"
                );
                assert!(!out.contains("absent, as declared"), "{out}");
            }
            assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{family}: nothing written");
            assert!(f.account().plivo.is_some(), "{family}");
        }
    }
}

#[test]
fn a_failed_request_stops_the_rest_and_a_rerun_sends_only_what_is_left() {
    // The provider endpoints' writes, on the default family and on `provider` (only the reads differ).
    for family in PROVIDER_WRITES {
        let f = Fixture::with_state(mixed_state()).family(family);
        f.write("telephony.yaml", MIXED_FILE);
        f.emu.push_fault_for("POST", Fault::status_with_body(400, r#"{"accountSid": ["Invalid account."]}"#));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains("POST http://"), "{err}");
        assert!(err.contains("accountSid: Invalid account."), "{err}");
        assert!(err.contains("written: twilio; failed: telnyx; not written: plivo"), "{err}");
        assert!(err.contains("running `reconcile apply` again is safe"), "{err}");
        assert_eq!(f.account().twilio, full_state().twilio, "the first write landed");
        assert!(f.account().plivo.is_some(), "the delete was not sent");

        // The same failure as JSON: the document says what was written before it.
        f.emu.set_account(API_KEY, mixed_state());
        f.emu.push_fault_for("POST", Fault::status_with_body(400, r#"{"accountSid": ["Invalid account."]}"#));
        let (code, out, err) = f.run(&["apply", "--auto-approve", "--format", "json"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            doc["apply"],
            json!({"status": "failed", "written": ["twilio"], "failed": ["telnyx"], "notWritten": ["plivo"]}),
            "{out}"
        );
        assert!(doc["error"]["message"].as_str().unwrap().contains("failed: telnyx; not written: plivo"), "{out}");

        f.emu.clear_requests();
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(
            lines(&f),
            with(
                reads(family),
                &[&format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}"), "DELETE /api/telephony_configs/plivo"]
            )
        );
    }
}

#[test]
fn a_lost_post_answer_is_read_again_before_anything_else() {
    // The provider endpoints' writes, on the default family and on `provider` (only the reads differ).
    for family in PROVIDER_WRITES {
        // Landed, answer lost: the GET finds it present and matching; no second POST.
        let f = Fixture::new().family(family);
        f.write("telephony.yaml", "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n");
        f.emu.push_fault_for("POST", Fault::DropAfterApply);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(
            lines(&f),
            with(reads(family), &[&format!("POST /api/telephony_configs/plivo {ALL_PLIVO}"), GET_PLIVO])
        );

        // Not landed (dropped before): absent, so the POST goes again.
        let f = Fixture::new().family(family);
        f.write("telephony.yaml", "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n");
        f.emu.push_fault_for("POST", Fault::status(502));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        let post = format!("POST /api/telephony_configs/plivo {ALL_PLIVO}");
        assert_eq!(lines(&f), with(reads(family), &[&post, GET_PLIVO, &post]));
        assert_eq!(f.account().plivo, full_state().plivo);

        // Landed, but someone changed it before the re-read: present and different gets a PATCH of the difference only.
        let f = Fixture::new().family(family);
        f.write("telephony.yaml", "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n");
        let mut edited = AccountState { plivo: full_state().plivo, ..AccountState::default() };
        edited.plivo.as_mut().unwrap().allowed_agent_ids = vec![AGENT_B.into()];
        f.emu.push_fault_for("POST", Fault::DropAfterApplyThenSet(Box::new(edited)));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(
            lines(&f),
            with(reads(family), &[&post, GET_PLIVO, "PATCH /api/telephony_configs/plivo callCreationAllowedAgentIds"])
        );
        assert_eq!(f.account().plivo, full_state().plivo);
    }
}

#[test]
fn a_repeated_delete_answered_404_is_done() {
    // The provider endpoints' writes, on the default family and on `provider` (only the reads differ).
    for family in PROVIDER_WRITES {
        let f = Fixture::with_state(full_state()).family(family);
        f.write("telephony.yaml", "plivo: null\n");
        // The DELETE lands but its answer is lost; the retry finds nothing to delete (404), which means done.
        f.emu.push_fault_for("DELETE", Fault::DropAfterApply);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(
            lines(&f),
            with(reads(family), &["DELETE /api/telephony_configs/plivo", "DELETE /api/telephony_configs/plivo"])
        );
    }
}

#[test]
fn saved_plans_record_the_family_and_send_exactly_their_requests() {
    let f = Fixture::with_state(mixed_state()).family("provider");
    f.write("telephony.yaml", MIXED_FILE);
    let (code, _, err) = f.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f.path("plan.json")).unwrap()).unwrap();
    assert_eq!(doc["endpoints"], "provider");
    assert_eq!(doc["requests"].as_array().unwrap().len(), 3);

    for other in ["account", "auto"] {
        f.emu.clear_requests();
        let (code, _, err) = f.run(&["--endpoints", other, "apply", "plan.json"]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("the plan was made for --endpoints provider, but --endpoints {other} was given")),
            "{err}"
        );
        assert!(f.emu.requests().is_empty(), "nothing sent: {:?}", f.request_lines());
    }

    // Without --endpoints (and without the variable), the plan's family is used.
    f.emu.clear_requests();
    let mut cmd = f.cmd(&["apply", "plan.json"]);
    cmd.env_remove("RECONCILE_ENDPOINTS");
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        lines(&f),
        with(
            provider_reads(),
            &[
                "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds",
                &format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}"),
                "DELETE /api/telephony_configs/plivo",
            ]
        )
    );
}

#[test]
fn a_deprecation_header_gives_one_warning_on_stderr_and_never_an_error() {
    let f = Fixture::with_state(full_state()).family("auto");
    f.emu.set_deprecation(Some(DeprecationHeaders {
        deprecation: Some("@1772323200".into()),
        sunset: Some("Tue, 01 Dec 2026 00:00:00 GMT".into()),
    }));
    let (code, out, err) = f.run(&["plan", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("deprecated"), "stdout is data only: {out}");
    serde_json::from_str::<serde_json::Value>(&out).expect("stdout is still one JSON document");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(err.contains("the API marks GET /api/accounts/me/telephony_config as deprecated"), "{err}");
    assert!(err.contains("to be removed on Tue, 01 Dec 2026 00:00:00 GMT"), "{err}");
    assert!(err.contains("`--endpoints provider`"), "{err}");

    let (code, _, err) = f.run(&["--endpoints", "provider", "plan"]);
    assert_eq!(code, 0);
    assert!(!err.contains("deprecated"), "the provider endpoints carry no such header: {err}");
}

#[test]
fn an_unknown_outcome_part_way_says_once_to_plan_and_apply_again() {
    // The provider endpoints' writes, on the default family and on `provider` (only the reads differ).
    for family in PROVIDER_WRITES {
        let f = Fixture::with_state(mixed_state()).family(family);
        f.write("telephony.yaml", MIXED_FILE);
        // A 500 ends a create (only 502, 504, a lost connection and a timeout are read again), and leaves it in
        // doubt: the API did not say it was not done.
        f.emu.push_fault_for("POST", Fault::status(500));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains("may or may not have been applied"), "{err}");
        assert_eq!(err.matches("sends only what is left").count(), 1, "one piece of advice, not two: {err}");
        assert!(
            err.contains("written: twilio; in doubt (it may or may not have landed): telnyx; not written: plivo"),
            "{err}"
        );
        assert_eq!(f.write_lines().iter().filter(|l| l.starts_with("POST")).count(), 1, "{family}");
    }
}

#[test]
fn a_wrong_api_url_path_is_an_error_not_everything_to_create() {
    // The API root with `/api` on the end: every path doubles it, and the server has no such route (an HTML 404).
    let f = Fixture::with_state(full_state()).family("auto");
    let url = format!("{}/api", f.emu.url());
    let (code, out, err) = f.run(&["plan", "--api-url", &url]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("/api/api/telephony_configs/twilio answered HTTP 404 with no API error body"), "{err}");
    assert!(err.contains("hint: check --api-url"), "{err}");
    assert!(!out.contains("will be created"), "{out}");
    assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{:?}", f.request_lines());
}

/// The account with twilio's agent list cut to one and telnyx absent: the sample file updates one and creates one.
fn one_update_one_create() -> AccountState {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    state.telnyx = None;
    state
}

#[test]
fn provider_writes_answered_with_no_body_are_read_back_and_checked() {
    // A server may answer a create (201) or an update (200) with no body: done, by its word, but nothing to check.
    // One GET of that provider shows what the write left; the apply converges, and nothing is "in doubt".
    for family in PROVIDER_WRITES {
        let f = Fixture::with_state(one_update_one_create()).family(family);
        f.emu.set_empty_write_answers(true);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 1 created, 1 updated, 0 deleted"), "{family}: {out}");
        let post_telnyx = format!("POST /api/telephony_configs/telnyx {ALL_TELNYX}");
        assert_eq!(
            lines(&f),
            with(
                reads(family),
                &[
                    "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds",
                    GET_TWILIO,
                    &post_telnyx,
                    GET_TELNYX
                ]
            ),
            "{family}"
        );
        assert_eq!(f.account(), full_state());
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: {out}");
    }
}

#[test]
fn an_account_level_patch_answered_with_no_body_is_read_back_and_checked() {
    let f = Fixture::with_state(one_update_one_create()).family("account");
    f.emu.set_empty_write_answers(true);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(lines(&f), [GET_CONFIG, &format!("{PATCH_CONFIG} telnyx,twilio"), GET_CONFIG]);
    assert_eq!(f.account(), full_state());
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_account_family_against_a_removed_account_endpoint_offers_the_provider_family() {
    // `auto` falls back on these statuses; `--endpoints account` cannot, and says what to do.
    for mode in [EndpointMode::Gone(404), EndpointMode::Gone(405), EndpointMode::Gone(410)] {
        let f = Fixture::with_state(full_state()).family("account");
        f.emu.set_account_endpoint(mode);
        let (code, out, err) = f.run(&["plan"]);
        assert_eq!(code, 1, "{mode:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("GET ") && err.contains("/api/accounts/me/telephony_config answered HTTP"), "{err}");
        assert!(
            err.contains("hint: ") && err.contains("`--endpoints provider`, or the default `auto`"),
            "{mode:?}: {err}"
        );
        assert_eq!(lines(&f), [GET_CONFIG]);
    }
}

#[test]
fn a_write_answered_with_no_body_whose_read_back_fails_is_in_doubt() {
    // Done, by the server's word, but neither its answer nor the read after it shows what it left: in doubt, never
    // "failed", and the next run converges.
    let f = Fixture::with_state(one_update_one_create());
    f.emu.set_empty_write_answers(true);
    f.emu.push_fault_for("PATCH", Fault::ApplyThenFailReads { status: 500, reads: 1 });
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("/api/telephony_configs/twilio answered HTTP 200 with no body, and reading it back failed: GET "),
        "{err}"
    );
    assert!(err.contains("in doubt (it may or may not have landed): twilio; not written: telnyx"), "{err}");
    assert!(err.contains("the API said the write was done but showed nothing to check it by"), "{err}");
    assert_eq!(
        lines(&f),
        [GET_CONFIG, "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds", GET_TWILIO],
        "the telnyx create is not sent after a write in doubt"
    );
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.account(), full_state());
}
