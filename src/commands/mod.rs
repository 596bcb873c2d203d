//! Running each command over its declaration files: a module per command (`validate`, `plan`, `apply`, `import`).
//! The command line (`cli`) hands over plain settings. Each command is written once over the list of files a run
//! reads (one file is a list of one): it reads the files, checks that no two manage the same provider of one account
//! (`run`), then does each file's work (one unit per file: one file in, its messages and result out), at most
//! `--jobs` files at once, and hands each result, in file order, to the `reporter`, the one place that knows how
//! one file and several are shown.

use std::path::PathBuf;
use std::time::Duration;

use crate::endpoints::Family;
use crate::render::Format;

mod apply;
mod import;
mod plan;
mod reporter;
mod run;
mod validate;

pub use apply::apply;
pub use import::import;
pub use plan::plan;
pub use validate::validate;

/// What every command that reads declaration files is given.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `-f` paths as given (files or folders); empty means `telephony.yaml`.
    pub files: Vec<PathBuf>,
    /// The API root as given (empty means the default).
    pub api_url: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// How many files (accounts) are worked on at once; at least 1.
    pub jobs: usize,
    /// `--endpoints` (or `RECONCILE_ENDPOINTS`), when given.
    pub endpoints: Option<Family>,
}

#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub detailed_exitcode: bool,
    pub rotate: bool,
    pub format: Format,
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub planfile: Option<PathBuf>,
    pub auto_approve: bool,
    pub rotate: bool,
    pub format: Format,
}

#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub out: Option<PathBuf>,
    pub force: bool,
    /// Where the written references point (`--secrets`).
    pub secrets: crate::import::SecretSource,
}
