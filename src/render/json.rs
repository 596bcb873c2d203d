//! The plan as JSON (`--format json`): a stable, versioned document for scripts and CI, from the same view of the
//! plan as text and Markdown ([`super::view`]: its notes say what the text says). Its JSON Schema is
//! `schema/plan.schema.json`, generated from these types (`reconcile schema --for plan`). Also `validate --format
//! json`'s document (`schema/validate.schema.json`), and every problem of a file as a [`DiagnosticReport`]: its
//! stable code and its place, for scripts and CI annotations.
//!
//! Non-secret fields carry `before`/`after`; secret fields carry only a `status`. Never a secret value or a prefix: a
//! string of either side that holds a secret of the run is shown as `[hidden: holds part of a secret]` in its place
//! ([`crate::shown`]), still a string. A file that manages the SIP settings adds `sip` and `sipRegistrations`, in
//! the same shape. Every document is serialised with each control or invisible character escaped
//! ([`crate::clean::to_json_pretty`]), and never rewritten afterwards: it always parses.
//! `driftFingerprint` (per file, and over several files) comes from [`crate::drift`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::apply::ApplyError;
use crate::config::{Code, ConfigError};
use crate::diff::{ProviderPlan, RegistrationPlan, SipPlan};
use crate::endpoints::Family;
use crate::plan::{Counts, Plan, Request, Subject};
use crate::provider::Provider;
use crate::render::view::{self, Note, View};

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
    /// A stable digest of what differs: per provider (SIP config, SIP registration) to be written, its action and each
    /// field's kind of change (never a value, a prefix or a secret). The same differences give the same fingerprint on every run; other
    /// differences another. 64 hexadecimal characters; present only when the plan has changes. CI uses it to tell a
    /// drift already reported from a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_fingerprint: Option<String>,
    /// The endpoint family the plan's requests go through (`--endpoints`). Absent only in a failure document printed
    /// before the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Family>,
    /// One entry per provider: twilio, telnyx, plivo, in that order. A string value (an identifier, an agent ID, a
    /// mapping's key or value) that holds a secret of the run is `[hidden: holds part of a secret]` in its place, whole
    /// (a mapping's hidden keys numbered: `[hidden: holds part of a secret] (2)`). Absent only in a failure document
    /// printed before the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<Vec<ProviderPlan>>,
    /// The account's SIP config: present when the file manages it (`sip:`). A string value (a CIDR range, an
    /// allowance's agent ID or pattern, the fallback handler's URL, the domain) that holds a secret of the run is
    /// `[hidden: holds part of a secret]` in its place, as in `providers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipPlan>,
    /// The account's SIP registrations: present when the file manages them (`sipRegistrations:`), the declared ones
    /// in file order, then those to delete (a username, proxy, outboundProxy, authUser or registrationId that holds a
    /// secret of the run hidden, as in `providers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_registrations: Option<Vec<RegistrationPlan>>,
    /// The requests apply sends, in send order: method, path (under the API root) and the body's top-level field
    /// names, never values. Empty when there is nothing to do; absent only in a failure document printed before the
    /// plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<Request>>,
    /// For agents the file names by `{ agent: NAME }`: their names, by agent ID (a name or ID that holds a secret of
    /// the run is hidden, as in `providers`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_names: BTreeMap<String, String>,
    /// What the plan says beside its changes, as the text output says it (absent when it says nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<PlanNote>,
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

/// A note of the plan: its kind, for scripts, and the sentence a person reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanNote {
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NoteKind {
    /// Secrets the API gave no prefix for (`summary.unverifiable`): the message says when such a secret is sent.
    Unverifiable,
    /// SIP registrations the API reports as not active (`successful: false`): a warning; it changes nothing the plan
    /// does.
    InactiveRegistration,
}

impl PlanNote {
    fn of(note: &Note) -> PlanNote {
        let kind = match note {
            Note::Unverifiable { .. } => NoteKind::Unverifiable,
            Note::Inactive { .. } => NoteKind::InactiveRegistration,
        };
        PlanNote { kind, message: note.words(view::Style::Text) }
    }
}

/// What `apply` did. When it failed part-way, each provider of the plan's requests is in one of `written`,
/// `inDoubt`, `failed` and `notWritten`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyReport {
    /// `applied` when a write was sent and the account now matches; `nothingToDo` when there was nothing to send;
    /// `failed` when the write failed or could not be checked (see `error`).
    pub status: ApplyStatus,
    /// The providers written (the API answered that the write was done), in send order.
    pub written: Vec<Provider>,
    /// The SIP config and registrations written, in send order (`sip`, `registration USERNAME@PROXY`); absent when
    /// none was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub written_sip: Vec<Subject>,
    /// The providers whose write may or may not have landed: its answer was lost and could not be read back, or the
    /// run was interrupted while it was in flight. `reconcile plan` shows the account as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_doubt: Vec<Provider>,
    /// The SIP config or registration whose write may or may not have landed, as `inDoubt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_doubt_sip: Vec<Subject>,
    /// The providers whose write failed: the API said it was not done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Provider>,
    /// The SIP config or registration whose write failed, as `failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_sip: Vec<Subject>,
    /// The providers the plan was to write that were not sent, because an earlier request failed or the run was
    /// interrupted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_written: Vec<Provider>,
    /// The SIP config and registrations the plan was to write that were not sent, as `notWritten`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_written_sip: Vec<Subject>,
}

/// Subjects split into the providers (in `written`, `inDoubt`...) and the SIP ones (in `writtenSip`, ...), each in
/// send order.
fn split(subjects: Vec<Subject>) -> (Vec<Provider>, Vec<Subject>) {
    let mut providers = Vec::new();
    let mut sip = Vec::new();
    for subject in subjects {
        match subject {
            Subject::Provider(p) => providers.push(p),
            other => sip.push(other),
        }
    }
    (providers, sip)
}

impl ApplyReport {
    fn new(status: ApplyStatus, written: Vec<Subject>) -> ApplyReport {
        ApplyReport::with_fates(status, written, Vec::new(), Vec::new(), Vec::new())
    }

    fn with_fates(
        status: ApplyStatus,
        written: Vec<Subject>,
        in_doubt: Vec<Subject>,
        failed: Vec<Subject>,
        not_written: Vec<Subject>,
    ) -> ApplyReport {
        let (written, written_sip) = split(written);
        let (in_doubt, in_doubt_sip) = split(in_doubt);
        let (failed, failed_sip) = split(failed);
        let (not_written, not_written_sip) = split(not_written);
        ApplyReport {
            status,
            written,
            written_sip,
            in_doubt,
            in_doubt_sip,
            failed,
            failed_sip,
            not_written,
            not_written_sip,
        }
    }

    /// Everything written, in send order within each kind: the providers, then the SIP config and registrations.
    pub fn subjects(&self) -> Vec<Subject> {
        self.written.iter().copied().map(Subject::Provider).chain(self.written_sip.iter().cloned()).collect()
    }
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
        let view = View::new(plan, file);
        let Counts { create, update, delete } = view.counts();
        let unverifiable = plan.unverifiable();
        PlanDocument {
            format_version: FORMAT_VERSION,
            file: file.to_string(),
            summary: Some(Summary { has_changes: !plan.is_empty(), create, update, delete, unverifiable }),
            drift_fingerprint: crate::drift::fingerprint(plan),
            endpoints: Some(plan.family()),
            providers: Some(crate::shown::providers(plan.providers())),
            sip: plan.sip().map(crate::shown::sip),
            sip_registrations: plan.registrations().map(crate::shown::registrations),
            requests: Some(view.requests().to_vec()),
            agent_names: crate::shown::agent_names(plan.agent_names()),
            notes: view.notes.iter().map(PlanNote::of).collect(),
            apply: None,
            error: None,
        }
    }

    /// A document for a run that failed before any plan was made.
    pub fn failed_early(file: &str, error: ErrorReport) -> PlanDocument {
        PlanDocument {
            format_version: FORMAT_VERSION,
            file: file.to_string(),
            summary: None,
            drift_fingerprint: None,
            endpoints: None,
            providers: None,
            sip: None,
            sip_registrations: None,
            requests: None,
            agent_names: BTreeMap::new(),
            notes: Vec::new(),
            apply: None,
            error: Some(error),
        }
    }

    /// The plan's document for an apply whose write failed: what was written (and checked) before the failure, what
    /// is in doubt, what failed and what was not sent; `error` says why.
    pub fn with_failure(mut self, error: &ApplyError) -> PlanDocument {
        self.apply = Some(ApplyReport::with_fates(
            ApplyStatus::Failed,
            error.written(),
            error.in_doubt(),
            error.failed(),
            error.not_written(),
        ));
        self.error = Some(ErrorReport::new(error.to_string(), error.hint()));
        self
    }

    pub fn with_apply(mut self, written: Vec<Subject>) -> PlanDocument {
        let status = if written.is_empty() { ApplyStatus::NothingToDo } else { ApplyStatus::Applied };
        self.apply = Some(ApplyReport::new(status, written));
        self
    }
}

/// Renders the document, pretty-printed.
pub fn render(document: &PlanDocument) -> String {
    pretty(document)
}

/// Pretty JSON with every hidden character escaped. Serialising these plain data types (string keys, no floats)
/// cannot fail.
fn pretty<T: Serialize>(document: &T) -> String {
    crate::clean::to_json_pretty(document).expect("a document is plain data")
}

/// What `--format json` prints: one file's [`PlanDocument`], or, with several files, a [`SeveralDocument`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "reconcile plan")]
pub enum JsonOutput {
    One(Box<PlanDocument>),
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
    Planned(Box<PlanDocument>),
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
    /// When the failure is problems in a declaration file (the file's rules, or its references when resolved):
    /// each problem, located, in file order. `message` shows them as stderr does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticReport>,
}

impl ErrorReport {
    /// A failure that is not about a file's content.
    pub fn new(message: String, hint: Option<String>) -> ErrorReport {
        ErrorReport { message, hint, diagnostics: Vec::new() }
    }
}

/// One problem in a declaration file, placed so that a script or a CI annotation can point at it
/// (`::error file=FILE,line=LINE,col=COLUMN::MESSAGE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnosticReport {
    /// The problem's stable code, as in `error[CODE]` on stderr.
    pub code: Code,
    /// The declaration file, as given on the command line or found in a folder.
    pub file: String,
    /// The 1-based line; absent for a problem of the whole file (it is empty, missing, or a reference the file does
    /// not write, such as the default API key variable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The 1-based column, in characters; present with `line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// The field path, e.g. `twilio.callCreationAllowedAgentIds[2]`; absent for the document itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl DiagnosticReport {
    /// Every problem of a file, in the order stderr shows them.
    pub fn list(error: &ConfigError) -> Vec<DiagnosticReport> {
        let file = error.file.display().to_string();
        error
            .diagnostics
            .iter()
            .map(|d| DiagnosticReport {
                code: d.code,
                file: file.clone(),
                line: d.loc.map(|l| l.line),
                column: d.loc.map(|l| l.column),
                path: (!d.path.is_empty()).then(|| d.shown_path().into_owned()),
                message: d.shown_message().into_owned(),
                hint: d.shown_hint().map(|h| h.into_owned()),
            })
            .collect()
    }
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
                    // A file applied part-way carries its plan and its error: it failed.
                    if doc.error.is_some() {
                        summary.failed.push(doc.file.clone());
                    }
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
            FileEntry::Planned(doc) if doc.error.is_none() => {
                Some((doc.file.as_str(), doc.drift_fingerprint.as_deref()))
            }
            FileEntry::Planned(_) | FileEntry::Failed(_) => None,
        }));
        SeveralDocument { format_version: FORMAT_VERSION, summary, drift_fingerprint, files }
    }
}

/// Renders several files' document, pretty-printed.
pub fn render_several(document: &SeveralDocument) -> String {
    pretty(document)
}

/// What `reconcile validate --format json` prints: every file's verdict, each problem located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "reconcile validate")]
pub struct ValidateDocument {
    /// The version of this format; 1.
    pub format_version: u32,
    /// True when every file is valid and no two manage the same provider of one account.
    pub valid: bool,
    /// One entry per file, in file order.
    pub files: Vec<ValidatedFile>,
    /// A failure of the run rather than of one file: two files that manage the same provider of one account, or no
    /// file to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// One file's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatedFile {
    /// The declaration file, as given on the command line or found in a folder.
    pub file: String,
    pub valid: bool,
    /// The providers the file manages (declares as a block or `null`), when it is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<Vec<Provider>>,
    /// The SIP settings the file manages (`sip`, `sipRegistrations`), when it is valid; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_sip: Vec<String>,
    /// The file's problems, in file order; absent when it is valid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticReport>,
}

impl ValidateDocument {
    pub fn new(files: Vec<ValidatedFile>, error: Option<ErrorReport>) -> ValidateDocument {
        let valid = error.is_none() && files.iter().all(|f| f.valid);
        ValidateDocument { format_version: FORMAT_VERSION, valid, files, error }
    }
}

/// Renders `validate`'s document, pretty-printed.
pub fn render_validate(document: &ValidateDocument) -> String {
    pretty(document)
}

/// The JSON Schema of [`JsonOutput`], as committed in `schema/plan.schema.json`.
pub fn schema() -> String {
    pretty_schema(schemars::schema_for!(JsonOutput))
}

/// The JSON Schema of [`ValidateDocument`], as committed in `schema/validate.schema.json`.
pub fn validate_schema() -> String {
    pretty_schema(schemars::schema_for!(ValidateDocument))
}

fn pretty_schema(schema: schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON Schema is plain JSON");
    text.push('\n');
    text
}
