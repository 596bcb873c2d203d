//! `telephony.yaml`: reading it ([`node`]), checking it ([`validate`]) into a [`Config`] ([`model`]), and resolving its
//! references into the desired state ([`resolve`]).

pub mod diagnostic;
pub mod model;
pub mod node;
pub mod resolve;
pub mod schema;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{ConfigError, Diagnostic};
pub use model::Config;

/// Largest `telephony.yaml` we read; a real one is a few kilobytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads and validates a file. Every problem is reported at once where the file parses.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let fail = |message: String, hint: &str| {
        ConfigError::new(path.to_path_buf(), String::new(), vec![Diagnostic::new(None, "", message).with_hint(hint)])
    };
    let bytes = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(fail("the path is a directory, not a file".into(), "pass the YAML file with -f"));
        }
        // Checked before opening: reading a FIFO or a device would wait for a writer, or never end.
        Ok(meta) if crate::files::not_regular(&meta).is_some() => {
            let kind = crate::files::not_regular(&meta).unwrap_or("not a regular file");
            return Err(fail(format!("the file is {kind}, not a regular file"), "pass the YAML file with -f"));
        }
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            return Err(fail(format!("the file is larger than {MAX_FILE_BYTES} bytes"), "is this the right file?"));
        }
        Ok(_) => std::fs::read(path),
        Err(e) => Err(e),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                "no such file".into(),
                "run in the folder that holds telephony.yaml, pass -f PATH, or start one with `reconcile import`",
            ));
        }
        Err(e) => {
            return Err(fail(format!("cannot read the file: {}", e.kind()), "check the path and its permissions"));
        }
    };
    let Ok(source) = String::from_utf8(bytes) else {
        return Err(fail("is not UTF-8 text".into(), "save the file as UTF-8"));
    };
    from_source(path, source)
}

/// Validates a file's text as if it were read from `path`.
pub fn from_source(path: &Path, source: String) -> Result<Config, ConfigError> {
    let root = match node::parse(&source) {
        Ok(root) => root,
        Err(failure) => {
            let mut d = Diagnostic::new(failure.loc, "", format!("invalid YAML: {}", failure.message));
            d.hint = failure.hint;
            return Err(ConfigError::new(path.to_path_buf(), source, vec![d]));
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

fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
