//! Turns a parsed YAML tree into a [`Config`], collecting every problem with its location and field path.
//!
//! No reference is resolved here: `validate` must work in a fork's pull request, where no secret is available.

use std::collections::{BTreeMap, HashMap};

use crate::config::diagnostic::Diagnostic;
use crate::config::model::{
    AgentEntry, DEFAULT_API_KEY_ENV, Declaration, FORMAT_VERSION, IdentifierSource, Located, ProviderSpec,
};
use crate::config::node::{Key, Loc, Node, NodeKind};
use crate::model::{self, MAX_AGENT_IDS, MAX_APPLICATION_SID_CHARS, Provider};
use crate::secret::Reference;

const TOP_KEYS: [&str; 5] = ["version", "account", "twilio", "telnyx", "plivo"];
const ACCOUNT_KEYS: [&str; 1] = ["apiKey"];
const REFERENCE_KEYS: [&str; 2] = ["env", "file"];

/// The parts of a [`Config`](crate::config::Config) that come from the document.
#[derive(Debug)]
pub struct Validated {
    pub api_key: Located<Reference>,
    pub providers: [Declaration; 3],
}

/// Validates a whole document. Returns the declarations when there is no problem, and every problem otherwise.
pub fn validate(root: Option<&Node>) -> Result<Validated, Vec<Diagnostic>> {
    let mut v = Validator { diags: Vec::new() };
    let result = v.document(root);
    if v.diags.is_empty() { Ok(result) } else { Err(v.diags) }
}

struct Validator {
    diags: Vec<Diagnostic>,
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
        .filter(|(k, d)| *d <= 3.max(k.len() / 4))
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

impl Validator {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn error(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.push(Diagnostic::new(Some(loc), path, message));
    }

    /// Reports keys that are not in `known` (with a suggestion) and returns the entries by name.
    fn entries<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        path: &str,
        known: &[&str],
    ) -> HashMap<&'n str, (&'n Key, &'n Node)> {
        let mut out = HashMap::new();
        for (key, value) in entries {
            if known.contains(&key.name.as_str()) {
                out.insert(key.name.as_str(), (key, value));
                continue;
            }
            let mut d = Diagnostic::new(Some(key.loc), join(path, &key.name), format!("unknown key `{}`", key.name));
            d = match closest_key(&key.name, known) {
                Some(k) => d.with_hint(format!("did you mean `{k}`?")),
                None => d.with_hint(format!("known keys here: {}", known.join(", "))),
            };
            if key.name.ends_with("Prefix") {
                d = d.with_hint("prefixes are read from the API, never written in the file; remove this key");
            }
            self.push(d);
        }
        out
    }

    fn document(&mut self, root: Option<&Node>) -> Validated {
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
            self.push(Diagnostic::new(None, "", "the file is empty").with_hint(
                "declare at least one provider (twilio, telnyx or plivo); `reconcile import` writes a start",
            ));
            return out;
        };
        let NodeKind::Map(entries) = &root.kind else {
            self.error(root.loc, "", format!("expected a mapping of providers, found {}", root.kind.describe()));
            return out;
        };
        let entries = self.entries(entries, "", &TOP_KEYS);
        if let Some((_, node)) = entries.get("version") {
            match node.kind {
                NodeKind::Int(FORMAT_VERSION) => {}
                _ => self.push(Diagnostic::new(Some(node.loc), "version", "unsupported version").with_hint(format!(
                    "the only version is {FORMAT_VERSION}; write `version: {FORMAT_VERSION}` or leave it out"
                ))),
            }
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
                    self.push(
                        Diagnostic::new(
                            Some(node.loc),
                            provider.key(),
                            format!("expected a mapping or null, found {}", other.describe()),
                        )
                        .with_hint(format!(
                            "declare the provider's fields under `{}:`, or write `{}: null` to delete it",
                            provider.key(),
                            provider.key()
                        )),
                    );
                    Declaration::Unmanaged
                }
            };
        }
        if !managed_any && self.diags.is_empty() {
            self.push(
                Diagnostic::new(Some(root.loc), "", "no provider is declared, so there is nothing to manage")
                    .with_hint("add a `twilio`, `telnyx` or `plivo` block, or `provider: null` to require its absence"),
            );
        }
        out
    }

    fn account(&mut self, node: &Node) -> Option<Located<Reference>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.error(node.loc, "account", format!("expected a mapping, found {}", node.kind.describe()));
            return None;
        };
        let entries = self.entries(entries, "account", &ACCOUNT_KEYS);
        let (_, value) = entries.get("apiKey")?;
        self.secret(None, "apiKey", "account.apiKey", value)
    }

    fn provider(&mut self, provider: Provider, key: &Key, block: &[(Key, Node)]) -> Option<ProviderSpec> {
        let path = provider.key();
        let before = self.diags.len();
        let entries = self.entries(block, path, &provider.known_keys());
        let mut identifiers = Vec::new();
        for &field in provider.identifier_fields() {
            let field_path = join(path, field);
            match entries.get(field) {
                Some((_, node)) => {
                    if let Some(id) = self.identifier(provider, field, &field_path, node) {
                        identifiers.push((field, id));
                    }
                }
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
                None => self.missing(provider, key, field, true),
            }
        }
        let allow_all = match entries.get(model::ALLOW_ALL) {
            Some((_, node)) => match node.kind {
                NodeKind::Bool(b) => Some((b, node.loc)),
                _ => {
                    self.push(
                        Diagnostic::new(
                            Some(node.loc),
                            join(path, model::ALLOW_ALL),
                            format!("expected true or false, found {}", node.kind.describe()),
                        )
                        .with_hint("write `true` or `false` without quotes; leaving it out means false"),
                    );
                    None
                }
            },
            None => None,
        };
        let agents = match entries.get(model::AGENT_IDS) {
            Some((_, node)) => self.agents(&join(path, model::AGENT_IDS), node),
            None => Some(Vec::new()),
        };
        if let (Some((true, _)), Some(list)) = (allow_all, &agents) {
            if let Some((_, node)) = entries.get(model::AGENT_IDS).filter(|_| !list.is_empty()) {
                self.push(
                    Diagnostic::new(
                        Some(node.loc),
                        join(path, model::AGENT_IDS),
                        "must be empty when callCreationAllowAllAgents is true",
                    )
                    .with_hint(
                        "remove the list, or set callCreationAllowAllAgents to false to allow only these agents",
                    ),
                );
            }
        }
        let mapping = match entries.get(model::CONTEXT_MAPPING) {
            Some((_, node)) => self.mapping(&join(path, model::CONTEXT_MAPPING), node),
            None => Some(BTreeMap::new()),
        };
        if self.diags.len() > before {
            return None;
        }
        Some(ProviderSpec {
            provider,
            identifiers,
            secrets,
            allowed_agents: agents.unwrap_or_default(),
            allow_all_agents: allow_all.map(|(b, _)| b).unwrap_or(false),
            request_context_mapping: mapping.unwrap_or_default(),
        })
    }

    fn missing(&mut self, provider: Provider, key: &Key, field: &str, secret: bool) {
        let hint = if secret {
            secret_hint(Some(provider), field)
        } else {
            format!("the API requires {field} for {provider}; add it to the block")
        };
        self.push(
            Diagnostic::new(Some(key.loc), join(provider.key(), field), format!("missing required field `{field}`"))
                .with_hint(hint),
        );
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
            NodeKind::Str(s) if s.is_empty() => {
                self.push(
                    Diagnostic::new(Some(node.loc), path, "may not be blank")
                        .with_hint(format!("write the {provider} {field}")),
                );
                None
            }
            NodeKind::Str(s) => {
                if field == "applicationSid" && s.chars().count() > MAX_APPLICATION_SID_CHARS {
                    self.push(
                        Diagnostic::new(
                            Some(node.loc),
                            path,
                            format!(
                                "is {} characters long; the API accepts at most {MAX_APPLICATION_SID_CHARS}",
                                s.chars().count()
                            ),
                        )
                        .with_hint("check that this is the Telnyx Application SID and not another value"),
                    );
                    return None;
                }
                located(IdentifierSource::Literal(s.clone()))
            }
            NodeKind::Map(_) => self.reference(path, node).and_then(|r| located(IdentifierSource::Reference(r))),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                self.push(
                    Diagnostic::new(Some(node.loc), path, format!("expected a string, found {}", node.kind.describe()))
                        .with_hint(format!("quote the value, e.g. `{field}: \"...\"`, so YAML keeps it as written")),
                );
                None
            }
            NodeKind::Null => {
                self.push(
                    Diagnostic::new(Some(node.loc), path, "has no value")
                        .with_hint(format!("write the {provider} {field}, or a reference `{{ env: NAME }}`")),
                );
                None
            }
            NodeKind::Seq(_) => {
                self.push(Diagnostic::new(Some(node.loc), path, "expected a string, found a list"));
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
                self.push(
                    Diagnostic::new(Some(node.loc), path, "has no value; a secret must be a reference")
                        .with_hint(secret_hint(provider, field)),
                );
                None
            }
            _ => {
                self.push(
                    Diagnostic::new(
                        Some(node.loc),
                        path,
                        "is a literal secret; secrets must be references so that they never live in git",
                    )
                    .with_hint(secret_hint(provider, field)),
                );
                None
            }
        }
    }

    fn reference(&mut self, path: &str, node: &Node) -> Option<Reference> {
        let NodeKind::Map(entries) = &node.kind else { return None };
        let before = self.diags.len();
        let found = self.entries(entries, path, &REFERENCE_KEYS);
        if self.diags.len() > before {
            return None;
        }
        match (found.get("env"), found.get("file")) {
            (Some(_), Some(_)) | (None, None) => {
                self.push(
                    Diagnostic::new(Some(node.loc), path, "a reference names exactly one source")
                        .with_hint("write `{ env: NAME }` or `{ file: PATH }`"),
                );
                None
            }
            (Some((_, value)), None) => match &value.kind {
                NodeKind::Str(name) if is_env_name(name) => Some(Reference::Env(name.clone())),
                NodeKind::Str(_) => {
                    self.push(
                        Diagnostic::new(Some(value.loc), join(path, "env"), "is not a valid environment variable name")
                            .with_hint("use letters, digits and underscores, not starting with a digit, e.g. TWILIO_AUTH_TOKEN"),
                    );
                    None
                }
                other => {
                    self.push(Diagnostic::new(
                        Some(value.loc),
                        join(path, "env"),
                        format!("expected a variable name, found {}", other.describe()),
                    ));
                    None
                }
            },
            (None, Some((_, value))) => match &value.kind {
                NodeKind::Str(p) if !p.trim().is_empty() => Some(Reference::File(p.into())),
                other => {
                    self.push(
                        Diagnostic::new(
                            Some(value.loc),
                            join(path, "file"),
                            format!(
                                "expected a file path, found {}",
                                if matches!(other, NodeKind::Str(_)) { "an empty string" } else { other.describe() }
                            ),
                        )
                        .with_hint("paths are relative to the folder of telephony.yaml"),
                    );
                    None
                }
            },
        }
    }

    fn agents(&mut self, path: &str, node: &Node) -> Option<Vec<Located<AgentEntry>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.push(
                Diagnostic::new(
                    Some(node.loc),
                    path,
                    format!("expected a list of agent IDs, found {}", node.kind.describe()),
                )
                .with_hint("write a YAML list (`- <uuid>` per line, or `[]`); leaving it out means no agents"),
            );
            return None;
        };
        let before = self.diags.len();
        if items.len() > MAX_AGENT_IDS {
            self.push(
                Diagnostic::new(
                    Some(node.loc),
                    path,
                    format!("lists {} agents; the API accepts at most {MAX_AGENT_IDS}", items.len()),
                )
                .with_hint("set callCreationAllowAllAgents to true instead, or trim the list"),
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match &item.kind {
                NodeKind::Str(s) => match canonical_uuid(s) {
                    Some(id) => {
                        if let Some(first) = seen.get(&id) {
                            self.push(
                                Diagnostic::new(Some(item.loc), &item_path, format!("duplicate agent ID {id}"))
                                    .with_hint(format!("it is already listed at line {}; remove one", first.line)),
                            );
                        } else {
                            seen.insert(id.clone(), item.loc);
                            out.push(Located { value: AgentEntry::Id(id), loc: Some(item.loc), path: item_path });
                        }
                    }
                    None => self.push(
                        Diagnostic::new(Some(item.loc), &item_path, format!("`{}` is not a UUID", truncate(s, 60)))
                            .with_hint("agent IDs look like 3c90c3cc-0d44-4b50-8888-8dd25736052a; copy them from the Ultravox console or API"),
                    ),
                },
                other => self.push(
                    Diagnostic::new(Some(item.loc), &item_path, format!("expected an agent ID (a UUID string), found {}", other.describe())),
                ),
            }
        }
        if self.diags.len() > before { None } else { Some(out) }
    }

    fn mapping(&mut self, path: &str, node: &Node) -> Option<BTreeMap<String, String>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.push(
                Diagnostic::new(
                    Some(node.loc),
                    path,
                    format!("expected a mapping of webhook fields to context paths, found {}", node.kind.describe()),
                )
                .with_hint("e.g. `requestContextMapping: { From: user.phone_number }`; leaving it out means {}"),
            );
            return None;
        };
        let before = self.diags.len();
        let mut out = BTreeMap::new();
        for (key, value) in entries {
            let entry_path = join(path, &key.name);
            if key.name.is_empty() {
                self.push(Diagnostic::new(Some(key.loc), &entry_path, "a request field name may not be empty"));
                continue;
            }
            match &value.kind {
                NodeKind::Str(s) if !s.is_empty() => {
                    out.insert(key.name.clone(), s.clone());
                }
                other => self.push(
                    Diagnostic::new(
                        Some(value.loc),
                        &entry_path,
                        format!(
                            "expected a context path (a string), found {}",
                            if matches!(other, NodeKind::Str(_)) { "an empty string" } else { other.describe() }
                        ),
                    )
                    .with_hint("map a request field to a dotted context path, e.g. `From: user.phone_number`"),
                ),
            }
        }
        if self.diags.len() > before { None } else { Some(out) }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
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
