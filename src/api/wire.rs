//! The JSON of the Ultravox telephony-config endpoints: reading an answer into a [`RemoteState`] (checking its shape,
//! since a server can misbehave), and writing request bodies. In this module a secret is exposed only where a body
//! is built ([`account_patch_body`], [`provider_body`]); `secret`'s module comment lists every other place.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::provider::{self, Provider};
use crate::state::{DesiredProvider, RemotePrefix, RemoteProvider, RemoteState, Settings};

/// Why an answer could not be read. Describes the shape, never quotes the body (it could hold anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// Reads the body of `GET /api/accounts/me/telephony_config`: it must say something about every provider.
pub fn parse_account_config(body: &[u8]) -> Result<RemoteState, ShapeError> {
    parse_account_answer(body, &Provider::ALL)
}

/// Reads the body of an answer of `/api/accounts/me/telephony_config` that must say something (a block or `null`)
/// about each of `required`: every provider for a `GET`; the providers it wrote for a `PATCH` (a server may answer a
/// merge with only what it changed). A provider the answer is silent about, and need not speak of, reads as absent.
pub fn parse_account_answer(body: &[u8], required: &[Provider]) -> Result<RemoteState, ShapeError> {
    let value = json(body)?;
    let Value::Object(top) = value else {
        return Err(ShapeError(format!("expected a JSON object, found {}", kind(&value))));
    };
    let mut state = RemoteState::default();
    for provider in Provider::ALL {
        state.providers[provider.index()] = match top.get(provider.key()) {
            None if !required.contains(&provider) => None,
            // Silence is not "not configured": the API always answers each provider, with a block or null.
            None => {
                return Err(ShapeError(format!(
                    "it says nothing about `{}` (the API answers each of twilio, telnyx and plivo, with a block or \
                     null)",
                    provider.key()
                )));
            }
            Some(Value::Null) => None,
            Some(Value::Object(block)) => Some(parse_provider(provider, block)?),
            Some(other) => {
                return Err(ShapeError(format!(
                    "`{}` should be an object or null, found {}",
                    provider.key(),
                    kind(other)
                )));
            }
        };
    }
    Ok(state)
}

/// Reads the body of a provider-scoped answer (`GET`/`POST`/`PATCH /api/telephony_configs/{provider}`).
pub fn parse_provider_config(provider: Provider, body: &[u8]) -> Result<RemoteProvider, ShapeError> {
    let value = json(body)?;
    match value {
        Value::Object(block) => parse_provider(provider, &block),
        other => Err(ShapeError(format!("expected a JSON object, found {}", kind(&other)))),
    }
}

/// The fields of `provider` a provider-scoped answer carried: those whose key (for a secret, `{name}Prefix`) is
/// present and not `null`. Empty when the body is not a JSON object (then [`parse_provider_config`] refuses it).
pub fn carried_fields(provider: Provider, body: &[u8]) -> std::collections::BTreeSet<String> {
    let Ok(Value::Object(block)) = serde_json::from_slice::<Value>(body) else { return Default::default() };
    let present = |key: &str| block.get(key).is_some_and(|v| !v.is_null());
    provider
        .known_keys()
        .into_iter()
        .filter(|field| {
            if provider.secret_fields().contains(field) { present(&format!("{field}Prefix")) } else { present(field) }
        })
        .map(str::to_string)
        .collect()
}

/// Reads one provider block (the account-level answer's `twilio`, or a provider-scoped answer).
pub fn parse_provider(provider: Provider, block: &Map<String, Value>) -> Result<RemoteProvider, ShapeError> {
    let at = |field: &str| format!("{}.{field}", provider.key());
    let mut identifiers = BTreeMap::new();
    for &field in provider.identifier_fields() {
        match block.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                identifiers.insert(field.to_string(), s.clone());
            }
            Some(other) => {
                return Err(ShapeError(format!("`{}` should be a string, found {}", at(field), kind(other))));
            }
        }
    }
    let mut prefixes = BTreeMap::new();
    for &field in provider.secret_fields() {
        let key = format!("{field}Prefix");
        let prefix = match block.get(&key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(obj)) => match obj.get("prefix") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(RemotePrefix::new(p.clone())),
                Some(other) => {
                    return Err(ShapeError(format!("`{}.prefix` should be a string, found {}", at(&key), kind(other))));
                }
            },
            Some(other) => {
                return Err(ShapeError(format!("`{}` should be an object, found {}", at(&key), kind(other))));
            }
        };
        prefixes.insert(field.to_string(), prefix);
    }
    let allowed_agent_ids = match block.get(provider::AGENT_IDS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => {
                    Err(ShapeError(format!("`{}` should hold strings, found {}", at(provider::AGENT_IDS), kind(other))))
                }
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ShapeError(format!("`{}` should be a list, found {}", at(provider::AGENT_IDS), kind(other))));
        }
    };
    let allow_all_agents = match block.get(provider::ALLOW_ALL) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ShapeError(format!(
                "`{}` should be a boolean, found {}",
                at(provider::ALLOW_ALL),
                kind(other)
            )));
        }
    };
    let request_context_mapping = match block.get(provider::CONTEXT_MAPPING) {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(ShapeError(format!(
                    "`{}` values should be strings, found {}",
                    at(provider::CONTEXT_MAPPING),
                    kind(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ShapeError(format!(
                "`{}` should be an object, found {}",
                at(provider::CONTEXT_MAPPING),
                kind(other)
            )));
        }
    };
    Ok(RemoteProvider {
        provider,
        identifiers,
        prefixes,
        settings: Settings { allowed_agent_ids, allow_all_agents, request_context_mapping },
    })
}

/// An agent as `GET /api/agents` lists it (only what name resolution needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub name: String,
}

/// One page of `GET /api/agents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentsPage {
    pub agents: Vec<Agent>,
    /// The next page's full URL.
    pub next: Option<String>,
}

/// Reads one page of `GET /api/agents`: `{next, previous, results: [{agentId, name, ...}], total}`.
pub fn parse_agents_page(body: &[u8]) -> Result<AgentsPage, ShapeError> {
    let value = json(body)?;
    let Value::Object(top) = value else {
        return Err(ShapeError(format!("expected a JSON object, found {}", kind(&value))));
    };
    let next = match top.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(ShapeError(format!("`next` should be a URL or null, found {}", kind(other)))),
    };
    let Some(Value::Array(results)) = top.get("results") else {
        return Err(ShapeError("`results` should be a list of agents".into()));
    };
    let agents = results
        .iter()
        .map(|item| {
            let id = item.get("agentId").and_then(Value::as_str);
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            match id {
                Some(id) => Ok(Agent { id: id.to_lowercase(), name: name.to_string() }),
                None => Err(ShapeError("an agent in `results` has no `agentId` string".into())),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(AgentsPage { agents, next })
}

/// An answer's body as JSON, or where it stops being JSON.
pub(super) fn json(body: &[u8]) -> Result<Value, ShapeError> {
    serde_json::from_slice(body)
        .map_err(|e| ShapeError(format!("the answer is not valid JSON (line {}, column {})", e.line(), e.column())))
}

/// What a JSON value is, in words: `a string`, `null`, ...
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One provider's part of an account-level write: a complete block, or `None` to delete it.
pub type ProviderWrite<'a> = (Provider, Option<&'a DesiredProvider>);

/// The body of `PATCH /api/accounts/me/telephony_config`: only the written providers, each a complete block (its
/// secrets included, as the endpoint requires) or `null`.
pub fn account_patch_body(writes: &[ProviderWrite<'_>]) -> Vec<u8> {
    let mut top = Map::new();
    for (provider, desired) in writes {
        let block = match desired {
            None => Value::Null,
            Some(d) => Value::Object(complete_block(d)),
        };
        top.insert(provider.key().to_string(), block);
    }
    serde_json::to_vec(&Value::Object(top)).expect("a map of strings, lists and booleans serialises")
}

/// The body of a provider-scoped write: the complete block (`POST`), or only `fields` of it (`PATCH`).
pub fn provider_body(desired: &DesiredProvider, fields: Option<&[String]>) -> Vec<u8> {
    let mut block = complete_block(desired);
    if let Some(fields) = fields {
        block.retain(|key, _| fields.iter().any(|f| f == key));
    }
    serde_json::to_vec(&Value::Object(block)).expect("a map of strings, lists and booleans serialises")
}

fn complete_block(desired: &DesiredProvider) -> Map<String, Value> {
    let mut block = Map::new();
    for (field, value) in &desired.identifiers {
        block.insert(field.to_string(), Value::String(value.clone()));
    }
    for (field, secret) in &desired.secrets {
        block.insert(field.to_string(), Value::String(secret.expose_secret().to_string()));
    }
    let s = &desired.settings;
    block.insert(
        provider::AGENT_IDS.to_string(),
        Value::Array(s.allowed_agent_ids.iter().cloned().map(Value::String).collect()),
    );
    block.insert(provider::ALLOW_ALL.to_string(), Value::Bool(s.allow_all_agents));
    block.insert(
        provider::CONTEXT_MAPPING.to_string(),
        Value::Object(s.request_context_mapping.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()),
    );
    block
}

/// One message of a Django REST Framework error body: the field it is about (a dotted path, empty for the whole
/// request) and its text. Shown as `twilio.authToken: This field is required.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrfMessage {
    pub field: String,
    pub text: String,
}

impl std::fmt::Display for DrfMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() { f.write_str(&self.text) } else { write!(f, "{}: {}", self.field, self.text) }
    }
}

/// Whether a body is the API's error `{"detail": "..."}`: a JSON object whose `detail` is a string (beside it, a
/// key some DRF exception handlers add, such as `code`, is accepted). Only a 404 with such a body says "not
/// configured"; another JSON (a gateway's `{"error": ...}`), an HTML page or an empty body says the path does not
/// exist there.
pub fn is_detail_body(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map.get("detail").is_some_and(Value::is_string),
        _ => false,
    }
}

/// Turns a Django REST Framework error body into readable lines: `{"detail": "..."}` gives its text, field-keyed
/// bodies give `twilio.authToken: This field is required.` per message. `None` when the body is not of that shape.
pub fn drf_messages(body: &[u8]) -> Option<Vec<DrfMessage>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut lines = Vec::new();
    collect_messages(&value, "", &mut lines);
    if lines.is_empty() { None } else { Some(lines) }
}

fn collect_messages(value: &Value, path: &str, out: &mut Vec<DrfMessage>) {
    let prefixed = |text: &str| DrfMessage { field: path.to_string(), text: text.to_string() };
    match value {
        Value::String(s) => out.push(prefixed(s)),
        Value::Array(items) => {
            for item in items {
                collect_messages(item, path, out);
            }
        }
        Value::Object(map) => {
            for (key, inner) in map {
                let child = if key == "detail" || key == "non_field_errors" {
                    path.to_string()
                } else if key.chars().all(|c| c.is_ascii_digit()) && !path.is_empty() {
                    format!("{path}[{key}]")
                } else if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                collect_messages(inner, &child, out);
            }
        }
        Value::Number(n) => out.push(prefixed(&n.to_string())),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn parses_a_full_answer() {
        let body = br#"{"twilio": {"accountSid": "AC1", "authTokenPrefix": {"prefix": "ab"},
            "callCreationAllowedAgentIds": ["3C90C3CC-0D44-4B50-8888-8DD25736052A"], "callCreationAllowAllAgents": false,
            "requestContextMapping": {"From": "user.phone"}}, "telnyx": null, "plivo": null}"#;
        let state = parse_account_config(body).unwrap();
        let twilio = state.get(Provider::Twilio).unwrap();
        assert_eq!(twilio.identifier("accountSid"), Some("AC1"));
        assert_eq!(twilio.prefix("authToken").map(|p| p.expose()), Some("ab"));
        // Kept as the account spells it (import writes it so); the plan compares IDs without regard to case.
        assert_eq!(twilio.settings.allowed_agent_ids, vec!["3C90C3CC-0D44-4B50-8888-8DD25736052A"]);
        assert!(state.get(Provider::Telnyx).is_none());
        assert!(state.get(Provider::Plivo).is_none());
    }

    #[test]
    fn refuses_wrong_shapes_without_quoting_the_body() {
        for body in [&b"[]"[..], b"{\"twilio\": 5}", b"{\"twilio\": {\"accountSid\": 1}}", b"{\"twilio\": "] {
            let err = parse_account_config(body).unwrap_err();
            assert!(!err.0.contains('5') || err.0.contains("line"), "{err}");
        }
    }

    #[test]
    fn an_answer_silent_about_a_provider_is_refused_naming_it() {
        for (body, silent) in [
            (&br#"{}"#[..], "twilio"),
            (br#"{"twilio": null, "telnyx": null}"#, "plivo"),
            (br#"{"twilio": null, "plivo": null, "telnyx_": null}"#, "telnyx"),
        ] {
            let err = parse_account_config(body).unwrap_err();
            assert!(err.0.contains(&format!("it says nothing about `{silent}`")), "{err}");
        }
        assert!(parse_account_config(br#"{"twilio": null, "telnyx": null, "plivo": null}"#).is_ok());
        // A PATCH's answer need only speak of the providers it wrote.
        let patched = parse_account_answer(br#"{"plivo": null}"#, &[Provider::Plivo]).unwrap();
        assert_eq!(patched, RemoteState::default());
        let err = parse_account_answer(br#"{"twilio": null}"#, &[Provider::Plivo]).unwrap_err();
        assert!(err.0.contains("it says nothing about `plivo`"), "{err}");
    }

    #[test]
    fn carried_fields_are_the_present_non_null_keys() {
        let body = br#"{"callCreationAllowedAgentIds": [], "accountSid": null, "authTokenPrefix": {"prefix": "ab"},
            "extra": 1}"#;
        let carried: Vec<String> = carried_fields(Provider::Twilio, body).into_iter().collect();
        assert_eq!(carried, ["authToken", "callCreationAllowedAgentIds"]);
        assert!(carried_fields(Provider::Twilio, b"[]").is_empty());
    }

    #[test]
    fn only_a_detail_body_is_the_apis_own() {
        assert!(is_detail_body(br#"{"detail": "Not found."}"#));
        assert!(is_detail_body(br#"{"detail": "Not found.", "code": "not_found"}"#));
        for other in [
            &br#"{"error": "no such route"}"#[..],
            br#"{"message": "Not found.", "status": 404}"#,
            br#"{"detail": 404}"#,
            br#"["Not found."]"#,
            b"<html><h1>Not Found</h1></html>",
            b"",
        ] {
            assert!(!is_detail_body(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn patch_body_has_only_written_providers() {
        let desired = DesiredProvider {
            provider: Provider::Plivo,
            identifiers: vec![("authId", "MA1".into())],
            secrets: vec![("authToken", SecretString::from("tok".to_string()))],
            settings: Settings::default(),
        };
        let body = account_patch_body(&[(Provider::Plivo, Some(&desired)), (Provider::Twilio, None)]);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"plivo": {"authId": "MA1", "authToken": "tok", "callCreationAllowedAgentIds": [],
                "callCreationAllowAllAgents": false, "requestContextMapping": {}}, "twilio": null})
        );
    }

    #[test]
    fn provider_bodies_hold_the_block_or_only_the_named_fields() {
        let desired = DesiredProvider {
            provider: Provider::Plivo,
            identifiers: vec![("authId", "MA1".into())],
            secrets: vec![("authToken", SecretString::from("tok".to_string()))],
            settings: Settings::default(),
        };
        let all: Value = serde_json::from_slice(&provider_body(&desired, None)).unwrap();
        assert_eq!(all.as_object().unwrap().len(), 5);
        let some: Value =
            serde_json::from_slice(&provider_body(&desired, Some(&["callCreationAllowAllAgents".to_string()])))
                .unwrap();
        assert_eq!(some, serde_json::json!({"callCreationAllowAllAgents": false}));
    }

    #[test]
    fn drf_bodies_become_lines() {
        let lines: Vec<String> = drf_messages(
            br#"{"twilio": {"authToken": ["This field is required."],
            "callCreationAllowedAgentIds": {"0": ["Must be a valid UUID."]}, "non_field_errors": ["Bad."]}}"#,
        )
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            lines,
            vec![
                "twilio.authToken: This field is required.",
                "twilio.callCreationAllowedAgentIds[0]: Must be a valid UUID.",
                "twilio: Bad."
            ]
        );
        assert_eq!(
            drf_messages(br#"{"detail": "Invalid API key."}"#).unwrap(),
            vec![DrfMessage { field: String::new(), text: "Invalid API key.".into() }]
        );
        assert_eq!(drf_messages(b"<html>"), None);
    }
}
