//! `reconcile import` end to end: the real binary against the emulator, asserting the exact file written, the exact
//! requests, exit codes, and that no secret or prefix reaches the file or the terminal.

use crate::common::*;

/// Distinctive remote secrets, each with a 6-character prefix that appears nowhere else.
const TW: &str = "tw-Sec9f8e7d6c5b4a";
const TX_API: &str = "KEY0199AB-telnyx-x1";
const TX_PUB: &str = "pubK3y-telnyx-x2";
const PL: &str = "pl1v0-token-x3";
const PREFIX_LEN: usize = 6;

/// An account holding all three providers, with non-default flags, agent lists and mappings that need quoting.
fn three_provider_state() -> AccountState {
    AccountState {
        twilio: Some(
            Twilio::new("AC0123456789abcdef0123456789abcdef", TW)
                .allowed_agents([AGENT_A, AGENT_B])
                .context("From", "user.phone_number")
                .context("Caller: Name #1", "user.name \"display\""),
        ),
        telnyx: Some(
            Telnyx::new("2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c", TX_API, TX_PUB, "1234567890123456789")
                .allow_all(true)
                .context("payload.from", "user.phone"),
        ),
        plivo: Some(Plivo::new("MAXXXXXXXXXXXXXXXXXX", PL).allowed_agents([AGENT_B])),
        ..AccountState::default()
    }
}

const THREE_PROVIDER_FILE: &str = r#"# yaml-language-server: $schema=schema/telephony.schema.json
# (for editors: `reconcile schema > schema/telephony.schema.json` creates it; the path is relative to this file)
#
# Written by `reconcile import` from the account's telephony config. No secret is in this file, only
# references to them: before `reconcile plan`, set these environment variables (in CI, from its secrets):
#   ULTRAVOX_API_KEY   the Ultravox API key (the default account.apiKey)
#   TWILIO_AUTH_TOKEN  twilio.authToken
#   TELNYX_API_KEY     telnyx.apiKey
#   TELNYX_PUBLIC_KEY  telnyx.publicKey
#   PLIVO_AUTH_TOKEN   plivo.authToken
# A `{ file: PATH }` reference works too, with PATH relative to this file's folder.
version: 1
twilio:
  accountSid: "AC0123456789abcdef0123456789abcdef"
  authToken: { env: TWILIO_AUTH_TOKEN }
  callCreationAllowedAgentIds:
    - "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    - "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6"
  requestContextMapping:
    "Caller: Name #1": "user.name \"display\""
    "From": "user.phone_number"
telnyx:
  accountSid: "2ab5b1c6-5f2d-4a8e-9b3c-7d1e0f2a4b6c"
  applicationSid: "1234567890123456789"
  apiKey: { env: TELNYX_API_KEY }
  publicKey: { env: TELNYX_PUBLIC_KEY }
  callCreationAllowAllAgents: true
  requestContextMapping:
    "payload.from": "user.phone"
plivo:
  authId: "MAXXXXXXXXXXXXXXXXXX"
  authToken: { env: PLIVO_AUTH_TOKEN }
  callCreationAllowedAgentIds:
    - "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6"
"#;

/// A fixture for `state` with no `telephony.yaml` yet, and only the API key in the environment.
fn fixture(state: AccountState) -> Fixture {
    let mut f = Fixture::with_state(state);
    std::fs::remove_file(f.path("telephony.yaml")).expect("remove the fixture's file");
    f.env.retain(|k, _| k == "ULTRAVOX_API_KEY");
    f.emu.set_prefix_length(PREFIX_LEN);
    f
}

/// Fails if any remote secret, or its prefix, is in `text`.
fn assert_no_secret_material(text: &str) {
    for secret in [TW, TX_API, TX_PUB, PL, API_KEY] {
        assert!(!text.contains(secret), "a secret leaked:\n{text}");
        let prefix: String = secret.chars().take(PREFIX_LEN).collect();
        assert!(!text.contains(&prefix), "a remote prefix ({PREFIX_LEN} chars) leaked:\n{text}");
    }
}

fn read(f: &Fixture, name: &str) -> String {
    std::fs::read_to_string(f.path(name)).expect("read the imported file")
}

#[test]
fn three_providers_round_trip_to_no_changes() {
    // Each family reads the account its own way; the file written is the same.
    for family in FAMILIES {
        let mut f = fixture(three_provider_state()).family(family);

        let (code, out, err) = f.run(&["import"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "", "the file goes to the file, not stdout");
        assert_eq!(f.request_lines(), import_reads(family), "{family}: the family's reads and SIP's, no write");
        let written = read(&f, "telephony.yaml");
        assert_eq!(written, THREE_PROVIDER_FILE, "{family}");
        assert_no_secret_material(&written);
        assert_no_secret_material(&err);
        assert!(err.contains("Wrote telephony.yaml: twilio, telnyx, plivo"), "{err}");
        assert!(
            err.contains(
                "Set TWILIO_AUTH_TOKEN, TELNYX_API_KEY, TELNYX_PUBLIC_KEY, PLIVO_AUTH_TOKEN to the real secrets"
            ),
            "{err}"
        );
        assert!(err.contains("Run `reconcile plan`"), "{err}");
        assert!(!err.contains("warning"), "{err}");

        f.emu.clear_requests();
        let (code, _, err) = f.run(&["validate"]);
        assert_eq!(code, 0, "the imported file is valid: {err}");
        assert!(f.request_lines().is_empty());

        for (name, value) in [
            ("TWILIO_AUTH_TOKEN", TW),
            ("TELNYX_API_KEY", TX_API),
            ("TELNYX_PUBLIC_KEY", TX_PUB),
            ("PLIVO_AUTH_TOKEN", PL),
        ] {
            f.env.insert(name.into(), value.into());
        }
        let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("No changes. The account matches telephony.yaml."), "{out}");
        assert_eq!(f.request_lines(), reads(family), "{family}");
        assert_eq!(f.account(), three_provider_state(), "nothing was written to the account");
    }
}

#[test]
fn agent_ids_are_imported_as_the_account_spells_them() {
    let mut state = three_provider_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.to_uppercase(), AGENT_B.into()];
    let mut f = fixture(state.clone());
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 0, "{err}");
    let written = read(&f, "telephony.yaml");
    let expected = THREE_PROVIDER_FILE.replacen(
        &format!("    - \"{AGENT_A}\""),
        &format!("    - \"{}\"", AGENT_A.to_uppercase()),
        1,
    );
    assert_ne!(expected, THREE_PROVIDER_FILE, "the test changes the file it expects");
    assert_eq!(written, expected);
    for (name, value) in
        [("TWILIO_AUTH_TOKEN", TW), ("TELNYX_API_KEY", TX_API), ("TELNYX_PUBLIC_KEY", TX_PUB), ("PLIVO_AUTH_TOKEN", PL)]
    {
        f.env.insert(name.into(), value.into());
    }
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.account(), state, "nothing was written to the account");
}

#[test]
fn a_secret_set_to_another_value_shows_as_a_change_after_import() {
    let mut f = fixture(three_provider_state());
    assert_eq!(f.run(&["import"]).0, 0);
    for (name, value) in [
        ("TWILIO_AUTH_TOKEN", "not-the-twilio-token"),
        ("TELNYX_API_KEY", TX_API),
        ("TELNYX_PUBLIC_KEY", TX_PUB),
        ("PLIVO_AUTH_TOKEN", PL),
    ] {
        f.env.insert(name.into(), value.into());
    }
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("~ twilio will be updated"), "{out}");
}

#[test]
fn one_provider_account_leaves_the_others_unmanaged() {
    let f = fixture(AccountState::default().with_plivo(Plivo::new("MAXXXXXXXXXXXXXXXXXX", PL)));
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 0, "{err}");
    let written = read(&f, "telephony.yaml");
    assert!(
        written.ends_with(
            "version: 1\nplivo:\n  authId: \"MAXXXXXXXXXXXXXXXXXX\"\n  authToken: { env: PLIVO_AUTH_TOKEN }\n"
        ),
        "defaults are left out:\n{written}"
    );
    assert!(written.contains("# Not configured on the account, so left out: twilio, telnyx."), "{written}");
    assert!(written.contains("(`twilio: null`) would instead require that it does not exist"), "{written}");
    assert!(!written.contains("TWILIO_AUTH_TOKEN") && !written.contains("TELNYX_"), "{written}");
    assert!(!written.contains("\ntwilio:") && !written.contains("\ntelnyx:"), "{written}");
    assert!(err.contains("Left out, so unmanaged: twilio, telnyx"), "{err}");
    assert!(err.contains("Set PLIVO_AUTH_TOKEN to the real secret ("), "{err}");
    assert_no_secret_material(&written);
    assert_no_secret_material(&err);

    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "PLIVO_AUTH_TOKEN is not set yet: {out}{err}");
    assert!(err.contains("PLIVO_AUTH_TOKEN"), "{err}");
}

#[test]
fn empty_account_is_refused_and_writes_nothing() {
    let f = fixture(AccountState::default());
    let (code, out, err) = f.run(&["import"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("no telephony provider configured"), "{err}");
    assert!(err.contains("its SIP config holds the API's defaults and it has no SIP registration"), "{err}");
    assert!(err.contains("nothing to import; no file was written"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(!f.path("telephony.yaml").exists());
    assert_eq!(f.request_lines(), import_reads("auto"));

    let (code, out, _) = f.run(&["import", "--out", "-"]);
    assert_eq!(code, 1);
    assert_eq!(out, "", "nothing on stdout either");
}

#[test]
fn refuses_to_overwrite_without_force_and_sends_nothing() {
    let f = fixture(three_provider_state());
    f.write("telephony.yaml", FULL_FILE);
    let (code, out, err) = f.run(&["import"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("refusing to overwrite telephony.yaml"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(read(&f, "telephony.yaml"), FULL_FILE, "the file is untouched");
    assert!(f.request_lines().is_empty(), "refused before reading the account");

    // The same with -f naming the destination.
    f.write("other.yaml", "keep me\n");
    let (code, _, err) = f.run(&["-f", "other.yaml", "import"]);
    assert_eq!(code, 1);
    assert!(err.contains("refusing to overwrite other.yaml"), "{err}");
    assert_eq!(read(&f, "other.yaml"), "keep me\n");
    assert!(f.request_lines().is_empty());
}

#[test]
fn force_overwrites() {
    let f = fixture(three_provider_state());
    f.write("telephony.yaml", FULL_FILE);
    let (code, _, err) = f.run(&["import", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&f, "telephony.yaml"), THREE_PROVIDER_FILE);
    assert_eq!(f.request_lines(), import_reads("auto"));
    let names: Vec<_> = std::fs::read_dir(f.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "no temporary file is left behind: {names:?}"
    );
}

#[test]
fn out_dash_prints_to_stdout_and_writes_no_file() {
    let f = fixture(three_provider_state());
    let (code, out, err) = f.run(&["import", "--out", "-"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, THREE_PROVIDER_FILE);
    assert!(err.contains("Printed the file on stdout"), "{err}");
    assert!(err.contains("Save it as telephony.yaml"), "{err}");
    assert!(!f.path("telephony.yaml").exists() && !f.path("-").exists());
    assert_eq!(f.request_lines(), import_reads("auto"));
    assert_no_secret_material(&out);
    assert_no_secret_material(&err);

    // An existing telephony.yaml does not stop printing to stdout.
    f.write("telephony.yaml", FULL_FILE);
    let (code, out, _) = f.run(&["import", "--out", "-"]);
    assert_eq!(code, 0);
    assert_eq!(out, THREE_PROVIDER_FILE);
    assert_eq!(read(&f, "telephony.yaml"), FULL_FILE);
}

#[test]
fn out_path_and_file_flag_choose_the_destination() {
    let f = fixture(three_provider_state());
    f.write("config/.keep", "");
    let (code, _, err) = f.run(&["import", "--out", "config/telephony.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&f, "config/telephony.yaml"), THREE_PROVIDER_FILE);
    assert!(err.contains("Run `reconcile plan -f config/telephony.yaml`"), "{err}");

    let (code, _, err) = f.run(&["-f", "prod.yaml", "import"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&f, "prod.yaml"), THREE_PROVIDER_FILE);

    let (code, _, err) = f.run(&["import", "--out", "no/such/folder/telephony.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot write no/such/folder/telephony.yaml: the folder does not exist"), "{err}");
}

#[test]
fn missing_api_key_is_an_error_before_any_request() {
    let mut f = fixture(three_provider_state());
    f.env.clear();
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read the Ultravox API key: environment variable ULTRAVOX_API_KEY is not set"),
        "{err}"
    );
    assert!(f.request_lines().is_empty());
    assert!(!f.path("telephony.yaml").exists());
}

#[test]
fn api_errors_write_nothing() {
    let mut f = fixture(three_provider_state());
    f.env.insert("ULTRAVOX_API_KEY".into(), "not-a-known-key".into());
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(!err.contains("not-a-known-key"), "{err}");
    assert!(!f.path("telephony.yaml").exists());
    assert_eq!(f.request_lines(), import_reads("auto"), "every read is refused, and nothing is written");
}

#[test]
fn a_missing_prefix_is_warned_about() {
    let f = fixture(AccountState::default().with_twilio(Twilio::new("AC0123456789abcdef0123456789abcdef", TW)));
    f.emu.set_prefix_rule_for("twilio.authToken", ultravox_emulator::PrefixRule::Omitted);
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: twilio.authToken: the account returned no prefix"), "{err}");
    assert!(read(&f, "telephony.yaml").contains("authToken: { env: TWILIO_AUTH_TOKEN }"));
}
