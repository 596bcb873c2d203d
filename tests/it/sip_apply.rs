//! SIP writes under failure, end to end against the emulator: each write's fate (written, failed, in doubt, not
//! written) named by its subject in text and in JSON; a registration's POST as a create (at most four POSTs in all,
//! the registrations read again after an ambiguous failure before any new POST: present and matching is done,
//! present and different gets a PATCH, absent gets the POST again); and a registration's PATCH or DELETE answered
//! 404, which means "gone" only with the API's `{"detail": ...}` body. The stop signal's SIP case is in
//! `stop.rs`.

use std::time::Duration;

use serde_json::{Value, json};
use ultravox_emulator::{SipConfig, SipRegistration};

use crate::common::*;

const ALICE_PASSWORD: &str = "Ap4nValicePassT6r2";
const POST_ALICE: &str = "POST /api/sip/registrations authUser,outboundProxy,password,proxy,username";
const ALICE: &str = "registration alice@trunk.example.com";
const CAROL: &str = "registration carol@old-trunk.example.com";

/// The account: SIP allowing 10.0.0.0/8, and two registrations: bob (reg-bob) and carol (reg-carol).
fn account() -> AccountState {
    AccountState::default()
        .with_sip(SipConfig::default().ranges(["10.0.0.0/8"]))
        .with_registration(SipRegistration::new("reg-bob", "bob", "trunk.example.com", "Ob5wKq1mZrX"))
        .with_registration(SipRegistration::new("reg-carol", "carol", "old-trunk.example.com", "Cr4lTz9QwY"))
}

/// A file of SIP settings only: the ranges `ranges`, alice to create, bob kept with `bob` added to his entry.
fn fixture(ranges: &str, bob: &str) -> Fixture {
    let mut f = Fixture::with_state(account());
    f.write(
        "telephony.yaml",
        &format!(
            "sip:\n  allowedCidrRanges: [{ranges}]\nsipRegistrations:\n  - username: alice\n    proxy: \
             trunk.example.com\n    password: {{ env: SIP_ALICE_PASSWORD }}\n  - username: bob\n    proxy: \
             trunk.example.com\n    password: {{ env: SIP_BOB_PASSWORD }}\n{bob}"
        ),
    );
    f.env.insert("SIP_ALICE_PASSWORD".into(), ALICE_PASSWORD.into());
    f.env.insert("SIP_BOB_PASSWORD".into(), "Bq8cJbobPassH3m7w".into());
    f
}

/// The requests from the first write on (the plan's reads are concurrent, in no fixed order).
fn from_first_write(f: &Fixture) -> Vec<String> {
    let lines = f.request_lines_with_fields();
    let first = lines.iter().position(|l| !l.starts_with("GET ")).unwrap_or(lines.len());
    lines[first..].to_vec()
}

fn plan_schema() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap(),
    )
    .unwrap()
}

/// A registration's POST is at most four POSTs in all, counting every round, and says how it ended. 429 and 503 mean
/// "not processed": retried without a read. 502 and a timeout are ambiguous: the registrations are read again before
/// each new POST, and after the last one, which settles it. Any other answer ends the create at once, in doubt (the
/// server did not say it was not done). What was written before it (the SIP config) and what was not sent after it
/// (carol's DELETE) are named.
#[test]
fn a_registration_post_is_at_most_four_attempts_and_its_fate_is_named() {
    let failed = format!("written: sip; failed: {ALICE}; not written: {CAROL}");
    let in_doubt = format!("written: sip; in doubt (it may or may not have landed): {ALICE}; not written: {CAROL}");
    let read = "GET /api/sip/registrations";
    let not_created = format!("{ALICE} was read again after it and is absent: it was not created");
    for (fault, args, message, fate, requests) in [
        (
            Fault::status_retry_after(503, "0"),
            &[][..],
            "answered HTTP 503 (gave up after 4 attempts, the most reconcile makes)",
            &failed,
            vec![POST_ALICE; 4],
        ),
        (
            Fault::status(502),
            &[],
            "answered HTTP 502 (gave up after 4 attempts, the most reconcile makes)",
            &failed,
            [POST_ALICE, read].repeat(4),
        ),
        (
            Fault::Delay(Duration::from_secs(3)),
            &["--timeout", "1"],
            "timed out after 1s (gave up after 4 attempts, the most reconcile makes)",
            &failed,
            [POST_ALICE, read].repeat(4),
        ),
        (Fault::status(500), &[], "answered HTTP 500\n", &in_doubt, vec![POST_ALICE]),
    ] {
        let f = fixture("203.0.113.0/24", "");
        for _ in 0..12 {
            f.emu.push_fault_for("POST", fault.clone());
        }
        let mut command = vec!["apply", "--auto-approve"];
        command.extend_from_slice(args);
        let (code, out, err) = f.run(&command);
        assert_eq!(code, 1, "{fault:?}: {out}{err}");
        assert!(err.contains(&format!("POST {}/api/sip/registrations ", f.emu.url())), "{err}");
        assert!(err.contains(message), "{fault:?}: {err}");
        assert!(err.contains(fate.as_str()), "{fault:?}: {err}");
        assert_eq!(err.contains(&not_created), requests.len() > 4, "{fault:?}: {err}");
        let mut expected = vec!["PATCH /api/sip allowedCidrRanges".to_string()];
        expected.extend(requests.iter().map(|r| r.to_string()));
        assert_eq!(from_first_write(&f), expected, "{fault:?}");
        assert!(f.account().sip_registrations.iter().all(|r| r.username != "alice"), "{fault:?}");
        assert!(f.account().sip_registrations.iter().any(|r| r.username == "carol"), "{fault:?}: not sent");
    }
}

/// After a POST whose answer was lost, the registrations are read again: present and matching is done (no second
/// POST); present and different (someone changed it meanwhile) gets a PATCH of the difference; and a read that fails
/// too leaves the create in doubt, never "failed", with nothing more sent. In JSON, each SIP write's fate is in
/// `writtenSip`, `inDoubtSip`, `failedSip` or `notWrittenSip`.
#[test]
fn a_lost_post_answer_is_read_again_and_decides_what_follows() {
    // Present and matching.
    let f = fixture("203.0.113.0/24", "");
    f.emu.push_fault_for("POST", Fault::DropAfterApply);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        from_first_write(&f),
        [
            "PATCH /api/sip allowedCidrRanges",
            POST_ALICE,
            "GET /api/sip/registrations",
            "DELETE /api/sip/registrations/reg-carol"
        ]
    );
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);

    // Present and different: alice landed, then someone gave her an outbound proxy.
    let f = fixture("203.0.113.0/24", "");
    let meanwhile = AccountState::default()
        .with_sip(SipConfig::default().ranges(["203.0.113.0/24"]))
        .with_registration(SipRegistration::new("reg-bob", "bob", "trunk.example.com", "Ob5wKq1mZrX"))
        .with_registration(SipRegistration::new("reg-carol", "carol", "old-trunk.example.com", "Cr4lTz9QwY"))
        .with_registration(
            SipRegistration::new("reg-alice", "alice", "trunk.example.com", ALICE_PASSWORD)
                .outbound_proxy("someone.example.com"),
        );
    f.emu.push_fault_for("POST", Fault::DropAfterApplyThenSet(Box::new(meanwhile)));
    let (code, out, err) = f.run(&["-v", "apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains(&format!("{ALICE} is present but differs: sending the difference")), "{err}");
    assert_eq!(
        from_first_write(&f),
        [
            "PATCH /api/sip allowedCidrRanges",
            POST_ALICE,
            "GET /api/sip/registrations",
            "PATCH /api/sip/registrations/reg-alice outboundProxy",
            "DELETE /api/sip/registrations/reg-carol"
        ]
    );
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);

    // The read fails too: in doubt, and nothing more is sent. In text, and in JSON.
    for format in ["text", "json"] {
        let f = fixture("203.0.113.0/24", "");
        f.emu.push_fault_for("POST", Fault::DropAfterApplyThenFailReads { status: 503, reads: 4 });
        let (code, out, err) = f.run(&["apply", "--auto-approve", "--format", format]);
        assert_eq!(code, 1, "{format}: {out}{err}");
        let mut expected = vec!["PATCH /api/sip allowedCidrRanges", POST_ALICE];
        expected.extend(["GET /api/sip/registrations"; 4]);
        assert_eq!(
            from_first_write(&f),
            expected,
            "{format}: the read retried within its own attempts, then nothing more"
        );
        let reading = format!("reading {ALICE} again to learn whether it landed failed too");
        if format == "text" {
            assert!(err.contains(&reading), "{err}");
            assert!(
                err.contains(&format!(
                    "written: sip; in doubt (it may or may not have landed): {ALICE}; not written: {CAROL}"
                )),
                "{err}"
            );
        } else {
            let doc: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                doc["apply"],
                json!({"status": "failed", "written": [], "writtenSip": ["sip"], "inDoubtSip": [ALICE],
                    "notWrittenSip": [CAROL]})
            );
            assert!(doc["error"]["message"].as_str().unwrap().contains(&reading), "{out}");
            assert!(jsonschema::validator_for(&plan_schema()).unwrap().is_valid(&doc), "{out}");
        }
        assert!(f.account().sip_registrations.iter().any(|r| r.username == "alice"), "it had landed");
    }
}

/// A registration's PATCH or DELETE answered 404: with the API's `{"detail": "..."}` body the registration is
/// gone (a DELETE is then done; a PATCH failed: the registration is no longer there to update); any other 404 body (a
/// gateway's JSON, an HTML page) is "no such endpoint", naming the URL, and nothing more is sent.
#[test]
fn a_registration_404_means_gone_only_with_the_apis_detail_body() {
    let foreign = r#"{"error": "no such route"}"#;
    let cases: [(&str, Fault, i32, &str); 5] = [
        ("DELETE", Fault::status(404), 0, ""),
        ("DELETE", Fault::status_with_body(404, foreign), 1, "/api/sip/registrations/reg-carol answered HTTP 404"),
        ("DELETE", Fault::status_with_body(404, "<html>Not Found</html>"), 1, "reg-carol answered HTTP 404"),
        ("PATCH", Fault::status_with_body(404, foreign), 1, "/api/sip/registrations/reg-bob answered HTTP 404"),
        ("PATCH", Fault::status(404), 1, "/api/sip/registrations/reg-bob answered HTTP 404: Not found."),
    ];
    for (method, fault, code, message) in cases {
        // The SIP config as the account has it: the writes are alice's POST, bob's PATCH, carol's DELETE.
        let f = fixture("10.0.0.0/8", "    outboundProxy: edge.trunk.example.com\n");
        f.emu.push_fault_for(method, fault.clone());
        let (got, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(got, code, "{method} {fault:?}: {out}{err}");
        let mut writes = vec![POST_ALICE, "PATCH /api/sip/registrations/reg-bob outboundProxy"];
        if method == "DELETE" {
            writes.push("DELETE /api/sip/registrations/reg-carol");
        }
        assert_eq!(f.write_lines(), writes, "{method} {fault:?}: nothing is sent twice, nothing after a failure");
        if code == 0 {
            continue;
        }
        assert!(err.contains(&format!("{method} {}", f.emu.url())), "{err}");
        assert!(err.contains(message), "{method} {fault:?}: {err}");
        let foreign_404 = !matches!(&fault, Fault::Status { body: None, .. });
        assert_eq!(
            err.contains("answered HTTP 404 with no API error body: this server has no such endpoint"),
            foreign_404,
            "{method} {fault:?}: {err}"
        );
        let fate = match method {
            "PATCH" => format!("written: {ALICE}; failed: registration bob@trunk.example.com; not written: {CAROL}"),
            _ => format!("written: {ALICE}, registration bob@trunk.example.com; failed: {CAROL}; not written: none"),
        };
        assert!(err.contains(&fate), "{method} {fault:?}: {err}");
    }
}
