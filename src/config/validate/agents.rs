//! `callCreationAllowedAgentIds`: agent IDs (UUIDs) and agents named `{ agent: NAME }`, without duplicates and
//! within the API's limits; one agent entry is read the same way in `sip.allowedAgents` (`agentId`).

use std::collections::HashMap;

use super::{Validator, join};
use crate::config::diagnostic::Code;
use crate::config::model::{AgentEntry, Located};
use crate::config::node::{Key, Loc, Node, NodeKind};
use crate::provider::MAX_AGENT_IDS;

const AGENT_REF_KEYS: [&str; 1] = ["agent"];
/// The longest agent name the API accepts.
pub const MAX_AGENT_NAME_CHARS: usize = 64;

impl Validator {
    /// The list of allowed agents: at most the API's number, each an ID or `{ agent: NAME }`, none twice.
    pub(super) fn agents(&mut self, path: &str, node: &Node) -> Option<Vec<Located<AgentEntry>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.report(
                Code::WrongType,
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
                Code::OverLimit,
                node.loc,
                path,
                format!("lists {} agents; the API accepts at most {MAX_AGENT_IDS}", items.len()),
                "set callCreationAllowAllAgents to true instead, or trim the list",
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some((label, entry)) = self.agent_entry(&item_path, item) else { continue };
            let identity = match &entry {
                AgentEntry::Id(id) => id.clone(),
                AgentEntry::Name(name) => format!("name:{name}"),
            };
            if let Some(first) = seen.get(&identity) {
                let hint = format!("it is already listed at line {}; remove one", first.line);
                self.report(Code::DuplicateAgent, item.loc, &item_path, format!("duplicate {label}"), hint);
            } else {
                seen.insert(identity, item.loc);
                out.push(Located { value: entry, loc: Some(item.loc), path: item_path });
            }
        }
        if self.invalid.diagnostics.len() > before { None } else { Some(out) }
    }

    /// One agent: an ID (a UUID) or `{ agent: NAME }`, with how messages name it (`agent ID ...`, `agent named ...`).
    pub(super) fn agent_entry(&mut self, path: &str, item: &Node) -> Option<(String, AgentEntry)> {
        let uuid_hint = "agent IDs look like 3c90c3cc-0d44-4b50-8888-8dd25736052a; copy them from the Ultravox console or API, or write `{ agent: NAME }`";
        match &item.kind {
            NodeKind::Str(s) => match canonical_uuid(s) {
                Some(id) => Some((format!("agent ID {id}"), AgentEntry::Id(id))),
                None => {
                    let message = format!("`{}` is not a UUID", crate::clean::truncate(s, 60));
                    self.report(Code::InvalidAgentId, item.loc, path, message, uuid_hint);
                    None
                }
            },
            NodeKind::Map(entries) => self
                .agent_by_name(path, item, entries)
                .map(|name| (format!("agent named {name:?}"), AgentEntry::Name(name))),
            other => {
                let message = format!("expected an agent ID (a UUID string), found {}", other.describe());
                self.report(Code::WrongType, item.loc, path, message, uuid_hint);
                None
            }
        }
    }

    /// One `{ agent: NAME }` entry: a non-blank name within the API's length.
    fn agent_by_name(&mut self, path: &str, item: &Node, entries: &[(Key, Node)]) -> Option<String> {
        let before = self.invalid.diagnostics.len();
        let found = self.entries(entries, path, &AGENT_REF_KEYS);
        if self.invalid.diagnostics.len() > before {
            return None;
        }
        let Some((_, value)) = found.get("agent") else {
            let hint = "write `{ agent: NAME }`, or the agent's ID";
            self.report(Code::InvalidAgentName, item.loc, path, "an agent reference needs a name", hint);
            return None;
        };
        let name_path = join(path, "agent");
        let name_hint = "write the agent's exact name, or its ID";
        match &value.kind {
            NodeKind::Str(name) if !name.trim().is_empty() && name.chars().count() <= MAX_AGENT_NAME_CHARS => {
                return Some(name.clone());
            }
            NodeKind::Str(name) if name.trim().is_empty() => {
                self.report(Code::InvalidAgentName, value.loc, name_path, "the agent name is empty", name_hint)
            }
            NodeKind::Str(name) => self.report(
                Code::OverLimit,
                value.loc,
                name_path,
                format!("is {} characters long; agent names have at most {MAX_AGENT_NAME_CHARS}", name.chars().count()),
                name_hint,
            ),
            other => self.report(
                Code::WrongType,
                value.loc,
                name_path,
                format!("expected an agent name, found {}", other.describe()),
                "quote the name if YAML reads it as something else, e.g. `{ agent: \"2024\" }`",
            ),
        }
        None
    }
}

/// The lower-case hyphenated form of a UUID written in that form (any case), or `None`.
pub fn canonical_uuid(s: &str) -> Option<String> {
    if s.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(s).ok().map(|u| u.hyphenated().to_string())
}
