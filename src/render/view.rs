//! One view of a plan, which text, Markdown and JSON all render from: what each provider's rows say, the providers
//! left alone, the notes, the counts, and every sentence about a plan, each written once (in its text and its
//! Markdown wording, side by side).
//!
//! What a row says depends on what the plan sends ([`Plan::sends`]) and on its family ([`Plan::writes_whole_blocks`]),
//! decided here and nowhere else. The SIP config and registrations are sections like the providers' (their
//! [`Subject`] says which), after them. The layouts ([`super::text`], [`super::markdown`], [`super::json`]) only arrange,
//! colour and escape what the view gives them.

use crate::diff::{Action, FieldChange, SecretStatus, Value};
use crate::plan::{Counts, Plan, Request, Subject};
use crate::provider;
use crate::sip::{self, RegistrationKey};

/// How a sentence is written: for a terminal or a log (also JSON's messages), or for a Markdown comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Text,
    Markdown,
}

impl Style {
    /// A name or path as it stands in a sentence: as is in text, in `<code>` (escaped) in Markdown.
    pub fn code(self, s: &str) -> String {
        match self {
            Style::Text => s.to_string(),
            Style::Markdown => format!("<code>{}</code>", esc(s)),
        }
    }
}

/// The mark before a row or a header: what happens to it, shown in its colour on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    None,
    Create,
    Update,
    Delete,
    Warning,
}

/// A plan as every format shows it.
pub struct View<'a> {
    pub plan: &'a Plan,
    /// The declaration file, as given.
    pub file: &'a str,
    /// What a write changes, in order: the providers, the SIP config, the registrations.
    pub changed: Vec<ProviderView>,
    /// What no write touches, in the same order.
    pub quiet: Vec<Quiet>,
    pub notes: Vec<Note>,
    /// The plan's requests as shown.
    requests: Vec<Request>,
}

/// A provider (or the SIP config, or a registration) a write changes: its rows, values labelled with agent names.
pub struct ProviderView {
    pub subject: Subject,
    pub action: Action,
    pub rows: Vec<Row>,
    /// What the header adds after "will be ...": the SIP config's domain, read-only.
    pub detail: Option<String>,
}

impl ProviderView {
    /// The header's addition, in a style: `(domain acct.sip.ultravox.ai)`.
    pub fn detail(&self, style: Style) -> Option<String> {
        self.detail.as_ref().map(|domain| format!("(domain {}, read-only)", style.code(domain)))
    }
}

/// One field of a changed provider.
pub enum Row {
    /// A secret: what happens to it, never its value.
    Secret { field: String, shown: SecretShown },
    /// A non-secret field, before and after (`None`: not set on that side).
    Value { field: String, before: Option<Value>, after: Option<Value> },
}

impl Row {
    pub fn field(&self) -> &str {
        match self {
            Row::Secret { field, .. } | Row::Value { field, .. } => field,
        }
    }
}

/// What a secret row says: its status, and whether the write carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretShown {
    /// Unchanged, and re-sent because the write carries the whole block (the account-level PATCH).
    UnchangedResent,
    /// Unchanged, in an update that leaves it out.
    UnchangedNotSent,
    /// Unchanged, where nothing is written.
    Unchanged,
    Changed,
    New,
    RotationRequested,
    /// No prefix to compare with, and re-sent with the whole block.
    UnverifiableResent,
    /// No prefix to compare with, and not sent.
    UnverifiableNotSent,
    Removed,
    /// Write-only (a SIP registration's password), not sent.
    WriteOnly,
}

impl SecretShown {
    /// What a secret row of a provider whose action is `action` says; `sent`: whether the plan's requests carry it.
    pub fn of(action: Action, status: SecretStatus, sent: bool) -> SecretShown {
        let update = action == Action::Update;
        match status {
            SecretStatus::Unchanged if update && sent => SecretShown::UnchangedResent,
            SecretStatus::Unchanged if update => SecretShown::UnchangedNotSent,
            SecretStatus::Unchanged => SecretShown::Unchanged,
            SecretStatus::Changed => SecretShown::Changed,
            SecretStatus::New => SecretShown::New,
            SecretStatus::RotationRequested => SecretShown::RotationRequested,
            SecretStatus::Unverifiable if update && sent => SecretShown::UnverifiableResent,
            SecretStatus::Unverifiable => SecretShown::UnverifiableNotSent,
            SecretStatus::Removed => SecretShown::Removed,
            SecretStatus::WriteOnly => SecretShown::WriteOnly,
        }
    }

    pub fn mark(self) -> Mark {
        match self {
            SecretShown::UnchangedResent | SecretShown::UnchangedNotSent | SecretShown::Unchanged => Mark::None,
            SecretShown::Changed | SecretShown::RotationRequested => Mark::Update,
            SecretShown::New => Mark::Create,
            SecretShown::UnverifiableResent | SecretShown::UnverifiableNotSent | SecretShown::WriteOnly => {
                Mark::Warning
            }
            SecretShown::Removed => Mark::Delete,
        }
    }

    pub fn words(self, style: Style) -> &'static str {
        use SecretShown::*;
        match (self, style) {
            (UnchangedResent, Style::Text) => "(secret) unchanged; re-sent, since the write carries the whole block",
            (UnchangedResent, Style::Markdown) => "unchanged (re-sent with the block)",
            (UnchangedNotSent, Style::Text) => "(secret) unchanged (not sent)",
            (UnchangedNotSent, Style::Markdown) => "unchanged (not sent)",
            (Unchanged, Style::Text) => "(secret) unchanged",
            (Unchanged, Style::Markdown) => "unchanged",
            (Changed, Style::Text) => "(secret) changed; will be sent",
            (Changed, Style::Markdown) => "**changed**: will be sent",
            (New, Style::Text) => "(secret) will be sent",
            (New, Style::Markdown) => "will be sent",
            (RotationRequested, Style::Text) => "(secret) rotation requested; will be sent",
            (RotationRequested, Style::Markdown) => "**rotation requested**: will be sent",
            (UnverifiableResent, Style::Text) => {
                "(secret) unverifiable: no prefix from the API; re-sent with the block"
            }
            (UnverifiableResent, Style::Markdown) => "unverifiable (re-sent with the block)",
            (UnverifiableNotSent, Style::Text) => "(secret) unverifiable: no prefix from the API; not sent",
            (UnverifiableNotSent, Style::Markdown) => "unverifiable: not sent",
            (Removed, Style::Text) => "(secret) will be removed",
            (Removed, Style::Markdown) => "will be removed",
            (WriteOnly, Style::Text) => "(secret) unverifiable (not sent; --rotate sends it)",
            (WriteOnly, Style::Markdown) => "unverifiable (not sent; <code>--rotate</code> sends it)",
        }
    }
}

/// A provider (or the SIP config, or a registration) no write touches.
pub struct Quiet {
    pub subject: Subject,
    pub kind: QuietKind,
}

pub enum QuietKind {
    /// Declared and as declared; `unverifiable`: its secrets the API gave no prefix for.
    NoChange { unverifiable: Vec<String> },
    /// Declared `null` and absent.
    AlreadyAbsent,
    /// Not in the file; `configured`: whether the account has it.
    Unmanaged { configured: bool },
    /// The SIP config, as declared; its domain (read-only), when the API gave one.
    SipNoChange { domain: Option<String> },
    /// A registration as declared (its password write-only: it cannot be compared).
    RegistrationNoChange,
}

impl Quiet {
    /// What the line after the provider's name says.
    pub fn words(&self, style: Style) -> String {
        match (&self.kind, style) {
            (QuietKind::NoChange { unverifiable }, Style::Text) if !unverifiable.is_empty() => format!(
                "no changes; {}: {}",
                unverifiable.join(", "),
                SecretShown::UnverifiableNotSent.words(Style::Text)
            ),
            // Markdown says it in the plan's note.
            (QuietKind::NoChange { .. }, _) => "no changes".to_string(),
            (QuietKind::AlreadyAbsent, _) => format!("absent, as declared ({})", style.code("null")),
            (QuietKind::Unmanaged { configured: true }, Style::Text) => {
                "not managed (absent from the file); configured on the account, left as it is".to_string()
            }
            (QuietKind::Unmanaged { configured: false }, Style::Text) => {
                "not managed (absent from the file); not configured on the account".to_string()
            }
            (QuietKind::Unmanaged { configured: true }, Style::Markdown) => {
                "not managed by the file; configured on the account and left as it is".to_string()
            }
            (QuietKind::Unmanaged { configured: false }, Style::Markdown) => {
                "not managed by the file; not configured on the account".to_string()
            }
            (QuietKind::SipNoChange { domain: Some(domain) }, _) => {
                format!("no changes (domain {}, read-only)", style.code(domain))
            }
            (QuietKind::SipNoChange { domain: None }, _) => "no changes".to_string(),
            (QuietKind::RegistrationNoChange, _) => {
                format!("no changes; {}: {}", sip::PASSWORD, SecretShown::WriteOnly.words(style))
            }
        }
    }
}

/// Something the plan says beside its rows.
pub enum Note {
    /// Secrets (`provider.field`) the API gave no prefix for. `with_block`: whether such a secret also goes with its
    /// provider's whole block when another field of that provider changes (the account-level family only).
    Unverifiable { fields: Vec<String>, with_block: bool },
    /// Registrations that stay on the account and that the API reports as not active. A warning: it changes
    /// nothing the plan does, nor its exit code.
    Inactive { registrations: Vec<RegistrationKey> },
}

impl Note {
    /// The note as a sentence. Text's starts in lower case, after `Note:`.
    pub fn words(&self, style: Style) -> String {
        match self {
            Note::Unverifiable { fields, with_block } => {
                let fields = fields.iter().map(|f| style.code(f)).collect::<Vec<_>>().join(", ");
                let block = if *with_block {
                    ", or with its provider's block when another field of that provider changes"
                } else {
                    ""
                };
                match style {
                    Style::Text => format!(
                        "the API returned no prefix for {fields}, so whether the file's value matches cannot be \
                         verified; such a secret is sent only with --rotate{block}."
                    ),
                    Style::Markdown => format!(
                        "The API returned no prefix for {fields}, so whether the file's value matches cannot be \
                         verified. Such a secret is sent only when the plan is made with {}{block}.",
                        style.code("--rotate")
                    ),
                }
            }
            Note::Inactive { registrations } => {
                let names: Vec<String> = registrations.iter().map(|k| style.code(&k.to_string())).collect();
                let (subject, verb) = if names.len() == 1 { ("it", "is") } else { ("they", "are") };
                let sentence = format!(
                    "{} {verb} not active: the API reports that the registration did not succeed. Check the password, \
                     proxy and authUser with the SIP trunk's provider; `reconcile apply --rotate` sends the password \
                     again ({subject} count{} as no change).",
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" },
                );
                match style {
                    Style::Text => sentence,
                    Style::Markdown => {
                        sentence.replace("`reconcile apply --rotate`", &style.code("reconcile apply --rotate"))
                    }
                }
            }
        }
    }

    /// The label before the note in text: `Note:`, or `Warning:`.
    pub fn label(&self) -> &'static str {
        match self {
            Note::Unverifiable { .. } => "Note:",
            Note::Inactive { .. } => "Warning:",
        }
    }
}

impl<'a> View<'a> {
    pub fn new(plan: &'a Plan, file: &'a str) -> View<'a> {
        let mut changed = Vec::new();
        let mut quiet = Vec::new();
        for pp in plan.providers() {
            let subject = Subject::Provider(pp.provider);
            let kind = match pp.action {
                Action::Create | Action::Update | Action::Delete => {
                    let rows = pp.changes.iter().map(|change| row(plan, &subject, pp.action, change)).collect();
                    changed.push(ProviderView { subject, action: pp.action, rows, detail: None });
                    continue;
                }
                Action::NoChange => {
                    QuietKind::NoChange { unverifiable: pp.unverifiable_secrets().map(str::to_string).collect() }
                }
                Action::AlreadyAbsent => QuietKind::AlreadyAbsent,
                Action::Unmanaged => QuietKind::Unmanaged { configured: pp.remote_present },
            };
            quiet.push(Quiet { subject, kind });
        }
        if let Some(sp) = plan.sip() {
            if sp.action.writes() {
                let rows = sp.changes.iter().map(|change| row(plan, &Subject::Sip, sp.action, change)).collect();
                changed.push(ProviderView {
                    subject: Subject::Sip,
                    action: sp.action,
                    rows,
                    detail: sp.domain.as_deref().map(|d| crate::redact::shown(d).into_owned()),
                });
            } else {
                let domain = sp.domain.as_deref().map(|d| crate::redact::shown(d).into_owned());
                quiet.push(Quiet { subject: Subject::Sip, kind: QuietKind::SipNoChange { domain } });
            }
        }
        for rp in plan.registrations().unwrap_or_default() {
            let subject = Subject::Registration(rp.key());
            if rp.action.writes() {
                let rows = rp.changes.iter().map(|change| row(plan, &subject, rp.action, change)).collect();
                changed.push(ProviderView { subject, action: rp.action, rows, detail: None });
            } else {
                quiet.push(Quiet { subject, kind: QuietKind::RegistrationNoChange });
            }
        }
        let mut notes = Vec::new();
        let unverifiable = plan.unverifiable();
        if !unverifiable.is_empty() {
            notes.push(Note::Unverifiable { fields: unverifiable, with_block: plan.writes_whole_blocks() });
        }
        let inactive = plan.inactive_registrations();
        if !inactive.is_empty() {
            notes.push(Note::Inactive { registrations: inactive });
        }
        View { plan, file, changed, quiet, notes, requests: crate::shown::requests(plan.requests()) }
    }

    /// Whether the plan holds the SIP config or registrations (its sections are then not all providers').
    pub fn has_sip(&self) -> bool {
        self.plan.sip().is_some() || self.plan.registrations().is_some()
    }

    pub fn counts(&self) -> Counts {
        self.plan.counts()
    }

    /// The requests as documents show them ([`crate::shown::requests`]).
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The sentence under a plan without changes.
    pub fn matches_sentence(&self, style: Style) -> String {
        format!("The account matches {}.", style.code(self.file))
    }

    /// How apply will write, in Markdown's headline: one write holding the providers, or one request each.
    pub fn how_sent(&self, style: Style) -> String {
        let sip_requests = self.plan.subjects().iter().flatten().any(|s| !matches!(s, Subject::Provider(_)));
        if sip_requests {
            let n = self.requests().len();
            return format!("{n} request{}, in this order", if n == 1 { "" } else { "s" });
        }
        if self.plan.writes_whole_blocks() {
            let held: Vec<String> = self.changed.iter().map(|p| style.code(&p.subject.to_string())).collect();
            format!("one write holding {}", held.join(", "))
        } else {
            let n = self.requests().len();
            format!("{n} request{}, one per changed provider, in this order", if n == 1 { "" } else { "s" })
        }
    }
}

/// `1 to create, 0 to update, 2 to delete`, each number passed through `paint` with the action it counts.
pub fn counts_phrase(c: Counts, paint: &dyn Fn(Action, String) -> String) -> String {
    format!(
        "{} to create, {} to update, {} to delete",
        paint(Action::Create, c.create.to_string()),
        paint(Action::Update, c.update.to_string()),
        paint(Action::Delete, c.delete.to_string())
    )
}

/// `no changes`, or the counts: for a headline.
pub fn counts_or_none(c: Counts) -> String {
    if c.total() == 0 { "no changes".to_string() } else { counts_phrase(c, &|_, n| n) }
}

/// `1 created, 0 updated, 2 deleted`.
pub fn done_phrase(c: Counts) -> String {
    format!("{} created, {} updated, {} deleted", c.create, c.update, c.delete)
}

/// What a changed provider's header says it will be: `created`, `updated` or `deleted`.
pub fn will_be(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        _ => "deleted",
    }
}

/// Apply's one-line report: what was written (`written`: in send order; empty when nothing was).
pub fn applied_line(plan: &Plan, written: &[Subject]) -> String {
    if written.is_empty() {
        return "Nothing to apply: no write was sent.".into();
    }
    let sip = written.iter().any(|s| !matches!(s, Subject::Provider(_)));
    let how = if sip {
        ""
    } else if plan.writes_whole_blocks() || written.len() == 1 {
        " in one write"
    } else {
        ": one request each"
    };
    format!(
        "Apply complete: {} ({}{how}).",
        done_phrase(plan.counts()),
        written.iter().map(Subject::to_string).collect::<Vec<_>>().join(", ")
    )
}

fn row(plan: &Plan, subject: &Subject, action: Action, change: &FieldChange) -> Row {
    match change {
        FieldChange::Secret { field, status } => {
            let sent = match subject {
                Subject::Provider(provider) => plan.sends(*provider, field),
                Subject::Sip => plan.sends_fallback_secrets(),
                Subject::Registration(key) => plan.sends_password(key),
            };
            Row::Secret { field: field.clone(), shown: SecretShown::of(action, *status, sent) }
        }
        FieldChange::Value { field, before, after } => {
            let label = |value: &Option<Value>| value.as_ref().map(|v| labelled(plan, field, v));
            Row::Value { field: field.clone(), before: label(before), after: label(after) }
        }
    }
}

/// A value as the plan shows it ([`crate::shown`]: a string holding a secret masked whole), an agent list (or the SIP
/// config's allowances, each starting with its agent's ID) with each ID the file wrote by name shown as `ID (name)`,
/// each part masked on its own.
fn labelled(plan: &Plan, field: &str, value: &Value) -> Value {
    match value {
        Value::List(entries) if field == provider::AGENT_IDS || field == sip::ALLOWED_AGENTS => Value::List(
            entries
                .iter()
                .map(|entry| {
                    let (id, pattern) =
                        if field == sip::ALLOWED_AGENTS { sip::split_shown(entry) } else { (entry.as_str(), None) };
                    crate::shown::agent_entry(id, plan.agent_names().get(id).map(String::as_str), pattern)
                })
                .collect(),
        ),
        other => crate::shown::value(other),
    }
}

/// Escapes text for an HTML context inside a Markdown table cell (a value placed here was checked for secrets before).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\n' | '\r' => out.push(' '),
            c if crate::clean::is_hidden(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::PlanOptions;
    use crate::endpoints::Family;
    use crate::provider::Provider;
    use crate::state::{Desired, DesiredProvider, DesiredState, RemotePrefix, RemoteProvider, RemoteState, Settings};
    use secrecy::SecretString;

    const FAMILIES: [Family; 3] = [Family::Auto, Family::Provider, Family::Account];

    /// twilio declared with `allow_all`; the account has it with an unverifiable token and `allow_all` false.
    fn plan(family: Family, allow_all: bool) -> Plan {
        let desired = DesiredState {
            providers: [
                Desired::Present(DesiredProvider {
                    provider: Provider::Twilio,
                    identifiers: vec![("accountSid", "AC1".into())],
                    secrets: vec![("authToken", SecretString::from("token-value".to_string()))],
                    settings: Settings { allow_all_agents: allow_all, ..Settings::default() },
                }),
                Desired::Absent,
                Desired::Unmanaged,
            ],
            ..Default::default()
        };
        let remote = RemoteState {
            providers: [
                Some(RemoteProvider {
                    provider: Provider::Twilio,
                    identifiers: [("accountSid".to_string(), "AC1".to_string())].into(),
                    prefixes: [("authToken".to_string(), Some(RemotePrefix::new(String::new())))].into(),
                    settings: Settings::default(),
                }),
                None,
                None,
            ],
            ..Default::default()
        };
        Plan::new(&desired, &remote, family, PlanOptions::default())
    }

    #[test]
    fn the_unverifiable_note_mentions_a_block_only_on_the_account_family() {
        for family in FAMILIES {
            let plan = plan(family, false);
            let view = View::new(&plan, "telephony.yaml");
            let [note] = &view.notes[..] else { panic!("{family}: one note") };
            let text = note.words(Style::Text);
            assert!(text.starts_with("the API returned no prefix for twilio.authToken, "), "{text}");
            let block = "or with its provider's block when another field of that provider changes";
            assert_eq!(text.contains(block), family == Family::Account, "{family}: {text}");
            assert_eq!(note.words(Style::Markdown).contains(block), family == Family::Account, "{family}");
            assert!(note.words(Style::Markdown).contains("<code>twilio.authToken</code>"));
        }
    }

    #[test]
    fn a_secret_row_says_whether_the_write_carries_it() {
        for family in FAMILIES {
            let plan = plan(family, true);
            let view = View::new(&plan, "telephony.yaml");
            let rows: Vec<&SecretShown> = view.changed[0]
                .rows
                .iter()
                .filter_map(|r| match r {
                    Row::Secret { shown, .. } => Some(shown),
                    Row::Value { .. } => None,
                })
                .collect();
            let expected = if family == Family::Account {
                SecretShown::UnverifiableResent
            } else {
                SecretShown::UnverifiableNotSent
            };
            assert_eq!(rows, [&expected], "{family}");
        }
    }

    #[test]
    fn quiet_providers_are_said_in_each_style() {
        let plan = plan(Family::Auto, false);
        let view = View::new(&plan, "a|b.yaml");
        let said: Vec<(String, String)> =
            view.quiet.iter().map(|q| (q.words(Style::Text), q.words(Style::Markdown))).collect();
        assert_eq!(
            said,
            [
                (
                    "no changes; authToken: (secret) unverifiable: no prefix from the API; not sent".to_string(),
                    "no changes".to_string()
                ),
                ("absent, as declared (null)".to_string(), "absent, as declared (<code>null</code>)".to_string()),
                (
                    "not managed (absent from the file); not configured on the account".to_string(),
                    "not managed by the file; not configured on the account".to_string()
                ),
            ]
        );
        assert_eq!(view.matches_sentence(Style::Markdown), "The account matches <code>a&#124;b.yaml</code>.");
        assert_eq!(view.matches_sentence(Style::Text), "The account matches a|b.yaml.");
    }
}
