//! How a run ends: its [`Outcome`] when it succeeds, or the [`Error`] that stopped it (every variant is exit code 1).
//! Shared by the command line (which maps them to exit codes) and the commands (which produce them).

use crate::api::ApiError;
use crate::apply::ApplyError;
use crate::config::ConfigError;
use crate::import::ImportError;
use crate::planfile::StaleError;

/// How a run that was carried out ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// `plan --detailed-exitcode` found changes.
    ChangesPresent,
    /// With several files: at least one failed; each failure was already reported under its file (exit 1).
    SomeFailed,
}

/// An apply whose write failed, with the plan it was applying.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ApplyFailed {
    pub plan: crate::plan::Plan,
    pub error: ApplyError,
}

/// Why a run (or, with several files, one file's part of it) failed. Every variant is exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A write of a file's plan failed: the error, and the plan it was applying (its JSON document reports what was
    /// written, in doubt and not written).
    #[error(transparent)]
    ApplyFailed(Box<ApplyFailed>),
    #[error("interrupted ({signal}) before this file was started; nothing was sent to its account")]
    NotStarted { signal: crate::stop::Signal },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("refusing to apply without confirmation: standard input is not a terminal; nothing was sent")]
    NotATerminal,
    #[error("apply cancelled; nothing was sent")]
    Cancelled,
    #[error("refusing to apply the saved plan: {0}; nothing was sent")]
    Stale(#[from] StaleError),
    #[error(
        "refusing to apply the saved plan: {stale} of its {files} files cannot be applied as planned (see above); nothing was sent"
    )]
    StaleFiles { stale: usize, files: usize },
    #[error(transparent)]
    Write(#[from] crate::files::WriteError),
    #[error("cannot read {path}: {reason}")]
    ShowRead { path: String, reason: String },
    #[error("{path} is not a JSON plan document: {reason}")]
    NotAPlan { path: String, reason: String },
    #[error("{path} is a saved plan (`plan --out`), not a JSON plan document (`plan --format json`)")]
    SavedPlanShown { path: String },
    #[error("{path} holds no plan to count: the run failed before it made one ({message})")]
    NoPlanToCount { path: String, message: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("{path}: {reason}")]
    Files { path: String, reason: String },
    #[error("{first} and {second} both manage {provider} of the same Ultravox account; nothing was sent")]
    SameAccount { provider: String, first: String, second: String },
    #[error("import writes one file from one account, but {count} files were given")]
    ImportSeveral { count: usize },
    #[error("import writes one file, but {path} is a folder (which stands for every telephony.yaml beneath it)")]
    ImportFolder { path: String },
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(_) | Error::Runtime(_) => None,
            Error::Api(e) => e.hint(),
            Error::Apply(e) => e.hint(),
            Error::ApplyFailed(failed) => failed.error.hint(),
            Error::NotStarted { .. } => Some("run the command again when you are ready".into()),
            Error::Import(e) => Some(e.hint()),
            Error::NotATerminal => Some(
                "pass --auto-approve to apply unattended (as in CI), or a plan saved with `reconcile plan --out`"
                    .into(),
            ),
            Error::Cancelled => Some("answer 'yes' to apply, or pass --auto-approve".into()),
            Error::Stale(e) => Some(e.hint()),
            Error::StaleFiles { .. } => Some(
                "make a new plan (`reconcile plan --out PLANFILE`), review it, and apply that one; a saved plan is \
                 applied whole or not at all"
                    .into(),
            ),
            Error::Write(e) => Some(e.hint()),
            Error::ShowRead { .. } | Error::NotAPlan { .. } | Error::SavedPlanShown { .. } => Some(
                "pass what `reconcile plan --format json` (or `apply --format json`) printed, saved to a file, or `-` \
                 to read it from standard input"
                    .into(),
            ),
            Error::NoPlanToCount { .. } => Some("fix the error the document names, then plan again".into()),
            Error::Files { .. } => Some(
                "pass telephony.yaml files, or folders holding files named telephony.yaml (hidden folders are \
                 skipped)"
                    .into(),
            ),
            Error::SameAccount { provider, .. }
                if provider == crate::sip::SIP || provider == crate::sip::REGISTRATIONS =>
            {
                Some(format!(
                    "an account's `{provider}` is declared in one file only: remove it from one of them, or give the \
                     files different account.apiKey references"
                ))
            }
            Error::SameAccount { .. } => Some(
                "a provider of an account is declared in one file only: remove it from one of them, or give the \
                 files different account.apiKey references"
                    .into(),
            ),
            Error::ImportSeveral { .. } | Error::ImportFolder { .. } => {
                Some("pass one -f PATH (or --out PATH) to import into".into())
            }
        }
    }
}
