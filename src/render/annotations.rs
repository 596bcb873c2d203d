//! GitHub Actions annotations: inside a workflow (`GITHUB_ACTIONS=true`), each problem found in a file is also
//! printed on stderr as a workflow command, `::error file=F,line=L,col=C,title=T::MESSAGE`, which GitHub shows on
//! that line of the pull request's diff and in the run's summary. The located block of
//! [`diagnostics`](super::diagnostics) is printed as well; the command is one more line per problem.
//!
//! Escaping follows GitHub's rules (as `@actions/core` does): in the message `%`, CR and LF become `%25`, `%0D`,
//! `%0A`; in a property `:` and `,` also become `%3A` and `%2C`. Every value is cleaned of control characters (the
//! terminal cleaner, [`clean`](crate::clean::clean)) before it is escaped; the message is the diagnostic's own text
//! (field path, message, hint, each checked for secrets as a value: [`crate::config::Diagnostic::shown_message`]),
//! and never a source line.
//!
//! A diagnostic's stable code, where it has one, goes into the title ([`Annotation::code`]).

use std::path::{Component, Path, PathBuf};

use crate::clean::{self, Keep};
use crate::config::ConfigError;

/// Whether this process runs as a step of a GitHub Actions workflow.
pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// One `::error` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// The file as GitHub names it: relative to the workspace when it lies inside it.
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// The diagnostic's stable code, when it has one: shown in the title (`reconcile CODE`).
    pub code: Option<String>,
    /// The field path, the message and the hint, as one text (lines joined by LF, escaped on output).
    pub message: String,
}

/// One annotation per problem of the file.
pub fn for_config_error(error: &ConfigError) -> Vec<Annotation> {
    let file = workspace_path(&error.file);
    error
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = if d.path.is_empty() {
                d.shown_message().into_owned()
            } else {
                format!("{}: {}", d.shown_path(), d.shown_message())
            };
            if let Some(hint) = d.shown_hint() {
                message.push_str("\nhint: ");
                message.push_str(&hint);
            }
            let loc = d.loc.filter(|loc| loc.is_known());
            Annotation {
                file: file.clone(),
                line: loc.map(|l| l.line),
                column: loc.map(|l| l.column).filter(|&c| c > 0),
                code: Some(d.code.as_str().to_string()),
                message,
            }
        })
        .collect()
}

/// The workflow commands, one line each.
pub fn render(annotations: &[Annotation]) -> String {
    let mut out = String::new();
    for a in annotations {
        let mut properties = vec![format!("file={}", property(&a.file))];
        if let Some(line) = a.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = a.column {
            properties.push(format!("col={column}"));
        }
        let title = match &a.code {
            Some(code) => format!("reconcile {code}"),
            None => "reconcile".to_string(),
        };
        properties.push(format!("title={}", property(&title)));
        out.push_str(&format!("::error {}::{}\n", properties.join(","), data(&a.message)));
    }
    out
}

/// A message: cleaned (line breaks kept), then `%`, CR and LF escaped.
fn data(text: &str) -> String {
    escape_data(&clean::clean(text, Keep::Lines))
}

/// A property value: as [`data`], and `:` and `,` escaped too.
fn property(text: &str) -> String {
    escape_property(&clean::clean(text, Keep::Lines))
}

/// GitHub's escaping of a command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub's escaping of a command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The file as GitHub should name it: relative to `GITHUB_WORKSPACE` (with `/`) when it lies inside it, else the
/// absolute path (the runner makes a path inside the repository relative itself), else as given.
fn workspace_path(file: &Path) -> String {
    let absolute = match std::env::current_dir() {
        Ok(dir) => normalise(&dir.join(file)),
        Err(_) => return file.display().to_string(),
    };
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let workspace = std::env::var_os("GITHUB_WORKSPACE")
        .map(PathBuf::from)
        .filter(|w| w.is_absolute())
        .map(|w| w.canonicalize().unwrap_or(w));
    if let Some(relative) = workspace.and_then(|w| absolute.strip_prefix(w).ok().map(Path::to_path_buf)) {
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if !parts.is_empty() {
            return parts.join("/");
        }
    }
    absolute.display().to_string()
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::Loc;
    use crate::config::{Code, Diagnostic};

    #[test]
    fn escaping_follows_githubs_rules() {
        assert_eq!(escape_data("100% done\r\nnext: a,b"), "100%25 done%0D%0Anext: a,b");
        assert_eq!(escape_property("C:\\x,y%\n"), "C%3A\\x%2Cy%25%0A");
        // `%` first, so that an escape sequence already in the text is not read as one.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn one_command_per_problem_with_location_title_and_hint() {
        let error = ConfigError::new(
            PathBuf::from("/nowhere/repo/telephony.yaml"),
            String::new(),
            vec![
                Diagnostic::new(
                    Code::UnknownKey,
                    Some(Loc { line: 4, column: 3 }),
                    "twilio.authTokn",
                    "unknown key, 50% sure",
                )
                .with_hint("did you mean `authToken`?"),
                Diagnostic::new(Code::EmptyFile, None, "", "the file is empty"),
            ],
        );
        let annotations = for_config_error(&error);
        assert_eq!(annotations[0].code.as_deref(), Some("unknown-key"));
        let text = render(&annotations);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "::error file=/nowhere/repo/telephony.yaml,line=4,col=3,title=reconcile unknown-key::twilio.authTokn: unknown \
                 key, 50%25 sure%0Ahint: did you mean `authToken`?",
                "::error file=/nowhere/repo/telephony.yaml,title=reconcile empty-file::the file is empty",
            ]
        );
    }

    #[test]
    fn a_code_goes_into_the_title_escaped() {
        let a = Annotation {
            file: "a,b.yaml".into(),
            line: Some(1),
            column: None,
            code: Some("E:1".into()),
            message: "m".into(),
        };
        assert_eq!(render(&[a]), "::error file=a%2Cb.yaml,line=1,title=reconcile E%3A1::m\n");
    }

    #[test]
    fn control_characters_cannot_start_a_command_of_their_own() {
        let error = ConfigError::new(
            PathBuf::from("/x/t.yaml"),
            String::new(),
            vec![Diagnostic::new(Code::InvalidYaml, None, "", "a\r::warning::forged\u{1b}[2K")],
        );
        let text = render(&for_config_error(&error));
        assert_eq!(text.lines().count(), 1);
        assert!(text.ends_with("::a\\u{000d}::warning::forged\\u{001b}[2K\n"), "{text}");
    }
}
