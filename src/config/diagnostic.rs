//! A problem found in `telephony.yaml`, with its stable [`Code`], where it is, and what to do about it.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::node::Loc;

/// What kind of problem a diagnostic is: shown as `error[CODE]`, and carried in JSON as `code`, so that a script or
/// a CI annotation can act on it. Codes are stable: never renamed or reused; a new kind of problem gets a new one.
/// The README lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The file does not exist.
    MissingFile,
    /// The file cannot be read: a folder, a FIFO, device or socket, over 1 MiB, not UTF-8, or not permitted.
    UnreadableFile,
    /// Not valid YAML, or YAML reconcile refuses: tags, several documents, nesting deeper than 16 levels, an alias
    /// bomb.
    InvalidYaml,
    /// The file is empty, or holds only comments.
    EmptyFile,
    /// A value of the wrong kind (`expected ..., found ...`).
    WrongType,
    /// A key this place does not have; the closest known key is suggested.
    UnknownKey,
    /// A key written twice in one mapping.
    DuplicateKey,
    /// No provider is declared.
    NoProvider,
    /// A `version` this reconcile does not read.
    UnsupportedVersion,
    /// A field the API requires is missing from a provider's block.
    MissingField,
    /// A blank or missing value where one is needed, or a reference that reads an empty value.
    EmptyValue,
    /// A secret written as a literal: secrets must be `{ env: NAME }` or `{ file: PATH }` references.
    LiteralSecret,
    /// A malformed reference: not exactly one of `env` and `file`, a variable name that cannot be one, no path.
    InvalidReference,
    /// A value with leading or trailing whitespace, which the API would trim away.
    Whitespace,
    /// A control or invisible character in a value.
    ControlCharacter,
    /// More characters, or more entries, than the API accepts.
    OverLimit,
    /// An agent entry that is not an agent ID (a UUID).
    InvalidAgentId,
    /// `{ agent: NAME }` without a usable name.
    InvalidAgentName,
    /// The same agent listed twice, by ID or by name.
    DuplicateAgent,
    /// `callCreationAllowAllAgents: true` beside a non-empty agent list.
    AllowAllWithAgents,
    /// A `{ env: NAME }` reference whose variable is not set (`plan`, `apply`).
    EnvUnset,
    /// A reference whose value cannot be read: a secret file missing, unreadable, not a regular file, over 64 KiB or
    /// not text; a variable that is not UTF-8 (`plan`, `apply`).
    UnreadableReference,
    /// No agent bears the name written (`plan`, `apply`).
    AgentNotFound,
    /// Several agents bear the name written (`plan`, `apply`).
    AmbiguousAgent,
    /// More agents match the name written than reconcile reads pages of (`plan`, `apply`).
    TooManyAgents,
    /// A `sops` reference's file is missing, not a regular file, too large, or not a SOPS file.
    NotASopsFile,
    /// `sops` cannot be run: not installed, `RECONCILE_SOPS` names no program, or its timeout setting is invalid
    /// (`plan`, `apply`).
    SopsUnavailable,
    /// `sops` ran and did not give the document: decryption refused, timed out, or its output unusable (`plan`,
    /// `apply`).
    SopsDecryptFailed,
    /// The decrypted document has no string at the reference's `key` (`plan`, `apply`).
    SopsKey,
    /// A secret that resolves to fewer than 8 characters: no credential is that short (`plan`, `apply`).
    ShortSecret,
    /// `sip: null` (or `sip:` with no value): the account's SIP config cannot be deleted.
    SipNotDeletable,
    /// A `sip.allowedCidrRanges` entry that is not an IPv4 network: not `ADDRESS/BITS`, or with host bits set.
    InvalidCidr,
    /// The same network listed twice in `sip.allowedCidrRanges`.
    DuplicateCidr,
    /// A fallback handler URL that is not `https://` (or `http://` to a loopback host).
    InvalidUrl,
    /// Two `sipRegistrations` entries with the same `username` and `proxy`.
    DuplicateRegistration,
}

impl Code {
    /// Every code, in the order the README lists them.
    pub const ALL: [Code; 35] = [
        Code::MissingFile,
        Code::UnreadableFile,
        Code::InvalidYaml,
        Code::EmptyFile,
        Code::WrongType,
        Code::UnknownKey,
        Code::DuplicateKey,
        Code::NoProvider,
        Code::UnsupportedVersion,
        Code::MissingField,
        Code::EmptyValue,
        Code::LiteralSecret,
        Code::InvalidReference,
        Code::Whitespace,
        Code::ControlCharacter,
        Code::OverLimit,
        Code::InvalidAgentId,
        Code::InvalidAgentName,
        Code::DuplicateAgent,
        Code::AllowAllWithAgents,
        Code::EnvUnset,
        Code::UnreadableReference,
        Code::AgentNotFound,
        Code::AmbiguousAgent,
        Code::TooManyAgents,
        Code::NotASopsFile,
        Code::SopsUnavailable,
        Code::SopsDecryptFailed,
        Code::SopsKey,
        Code::ShortSecret,
        Code::SipNotDeletable,
        Code::InvalidCidr,
        Code::DuplicateCidr,
        Code::InvalidUrl,
        Code::DuplicateRegistration,
    ];

    /// The code as shown: `unknown-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingFile => "missing-file",
            Code::UnreadableFile => "unreadable-file",
            Code::InvalidYaml => "invalid-yaml",
            Code::EmptyFile => "empty-file",
            Code::WrongType => "wrong-type",
            Code::UnknownKey => "unknown-key",
            Code::DuplicateKey => "duplicate-key",
            Code::NoProvider => "no-provider",
            Code::UnsupportedVersion => "unsupported-version",
            Code::MissingField => "missing-field",
            Code::EmptyValue => "empty-value",
            Code::LiteralSecret => "literal-secret",
            Code::InvalidReference => "invalid-reference",
            Code::Whitespace => "whitespace",
            Code::ControlCharacter => "control-character",
            Code::OverLimit => "over-limit",
            Code::InvalidAgentId => "invalid-agent-id",
            Code::InvalidAgentName => "invalid-agent-name",
            Code::DuplicateAgent => "duplicate-agent",
            Code::AllowAllWithAgents => "allow-all-with-agents",
            Code::EnvUnset => "env-unset",
            Code::UnreadableReference => "unreadable-reference",
            Code::AgentNotFound => "agent-not-found",
            Code::AmbiguousAgent => "ambiguous-agent",
            Code::TooManyAgents => "too-many-agents",
            Code::NotASopsFile => "not-a-sops-file",
            Code::SopsUnavailable => "sops-unavailable",
            Code::SopsDecryptFailed => "sops-decrypt-failed",
            Code::SopsKey => "sops-key",
            Code::ShortSecret => "short-secret",
            Code::SipNotDeletable => "sip-not-deletable",
            Code::InvalidCidr => "invalid-cidr",
            Code::DuplicateCidr => "duplicate-cidr",
            Code::InvalidUrl => "invalid-url",
            Code::DuplicateRegistration => "duplicate-registration",
        }
    }
}

impl Code {
    /// The code of a failure to read a `sops` reference.
    pub fn of_sops(error: &crate::sops::SopsError) -> Code {
        use crate::sops::SopsError as E;
        match error {
            E::NotInstalled { .. } | E::ProgramMissing { .. } | E::CannotRun { .. } | E::BadTimeout { .. } => {
                Code::SopsUnavailable
            }
            E::Unreadable { .. } | E::TooLarge { .. } | E::NotSops { .. } => Code::NotASopsFile,
            E::Refused { .. }
            | E::Timeout { .. }
            | E::Stopped { .. }
            | E::OutputTooLarge { .. }
            | E::OutputNotJson { .. } => Code::SopsDecryptFailed,
            E::KeyAbsent { .. } | E::NotString { .. } => Code::SopsKey,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in the file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub code: Code,
    /// Where in the file, when known.
    pub loc: Option<Loc>,
    /// The field path, e.g. `twilio.callCreationAllowedAgentIds[2]`; empty for the document itself.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, loc: Option<Loc>, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, loc, path: path.into(), message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// The field path as shown: keys come from the file, and a key may be a pasted secret of another file of the run
    /// (checked when shown, [`crate::redact::shown`]).
    pub fn shown_path(&self) -> std::borrow::Cow<'_, str> {
        crate::redact::shown(&self.path)
    }

    /// The message as shown: one that quotes a value (an agent's name, a value from the file, `sops`'s words) holding
    /// a secret known by the time it is shown is masked whole.
    pub fn shown_message(&self) -> std::borrow::Cow<'_, str> {
        crate::redact::shown(&self.message)
    }

    /// The hint as shown, checked as the message is.
    pub fn shown_hint(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.hint.as_deref().map(crate::redact::shown)
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
            write!(f, "error[{}]: {}", d.code, self.file.display())?;
            if let Some(loc) = d.loc {
                write!(f, ":{loc}")?;
            }
            if !d.path.is_empty() {
                write!(f, ": {}", d.shown_path())?;
            }
            write!(f, ": {}", d.shown_message())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_written_as_serde_writes_it() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
            assert_eq!(serde_json::from_value::<Code>(serde_json::json!(code.as_str())).unwrap(), code);
        }
    }
}
