//! The JSON Schema of `telephony.yaml` (`reconcile schema`, committed as `schema/telephony.schema.json`), generated
//! from the types below so that editors complete and check the file. Descriptions come from the Ultravox API
//! reference. The loader (`validate`) enforces the same rules with located messages; tests hold the two together.

#![allow(dead_code)] // The fields exist to be described, not read.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use crate::provider::{MAX_AGENT_IDS, MAX_APPLICATION_SID_CHARS};
use crate::sip::{
    MAX_ALLOWANCES, MAX_AUTH_USER_CHARS, MAX_FALLBACK_SECRETS, MAX_PATTERN_CHARS, MAX_PROXY_CHARS, MAX_USERNAME_CHARS,
};

/// Declares an Ultravox account's telephony credentials. A provider absent from the file is left as it is; `null`
/// requires that it does not exist; a block is the whole truth for that provider. `sip` and `sipRegistrations` absent
/// are left as they are too.
#[derive(JsonSchema)]
#[schemars(title = "telephony.yaml", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct TelephonyFile {
    /// The file format version. 1 is the only one.
    #[schemars(range(min = 1, max = 1))]
    version: Option<u8>,
    /// The Ultravox account the file is applied to.
    account: Option<Account>,
    /// Your Twilio configuration (https://console.twilio.com/). `null`: Twilio must not be configured.
    #[serde(default)]
    twilio: Option<Twilio>,
    /// Your Telnyx configuration (https://portal.telnyx.com/). `null`: Telnyx must not be configured.
    #[serde(default)]
    telnyx: Option<Telnyx>,
    /// Your Plivo configuration (https://console.plivo.com/dashboard/). `null`: Plivo must not be configured.
    #[serde(default)]
    plivo: Option<Plivo>,
    /// The account's SIP config: which networks may send calls, which agents answer, the fallback webhook. It
    /// cannot be deleted (never `null`); omitted fields mean the API's defaults.
    sip: Option<Sip>,
    /// The SIP registrations: when present, the complete list (one the account has and the list does not is
    /// deleted); `[]` requires none. Each is identified by `username` and `proxy` together.
    sip_registrations: Option<Vec<SipRegistration>>,
}

/// The account's SIP config (`PATCH /api/sip`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct Sip {
    /// The list of IPv4 CIDR ranges from which incoming SIP calls will be accepted: networks with no host bits
    /// set, e.g. 203.0.113.0/24. Compared as a set. Default: [].
    #[schemars(inner(regex(pattern = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d{1,2}$")), extend("uniqueItems" = true))]
    allowed_cidr_ranges: Option<Vec<String>>,
    /// If true, adds an implicit allowance for requests matching agent_<agent_id>@<anydomain> for any of your
    /// agents. Default: false.
    allow_all_agents: Option<bool>,
    /// Calls must match a pattern for one of these agents (or the global agent pattern if allowAllAgents is true) to
    /// be accepted. At most 20; compared as a set. Default: [].
    #[schemars(length(max = MAX_ALLOWANCES))]
    allowed_agents: Option<Vec<AgentAllowance>>,
    /// If set, this webhook is consulted for any incoming SIP call that does not match an agent allowance. `null`
    /// (or leaving it out): none.
    #[serde(default)]
    fallback_handler: Option<FallbackHandler>,
}

/// An agent that incoming SIP calls may reach.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct AgentAllowance {
    /// The ID of the agent to allow, or `{ agent: NAME }`.
    agent_id: AgentEntry,
    /// A pattern to apply to the to user part of the URI of any incoming sip INVITE that determines how this agent
    /// can be reached. Defaults to ^agent_<agent_id>$ if not specified.
    #[schemars(length(min = 1, max = MAX_PATTERN_CHARS))]
    to_user_pattern: Option<String>,
}

/// The webhook consulted for incoming SIP calls no allowance matches.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FallbackHandler {
    /// The URL to which POSTs will be sent: https:// (http:// only to a loopback host).
    #[schemars(regex(pattern = r"^https?://"))]
    url: String,
    /// Shared secrets used to sign requests, 1 to 10, each a reference (at most 120 characters once read). Left
    /// out: keep the secrets the account has (the API generates one for a new handler).
    #[schemars(length(min = 1, max = MAX_FALLBACK_SECRETS))]
    secrets: Option<Vec<SecretRef>>,
}

/// A SIP registration, identified by `username` and `proxy` together.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct SipRegistration {
    /// The SIP username to register as.
    #[schemars(length(min = 1, max = MAX_USERNAME_CHARS))]
    username: String,
    /// The SIP password for username: a reference, never the value. Write-only: the API never shows it, so it is
    /// sent when the registration is created, and with --rotate.
    password: SecretRef,
    /// The SIP server to register with.
    #[schemars(length(min = 1, max = MAX_PROXY_CHARS))]
    proxy: String,
    /// A proxy used to reach your SIP server for registration. Most often unset (null or left out).
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_PROXY_CHARS))]
    outbound_proxy: Option<String>,
    /// The authentication username, if different from the SIP username. Most often unset (null or left out).
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_AUTH_USER_CHARS))]
    auth_user: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct Account {
    /// Where the Ultravox API key comes from. Default: `{ env: ULTRAVOX_API_KEY }`.
    api_key: Option<SecretRef>,
}

/// A secret is never written in the file: it is read from an environment variable, from a file, or from a
/// SOPS-encrypted file.
#[derive(JsonSchema)]
#[serde(untagged)]
enum SecretRef {
    Env(EnvRef),
    File(FileRef),
    Sops(SopsRef),
}

/// Read the value from an environment variable.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct EnvRef {
    /// The variable's name, e.g. TWILIO_AUTH_TOKEN.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    env: String,
}

/// Read the value from a file; the path is relative to this file's folder; one trailing newline is dropped.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FileRef {
    /// The path of the file holding the value.
    #[schemars(length(min = 1))]
    file: String,
}

/// Read the value from a SOPS-encrypted file, decrypted by the `sops` program (on PATH, or RECONCILE_SOPS) with the
/// keys in the environment, once per run; `reconcile validate` checks that the file is a SOPS file but never decrypts.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SopsRef {
    /// The encrypted file's path, relative to this file's folder. sops reads it by its name's ending: .yaml/.yml,
    /// .json, .env or .ini.
    #[schemars(length(min = 1))]
    sops: String,
    /// The dotted path of a string in the decrypted document, e.g. twilio.authToken (a number indexes a list).
    #[schemars(regex(pattern = r"^[^.]+(\.[^.]+)*$"))]
    key: String,
}

/// An identifier: written as is, or read from a reference.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Identifier {
    /// The value as is; no leading or trailing whitespace (the API trims it).
    Literal(#[schemars(regex(pattern = r"^\S(?:.*\S)?$"))] String),
    Reference(SecretRef),
}

/// An agent allowed to have calls created by this provider: its ID, or `{ agent: NAME }` resolved by name.
#[derive(JsonSchema)]
#[serde(untagged)]
enum AgentEntry {
    /// The agent's ID, a UUID.
    Id(
        #[schemars(regex(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"))]
        String,
    ),
    Name(AgentByName),
}

/// An agent named exactly so; exactly one agent of the account must have this name.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AgentByName {
    /// The agent's exact name (at most 64 characters).
    #[schemars(length(min = 1, max = 64))]
    agent: String,
}

/// Call-creation fields every provider has.
macro_rules! provider_block {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(JsonSchema)]
        #[schemars(deny_unknown_fields)]
        #[serde(rename_all = "camelCase")]
        struct $name {
            $($(#[$fdoc])* $field: $ty,)*
            /// List of agents for whom calls may be directly created by this telephony provider to facilitate
            /// incoming calls. May not be set if callCreationAllowAllAgents is true. Compared as a set. Default: [].
            #[schemars(length(max = MAX_AGENT_IDS), inner(), extend("uniqueItems" = true))]
            call_creation_allowed_agent_ids: Option<Vec<AgentEntry>>,
            /// If true, calls may be directly created by this telephony provider for all agents. If false, only
            /// agents listed in callCreationAllowedAgentIds are allowed. Default: false.
            call_creation_allow_all_agents: Option<bool>,
            /// Maps (dot separated) request fields to (dot separated) context fields for incoming call creation,
            /// e.g. `From: user.phone_number`. Default: {}.
            request_context_mapping: Option<BTreeMap<String, String>>,
        }
    };
}

provider_block!(
    /// Twilio credentials.
    Twilio {
        /// Your Twilio Account SID.
        account_sid: Identifier,
        /// Your Twilio Auth Token: a reference, never the value.
        auth_token: SecretRef,
    }
);

provider_block!(
    /// Telnyx credentials.
    Telnyx {
        /// Your Telnyx Account SID. See https://portal.telnyx.com/#/account/general
        account_sid: Identifier,
        /// Your Telnyx API Key: a reference, never the value. See https://portal.telnyx.com/#/api-keys
        api_key: SecretRef,
        /// Your Telnyx Public Key: a reference, never the value. See https://portal.telnyx.com/#/api-keys/public-key
        public_key: SecretRef,
        /// Your Telnyx Application SID (at most 40 characters). This must be configured with an Outbound Voice
        /// Profile that allows calls to your destination. See https://portal.telnyx.com/#/call-control/texml
        application_sid: Identifier,
    }
);

provider_block!(
    /// Plivo credentials.
    Plivo {
        /// Your Plivo Auth ID.
        auth_id: Identifier,
        /// Your Plivo Auth Token: a reference, never the value.
        auth_token: SecretRef,
    }
);

/// The schema as a JSON value, with the rules schemars cannot derive added.
pub fn schema() -> Schema {
    let mut schema = schemars::schema_for!(TelephonyFile);
    // Option<T> means "may be left out", not "may be null": only a provider may be `null`.
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for key in ["version", "account", "sip", "sipRegistrations"] {
            if let Some(p) = props.get_mut(key) {
                deny_null(p);
            }
        }
    }
    // At least one provider (a block or null), or the SIP settings, must be declared, or the file manages nothing.
    schema.insert(
        "anyOf".into(),
        json!([
            {"required": ["twilio"]}, {"required": ["telnyx"]}, {"required": ["plivo"]},
            {"required": ["sip"]}, {"required": ["sipRegistrations"]}
        ]),
    );
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        for (name, def) in defs.iter_mut() {
            // Null means "none" for these: the fallback handler, and a registration's optional fields.
            let nullable: &[&str] = match name.as_str() {
                "Sip" => &["fallbackHandler"],
                "SipRegistration" => &["outboundProxy", "authUser"],
                _ => &[],
            };
            if let Some(props) = def.get_mut("properties").and_then(Value::as_object_mut) {
                props.iter_mut().filter(|(key, _)| !nullable.contains(&key.as_str())).for_each(|(_, p)| deny_null(p));
            }
        }
        for name in ["Twilio", "Telnyx", "Plivo"] {
            if let Some(def) = defs.get_mut(name).and_then(Value::as_object_mut) {
                // callCreationAllowAllAgents: true requires an empty (or absent) list.
                def.insert(
                    "if".into(),
                    json!({"properties": {"callCreationAllowAllAgents": {"const": true}}, "required": ["callCreationAllowAllAgents"]}),
                );
                def.insert("then".into(), json!({"properties": {"callCreationAllowedAgentIds": {"maxItems": 0}}}));
            }
        }
        if let Some(props) = defs.get_mut("Telnyx").and_then(|d| d.get_mut("properties")).and_then(Value::as_object_mut)
        {
            props.insert(
                "applicationSid".into(),
                json!({
                    "description": "Your Telnyx Application SID (at most 40 characters). This must be configured with an Outbound Voice Profile that allows calls to your destination. See https://portal.telnyx.com/#/call-control/texml",
                    "anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_APPLICATION_SID_CHARS, "pattern": "^\\S(?:.*\\S)?$"}, {"$ref": "#/$defs/SecretRef"}]
                }),
            );
        }
    }
    schema
}

fn deny_null(property: &mut Value) {
    let Some(obj) = property.as_object_mut() else { return };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = obj.get("anyOf") {
        let kept: Vec<Value> = branches.iter().filter(|b| b.get("type") != Some(&json!("null"))).cloned().collect();
        if kept.len() == 1 {
            obj.remove("anyOf");
            if let Some(Value::Object(branch)) = kept.into_iter().next() {
                obj.extend(branch);
            }
        } else {
            obj.insert("anyOf".into(), Value::Array(kept));
        }
    }
}

/// The schema as committed in `schema/telephony.schema.json`.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON Schema is plain JSON");
    text.push('\n');
    text
}
