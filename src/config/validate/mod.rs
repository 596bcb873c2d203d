//! Turns a parsed YAML tree into a [`Config`](crate::config::Config), collecting every problem with its location,
//! field path and a hint.
//!
//! No reference is resolved here: `validate` must work in a fork's pull request, where no secret is available. The
//! validator also records where literal secrets (and values of unknown keys, which may be misspelt secret fields)
//! stand in the text, so that a diagnostic never shows them.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::diagnostic::Diagnostic;
use crate::config::model::{
    AgentEntry, DEFAULT_API_KEY_ENV, Declaration, FORMAT_VERSION, IdentifierSource, Located, ProviderSpec,
};
use crate::config::node::{ByteSpan, Key, Loc, Node, NodeKind};
use crate::model::{self, MAX_AGENT_IDS, MAX_APPLICATION_SID_CHARS, Provider};
use crate::secret::Reference;

const TOP_KEYS: [&str; 5] = ["version", "account", "twilio", "telnyx", "plivo"];
const ACCOUNT_KEYS: [&str; 1] = [model::ACCOUNT_API_KEY];
const REFERENCE_KEYS: [&str; 2] = ["env", "file"];
const AGENT_REF_KEYS: [&str; 1] = ["agent"];
/// The longest agent name the API accepts.
pub const MAX_AGENT_NAME_CHARS: usize = 64;

/// The parts of a [`Config`](crate::config::Config) that come from the document.
#[derive(Debug)]
pub struct Validated {
    pub api_key: Located<Reference>,
    pub providers: [Declaration; 3],
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

#[derive(Default)]
struct Validator {
    invalid: Invalid,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
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

fn secret_hint(provider: Option<Provider>, field: &str) -> String {
    let env = match provider {
        Some(p) => p.conventional_env(field),
        None => DEFAULT_API_KEY_ENV.to_string(),
    };
    format!(
        "write `{field}: {{ env: {env} }}` and set {env}, or `{field}: {{ file: PATH }}` with a file kept out of git"
    )
}

/// The entries of a mapping whose keys are known, by name; unknown and duplicate keys are reported.
struct Entries<'n> {
    found: HashMap<&'n str, (&'n Key, &'n Node)>,
    /// Known keys that an unknown key was taken for (reported once, as a typo, not again as missing).
    suggested: HashSet<&'static str>,
}

impl<'n> Entries<'n> {
    fn get(&self, key: &str) -> Option<&(&'n Key, &'n Node)> {
        self.found.get(key)
    }
}

impl Validator {
    /// Records one problem: where it is (`None` for the whole file), its field path, what is wrong, and what to do.
    fn report(
        &mut self,
        at: impl Into<Option<Loc>>,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.invalid.diagnostics.push(Diagnostic::new(at.into(), path, message).with_hint(hint));
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

    fn sensitive(&mut self, node: &Node) {
        for span in [node.span, node.defined] {
            if span.len > 0 {
                self.invalid.sensitive.push(span);
            }
        }
    }

    fn entries<'n>(&mut self, entries: &'n [(Key, Node)], path: &str, known: &[&'static str]) -> Entries<'n> {
        let mut out = Entries { found: HashMap::new(), suggested: HashSet::new() };
        for (key, value) in entries {
            let key_path = join(path, &key.name);
            if let Some(known_key) = known.iter().find(|k| **k == key.name) {
                if let Some((first, _)) = out.found.get(known_key) {
                    let hint = format!("it is already set at line {}; keep one of them", first.loc.line);
                    self.report(key.loc, key_path, format!("duplicate key `{}`", key.name), hint);
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
            if suggestion.is_none_or(|k| model::secret_field_names().contains(&k) || REFERENCE_KEYS.contains(&k)) {
                self.sensitive_strings(value);
            }
            let hint = if key.name.ends_with("Prefix") && key.name.len() > "Prefix".len() {
                "prefixes are read from the API, never written in the file; remove this key".to_string()
            } else if known == REFERENCE_KEYS && suggestion.is_none() {
                "a secret's value never goes in the file: write `{ env: NAME }` or `{ file: PATH }`".to_string()
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
            self.report(key.loc, key_path, format!("unknown key `{}`", key.name), hint);
        }
        out
    }

    fn document(&mut self, root: Option<&Node>, has_text: bool) -> Validated {
        let default_api_key = Located {
            value: Reference::Env(DEFAULT_API_KEY_ENV.to_string()),
            loc: None,
            path: "account.apiKey".into(),
        };
        let mut out = Validated {
            api_key: default_api_key,
            providers: [Declaration::Unmanaged, Declaration::Unmanaged, Declaration::Unmanaged],
        };
        let Some(root) = root else {
            let message = if has_text { "the file has only comments" } else { "the file is empty" };
            let hint = "declare at least one provider (twilio, telnyx or plivo); `reconcile import` writes a start";
            self.report(None, "", message, hint);
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
            self.report(root.loc, "", message, hint);
            return out;
        };
        let entries = self.entries(entries, "", &TOP_KEYS);
        if let Some((_, node)) = entries.get("version") {
            self.version(node);
        }
        if let Some((_, node)) = entries.get("account") {
            if let Some(api_key) = self.account(node) {
                out.api_key = api_key;
            }
        }
        let mut managed_any = false;
        for provider in Provider::ALL {
            let Some((key, node)) = entries.get(provider.key()) else { continue };
            managed_any = true;
            out.providers[provider.index()] = match &node.kind {
                NodeKind::Null => Declaration::MustNotExist,
                NodeKind::Map(block) => match self.provider(provider, key, block) {
                    Some(spec) => Declaration::Managed(spec),
                    None => Declaration::Unmanaged,
                },
                other => {
                    self.sensitive_all(node);
                    let p = provider.key();
                    let hint = format!("declare the provider's fields under `{p}:`, or write `{p}: null` to delete it");
                    self.report(node.loc, p, format!("expected a mapping or null, found {}", other.describe()), hint);
                    Declaration::Unmanaged
                }
            };
        }
        if !managed_any && self.invalid.diagnostics.is_empty() {
            let hint = "add a `twilio`, `telnyx` or `plivo` block, or `provider: null` to require its absence";
            self.report(root.loc, "", "no provider is declared, so there is nothing to manage", hint);
        }
        out
    }

    fn version(&mut self, node: &Node) {
        match &node.kind {
            NodeKind::Int(FORMAT_VERSION) => {}
            NodeKind::Str(s) if s.trim() == FORMAT_VERSION.to_string() => self.report(
                node.loc,
                "version",
                "expected the number 1, found a string",
                "remove the quotes: `version: 1`",
            ),
            NodeKind::Int(n) => self.report(
                node.loc,
                "version",
                format!("version {n} is not supported; this reconcile reads version {FORMAT_VERSION}"),
                format!("write `version: {FORMAT_VERSION}` or leave it out; a newer file needs a newer reconcile"),
            ),
            other => self.report(
                node.loc,
                "version",
                format!("expected the number {FORMAT_VERSION}, found {}", other.describe()),
                format!("write `version: {FORMAT_VERSION}` or leave it out"),
            ),
        }
    }

    fn account(&mut self, node: &Node) -> Option<Located<Reference>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.sensitive_all(node);
            self.report(
                node.loc,
                "account",
                format!("expected a mapping, found {}", node.kind.describe()),
                "write `account: { apiKey: { env: ULTRAVOX_API_KEY } }`, or leave `account` out for that default",
            );
            return None;
        };
        let entries = self.entries(entries, "account", &ACCOUNT_KEYS);
        let (_, value) = entries.get(model::ACCOUNT_API_KEY)?;
        self.secret(None, model::ACCOUNT_API_KEY, &format!("account.{}", model::ACCOUNT_API_KEY), value)
    }

    fn provider(&mut self, provider: Provider, key: &Key, block: &[(Key, Node)]) -> Option<ProviderSpec> {
        let path = provider.key();
        let before = self.invalid.diagnostics.len();
        let known = provider.known_keys();
        let entries = self.entries(block, path, &known);
        let mut identifiers = Vec::new();
        for &field in provider.identifier_fields() {
            let field_path = join(path, field);
            match entries.get(field) {
                Some((_, node)) => {
                    if let Some(id) = self.identifier(provider, field, &field_path, node) {
                        identifiers.push((field, id));
                    }
                }
                None if entries.suggested.contains(field) => {}
                None => self.missing(provider, key, field, false),
            }
        }
        let mut secrets = Vec::new();
        for &field in provider.secret_fields() {
            let field_path = join(path, field);
            match entries.get(field) {
                Some((_, node)) => {
                    if let Some(reference) = self.secret(Some(provider), field, &field_path, node) {
                        secrets.push((field, reference));
                    }
                }
                None if entries.suggested.contains(field) => {}
                None => self.missing(provider, key, field, true),
            }
        }
        let allow_all = match entries.get(model::ALLOW_ALL) {
            Some((_, node)) => match node.kind {
                NodeKind::Bool(b) => Some(b),
                _ => {
                    let hint = match &node.kind {
                        NodeKind::Str(s)
                            if ["yes", "no", "on", "off", "y", "n"].contains(&s.to_lowercase().as_str()) =>
                        {
                            format!("YAML 1.2 reads `{s}` as a string: write `true` or `false`")
                        }
                        _ => "write `true` or `false` without quotes; leaving it out means false".to_string(),
                    };
                    let message = format!("expected true or false, found {}", node.kind.describe());
                    self.report(node.loc, join(path, model::ALLOW_ALL), message, hint);
                    None
                }
            },
            None => None,
        };
        let agents = match entries.get(model::AGENT_IDS) {
            Some((_, node)) => self.agents(&join(path, model::AGENT_IDS), node),
            None => Some(Vec::new()),
        };
        if let (Some(true), Some(list)) = (allow_all, &agents) {
            if let Some((_, node)) = entries.get(model::AGENT_IDS).filter(|_| !list.is_empty()) {
                self.report(
                    node.loc,
                    join(path, model::AGENT_IDS),
                    "must be empty when callCreationAllowAllAgents is true",
                    "remove the list, or set callCreationAllowAllAgents to false to allow only these agents",
                );
            }
        }
        let mapping = match entries.get(model::CONTEXT_MAPPING) {
            Some((_, node)) => self.mapping(&join(path, model::CONTEXT_MAPPING), node),
            None => Some(BTreeMap::new()),
        };
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        Some(ProviderSpec {
            provider,
            identifiers,
            secrets,
            allowed_agents: agents.unwrap_or_default(),
            allow_all_agents: allow_all.unwrap_or(false),
            request_context_mapping: mapping.unwrap_or_default(),
        })
    }

    fn missing(&mut self, provider: Provider, key: &Key, field: &str, secret: bool) {
        let hint = if secret {
            secret_hint(Some(provider), field)
        } else {
            format!("the API requires {field} for {provider}; add it to the block")
        };
        self.report(key.loc, join(provider.key(), field), format!("missing required field `{field}`"), hint);
    }

    fn identifier(
        &mut self,
        provider: Provider,
        field: &'static str,
        path: &str,
        node: &Node,
    ) -> Option<Located<IdentifierSource>> {
        let located = |value| Some(Located { value, loc: Some(node.loc), path: path.to_string() });
        match &node.kind {
            NodeKind::Str(s) if s.trim().is_empty() => {
                let hint = format!("write the {provider} {field}, or a reference `{{ env: NAME }}`");
                self.report(node.loc, path, "may not be blank", hint);
                None
            }
            NodeKind::Str(s) if s.trim() != s => {
                let hint = "remove it: the API trims it away, so the account would never match the file";
                self.report(node.loc, path, "has leading or trailing whitespace", hint);
                None
            }
            NodeKind::Str(s) => {
                if field == "applicationSid" && s.chars().count() > MAX_APPLICATION_SID_CHARS {
                    self.report(
                        node.loc,
                        path,
                        format!(
                            "is {} characters long; the API accepts at most {MAX_APPLICATION_SID_CHARS}",
                            s.chars().count()
                        ),
                        "check that this is the Telnyx Application SID and not another value",
                    );
                    return None;
                }
                located(IdentifierSource::Literal(s.clone()))
            }
            NodeKind::Map(_) => self.reference(path, node).and_then(|r| located(IdentifierSource::Reference(r))),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                let message = format!("expected a string, found {}", node.kind.describe());
                let hint = format!("quote the value, e.g. `{field}: \"...\"`, so YAML keeps it as written");
                self.report(node.loc, path, message, hint);
                None
            }
            NodeKind::Null => {
                let hint = format!("write the {provider} {field}, or a reference `{{ env: NAME }}`");
                self.report(node.loc, path, "has no value", hint);
                None
            }
            NodeKind::Seq(_) => {
                let hint = format!("{provider} has one {field}: write it as a single value");
                self.report(node.loc, path, "expected a string, found a list", hint);
                None
            }
        }
    }

    /// A secret field: only a reference is accepted. The literal itself is never repeated in a message.
    fn secret(
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
                self.report(node.loc, path, message, secret_hint(provider, field));
                None
            }
            _ => {
                self.sensitive_all(node);
                let message = "is a literal secret; secrets must be references so that they never live in git";
                self.report(node.loc, path, message, secret_hint(provider, field));
                None
            }
        }
    }

    fn reference(&mut self, path: &str, node: &Node) -> Option<Reference> {
        let NodeKind::Map(entries) = &node.kind else { return None };
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &REFERENCE_KEYS);
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        match (found.get("env"), found.get("file")) {
            (Some(_), Some(_)) | (None, None) => {
                let hint = "write `{ env: NAME }` or `{ file: PATH }`";
                self.report(node.loc, path, "a reference names exactly one source", hint);
                None
            }
            (Some((_, value)), None) => {
                let env_path = join(path, "env");
                let name_hint = "name the environment variable that holds the value, e.g. `{ env: TWILIO_AUTH_TOKEN }`";
                match &value.kind {
                    NodeKind::Str(name) if is_env_name(name) => return Some(Reference::Env(name.clone())),
                    NodeKind::Str(name) if name.trim().is_empty() => {
                        self.report(value.loc, env_path, "the variable name is empty", name_hint)
                    }
                    NodeKind::Str(_) => self.report(
                        value.loc,
                        env_path,
                        "is not a valid environment variable name",
                        "use letters, digits and underscores, not starting with a digit, e.g. TWILIO_AUTH_TOKEN",
                    ),
                    NodeKind::Null => self.report(value.loc, env_path, "the variable name is missing", name_hint),
                    other => {
                        self.sensitive_all(value);
                        self.report(
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

    fn agents(&mut self, path: &str, node: &Node) -> Option<Vec<Located<AgentEntry>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.report(
                node.loc,
                path,
                format!("expected a list of agent IDs, found {}", node.kind.describe()),
                "write a YAML list (`- <uuid>` per line, or `[]`); leaving it out means no agents",
            );
            return None;
        };
        let before = self.invalid.diagnostics.len();
        if items.len() > MAX_AGENT_IDS {
            self.report(
                node.loc,
                path,
                format!("lists {} agents; the API accepts at most {MAX_AGENT_IDS}", items.len()),
                "set callCreationAllowAllAgents to true instead, or trim the list",
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        let uuid_hint = "agent IDs look like 3c90c3cc-0d44-4b50-8888-8dd25736052a; copy them from the Ultravox console or API, or write `{ agent: NAME }`";
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let entry = match &item.kind {
                NodeKind::Str(s) => match canonical_uuid(s) {
                    Some(id) => Some((format!("agent ID {id}"), AgentEntry::Id(id))),
                    None => {
                        let message = format!("`{}` is not a UUID", crate::render::clean::truncate(s, 60));
                        self.report(item.loc, &item_path, message, uuid_hint);
                        None
                    }
                },
                NodeKind::Map(entries) => self
                    .agent_by_name(&item_path, item, entries)
                    .map(|name| (format!("agent named {name:?}"), AgentEntry::Name(name))),
                other => {
                    let message = format!("expected an agent ID (a UUID string), found {}", other.describe());
                    self.report(item.loc, &item_path, message, uuid_hint);
                    None
                }
            };
            let Some((label, entry)) = entry else { continue };
            let identity = match &entry {
                AgentEntry::Id(id) => id.clone(),
                AgentEntry::Name(name) => format!("name:{name}"),
            };
            if let Some(first) = seen.get(&identity) {
                let hint = format!("it is already listed at line {}; remove one", first.line);
                self.report(item.loc, &item_path, format!("duplicate {label}"), hint);
            } else {
                seen.insert(identity, item.loc);
                out.push(Located { value: entry, loc: Some(item.loc), path: item_path });
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    fn agent_by_name(&mut self, path: &str, item: &Node, entries: &[(Key, Node)]) -> Option<String> {
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &AGENT_REF_KEYS);
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        let Some((_, value)) = found.get("agent") else {
            let hint = "write `{ agent: NAME }`, or the agent's ID";
            self.report(item.loc, path, "an agent reference needs a name", hint);
            return None;
        };
        let name_path = join(path, "agent");
        let name_hint = "write the agent's exact name, or its ID";
        match &value.kind {
            NodeKind::Str(name) if !name.trim().is_empty() && name.chars().count() <= MAX_AGENT_NAME_CHARS => {
                return Some(name.clone());
            }
            NodeKind::Str(name) if name.trim().is_empty() => {
                self.report(value.loc, name_path, "the agent name is empty", name_hint)
            }
            NodeKind::Str(name) => self.report(
                value.loc,
                name_path,
                format!("is {} characters long; agent names have at most {MAX_AGENT_NAME_CHARS}", name.chars().count()),
                name_hint,
            ),
            other => self.report(
                value.loc,
                name_path,
                format!("expected an agent name, found {}", other.describe()),
                "quote the name if YAML reads it as something else, e.g. `{ agent: \"2024\" }`",
            ),
        }
        None
    }

    fn mapping(&mut self, path: &str, node: &Node) -> Option<BTreeMap<String, String>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.report(
                node.loc,
                path,
                format!("expected a mapping of webhook fields to context paths, found {}", node.kind.describe()),
                "e.g. `requestContextMapping: { From: user.phone_number }`; leaving it out means {}",
            );
            return None;
        };
        let before = self.invalid.diagnostics.len();
        let mut out = BTreeMap::new();
        let mut seen: HashMap<&str, Loc> = HashMap::new();
        for (key, value) in entries {
            let entry_path = join(path, &key.name);
            if let Some(first) = seen.get(key.name.as_str()) {
                let hint = format!("it is already mapped at line {}; keep one of them", first.line);
                self.report(key.loc, &entry_path, format!("duplicate key `{}`", key.name), hint);
                continue;
            }
            seen.insert(&key.name, key.loc);
            match &value.kind {
                NodeKind::Str(s) if !s.is_empty() && s.trim() != s => self.report(
                    value.loc,
                    &entry_path,
                    "has leading or trailing whitespace",
                    "remove it: the API trims it away, so the account would never match the file",
                ),
                NodeKind::Str(s) if !s.is_empty() => {
                    out.insert(key.name.clone(), s.clone());
                }
                other => {
                    let found = if matches!(other, NodeKind::Str(_)) { "an empty string" } else { other.describe() };
                    let hint = match other {
                        NodeKind::Map(_) | NodeKind::Seq(_) => {
                            "write the context path as one dotted string, e.g. `From: user.phone_number`, not as nested YAML"
                        }
                        _ => {
                            "map a request field to a dotted context path, e.g. `From: user.phone_number` (quote it if YAML reads it as a number)"
                        }
                    };
                    let message = format!("expected a context path (a string), found {found}");
                    self.report(value.loc, &entry_path, message, hint);
                }
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The lower-case hyphenated form of a UUID written in that form (any case), or `None`.
pub fn canonical_uuid(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s).ok().map(|u| u.hyphenated().to_string())
}
