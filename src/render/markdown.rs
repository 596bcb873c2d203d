//! The plan as GitHub-flavoured Markdown (`--format markdown`), for pull-request comments and CI job summaries.
//!
//! A marker line lets CI find and update its one comment; a headline with counts; a visible warning when something
//! will be deleted; a table per changed provider (long ones collapsed in `<details>`); secret fields show only a
//! status. Values are HTML-escaped inside `<code>`, so a value cannot inject Markdown. The whole stays under
//! GitHub's comment limit: when it would not, it is cut with a note saying so.

use std::collections::BTreeSet;

use crate::diff::{Action, FieldChange, Plan, ProviderPlan, SecretStatus, Value};
use crate::endpoints::{self, PlannedRequest};

/// The first line of every Markdown plan: CI looks for it to update a single comment.
pub const MARKER: &str = "<!-- reconcile-plan -->";
/// GitHub refuses comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// Room kept for the cut note and the closing lines.
const BUDGET: usize = GITHUB_COMMENT_LIMIT - 2_000;
/// A provider section with more rows than this, or a longer table, is collapsed.
const COLLAPSE_ROWS: usize = 12;
const COLLAPSE_CHARS: usize = 2_500;

pub fn render(plan: &Plan, file: &str) -> String {
    let plan = &*super::with_agent_names(plan);
    let c = plan.counts();
    let mut head = format!("{MARKER}\n");
    if plan.is_empty() {
        head.push_str(&format!("### reconcile plan: no changes\n\nThe account matches <code>{}</code>.\n", esc(file)));
    } else {
        let how = if whole_blocks(&plan.requests) {
            format!(
                "one write holding {}",
                plan.written().map(|p| format!("<code>{}</code>", p.provider)).collect::<Vec<_>>().join(", ")
            )
        } else {
            let n = plan.requests.len();
            format!("{n} request{}, one per changed provider, in this order", if n == 1 { "" } else { "s" })
        };
        head.push_str(&format!(
            "### reconcile plan: {} to create, {} to update, {} to delete\n\nApplying <code>{}</code> will send {how}{}\n",
            c.create,
            c.update,
            c.delete,
            esc(file),
            if plan.requests.is_empty() { "." } else { ":" },
        ));
        if !plan.requests.is_empty() {
            head.push('\n');
            for (i, r) in plan.requests.iter().enumerate() {
                let fields: Vec<String> = r.fields.iter().map(|f| format!("<code>{}</code>", esc(f))).collect();
                let fields = if fields.is_empty() { String::new() } else { format!(" ({})", fields.join(", ")) };
                head.push_str(&format!("{}. <code>{} {}</code>{fields}\n", i + 1, r.method.as_str(), esc(&r.path)));
            }
        }
    }
    let deleted: Vec<String> =
        plan.providers.iter().filter(|p| p.action == Action::Delete).map(|p| format!("**{}**", p.provider)).collect();
    if !deleted.is_empty() {
        head.push_str(&format!(
            "\n> [!WARNING]\n> This plan **deletes** {}: its credentials will be removed from the account, and calls through it will stop.\n",
            deleted.join(", ")
        ));
    }
    let unverifiable: Vec<String> = plan.unverifiable().iter().map(|f| format!("<code>{f}</code>")).collect();
    if !unverifiable.is_empty() {
        head.push_str(&format!(
            "\n> [!NOTE]\n> The API returned no prefix for {}, so whether the file's value matches cannot be verified. Such a secret is sent only when the plan is made with <code>--rotate</code>{}.\n",
            unverifiable.join(", "),
            if whole_blocks(&plan.requests) {
                ", or with its provider's block when another field of that provider changes"
            } else {
                ""
            }
        ));
    }

    let mut out = head;
    let sections: Vec<String> = plan.written().map(|pp| section(pp, &plan.requests)).collect();
    let mut cut = 0;
    for (i, s) in sections.iter().enumerate() {
        if out.len() + s.len() > BUDGET {
            cut = sections.len() - i;
            break;
        }
        out.push_str(s);
    }
    if cut > 0 {
        out.push_str(&format!(
            "\n> [!CAUTION]\n> This comment was cut to stay under GitHub's {GITHUB_COMMENT_LIMIT}-character limit: {cut} provider section{} not shown. Run <code>reconcile plan</code> or read the CI log for the whole plan.\n",
            if cut == 1 { " is" } else { "s are" }
        ));
    }
    let quiet: Vec<String> = plan.providers.iter().filter_map(quiet_item).collect();
    if !quiet.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>Providers without changes ({})</summary>\n\n{}\n\n</details>\n",
            quiet.len(),
            quiet.join("\n")
        ));
    }
    out
}

fn quiet_item(pp: &ProviderPlan) -> Option<String> {
    let name = pp.provider;
    let text = match pp.action {
        Action::NoChange => format!("- <code>{name}</code>: no changes"),
        Action::AlreadyAbsent => format!("- <code>{name}</code>: absent, as declared (<code>null</code>)"),
        Action::Unmanaged if pp.remote_present => {
            format!("- <code>{name}</code>: not managed by the file; configured on the account and left as it is")
        }
        Action::Unmanaged => format!("- <code>{name}</code>: not managed by the file; not configured on the account"),
        _ => return None,
    };
    Some(text)
}

/// Whether the requests write complete blocks (the account-level PATCH); also true before a family is chosen.
fn whole_blocks(requests: &[PlannedRequest]) -> bool {
    requests.is_empty() || requests.iter().any(|r| r.provider().is_none())
}

fn section(pp: &ProviderPlan, requests: &[PlannedRequest]) -> String {
    let (sign, verb) = match pp.action {
        Action::Create => ("+", "create"),
        Action::Update => ("~", "update"),
        _ => ("-", "delete"),
    };
    let mut rows = String::new();
    let mut count = 0;
    for change in &pp.changes {
        let (before, after) = match change {
            FieldChange::Secret { status, .. } => {
                let sent = whole_blocks(requests) || endpoints::sends(requests, pp.provider, change.field());
                ("🔒 secret".to_string(), secret_status(pp.action, *status, sent).to_string())
            }
            FieldChange::Value { before: Some(Value::List(b)), after: Some(Value::List(a)), .. } => list_change(b, a),
            FieldChange::Value { before, after, .. } => (cell(before.as_ref()), cell(after.as_ref())),
        };
        rows.push_str(&format!("| <code>{}</code> | {before} | {after} |\n", esc(change.field())));
        count += 1;
    }
    let table = format!("| field | before | after |\n|---|---|---|\n{rows}");
    let heading = format!("\n#### {sign} <code>{}</code> will be {verb}d\n\n", pp.provider);
    if count > COLLAPSE_ROWS || table.len() > COLLAPSE_CHARS {
        format!("{heading}<details><summary>{count} fields</summary>\n\n{table}\n</details>\n")
    } else {
        format!("{heading}{table}")
    }
}

fn secret_status(action: Action, status: SecretStatus, sent: bool) -> &'static str {
    match status {
        SecretStatus::Unchanged if action == Action::Update && sent => "unchanged (re-sent with the block)",
        SecretStatus::Unchanged if action == Action::Update => "unchanged (not sent)",
        SecretStatus::Unchanged => "unchanged",
        SecretStatus::Changed => "**changed**: will be sent",
        SecretStatus::New => "will be sent",
        SecretStatus::RotationRequested => "**rotation requested**: will be sent",
        SecretStatus::Unverifiable if action == Action::Update && sent => "unverifiable (re-sent with the block)",
        SecretStatus::Unverifiable => "unverifiable: not sent",
        SecretStatus::Removed => "will be removed",
    }
}

fn list_change(before: &[String], after: &[String]) -> (String, String) {
    let b: BTreeSet<&String> = before.iter().collect();
    let a: BTreeSet<&String> = after.iter().collect();
    let removed: Vec<String> = b.difference(&a).map(|s| format!("− <code>{}</code>", esc(s))).collect();
    let added: Vec<String> = a.difference(&b).map(|s| format!("+ <code>{}</code>", esc(s))).collect();
    let or_dash = |v: Vec<String>| if v.is_empty() { "".to_string() } else { v.join("<br>") };
    (or_dash(removed), or_dash(added))
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None => "<em>none</em>".to_string(),
        Some(v) => format!("<code>{}</code>", esc(&super::text::show(v))),
    }
}

/// Escapes text for an HTML context inside a Markdown table cell.
fn esc(s: &str) -> String {
    // Scrubbed before escaping: an escape inside a secret would hide it from the output path's scrubber.
    let s = crate::secret::scrub(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\n' | '\r' => out.push(' '),
            c if super::clean::is_hidden(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
