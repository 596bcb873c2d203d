//! A problem found in `telephony.yaml`, with where it is and what to do about it.

use std::fmt;
use std::path::PathBuf;

use crate::config::node::Loc;

/// One problem in the file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Where in the file, when known.
    pub loc: Option<Loc>,
    /// The field path, e.g. `twilio.callCreationAllowedAgentIds[2]`; empty for the document itself.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(loc: Option<Loc>, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { loc, path: path.into(), message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
}

/// Every problem found in one file. Nothing is sent when there is one.
#[derive(Clone, Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// The file's text, for showing the offending lines; empty when the file could not be read.
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Ranges of `source_text` that hold literal secrets (or may): never shown.
    pub sensitive: Vec<crate::config::node::ByteSpan>,
}

impl ConfigError {
    /// Problems in a file, none of which shows a secret-bearing part of it.
    pub fn new(file: PathBuf, source_text: String, diagnostics: Vec<Diagnostic>) -> ConfigError {
        ConfigError { file, source_text, diagnostics, sensitive: Vec::new() }
    }
}

impl fmt::Display for ConfigError {
    /// A compact one-line-per-problem form; `render::diagnostics` shows the source lines as well.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let Some(loc) = d.loc {
                write!(f, ":{loc}")?;
            }
            if !d.path.is_empty() {
                write!(f, ": {}", d.path)?;
            }
            write!(f, ": {}", d.message)?;
        }
        Ok(())
    }
}
