//! Everything the tool shows a person or a pipe: plans ([`text`], [`json`], [`markdown`], all laid out from one
//! [`view`] of the plan), file diagnostics ([`diagnostics`], and in GitHub Actions [`annotations`]) and errors.
//! This is the only module that writes to stdout or stderr; data goes to stdout, everything else to stderr.
//!
//! Secrets and remote prefixes are kept out of what the renderers build: a value that holds a secret of the run is
//! masked as a whole before it is placed ([`crate::redact`]). What leaves through [`Output`] is never rewritten to hide
//! one. Text meant for a terminal (text plans, messages on stderr, logs through [`LogWriter`]) has its control
//! characters neutralised ([`clean`]); a document (JSON, Markdown, YAML: [`Output::document`]) is written exactly as
//! it was serialised, its values escaped by its own rules.

pub mod annotations;
pub mod diagnostics;
pub mod json;
pub mod markdown;
pub mod report;
pub mod text;
pub mod view;

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Effects, Style};

use crate::clean;

pub use crate::clean::printable;

/// The agent IDs a list change adds and removes, compared as the plan compares them (UUID case does not matter:
/// [`crate::diff::as_set`]), each shown as its own side spells it, in sorted order.
fn added_and_removed<'a>(before: &'a [String], after: &'a [String]) -> (Vec<&'a String>, Vec<&'a String>) {
    let (b, a) = (crate::diff::as_set(before), crate::diff::as_set(after));
    let only = |ids: &'a [String], other: &std::collections::BTreeSet<String>| {
        let mut ids: Vec<&String> = ids.iter().filter(|id| !other.contains(&id.to_lowercase())).collect();
        ids.sort_by(|x, y| x.to_lowercase().cmp(&y.to_lowercase()).then(x.cmp(y)));
        ids.dedup_by(|x, y| x.eq_ignore_ascii_case(y));
        ids
    };
    (only(after, &b), only(before, &a))
}

/// The escape sequences the palette writes: the only ones the output path lets through.
fn colour_sequences() -> &'static [String] {
    static SEQUENCES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let styles = [
            AnsiColor::Green.on_default(),
            AnsiColor::Yellow.on_default(),
            AnsiColor::Red.on_default(),
            Style::new().effects(Effects::DIMMED),
            Style::new().effects(Effects::BOLD),
            AnsiColor::Red.on_default().effects(Effects::BOLD),
            AnsiColor::Yellow.on_default().effects(Effects::BOLD),
            AnsiColor::Cyan.on_default().effects(Effects::BOLD),
        ];
        let mut all: Vec<String> = styles.iter().flat_map(|s| [format!("{s}"), format!("{s:#}")]).collect();
        all.retain(|s| !s.is_empty());
        // Longest first, so that a longer sequence is not cut by a shorter one it starts with.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        all
    });
    &SEQUENCES
}

/// Whether stdout was closed by its reader (`| head`): not an error, but nothing more is written.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether anything was written to stdout (so that a failure document is not printed after a document).
static STDOUT_USED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The first failure to write stdout other than a closed pipe (a full disk): the run then exits 1.
static STDOUT_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Why stdout could not be written, if it could not (a closed pipe does not count).
pub fn stdout_failure() -> Option<String> {
    STDOUT_FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Whether anything was printed on stdout yet.
pub fn stdout_used() -> bool {
    STDOUT_USED.load(std::sync::atomic::Ordering::SeqCst)
}

fn keep_for(palette: Palette) -> clean::Keep {
    if palette.enabled { clean::Keep::LinesAndColours(colour_sequences()) } else { clean::Keep::Lines }
}

/// Writes to stderr, control characters neutralised. A failing stderr cannot be reported anywhere: it is ignored.
fn to_stderr(text: &str, palette: Palette) {
    let cleaned = clean::clean(text, keep_for(palette));
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(cleaned.as_bytes());
    let _ = err.flush();
}

/// tracing's writer: every log line at every level goes to stderr, checked as a value (a line holding a secret of the
/// run is not shown) and its control characters neutralised.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

/// One log event, buffered so that it is checked whole.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let line = String::from_utf8_lossy(&self.0);
            if crate::redact::holds_secret(&line) {
                to_stderr(&format!("{}\n", crate::redact::HIDDEN), Palette::plain());
            } else {
                to_stderr(&line, Palette::plain());
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

/// How a plan is printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal or a CI log.
    Text,
    /// A versioned document for scripts (schema/plan.schema.json).
    Json,
    /// For a pull-request comment or a CI job summary.
    Markdown,
}

/// How `validate` prints its verdict on stdout (besides its messages on stderr).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    /// Nothing on stdout: the verdict is on stderr, for a person.
    Text,
    /// A versioned document for scripts and CI annotations (schema/validate.schema.json).
    Json,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The styles of one stream: all plain when colour is off, so output reads the same without it.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    pub fn new(choice: ColorChoice, stream_is_terminal: bool) -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stream_is_terminal && !no_color && !dumb,
        };
        Palette { enabled }
    }

    pub fn plain() -> Palette {
        Palette { enabled: false }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled { format!("{style}{text}{style:#}") } else { text.to_string() }
    }

    pub fn create(&self, t: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), t)
    }
    pub fn update(&self, t: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), t)
    }
    pub fn delete(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint(Style::new().effects(Effects::DIMMED), t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint(Style::new().effects(Effects::BOLD), t)
    }
    pub fn error(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default().effects(Effects::BOLD), t)
    }
    pub fn warning(&self, t: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default().effects(Effects::BOLD), t)
    }
    pub fn hint(&self, t: &str) -> String {
        self.paint(AnsiColor::Cyan.on_default().effects(Effects::BOLD), t)
    }
}

/// Writes stdout, with a final line break; see [`Output::data`].
fn write_stdout(mut text: String) {
    use std::sync::atomic::Ordering;
    STDOUT_USED.store(true, Ordering::SeqCst);
    if STDOUT_CLOSED.load(Ordering::SeqCst) {
        return;
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::SeqCst);
        } else {
            let mut failure = STDOUT_FAILURE.lock().unwrap_or_else(|e| e.into_inner());
            failure.get_or_insert_with(|| e.to_string());
        }
    }
}

/// The two output streams and their palettes.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub stdout: Palette,
    pub stderr: Palette,
    pub quiet: bool,
}

impl Output {
    pub fn new(choice: ColorChoice, quiet: bool) -> Output {
        Output {
            stdout: Palette::new(choice, std::io::stdout().is_terminal()),
            stderr: Palette::new(choice, std::io::stderr().is_terminal()),
            quiet,
        }
    }

    /// Data for a terminal (a text plan): stdout, its control characters neutralised except line breaks and the
    /// tool's own colours. A closed pipe ends the output quietly; any other failure (a full disk) is remembered, and
    /// the run exits 1 ([`stdout_failure`]).
    pub fn data(&self, text: &str) {
        write_stdout(clean::clean(text, keep_for(self.stdout)).into_owned());
    }

    /// A document (JSON, Markdown, YAML): stdout, exactly as it was serialised (its own escaping keeps control
    /// characters out of it), with a final line break. Failures as for [`Output::data`].
    pub fn document(&self, text: &str) {
        write_stdout(text.to_string());
    }

    /// A status line for a person: stderr, silenced by `-q`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            to_stderr(&format!("{text}\n"), self.stderr);
        }
    }

    /// A warning: stderr, even with `-q`.
    pub fn warning(&self, text: &str) {
        to_stderr(&format!("{} {text}\n", self.stderr.warning("warning:")), self.stderr);
    }

    /// An error with an optional hint after a blank line: stderr.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        let mut text = format!("{} {message}", self.stderr.error("error:"));
        if let Some(hint) = hint {
            text.push_str(&format!("\n\n{} {hint}", self.stderr.hint("hint:")));
        }
        text.push('\n');
        to_stderr(&text, self.stderr);
    }

    /// A block already rendered for stderr (diagnostics).
    pub fn error_block(&self, text: &str) {
        to_stderr(text, self.stderr);
    }

    /// Asks a question on stderr and reads one line from stdin.
    pub fn ask(&self, question: &str) -> Option<String> {
        to_stderr(question, self.stderr);
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_string()),
        }
    }
}

/// Where a command's messages go: straight to the streams ([`Output`]), or into a [`Buffer`] that is printed
/// later, in its file's turn, when several files are worked on at once.
pub trait Sink {
    /// The streams' palettes and `-q`.
    fn output(&self) -> Output;
    /// Data for stdout, for a terminal (a text plan).
    fn data(&mut self, text: &str);
    /// A document for stdout (JSON, Markdown), written as serialised.
    fn document(&mut self, text: &str);
    /// A status line for stderr (silenced by `-q`).
    fn status(&mut self, text: &str);
    /// A warning for stderr.
    fn warning(&mut self, text: &str);
    /// An error with an optional hint, for stderr.
    fn error(&mut self, message: &str, hint: Option<&str>);
    /// A block already rendered for stderr.
    fn error_block(&mut self, text: &str);
}

impl Sink for Output {
    fn output(&self) -> Output {
        *self
    }
    fn data(&mut self, text: &str) {
        Output::data(self, text);
    }
    fn document(&mut self, text: &str) {
        Output::document(self, text);
    }
    fn status(&mut self, text: &str) {
        Output::status(self, text);
    }
    fn warning(&mut self, text: &str) {
        Output::warning(self, text);
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        Output::error(self, message, hint);
    }
    fn error_block(&mut self, text: &str) {
        Output::error_block(self, text);
    }
}

/// Messages kept in order, to be printed at once with [`Buffer::print`]; or, made with [`Buffer::direct`], printed as
/// they come (a run of one file prints its messages at once, as it goes).
#[derive(Debug)]
pub struct Buffer {
    out: Output,
    events: Vec<Event>,
    direct: bool,
}

#[derive(Debug)]
enum Event {
    Data(String),
    Document(String),
    Status(String),
    Warning(String),
    Error(String, Option<String>),
    Block(String),
}

impl Event {
    fn print(self, out: Output) {
        match self {
            Event::Data(text) => out.data(&text),
            Event::Document(text) => out.document(&text),
            Event::Status(text) => out.status(&text),
            Event::Warning(text) => out.warning(&text),
            Event::Error(message, hint) => out.error(&message, hint.as_deref()),
            Event::Block(text) => out.error_block(&text),
        }
    }
}

impl Buffer {
    pub fn new(out: Output) -> Buffer {
        Buffer { out, events: Vec::new(), direct: false }
    }

    /// A buffer that keeps nothing: every message is printed when it comes.
    pub fn direct(out: Output) -> Buffer {
        Buffer { out, events: Vec::new(), direct: true }
    }

    /// Prints every message kept, in the order they came.
    pub fn print(self) {
        for event in self.events {
            event.print(self.out);
        }
    }

    fn push(&mut self, event: Event) {
        if self.direct { event.print(self.out) } else { self.events.push(event) }
    }
}

impl Sink for Buffer {
    fn output(&self) -> Output {
        self.out
    }
    fn data(&mut self, text: &str) {
        self.push(Event::Data(text.to_string()));
    }
    fn document(&mut self, text: &str) {
        self.push(Event::Document(text.to_string()));
    }
    fn status(&mut self, text: &str) {
        self.push(Event::Status(text.to_string()));
    }
    fn warning(&mut self, text: &str) {
        self.push(Event::Warning(text.to_string()));
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.push(Event::Error(message.to_string(), hint.map(str::to_string)));
    }
    fn error_block(&mut self, text: &str) {
        self.push(Event::Block(text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tools_own_colours_pass() {
        let palette = Palette { enabled: true };
        for coloured in [palette.error("x"), palette.bold("y"), palette.create("+"), palette.update("~")] {
            assert_eq!(clean::clean(&coloured, keep_for(palette)), coloured);
        }
        assert_eq!(clean::clean("\u{1b}[8mhidden", keep_for(palette)), "\\u{001b}[8mhidden");
        assert_eq!(clean::clean("\u{1b}[31mred", keep_for(Palette::plain())), "\\u{001b}[31mred");
    }
}
