//! Secret fields and references: a secret is only ever `{ env: NAME }`, `{ file: PATH }` or
//! `{ sops: FILE, key: DOTTED.PATH }`, never a literal (nor a command), and a literal written by mistake is marked so
//! that no diagnostic shows it. Also the one check of validation that reads the disk: that each `sops` file is there
//! and is a SOPS file ([`sops_files`]; it never decrypts).

use std::collections::HashMap;

use super::{Validator, join};
use crate::config::Config;
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{DEFAULT_API_KEY_ENV, Located};
use crate::config::node::{Node, NodeKind};
use crate::provider::Provider;
use crate::secret::Reference;

/// The keys of a reference: its three possible sources, and the key a `sops` one reads.
pub(super) const REFERENCE_KEYS: [&str; 4] = ["env", "file", "sops", "key"];

/// Where a reference's value can come from. Never a command: the file comes from pull requests, and CI runs the
/// tool with secrets in reach.
const SOURCES: [&str; 3] = ["env", "file", "sops"];

/// A reference, in full, for hints.
pub(super) const SOURCES_HINT: &str = "write `{ env: NAME }`, `{ file: PATH }` or `{ sops: FILE, key: DOTTED.PATH }`";
const SOPS_FORM: &str = "{ sops: FILE, key: DOTTED.PATH }";

/// How to write a secret field as a reference, with its conventional environment variable.
pub(super) fn secret_hint(provider: Option<Provider>, field: &str) -> String {
    let env = match provider {
        Some(p) => p.conventional_env(field),
        None => DEFAULT_API_KEY_ENV.to_string(),
    };
    reference_hint(field, &env)
}

/// How to write `field` as a reference to the variable `env` (or a file).
pub(super) fn reference_hint(field: &str, env: &str) -> String {
    format!(
        "write `{field}: {{ env: {env} }}` and set {env}, or `{field}: {{ file: PATH }}` with a file kept out of git"
    )
}

impl Validator {
    /// A secret field: only a reference is accepted. The literal itself is never repeated in a message.
    pub(super) fn secret(
        &mut self,
        provider: Option<Provider>,
        field: &str,
        path: &str,
        node: &Node,
    ) -> Option<Located<Reference>> {
        self.secret_hinted(path, node, || secret_hint(provider, field))
    }

    /// A secret that is only a reference, with `hint` (how to write it) for a problem.
    pub(super) fn secret_hinted(
        &mut self,
        path: &str,
        node: &Node,
        hint: impl FnOnce() -> String,
    ) -> Option<Located<Reference>> {
        match &node.kind {
            NodeKind::Map(_) => {
                self.reference(path, node).map(|value| Located { value, loc: Some(node.loc), path: path.to_string() })
            }
            NodeKind::Null => {
                let message = "has no value; a secret must be a reference";
                self.report(Code::EmptyValue, node.loc, path, message, hint());
                None
            }
            _ => {
                self.sensitive_all(node);
                let message = "is a literal secret; secrets must be references so that they never live in git";
                self.report(Code::LiteralSecret, node.loc, path, message, hint());
                None
            }
        }
    }

    /// A `{ env: NAME }`, `{ file: PATH }` or `{ sops: FILE, key: DOTTED.PATH }` mapping, with exactly one source
    /// and a well-formed name, path or key.
    pub(super) fn reference(&mut self, path: &str, node: &Node) -> Option<Reference> {
        let NodeKind::Map(entries) = &node.kind else { return None };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &REFERENCE_KEYS);
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        let sources: Vec<&str> = SOURCES.into_iter().filter(|s| found.get(s).is_some()).collect();
        let [source] = sources[..] else {
            self.report(Code::InvalidReference, node.loc, path, "a reference names exactly one source", SOURCES_HINT);
            return None;
        };
        if let (false, Some((key, _))) = (source == "sops", found.get("key")) {
            self.report(
                Code::InvalidReference,
                key.loc,
                join(path, "key"),
                format!("`key` belongs to a `sops` reference, not to `{source}`"),
                format!("remove `key`, or write `{SOPS_FORM}`"),
            );
            return None;
        }
        let (_, value) = *found.get(source).expect("the source was found");
        match source {
            "env" => self.env_reference(path, value),
            "file" => self.file_path(&join(path, "file"), value).map(Reference::File),
            _ => {
                let file = self.file_path(&join(path, "sops"), value);
                let key = match found.get("key") {
                    Some((_, key)) => self.sops_key(&join(path, "key"), key),
                    None => {
                        let message = "a `sops` reference names the key to read";
                        self.report(
                            Code::InvalidReference,
                            node.loc,
                            path,
                            message,
                            format!("write `{SOPS_FORM}`, e.g. `key: twilio.authToken`"),
                        );
                        None
                    }
                };
                Some(Reference::Sops { file: file?, key: key? })
            }
        }
    }

    fn env_reference(&mut self, path: &str, value: &Node) -> Option<Reference> {
        let env_path = join(path, "env");
        let name_hint = "name the environment variable that holds the value, e.g. `{ env: TWILIO_AUTH_TOKEN }`";
        match &value.kind {
            NodeKind::Str(name) if is_env_name(name) => return Some(Reference::Env(name.clone())),
            NodeKind::Str(name) if name.trim().is_empty() => {
                self.report(Code::InvalidReference, value.loc, env_path, "the variable name is empty", name_hint)
            }
            NodeKind::Str(_) => self.report(
                Code::InvalidReference,
                value.loc,
                env_path,
                "is not a valid environment variable name",
                "use letters, digits and underscores, not starting with a digit, e.g. TWILIO_AUTH_TOKEN",
            ),
            NodeKind::Null => {
                self.report(Code::InvalidReference, value.loc, env_path, "the variable name is missing", name_hint)
            }
            other => {
                self.sensitive_all(value);
                self.report(
                    Code::InvalidReference,
                    value.loc,
                    env_path,
                    format!("expected a variable name, found {}", other.describe()),
                    "`env` names the variable that holds the value, e.g. `{ env: TWILIO_AUTH_TOKEN }`; the value \
                     itself never goes in the file",
                );
            }
        }
        None
    }

    /// The path of a `file` or of a `sops` file: a non-empty string.
    fn file_path(&mut self, path: &str, value: &Node) -> Option<std::path::PathBuf> {
        match &value.kind {
            NodeKind::Str(p) if !p.trim().is_empty() => Some(p.into()),
            other => {
                let found = if matches!(other, NodeKind::Str(_)) { "an empty string" } else { other.describe() };
                let what = if path.ends_with(".sops") { "the encrypted file" } else { "the file that holds the value" };
                self.report(
                    Code::InvalidReference,
                    value.loc,
                    path,
                    format!("expected a file path, found {found}"),
                    format!("name {what}; paths are relative to the folder of telephony.yaml"),
                );
                None
            }
        }
    }

    /// A `sops` reference's `key`: names separated by dots, none empty.
    fn sops_key(&mut self, path: &str, value: &Node) -> Option<String> {
        let hint = "`key` is the dotted path of a string in the decrypted file, e.g. `twilio.authToken`";
        match &value.kind {
            NodeKind::Str(key) if is_dotted_path(key) => Some(key.clone()),
            NodeKind::Str(key) if key.is_empty() => {
                self.report(Code::InvalidReference, value.loc, path, "the key is empty", hint);
                None
            }
            NodeKind::Str(key) if key.chars().any(crate::clean::is_hidden) => {
                self.report(
                    Code::InvalidReference,
                    value.loc,
                    path,
                    "the key holds a control or invisible character",
                    hint,
                );
                None
            }
            NodeKind::Str(_) => {
                self.report(
                    Code::InvalidReference,
                    value.loc,
                    path,
                    "the key has an empty part (two dots together, or a dot at an end)",
                    hint,
                );
                None
            }
            other => {
                self.report(
                    Code::InvalidReference,
                    value.loc,
                    path,
                    format!("expected a dotted key path, found {}", other.describe()),
                    hint,
                );
                None
            }
        }
    }
}

/// Whether `key` is a dotted path: names separated by dots, none empty, no control character.
fn is_dotted_path(key: &str) -> bool {
    !key.chars().any(crate::clean::is_hidden) && key.split('.').all(|part| !part.is_empty())
}

/// Whether `name` can name an environment variable: letters, digits and `_`, not starting with a digit.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Each `sops` reference's file is a regular file and a SOPS file (checked without decrypting: `validate` reads no
/// secret), one problem at each reference to a file that is not. The encrypted file's content is never shown.
pub fn sops_files(config: &Config) -> Vec<Diagnostic> {
    let mut checked: HashMap<std::path::PathBuf, Result<(), crate::sops::SopsError>> = HashMap::new();
    let mut problems = Vec::new();
    for reference in config.references() {
        let Reference::Sops { file, .. } = reference.value else { continue };
        let full = config.base_dir.join(file);
        let repeated = checked.contains_key(&full);
        let result = checked.entry(full.clone()).or_insert_with(|| crate::sops::check_file(file, &full));
        if let Err(e) = result {
            let diagnostic = Diagnostic::new(Code::of_sops(e), reference.loc, reference.path, e.to_string());
            // Every reference to the file is reported at its place, the advice once.
            problems.push(if repeated { diagnostic } else { diagnostic.with_hint(e.hint()) });
        }
    }
    problems
}
