//! Every rule of `telephony.yaml`, through `reconcile validate` (no network) and `reconcile plan` (nothing sent):
//! each broken file gives exit 1 and a message with file:line:col and the field path.

use crate::common::*;

/// (what is broken, file text, expected `file:line:col`, expected text in the message)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("unknown top-level key", "twilo:\n  accountSid: AC1\n", "telephony.yaml:1:1", "unknown key `twilo`"),
    (
        "unknown key suggestion",
        "twilio:\n  accountSid: AC1\n  authToken: { env: T }\n  acountSid: x\n",
        "telephony.yaml:4:3",
        "did you mean `accountSid`?",
    ),
    (
        "duplicate key",
        "twilio:\n  accountSid: AC1\n  accountSid: AC2\n  authToken: { env: T }\n",
        "telephony.yaml:3:",
        "duplicate",
    ),
    (
        "literal secret",
        "plivo:\n  authId: MA1\n  authToken: abc\n",
        "telephony.yaml:3:14",
        "plivo.authToken: is a literal secret",
    ),
    (
        "secret without value",
        "plivo:\n  authId: MA1\n  authToken:\n",
        "telephony.yaml:3:",
        "plivo.authToken: has no value",
    ),
    (
        "literal api key",
        "account:\n  apiKey: uv-key\nplivo: null\n",
        "telephony.yaml:2:11",
        "account.apiKey: is a literal secret",
    ),
    (
        "reference with two sources",
        "plivo:\n  authId: MA1\n  authToken: { env: A, file: b }\n",
        "telephony.yaml:3:14",
        "exactly one source",
    ),
    (
        "reference with unknown source",
        "plivo:\n  authId: MA1\n  authToken: { vault: a }\n",
        "telephony.yaml:3:16",
        "unknown key `vault`",
    ),
    (
        "bad env name",
        "plivo:\n  authId: MA1\n  authToken: { env: \"1 BAD\" }\n",
        "telephony.yaml:3:21",
        "not a valid environment variable name",
    ),
    (
        "empty file path",
        "plivo:\n  authId: MA1\n  authToken: { file: \"\" }\n",
        "telephony.yaml:3:22",
        "expected a file path",
    ),
    (
        "missing required identifier",
        "twilio:\n  authToken: { env: T }\n",
        "telephony.yaml:1:1",
        "twilio.accountSid: missing required field `accountSid`",
    ),
    (
        "missing required secret",
        "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  applicationSid: \"1\"\n",
        "telephony.yaml:1:1",
        "telnyx.publicKey: missing required field `publicKey`",
    ),
    (
        "blank identifier",
        "plivo:\n  authId: \"\"\n  authToken: { env: T }\n",
        "telephony.yaml:2:11",
        "plivo.authId: may not be blank",
    ),
    (
        "numeric identifier",
        "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  publicKey: { env: P }\n  applicationSid: 123\n",
        "telephony.yaml:5:19",
        "expected a string, found a number",
    ),
    (
        "applicationSid too long",
        "telnyx:\n  accountSid: a\n  apiKey: { env: K }\n  publicKey: { env: P }\n  applicationSid: \"12345678901234567890123456789012345678901\"\n",
        "telephony.yaml:5:19",
        "at most 40",
    ),
    (
        "agent not a UUID",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowedAgentIds: [nope]\n",
        "telephony.yaml:4:33",
        "`nope` is not a UUID",
    ),
    (
        "duplicate agent",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowedAgentIds:\n    - 3c90c3cc-0d44-4b50-8888-8dd25736052a\n    - 3C90C3CC-0D44-4B50-8888-8DD25736052A\n",
        "telephony.yaml:6:7",
        "duplicate agent ID",
    ),
    (
        "allow-all with a list",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgents: true\n  callCreationAllowedAgentIds: [3c90c3cc-0d44-4b50-8888-8dd25736052a]\n",
        "telephony.yaml:5:32",
        "must be empty when callCreationAllowAllAgents is true",
    ),
    (
        "allow-all not a boolean",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgents: \"yes\"\n",
        "telephony.yaml:4:31",
        "expected true or false",
    ),
    (
        "mapping value not a string",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  requestContextMapping:\n    From: 5\n",
        "telephony.yaml:5:11",
        "expected a context path",
    ),
    ("provider neither block nor null", "plivo: yes\n", "telephony.yaml:1:8", "expected a mapping or null"),
    ("unsupported version", "version: 2\nplivo: null\n", "telephony.yaml:1:10", "version 2 is not supported"),
    ("not a mapping", "- twilio\n", "telephony.yaml:1:1", "expected a mapping of providers"),
    ("invalid YAML", "twilio: [a, b\n", "telephony.yaml:", "invalid YAML"),
    (
        "prefix key in the file",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  authTokenPrefix: { prefix: ab }\n",
        "telephony.yaml:4:3",
        "prefixes are read from the API",
    ),
    ("only comments", "# nothing\n", "telephony.yaml", "the file has only comments"),
    ("empty file", "", "telephony.yaml", "the file is empty"),
    (
        "identifier with spaces",
        "plivo:\n  authId: \" MA1\"\n  authToken: { env: T }\n",
        "telephony.yaml:2:11",
        "plivo.authId: has leading or trailing whitespace",
    ),
    (
        "mapping value with spaces",
        "plivo:\n  authId: MA1\n  authToken: { env: T }\n  requestContextMapping: { From: \"user.phone \" }\n",
        "telephony.yaml:4:34",
        "has leading or trailing whitespace",
    ),
];

#[test]
fn every_rule_is_reported_with_its_location_and_nothing_is_sent() {
    let f = Fixture::new();
    for (what, text, location, message) in CASES {
        f.write("telephony.yaml", text);
        for command in ["validate", "plan"] {
            let (code, out, err) = f.run(&[command]);
            assert_eq!(code, 1, "{what} ({command}): {out}{err}");
            assert!(err.contains(location), "{what} ({command}): expected {location} in\n{err}");
            assert!(err.contains(message), "{what} ({command}): expected `{message}` in\n{err}");
            assert!(err.contains("nothing was sent"), "{what}: {err}");
        }
    }
    assert!(f.emu.requests().is_empty(), "{:?}", f.request_lines());
}

#[test]
fn several_problems_are_reported_at_once_in_file_order() {
    let f = Fixture::new();
    f.write(
        "telephony.yaml",
        "twilio:\n  accountSid: AC1\n  authToken: literal\n  callCreationAllowedAgentIds: [bad]\nplivo:\n  authId: \"\"\n  authToken: { env: P }\n",
    );
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 1);
    let a = err.find("telephony.yaml:3:14").expect(&err);
    let b = err.find("telephony.yaml:4:33").expect(&err);
    let c = err.find("telephony.yaml:6:11").expect(&err);
    assert!(a < b && b < c, "{err}");
    assert!(err.contains("3 problems found"), "{err}");
    assert!(!err.contains("literal\n"), "the literal secret is masked in the source line: {err}");
}

#[test]
fn allow_all_with_a_list_is_reported_beside_the_lists_own_problems() {
    let f = Fixture::new();
    f.write(
        "telephony.yaml",
        &format!(
            "plivo:\n  authId: MA1\n  authToken: {{ env: P }}\n  callCreationAllowAllAgents: true\n  callCreationAllowedAgentIds: [{AGENT_A}, {}]\n",
            AGENT_A.to_uppercase()
        ),
    );
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(err.contains("2 problems found"), "{err}");
    assert!(
        err.contains("plivo.callCreationAllowedAgentIds: must be empty when callCreationAllowAllAgents is true"),
        "{err}"
    );
    assert!(err.contains("plivo.callCreationAllowedAgentIds[1]: duplicate agent ID"), "{err}");
}

#[test]
fn the_source_line_and_a_caret_are_shown() {
    let f = Fixture::new();
    f.write("telephony.yaml", "plivo:\n  authId: MA1\n  authToken: { env: T }\n  callCreationAllowAllAgentz: true\n");
    let (_, _, err) = f.run(&["validate"]);
    assert!(err.contains("4 |   callCreationAllowAllAgentz: true\n"), "{err}");
    assert!(err.contains("  |   ^\n"), "{err}");
    assert!(err.contains("hint: did you mean `callCreationAllowAllAgents`?"), "{err}");
}

#[test]
fn valid_files_pass_without_secrets_or_network() {
    let mut f = Fixture::new();
    f.env.clear();
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("telephony.yaml is valid (3 providers declared)."), "{err}");
    f.write("other.yaml", "plivo: null\n");
    let (code, _, err) = f.run(&["validate", "-f", "other.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(f.emu.requests().is_empty());
}

#[test]
fn a_missing_file_says_how_to_start_one() {
    let f = Fixture::new();
    let (code, _, err) = f.run(&["validate", "-f", "nope.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("nope.yaml: no such file") || err.contains("no such file"), "{err}");
    assert!(err.contains("-f PATH"), "{err}");
}
