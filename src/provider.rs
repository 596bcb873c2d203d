//! The three telephony providers and the fields each one has, as the Ultravox API names them.
//!
//! One table drives the file's validation, the diff, the request bodies and the renderers, so that a field is
//! spelled once.

use std::fmt;

/// A telephony provider that an Ultravox account can hold credentials for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Twilio,
    Telnyx,
    Plivo,
}

/// Fields every provider block has besides its identifiers and secrets.
pub const AGENT_IDS: &str = "callCreationAllowedAgentIds";
pub const ALLOW_ALL: &str = "callCreationAllowAllAgents";
pub const CONTEXT_MAPPING: &str = "requestContextMapping";
pub const COMMON_FIELDS: [&str; 3] = [AGENT_IDS, ALLOW_ALL, CONTEXT_MAPPING];

/// The most agent IDs the API accepts in `callCreationAllowedAgentIds`.
pub const MAX_AGENT_IDS: usize = 100;
/// The longest `telnyx.applicationSid` the API accepts.
pub const MAX_APPLICATION_SID_CHARS: usize = 40;

/// The account block's one field, the Ultravox API key: a secret, like the providers' secret fields.
pub const ACCOUNT_API_KEY: &str = "apiKey";

/// Every secret field name in any block (providers' and the account's), each once, from the table below.
pub fn secret_field_names() -> Vec<&'static str> {
    let mut names = vec![ACCOUNT_API_KEY];
    for field in Provider::ALL.iter().flat_map(|p| p.secret_fields()) {
        if !names.contains(field) {
            names.push(field);
        }
    }
    names
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Twilio, Provider::Telnyx, Provider::Plivo];

    /// The key in the file and in the API's JSON.
    pub fn key(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::Telnyx => "telnyx",
            Provider::Plivo => "plivo",
        }
    }

    pub fn from_key(key: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.key() == key)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Non-secret identifying fields, all required by the API.
    pub fn identifier_fields(self) -> &'static [&'static str] {
        match self {
            Provider::Twilio => &["accountSid"],
            Provider::Telnyx => &["accountSid", "applicationSid"],
            Provider::Plivo => &["authId"],
        }
    }

    /// The longest value the API accepts for an identifying field, where it sets a limit, and what the value is
    /// called (for the hint).
    pub fn max_chars(self, field: &str) -> Option<(usize, &'static str)> {
        match (self, field) {
            (Provider::Telnyx, "applicationSid") => Some((MAX_APPLICATION_SID_CHARS, "Telnyx Application SID")),
            _ => None,
        }
    }

    /// Write-only fields, all required by the API; the API answers with `{field}Prefix: {prefix}` for each.
    pub fn secret_fields(self) -> &'static [&'static str] {
        match self {
            Provider::Twilio => &["authToken"],
            Provider::Telnyx => &["apiKey", "publicKey"],
            Provider::Plivo => &["authToken"],
        }
    }

    /// Every key a block of this provider may hold in `telephony.yaml`.
    pub fn known_keys(self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = self.identifier_fields().to_vec();
        keys.extend_from_slice(self.secret_fields());
        keys.extend_from_slice(&COMMON_FIELDS);
        keys
    }

    /// The conventional environment variable for a secret field, used in hints and by `import`.
    pub fn conventional_env(self, secret_field: &str) -> String {
        let mut name = self.key().to_uppercase();
        for ch in secret_field.chars() {
            if ch.is_uppercase() {
                name.push('_');
            }
            if name.ends_with(|c: char| c.is_ascii_alphabetic()) && name.len() == self.key().len() {
                name.push('_');
            }
            name.push(ch.to_ascii_uppercase());
        }
        name
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_field_names_come_from_the_table() {
        assert_eq!(secret_field_names(), vec!["apiKey", "authToken", "publicKey"]);
    }

    #[test]
    fn conventional_env_names() {
        assert_eq!(Provider::Twilio.conventional_env("authToken"), "TWILIO_AUTH_TOKEN");
        assert_eq!(Provider::Telnyx.conventional_env("apiKey"), "TELNYX_API_KEY");
        assert_eq!(Provider::Telnyx.conventional_env("publicKey"), "TELNYX_PUBLIC_KEY");
        assert_eq!(Provider::Plivo.conventional_env("authToken"), "PLIVO_AUTH_TOKEN");
    }
}
