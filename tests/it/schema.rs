//! The JSON Schemas: the committed files equal what the binary prints, the examples validate, and files that
//! `validate` rejects are rejected by the schema too.

use crate::common::*;

fn committed(name: &str) -> String {
    std::fs::read_to_string(format!("{}/schema/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn file_schema() -> jsonschema::Validator {
    jsonschema::validator_for(&serde_json::from_str(&committed("telephony.schema.json")).unwrap()).unwrap()
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str::<Option<serde_json::Value>>(text).unwrap().unwrap_or(serde_json::Value::Null)
}

#[test]
fn committed_schemas_equal_the_generated_ones() {
    let f = Fixture::new();
    for (args, name) in [
        (&["schema"][..], "telephony.schema.json"),
        (&["schema", "--for", "plan"], "plan.schema.json"),
        (&["schema", "--for", "validate"], "validate.schema.json"),
    ] {
        let (code, out, _) = f.run(args);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            committed(name),
            "schema/{name} is stale: run `cargo run -- {} > schema/{name}`",
            args.join(" ")
        );
    }
}

#[test]
fn every_example_validates_against_the_schema_and_with_validate() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"));
    let validator = file_schema();
    let mut checked = 0;
    // The examples' own files, and each example folder's telephony.yaml (`examples/sops/`, beside its encrypted file).
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.extend(paths.clone().iter().map(|p| p.join("telephony.yaml")).filter(|p| p.is_file()));
    for path in paths {
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") || path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let errors: Vec<String> = validator.iter_errors(&yaml_to_json(&text)).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        let f = Fixture::new();
        let (code, _, err) = f.run(&["validate", "-f", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", path.display());
        checked += 1;
    }
    assert!(checked >= 2, "the example and examples/sops/telephony.yaml");
    assert!(validator.is_valid(&yaml_to_json(FULL_FILE)));
    let sops = "plivo:\n  authId: { sops: s.enc.json, key: plivo.authId }\n  authToken: { sops: s.enc.json, key: plivo.tokens.0 }\n";
    assert!(validator.is_valid(&yaml_to_json(sops)));
}

/// Files that parse as YAML but break a rule the schema can express.
const INVALID: &[&str] = &[
    "twilo:\n  accountSid: AC1\n",
    "twilio:\n  accountSid: AC1\n  authToken: { env: T }\n  acountSid: x\n",
    "plivo:\n  authId: MA1\n  authToken: abc\n",
    "plivo:\n  authId: MA1\n  authToken:\n",
    "account:\n  apiKey: uv-key\nplivo: null\n",
    "account: null\nplivo: null\n",
    "plivo:\n  authId: MA1\n  authToken: { env: A, file: b }\n",
    "plivo:\n  authId: MA1\n  authToken: { vault: a }\n",
    "plivo:\n  authId: MA1\n  authToken: { env: \"1 BAD\" }\n",
    "plivo:\n  authId: MA1\n  authToken: { file: \"\" }\n",
    "twilio:\n  authToken: { env: T }\n",
    "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  applicationSid: \"1\"\n",
    "plivo:\n  authId: \"\"\n  authToken: { env: T }\n",
    "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  publicKey: { env: P }\n  applicationSid: 123\n",
    "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  publicKey: { env: P }\n  applicationSid: \"12345678901234567890123456789012345678901\"\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowedAgentIds: [nope]\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgents: true\n  callCreationAllowedAgentIds: [3c90c3cc-0d44-4b50-8888-8dd25736052a]\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgents: \"yes\"\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgents: null\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  requestContextMapping:\n    From: 5\n",
    "plivo: yes\n",
    "version: 2\nplivo: null\n",
    "- twilio\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  authTokenPrefix: { prefix: ab }\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowedAgentIds: [{ agent: \"\" }]\n",
    "plivo:\n  authId: MA1\n  authToken: { sops: s.enc.yaml }\n",
    "plivo:\n  authId: MA1\n  authToken: { env: T, key: plivo.authToken }\n",
    "plivo:\n  authId: MA1\n  authToken: { sops: s.enc.yaml, env: T, key: plivo.authToken }\n",
    "plivo:\n  authId: MA1\n  authToken: { sops: s.enc.yaml, key: \"plivo..authToken\" }\n",
    "plivo:\n  authId: MA1\n  authToken: { sops: s.enc.yaml, key: \"\" }\n",
    "plivo:\n  authId: MA1\n  authToken: { sops: \"\", key: plivo.authToken }\n",
    "plivo:\n  authId: MA1\n  authToken: { command: \"cat /run/token\" }\n",
    "sip: null\n",
    "sip:\n  domain: acme.sip.ultravox.ai\n",
    "sip:\n  allowedCidrRanges: [not-a-network]\n",
    "sip:\n  allowedAgents: [3c90c3cc-0d44-4b50-8888-8dd25736052a]\n",
    "sip:\n  allowedAgents:\n    - toUserPattern: x\n",
    "sip:\n  fallbackHandler: { url: https://h.example.com, secrets: [] }\n",
    "sip:\n  fallbackHandler: { url: https://h.example.com, secrets: [literal-secret] }\n",
    "sip:\n  fallbackHandler: { secrets: [{ env: S }] }\n",
    "sipRegistrations: null\n",
    "sipRegistrations:\n  - { username: alice, proxy: t.example.com }\n",
    "sipRegistrations:\n  - { username: alice, proxy: t.example.com, password: literal }\n",
    "sipRegistrations:\n  - { username: alice, proxy: t.example.com, password: { env: P }, registrationId: r1 }\n",
];

#[test]
fn files_validate_rejects_are_rejected_by_the_schema_too() {
    let validator = file_schema();
    let f = Fixture::new();
    for text in INVALID {
        f.write("telephony.yaml", text);
        let (code, _, err) = f.run(&["validate"]);
        assert_eq!(code, 1, "validate accepted:\n{text}");
        assert!(err.contains("telephony.yaml:"), "{err}");
        assert!(!validator.is_valid(&yaml_to_json(text)), "the schema accepted:\n{text}");
    }
}

/// Broken files of the diagnostics corpus that the schema cannot judge, with why. Every other one that is YAML at
/// all must be rejected by the schema as it is by `validate`.
const SCHEMA_CANNOT_TELL: &[(&str, &str)] = &[
    ("42-duplicate-agent-ids-differing-case", "uniqueItems compares strings exactly; UUIDs are case-insensitive"),
    (
        "67-provider-key-with-no-value",
        "`plivo:` and `plivo: null` read as the same null: only the text tells them apart",
    ),
];

#[test]
fn the_diagnostics_corpus_is_rejected_by_the_schema_too() {
    let validator = file_schema();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/diagnostics");
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    let mut accepted = Vec::new();
    let mut checked = 0;
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") || stem.contains("resolve") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Ok(Some(value)) = serde_saphyr::from_str::<Option<serde_json::Value>>(&text) else { continue };
        checked += 1;
        let known = SCHEMA_CANNOT_TELL.iter().any(|(s, _)| *s == stem);
        if validator.is_valid(&value) != known {
            accepted.push(stem);
        }
    }
    assert!(checked >= 50, "checked {checked}");
    assert!(
        accepted.is_empty(),
        "the schema's verdict differs from validate's (or from SCHEMA_CANNOT_TELL) for: {accepted:?}"
    );
}
