//! Every write body the emulator receives is checked against the official request schemas
//! (`emulator/data/ultravox-write-schemas.yaml`, copied from Ultravox's OpenAPI document). A body that does not conform
//! is still answered as the emulator would, and recorded as a violation ([`crate::Emulator::schema_violations`]),
//! which the test harness turns into a failure.
//!
//! OpenAPI 3.0 is not quite JSON Schema: `nullable: true` becomes `anyOf [..., null]`, and a `readOnly` property
//! (a secret's `...Prefix`) must not be sent, so it is dropped from `required` and refused in a request.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

const SCHEMAS: &str = include_str!("../data/ultravox-write-schemas.yaml");

fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static VALIDATORS: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let doc: Value = serde_saphyr::from_str(SCHEMAS).expect("emulator/data/ultravox-write-schemas.yaml is YAML");
        let schemas = doc["schemas"].as_object().expect("a `schemas` mapping").clone();
        let defs: Map<String, Value> = schemas.iter().map(|(k, v)| (k.clone(), to_json_schema(v))).collect();
        schemas
            .keys()
            .map(|name| {
                let schema = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "$defs": defs,
                    "$ref": format!("#/$defs/{name}"),
                });
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
                (name.clone(), validator)
            })
            .collect()
    })
}

/// An OpenAPI 3.0 schema object as a JSON Schema for a request body.
fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut read_only = Vec::new();
            for (key, value) in map {
                match key.as_str() {
                    "nullable" => {}
                    "$ref" => {
                        let target = value.as_str().unwrap_or_default().replace("#/components/schemas/", "#/$defs/");
                        out.insert(key.clone(), Value::String(target));
                    }
                    "properties" => {
                        let mut props = Map::new();
                        for (name, prop) in value.as_object().into_iter().flatten() {
                            if prop.get("readOnly") == Some(&Value::Bool(true)) {
                                read_only.push(name.clone());
                                props.insert(name.clone(), Value::Bool(false));
                            } else {
                                props.insert(name.clone(), to_json_schema(prop));
                            }
                        }
                        out.insert(key.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(value));
                    }
                }
            }
            if let Some(Value::Array(required)) = out.get_mut("required") {
                required.retain(|r| !read_only.iter().any(|n| Some(n.as_str()) == r.as_str()));
            }
            let converted = Value::Object(out);
            if map.get("nullable") == Some(&Value::Bool(true)) {
                json!({ "anyOf": [converted, { "type": "null" }] })
            } else {
                converted
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// The schema a write's body takes, by method and path; `None` for requests without a body schema.
fn schema_for(method: &str, path: &str) -> Option<&'static str> {
    Some(match (method, path) {
        ("PATCH", "/api/accounts/me/telephony_config") => "PatchedAccountTelephonyConfig",
        ("POST", "/api/telephony_configs/twilio") => "TwilioConfig",
        ("POST", "/api/telephony_configs/telnyx") => "TelnyxConfig",
        ("POST", "/api/telephony_configs/plivo") => "PlivoConfig",
        ("PATCH", "/api/telephony_configs/twilio") => "PatchedTwilioConfig",
        ("PATCH", "/api/telephony_configs/telnyx") => "PatchedTelnyxConfig",
        ("PATCH", "/api/telephony_configs/plivo") => "PatchedPlivoConfig",
        ("PATCH", "/api/sip") => "PatchedSipConfig",
        ("POST", "/api/sip/registrations") => "SipRegistration",
        ("PATCH", path) if path.starts_with("/api/sip/registrations/") => "PatchedSipRegistration",
        _ => return None,
    })
}

/// What is wrong with a write's body against the official schema (empty when it conforms, or is not a write).
pub(crate) fn violations(method: &str, path: &str, body: &[u8]) -> Vec<String> {
    let Some(name) = schema_for(method, path) else { return Vec::new() };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return vec![format!("{method} {path}: the body is not JSON")];
    };
    let validator = &validators()[name];
    validator.iter_errors(&value).map(|e| format!("{method} {path}: {name}: {} at {}", e, e.instance_path())).collect()
}
