//! The drift fingerprint: a stable digest of what a plan finds different, for CI to tell one drift from another
//! (`driftFingerprint` in `plan --format json`).
//!
//! Pure: a function of a plan's findings only. What goes in is, per provider (or SIP config, or SIP registration, by
//! its username and proxy as shown: a part holding a secret of the run masked) that a write would touch, its name,
//! its action, and each reported field with the kind of its change (`set`, `unset`, `changed` for a non-secret
//! field; the status for a secret: `changed`, `new`, `rotationRequested`, `removed`). Never a value, a prefix, a
//! secret's status that changes nothing (`unchanged`, `unverifiable`), the endpoint family or the requests: the same
//! differences give the same fingerprint on every run and through every family, other differences another. A plan
//! with nothing to change has none.
//!
//! The digest is SHA-256 over a canonical text (one sorted line per finding, under a version line), as 64 lowercase
//! hexadecimal characters. It hides nothing and needs to hide nothing: what goes in holds only field names and kinds,
//! which the plan shows anyway.

use sha2::{Digest, Sha256};

use crate::diff::{Action, FieldChange, SecretStatus};
use crate::plan::Plan;

/// The first line of the canonical text; changed only if what goes in changes.
const VERSION_LINE: &str = "reconcile drift fingerprint v1";

/// One finding: `subject action field kind` (the subject's own line has the field `-`). The subject is a provider,
/// `sip`, or `registration USERNAME@PROXY`.
fn findings(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    let providers = plan.written().map(|p| (p.provider.key().to_string(), p.action, &p.changes));
    let sip = plan.sip().map(|s| (crate::sip::SIP.to_string(), s.action, &s.changes));
    let registrations = plan
        .registrations()
        .unwrap_or_default()
        .iter()
        .map(|r| (format!("registration {}", r.key()), r.action, &r.changes));
    for (key, action, changes) in providers.chain(sip).chain(registrations) {
        let action = match action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoChange | Action::AlreadyAbsent | Action::Unmanaged => continue,
        };
        lines.push(format!("{key} {action} -"));
        for change in changes {
            let kind = match change {
                FieldChange::Value { before: None, after: Some(_), .. } => "set",
                FieldChange::Value { before: Some(_), after: None, .. } => "unset",
                FieldChange::Value { .. } => "changed",
                FieldChange::Secret { status, .. } => match status {
                    SecretStatus::Unchanged | SecretStatus::Unverifiable | SecretStatus::WriteOnly => continue,
                    SecretStatus::Changed => "changed",
                    SecretStatus::New => "new",
                    SecretStatus::RotationRequested => "rotationRequested",
                    SecretStatus::Removed => "removed",
                },
            };
            lines.push(format!("{key} {action} {} {kind}", change.field()));
        }
    }
    lines.sort();
    lines.dedup();
    lines
}

fn digest(lines: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(VERSION_LINE.as_bytes());
    hasher.update(b"\n");
    for line in lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of one plan's drift; `None` when applying would send nothing.
pub fn fingerprint(plan: &Plan) -> Option<String> {
    let findings = findings(plan);
    if findings.is_empty() {
        return None;
    }
    Some(digest(&findings))
}

/// The fingerprint over several files: each file with drift by its name and its own fingerprint, in the order
/// given (file order). `None` when no file has drift. A file that failed has no plan, so no drift, and is left out.
pub fn overall<'a>(files: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Option<String> {
    let lines: Vec<String> =
        files.into_iter().filter_map(|(file, print)| print.map(|print| format!("file {file} {print}"))).collect();
    if lines.is_empty() {
        return None;
    }
    Some(digest(&lines))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::diff::{ProviderPlan, Value};
    use crate::provider::Provider;

    fn plan(providers: Vec<ProviderPlan>) -> Plan {
        Plan::shown(crate::endpoints::Family::Auto, providers, Vec::new(), BTreeMap::new())
    }

    fn update(changes: Vec<FieldChange>) -> ProviderPlan {
        ProviderPlan { provider: Provider::Twilio, action: Action::Update, remote_present: true, changes }
    }

    fn agents(before: &[&str], after: &[&str]) -> FieldChange {
        let list = |ids: &[&str]| Some(Value::List(ids.iter().map(|s| s.to_string()).collect()));
        FieldChange::Value { field: "callCreationAllowedAgentIds".into(), before: list(before), after: list(after) }
    }

    fn secret(status: SecretStatus) -> FieldChange {
        FieldChange::Secret { field: "authToken".into(), status }
    }

    #[test]
    fn no_changes_no_fingerprint() {
        let unchanged = ProviderPlan {
            provider: Provider::Twilio,
            action: Action::NoChange,
            remote_present: true,
            changes: vec![secret(SecretStatus::Unverifiable)],
        };
        assert_eq!(fingerprint(&plan(vec![unchanged])), None);
        assert_eq!(fingerprint(&plan(vec![])), None);
    }

    #[test]
    fn the_same_drift_gives_the_same_fingerprint_whatever_the_values() {
        let a = fingerprint(&plan(vec![update(vec![agents(&["a"], &["b"]), secret(SecretStatus::Unchanged)])]));
        let b = fingerprint(&plan(vec![update(vec![secret(SecretStatus::Unchanged), agents(&["x", "y"], &["z"])])]));
        assert!(a.is_some());
        assert_eq!(a, b);
        let print = a.unwrap();
        assert_eq!(print.len(), 64);
        assert!(print.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn other_drift_gives_another_fingerprint() {
        let base = fingerprint(&plan(vec![update(vec![agents(&["a"], &["b"])])]));
        let with_secret = fingerprint(&plan(vec![update(vec![agents(&["a"], &["b"]), secret(SecretStatus::Changed)])]));
        let rotated =
            fingerprint(&plan(vec![update(vec![agents(&["a"], &["b"]), secret(SecretStatus::RotationRequested)])]));
        let other_provider = fingerprint(&plan(vec![ProviderPlan {
            provider: Provider::Plivo,
            ..update(vec![agents(&["a"], &["b"])])
        }]));
        let deleted = fingerprint(&plan(vec![ProviderPlan {
            action: Action::Delete,
            ..update(vec![FieldChange::Value {
                field: "accountSid".into(),
                before: Some(Value::Text("AC1".into())),
                after: None,
            }])
        }]));
        let all = [base, with_secret, rotated, other_provider, deleted];
        for (i, a) in all.iter().enumerate() {
            assert!(a.is_some());
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn overall_names_the_files_and_skips_those_without_drift() {
        let one = overall([("prod/telephony.yaml", Some("aa")), ("staging/telephony.yaml", None)]);
        assert_eq!(one, overall([("prod/telephony.yaml", Some("aa"))]));
        assert_ne!(one, overall([("staging/telephony.yaml", Some("aa"))]));
        assert_ne!(one, overall([("prod/telephony.yaml", Some("bb"))]));
        assert_eq!(overall([("prod/telephony.yaml", None)]), None);
    }
}
