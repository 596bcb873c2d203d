//! A secret the API gives no prefix for, end to end on each endpoint family: what the plan says about it (text,
//! Markdown, JSON, and a saved plan applied), and that what it says is what apply sends. Only the account-level
//! family sends a provider's whole block, so only there does such a secret travel when another field changes.

use crate::common::*;

const FAMILIES: [&str; 3] = ["account", "provider", "auto"];

/// The note's sentence in text (after `Note: `) and in JSON, through `family`.
fn note(family: &str) -> String {
    let block = if family == "account" {
        ", or with its provider's block when another field of that provider changes"
    } else {
        ""
    };
    format!(
        "the API returned no prefix for plivo.authToken, so whether the file's value matches cannot be verified; \
         such a secret is sent only with --rotate{block}."
    )
}

/// The account as the file declares it, but with plivo's token shown with no prefix.
fn fixture(family: &str) -> Fixture {
    let f = Fixture::with_state(full_state()).family(family);
    f.emu.set_prefix_length_for("plivo.authToken", 0);
    f
}

#[test]
fn the_note_says_what_each_family_sends_in_text_markdown_and_json() {
    for family in FAMILIES {
        let f = fixture(family);
        let (code, text, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "{family}: an unverifiable secret alone is no change\n{text}{err}");
        let expected = format!(
            "  twilio: no changes\n  telnyx: no changes\n  plivo: no changes; authToken: (secret) unverifiable: no \
             prefix from the API; not sent\n\nNote: {}\n\nNo changes. The account matches telephony.yaml.\n",
            note(family)
        );
        assert_eq!(text, expected, "{family}");

        let (_, markdown, _) = f.run(&["plan", "--format", "markdown"]);
        let block = if family == "account" {
            ", or with its provider's block when another field of that provider changes"
        } else {
            ""
        };
        let expected = format!(
            "> [!NOTE]\n> The API returned no prefix for <code>plivo.authToken</code>, so whether the file's value \
             matches cannot be verified. Such a secret is sent only when the plan is made with \
             <code>--rotate</code>{block}.\n"
        );
        assert!(markdown.contains(&expected), "{family}:\n{markdown}");

        let (_, json, _) = f.run(&["plan", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(doc["summary"]["unverifiable"], serde_json::json!(["plivo.authToken"]), "{family}");
        assert_eq!(doc["notes"], serde_json::json!([{"kind": "unverifiable", "message": note(family)}]), "{family}");
        assert_eq!(doc["requests"], serde_json::json!([]), "{family}");
        assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{family}: {:?}", f.request_lines());
    }
}

#[test]
fn a_saved_plan_records_its_family_and_says_the_same_when_applied() {
    for family in FAMILIES {
        let f = fixture(family);
        let (code, _, err) = f.run(&["plan", "--out", "plan.json"]);
        assert_eq!(code, 0, "{family}: {err}");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.path("plan.json")).unwrap()).unwrap();
        assert_eq!(saved["endpoints"], family);
        assert_eq!(saved["requests"], serde_json::json!([]));

        f.emu.clear_requests();
        let mut applying = f.cmd(&["apply", "plan.json"]);
        // The plan's own family, as a later CI job would apply it (no --endpoints given).
        applying.env_remove("RECONCILE_ENDPOINTS");
        let output = applying.output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{family}: {text}");
        assert!(text.contains(&format!("\nNote: {}\n\nNo changes.", note(family))), "{family}:\n{text}");
        assert!(text.ends_with("Nothing to apply: no write was sent.\n"), "{family}:\n{text}");
        assert!(f.emu.requests().iter().all(|r| r.method == "GET"), "{family}: {:?}", f.request_lines());
    }
}

#[test]
fn when_another_field_changes_only_the_account_family_sends_the_unverifiable_secret() {
    for family in FAMILIES {
        let f = fixture(family);
        f.write(
            "telephony.yaml",
            &FULL_FILE.replace(
                "  authToken: { env: PLIVO_AUTH_TOKEN }\n",
                "  authToken: { env: PLIVO_AUTH_TOKEN }\n  callCreationAllowAllAgents: true\n",
            ),
        );
        let (code, text, err) = f.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code, 2, "{family}: {text}{err}");
        let row = if family == "account" { "re-sent with the block" } else { "not sent" };
        assert!(
            text.contains(&format!(
                "? authToken:                  (secret) unverifiable: no prefix from the API; {row}\n"
            )),
            "{family}:\n{text}"
        );
        assert!(text.contains(&format!("Note: {}\n", note(family))), "{family}:\n{text}");

        f.emu.clear_requests();
        let (code, _, err) = f.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "{family}: {err}");
        let write = f.emu.requests().into_iter().find(|r| r.method != "GET").expect("one write");
        let body = write.json.expect("a JSON body");
        if family == "account" {
            assert_eq!(write.path, "/api/accounts/me/telephony_config");
            assert_eq!(body["plivo"]["authToken"], PLIVO_TOKEN, "the whole block carries the secret");
        } else {
            assert_eq!(write.path, "/api/telephony_configs/plivo");
            assert_eq!(body, serde_json::json!({"callCreationAllowAllAgents": true}), "{family}: only the change");
        }
    }
}
