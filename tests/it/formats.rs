//! `--format json` and `--format markdown`: shape, schema, snapshots, and that neither carries a secret or a prefix.

use crate::common::*;
use pulldown_cmark::{Event, Options, Parser, Tag};

fn plan_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/plan.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

fn assert_no_secret(text: &str) {
    for secret in all_secrets() {
        assert!(!text.contains(secret), "leaked {secret}");
    }
}

/// One account per plan shape: create (empty account), update (secrets and fields differ), delete, no change; on the
/// default endpoint family.
fn scenarios() -> Vec<(&'static str, Fixture)> {
    scenarios_on("auto")
}

/// The same scenarios on `family`: which requests a plan lists, and how it says that an unchanged secret is sent or
/// not, depend on it.
fn scenarios_on(family: &str) -> Vec<(&'static str, Fixture)> {
    let create = Fixture::new();
    let mut other = full_state();
    other.twilio.as_mut().unwrap().auth_token = "RMTPFX-older".into();
    other.twilio.as_mut().unwrap().allowed_agent_ids =
        vec![AGENT_A.into(), "11111111-2222-4333-8444-555555555555".into()];
    other.telnyx.as_mut().unwrap().application_sid = "42".into();
    let update = Fixture::with_state(other);
    let delete = Fixture::with_state(full_state());
    delete.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    let none = Fixture::with_state(full_state());
    [("create", create), ("update", update), ("delete", delete), ("no_change", none)]
        .into_iter()
        .map(|(name, f)| (name, f.family(family)))
        .collect()
}

#[test]
fn json_plans_validate_against_the_schema_and_carry_statuses_only() {
    let validator = plan_schema();
    for (name, f) in FAMILIES
        .into_iter()
        .flat_map(|family| scenarios_on(family).into_iter().map(move |(name, f)| (format!("{name}_{family}"), f)))
    {
        f.emu.set_prefix_length(6);
        let (code, out, err) = f.run(&["plan", "--format", "json", "--detailed-exitcode"]);
        assert!(code == 0 || code == 2, "{name}: {err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}"));
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{out}");
        assert_eq!(doc["formatVersion"], 1);
        assert_eq!(doc["summary"]["hasChanges"], code == 2, "{name}");
        assert_no_secret(&out);
        assert!(!out.contains("RMTPFX"), "{name}: a remote prefix leaked");
        insta::assert_snapshot!(format!("json_{name}"), out);
    }
}

#[test]
fn json_update_entry_has_before_after_and_secret_status() {
    let (_, f) = scenarios().remove(1);
    let (_, out, _) = f.run(&["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let twilio = &doc["providers"][0];
    assert_eq!(twilio["provider"], "twilio");
    assert_eq!(twilio["action"], "update");
    let token = twilio["changes"].as_array().unwrap().iter().find(|c| c["field"] == "authToken").unwrap();
    assert_eq!(token, &serde_json::json!({"kind": "secret", "field": "authToken", "status": "changed"}));
    let telnyx = &doc["providers"][1];
    let sid = telnyx["changes"].as_array().unwrap().iter().find(|c| c["field"] == "applicationSid").unwrap();
    assert_eq!(
        sid,
        &serde_json::json!({"kind": "value", "field": "applicationSid", "before": "42", "after": "1234567890123456789"})
    );
}

#[test]
fn apply_reports_in_json_too() {
    for family in FAMILIES {
        let (_, f) = scenarios_on(family).remove(1);
        let (code, out, err) = f.run(&["apply", "--auto-approve", "--format", "json"]);
        assert_eq!(code, 0, "{family}: {err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(plan_schema().is_valid(&doc), "{out}");
        assert_eq!(doc["apply"], serde_json::json!({"status": "applied", "written": ["twilio", "telnyx"]}), "{family}");
    }
}

fn parse_markdown(text: &str) -> (usize, usize, String) {
    let mut tables = 0;
    let mut details = 0;
    let mut html = String::new();
    for event in Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_GFM) {
        match event {
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Html(h) | Event::InlineHtml(h) if h.contains("<details>") => details += 1,
            _ => {}
        }
    }
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_GFM));
    (tables, details, html)
}

#[test]
fn markdown_plans_parse_with_tables_and_details_and_match_snapshots() {
    for (family, (name, f)) in
        FAMILIES.into_iter().flat_map(|family| scenarios_on(family).into_iter().map(move |scenario| (family, scenario)))
    {
        let (code, out, err) = f.run(&["plan", "--format", "markdown", "--detailed-exitcode"]);
        assert!(code == 0 || code == 2, "{name}: {err}");
        assert!(out.starts_with("<!-- reconcile-plan -->\n"), "{name}: {out}");
        assert!(out.len() < 65_536);
        assert_no_secret(&out);
        let (tables, details, html) = parse_markdown(&out);
        let written = match name {
            "create" => 3,
            "update" => 2,
            "delete" => 1,
            _ => 0,
        };
        assert_eq!(tables, written, "{name}: one table per changed provider\n{html}");
        assert_eq!(html.contains("<table>"), written > 0, "{name}: {html}");
        if name != "create" {
            assert!(details >= 1, "{name}: unchanged providers are collapsed\n{out}");
        }
        if name == "delete" {
            assert!(out.contains("> [!WARNING]") && out.contains("**deletes** **plivo**"), "{out}");
            assert!(html.contains("<blockquote"), "{html}");
        }
        insta::assert_snapshot!(format!("markdown_{name}_{family}"), out);
    }
}

#[test]
fn markdown_escapes_values_so_they_cannot_inject_markup() {
    let f = Fixture::new();
    f.write("telephony.yaml", "plivo:\n  authId: \"a|b <script>`x`\"\n  authToken: { env: PLIVO_AUTH_TOKEN }\n");
    let (_, out, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(out.contains("a&#124;b &lt;script&gt;&#96;x&#96;"), "{out}");
    let (tables, _, html) = parse_markdown(&out);
    assert_eq!(tables, 1);
    assert!(!html.contains("<script>"), "{html}");
}

#[test]
fn a_long_markdown_plan_is_collapsed_and_stays_under_the_comment_limit() {
    let f = Fixture::new();
    let ids: Vec<String> = (0..100).map(|i| format!("    - 00000000-0000-4000-8000-{i:012}\n")).collect();
    f.write(
        "telephony.yaml",
        &format!(
            "plivo:\n  authId: MA1\n  authToken: {{ env: PLIVO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds:\n{}",
            ids.concat()
        ),
    );
    let (_, out, _) = f.run(&["plan", "--format", "markdown"]);
    assert!(out.len() < 65_536);
    assert!(out.contains("<details><summary>5 fields</summary>"), "{out}");
    let (tables, _, _) = parse_markdown(&out);
    assert_eq!(tables, 1, "the table survives inside <details>");
}

#[test]
fn text_output_has_no_escape_codes_when_piped_unless_asked() {
    let (_, f) = scenarios().remove(1);
    let piped = f.cmd(&["plan"]).env_remove("NO_COLOR").output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\u{1b}'));
    let forced = f.cmd(&["plan", "--color", "always"]).env_remove("NO_COLOR").output().unwrap();
    assert!(String::from_utf8_lossy(&forced.stdout).contains('\u{1b}'));
    let no_color = f.cmd(&["plan", "--color", "auto"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains('\u{1b}'));
}
