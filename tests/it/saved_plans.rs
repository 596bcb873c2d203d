//! `plan --out PLANFILE` and `apply PLANFILE`: the file holds no secret material, applying it sends exactly the write
//! a fresh apply sends, and every kind of staleness is refused with nothing written.

use crate::common::*;

fn plan_to_file(f: &Fixture) -> String {
    let (code, out, err) = f.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("Saved the plan to plan.json"), "{err}");
    std::fs::read_to_string(f.path("plan.json")).expect("plan file")
}

fn changed_state() -> AccountState {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = "RMT9remote-older-token".into();
    state.telnyx.as_mut().unwrap().application_sid = "42".into();
    state.plivo = None;
    state
}

#[test]
fn apply_from_a_plan_file_sends_the_same_writes_as_a_fresh_apply() {
    for family in FAMILIES {
        // The fresh apply's writes, for comparison.
        let fresh = Fixture::with_state(changed_state()).family(family);
        assert_eq!(fresh.run(&["apply", "--auto-approve"]).0, 0, "{family}");
        let fresh_writes = fresh.write_lines();
        let fresh_sent = fresh.sent();

        let f = Fixture::with_state(changed_state()).family(family);
        let text = plan_to_file(&f);
        assert_eq!(f.request_lines(), reads(family), "{family}");
        f.emu.clear_requests();
        // No confirmation is asked, even off a terminal.
        let (code, out, err) = f.run(&["apply", "plan.json"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 1 created, 2 updated, 0 deleted"), "{out}");
        let mut expected = reads(family);
        expected.extend(fresh_writes);
        assert_eq!(f.request_lines_with_fields(), expected, "{family}: exactly the fresh apply's writes");
        assert_eq!(f.sent(), fresh_sent, "{family}");
        assert_eq!(f.account(), full_state(), "{family}");

        for secret in all_secrets() {
            assert!(!text.contains(secret), "plan file holds {secret}");
        }
        assert!(!text.contains("RMT9"), "plan file holds a remote prefix: {text}");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["planFileVersion"], 3);
        assert_eq!(doc["file"], "telephony.yaml");
        assert_eq!(doc["endpoints"], family);
        let requests = match family {
            "account" => serde_json::json!([{"method": "PATCH", "path": "/api/accounts/me/telephony_config",
                "fields": ["twilio", "telnyx", "plivo"]}]),
            _ => serde_json::json!([
                {"method": "PATCH", "path": "/api/telephony_configs/twilio", "fields": ["authToken"]},
                {"method": "PATCH", "path": "/api/telephony_configs/telnyx", "fields": ["applicationSid"]},
                {"method": "POST", "path": "/api/telephony_configs/plivo", "fields": ["authId", "authToken",
                    "callCreationAllowedAgentIds", "callCreationAllowAllAgents", "requestContextMapping"]},
            ]),
        };
        assert_eq!(doc["requests"], requests, "{family}");
    }
}

#[test]
fn a_plan_file_with_no_changes_applies_without_a_write() {
    let f = Fixture::with_state(full_state());
    plan_to_file(&f);
    f.emu.clear_requests();
    let (code, out, _) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0);
    assert!(out.contains("Nothing to apply"), "{out}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

fn assert_refused(f: &Fixture, args: &[&str], expected: &str) {
    f.emu.clear_requests();
    let (code, out, err) = f.run(args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("refusing to apply the saved plan"), "{err}");
    assert!(err.contains(expected), "expected `{expected}` in {err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(f.write_lines().is_empty(), "a write was sent: {:?}", f.write_lines());
}

#[test]
fn a_remote_change_since_the_plan_is_refused() {
    let f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    let mut state = changed_state();
    state.telnyx.as_mut().unwrap().allow_all_agents = false;
    f.emu.set_account(API_KEY, state);
    assert_refused(&f, &["apply", "plan.json"], "the account's telephony config changed since the plan was made");
}

#[test]
fn a_rotated_remote_secret_since_the_plan_is_refused() {
    let f = Fixture::with_state(full_state());
    plan_to_file(&f);
    // Someone rotated the token by hand to a value that still starts with the same 4-char prefix: the plan would
    // still say "unchanged", but the prefix at another length moved. Here: a different prefix.
    let mut state = full_state();
    state.plivo.as_mut().unwrap().auth_token = "rotated-by-hand-0000".into();
    f.emu.set_account(API_KEY, state);
    assert_refused(&f, &["apply", "plan.json"], "changed since the plan was made");
}

#[test]
fn an_edited_file_since_the_plan_is_refused() {
    let f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    f.write("telephony.yaml", &FULL_FILE.replace("user.phone_number", "user.phone"));
    assert_refused(&f, &["apply", "plan.json"], "telephony.yaml changed since the plan was made");
}

#[test]
fn a_secret_whose_status_moved_since_the_plan_is_refused() {
    let mut f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    // The file and the account are as planned, but the variable now holds the value the account already has.
    f.env.insert("TWILIO_AUTH_TOKEN".into(), "RMT9remote-older-token".into());
    assert_refused(&f, &["apply", "plan.json"], "twilio.authToken went from changed to unchanged");
}

#[test]
fn a_plan_from_an_incompatible_version_is_refused() {
    let f = Fixture::with_state(changed_state());
    let text = plan_to_file(&f);
    f.write("plan.json", &text.replace("\"planFileVersion\": 3", "\"planFileVersion\": 99"));
    assert_refused(&f, &["apply", "plan.json"], "made by an incompatible version");
    f.write("plan.json", "{\"formatVersion\": 1}");
    assert_refused(&f, &["apply", "plan.json"], "is not a reconcile plan file");
}

#[test]
fn another_file_or_api_than_the_plans_is_refused() {
    let f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    f.write("other.yaml", FULL_FILE);
    assert_refused(
        &f,
        &["apply", "-f", "other.yaml", "plan.json"],
        "the plan was made from telephony.yaml, but -f names other.yaml",
    );
    // Naming the same file is fine.
    let (code, _, err) = f.run(&["apply", "-f", "telephony.yaml", "plan.json"]);
    assert_eq!(code, 0, "{err}");

    let f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    let other = Emulator::start(EmulatorConfig {
        accounts: vec![(API_KEY.to_string(), changed_state())],
        ..EmulatorConfig::default()
    });
    f.emu.clear_requests();
    let (code, _, err) = f
        .cmd(&["apply", "plan.json"])
        .env("ULTRAVOX_API_URL", other.url())
        .output()
        .map(|o| (o.status.code().unwrap(), (), String::from_utf8_lossy(&o.stderr).into_owned()))
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("the plan was made against"), "{err}");
    assert!(other.requests().is_empty());
}

#[test]
fn rotate_cannot_be_added_to_a_saved_plan() {
    let f = Fixture::with_state(changed_state());
    plan_to_file(&f);
    let (code, _, err) = f.run(&["apply", "--rotate", "plan.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_rotation_plan_applies_the_rotation() {
    for family in FAMILIES {
        let f = Fixture::with_state(full_state()).family(family);
        let (code, _, _) = f.run(&["plan", "--rotate", "--out", "plan.json"]);
        assert_eq!(code, 0, "{family}");
        f.emu.clear_requests();
        assert_eq!(f.run(&["apply", "plan.json"]).0, 0, "{family}");
        assert_eq!(f.sent_providers(), ["twilio", "telnyx", "plivo"], "{family}");
        let secrets: usize = f
            .sent()
            .iter()
            .map(|(_, body)| ["authToken", "apiKey", "publicKey"].iter().filter(|k| body.get(**k).is_some()).count())
            .sum();
        assert_eq!(secrets, 4, "{family}: every declared secret is sent");
    }
}

#[test]
fn the_api_listing_agents_in_another_order_is_not_a_change() {
    let mut before = changed_state();
    before.twilio.as_mut().unwrap().allowed_agent_ids =
        vec![AGENT_A.into(), "11111111-2222-4333-8444-555555555555".into()];
    let f = Fixture::with_state(before.clone());
    plan_to_file(&f);
    before.twilio.as_mut().unwrap().allowed_agent_ids.reverse();
    f.emu.set_account(API_KEY, before);
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.account(), full_state());
}

/// `plan --out -` is refused before anything is read or sent (it would otherwise write a file named `-`, where
/// `import --out -` prints on stdout), saying how to get the plan on stdout.
#[test]
fn plan_out_dash_is_refused_and_names_the_way_to_stdout() {
    let f = Fixture::with_state(full_state());
    let (code, out, err) = f.run(&["plan", "--out", "-"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("a saved plan is written to a file, not to stdout"), "{err}");
    assert!(err.contains("--format json to print the plan on stdout"), "{err}");
    assert!(!f.path("-").exists());
    assert!(f.emu.requests().is_empty());
}
