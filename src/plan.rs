//! The plan: what apply will do to one account, and exactly which requests it will send.
//!
//! A [`Plan`] is built in one step ([`Plan::new`]) from the desired state, the remote state, the endpoint family and
//! the options: [`crate::diff`] compares the two states field by field, and the family turns the differences into
//! typed [`Request`]s (a [`Target`], a [`Method`], the body's field names), in send order. The renderers show those
//! requests, a saved plan records them, and `apply` sends exactly them, so what is reviewed is what is sent. A plan
//! always knows its family: an empty request list means "nothing to write", never "no family chosen yet".
//!
//! The SIP config and registrations, when the file manages them, are part of the same plan, with their own requests
//! (endpoint families do not apply to them). One apply writes in this order: the providers' creates and updates, then
//! the SIP config, then the registrations' creates and updates, then every delete (the providers', then the
//! registrations'). Each request's [`Subject`]s say what it writes.
//!
//! Pure and free of I/O. Above `diff` and `endpoints`, which know nothing of it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{self, Action, FieldChange, PlanOptions, ProviderPlan, RegistrationPlan, SecretStatus, SipPlan};
use crate::endpoints::{Family, Method, Target};
use crate::provider::Provider;
use crate::sip::RegistrationKey;
use crate::state::{DesiredState, RemoteSecret, RemoteSip, RemoteState};

/// What a request writes: a provider, the SIP config, or one SIP registration. Shown (and written in JSON) as
/// `twilio`, `sip`, `registration alice@trunk.example.com`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Provider(Provider),
    Sip,
    Registration(RegistrationKey),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Provider(provider) => f.write_str(provider.key()),
            Subject::Sip => f.write_str(crate::sip::SIP),
            Subject::Registration(key) => write!(f, "registration {key}"),
        }
    }
}

impl std::str::FromStr for Subject {
    type Err = String;

    fn from_str(s: &str) -> Result<Subject, String> {
        if s == crate::sip::SIP {
            return Ok(Subject::Sip);
        }
        if let Some(provider) = Provider::from_key(s) {
            return Ok(Subject::Provider(provider));
        }
        // A proxy is a host name, never with `@`: the last `@` ends the username.
        let key = s.strip_prefix("registration ").and_then(|key| key.rsplit_once('@'));
        match key {
            Some((username, proxy)) => Ok(Subject::Registration(RegistrationKey::new(username, proxy))),
            None => Err(format!("`{s}` names no provider, `sip` or `registration USERNAME@PROXY`")),
        }
    }
}

impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Subject, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Subject {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WrittenSubject".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "What a request wrote: `sip` (the SIP config) or `registration USERNAME@PROXY`.",
            "type": "string"
        })
    }
}

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

    /// The path as messages and logs show it (a registration's ID masked where it holds a secret).
    pub fn shown_path(&self) -> String {
        self.target.shown_path()
    }

    /// The providers the request writes: those named in the account-level PATCH, or its one provider (none for a
    /// SIP request).
    pub fn providers(&self) -> Vec<Provider> {
        match &self.target {
            Target::Account => Provider::ALL.into_iter().filter(|p| self.fields.iter().any(|f| f == p.key())).collect(),
            Target::Provider(provider) => vec![*provider],
            Target::Sip | Target::Registrations | Target::Registration(_) => Vec::new(),
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
    /// The SIP config's plan, when the file manages it.
    sip: Option<SipPlan>,
    /// The registrations' plans, when the file manages them: the declared ones in file order, then the ones to delete.
    registrations: Option<Vec<RegistrationPlan>>,
    /// What each request writes, by request.
    subjects: Vec<Vec<Subject>>,
    /// The fallback handler's secrets the account has, when the file leaves them to it: a write of the handler
    /// re-sends them (the API would generate a new one otherwise). Never shown, never saved.
    kept_secrets: Vec<RemoteSecret>,
}

impl Plan {
    /// Compares the desired state with the remote one and lists the requests that carry the differences through
    /// `family`: on `account`, one PATCH naming every written provider; otherwise one request per written provider,
    /// creates and updates in provider order, then deletes in provider order.
    ///
    /// The SIP config and registrations the file manages are compared with what was read of them (the API's
    /// defaults, and no registration, if nothing was read), and their requests follow in the order the module says.
    pub fn new(desired: &DesiredState, remote: &RemoteState, family: Family, options: PlanOptions) -> Plan {
        let providers = diff::compare(desired, remote, options);
        let default_sip = RemoteSip::default();
        let remote_sip = remote.sip.as_ref().unwrap_or(&default_sip);
        let sip = desired.sip.as_ref().map(|d| diff::compare_sip(d, remote_sip, options));
        let registrations = desired
            .registrations
            .as_ref()
            .map(|d| diff::compare_registrations(d, remote.registrations.as_deref().unwrap_or(&[]), options));
        let requests = requests(&providers, sip.as_ref(), registrations.as_deref(), family);
        let subjects = subjects(&requests, registrations.as_deref());
        let kept_secrets = match (desired.sip.as_ref().and_then(|d| d.fallback.as_ref()), &remote_sip.fallback) {
            (Some(wanted), Some(held)) if wanted.secrets.is_none() => held.secrets.clone(),
            _ => Vec::new(),
        };
        Plan {
            family,
            options,
            providers,
            requests,
            agent_names: BTreeMap::new(),
            sip,
            registrations,
            subjects,
            kept_secrets,
        }
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
        let subjects = subjects(&requests, None);
        Plan {
            family,
            options: PlanOptions::default(),
            providers,
            requests,
            agent_names,
            sip: None,
            registrations: None,
            subjects,
            kept_secrets: Vec::new(),
        }
    }

    /// A shown plan with the SIP config's and the registrations' plans its document holds.
    pub fn with_sip(mut self, sip: Option<SipPlan>, registrations: Option<Vec<RegistrationPlan>>) -> Plan {
        self.subjects = subjects(&self.requests, registrations.as_deref());
        self.sip = sip;
        self.registrations = registrations;
        self
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

    /// How many providers, SIP configs and registrations each action touches.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        let actions = self.providers.iter().map(|p| p.action);
        let sip = self.sip.iter().map(|s| s.action);
        let registrations = self.registrations.iter().flatten().map(|r| r.action);
        for action in actions.chain(sip).chain(registrations) {
            match action {
                Action::Create => c.create += 1,
                Action::Update => c.update += 1,
                Action::Delete => c.delete += 1,
                _ => {}
            }
        }
        c
    }

    /// The SIP config's plan, when the file manages it.
    pub fn sip(&self) -> Option<&SipPlan> {
        self.sip.as_ref()
    }

    /// The registrations' plans, when the file manages them.
    pub fn registrations(&self) -> Option<&[RegistrationPlan]> {
        self.registrations.as_deref()
    }

    /// What each request writes, by request (the same length as [`Plan::requests`]).
    pub fn subjects(&self) -> &[Vec<Subject>] {
        &self.subjects
    }

    /// The fallback handler's secrets the account has and the file leaves to it (see the field).
    pub fn kept_secrets(&self) -> &[RemoteSecret] {
        &self.kept_secrets
    }

    /// The registrations that stay on the account and that the API reports as not active.
    pub fn inactive_registrations(&self) -> Vec<RegistrationKey> {
        self.registrations.iter().flatten().filter(|r| r.inactive()).map(RegistrationPlan::key).collect()
    }

    /// Whether the requests send the fallback handler's secrets (the file's, or the account's kept ones).
    pub fn sends_fallback_secrets(&self) -> bool {
        self.requests.iter().any(|r| r.target == Target::Sip && r.fields.iter().any(|f| f == crate::sip::FALLBACK))
    }

    /// Whether the requests send the password of the registration `key`.
    pub fn sends_password(&self, key: &RegistrationKey) -> bool {
        self.requests.iter().zip(&self.subjects).any(|(r, subjects)| {
            subjects.contains(&Subject::Registration(key.clone())) && r.fields.iter().any(|f| f == crate::sip::PASSWORD)
        })
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

/// Every request, in send order: the providers' creates and updates (through `family`), the SIP config, the
/// registrations' creates and updates, then the providers' deletes and the registrations' deletes.
fn requests(
    providers: &[ProviderPlan],
    sip: Option<&SipPlan>,
    registrations: Option<&[RegistrationPlan]>,
    family: Family,
) -> Vec<Request> {
    let (mut out, provider_deletes) = provider_requests(providers, family);
    if let Some(fields) = sip.map(SipPlan::fields).filter(|f| !f.is_empty()) {
        out.push(Request { target: Target::Sip, method: Method::Patch, fields });
    }
    let registrations = registrations.unwrap_or_default();
    let writes = registrations.iter().filter(|r| matches!(r.action, Action::Create | Action::Update));
    out.extend(writes.filter_map(registration_request));
    out.extend(provider_deletes);
    out.extend(registrations.iter().filter(|r| r.action == Action::Delete).filter_map(registration_request));
    out
}

/// The requests for `providers` through `family`: the creates and updates (on `account`, the one PATCH, deletions
/// included), and the deletes.
fn provider_requests(providers: &[ProviderPlan], family: Family) -> (Vec<Request>, Vec<Request>) {
    let written = || providers.iter().filter(|p| p.action.writes());
    if family.writes_account_level() {
        let fields: Vec<String> = written().map(|p| p.provider.key().to_string()).collect();
        if fields.is_empty() {
            return (Vec::new(), Vec::new());
        }
        return (vec![Request { target: Target::Account, method: Method::Patch, fields }], Vec::new());
    }
    let writes = written().filter(|p| p.action != Action::Delete).filter_map(provider_request);
    let deletes = written().filter(|p| p.action == Action::Delete).filter_map(provider_request);
    (writes.collect(), deletes.collect())
}

/// The request for one registration's plan: `None` when it sends nothing.
fn registration_request(plan: &RegistrationPlan) -> Option<Request> {
    let (target, method) = match (plan.action, &plan.registration_id) {
        (Action::Create, _) => (Target::Registrations, Method::Post),
        (Action::Update, Some(id)) => (Target::Registration(id.clone()), Method::Patch),
        (Action::Delete, Some(id)) => (Target::Registration(id.clone()), Method::Delete),
        _ => return None,
    };
    Some(Request { target, method, fields: plan.fields() })
}

/// What each request writes: its providers, the SIP config, or its registration (a POST is the next registration
/// to create, in the plan's order; a registration's PATCH or DELETE names it by its ID).
fn subjects(requests: &[Request], registrations: Option<&[RegistrationPlan]>) -> Vec<Vec<Subject>> {
    let registrations = registrations.unwrap_or_default();
    let mut creates = registrations.iter().filter(|r| r.action == Action::Create);
    requests
        .iter()
        .map(|request| match &request.target {
            Target::Account | Target::Provider(_) => request.providers().into_iter().map(Subject::Provider).collect(),
            Target::Sip => vec![Subject::Sip],
            Target::Registrations => creates.next().map(|r| Subject::Registration(r.key())).into_iter().collect(),
            Target::Registration(id) => registrations
                .iter()
                .find(|r| r.registration_id.as_deref() == Some(id.as_str()))
                .map(|r| Subject::Registration(r.key()))
                .into_iter()
                .collect(),
        })
        .collect()
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
    use crate::sip::RegistrationKey;
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
            ..Default::default()
        };
        let remote = RemoteState {
            providers: [
                Some(remote(Provider::Twilio, &[("authToken", Some("tok"))])),
                None,
                Some(remote(Provider::Plivo, &[("authToken", Some("pl"))])),
            ],
            ..Default::default()
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
            ..Default::default()
        };
        let remote = RemoteState {
            providers: [Some(remote(Provider::Twilio, &[("authToken", Some("tok"))])), None, None],
            ..Default::default()
        };
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
            ..Default::default()
        };
        let unverifiable = RemoteState {
            providers: [Some(remote(Provider::Twilio, &[("authToken", None)])), None, None],
            ..Default::default()
        };
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
            ..Default::default()
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

    /// The mixed providers, a SIP config with a range added, and registrations: alice kept (bob's outboundProxy set),
    /// carol created, dave deleted.
    fn with_sip(family: Family, rotate: bool) -> Plan {
        use crate::sip::{Allowance, RegistrationKey};
        use crate::state::{DesiredRegistration, DesiredSip, RemoteRegistration, RemoteSip};
        let (mut desired, mut remote) = mixed();
        desired.sip = Some(DesiredSip {
            allowed_cidr_ranges: vec!["10.0.0.0/8".into()],
            allowed_agents: vec![Allowance::new(A, None)],
            ..DesiredSip::default()
        });
        remote.sip = Some(RemoteSip { allowed_agents: vec![Allowance::new(A, None)], ..RemoteSip::default() });
        let registration = |user: &str, outbound: Option<&str>| DesiredRegistration {
            key: RegistrationKey::new(user, "t.example.com"),
            password: SecretString::from(format!("{user}-password")),
            outbound_proxy: outbound.map(str::to_string),
            auth_user: None,
        };
        desired.registrations = Some(vec![
            registration("alice", None),
            registration("bob", Some("p.example.com")),
            registration("carol", None),
        ]);
        let remote_registration = |id: &str, user: &str| RemoteRegistration {
            id: id.into(),
            key: RegistrationKey::new(user, "t.example.com"),
            outbound_proxy: None,
            auth_user: None,
            successful: Some(true),
        };
        remote.registrations = Some(vec![
            remote_registration("r-a", "alice"),
            remote_registration("r-b", "bob"),
            remote_registration("r-d", "dave"),
        ]);
        Plan::new(&desired, &remote, family, PlanOptions { rotate })
    }

    #[test]
    fn sip_writes_come_after_the_providers_and_every_delete_comes_last() {
        let plan = with_sip(Family::Auto, false);
        assert_eq!(
            shown(plan.requests()),
            [
                "PATCH /api/telephony_configs/twilio callCreationAllowedAgentIds",
                "POST /api/telephony_configs/telnyx accountSid,applicationSid,apiKey,publicKey,callCreationAllowedAgentIds,callCreationAllowAllAgents,requestContextMapping",
                "PATCH /api/sip allowedCidrRanges",
                "PATCH /api/sip/registrations/r-b outboundProxy",
                "POST /api/sip/registrations username,password,proxy,outboundProxy,authUser",
                "DELETE /api/telephony_configs/plivo ",
                "DELETE /api/sip/registrations/r-d ",
            ]
        );
        let subjects: Vec<String> =
            plan.subjects().iter().map(|s| s.iter().map(Subject::to_string).collect()).collect();
        assert_eq!(
            subjects,
            [
                "twilio",
                "telnyx",
                "sip",
                "registration bob@t.example.com",
                "registration carol@t.example.com",
                "plivo",
                "registration dave@t.example.com"
            ]
        );
        assert_eq!(plan.counts(), Counts { create: 2, update: 3, delete: 2 });
        assert!(!plan.sends_password(&RegistrationKey::new("bob", "t.example.com")), "a password is never a change");
        assert!(plan.sends_password(&RegistrationKey::new("carol", "t.example.com")), "a create sends it");
        // On the account family, the one account-level PATCH (deletes included) comes first.
        let account = with_sip(Family::Account, false);
        assert_eq!(shown(account.requests())[0], "PATCH /api/accounts/me/telephony_config twilio,telnyx,plivo");
        assert_eq!(shown(account.requests())[4], "DELETE /api/sip/registrations/r-d ");
    }

    #[test]
    fn rotation_patches_every_declared_registrations_password() {
        let plan = with_sip(Family::Provider, true);
        let patches: Vec<String> =
            shown(plan.requests()).into_iter().filter(|r| r.starts_with("PATCH /api/sip/registrations/")).collect();
        assert_eq!(
            patches,
            ["PATCH /api/sip/registrations/r-a password", "PATCH /api/sip/registrations/r-b password,outboundProxy"]
        );
    }

    #[test]
    fn subjects_read_and_write_as_their_names() {
        for text in ["twilio", "sip", "registration alice@t.example.com", "registration a@b@t.example.com"] {
            let subject: Subject = text.parse().unwrap();
            assert_eq!(subject.to_string(), text);
        }
        assert!("registration nobody".parse::<Subject>().is_err());
    }
}
