//! Shell completions and the man page, both generated from the command-line definition.

use super::Cli;

/// The completion script for a shell.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "reconcile", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// The man page: the main command's page, then a section for each command (its synopsis, description and
/// options), then exit status, environment and files.
pub fn man_page() -> String {
    use clap::CommandFactory;
    use clap_mangen::roff::{Roff, bold, roman};
    // Every rendered piece starts with the same preamble (for apostrophes); the page keeps only the first.
    let preamble = Roff::new().render();
    let render = |f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        // Writing into memory cannot fail.
        let _ = f(&mut buf);
        String::from_utf8_lossy(&buf).replace(preamble.as_str(), "")
    };
    let top = Cli::command().disable_help_subcommand(true);
    let man = clap_mangen::Man::new(top.clone());
    let mut page = preamble.clone();
    page.push_str(&render(&|w| {
        man.render_title(w)?;
        man.render_name_section(w)?;
        man.render_synopsis_section(w)?;
        man.render_description_section(w)?;
        man.render_options_section(w)
    }));
    // Each command under a heading naming it: its synopsis and description, and its options one level lower.
    let without_heading =
        |text: String| text.lines().filter(|l| !l.starts_with(".SH ")).map(|l| format!("{l}\n")).collect::<String>();
    let lowered = |text: String| {
        text.lines()
            .map(|l| match l.strip_prefix(".SH ") {
                Some(rest) => format!(".SS {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect::<String>()
    };
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("reconcile {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(&name));
        let mut heading = Roff::new();
        heading.control("SH", [name.to_uppercase().as_str()]);
        page.push_str(&heading.to_roff());
        page.push_str(&without_heading(render(&|w| man.render_synopsis_section(w))));
        page.push_str(".PP\n");
        page.push_str(&without_heading(render(&|w| man.render_description_section(w))));
        page.push_str(&lowered(render(&|w| man.render_options_section(w))));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "Success (plan: no changes, or changes without --detailed-exitcode)."),
        (
            "1",
            "Any error or refusal: invalid file, unresolved secret, API error, cancelled apply, usage error, a run \
             stopped by SIGINT or SIGTERM.",
        ),
        ("2", "plan --detailed-exitcode found changes."),
    ] {
        roff.control("TP", []).text([bold(code)]).text([roman(meaning)]);
    }
    roff.control("SH", ["SIGNALS"]);
    roff.text([roman(
        "The first SIGINT (Ctrl-C) or SIGTERM stops the whole run at once: no new request is sent to any account, \
         each write that was in flight is reported as in doubt (it may or may not have landed: run reconcile plan), \
         and the files not started are named; exit status 1. A second signal ends the process at once. At apply's \
         question, where nothing is in flight, the first signal ends the run there.",
    )]);
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        (
            "ULTRAVOX_API_KEY",
            "The Ultravox API key, unless the file's account.apiKey names another reference. It is never accepted on \
             the command line.",
        ),
        ("ULTRAVOX_API_URL", "The API root, as --api-url."),
        (
            "TWILIO_AUTH_TOKEN, TELNYX_API_KEY, TELNYX_PUBLIC_KEY, PLIVO_AUTH_TOKEN",
            "The conventional names of the provider secrets a file references (import writes these references).",
        ),
        (
            crate::sops::PROGRAM_ENV,
            "The sops program that decrypts { sops: FILE, key: ... } references (default: sops on PATH). An operator \
             setting: the file can never name a program.",
        ),
        (crate::sops::TIMEOUT_ENV, "How long sops may take to decrypt one file, in seconds (default 30)."),
        (
            "SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ...",
            "Passed through to sops, which finds its keys (age, PGP, cloud KMS) where it always does.",
        ),
        ("NO_COLOR", "Disables colour with --color auto."),
        ("RUST_LOG", "Overrides the log filter that -v and -q set."),
    ] {
        roff.control("TP", []).text([bold(name)]).text([roman(meaning)]);
    }
    roff.control("SH", ["FILES"]);
    roff.control("TP", []).text([bold("telephony.yaml")]).text([roman(
        "The declaration, by default in the current folder; file references in it are relative to its folder.",
    )]);
    page.push_str(&render(&|w| roff.to_writer(w)));
    page.push_str(&render(&|w| man.render_version_section(w)));
    page
}
