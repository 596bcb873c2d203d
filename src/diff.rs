//! The comparison under every plan: the desired state against the remote state, provider by provider and field by
//! field.
//!
//! Pure and free of I/O, and below the plan (which imports it, never the other way): it says what differs, never how
//! it is sent. Secrets are compared by prefix: a local value that starts with the prefix the API returned is
//! unchanged, one that does not is changed, and a missing or empty prefix proves nothing (reported, and sent only with
//! `--rotate`). The comparison holds statuses for secrets, never values or prefixes.
//!
//! The SIP config and registrations are compared in [`sip`], by the same rules where they apply.

mod sip;

pub use sip::{
    RegistrationPlan, SipPlan, check_registration, check_sip, compare_registrations, compare_sip, differing_fields,
};

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::provider::{self, Provider};
use crate::state::{Desired, DesiredProvider, DesiredState, RemoteProvider, RemoteState, Settings};

/// Options that change the comparison (and so what the plan sends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Send every declared secret, whatever its prefix says.
    pub rotate: bool,
}

/// What happens to one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Declared, absent remotely.
    Create,
    /// Declared, present remotely, and something differs (or rotation was requested).
    Update,
    /// Declared `null`, present remotely.
    Delete,
    /// Declared and already as declared.
    NoChange,
    /// Declared `null` and already absent.
    AlreadyAbsent,
    /// Not in the file: left as it is.
    Unmanaged,
}

impl Action {
    pub fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}

/// A non-secret value as shown in a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Bool(bool),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// What the plan knows about one secret field. Never its value, never its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SecretStatus {
    /// The local value starts with the remote prefix.
    Unchanged,
    /// The local value does not start with the remote prefix: it will be sent.
    Changed,
    /// The provider is created: the secret will be sent.
    New,
    /// `--rotate`: sent whatever the prefix says.
    RotationRequested,
    /// The API returned no prefix (or an empty one): nothing can be proven. Sent only with `--rotate`.
    Unverifiable,
    /// The provider is deleted, and the secret with it.
    Removed,
    /// The API never shows it, not even a prefix (a SIP registration's password): nothing can be compared. Sent when
    /// the registration is created, and with `--rotate`; never counted as a change.
    WriteOnly,
}

impl std::fmt::Display for SecretStatus {
    /// The status in a word or two, as error messages name it (`went from unchanged to changed`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretStatus::Unchanged => "unchanged",
            SecretStatus::Changed => "changed",
            SecretStatus::New => "new",
            SecretStatus::RotationRequested => "rotation requested",
            SecretStatus::Unverifiable => "unverifiable",
            SecretStatus::Removed => "removed",
            SecretStatus::WriteOnly => "unverifiable (write-only)",
        })
    }
}

/// One field of a provider that the plan reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum FieldChange {
    /// A non-secret field whose value changes (`None`: not set on that side).
    Value { field: String, before: Option<Value>, after: Option<Value> },
    /// A secret field: only its status.
    Secret { field: String, status: SecretStatus },
}

impl FieldChange {
    pub fn field(&self) -> &str {
        match self {
            FieldChange::Value { field, .. } | FieldChange::Secret { field, .. } => field,
        }
    }
}

/// The plan for one provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderPlan {
    pub provider: Provider,
    pub action: Action,
    /// Whether the provider exists on the account now.
    pub remote_present: bool,
    /// Changed non-secret fields (all declared ones for a create, the removed ones for a delete) and the status of
    /// every secret field.
    pub changes: Vec<FieldChange>,
}

impl ProviderPlan {
    /// Secret fields whose remote prefix proves nothing.
    pub fn unverifiable_secrets(&self) -> impl Iterator<Item = &str> {
        self.changes.iter().filter_map(|c| match c {
            FieldChange::Secret { field, status: SecretStatus::Unverifiable } => Some(field.as_str()),
            _ => None,
        })
    }
}

/// Compares the desired state with the remote one, provider by provider, in the order twilio, telnyx, plivo. Which
/// requests carry the differences is the plan's business, not the comparison's.
pub fn compare(desired: &DesiredState, remote: &RemoteState, options: PlanOptions) -> Vec<ProviderPlan> {
    Provider::ALL
        .into_iter()
        .map(|provider| plan_provider(provider, desired.get(provider), remote.get(provider), options))
        .collect()
}

fn plan_provider(
    provider: Provider,
    desired: &Desired,
    remote: Option<&RemoteProvider>,
    options: PlanOptions,
) -> ProviderPlan {
    let remote_present = remote.is_some();
    let (action, changes) = match (desired, remote) {
        (Desired::Unmanaged, _) => (Action::Unmanaged, Vec::new()),
        (Desired::Absent, None) => (Action::AlreadyAbsent, Vec::new()),
        (Desired::Absent, Some(r)) => (Action::Delete, removal(r)),
        (Desired::Present(d), None) => (Action::Create, creation(d)),
        (Desired::Present(d), Some(r)) => {
            let changes = update(d, r, options);
            let differs = changes.iter().any(|c| match c {
                FieldChange::Value { .. } => true,
                FieldChange::Secret { status, .. } => {
                    matches!(status, SecretStatus::Changed | SecretStatus::RotationRequested)
                }
            });
            (if differs { Action::Update } else { Action::NoChange }, changes)
        }
    };
    ProviderPlan { provider, action, remote_present, changes }
}

fn settings_values(s: &Settings) -> [(&'static str, Value); 3] {
    [
        (provider::AGENT_IDS, Value::List(s.allowed_agent_ids.clone())),
        (provider::ALLOW_ALL, Value::Bool(s.allow_all_agents)),
        (provider::CONTEXT_MAPPING, Value::Map(s.request_context_mapping.clone())),
    ]
}

fn creation(d: &DesiredProvider) -> Vec<FieldChange> {
    let mut changes: Vec<FieldChange> = d
        .identifiers
        .iter()
        .map(|(f, v)| FieldChange::Value { field: f.to_string(), before: None, after: Some(Value::Text(v.clone())) })
        .collect();
    changes
        .extend(d.secrets.iter().map(|(f, _)| FieldChange::Secret { field: f.to_string(), status: SecretStatus::New }));
    changes.extend(settings_values(&d.settings).into_iter().map(|(f, v)| FieldChange::Value {
        field: f.to_string(),
        before: None,
        after: Some(v),
    }));
    changes
}

fn removal(r: &RemoteProvider) -> Vec<FieldChange> {
    let mut changes: Vec<FieldChange> = r
        .provider
        .identifier_fields()
        .iter()
        .filter_map(|f| r.identifier(f).map(|v| (f, v)))
        .map(|(f, v)| FieldChange::Value {
            field: f.to_string(),
            before: Some(Value::Text(v.to_string())),
            after: None,
        })
        .collect();
    changes.extend(
        r.provider
            .secret_fields()
            .iter()
            .map(|f| FieldChange::Secret { field: f.to_string(), status: SecretStatus::Removed }),
    );
    changes
}

fn update(d: &DesiredProvider, r: &RemoteProvider, options: PlanOptions) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    for (field, value) in &d.identifiers {
        let before = r.identifier(field);
        if before != Some(value.as_str()) {
            changes.push(FieldChange::Value {
                field: field.to_string(),
                before: before.map(|b| Value::Text(b.to_string())),
                after: Some(Value::Text(value.clone())),
            });
        }
    }
    for (field, secret) in &d.secrets {
        let status = if options.rotate {
            SecretStatus::RotationRequested
        } else {
            match r.prefix(field) {
                None => SecretStatus::Unverifiable,
                Some(p) if p.is_empty() => SecretStatus::Unverifiable,
                Some(p) if secret.expose_secret().starts_with(p.expose()) => SecretStatus::Unchanged,
                Some(_) => SecretStatus::Changed,
            }
        };
        changes.push(FieldChange::Secret { field: field.to_string(), status });
    }
    let (ds, rs) = (&d.settings, &r.settings);
    if as_set(&ds.allowed_agent_ids) != as_set(&rs.allowed_agent_ids) {
        changes.push(FieldChange::Value {
            field: provider::AGENT_IDS.to_string(),
            before: Some(Value::List(rs.allowed_agent_ids.clone())),
            after: Some(Value::List(ds.allowed_agent_ids.clone())),
        });
    }
    if ds.allow_all_agents != rs.allow_all_agents {
        changes.push(FieldChange::Value {
            field: provider::ALLOW_ALL.to_string(),
            before: Some(Value::Bool(rs.allow_all_agents)),
            after: Some(Value::Bool(ds.allow_all_agents)),
        });
    }
    if ds.request_context_mapping != rs.request_context_mapping {
        changes.push(FieldChange::Value {
            field: provider::CONTEXT_MAPPING.to_string(),
            before: Some(Value::Map(rs.request_context_mapping.clone())),
            after: Some(Value::Map(ds.request_context_mapping.clone())),
        });
    }
    changes
}

/// Agent IDs as the set they stand for: order and UUID case do not matter (the API's own spelling is kept elsewhere:
/// plans show and `import` writes each ID as the account holds it).
pub fn as_set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_lowercase()).collect()
}

/// What a write's answer says about the written providers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteCheck {
    /// Fields where the answer still differs from the desired state (a sent secret's prefix included).
    pub problems: Vec<String>,
    /// Secrets that were sent but whose prefix the answer left out (or empty): whether they landed cannot be checked.
    pub unverified: Vec<String>,
}

/// Compares a write's answer with the desired state, for the providers the write held.
pub fn check_write(desired: &DesiredState, written: &[Provider], answer: &RemoteState) -> WriteCheck {
    let mut check = WriteCheck::default();
    for &provider in written {
        match (desired.get(provider), answer.get(provider)) {
            (Desired::Absent, Some(_)) => check.problems.push(format!("{provider}: still present after the delete")),
            (Desired::Present(_), None) => check.problems.push(format!("{provider}: absent after the write")),
            (Desired::Present(d), Some(r)) => {
                for change in update(d, r, PlanOptions::default()) {
                    note(&mut check, provider, change);
                }
            }
            _ => {}
        }
    }
    check
}

/// Compares the answer to a provider-scoped `PATCH` that sent `sent` with the desired provider. A field the answer
/// did not carry (`carried`, see [`crate::api::PatchAnswer`]) and the PATCH did not send was left alone by it: it is
/// not compared (a server may answer a field-level merge with only what changed). A field that was sent is always
/// compared, an absent one as the API's default. A secret's missing prefix is reported only for a secret that was
/// sent.
pub fn check_patch(
    desired: &DesiredProvider,
    sent: &[String],
    answer: &RemoteProvider,
    carried: &BTreeSet<String>,
) -> WriteCheck {
    let was_sent = |field: &str| sent.iter().any(|s| s == field);
    let mut check = WriteCheck::default();
    for change in update(desired, answer, PlanOptions::default()) {
        let field = change.field();
        let unverified_unsent =
            matches!(change, FieldChange::Secret { status: SecretStatus::Unverifiable, .. }) && !was_sent(field);
        if unverified_unsent || !(was_sent(field) || carried.contains(field)) {
            continue;
        }
        note(&mut check, desired.provider, change);
    }
    check
}

/// Notes one difference between a write's answer and the desired state.
fn note(check: &mut WriteCheck, provider: Provider, change: FieldChange) {
    match change {
        FieldChange::Value { field, .. } => {
            check.problems.push(format!("{provider}.{field}: differs from what was sent"))
        }
        FieldChange::Secret { field, status: SecretStatus::Changed } => {
            check.problems.push(format!("{provider}.{field}: the returned prefix does not match what was sent"))
        }
        FieldChange::Secret { field, status: SecretStatus::Unverifiable } => {
            check.unverified.push(format!("{provider}.{field}"))
        }
        FieldChange::Secret { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RemotePrefix;
    use secrecy::SecretString;

    const A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    const B: &str = "11111111-2222-4333-8444-555555555555";

    fn twilio(token: &str, agents: &[&str]) -> DesiredProvider {
        DesiredProvider {
            provider: Provider::Twilio,
            identifiers: vec![("accountSid", "AC1".into())],
            secrets: vec![("authToken", SecretString::from(token.to_string()))],
            settings: Settings {
                allowed_agent_ids: agents.iter().map(|s| s.to_string()).collect(),
                ..Settings::default()
            },
        }
    }

    fn remote_twilio(prefix: Option<&str>, agents: &[&str]) -> RemoteProvider {
        RemoteProvider {
            provider: Provider::Twilio,
            identifiers: [("accountSid".to_string(), "AC1".to_string())].into(),
            prefixes: [("authToken".to_string(), prefix.map(|p| RemotePrefix::new(p.to_string())))].into(),
            settings: Settings {
                allowed_agent_ids: agents.iter().map(|s| s.to_string()).collect(),
                ..Settings::default()
            },
        }
    }

    fn desired(twilio: Desired) -> DesiredState {
        DesiredState { providers: [twilio, Desired::Unmanaged, Desired::Unmanaged], ..Default::default() }
    }

    fn remote(twilio: Option<RemoteProvider>) -> RemoteState {
        RemoteState { providers: [twilio, None, None], ..Default::default() }
    }

    fn twilio_plan(d: Desired, r: Option<RemoteProvider>, rotate: bool) -> ProviderPlan {
        compare(&desired(d), &remote(r), PlanOptions { rotate }).remove(0)
    }

    fn secret_status(p: &ProviderPlan) -> SecretStatus {
        p.changes
            .iter()
            .find_map(|c| match c {
                FieldChange::Secret { status, .. } => Some(*status),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn create_when_absent_remotely() {
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), None, false);
        assert_eq!(p.action, Action::Create);
        assert_eq!(secret_status(&p), SecretStatus::New);
        assert!(p.changes.iter().any(|c| c.field() == "accountSid"));
    }

    #[test]
    fn matching_prefix_is_unchanged_whatever_its_length() {
        for prefix in ["t", "to", "tok", "toke"] {
            let p =
                twilio_plan(Desired::Present(twilio("token-123", &[])), Some(remote_twilio(Some(prefix), &[])), false);
            assert_eq!(p.action, Action::NoChange, "prefix of length {}", prefix.len());
            assert_eq!(secret_status(&p), SecretStatus::Unchanged);
        }
    }

    #[test]
    fn differing_prefix_is_changed() {
        let p = twilio_plan(Desired::Present(twilio("token-123", &[])), Some(remote_twilio(Some("tokx"), &[])), false);
        assert_eq!(p.action, Action::Update);
        assert_eq!(secret_status(&p), SecretStatus::Changed);
        // A prefix longer than the local value cannot be its prefix.
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(remote_twilio(Some("token"), &[])), false);
        assert_eq!(secret_status(&p), SecretStatus::Changed);
    }

    #[test]
    fn missing_or_empty_prefix_is_unverifiable_and_not_sent() {
        for prefix in [None, Some("")] {
            let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(remote_twilio(prefix, &[])), false);
            assert_eq!(p.action, Action::NoChange);
            assert_eq!(secret_status(&p), SecretStatus::Unverifiable);
            assert_eq!(p.unverifiable_secrets().collect::<Vec<_>>(), vec!["authToken"]);
        }
    }

    #[test]
    fn rotate_sends_every_declared_secret() {
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(remote_twilio(Some("to"), &[])), true);
        assert_eq!(p.action, Action::Update);
        assert_eq!(secret_status(&p), SecretStatus::RotationRequested);
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(remote_twilio(None, &[])), true);
        assert_eq!(secret_status(&p), SecretStatus::RotationRequested);
    }

    #[test]
    fn agent_ids_compare_as_a_set_ignoring_order_and_case() {
        let upper = A.to_uppercase();
        let p =
            twilio_plan(Desired::Present(twilio("tok", &[A, B])), Some(remote_twilio(Some("t"), &[B, &upper])), false);
        assert_eq!(p.action, Action::NoChange, "{p:?}");
        let p = twilio_plan(Desired::Present(twilio("tok", &[A])), Some(remote_twilio(Some("t"), &[A, B])), false);
        assert_eq!(p.action, Action::Update);
        assert!(matches!(&p.changes[1], FieldChange::Value { field, .. } if field == provider::AGENT_IDS));
    }

    #[test]
    fn identifier_change_shows_before_and_after() {
        let mut r = remote_twilio(Some("t"), &[]);
        r.identifiers.insert("accountSid".into(), "AC0".into());
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(r), false);
        assert_eq!(
            p.changes[0],
            FieldChange::Value {
                field: "accountSid".into(),
                before: Some(Value::Text("AC0".into())),
                after: Some(Value::Text("AC1".into()))
            }
        );
    }

    #[test]
    fn null_deletes_when_present_and_is_quiet_when_absent() {
        assert_eq!(twilio_plan(Desired::Absent, Some(remote_twilio(Some("t"), &[])), false).action, Action::Delete);
        assert_eq!(twilio_plan(Desired::Absent, None, false).action, Action::AlreadyAbsent);
    }

    #[test]
    fn unmanaged_is_left_alone() {
        let p = twilio_plan(Desired::Unmanaged, Some(remote_twilio(Some("t"), &[])), true);
        assert_eq!(p.action, Action::Unmanaged);
        assert!(p.remote_present);
        let whole = compare(&desired(Desired::Unmanaged), &remote(None), PlanOptions::default());
        assert!(whole.iter().all(|p| !p.action.writes()));
    }

    #[test]
    fn defaults_are_compared_too() {
        let mut r = remote_twilio(Some("t"), &[]);
        r.settings.allow_all_agents = true;
        r.settings.request_context_mapping.insert("From".into(), "user.phone".into());
        let p = twilio_plan(Desired::Present(twilio("tok", &[])), Some(r), false);
        assert_eq!(p.action, Action::Update);
        let fields: Vec<&str> = p.changes.iter().map(FieldChange::field).collect();
        assert_eq!(fields, vec!["authToken", provider::ALLOW_ALL, provider::CONTEXT_MAPPING]);
    }

    #[test]
    fn convergence_flags_a_prefix_that_does_not_match_what_was_sent() {
        let d = desired(Desired::Present(twilio("tok", &[])));
        assert!(
            check_write(&d, &[Provider::Twilio], &remote(Some(remote_twilio(Some("to"), &[])))).problems.is_empty()
        );
        let problems = check_write(&d, &[Provider::Twilio], &remote(Some(remote_twilio(Some("xx"), &[])))).problems;
        assert_eq!(problems, vec!["twilio.authToken: the returned prefix does not match what was sent"]);
        assert_eq!(
            check_write(&d, &[Provider::Twilio], &remote(None)).problems,
            vec!["twilio: absent after the write"]
        );
    }

    #[test]
    fn a_patch_answer_is_compared_on_what_was_sent_and_what_it_carried() {
        const A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let d = twilio("tok", &[A]);
        let sent = ["callCreationAllowedAgentIds".to_string()];
        let carried = |fields: &[&str]| fields.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>();
        // Only the sent list came back: the identifier and the secret it left out were not touched.
        let mut only_the_list = remote_twilio(None, &[A]);
        only_the_list.identifiers.clear();
        assert_eq!(
            check_patch(&d, &sent, &only_the_list, &carried(&["callCreationAllowedAgentIds"])),
            WriteCheck::default()
        );
        // The sent field is always compared, an absent one as the default ([]).
        let problems = check_patch(&d, &sent, &remote_twilio(None, &[]), &carried(&[])).problems;
        assert_eq!(problems, vec!["twilio.callCreationAllowedAgentIds: differs from what was sent"]);
        // A field it carried is compared though it was not sent; a missing prefix counts only for a sent secret.
        let mut other_sid = remote_twilio(Some("xx"), &[A]);
        other_sid.identifiers.insert("accountSid".into(), "AC2".into());
        let check = check_patch(&d, &sent, &other_sid, &carried(&["accountSid", "authToken"]));
        assert_eq!(
            check.problems,
            vec![
                "twilio.accountSid: differs from what was sent",
                "twilio.authToken: the returned prefix does not match what was sent"
            ]
        );
        let rotated = ["authToken".to_string()];
        let check = check_patch(&d, &rotated, &remote_twilio(None, &[A]), &carried(&["accountSid"]));
        assert_eq!(check, WriteCheck { problems: vec![], unverified: vec!["twilio.authToken".into()] });
        assert_eq!(
            check_patch(&d, &sent, &remote_twilio(None, &[A]), &carried(&["accountSid"])),
            WriteCheck::default()
        );
    }
}
