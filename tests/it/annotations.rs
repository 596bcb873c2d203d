//! Inside GitHub Actions (`GITHUB_ACTIONS=true`), each problem in a file is also a workflow command on stderr,
//! `::error file=...,line=...,col=...::...`, naming the file relative to the workspace; never a secret; nothing of
//! the kind outside Actions.

use crate::common::*;

const LITERAL: &str = "sup3r-s3cret-literal-42";

fn broken(f: &Fixture, name: &str) {
    f.write(
        name,
        &format!(
            "twilio:\n  accountSid: AC0123456789abcdef0123456789abcdef\n  authToken: {LITERAL}\n  \
             callCreationAllowAllAgent: true\n"
        ),
    );
}

fn commands(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("::")).collect()
}

#[test]
fn each_problem_is_an_error_command_on_its_line_in_actions_only() {
    let mut f = Fixture::new();
    broken(&f, "telephony.yaml");
    let (code, _, err) = f.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(commands(&err).is_empty(), "no workflow command outside Actions:\n{err}");

    f.env.insert("GITHUB_ACTIONS".into(), "true".into());
    f.env.insert("GITHUB_WORKSPACE".into(), f.dir.path().display().to_string());
    for args in [&["validate"][..], &["plan"], &["apply", "--auto-approve"], &["plan", "--format", "json"]] {
        let (code, out, err) = f.run(args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(
            commands(&err),
            [
                "::error file=telephony.yaml,line=3,col=14,title=reconcile literal-secret::twilio.authToken: is a literal secret; \
                 secrets must be references so that they never live in git%0Ahint: write `authToken: { env: \
                 TWILIO_AUTH_TOKEN }` and set TWILIO_AUTH_TOKEN, or `authToken: { file: PATH }` with a file kept \
                 out of git",
                "::error file=telephony.yaml,line=4,col=3,title=reconcile unknown-key::twilio.callCreationAllowAllAgent: unknown \
                 key `callCreationAllowAllAgent`%0Ahint: did you mean `callCreationAllowAllAgents`?",
            ],
            "{args:?}"
        );
        // The located block is still there, and no command reaches stdout (data only).
        assert!(err.contains("--> telephony.yaml:3:14"), "{err}");
        assert!(!out.contains("::error"), "{out}");
        assert!(!err.contains(LITERAL) && !err.contains(&LITERAL[..8]), "{err}");
    }
    assert!(f.emu.requests().is_empty());
}

#[test]
fn files_in_folders_are_named_from_the_workspace_root_wherever_the_step_runs() {
    let mut f = Fixture::new();
    broken(&f, "repo/prod/telephony.yaml");
    f.write("repo/ok/telephony.yaml", "twilio: null\n");
    f.env.insert("GITHUB_ACTIONS".into(), "true".into());
    f.env.insert("GITHUB_WORKSPACE".into(), f.dir.path().join("repo").display().to_string());
    // Run from a folder of the workspace, with paths relative to it.
    let (code, _, err) = f
        .cmd(&["validate", "-f", "."])
        .current_dir(f.path("repo/ok"))
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(commands(&err).is_empty());
    let output = f
        .cmd(&["validate", "-f", "..", "-f", "../prod/telephony.yaml"])
        .current_dir(f.path("repo/ok"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let found = commands(&err);
    assert_eq!(found.len(), 2, "the file reached twice is read once:\n{err}");
    assert!(found.iter().all(|c| c.starts_with("::error file=prod/telephony.yaml,line=")), "{found:?}");
}
