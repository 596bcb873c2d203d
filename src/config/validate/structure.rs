//! The shape of the document: the top level, `version` and `account`, and the keys of every mapping (unknown keys
//! with a likely intended one, duplicate keys).

use std::collections::{HashMap, HashSet};

use super::references::{REFERENCE_KEYS, SOURCES_HINT};
use super::{Validated, Validator, join};
use crate::config::diagnostic::Code;
use crate::config::model::{DEFAULT_API_KEY_ENV, Declaration, FORMAT_VERSION, Located};
use crate::config::node::{Key, Loc, Node, NodeKind};
use crate::provider::{self, Provider};
use crate::secret::Reference;

const ACCOUNT_KEYS: [&str; 1] = [provider::ACCOUNT_API_KEY];

/// Keys that ask a reference to run something: refused with the reason.
const NOT_SOURCES: [&str; 6] = ["command", "cmd", "exec", "run", "shell", "script"];

/// The keys of the top level: the format version, the account, one per provider (from the provider table), and
/// the SIP config and registrations.
fn top_keys() -> Vec<&'static str> {
    let mut keys = vec!["version", "account"];
    keys.extend(Provider::ALL.map(Provider::key));
    keys.extend([crate::sip::SIP, crate::sip::REGISTRATIONS]);
    keys
}

/// The known key closest to a misspelt one, if any is close enough to be a likely typo.
pub fn closest_key<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], "");
    let unknown_norm = norm(unknown);
    if let Some(exact) = known.iter().find(|k| norm(k) == unknown_norm) {
        return Some(exact);
    }
    known
        .iter()
        .map(|k| (k, strsim::damerau_levenshtein(&unknown_norm, &norm(k))))
        // Up to 3 edits for long names, fewer for short ones: `value` is not a typo of `file`.
        .filter(|(k, d)| *d <= (k.len() / 3).clamp(1, 3))
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| *k)
}

/// The entries of a mapping whose keys are known, by name; unknown and duplicate keys are reported.
pub(super) struct Entries<'n> {
    found: HashMap<&'n str, (&'n Key, &'n Node)>,
    /// Known keys that an unknown key was taken for (reported once, as a typo, not again as missing).
    pub(super) suggested: HashSet<&'static str>,
}

impl<'n> Entries<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&(&'n Key, &'n Node)> {
        self.found.get(key)
    }
}

impl Validator {
    /// A required field's value; when it is absent, a `missing-field` problem at `at` (the mapping that lacks it),
    /// unless an unknown key was already reported as a misspelling of it.
    pub(super) fn required<'n>(
        &mut self,
        found: &Entries<'n>,
        at: Loc,
        path: &str,
        field: &'static str,
        hint: impl Into<String>,
    ) -> Option<&'n Node> {
        if let Some((_, node)) = found.get(field) {
            return Some(node);
        }
        if !found.suggested.contains(field) {
            let message = format!("missing required field `{field}`");
            self.report(Code::MissingField, at, join(path, field), message, hint);
        }
        None
    }

    /// Sorts a mapping's entries by key: known keys are returned, unknown and repeated ones reported (the values of
    /// unknown keys are kept from view unless the key is plainly a typo of a field that is not secret).
    pub(super) fn entries<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        path: &str,
        known: &[&'static str],
    ) -> Entries<'n> {
        let mut out = Entries { found: HashMap::new(), suggested: HashSet::new() };
        for (key, value) in entries {
            let key_path = join(path, &key.name);
            if let Some(known_key) = known.iter().find(|k| **k == key.name) {
                if let Some((first, _)) = out.found.get(known_key) {
                    let hint = format!("it is already set at line {}; keep one of them", first.loc.line);
                    self.report(Code::DuplicateKey, key.loc, key_path, format!("duplicate key `{}`", key.name), hint);
                    if REFERENCE_KEYS.contains(known_key) {
                        self.sensitive_all(value);
                    }
                    continue;
                }
                out.found.insert(known_key, (key, value));
                continue;
            }
            let suggestion = closest_key(&key.name, known);
            // The value of an unknown key may be a misspelt secret: never show it, unless the key is plainly a
            // misspelling of a field that is not secret.
            if suggestion.is_none_or(|k| provider::secret_field_names().contains(&k) || REFERENCE_KEYS.contains(&k)) {
                self.sensitive_strings(value);
            }
            let hint = if key.name.ends_with("Prefix") && key.name.len() > "Prefix".len() {
                "prefixes are read from the API, never written in the file; remove this key".to_string()
            } else if known == REFERENCE_KEYS && NOT_SOURCES.contains(&key.name.as_str()) {
                format!(
                    "a reference never runs a program: the file comes from pull requests, and CI runs reconcile with \
                     secrets in reach; {SOURCES_HINT}"
                )
            } else if known == REFERENCE_KEYS && suggestion.is_none() {
                format!("a secret's value never goes in the file: {SOURCES_HINT}")
            } else if let Some(k) = suggestion {
                out.suggested.insert(k);
                format!("did you mean `{k}`?")
            } else if path.is_empty() && matches!(value.kind, NodeKind::Map(_)) && entries.len() == 1 {
                format!(
                    "the providers go at the top level of the file; remove the `{}:` wrapper and un-indent what it holds",
                    key.name
                )
            } else {
                format!("known keys here: {}", known.join(", "))
            };
            self.report(Code::UnknownKey, key.loc, key_path, format!("unknown key `{}`", key.name), hint);
        }
        out
    }

    /// The whole document: a mapping of `version`, `account` and the providers, at least one of them declared.
    pub(super) fn document(&mut self, root: Option<&Node>, has_text: bool) -> Validated {
        let default_api_key = Located {
            value: Reference::Env(DEFAULT_API_KEY_ENV.to_string()),
            loc: None,
            path: join("account", provider::ACCOUNT_API_KEY),
        };
        let mut out = Validated {
            api_key: default_api_key,
            providers: [Declaration::Unmanaged, Declaration::Unmanaged, Declaration::Unmanaged],
            sip: None,
            registrations: None,
        };
        let Some(root) = root else {
            let message = if has_text { "the file has only comments" } else { "the file is empty" };
            let hint = "declare at least one provider (twilio, telnyx or plivo); `reconcile import` writes a start";
            self.report(Code::EmptyFile, None, "", message, hint);
            return out;
        };
        let NodeKind::Map(entries) = &root.kind else {
            // A token file or a `.env` passed by mistake: nothing of it is shown.
            self.sensitive_all(root);
            let hint = if matches!(root.kind, NodeKind::Seq(_)) {
                "the file is a mapping, not a list: remove the leading `- ` and write `twilio:`, `telnyx:`, `plivo:` at the top level"
            } else {
                "-f takes a telephony.yaml, with the providers as keys at the top level (`twilio:`, `telnyx:`, \
                 `plivo:`); this file is not one (a secret file or a .env?), so none of it is shown"
            };
            let message = format!("expected a mapping of providers, found {}", root.kind.describe());
            self.report(Code::WrongType, root.loc, "", message, hint);
            return out;
        };
        let entries = self.entries(entries, "", &top_keys());
        if let Some((_, node)) = entries.get("version") {
            self.version(node);
        }
        if let Some((_, node)) = entries.get("account")
            && let Some(api_key) = self.account(node)
        {
            out.api_key = api_key;
        }
        let mut managed_any = false;
        for provider in Provider::ALL {
            let Some((key, node)) = entries.get(provider.key()) else { continue };
            managed_any = true;
            out.providers[provider.index()] = match &node.kind {
                // `plivo:` with nothing after it (every field commented out?) is not a deletion: only a written
                // `null` or `~` is.
                NodeKind::Null if node.span.len == 0 => {
                    let p = provider.key();
                    self.report(
                        Code::EmptyValue,
                        key.loc,
                        p,
                        "the key has no value, which could be a deletion by accident (every field commented out?)",
                        format!(
                            "declare {p}'s fields under `{p}:`, write `{p}: null` to delete it from the account, or \
                             remove the key to leave it unmanaged"
                        ),
                    );
                    Declaration::Unmanaged
                }
                NodeKind::Null => Declaration::Absent,
                NodeKind::Map(block) => match self.provider(provider, key, block) {
                    Some(spec) => Declaration::Managed(spec),
                    None => Declaration::Unmanaged,
                },
                other => {
                    self.sensitive_all(node);
                    let p = provider.key();
                    let hint = format!("declare the provider's fields under `{p}:`, or write `{p}: null` to delete it");
                    self.report(
                        Code::WrongType,
                        node.loc,
                        p,
                        format!("expected a mapping or null, found {}", other.describe()),
                        hint,
                    );
                    Declaration::Unmanaged
                }
            };
        }
        if let Some((_, node)) = entries.get(crate::sip::SIP) {
            managed_any = true;
            out.sip = self.sip(node);
        }
        if let Some((_, node)) = entries.get(crate::sip::REGISTRATIONS) {
            managed_any = true;
            out.registrations = self.registrations(node);
        }
        if !managed_any && self.invalid.diagnostics.is_empty() {
            let hint = "add a `twilio`, `telnyx` or `plivo` block, or `provider: null` to require its absence (or \
                        `sip:`, `sipRegistrations:` for the account's SIP settings)";
            self.report(Code::NoProvider, root.loc, "", "no provider is declared, so there is nothing to manage", hint);
        }
        out
    }

    /// `version`, when given, is the number this reconcile reads.
    fn version(&mut self, node: &Node) {
        match &node.kind {
            NodeKind::Int(FORMAT_VERSION) => {}
            NodeKind::Str(s) if s.trim() == FORMAT_VERSION.to_string() => self.report(
                Code::WrongType,
                node.loc,
                "version",
                "expected the number 1, found a string",
                "remove the quotes: `version: 1`",
            ),
            NodeKind::Int(n) => self.report(
                Code::UnsupportedVersion,
                node.loc,
                "version",
                format!("version {n} is not supported; this reconcile reads version {FORMAT_VERSION}"),
                format!("write `version: {FORMAT_VERSION}` or leave it out; a newer file needs a newer reconcile"),
            ),
            other => self.report(
                Code::WrongType,
                node.loc,
                "version",
                format!("expected the number {FORMAT_VERSION}, found {}", other.describe()),
                format!("write `version: {FORMAT_VERSION}` or leave it out"),
            ),
        }
    }

    /// The `account` block: the Ultravox API key's reference (the default variable when left out).
    fn account(&mut self, node: &Node) -> Option<Located<Reference>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.sensitive_all(node);
            self.report(
                Code::WrongType,
                node.loc,
                "account",
                format!("expected a mapping, found {}", node.kind.describe()),
                format!(
                    "write `account: {{ {}: {{ env: {DEFAULT_API_KEY_ENV} }} }}`, or leave `account` out for that default",
                    provider::ACCOUNT_API_KEY
                ),
            );
            return None;
        };
        let entries = self.entries(entries, "account", &ACCOUNT_KEYS);
        let (_, value) = entries.get(provider::ACCOUNT_API_KEY)?;
        self.secret(None, provider::ACCOUNT_API_KEY, &join("account", provider::ACCOUNT_API_KEY), value)
    }
}
