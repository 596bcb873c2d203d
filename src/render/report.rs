//! The sentences the commands say: a plan shown in its format (its own sentences are the [`super::view`]'s), apply's
//! report, warnings, errors (and their JSON form), the import's next steps, and, with several files, each file's
//! heading and the overall summary.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::model::DEFAULT_API_KEY_ENV;
use crate::error::Error;
use crate::import::Imported;
use crate::plan::{Counts, Plan, Subject};
use crate::provider::Provider;
use crate::render::json::{DiagnosticReport, ErrorReport, PlanDocument};
use crate::render::{self, Format, Palette, Sink, view};

/// Prints an error the way its kind reads best: a file's diagnostics as a located block, anything else as a line
/// with its hint.
pub fn error(sink: &mut dyn Sink, error: &Error) {
    match error {
        Error::Config(e) => {
            let text = render::diagnostics::render(e, sink.output().stderr);
            sink.error_block(&text);
            if render::annotations::enabled() {
                sink.error_block(&render::annotations::render(&render::annotations::for_config_error(e)));
            }
        }
        other => sink.error(&other.to_string(), other.hint().as_deref()),
    }
}

/// An error as plain text (no colour), for a JSON document or a Markdown comment: its message and its hint, and a
/// file's problems one by one.
pub fn error_report(error: &Error) -> ErrorReport {
    match error {
        Error::Config(e) => ErrorReport {
            message: render::diagnostics::render(e, Palette::plain()).trim_end().to_string(),
            hint: None,
            diagnostics: DiagnosticReport::list(e),
        },
        other => ErrorReport::new(other.to_string(), other.hint()),
    }
}

/// Prints a plan in the chosen format; `applied` adds apply's report.
pub fn show(sink: &mut dyn Sink, plan: &Plan, file: &str, format: Format, applied: Option<&[Subject]>) {
    match format {
        Format::Text => {
            let text = render::text::render(plan, file, sink.output().stdout);
            sink.data(&text);
            if let Some(written) = applied {
                sink.data(&applied_line(plan, written));
            }
        }
        Format::Json => {
            let mut doc = PlanDocument::new(plan, file);
            if let Some(written) = applied {
                doc = doc.with_apply(written.to_vec());
            }
            sink.document(&render::json::render(&doc));
        }
        Format::Markdown => {
            let mut text = render::markdown::render(plan, file);
            if let Some(written) = applied {
                text.push_str(&format!("\n**{}**\n", applied_line(plan, written)));
            }
            sink.document(&text);
        }
    }
}

/// Text and Markdown show the plan before the write, so that it is on screen (and in the CI log) whatever happens
/// next; JSON is one document, printed once the outcome is known.
pub fn before_apply(sink: &mut dyn Sink, plan: &Plan, file: &str, format: Format) {
    if format != Format::Json {
        show(sink, plan, file, format, None);
    }
}

/// What follows the write: the report line, or (JSON) the whole document.
pub fn after_apply(sink: &mut dyn Sink, plan: &Plan, file: &str, format: Format, written: &[Subject]) {
    match format {
        Format::Json => show(sink, plan, file, format, Some(written)),
        Format::Text => sink.data(&applied_line(plan, written)),
        Format::Markdown => sink.document(&format!("\n**{}**", applied_line(plan, written))),
    }
}

/// Apply's one-line report.
pub use crate::render::view::applied_line;

/// Warns about secrets that were sent but that the write's answer gave no prefix for.
pub fn warn_unverified(sink: &mut dyn Sink, unverified: &[String]) {
    if !unverified.is_empty() {
        sink.warning(&format!(
            "the API's answer gave no prefix for {}, so whether the value sent landed cannot be checked; \
             `reconcile plan` will show it as unverifiable",
            unverified.join(", ")
        ));
    }
}

/// The warning when an answer said its endpoint is deprecated (stderr, never an error).
pub fn deprecated(sink: &mut dyn Sink, notice: &crate::api::Deprecation) {
    sink.warning(&notice.to_string());
}

/// `validate`'s line for a valid file: how many providers it declares, and the SIP settings it manages.
pub fn valid(file: &Path, managed: usize, sip: &[String]) -> String {
    let providers = format!("{managed} provider{}", if managed == 1 { "" } else { "s" });
    if sip.is_empty() {
        return format!("{} is valid ({providers} declared).", file.display());
    }
    format!("{} is valid ({providers} declared, and {}).", file.display(), sip.join(" and "))
}

/// `plan --out`'s line once the plan is saved.
pub fn saved_plan(path: &Path) -> String {
    format!("Saved the plan to {}; apply it with `reconcile apply {}`.", path.display(), path.display())
}

/// The question before a fresh apply.
pub fn confirm_question(files: usize) -> String {
    if files > 1 {
        format!("Apply these changes to the accounts of {files} files? Only 'yes' is accepted: ")
    } else {
        "Apply these changes to the account? Only 'yes' is accepted: ".into()
    }
}

/// The warning when the server has no SIP endpoint for `what` (`sip`, `sipRegistrations`): import leaves it out.
pub fn import_without_sip(what: &str, url: &str, answer: &str) -> String {
    format!("{url} answered {answer}: this server has no such endpoint, so the file leaves `{what}` out (unmanaged)")
}

/// The warning when an imported file does not pass the file's own rules.
pub fn import_problems(problems: usize) -> String {
    format!(
        "the imported file does not pass validation yet ({problems} problem{}): the account holds what the \
         file's rules reject; run `reconcile validate` to see where, and fix it",
        if problems == 1 { "" } else { "s" }
    )
}

/// What to print on stderr after an import (`dest`: `None` for stdout); `default_file` tells whether
/// `reconcile plan` finds the file without `-f`.
pub fn import_next_steps(imported: &Imported, dest: Option<&Path>, default_file: bool) -> String {
    let join = |providers: &[Provider]| providers.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ");
    let mut s = String::new();
    let what = match dest {
        Some(path) => format!("Wrote {}", path.display()),
        None => "Printed the file on stdout".to_string(),
    };
    let mut written: Vec<String> = imported.present.iter().map(|p| p.key().to_string()).collect();
    if imported.sip {
        written.push(crate::sip::SIP.to_string());
    }
    if let Some(n) = imported.registrations {
        written.push(format!("{} ({n})", crate::sip::REGISTRATIONS));
    }
    let _ = writeln!(s, "{what}: {} (identifiers and settings; secrets only as references).", written.join(", "));
    if !imported.absent.is_empty() {
        let _ = writeln!(s, "Left out, so unmanaged: {} (not configured on the account).", join(&imported.absent));
    }
    let plan = match dest {
        Some(path) if !default_file => format!("reconcile plan -f {}", path.display()),
        _ => "reconcile plan".to_string(),
    };
    let _ = writeln!(s, "Next steps:");
    let mut n = 1;
    if dest.is_none() {
        let _ = writeln!(s, "  {n}. Save it as telephony.yaml.");
        n += 1;
    }
    match &imported.sops {
        Some(sops) => {
            let _ = writeln!(
                s,
                "  {n}. Put the real secrets in the SOPS file {}, under the keys {} (`sops edit {}`; the written file's \
                 header shows the layout), and set {DEFAULT_API_KEY_ENV} (in CI, from its secret store, beside the key \
                 sops decrypts with).",
                sops.file,
                sops.keys.join(", "),
                sops.file
            );
        }
        None => {
            let secrets = &imported.variables[1..];
            let _ = writeln!(
                s,
                "  {n}. Set {} to the real secret{} (in CI, from its secret store, with {DEFAULT_API_KEY_ENV}).",
                secrets.join(", "),
                if secrets.len() == 1 { "" } else { "s" }
            );
        }
    }
    let _ = writeln!(
        s,
        "  {}. Run `{plan}`: it should say \"No changes\"; a secret it would send holds another value than the \
         account's.",
        n + 1
    );
    let _ = write!(s, "  {}. Commit the file (it holds no secret).", n + 2);
    s
}

/// With several files: the heading above each file's part of the text output.
pub fn heading(file: &str, p: Palette) -> String {
    p.bold(&format!("=== {file} ==="))
}

/// With several files: the line under a failed file's heading on stdout (the error itself is on stderr).
pub fn failed_line(p: Palette) -> String {
    format!("{}\n", p.error("Failed: the error is on stderr."))
}

/// Under a file's heading: the run was stopped by a signal before this file was started.
pub fn not_started_line(signal: crate::stop::Signal, p: Palette) -> String {
    format!("{}\n", p.error(&format!("Not started: the run was interrupted ({signal}) before this file.")))
}

/// On stderr, once: the files a signal kept from starting.
pub fn not_started(signal: crate::stop::Signal, files: &[&str]) -> String {
    let (count, them) = if files.len() == 1 {
        ("1 file was".to_string(), "its account")
    } else {
        (format!("{} files were", files.len()), "their accounts")
    };
    format!("interrupted ({signal}): {count} not started, and nothing was sent to {them}: {}", files.join(", "))
}

/// What a command did with each of several files, for the overall summary.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub files: usize,
    /// Files whose plan had changes (or, for apply, that were written).
    pub changed: usize,
    pub counts: Counts,
    /// The files that failed, in file order.
    pub failed: Vec<String>,
}

impl Tally {
    pub fn plan(&mut self, plan: &Plan) {
        self.files += 1;
        if !plan.is_empty() {
            self.changed += 1;
            self.counts.add(plan.counts());
        }
    }

    pub fn failure(&mut self, file: &str) {
        self.files += 1;
        self.failed.push(file.to_string());
    }

    pub fn valid(&mut self) {
        self.files += 1;
    }
}

/// The closing line of several files' plans (`applied`: of apply's report).
pub fn overall(tally: &Tally, applied: bool, p: Palette) -> String {
    format!("{} {}.", p.bold("Overall:"), overall_counts(tally, applied, p))
}

/// Several files' counts: `3 files: 1 with changes (1 to create, 0 to update, 0 to delete), 1 without changes, 1
/// failed (FILE)`.
pub fn overall_counts(tally: &Tally, applied: bool, p: Palette) -> String {
    let c = &tally.counts;
    let unchanged = tally.files - tally.changed - tally.failed.len();
    let mut parts = Vec::new();
    if tally.changed > 0 {
        parts.push(if applied {
            format!("{} applied ({})", tally.changed, view::done_phrase(*c))
        } else {
            format!("{} with changes ({})", tally.changed, view::counts_phrase(*c, &|_, n| n))
        });
    }
    if unchanged > 0 {
        parts.push(format!("{unchanged} without changes"));
    }
    if !tally.failed.is_empty() {
        parts.push(p.error(&format!("{} failed ({})", tally.failed.len(), tally.failed.join(", "))));
    }
    format!("{} file{}: {}", tally.files, if tally.files == 1 { "" } else { "s" }, parts.join(", "))
}

/// Why `plan --out` saved nothing with several files.
pub fn not_saved(path: &Path, failed: usize) -> String {
    format!(
        "the plan was not saved to {}: {failed} file{} failed, and a saved plan covers every file",
        path.display(),
        if failed == 1 { "" } else { "s" }
    )
}

/// The closing line of `validate` with several files.
pub fn overall_valid(tally: &Tally) -> String {
    if tally.failed.is_empty() {
        format!("All {} files are valid.", tally.files)
    } else {
        let bad = tally.failed.len();
        format!(
            "{} of {} files are valid; {bad} {} not: {}.",
            tally.files - bad,
            tally.files,
            if bad == 1 { "is" } else { "are" },
            tally.failed.join(", ")
        )
    }
}
