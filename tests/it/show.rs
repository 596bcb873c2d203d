//! `reconcile show JSONPLAN`: one run's JSON document rendered as the run would have printed it (text, Markdown),
//! or as GitLab's Terraform report, with no file read and no request sent.

use crate::common::*;

/// The account drifted from the file in every way a plan shows: a field, a secret, a provider to delete.
fn drifted() -> Fixture {
    let mut state = full_state();
    state.twilio.as_mut().unwrap().allowed_agent_ids = vec![AGENT_A.into()];
    state.twilio.as_mut().unwrap().auth_token = "hand-set-token-0000".into();
    let f = Fixture::with_state(state);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace(
            "plivo:\n  authId: MAXXXXXXXXXXXXXXXXXX\n  authToken: { env: PLIVO_AUTH_TOKEN }\n",
            "plivo: null\n",
        ),
    );
    f
}

fn show(f: &Fixture, format: &str, document: &str) -> (i32, String, String) {
    f.write("doc.json", document);
    let before = f.emu.requests().len();
    let result = f.run(&["show", "--format", format, "doc.json"]);
    assert_eq!(f.emu.requests().len(), before, "show sends nothing");
    result
}

#[test]
fn a_json_plan_shows_as_the_run_would_have_printed_it() {
    for (name, f) in [("create", Fixture::new()), ("drifted", drifted()), ("none", Fixture::with_state(full_state()))] {
        let (_, json, err) = f.run(&["plan", "--format", "json"]);
        assert!(err.is_empty(), "{err}");
        for format in ["text", "markdown"] {
            let (_, live, _) = f.run(&["plan", "--format", format]);
            let (code, shown, err) = show(&f, format, &json);
            assert_eq!(code, 0, "{name} {format}: {err}");
            assert_eq!(shown, live, "{name} {format}");
        }
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        let (code, report, _) = show(&f, "gitlab", &json);
        assert_eq!(code, 0);
        let s = &doc["summary"];
        assert_eq!(
            report,
            format!("{{\"create\": {}, \"update\": {}, \"delete\": {}}}\n", s["create"], s["update"], s["delete"])
        );
    }
    let (_, json, _) = drifted().run(&["plan", "--format", "json"]);
    let (_, report, _) = show(&drifted(), "gitlab", &json);
    assert_eq!(report, "{\"create\": 0, \"update\": 1, \"delete\": 1}\n");
}

#[test]
fn hidden_values_show_as_the_run_showed_them() {
    // A value of each side holds a secret: the file's identifier (through a reference) and the account's mapping.
    let mut state = full_state();
    state.twilio.as_mut().unwrap().request_context_mapping.insert("From".into(), format!("user.{PLIVO_TOKEN}"));
    let f = Fixture::with_state(state);
    f.write(
        "telephony.yaml",
        &FULL_FILE.replace("accountSid: AC0123456789abcdef0123456789abcdef", "accountSid: { env: TWILIO_AUTH_TOKEN }"),
    );
    let (_, json, err) = f.run(&["plan", "--format", "json"]);
    assert!(err.is_empty(), "{err}");
    assert_eq!(json.matches("\"[hidden: holds part of a secret]\"").count(), 2, "{json}");
    for format in ["text", "markdown"] {
        let (_, live, _) = f.run(&["plan", "--format", format]);
        assert!(live.contains("[hidden: holds part of a secret]"), "{format}: {live}");
        assert!(!live.contains("\"[hidden"), "{format}: a mask is never quoted as a value: {live}");
        let (code, shown, err) = show(&f, format, &json);
        assert_eq!(code, 0, "{format}: {err}");
        assert_eq!(shown, live, "{format}");
    }
}

#[test]
fn an_apply_document_shows_its_report_line() {
    let f = drifted();
    let (code, json, err) = f.run(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (_, text, _) = show(&f, "text", &json);
    assert!(
        text.ends_with("Apply complete: 0 created, 1 updated, 1 deleted (twilio, plivo: one request each).\n"),
        "{text}"
    );
    let (_, markdown, _) = show(&f, "markdown", &json);
    assert!(markdown.starts_with("<!-- reconcile-plan -->\n"), "{markdown}");
    assert!(
        markdown
            .ends_with("\n**Apply complete: 0 created, 1 updated, 1 deleted (twilio, plivo: one request each).**\n"),
        "{markdown}"
    );
    // A failed apply's document shows its error.
    let f = Fixture::new();
    f.emu.set_always_fail(Some(400));
    let (code, json, _) = f.run(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(code, 1);
    let (code, markdown, _) = show(&f, "markdown", &json);
    assert_eq!(code, 0);
    assert!(markdown.contains("<pre>"), "{markdown}");
    let (code, _, err) = show(&f, "gitlab", &json);
    assert_eq!(code, 1);
    assert!(err.contains("holds no plan to count: the run failed before it made one"), "{err}");
}

#[test]
fn several_files_show_as_one_document() {
    let mut f = drifted();
    f.write("repo/a/telephony.yaml", FULL_FILE);
    f.write("repo/a/secrets/telnyx-api-key", &format!("{TELNYX_API_KEY}\n"));
    f.env.insert("OTHER_KEY".into(), "other-account-key-31".into());
    f.write("repo/b/telephony.yaml", "account:\n  apiKey: { env: OTHER_KEY }\ntwilio: null\n");
    f.emu.set_account("other-account-key-31", AccountState::empty());
    let (code, json, err) = f.run(&["plan", "-f", "repo", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    for format in ["text", "markdown"] {
        let (_, live, _) = f.run(&["plan", "-f", "repo", "--format", format]);
        let (_, shown, _) = show(&f, format, &json);
        assert_eq!(shown, live, "{format}");
    }
    let (_, report, _) = show(&f, "gitlab", &json);
    assert_eq!(report, "{\"create\": 0, \"update\": 1, \"delete\": 0}\n");
}

#[test]
fn what_is_not_a_json_plan_is_refused_saying_what_it_is() {
    let f = Fixture::with_state(full_state());
    let (code, _, err) = f.run(&["plan", "--out", "saved.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = f.run(&["show", "saved.json"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("saved.json is a saved plan (`plan --out`), not a JSON plan document (`plan --format json`)"),
        "{err}"
    );
    for (bad, says) in
        [("", "is not a JSON plan document"), ("{\"formatVersion\": 1}", "does not match the plan document")]
    {
        let (code, _, err) = show(&f, "text", bad);
        assert_eq!(code, 1);
        assert!(err.contains(says), "{err}");
    }
    let (code, _, err) = f.run(&["show", "missing.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("error: cannot read missing.json: no such file"), "{err}");
    // A FIFO is refused at once (never waited on for a writer), as a folder is.
    let fifo = f.path("plan.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let (code, _, err) = f.run(&["show", "plan.fifo"]);
    assert_eq!(code, 1);
    assert!(err.contains("error: cannot read plan.fifo: it is a FIFO (named pipe), not a regular file"), "{err}");
    let (code, _, err) = f.run(&["show", "."]);
    assert_eq!(code, 1);
    assert!(err.contains("error: cannot read .: it is a directory, not a regular file"), "{err}");
}
