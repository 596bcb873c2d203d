//! Hiding secrets never changes data (issue 16): property tests through the real binary against the emulator, for
//! random accounts and files whose secrets, prefixes and values collide on purpose: secrets starting with a group of
//! an agent ID (`0d44`) or a JSON word (`true`, `null`), so that 4-character prefixes equal them; identifiers and
//! mapping values holding a piece of a secret; an API key sharing 8 characters with an identifier; invisible and
//! control characters in the account's values; each case through a random endpoint family.
//!
//! - `plan --format json` prints one document that parses and matches `schema/plan.schema.json`;
//! - `plan --out` then `apply PLANFILE` applies (a saved plan is never refused for what hiding did to it), and the plan
//!   after it says "No changes";
//! - `import` writes exactly the account's values (read back by a YAML parser), and `plan` of the imported file says
//!   "No changes"; or, when a value holds a piece of the API key, it stops before writing, naming exactly those
//!   fields;
//! - no output and no written file holds a secret of the run or a piece of 8 characters of one.
//!
//! CI runs 32 cases (about 10 s in a debug build); `PROPTEST_CASES=N` runs more.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::Value;

use crate::blocks::{self, Block};
use crate::common::*;
use ultravox_emulator::PrefixRule;

/// Agent IDs the account and the files pick from; their groups are what some secrets start with.
const AGENTS: [&str; 4] = [
    "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "9d2f1e4a-7b6c-4d5e-8f90-a1b2c3d4e5f6",
    "0d440d44-4b50-4888-8888-0d444b508888",
    "11111111-2222-4333-8444-555555555555",
];

/// How secrets start: groups of the agent IDs, JSON words, words of mapping values. With a 4-character prefix, the
/// prefix is one of these.
const STARTS: [&str; 10] = ["0d44", "4b50", "8888", "3c90", "true", "null", "fals", "user", "From", "call"];

const MAPPING_KEYS: [&str; 5] = ["From", "To", "true", "null", "0d44"];
const MAPPING_VALUES: [&str; 6] = ["user.phone_number", "call.to", "true", "null", "0d44", "user"];

/// Characters a terminal would hide or act on, which may sit in the account's values (never in a file: the file's
/// rules refuse them).
const INVISIBLE: [char; 6] = ['\u{200b}', '\u{202e}', '\u{2066}', '\u{7f}', '\u{85}', '\u{1b}'];

#[derive(Clone, Debug)]
enum Declared {
    Unmanaged,
    Absent,
    Present(Block),
}

#[derive(Clone, Debug)]
struct Case {
    api_key: String,
    family: &'static str,
    prefix: PrefixRule,
    remote: [Option<Block>; 3],
    declared: [Declared; 3],
}

fn secret() -> impl Strategy<Value = String> {
    (proptest::sample::select(&STARTS[..]), "[A-Za-z0-9-]{4,12}").prop_map(|(start, tail)| format!("{start}{tail}"))
}

fn api_key() -> impl Strategy<Value = String> {
    // Sometimes 8 characters of it are in telnyx's applicationSid (see `placed`).
    (prop_oneof![Just("12345678".to_string()), "[a-z0-9]{8}"], "[A-Za-z0-9]{4,8}")
        .prop_map(|(shared, tail)| format!("uvx-{shared}-{tail}"))
}

/// A value as generated, before the case's secrets are known: plain text, or a piece of a secret of the run.
#[derive(Clone, Debug)]
enum Raw {
    Plain(String),
    /// 8 to 12 characters of the `n`th secret of the run (the API key is the last), wrapped in other text.
    Piece(usize, usize),
    /// Plain text with an invisible or control character in it (only the account's values have one).
    Invisible(String, char),
}

fn raw(plain: BoxedStrategy<String>) -> impl Strategy<Value = Raw> {
    prop_oneof![
        8 => plain.clone().prop_map(Raw::Plain),
        1 => (any::<usize>(), 8usize..=12).prop_map(|(n, len)| Raw::Piece(n, len)),
        1 => (plain, proptest::sample::select(&INVISIBLE[..])).prop_map(|(s, c)| Raw::Invisible(s, c)),
    ]
}

fn identifier() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[A-Za-z0-9]{2,3}[A-Za-z0-9._-]{0,20}",
        1 => proptest::sample::select(&STARTS[..]).prop_map(str::to_string),
        1 => Just("1234567890123456789".to_string()),
    ]
    .boxed()
}

#[derive(Clone, Debug)]
struct RawBlock {
    identifiers: Vec<Raw>,
    secrets: Vec<String>,
    agents: Vec<usize>,
    allow_all: bool,
    mapping: Vec<(String, Raw)>,
}

fn raw_block(provider: reconcile::provider::Provider) -> impl Strategy<Value = RawBlock> {
    let identifiers = proptest::collection::vec(raw(identifier()), provider.identifier_fields().len());
    let secrets = proptest::collection::vec(secret(), provider.secret_fields().len());
    let agents = proptest::sample::subsequence((0..AGENTS.len()).collect::<Vec<_>>(), 0..=AGENTS.len()).prop_shuffle();
    let values = proptest::sample::select(&MAPPING_VALUES[..]).prop_map(str::to_string).boxed();
    let mapping = proptest::collection::vec(
        (proptest::sample::select(&MAPPING_KEYS[..]).prop_map(str::to_string), raw(values)),
        0..3,
    );
    (identifiers, secrets, agents, any::<bool>(), mapping).prop_map(|(identifiers, secrets, agents, all, mapping)| {
        let allow_all = all && agents.is_empty();
        RawBlock { identifiers, secrets, agents, allow_all, mapping }
    })
}

/// How the file declares a provider: left out, `null`, the account's block with some fields changed, or new.
fn raw_declared(
    provider: reconcile::provider::Provider,
) -> impl Strategy<Value = (Option<RawBlock>, u8, RawBlock, u32)> {
    (
        proptest::option::weighted(0.75, raw_block(provider)),
        0u8..8,
        raw_block(provider),
        prop_oneof![2 => Just(0u32), 2 => (0u32..10).prop_map(|bit| 1 << bit), 1 => any::<u32>()],
    )
}

fn case() -> impl Strategy<Value = Case> {
    use reconcile::provider::Provider;
    (
        api_key(),
        proptest::sample::select(&["auto", "auto", "provider", "account"][..]),
        prop_oneof![6 => Just(PrefixRule::Length(4)), 2 => (1usize..10).prop_map(PrefixRule::Length), 1 => Just(PrefixRule::Null)],
        raw_declared(Provider::Twilio),
        raw_declared(Provider::Telnyx),
        raw_declared(Provider::Plivo),
    )
        .prop_map(|(api_key, family, prefix, t, x, p)| {
            // Every secret of the run the values may hold a piece of: the file's secrets, then the API key.
            let mut run_secrets: Vec<String> = Vec::new();
            for (remote, kind, fresh, mask) in [&t, &x, &p] {
                match (remote, kind) {
                    (Some(r), 3..) => run_secrets.extend(desired_secrets(r, fresh, *mask)),
                    (_, 2..) => run_secrets.extend(fresh.secrets.iter().cloned()),
                    _ => {}
                }
            }
            run_secrets.push(api_key.clone());
            let mut remote = [None, None, None];
            let mut declared = [Declared::Unmanaged, Declared::Unmanaged, Declared::Unmanaged];
            for (i, (raw_remote, kind, fresh, mask)) in [t, x, p].into_iter().enumerate() {
                let provider = Provider::ALL[i];
                let remote_block = raw_remote.as_ref().map(|r| placed(provider, r, &run_secrets, true, &api_key));
                let fresh_block = placed(provider, &fresh, &run_secrets, false, &api_key);
                declared[i] = match kind {
                    0 => Declared::Unmanaged,
                    1 => Declared::Absent,
                    _ => Declared::Present(match &remote_block {
                        Some(r) if kind > 2 => derive(r, &fresh_block, mask),
                        _ => fresh_block,
                    }),
                };
                remote[i] = remote_block;
            }
            if declared.iter().all(|d| matches!(d, Declared::Unmanaged)) {
                declared[0] = Declared::Absent;
            }
            Case { api_key, family, prefix, remote, declared }
        })
}

/// The secrets a block derived from the account's ends with (as [`derive`] picks them: the account's, or fresh ones).
fn desired_secrets(remote: &RawBlock, fresh: &RawBlock, mask: u32) -> Vec<String> {
    remote
        .secrets
        .iter()
        .zip(&fresh.secrets)
        .enumerate()
        .map(|(i, (old, new))| if mask & (1 << (4 + i)) != 0 { new.clone() } else { old.clone() })
        .collect()
}

/// A raw block made concrete: pieces of the run's secrets placed, invisible characters kept only on the account's
/// side, `applicationSid` within the API's 40 characters (and, with a shared API key, holding 8 characters of it).
fn placed(
    provider: reconcile::provider::Provider,
    raw: &RawBlock,
    secrets: &[String],
    remote: bool,
    api_key: &str,
) -> Block {
    let value = |r: &Raw| match r {
        Raw::Plain(s) => s.clone(),
        Raw::Piece(n, len) => {
            let secret: Vec<char> = secrets[n % secrets.len()].chars().collect();
            let len = (*len).min(secret.len());
            let start = n % (secret.len() - len + 1);
            format!("x.{}.y", secret[start..start + len].iter().collect::<String>())
        }
        Raw::Invisible(s, c) if remote => format!("{s}{c}z"),
        Raw::Invisible(s, _) => s.clone(),
    };
    let mut identifiers: Vec<String> = raw.identifiers.iter().map(value).collect();
    for (field, v) in provider.identifier_fields().iter().zip(identifiers.iter_mut()) {
        if *field == "applicationSid" {
            if api_key.contains("-12345678-") && remote && v.len() % 3 == 0 {
                *v = "1234567890123456789".into();
            }
            *v = v.chars().take(40).collect();
        }
    }
    let mapping = raw.mapping.iter().map(|(k, r)| (k.clone(), value(r))).collect();
    Block { identifiers, secrets: raw.secrets.clone(), agents: raw.agents.clone(), allow_all: raw.allow_all, mapping }
}

/// The file's block: the account's with the fields `mask` picks taken from `fresh` (secrets as [`desired_secrets`]
/// picks them). A value the file cannot hold (an invisible character) is taken from `fresh` too.
fn derive(remote: &Block, fresh: &Block, mask: u32) -> Block {
    let pick = |bit: u32| mask & (1 << bit) != 0;
    let clean = |s: &str| !s.chars().any(reconcile::clean::is_hidden);
    let mut out = remote.clone();
    for i in 0..out.identifiers.len() {
        if pick(i as u32) || !clean(&out.identifiers[i]) {
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
    }
    if pick(9) || out.mapping.iter().any(|(k, v)| !clean(k) || !clean(v)) {
        out.mapping = fresh.mapping.clone();
    }
    out
}

fn agent_ids(block: &Block) -> Vec<String> {
    block.agent_ids(&AGENTS)
}

fn seed(case: &Case) -> AccountState {
    blocks::account(&case.remote, &AGENTS)
}

/// The declaration file, and its secrets as environment variables.
fn file(case: &Case) -> (String, Vec<(String, String)>) {
    use reconcile::provider::Provider;
    let mut text = String::from("version: 1\n");
    let mut env = vec![("ULTRAVOX_API_KEY".to_string(), case.api_key.clone())];
    for provider in Provider::ALL {
        let key = provider.key();
        match &case.declared[provider.index()] {
            Declared::Unmanaged => {}
            Declared::Absent => text.push_str(&format!("{key}: null\n")),
            Declared::Present(block) => {
                text.push_str(&format!("{key}:\n"));
                for (field, value) in provider.identifier_fields().iter().zip(&block.identifiers) {
                    text.push_str(&format!("  {field}: {}\n", json(value)));
                }
                for (field, value) in provider.secret_fields().iter().zip(&block.secrets) {
                    let name = provider.conventional_env(field);
                    text.push_str(&format!("  {field}: {{ env: {name} }}\n"));
                    env.push((name, value.clone()));
                }
                if !block.agents.is_empty() {
                    let ids: Vec<String> = agent_ids(block).iter().map(|id| json(id)).collect();
                    text.push_str(&format!("  callCreationAllowedAgentIds: [{}]\n", ids.join(", ")));
                }
                if block.allow_all {
                    text.push_str("  callCreationAllowAllAgents: true\n");
                }
                if !block.mapping.is_empty() {
                    let entries: Vec<String> =
                        block.mapping.iter().map(|(k, v)| format!("{}: {}", json(k), json(v))).collect();
                    text.push_str(&format!("  requestContextMapping: {{{}}}\n", entries.join(", ")));
                }
            }
        }
    }
    (text, env)
}

fn json(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// Every piece of 8 characters of each secret.
fn pieces(secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .flat_map(|s| {
            let chars: Vec<char> = s.chars().collect();
            chars.windows(8).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>()
        })
        .collect()
}

fn no_piece(what: &str, text: &str, pieces: &[String]) -> Result<(), TestCaseError> {
    for piece in pieces {
        prop_assert!(!text.contains(piece.as_str()), "{what} shows {piece:?}:\n{text}");
    }
    Ok(())
}

fn plan_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

/// The fields of the account's present providers whose value holds a piece of 8 characters of `secret`, as
/// `provider.field`, in file order: those `import` must refuse to write.
fn fields_holding(case: &Case, secret: &str) -> Vec<String> {
    use reconcile::provider::Provider;
    let pieces = pieces(&[secret.to_string()]);
    let holds = |s: &str| pieces.iter().any(|p| s.contains(p.as_str()));
    let mut out = Vec::new();
    for provider in Provider::ALL {
        let Some(b) = &case.remote[provider.index()] else { continue };
        for (field, value) in provider.identifier_fields().iter().zip(&b.identifiers) {
            if holds(value) {
                out.push(format!("{provider}.{field}"));
            }
        }
        if b.mapping.iter().any(|(k, v)| holds(k) || holds(v)) {
            out.push(format!("{provider}.requestContextMapping"));
        }
    }
    out
}

fn run_case(case: &Case, schema: &jsonschema::Validator) -> Result<(), TestCaseError> {
    let mut f = Fixture::new().family(case.family);
    f.emu.set_account(&case.api_key, seed(case));
    match case.prefix {
        PrefixRule::Length(n) => f.emu.set_prefix_length(n),
        rule => {
            for field in ["twilio.authToken", "telnyx.apiKey", "telnyx.publicKey", "plivo.authToken"] {
                f.emu.set_prefix_rule_for(field, rule);
            }
        }
    }
    let (text, env) = file(case);
    f.write("telephony.yaml", &text);
    f.env.retain(|k, _| k == "RECONCILE_ENDPOINTS");
    f.env.extend(env.iter().cloned());
    let run_secrets: Vec<String> = env.iter().map(|(_, v)| v.clone()).collect();
    let forbidden = pieces(&run_secrets);

    // JSON parses and matches its schema.
    let (code, out, err) = f.run(&["plan", "--format", "json"]);
    prop_assert_eq!(code, 0, "plan --format json: {}{}\n{}", out, err, text);
    let doc: Value = serde_json::from_str(&out).map_err(|e| TestCaseError::fail(format!("{e}: {out}")))?;
    prop_assert!(schema.is_valid(&doc), "{out}");
    no_piece("plan --format json", &format!("{out}{err}"), &forbidden)?;

    // A saved plan applies, and the plan after it has nothing left to do.
    let (code, out, err) = f.run(&["plan", "--out", "plan.json"]);
    prop_assert_eq!(code, 0, "plan --out: {}{}", out, err);
    let saved = std::fs::read_to_string(f.path("plan.json")).expect("the saved plan");
    serde_json::from_str::<Value>(&saved).map_err(|e| TestCaseError::fail(format!("{e}: {saved}")))?;
    no_piece("plan --out", &format!("{out}{err}{saved}"), &forbidden)?;
    let (code, out, err) = f.run(&["apply", "plan.json"]);
    prop_assert_eq!(code, 0, "apply plan.json: {}{}\n{}\n{}", out, err, text, saved);
    no_piece("apply plan.json", &format!("{out}{err}"), &forbidden)?;
    let (code, out, err) = f.run(&["plan", "--detailed-exitcode"]);
    prop_assert_eq!(code, 0, "plan after apply: {}{}\n{}", out, err, text);
    prop_assert!(out.contains("No changes."), "{out}");

    // import: the account as it was, written exactly, or refused naming the fields that hold the API key.
    f.emu.set_account(&case.api_key, seed(case));
    let _ = std::fs::remove_file(f.path("imported.yaml"));
    let (code, out, err) = f.run(&["import", "--out", "imported.yaml"]);
    no_piece("import", &format!("{out}{err}"), &pieces(std::slice::from_ref(&case.api_key)))?;
    if case.remote.iter().all(Option::is_none) {
        prop_assert_eq!(code, 1, "{}", err);
        prop_assert!(err.contains("nothing to import"), "{err}");
        return Ok(());
    }
    let holding = fields_holding(case, &case.api_key);
    if !holding.is_empty() {
        prop_assert_eq!(code, 1, "import of values holding the API key ({:?}): {}{}", holding, out, err);
        let said = format!("the account's {} hold", holding.join(", "));
        prop_assert!(err.contains(&said), "expected {said:?} in {err}");
        prop_assert!(!f.path("imported.yaml").exists(), "a file was written");
        return Ok(());
    }
    prop_assert_eq!(code, 0, "import: {}{}", out, err);
    let imported = std::fs::read_to_string(f.path("imported.yaml")).expect("the imported file");
    no_piece("the imported file", &imported, &pieces(std::slice::from_ref(&case.api_key)))?;
    check_imported(case, &imported)?;
    // With the account's secrets set, the imported file plans to nothing (unless the account holds what a file may
    // not: an invisible or control character, which the file's rules refuse, located).
    let invisible =
        case.remote.iter().flatten().any(|b| b.identifiers.iter().any(|s| s.chars().any(reconcile::clean::is_hidden)));
    f.env.retain(|k, _| k == "RECONCILE_ENDPOINTS");
    f.env.insert("ULTRAVOX_API_KEY".into(), case.api_key.clone());
    let mut account_secrets = vec![case.api_key.clone()];
    for provider in reconcile::provider::Provider::ALL {
        if let Some(b) = &case.remote[provider.index()] {
            for (field, value) in provider.secret_fields().iter().zip(&b.secrets) {
                f.env.insert(provider.conventional_env(field), value.clone());
                account_secrets.push(value.clone());
            }
        }
    }
    let (code, out, err) = f.run(&["plan", "-f", "imported.yaml", "--detailed-exitcode"]);
    no_piece("plan of the imported file", &format!("{out}{err}"), &pieces(&account_secrets))?;
    if invisible {
        prop_assert_eq!(code, 1, "{}{}", out, err);
        prop_assert!(err.contains("error[control-character]"), "{err}");
    } else {
        prop_assert_eq!(code, 0, "plan of the imported file: {}{}\n{}", out, err, imported);
        prop_assert!(out.contains("No changes."), "{out}");
    }
    Ok(())
}

/// The imported file, read back by a YAML parser, holds exactly the account's values.
fn check_imported(case: &Case, imported: &str) -> Result<(), TestCaseError> {
    use reconcile::provider::Provider;
    let doc: Value = serde_saphyr::from_str(imported).map_err(|e| TestCaseError::fail(format!("{e}: {imported}")))?;
    for provider in Provider::ALL {
        let written = &doc[provider.key()];
        let Some(b) = &case.remote[provider.index()] else {
            prop_assert!(written.is_null(), "{provider} is not on the account: {imported}");
            continue;
        };
        for (field, value) in provider.identifier_fields().iter().zip(&b.identifiers) {
            prop_assert_eq!(written[*field].as_str(), Some(value.as_str()), "{}.{}: {}", provider, field, imported);
        }
        let agents: Vec<String> = written["callCreationAllowedAgentIds"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        prop_assert_eq!(agents, agent_ids(b), "{}: {}", provider, imported);
        prop_assert_eq!(written["callCreationAllowAllAgents"].as_bool().unwrap_or(false), b.allow_all);
        let mapping: BTreeMap<String, String> = written["requestContextMapping"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
            .unwrap_or_default();
        prop_assert_eq!(&mapping, &b.mapping, "{}: {}", provider, imported);
    }
    Ok(())
}

#[test]
fn hiding_secrets_never_changes_data() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let mut runner = TestRunner::new(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() });
    let schema = plan_schema();
    let result = runner.run(&case(), |case| run_case(&case, &schema));
    if let Err(e) = result {
        panic!("{e}");
    }
}
