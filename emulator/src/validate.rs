//! Request-body validation the way Django REST Framework does it, with its messages, so that the error bodies the
//! tool has to show look like the real ones: field-keyed lists of messages, nested per provider, every error found
//! reported at once.
//!
//! Field semantics follow DRF's defaults for the schema's types: `CharField` (numbers are accepted and turned into
//! strings, surrounding whitespace is trimmed, blank is refused), `BooleanField` (also `"true"`, `"1"`, `0`, ...),
//! `ListField(child=UUIDField)` (UUIDs normalised to lowercase with hyphens), `DictField(child=CharField)`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::{AccountState, Plivo, Provider, Telnyx, Twilio};

pub(crate) const AGENT_IDS: &str = "callCreationAllowedAgentIds";
pub(crate) const ALLOW_ALL: &str = "callCreationAllowAllAgents";
pub(crate) const CONTEXT_MAPPING: &str = "requestContextMapping";
/// The largest `callCreationAllowedAgentIds` the schema allows.
pub(crate) const MAX_AGENT_IDS: usize = 100;

pub(crate) const REQUIRED: &str = "This field is required.";
pub(crate) const NOT_NULL: &str = "This field may not be null.";
const NOT_BLANK: &str = "This field may not be blank.";
pub(crate) const NOT_STRING: &str = "Not a valid string.";
const NOT_BOOLEAN: &str = "Must be a valid boolean.";
const NOT_UUID: &str = "Must be a valid UUID.";
const ALLOW_ALL_CONFLICT: &str = "callCreationAllowedAgentIds may not be set if callCreationAllowAllAgents is true.";

/// Python's name for the type of a JSON value, as DRF messages quote it.
pub(crate) fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The error of a serializer given something other than an object.
pub(crate) fn not_a_dict(value: &Value) -> Value {
    non_field_error(format!("Invalid data. Expected a dictionary, but got {}.", python_type(value)))
}

pub(crate) fn non_field_error(message: impl Into<String>) -> Value {
    json!({ "non_field_errors": [message.into()] })
}

pub(crate) fn messages(message: impl Into<String>) -> Value {
    json!([message.into()])
}

/// Validates the body of `PATCH /api/accounts/me/telephony_config` against `account` and returns the account as it
/// would be afterwards: a provider key absent leaves it alone, `null` deletes it, an object replaces it wholly (so it
/// must be complete). On any error, the DRF error body, and nothing is to change.
pub(crate) fn account_patch(body: &Value, account: &AccountState) -> Result<AccountState, Value> {
    let Value::Object(body) = body else {
        return Err(not_a_dict(body));
    };
    let mut next = account.clone();
    let mut errors = Map::new();
    replace_provider::<Twilio>(body, &mut next, &mut errors);
    replace_provider::<Telnyx>(body, &mut next, &mut errors);
    replace_provider::<Plivo>(body, &mut next, &mut errors);
    if errors.is_empty() { Ok(next) } else { Err(Value::Object(errors)) }
}

fn replace_provider<P: Provider>(body: &Map<String, Value>, next: &mut AccountState, errors: &mut Map<String, Value>) {
    match body.get(P::NAME) {
        None => {}
        Some(Value::Null) => *P::slot(next) = None,
        Some(block) => match provider_block::<P>(block, None) {
            Ok(provider) => *P::slot(next) = Some(provider),
            Err(error) => {
                errors.insert(P::NAME.to_string(), error);
            }
        },
    }
}

/// Validates one provider block. With `existing` `None` it is a creation: every string field is required and the
/// rest take their defaults. With `Some`, a partial update: every field is optional and merged onto `existing`.
/// Read-only (`...Prefix`) and unknown keys are ignored, as DRF does.
pub(crate) fn provider_block<P: Provider>(input: &Value, existing: Option<&P>) -> Result<P, Value> {
    let Value::Object(block) = input else {
        return Err(not_a_dict(input));
    };
    let mut result = existing.cloned().unwrap_or_else(P::blank);
    let mut errors = Map::new();

    for field in P::FIELDS {
        match block.get(field.name) {
            None if existing.is_none() => {
                errors.insert(field.name.to_string(), messages(REQUIRED));
            }
            None => {}
            Some(value) => match char_field(value, field.max_chars) {
                Ok(text) => *(field.get_mut)(&mut result) = text,
                Err(error) => {
                    errors.insert(field.name.to_string(), error);
                }
            },
        }
    }

    let access = result.access_mut();
    if let Some(value) = block.get(AGENT_IDS) {
        match agent_ids(value) {
            Ok(ids) => *access.allowed_agent_ids = ids,
            Err(error) => {
                errors.insert(AGENT_IDS.to_string(), error);
            }
        }
    }
    if let Some(value) = block.get(ALLOW_ALL) {
        match boolean(value) {
            Ok(flag) => *access.allow_all_agents = flag,
            Err(error) => {
                errors.insert(ALLOW_ALL.to_string(), error);
            }
        }
    }
    if let Some(value) = block.get(CONTEXT_MAPPING) {
        match string_map(value) {
            Ok(mapping) => *access.request_context_mapping = mapping,
            Err(error) => {
                errors.insert(CONTEXT_MAPPING.to_string(), error);
            }
        }
    }
    if !errors.is_empty() {
        return Err(Value::Object(errors));
    }

    // The serializer's `validate`, run once every field is valid, on the block as it will be stored.
    let access = result.access();
    if access.allow_all_agents && !access.allowed_agent_ids.is_empty() {
        return Err(non_field_error(ALLOW_ALL_CONFLICT));
    }
    Ok(result)
}

/// A `CharField(max_length=...)` with DRF's defaults: `allow_null=False`, `allow_blank=False`, `trim_whitespace=True`.
pub(crate) fn char_field(value: &Value, max_chars: Option<usize>) -> Result<String, Value> {
    let text = match value {
        Value::Null => return Err(messages(NOT_NULL)),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => return Err(messages(NOT_STRING)),
    };
    if text.is_empty() {
        return Err(messages(NOT_BLANK));
    }
    if let Some(max) = max_chars
        && text.chars().count() > max
    {
        return Err(messages(format!("Ensure this field has no more than {max} characters.")));
    }
    Ok(text)
}

/// A `BooleanField`, with the strings and numbers DRF also accepts.
pub(crate) fn boolean(value: &Value) -> Result<bool, Value> {
    const TRUE: &[&str] = &["t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"];
    const FALSE: &[&str] = &["f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"];
    match value {
        Value::Null => Err(messages(NOT_NULL)),
        Value::Bool(flag) => Ok(*flag),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::String(s) if TRUE.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => Ok(false),
        _ => Err(messages(NOT_BOOLEAN)),
    }
}

/// A `ListField(child=UUIDField(), max_length=100)`. Item errors are keyed by index, as DRF does.
fn agent_ids(value: &Value) -> Result<Vec<String>, Value> {
    let items = match value {
        Value::Null => return Err(messages(NOT_NULL)),
        Value::Array(items) => items,
        other => {
            return Err(messages(format!("Expected a list of items but got type \"{}\".", python_type(other))));
        }
    };
    let mut ids = Vec::with_capacity(items.len());
    let mut item_errors = Map::new();
    for (index, item) in items.iter().enumerate() {
        match uuid_field(item) {
            Ok(id) => ids.push(id),
            Err(message) => {
                item_errors.insert(index.to_string(), messages(message));
            }
        }
    }
    if !item_errors.is_empty() {
        return Err(Value::Object(item_errors));
    }
    if ids.len() > MAX_AGENT_IDS {
        return Err(messages(format!("Ensure this field has no more than {MAX_AGENT_IDS} elements.")));
    }
    Ok(ids)
}

/// A `UUIDField`: what Python's `uuid.UUID(hex=...)` accepts (braces, `urn:uuid:`, hyphens anywhere, any case), or
/// an integer; rendered lowercase with hyphens.
pub(crate) fn uuid_field(value: &Value) -> Result<String, &'static str> {
    let number = match value {
        Value::Null => return Err(NOT_NULL),
        Value::Number(n) => n.as_u64().map(u128::from).ok_or(NOT_UUID)?,
        Value::String(text) => {
            let hex: String = text
                .replace("urn:", "")
                .replace("uuid:", "")
                .trim_matches(|c| c == '{' || c == '}')
                .chars()
                .filter(|&c| c != '-')
                .collect();
            if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(NOT_UUID);
            }
            u128::from_str_radix(&hex, 16).map_err(|_| NOT_UUID)?
        }
        _ => return Err(NOT_UUID),
    };
    let hex = format!("{number:032x}");
    Ok(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// A `DictField(child=CharField())`. Value errors are keyed by the entry's key.
fn string_map(value: &Value) -> Result<BTreeMap<String, String>, Value> {
    let Value::Object(entries) = value else {
        if value.is_null() {
            return Err(messages(NOT_NULL));
        }
        return Err(messages(format!("Expected a dictionary of items but got type \"{}\".", python_type(value))));
    };
    let mut mapping = BTreeMap::new();
    let mut entry_errors = Map::new();
    for (key, entry) in entries {
        match char_field(entry, None) {
            Ok(text) => {
                mapping.insert(key.clone(), text);
            }
            Err(error) => {
                entry_errors.insert(key.clone(), error);
            }
        }
    }
    if entry_errors.is_empty() { Ok(mapping) } else { Err(Value::Object(entry_errors)) }
}
