//! `driftFingerprint` in `plan --format json`: the same drift gives the same fingerprint on every run and through
//! every endpoint family, other drift another, none when the account matches; with several files an overall one.

use crate::common::*;

fn fingerprint(f: &Fixture, args: &[&str]) -> Option<String> {
    let mut all = vec!["plan", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = f.run(&all);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    doc["driftFingerprint"].as_str().map(str::to_string)
}

/// The account with the file's twilio edited by hand: another agent list.
fn agents_edited(f: &Fixture) {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    f.emu.set_account(API_KEY, state);
}

#[test]
fn the_same_drift_gives_the_same_fingerprint_every_run_and_through_every_family() {
    let f = Fixture::with_state(full_state());
    assert_eq!(fingerprint(&f, &[]), None, "an account that matches has no drift");

    agents_edited(&f);
    let first = fingerprint(&f, &[]).expect("drift has a fingerprint");
    assert_eq!(first.len(), 64);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(fingerprint(&f, &[]).as_deref(), Some(first.as_str()), "the next run");
    for family in ["auto", "provider", "account"] {
        assert_eq!(fingerprint(&f, &["--endpoints", family]).as_deref(), Some(first.as_str()), "{family}");
    }

    // The same kind of edit with other values (another agent dropped) is the same drift: no value goes in.
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_B.into()];
    f.emu.set_account(API_KEY, state);
    assert_eq!(fingerprint(&f, &[]).as_deref(), Some(first.as_str()));

    // Other drift: a secret changed by hand as well, or another field.
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    state.twilio.as_mut().unwrap().auth_token = "hand-set-token-0000".into();
    f.emu.set_account(API_KEY, state);
    let with_secret = fingerprint(&f, &[]).unwrap();
    assert_ne!(with_secret, first);
    let mut state = full_state();
    state.telnyx.as_mut().unwrap().allow_all_agents = false;
    f.emu.set_account(API_KEY, state);
    let other_field = fingerprint(&f, &[]).unwrap();
    assert_ne!(other_field, first);
    assert_ne!(other_field, with_secret);

    // Applied: no drift left.
    agents_edited(&f);
    let (code, _, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fingerprint(&f, &[]), None);
}

#[test]
fn several_files_have_an_overall_fingerprint_over_the_files_with_drift() {
    let f = Fixture::with_state(full_state());
    f.write("repo/a/telephony.yaml", FULL_FILE);
    f.write("repo/a/secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));
    let overall = |f: &Fixture| {
        let (code, out, err) = f.run(&["plan", "-f", "repo", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let file = doc["files"][0]["driftFingerprint"].as_str().map(str::to_string);
        (doc["driftFingerprint"].as_str().map(str::to_string), file)
    };
    assert_eq!(overall(&f), (None, None));
    agents_edited(&f);
    let (all, one) = overall(&f);
    let (all, one) = (all.expect("overall"), one.expect("the file's own"));
    assert_ne!(all, one, "the overall fingerprint names the file");
    assert_eq!(fingerprint(&f, &["-f", "repo/a/telephony.yaml"]).as_deref(), Some(one.as_str()));
    assert_eq!(overall(&f), (Some(all), Some(one)));
}
