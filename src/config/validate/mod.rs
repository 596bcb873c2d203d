//! Turns a parsed YAML tree into a [`Config`](crate::config::Config), collecting every problem with its location,
//! field path and a hint.
//!
//! No reference is resolved here: `validate` must work in a fork's pull request, where no secret is available. The
//! validator also records where literal secrets (and values of unknown keys, which may be misspelt secret fields)
//! stand in the text, so that a diagnostic never shows them.
//!
//! This module owns the entry point and the `Validator`'s record (problems and spans never shown); each concern
//! lives in its own file, as methods on the one `Validator`:
//! - `structure`: the top level, `version`, `account`, and the keys of every mapping (unknown, duplicate, typos);
//! - `references`: secret fields and `{ env }` / `{ file }` / `{ sops, key }` references, and the check that each
//!   `sops` file is a SOPS file (the one check that reads the disk, run by [`crate::config::load`]);
//! - `providers`: a provider block's identifiers, secrets, flags and `requestContextMapping`;
//! - `agents`: `callCreationAllowedAgentIds` (and one agent entry, which `sip.allowedAgents` reads too);
//! - `sip`: `sip` (the SIP config) and `sipRegistrations`.

mod agents;
mod providers;
mod references;
mod sip;
mod structure;

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{Declaration, Located, RegistrationSpec, SipSpec};
use crate::config::node::{ByteSpan, Loc, Node, NodeKind};
use crate::secret::Reference;

pub use agents::{MAX_AGENT_NAME_CHARS, canonical_uuid};
pub use references::sops_files;
pub use structure::closest_key;

/// The parts of a [`Config`](crate::config::Config) that come from the document.
#[derive(Debug)]
pub struct Validated {
    pub api_key: Located<Reference>,
    pub providers: [Declaration; 3],
    pub sip: Option<SipSpec>,
    pub registrations: Option<Vec<Located<RegistrationSpec>>>,
}

/// Every problem found, and the places in the text that must never be shown.
#[derive(Debug, Default)]
pub struct Invalid {
    pub diagnostics: Vec<Diagnostic>,
    pub sensitive: Vec<ByteSpan>,
}

/// Validates a whole document. Returns the declarations when there is no problem, and every problem otherwise.
/// `has_text` tells an empty file from one with only comments.
pub fn validate(root: Option<&Node>, has_text: bool) -> Result<Validated, Invalid> {
    let mut v = Validator::default();
    let result = v.document(root, has_text);
    if v.invalid.diagnostics.is_empty() { Ok(result) } else { Err(v.invalid) }
}

/// Walks the document once; its methods, one file per concern, record into `invalid`.
#[derive(Default)]
struct Validator {
    invalid: Invalid,
}

/// The path of `key` inside `parent` (the document itself when `parent` is empty).
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

impl Validator {
    /// Records one problem: its code, where it is (`None` for the whole file), its field path, what is wrong, and
    /// what to do.
    fn report(
        &mut self,
        code: Code,
        at: impl Into<Option<Loc>>,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.invalid.diagnostics.push(Diagnostic::new(code, at.into(), path, message).with_hint(hint));
    }

    /// Marks every string scalar in `node` (it may hold secrets, but its structure is harmless to show).
    fn sensitive_strings(&mut self, node: &Node) {
        match &node.kind {
            NodeKind::Str(_) => self.sensitive(node),
            NodeKind::Seq(items) => items.iter().for_each(|n| self.sensitive_strings(n)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, n)| self.sensitive_strings(n)),
            _ => {}
        }
    }

    /// Marks a node and everything inside it, whatever its shape (a list, a nested mapping, numbers): for values
    /// that are or may be secrets, and for a file that is not a mapping at all (a token file, a `.env`).
    fn sensitive_all(&mut self, node: &Node) {
        self.sensitive(node);
        match &node.kind {
            NodeKind::Seq(items) => items.iter().for_each(|n| self.sensitive_all(n)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, n)| self.sensitive_all(n)),
            _ => {}
        }
    }

    /// Marks one node's own text (and, for an alias, the anchored value's) as never to be shown.
    fn sensitive(&mut self, node: &Node) {
        for span in [node.span, node.defined] {
            if span.len > 0 {
                self.invalid.sensitive.push(span);
            }
        }
    }
}
