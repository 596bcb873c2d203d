//! What a document shows of a plan's values: every string of either side (an identifier, an agent ID, a mapping's key
//! or value, an agent's name) is checked as a value, and one that holds a secret of the run is shown as
//! [`HIDDEN`](crate::redact::HIDDEN) in its place, whole. A string stays a string, a list a list and a mapping a
//! mapping (its hidden keys numbered, so that none is lost), so every document keeps its shape and stays valid.
//!
//! Only what is shown is masked: the plan a run compares and sends keeps the true values, and a saved plan pins them
//! with a keyed fingerprint (`planfile`). Remote prefixes are never looked for here: they are not data.

use std::collections::BTreeMap;

use crate::diff::{FieldChange, ProviderPlan, Value};
use crate::redact::{self, holds_secret, numbered_mask};

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

/// A provider's plan as shown: the values of its non-secret fields masked where they hold a secret. Secret fields
/// carry only a status, and pass as they are.
pub fn provider(plan: &ProviderPlan) -> ProviderPlan {
    let changes = plan
        .changes
        .iter()
        .map(|change| match change {
            FieldChange::Value { field, before, after } => FieldChange::Value {
                field: field.clone(),
                before: before.as_ref().map(value),
                after: after.as_ref().map(value),
            },
            secret @ FieldChange::Secret { .. } => secret.clone(),
        })
        .collect();
    ProviderPlan { changes, ..plan.clone() }
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
}
