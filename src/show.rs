//! `reconcile show JSONPLAN`: a JSON plan document (what `plan --format json` or `apply --format json` printed)
//! shown again as text, as Markdown, or as GitLab's Terraform report, without reading any file or the network.
//!
//! CI needs one run's result in several forms: the JSON for outputs and artifacts, the Markdown for a comment and
//! the job summary, the counts for GitLab's merge-request widget (`artifacts:reports:terraform`). Running `plan`
//! once per form would read the account several times (and the forms could disagree if it changed in between), and
//! `apply` cannot be run twice. So a run prints JSON, and `show` renders that one document through the same
//! renderers the run would have used. The document holds no secret and no prefix (it is the run's own output), and
//! what `show` prints goes through the same output path as everything else.
//!
//! `--format gitlab` prints `{"create": N, "update": N, "delete": N}`, the shape GitLab reads from a Terraform plan
//! report (the same numbers as `jq '.summary | {create, update, delete}'`).

use std::io::Read;
use std::path::Path;

use crate::error::Error;
use crate::plan::Plan;
use crate::render::json::{ApplyStatus, FileEntry, JsonOutput, PlanDocument};
use crate::render::markdown::{self, FileResult};
use crate::render::report::{self, Tally};
use crate::render::{self, Output, Palette};

/// How `show` prints the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// As `--format text` would have printed it.
    Text,
    /// As `--format markdown` would have printed it (a pull-request comment, a job summary).
    Markdown,
    /// GitLab's Terraform report for the merge-request widget: `{"create": N, "update": N, "delete": N}`.
    Gitlab,
}

/// Reads the document at `path` (`-`: standard input) and prints it in `format` on stdout.
pub fn show(path: &Path, format: ShowFormat, out: Output) -> Result<(), Error> {
    let shown = path.display().to_string();
    let text = read(path).map_err(|reason| Error::ShowRead { path: shown.clone(), reason })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::NotAPlan { path: shown.clone(), reason: e.to_string() })?;
    if value.get("planFileVersion").is_some() {
        return Err(Error::SavedPlanShown { path: shown });
    }
    let document: JsonOutput = serde_json::from_value(value).map_err(|_| Error::NotAPlan {
        path: shown.clone(),
        reason: format!(
            "it does not match the plan document of this version (formatVersion {}, schema/plan.schema.json)",
            render::json::FORMAT_VERSION
        ),
    })?;
    match format {
        ShowFormat::Gitlab => out.document(&gitlab(&document, &shown)?),
        ShowFormat::Markdown => out.document(&markdown_of(&document)),
        ShowFormat::Text => out.data(&text_of(&document, out.stdout)),
    }
    Ok(())
}

/// The document's text: standard input for `-`, else a regular file (a FIFO or a device is refused at once, never
/// waited on), never read past the cap a saved plan has.
fn read(path: &Path) -> Result<String, String> {
    let limit = crate::planfile::MAX_PLAN_FILE_BYTES;
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes).map_err(|e| e.kind().to_string())?;
        if bytes.len() as u64 > limit {
            return Err(format!("it is larger than {limit} bytes"));
        }
        bytes
    } else {
        crate::files::read_regular(path, limit).map_err(|e| e.to_string())?
    };
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

/// One file of several: its name, and its plan with apply's report line, or its error.
type FileShown = (String, Result<(Plan, Option<String>), String>);

/// The plan a document holds, as the run had it; `None` for a document of a run that failed before planning.
fn plan_of(doc: &PlanDocument) -> Option<Plan> {
    Some(
        Plan::shown(
            doc.endpoints.unwrap_or_default(),
            doc.providers.clone()?,
            doc.requests.clone().unwrap_or_default(),
            doc.agent_names.clone(),
        )
        .with_sip(doc.sip.clone(), doc.sip_registrations.clone()),
    )
}

/// Apply's report line, for a document of a successful apply.
fn applied_line(doc: &PlanDocument, plan: &Plan) -> Option<String> {
    let apply = doc.apply.as_ref()?;
    (apply.status != ApplyStatus::Failed).then(|| report::applied_line(plan, &apply.subjects()))
}

/// The error of a document, as it read on stderr: message, then the hint.
fn error_of(doc: &PlanDocument) -> Option<String> {
    let error = doc.error.as_ref()?;
    Some(match &error.hint {
        Some(hint) => format!("{}\n\nhint: {hint}", error.message),
        None => error.message.clone(),
    })
}

/// HTML-escapes a line for a `<pre>` block.
fn pre(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn markdown_of(document: &JsonOutput) -> String {
    match document {
        JsonOutput::One(doc) => {
            let Some(plan) = plan_of(doc) else {
                return format!(
                    "{}\n### reconcile: failed\n\n<pre>{}</pre>\n",
                    markdown::MARKER,
                    pre(&error_of(doc).unwrap_or_default())
                );
            };
            let mut text = markdown::render(&plan, &doc.file);
            if let Some(line) = applied_line(doc, &plan) {
                text.push_str(&format!("\n**{line}**\n"));
            }
            if let Some(error) = error_of(doc) {
                text.push_str(&format!("\n**Apply failed:**\n\n<pre>{}</pre>\n", pre(&error)));
            }
            text
        }
        JsonOutput::Several(several) => {
            let plans: Vec<FileShown> = several
                .files
                .iter()
                .map(|entry| match entry {
                    // A file applied part-way failed: as the run's own Markdown, its error.
                    FileEntry::Planned(doc) if doc.error.is_some() => {
                        (doc.file.clone(), Err(error_of(doc).unwrap_or_default()))
                    }
                    FileEntry::Planned(doc) => match plan_of(doc) {
                        Some(plan) => {
                            let line = applied_line(doc, &plan);
                            (doc.file.clone(), Ok((plan, line)))
                        }
                        None => (doc.file.clone(), Err(error_of(doc).unwrap_or_default())),
                    },
                    FileEntry::Failed(failed) => {
                        let message = match &failed.error.hint {
                            Some(hint) => format!("{}\n\nhint: {hint}", failed.error.message),
                            None => failed.error.message.clone(),
                        };
                        (failed.file.clone(), Err(message))
                    }
                })
                .collect();
            let (tally, applied) = tally_of(&plans);
            let files: Vec<(String, FileResult<'_>)> = plans
                .iter()
                .map(|(file, result)| {
                    let entry = match result {
                        Ok((plan, line)) => FileResult::Planned { plan, applied: line.clone() },
                        Err(message) => FileResult::Failed { message },
                    };
                    (file.clone(), entry)
                })
                .collect();
            markdown::render_several(&files, &report::overall_counts(&tally, applied, Palette::plain()))
        }
    }
}

/// The run's tally, rebuilt from its files; and whether it was an apply's.
fn tally_of(plans: &[FileShown]) -> (Tally, bool) {
    let mut tally = Tally::default();
    let mut applied = false;
    for (file, result) in plans {
        match result {
            Ok((plan, line)) => {
                tally.plan(plan);
                applied |= line.is_some();
            }
            Err(_) => tally.failure(file),
        }
    }
    (tally, applied)
}

fn text_of(document: &JsonOutput, p: Palette) -> String {
    let one = |doc: &PlanDocument| -> String {
        let mut text = String::new();
        if let Some(plan) = plan_of(doc) {
            text.push_str(&render::text::render(&plan, &doc.file, p));
            if let Some(line) = applied_line(doc, &plan) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        if let Some(error) = error_of(doc) {
            text.push_str(&format!("{} {error}\n", p.error("error:")));
        }
        text
    };
    match document {
        JsonOutput::One(doc) => one(doc),
        JsonOutput::Several(several) => {
            let mut text = String::new();
            let mut plans = Vec::new();
            for (i, entry) in several.files.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                let (file, part, result) = match entry {
                    FileEntry::Planned(doc) => {
                        let result = match plan_of(doc) {
                            Some(plan) if doc.error.is_none() => {
                                let line = applied_line(doc, &plan);
                                Ok((plan, line))
                            }
                            _ => Err(String::new()),
                        };
                        (doc.file.clone(), one(doc), result)
                    }
                    FileEntry::Failed(failed) => {
                        let mut part = format!("{} {}\n", p.error("error:"), failed.error.message);
                        if let Some(hint) = &failed.error.hint {
                            part.push_str(&format!("\n{} {hint}\n", p.hint("hint:")));
                        }
                        (failed.file.clone(), part, Err(String::new()))
                    }
                };
                text.push_str(&report::heading(&file, p));
                text.push('\n');
                text.push_str(&part);
                plans.push((file, result));
            }
            let (tally, applied) = tally_of(&plans);
            text.push('\n');
            text.push_str(&report::overall(&tally, applied, p));
            text.push('\n');
            text
        }
    }
}

/// GitLab's Terraform report: the counts of the plan (of every file's, with several).
fn gitlab(document: &JsonOutput, path: &str) -> Result<String, Error> {
    let (create, update, delete) = match document {
        JsonOutput::One(doc) => match &doc.summary {
            Some(s) => (s.create, s.update, s.delete),
            None => {
                return Err(Error::NoPlanToCount {
                    path: path.to_string(),
                    message: doc.error.as_ref().map(|e| e.message.clone()).unwrap_or_default(),
                });
            }
        },
        JsonOutput::Several(several) => (several.summary.create, several.summary.update, several.summary.delete),
    };
    Ok(format!("{{\"create\": {create}, \"update\": {update}, \"delete\": {delete}}}"))
}
