//! The JSON of the SIP endpoints: reading `SipConfig` and `SipRegistration` answers (checking their shape, since a
//! server can misbehave) and writing `PatchedSipConfig`, `SipRegistration` and `PatchedSipRegistration` bodies.
//!
//! Secrets are exposed here only where a body is built: the fallback handler's (the file's, or the account's kept
//! ones) and a registration's password. The fallback secrets an answer holds are read into [`RemoteSecret`]s; the
//! client registers them with the scrubber before anything else happens with the answer.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::wire::{ShapeError, json, kind};
use crate::endpoints::is_registration_id;
use crate::sip::{self, Allowance, RegistrationKey};
use crate::state::{DesiredRegistration, DesiredSip, RemoteFallback, RemoteRegistration, RemoteSecret, RemoteSip};

fn wrong(at: &str, expected: &str, found: &Value) -> ShapeError {
    ShapeError(format!("`{at}` should be {expected}, found {}", kind(found)))
}

/// An optional string: absent or `null` is `None`.
fn opt_string(object: &Map<String, Value>, at: &str, field: &str) -> Result<Option<String>, ShapeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong(&format!("{at}{field}"), "a string or null", other)),
    }
}

/// A list of strings: absent or `null` is empty.
fn strings(object: &Map<String, Value>, at: &str, field: &str) -> Result<Vec<String>, ShapeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong(&format!("{at}{field}[]"), "a string", other)),
            })
            .collect(),
        Some(other) => Err(wrong(&format!("{at}{field}"), "a list", other)),
    }
}

/// Reads the body of `GET`/`PATCH /api/sip` (`SipConfig`). The fallback handler's secrets come back whole: the
/// caller registers them as secrets of the run.
pub fn parse_sip(body: &[u8]) -> Result<RemoteSip, ShapeError> {
    let Value::Object(top) = json(body)? else {
        return Err(ShapeError("expected a JSON object (the SIP config)".into()));
    };
    // As the API keeps them; a network in another spelling is compared in its canonical form. A one-address
    // network may be shown without its `/32` (as PostgreSQL's `inet` prints it): the file must write it `/32`.
    let allowed_cidr_ranges = strings(&top, "", sip::CIDR_RANGES)?
        .into_iter()
        .map(|range| {
            let spelled = if range.contains('/') { range.clone() } else { format!("{range}/32") };
            sip::parse_cidr(&spelled).unwrap_or(range)
        })
        .collect();
    let allow_all_agents = match top.get(sip::ALLOW_ALL_AGENTS) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(wrong(sip::ALLOW_ALL_AGENTS, "a boolean", other)),
    };
    let allowed_agents = match top.get(sip::ALLOWED_AGENTS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let Value::Object(allowance) = item else {
                    return Err(wrong("allowedAgents[]", "an object", item));
                };
                let Some(Value::String(id)) = allowance.get(sip::AGENT_ID) else {
                    return Err(ShapeError("an allowance in `allowedAgents` has no `agentId` string".into()));
                };
                let pattern = opt_string(allowance, "allowedAgents[].", sip::TO_USER_PATTERN)?;
                Ok(Allowance::new(id, pattern.as_deref()))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(wrong(sip::ALLOWED_AGENTS, "a list", other)),
    };
    let fallback = match top.get(sip::FALLBACK) {
        None | Some(Value::Null) => None,
        Some(Value::Object(handler)) => {
            let Some(Value::String(url)) = handler.get(sip::URL) else {
                return Err(ShapeError("`fallbackHandler` has no `url` string".into()));
            };
            let secrets = strings(handler, "fallbackHandler.", sip::SECRETS)?
                .into_iter()
                .map(|s| RemoteSecret::new(SecretString::from(s)))
                .collect();
            Some(RemoteFallback { url: url.clone(), secrets })
        }
        Some(other) => return Err(wrong(sip::FALLBACK, "an object or null", other)),
    };
    let domain = opt_string(&top, "", sip::DOMAIN)?;
    Ok(RemoteSip { allowed_cidr_ranges, allow_all_agents, allowed_agents, fallback, domain })
}

/// Reads one registration (`SipRegistration`): an answer to `POST`/`PATCH`, or an item of a page.
pub fn parse_registration(value: &Value) -> Result<RemoteRegistration, ShapeError> {
    let Value::Object(object) = value else {
        return Err(ShapeError(format!("expected a registration (an object), found {}", kind(value))));
    };
    let text = |field: &str| match object.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(wrong(field, "a string", other)),
        None => Err(ShapeError(format!("a registration has no `{field}`"))),
    };
    let id = text("registrationId")?;
    if !is_registration_id(&id) {
        return Err(ShapeError("a registration's `registrationId` cannot be a path segment".into()));
    }
    let key = RegistrationKey::new(text(sip::USERNAME)?, text(sip::PROXY)?);
    let successful = match object.get("successful") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => return Err(wrong("successful", "a boolean or null", other)),
    };
    // Unset is `null`, no key, or `""` (a server storing a blank text field): the file cannot hold a blank one, so
    // reading `""` as a value would be a change that no write can make go away.
    let unset_if_blank = |field: &str| opt_string(object, "", field).map(|v| v.filter(|s| !s.is_empty()));
    Ok(RemoteRegistration {
        id,
        key,
        outbound_proxy: unset_if_blank(sip::OUTBOUND_PROXY)?,
        auth_user: unset_if_blank(sip::AUTH_USER)?,
        successful,
    })
}

/// Reads one registration answer's body.
pub fn parse_registration_body(body: &[u8]) -> Result<RemoteRegistration, ShapeError> {
    parse_registration(&json(body)?)
}

/// One page of `GET /api/sip/registrations` (`PaginatedSipRegistrationList`).
pub struct RegistrationsPage {
    pub registrations: Vec<RemoteRegistration>,
    /// The next page's full URL.
    pub next: Option<String>,
}

/// Reads one page: `{next, previous, results: [...], total}`.
pub fn parse_registrations_page(body: &[u8]) -> Result<RegistrationsPage, ShapeError> {
    let Value::Object(top) = json(body)? else {
        return Err(ShapeError("expected a JSON object (a page of registrations)".into()));
    };
    let next = match top.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(wrong("next", "a URL or null", other)),
    };
    let Some(Value::Array(results)) = top.get("results") else {
        return Err(ShapeError("`results` should be a list of registrations".into()));
    };
    let registrations = results.iter().map(parse_registration).collect::<Result<_, _>>()?;
    Ok(RegistrationsPage { registrations, next })
}

/// The body of `PATCH /api/sip`: only `fields`, each whole (`allowedAgents` as the complete list). The fallback
/// handler is an object: with the file's secrets, or, when the file leaves them to the account, with `kept` (the
/// account's, read by the plan), because the API generates a new secret when `secrets` is left out. A new handler
/// without secrets in the file gets the one the API generates.
pub fn sip_patch_body(desired: &DesiredSip, fields: &[String], kept: &[RemoteSecret]) -> Vec<u8> {
    let mut body = Map::new();
    for field in fields {
        let value = match field.as_str() {
            sip::CIDR_RANGES => Value::from(desired.allowed_cidr_ranges.clone()),
            sip::ALLOW_ALL_AGENTS => Value::Bool(desired.allow_all_agents),
            sip::ALLOWED_AGENTS => Value::Array(
                desired
                    .allowed_agents
                    .iter()
                    .map(|a| {
                        let mut allowance = Map::new();
                        allowance.insert(sip::AGENT_ID.into(), Value::String(a.agent_id.clone()));
                        if let Some(pattern) = &a.to_user_pattern {
                            allowance.insert(sip::TO_USER_PATTERN.into(), Value::String(pattern.clone()));
                        }
                        Value::Object(allowance)
                    })
                    .collect(),
            ),
            sip::FALLBACK => match &desired.fallback {
                None => Value::Null,
                Some(handler) => {
                    let mut object = Map::new();
                    object.insert(sip::URL.into(), Value::String(handler.url.clone()));
                    let secrets: Vec<Value> = match &handler.secrets {
                        Some(secrets) => secrets.iter().map(|s| Value::String(s.expose_secret().to_string())).collect(),
                        None => kept.iter().map(|s| Value::String(s.expose().to_string())).collect(),
                    };
                    if !secrets.is_empty() {
                        object.insert(sip::SECRETS.into(), Value::Array(secrets));
                    }
                    Value::Object(object)
                }
            },
            _ => continue,
        };
        body.insert(field.clone(), value);
    }
    serde_json::to_vec(&Value::Object(body)).expect("strings, lists and objects serialise")
}

/// The body of a registration's write: every field for `POST` (`fields` `None`; `outboundProxy` and `authUser` as
/// `null` when unset), or only `fields` for `PATCH`.
pub fn registration_body(desired: &DesiredRegistration, fields: Option<&[String]>) -> Vec<u8> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let mut body = Map::new();
    body.insert(sip::USERNAME.into(), Value::String(desired.key.username.clone()));
    body.insert(sip::PASSWORD.into(), Value::String(desired.password.expose_secret().to_string()));
    body.insert(sip::PROXY.into(), Value::String(desired.key.proxy.clone()));
    body.insert(sip::OUTBOUND_PROXY.into(), text(&desired.outbound_proxy));
    body.insert(sip::AUTH_USER.into(), text(&desired.auth_user));
    if let Some(fields) = fields {
        body.retain(|key, _| fields.iter().any(|f| f == key));
    }
    serde_json::to_vec(&Value::Object(body)).expect("strings and nulls serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DesiredFallback;

    #[test]
    fn a_sip_config_is_read_with_its_defaults_and_secrets_whole() {
        let body = br#"{"allowedCidrRanges": ["10.0.0.0/8"], "allowAllAgents": true,
            "allowedAgents": [{"agentId": "3C90C3CC-0D44-4B50-8888-8DD25736052A",
                "toUserPattern": "^agent_3c90c3cc-0d44-4b50-8888-8dd25736052a$"}, {"agentId": "a", "toUserPattern": "^x$"}],
            "fallbackHandler": {"url": "https://h.example.com", "secrets": ["s1", "s2"]}, "domain": "d.sip.example.com"}"#;
        let sip = parse_sip(body).unwrap();
        assert_eq!(sip.allowed_agents[0], Allowance::new("3c90c3cc-0d44-4b50-8888-8dd25736052a", None));
        assert_eq!(sip.allowed_agents[1].to_user_pattern.as_deref(), Some("^x$"));
        let fallback = sip.fallback.unwrap();
        assert_eq!(fallback.secrets.iter().map(RemoteSecret::expose).collect::<Vec<_>>(), ["s1", "s2"]);
        assert!(!format!("{fallback:?}").contains("s1"), "Debug never shows a secret");
        assert_eq!(parse_sip(b"{\"domain\": \"x\"}").unwrap().fallback, None);
        let ranges = parse_sip(br#"{"allowedCidrRanges": ["203.0.113.7", "10.0.0.0/8", "nonsense"]}"#).unwrap();
        assert_eq!(ranges.allowed_cidr_ranges, ["203.0.113.7/32", "10.0.0.0/8", "nonsense"]);
        for bad in [&b"[]"[..], b"{\"allowedAgents\": [{}]}", b"{\"fallbackHandler\": {\"secrets\": []}}", b"{"] {
            assert!(parse_sip(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn registrations_are_read_without_a_password() {
        let page = br#"{"next": "http://x/api/sip/registrations?cursor=b", "previous": null, "total": 3, "results": [
            {"registrationId": "r1", "created": "2026-01-01T00:00:00Z", "username": "alice", "proxy": "t.example.com",
             "outboundProxy": null, "authUser": "a", "successful": false}]}"#;
        let page = parse_registrations_page(page).unwrap();
        assert_eq!(page.next.as_deref(), Some("http://x/api/sip/registrations?cursor=b"));
        let r = &page.registrations[0];
        assert_eq!((r.id.as_str(), r.key.to_string().as_str()), ("r1", "alice@t.example.com"));
        assert_eq!((r.auth_user.as_deref(), r.successful), (Some("a"), Some(false)));
        let blank = br#"{"registrationId": "r2", "username": "a", "proxy": "p", "outboundProxy": "", "authUser": ""}"#;
        let blank = parse_registration_body(blank).unwrap();
        assert_eq!((blank.outbound_proxy, blank.auth_user), (None, None), "a blank one is unset");
        let bad_id = br#"{"registrationId": "../x", "username": "a", "proxy": "p"}"#;
        assert!(parse_registration_body(bad_id).is_err());
    }

    fn desired() -> DesiredSip {
        DesiredSip {
            allowed_cidr_ranges: vec!["10.0.0.0/8".into()],
            allow_all_agents: false,
            allowed_agents: vec![Allowance::new("a", None), Allowance::new("b", Some("^b$"))],
            fallback: Some(DesiredFallback { url: "https://h.example.com".into(), secrets: None }),
        }
    }

    #[test]
    fn a_sip_patch_holds_only_its_fields_and_keeps_the_accounts_secrets() {
        let kept = [RemoteSecret::new(SecretString::from("kept-secret".to_string()))];
        let body: Value = serde_json::from_slice(&sip_patch_body(
            &desired(),
            &["allowedAgents".into(), "fallbackHandler".into()],
            &kept,
        ))
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "allowedAgents": [{"agentId": "a"}, {"agentId": "b", "toUserPattern": "^b$"}],
                "fallbackHandler": {"url": "https://h.example.com", "secrets": ["kept-secret"]}
            })
        );
        // A new handler with nothing kept: the API generates its secret.
        let body: Value =
            serde_json::from_slice(&sip_patch_body(&desired(), &["fallbackHandler".into()], &[])).unwrap();
        assert_eq!(body, serde_json::json!({"fallbackHandler": {"url": "https://h.example.com"}}));
        let mut none = desired();
        none.fallback = None;
        let body: Value = serde_json::from_slice(&sip_patch_body(&none, &["fallbackHandler".into()], &kept)).unwrap();
        assert_eq!(body, serde_json::json!({"fallbackHandler": null}));
    }

    #[test]
    fn a_registration_is_created_whole_and_patched_by_field() {
        let r = DesiredRegistration {
            key: RegistrationKey::new("alice", "t.example.com"),
            password: SecretString::from("pw-value-1".to_string()),
            outbound_proxy: None,
            auth_user: Some("a".into()),
        };
        let all: Value = serde_json::from_slice(&registration_body(&r, None)).unwrap();
        assert_eq!(
            all,
            serde_json::json!({"username": "alice", "password": "pw-value-1", "proxy": "t.example.com",
                "outboundProxy": null, "authUser": "a"})
        );
        let some: Value = serde_json::from_slice(&registration_body(&r, Some(&["password".into()]))).unwrap();
        assert_eq!(some, serde_json::json!({"password": "pw-value-1"}));
    }
}
