//! The plan: what apply will do to one account, and exactly which requests it will send.
//!
//! A [`Plan`] is built in one step ([`Plan::new`]) from the desired state, the remote state, the endpoint family and
//! the options: [`crate::diff`] compares the two states field by field, and the family turns the differences into
//! typed [`Request`]s (a [`Target`], a [`Method`], the body's field names), in send order. The renderers show those
//! requests, a saved plan records them, and `apply` sends exactly them, so what is reviewed is what is sent. A plan
//! always knows its family: an empty request list means "nothing to write", never "no family chosen yet".
//!
//! Pure and free of I/O. Above `diff` and `endpoints`, which know nothing of it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{self, Action, FieldChange, PlanOptions, ProviderPlan, SecretStatus};
use crate::endpoints::{Family, Method, Target};
use crate::provider::Provider;
use crate::state::{DesiredState, RemoteState};

/// One request apply will send: never a value, only the names of the body's top-level fields.
// JSON output and saved plans write it as its method, its path under the API root, and its field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(into = "WireRequest", try_from = "WireRequest")]
#[schemars(rename = "PlannedRequest")]
pub struct Request {
    pub target: Target,
    pub method: Method,
    /// Provider keys for the account-level PATCH, field names for a provider's write; empty for a DELETE.
    pub fields: Vec<String>,
}

impl Request {
    /// The path under the API root.
    pub fn path(&self) -> String {
        self.target.path()
    }

    /// The providers the request writes: those named in the account-level PATCH, or its one provider.
    pub fn providers(&self) -> Vec<Provider> {
        match &self.target {
            Target::Account => Provider::ALL.into_iter().filter(|p| self.fields.iter().any(|f| f == p.key())).collect(),
            Target::Provider(provider) => vec![*provider],
        }
    }

    /// Whether the request sends the secret `field` of `provider`: always with a complete block (the account-level
    /// PATCH, a POST), only when named in a provider-scoped PATCH.
    pub fn sends(&self, provider: Provider, field: &str) -> bool {
        match (&self.target, self.method) {
            (Target::Account, Method::Patch) => self.fields.iter().any(|f| f == provider.key()),
            (Target::Provider(p), Method::Post) => *p == provider,
            (Target::Provider(p), Method::Patch) => *p == provider && self.fields.iter().any(|f| f == field),
            _ => false,
        }
    }
}

/// A request as JSON output and saved plans write it: the method, the path under the API root, the field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    pub method: Method,
    /// The path under the API root.
    pub path: String,
    /// The body's top-level keys: provider keys for the account-level PATCH, field names for a provider's write;
    /// empty for a DELETE.
    pub fields: Vec<String>,
}

impl From<Request> for WireRequest {
    fn from(request: Request) -> WireRequest {
        WireRequest { method: request.method, path: request.target.path(), fields: request.fields }
    }
}

impl TryFrom<WireRequest> for Request {
    type Error = String;

    fn try_from(planned: WireRequest) -> Result<Request, String> {
        let target = Target::from_path(&planned.path)
            .ok_or_else(|| format!("{} is not a path reconcile writes to", planned.path))?;
        Ok(Request { target, method: planned.method, fields: planned.fields })
    }
}

/// How many providers each action touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.create + self.update + self.delete
    }

    pub fn add(&mut self, other: Counts) {
        self.create += other.create;
        self.update += other.update;
        self.delete += other.delete;
    }
}

/// The plan for one account: one entry per provider (twilio, telnyx, plivo), the family its writes go through, and
/// the requests apply sends, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    family: Family,
    options: PlanOptions,
    providers: Vec<ProviderPlan>,
    requests: Vec<Request>,
    /// The names of agents the file wrote by name, by ID, shown beside the IDs. Not part of the comparison.
    agent_names: BTreeMap<String, String>,
}

impl Plan {
    /// Compares the desired state with the remote one and lists the requests that carry the differences through
    /// `family`: on `account`, one PATCH naming every written provider; otherwise one request per written provider,
    /// creates and updates in provider order, then deletes in provider order.
    pub fn new(desired: &DesiredState, remote: &RemoteState, family: Family, options: PlanOptions) -> Plan {
        let providers = diff::compare(desired, remote, options);
        let requests = requests(&providers, family);
        Plan { family, options, providers, requests, agent_names: BTreeMap::new() }
    }

    /// A plan as a JSON plan document shows it (`reconcile show`): its family, providers, requests and agent names as
    /// the run that printed the document had them. For showing again only; a plan to apply is always made with
    /// [`Plan::new`] from the states themselves.
    pub fn shown(
        family: Family,
        providers: Vec<ProviderPlan>,
        requests: Vec<Request>,
        agent_names: BTreeMap<String, String>,
    ) -> Plan {
        Plan { family, options: PlanOptions::default(), providers, requests, agent_names }
    }

    /// The plan with the names of agents the file wrote by name (labels only: they change no request).
    pub fn with_agent_names(mut self, agent_names: BTreeMap<String, String>) -> Plan {
        self.agent_names = agent_names;
        self
    }

    /// The endpoint family the requests go through.
    pub fn family(&self) -> Family {
        self.family
    }

    pub fn options(&self) -> PlanOptions {
        self.options
    }

    /// Every provider, in the order twilio, telnyx, plivo.
    pub fn providers(&self) -> &[ProviderPlan] {
        &self.providers
    }

    /// The requests apply sends, in send order; empty when there is nothing to write.
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    pub fn agent_names(&self) -> &BTreeMap<String, String> {
        &self.agent_names
    }

    /// True when applying would send nothing.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for p in &self.providers {
            match p.action {
                Action::Create => c.create += 1,
                Action::Update => c.update += 1,
                Action::Delete => c.delete += 1,
                _ => {}
            }
        }
        c
    }

    pub fn get(&self, provider: Provider) -> Option<&ProviderPlan> {
        self.providers.iter().find(|p| p.provider == provider)
    }

    /// The providers a write must hold.
    pub fn written(&self) -> impl Iterator<Item = &ProviderPlan> {
        self.providers.iter().filter(|p| p.action.writes())
    }

    /// Every secret field (`provider.field`) whose remote prefix proves nothing.
    pub fn unverifiable(&self) -> Vec<String> {
        self.providers
            .iter()
            .flat_map(|pp| pp.unverifiable_secrets().map(move |f| format!("{}.{f}", pp.provider)))
            .collect()
    }

    /// Whether the requests send the secret `field` of `provider`.
    pub fn sends(&self, provider: Provider, field: &str) -> bool {
        self.requests.iter().any(|r| r.sends(provider, field))
    }

    /// Whether a write carries whole provider blocks (the account-level PATCH), so that every secret of a written
    /// provider is sent, changed or not; an unverifiable secret then goes with its provider's block whenever another
    /// field of that provider changes. On the other families, only `--rotate` sends it.
    pub fn writes_whole_blocks(&self) -> bool {
        self.family.writes_account_level()
    }
}

/// The requests for `providers` through `family`, in send order.
fn requests(providers: &[ProviderPlan], family: Family) -> Vec<Request> {
    let written = || providers.iter().filter(|p| p.action.writes());
    if family.writes_account_level() {
        let fields: Vec<String> = written().map(|p| p.provider.key().to_string()).collect();
        if fields.is_empty() {
            return Vec::new();
        }
        return vec![Request { target: Target::Account, method: Method::Patch, fields }];
    }
    let writes = written().filter(|p| p.action != Action::Delete).filter_map(provider_request);
    let deletes = written().filter(|p| p.action == Action::Delete).filter_map(provider_request);
    writes.chain(deletes).collect()
}

/// The provider-scoped request for one provider's plan: `None` when it sends nothing.
fn provider_request(pp: &ProviderPlan) -> Option<Request> {
    let (method, fields) = match pp.action {
        Action::Create => (Method::Post, pp.changes.iter().map(|c| c.field().to_string()).collect()),
        Action::Update => {
            (Method::Patch, pp.changes.iter().filter(|c| sent_in_patch(c)).map(|c| c.field().to_string()).collect())
        }
        Action::Delete => (Method::Delete, Vec::new()),
        Action::NoChange | Action::AlreadyAbsent | Action::Unmanaged => return None,
    };
    Some(Request { target: Target::Provider(pp.provider), method, fields })
}

/// Whether a field of an update goes into a provider-scoped PATCH: every changed non-secret field, and a secret only
/// when it changed or rotation was asked for (never an unchanged or unverifiable one).
fn sent_in_patch(change: &FieldChange) -> bool {
    match change {
        FieldChange::Value { .. } => true,
        FieldChange::Secret { status, .. } => matches!(status, SecretStatus::Changed | SecretStatus::RotationRequested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Desired, DesiredProvider, RemotePrefix, RemoteProvider, Settings};
    use secrecy::SecretString;

    const A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    const FAMILIES: [Family; 3] = [Family::Auto, Family::Provider, Family::Account];

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

    fn remote(provider: Provider, prefixes: &[(&str, Option<&str>)]) -> RemoteProvider {
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
            prefixes: prefixes.iter().map(|(f, p)| (f.to_string(), p.map(|p| RemotePrefix::new(p.into())))).collect(),
            settings: Settings::default(),
        }
    }

    /// twilio: an agent added (token unchanged); telnyx: absent, created; plivo: present, declared null.
    fn mixed() -> (DesiredState, RemoteState) {
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
                Some(remote(Provider::Twilio, &[("authToken", Some("tok"))])),
                None,
                Some(remote(Provider::Plivo, &[("authToken", Some("pl"))])),
            ],
        };
        (desired, remote)
    }

    fn mixed_plan(family: Family, rotate: bool) -> Plan {
        let (desired, remote) = mixed();
        Plan::new(&desired, &remote, family, PlanOptions { rotate })
    }

    fn shown(requests: &[Request]) -> Vec<String> {
        requests.iter().map(|r| format!("{} {} {}", r.method.as_str(), r.path(), r.fields.join(","))).collect()
    }

    #[test]
    fn a_plan_is_built_in_one_step_and_carries_its_family_and_options() {
        for family in FAMILIES {
            for rotate in [false, true] {
                let plan = mixed_plan(family, rotate);
                assert_eq!(plan.family(), family);
                assert_eq!(plan.options(), PlanOptions { rotate });
                assert_eq!(plan.counts(), Counts { create: 1, update: 1, delete: 1 });
                assert!(!plan.requests().is_empty(), "{family}: a plan with changes lists its requests");
            }
        }
    }

    #[test]
    fn provider_and_auto_send_minimal_writes_then_deletes() {
        let expected = vec![
            "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds".to_string(),
            "POST /api/telephony_configs/telnyx accountSid,applicationSid,apiKey,publicKey,callCreationAllowedAgentIds,callCreationAllowAllAgents,requestContextMapping".to_string(),
            "DELETE /api/telephony_configs/plivo ".to_string(),
        ];
        for family in [Family::Provider, Family::Auto] {
            let plan = mixed_plan(family, false);
            assert_eq!(shown(plan.requests()), expected, "{family}");
            let targets: Vec<&Target> = plan.requests().iter().map(|r| &r.target).collect();
            assert_eq!(
                targets,
                [Provider::Twilio, Provider::Telnyx, Provider::Plivo].map(Target::Provider).iter().collect::<Vec<_>>()
            );
            assert!(!plan.sends(Provider::Twilio, "authToken"), "an unchanged secret is never sent");
            assert!(plan.sends(Provider::Telnyx, "apiKey"), "a create sends every field");
            assert!(!plan.writes_whole_blocks());
        }
    }

    #[test]
    fn rotation_sends_every_declared_secret_of_the_provider_and_nothing_else() {
        let plan = mixed_plan(Family::Provider, true);
        assert_eq!(plan.requests()[0].fields, vec!["authToken", "callCreationAllowedAgentIds"]);
        assert!(plan.sends(Provider::Twilio, "authToken"));
    }

    #[test]
    fn account_family_sends_one_patch_of_complete_blocks() {
        let plan = mixed_plan(Family::Account, false);
        assert_eq!(shown(plan.requests()), vec!["PATCH /api/accounts/me/telephony_config twilio,telnyx,plivo"]);
        assert_eq!(plan.requests()[0].target, Target::Account);
        assert_eq!(plan.requests()[0].providers(), Provider::ALL.to_vec());
        assert!(plan.sends(Provider::Twilio, "authToken"), "the whole block is re-sent");
        assert!(plan.writes_whole_blocks());
    }

    #[test]
    fn nothing_to_do_sends_nothing_on_any_family_and_still_knows_its_family() {
        let desired = DesiredState {
            providers: [Desired::Present(desired_twilio("tok-1", &[])), Desired::Unmanaged, Desired::Unmanaged],
        };
        let remote =
            RemoteState { providers: [Some(remote(Provider::Twilio, &[("authToken", Some("tok"))])), None, None] };
        for family in FAMILIES {
            let plan = Plan::new(&desired, &remote, family, PlanOptions::default());
            assert!(plan.is_empty() && plan.requests().is_empty(), "{family}");
            assert_eq!(plan.family(), family);
            assert_eq!(plan.writes_whole_blocks(), family == Family::Account, "{family}");
        }
    }

    #[test]
    fn an_unverifiable_secret_is_sent_only_with_rotate_or_with_a_whole_block() {
        let desired = DesiredState {
            providers: [Desired::Present(desired_twilio("tok-1", &[])), Desired::Unmanaged, Desired::Unmanaged],
        };
        let unverifiable =
            RemoteState { providers: [Some(remote(Provider::Twilio, &[("authToken", None)])), None, None] };
        for family in FAMILIES {
            let plan = Plan::new(&desired, &unverifiable, family, PlanOptions::default());
            assert_eq!(plan.unverifiable(), vec!["twilio.authToken"], "{family}");
            assert!(plan.is_empty(), "{family}: an unverifiable secret alone sends nothing");
            let rotated = Plan::new(&desired, &unverifiable, family, PlanOptions { rotate: true });
            assert!(rotated.sends(Provider::Twilio, "authToken"), "{family}: --rotate sends it");
        }
        // Another field of the provider changes: the account-level block carries the secret, a provider PATCH not.
        let changed = DesiredState {
            providers: [Desired::Present(desired_twilio("tok-1", &[A])), Desired::Unmanaged, Desired::Unmanaged],
        };
        for family in FAMILIES {
            let plan = Plan::new(&changed, &unverifiable, family, PlanOptions::default());
            assert_eq!(plan.sends(Provider::Twilio, "authToken"), family == Family::Account, "{family}");
        }
    }

    #[test]
    fn requests_are_written_and_read_as_method_path_and_fields() {
        let plan = mixed_plan(Family::Provider, false);
        let json = serde_json::to_value(plan.requests()).unwrap();
        assert_eq!(
            json[2],
            serde_json::json!({"method": "DELETE", "path": "/api/telephony_configs/plivo", "fields": []})
        );
        let back: Vec<Request> = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan.requests());
        let unknown = serde_json::json!({"method": "PATCH", "path": "/api/elsewhere", "fields": []});
        assert!(serde_json::from_value::<Request>(unknown).is_err());
    }
}
