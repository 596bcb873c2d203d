//! Property tests.
//!
//! - The loader, fed arbitrary bytes, YAML generated from a small grammar over the real key names, and random edits
//!   of a valid file: it never panics; every error it returns is located (or is about the whole file), within the
//!   text; rendering it never panics and never echoes a literal secret.
//! - Convergence: random account states and random files for all three providers (secrets equal or not, prefixes of
//!   any length or none, agent lists shuffled and in any case, flags, mappings, providers absent, `null` or left
//!   out), through the real loader and resolver and the real HTTP client against the emulator: plan, apply, plan
//!   again. The second plan is empty, and the one write held exactly the providers that differed, each as the file
//!   declares it.
//! - Convergence of the SIP settings: random SIP configs (ranges, allowances with patterns left out, written as the
//!   default in either case, or custom; fallback handlers with secrets declared, left out, or none) and registration
//!   lists against random accounts (the server showing an omitted pattern, a registration's unset text fields and a
//!   `/32` range in each of its ways), with and without
//!   `--rotate`: plan, apply, plan again. The second plan is empty, and the writes were exactly those the test works
//!   out from the contract, each body holding exactly what differed (the account's fallback secrets re-sent with a
//!   new URL when the file leaves them out).
//!
//! CI runs a modest number of cases (see `cases()`); `PROPTEST_CASES=5000 cargo test --release --test it property::`
//! runs a longer campaign (the README's "Failure behaviour" section gives its last count and time).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError};
use serde_json::{Value, json};

use crate::blocks::{self, Block};
use crate::common::{AccountState, Emulator, FULL_FILE};
use reconcile::api::{Client, ClientOptions, client::parse_base_url};
use reconcile::config::{self, resolve};
use reconcile::diff::PlanOptions;
use reconcile::endpoints::Family;
use reconcile::plan::Plan;
use reconcile::provider::Provider;
use reconcile::render::{Palette, diagnostics};
use ultravox_emulator::{EmulatorConfig, PrefixRule};

/// Cases per property: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------------------------
// The loader
// ---------------------------------------------------------------------------------------------------------------

/// A value no diagnostic may print: used as the literal of secret fields.
const LITERAL_SECRET: &str = "LeakyLiteral9Q";

/// Every key the file knows, some near misses, and a few oddities.
const KEYS: &[&str] = &[
    "version",
    "account",
    "apiKey",
    "twilio",
    "telnyx",
    "plivo",
    "accountSid",
    "authToken",
    "authId",
    "publicKey",
    "applicationSid",
    "callCreationAllowedAgentIds",
    "callCreationAllowAllAgents",
    "requestContextMapping",
    "env",
    "file",
    "From",
    "authtoken",
    "api_key",
    "twillio",
    "",
    "? x",
    "<<",
    "1",
    "true",
    "null",
    "é",
];

const SECRET_KEYS: &[&str] = &["authToken", "apiKey", "publicKey"];

/// Scalars as written in the text.
const SCALARS: &[&str] = &[
    "1",
    "2",
    "-7",
    "0x1F",
    "007",
    "1_000",
    "1e400",
    "99999999999999999999999999999999999999999",
    ".nan",
    "true",
    "True",
    "no",
    "null",
    "~",
    "\"\"",
    "''",
    "AC0123456789abcdef0123456789abcdef",
    "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "3C90C3CC-0D44-4B50-8888-8DD25736052A",
    "user.phone_number",
    "\"quoted \\u00e9 \\t text\"",
    "'single ''quoted'''",
    "{ env: TWILIO_AUTH_TOKEN }",
    "{ env: lower_case }",
    "{ file: secrets/x }",
    "{ file: '' }",
    "{ env: 1 }",
    "{ env: A, file: b }",
    "{ vault: x }",
    "{}",
    "[]",
    "&anchor 5",
    "*anchor",
    "!!str 5",
    "日本語",
];

/// Text that is not a valid scalar on its own, or is one only in some places.
const HOSTILE: &[&str] = &[
    "*missing",
    "!!binary aGVsbG8=",
    "!custom x",
    "|\n  block",
    ">-",
    "- item",
    "# comment",
    "[1, 2",
    "{a: 1",
    "\"unterminated",
    "a: b: c",
    "\t",
    "%YAML 1.2",
    "---",
    "...",
    "@",
    "`",
    "\u{feff}",
    "\u{0}",
    "\u{202e}",
];

#[derive(Clone, Debug)]
enum Yaml {
    Scalar(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![8 => proptest::sample::select(KEYS).prop_map(str::to_string), 1 => "[a-zA-Z_ .:-]{0,12}"]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => proptest::sample::select(SCALARS).prop_map(str::to_string),
        4 => "[a-zA-Z0-9_.-]{1,16}",
        3 => Just(LITERAL_SECRET.to_string()),
        1 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| s.chars().take(20).collect()),
    ]
}

fn yaml() -> impl Strategy<Value = Yaml> {
    let leaf = scalar().prop_map(Yaml::Scalar);
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((key(), inner.clone()), 0..6).prop_map(Yaml::Map),
            proptest::collection::vec(inner, 0..5).prop_map(Yaml::Seq),
        ]
    })
}

/// Keys a provider block or `account` holds.
const FIELD_KEYS: &[&str] = &[
    "accountSid",
    "authToken",
    "authId",
    "apiKey",
    "publicKey",
    "applicationSid",
    "callCreationAllowedAgentIds",
    "callCreationAllowAllAgents",
    "requestContextMapping",
];

/// A top-level mapping shaped like the file (providers holding their fields), so that generated files reach deep
/// into validation; sometimes any mapping at all.
fn document() -> impl Strategy<Value = Yaml> {
    let top =
        proptest::sample::select(&["version", "account", "twilio", "telnyx", "plivo"][..]).prop_map(str::to_string);
    let field = prop_oneof![6 => proptest::sample::select(FIELD_KEYS).prop_map(str::to_string), 1 => key()];
    let block = prop_oneof![
        6 => proptest::collection::vec((field, yaml()), 0..7).prop_map(Yaml::Map),
        1 => yaml(),
    ];
    prop_oneof![
        4 => proptest::collection::vec((prop_oneof![6 => top, 1 => key()], block), 0..5).prop_map(Yaml::Map),
        1 => proptest::collection::vec((key(), yaml()), 0..6).prop_map(Yaml::Map),
    ]
}

/// Renders in block style, switching to flow style below some nodes.
fn render_yaml(node: &Yaml, indent: usize, flow_mask: u64, out: &mut String) {
    let pad = " ".repeat(indent);
    let flow = flow_mask & (1 << (indent / 2 % 64)) != 0;
    match node {
        Yaml::Scalar(s) => out.push_str(s),
        _ if flow => render_flow(node, out),
        Yaml::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Yaml::Seq(items) if items.is_empty() => out.push_str("[]"),
        Yaml::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 || indent > 0 {
                    out.push('\n');
                    out.push_str(&pad);
                }
                out.push_str(k);
                out.push(':');
                match v {
                    Yaml::Scalar(s) => {
                        out.push(' ');
                        out.push_str(s);
                    }
                    _ => render_yaml(v, indent + 2, flow_mask, out),
                }
            }
        }
        Yaml::Seq(items) => {
            for item in items {
                out.push('\n');
                out.push_str(&pad);
                out.push_str("- ");
                render_yaml(item, indent + 2, flow_mask, out);
            }
        }
    }
}

fn render_flow(node: &Yaml, out: &mut String) {
    match node {
        Yaml::Scalar(s) => out.push_str(s),
        Yaml::Map(entries) => {
            out.push_str(" {");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                render_flow(v, out);
            }
            out.push('}');
        }
        Yaml::Seq(items) => {
            out.push_str(" [");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_flow(item, out);
            }
            out.push(']');
        }
    }
}

/// One random edit of a text: insert, delete or replace a character somewhere.
#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        4 => proptest::sample::select(vec![' ', '\n', '\t', ':', '-', '{', '}', '[', ']', ',', '"', '\'', '#', '&', '*', '!', '|', '>', '?', '%', '@', '\r', '\u{0}']),
        1 => any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), ch).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len();
        match *edit {
            Edit::Insert(at, c) => chars.insert(at % (len + 1), c),
            Edit::Delete(at) if len > 0 => {
                chars.remove(at % len);
            }
            Edit::Replace(at, c) if len > 0 => chars[at % len] = c,
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// What must hold for any text: no panic; an error has diagnostics, each located within the text or about the whole
/// file; rendering works and never shows a literal secret.
fn check_loader(text: &str) -> Result<(), TestCaseError> {
    let result = config::from_source(Path::new("telephony.yaml"), text.to_string());
    let Err(error) = result else { return Ok(()) };
    prop_assert!(!error.diagnostics.is_empty(), "an error without diagnostics for {text:?}");
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`.
    let line_count = text.replace("\r\n", "\n").replace('\r', "\n").lines().count().max(1) as u64;
    for d in &error.diagnostics {
        match d.loc {
            Some(loc) => {
                prop_assert!(
                    loc.line >= 1 && loc.line <= line_count + 1 && loc.column >= 1,
                    "diagnostic {d:?} points outside the text ({line_count} lines): {text:?}"
                );
            }
            None => prop_assert!(
                d.path.is_empty() && (d.message == "the file is empty" || !text.trim().is_empty()),
                "diagnostic {d:?} has no location but is about a field: {text:?}"
            ),
        }
        if d.loc.is_none() && d.message.starts_with("invalid YAML") {
            return Err(TestCaseError::fail(format!("an invalid-YAML error without a location: {d:?} for {text:?}")));
        }
    }
    let rendered = diagnostics::render(&error, Palette::plain());
    prop_assert!(rendered.contains("nothing was sent"), "{rendered}");
    let _ = error.to_string();
    // A literal secret next to a secret key is masked wherever the diagnostic shows its line.
    for line in rendered.lines().filter(|l| l.contains(" | ")) {
        if SECRET_KEYS.iter().any(|k| line.contains(&format!("{k}: {LITERAL_SECRET}"))) {
            return Err(TestCaseError::fail(format!("a literal secret is shown: {line:?}\n{rendered}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn loader_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_loader(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn loader_survives_generated_yaml(doc in document(), flow_mask in any::<u64>()) {
        let mut text = String::new();
        render_yaml(&doc, 0, flow_mask, &mut text);
        text.push('\n');
        check_loader(&text)?;
    }

    #[test]
    fn loader_survives_edits_of_a_valid_file(edits in proptest::collection::vec(edit(), 1..5)) {
        check_loader(&apply_edits(FULL_FILE, &edits))?;
    }
}

#[test]
fn loader_survives_pathological_inputs() {
    let deep_flow = format!("twilio: {}{}", "[".repeat(20_000), "]".repeat(20_000));
    let deep_block: String = (0..2_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    let alias_bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\ntwilio: *g\n";
    let long_line = format!("twilio:\n  accountSid: {}\n", "A".repeat(200_000));
    let many_docs = "twilio: null\n---\nplivo: null\n".to_string();
    let bom = format!("\u{feff}{FULL_FILE}");
    let crlf = FULL_FILE.replace('\n', "\r\n");
    let nul = "twilio:\0 null\n".to_string();
    // On a test thread (2 MiB of stack, less than a main thread has).
    for text in [deep_flow, deep_block, alias_bomb.to_string(), long_line, many_docs, bom, crlf, nul] {
        if let Err(e) = check_loader(&text) {
            panic!("{}: {e}", text.chars().take(80).collect::<String>());
        }
    }
}

/// Found by `loader_survives_generated_yaml`: a merge key inside an unknown key's flow mapping. The merged value was
/// located at the merge source's `{` alone, so the mask replaced that bracket and the literal the merge overrode
/// (never a value of its own) was shown beside it.
#[test]
fn a_literal_in_a_merge_source_under_an_unknown_key_is_masked() {
    let text = format!("account: {{accountSid: {{apiKey: 1, <<: {{apiKey: {LITERAL_SECRET}, version: 007}}}}}}\n");
    if let Err(e) = check_loader(&text) {
        panic!("{e}");
    }
    let error = config::from_source(Path::new("telephony.yaml"), text).expect_err("an unknown key");
    let rendered = diagnostics::render(&error, Palette::plain());
    assert!(rendered.contains("  1 | account: {accountSid: {apiKey: ********, <<: ********}}\n"), "{rendered}");
    assert!(!rendered.contains(LITERAL_SECRET), "{rendered}");
}

// ---------------------------------------------------------------------------------------------------------------
// Convergence: plan, apply, plan
// ---------------------------------------------------------------------------------------------------------------

const API_KEY: &str = "property-api-key-7Hq2";

/// Agents the files and the account pick from.
const AGENTS: [&str; 6] = [
    "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6",
    "11111111-2222-4333-8444-555555555555",
    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    "0f0f0f0f-1e1e-4d2d-8c3c-4b4b4b4b4b4b",
    "12345678-90ab-4cde-8f01-234567890abc",
];

const MAPPING_KEYS: [&str; 4] = ["From", "To", "CallSid", "custom.field"];
const MAPPING_VALUES: [&str; 3] = ["user.phone_number", "call.to", "meta.sid"];

/// What the file says about one provider.
#[derive(Clone, Debug)]
enum Declared {
    /// Left out of the file.
    Unmanaged,
    /// `provider: null`.
    Absent,
    /// A block; `upper` marks agent IDs written in upper case, `explicit_defaults` writes defaults out.
    Present { block: Block, upper: Vec<bool>, explicit_defaults: bool },
}

/// Secrets from a small alphabet, so that prefixes of different secrets often agree; 8 characters at least (a shorter
/// one is refused).
fn secret() -> impl Strategy<Value = String> {
    "[ab]{1,3}[a-z0-9-]{7,12}"
}

fn block(provider: Provider) -> impl Strategy<Value = Block> {
    let identifiers =
        proptest::collection::vec("[A-Za-z0-9]{1,3}[A-Za-z0-9._-]{0,20}", provider.identifier_fields().len());
    let secrets = proptest::collection::vec(secret(), provider.secret_fields().len());
    let agents = proptest::sample::subsequence((0..AGENTS.len()).collect::<Vec<_>>(), 0..=AGENTS.len()).prop_shuffle();
    let mapping = proptest::collection::btree_map(
        proptest::sample::select(&MAPPING_KEYS[..]).prop_map(str::to_string),
        proptest::sample::select(&MAPPING_VALUES[..]).prop_map(str::to_string),
        0..3,
    );
    (identifiers, secrets, agents, any::<bool>(), mapping).prop_map(|(identifiers, secrets, agents, all, mapping)| {
        // The API refuses a list together with "all agents".
        let allow_all = all && agents.len() % 2 == 0;
        let agents = if allow_all { Vec::new() } else { agents };
        Block { identifiers, secrets, agents, allow_all, mapping }
    })
}

/// A desired block made from the remote one by changing some fields (often none).
fn derive(remote: &Block, fresh: &Block, mask: u32, order: &[usize]) -> Block {
    let pick = |bit: u32| mask & (1 << bit) != 0;
    let mut out = remote.clone();
    for i in 0..out.identifiers.len() {
        if pick(i as u32) {
            out.identifiers[i] = fresh.identifiers[i].clone();
        }
    }
    for i in 0..out.secrets.len() {
        if pick(4 + i as u32) {
            out.secrets[i] = fresh.secrets[i].clone();
        }
    }
    if pick(8) {
        out.agents = fresh.agents.clone();
        out.allow_all = fresh.allow_all;
    } else {
        // The same set, in another order.
        let mut agents = out.agents.clone();
        agents.sort_by_key(|a| order.iter().position(|o| o == a));
        out.agents = agents;
    }
    if pick(9) {
        out.mapping = fresh.mapping.clone();
    }
    out
}

#[derive(Clone, Debug)]
struct Case {
    remote: [Option<Block>; 3],
    declared: [Declared; 3],
    /// Per secret field (`provider.field`), how the emulator shows its prefix.
    prefixes: Vec<(String, PrefixRule)>,
    rotate: bool,
}

fn prefix_rule() -> impl Strategy<Value = PrefixRule> {
    prop_oneof![
        8 => (1usize..9).prop_map(PrefixRule::Length),
        1 => Just(PrefixRule::Length(0)),
        1 => Just(PrefixRule::Null),
        1 => Just(PrefixRule::Omitted),
    ]
}

fn provider_case(provider: Provider) -> impl Strategy<Value = (Option<Block>, Declared)> {
    (
        proptest::option::weighted(0.7, block(provider)),
        block(provider),
        // Which fields of a derived block change: none, one, or any.
        prop_oneof![3 => Just(0u32), 2 => (0u32..10).prop_map(|bit| 1 << bit), 1 => any::<u32>()],
        Just((0..AGENTS.len()).collect::<Vec<_>>()).prop_shuffle(),
        0u8..8,
        proptest::collection::vec(any::<bool>(), AGENTS.len()),
        any::<bool>(),
    )
        .prop_map(|(remote, fresh, mask, order, kind, upper, explicit_defaults)| {
            let declared = match kind {
                0 => Declared::Unmanaged,
                1 => Declared::Absent,
                _ => {
                    let block = match &remote {
                        // Mostly close to what the account holds.
                        Some(r) if kind > 2 => derive(r, &fresh, mask, &order),
                        _ => fresh,
                    };
                    Declared::Present { block, upper, explicit_defaults }
                }
            };
            (remote, declared)
        })
}

fn case() -> impl Strategy<Value = Case> {
    let fields: Vec<String> =
        Provider::ALL.iter().flat_map(|p| p.secret_fields().iter().map(move |f| format!("{}.{f}", p.key()))).collect();
    let n = fields.len();
    (
        provider_case(Provider::Twilio),
        provider_case(Provider::Telnyx),
        provider_case(Provider::Plivo),
        proptest::collection::vec(prefix_rule(), n),
        proptest::bool::weighted(0.1),
    )
        .prop_map(move |(t, x, p, rules, rotate)| {
            let mut declared = [t.1, x.1, p.1];
            if declared.iter().all(|d| matches!(d, Declared::Unmanaged)) {
                // A file must manage something.
                declared[0] = Declared::Absent;
            }
            Case { remote: [t.0, x.0, p.0], declared, prefixes: fields.iter().cloned().zip(rules).collect(), rotate }
        })
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The file for a case, and the secret files it references (relative path, content).
fn write_file(case: &Case) -> (String, Vec<(String, String)>) {
    let mut text = String::from("version: 1\naccount:\n  apiKey: { file: secrets/api-key }\n");
    let mut files = vec![("secrets/api-key".to_string(), format!("{API_KEY}\n"))];
    for provider in Provider::ALL {
        let key = provider.key();
        match &case.declared[provider.index()] {
            Declared::Unmanaged => {}
            Declared::Absent => text.push_str(&format!("{key}: null\n")),
            Declared::Present { block, upper, explicit_defaults } => {
                text.push_str(&format!("{key}:\n"));
                for (field, value) in provider.identifier_fields().iter().zip(&block.identifiers) {
                    text.push_str(&format!("  {field}: {}\n", yaml_string(value)));
                }
                for (field, value) in provider.secret_fields().iter().zip(&block.secrets) {
                    let path = format!("secrets/{key}-{field}");
                    text.push_str(&format!("  {field}: {{ file: {path} }}\n"));
                    // One trailing newline is dropped; sometimes there is none.
                    let newline = if value.len() % 2 == 0 { "\n" } else { "" };
                    files.push((path, format!("{value}{newline}")));
                }
                if !block.agents.is_empty() || *explicit_defaults {
                    let ids: Vec<String> = block
                        .agents
                        .iter()
                        .map(|&a| if upper[a] { AGENTS[a].to_uppercase() } else { AGENTS[a].to_string() })
                        .collect();
                    text.push_str(&format!("  callCreationAllowedAgentIds: [{}]\n", ids.join(", ")));
                }
                if block.allow_all || *explicit_defaults {
                    text.push_str(&format!("  callCreationAllowAllAgents: {}\n", block.allow_all));
                }
                if !block.mapping.is_empty() || *explicit_defaults {
                    let entries: Vec<String> =
                        block.mapping.iter().map(|(k, v)| format!("{}: {}", yaml_string(k), yaml_string(v))).collect();
                    text.push_str(&format!("  requestContextMapping: {{{}}}\n", entries.join(", ")));
                }
            }
        }
    }
    (text, files)
}

fn agent_ids(block: &Block) -> Vec<String> {
    block.agent_ids(&AGENTS)
}

/// The account the emulator starts with.
fn seed(case: &Case) -> AccountState {
    blocks::account(&case.remote, &AGENTS)
}

/// The prefix the emulator shows for a secret under a rule; empty or missing proves nothing.
fn shown_prefix(secret: &str, rule: PrefixRule) -> Option<String> {
    match rule {
        PrefixRule::Length(n) => Some(secret.chars().take(n).collect::<String>()).filter(|p| !p.is_empty()),
        PrefixRule::Null | PrefixRule::Omitted => None,
    }
}

/// The test's own account of which providers differ, written from the contract and not from `diff`.
fn expected_writes(case: &Case) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for provider in Provider::ALL {
        let remote = case.remote[provider.index()].as_ref();
        let differs = match (&case.declared[provider.index()], remote) {
            (Declared::Unmanaged, _) => false,
            (Declared::Absent, remote) => remote.is_some(),
            (Declared::Present { .. }, None) => true,
            (Declared::Present { block, .. }, Some(r)) => {
                let as_set = |b: &Block| b.agents.iter().copied().collect::<BTreeSet<_>>();
                let secret_differs = provider.secret_fields().iter().enumerate().any(|(i, field)| {
                    let rule = case
                        .prefixes
                        .iter()
                        .find(|(f, _)| *f == format!("{}.{field}", provider.key()))
                        .map(|(_, r)| *r)
                        .unwrap_or(PrefixRule::Length(4));
                    match shown_prefix(&r.secrets[i], rule) {
                        Some(prefix) => !block.secrets[i].starts_with(&prefix),
                        None => false,
                    }
                });
                case.rotate
                    || block.identifiers != r.identifiers
                    || block.allow_all != r.allow_all
                    || as_set(block) != as_set(r)
                    || block.mapping != r.mapping
                    || secret_differs
            }
        };
        if differs {
            out.insert(provider.key());
        }
    }
    out
}

/// The complete block a write must carry for a declared provider.
fn expected_body_block(provider: Provider, block: &Block) -> Value {
    let mut map = serde_json::Map::new();
    for (field, value) in provider.identifier_fields().iter().zip(&block.identifiers) {
        map.insert(field.to_string(), json!(value));
    }
    for (field, value) in provider.secret_fields().iter().zip(&block.secrets) {
        map.insert(field.to_string(), json!(value));
    }
    map.insert("callCreationAllowedAgentIds".into(), json!(agent_ids(block)));
    map.insert("callCreationAllowAllAgents".into(), json!(block.allow_all));
    map.insert("requestContextMapping".into(), json!(block.mapping));
    Value::Object(map)
}

/// The test's own account of the fields a provider-scoped write must carry, from the contract and not from `diff`:
/// every field for a create; for an update, the identifiers, list, flag and mapping that differ, and the secrets
/// whose shown prefix the file's value does not start with (every declared secret with `--rotate`); none for a
/// delete.
fn expected_fields(case: &Case, provider: Provider) -> BTreeSet<String> {
    let i = provider.index();
    let (Declared::Present { block, .. }, remote) = (&case.declared[i], case.remote[i].as_ref()) else {
        return BTreeSet::new();
    };
    let Some(r) = remote else {
        return provider.known_keys().into_iter().map(str::to_string).collect();
    };
    let mut fields = BTreeSet::new();
    for (j, field) in provider.identifier_fields().iter().enumerate() {
        if block.identifiers[j] != r.identifiers[j] {
            fields.insert(field.to_string());
        }
    }
    for (j, field) in provider.secret_fields().iter().enumerate() {
        let rule = case
            .prefixes
            .iter()
            .find(|(f, _)| *f == format!("{}.{field}", provider.key()))
            .map(|(_, r)| *r)
            .unwrap_or(PrefixRule::Length(4));
        let differs = shown_prefix(&r.secrets[j], rule).is_some_and(|p| !block.secrets[j].starts_with(&p));
        if case.rotate || differs {
            fields.insert(field.to_string());
        }
    }
    let as_set = |b: &Block| b.agents.iter().copied().collect::<BTreeSet<_>>();
    if as_set(block) != as_set(r) {
        fields.insert("callCreationAllowedAgentIds".into());
    }
    if block.allow_all != r.allow_all {
        fields.insert("callCreationAllowAllAgents".into());
    }
    if block.mapping != r.mapping {
        fields.insert("requestContextMapping".into());
    }
    fields
}

/// The block the account must hold after a provider-scoped write: the remote one with the sent fields replaced.
fn expected_after_provider_write(case: &Case, provider: Provider) -> Value {
    let i = provider.index();
    let Declared::Present { block, .. } = &case.declared[i] else { return Value::Null };
    let declared = expected_body_block(provider, block);
    let Some(remote) = &case.remote[i] else { return declared };
    let mut now = expected_body_block(provider, remote);
    for field in expected_fields(case, provider) {
        now[field.as_str()] = declared[field.as_str()].clone();
    }
    now
}

fn run_case(emu: &Emulator, runtime: &tokio::runtime::Runtime, case: &Case) -> Result<(), TestCaseError> {
    run_case_through(emu, runtime, case, Family::Account)
}

fn run_case_through(
    emu: &Emulator,
    runtime: &tokio::runtime::Runtime,
    case: &Case,
    family: Family,
) -> Result<(), TestCaseError> {
    emu.set_account(API_KEY, seed(case));
    for (field, rule) in &case.prefixes {
        emu.set_prefix_rule_for(field, *rule);
    }
    emu.clear_requests();

    let dir = tempfile::tempdir().expect("temp dir");
    let (text, files) = write_file(case);
    for (path, content) in &files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }
    let loaded = config::from_source(&dir.path().join("telephony.yaml"), text.clone())
        .map_err(|e| TestCaseError::fail(format!("the generated file is refused: {e}\n{text}")))?;
    let resolved =
        resolve::resolve(&loaded).map_err(|e| TestCaseError::fail(format!("cannot resolve: {e}\n{text}")))?;
    let base = parse_base_url(&emu.url()).expect("the emulator's URL");
    let client = Client::new(base, resolved.api_key.clone(), ClientOptions::default()).expect("a client");
    let options = PlanOptions { rotate: case.rotate };

    let (first, applied, second) = runtime.block_on(async {
        let remote = reconcile::apply::read(&client, family).await.expect("GET");
        let first = Plan::new(&resolved.desired, &remote, family, options);
        let applied = reconcile::apply::apply(&client, &first, &resolved.desired).await;
        let after = reconcile::apply::read(&client, family).await.expect("GET after");
        let second = Plan::new(&resolved.desired, &after, family, PlanOptions::default());
        (first, applied, second)
    });
    prop_assert!(applied.is_ok(), "apply failed: {:?}\n{text}", applied.err());
    prop_assert!(second.is_empty(), "changes remain after apply: {second:?}\nfirst: {first:?}\n{text}");
    let violations = emu.schema_violations();
    prop_assert!(violations.is_empty(), "bodies break the official schema: {violations:?}");

    let expected = expected_writes(case);
    let planned: BTreeSet<&str> = first.written().map(|p| p.provider.key()).collect();
    prop_assert_eq!(&planned, &expected, "the plan writes other providers than differ\n{}", text);
    if family == Family::Provider {
        return check_provider_writes(emu, case, &expected);
    }

    let requests = emu.requests();
    let lines: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let get = "GET /api/accounts/me/telephony_config".to_string();
    let patch = "PATCH /api/accounts/me/telephony_config".to_string();
    let wanted = if expected.is_empty() { vec![get.clone(), get] } else { vec![get.clone(), patch, get] };
    prop_assert_eq!(&lines, &wanted);

    if let Some(write) = requests.iter().find(|r| r.method == "PATCH") {
        let body = write.json.as_ref().expect("a JSON body");
        let keys: BTreeSet<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
        prop_assert_eq!(&keys, &expected, "the write holds other providers than differ");
        for provider in Provider::ALL {
            let Some(sent) = body.get(provider.key()) else { continue };
            let want = match &case.declared[provider.index()] {
                Declared::Present { block, .. } => expected_body_block(provider, block),
                _ => Value::Null,
            };
            prop_assert_eq!(sent, &want, "{} as written", provider.key());
        }
    }

    // The account: written providers are exactly as declared; the others are as they were.
    let account = emu.account(API_KEY).expect("the account");
    let before = seed(case);
    let slots = |s: &AccountState| -> [Value; 3] { [json!(s.twilio), json!(s.telnyx), json!(s.plivo)] };
    let (now, was) = (slots(&account), slots(&before));
    for provider in Provider::ALL {
        let i = provider.index();
        if !expected.contains(provider.key()) {
            prop_assert_eq!(&now[i], &was[i], "{} changed without being written", provider.key());
        } else if let Declared::Present { block, .. } = &case.declared[i] {
            prop_assert_eq!(
                provider_json(&now[i]),
                provider_json(&expected_body_block(provider, block)),
                "{} after the write",
                provider.key()
            );
        } else {
            prop_assert!(now[i].is_null(), "{} still present after the delete", provider.key());
        }
    }
    Ok(())
}

/// A provider as comparable JSON: the emulator's snake-case seed fields and the API's camelCase, agents as a set.
fn provider_json(value: &Value) -> BTreeMap<String, Value> {
    let Some(map) = value.as_object() else { return BTreeMap::new() };
    map.iter()
        .map(|(k, v)| {
            let key: String = k.chars().filter(|c| *c != '_').collect::<String>().to_lowercase();
            let v = match v {
                Value::Array(items) => {
                    let mut items: Vec<String> =
                        items.iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
                    items.sort();
                    json!(items)
                }
                other => other.clone(),
            };
            (key, v)
        })
        .collect()
}

/// The provider family: three GETs (in any order: they are concurrent), then one request per differing provider
/// (creates and updates in provider order, then deletes), each holding exactly the differing fields, then three GETs.
fn check_provider_writes(emu: &Emulator, case: &Case, expected: &BTreeSet<&str>) -> Result<(), TestCaseError> {
    let requests = emu.requests();
    let gets: BTreeSet<String> =
        Provider::ALL.iter().map(|p| format!("GET /api/telephony_configs/{}", p.key())).collect();
    let lines: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    prop_assert!(lines.len() >= 6, "{lines:?}");
    let (head, rest) = lines.split_at(3);
    let (writes, tail) = rest.split_at(rest.len() - 3);
    prop_assert_eq!(head.iter().cloned().collect::<BTreeSet<_>>(), gets.clone(), "reads first: {:?}", lines);
    prop_assert_eq!(tail.iter().cloned().collect::<BTreeSet<_>>(), gets, "reads after: {:?}", lines);

    let mut wanted = Vec::new();
    let mut deletes = Vec::new();
    for provider in Provider::ALL {
        if !expected.contains(provider.key()) {
            continue;
        }
        let path = format!("/api/telephony_configs/{}", provider.key());
        match (&case.declared[provider.index()], &case.remote[provider.index()]) {
            (Declared::Absent, _) => deletes.push(format!("DELETE {path}")),
            (_, None) => wanted.push(format!("POST {path}")),
            _ => wanted.push(format!("PATCH {path}")),
        }
    }
    wanted.extend(deletes);
    prop_assert_eq!(writes, &wanted[..], "the writes");

    for request in requests.iter().filter(|r| r.method == "POST" || r.method == "PATCH") {
        let provider = Provider::ALL.into_iter().find(|p| request.path.ends_with(p.key())).expect("a provider path");
        let keys: BTreeSet<String> = request.json_keys().into_iter().collect();
        prop_assert_eq!(&keys, &expected_fields(case, provider), "{} held other fields than differ", request.path);
        let Declared::Present { block, .. } = &case.declared[provider.index()] else { unreachable!() };
        let declared = expected_body_block(provider, block);
        for key in &keys {
            prop_assert_eq!(&request.json.as_ref().expect("JSON")[key.as_str()], &declared[key.as_str()], "{}", key);
        }
    }

    let account = emu.account(API_KEY).expect("the account");
    let before = seed(case);
    let slots = |s: &AccountState| -> [Value; 3] { [json!(s.twilio), json!(s.telnyx), json!(s.plivo)] };
    let (now, was) = (slots(&account), slots(&before));
    for provider in Provider::ALL {
        let i = provider.index();
        if !expected.contains(provider.key()) {
            prop_assert_eq!(&now[i], &was[i], "{} changed without being written", provider.key());
        } else {
            let want = expected_after_provider_write(case, provider);
            if want.is_null() {
                prop_assert!(now[i].is_null(), "{} still present after the delete", provider.key());
            } else {
                prop_assert_eq!(provider_json(&now[i]), provider_json(&want), "{} after the write", provider.key());
            }
        }
    }
    Ok(())
}

#[test]
fn provider_family_converges_and_each_write_holds_exactly_the_differing_fields() {
    let emu = Emulator::start(EmulatorConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut runner = proptest::test_runner::TestRunner::new(cases(64));
    let result = runner.run(&case(), |case| run_case_through(&emu, &runtime, &case, Family::Provider));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn plan_apply_plan_converges_and_writes_only_what_differs() {
    let emu = Emulator::start(EmulatorConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut runner = proptest::test_runner::TestRunner::new(cases(64));
    let result = runner.run(&case(), |case| run_case(&emu, &runtime, &case));
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Convergence of the SIP settings: plan, apply, plan
// ---------------------------------------------------------------------------------------------------------------

const RANGES: [&str; 4] = ["10.0.0.0/8", "192.0.2.0/24", "198.51.100.16/28", "203.0.113.7/32"];
const PATTERNS: [&str; 3] = ["^sales$", "^support-[0-9]+$", "^agent_x$"];
const URLS: [&str; 2] = ["https://hooks.example.com/a", "https://hooks.example.com/b"];
/// Signing secrets from a small pool, so that sets often agree.
const SIGNING: [&str; 4] = ["Sg1kQ8mW2pZx", "Sg2vN7cR4tYb", "Sg3hL5jD9uEa", "Sg4fT6sG1iOk"];
const USERS: [&str; 3] = ["alice", "bob", "carol"];
const PROXIES: [&str; 2] = ["trunk.example.com", "edge.example.net"];
const OPTIONALS: [&str; 2] = ["proxy.example.com", "auth-user-1"];

/// An allowance: an agent, and its pattern as written: `None` (left out), the default written out (in upper or lower
/// case), or one of [`PATTERNS`].
#[derive(Clone, Debug, PartialEq)]
struct SipAllowance {
    agent: usize,
    upper: bool,
    pattern: PatternCase,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PatternCase {
    Omitted,
    DefaultWritten,
    Custom(usize),
}

#[derive(Clone, Debug, PartialEq)]
struct SipHandler {
    url: usize,
    /// Indexes into [`SIGNING`]; `None` in a file: left out (keep the account's).
    secrets: Option<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq)]
struct SipSide {
    ranges: Vec<usize>,
    allow_all: bool,
    allowances: Vec<SipAllowance>,
    handler: Option<SipHandler>,
}

#[derive(Clone, Debug, PartialEq)]
struct Reg {
    user: usize,
    proxy: usize,
    outbound: Option<usize>,
    auth: Option<usize>,
    /// The password: the account's, or the file's.
    password: String,
}

#[derive(Clone, Debug)]
struct SipCase {
    remote: SipSide,
    declared: Option<SipSide>,
    remote_regs: Vec<Reg>,
    declared_regs: Option<Vec<Reg>>,
    rotate: bool,
    omitted: ultravox_emulator::OmittedPattern,
    /// How the server shows a registration's unset `outboundProxy` or `authUser`.
    unset: ultravox_emulator::UnsetText,
    /// Whether the server shows a `/32` range as its bare address.
    bare: bool,
}

fn allowance() -> impl Strategy<Value = SipAllowance> {
    let pattern = prop_oneof![
        3 => Just(PatternCase::Omitted),
        1 => Just(PatternCase::DefaultWritten),
        2 => (0..PATTERNS.len()).prop_map(PatternCase::Custom),
    ];
    (0..AGENTS.len(), any::<bool>(), pattern).prop_map(|(agent, upper, pattern)| SipAllowance { agent, upper, pattern })
}

fn sip_side(file: bool) -> impl Strategy<Value = SipSide> {
    let secrets = proptest::sample::subsequence((0..SIGNING.len()).collect::<Vec<_>>(), 1..=3).prop_shuffle();
    let secrets = if file { proptest::option::weighted(0.6, secrets).boxed() } else { secrets.prop_map(Some).boxed() };
    let handler = proptest::option::weighted(
        0.6,
        (0..URLS.len(), secrets).prop_map(|(url, secrets)| SipHandler { url, secrets }),
    );
    (
        proptest::sample::subsequence((0..RANGES.len()).collect::<Vec<_>>(), 0..=RANGES.len()).prop_shuffle(),
        any::<bool>(),
        proptest::collection::vec(allowance(), 0..4),
        handler,
    )
        .prop_map(|(ranges, allow_all, allowances, handler)| {
            // An allowance once per agent and pattern (the file refuses it twice).
            let mut seen = BTreeSet::new();
            let allowances = allowances
                .into_iter()
                .filter(|a| {
                    let pattern = match a.pattern {
                        PatternCase::Custom(p) => Some(p),
                        _ => None,
                    };
                    seen.insert((a.agent, pattern))
                })
                .collect();
            SipSide { ranges, allow_all, allowances, handler }
        })
}

fn registrations(passwords: &'static str) -> impl Strategy<Value = Vec<Reg>> {
    proptest::collection::vec(
        (
            0..USERS.len(),
            0..PROXIES.len(),
            proptest::option::of(0..1usize),
            proptest::option::of(1..2usize),
            "[a-z0-9]{4,8}",
        ),
        0..4,
    )
    .prop_map(move |regs| {
        let mut seen = BTreeSet::new();
        regs.into_iter()
            .filter(|(user, proxy, ..)| seen.insert((*user, *proxy)))
            .map(|(user, proxy, outbound, auth, pw)| Reg {
                user,
                proxy,
                outbound,
                auth,
                password: format!("{passwords}-{pw}"),
            })
            .collect()
    })
}

fn sip_case() -> impl Strategy<Value = SipCase> {
    (
        sip_side(false),
        proptest::option::weighted(0.8, sip_side(true)),
        registrations("remote"),
        proptest::option::weighted(0.8, registrations("local")),
        any::<u8>(),
        proptest::bool::weighted(0.15),
        0u8..18,
    )
        .prop_map(|(remote, declared, remote_regs, declared_regs, mix, rotate, omitted)| {
            // Files often keep most of what the account has: the registrations the account has, some changed.
            let declared_regs = declared_regs.map(|fresh| {
                let mut regs: Vec<Reg> = remote_regs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mix & (1 << (i % 8)) != 0)
                    .map(|(i, r)| Reg {
                        outbound: if mix & 0x10 != 0 && i == 0 { Some(0) } else { r.outbound },
                        password: format!("local-{i}{}", r.password.len()),
                        ..r.clone()
                    })
                    .collect();
                for r in fresh {
                    if !regs.iter().any(|x| (x.user, x.proxy) == (r.user, r.proxy)) {
                        regs.push(r);
                    }
                }
                regs
            });
            let (declared, remote_regs) = if declared.is_none() && declared_regs.is_none() {
                // A file must manage something.
                (Some(remote.clone()), remote_regs)
            } else {
                (declared, remote_regs)
            };
            // One number for the server's ways of showing what the reference leaves open.
            let shown = omitted;
            let omitted = match shown % 3 {
                0 => ultravox_emulator::OmittedPattern::Filled,
                1 => ultravox_emulator::OmittedPattern::Null,
                _ => ultravox_emulator::OmittedPattern::Omitted,
            };
            let unset = match shown / 3 % 3 {
                0 => ultravox_emulator::UnsetText::Null,
                1 => ultravox_emulator::UnsetText::Empty,
                _ => ultravox_emulator::UnsetText::Omitted,
            };
            let bare = shown >= 9;
            SipCase { remote, declared, remote_regs, declared_regs, rotate, omitted, unset, bare }
        })
}

/// The effective allowance set: lower-case IDs, the default pattern as `None`.
fn allowance_set(side: &SipSide) -> BTreeSet<(String, Option<String>)> {
    side.allowances
        .iter()
        .map(|a| {
            let pattern = match a.pattern {
                PatternCase::Custom(p) => Some(PATTERNS[p].to_string()),
                _ => None,
            };
            (AGENTS[a.agent].to_string(), pattern)
        })
        .collect()
}

fn sip_seed(case: &SipCase) -> AccountState {
    let r = &case.remote;
    let mut sip =
        ultravox_emulator::SipConfig::default().ranges(r.ranges.iter().map(|&i| RANGES[i])).allow_all(r.allow_all);
    for a in &r.allowances {
        let pattern = match a.pattern {
            PatternCase::Omitted => None,
            PatternCase::DefaultWritten => Some(format!("^agent_{}$", AGENTS[a.agent])),
            PatternCase::Custom(p) => Some(PATTERNS[p].to_string()),
        };
        sip = sip.allowance(AGENTS[a.agent], pattern.as_deref());
    }
    if let Some(h) = &r.handler {
        sip = sip.fallback(URLS[h.url], h.secrets.iter().flatten().map(|&s| SIGNING[s]));
    }
    let mut state = AccountState::default().with_sip(sip);
    for (i, reg) in case.remote_regs.iter().enumerate() {
        let mut r = ultravox_emulator::SipRegistration::new(
            format!("reg-{i}"),
            USERS[reg.user],
            PROXIES[reg.proxy],
            &reg.password,
        );
        r.outbound_proxy = reg.outbound.map(|o| OPTIONALS[o].to_string());
        r.auth_user = reg.auth.map(|a| OPTIONALS[a].to_string());
        state = state.with_registration(r);
    }
    state
}

/// The file for a case, and the secret files it references (relative path, content).
fn sip_file(case: &SipCase) -> (String, Vec<(String, String)>) {
    let mut text = String::from("account:\n  apiKey: { file: secrets/api-key }\n");
    let mut env = vec![("secrets/api-key".to_string(), API_KEY.to_string())];
    if let Some(d) = &case.declared {
        text.push_str("sip:\n");
        let ranges: Vec<&str> = d.ranges.iter().map(|&i| RANGES[i]).collect();
        text.push_str(&format!("  allowedCidrRanges: [{}]\n", ranges.join(", ")));
        text.push_str(&format!("  allowAllAgents: {}\n", d.allow_all));
        text.push_str("  allowedAgents:\n");
        if d.allowances.is_empty() {
            text.truncate(text.len() - 1);
            text.push_str(" []\n");
        }
        for a in &d.allowances {
            let id = if a.upper { AGENTS[a.agent].to_uppercase() } else { AGENTS[a.agent].to_string() };
            text.push_str(&format!("    - agentId: {id}\n"));
            match a.pattern {
                PatternCase::Omitted => {}
                PatternCase::DefaultWritten => text.push_str(&format!("      toUserPattern: \"^agent_{id}$\"\n")),
                PatternCase::Custom(p) => {
                    text.push_str(&format!("      toUserPattern: {}\n", yaml_string(PATTERNS[p])))
                }
            }
        }
        match &d.handler {
            None => text.push_str("  fallbackHandler: null\n"),
            Some(h) => {
                text.push_str(&format!("  fallbackHandler:\n    url: {}\n", URLS[h.url]));
                if let Some(secrets) = &h.secrets {
                    text.push_str("    secrets:\n");
                    for (n, &s) in secrets.iter().enumerate() {
                        text.push_str(&format!("      - {{ file: secrets/fallback-{n} }}\n"));
                        env.push((format!("secrets/fallback-{n}"), SIGNING[s].to_string()));
                    }
                }
            }
        }
    }
    if let Some(regs) = &case.declared_regs {
        text.push_str("sipRegistrations:");
        text.push_str(if regs.is_empty() { " []\n" } else { "\n" });
        for (n, r) in regs.iter().enumerate() {
            text.push_str(&format!(
                "  - username: {}\n    proxy: {}\n    password: {{ file: secrets/password-{n} }}\n",
                USERS[r.user], PROXIES[r.proxy]
            ));
            env.push((format!("secrets/password-{n}"), r.password.clone()));
            if let Some(o) = r.outbound {
                text.push_str(&format!("    outboundProxy: {}\n", OPTIONALS[o]));
            }
            match r.auth {
                Some(a) => text.push_str(&format!("    authUser: {}\n", OPTIONALS[a])),
                None => text.push_str("    authUser: null\n"),
            }
        }
    }
    (text, env)
}

/// The test's own account of the writes a case needs, from the contract and not from `diff`: each request as
/// `METHOD path` with its body.
fn sip_expected_writes(case: &SipCase) -> Vec<(String, Value)> {
    let mut writes = Vec::new();
    if let Some(d) = &case.declared {
        let r = &case.remote;
        let mut body = serde_json::Map::new();
        let set = |side: &SipSide| side.ranges.iter().copied().collect::<BTreeSet<_>>();
        if set(d) != set(r) {
            body.insert("allowedCidrRanges".into(), json!(d.ranges.iter().map(|&i| RANGES[i]).collect::<Vec<_>>()));
        }
        if d.allow_all != r.allow_all {
            body.insert("allowAllAgents".into(), json!(d.allow_all));
        }
        if allowance_set(d) != allowance_set(r) {
            let agents: Vec<Value> = d
                .allowances
                .iter()
                .map(|a| match a.pattern {
                    PatternCase::Custom(p) => json!({"agentId": AGENTS[a.agent], "toUserPattern": PATTERNS[p]}),
                    _ => json!({"agentId": AGENTS[a.agent]}),
                })
                .collect();
            body.insert("allowedAgents".into(), json!(agents));
        }
        let secret_set = |s: &[usize]| s.iter().copied().collect::<BTreeSet<_>>();
        let handler = match (&d.handler, &r.handler) {
            (None, None) => None,
            (None, Some(_)) => Some(Value::Null),
            (Some(dh), None) => Some(match &dh.secrets {
                Some(s) => json!({"url": URLS[dh.url], "secrets": s.iter().map(|&i| SIGNING[i]).collect::<Vec<_>>()}),
                None => json!({"url": URLS[dh.url]}),
            }),
            (Some(dh), Some(rh)) => {
                let held = rh.secrets.clone().unwrap_or_default();
                let differs = dh.url != rh.url
                    || dh.secrets.as_ref().is_some_and(|s| case.rotate || secret_set(s) != secret_set(&held));
                differs.then(|| {
                    let secrets = dh.secrets.clone().unwrap_or(held);
                    json!({"url": URLS[dh.url], "secrets": secrets.iter().map(|&i| SIGNING[i]).collect::<Vec<_>>()})
                })
            }
        };
        if let Some(handler) = handler {
            body.insert("fallbackHandler".into(), handler);
        }
        if !body.is_empty() {
            writes.push(("PATCH /api/sip".to_string(), Value::Object(body)));
        }
    }
    if let Some(declared) = &case.declared_regs {
        let mut matched = vec![false; case.remote_regs.len()];
        let text = |o: Option<usize>| o.map_or(Value::Null, |i| json!(OPTIONALS[i]));
        for d in declared {
            let found = case.remote_regs.iter().position(|r| (r.user, r.proxy) == (d.user, d.proxy));
            match found {
                None => writes.push((
                    "POST /api/sip/registrations".to_string(),
                    json!({"username": USERS[d.user], "password": d.password, "proxy": PROXIES[d.proxy],
                        "outboundProxy": text(d.outbound), "authUser": text(d.auth)}),
                )),
                Some(i) => {
                    matched[i] = true;
                    let r = &case.remote_regs[i];
                    let mut body = serde_json::Map::new();
                    if case.rotate {
                        body.insert("password".into(), json!(d.password));
                    }
                    if d.outbound != r.outbound {
                        body.insert("outboundProxy".into(), text(d.outbound));
                    }
                    if d.auth != r.auth {
                        body.insert("authUser".into(), text(d.auth));
                    }
                    if !body.is_empty() {
                        writes.push((format!("PATCH /api/sip/registrations/reg-{i}"), Value::Object(body)));
                    }
                }
            }
        }
        for (i, _) in matched.iter().enumerate().filter(|(_, m)| !**m) {
            writes.push((format!("DELETE /api/sip/registrations/reg-{i}"), Value::Null));
        }
    }
    writes
}

fn run_sip_case(emu: &Emulator, runtime: &tokio::runtime::Runtime, case: &SipCase) -> Result<(), TestCaseError> {
    emu.set_account(API_KEY, sip_seed(case));
    emu.set_omitted_pattern(case.omitted);
    emu.set_unset_registration_text(case.unset);
    emu.set_bare_host_ranges(case.bare);
    emu.clear_requests();
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, files) = sip_file(case);
    for (path, content) in &files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }
    let loaded = config::from_source(&dir.path().join("telephony.yaml"), text.clone())
        .map_err(|e| TestCaseError::fail(format!("the generated file is refused: {e}\n{text}")))?;
    let resolved =
        resolve::resolve(&loaded).map_err(|e| TestCaseError::fail(format!("cannot resolve: {e}\n{text}")))?;
    let base = parse_base_url(&emu.url()).expect("the emulator's URL");
    let client = Client::new(base, resolved.api_key.clone(), ClientOptions::default()).expect("a client");
    let family = Family::Auto;
    let (first, applied, second) = runtime.block_on(async {
        let remote = reconcile::apply::read_state(&client, family, &resolved.desired).await.expect("GET");
        let first = Plan::new(&resolved.desired, &remote, family, PlanOptions { rotate: case.rotate });
        let applied = reconcile::apply::apply(&client, &first, &resolved.desired).await;
        let after = reconcile::apply::read_state(&client, family, &resolved.desired).await.expect("GET after");
        let second = Plan::new(&resolved.desired, &after, family, PlanOptions::default());
        (first, applied, second)
    });
    prop_assert!(applied.is_ok(), "apply failed: {:?}\n{text}", applied.err());
    prop_assert!(
        second.is_empty(),
        "changes remain after apply: {:?}\nfirst: {:?}\n{text}",
        second.requests(),
        first.requests()
    );
    let violations = emu.schema_violations();
    prop_assert!(violations.is_empty(), "bodies break the official schema: {violations:?}");

    let writes: Vec<(String, Value)> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| (format!("{} {}", r.method, r.path), r.json.unwrap_or(Value::Null)))
        .collect();
    let expected = sip_expected_writes(case);
    // The SIP config's PATCH first, then creates and updates, then deletes; the POSTs' paths name no registration.
    prop_assert_eq!(writes, expected, "each write holds exactly what differs\n{}", text);
    Ok(())
}

#[test]
fn sip_converges_and_each_write_holds_exactly_what_differs() {
    let emu = Emulator::start(EmulatorConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut runner = proptest::test_runner::TestRunner::new(cases(64));
    let result = runner.run(&sip_case(), |case| run_sip_case(&emu, &runtime, &case));
    if let Err(e) = result {
        panic!("{e}");
    }
}
