//! Secret references and the values they resolve to.
//!
//! A secret is written in `telephony.yaml` only as a reference (`{ env: NAME }`, `{ file: PATH }`, or
//! `{ sops: FILE, key: DOTTED.PATH }`, decrypted by [`crate::sops`]). Resolving it yields a [`SecretString`]. A provider secret is exposed only to build a request body (`api::wire`), to compare it
//! with a remote prefix (`diff`), to check it for surrounding whitespace and control characters (`config::resolve`)
//! and to register it with the process-wide registry of secrets ([`crate::redact`], which checks every value shown);
//! the API key only to the `X-API-Key` header (`api::client`), as the key of a saved plan's HMACs (`planfile`), and to
//! the registry. The SIP secrets (a fallback handler's, a registration's password) likewise: to build a body
//! (`api::sip`), to compare a fallback secret with the account's, which the API returns whole (`diff`), for their
//! length (`config::resolve`), to the registry, and, the account's fallback secrets, inside a saved plan's keyed HMACs
//! (`planfile`). Identifiers read through a reference are not secrets and become plain strings (a plan still shows one
//! that holds a secret masked). Errors name the reference, never the value.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::files::ReadError;

/// The largest secret file we read. Real credentials are a few hundred bytes at most; anything bigger is a mistake
/// (a key store, a binary) and is refused before it is read whole.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a value comes from: an environment variable, a file next to `telephony.yaml`, or a key of a SOPS-encrypted
/// file next to it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reference {
    Env(String),
    /// The path as written; relative paths are resolved against the folder of the file that declares them.
    File(PathBuf),
    /// A SOPS-encrypted file (the path as written, resolved like `File`'s) and the dotted path of a string in it.
    Sops {
        file: PathBuf,
        key: String,
    },
}

impl Reference {
    /// Where the value is read from, the same for every reference that reads the same place (a file by its full
    /// path): two declaration files whose API keys come from one place name one account.
    pub fn place(&self, base_dir: &Path) -> String {
        let full = |path: &Path| {
            let full = base_dir.join(path);
            full.canonicalize().unwrap_or(full).display().to_string()
        };
        match self {
            Reference::Env(name) => format!("env:{name}"),
            Reference::File(path) => format!("file:{}", full(path)),
            Reference::Sops { file, key } => format!("sops:{}#{key}", full(file)),
        }
    }

    /// The file the value is read from, if any (for the files `plan --out` must never overwrite).
    pub fn file(&self) -> Option<&Path> {
        match self {
            Reference::Env(_) => None,
            Reference::File(path) | Reference::Sops { file: path, .. } => Some(path),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Env(name) => write!(f, "environment variable {name}"),
            Reference::File(path) => write!(f, "file {}", path.display()),
            Reference::Sops { file, key } => write!(f, "key {key} of SOPS file {}", file.display()),
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
    #[error(transparent)]
    Sops(#[from] crate::sops::SopsError),
    #[error("the value at key {key} of {file} is empty")]
    SopsEmpty { file: String, key: String },
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
            ResolveError::Sops(e) => e.hint(),
            ResolveError::SopsEmpty { file, .. } => {
                format!("write the value into the encrypted file (`sops edit {file}`)")
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
        Reference::Sops { file, key } => {
            let value = crate::sops::value(file, &base_dir.join(file), key)?;
            if value.expose_secret().is_empty() {
                return Err(ResolveError::SopsEmpty { file: file.display().to_string(), key: key.clone() });
            }
            Ok(value)
        }
    }
}

fn read_secret_file(shown: &Path, full: &Path) -> Result<SecretString, ResolveError> {
    let shown_text = shown.display().to_string();
    let unreadable = |err: std::io::Error| ResolveError::FileUnreadable {
        shown: shown_text.clone(),
        path: full.display().to_string(),
        reason: crate::files::read_reason(&err),
    };
    // A regular file only, never read past the cap: a FIFO would make the run wait for a writer, forever.
    let bytes = match crate::files::read_regular(full, MAX_SECRET_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::NotRegular(kind)) => {
            return Err(ResolveError::FileUnreadable {
                shown: shown_text.clone(),
                path: full.display().to_string(),
                reason: format!("it is {kind}, not a regular file"),
            });
        }
        Err(ReadError::TooLarge(limit)) => return Err(ResolveError::FileTooLarge { shown: shown_text, limit }),
        Err(ReadError::Io(e)) => return Err(unreadable(e)),
    };
    let Ok(mut text) = String::from_utf8(bytes) else {
        return Err(ResolveError::FileNotText { shown: shown_text });
    };
    if text.contains('\0') {
        return Err(ResolveError::FileNotText { shown: shown_text });
    }
    // A byte-order mark (Notepad, PowerShell 5) is not part of the secret, as for telephony.yaml itself.
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        text = rest.to_string();
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

    // An empty variable is refused too: the diagnostics corpus covers it end to end (71-resolve-env-empty), where the
    // variable can be set without touching this process's environment.
    #[test]
    fn an_unset_variable_is_an_error_naming_it() {
        let unset = resolve(&Reference::Env("RECONCILE_TEST_SURELY_UNSET_VAR".into()), Path::new("."));
        assert_eq!(unset.unwrap_err(), ResolveError::EnvUnset { name: "RECONCILE_TEST_SURELY_UNSET_VAR".into() });
    }
}
