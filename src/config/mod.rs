//! `telephony.yaml`: reading it ([`node`]), checking it ([`validate`]) into a [`Config`] ([`model`]), and resolving its
//! references into the desired state ([`resolve`]).

pub mod diagnostic;
pub mod model;
pub mod node;
pub mod resolve;
pub mod schema;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Code, ConfigError, Diagnostic};
pub use model::Config;

use crate::files::ReadError;

/// Largest `telephony.yaml` we read; a real one is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A folder that a `-f` folder holds (or is) and that cannot be listed, as the problem of that path (code
/// `unreadable-file`): the run goes on with the other files, and exits 1.
pub fn unreadable_folder(path: &Path, reason: &str) -> ConfigError {
    let hint = "make it readable (any telephony.yaml beneath it was not read), or give -f the folders to read \
                instead of their parent";
    let diagnostic = Diagnostic::new(Code::UnreadableFile, None, "", reason.to_string()).with_hint(hint);
    ConfigError::new(path.to_path_buf(), String::new(), vec![diagnostic])
}

/// Reads and validates a file. Every problem is reported at once where the file parses; the `sops` files its
/// references name are checked (without decrypting) once the file itself is valid.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let fail = |code: Code, message: String, hint: &str| {
        let diagnostic = Diagnostic::new(code, None, "", message).with_hint(hint);
        ConfigError::new(path.to_path_buf(), String::new(), vec![diagnostic])
    };
    let bytes = match crate::files::read_regular(path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::NotRegular("a directory")) => {
            return Err(fail(
                Code::UnreadableFile,
                "the path is a directory, not a file".into(),
                "pass the YAML file with -f",
            ));
        }
        // A FIFO or a device would make a reader wait for a writer, or never end: refused before it is opened.
        Err(ReadError::NotRegular(kind)) => {
            return Err(fail(
                Code::UnreadableFile,
                format!("the file is {kind}, not a regular file"),
                "pass the YAML file with -f",
            ));
        }
        Err(ReadError::TooLarge(limit)) => {
            return Err(fail(
                Code::UnreadableFile,
                format!("the file is larger than {limit} bytes"),
                "is this the right file?",
            ));
        }
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                Code::MissingFile,
                "no such file".into(),
                "run in the folder that holds telephony.yaml, pass -f PATH, or start one with `reconcile import`",
            ));
        }
        Err(ReadError::Io(e)) => {
            return Err(fail(
                Code::UnreadableFile,
                format!("cannot read the file: {}", e.kind()),
                "check the path and its permissions",
            ));
        }
    };
    let Ok(source) = String::from_utf8(bytes) else {
        return Err(fail(Code::UnreadableFile, "is not UTF-8 text".into(), "save the file as UTF-8"));
    };
    let config = from_source(path, source)?;
    // The one check of the file that reads the disk: each `sops` file is there and is a SOPS file (never decrypted).
    let problems = validate::sops_files(&config);
    if !problems.is_empty() {
        return Err(ConfigError::new(path.to_path_buf(), config.source, problems));
    }
    Ok(config)
}

/// Validates a file's text as if it were read from `path`.
pub fn from_source(path: &Path, source: String) -> Result<Config, ConfigError> {
    let root = match node::parse(&source) {
        Ok(root) => root,
        Err(failure) => {
            let mut d =
                Diagnostic::new(Code::InvalidYaml, failure.loc, "", format!("invalid YAML: {}", failure.message));
            d.hint = failure.hint;
            let mut error = ConfigError::new(path.to_path_buf(), source, vec![d]);
            if !starts_like_a_declaration(&error.source_text) {
                // A `.env` or token file given to -f by mistake: its lines are secrets, so none is shown.
                error.sensitive = vec![node::ByteSpan { start: 0, len: error.source_text.len() }];
                if let Some(d) = error.diagnostics.first_mut() {
                    d.hint = Some(
                        "-f takes a telephony.yaml, whose top-level keys are `twilio:`, `telnyx:`, `plivo:`, `sip:`, \
                         `sipRegistrations:`, `account:` and `version:`; this file has none (a secret file or a .env?), \
                         so none of it is shown"
                            .into(),
                    );
                }
            }
            return Err(error);
        }
    };
    let has_text = !source.trim().is_empty();
    match validate::validate(root.as_ref(), has_text) {
        Ok(v) => Ok(Config {
            path: path.to_path_buf(),
            base_dir: base_dir(path),
            source,
            api_key: v.api_key,
            providers: v.providers,
            sip: v.sip,
            registrations: v.registrations,
        }),
        Err(mut invalid) => {
            invalid.diagnostics.sort_by_key(|d| d.loc);
            Err(ConfigError {
                file: path.to_path_buf(),
                source_text: source,
                diagnostics: invalid.diagnostics,
                sensitive: invalid.sensitive,
            })
        }
    }
}

/// Whether any line (after its indentation, a flow mapping's `{` or a byte-order mark) opens with one of the file's
/// top-level keys. A file that fails to parse and has none is most likely not a `telephony.yaml` at all (a `.env`, a token
/// file), and its lines are not shown.
fn starts_like_a_declaration(source: &str) -> bool {
    let keys: Vec<&str> = ["version", "account", crate::sip::SIP, crate::sip::REGISTRATIONS]
        .into_iter()
        .chain(crate::provider::Provider::ALL.map(crate::provider::Provider::key))
        .collect();
    source.trim_start_matches('\u{feff}').lines().any(|line| {
        let line = line.strip_prefix('{').unwrap_or(line).trim_start_matches(' ');
        keys.iter().any(|key| {
            [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .any(|quoted| line.strip_prefix(quoted.as_str()).is_some_and(|rest| rest.trim_start().starts_with(':')))
        })
    })
}

fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::starts_like_a_declaration;

    #[test]
    fn a_declaration_starts_with_a_top_level_key_and_a_dotenv_does_not() {
        assert!(starts_like_a_declaration("# c\n---\ntwilio:\n  accountSid: [\n"));
        assert!(starts_like_a_declaration("\u{feff}version: 1\nplivo : null\n"));
        assert!(starts_like_a_declaration("\"telnyx\": {\n"));
        assert!(!starts_like_a_declaration("EXTRA_JSON={\"token\": \"s\"}\n"));
        assert!(!starts_like_a_declaration("twilio_token: x: y\n"));
        assert!(starts_like_a_declaration("defaults: &d\n  x: 1\ntwilio:\n  <<: *e\n"));
        assert!(!starts_like_a_declaration("- token: x: y\n"));
    }
}
