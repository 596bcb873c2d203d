//! A corpus of broken `telephony.yaml` files (`tests/diagnostics/*.yaml`), each a mistake a platform engineer makes,
//! run through the real binary. The exact stderr of each is snapshotted (`tests/it/snapshots/it__diagnostics__*.snap`), and
//! every one is checked for what a diagnostic must always give: exit 1, nothing sent, `telephony.yaml:line:col` with
//! the right source line and a caret under the column, a hint where one helps, problems in file order, and never a
//! secret value.
//!
//! Adding a file to `tests/diagnostics/` adds a case (run `INSTA_UPDATE=always cargo test --test it diagnostics::`, then
//! read the new snapshot). Fixtures whose problem only shows when references are resolved are listed in
//! [`RESOLUTION`] and run through `plan`; every other fixture runs through `validate`.
//!
//! Literal secrets in the fixtures all contain `FAKE`, so "no secret in the output" is "no `FAKE` in stderr".

use std::path::{Path, PathBuf};

use crate::common::*;

/// Prepares the environment and the folder of one resolution case.
type Setup = fn(&mut Fixture);

/// Fixtures that pass `validate` and fail in `plan` when their references are resolved, with what each needs from
/// the environment and the folder (the [`Fixture`] starts with every conventional variable set and
/// `secrets/telnyx-api-key` written).
const RESOLUTION: &[(&str, Setup)] = &[
    ("70-resolve-env-unset", |_| {}),
    ("71-resolve-env-empty", |f| {
        f.env.insert("PLIVO_AUTH_TOKEN".into(), String::new());
    }),
    ("72-resolve-secret-file-missing", |_| {}),
    ("73-resolve-secret-file-empty", |f| f.write("secrets/plivo-auth-token", "")),
    ("74-resolve-secret-file-only-newline", |f| f.write("secrets/plivo-auth-token", "\n")),
    ("75-resolve-default-api-key-unset", |f| {
        f.env.remove("ULTRAVOX_API_KEY");
    }),
    ("76-resolve-several-at-once", |f| {
        f.write("secrets/telnyx-application-sid", "12345678901234567890123456789012345678901\n");
    }),
    ("77-resolve-short-secret", |f| {
        f.env.insert("PLIVO_AUTH_TOKEN".into(), "FAKE1".into());
        f.write("secrets/telnyx-api-key", "FAKE-k7\n");
    }),
    ("78-resolve-sip-secrets", |f| {
        f.write("secrets/sip-fallback-secret", &format!("{}\n", "k".repeat(121)));
        f.write("secrets/sip-fallback-short", "FAKE-s1\n");
        f.env.insert("SIP_BOB_PASSWORD".into(), "FAKE-pw".into());
    }),
];

/// Problems about the whole file, which have no line to point at.
const FILE_LEVEL: &[&str] = &["56-empty-file", "57-only-comments", "75-resolve-default-api-key-unset"];

/// Typo, secret, limit, and required-field cases: every problem in these must come with a hint.
const NEEDS_HINT: &[&str] = &[
    "01-unknown-top-level-key-typo",
    "02-unknown-provider-key-typo",
    "03-unknown-account-key-wrong-case",
    "04-snake-case-keys",
    "05-wrong-case-keys",
    "06-unknown-reference-key-typo",
    "10-wrong-types-provider-fields",
    "11-wrong-types-references",
    "12-account-not-a-mapping",
    "15-flow-style-with-literal-secret",
    "21-anchor-shares-literal-secret",
    "23-bom-and-typo",
    "27-literal-twilio-auth-token",
    "28-literal-telnyx-secrets",
    "29-literal-plivo-auth-token-quoted",
    "30-literal-account-api-key",
    "31-literal-secret-on-next-line",
    "32-null-secrets",
    "33-empty-env-reference",
    "34-invalid-env-names",
    "35-empty-file-reference",
    "36-env-and-file-both",
    "37-reference-with-no-source",
    "38-unknown-reference-source-vault",
    "39-reference-with-inline-value",
    "40-secret-key-typo-with-literal",
    "41-agent-ids-not-uuids",
    "42-duplicate-agent-ids-differing-case",
    "43-too-many-agent-ids",
    "44-allow-all-with-agent-list",
    "45-application-sid-too-long",
    "47-unquoted-numeric-identifiers",
    "49-version-2",
    "50-version-as-string",
    "51-twilio-missing-required",
    "52-telnyx-missing-required",
    "53-plivo-missing-required",
    "54-provider-is-a-string-or-bool",
    "55-provider-is-a-list-or-number",
    "60-prefix-pasted-from-api",
    "61-json-pasted-from-api",
    "62-several-problems-in-file-order",
    "63-aligned-colons-literal-secret",
    "66-sops-reference-shapes",
    "68-sip-cidr-ranges",
    "69-sip-fallback-handler",
    "70-resolve-env-unset",
    "71-resolve-env-empty",
    "72-resolve-secret-file-missing",
    "73-resolve-secret-file-empty",
    "74-resolve-secret-file-only-newline",
    "75-resolve-default-api-key-unset",
    "76-resolve-several-at-once",
    "77-resolve-short-secret",
    "78-resolve-sip-secrets",
    "80-sip-allowances",
    "81-sip-registrations",
    "82-sip-registrations-empty",
    "83-sip-null",
];

/// KNOWN BUGS, reported to the owner of src/. Each entry is a fixture that currently breaks the invariant named; the
/// test fails when an entry no longer does, so that fixing the bug forces the entry's removal.
///
/// A literal secret reaches stderr (the source line is shown unmasked): src/render/diagnostics.rs masks only a value
/// written after `authToken:`/`apiKey:`/`publicKey:` on the same line.
const KNOWN_LEAKS: &[&str] = &[];
/// A problem in a [`NEEDS_HINT`] fixture comes without a hint (src/config/validate.rs, src/config/resolve.rs).
const KNOWN_MISSING_HINTS: &[&str] = &[];
/// Problems are not printed in file order (src/config/resolve.rs does not sort its diagnostics).
const KNOWN_OUT_OF_ORDER: &[&str] = &[];

struct Case {
    stem: String,
    path: PathBuf,
    source: String,
    command: &'static str,
    code: i32,
    stdout: String,
    stderr: String,
    requests: Vec<String>,
    /// For resolution cases: what `validate` said (it must accept the file).
    validate: Option<(i32, String)>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

/// Every fixture, sorted by name.
fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/diagnostics")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

fn stem(path: &Path) -> String {
    path.file_stem().expect("stem").to_string_lossy().into_owned()
}

/// Replaces what varies between runs (the temporary folder) with a fixed marker.
fn normalise(text: &str, f: &Fixture) -> String {
    let mut out = text.to_string();
    let dir = f.dir.path();
    let mut variants = vec![dir.display().to_string()];
    if let Ok(canonical) = dir.canonicalize() {
        variants.push(canonical.display().to_string());
    }
    for v in variants {
        out = out.replace(&v, "[TMP]");
    }
    out
}

fn run_case(path: &Path) -> Case {
    let stem = stem(path);
    let bytes = std::fs::read(path).expect("read fixture");
    let source = String::from_utf8(bytes.clone()).expect("fixtures are UTF-8");
    let mut f = Fixture::new();
    // Byte-exact copy: BOM, CRLF and tabs are what some fixtures are about.
    std::fs::write(f.path("telephony.yaml"), &bytes).expect("copy fixture");
    let setup = RESOLUTION.iter().find(|(name, _)| *name == stem).map(|(_, setup)| *setup);
    let (command, validate) = match setup {
        Some(setup) => {
            setup(&mut f);
            let (code, _, err) = f.run(&["validate", "-f", "telephony.yaml"]);
            ("plan", Some((code, normalise(&err, &f))))
        }
        None => ("validate", None),
    };
    let (code, stdout, stderr) = f.run(&[command, "-f", "telephony.yaml"]);
    Case {
        stem,
        path: path.to_path_buf(),
        source,
        command,
        code,
        stdout,
        stderr: normalise(&stderr, &f),
        requests: f.request_lines(),
        validate,
    }
}

/// The corpus, run once through the binary and shared by the tests that read it.
static CORPUS: std::sync::LazyLock<Vec<Case>> =
    std::sync::LazyLock::new(|| fixtures().iter().map(|p| run_case(p)).collect());

/// One `error[CODE]:` block of the output: the code, the headline, the location, the source line and caret, the
/// hint.
#[derive(Debug)]
struct Block {
    code: String,
    headline: String,
    /// `(line, column)` from `--> telephony.yaml:L:C`; `None` for a file-level problem.
    loc: Option<(usize, usize)>,
    /// The source line as shown (after the `L |` gutter) and the caret's offset in it.
    shown: Option<(usize, String, usize)>,
    hint: Option<String>,
}

/// Splits stderr into problem blocks and the closing summary line.
fn blocks(stderr: &str) -> (Vec<Block>, Option<String>) {
    let mut out: Vec<Block> = Vec::new();
    let mut summary = None;
    let lines: Vec<&str> = stderr.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with("error: ") && line.contains(" found in telephony.yaml; nothing was sent") {
            summary = Some(line.to_string());
            continue;
        }
        let Some((code, headline)) = line.strip_prefix("error[").and_then(|rest| rest.split_once("]: ")) else {
            continue;
        };
        let mut block =
            Block { code: code.to_string(), headline: headline.to_string(), loc: None, shown: None, hint: None };
        while i < lines.len() && !lines[i].starts_with("error") {
            let l = lines[i].trim_start();
            if let Some(at) = l.strip_prefix("--> telephony.yaml:") {
                let mut parts = at.splitn(2, ':');
                let line_no = parts.next().and_then(|s| s.parse().ok());
                let col = parts.next().and_then(|s| s.parse().ok());
                if let (Some(l), Some(c)) = (line_no, col) {
                    block.loc = Some((l, c));
                }
            } else if let Some(h) = l.strip_prefix("hint: ") {
                block.hint = Some(h.to_string());
            } else if let Some((number, rest)) = l.split_once(" | ")
                && let Ok(n) = number.trim().parse::<usize>()
            {
                let caret = lines.get(i + 1).and_then(|c| c.split_once(" | ")).map(|(_, c)| c);
                let caret_at = caret.and_then(|c| c.find('^')).unwrap_or(usize::MAX);
                block.shown = Some((n, rest.to_string(), caret_at));
            }
            i += 1;
        }
        out.push(block);
    }
    (out, summary)
}

/// The invariants every diagnostic keeps; returns what is wrong with one case.
fn check(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(what);
    let stem = case.stem.as_str();
    let err = &case.stderr;

    if case.code != 1 {
        fail(format!("exit code {} (expected 1)", case.code));
    }
    if !case.requests.is_empty() {
        fail(format!("requests reached the emulator: {:?}", case.requests));
    }
    if !case.stdout.is_empty() {
        fail(format!("stdout is not empty: {:?}", case.stdout));
    }
    if let Some((code, validate_err)) = &case.validate
        && *code != 0
    {
        fail(format!("resolution case must pass `validate` (exit {code}):\n{validate_err}"));
    }
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        fail("PANIC".to_string());
    }

    let (blocks, summary) = blocks(err);
    if blocks.is_empty() {
        fail("no `error[CODE]:` block".to_string());
    }
    for b in &blocks {
        if !reconcile::config::Code::ALL.iter().any(|c| c.as_str() == b.code) {
            fail(format!("`error[{}]: {}` has no known code", b.code, b.headline));
        }
    }
    let expected_summary = format!(
        "error: {} found in telephony.yaml; nothing was sent",
        if blocks.len() == 1 { "1 problem".to_string() } else { format!("{} problems", blocks.len()) }
    );
    if summary.as_deref() != Some(expected_summary.as_str()) {
        fail(format!("summary {summary:?}, expected {expected_summary:?}"));
    }
    if !err.ends_with(&format!("{expected_summary}\n")) {
        fail("the summary is not the last line".to_string());
    }

    let source_lines: Vec<&str> = case.source.lines().collect();
    for b in &blocks {
        match b.loc {
            None if FILE_LEVEL.contains(&stem) => {}
            None => fail(format!("MISSING LOCATION: `error: {}` has no telephony.yaml:line:col", b.headline)),
            Some((line, col)) => {
                match &b.shown {
                    None => fail(format!("`error: {}` shows no source line", b.headline)),
                    Some((n, shown, caret)) => {
                        if *n != line {
                            fail(format!("`error: {}` shows line {n}, not line {line}", b.headline));
                        }
                        // Tabs are shown as single spaces (so the caret lines up) and a byte-order mark is dropped.
                        let original = source_lines.get(line.wrapping_sub(1)).copied().unwrap_or("");
                        let original = original.replace('\t', " ").trim_start_matches('\u{feff}').to_string();
                        if *shown != original && !shown.contains("********") {
                            fail(format!("line {line} is shown as {shown:?}, the file has {original:?}"));
                        }
                        let expected_caret = (col - 1).min(shown.chars().count());
                        if *caret != expected_caret {
                            fail(format!("caret at offset {caret}, expected under column {col}"));
                        }
                    }
                }
                if col == 0 || line == 0 || line > source_lines.len().max(1) {
                    fail(format!("location {line}:{col} is outside the file"));
                }
            }
        }
    }

    let missing_hint = NEEDS_HINT.contains(&stem) && blocks.iter().any(|b| b.hint.is_none());
    match (missing_hint, KNOWN_MISSING_HINTS.contains(&stem)) {
        (true, false) => fail("a problem comes without a hint".to_string()),
        (false, true) => fail("every problem has a hint now: remove it from KNOWN_MISSING_HINTS".to_string()),
        _ => {}
    }

    let locs: Vec<(usize, usize)> = blocks.iter().filter_map(|b| b.loc).collect();
    let in_order = locs.windows(2).all(|w| w[0] <= w[1]);
    match (in_order, KNOWN_OUT_OF_ORDER.contains(&stem)) {
        (false, false) => fail(format!("problems are not in file order: {locs:?}")),
        (true, true) => fail("problems are in file order now: remove it from KNOWN_OUT_OF_ORDER".to_string()),
        _ => {}
    }

    let leaked: Vec<&str> = secret_literals(&case.source).into_iter().filter(|s| err.contains(s)).collect();
    let leaks = !leaked.is_empty() || err.contains("FAKE");
    match (leaks, KNOWN_LEAKS.contains(&stem)) {
        (true, false) => fail(format!("SECRET LEAK: stderr contains a literal secret {leaked:?}")),
        (false, true) => fail("no secret reaches stderr now: remove it from KNOWN_LEAKS".to_string()),
        _ => {}
    }
    problems
}

/// The fake secret values written in a fixture: every word holding `FAKE`, and its longest `FAKE`-free pieces.
fn secret_literals(source: &str) -> Vec<&str> {
    let words = source.split(|c: char| c.is_whitespace() || "{}[],\"':&*|".contains(c));
    let mut out: Vec<&str> = words.filter(|w| w.contains("FAKE")).collect();
    let pieces: Vec<&str> = out.iter().flat_map(|w| w.split("FAKE")).filter(|p| p.len() >= 8).collect();
    out.extend(pieces);
    out
}

#[test]
fn the_corpus_is_large_and_its_tables_name_real_fixtures() {
    let stems: Vec<String> = fixtures().iter().map(|p| stem(p)).collect();
    assert!(stems.len() >= 30, "the corpus has only {} files", stems.len());
    let tables = [
        ("RESOLUTION", RESOLUTION.iter().map(|(s, _)| *s).collect::<Vec<_>>()),
        ("FILE_LEVEL", FILE_LEVEL.to_vec()),
        ("NEEDS_HINT", NEEDS_HINT.to_vec()),
        ("KNOWN_LEAKS", KNOWN_LEAKS.to_vec()),
        ("KNOWN_MISSING_HINTS", KNOWN_MISSING_HINTS.to_vec()),
        ("KNOWN_OUT_OF_ORDER", KNOWN_OUT_OF_ORDER.to_vec()),
    ];
    for (table, names) in tables {
        for name in names {
            assert!(stems.iter().any(|s| s == name), "{table} names {name}, which is not in tests/diagnostics/");
        }
    }
    for name in KNOWN_MISSING_HINTS {
        assert!(NEEDS_HINT.contains(name), "KNOWN_MISSING_HINTS names {name}, which is not in NEEDS_HINT");
    }
}

#[test]
fn every_broken_file_gets_located_actionable_diagnostics_and_nothing_is_sent() {
    let mut report = String::new();
    for case in CORPUS.iter() {
        let problems = check(case);
        if !problems.is_empty() {
            report.push_str(&format!("\n{} (reconcile {}):\n", case.stem, case.command));
            for p in problems {
                report.push_str(&format!("  - {p}\n"));
            }
            report.push_str(&format!("  stderr:\n{}\n", case.stderr));
        }
    }
    assert!(report.is_empty(), "diagnostics that break the invariants:\n{report}");
}

#[test]
fn exact_diagnostics_match_the_snapshots() {
    for case in CORPUS.iter() {
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(&case.path);
        settings.set_description(format!("reconcile {} -f telephony.yaml  (exit {})", case.command, case.code));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(case.stem.as_str(), case.stderr));
    }
}
