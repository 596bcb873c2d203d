//! The plan as text, in the spirit of `terraform plan`: `+` create, `~` update, `-` delete, before and after for
//! every changed non-secret field, a status for every secret, unmanaged providers listed, and a summary line. It
//! reads the same without colour. What each line says comes from the plan's [`View`]; this module lays it out.

use crate::diff::{Action, Value};
use crate::plan::{Plan, Request};
use crate::render::Palette;
use crate::render::view::{Mark, Note, ProviderView, Row, Style, View, counts_phrase, will_be};

/// Renders a plan. `file` is the declaring file's name, for the summary.
pub fn render(plan: &Plan, file: &str, p: Palette) -> String {
    let view = View::new(plan, file);
    let mut out = String::new();
    for provider in &view.changed {
        out.push_str(&provider_block(provider, p));
        out.push('\n');
    }
    if !view.requests().is_empty() {
        out.push_str(&requests(view.requests(), p));
        out.push('\n');
    }
    for quiet in &view.quiet {
        out.push_str(&p.dim(&format!("  {}: {}", quiet.subject, quiet.words(Style::Text))));
        out.push('\n');
    }
    if !view.quiet.is_empty() {
        out.push('\n');
    }
    for note in &view.notes {
        out.push_str(&format!("{} {}\n\n", note_label(note, p), note.words(Style::Text)));
    }
    out.push_str(&summary(&view, p));
    out.push('\n');
    out
}

fn note_label(note: &Note, p: Palette) -> String {
    p.warning(note.label())
}

/// The requests apply will send, in order: method, path and field names, never values.
fn requests(requests: &[Request], p: Palette) -> String {
    let mut out = format!("{}\n", p.bold("Apply will send:"));
    for (i, r) in requests.iter().enumerate() {
        let fields = if r.fields.is_empty() { String::new() } else { format!(" ({})", r.fields.join(", ")) };
        out.push_str(&format!("  {}. {} {}{fields}\n", i + 1, r.method.as_str(), r.path()));
    }
    out
}

/// The closing line: counts, or "No changes".
fn summary(view: &View<'_>, p: Palette) -> String {
    let c = view.counts();
    if c.total() == 0 {
        return format!("{} {}", p.bold("No changes."), view.matches_sentence(Style::Text));
    }
    let paint = |action: Action, n: String| paint(p, action_mark(action), &n);
    format!("{} {}.", p.bold("Plan:"), counts_phrase(c, &paint))
}

fn action_mark(action: Action) -> Mark {
    match action {
        Action::Create => Mark::Create,
        Action::Update => Mark::Update,
        _ => Mark::Delete,
    }
}

/// Text in the colour of its mark.
fn paint(p: Palette, mark: Mark, text: &str) -> String {
    match mark {
        Mark::None => text.to_string(),
        Mark::Create => p.create(text),
        Mark::Update => p.update(text),
        Mark::Delete => p.delete(text),
        Mark::Warning => p.warning(text),
    }
}

fn provider_block(pv: &ProviderView, p: Palette) -> String {
    let sign = match pv.action {
        Action::Create => "+",
        Action::Update => "~",
        _ => "-",
    };
    let mark = action_mark(pv.action);
    let mut out =
        format!("{} {} will be {}", paint(p, mark, sign), p.bold(&pv.subject.to_string()), will_be(pv.action));
    if let Some(detail) = pv.detail(Style::Text) {
        out.push_str(&format!(" {detail}"));
    }
    out.push('\n');
    let width = pv.rows.iter().map(|r| r.field().len()).max().unwrap_or(0) + 1;
    for row in &pv.rows {
        out.push_str(&row_line(row, width, p));
    }
    out
}

fn row_line(row: &Row, width: usize, p: Palette) -> String {
    let label = format!("{:<width$}", format!("{}:", row.field()));
    match row {
        Row::Secret { shown, .. } => {
            let mark = match shown.mark() {
                Mark::None => " ".to_string(),
                Mark::Create => p.create("+"),
                Mark::Update => p.update("~"),
                Mark::Delete => p.delete("-"),
                Mark::Warning => p.warning("?"),
            };
            format!("    {mark} {label} {}\n", shown.words(Style::Text))
        }
        Row::Value { before, after, .. } => match (before, after) {
            (Some(Value::List(b)), Some(Value::List(a))) => list_change(label.trim_end(), b, a, p),
            (None, Some(a)) => format!("    {} {label} {}\n", p.create("+"), show(a)),
            (Some(b), None) => format!("    {} {label} {}\n", p.delete("-"), show(b)),
            (Some(b), Some(a)) => format!("    {} {label} {} -> {}\n", p.update("~"), show(b), show(a)),
            (None, None) => String::new(),
        },
    }
}

fn list_change(label: &str, before: &[String], after: &[String], p: Palette) -> String {
    let (added, removed) = super::added_and_removed(before, after);
    let mut out = format!("    {} {label}\n", p.update("~"));
    for added in added {
        out.push_str(&format!("        {} {}\n", p.create("+"), super::printable(added)));
    }
    for removed in removed {
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

/// A string as a plan shows it: quoted, quotes and backslashes escaped as in JSON, every control or invisible
/// character as `\u{...}`; a mask ([`crate::redact::HIDDEN`]) as it is, unquoted, so that it never reads as a value.
fn quote(s: &str) -> String {
    if crate::redact::is_mask(s) {
        return s.to_string();
    }
    format!("\"{}\"", super::printable(&s.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::PlanOptions;
    use crate::endpoints::Family;
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

    /// The plan through `family`, as text.
    fn render_through(
        family: Family,
        desired: [Desired; 3],
        remote: [Option<RemoteProvider>; 3],
        rotate: bool,
    ) -> String {
        let plan = Plan::new(
            &DesiredState { providers: desired, ..Default::default() },
            &RemoteState { providers: remote, ..Default::default() },
            family,
            PlanOptions { rotate },
        );
        super::render(&plan, "telephony.yaml", Palette::plain())
    }

    /// The plan through the default family, `auto`, as text.
    fn render(desired: [Desired; 3], remote: [Option<RemoteProvider>; 3], rotate: bool) -> String {
        render_through(Family::Auto, desired, remote, rotate)
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
        let through = |family| {
            render_through(
                family,
                [Desired::Present(desired_twilio()), Desired::Unmanaged, Desired::Unmanaged],
                [Some(remote.clone()), None, None],
                false,
            )
        };
        // Nothing is ever sent as a block through the provider endpoints: only --rotate sends the secret.
        insta::assert_snapshot!("unverifiable", through(Family::Auto));
        assert_eq!(through(Family::Provider), through(Family::Auto));
        // The account-level PATCH carries whole blocks: another change to the provider sends it too.
        insta::assert_snapshot!("unverifiable_account", through(Family::Account));
    }

    #[test]
    fn an_unchanged_or_unverifiable_secret_is_re_sent_only_with_a_whole_block() {
        let mut remote = remote_twilio();
        remote.prefixes.insert("authToken".into(), None);
        let mut desired = desired_twilio();
        desired.identifiers[0].1 = "AC-old".into();
        desired.settings = remote.settings.clone();
        desired.settings.allow_all_agents = true;
        let through = |family, remote: &RemoteProvider| {
            render_through(
                family,
                [Desired::Present(desired.clone()), Desired::Unmanaged, Desired::Unmanaged],
                [Some(remote.clone()), None, None],
                false,
            )
        };
        let account = through(Family::Account, &remote);
        assert!(
            account.contains(
                "? authToken:                  (secret) unverifiable: no prefix from the API; re-sent with the block"
            ),
            "{account}"
        );
        assert!(account.contains("1. PATCH /api/accounts/me/telephony_config (twilio)"), "{account}");
        for family in [Family::Auto, Family::Provider] {
            let text = through(family, &remote);
            assert!(
                text.contains("? authToken:                  (secret) unverifiable: no prefix from the API; not sent"),
                "{text}"
            );
            assert!(text.contains("1. PATCH /api/telephony_configs/twilio (callCreationAllowAllAgents)"), "{text}");
            assert!(text.contains("such a secret is sent only with --rotate.\n"), "{text}");
        }
        remote.prefixes.insert("authToken".into(), Some(RemotePrefix::new("tok".into())));
        let account = through(Family::Account, &remote);
        assert!(account.contains("(secret) unchanged; re-sent, since the write carries the whole block"), "{account}");
        assert!(through(Family::Provider, &remote).contains("(secret) unchanged (not sent)"));
    }

    #[test]
    fn values_cannot_rewrite_the_terminal_line() {
        assert_eq!(show(&Value::Text("a\u{202e}b\u{1b}[2J\"\\".into())), "\"a\\u{202e}b\\u{001b}[2J\\\"\\\\\"");
        assert_eq!(show(&Value::List(vec!["x\ny".into()])), "[x\\u{000a}y]");
    }

    #[test]
    fn colour_is_only_added_when_enabled() {
        let plan = Plan::new(
            &DesiredState {
                providers: [Desired::Present(desired_twilio()), Desired::Unmanaged, Desired::Unmanaged],
                ..Default::default()
            },
            &RemoteState::default(),
            Family::Account,
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
