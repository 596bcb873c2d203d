//! Diagnostics carry a stable code, in text (`error[CODE]: ...`) and in JSON (with file, line, column, path, message
//! and hint), so that a script or a CI annotation can place each problem: `validate --format json`, and the failure
//! documents of `plan` and `apply --format json`, for one file or several, file problems and resolution problems.

use crate::common::*;
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(format!("{}/schema/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

fn assert_valid(schema_name: &str, doc: &Value) {
    let validator = schema(schema_name);
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:?}\n{doc:#}");
}

/// Three problems: a typo of a key, a literal secret, an agent ID that is not one.
const BROKEN: &str = "twilio:
  acountSid: AC0123456789abcdef0123456789abcdef
  authToken: FAKE-literal-token-value
  callCreationAllowedAgentIds: [not-a-uuid]
";

#[test]
fn text_diagnostics_lead_with_their_code() {
    let f = Fixture::new();
    f.write("telephony.yaml", BROKEN);
    let (code, out, err) = f.run(&["validate"]);
    assert_eq!(code, 1);
    assert_eq!(out, "", "validate --format text prints nothing on stdout");
    let headlines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(
        headlines,
        [
            "error[unknown-key]: twilio.acountSid: unknown key `acountSid`",
            "error[literal-secret]: twilio.authToken: is a literal secret; secrets must be references so that they never live in git",
            "error[invalid-agent-id]: twilio.callCreationAllowedAgentIds[0]: `not-a-uuid` is not a UUID",
            "error: 3 problems found in telephony.yaml; nothing was sent",
        ]
    );
}

#[test]
fn validate_json_places_each_problem_with_its_code() {
    let f = Fixture::new();
    f.write("telephony.yaml", BROKEN);
    let (code, out, err) = f.run(&["validate", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(err.contains("error[unknown-key]"), "the problems are on stderr too: {err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("validate.schema.json", &doc);
    assert_eq!(doc["formatVersion"], 1);
    assert_eq!(doc["valid"], false);
    let file = &doc["files"][0];
    assert_eq!((file["file"].as_str(), file["valid"].as_bool()), (Some("telephony.yaml"), Some(false)));
    assert_eq!(
        file["diagnostics"][0],
        json!({
            "code": "unknown-key",
            "file": "telephony.yaml",
            "line": 2,
            "column": 3,
            "path": "twilio.acountSid",
            "message": "unknown key `acountSid`",
            "hint": "did you mean `accountSid`?",
        })
    );
    let placed: Vec<(String, u64, u64)> = file["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_string(), d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        placed,
        [("unknown-key".into(), 2, 3), ("literal-secret".into(), 3, 14), ("invalid-agent-id".into(), 4, 33)]
    );
    assert!(!out.contains("FAKE"), "no literal secret in the document: {out}");
}

#[test]
fn validate_json_of_several_files_lists_each_and_a_problem_of_the_whole_file_has_no_line() {
    let f = Fixture::new();
    f.write("a/telephony.yaml", "plivo: null\n");
    f.write("b/telephony.yaml", "");
    let (code, out, _) = f.run(&["validate", "-f", "a", "-f", "b", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("validate.schema.json", &doc);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["files"][0], json!({"file": "a/telephony.yaml", "valid": true, "managed": ["plivo"]}));
    let empty = &doc["files"][1]["diagnostics"][0];
    assert_eq!(empty["code"], "empty-file");
    assert_eq!(empty["file"], "b/telephony.yaml");
    assert!(empty.get("line").is_none() && empty.get("column").is_none() && empty.get("path").is_none(), "{empty}");

    let (code, out, _) = f.run(&["validate", "-f", "a", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        json!({"formatVersion": 1, "valid": true, "files": [{"file": "a/telephony.yaml", "valid": true, "managed": ["plivo"]}]})
    );
}

#[test]
fn validate_json_reports_a_run_that_cannot_start_as_its_error() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("empty")).unwrap();
    let (code, out, err) = f.run(&["validate", "-f", "empty", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("validate.schema.json", &doc);
    assert_eq!((doc["valid"].as_bool(), doc["files"].as_array().map(Vec::len)), (Some(false), Some(0)));
    assert!(doc["error"]["message"].as_str().unwrap().contains("empty"), "{doc}");
}

#[test]
fn plan_json_on_an_invalid_file_is_a_failure_document_with_the_diagnostics() {
    let f = Fixture::new();
    f.write("telephony.yaml", BROKEN);
    for command in [&["plan", "--format", "json"][..], &["apply", "--auto-approve", "--format", "json"]] {
        let (code, out, err) = f.run(command);
        assert_eq!(code, 1, "{command:?}");
        assert!(err.contains("error[literal-secret]: twilio.authToken"), "{err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_valid("plan.schema.json", &doc);
        assert_eq!(doc["file"], "telephony.yaml");
        assert!(doc.get("summary").is_none() && doc.get("providers").is_none(), "{doc}");
        let codes: Vec<&str> =
            doc["error"]["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["unknown-key", "literal-secret", "invalid-agent-id"], "{command:?}");
        assert!(doc["error"]["message"].as_str().unwrap().starts_with("error[unknown-key]: twilio.acountSid"));
        assert!(!out.contains("FAKE"), "{out}");
    }
    assert!(f.emu.requests().is_empty(), "nothing is sent");
}

#[test]
fn resolution_problems_have_codes_in_text_and_json_one_file_or_several() {
    let mut f = Fixture::new();
    f.env.remove("PLIVO_AUTH_TOKEN");
    let (code, out, err) = f.run(&["plan", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[env-unset]: plivo.authToken: environment variable PLIVO_AUTH_TOKEN is not set"),
        "{err}"
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("plan.schema.json", &doc);
    let d = &doc["error"]["diagnostics"][0];
    assert_eq!(
        (d["code"].as_str(), d["path"].as_str(), d["line"].as_u64()),
        (Some("env-unset"), Some("plivo.authToken"), Some(18))
    );

    // With several files, the failed file's entry carries its diagnostics; the other is planned.
    f.write("other/telephony.yaml", "account: { apiKey: { env: ULTRAVOX_API_KEY } }\nplivo: null\n");
    f.write("broken/telephony.yaml", "twilio:\n  accountSid: AC1\n  authToken: { file: no-such-file }\n");
    let (code, out, _) = f.run(&["plan", "-f", "broken", "-f", "other", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_valid("plan.schema.json", &doc);
    let failed = &doc["files"][0];
    assert_eq!(failed["file"], "broken/telephony.yaml");
    assert_eq!(failed["error"]["diagnostics"][0]["code"], "unreadable-reference");
    assert_eq!(failed["error"]["diagnostics"][0]["file"], "broken/telephony.yaml");
    assert_eq!(
        (failed["error"]["diagnostics"][0]["line"].as_u64(), failed["error"]["diagnostics"][0]["column"].as_u64()),
        (Some(3), Some(14))
    );
    assert!(doc["files"][1]["summary"].is_object(), "the other file is planned: {doc}");
}
