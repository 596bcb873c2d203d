//! Faults end to end: the real binary against an emulator that answers badly, asserting the exit code, what the user
//! reads, and the exact requests the emulator received. Waits are steered with `Retry-After: 0`/`1` so that the suite
//! stays fast; the client's own backoff (about 0.25 s, 0.5 s, 1 s) is exercised by the persistent-503 and
//! connection-refused cases.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;

const STATUS_503: u16 = 503;

/// Runs the binary and also returns how long it took.
fn timed(f: &Fixture, args: &[&str]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let (code, out, err) = f.run(args);
    (code, out, err, started.elapsed())
}

fn retry_after(code: u16, seconds: &str) -> Fault {
    Fault::status_retry_after(code, seconds)
}

/// The account config URL as messages show it.
fn config_url(f: &Fixture) -> String {
    format!("{}/api/accounts/me/telephony_config", f.emu.url())
}

/// A fixture on `family` whose account holds another twilio token than the file: apply has one write to make, an
/// update of twilio, which is a PATCH on every family (the account-level pair's with twilio's block, or the provider
/// endpoint's with `authToken` alone). The write faults below are queued for `PATCH` and play out the same on each.
fn stale_token(family: &str) -> Fixture {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = "an-older-token".into();
    Fixture::with_state(state).family(family)
}

/// The one write [`stale_token`] makes on `family`, as [`Fixture::write_lines`] shows it.
fn token_write(family: &str) -> String {
    if family == "account" {
        format!("{PATCH_CONFIG} twilio")
    } else {
        "PATCH /api/telephony_configs/twilio authToken".to_string()
    }
}

/// The URL of that write as messages show it.
fn token_write_url(f: &Fixture, family: &str) -> String {
    if family == "account" { config_url(f) } else { format!("{}/api/telephony_configs/twilio", f.emu.url()) }
}

/// No secret and no part of one in anything the run printed.
fn assert_no_secret(text: &str) {
    for secret in all_secrets() {
        assert!(!text.contains(secret), "leaked a secret in:\n{text}");
        assert!(!text.contains(&secret[..8]), "leaked part of a secret in:\n{text}");
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as `Retry-After` carries a date.
fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month as usize - 1];
    format!("{weekday}, {day:02} {month} {year} {:02}:{:02}:{:02} GMT", rem / 3600, rem / 60 % 60, rem % 60)
}

#[test]
fn http_date_helper_matches_the_rfc_example() {
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
}

// ---- retried, then success ----

#[test]
fn a_503_with_retry_after_is_retried_after_the_wait_and_the_retry_is_logged() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", retry_after(STATUS_503, "1"));
    let (code, out, err, elapsed) = timed(&f, &["-v", "plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
    assert!(elapsed >= Duration::from_secs(1), "Retry-After: 1 not honoured: {elapsed:?}");
    assert!(
        err.contains(&format!(
            "GET {}: HTTP 503 (attempt 1 of 4); retrying in 1.0s, as the server's Retry-After asks",
            config_url(&f)
        )),
        "{err}"
    );
    assert!(err.contains("INFO"), "the retry is logged at info level: {err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, GET_CONFIG]);
}

#[test]
fn retries_are_silent_without_verbose() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", retry_after(STATUS_503, "0"));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("retrying"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, GET_CONFIG]);
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let f = Fixture::with_state(full_state());
    // Dates have whole seconds: two seconds ahead is a wait of more than one.
    let when = http_date(SystemTime::now() + Duration::from_secs(2));
    f.emu.push_fault_for("GET", Fault::status_retry_after(STATUS_503, when));
    let (code, out, err, elapsed) = timed(&f, &["-v", "plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(elapsed >= Duration::from_secs(1), "the date was not honoured: {elapsed:?}");
    assert!(err.contains("as the server's Retry-After asks"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, GET_CONFIG]);
}

#[test]
fn a_429_twice_then_success_for_plan_and_for_the_write() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", retry_after(429, "0"));
    f.emu.push_fault_for("GET", retry_after(429, "0"));
    let (code, out, err) = f.run(&["-v", "plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("HTTP 429 (attempt 1 of 4); retrying in 0.0s"), "{err}");
    assert!(err.contains("HTTP 429 (attempt 2 of 4); retrying in 0.0s"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG; 3]);

    // A 429 is a refusal before processing: the write is retried too, and lands once.
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", retry_after(429, "0"));
        f.emu.push_fault_for("PATCH", retry_after(429, "0"));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 0 created, 1 updated"), "{out}");
        assert_eq!(f.write_lines(), vec![token_write(family); 3], "{family}");
        let sent = f.sent();
        assert!(sent.windows(2).all(|w| w[0] == w[1]), "{family}: every attempt sends the same write");
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_429_without_retry_after_uses_backoff() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::status(429));
    let (code, out, err, elapsed) = timed(&f, &["-v", "plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("HTTP 429 (attempt 1 of 4); retrying in 0."), "{err}");
    assert!(!err.contains("Retry-After asks"), "{err}");
    assert!(elapsed >= Duration::from_millis(250), "backoff waits at least 0.25 s: {elapsed:?}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, GET_CONFIG]);
}

#[test]
fn gateway_errors_are_retried_for_the_read_and_the_idempotent_write() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", retry_after(502, "0"));
    f.emu.push_fault_for("GET", retry_after(504, "0"));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG; 3]);

    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", retry_after(502, "0"));
        f.emu.push_fault_for("PATCH", retry_after(504, "0"));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(f.write_lines(), vec![token_write(family); 3], "{family}");
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_dropped_connection_then_success() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::Drop);
    let (code, out, err) = f.run(&["-v", "plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
    assert!(err.contains("the connection was closed before a complete answer (attempt 1 of 4); retrying in"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG, GET_CONFIG]);

    // The write was sent when the connection dropped: its outcome is unknown, and repeating it is safe.
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::Drop);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(out.contains("Apply complete: 0 created, 1 updated"), "{out}");
        assert_eq!(f.write_lines(), vec![token_write(family); 2], "{family}");
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_write_that_landed_but_whose_answer_was_lost_is_repeated_safely() {
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::DropAfterApply);
        let (code, out, err) = f.run(&["-v", "apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert!(err.contains("the connection was closed before a complete answer (attempt 1 of 4)"), "{err}");
        assert!(out.contains("Apply complete: 0 created, 1 updated"), "{out}");
        assert_eq!(f.write_lines(), vec![token_write(family); 2], "{family}");
        let sent = f.sent();
        assert_eq!(sent[0], sent[1], "{family}: the repeat is the same write");
        assert_eq!(f.account(), full_state(), "{family}");
        f.emu.clear_requests();
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: {out}");
    }
}

/// A POST (a create through the provider endpoints, `auto` and `provider`) is not repeated blindly: after an
/// ambiguous failure (502, 504, a lost connection, a timeout) the provider is read again first (families.rs shows
/// each decision), and a create makes at most 4 POSTs in all, counting every round. 429 and 503 mean "not processed"
/// (retried without a read); any other answer ends the create. Each case: what the user reads, and the exact
/// requests after the plan's reads.
#[test]
fn a_create_is_at_most_four_posts_in_all_and_says_how_it_ended() {
    let post = format!("POST /api/telephony_configs/twilio {ALL_TWILIO}");
    let post = post.as_str();
    let not_created = "twilio was read again after it and is absent: it was not created";
    let failed = "written: none; failed: twilio; not written: telnyx, plivo";
    let in_doubt = "written: none; in doubt (it may or may not have landed): twilio; not written: telnyx, plivo";
    for family in ["auto", "provider"] {
        for (fault, args, message, fate, requests) in [
            // Not processed, four times: one round of four POSTs, no read; the write failed.
            (
                retry_after(STATUS_503, "0"),
                &[][..],
                "answered HTTP 503 (gave up after 4 attempts, the most reconcile makes)",
                failed,
                vec![post; 4],
            ),
            // A proxy's 502 each time: a read before each new POST, and one after the last, which settles it.
            (
                Fault::status(502),
                &[],
                "answered HTTP 502 (gave up after 4 attempts, the most reconcile makes); twilio was read again",
                failed,
                vec![post, GET_TWILIO, post, GET_TWILIO, post, GET_TWILIO, post, GET_TWILIO],
            ),
            // No answer in time, each time (the emulator never carries out a request whose client left).
            (
                Fault::Delay(Duration::from_secs(3)),
                &["--timeout", "1"],
                "timed out after 1s (gave up after 4 attempts, the most reconcile makes)",
                failed,
                vec![post, GET_TWILIO, post, GET_TWILIO, post, GET_TWILIO, post, GET_TWILIO],
            ),
            // Any other answer ends the create at once; it did not say the write was not done.
            (Fault::status(500), &[], "answered HTTP 500\n", in_doubt, vec![post]),
            (Fault::Malformed, &[], "answered something that is not a telephony config", in_doubt, vec![post]),
        ] {
            let f = Fixture::new().family(family);
            for _ in 0..12 {
                f.emu.push_fault_for("POST", fault.clone());
            }
            let mut command = vec!["apply", "--auto-approve"];
            command.extend_from_slice(args);
            let (code, out, err) = f.run(&command);
            assert_eq!(code, 1, "{family}, {fault:?}: {out}{err}");
            assert!(err.contains(&format!("POST {}/api/telephony_configs/twilio ", f.emu.url())), "{err}");
            assert!(err.contains(message), "{family}, {fault:?}: {err}");
            assert!(err.contains(fate), "{family}, {fault:?}: {err}");
            assert_eq!(err.contains(not_created), requests.len() > 4, "{family}, {fault:?}: {err}");
            let advice = "the write may or may not have been applied: run `reconcile plan`";
            assert_eq!(err.contains(advice), fate == in_doubt, "{family}, {fault:?}: {err}");
            let after_plan = f.request_lines_with_fields()[reads(family).len()..].to_vec();
            assert_eq!(after_plan, requests, "{family}, {fault:?}");
            assert_eq!(f.account().twilio, None, "{family}, {fault:?}");
        }
    }
}

/// The POST lands, its answer is lost, and the read that was to tell whether it landed fails too: the create is in
/// doubt, never "failed" (nor "a failed read changes nothing"), and nothing more is sent.
#[test]
fn a_lost_answer_whose_read_back_fails_is_in_doubt_not_failed() {
    for family in ["auto", "provider"] {
        for (status, reads) in [(500, 1), (503, 4)] {
            let f = Fixture::new().family(family);
            f.emu.push_fault_for("POST", Fault::DropAfterApplyThenFailReads { status, reads });
            let (code, out, err) = f.run(&["apply", "--auto-approve"]);
            assert_eq!(code, 1, "{family}, {status}: {out}{err}");
            let url = f.emu.url();
            assert!(
                err.contains(&format!(
                    "error: POST {url}/api/telephony_configs/twilio failed: the connection was closed before a \
                     complete answer; reading twilio again to learn whether it landed failed too: GET \
                     {url}/api/telephony_configs/twilio answered HTTP {status}"
                )),
                "{family}, {status}: {err}"
            );
            assert!(
                err.contains(
                    "written: none; in doubt (it may or may not have landed): twilio; not written: telnyx, plivo"
                ),
                "{family}, {status}: {err}"
            );
            assert!(err.contains("hint: the create may or may not have landed: run `reconcile plan`"), "{err}");
            assert!(!err.contains("failed: twilio") && !err.contains("a failed read changes nothing"), "{err}");
            let after_plan = f.request_lines()[reads_len(family)..].to_vec();
            let mut expected = vec!["POST /api/telephony_configs/twilio".to_string()];
            expected.extend(vec![GET_TWILIO.to_string(); reads]);
            assert_eq!(after_plan, expected, "{family}, {status}: nothing more is sent");
            // It did land: the next plan shows it, and applying again sends only what is left.
            assert!(f.account().twilio.is_some(), "{family}, {status}");
            f.emu.clear_requests();
            let (code, out, err) = f.run(&["apply", "--auto-approve"]);
            assert_eq!(code, 0, "{family}, {status}: {out}{err}");
            assert_eq!(f.write_lines(), create_all_writes(family)[1..], "{family}, {status}");
            assert_eq!(f.account(), full_state(), "{family}, {status}");
        }
    }
}

/// A create's rounds are spaced like every retry: after an ambiguous failure it waits (the server's `Retry-After`,
/// here on a 502, or the backoff) before it reads the provider again, giving a POST still being processed time to
/// land.
#[test]
fn a_creates_rounds_wait_before_reading_again() {
    let f = Fixture::new().family("provider");
    f.write("telephony.yaml", "plivo:\n  authId: MA1\n  authToken: { env: PLIVO_AUTH_TOKEN }\n");
    f.emu.push_fault_for("POST", retry_after(502, "2"));
    f.emu.push_fault_for("POST", Fault::status(504));
    let (code, out, err, elapsed) = timed(&f, &["apply", "--auto-approve", "-v"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("waiting 2.0s, as the server's Retry-After asks, before reading again whether it landed"),
        "{err}"
    );
    assert!(err.contains("s before reading again whether it landed"), "{err}");
    assert_eq!(err.matches("before reading again whether it landed").count(), 2, "{err}");
    assert!(elapsed >= Duration::from_secs(2), "the server's Retry-After was honoured: {elapsed:?}");
    let post = "POST /api/telephony_configs/plivo".to_string();
    let get = GET_PLIVO.to_string();
    assert_eq!(f.request_lines()[3..], [post.clone(), get.clone(), post.clone(), get, post]);
}

/// The number of reads a plan makes on `family`.
fn reads_len(family: &str) -> usize {
    reads(family).len()
}

/// The 60 s budget holds across a create's rounds: a round after a read starts no POST that the budget does not
/// allow. Here 503 asks for 30 s, the repeat's answer is lost (502) and twilio is absent, and the next POST's 503
/// would need 30 s more: the create stops at 60 s, after 3 POSTs in all, and reads twilio once more (the lost answer's
/// POST may have landed since) before it says the create failed. (About 30 s: the budget is the product's, and no
/// option shortens it.)
#[test]
fn the_time_budget_holds_across_a_creates_rounds() {
    let f = Fixture::new().family("provider");
    f.emu.push_fault_for("POST", retry_after(STATUS_503, "30"));
    f.emu.push_fault_for("POST", Fault::status(502));
    f.emu.push_fault_for("POST", retry_after(STATUS_503, "30"));
    f.emu.push_fault_for("POST", retry_after(STATUS_503, "30"));
    let (code, out, err, elapsed) = timed(&f, &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("answered HTTP 503 (gave up after 3 attempts: another would pass the 60s retry budget)"),
        "{err}"
    );
    let post = "POST /api/telephony_configs/twilio".to_string();
    assert_eq!(
        f.request_lines()[3..],
        [post.clone(), post.clone(), GET_TWILIO.to_string(), post, GET_TWILIO.to_string()]
    );
    assert!(elapsed >= Duration::from_secs(30), "the server's Retry-After was honoured: {elapsed:?}");
}

#[test]
fn a_connection_that_keeps_dropping_is_bounded() {
    let f = Fixture::with_state(full_state());
    for _ in 0..5 {
        f.emu.push_fault_for("GET", Fault::Drop);
    }
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "GET {} failed: the connection was closed before a complete answer (gave up after 4 attempts, the most \
             reconcile makes)",
            config_url(&f)
        )),
        "{err}"
    );
    assert!(err.contains("hint: check the network and --api-url"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG; 4]);
}

#[test]
fn a_refused_connection_is_retried_with_backoff_then_fails() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let f = Fixture::new();
    let url = format!("http://127.0.0.1:{port}");
    let (code, out, err, elapsed) = timed(&f, &["-v", "plan", "--api-url", &url]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("could not connect (attempt 1 of 4); retrying in 0."), "{err}");
    assert!(err.contains("could not connect (attempt 3 of 4); retrying in 1."), "{err}");
    assert!(
        err.contains(&format!(
            "GET {url}/api/accounts/me/telephony_config failed: could not connect (gave up after 4 attempts"
        )),
        "{err}"
    );
    // Backoff 0.25 + 0.5 + 1 s, each plus up to half again.
    assert!(elapsed >= Duration::from_millis(1750), "{elapsed:?}");
    assert!(f.emu.requests().is_empty());
}

// ---- bounded, then a clear error ----

#[test]
fn a_persistent_503_stops_after_four_attempts() {
    let f = Fixture::with_state(full_state());
    f.emu.set_always_fail(Some(STATUS_503));
    let (code, out, err, elapsed) = timed(&f, &["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "GET {} answered HTTP 503 (gave up after 4 attempts, the most reconcile makes): Service temporarily \
             unavailable, try again later.",
            config_url(&f)
        )),
        "{err}"
    );
    assert!(err.contains("hint: the API is failing; try again later"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG; 4]);
    assert!(elapsed >= Duration::from_millis(1750), "{elapsed:?}");
    assert!(out.is_empty(), "{out}");
}

/// A 503 says the API did not process the request: four of them on a write are a failure, not a doubt.
#[test]
fn a_persistent_503_on_the_write_is_bounded_and_says_it_was_not_done() {
    for family in FAMILIES {
        let f = stale_token(family);
        for _ in 0..8 {
            f.emu.push_fault_for("PATCH", retry_after(STATUS_503, "0"));
        }
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains(&format!("PATCH {} answered HTTP 503", token_write_url(&f, family))), "{err}");
        assert!(err.contains("answered HTTP 503 (gave up after 4 attempts"), "{err}");
        assert!(err.contains("hint: the API is unavailable and did not process the write; try again later"), "{err}");
        assert!(!err.contains("may or may not"), "{err}");
        assert_eq!(f.write_lines(), vec![token_write(family); 4], "{family}");
        assert_ne!(f.account(), full_state(), "{family}");
    }
    // After a 502 (it may have been processed), a 503 to the repeat leaves the write in doubt.
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", retry_after(502, "0"));
        for _ in 0..3 {
            f.emu.push_fault_for("PATCH", retry_after(STATUS_503, "0"));
        }
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains("answered HTTP 503 (gave up after 4 attempts"), "{err}");
        assert!(err.contains("hint: the write may or may not have been applied: run `reconcile plan`"), "{err}");
        assert_eq!(f.write_lines(), vec![token_write(family); 4], "{family}");
    }
}

#[test]
fn a_retry_after_longer_than_the_cap_is_not_waited_for() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", retry_after(429, "120"));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "answered HTTP 429 (gave up after 1 attempt: the server asked to retry after 120s, longer than the 30s \
             reconcile waits): Request was throttled."
        ),
        "{err}"
    );
    assert!(err.contains("hint: the API is rate limiting this key; try again in a minute"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn a_persistent_500_is_not_retried() {
    let f = Fixture::with_state(full_state());
    f.emu.set_always_fail(Some(500));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("error: GET {} answered HTTP 500\n", config_url(&f))), "{err}");
    assert!(err.contains("hint: the API is failing; try again later (a failed read changes nothing)"), "{err}");
    assert!(!err.contains("<h1>"), "an HTML page is not shown: {err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    // On the write: one request, and the user learns the outcome is unknown.
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::status(500));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains(&format!("PATCH {} answered HTTP 500", token_write_url(&f, family))), "{err}");
        assert!(err.contains("hint: the write may or may not have been applied"), "{err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
    }
}

#[test]
fn unauthorized_and_forbidden_are_one_request() {
    let mut f = Fixture::with_state(full_state());
    f.env.insert("ULTRAVOX_API_KEY".into(), "wrong-key-0000".into());
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("GET {} answered HTTP 401: Invalid API key.", config_url(&f))), "{err}");
    assert!(err.contains("hint: check the Ultravox API key"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    let f = Fixture::with_state(AccountState { forbidden: true, ..full_state() });
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("answered HTTP 403: You do not have permission to perform this action."), "{err}");
    assert!(err.contains("hint: the API key may not do this"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);

    // A 403 on the write: refused, so not unknown, and not retried.
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::status(403));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains(&format!("PATCH {} answered HTTP 403", token_write_url(&f, family))), "{err}");
        assert!(!err.contains("may or may not"), "{err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
        assert_ne!(f.account(), full_state(), "{family}");
    }
}

// ---- hostile answers ----

#[test]
fn a_malformed_answer_is_one_request_and_a_clear_error() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::Malformed);
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "GET {} answered something that is not a telephony config: the answer is not valid JSON",
            config_url(&f)
        )),
        "{err}"
    );
    assert!(err.contains("hint: check --api-url"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
    assert!(out.is_empty(), "no plan from a bad answer: {out}");

    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::WrongShape);
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "answered something that is not a telephony config: `twilio` should be an object or null, found a number"
        ),
        "{err}"
    );
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn a_malformed_answer_to_the_write_says_to_check_the_account() {
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::Malformed);
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(
            err.contains(&format!(
                "PATCH {} answered something that is not a telephony config",
                token_write_url(&f, family)
            )),
            "{err}"
        );
        assert!(err.contains("hint: the API accepted the write but its answer is unreadable"), "{err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
    }
}

#[test]
fn an_oversized_answer_is_refused() {
    let f = Fixture::with_state(full_state());
    let huge = format!(r#"{{"twilio": null, "padding": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
    f.emu.push_fault_for("GET", Fault::Status { code: 200, body: Some(huge), retry_after: None });
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the answer is larger than 4194304 bytes"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn a_slow_answer_past_timeout_is_one_request_and_a_clear_error() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::Delay(Duration::from_secs(3)));
    let (code, out, err, elapsed) = timed(&f, &["plan", "--timeout", "1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("error: GET {} timed out after 1s\n", config_url(&f))), "{err}");
    assert!(err.contains("hint: the server is slow or unreachable; try again, or raise --timeout"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG], "a timeout is not retried");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_slow_answer_within_timeout_succeeds() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::Delay(Duration::from_millis(300)));
    let (code, out, err) = f.run(&["plan", "--timeout", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
}

#[test]
fn a_write_that_times_out_is_reported_as_unknown_and_plan_shows_the_truth() {
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::Delay(Duration::from_secs(5)));
        let (code, out, err) = f.run(&["apply", "--auto-approve", "--timeout", "1"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(
            err.contains(&format!("error: PATCH {} timed out after 1s\n", token_write_url(&f, family))),
            "{family}: {err}"
        );
        assert!(err.contains("hint: the write may or may not have been applied: run `reconcile plan`"), "{err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}: a timed-out write is not repeated");

        // The emulator has not answered the write: plan says what is still to do, and applying again converges.
        f.emu.clear_requests();
        let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}: {out}{err}");
        assert_eq!(f.request_lines(), reads(family), "{family}");
        f.emu.clear_requests();
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        assert_eq!(f.request_lines_with_fields(), with(reads(family), &[&token_write(family)]), "{family}");
        assert_eq!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_the_key_goes_nowhere() {
    let other = Emulator::start(EmulatorConfig::default());
    let f = Fixture::with_state(full_state());
    let target = format!("{}/api/accounts/me/telephony_config", other.url());
    f.emu.push_fault_for("GET", Fault::Redirect { status: 307, location: target.clone() });
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "GET {} answered a redirect (HTTP 307) to {target}; it was not followed, and the API key was not sent there",
            config_url(&f)
        )),
        "{err}"
    );
    assert!(err.contains("hint: check --api-url"), "{err}");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
    assert!(other.requests().is_empty(), "the other origin got {:?}", other.requests());

    // On the write as well (308 keeps the method and body, were it followed).
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::Redirect { status: 308, location: target.clone() });
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(
            err.contains(&format!("PATCH {} answered a redirect (HTTP 308)", token_write_url(&f, family))),
            "{err}"
        );
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
        assert!(other.requests().is_empty(), "the other origin got {:?}", other.requests());
        assert_ne!(f.account(), full_state(), "{family}");
    }
}

#[test]
fn a_redirect_location_with_credentials_is_shown_without_them() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for(
        "GET",
        Fault::Redirect { status: 302, location: format!("https://user:{TWILIO_TOKEN}@evil.example/x?key={API_KEY}") },
    );
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("answered a redirect (HTTP 302) to https://evil.example/x;"), "{err}");
    assert_no_secret(&err);
}

#[test]
fn an_error_that_echoes_secrets_is_hidden_message_by_message() {
    for family in FAMILIES {
        // The account holds another twilio token, whose 6-character prefix the GET shows: apply sends the local one.
        let mut state = full_state();
        state.twilio.as_mut().unwrap().auth_token = "RPFXtw-remote-secret".into();
        let f = Fixture::with_state(state).family(family);
        f.emu.set_prefix_length(6);
        // The account-level pair nests its field messages by provider; a provider endpoint answers for its own.
        let fields = format!(
            r#""authToken": ["{TWILIO_TOKEN} is not a valid token (was RPFXtw)"], "accountSid": ["RPFXtw is not a prefix of it"]"#
        );
        let fields = if family == "account" { format!(r#""twilio": {{{fields}}}"#) } else { fields };
        let echo = format!(
            r#"{{{fields}, "detail": "key {API_KEY}, telnyx {TELNYX_API_KEY} and {TELNYX_PUBLIC_KEY}, plivo {PLIVO_TOKEN}"}}"#
        );
        f.emu.push_fault_for("PATCH", Fault::Status { code: 400, body: Some(echo), retry_after: None });
        let (code, out, err) = f.run(&["-vvv", "apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains("answered HTTP 400"), "{err}");
        // A message that holds a secret is hidden whole; the field it names is still said.
        let field = |name: &str| if family == "account" { format!("twilio.{name}") } else { name.to_string() };
        assert!(
            err.contains(&format!("\n  {}: [hidden: holds part of a secret]\n", field("authToken"))),
            "{family}: {err}"
        );
        assert!(err.contains("\n  [hidden: holds part of a secret]\n"), "{family}: {err}");
        // The account's prefix, standing as a word in the server's free text, is hidden on its own.
        assert!(
            err.contains(&format!("\n  {}: [hidden: a secret's prefix] is not a prefix of it\n", field("accountSid"))),
            "{family}: {err}"
        );
        assert_no_secret(&format!("{out}{err}"));
        assert!(!format!("{out}{err}").contains("RPFXtw"), "the remote prefix leaked: {out}{err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
    }
}

#[test]
fn a_long_echo_is_checked_before_it_is_cut() {
    let f = Fixture::with_state(full_state());
    // The secret straddles the 300-character cut: cutting first would leave its head, under a piece's length, shown.
    let detail = format!("{}{API_KEY}", "x".repeat(295));
    f.emu.push_fault_for("GET", Fault::status_with_body(400, format!(r#"{{"detail": "{detail}"}}"#)));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("answered HTTP 400: [hidden: holds part of a secret]\n"), "{err}");
    assert!(!err.contains(&API_KEY[..5]) && !err.contains("xxxxx"), "{err}");
}

#[test]
fn a_server_message_cannot_drive_the_terminal() {
    let f = Fixture::with_state(full_state());
    f.emu.push_fault_for("GET", Fault::status_with_body(400, r#"{"detail": "bad\u001b[2J\u001b[31m thing\u202e"}"#));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(!err.contains('\u{202e}'), "{err:?}");
    // The one cleaner (the same as for plans and diagnostics) writes each control character as `\u{...}`.
    assert!(err.contains("bad\\u{001b}[2J\\u{001b}[31m thing\\u{202e}"), "{err:?}");
}

#[test]
fn a_flood_of_server_messages_is_cut_short() {
    let f = Fixture::with_state(full_state());
    let fields: Vec<String> = (0..100).map(|i| format!(r#""f{i:03}": ["bad"]"#)).collect();
    f.emu.push_fault_for("GET", Fault::status_with_body(400, format!("{{{}}}", fields.join(","))));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("f018: bad"), "{err}");
    assert!(!err.contains("f019: bad"), "{err}");
    assert!(err.contains("… and 81 more"), "{err}");
}

// ---- hostile secret files ----

#[test]
fn huge_binary_and_non_utf8_secret_files_are_clear_errors_naming_the_file() {
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("huge", vec![b'k'; 65 * 1024], "is larger than 65536 bytes"),
        ("binary", b"KEY\0\x01\x02binary".to_vec(), "is not UTF-8 text"),
        ("latin1", b"KEY-caf\xe9-latin1".to_vec(), "is not UTF-8 text"),
    ];
    for (name, bytes, expected) in cases {
        let f = Fixture::new();
        std::fs::write(f.path("secrets/telnyx-api-key"), &bytes).unwrap();
        let (code, out, err) = f.run(&["plan"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(err.contains("telnyx.apiKey: file secrets/telnyx-api-key"), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("telephony.yaml:12:"), "{name}: the error is located: {err}");
        assert!(err.contains("hint: put only the secret in the file"), "{name}: {err}");
        assert!(!err.contains("KEY") && !err.contains("kkkk"), "{name}: no content shown: {err}");
        assert!(f.emu.requests().is_empty(), "{name}: nothing is sent");
    }
}

/// A PATCH answered with the API's own 404 (`{"detail": "Not found."}`): what it was to change is no longer there
/// (deleted by someone else since the plan was made). The hint says so and sends to `plan`, never to --api-url; on
/// `account`, where the 404 is the account-level endpoint's, the hint is that endpoint's own.
#[test]
fn a_patch_answered_with_the_apis_404_says_what_was_to_change_is_gone() {
    for family in FAMILIES {
        let f = stale_token(family);
        f.emu.push_fault_for("PATCH", Fault::status(404));
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 1, "{family}: {out}{err}");
        assert!(err.contains(&format!("PATCH {} answered HTTP 404", token_write_url(&f, family))), "{family}: {err}");
        assert_eq!(f.write_lines(), [token_write(family)], "{family}");
        let gone = "hint: what this write was to change is no longer on the account (deleted since the plan was made?): \
                    run `reconcile plan` to see the account as it is now";
        assert_eq!(err.contains(gone), family != "account", "{family}: {err}");
        assert!(!err.contains("hint: check --api-url"), "{family}: {err}");
        assert_no_secret(&err);
    }
}
