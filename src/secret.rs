//! Secret references and the values they resolve to.
//!
//! A secret is written in `telephony.yaml` only as a reference (`{ env: NAME }` or `{ file: PATH }`). Resolving it
//! yields a [`SecretString`]. A provider secret is exposed only to build a request body (`api::wire`), to compare it
//! with a remote prefix (`diff`), to check it for surrounding whitespace (`config::resolve`) and to scrub server
//! messages ([`Scrubber`]); the API key only to the `X-API-Key` header (`api::client`) and as the key of a saved
//! plan's HMAC (`planfile`). Identifiers read through a reference are not secrets and become plain strings. Errors
//! name the reference, never the value.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// The largest secret file we read. Real credentials are a few hundred bytes at most; anything bigger is a mistake
/// (a key store, a binary) and is refused before it is read whole.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a value comes from: an environment variable or a file next to `telephony.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reference {
    Env(String),
    /// The path as written; relative paths are resolved against the folder of the file that declares them.
    File(PathBuf),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Env(name) => write!(f, "environment variable {name}"),
            Reference::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// Why a reference could not be resolved. Never holds any part of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("environment variable {name} is not set")]
    EnvUnset { name: String },
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("environment variable {name} is set but empty")]
    EnvEmpty { name: String },
    #[error("cannot read file {shown} ({path}): {reason}")]
    FileUnreadable { shown: String, path: String, reason: String },
    #[error("file {shown} is larger than {limit} bytes; a secret file holds only the secret")]
    FileTooLarge { shown: String, limit: u64 },
    #[error("file {shown} is not UTF-8 text; a secret file holds only the secret, as text")]
    FileNotText { shown: String },
    #[error("file {shown} is empty{}", if *newline_only { " (it holds only a newline)" } else { "" })]
    FileEmpty { shown: String, newline_only: bool },
}

impl ResolveError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ResolveError::EnvUnset { name } | ResolveError::EnvEmpty { name } => {
                format!("set {name} in the environment (in CI, from a CI secret) and run again")
            }
            ResolveError::EnvNotUnicode { name } => format!("set {name} to the secret as plain text"),
            ResolveError::FileUnreadable { .. } => {
                "paths are relative to the folder of telephony.yaml; check the path and its permissions".to_string()
            }
            ResolveError::FileEmpty { .. } => {
                "write the secret into the file (one trailing newline is dropped)".to_string()
            }
            ResolveError::FileTooLarge { .. } | ResolveError::FileNotText { .. } => {
                "put only the secret in the file (one trailing newline is dropped)".to_string()
            }
        }
    }
}

/// Reads the value a reference points at. `base_dir` is the folder of the declaring file.
pub fn resolve(reference: &Reference, base_dir: &Path) -> Result<SecretString, ResolveError> {
    match reference {
        Reference::Env(name) => match std::env::var(name) {
            Ok(value) if value.is_empty() => Err(ResolveError::EnvEmpty { name: name.clone() }),
            Ok(value) => Ok(SecretString::from(value)),
            Err(std::env::VarError::NotPresent) => Err(ResolveError::EnvUnset { name: name.clone() }),
            Err(std::env::VarError::NotUnicode(_)) => Err(ResolveError::EnvNotUnicode { name: name.clone() }),
        },
        Reference::File(path) => read_secret_file(path, &base_dir.join(path)),
    }
}

fn read_secret_file(shown: &Path, full: &Path) -> Result<SecretString, ResolveError> {
    let shown_text = shown.display().to_string();
    let unreadable = |err: std::io::Error| ResolveError::FileUnreadable {
        shown: shown_text.clone(),
        path: full.display().to_string(),
        reason: io_reason(&err),
    };
    let file = std::fs::File::open(full).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(ResolveError::FileUnreadable {
            shown: shown_text.clone(),
            path: full.display().to_string(),
            reason: "it is a directory".to_string(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(ResolveError::FileTooLarge { shown: shown_text, limit: MAX_SECRET_FILE_BYTES });
    }
    let Ok(mut text) = String::from_utf8(bytes) else {
        return Err(ResolveError::FileNotText { shown: shown_text });
    };
    if text.contains('\0') {
        return Err(ResolveError::FileNotText { shown: shown_text });
    }
    let had_newline = text.ends_with('\n');
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    if text.is_empty() {
        return Err(ResolveError::FileEmpty { shown: shown_text, newline_only: had_newline });
    }
    Ok(SecretString::from(text))
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.kind().to_string(),
    }
}

/// Removes every known secret value from a text that came from outside (a server's error message), so that a server
/// echoing a secret back cannot make us print it.
#[derive(Default, Clone)]
pub struct Scrubber {
    values: Vec<SecretString>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} values)", self.values.len())
    }
}

/// Prefixes shorter than this are too common to scrub without mangling ordinary words; the rules that keep prefixes
/// out of output never print them in the first place.
const MIN_SCRUB_LEN: usize = 3;

impl Scrubber {
    pub fn add(&mut self, value: &SecretString) {
        if value.expose_secret().chars().count() >= MIN_SCRUB_LEN {
            self.values.push(value.clone());
        }
    }

    /// Learns every value another scrubber knows (several files' secrets, for messages shown beside each other).
    pub fn extend(&mut self, other: &Scrubber) {
        self.values.extend(other.values.iter().cloned());
    }

    pub fn add_text(&mut self, value: &str) {
        self.add(&SecretString::from(value.to_string()));
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first, so that a secret is not left half-replaced by a shorter one that is its prefix.
        let mut values: Vec<&str> = self.values.iter().map(|v| v.expose_secret()).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in &values {
            if out.contains(value) {
                out = out.replace(value, "[redacted]");
            }
        }
        redact_fragments(&out, &values)
    }
}

/// A run of this many characters of a secret, found anywhere in a text, is taken for a piece of that secret.
/// Shorter runs would redact ordinary words that happen to occur in a secret.
pub const MIN_FRAGMENT_CHARS: usize = 8;

/// Replaces every run of at least [`MIN_FRAGMENT_CHARS`] characters that also occurs in one of `values`.
fn redact_fragments(text: &str, values: &[&str]) -> String {
    let value_chars: Vec<Vec<char>> = values.iter().map(|v| v.chars().collect()).collect();
    let mut windows: HashSet<&[char]> = HashSet::new();
    for chars in &value_chars {
        windows.extend(chars.windows(MIN_FRAGMENT_CHARS));
    }
    let text_chars: Vec<char> = text.chars().collect();
    if windows.is_empty() || text_chars.len() < MIN_FRAGMENT_CHARS {
        return text.to_string();
    }
    let mut hidden = vec![false; text_chars.len()];
    for (start, window) in text_chars.windows(MIN_FRAGMENT_CHARS).enumerate() {
        if windows.contains(window) {
            hidden[start..start + MIN_FRAGMENT_CHARS].iter_mut().for_each(|h| *h = true);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for (c, hide) in text_chars.iter().zip(&hidden) {
        match (hide, in_run) {
            (true, false) => {
                out.push_str("[redacted]");
                in_run = true;
            }
            (true, true) => {}
            (false, _) => {
                out.push(*c);
                in_run = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn file_drops_exactly_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "lf", b"tok\n");
        write(dir.path(), "crlf", b"tok\r\n");
        write(dir.path(), "two", b"tok\n\n");
        write(dir.path(), "none", b"tok");
        let get = |n: &str| resolve(&Reference::File(n.into()), dir.path()).unwrap().expose_secret().to_string();
        assert_eq!(get("lf"), "tok");
        assert_eq!(get("crlf"), "tok");
        assert_eq!(get("two"), "tok\n");
        assert_eq!(get("none"), "tok");
    }

    #[test]
    fn file_errors_name_the_reference_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "empty", b"\n");
        write(dir.path(), "binary", &[0xff, 0xfe, 0x00, 0x41]);
        write(dir.path(), "big", &vec![b'a'; (MAX_SECRET_FILE_BYTES + 1) as usize]);
        let err = |n: &str| resolve(&Reference::File(n.into()), dir.path()).unwrap_err();
        assert!(matches!(err("empty"), ResolveError::FileEmpty { .. }));
        assert!(matches!(err("binary"), ResolveError::FileNotText { .. }));
        assert!(matches!(err("big"), ResolveError::FileTooLarge { .. }));
        let missing = err("nope");
        assert!(missing.to_string().contains("file nope"), "{missing}");
        assert!(missing.to_string().contains("no such file"), "{missing}");
    }

    #[test]
    fn env_unset_and_empty_are_errors() {
        let unset = resolve(&Reference::Env("RECONCILE_TEST_SURELY_UNSET_VAR".into()), Path::new("."));
        assert_eq!(unset.unwrap_err(), ResolveError::EnvUnset { name: "RECONCILE_TEST_SURELY_UNSET_VAR".into() });
    }

    #[test]
    fn scrubber_hides_fragments_of_eight_characters_or_more() {
        let mut s = Scrubber::default();
        s.add_text("twtok-secret-123");
        assert_eq!(s.scrub("a token starting twtok-se was refused"), "a token starting [redacted] was refused");
        assert_eq!(s.scrub("ends ecret-123."), "ends [redacted].");
        assert_eq!(s.scrub("twtok-s is short enough to stay"), "twtok-s is short enough to stay");
    }

    #[test]
    fn scrubber_replaces_longest_first() {
        let mut s = Scrubber::default();
        s.add_text("abcdef");
        s.add_text("abc");
        s.add_text("x");
        assert_eq!(s.scrub("token abcdef and abc and x"), "token [redacted] and [redacted] and x");
    }
}
