//! The SIP config and the SIP registrations compared, by the rules of the providers where they apply.
//!
//! - The SIP config is a singleton: compared field by field, ranges and allowances as sets (an allowance's omitted
//!   `toUserPattern` is the API's default, `^agent_<agentId>$`, in any case of the UUID). Its fallback handler's
//!   secrets are returned whole by the API, so they are compared exactly, as a set: each secret signs the webhook's
//!   requests on its own (the receiver accepts a request signed by any one it knows), so their order means nothing.
//!   A file that leaves `secrets` out keeps the account's: they are not compared.
//! - Registrations are identified by `username` and `proxy` together: declared and absent is a create, present is
//!   compared field by field (`outboundProxy`, `authUser`), on the account and not declared is a delete. The password
//!   is write-only (no prefix at all): [`SecretStatus::WriteOnly`], never a change; `--rotate` sends it.
//!
//! Pure and free of I/O: statuses for secrets, never values.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{Action, FieldChange, PlanOptions, SecretStatus, Value};
use crate::sip::{self, Allowance, RegistrationKey};
use crate::state::{DesiredFallback, DesiredRegistration, DesiredSip, RemoteFallback, RemoteRegistration, RemoteSip};

/// The plan for the account's SIP config: an update, or no change (it is never created or deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SipPlan {
    /// `update` or `noChange`.
    pub action: Action,
    /// The account's SIP domain, where SIP trunks send calls (read-only: shown, never sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The fields that differ (`allowedCidrRanges`, `allowAllAgents`, `allowedAgents`, `fallbackHandler.url`) with
    /// before and after, and the status of the fallback handler's secrets (`fallbackHandler.secrets`).
    pub changes: Vec<FieldChange>,
}

impl SipPlan {
    /// The top-level fields of the `PATCH /api/sip` that carries the changes, in the schema's order; empty when
    /// nothing is to be sent.
    pub fn fields(&self) -> Vec<String> {
        if self.action != Action::Update {
            return Vec::new();
        }
        let sent = |field: &str| {
            self.changes.iter().any(|change| match change {
                FieldChange::Value { field: f, .. } => f == field || (field == sip::FALLBACK && f == sip::FALLBACK_URL),
                FieldChange::Secret { field: f, status } => {
                    field == sip::FALLBACK && f == sip::FALLBACK_SECRETS && { differs(*status) }
                }
            })
        };
        sip::CONFIG_FIELDS.iter().filter(|f| sent(f)).map(|f| f.to_string()).collect()
    }
}

/// The plan for one SIP registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationPlan {
    /// With `proxy`, what identifies the registration.
    pub username: String,
    pub proxy: String,
    /// `create`, `update`, `delete` or `noChange`.
    pub action: Action,
    /// Its ID on the account (the last part of its path); absent for one to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    /// Whether the API reports it active (absent until the API knows, and for one to create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful: Option<bool>,
    /// The fields that differ, with before and after (every field for a create or a delete), and the password's
    /// status.
    pub changes: Vec<FieldChange>,
}

impl RegistrationPlan {
    pub fn key(&self) -> RegistrationKey {
        RegistrationKey::new(self.username.clone(), self.proxy.clone())
    }

    /// The body's fields of the request that carries the plan: every field for a create (POST), the changed ones
    /// for an update (PATCH: `outboundProxy`, `authUser`, the password with `--rotate`), none for a delete.
    pub fn fields(&self) -> Vec<String> {
        match self.action {
            Action::Create => sip::REGISTRATION_FIELDS.iter().map(|f| f.to_string()).collect(),
            Action::Update => {
                let sent = |field: &str| {
                    self.changes.iter().any(|change| match change {
                        FieldChange::Value { field: f, .. } => f == field,
                        FieldChange::Secret { field: f, status } => f == field && differs(*status),
                    })
                };
                sip::REGISTRATION_FIELDS.iter().filter(|f| sent(f)).map(|f| f.to_string()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the API reports a registration that stays as not active.
    pub fn inactive(&self) -> bool {
        self.successful == Some(false) && matches!(self.action, Action::Update | Action::NoChange)
    }
}

/// Whether a secret's status means it is written (or removed).
fn differs(status: SecretStatus) -> bool {
    matches!(
        status,
        SecretStatus::Changed | SecretStatus::New | SecretStatus::RotationRequested | SecretStatus::Removed
    )
}

/// Whether a change is one a write carries.
fn is_change(change: &FieldChange) -> bool {
    match change {
        FieldChange::Value { .. } => true,
        FieldChange::Secret { status, .. } => differs(*status),
    }
}

fn value(field: &str, before: Option<Value>, after: Option<Value>) -> FieldChange {
    FieldChange::Value { field: field.to_string(), before, after }
}

fn secret(field: &str, status: SecretStatus) -> FieldChange {
    FieldChange::Secret { field: field.to_string(), status }
}

fn text(s: &Option<String>) -> Option<Value> {
    s.as_ref().map(|s| Value::Text(s.clone()))
}

fn shown(allowances: &[Allowance]) -> Value {
    Value::List(allowances.iter().map(Allowance::shown).collect())
}

/// Compares the SIP config the file wants with the account's.
pub fn compare_sip(desired: &DesiredSip, remote: &RemoteSip, options: PlanOptions) -> SipPlan {
    let mut changes = Vec::new();
    let set = |list: &[String]| list.iter().cloned().collect::<BTreeSet<String>>();
    if set(&desired.allowed_cidr_ranges) != set(&remote.allowed_cidr_ranges) {
        changes.push(value(
            sip::CIDR_RANGES,
            Some(Value::List(remote.allowed_cidr_ranges.clone())),
            Some(Value::List(desired.allowed_cidr_ranges.clone())),
        ));
    }
    if desired.allow_all_agents != remote.allow_all_agents {
        changes.push(value(
            sip::ALLOW_ALL_AGENTS,
            Some(Value::Bool(remote.allow_all_agents)),
            Some(Value::Bool(desired.allow_all_agents)),
        ));
    }
    let allowances = |list: &[Allowance]| list.iter().cloned().collect::<BTreeSet<Allowance>>();
    if allowances(&desired.allowed_agents) != allowances(&remote.allowed_agents) {
        changes.push(value(
            sip::ALLOWED_AGENTS,
            Some(shown(&remote.allowed_agents)),
            Some(shown(&desired.allowed_agents)),
        ));
    }
    changes.extend(fallback(desired.fallback.as_ref(), remote.fallback.as_ref(), options));
    let action = if changes.iter().any(is_change) { Action::Update } else { Action::NoChange };
    SipPlan { action, domain: remote.domain.clone(), changes }
}

/// The fallback handler's changes: its URL, and its secrets' status when the file declares them (or when the
/// account's are re-sent with a new URL).
fn fallback(
    desired: Option<&DesiredFallback>,
    remote: Option<&RemoteFallback>,
    options: PlanOptions,
) -> Vec<FieldChange> {
    let url = |f: &str| Some(Value::Text(f.to_string()));
    match (desired, remote) {
        (None, None) => Vec::new(),
        (Some(d), None) => {
            let mut changes = vec![value(sip::FALLBACK_URL, None, url(&d.url))];
            if d.secrets.is_some() {
                changes.push(secret(sip::FALLBACK_SECRETS, SecretStatus::New));
            }
            changes
        }
        (None, Some(r)) => {
            vec![value(sip::FALLBACK_URL, url(&r.url), None), secret(sip::FALLBACK_SECRETS, SecretStatus::Removed)]
        }
        (Some(d), Some(r)) => {
            let mut changes = Vec::new();
            let url_changed = d.url != r.url;
            if url_changed {
                changes.push(value(sip::FALLBACK_URL, url(&r.url), url(&d.url)));
            }
            match &d.secrets {
                Some(secrets) => {
                    let wanted: BTreeSet<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
                    let held: BTreeSet<&str> = r.secrets.iter().map(|s| s.expose()).collect();
                    let status = if options.rotate {
                        SecretStatus::RotationRequested
                    } else if wanted == held {
                        SecretStatus::Unchanged
                    } else {
                        SecretStatus::Changed
                    };
                    changes.push(secret(sip::FALLBACK_SECRETS, status));
                }
                // The account's own secrets, re-sent with the new URL: the API would generate a new one otherwise.
                None if url_changed => changes.push(secret(sip::FALLBACK_SECRETS, SecretStatus::Unchanged)),
                None => {}
            }
            changes
        }
    }
}

/// Compares the registrations the file lists with the account's: in file order, each declared one (created, or
/// compared with the account's of the same `username` and `proxy`), then each one the account has and the file does
/// not list (deleted), in the account's order. A second registration of the same identity on the account is one the
/// file does not list.
pub fn compare_registrations(
    desired: &[DesiredRegistration],
    remote: &[RemoteRegistration],
    options: PlanOptions,
) -> Vec<RegistrationPlan> {
    let mut matched = vec![false; remote.len()];
    let mut plans = Vec::new();
    for d in desired {
        let found = remote.iter().enumerate().find(|(i, r)| !matched[*i] && r.key == d.key);
        plans.push(match found {
            Some((i, r)) => {
                matched[i] = true;
                update_registration(d, r, options)
            }
            None => create_registration(d),
        });
    }
    for (r, _) in remote.iter().zip(&matched).filter(|(_, m)| !**m) {
        plans.push(delete_registration(r));
    }
    plans
}

fn create_registration(d: &DesiredRegistration) -> RegistrationPlan {
    let mut changes = vec![
        value(sip::USERNAME, None, Some(Value::Text(d.key.username.clone()))),
        value(sip::PROXY, None, Some(Value::Text(d.key.proxy.clone()))),
        secret(sip::PASSWORD, SecretStatus::New),
    ];
    for (field, v) in [(sip::OUTBOUND_PROXY, &d.outbound_proxy), (sip::AUTH_USER, &d.auth_user)] {
        if v.is_some() {
            changes.push(value(field, None, text(v)));
        }
    }
    RegistrationPlan {
        username: d.key.username.clone(),
        proxy: d.key.proxy.clone(),
        action: Action::Create,
        registration_id: None,
        successful: None,
        changes,
    }
}

fn update_registration(d: &DesiredRegistration, r: &RemoteRegistration, options: PlanOptions) -> RegistrationPlan {
    let status = if options.rotate { SecretStatus::RotationRequested } else { SecretStatus::WriteOnly };
    let mut changes = vec![secret(sip::PASSWORD, status)];
    changes.extend(field_changes(d, r));
    let action = if changes.iter().any(is_change) { Action::Update } else { Action::NoChange };
    RegistrationPlan {
        username: d.key.username.clone(),
        proxy: d.key.proxy.clone(),
        action,
        registration_id: Some(r.id.clone()),
        successful: r.successful,
        changes,
    }
}

/// The updatable fields of a registration the account has that differ from what the file wants.
pub fn differing_fields(d: &DesiredRegistration, r: &RemoteRegistration) -> Vec<String> {
    field_changes(d, r).into_iter().map(|c| c.field().to_string()).collect()
}

/// The updatable fields that differ.
fn field_changes(d: &DesiredRegistration, r: &RemoteRegistration) -> Vec<FieldChange> {
    [(sip::OUTBOUND_PROXY, &d.outbound_proxy, &r.outbound_proxy), (sip::AUTH_USER, &d.auth_user, &r.auth_user)]
        .into_iter()
        .filter(|(_, want, have)| want != have)
        .map(|(field, want, have)| value(field, text(have), text(want)))
        .collect()
}

fn delete_registration(r: &RemoteRegistration) -> RegistrationPlan {
    let mut changes = vec![
        value(sip::USERNAME, Some(Value::Text(r.key.username.clone())), None),
        value(sip::PROXY, Some(Value::Text(r.key.proxy.clone())), None),
    ];
    for (field, v) in [(sip::OUTBOUND_PROXY, &r.outbound_proxy), (sip::AUTH_USER, &r.auth_user)] {
        if v.is_some() {
            changes.push(value(field, text(v), None));
        }
    }
    changes.push(secret(sip::PASSWORD, SecretStatus::Removed));
    RegistrationPlan {
        username: r.key.username.clone(),
        proxy: r.key.proxy.clone(),
        action: Action::Delete,
        registration_id: Some(r.id.clone()),
        successful: r.successful,
        changes,
    }
}

/// What still differs between the SIP config the file wants and a write's answer (after a write, nothing should).
pub fn check_sip(desired: &DesiredSip, answer: &RemoteSip) -> Vec<String> {
    compare_sip(desired, answer, PlanOptions::default())
        .changes
        .iter()
        .filter(|c| is_change(c))
        .map(|c| match c {
            FieldChange::Secret { field, .. } => format!("sip.{field}: the answer holds other secrets than were sent"),
            FieldChange::Value { field, .. } => format!("sip.{field}: differs from what was sent"),
        })
        .collect()
}

/// What still differs between a registration the file wants and a write's answer.
pub fn check_registration(desired: &DesiredRegistration, answer: &RemoteRegistration) -> Vec<String> {
    let mut problems = Vec::new();
    if answer.key != desired.key {
        problems.push(format!("registration {}: the answer is for {}", desired.key, answer.key));
    }
    for change in field_changes(desired, answer) {
        problems.push(format!("registration {}.{}: differs from what was sent", desired.key, change.field()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RemoteSecret;
    use secrecy::SecretString;

    const A: &str = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    const B: &str = "11111111-2222-4333-8444-555555555555";

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values.iter().map(|v| SecretString::from(v.to_string())).collect()
    }

    fn remote_secrets(values: &[&str]) -> Vec<RemoteSecret> {
        secrets(values).into_iter().map(RemoteSecret::new).collect()
    }

    fn remote_sip() -> RemoteSip {
        RemoteSip {
            allowed_cidr_ranges: vec!["10.0.0.0/8".into(), "192.0.2.0/24".into()],
            allow_all_agents: false,
            allowed_agents: vec![
                Allowance::new(A, Some(&sip::default_pattern(&A.to_uppercase()))),
                Allowance::new(B, Some("^b$")),
            ],
            fallback: Some(RemoteFallback {
                url: "https://h.example.com/a".into(),
                secrets: remote_secrets(&["s1", "s2"]),
            }),
            domain: Some("acct.sip.example.com".into()),
        }
    }

    fn desired_sip() -> DesiredSip {
        DesiredSip {
            allowed_cidr_ranges: vec!["192.0.2.0/24".into(), "10.0.0.0/8".into()],
            allow_all_agents: false,
            allowed_agents: vec![Allowance::new(B, Some("^b$")), Allowance::new(A, None)],
            fallback: Some(DesiredFallback {
                url: "https://h.example.com/a".into(),
                secrets: Some(secrets(&["s2", "s1"])),
            }),
        }
    }

    fn fields(plan: &SipPlan) -> Vec<String> {
        plan.changes.iter().map(|c| c.field().to_string()).collect()
    }

    #[test]
    fn sets_and_the_default_pattern_compare_equal_whatever_the_order_and_case() {
        let plan = compare_sip(&desired_sip(), &remote_sip(), PlanOptions::default());
        assert_eq!(plan.action, Action::NoChange, "{plan:?}");
        assert_eq!(fields(&plan), ["fallbackHandler.secrets"], "the secrets' status is reported");
        assert!(plan.fields().is_empty());
        assert_eq!(plan.domain.as_deref(), Some("acct.sip.example.com"));
    }

    #[test]
    fn each_changed_field_is_reported_and_sent_alone() {
        let mut d = desired_sip();
        d.allowed_cidr_ranges.push("198.51.100.0/24".into());
        d.allowed_agents[1] = Allowance::new(A, Some("^a$"));
        let plan = compare_sip(&d, &remote_sip(), PlanOptions::default());
        assert_eq!(plan.action, Action::Update);
        assert_eq!(plan.fields(), ["allowedCidrRanges", "allowedAgents"]);
        let agents = plan.changes.iter().find(|c| c.field() == "allowedAgents").unwrap();
        assert_eq!(
            agents,
            &FieldChange::Value {
                field: "allowedAgents".into(),
                before: Some(Value::List(vec![A.into(), format!("{B} toUserPattern=^b$")])),
                after: Some(Value::List(vec![format!("{B} toUserPattern=^b$"), format!("{A} toUserPattern=^a$")])),
            }
        );
    }

    #[test]
    fn fallback_secrets_are_compared_exactly_and_kept_when_left_out() {
        let mut d = desired_sip();
        d.fallback = Some(DesiredFallback { url: "https://h.example.com/a".into(), secrets: Some(secrets(&["s1"])) });
        let plan = compare_sip(&d, &remote_sip(), PlanOptions::default());
        assert_eq!(plan.changes, [secret(sip::FALLBACK_SECRETS, SecretStatus::Changed)]);
        assert_eq!(plan.fields(), ["fallbackHandler"]);
        // Left out: not compared; with a new URL, the account's are re-sent with it.
        d.fallback = Some(DesiredFallback { url: "https://h.example.com/a".into(), secrets: None });
        assert_eq!(compare_sip(&d, &remote_sip(), PlanOptions::default()).action, Action::NoChange);
        d.fallback = Some(DesiredFallback { url: "https://h.example.com/b".into(), secrets: None });
        let plan = compare_sip(&d, &remote_sip(), PlanOptions::default());
        assert_eq!(fields(&plan), ["fallbackHandler.url", "fallbackHandler.secrets"]);
        assert_eq!(plan.changes[1], secret(sip::FALLBACK_SECRETS, SecretStatus::Unchanged));
        assert_eq!(plan.fields(), ["fallbackHandler"]);
        // --rotate sends declared secrets only.
        let rotated = compare_sip(&desired_sip(), &remote_sip(), PlanOptions { rotate: true });
        assert_eq!(rotated.fields(), ["fallbackHandler"]);
        let mut none = desired_sip();
        none.fallback = None;
        let plan = compare_sip(&none, &remote_sip(), PlanOptions::default());
        assert_eq!(plan.changes[1], secret(sip::FALLBACK_SECRETS, SecretStatus::Removed));
        assert_eq!(plan.fields(), ["fallbackHandler"]);
    }

    fn registration(user: &str, outbound: Option<&str>) -> DesiredRegistration {
        DesiredRegistration {
            key: RegistrationKey::new(user, "trunk.example.com"),
            password: SecretString::from("pw-123456".to_string()),
            outbound_proxy: outbound.map(str::to_string),
            auth_user: None,
        }
    }

    fn remote_registration(id: &str, user: &str, outbound: Option<&str>) -> RemoteRegistration {
        RemoteRegistration {
            id: id.into(),
            key: RegistrationKey::new(user, "trunk.example.com"),
            outbound_proxy: outbound.map(str::to_string),
            auth_user: None,
            successful: Some(false),
        }
    }

    #[test]
    fn registrations_are_created_updated_and_deleted_by_identity() {
        let desired = [registration("carol", None), registration("alice", Some("proxy.example.com"))];
        let remote = [
            remote_registration("r1", "alice", None),
            remote_registration("r2", "bob", None),
            remote_registration("r3", "alice", None),
        ];
        let plans = compare_registrations(&desired, &remote, PlanOptions::default());
        let shown: Vec<(String, Action, Vec<String>)> =
            plans.iter().map(|p| (p.key().to_string(), p.action, p.fields())).collect();
        assert_eq!(
            shown,
            [
                ("carol@trunk.example.com".into(), Action::Create, sip::REGISTRATION_FIELDS.map(String::from).to_vec()),
                ("alice@trunk.example.com".into(), Action::Update, vec!["outboundProxy".to_string()]),
                ("bob@trunk.example.com".into(), Action::Delete, vec![]),
                ("alice@trunk.example.com".into(), Action::Delete, vec![]),
            ]
        );
        assert_eq!(plans[1].registration_id.as_deref(), Some("r1"));
        assert!(plans[1].inactive() && !plans[2].inactive(), "a deleted registration is not warned about");
    }

    #[test]
    fn a_password_is_never_a_change_and_rotate_sends_it_alone() {
        let desired = [registration("alice", None)];
        let remote = [remote_registration("r1", "alice", None)];
        let plan = &compare_registrations(&desired, &remote, PlanOptions::default())[0];
        assert_eq!(plan.action, Action::NoChange);
        assert_eq!(plan.changes, [secret(sip::PASSWORD, SecretStatus::WriteOnly)]);
        let rotated = &compare_registrations(&desired, &remote, PlanOptions { rotate: true })[0];
        assert_eq!(rotated.action, Action::Update);
        assert_eq!(rotated.fields(), ["password"]);
    }

    #[test]
    fn a_write_that_did_not_land_is_named() {
        let mut answer = remote_sip();
        assert!(check_sip(&desired_sip(), &answer).is_empty());
        answer.allow_all_agents = true;
        answer.fallback = None;
        assert_eq!(
            check_sip(&desired_sip(), &answer),
            [
                "sip.allowAllAgents: differs from what was sent",
                "sip.fallbackHandler.url: differs from what was sent",
                "sip.fallbackHandler.secrets: the answer holds other secrets than were sent"
            ]
        );
        let wanted = registration("alice", Some("p"));
        assert_eq!(
            check_registration(&wanted, &remote_registration("r", "alice", None)),
            ["registration alice@trunk.example.com.outboundProxy: differs from what was sent"]
        );
    }
}
