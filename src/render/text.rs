//! The plan as text, in the spirit of `terraform plan`: `+` create, `~` update, `-` delete, before and after for
//! every changed non-secret field, a status for every secret, unmanaged providers listed, and a summary line. It
//! reads the same without colour.

use std::collections::BTreeSet;

use crate::diff::{Action, FieldChange, Plan, ProviderPlan, SecretStatus, Value};
use crate::endpoints::{self, PlannedRequest};
use crate::render::Palette;

/// Renders a plan. `file` is the declaring file's name, for the summary.
pub fn render(plan: &Plan, file: &str, p: Palette) -> String {
    let plan = &*super::with_agent_names(plan);
    let mut out = String::new();
    for provider in plan.providers.iter().filter(|pp| pp.action.writes()) {
        out.push_str(&provider_block(provider, &plan.requests, p));
        out.push('\n');
    }
    if !plan.requests.is_empty() {
        out.push_str(&requests(&plan.requests, p));
        out.push('\n');
    }
    for provider in &plan.providers {
        if let Some(line) = quiet_line(provider, p) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if plan.providers.iter().any(|pp| !pp.action.writes()) {
        out.push('\n');
    }
    let unverifiable = plan.unverifiable();
    if !unverifiable.is_empty() {
        out.push_str(&format!(
            "{} the API returned no prefix for {}, so whether the file's value matches cannot be verified; \
             such a secret is sent only with --rotate{}.\n\n",
            p.warning("Note:"),
            unverifiable.join(", "),
            if endpoints::whole_blocks(&plan.requests) {
                ", or with its provider's block when another field of that provider changes"
            } else {
                ""
            }
        ));
    }
    out.push_str(&summary(plan, file, p));
    out.push('\n');
    out
}

/// Whether the requests write complete blocks (the account-level PATCH); also true before a family is chosen.
/// The requests apply will send, in order: method, path and field names, never values.
fn requests(requests: &[PlannedRequest], p: Palette) -> String {
    let mut out = format!("{}\n", p.bold("Apply will send:"));
    for (i, r) in requests.iter().enumerate() {
        let fields = if r.fields.is_empty() { String::new() } else { format!(" ({})", r.fields.join(", ")) };
        out.push_str(&format!("  {}. {} {}{fields}\n", i + 1, r.method.as_str(), r.path));
    }
    out
}

/// The closing line: counts, or "No changes".
pub fn summary(plan: &Plan, file: &str, p: Palette) -> String {
    let c = plan.counts();
    if c.total() == 0 {
        return format!("{} The account matches {file}.", p.bold("No changes."));
    }
    format!(
        "{} {} to create, {} to update, {} to delete.",
        p.bold("Plan:"),
        p.create(&c.create.to_string()),
        p.update(&c.update.to_string()),
        p.delete(&c.delete.to_string())
    )
}

fn quiet_line(pp: &ProviderPlan, p: Palette) -> Option<String> {
    let name = pp.provider.key();
    let text = match pp.action {
        Action::NoChange => {
            let unverifiable: Vec<&str> = pp.unverifiable_secrets().collect();
            if unverifiable.is_empty() {
                format!("  {name}: no changes")
            } else {
                format!(
                    "  {name}: no changes; {}: (secret) unverifiable: no prefix from the API; not sent",
                    unverifiable.join(", ")
                )
            }
        }
        Action::AlreadyAbsent => format!("  {name}: absent, as declared (null)"),
        Action::Unmanaged if pp.remote_present => {
            format!("  {name}: not managed (absent from the file); configured on the account, left as it is")
        }
        Action::Unmanaged => format!("  {name}: not managed (absent from the file); not configured on the account"),
        _ => return None,
    };
    Some(p.dim(&text))
}

fn provider_block(pp: &ProviderPlan, requests: &[PlannedRequest], p: Palette) -> String {
    let name = pp.provider.key();
    let header = match pp.action {
        Action::Create => format!("{} {} will be created", p.create("+"), p.bold(name)),
        Action::Update => format!("{} {} will be updated", p.update("~"), p.bold(name)),
        Action::Delete => format!("{} {} will be deleted", p.delete("-"), p.bold(name)),
        _ => unreachable_header(name),
    };
    let width = pp.changes.iter().map(|c| c.field().len()).max().unwrap_or(0) + 1;
    let mut out = header;
    out.push('\n');
    for change in &pp.changes {
        let sent = endpoints::whole_blocks(requests) || endpoints::sends(requests, pp.provider, change.field());
        out.push_str(&field_line(pp.action, change, sent, width, p));
    }
    out
}

fn unreachable_header(name: &str) -> String {
    format!("  {name}")
}

fn field_line(action: Action, change: &FieldChange, sent: bool, width: usize, p: Palette) -> String {
    let label = format!("{:<width$}", format!("{}:", change.field()));
    match change {
        FieldChange::Secret { status, .. } => {
            let (mark, text) = secret_text(action, *status, sent, p);
            format!("    {mark} {label} {}\n", text)
        }
        FieldChange::Value { before, after, .. } => match (before, after) {
            (Some(Value::List(b)), Some(Value::List(a))) => list_change(&label, b, a, p),
            (None, Some(a)) => format!("    {} {label} {}\n", p.create("+"), show(a)),
            (Some(b), None) => format!("    {} {label} {}\n", p.delete("-"), show(b)),
            (Some(b), Some(a)) => format!("    {} {label} {} -> {}\n", p.update("~"), show(b), show(a)),
            (None, None) => String::new(),
        },
    }
}

/// A secret row. `sent`: whether the write carries this secret (a whole block does; a provider-scoped PATCH only when
/// it changed or is rotated).
fn secret_text(action: Action, status: SecretStatus, sent: bool, p: Palette) -> (String, String) {
    match status {
        SecretStatus::Unchanged if action == Action::Update && sent => {
            (" ".into(), "(secret) unchanged; re-sent, since the write carries the whole block".into())
        }
        SecretStatus::Unchanged if action == Action::Update => (" ".into(), "(secret) unchanged (not sent)".into()),
        SecretStatus::Unchanged => (" ".into(), "(secret) unchanged".into()),
        SecretStatus::Changed => (p.update("~"), "(secret) changed; will be sent".into()),
        SecretStatus::New => (p.create("+"), "(secret) will be sent".into()),
        SecretStatus::RotationRequested => (p.update("~"), "(secret) rotation requested; will be sent".into()),
        SecretStatus::Unverifiable if action == Action::Update && sent => {
            (p.warning("?"), "(secret) unverifiable: no prefix from the API; re-sent with the block".into())
        }
        SecretStatus::Unverifiable => {
            (p.warning("?"), "(secret) unverifiable: no prefix from the API; not sent".into())
        }
        SecretStatus::Removed => (p.delete("-"), "(secret) will be removed".into()),
    }
}

fn list_change(label: &str, before: &[String], after: &[String], p: Palette) -> String {
    let b: BTreeSet<&String> = before.iter().collect();
    let a: BTreeSet<&String> = after.iter().collect();
    let mut out = format!("    {} {label}\n", p.update("~"));
    for added in a.difference(&b) {
        out.push_str(&format!("        {} {}\n", p.create("+"), super::printable(added)));
    }
    for removed in b.difference(&a) {
        out.push_str(&format!("        {} {}\n", p.delete("-"), super::printable(removed)));
    }
    out
}

/// A value as shown in a plan: strings quoted (so blanks and look-alikes are visible), lists and maps inline.
pub fn show(value: &Value) -> String {
    match value {
        Value::Text(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::List(items) if items.is_empty() => "[]".into(),
        Value::List(items) => format!("[{}]", items.iter().map(|i| super::printable(i)).collect::<Vec<_>>().join(", ")),
        Value::Map(map) if map.is_empty() => "{}".into(),
        Value::Map(map) => {
            format!(
                "{{{}}}",
                map.iter().map(|(k, v)| format!("{}: {}", quote(k), quote(v))).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

fn quote(s: &str) -> String {
    // Quotes and backslashes escaped as in JSON; every control or invisible character as `\u{...}`.
    // Scrubbed before escaping: an escape inside a secret would hide it from the output path's scrubber.
    let s = crate::redact::scrub(s);
    format!("\"{}\"", super::printable(&s.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{self, PlanOptions};
    use crate::provider::Provider;
    use crate::state::{Desired, DesiredProvider, DesiredState, RemotePrefix, RemoteProvider, RemoteState, Settings};
    use secrecy::SecretString;

    fn desired_twilio() -> DesiredProvider {
        DesiredProvider {
            provider: Provider::Twilio,
            identifiers: vec![("accountSid", "AC-new".into())],
            secrets: vec![("authToken", SecretString::from("tok-new".to_string()))],
            settings: Settings {
                allowed_agent_ids: vec!["3c90c3cc-0d44-4b50-8888-8dd25736052a".into()],
                allow_all_agents: false,
                request_context_mapping: [("From".to_string(), "user.phone_number".to_string())].into(),
            },
        }
    }

    fn desired_telnyx() -> DesiredProvider {
        DesiredProvider {
            provider: Provider::Telnyx,
            identifiers: vec![("accountSid", "acct".into()), ("applicationSid", "123".into())],
            secrets: vec![
                ("apiKey", SecretString::from("KEY-new".to_string())),
                ("publicKey", SecretString::from("pub-same".to_string())),
            ],
            settings: Settings { allow_all_agents: true, ..Settings::default() },
        }
    }

    fn remote_twilio() -> RemoteProvider {
        RemoteProvider {
            provider: Provider::Twilio,
            identifiers: [("accountSid".to_string(), "AC-old".to_string())].into(),
            prefixes: [("authToken".to_string(), Some(RemotePrefix::new("old".into())))].into(),
            settings: Settings {
                allowed_agent_ids: vec!["9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6".into()],
                allow_all_agents: false,
                request_context_mapping: Default::default(),
            },
        }
    }

    fn remote_plivo() -> RemoteProvider {
        RemoteProvider {
            provider: Provider::Plivo,
            identifiers: [("authId".to_string(), "MA1".to_string())].into(),
            prefixes: [("authToken".to_string(), Some(RemotePrefix::new("pl".into())))].into(),
            settings: Settings::default(),
        }
    }

    fn render(desired: [Desired; 3], remote: [Option<RemoteProvider>; 3], rotate: bool) -> String {
        let plan = diff::plan(
            &DesiredState { providers: desired },
            &RemoteState { providers: remote },
            PlanOptions { rotate },
        );
        super::render(&plan, "telephony.yaml", Palette::plain())
    }

    #[test]
    fn snapshot_create_update_delete() {
        let text = render(
            [Desired::Present(desired_twilio()), Desired::Present(desired_telnyx()), Desired::Absent],
            [Some(remote_twilio()), None, Some(remote_plivo())],
            false,
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn snapshot_no_changes_with_unmanaged_and_absent() {
        let mut remote = remote_twilio();
        remote.identifiers.insert("accountSid".into(), "AC-new".into());
        remote.prefixes.insert("authToken".into(), Some(RemotePrefix::new("tok-".into())));
        remote.settings = desired_twilio().settings;
        let text = render(
            [Desired::Present(desired_twilio()), Desired::Absent, Desired::Unmanaged],
            [Some(remote), None, Some(remote_plivo())],
            false,
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn snapshot_rotation_and_unverifiable() {
        let mut remote = remote_twilio();
        remote.prefixes.insert("authToken".into(), None);
        let with_rotate = render(
            [Desired::Present(desired_twilio()), Desired::Unmanaged, Desired::Unmanaged],
            [Some(remote.clone()), None, None],
            true,
        );
        insta::assert_snapshot!("rotation", with_rotate);
        remote.identifiers.insert("accountSid".into(), "AC-new".into());
        remote.settings = desired_twilio().settings;
        let unverifiable = render(
            [Desired::Present(desired_twilio()), Desired::Unmanaged, Desired::Unmanaged],
            [Some(remote), None, None],
            false,
        );
        insta::assert_snapshot!("unverifiable", unverifiable);
    }

    #[test]
    fn values_cannot_rewrite_the_terminal_line() {
        assert_eq!(show(&Value::Text("a\u{202e}b\u{1b}[2J\"\\".into())), "\"a\\u{202e}b\\u{001b}[2J\\\"\\\\\"");
        assert_eq!(show(&Value::List(vec!["x\ny".into()])), "[x\\u{000a}y]");
    }

    #[test]
    fn colour_is_only_added_when_enabled() {
        let plan = diff::plan(
            &DesiredState { providers: [Desired::Present(desired_twilio()), Desired::Unmanaged, Desired::Unmanaged] },
            &RemoteState::default(),
            PlanOptions::default(),
        );
        let plain = super::render(&plan, "f", Palette::plain());
        let coloured = super::render(&plan, "f", Palette { enabled: true });
        assert!(!plain.contains('\u{1b}'));
        assert!(coloured.contains('\u{1b}'));
        let stripped: String = {
            let mut out = String::new();
            let mut in_escape = false;
            for c in coloured.chars() {
                match (in_escape, c) {
                    (false, '\u{1b}') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        };
        assert_eq!(stripped, plain, "colour changes nothing but colour");
    }
}
