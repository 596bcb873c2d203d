//! The SIP config and SIP registrations end to end: the real binary against the emulator (default family `auto`;
//! every family where the providers' writes share the run), asserting the exact requests and bodies the emulator
//! received, the plans in every format, saved plans, several files, and the emulator's inferred answers and their
//! alternatives. Every SIP write body is checked against the official request schemas (the [`Fixture`]'s drop).

use serde_json::{Value, json};
use ultravox_emulator::{
    Agent, DuplicateRegistration, EndpointMode, MissingRegistration, OmittedPattern, SipConfig, SipRegistration,
    UnsetText,
};

use crate::common::*;

/// The file's fallback secret, and the one the account holds (they differ: the plan sends the file's).
const FALLBACK_SECRET: &str = "Fb7kQlocalSignZ2x9";
const REMOTE_FALLBACK: &str = "Rf3mWremoteSignK8p1";
const ALICE_PASSWORD: &str = "Ap4nValicePassT6r2";
const BOB_PASSWORD: &str = "Bq8cJbobPassH3m7w";
/// The agent the file names `Support`.
const SUPPORT: &str = "11111111-2222-4333-8444-555555555555";

/// The sample account, and SIP: one range, no allowance, a fallback handler with its own secret, and two
/// registrations: bob (inactive) and carol.
fn account() -> AccountState {
    let mut state = full_state().with_agent(SUPPORT, "Support");
    state.sip = SipConfig { domain: "acme.sip.ultravox.ai".into(), ..SipConfig::default() }
        .ranges(["10.0.0.0/8"])
        .fallback("https://old.example.com/hook", [REMOTE_FALLBACK]);
    state.sip_registrations = vec![
        SipRegistration::new("reg-bob", "bob", "trunk.example.com", "Ob5wKq1mZrX").successful(Some(false)),
        SipRegistration::new("reg-carol", "carol", "old-trunk.example.com", "Cr4lTz9QwY"),
    ];
    state
}

const SIP_BLOCK: &str = r#"sip:
  allowedCidrRanges: [203.0.113.0/24, 198.51.100.16/28]
  allowAllAgents: false
  allowedAgents:
    - agentId: 3c90c3cc-0d44-4b50-8888-8dd25736052a
      toUserPattern: "^sales$"
    - agentId: { agent: Support }
  fallbackHandler:
    url: https://hooks.example.com/sip-fallback
    secrets:
      - { env: SIP_FALLBACK_SECRET }
sipRegistrations:
  - username: alice
    proxy: trunk.example.com
    password: { env: SIP_ALICE_PASSWORD }
  - username: bob
    proxy: trunk.example.com
    password: { env: SIP_BOB_PASSWORD }
    outboundProxy: edge.trunk.example.com
"#;

/// The sample file with [`SIP_BLOCK`], its variables set.
fn fixture(state: AccountState) -> Fixture {
    let mut f = Fixture::with_state(state);
    f.write("telephony.yaml", &format!("{FULL_FILE}{SIP_BLOCK}"));
    for (name, value) in [
        ("SIP_FALLBACK_SECRET", FALLBACK_SECRET),
        ("SIP_ALICE_PASSWORD", ALICE_PASSWORD),
        ("SIP_BOB_PASSWORD", BOB_PASSWORD),
    ] {
        f.env.insert(name.into(), value.into());
    }
    f
}

/// A file of only SIP settings.
fn sip_only(f: &Fixture, text: &str) {
    f.write("telephony.yaml", text);
}

fn body(f: &Fixture, method: &str, path: &str) -> Value {
    let request = f.emu.requests().into_iter().find(|r| r.method == method && r.path == path);
    request.and_then(|r| r.json).unwrap_or_else(|| panic!("no {method} {path} with a JSON body"))
}

fn assert_no_sip_secret(text: &str) {
    for secret in [FALLBACK_SECRET, REMOTE_FALLBACK, ALICE_PASSWORD, BOB_PASSWORD, "Ob5wKq1mZrX", "Cr4lTz9QwY"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        assert!(!text.contains(&secret[..8]), "a piece of {secret} leaked:\n{text}");
    }
}

#[test]
fn a_plan_creates_updates_and_deletes_registrations_changes_the_sip_config_and_converges() {
    let f = fixture(account());
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}{err}");
    insta::assert_snapshot!("sip_plan_text", out);
    assert!(out.lines().all(|line| !line.ends_with(' ')), "no line ends in padding: {out:?}");
    assert_no_sip_secret(&out);
    assert_eq!(
        f.request_lines(),
        ["GET /api/agents", GET_CONFIG, GET_SIP, GET_REGISTRATIONS],
        "one lookup of the name, then the account's reads at once"
    );

    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with(
            "Apply complete: 1 created, 2 updated, 1 deleted (sip, registration alice@trunk.example.com, registration \
             bob@trunk.example.com, registration carol@old-trunk.example.com).\n"
        ),
        "{out}"
    );
    let log = f.request_lines_with_fields();
    insta::assert_snapshot!("sip_apply_request_log", log.join("\n"));
    assert_eq!(
        f.write_lines(),
        [
            "PATCH /api/sip allowedAgents,allowedCidrRanges,fallbackHandler",
            "POST /api/sip/registrations authUser,outboundProxy,password,proxy,username",
            "PATCH /api/sip/registrations/reg-bob outboundProxy",
            "DELETE /api/sip/registrations/reg-carol",
        ]
    );
    assert_eq!(
        body(&f, "PATCH", "/api/sip"),
        json!({
            "allowedCidrRanges": ["203.0.113.0/24", "198.51.100.16/28"],
            "allowedAgents": [{"agentId": AGENT_A, "toUserPattern": "^sales$"}, {"agentId": SUPPORT}],
            "fallbackHandler": {"url": "https://hooks.example.com/sip-fallback", "secrets": [FALLBACK_SECRET]},
        }),
        "only the changed fields; the allowances whole, the omitted pattern left out"
    );
    assert_eq!(
        body(&f, "POST", "/api/sip/registrations"),
        json!({"username": "alice", "password": ALICE_PASSWORD, "proxy": "trunk.example.com",
            "outboundProxy": null, "authUser": null})
    );
    assert_eq!(body(&f, "PATCH", "/api/sip/registrations/reg-bob"), json!({"outboundProxy": "edge.trunk.example.com"}));
    let account = f.account();
    assert_eq!(account.sip.fallback_handler.as_ref().unwrap().secrets, [FALLBACK_SECRET]);
    assert_eq!(account.sip_registrations.len(), 2);
    assert_eq!(account.sip_registrations[0].password, "Ob5wKq1mZrX", "an unverifiable password is not sent");

    // Nothing is left to change; the inactive registration is a warning, not a change.
    f.emu.clear_requests();
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  sip: no changes (domain acme.sip.ultravox.ai, read-only)\n"), "{out}");
    assert!(
        out.contains(
            "  registration alice@trunk.example.com: no changes; password: (secret) unverifiable (not sent; --rotate \
             sends it)\n"
        ),
        "{out}"
    );
    assert!(out.contains("Warning: bob@trunk.example.com is not active"), "{out}");
    assert!(out.ends_with("No changes. The account matches telephony.yaml.\n"), "{out}");
    assert!(f.write_lines().is_empty());
}

#[test]
fn one_apply_writes_providers_then_sip_then_registrations_then_every_delete_on_each_family() {
    for family in FAMILIES {
        let mut f = fixture(account()).family(family);
        let file =
            format!("{FULL_FILE}{SIP_BLOCK}").replace("    - 9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6\n", "").replace(
                "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
                "plivo: null\n",
            );
        f.write("telephony.yaml", &file);
        f.env.remove("PLIVO_AUTH_TOKEN");
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {out}{err}");
        let telephony: Vec<String> = match family {
            "account" => vec![format!("{PATCH_CONFIG} plivo,twilio")],
            _ => vec!["PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds".into()],
        };
        let mut expected = telephony;
        expected.extend([
            "PATCH /api/sip allowedAgents,allowedCidrRanges,fallbackHandler".to_string(),
            "POST /api/sip/registrations authUser,outboundProxy,password,proxy,username".into(),
            "PATCH /api/sip/registrations/reg-bob outboundProxy".into(),
        ]);
        if family != "account" {
            expected.push("DELETE /api/telephony_configs/plivo".into());
        }
        expected.push("DELETE /api/sip/registrations/reg-carol".into());
        assert_eq!(f.write_lines(), expected, "{family}");
        assert!(out.contains("Apply complete: 1 created, 3 updated, 2 deleted"), "{family}: {out}");
        assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0, "{family}");
    }
}

#[test]
fn a_new_fallback_url_re_sends_the_accounts_secrets_when_the_file_leaves_them_out() {
    let f = fixture(account());
    let file = "sip:\n  allowedCidrRanges: [10.0.0.0/8]\n  fallbackHandler: { url: https://new.example.com/hook }\n";
    sip_only(&f, file);
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "      fallbackHandler.secrets: (secret) unchanged; re-sent, since the write carries the whole block\n"
        ),
        "{out}"
    );
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(
        body(&f, "PATCH", "/api/sip"),
        json!({"fallbackHandler": {"url": "https://new.example.com/hook", "secrets": [REMOTE_FALLBACK]}}),
        "the account's secret goes with the URL: without it the API would generate a new one"
    );
    assert_eq!(f.account().sip.fallback_handler.unwrap().secrets, [REMOTE_FALLBACK]);
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);

    // A new handler with no secret in the file: the API generates one, which the file then keeps.
    let f = fixture(AccountState::default());
    sip_only(&f, file);
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        body(&f, "PATCH", "/api/sip"),
        json!({"allowedCidrRanges": ["10.0.0.0/8"],
        "fallbackHandler": {"url": "https://new.example.com/hook"}})
    );
    let generated = f.account().sip.fallback_handler.unwrap().secrets;
    assert_eq!(generated.len(), 1, "the server generated the secret");
    let (code, out, err) = f.run(&["-vvv", "plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
    for text in [&out, &err] {
        assert!(!text.contains(&generated[0][..12]), "the generated secret is a secret of the run:\n{text}");
    }
}

#[test]
fn fallback_secrets_compare_exactly_as_a_set() {
    let state = AccountState::default()
        .with_sip(SipConfig::default().fallback("https://h.example.com", ["Sa1-first-secret", "Sb2-second-secret"]));
    let mut f = Fixture::with_state(state);
    f.env.insert("S1".into(), "Sa1-first-secret".into());
    f.env.insert("S2".into(), "Sb2-second-secret".into());
    let handler =
        |secrets: &str| format!("sip:\n  fallbackHandler:\n    url: https://h.example.com\n    secrets: [{secrets}]\n");
    sip_only(&f, &handler("{ env: S2 }, { env: S1 }"));
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the order means nothing: {out}");
    sip_only(&f, &handler("{ env: S1 }"));
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("    ~ fallbackHandler.secrets: (secret) changed; will be sent\n"), "{out}");
    assert!(out.contains("1. PATCH /api/sip (fallbackHandler)"), "{out}");
    assert!(!out.contains("Sa1-first") && !out.contains("Sb2-second"), "{out}");
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(
        body(&f, "PATCH", "/api/sip"),
        json!({"fallbackHandler": {"url": "https://h.example.com", "secrets": ["Sa1-first-secret"]}})
    );
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);
}

#[test]
fn rotate_sends_each_declared_password_alone_and_the_declared_fallback_secrets() {
    let f = fixture(account());
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["plan", "--rotate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("~ registration alice@trunk.example.com will be updated\n"), "{out}");
    assert!(out.contains("    ~ password: (secret) rotation requested; will be sent\n"), "{out}");
    let (code, out, err) = f.run(&["apply", "--auto-approve", "--rotate"]);
    assert_eq!(code, 0, "{out}{err}");
    let alice = f.account().sip_registrations[1].registration_id.clone();
    let sip_writes: Vec<String> = f.write_lines().into_iter().filter(|l| l.contains("/api/sip")).collect();
    assert_eq!(
        sip_writes,
        [
            "PATCH /api/sip fallbackHandler".to_string(),
            format!("PATCH /api/sip/registrations/{alice} password"),
            "PATCH /api/sip/registrations/reg-bob password".into(),
        ]
    );
    assert_eq!(body(&f, "PATCH", "/api/sip/registrations/reg-bob"), json!({"password": BOB_PASSWORD}));
    assert_eq!(f.account().sip_registrations[0].password, BOB_PASSWORD);
    assert_no_sip_secret(&out);
}

#[test]
fn registrations_are_read_through_every_page() {
    let mut state = AccountState::default();
    let mut file = String::from("sipRegistrations:\n");
    for i in 0..5 {
        state.sip_registrations.push(SipRegistration::new(format!("r{i}"), format!("user{i}"), "t.example.com", "pw"));
        file.push_str(&format!("  - {{ username: user{i}, proxy: t.example.com, password: {{ env: PW }} }}\n"));
    }
    let mut f = Fixture::with_state(state);
    f.emu.set_registrations_page_size(2);
    f.env.insert("PW".into(), "Pw9-shared-password".into());
    sip_only(&f, &file);
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "every registration is found on its page: {out}{err}");
    let pages: Vec<Option<String>> =
        f.emu.requests().iter().filter(|r| r.path == "/api/sip/registrations").map(|r| r.query.clone()).collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[1].as_deref().is_some_and(|q| q.contains("cursor=")), "{pages:?}");
    // One the file does not list, on the last page, is deleted.
    sip_only(&f, &file.replace("  - { username: user4, proxy: t.example.com, password: { env: PW } }\n", ""));
    let (code, out, _) = f.run(&["plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("- registration user4@t.example.com will be deleted\n"), "{out}");
    assert!(out.contains("1. DELETE /api/sip/registrations/r4\n"), "{out}");
}

#[test]
fn an_inactive_registration_is_a_warning_in_every_format_and_changes_no_exit_code() {
    let state = AccountState::default()
        .with_registration(SipRegistration::new("r1", "alice", "trunk.example.com", "pw").successful(Some(false)));
    let mut f = Fixture::with_state(state);
    f.env.insert("SIP_ALICE_PASSWORD".into(), ALICE_PASSWORD.into());
    sip_only(
        &f,
        "sipRegistrations:\n  - { username: alice, proxy: trunk.example.com, password: { env: SIP_ALICE_PASSWORD } }\n",
    );
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Warning: alice@trunk.example.com is not active"), "{out}");
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["notes"][0]["kind"], "inactiveRegistration");
    assert_eq!(doc["sipRegistrations"][0]["successful"], false);
    assert_eq!(doc["summary"]["hasChanges"], false);
    let (_, out, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(out.contains("> [!WARNING]\n> <code>alice@trunk.example.com</code> is not active"), "{out}");
}

#[test]
fn agents_named_in_allowances_share_the_providers_lookup() {
    let mut state = full_state().with_agent(SUPPORT, "Support");
    state.sip = SipConfig::default().allowance(SUPPORT, None);
    let f = Fixture::with_state(state);
    let file = FULL_FILE.replace("    - 9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6\n", "    - { agent: Support }\n");
    f.write(
        "telephony.yaml",
        &format!(
            "{file}sip:\n  allowedAgents:\n    - agentId: {{ agent: Support }}\n      toUserPattern: \"^help$\"\n"
        ),
    );
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{err}");
    let lookups = f.emu.requests().iter().filter(|r| r.path == "/api/agents").count();
    assert_eq!(lookups, 1, "one name, one lookup, whoever uses it");
    assert!(out.contains(&format!("        + {SUPPORT} (Support) toUserPattern=^help$\n")), "{out}");
    assert!(out.contains(&format!("        - {SUPPORT} (Support)\n")), "{out}");
}

#[test]
fn saved_plans_cover_sip_and_are_refused_when_it_moved() {
    let f = fixture(account());
    let (code, _, err) = f.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    assert_no_sip_secret(&saved);
    let doc: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(doc["sip"]["action"], "update");
    assert_eq!(doc["sipRegistrations"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["requests"][1],
        json!({"method": "POST", "path": "/api/sip/registrations",
        "fields": ["username", "password", "proxy", "outboundProxy", "authUser"]})
    );

    // The API flips a registration's status on its own: the plan still applies.
    let mut moved = account();
    moved.sip_registrations[0].successful = Some(true);
    f.emu.set_account(API_KEY, moved);
    f.emu.clear_requests();
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.write_lines().len(), 4, "{out}");

    // A fallback secret whose value changed since the plan: refused, naming it.
    f.emu.set_account(API_KEY, account());
    assert_eq!(f.run(&["plan", "--out", "plan.json"]).0, 0);
    let mut f = f;
    f.env.insert("SIP_FALLBACK_SECRET".into(), REMOTE_FALLBACK.into());
    f.emu.clear_requests();
    let (code, _, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("sip.fallbackHandler.secrets went from changed to unchanged"), "{err}");
    assert!(f.write_lines().is_empty());
    assert_no_sip_secret(&err);

    // A registration added on the account by hand: refused.
    f.env.insert("SIP_FALLBACK_SECRET".into(), FALLBACK_SECRET.into());
    assert_eq!(f.run(&["plan", "--out", "plan.json"]).0, 0);
    f.emu.set_account(API_KEY, account().with_registration(SipRegistration::new("r-x", "x", "t.example.com", "pw")));
    f.emu.clear_requests();
    let (code, _, err) = f.run(&["apply", "plan.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("the account's telephony config changed since the plan was made"), "{err}");
    assert!(f.write_lines().is_empty());
}

#[test]
fn two_files_managing_the_sip_config_of_one_account_are_refused_before_anything_is_sent() {
    let f = fixture(account());
    f.write("a/telephony.yaml", "sip:\n  allowedCidrRanges: []\n");
    f.write("b/telephony.yaml", "sip:\n  allowAllAgents: true\n");
    let (code, _, err) = f.run(&["plan", "-f", "a", "-f", "b"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("a/telephony.yaml and b/telephony.yaml both manage sip of the same Ultravox account"),
        "{err}"
    );
    assert!(f.emu.requests().is_empty());
    let (code, _, err) = f.run(&["validate", "-f", "a", "-f", "b"]);
    assert_eq!(code, 1);
    assert!(err.contains("both manage sip"), "{err}");
    // One manages the config, the other the registrations: allowed.
    f.write("b/telephony.yaml", "sipRegistrations: []\n");
    let (code, out, err) = f.run(&["plan", "-f", "a", "-f", "b"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = f.run(&["validate", "-f", "b"]);
    assert_eq!(code, 0);
    assert!(err.contains("b/telephony.yaml is valid (0 providers declared, and sipRegistrations)."), "{err}");
}

#[test]
fn json_markdown_and_show_carry_the_sip_sections_and_requests() {
    let f = fixture(account());
    let (code, json_out, _) = f.run(&["plan", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&json_out).unwrap();
    let requests: Vec<String> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["method"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        requests,
        [
            "PATCH /api/sip",
            "POST /api/sip/registrations",
            "PATCH /api/sip/registrations/reg-bob",
            "DELETE /api/sip/registrations/reg-carol"
        ]
    );
    assert_eq!(doc["summary"], json!({"hasChanges": true, "create": 1, "update": 2, "delete": 1, "unverifiable": []}));
    assert_eq!(doc["sip"]["domain"], "acme.sip.ultravox.ai");
    assert_eq!(
        doc["sipRegistrations"][1]["changes"][0],
        json!({"kind": "secret", "field": "password", "status": "writeOnly"})
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&doc), "the document follows schema/plan.schema.json");
    assert_no_sip_secret(&json_out);

    let (_, markdown, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(
        markdown.contains("Applying <code>telephony.yaml</code> will send 4 requests, in this order:"),
        "{markdown}"
    );
    assert!(
        markdown.contains("This plan **deletes** the SIP registration <code>carol@old-trunk.example.com</code>"),
        "{markdown}"
    );
    assert!(
        markdown
            .contains("#### ~ <code>sip</code> will be updated (domain <code>acme.sip.ultravox.ai</code>, read-only)"),
        "{markdown}"
    );

    f.write("plan.json", &json_out);
    let (_, text, _) = f.run(&["plan"]);
    let (code, shown, err) = f.run(&["show", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(shown, text, "show renders the document as the run did");
    let (_, shown_md, _) = f.run(&["show", "--format", "markdown", "plan.json"]);
    assert_eq!(shown_md, markdown);

    // Apply's JSON report names what it wrote.
    let (code, out, _) = f.run(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["apply"]["status"], "applied");
    assert_eq!(doc["apply"]["written"], json!([]));
    assert_eq!(
        doc["apply"]["writtenSip"],
        json!([
            "sip",
            "registration alice@trunk.example.com",
            "registration bob@trunk.example.com",
            "registration carol@old-trunk.example.com"
        ])
    );
    f.write("applied.json", &out);
    let (_, shown, _) = f.run(&["show", "applied.json"]);
    assert!(shown.ends_with("Apply complete: 1 created, 2 updated, 1 deleted (sip, registration alice@trunk.example.com, registration bob@trunk.example.com, registration carol@old-trunk.example.com).\n"), "{shown}");
}

#[test]
fn a_failed_registration_write_names_what_was_written_and_what_was_not() {
    let f = fixture(account());
    f.emu.push_fault_for(
        "POST",
        Fault::status_with_body(
            400,
            r#"{"non_field_errors": ["A registration with this username and proxy already exists."]}"#,
        ),
    );
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("POST http://"), "{err}");
    assert!(err.contains("answered HTTP 400: A registration with this username and proxy already exists."), "{err}");
    assert!(
        err.contains(
            "written: sip; failed: registration alice@trunk.example.com; not written: registration \
             bob@trunk.example.com, registration carol@old-trunk.example.com"
        ),
        "{err}"
    );
    assert_eq!(f.write_lines().len(), 2, "the failed request stops the rest");
    // Running apply again sends only what is left.
    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert_eq!(f.write_lines().len(), 3, "{:?}", f.write_lines());
}

#[test]
fn a_lost_post_answer_is_read_again_and_never_repeated() {
    let f = fixture(account());
    f.emu.push_fault_for("POST", Fault::DropAfterApply);
    let (code, out, err) = f.run(&["-v", "apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    let posts = f.emu.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "present and matching after the lost answer: done");
    assert_eq!(f.account().sip_registrations.iter().filter(|r| r.username == "alice").count(), 1);
    assert!(err.contains("the POST landed"), "{err}");
}

#[test]
fn a_registration_deleted_meanwhile_is_done_whatever_the_server_answers_and_an_html_404_is_an_error() {
    for (mode, code) in
        [(MissingRegistration::NotFound, 0), (MissingRegistration::Gone, 0), (MissingRegistration::Html, 1)]
    {
        let f = fixture(account());
        f.emu.set_missing_registration(mode);
        // The DELETE lands but its answer is lost: the retry finds the registration gone.
        f.emu.push_fault_for("DELETE", Fault::DropAfterApply);
        let (got, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(got, code, "{mode:?}: {out}{err}");
        let deletes = f.emu.requests().iter().filter(|r| r.method == "DELETE").count();
        assert_eq!(deletes, 2, "{mode:?}: DELETE is idempotent, so it is sent again");
        if code == 1 {
            assert!(err.contains("answered HTTP 404 with no API error body"), "{err}");
        }
    }
}

#[test]
fn a_duplicate_on_the_account_is_deleted_when_the_server_accepted_it() {
    let f = fixture(account());
    f.emu.set_duplicate_registration(DuplicateRegistration::Accept);
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let mut state = f.account();
    let mut twin = state.sip_registrations[1].clone();
    twin.registration_id = "reg-twin".into();
    state.sip_registrations.push(twin);
    f.emu.set_account(API_KEY, state);
    let (code, out, _) = f.run(&["plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("- registration alice@trunk.example.com will be deleted\n"), "{out}");
    assert!(out.contains("1. DELETE /api/sip/registrations/reg-twin\n"), "{out}");
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);
}

#[test]
fn an_omitted_pattern_converges_however_the_server_shows_it() {
    for mode in [OmittedPattern::Filled, OmittedPattern::Null, OmittedPattern::Omitted] {
        let f = Fixture::with_state(AccountState::default());
        f.emu.set_omitted_pattern(mode);
        sip_only(&f, &format!("sip:\n  allowedAgents:\n    - agentId: {}\n", AGENT_A.to_uppercase()));
        assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0, "{mode:?}");
        assert_eq!(body(&f, "PATCH", "/api/sip"), json!({"allowedAgents": [{"agentId": AGENT_A}]}));
        let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{mode:?}: {out}");
    }
    // Written out in any case, the default is the same allowance.
    let f = Fixture::with_state(AccountState::default().with_sip(SipConfig::default().allowance(AGENT_A, None)));
    sip_only(
        &f,
        &format!(
            "sip:\n  allowedAgents:\n    - {{ agentId: {AGENT_A}, toUserPattern: \"^agent_{}$\" }}\n",
            AGENT_A.to_uppercase()
        ),
    );
    assert_eq!(f.run(&["plan", "--detailed-exitcode"]).0, 0);
}

#[test]
fn an_unset_outbound_proxy_or_auth_user_converges_however_the_server_shows_it() {
    // The reference makes both nullable but does not say how an unset one is shown: a server storing a blank text
    // field answers `""`. Each spelling is "unset": apply creates, the plan after it has no changes, and import
    // writes a file that plans "No changes".
    for mode in [UnsetText::Null, UnsetText::Empty, UnsetText::Omitted] {
        let mut f = Fixture::with_state(AccountState::default().with_registration(SipRegistration::new(
            "reg-bob",
            "bob",
            "trunk.example.com",
            BOB_PASSWORD,
        )));
        f.emu.set_unset_registration_text(mode);
        f.env.insert("SIP_ALICE_PASSWORD".into(), ALICE_PASSWORD.into());
        f.env.insert("SIP_BOB_PASSWORD".into(), BOB_PASSWORD.into());
        sip_only(
            &f,
            "sipRegistrations:\n  - { username: alice, proxy: trunk.example.com, password: { env: SIP_ALICE_PASSWORD } }\n  \
             - { username: bob, proxy: trunk.example.com, password: { env: SIP_BOB_PASSWORD }, authUser: null }\n",
        );
        let (code, out, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
        assert_eq!(
            f.write_lines(),
            ["POST /api/sip/registrations authUser,outboundProxy,password,proxy,username"],
            "{mode:?}: only alice is created; bob's unset fields are no change"
        );
        let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
        std::fs::remove_file(f.path("telephony.yaml")).unwrap();
        let (code, _, err) = f.run(&["import"]);
        assert_eq!(code, 0, "{mode:?}: {err}");
        assert!(!err.contains("does not pass validation"), "{mode:?}: {err}");
        let written = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
        assert!(!written.contains("outboundProxy") && !written.contains("authUser"), "{mode:?}: {written}");
        let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{mode:?}: {out}{err}");
    }
}

#[test]
fn a_one_address_range_shown_without_its_prefix_length_is_the_same_network() {
    // A server keeping ranges as PostgreSQL's `inet` prints a `/32` network as its bare address.
    let mut f = Fixture::with_state(AccountState::default());
    f.emu.set_bare_host_ranges(true);
    sip_only(&f, "sip:\n  allowedCidrRanges: [10.0.0.0/8, 203.0.113.7/32]\n");
    let (code, out, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(body(&f, "PATCH", "/api/sip"), json!({"allowedCidrRanges": ["10.0.0.0/8", "203.0.113.7/32"]}));
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    // Import writes it as a network the file accepts, and the plan after it has no changes.
    f.env.retain(|k, _| k == "ULTRAVOX_API_KEY");
    std::fs::remove_file(f.path("telephony.yaml")).unwrap();
    let (code, _, err) = f.run(&["import"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
    assert!(written.contains("\"203.0.113.7/32\""), "{written}");
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_server_without_the_sip_endpoints_is_an_error_naming_the_url() {
    let f = fixture(account());
    f.emu.set_sip_endpoints(EndpointMode::GoneHtml);
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("/api/sip answered HTTP 404 with no API error body"), "{err}");
    assert!(f.write_lines().is_empty());
}

#[test]
fn import_leaves_the_sip_settings_out_on_a_server_without_them_and_says_so() {
    // However such a server answers: a 404 page, the API's own JSON 404 (the SIP config is a singleton every account
    // has, so it never means "not configured"), a 405 or a 410.
    for (mode, answer) in [
        (EndpointMode::GoneHtml, "HTTP 404 with no API error body"),
        (EndpointMode::Gone(404), "HTTP 404"),
        (EndpointMode::Gone(405), "HTTP 405"),
        (EndpointMode::Gone(410), "HTTP 410"),
    ] {
        let mut f = Fixture::with_state(full_state());
        std::fs::remove_file(f.path("telephony.yaml")).unwrap();
        f.env.retain(|k, _| k == "ULTRAVOX_API_KEY");
        f.emu.set_sip_endpoints(mode);
        let (code, out, err) = f.run(&["import", "--out", "-"]);
        assert_eq!(code, 0, "{mode:?}: {err}");
        assert!(out.contains("twilio:"), "{mode:?}: {out}");
        assert!(!out.contains("sip"), "{mode:?}: {out}");
        assert!(
            err.contains(&format!(
                "/api/sip answered {answer}: this server has no such endpoint, so the file leaves `sip` out (unmanaged)"
            )),
            "{mode:?}: {err}"
        );
        assert!(
            err.contains(&format!("/api/sip/registrations answered {answer}: this server has no such endpoint")),
            "{mode:?}: {err}"
        );
        assert!(err.contains("leaves `sipRegistrations` out"), "{mode:?}: {err}");
    }
}

#[test]
fn sip_null_is_refused_where_it_stands_and_nothing_is_sent() {
    let f = fixture(account());
    sip_only(&f, "plivo: null\nsip: null\n");
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("error[sip-not-deletable]: sip: the account's SIP config cannot be deleted"), "{err}");
    assert!(err.contains("--> telephony.yaml:2:6"), "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn import_writes_the_sip_settings_and_the_plan_after_it_has_no_changes() {
    let mut state = account();
    state.sip = state.sip.allowance(AGENT_A, Some("^sales$")).allowance(SUPPORT, None);
    state.sip_registrations[1] =
        state.sip_registrations[1].clone().outbound_proxy("edge.example.com").auth_user("carol-auth");
    let mut f = Fixture::with_state(state.clone());
    std::fs::remove_file(f.path("telephony.yaml")).unwrap();
    f.env.retain(|k, _| k == "ULTRAVOX_API_KEY");
    let (code, out, err) = f.run(&["import"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(f.request_lines(), import_reads("auto"));
    let written = std::fs::read_to_string(f.path("telephony.yaml")).unwrap();
    insta::assert_snapshot!("sip_import", written);
    assert!(err.contains("Wrote telephony.yaml: twilio, telnyx, plivo, sip, sipRegistrations (2)"), "{err}");
    assert!(err.contains("SIP_FALLBACK_SECRET, SIP_BOB_PASSWORD, SIP_CAROL_PASSWORD"), "{err}");
    assert!(err.contains("warning: registration bob@trunk.example.com: the API reports it as not active"), "{err}");
    assert_no_sip_secret(&written);
    assert_no_sip_secret(&err);
    // With the variables set to the account's values, the plan right after finds nothing to change.
    for (name, value) in [
        ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN),
        ("TELNYX_API_KEY", TELNYX_API_KEY),
        ("TELNYX_PUBLIC_KEY", TELNYX_PUBLIC_KEY),
        ("PLIVO_AUTH_TOKEN", PLIVO_TOKEN),
        ("SIP_FALLBACK_SECRET", REMOTE_FALLBACK),
        ("SIP_BOB_PASSWORD", "Ob5wKq1mZrX"),
        ("SIP_CAROL_PASSWORD", "Cr4lTz9QwY"),
    ] {
        f.env.insert(name.into(), value.into());
    }
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    insta::assert_snapshot!("sip_plan_after_import", out);
    assert_eq!(f.account(), state, "nothing was written");
}

#[test]
fn the_emulator_answers_with_agents_the_account_has() {
    // The allowances' agents need not exist for the API's schema; names are looked up like the providers'.
    let f = Fixture::with_state(AccountState::default().with_agents([Agent::new(SUPPORT, "Support")]));
    sip_only(&f, "sip:\n  allowedAgents:\n    - agentId: { agent: Nobody }\n");
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[agent-not-found]: sip.allowedAgents[0].agentId: no agent is named \"Nobody\""),
        "{err}"
    );
}

/// Values of the SIP settings that hold a secret of the run (a piece of 8 characters or more): a pattern holding part
/// of a registration's password, a fallback URL holding part of the file's fallback secret, an authUser holding the
/// account's fallback secret, a registration (its username and ID) holding part of another's password, a domain
/// holding part of the Twilio token. Each is shown masked whole, in every format, in the saved plan and in `-v` logs;
/// every document still parses; the saved plan applies and sends the true values; the plan after finds nothing.
#[test]
fn sip_values_holding_a_secret_are_hidden_everywhere_and_the_saved_plan_still_applies() {
    let mut state = account();
    state.sip.domain = format!("{}.sip.ultravox.ai", &TWILIO_TOKEN[..10]);
    state.sip_registrations[0] = state.sip_registrations[0].clone().auth_user(&format!("auth-{REMOTE_FALLBACK}"));
    let stray_user = format!("x{}", &BOB_PASSWORD[..9]);
    let stray_id = format!("reg-{}", &BOB_PASSWORD[..9]);
    state.sip_registrations.push(SipRegistration::new(&stray_id, &stray_user, "trunk.example.com", "Zz9stray-pass"));
    let f = fixture(state);
    let pattern = format!("^{}$", &ALICE_PASSWORD[..10]);
    let url = format!("https://hooks.example.com/{}", &FALLBACK_SECRET[..9]);
    let file = format!("{FULL_FILE}{SIP_BLOCK}")
        .replace("toUserPattern: \"^sales$\"", &format!("toUserPattern: \"{pattern}\""))
        .replace("url: https://hooks.example.com/sip-fallback", &format!("url: {url}"));
    f.write("telephony.yaml", &file);
    let hidden = "[hidden: holds part of a secret]";

    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        format!("~ sip will be updated (domain {hidden}, read-only)\n"),
        format!("        + {AGENT_A} toUserPattern={hidden}\n"),
        format!("    ~ fallbackHandler.url:     \"https://old.example.com/hook\" -> {hidden}\n"),
        format!("    - authUser:      {hidden}\n"),
        format!("- registration {hidden}@trunk.example.com will be deleted\n    - username: {hidden}\n"),
        format!("  5. DELETE /api/sip/registrations/{hidden}\n"),
    ] {
        assert!(out.contains(&line), "{line}\n{out}");
    }
    let (code, json_out, _) = f.run(&["plan", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&json_out).expect("the JSON document parses");
    assert_eq!(doc["sip"]["domain"], hidden);
    assert_eq!(doc["sipRegistrations"][3]["username"], hidden);
    assert_eq!(doc["sipRegistrations"][3]["registrationId"], hidden);
    assert_eq!(doc["requests"][4]["path"], format!("/api/sip/registrations/{hidden}"));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&doc), "the document follows its schema");
    let (_, markdown, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(markdown.contains(&format!(", <code>{hidden}@trunk.example.com</code>: the account")), "{markdown}");
    f.write("plan-doc.json", &json_out);
    let (code, shown, _) = f.run(&["show", "plan-doc.json"]);
    assert_eq!((code, shown), (0, out.clone()), "show renders the document as the run did");

    let (code, _, err) = f.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    let saved = std::fs::read_to_string(f.path("plan.json")).unwrap();
    serde_json::from_str::<Value>(&saved).expect("the saved plan parses");
    f.emu.clear_requests();
    let (code, applied, log) = f.run(&["-v", "apply", "plan.json"]);
    assert_eq!(code, 0, "the saved plan with hidden values applies: {applied}{log}");
    assert!(log.contains(&format!("DELETE /api/sip/registrations/{hidden}")), "{log}");
    for text in [&out, &json_out, &markdown, &saved, &applied, &log] {
        assert_no_sip_secret(text);
        for secret in [&TWILIO_TOKEN[..10], &BOB_PASSWORD[..9], &ALICE_PASSWORD[..10], &FALLBACK_SECRET[..9]] {
            assert!(!text.contains(secret), "{secret}:\n{text}");
        }
    }
    // The true values were sent.
    let patch = body(&f, "PATCH", "/api/sip");
    assert_eq!(patch["allowedAgents"][0], json!({"agentId": AGENT_A, "toUserPattern": pattern}));
    assert_eq!(patch["fallbackHandler"]["url"], url);
    assert!(f.write_lines().contains(&format!("DELETE /api/sip/registrations/{stray_id}")), "{:?}", f.write_lines());
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

/// `import` writes the SIP settings exactly or not at all: a value on the account that holds a secret the run read
/// (here the account's own fallback secret, pasted into a registration's authUser and into the fallback URL) stops it
/// before anything is written, naming the fields.
#[test]
fn import_stops_when_a_sip_value_holds_a_secret_of_the_run_and_names_the_fields() {
    let mut state = account();
    state.sip = state.sip.fallback(format!("https://h.example.com/{REMOTE_FALLBACK}"), [REMOTE_FALLBACK]);
    state.sip_registrations[1] = state.sip_registrations[1].clone().auth_user(&REMOTE_FALLBACK[2..12]);
    let mut f = Fixture::with_state(state);
    std::fs::remove_file(f.path("telephony.yaml")).unwrap();
    f.env.retain(|k, _| k == "ULTRAVOX_API_KEY");
    let (code, out, err) = f.run(&["import"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains(
            "error: the account's sip.fallbackHandler.url, sipRegistrations[1].authUser hold part of a secret this \
             run read (the Ultravox API key, or the SIP fallback handler's secrets); the file would put it in git, so \
             nothing was written"
        ),
        "{err}"
    );
    assert!(!f.path("telephony.yaml").exists(), "nothing was written");
    assert_no_sip_secret(&err);
}

/// A fallback secret under 8 characters set on the account by hand cannot be recognised inside data; like a prefix,
/// it is kept out of what the server says where it stands as a word. The file's secrets under 8 characters (a
/// password, a fallback secret) are refused before any request.
#[test]
fn short_sip_secrets_are_refused_in_the_file_and_kept_out_of_server_text() {
    let state = AccountState::default().with_sip(SipConfig::default().fallback("https://h.example.com/a", ["Zq7x1"]));
    let mut f = Fixture::with_state(state);
    sip_only(
        &f,
        "sip:\n  fallbackHandler: { url: https://h.example.com/b }\nsipRegistrations:\n  - username: alice\n    \
         proxy: trunk.example.com\n    password: { env: SIP_ALICE_PASSWORD }\n",
    );
    f.env.insert("SIP_ALICE_PASSWORD".into(), ALICE_PASSWORD.into());
    f.emu.push_fault_for("POST", Fault::status_with_body(400, r#"{"detail": "Zq7x1 may not sign a registration."}"#));
    let (code, _, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("answered HTTP 400: [hidden: a secret's prefix] may not sign a registration."), "{err}");
    assert!(!err.contains("Zq7x1"), "{err}");

    f.env.insert("SIP_ALICE_PASSWORD".into(), "pw-12".into());
    f.emu.clear_requests();
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "error[short-secret]: sipRegistrations[0].password: the value of environment variable SIP_ALICE_PASSWORD \
             is 5 characters long"
        ),
        "{err}"
    );
    assert!(err.contains("if the SIP trunk's password really is this short, set a longer one"), "{err}");
    assert!(f.emu.requests().is_empty(), "nothing is sent");
}

/// A registration's proxy is a host name: the file's `Trunk.Example.COM` is the account's `trunk.example.com` (a server
/// may keep it lower-cased), so nothing is deleted and re-created; the username stays exact. Two entries whose
/// proxies differ only in case are the same registration twice, refused where the second stands.
#[test]
fn a_registrations_proxy_is_compared_as_a_host_name_without_case() {
    let state = AccountState {
        sip_registrations: vec![SipRegistration::new("reg-bob", "bob", "trunk.example.com", "Ob5wKq1mZrX")],
        ..AccountState::default()
    };
    let mut f = Fixture::with_state(state);
    f.env.insert("SIP_BOB_PASSWORD".into(), BOB_PASSWORD.into());
    sip_only(
        &f,
        "sipRegistrations:\n  - username: bob\n    proxy: Trunk.Example.COM\n    password: { env: SIP_BOB_PASSWORD }\n",
    );
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    assert!(f.write_lines().is_empty(), "{:?}", f.write_lines());

    // Another username is another registration: bob is deleted, Bob created.
    sip_only(
        &f,
        "sipRegistrations:\n  - username: Bob\n    proxy: trunk.example.com\n    password: { env: SIP_BOB_PASSWORD }\n",
    );
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("+ registration Bob@trunk.example.com will be created"), "{out}");
    assert!(out.contains("- registration bob@trunk.example.com will be deleted"), "{out}");

    sip_only(
        &f,
        "sipRegistrations:\n  - username: bob\n    proxy: trunk.example.com\n    password: { env: SIP_BOB_PASSWORD }\n  \
         - username: bob\n    proxy: TRUNK.example.com\n    password: { env: SIP_BOB_PASSWORD }\n",
    );
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[duplicate-registration]"), "{err}");
    assert!(err.contains("--> telephony.yaml:5:"), "{err}");
}
