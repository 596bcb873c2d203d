//! What a document shows of a plan's values: every string of either side (an identifier, an agent ID, a mapping's key
//! or value, an agent's name; of the SIP settings a CIDR range, an allowance's agent ID and pattern, the fallback
//! handler's URL, the domain, a registration's username, proxy, outboundProxy, authUser and ID) is checked as a value,
//! and one that holds a secret of the run is shown as [`HIDDEN`](crate::redact::HIDDEN) in its place, whole. A string
//! stays a string, a list a list and a mapping a mapping (its hidden keys numbered, so that none is lost), so every
//! document keeps its shape and stays valid. An allowance (`ID toUserPattern=PATTERN`) is masked part by part, as an
//! agent list's `ID (name)` is.
//!
//! Only what is shown is masked: the plan a run compares and sends keeps the true values, and a saved plan pins them
//! with a keyed fingerprint (`planfile`). Remote prefixes are never looked for here: they are not data.

use std::collections::BTreeMap;

use crate::diff::{FieldChange, ProviderPlan, RegistrationPlan, SipPlan, Value};
use crate::endpoints::Target;
use crate::plan::Request;
use crate::redact::{self, holds_secret, numbered_mask};
use crate::sip;

/// A value as shown: each string that holds a secret of the run masked whole.
pub fn value(value: &Value) -> Value {
    match value {
        Value::Text(s) => Value::Text(redact::shown(s).into_owned()),
        Value::Bool(b) => Value::Bool(*b),
        Value::List(items) => Value::List(items.iter().map(|s| redact::shown(s).into_owned()).collect()),
        Value::Map(map) => Value::Map(mapping(map)),
    }
}

/// A mapping as shown: keys and values checked one by one; hidden keys numbered in key order (`[hidden: ...]`,
/// `[hidden: ...] (2)`), so that two of them stay two entries.
pub fn mapping(map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut hidden_keys = 0;
    map.iter()
        .map(|(k, v)| {
            let key = if holds_secret(k) {
                hidden_keys += 1;
                numbered_mask(hidden_keys)
            } else {
                k.clone()
            };
            (key, redact::shown(v).into_owned())
        })
        .collect()
}

/// Changes as shown: the values of non-secret fields masked where they hold a secret (the SIP config's allowances part
/// by part). Secret fields carry only a status, and pass as they are.
fn changes(changes: &[FieldChange]) -> Vec<FieldChange> {
    changes
        .iter()
        .map(|change| match change {
            FieldChange::Value { field, before, after } => {
                let shown = |v: &Value| match v {
                    Value::List(entries) if field == sip::ALLOWED_AGENTS => Value::List(
                        entries
                            .iter()
                            .map(|entry| {
                                let (id, pattern) = sip::split_shown(entry);
                                agent_entry(id, None, pattern)
                            })
                            .collect(),
                    ),
                    other => value(other),
                };
                FieldChange::Value {
                    field: field.clone(),
                    before: before.as_ref().map(shown),
                    after: after.as_ref().map(shown),
                }
            }
            secret @ FieldChange::Secret { .. } => secret.clone(),
        })
        .collect()
}

/// A provider's plan as shown: the values of its non-secret fields masked where they hold a secret. Secret fields
/// carry only a status, and pass as they are.
pub fn provider(plan: &ProviderPlan) -> ProviderPlan {
    ProviderPlan { changes: changes(&plan.changes), ..plan.clone() }
}

/// The SIP config's plan as shown: its values and its read-only domain masked where they hold a secret.
pub fn sip(plan: &SipPlan) -> SipPlan {
    SipPlan { action: plan.action, domain: plan.domain.as_deref().map(text), changes: changes(&plan.changes) }
}

/// A registration's plan as shown: its identity (`username`, `proxy`), its ID and its values masked where they hold
/// a secret.
pub fn registration(plan: &RegistrationPlan) -> RegistrationPlan {
    RegistrationPlan {
        username: text(&plan.username),
        proxy: text(&plan.proxy),
        action: plan.action,
        registration_id: plan.registration_id.as_deref().map(text),
        successful: plan.successful,
        changes: changes(&plan.changes),
    }
}

/// Every registration's plan as shown.
pub fn registrations(plans: &[RegistrationPlan]) -> Vec<RegistrationPlan> {
    plans.iter().map(registration).collect()
}

/// Requests as shown: a registration's ID in a path masked where it holds a secret (the requests a run sends are
/// always its own, never these).
pub fn requests(requests: &[Request]) -> Vec<Request> {
    requests
        .iter()
        .map(|request| match &request.target {
            Target::Registration(id) => Request { target: Target::Registration(text(id)), ..request.clone() },
            _ => request.clone(),
        })
        .collect()
}

/// A string as shown.
fn text(s: &str) -> String {
    redact::shown(s).into_owned()
}

/// Every provider's plan as shown.
pub fn providers(plans: &[ProviderPlan]) -> Vec<ProviderPlan> {
    plans.iter().map(provider).collect()
}

/// An agent list's entry as shown: the agent's ID, its name beside it when the file wrote it by name (`ID (name)`),
/// and, in the SIP config's allowances, its `toUserPattern` when it is not the default; each part masked on its own.
pub fn agent_entry(id: &str, name: Option<&str>, pattern: Option<&str>) -> String {
    let mut entry = redact::shown(id).into_owned();
    if let Some(name) = name {
        entry.push_str(&format!(" ({})", redact::shown(name)));
    }
    if let Some(pattern) = pattern {
        entry.push_str(&format!(" {}={}", crate::sip::TO_USER_PATTERN, redact::shown(pattern)));
    }
    entry
}

/// Agents' names by ID, as shown: a name from the account (anyone with console access may write one) or an ID that
/// holds a secret is masked.
pub fn agent_names(names: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    mapping(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::HIDDEN;
    use secrecy::SecretString;

    #[test]
    fn each_string_is_masked_whole_and_every_shape_is_kept() {
        redact::register_secret(&SecretString::from("sh0wn-secret-Q7".to_string()));
        assert_eq!(value(&Value::Text("AC-sh0wn-secret-Q7".into())), Value::Text(HIDDEN.into()));
        assert_eq!(value(&Value::Text("user".into())), Value::Text("user".into()));
        assert_eq!(value(&Value::Bool(true)), Value::Bool(true));
        assert_eq!(
            value(&Value::List(vec!["a".into(), "xsh0wn-secret".into()])),
            Value::List(vec!["a".into(), HIDDEN.into()])
        );
        let map: BTreeMap<String, String> = [
            ("From".to_string(), "user.sh0wn-secret-Q7".to_string()),
            ("k1-sh0wn-secret".to_string(), "a".to_string()),
            ("k2-sh0wn-secret".to_string(), "b".to_string()),
        ]
        .into();
        let Value::Map(shown) = value(&Value::Map(map)) else { panic!() };
        let entries: Vec<(&str, &str)> = shown.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            entries,
            [("From", HIDDEN), (HIDDEN, "a"), (&format!("{HIDDEN} (2)")[..], "b")],
            "two hidden keys stay two entries"
        );
    }

    #[test]
    fn sip_values_are_masked_whole_and_allowances_part_by_part() {
        use crate::diff::{Action, SecretStatus};
        redact::register_secret(&SecretString::from("s1pSecret-Val9".to_string()));
        let id = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let plan = SipPlan {
            action: Action::Update,
            domain: Some("x-s1pSecret-Val9.sip.example.com".into()),
            changes: vec![
                FieldChange::Value {
                    field: sip::CIDR_RANGES.into(),
                    before: None,
                    after: Some(Value::List(vec!["10.0.0.0/8".into()])),
                },
                FieldChange::Value {
                    field: sip::ALLOWED_AGENTS.into(),
                    before: Some(Value::List(vec![id.into()])),
                    after: Some(Value::List(vec![format!("{id} toUserPattern=^s1pSecret-Val9$")])),
                },
                FieldChange::Value {
                    field: sip::FALLBACK_URL.into(),
                    before: None,
                    after: Some(Value::Text("https://h.example.com/s1pSecret-Val9".into())),
                },
                FieldChange::Secret { field: sip::FALLBACK_SECRETS.into(), status: SecretStatus::Changed },
            ],
        };
        let shown = sip(&plan);
        assert_eq!(shown.domain.as_deref(), Some(HIDDEN));
        assert_eq!(shown.changes[0], plan.changes[0], "a range holding no secret is shown as it is");
        assert_eq!(
            shown.changes[1],
            FieldChange::Value {
                field: sip::ALLOWED_AGENTS.into(),
                before: Some(Value::List(vec![id.into()])),
                after: Some(Value::List(vec![format!("{id} toUserPattern={HIDDEN}")])),
            },
            "the agent's ID stays, its pattern is hidden"
        );
        assert_eq!(shown.changes[2].field(), sip::FALLBACK_URL);
        assert!(matches!(&shown.changes[2], FieldChange::Value { after: Some(Value::Text(t)), .. } if t == HIDDEN));
        assert_eq!(shown.changes[3], plan.changes[3]);

        let registration_plan = RegistrationPlan {
            username: "alice".into(),
            proxy: "s1pSecret-Val9.example.com".into(),
            action: Action::Delete,
            registration_id: Some("reg-s1pSecret-Val9".into()),
            successful: Some(true),
            changes: vec![FieldChange::Value {
                field: sip::PROXY.into(),
                before: Some(Value::Text("s1pSecret-Val9.example.com".into())),
                after: None,
            }],
        };
        let shown = registration(&registration_plan);
        assert_eq!((shown.username.as_str(), shown.proxy.as_str()), ("alice", HIDDEN));
        assert_eq!(shown.registration_id.as_deref(), Some(HIDDEN));
        assert_eq!(shown.successful, Some(true));
        assert!(matches!(&shown.changes[0], FieldChange::Value { before: Some(Value::Text(t)), .. } if t == HIDDEN));
        assert_eq!(registration_plan.key().to_string(), format!("alice@{HIDDEN}"), "its identity as shown");

        let request = |id: &str| Request {
            target: Target::Registration(id.into()),
            method: crate::endpoints::Method::Delete,
            fields: Vec::new(),
        };
        assert_eq!(requests(&[request("reg-s1pSecret-Val9"), request("reg-1")]), [request(HIDDEN), request("reg-1")]);
        let path = request(HIDDEN).path();
        assert_eq!(Target::from_path(&path), Some(Target::Registration(HIDDEN.into())), "read back for showing");
    }
}
