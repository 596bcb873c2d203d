//! Agents written by name (`{ agent: NAME }` in `callCreationAllowedAgentIds`, and as `agentId` in
//! `sip.allowedAgents`), looked up through `GET /api/agents`.
//!
//! Each distinct name is looked up once per run, whichever providers (or the SIP config) use it, with the API's `search` filter to
//! narrow the listing and every page followed. The names are looked up concurrently, at most
//! [`LOOKUPS_AT_ONCE`] at a time, and their results taken in the order the names are first written, so that the
//! outcome and its messages do not depend on which answer comes first. Exactly one agent must bear the exact name;
//! none or several, or more matches than the client reads, is an error at each place the name is written.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use crate::api::wire::Agent;
use crate::api::{ApiError, TelephonyApi};
use crate::config::resolve::{AgentList, Resolved};
use crate::config::{Code, Config, ConfigError, Diagnostic};
use crate::redact;
use crate::sip::Allowance;
use crate::state::Desired;

/// Why the names could not be turned into IDs.
#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// How many candidates a "no such agent" message lists.
const MAX_CANDIDATES: usize = 5;

/// Agent lookups in flight at once for one account (one file). A file names at most 300 agents (100 per
/// provider); eight at once hide most of the latency of the usual few, and keep one account's burst well under the
/// API's rate limit (200 requests a second per key) at any realistic latency. The default `--jobs` is the same 8.
pub const LOOKUPS_AT_ONCE: usize = 8;

/// Looks up every agent written by name and puts its ID in the desired state, where the name was written.
pub async fn resolve_names<A: TelephonyApi>(
    api: &A,
    config: &Config,
    resolved: &mut Resolved,
) -> Result<(), NameError> {
    if resolved.agent_names.is_empty() {
        return Ok(());
    }
    let mut distinct: Vec<&str> = Vec::new();
    for entry in &resolved.agent_names {
        if !distinct.contains(&entry.name.value.as_str()) {
            distinct.push(&entry.name.value);
        }
    }
    let mut lookups = futures_util::stream::iter(distinct.into_iter().map(|name| async move {
        tracing::info!(name, "looking up an agent by name");
        (name, api.find_agents(name).await)
    }))
    .buffered(LOOKUPS_AT_ONCE);
    let mut found: BTreeMap<String, Result<String, (Code, String, String)>> = BTreeMap::new();
    // In the names' order, whatever order the answers came in: the first failure in that order is the one reported.
    while let Some((name, listed)) = lookups.next().await {
        let outcome = match listed {
            Ok(listed) => pick(name, &listed),
            // A fact about this name in this account, like "no agent is named": said where the name is written.
            Err(e @ ApiError::TooManyAgents { .. }) => {
                Err((Code::TooManyAgents, e.to_string(), e.hint().unwrap_or_default()))
            }
            Err(e) => return Err(e.into()),
        };
        found.insert(name.to_string(), outcome);
    }

    let mut diagnostics = Vec::new();
    let mut names_by_id = BTreeMap::new();
    // Insert in file order, so that each position counts the entries before it.
    for entry in &resolved.agent_names {
        let name = &entry.name.value;
        let id = match &found[name] {
            Ok(id) => id.clone(),
            Err((code, message, hint)) => {
                diagnostics.push(
                    Diagnostic::new(*code, entry.name.loc, &entry.name.path, message.clone()).with_hint(hint.clone()),
                );
                continue;
            }
        };
        let inserted = match &entry.list {
            AgentList::Provider(provider) => {
                let Desired::Present(provider) = &mut resolved.desired.providers[provider.index()] else { continue };
                insert(&mut provider.settings.allowed_agent_ids, entry.position, id.clone())
            }
            AgentList::Sip { to_user_pattern } => {
                let Some(sip) = resolved.desired.sip.as_mut() else { continue };
                insert(&mut sip.allowed_agents, entry.position, Allowance::new(&id, to_user_pattern.as_deref()))
            }
        };
        if !inserted {
            let what = match &entry.list {
                AgentList::Provider(_) => "already listed",
                AgentList::Sip { .. } => "already listed with the same toUserPattern",
            };
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateAgent,
                    entry.name.loc,
                    &entry.name.path,
                    format!("the agent named {name:?} is {}, which is {what}", redact::shown(&id)),
                )
                .with_hint("list each agent once, by ID or by name"),
            );
            continue;
        }
        names_by_id.insert(id, name.clone());
    }
    if !diagnostics.is_empty() {
        diagnostics.sort_by_key(|d| d.loc);
        return Err(ConfigError::new(config.path.clone(), config.source.clone(), diagnostics).into());
    }
    resolved.names_by_id = names_by_id;
    Ok(())
}

/// Puts `item` at `position` of a list that lacks the entries written by name after it (so that, inserted in file
/// order, each lands where it was written); `false` when the list holds it already.
fn insert<T: PartialEq>(list: &mut Vec<T>, position: usize, item: T) -> bool {
    if list.contains(&item) {
        return false;
    }
    list.insert(position.min(list.len()), item);
    true
}

/// The one agent named exactly `name`, or the code, message and hint saying why there is not one.
fn pick(name: &str, listed: &[Agent]) -> Result<String, (Code, String, String)> {
    // The same agent may be listed twice (on two pages, if the list moved while it was read): count it once.
    let mut seen = std::collections::HashSet::new();
    let exact: Vec<&Agent> = listed.iter().filter(|a| a.name == name && seen.insert(a.id.as_str())).collect();
    match exact.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => {
            let lower = name.to_lowercase();
            let close: Vec<String> = listed
                .iter()
                .filter(|a| a.name.to_lowercase().contains(&lower) || lower.contains(&a.name.to_lowercase()))
                .take(MAX_CANDIDATES)
                .map(|a| format!("{} ({})", quoted(&a.name), redact::shown(&a.id)))
                .collect();
            let hint = if close.is_empty() {
                "check the name in the Ultravox console (names are matched exactly, case included), or write the agent's ID".to_string()
            } else {
                format!("names are matched exactly, case included; agents with a similar name: {}", close.join(", "))
            };
            Err((Code::AgentNotFound, format!("no agent is named {name:?}"), hint))
        }
        several => Err((
            Code::AmbiguousAgent,
            format!(
                "{} agents are named {name:?}: {}",
                several.len(),
                several.iter().map(|a| redact::shown(&a.id)).collect::<Vec<_>>().join(", ")
            ),
            "agent names are not unique: write the ID of the one you mean".to_string(),
        )),
    }
}

/// An agent's name from the account, quoted as Rust quotes it (control characters escaped), or masked whole when it
/// holds a secret of the run: anyone with console access may write one.
fn quoted(name: &str) -> String {
    if redact::holds_secret(name) { redact::HIDDEN.to_string() } else { format!("{name:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, name: &str) -> Agent {
        Agent { id: id.into(), name: name.into() }
    }

    #[test]
    fn exactly_one_exact_match_is_required() {
        let listed = [agent("a", "Sales"), agent("b", "Sales bot"), agent("c", "sales")];
        assert_eq!(pick("Sales", &listed), Ok("a".into()));
        let (code, message, hint) = pick("Support", &listed).unwrap_err();
        assert_eq!(code, Code::AgentNotFound);
        assert_eq!(message, "no agent is named \"Support\"");
        assert!(hint.contains("check the name"), "{hint}");
        let (_, _, hint) = pick("Sales Bot", &listed).unwrap_err();
        assert!(hint.contains("\"Sales bot\" (b)"), "{hint}");
        assert_eq!(pick("Once", &[agent("o", "Once"), agent("p", "Other"), agent("o", "Once")]), Ok("o".into()));
        let (code, message, _) = pick("Twin", &[agent("x", "Twin"), agent("y", "Twin")]).unwrap_err();
        assert_eq!(code, Code::AmbiguousAgent);
        assert_eq!(message, "2 agents are named \"Twin\": x, y");
    }
}
