//! Each file's result, in file order, and how a run shows them: the one place that knows one file from several.
//!
//! A run of one file (a single `-f FILE`, or none) prints exactly what a one-file run always has: its messages as
//! they come, the plan in its format, no heading and no overall line; a failure ends the run with that file's error
//! (printed by `main`, exit 1). With several, each file's part sits under a heading (text) and is printed in its
//! turn, a failure is reported under its file and the others go on, and an overall summary closes the run (JSON and
//! Markdown: one document, assembled at the end).

use crate::error::{Error, Outcome};
use crate::plan::Plan;
use crate::plan::Subject;
use crate::planfile::PlanFile;
use crate::render::json::{ErrorReport, FailedFile, FileEntry, PlanDocument, SeveralDocument};
use crate::render::markdown::FileResult;
use crate::render::report::{self, Tally};
use crate::render::{self, Buffer, Format, Output};

/// What one file's unit of work did.
pub(super) struct FileDone {
    pub plan: Plan,
    /// For apply: what was written (empty: nothing to do).
    pub written: Option<Vec<Subject>>,
    /// For `plan --out`: this file's part of the saved plan.
    pub saved: Option<PlanFile>,
}

/// The format a unit shows its file in as it goes; `None` when several files' JSON or Markdown is assembled at the
/// end instead.
pub(super) type Shown = Option<Format>;

/// Makes the [`Buffer`] a unit of work writes its messages to: printed as they come with one file, kept for the
/// file's turn with several.
#[derive(Clone, Copy)]
pub(super) struct Sinks {
    out: Output,
    direct: bool,
}

impl Sinks {
    pub fn buffer(self) -> Buffer {
        if self.direct { Buffer::direct(self.out) } else { Buffer::new(self.out) }
    }
}

type MarkdownEntry = (String, Result<(Plan, Option<String>), String>);

/// Which command reports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Validate,
    Plan,
    /// Apply's report says what was written rather than planned.
    Apply,
}

/// Collects the files' results and prints them in file order.
pub(super) struct Reporter {
    out: Output,
    format: Format,
    several: bool,
    command: Command,
    tally: Tally,
    json: Vec<FileEntry>,
    /// Each file, and its plan with apply's report line, or its error message.
    markdown: Vec<MarkdownEntry>,
    printed: usize,
    /// With one file: its error, which ends the run.
    error: Option<Error>,
    /// With several: the files not started because a signal stopped the run (said once, at the end, on stderr).
    not_started: Vec<(String, crate::stop::Signal)>,
}

impl Reporter {
    pub fn new(out: Output, format: Format, several: bool, command: Command) -> Reporter {
        Reporter {
            out,
            format,
            several,
            command,
            tally: Tally::default(),
            json: Vec::new(),
            markdown: Vec::new(),
            printed: 0,
            error: None,
            not_started: Vec::new(),
        }
    }

    pub fn sinks(&self) -> Sinks {
        Sinks { out: self.out, direct: !self.several }
    }

    /// How a unit shows its file: in the run's format with one file; with several, text as it goes (into its
    /// buffer), JSON and Markdown at the end, whole.
    pub fn shown(&self) -> Shown {
        if self.several { (self.format == Format::Text).then_some(Format::Text) } else { Some(self.format) }
    }

    /// The heading above a file's part of the text output (several files only).
    pub fn heading(&mut self, file: &str) {
        if !self.several || self.format != Format::Text {
            return;
        }
        let p = self.out.stdout;
        self.out.data(&format!("{}{}", if self.printed > 0 { "\n" } else { "" }, report::heading(file, p)));
        self.printed += 1;
    }

    /// A plan made before apply's question: shown now, in the way [`Reporter::shown`] says.
    pub fn before_question(&mut self, file: &str, plan: &Plan) {
        if let Some(format) = self.shown() {
            self.heading(file);
            report::before_apply(&mut { self.out }, plan, file, format);
        }
    }

    /// A file that passed a check (`validate`, or a saved plan's file checked before anything is sent).
    pub fn passed(&mut self) {
        self.tally.valid();
    }

    /// A file's failure, for checks made before anything is shown: with several, on stderr only, naming the file.
    pub fn failure_only(&mut self, file: &str, error: Error) {
        self.tally.failure(file);
        if !self.several {
            self.error = Some(error);
            return;
        }
        let mut out = self.out;
        match &error {
            Error::Config(_) => report::error(&mut out, &error),
            other => out.error(&format!("{file}: {other}"), other.hint().as_deref()),
        }
    }

    /// One file's messages and result, in its turn. `show_plan`: the unit did not show the plan itself.
    pub fn file(&mut self, file: &str, buffer: Buffer, result: Result<FileDone, Error>, show_plan: bool) {
        let mut out = self.out;
        self.heading(file);
        buffer.print();
        let done = match result {
            Ok(done) => done,
            Err(error) if !self.several => return self.failure_only(file, error),
            Err(Error::NotStarted { signal }) => {
                // Under its heading; on stderr, all such files are named once at the end.
                if self.format == Format::Text {
                    out.data(&report::not_started_line(signal, out.stdout));
                }
                self.tally.failure(file);
                self.not_started.push((file.to_string(), signal));
                let failure = report::error_report(&Error::NotStarted { signal });
                return self.collect(file, Err(failure));
            }
            Err(error) => {
                if self.format == Format::Text {
                    out.data(&report::failed_line(out.stdout));
                }
                // Every value shown is checked against every secret the process read, whichever file it came from.
                let failure = report::error_report(&error);
                match &error {
                    Error::Config(_) => report::error(&mut out, &error),
                    // Under its heading on stdout, but stderr may be read apart: the message names the file.
                    _ => out.error(&format!("{file}: {}", failure.message), failure.hint.as_deref()),
                }
                self.tally.failure(file);
                // A file applied part-way is its plan's document, with what was written, in doubt and not written,
                // exactly as a one-file run prints it.
                if let (Format::Json, Error::ApplyFailed(failed)) = (self.format, &error) {
                    let doc = PlanDocument::new(&failed.plan, file).with_failure(&failed.error);
                    return self.json.push(FileEntry::Planned(Box::new(doc)));
                }
                return self.collect(file, Err(failure));
            }
        };
        if show_plan && let Some(format) = self.shown() {
            report::show(&mut out, &done.plan, file, format, None);
        }
        self.tally.plan(&done.plan);
        if self.several {
            self.collect(file, Ok((done.plan, done.written)));
        }
    }

    fn collect(&mut self, file: &str, result: Result<(Plan, Option<Vec<Subject>>), ErrorReport>) {
        match self.format {
            Format::Text => {}
            Format::Json => self.json.push(match result {
                Ok((plan, written)) => {
                    let doc = PlanDocument::new(&plan, file);
                    FileEntry::Planned(Box::new(match written {
                        Some(written) => doc.with_apply(written),
                        None => doc,
                    }))
                }
                Err(error) => FileEntry::Failed(FailedFile { file: file.to_string(), error }),
            }),
            Format::Markdown => self.markdown.push((
                file.to_string(),
                result
                    .map(|(plan, written)| {
                        let line = written.map(|w| report::applied_line(&plan, &w));
                        (plan, line)
                    })
                    .map_err(|e| e.message),
            )),
        }
    }

    /// With several files, prints the overall summary (text) or the whole document (JSON, Markdown) of a plan or an
    /// apply (`validate` closes with [`Finished::valid_summary`]).
    pub fn finish(self) -> Finished {
        let out = self.out;
        if let Some((_, signal)) = self.not_started.first() {
            let files: Vec<&str> = self.not_started.iter().map(|(file, _)| file.as_str()).collect();
            out.error(&report::not_started(*signal, &files), Some("run the command again when you are ready"));
        }
        let applied = self.command == Command::Apply;
        if self.several && self.command != Command::Validate {
            match self.format {
                Format::Text => out.data(&format!("\n{}", report::overall(&self.tally, applied, out.stdout))),
                Format::Json => out.document(&render::json::render_several(&SeveralDocument::new(self.json))),
                Format::Markdown => {
                    let files: Vec<(String, FileResult<'_>)> = self
                        .markdown
                        .iter()
                        .map(|(file, result)| {
                            let entry = match result {
                                Ok((plan, applied)) => FileResult::Planned { plan, applied: applied.clone() },
                                Err(message) => FileResult::Failed { message },
                            };
                            (file.clone(), entry)
                        })
                        .collect();
                    let headline = report::overall_counts(&self.tally, applied, render::Palette::plain());
                    out.document(&render::markdown::render_several(&files, &headline));
                }
            }
        }
        Finished { out, tally: self.tally, several: self.several, error: self.error, conflict: false }
    }

    /// Ends a check of every file made before anything is sent (`apply PLANFILE`): with one file, its failure; with
    /// several, the refusal of the whole when any failed (each was named on stderr).
    pub fn all_passed(self) -> Result<(), Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.tally.failed.len() {
            0 => Ok(()),
            stale => Err(Error::StaleFiles { stale, files: self.tally.files }),
        }
    }
}

/// A run whose files are all reported.
pub(super) struct Finished {
    out: Output,
    pub tally: Tally,
    several: bool,
    error: Option<Error>,
    /// Two files manage the same provider of one account (`validate`).
    conflict: bool,
}

impl Finished {
    /// Whether every file succeeded.
    pub fn all_ok(&self) -> bool {
        self.tally.failed.is_empty()
    }

    /// Says that `plan --out` saved nothing because a file failed (with one file, its error says enough).
    pub fn not_saved(&self, path: &std::path::Path) {
        if self.several {
            self.out.warning(&report::not_saved(path, self.tally.failed.len()));
        }
    }

    /// `validate`'s closing line with several files, and the same-account check's error, if any.
    pub fn valid_summary(&mut self, same_account: Result<(), Error>) {
        if !self.several {
            return;
        }
        self.out.status(&report::overall_valid(&self.tally));
        if let Err(e) = same_account {
            report::error(&mut { self.out }, &e);
            self.conflict = true;
        }
    }

    /// How the run ends: one file's error; or exit 1 if any of several files failed, else 2 with
    /// `--detailed-exitcode` if any has changes, else 0.
    pub fn outcome(self, detailed_exitcode: bool) -> Result<Outcome, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(if !self.tally.failed.is_empty() || self.conflict {
            Outcome::SomeFailed
        } else if detailed_exitcode && self.tally.changed > 0 {
            Outcome::ChangesPresent
        } else {
            Outcome::Success
        })
    }
}
