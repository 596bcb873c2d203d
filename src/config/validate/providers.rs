//! A provider block: its required identifiers and secrets, `callCreationAllowAllAgents` and
//! `requestContextMapping`, and the limits the API sets on them.

use std::collections::{BTreeMap, HashMap};

use super::references::secret_hint;
use super::{Validator, join};
use crate::config::diagnostic::Code;
use crate::config::model::{IdentifierSource, Located, ProviderSpec};
use crate::config::node::{Key, Loc, Node, NodeKind};
use crate::provider::{self, Provider};

impl Validator {
    /// A provider block; `None` when it has a problem (reported).
    pub(super) fn provider(&mut self, provider: Provider, key: &Key, block: &[(Key, Node)]) -> Option<ProviderSpec> {
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
        let allow_all = match entries.get(provider::ALLOW_ALL) {
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
                    self.report(Code::WrongType, node.loc, join(path, provider::ALLOW_ALL), message, hint);
                    None
                }
            },
            None => None,
        };
        let agents = match entries.get(provider::AGENT_IDS) {
            Some((_, node)) => self.agents(&join(path, provider::AGENT_IDS), node),
            None => Some(Vec::new()),
        };
        // Said whether or not the list's entries are valid themselves: every problem at once.
        if allow_all == Some(true) {
            let listed = entries
                .get(provider::AGENT_IDS)
                .filter(|(_, node)| matches!(&node.kind, NodeKind::Seq(items) if !items.is_empty()));
            if let Some((_, node)) = listed {
                self.report(
                    Code::AllowAllWithAgents,
                    node.loc,
                    join(path, provider::AGENT_IDS),
                    "must be empty when callCreationAllowAllAgents is true",
                    "remove the list, or set callCreationAllowAllAgents to false to allow only these agents",
                );
            }
        }
        let mapping = match entries.get(provider::CONTEXT_MAPPING) {
            Some((_, node)) => self.mapping(&join(path, provider::CONTEXT_MAPPING), node),
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

    /// A required field is absent from a block (`key` is the block's key, where the problem points).
    fn missing(&mut self, provider: Provider, key: &Key, field: &str, secret: bool) {
        let hint = if secret {
            secret_hint(Some(provider), field)
        } else {
            format!("the API requires {field} for {provider}; add it to the block")
        };
        self.report(
            Code::MissingField,
            key.loc,
            join(provider.key(), field),
            format!("missing required field `{field}`"),
            hint,
        );
    }

    /// An identifying field: a non-blank string written as the API keeps it, or a reference.
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
                self.report(Code::EmptyValue, node.loc, path, "may not be blank", hint);
                None
            }
            NodeKind::Str(s) if s.trim() != s => {
                let hint = "remove it: the API trims it away, so the account would never match the file";
                self.report(Code::Whitespace, node.loc, path, "has leading or trailing whitespace", hint);
                None
            }
            NodeKind::Str(s) => {
                if let Some((max, what)) = provider.max_chars(field).filter(|(max, _)| s.chars().count() > *max) {
                    self.report(
                        Code::OverLimit,
                        node.loc,
                        path,
                        format!("is {} characters long; the API accepts at most {max}", s.chars().count()),
                        format!("check that this is the {what} and not another value"),
                    );
                    return None;
                }
                located(IdentifierSource::Literal(s.clone()))
            }
            NodeKind::Map(_) => self.reference(path, node).and_then(|r| located(IdentifierSource::Reference(r))),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                let message = format!("expected a string, found {}", node.kind.describe());
                let hint = format!("quote the value, e.g. `{field}: \"...\"`, so YAML keeps it as written");
                self.report(Code::WrongType, node.loc, path, message, hint);
                None
            }
            NodeKind::Null => {
                let hint = format!("write the {provider} {field}, or a reference `{{ env: NAME }}`");
                self.report(Code::EmptyValue, node.loc, path, "has no value", hint);
                None
            }
            NodeKind::Seq(_) => {
                let hint = format!("{provider} has one {field}: write it as a single value");
                self.report(Code::WrongType, node.loc, path, "expected a string, found a list", hint);
                None
            }
        }
    }

    /// `requestContextMapping`: each webhook field to a non-empty context path, each field once.
    fn mapping(&mut self, path: &str, node: &Node) -> Option<BTreeMap<String, String>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.report(
                Code::WrongType,
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
                self.report(Code::DuplicateKey, key.loc, &entry_path, format!("duplicate key `{}`", key.name), hint);
                continue;
            }
            seen.insert(&key.name, key.loc);
            match &value.kind {
                NodeKind::Str(s) if !s.is_empty() && s.trim() != s => self.report(
                    Code::Whitespace,
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
                    self.report(Code::WrongType, value.loc, &entry_path, message, hint);
                }
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }
}
