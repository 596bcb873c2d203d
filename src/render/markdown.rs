//! The plan as GitHub-flavoured Markdown (`--format markdown`), for pull-request comments and CI job summaries.
//!
//! A marker line lets CI find and update its one comment; a headline with counts; a visible warning when something
//! will be deleted; a table per changed provider (long ones collapsed in `<details>`); secret fields show only a
//! status. Values are HTML-escaped inside `<code>`, so a value cannot inject Markdown. The whole stays under
//! GitHub's comment limit: when it would not, it is cut with a note saying so. What each row and note says comes from
//! the plan's [`View`]; this module lays it out.

use crate::diff::{Action, Value};
use crate::plan::{Plan, Subject};
use crate::render::view::{self, ProviderView, Row, View, esc, will_be};

/// The first line of every Markdown plan: CI looks for it to update a single comment.
pub const MARKER: &str = "<!-- reconcile-plan -->";
/// GitHub refuses comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// Room kept for the cut note and the closing lines.
const BUDGET: usize = GITHUB_COMMENT_LIMIT - 2_000;
/// A provider section with more rows than this, or a longer table, is collapsed.
const COLLAPSE_ROWS: usize = 12;
const COLLAPSE_CHARS: usize = 2_500;

/// One file's plan as a whole comment.
pub fn render(plan: &Plan, file: &str) -> String {
    file_section(plan, file, &Style::one(), BUDGET)
}

/// How deep a file's headings sit: a comment of its own, or a section of a comment for several files.
struct Style {
    /// The file's headline, before its counts: `### reconcile plan` or `#### <code>FILE</code>`.
    headline: String,
    /// The heading level of provider sections.
    providers: &'static str,
    /// What the text starts with (the marker for a comment of its own).
    start: String,
}

impl Style {
    fn one() -> Style {
        Style { headline: "### reconcile plan".into(), providers: "####", start: format!("{MARKER}\n") }
    }

    fn section(file: &str) -> Style {
        Style {
            headline: format!("\n---\n\n#### <code>{}</code>", esc(file)),
            providers: "#####",
            start: String::new(),
        }
    }
}

/// A file's plan within `budget` characters (provider sections past it are left out, with a note).
fn file_section(plan: &Plan, file: &str, style: &Style, budget: usize) -> String {
    let view = View::new(plan, file);
    let md = view::Style::Markdown;
    let mut head = style.start.clone();
    let headline = &style.headline;
    head.push_str(&format!("{headline}: {}\n\n", view::counts_or_none(view.counts())));
    if plan.is_empty() {
        head.push_str(&format!("{}\n", view.matches_sentence(md)));
    } else {
        head.push_str(&format!("Applying {} will send {}:\n\n", md.code(file), view.how_sent(md)));
        for (i, r) in view.requests().iter().enumerate() {
            let fields: Vec<String> = r.fields.iter().map(|f| md.code(f)).collect();
            let fields = if fields.is_empty() { String::new() } else { format!(" ({})", fields.join(", ")) };
            head.push_str(&format!("{}. <code>{} {}</code>{fields}\n", i + 1, r.method.as_str(), esc(&r.path())));
        }
    }
    let deleted = |registration: bool| -> Vec<String> {
        view.changed
            .iter()
            .filter(|p| p.action == Action::Delete && matches!(p.subject, Subject::Registration(_)) == registration)
            .map(|p| match &p.subject {
                Subject::Registration(key) => format!("<code>{}</code>", esc(&key.to_string())),
                other => format!("**{other}**"),
            })
            .collect()
    };
    let providers = deleted(false);
    if !providers.is_empty() {
        head.push_str(&format!(
            "\n> [!WARNING]\n> This plan **deletes** {}: its credentials will be removed from the account, and calls through it will stop.\n",
            providers.join(", ")
        ));
    }
    let registrations = deleted(true);
    if !registrations.is_empty() {
        head.push_str(&format!(
            "\n> [!WARNING]\n> This plan **deletes** the SIP registration{} {}: the account will no longer register with {}.\n",
            if registrations.len() == 1 { "" } else { "s" },
            registrations.join(", "),
            if registrations.len() == 1 { "that trunk" } else { "those trunks" }
        ));
    }
    for note in &view.notes {
        let kind = if note.label() == "Warning:" { "WARNING" } else { "NOTE" };
        head.push_str(&format!("\n> [!{kind}]\n> {}\n", note.words(md)));
    }

    let mut out = head;
    let sections: Vec<String> = view.changed.iter().map(|pv| section(pv, style.providers)).collect();
    let mut cut = 0;
    for (i, s) in sections.iter().enumerate() {
        if out.len() + s.len() > budget {
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
    let quiet: Vec<String> =
        view.quiet.iter().map(|q| format!("- <code>{}</code>: {}", esc(&q.subject.to_string()), q.words(md))).collect();
    if !quiet.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{} without changes ({})</summary>\n\n{}\n\n</details>\n",
            if view.has_sip() { "Settings" } else { "Providers" },
            quiet.len(),
            quiet.join("\n")
        ));
    }
    out
}

/// One of several files, for [`render_several`]: its plan (with apply's report line, if any), or its error.
pub enum FileResult<'a> {
    Planned { plan: &'a Plan, applied: Option<String> },
    Failed { message: &'a str },
}

/// Text placed in Markdown outside a code span (the several files' headline, which names failed files): escaped for
/// HTML ([`esc`]), and Markdown's link, emphasis and escape characters backslash-escaped, so that a folder named
/// `[x](https://example.com)` shows as that text, never as a link.
fn esc_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in esc(s).chars() {
        if matches!(c, '\\' | '[' | ']' | '*' | '_' | '~' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Several files' plans as one comment: the marker, an overall headline, then a section per file in file order.
/// When the whole would pass GitHub's limit, each section gets a fair share of the room (a short section leaves its
/// unused share to the others) and is cut to it with a note; if even the files' headlines do not fit, the last
/// sections are left out, with a note saying how many.
pub fn render_several(files: &[(String, FileResult<'_>)], headline: &str) -> String {
    let mut out = format!("{MARKER}\n### reconcile plan: {}\n", esc_inline(headline));
    let full: Vec<String> = files.iter().map(|(file, result)| file_part(file, result, usize::MAX)).collect();
    let room = BUDGET.saturating_sub(out.len());
    let total: usize = full.iter().map(String::len).sum();
    if total <= room {
        full.iter().for_each(|s| out.push_str(s));
        return out;
    }
    // Fair shares: the shortest sections first take what they need; the rest split what is left evenly.
    let mut order: Vec<usize> = (0..full.len()).collect();
    order.sort_by_key(|&i| full[i].len());
    let mut shares = vec![0; full.len()];
    let mut left = room;
    for (n, &i) in order.iter().enumerate() {
        let share = left / (full.len() - n);
        shares[i] = full[i].len().min(share);
        left -= shares[i];
    }
    let mut parts = Vec::with_capacity(full.len());
    for (i, (file, result)) in files.iter().enumerate() {
        if full[i].len() <= shares[i] {
            parts.push(full[i].clone());
        } else {
            let cut = file_part(file, result, shares[i]);
            // When not even the file's headline fits its share, one line says what the file's plan does.
            parts.push(if cut.len() <= shares[i] { cut } else { file_line(file, result) });
        }
    }
    let mut used = 0;
    let mut shown = 0;
    for part in &parts {
        if used + part.len() > room {
            break;
        }
        used += part.len();
        shown += 1;
    }
    parts.iter().take(shown).for_each(|s| out.push_str(s));
    if shown < parts.len() {
        let cut = parts.len() - shown;
        let mut named: Vec<String> =
            files[shown..].iter().take(NAMED_LEFT_OUT).map(|(f, _)| format!("<code>{}</code>", esc(f))).collect();
        if cut > NAMED_LEFT_OUT {
            named.push(format!("and {} more", cut - NAMED_LEFT_OUT));
        }
        out.push_str(&format!(
            "\n> [!CAUTION]\n> This comment was cut to stay under GitHub's {GITHUB_COMMENT_LIMIT}-character limit: the sections of {cut} file{} are not shown ({}). Read the CI log for the whole plan.\n",
            if cut == 1 { "" } else { "s" },
            named.join(", ")
        ));
    }
    out
}

/// Left-out files named in the cut note; the rest are counted.
const NAMED_LEFT_OUT: usize = 20;

/// A file in one line, for a comment too full for its section.
fn file_line(file: &str, result: &FileResult<'_>) -> String {
    let what = match result {
        FileResult::Planned { plan, .. } => view::counts_or_none(plan.counts()),
        FileResult::Failed { .. } => "**failed**".to_string(),
    };
    format!("\n- <code>{}</code>: {what} (details cut: see the CI log)\n", esc(file))
}

fn file_part(file: &str, result: &FileResult<'_>, budget: usize) -> String {
    let style = Style::section(file);
    match result {
        FileResult::Planned { plan, applied } => {
            let mut text = file_section(plan, file, &style, budget);
            if let Some(line) = applied {
                text.push_str(&format!("\n**{line}**\n"));
            }
            text
        }
        FileResult::Failed { message } => format!(
            "{}: failed\n\n<pre>{}</pre>\n",
            style.headline,
            message.lines().map(esc_line).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// Escapes one line of preformatted text (kept as a line, unlike [`esc`] in a table cell).
fn esc_line(line: &str) -> String {
    esc(line).replace("&#124;", "|")
}

fn section(pv: &ProviderView, level: &str) -> String {
    let sign = match pv.action {
        Action::Create => "+",
        Action::Update => "~",
        _ => "-",
    };
    let mut rows = String::new();
    let mut count = 0;
    for row in &pv.rows {
        let (before, after) = match row {
            Row::Secret { shown, .. } => ("🔒 secret".to_string(), shown.words(view::Style::Markdown).to_string()),
            Row::Value { before: Some(Value::List(b)), after: Some(Value::List(a)), .. } => list_change(b, a),
            Row::Value { before, after, .. } => (cell(before.as_ref()), cell(after.as_ref())),
        };
        rows.push_str(&format!("| <code>{}</code> | {before} | {after} |\n", esc(row.field())));
        count += 1;
    }
    let table = format!("| field | before | after |\n|---|---|---|\n{rows}");
    let detail = pv.detail(view::Style::Markdown).map(|d| format!(" {d}")).unwrap_or_default();
    let heading = format!(
        "\n{level} {sign} <code>{}</code> will be {}{detail}\n\n",
        esc(&pv.subject.to_string()),
        will_be(pv.action)
    );
    if count > COLLAPSE_ROWS || table.len() > COLLAPSE_CHARS {
        format!("{heading}<details><summary>{count} fields</summary>\n\n{table}\n</details>\n")
    } else {
        format!("{heading}{table}")
    }
}

fn list_change(before: &[String], after: &[String]) -> (String, String) {
    let (added, removed) = super::added_and_removed(before, after);
    let removed: Vec<String> = removed.into_iter().map(|s| format!("− <code>{}</code>", esc(s))).collect();
    let added: Vec<String> = added.into_iter().map(|s| format!("+ <code>{}</code>", esc(s))).collect();
    let or_dash = |v: Vec<String>| if v.is_empty() { "".to_string() } else { v.join("<br>") };
    (or_dash(removed), or_dash(added))
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None => "<em>none</em>".to_string(),
        Some(v) => format!("<code>{}</code>", esc(&super::text::show(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::PlanOptions;
    use crate::endpoints::Family;
    use crate::provider::Provider;
    use crate::state::{Desired, DesiredProvider, DesiredState, RemoteState, Settings};
    use secrecy::SecretString;

    /// A plan creating twilio with `agents` allowed agents (a table row each when collapsed: long).
    fn plan_with_agents(agents: usize) -> Plan {
        let twilio = DesiredProvider {
            provider: Provider::Twilio,
            identifiers: vec![("accountSid", "AC1".into())],
            secrets: vec![("authToken", SecretString::from("token-value".to_string()))],
            settings: Settings {
                allowed_agent_ids: (0..agents).map(|n| format!("00000000-0000-4000-8000-{n:012x}")).collect(),
                ..Settings::default()
            },
        };
        let desired = DesiredState {
            providers: [Desired::Present(twilio), Desired::Unmanaged, Desired::Unmanaged],
            ..Default::default()
        };
        Plan::new(&desired, &RemoteState::default(), Family::Auto, PlanOptions::default())
    }

    #[test]
    fn several_files_fit_whole_when_they_can() {
        let (a, b) = (plan_with_agents(1), plan_with_agents(2));
        let files = vec![
            ("a/telephony.yaml".to_string(), FileResult::Planned { plan: &a, applied: None }),
            ("b/telephony.yaml".to_string(), FileResult::Failed { message: "b: <refused> | 401" }),
        ];
        let text = render_several(&files, "2 files");
        assert!(text.starts_with(&format!("{MARKER}\n### reconcile plan: 2 files\n")), "{text}");
        assert!(text.contains("#### <code>a/telephony.yaml</code>: 1 to create"), "{text}");
        assert!(text.contains("##### + <code>twilio</code> will be created"), "{text}");
        assert!(
            text.contains("#### <code>b/telephony.yaml</code>: failed\n\n<pre>b: &lt;refused&gt; | 401</pre>"),
            "{text}"
        );
        assert!(!text.contains("was cut"), "{text}");
        let _ = b;
    }

    #[test]
    fn a_file_named_like_a_link_is_never_a_link_in_the_headline() {
        let files: Vec<(String, FileResult<'_>)> = Vec::new();
        let text = render_several(&files, "2 files: 2 failed ([x](https://evil.example)/telephony.yaml, my_a*b*)");
        assert!(
            text.contains(
                "### reconcile plan: 2 files: 2 failed (\\[x\\](https://evil.example)/telephony.yaml, my\\_a\\*b\\*)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_large_file_is_cut_to_its_share_and_leaves_small_ones_whole() {
        // One file far over the limit on its own, beside small ones: the small ones stay whole.
        let (huge, small) = (plan_with_agents(3000), plan_with_agents(1));
        let mut files = vec![("big/telephony.yaml".to_string(), FileResult::Planned { plan: &huge, applied: None })];
        for i in 0..3 {
            files.push((format!("s{i}/telephony.yaml"), FileResult::Planned { plan: &small, applied: None }));
        }
        let text = render_several(&files, "4 files");
        assert!(text.chars().count() <= GITHUB_COMMENT_LIMIT, "{}", text.len());
        assert!(text.contains("#### <code>big/telephony.yaml</code>: 1 to create"), "the big file keeps its headline");
        assert!(text.contains("1 provider section is not shown"), "the big file's table is cut with a note");
        for i in 0..3 {
            let section = format!("#### <code>s{i}/telephony.yaml</code>: 1 to create");
            let start = text.find(&section).expect("every small file is shown");
            assert!(text[start..].contains("will be created"), "s{i} is whole");
        }
    }

    #[test]
    fn when_even_headlines_do_not_fit_the_last_files_are_named_as_left_out() {
        let plan = plan_with_agents(1);
        let files: Vec<(String, FileResult<'_>)> = (0..2000)
            .map(|i| (format!("accounts/{i:04}/telephony.yaml"), FileResult::Planned { plan: &plan, applied: None }))
            .collect();
        let text = render_several(&files, "2000 files");
        assert!(text.chars().count() <= GITHUB_COMMENT_LIMIT, "{}", text.len());
        // Each file shown gets one line (there is no room for sections); the rest are named, then counted.
        assert!(text.contains(
            "- <code>accounts/0000/telephony.yaml</code>: 1 to create, 0 to update, 0 to delete (details cut"
        ));
        assert!(text.contains("are not shown"), "{}", &text[text.len() - 500..]);
        assert!(
            text.contains(" more), Read the CI log") || text.contains(" more). Read the CI log"),
            "the left-out files are counted"
        );
    }
}
