//! Secret fields and references: a secret is only ever `{ env: NAME }` or `{ file: PATH }`, never a literal, and a
//! literal written by mistake is marked so that no diagnostic shows it.

use super::{Validator, join};
use crate::config::diagnostic::Code;
use crate::config::model::{DEFAULT_API_KEY_ENV, Located};
use crate::config::node::{Node, NodeKind};
use crate::provider::Provider;
use crate::secret::Reference;

/// The keys of a reference: its two possible sources.
pub(super) const REFERENCE_KEYS: [&str; 2] = ["env", "file"];

/// How to write a secret field as a reference, with its conventional environment variable.
pub(super) fn secret_hint(provider: Option<Provider>, field: &str) -> String {
    let env = match provider {
        Some(p) => p.conventional_env(field),
        None => DEFAULT_API_KEY_ENV.to_string(),
    };
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
        match &node.kind {
            NodeKind::Map(_) => {
                self.reference(path, node).map(|value| Located { value, loc: Some(node.loc), path: path.to_string() })
            }
            NodeKind::Null => {
                let message = "has no value; a secret must be a reference";
                self.report(Code::EmptyValue, node.loc, path, message, secret_hint(provider, field));
                None
            }
            _ => {
                self.sensitive_all(node);
                let message = "is a literal secret; secrets must be references so that they never live in git";
                self.report(Code::LiteralSecret, node.loc, path, message, secret_hint(provider, field));
                None
            }
        }
    }

    /// A `{ env: NAME }` or `{ file: PATH }` mapping, with exactly one source and a well-formed name or path.
    pub(super) fn reference(&mut self, path: &str, node: &Node) -> Option<Reference> {
        let NodeKind::Map(entries) = &node.kind else { return None };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &REFERENCE_KEYS);
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        match (found.get("env"), found.get("file")) {
            (Some(_), Some(_)) | (None, None) => {
                let hint = "write `{ env: NAME }` or `{ file: PATH }`";
                self.report(Code::InvalidReference, node.loc, path, "a reference names exactly one source", hint);
                None
            }
            (Some((_, value)), None) => {
                let env_path = join(path, "env");
                let name_hint = "name the environment variable that holds the value, e.g. `{ env: TWILIO_AUTH_TOKEN }`";
                match &value.kind {
                    NodeKind::Str(name) if is_env_name(name) => return Some(Reference::Env(name.clone())),
                    NodeKind::Str(name) if name.trim().is_empty() => self.report(
                        Code::InvalidReference,
                        value.loc,
                        env_path,
                        "the variable name is empty",
                        name_hint,
                    ),
                    NodeKind::Str(_) => self.report(
                        Code::InvalidReference,
                        value.loc,
                        env_path,
                        "is not a valid environment variable name",
                        "use letters, digits and underscores, not starting with a digit, e.g. TWILIO_AUTH_TOKEN",
                    ),
                    NodeKind::Null => self.report(
                        Code::InvalidReference,
                        value.loc,
                        env_path,
                        "the variable name is missing",
                        name_hint,
                    ),
                    other => {
                        self.sensitive_all(value);
                        self.report(
                            Code::InvalidReference,
                            value.loc,
                            env_path,
                            format!("expected a variable name, found {}", other.describe()),
                            "`env` names the variable that holds the value, e.g. `{ env: TWILIO_AUTH_TOKEN }`; the \
                             value itself never goes in the file",
                        );
                    }
                }
                None
            }
            (None, Some((_, value))) => match &value.kind {
                NodeKind::Str(p) if !p.trim().is_empty() => Some(Reference::File(p.into())),
                other => {
                    let found = if matches!(other, NodeKind::Str(_)) { "an empty string" } else { other.describe() };
                    self.report(
                        Code::InvalidReference,
                        value.loc,
                        join(path, "file"),
                        format!("expected a file path, found {found}"),
                        "name the file that holds the value; paths are relative to the folder of telephony.yaml",
                    );
                    None
                }
            },
        }
    }
}

/// Whether `name` can name an environment variable: letters, digits and `_`, not starting with a digit.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
