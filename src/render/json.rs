//! The plan as JSON (`--format json`): a stable, versioned document for scripts and CI. Its JSON Schema is
//! `schema/plan.schema.json`, generated from these types (`reconcile schema --for plan`).
//!
//! Non-secret fields carry `before`/`after`; secret fields carry only a `status`. Never a value or a prefix.
//! `driftFingerprint` (per file, and over several files) comes from [`crate::drift`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{Counts, Plan, ProviderPlan};
use crate::endpoints::PlannedRequest;
use crate::provider::Provider;

/// The version of this JSON format. Raised only for changes that could break a reader.
pub const FORMAT_VERSION: u32 = 1;

/// A plan (and, for `apply`, what was applied), as `reconcile plan --format json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "reconcile plan of one file")]
pub struct PlanDocument {
    /// The version of this format; 1.
    pub format_version: u32,
    /// The declaration file the plan was made from, as given on the command line.
    pub file: String,
    /// Absent only in a failure document printed before the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// A stable digest of what differs: per provider to be written, its action and each field's kind of change
    /// (never a value, a prefix or a secret). The same differences give the same fingerprint on every run; other
    /// differences another. 64 hexadecimal characters; present only when the plan has changes. CI uses it to tell a
    /// drift already reported from a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_fingerprint: Option<String>,
    /// One entry per provider: twilio, telnyx, plivo, in that order. Absent only in a failure document printed
    /// before the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<Vec<ProviderPlan>>,
    /// The requests apply sends, in send order: method, path (under the API root) and the body's top-level field
    /// names, never values. Empty when there is nothing to do; absent only in a failure document printed before the
    /// plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<PlannedRequest>>,
    /// For agents the file names by `{ agent: NAME }`: their names, by agent ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_names: BTreeMap<String, String>,
    /// Present in `apply`'s report: what the write did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<ApplyReport>,
    /// Present when the command failed: what went wrong (the same text as on stderr). Exit code 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// Counts of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Summary {
    /// True when applying would send a write.
    pub has_changes: bool,
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    /// Secret fields (`provider.field`) whose remote prefix proves nothing; not sent unless rotated.
    pub unverifiable: Vec<String>,
}

/// What `apply` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyReport {
    /// `applied` when a write was sent and the account now matches; `nothingToDo` when there was nothing to send;
    /// `failed` when the write failed or could not be checked (see `error`).
    pub status: ApplyStatus,
    /// The providers written, in send order.
    pub written: Vec<Provider>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ApplyStatus {
    Applied,
    NothingToDo,
    Failed,
}

impl PlanDocument {
    pub fn new(plan: &Plan, file: &str) -> PlanDocument {
        let Counts { create, update, delete } = plan.counts();
        let unverifiable = plan.unverifiable();
        PlanDocument {
            format_version: FORMAT_VERSION,
            file: file.to_string(),
            summary: Some(Summary { has_changes: !plan.is_empty(), create, update, delete, unverifiable }),
            drift_fingerprint: crate::drift::fingerprint(plan),
            providers: Some(plan.providers.clone()),
            requests: Some(plan.requests.clone()),
            agent_names: plan.agent_names.clone(),
            apply: None,
            error: None,
        }
    }

    /// A document for a run that failed before any plan was made.
    pub fn failed_early(file: &str, message: String, hint: Option<String>) -> PlanDocument {
        PlanDocument {
            format_version: FORMAT_VERSION,
            file: file.to_string(),
            summary: None,
            drift_fingerprint: None,
            providers: None,
            requests: None,
            agent_names: BTreeMap::new(),
            apply: None,
            error: Some(ErrorReport { message, hint }),
        }
    }

    /// The plan's document for an apply whose write failed: `written` lists the providers written (and checked)
    /// before the failure, which only provider-scoped writes can have; `error` says why.
    pub fn with_failure(mut self, written: Vec<Provider>, message: String, hint: Option<String>) -> PlanDocument {
        self.apply = Some(ApplyReport { status: ApplyStatus::Failed, written });
        self.error = Some(ErrorReport { message, hint });
        self
    }

    pub fn with_apply(mut self, written: Vec<Provider>) -> PlanDocument {
        let status = if written.is_empty() { ApplyStatus::NothingToDo } else { ApplyStatus::Applied };
        self.apply = Some(ApplyReport { status, written });
        self
    }
}

/// Renders the document, pretty-printed.
pub fn render(document: &PlanDocument) -> String {
    // Serialising plain data types cannot fail.
    serde_json::to_string_pretty(document).expect("a plan document is plain data")
}

/// What `--format json` prints: one file's [`PlanDocument`], or, with several files, a [`SeveralDocument`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "reconcile plan")]
pub enum JsonOutput {
    One(PlanDocument),
    Several(SeveralDocument),
}

/// Several files' plans (and apply's reports), as `reconcile plan --format json -f A -f B` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeveralDocument {
    /// The version of this format; 1.
    pub format_version: u32,
    pub summary: OverallSummary,
    /// Over every file: a stable digest of each file with changes (its name and its own `driftFingerprint`). The
    /// same differences in the same files give the same fingerprint; present only when some file has changes. A
    /// file that failed is not part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_fingerprint: Option<String>,
    /// One entry per file, in file order: its plan document, or why it failed.
    pub files: Vec<FileEntry>,
}

/// One file of several: its plan document, or its failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FileEntry {
    Planned(PlanDocument),
    Failed(FailedFile),
}

/// A file whose plan (or apply) failed; the other files went on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedFile {
    /// The declaration file, as given on the command line or found in a folder.
    pub file: String,
    pub error: ErrorReport,
}

/// Why a command (or one file's part of it) failed, as a person would read it on stderr, without colour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorReport {
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Counts over every file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverallSummary {
    pub files: usize,
    /// True when any file's plan has changes.
    pub has_changes: bool,
    /// Files whose plan has changes.
    pub with_changes: usize,
    /// The files that failed, in file order.
    pub failed: Vec<String>,
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl SeveralDocument {
    pub fn new(files: Vec<FileEntry>) -> SeveralDocument {
        let mut summary = OverallSummary {
            files: files.len(),
            has_changes: false,
            with_changes: 0,
            failed: Vec::new(),
            create: 0,
            update: 0,
            delete: 0,
        };
        for entry in &files {
            match entry {
                FileEntry::Planned(doc) => {
                    let Some(planned) = &doc.summary else { continue };
                    if planned.has_changes {
                        summary.has_changes = true;
                        summary.with_changes += 1;
                    }
                    summary.create += planned.create;
                    summary.update += planned.update;
                    summary.delete += planned.delete;
                }
                FileEntry::Failed(failed) => summary.failed.push(failed.file.clone()),
            }
        }
        let drift_fingerprint = crate::drift::overall(files.iter().filter_map(|entry| match entry {
            FileEntry::Planned(doc) => Some((doc.file.as_str(), doc.drift_fingerprint.as_deref())),
            FileEntry::Failed(_) => None,
        }));
        SeveralDocument { format_version: FORMAT_VERSION, summary, drift_fingerprint, files }
    }
}

/// Renders several files' document, pretty-printed.
pub fn render_several(document: &SeveralDocument) -> String {
    serde_json::to_string_pretty(document).expect("plain data types serialise")
}

/// The JSON Schema of [`JsonOutput`], as committed in `schema/plan.schema.json`.
pub fn schema() -> String {
    let schema = schemars::schema_for!(JsonOutput);
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON Schema is plain JSON");
    text.push('\n');
    text
}
