//! Secret references and the values they resolve to.
//!
//! A secret is written in `telephony.yaml` only as a reference (`{ env: NAME }` or `{ file: PATH }`). Resolving it
//! yields a [`SecretString`]. A provider secret is exposed only to build a request body (`api::wire`), to compare it
//! with a remote prefix (`diff`), to check it for surrounding whitespace and control characters (`config::resolve`)
//! and to register it with the process-wide scrubber ([`register`]); the API key only to the `X-API-Key` header
//! (`api::client`), as the key of a saved plan's HMAC (`planfile`), and to the scrubber. The scrubber keeps the
//! pieces it looks for (8-character windows) as plain strings in memory, for the life of the process: every byte
//! the tool prints or writes is checked against them ([`scrub`], used by `render`'s one output path and by
//! `files`). Identifiers read through a reference are not secrets and become plain strings. Errors name the
//! reference, never the value.

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
    // Checked before opening: opening a FIFO waits for a writer, forever.
    let meta = std::fs::metadata(full).map_err(unreadable)?;
    if let Some(kind) = crate::files::not_regular(&meta) {
        return Err(ResolveError::FileUnreadable {
            shown: shown_text.clone(),
            path: full.display().to_string(),
            reason: format!("it is {kind}, not a regular file"),
        });
    }
    let file = std::fs::File::open(full).map_err(unreadable)?;
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

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.kind().to_string(),
    }
}

/// Prefixes and secrets shorter than this are too common to scrub without mangling ordinary words; the rules that
/// keep prefixes out of output never print them in the first place.
const MIN_SCRUB_LEN: usize = 3;

/// A run of this many characters of a secret, found anywhere in a text, is taken for a piece of that secret.
/// Shorter runs would redact ordinary words that happen to occur in a secret.
pub const MIN_FRAGMENT_CHARS: usize = 8;

/// What a scrubbed piece is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Every secret value resolved and every remote prefix read in this process, as the pieces to look for: each
/// [`MIN_FRAGMENT_CHARS`]-character window of a long value, or a short value whole. Process-wide and thread-safe, so
/// that every output path (stdout, stderr, logs, written files) scrubs against everything any task has read.
///
/// Scrubbing costs a few set look-ups per character of the text, whatever the number of secrets: registering adds
/// its windows to hash sets, nothing is rebuilt.
#[derive(Default)]
struct Registry {
    /// Windows of exactly [`MIN_FRAGMENT_CHARS`] characters.
    windows: HashSet<String>,
    /// Values shorter than a window (short remote prefixes), kept whole, matched as words of their own.
    short: HashSet<String>,
    short_lengths: std::collections::BTreeSet<usize>,
}

static REGISTRY: std::sync::LazyLock<std::sync::RwLock<Registry>> = std::sync::LazyLock::new(Default::default);

fn registry() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// Remembers a secret value (or a remote prefix) so that no output ever shows it or a piece of it, also as JSON
/// writes it (quotes, backslashes and control characters escaped), for the JSON documents and saved plans.
pub fn register(value: &str) {
    if let Ok(quoted) = serde_json::to_string(value) {
        let escaped = &quoted[1..quoted.len() - 1];
        if escaped != value {
            register_raw(escaped);
        }
    }
    register_raw(value);
}

fn register_raw(value: &str) {
    let chars: Vec<(usize, char)> = value.char_indices().collect();
    if chars.len() < MIN_SCRUB_LEN {
        return;
    }
    let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if chars.len() < MIN_FRAGMENT_CHARS {
        reg.short_lengths.insert(chars.len());
        reg.short.insert(value.to_string());
        return;
    }
    for start in 0..=chars.len() - MIN_FRAGMENT_CHARS {
        let from = chars[start].0;
        let to = chars.get(start + MIN_FRAGMENT_CHARS).map_or(value.len(), |c| c.0);
        reg.windows.insert(value[from..to].to_string());
    }
}

/// [`register`] for a secret held in a [`SecretString`].
pub fn register_secret(value: &SecretString) {
    register(value.expose_secret());
}

/// The text with every registered secret, every piece of [`MIN_FRAGMENT_CHARS`]+ characters of one, and every
/// registered prefix replaced by [`REDACTED`] (a run of hidden characters becomes one marker).
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    let reg = registry();
    if reg.windows.is_empty() && reg.short.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    // Byte offsets of every character, and the end.
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let n = bounds.len() - 1;
    let mut hidden = vec![false; n];
    let mut any = false;
    for start in 0..n {
        if start + MIN_FRAGMENT_CHARS <= n
            && reg.windows.contains(&text[bounds[start]..bounds[start + MIN_FRAGMENT_CHARS]])
        {
            hidden[start..start + MIN_FRAGMENT_CHARS].iter_mut().for_each(|h| *h = true);
            any = true;
        }
        // A short value (a 4-character prefix) is scrubbed only as a word of its own: inside a word ("pliv" in
        // "plivo") it is ordinary text, and hiding it would garble every plan.
        let alnum_at = |i: usize| text[bounds[i]..bounds[i + 1]].chars().all(char::is_alphanumeric);
        for &len in &reg.short_lengths {
            if start + len <= n
                && !(start > 0 && alnum_at(start - 1))
                && !(start + len < n && alnum_at(start + len))
                && reg.short.contains(&text[bounds[start]..bounds[start + len]])
            {
                hidden[start..start + len].iter_mut().for_each(|h| *h = true);
                any = true;
            }
        }
    }
    if !any {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for (i, hide) in hidden.iter().enumerate() {
        match (hide, in_run) {
            (true, false) => {
                out.push_str(REDACTED);
                in_run = true;
            }
            (true, true) => {}
            (false, _) => {
                out.push_str(&text[bounds[i]..bounds[i + 1]]);
                in_run = false;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A handle on the process-wide registry, for code that is handed "what to scrub": adding registers for the whole
/// process, scrubbing uses everything registered.
#[derive(Default, Clone, Debug)]
pub struct Scrubber {
    /// The registry is process-wide: a handle holds nothing.
    _process_wide: (),
}

impl Scrubber {
    pub fn add(&mut self, value: &SecretString) {
        register_secret(value);
    }

    pub fn add_text(&mut self, value: &str) {
        register(value);
    }

    pub fn scrub(&self, text: &str) -> String {
        scrub(text).into_owned()
    }
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
        register("twtok-secret-123");
        assert_eq!(scrub("a token starting twtok-se was refused"), "a token starting [redacted] was refused");
        assert_eq!(scrub("ends ecret-123."), "ends [redacted].");
        assert_eq!(scrub("twtok-s is short enough to stay"), "twtok-s is short enough to stay");
    }

    #[test]
    fn short_values_are_scrubbed_whole_and_runs_merge() {
        register("qzv");
        register("Ωmega-unicode-secret");
        assert_eq!(scrub("token qzv and Ωmega-unicode-secretqzv x"), "token [redacted] and [redacted]qzv x");
        assert_eq!(scrub("(qzv)"), "([redacted])");
        assert_eq!(scrub("qz qzvw"), "qz qzvw");
    }

    #[test]
    fn thousands_of_secrets_are_all_recognised() {
        // As with 1,000 files of four secrets each: registering adds windows, scrubbing stays a few set look-ups
        // per character of the text.
        let secrets: Vec<String> = (0..4000).map(|i| format!("bulkZ{i:05}Qv7wXk")).collect();
        std::thread::scope(|scope| {
            for chunk in secrets.chunks(1000) {
                scope.spawn(move || chunk.iter().for_each(|s| register(s)));
            }
        });
        let text: String = secrets.iter().step_by(397).map(|s| format!("<{s}> ")).collect();
        let scrubbed = scrub(&text);
        assert_eq!(scrubbed.matches("[redacted]").count(), secrets.iter().step_by(397).count(), "{scrubbed}");
        assert!(!scrubbed.contains("bulkZ"), "{scrubbed}");
    }

    #[test]
    fn a_secret_with_a_newline_is_recognised_raw() {
        register("line-one\nline-two-rest");
        assert_eq!(scrub("got line-one\nline-two-rest!"), "got [redacted]!");
    }
}
