//! The leak canary: every command, success and failure paths, at the highest verbosity and with RUST_LOG=trace.
//! No secret value, no part of one, and no remote prefix may appear in any output. Each run asserts its exit code,
//! a text proving it reached the path it covers, and whether it sent a write, so that the canary cannot pass by
//! failing early.

use crate::common::*;

/// Remote secrets differ from the local ones, so that their prefixes are distinct strings we can look for.
const REMOTE_TWILIO: &str = "RPFXtw-remote-secret-1";
const REMOTE_TELNYX_KEY: &str = "RPFXtk-remote-secret-2";
const REMOTE_TELNYX_PUB: &str = "RPFXtp-remote-secret-3";
const REMOTE_PLIVO: &str = "RPFXpl-remote-secret-4";

fn remote_with_other_secrets() -> AccountState {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().auth_token = REMOTE_TWILIO.into();
    let telnyx = state.telnyx.as_mut().unwrap();
    telnyx.api_key = REMOTE_TELNYX_KEY.into();
    telnyx.public_key = REMOTE_TELNYX_PUB.into();
    state.plivo.as_mut().unwrap().auth_token = REMOTE_PLIVO.into();
    state
}

/// Substrings that must never be printed: each local secret, every piece of 8 characters of one, and each remote
/// prefix.
fn forbidden() -> Vec<String> {
    let mut out = Vec::new();
    for secret in all_secrets() {
        out.push(secret.to_string());
        let chars: Vec<char> = secret.chars().collect();
        out.extend(chars.windows(8).map(|w| w.iter().collect::<String>()));
    }
    for remote in [REMOTE_TWILIO, REMOTE_TELNYX_KEY, REMOTE_TELNYX_PUB, REMOTE_PLIVO] {
        out.push(remote.chars().take(6).collect());
        out.push(remote.to_string());
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    assert_clean_of(what, text, &forbidden());
}

fn assert_clean_of(what: &str, text: &str, needles: &[String]) {
    for needle in needles {
        assert!(!text.contains(needle.as_str()), "{what}: leaked {needle:?} in:\n{text}");
    }
}

/// One invocation of the canary: its arguments, the exit code it must end with, a text its output must hold (proof
/// that it reached the path it covers), and whether it must have sent a write.
struct Run<'a> {
    args: &'a [&'a str],
    code: i32,
    evidence: &'a str,
    writes: bool,
}

fn run<'a>(args: &'a [&'a str], code: i32, evidence: &'a str) -> Run<'a> {
    Run { args, code, evidence, writes: false }
}

fn writing<'a>(args: &'a [&'a str], code: i32, evidence: &'a str) -> Run<'a> {
    Run { args, code, evidence, writes: true }
}

/// Runs each at `-vvv` and at the default verbosity (RUST_LOG=trace both times), calling `setup` before each run so
/// that every run starts from the same account and faults; checks its exit code, its evidence, its writes, and that
/// nothing secret was printed.
fn run_all(f: &Fixture, label: &str, runs: &[Run<'_>], setup: &dyn Fn(&Fixture)) -> usize {
    run_all_checking(f, label, runs, setup, &forbidden())
}

/// [`run_all`], checking that none of `needles` is printed.
fn run_all_checking(f: &Fixture, label: &str, runs: &[Run<'_>], setup: &dyn Fn(&Fixture), needles: &[String]) -> usize {
    let mut count = 0;
    for one in runs {
        for verbosity in [&["-vvv"][..], &[]] {
            setup(f);
            let mut full: Vec<&str> = verbosity.to_vec();
            full.extend_from_slice(one.args);
            let writes_before = f.emu.requests().iter().filter(|r| r.method != "GET").count();
            let output = f.cmd(&full).env("RUST_LOG", "trace").output().unwrap();
            let text =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            let what = format!("{label}: reconcile {}", full.join(" "));
            assert_eq!(output.status.code(), Some(one.code), "{what}: exit code\n{text}");
            assert!(text.contains(one.evidence), "{what}: did not reach {:?}:\n{text}", one.evidence);
            let writes = f.emu.requests().iter().filter(|r| r.method != "GET").count() - writes_before;
            assert_eq!(writes > 0, one.writes, "{what}: {writes} write(s) sent\n{text}");
            assert_clean_of(&what, &text, needles);
            count += 1;
        }
    }
    count
}

fn nothing(_: &Fixture) {}

/// Puts the account back as it was, so that each apply has something to write.
fn reset(f: &Fixture) {
    f.emu.clear_faults();
    f.emu.set_account(API_KEY, remote_with_other_secrets());
}

// The writes, their bodies and the servers' answers to them differ by family: each is checked, in a test of its own
// so that the three (each a few seconds of retries and timeouts) run at the same time.

#[test]
fn no_secret_or_prefix_reaches_any_output_on_auto() {
    assert_eq!(no_secret_or_prefix_reaches_any_output_on("auto"), 38);
}

#[test]
fn no_secret_or_prefix_reaches_any_output_on_provider() {
    assert_eq!(no_secret_or_prefix_reaches_any_output_on("provider"), 38);
}

#[test]
fn no_secret_or_prefix_reaches_any_output_on_account() {
    assert_eq!(no_secret_or_prefix_reaches_any_output_on("account"), 38);
}

fn no_secret_or_prefix_reaches_any_output_on(family: &str) -> usize {
    let mut ran = 0;

    // Plans and applies that succeed, with a 6-character prefix so that remote prefixes are distinctive.
    let f = Fixture::with_state(remote_with_other_secrets()).family(family);
    f.emu.set_prefix_length(6);
    ran += run_all(
        &f,
        &format!("{family}: success"),
        &[
            run(&["validate"], 0, "is valid"),
            run(&["plan"], 0, "will be sent"),
            run(&["plan", "--rotate"], 0, "rotation requested"),
            run(&["plan", "--detailed-exitcode"], 2, "will be sent"),
        ],
        &nothing,
    );
    ran += run_all(
        &f,
        &format!("{family}: refused apply"),
        &[run(&["apply"], 1, "standard input is not a terminal")],
        &nothing,
    );
    ran += run_all(
        &f,
        &format!("{family}: apply"),
        &[
            writing(&["apply", "--auto-approve"], 0, "Apply complete"),
            writing(&["apply", "--auto-approve", "--rotate"], 0, "Apply complete"),
        ],
        &reset,
    );

    // A server that echoes the secrets back in a 400 and in a 500.
    let echo = format!(
        r#"{{"twilio": {{"authToken": ["{TWILIO_TOKEN} is not valid"]}}, "detail": "key {API_KEY} prefix {}"}}"#,
        &REMOTE_PLIVO[..6]
    );
    ran += run_all(
        &f,
        &format!("{family}: 400 echo"),
        &[writing(&["apply", "--auto-approve"], 1, "HTTP 400")],
        &|f: &Fixture| {
            reset(f);
            f.emu.push_fault_for("PATCH", Fault::Status { code: 400, body: Some(echo.clone()), retry_after: None });
        },
    );
    f.emu.set_always_fail(Some(500));
    ran += run_all(&f, &format!("{family}: 500"), &[run(&["plan"], 1, "HTTP 500")], &nothing);
    f.emu.set_always_fail(None);

    // Fault paths: retries that run out while echoing secrets (a remote prefix only once a GET has shown it), a
    // dropped connection, a redirect whose target carries secrets, a write that times out.
    let echo_secrets = format!(r#"{{"detail": "key {API_KEY} token {PLIVO_TOKEN}"}}"#);
    let echo_prefix = format!(r#"{{"detail": "key {API_KEY} prefix {} token {PLIVO_TOKEN}"}}"#, &REMOTE_PLIVO[..6]);
    for (method, echo, args, writes) in [
        ("GET", &echo_secrets, &["plan"][..], false),
        ("PATCH", &echo_prefix, &["apply", "--auto-approve", "--rotate"][..], true),
    ] {
        let setup = |f: &Fixture| {
            reset(f);
            // Enough to exhaust every attempt (4) of each of the provider family's three concurrent reads.
            for _ in 0..12 {
                f.emu.push_fault_for(
                    method,
                    Fault::Status { code: 503, body: Some(echo.clone()), retry_after: Some("0".into()) },
                );
            }
        };
        let one = Run { args, code: 1, evidence: "HTTP 503", writes };
        ran += run_all(&f, &format!("{family}: {method} 503 echo, retried"), &[one], &setup);
    }
    ran += run_all(
        &f,
        &format!("{family}: dropped write"),
        &[writing(&["apply", "--auto-approve", "--rotate"], 1, "connection")],
        &|f: &Fixture| {
            reset(f);
            for _ in 0..8 {
                f.emu.push_fault_for("PATCH", Fault::Drop);
            }
        },
    );
    let location = format!("https://u:{TWILIO_TOKEN}@elsewhere.example/{API_KEY}?k={PLIVO_TOKEN}");
    ran += run_all(&f, &format!("{family}: redirect"), &[run(&["plan"], 1, "redirect")], &|f: &Fixture| {
        reset(f);
        f.emu.push_fault_for("GET", Fault::Redirect { status: 307, location: location.clone() });
    });
    ran += run_all(
        &f,
        &format!("{family}: write timeout"),
        &[writing(&["apply", "--auto-approve", "--rotate", "--timeout", "1"], 1, "timed out")],
        &|f: &Fixture| {
            reset(f);
            for _ in 0..8 {
                f.emu.push_fault_for("PATCH", Fault::Delay(std::time::Duration::from_secs(3)));
            }
        },
    );
    reset(&f);

    // Failures before the network: unknown key, missing variable, literal secret.
    let mut f = Fixture::with_state(remote_with_other_secrets()).family(family);
    f.env.insert("ULTRAVOX_API_KEY".into(), format!("{TWILIO_TOKEN}-as-key"));
    ran += run_all(
        &f,
        &format!("{family}: 401"),
        &[run(&["plan"], 1, "HTTP 401"), run(&["apply", "--auto-approve"], 1, "HTTP 401")],
        &nothing,
    );
    f.env.insert("ULTRAVOX_API_KEY".into(), API_KEY.into());
    f.env.remove("PLIVO_AUTH_TOKEN");
    ran +=
        run_all(&f, &format!("{family}: missing env"), &[run(&["plan"], 1, "PLIVO_AUTH_TOKEN is not set")], &nothing);
    f.write("telephony.yaml", &FULL_FILE.replace("{ env: TWILIO_AUTH_TOKEN }", TWILIO_TOKEN));
    ran += run_all(
        &f,
        &format!("{family}: literal"),
        &[run(&["validate"], 1, "is a literal secret"), run(&["plan"], 1, "is a literal secret")],
        &nothing,
    );

    ran
}

/// Every format and every file the tool writes: JSON, Markdown, saved plans, imported files.
#[test]
fn no_secret_or_prefix_reaches_any_format_or_file() {
    let f = Fixture::with_state(remote_with_other_secrets());
    f.emu.set_prefix_length(6);
    let mut ran = run_all(
        &f,
        "formats",
        &[
            run(&["plan", "--format", "json"], 0, "\"hasChanges\": true"),
            run(&["plan", "--format", "markdown"], 0, "### reconcile plan: 0 to create, 3 to update"),
            run(&["plan", "--rotate", "--format", "json"], 0, "\"rotationRequested\""),
            run(&["plan", "--out", "plan.json", "--format", "markdown"], 0, "Saved the plan to plan.json"),
            run(&["schema"], 0, "\"$schema\""),
            run(&["schema", "--for", "plan"], 0, "\"$schema\""),
            run(&["import", "--out", "-"], 0, "Printed the file on stdout"),
            run(&["import", "--out", "imported.yaml", "--force"], 0, "Wrote imported.yaml"),
        ],
        &nothing,
    );
    for file in ["plan.json", "imported.yaml"] {
        let text = std::fs::read_to_string(f.path(file)).unwrap();
        assert_clean(file, &text);
    }
    // Each run applies the same saved plan to the account it was made against.
    ran += run_all(
        &f,
        "apply plan file",
        &[writing(&["apply", "plan.json", "--format", "json"], 0, "\"status\": \"applied\"")],
        &reset,
    );
    // The account changed: the saved plan is refused, and the refusal shows nothing either.
    f.emu.set_account(API_KEY, remote_with_other_secrets());
    let (code, _, err) = f.run(&["plan", "--out", "stale.json"]);
    assert_eq!(code, 0, "{err}");
    f.emu.set_account(API_KEY, full_state());
    ran += run_all(
        &f,
        "stale plan",
        &[
            run(&["apply", "stale.json"], 1, "changed since the plan was made"),
            run(&["apply", "--auto-approve", "--format", "markdown"], 0, "Nothing to apply"),
        ],
        &nothing,
    );
    assert_eq!(ran, 22);
}

/// Values that hold secrets, on both sides: an identifier the file reads from a secret's variable, the account's
/// identifier and mapping value holding secrets. Every format shows them hidden, the
/// saved plan applies, and `import` stops rather than write the API key into a file.
#[test]
fn no_secret_or_prefix_reaches_output_where_values_hold_secrets() {
    let mut state = remote_with_other_secrets();
    let twilio = state.twilio.as_mut().unwrap();
    twilio.account_sid = format!("AC{TWILIO_TOKEN}");
    twilio.request_context_mapping.insert("From".into(), format!("user.{PLIVO_TOKEN}"));
    let mut f = Fixture::with_state(state.clone()).family("auto");
    f.emu.set_prefix_length(6);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace("applicationSid: \"1234567890123456789\"", "applicationSid: { env: APP_SID }"),
    );
    f.env.insert("APP_SID".into(), format!("app-{TELNYX_PUBLIC_KEY}"));
    let mut ran = run_all(
        &f,
        "hidden values",
        &[
            run(&["plan"], 0, "[hidden: holds part of a secret]"),
            run(&["plan", "--format", "json"], 0, "\"[hidden: holds part of a secret]\""),
            run(&["plan", "--format", "markdown"], 0, "<code>[hidden: holds part of a secret]</code>"),
            run(&["plan", "--out", "plan.json"], 0, "Saved the plan"),
        ],
        &nothing,
    );
    assert_clean("plan.json", &std::fs::read_to_string(f.path("plan.json")).unwrap());
    ran += run_all(&f, "hidden values applied", &[writing(&["apply", "plan.json"], 0, "Apply complete")], &|f| {
        f.emu.set_account(API_KEY, state.clone());
    });
    let mut held = remote_with_other_secrets();
    held.plivo.as_mut().unwrap().auth_id = format!("MA{API_KEY}");
    f.emu.set_account(API_KEY, held);
    ran += run_all(
        &f,
        "import of a value holding the API key",
        &[run(&["import", "--out", "-"], 1, "the account's plivo.authId holds part of the Ultravox API key")],
        &nothing,
    );
    assert_eq!(ran, 12);
}

/// Agents written by name: the lookups, the plan that shows names, and the errors for missing or ambiguous names.
#[test]
fn no_secret_or_prefix_reaches_output_when_agents_are_named() {
    let mut state = remote_with_other_secrets();
    state.agents = vec![
        ultravox_emulator::Agent::new(AGENT_A, "Sales"),
        ultravox_emulator::Agent::new(AGENT_B, "Twin"),
        ultravox_emulator::Agent::new("11111111-2222-4333-8444-555555555555", "Twin"),
    ];
    let f = Fixture::with_state(state.clone());
    f.emu.set_prefix_length(6);
    let named = FULL_FILE.replace("    - 3c90c3cc-0d44-4b50-8888-8dd25736052a\n", "    - { agent: Sales }\n");
    f.write("telephony.yaml", &named);
    let mut ran = run_all(
        &f,
        "named agents",
        &[run(&["plan"], 0, "twilio will be updated"), run(&["plan", "--format", "markdown"], 0, "### reconcile plan")],
        &nothing,
    );
    ran += run_all(&f, "named agents apply", &[writing(&["apply", "--auto-approve"], 0, "Apply complete")], &|f| {
        f.emu.set_account(API_KEY, state.clone());
    });
    f.write("telephony.yaml", &named.replace("{ agent: Sales }", "{ agent: Twin }"));
    ran += run_all(&f, "ambiguous name", &[run(&["plan"], 1, "2 agents are named \"Twin\"")], &nothing);
    f.write("telephony.yaml", &named.replace("{ agent: Sales }", "{ agent: Nobody }"));
    ran += run_all(&f, "missing name", &[run(&["plan"], 1, "no agent is named \"Nobody\"")], &nothing);
    assert_eq!(ran, 10);
}

/// Several files, each its own account: no file's secrets show in any output, even where a server echoes another
/// file's secrets in an error shown beside it, and in the refusal of two files sharing an account.
#[test]
fn no_secret_leaks_across_files() {
    const OTHER_KEY: &str = "other-account-key-Q9W8E7";
    const OTHER_TOKEN: &str = "other-twilio-token-P0O9I8";
    let mut f = Fixture::with_state(remote_with_other_secrets());
    f.emu.set_prefix_length(6);
    f.emu.set_account(
        OTHER_KEY,
        AccountState {
            twilio: Some(Twilio { auth_token: "RPFXot-remote-secret-5".into(), ..full_state().twilio.unwrap() }),
            ..AccountState::default()
        },
    );
    f.write(
        "other/telephony.yaml",
        "account:\n  apiKey: { env: OTHER_KEY }\ntwilio:\n  accountSid: AC0123456789abcdef0123456789abcdef\n  authToken: { env: OTHER_TOKEN }\n",
    );
    f.env.insert("OTHER_KEY".into(), OTHER_KEY.into());
    f.env.insert("OTHER_TOKEN".into(), OTHER_TOKEN.into());
    let mut needles = forbidden();
    for secret in [OTHER_KEY, OTHER_TOKEN, "RPFXot-remote-secret-5"] {
        needles.push(secret.to_string());
        needles.push(secret.chars().take(8).collect());
    }
    let check = |f: &Fixture, label: &str, args: &[&str]| {
        for verbosity in [&["-vvv"][..], &[]] {
            let mut full: Vec<&str> = verbosity.to_vec();
            full.extend_from_slice(&["-f", "telephony.yaml", "-f", "other", "--jobs", "1"]);
            full.extend_from_slice(args);
            let output = f.cmd(&full).env("RUST_LOG", "trace").output().unwrap();
            let text =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            for needle in &needles {
                assert!(!text.contains(needle.as_str()), "{label}: leaked {needle:?} in:\n{text}");
            }
        }
    };
    check(&f, "validate", &["validate"]);
    for format in ["text", "json", "markdown"] {
        check(&f, "plan", &["plan", "--format", format, "--out", "plan.json"]);
    }
    assert_clean("plan.json", &std::fs::read_to_string(f.path("plan.json")).unwrap());
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    assert!(!saved.contains(OTHER_KEY) && !saved.contains(&OTHER_TOKEN[..8]), "{saved}");
    // Each file's write is refused with a message that echoes the other file's secrets (and its own).
    let echo = format!(r#"{{"detail": "key {OTHER_KEY} token {OTHER_TOKEN} and {TWILIO_TOKEN}"}}"#);
    for format in ["text", "json", "markdown"] {
        for _ in 0..4 {
            f.emu.push_fault_for("PATCH", Fault::Status { code: 400, body: Some(echo.clone()), retry_after: None });
        }
        check(&f, "apply with an echo", &["apply", "--auto-approve", "--rotate", "--format", format]);
    }
    check(&f, "apply saved plan", &["apply", "plan.json"]);
    // Both files naming one account.
    f.env.insert("OTHER_KEY".into(), API_KEY.into());
    check(&f, "same account", &["plan"]);
    check(&f, "same account", &["apply", "--auto-approve"]);
}

/// The provider-scoped endpoints and `auto`: reads, minimal writes, the fallback, partial failures, lost answers,
/// a non-JSON 404, deprecation warnings and saved plans.
#[test]
fn no_secret_or_prefix_reaches_output_on_the_provider_endpoints() {
    let mut ran = 0;
    for family in ["provider", "auto"] {
        let f = Fixture::with_state(remote_with_other_secrets()).family(family);
        f.emu.set_prefix_length(6);
        ran += run_all(
            &f,
            family,
            &[
                run(&["plan"], 0, "Apply will send:"),
                run(&["plan", "--rotate", "--format", "json"], 0, "\"requests\""),
                run(&["plan", "--format", "markdown"], 0, "### reconcile plan"),
                run(&["plan", "--out", "plan.json"], 0, "Saved the plan"),
            ],
            &nothing,
        );
        assert_clean("plan.json", &std::fs::read_to_string(f.path("plan.json")).unwrap());
        ran += run_all(
            &f,
            family,
            &[
                writing(&["apply", "plan.json", "--format", "json"], 0, "\"applied\""),
                writing(&["apply", "--auto-approve", "--rotate"], 0, "Apply complete"),
            ],
            &reset,
        );
    }

    // A server that echoes secrets in 400s to each kind of write (the DELETE after a POST and a PATCH landed: a
    // partial failure).
    let f = Fixture::with_state(remote_with_other_secrets()).family("provider");
    f.emu.set_prefix_length(6);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    let echo = format!(
        r#"{{"authToken": ["{TWILIO_TOKEN} is not valid"], "detail": "key {API_KEY} prefix {}"}}"#,
        &REMOTE_PLIVO[..6]
    );
    for method in ["PATCH", "POST", "DELETE"] {
        ran += run_all(
            &f,
            &format!("{method} 400 echo"),
            &[writing(&["apply", "--auto-approve"], 1, "HTTP 400")],
            &|f: &Fixture| {
                let mut state = remote_with_other_secrets();
                state.telnyx = None;
                reset(f);
                f.emu.set_account(API_KEY, state);
                for _ in 0..2 {
                    f.emu.push_fault_for(
                        method,
                        Fault::Status { code: 400, body: Some(echo.clone()), retry_after: None },
                    );
                }
            },
        );
    }

    // Lost answers to a POST (landed, or not): each is read again, and the apply ends well.
    let f = Fixture::new().family("provider");
    f.emu.set_prefix_length(6);
    for fault in [Fault::DropAfterApply, Fault::status(502), Fault::Drop] {
        ran += run_all(
            &f,
            "lost POST answer",
            &[writing(&["apply", "--auto-approve"], 0, "Apply complete")],
            &|f: &Fixture| {
                f.emu.clear_faults();
                f.emu.set_account(API_KEY, AccountState::default());
                f.emu.push_fault_for("POST", fault.clone());
                f.emu.push_fault_for("POST", fault.clone());
            },
        );
    }

    // The fallback, a non-JSON 404 that echoes secrets, and deprecation headers that do.
    let f = Fixture::with_state(remote_with_other_secrets()).family("auto");
    f.emu.set_prefix_length(6);
    f.emu.set_account_endpoint(ultravox_emulator::EndpointMode::Gone(410));
    ran += run_all(&f, "fallback", &[run(&["plan"], 0, "Apply will send:")], &nothing);
    ran += run_all(
        &f,
        "fallback apply",
        &[writing(&["apply", "--auto-approve", "--rotate"], 0, "Apply complete")],
        &reset,
    );
    f.emu.set_account_endpoint(ultravox_emulator::EndpointMode::Served);
    f.emu.set_deprecation(Some(ultravox_emulator::DeprecationHeaders {
        deprecation: Some(TWILIO_TOKEN.to_string()),
        sunset: Some(format!("{API_KEY} {PLIVO_TOKEN}")),
    }));
    ran += run_all(&f, "deprecation", &[run(&["plan"], 0, "as deprecated")], &nothing);
    let html = format!("<html>{API_KEY} {TWILIO_TOKEN} {}</html>", &REMOTE_TWILIO[..6]);
    let f = Fixture::with_state(remote_with_other_secrets()).family("provider");
    ran += run_all(&f, "HTML 404", &[run(&["plan"], 1, "HTTP 404")], &|f: &Fixture| {
        f.emu.clear_faults();
        for _ in 0..6 {
            f.emu.push_fault_for("GET", Fault::Status { code: 404, body: Some(html.clone()), retry_after: None });
        }
    });
    assert_eq!(ran, 44);
}

/// Secrets from SOPS files: plans, applies, a server echoing a decrypted secret, every failure of a `sops` reference,
/// and sops's own error output holding secrets of the run (its first line is shown, or hidden whole when it holds
/// one), or its standard output holding them (never shown).
#[test]
fn no_secret_or_prefix_reaches_output_through_sops() {
    let mut f = Fixture::with_state(remote_with_other_secrets()).with_sops();
    f.emu.set_prefix_length(6);
    // Twilio's token and the API key from the environment (secrets of the run before any decryption), Telnyx's from
    // the YAML file, Plivo's from the JSON one.
    f.write(
        "telephony.yaml",
        &FULL_FILE
            .replace("{ file: secrets/telnyx-api-key }", "{ sops: secrets.enc.yaml, key: telnyx.apiKey }")
            .replace("{ env: TELNYX_PUBLIC_KEY }", "{ sops: secrets.enc.yaml, key: telnyx.publicKey }")
            .replace("{ env: PLIVO_AUTH_TOKEN }", "{ sops: secrets.enc.json, key: plivo.authToken }"),
    );
    f.env.remove("TELNYX_PUBLIC_KEY");
    f.env.remove("PLIVO_AUTH_TOKEN");
    let mut ran = run_all(
        &f,
        "sops",
        &[
            run(&["validate"], 0, "is valid"),
            run(&["plan"], 0, "will be sent"),
            run(&["plan", "--format", "json", "--out", "plan.json"], 0, "\"hasChanges\": true"),
            run(&["import", "--out", "-", "--secrets", "sops:secrets.enc.yaml"], 0, "Printed the file on stdout"),
        ],
        &nothing,
    );
    assert_clean("plan.json", &std::fs::read_to_string(f.path("plan.json")).unwrap());
    ran += run_all(&f, "sops apply", &[writing(&["apply", "--auto-approve", "--rotate"], 0, "Apply complete")], &reset);
    // A server that echoes the decrypted secrets.
    let echo = format!(r#"{{"detail": "bad {TELNYX_API_KEY} {PLIVO_TOKEN} {TELNYX_PUBLIC_KEY}"}}"#);
    ran += run_all(&f, "sops 400 echo", &[writing(&["apply", "--auto-approve"], 1, "HTTP 400")], &|f: &Fixture| {
        reset(f);
        f.emu.push_fault_for("PATCH", Fault::Status { code: 400, body: Some(echo.clone()), retry_after: None });
    });

    // sops refuses, its message holding the secrets the run already read (and the API key), over several lines.
    let said = format!("\nError: no key for {TWILIO_TOKEN} / {API_KEY}\nsecond line {TWILIO_TOKEN}\n");
    let refusing = f.script("refusing-sops", &format!("printf '{said}' >&2\nexit 1\n"));
    f.env.insert("RECONCILE_SOPS".into(), refusing.display().to_string());
    ran += run_all(
        &f,
        "sops error output",
        &[run(&["plan"], 1, "sops could not decrypt secrets.enc.yaml: [hidden: holds part of a secret]\n")],
        &nothing,
    );
    // sops "succeeds" but prints secrets that are not a JSON document: nothing of it is shown.
    let garbage = f.script("garbage-sops", &format!("printf 'token={TWILIO_TOKEN} {PLIVO_TOKEN}'\n"));
    f.env.insert("RECONCILE_SOPS".into(), garbage.display().to_string());
    ran += run_all(&f, "sops garbage", &[run(&["plan"], 1, "is not a JSON document")], &nothing);
    // sops hangs after printing secrets on both streams.
    let hanging =
        f.script("hanging-sops", &format!("printf '{PLIVO_TOKEN}'\nprintf '{TWILIO_TOKEN}' >&2\nexec sleep 30\n"));
    f.env.insert("RECONCILE_SOPS".into(), hanging.display().to_string());
    f.env.insert("RECONCILE_SOPS_TIMEOUT".into(), "1".into());
    ran += run_all(&f, "sops timeout", &[run(&["plan"], 1, "did not finish decrypting")], &nothing);
    f.env.remove("RECONCILE_SOPS");
    f.env.remove("RECONCILE_SOPS_TIMEOUT");

    // The real sops without a key; then keys that are not there, or not strings.
    f.env.remove("SOPS_AGE_KEY_FILE");
    f.env.insert("HOME".into(), f.path("home").display().to_string());
    ran += run_all(&f, "sops without a key", &[run(&["plan"], 1, "Failed to get the data key")], &nothing);
    f.env.insert("SOPS_AGE_KEY_FILE".into(), sops_data().join("age-key.txt").display().to_string());
    let text = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
    f.write(
        "telephony.yaml",
        &text.replace("key: telnyx.apiKey", "key: telnyx.apiKy").replace("key: telnyx.publicKey", "key: telnyx"),
    );
    ran += run_all(
        &f,
        "sops keys",
        &[run(&["plan"], 1, "has no key telnyx.apiKy: telnyx holds apiKey, publicKey")],
        &nothing,
    );
    assert_eq!(ran, 22);
}

/// The SIP settings: the fallback handler's secrets (the file's, and the account's, which the API returns whole and
/// which are secrets of the run from the moment they are read), the registrations' passwords, and a secret the
/// server generates, through every command and format, saved plans and imported files, and errors that echo them.
#[test]
fn no_sip_secret_reaches_any_output() {
    const LOCAL_FALLBACK: &str = "LfbK9localSignWq2";
    const REMOTE_FALLBACK: &str = "RfbM4remoteSignZx8";
    const ALICE: &str = "PwQ7aliceSecretLm3";
    const BOB: &str = "RpwN2bobSecretHk5";
    const BOB_REMOTE: &str = "OldB8bobRemoteJv4";
    // The providers as the file declares them, so that the first PATCH and POST of an apply are the SIP ones.
    let state = || {
        let mut state = full_state();
        state.sip = ultravox_emulator::SipConfig::default().fallback("https://old.example.com/hook", [REMOTE_FALLBACK]);
        state.sip_registrations =
            vec![ultravox_emulator::SipRegistration::new("reg-bob", "bob", "trunk.example.com", BOB_REMOTE)];
        state
    };
    let mut f = Fixture::with_state(state());
    f.emu.set_prefix_length(6);
    let sip = "sip:\n  fallbackHandler:\n    url: https://hooks.example.com/x\n    secrets: [{ env: FALLBACK }]\n\
               sipRegistrations:\n  - { username: alice, proxy: trunk.example.com, password: { env: ALICE } }\n\
               \x20 - { username: bob, proxy: trunk.example.com, password: { env: BOB } }\n";
    f.write("telephony.yaml", &format!("{FULL_FILE}{sip}"));
    for (name, value) in [("FALLBACK", LOCAL_FALLBACK), ("ALICE", ALICE), ("BOB", BOB)] {
        f.env.insert(name.into(), value.into());
    }
    // Each SIP secret and every piece of 8 characters of it, as for the providers' ([`forbidden`]).
    let pieces = |secret: &str| {
        let chars: Vec<char> = secret.chars().collect();
        std::iter::once(secret.to_string()).chain(chars.windows(8).map(|w| w.iter().collect())).collect::<Vec<_>>()
    };
    let mut needles = forbidden();
    for secret in [LOCAL_FALLBACK, REMOTE_FALLBACK, ALICE, BOB, BOB_REMOTE] {
        needles.extend(pieces(secret));
    }
    let reset = |f: &Fixture| {
        f.emu.clear_faults();
        f.emu.set_account(API_KEY, state());
    };
    let mut ran = run_all_checking(
        &f,
        "sip",
        &[
            run(&["validate"], 0, "and sip and sipRegistrations"),
            run(&["plan"], 0, "fallbackHandler.secrets: (secret) changed; will be sent"),
            run(&["plan", "--rotate"], 0, "rotation requested"),
            run(&["plan", "--format", "json"], 0, "\"writeOnly\""),
            run(&["plan", "--format", "markdown"], 0, "<code>sip</code> will be updated"),
            run(&["plan", "--out", "plan.json"], 0, "Saved the plan to plan.json"),
            run(&["import", "--out", "imported.yaml", "--force"], 0, "Wrote imported.yaml"),
        ],
        &reset,
        &needles,
    );
    for file in ["plan.json", "imported.yaml"] {
        assert_clean_of(file, &std::fs::read_to_string(f.path(file)).unwrap(), &needles);
    }
    ran += run_all_checking(
        &f,
        "sip apply",
        &[
            writing(&["apply", "--auto-approve", "--rotate"], 0, "Apply complete"),
            writing(&["apply", "plan.json"], 0, "Apply complete"),
        ],
        &reset,
        &needles,
    );
    // The server echoes every SIP secret of the run in its refusal of the SIP config's PATCH, and of a registration's
    // POST (not the password the account holds: the API never shows it, so the run never knows it).
    let echo = format!(r#"{{"detail": "{LOCAL_FALLBACK} {REMOTE_FALLBACK} {ALICE} {BOB}"}}"#);
    for (method, evidence) in
        [("PATCH", "/api/sip answered HTTP 400"), ("POST", "/api/sip/registrations answered HTTP 400")]
    {
        ran += run_all_checking(
            &f,
            &format!("sip {method} echo"),
            &[writing(&["apply", "--auto-approve", "--format", "json"], 1, evidence)],
            &|f: &Fixture| {
                reset(f);
                f.emu.push_fault_for(method, Fault::Status { code: 400, body: Some(echo.clone()), retry_after: None });
            },
            &needles,
        );
    }
    // A handler the file leaves the secrets of: the API generates one, a secret of the run once read.
    f.write("telephony.yaml", "sip:\n  fallbackHandler: { url: https://hooks.example.com/x }\n");
    f.emu.set_account(API_KEY, AccountState::default());
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let generated = f.account().sip.fallback_handler.unwrap().secrets[0].clone();
    needles.extend(pieces(&generated));
    ran += run_all_checking(
        &f,
        "generated",
        &[
            run(&["plan"], 0, "No changes"),
            run(&["plan", "--format", "json"], 0, "\"hasChanges\": false"),
            run(&["import", "--out", "-"], 0, "SIP_FALLBACK_SECRET"),
        ],
        &nothing,
        &needles,
    );
    assert_eq!(ran, 28);
}
