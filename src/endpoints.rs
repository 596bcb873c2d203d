//! Endpoint families and the requests a plan sends through one: pure, no I/O.
//!
//! [`requests`] is the single list of writes for a plan under a family. The renderers show it, a saved plan records
//! it, and `apply` sends exactly it, so what is reviewed is what is sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{Action, FieldChange, Plan, ProviderPlan, SecretStatus};
use crate::provider::Provider;

/// The account-level pair, deprecated by Ultravox since 2026-03.
pub const ACCOUNT_CONFIG_PATH: &str = "/api/accounts/me/telephony_config";

/// The provider-scoped endpoint of one provider.
pub fn provider_path(provider: Provider) -> String {
    format!("/api/telephony_configs/{}", provider.key())
}

/// Which endpoints reconcile reads and writes through (`--endpoints`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Read with the account-level GET (falling back to the provider GETs when it is gone); write per provider.
    #[default]
    Auto,
    /// Ultravox's provider-scoped endpoints: one GET per provider, minimal writes per provider.
    Provider,
    /// The deprecated account-level pair: one GET, one PATCH of complete blocks.
    Account,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Auto => "auto",
            Family::Provider => "provider",
            Family::Account => "account",
        }
    }

    /// Whether writes go through the one account-level PATCH (else through the provider endpoints).
    pub fn writes_account_level(self) -> bool {
        self == Family::Account
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An HTTP method apply sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WriteMethod {
    Post,
    Patch,
    Delete,
}

impl WriteMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMethod::Post => "POST",
            WriteMethod::Patch => "PATCH",
            WriteMethod::Delete => "DELETE",
        }
    }
}

/// One request apply will send: never a value, only the names of the body's top-level fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedRequest {
    pub method: WriteMethod,
    /// The path under the API root.
    pub path: String,
    /// The body's top-level keys: provider keys for the account-level PATCH, field names for a provider's write;
    /// empty for a DELETE.
    pub fields: Vec<String>,
}

impl PlannedRequest {
    /// The provider a provider-scoped request writes (`None` for the account-level PATCH).
    pub fn provider(&self) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| self.path == provider_path(*p))
    }
}

/// Whether the writes carry whole provider blocks (the account-level PATCH; also said of no write at all), so that
/// every secret of a written provider is sent, changed or not.
pub fn whole_blocks(requests: &[PlannedRequest]) -> bool {
    requests.is_empty() || requests.iter().any(|r| r.provider().is_none())
}

/// The requests apply sends for `plan` through `family`, in send order: on `account`, one PATCH naming every written
/// provider; otherwise creates and updates in provider order, then deletes in provider order.
pub fn requests(plan: &Plan, family: Family) -> Vec<PlannedRequest> {
    if family.writes_account_level() {
        let fields: Vec<String> = plan.written().map(|p| p.provider.key().to_string()).collect();
        if fields.is_empty() {
            return Vec::new();
        }
        return vec![PlannedRequest { method: WriteMethod::Patch, path: ACCOUNT_CONFIG_PATH.into(), fields }];
    }
    let writes = plan.written().filter(|p| p.action != Action::Delete).filter_map(provider_request);
    let deletes = plan.written().filter(|p| p.action == Action::Delete).filter_map(provider_request);
    writes.chain(deletes).collect()
}

/// The provider-scoped request for one provider's plan: `None` when it sends nothing.
pub fn provider_request(pp: &ProviderPlan) -> Option<PlannedRequest> {
    let path = provider_path(pp.provider);
    let (method, fields) = match pp.action {
        Action::Create => (WriteMethod::Post, pp.changes.iter().map(|c| c.field().to_string()).collect()),
        Action::Update => (
            WriteMethod::Patch,
            pp.changes.iter().filter(|c| sent_in_patch(c)).map(|c| c.field().to_string()).collect(),
        ),
        Action::Delete => (WriteMethod::Delete, Vec::new()),
        Action::NoChange | Action::AlreadyAbsent | Action::Unmanaged => return None,
    };
    Some(PlannedRequest { method, path, fields })
}

/// Whether a field of an update goes into a provider-scoped PATCH: every changed non-secret field, and a secret only
/// when it changed or rotation was asked for (never an unchanged or unverifiable one).
fn sent_in_patch(change: &FieldChange) -> bool {
    match change {
        FieldChange::Value { .. } => true,
        FieldChange::Secret { status, .. } => matches!(status, SecretStatus::Changed | SecretStatus::RotationRequested),
    }
}

/// Whether `requests` send the secret `field` of `provider`: always with a complete block (the account-level PATCH,
/// a POST), only when named in a provider-scoped PATCH.
pub fn sends(requests: &[PlannedRequest], provider: Provider, field: &str) -> bool {
    requests.iter().any(|r| match (r.method, r.provider()) {
        (WriteMethod::Patch, None) => r.fields.iter().any(|f| f == provider.key()),
        (WriteMethod::Post, Some(p)) => p == provider,
        (WriteMethod::Patch, Some(p)) => p == provider && r.fields.iter().any(|f| f == field),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{self, PlanOptions};
    use crate::state::{Desired, DesiredProvider, DesiredState, RemotePrefix, RemoteProvider, RemoteState, Settings};
    use secrecy::SecretString;

    const A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

    fn desired_twilio(token: &str, agents: &[&str]) -> DesiredProvider {
        DesiredProvider {
            provider: Provider::Twilio,
            identifiers: vec![("accountSid", "AC1".into())],
            secrets: vec![("authToken", SecretString::from(token.to_string()))],
            settings: Settings {
                allowed_agent_ids: agents.iter().map(|a| a.to_string()).collect(),
                ..Settings::default()
            },
        }
    }

    fn remote(provider: Provider, prefixes: &[(&str, &str)]) -> RemoteProvider {
        RemoteProvider {
            provider,
            identifiers: match provider {
                Provider::Twilio => [("accountSid".to_string(), "AC1".to_string())].into(),
                Provider::Telnyx => {
                    [("accountSid".to_string(), "x".to_string()), ("applicationSid".to_string(), "1".to_string())]
                        .into()
                }
                Provider::Plivo => [("authId".to_string(), "MA1".to_string())].into(),
            },
            prefixes: prefixes.iter().map(|(f, p)| (f.to_string(), Some(RemotePrefix::new(p.to_string())))).collect(),
            settings: Settings::default(),
        }
    }

    /// twilio: an agent added (token unchanged); telnyx: absent, created; plivo: present, declared null.
    fn mixed(rotate: bool) -> Plan {
        let desired = DesiredState {
            providers: [
                Desired::Present(desired_twilio("tok-1", &[A])),
                Desired::Present(DesiredProvider {
                    provider: Provider::Telnyx,
                    identifiers: vec![("accountSid", "x".into()), ("applicationSid", "1".into())],
                    secrets: vec![
                        ("apiKey", SecretString::from("k".to_string())),
                        ("publicKey", SecretString::from("p".to_string())),
                    ],
                    settings: Settings::default(),
                }),
                Desired::Absent,
            ],
        };
        let remote = RemoteState {
            providers: [
                Some(remote(Provider::Twilio, &[("authToken", "tok")])),
                None,
                Some(remote(Provider::Plivo, &[("authToken", "pl")])),
            ],
        };
        diff::plan(&desired, &remote, PlanOptions { rotate })
    }

    fn shown(requests: &[PlannedRequest]) -> Vec<String> {
        requests.iter().map(|r| format!("{} {} {}", r.method.as_str(), r.path, r.fields.join(","))).collect()
    }

    #[test]
    fn provider_family_sends_minimal_writes_then_deletes() {
        let plan = mixed(false);
        let expected = vec![
            "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds".to_string(),
            "POST /api/telephony_configs/telnyx accountSid,applicationSid,apiKey,publicKey,callCreationAllowedAgentIds,callCreationAllowAllAgents,requestContextMapping".to_string(),
            "DELETE /api/telephony_configs/plivo ".to_string(),
        ];
        assert_eq!(shown(&requests(&plan, Family::Provider)), expected);
        assert_eq!(requests(&plan, Family::Auto), requests(&plan, Family::Provider), "auto writes per provider");
        let sent = requests(&plan, Family::Provider);
        assert!(!sends(&sent, Provider::Twilio, "authToken"), "an unchanged secret is never sent");
        assert!(sends(&sent, Provider::Telnyx, "apiKey"));
    }

    #[test]
    fn rotation_sends_every_declared_secret_of_the_provider_and_nothing_else() {
        let plan = mixed(true);
        let sent = requests(&plan, Family::Provider);
        assert_eq!(sent[0].fields, vec!["authToken", "callCreationAllowedAgentIds"]);
        assert!(sends(&sent, Provider::Twilio, "authToken"));
    }

    #[test]
    fn account_family_sends_one_patch_of_complete_blocks() {
        let plan = mixed(false);
        assert_eq!(
            shown(&requests(&plan, Family::Account)),
            vec!["PATCH /api/accounts/me/telephony_config twilio,telnyx,plivo"]
        );
        assert!(sends(&requests(&plan, Family::Account), Provider::Twilio, "authToken"), "the whole block is re-sent");
    }

    #[test]
    fn nothing_to_do_sends_nothing_on_any_family() {
        let desired = DesiredState {
            providers: [Desired::Present(desired_twilio("tok-1", &[])), Desired::Unmanaged, Desired::Unmanaged],
        };
        let remote = RemoteState { providers: [Some(remote(Provider::Twilio, &[("authToken", "tok")])), None, None] };
        let plan = diff::plan(&desired, &remote, PlanOptions::default());
        for family in [Family::Auto, Family::Provider, Family::Account] {
            assert!(requests(&plan, family).is_empty(), "{family}");
        }
    }
}
