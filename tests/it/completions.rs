//! `reconcile completions SHELL` and `reconcile man`: what they print on stdout, and their exit codes.

use assert_cmd::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("reconcile")
        .expect("binary")
        .env_clear()
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn completions_for_bash_zsh_fish_name_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert_eq!(err, "", "{shell}: nothing on stderr");
        assert!(out.len() > 200, "{shell}: a real script:\n{out}");
        for word in ["reconcile", "plan", "apply", "validate", "import", "schema", "completions", "man"] {
            assert!(out.contains(word), "{shell} completion does not mention {word}:\n{out}");
        }
        // fish spells a long flag `-l detailed-exitcode`; bash and zsh spell it whole.
        let flag = |name: &str| if shell == "fish" { format!("-l {name}") } else { format!("--{name}") };
        for name in ["detailed-exitcode", "auto-approve", "rotate", "force", "file"] {
            assert!(out.contains(&flag(name)), "{shell} completion does not mention --{name}:\n{out}");
        }
    }
    let (_, bash, _) = run(&["completions", "bash"]);
    assert!(bash.contains("complete -F _reconcile"), "{bash}");
    let (_, zsh, _) = run(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef reconcile"), "{zsh}");
    let (_, fish, _) = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c reconcile"), "{fish}");
}

#[test]
fn completions_for_powershell_and_elvish_are_printed() {
    for shell in ["powershell", "elvish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains("reconcile") && out.contains("--detailed-exitcode"), "{shell}:\n{out}");
    }
}

#[test]
fn unknown_or_missing_shell_is_a_usage_error() {
    let (code, out, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 1, "usage errors exit 1: {err}");
    assert_eq!(out, "");
    assert!(err.contains("tcsh") && err.contains("bash"), "the error lists the shells: {err}");
    let (code, _, _) = run(&["completions"]);
    assert_eq!(code, 1);
}

#[test]
fn man_page_covers_the_command_and_every_subcommand() {
    let (code, out, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(out.contains(".TH reconcile 1"), "{out}");
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "\"EXIT STATUS\"", "ENVIRONMENT", "FILES"] {
        assert!(out.contains(&format!("\n.SH {section}\n")), "no {section} section:\n{out}");
    }
    for sub in ["VALIDATE", "PLAN", "APPLY", "SCHEMA", "IMPORT", "COMPLETIONS", "MAN"] {
        assert!(out.contains(&format!("\n.SH \"RECONCILE {sub}\"\n")), "no section for {sub}:\n{out}");
    }
    // Options of subcommands and the global ones, as roff escapes them.
    for flag in [r"\-\-detailed\-exitcode", r"\-\-auto\-approve", r"\-\-force", r"\-\-api\-url", r"\-\-timeout"] {
        assert!(out.contains(flag), "the man page does not document {flag}");
    }
    assert!(out.contains("ULTRAVOX_API_KEY"), "{out}");
    assert_eq!(out.matches(".ds Aq").count(), 2, "one apostrophe preamble (two lines), not one per section");
    assert!(!out.contains("reconcile\\-help"), "no `help` pseudo-command");
}

#[test]
fn help_lists_the_new_commands() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in ["import", "completions", "man"] {
        assert!(out.contains(&format!("\n  {sub}")), "--help does not list {sub}:\n{out}");
    }
}
