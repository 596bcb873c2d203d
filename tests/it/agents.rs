//! Agents written by name (`{ agent: NAME }`): looked up through `GET /api/agents` (every page, narrowed with
//! `search`), once per name per run, several names at once; exactly one exact match is required.

use crate::common::*;
use std::time::Duration;
use ultravox_emulator::Agent;

const FILE: &str = r#"twilio:
  accountSid: AC1
  authToken: { env: TWILIO_AUTH_TOKEN }
  callCreationAllowedAgentIds:
    - { agent: Sales }
    - 3c90c3cc-0d44-4b50-8888-8dd25736052a
plivo:
  authId: MA1
  authToken: { env: PLIVO_AUTH_TOKEN }
  callCreationAllowedAgentIds: [{ agent: Sales }, { agent: "Support desk" }]
"#;

fn account(agents: Vec<Agent>) -> AccountState {
    AccountState { agents, ..AccountState::default() }
}

fn agents_requests(f: &Fixture) -> Vec<String> {
    f.emu.requests().iter().filter(|r| r.path == "/api/agents").map(|r| r.query.clone().unwrap_or_default()).collect()
}

fn many_agents() -> Vec<Agent> {
    let mut agents: Vec<Agent> = (1..=7).map(|n| Agent::numbered(n, format!("Sales clone {n}"))).collect();
    agents.push(Agent::new(ultravox_emulator::numbered_uuid(100), "Sales"));
    agents.push(Agent::new(ultravox_emulator::numbered_uuid(101), "Support desk"));
    agents
}

#[test]
fn names_resolve_across_pages_once_per_name_and_show_beside_the_id() {
    let f = Fixture::with_state(account(many_agents()));
    f.emu.set_agents_page_size(3);
    f.write("telephony.yaml", FILE);
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    let sales = ultravox_emulator::numbered_uuid(100);
    let support = ultravox_emulator::numbered_uuid(101);
    assert!(out.contains(&format!("{sales} (Sales)")), "{out}");
    assert!(out.contains(&format!("{support} (Support desk)")), "{out}");
    // "Sales" matches 8 agents by substring: 3 pages of 3; "Support desk" matches 1: one page. Once each, though
    // "Sales" is used by two providers.
    let queries = agents_requests(&f);
    assert_eq!(queries.iter().filter(|q| q.contains("search=Sales")).count(), 3, "{queries:?}");
    assert_eq!(queries.iter().filter(|q| q.contains("search=Support")).count(), 1, "{queries:?}");
    assert_eq!(f.request_lines().iter().filter(|l| l.as_str() == GET_CONFIG).count(), 1);

    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let sent = f.sent();
    assert_eq!(f.sent_providers(), ["twilio", "plivo"]);
    assert_eq!(sent[0].1["callCreationAllowedAgentIds"], serde_json::json!([sales, AGENT_A]));
    assert_eq!(sent[1].1["callCreationAllowedAgentIds"], serde_json::json!([sales, support]));
    let (code, out, _) = f.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    let (_, json, _) = f.run(&["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["agentNames"][&sales], "Sales");
}

#[test]
fn next_links_naming_another_origin_are_read_from_the_apis_own() {
    // A server behind a proxy writes its page links with its own view of itself (an internal host name, `http://`
    // behind TLS): the listing goes on with the link's query, on the API's origin, where the key belongs.
    for origin in ["http://internal-api:8000", "https://127.0.0.1:1", "http://gateway.example/ultravox"] {
        let f = Fixture::with_state(account(many_agents()));
        f.emu.set_agents_page_size(3);
        f.emu.set_page_links_origin(Some(origin));
        f.write("telephony.yaml", FILE);
        let (code, out, err) = f.run(&["plan"]);
        assert_eq!(code, 0, "{origin}: {out}{err}");
        assert!(out.contains(&format!("{} (Sales)", ultravox_emulator::numbered_uuid(100))), "{out}");
        let queries = agents_requests(&f);
        let sales: Vec<&String> = queries.iter().filter(|q| q.contains("search=Sales")).collect();
        assert_eq!(sales.len(), 3, "{origin}: {queries:?}");
        assert!(sales[1].contains("cursor=") && sales[2].contains("cursor="), "{queries:?}");
    }
}

#[test]
fn one_page_is_one_request() {
    let f = Fixture::with_state(account(vec![Agent::new(ultravox_emulator::numbered_uuid(1), "Solo")]));
    f.write("telephony.yaml", "plivo:\n  authId: MA1\n  authToken: { env: PLIVO_AUTH_TOKEN }\n  callCreationAllowedAgentIds: [{ agent: Solo }]\n");
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(agents_requests(&f).len(), 1);
}

#[test]
fn an_ambiguous_name_lists_the_candidates_and_sends_nothing() {
    let twins = vec![
        Agent::new(ultravox_emulator::numbered_uuid(1), "Sales"),
        Agent::new(ultravox_emulator::numbered_uuid(2), "Sales"),
    ];
    let f = Fixture::with_state(account(twins));
    f.write("telephony.yaml", FILE);
    let (code, _, err) = f.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(err.contains("twilio.callCreationAllowedAgentIds[0]: 2 agents are named \"Sales\""), "{err}");
    assert!(
        err.contains(&ultravox_emulator::numbered_uuid(1)) && err.contains(&ultravox_emulator::numbered_uuid(2)),
        "{err}"
    );
    assert!(err.contains("telephony.yaml:5:7"), "{err}");
    assert!(err.contains("write the ID of the one you mean"), "{err}");
    assert!(f.write_lines().is_empty(), "{:?}", f.write_lines());
    assert!(!f.request_lines().contains(&GET_CONFIG.to_string()), "no plan without the names");
}

#[test]
fn a_missing_name_is_an_error_with_similar_names() {
    let f = Fixture::with_state(account(vec![Agent::new(ultravox_emulator::numbered_uuid(1), "Sales team")]));
    f.write("telephony.yaml", FILE);
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("no agent is named \"Sales\""), "{err}");
    assert!(err.contains("\"Sales team\""), "candidates listed: {err}");
    assert!(err.contains("no agent is named \"Support desk\""), "every problem at once: {err}");
}

#[test]
fn a_name_that_resolves_to_a_listed_id_is_a_duplicate() {
    let f = Fixture::with_state(account(vec![Agent::new(AGENT_A, "Alpha")]));
    f.write("telephony.yaml", &format!("plivo:\n  authId: MA1\n  authToken: {{ env: PLIVO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds: [{AGENT_A}, {{ agent: Alpha }}]\n"));
    let (code, _, err) = f.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("the agent named \"Alpha\" is {AGENT_A}, which is already listed")), "{err}");
}

#[test]
fn validate_checks_names_without_the_network() {
    let f = Fixture::new();
    f.write("telephony.yaml", FILE);
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 0, "{err}");
    f.write("telephony.yaml", "plivo:\n  authId: MA1\n  authToken: { env: P }\n  callCreationAllowedAgentIds: [{ agent: Sales }, { agent: Sales }, { agnt: X }]\n");
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(err.contains("duplicate agent named \"Sales\""), "{err}");
    assert!(err.contains("did you mean `agent`?"), "{err}");
    assert!(f.emu.requests().is_empty());
}

/// Ten names no one of which contains another (the emulator's `search`, like the API's, matches within names).
const TEN: [&str; 10] = ["Alfa", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett"];

#[test]
fn ten_names_are_looked_up_eight_at_a_time_each_once() {
    let agents = TEN.iter().zip(1..).map(|(name, n)| Agent::numbered(n, *name)).collect();
    let f = Fixture::with_state(account(agents));
    let list = |names: &[&str]| names.iter().map(|n| format!("{{ agent: {n} }}")).collect::<Vec<_>>().join(", ");
    // Plivo names three of twilio's again: each name is still looked up once.
    f.write(
        "telephony.yaml",
        &format!(
            "twilio:\n  accountSid: AC1\n  authToken: {{ env: TWILIO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds: \
             [{}]\nplivo:\n  authId: MA1\n  authToken: {{ env: PLIVO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds: \
             [{}]\n",
            list(&TEN),
            list(&["Juliett", "Alfa", "Echo"])
        ),
    );
    // Long enough that every lookup the client starts together is still being answered when the last one arrives.
    f.emu.set_latency(Duration::from_millis(300));
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 0, "{out}{err}");
    let queries = agents_requests(&f);
    assert_eq!(queries.len(), 10, "{queries:?}");
    for name in TEN {
        assert_eq!(queries.iter().filter(|q| q.contains(&format!("search={name}"))).count(), 1, "{name}: {queries:?}");
    }
    // The lookups overlapped, eight at most at once (the plan's own GET comes after them all).
    assert_eq!(f.emu.max_in_flight(), 8);
    // Every ID in its place, whichever answer came first.
    for (name, n) in TEN.iter().zip(1..) {
        assert!(out.contains(&format!("{} ({name})", ultravox_emulator::numbered_uuid(n))), "{name}: {out}");
    }
    f.emu.set_latency(Duration::ZERO);
    f.emu.clear_requests();
    assert_eq!(f.run(&["apply", "--auto-approve"]).0, 0);
    let sent: std::collections::BTreeMap<String, serde_json::Value> = f.sent().into_iter().collect();
    let ids = |ns: &[u64]| ns.iter().map(|n| ultravox_emulator::numbered_uuid(*n)).collect::<Vec<_>>();
    assert_eq!(sent["twilio"]["callCreationAllowedAgentIds"], serde_json::json!(ids(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
    assert_eq!(sent["plivo"]["callCreationAllowedAgentIds"], serde_json::json!(ids(&[10, 1, 5])));
}

#[test]
fn a_name_matching_more_pages_than_are_read_says_so_where_it_is_written() {
    // 51 agents whose names contain "Sales", one a page: the client reads 50 pages and stops.
    let agents = (1..=51).map(|n| Agent::numbered(n, format!("Sales {n}"))).collect();
    let f = Fixture::with_state(account(agents));
    f.emu.set_agents_page_size(1);
    f.write("telephony.yaml", "plivo:\n  authId: MA1\n  authToken: { env: PLIVO_AUTH_TOKEN }\n  callCreationAllowedAgentIds:\n    - { agent: Sales }\n");
    let (code, out, err) = f.run(&["plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err,
        "error[too-many-agents]: plivo.callCreationAllowedAgentIds[0]: too many agents match the name \"Sales\": after 50 pages (50 \
         agents) the API still listed more, and reconcile reads no further\n  --> telephony.yaml:5:7\n    |\n  5 |     \
         - { agent: Sales }\n    |       ^\n  hint: write the agent's ID instead of its name (the Ultravox console shows \
         it), or give the agent a name that fewer other agents' names contain\n\nerror: 1 problem found in \
         telephony.yaml; nothing was sent\n"
    );
    assert_eq!(agents_requests(&f).iter().filter(|q| q.contains("search=Sales")).count(), 50);
    assert!(!f.request_lines().contains(&GET_CONFIG.to_string()), "no plan without the names");
}
