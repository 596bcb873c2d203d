//! Everything the tool shows a person or a pipe: plans ([`text`], [`json`], [`markdown`]), file diagnostics
//! ([`diagnostics`]) and errors.
//! This is the only module that writes to stdout or stderr; data goes to stdout, everything else to stderr.

pub mod diagnostics;
pub mod json;
pub mod markdown;
pub mod report;
pub mod text;

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Effects, Style};

/// The plan as people read it: each agent ID the file wrote by name shown as `ID (name)`.
pub fn with_agent_names(plan: &crate::diff::Plan) -> std::borrow::Cow<'_, crate::diff::Plan> {
    use crate::diff::{FieldChange, Value};
    if plan.agent_names.is_empty() {
        return std::borrow::Cow::Borrowed(plan);
    }
    let label = |ids: &mut Vec<String>| {
        for id in ids.iter_mut() {
            if let Some(name) = plan.agent_names.get(id.as_str()) {
                *id = format!("{id} ({name})");
            }
        }
    };
    let mut labelled = plan.clone();
    for provider in &mut labelled.providers {
        for change in &mut provider.changes {
            if let FieldChange::Value { field, before, after } = change {
                if field == crate::model::AGENT_IDS {
                    for side in [before, after].into_iter().flatten() {
                        if let Value::List(ids) = side {
                            label(ids);
                        }
                    }
                }
            }
        }
    }
    std::borrow::Cow::Owned(labelled)
}

/// A value from the file or the server as it may be shown on a terminal: control characters and the invisible
/// formatting ones (bidirectional overrides, zero-width) written as `\u{...}`, so that a value cannot rewrite the
/// line it is printed on or hide what it is.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if hidden(c) { format!("\\u{{{:04x}}}", c as u32) } else { c.to_string() }).collect(),
    )
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

    /// Data (a plan, JSON): stdout. A closed pipe is not an error worth a panic.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A status line for a person: stderr, silenced by `-q`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A warning: stderr, even with `-q`.
    pub fn warning(&self, text: &str) {
        eprintln!("{} {text}", self.stderr.warning("warning:"));
    }

    /// An error with an optional hint after a blank line: stderr.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        let mut text = format!("{} {message}", self.stderr.error("error:"));
        if let Some(hint) = hint {
            text.push_str(&format!("\n\n{} {hint}", self.stderr.hint("hint:")));
        }
        eprintln!("{text}");
    }

    /// A block already rendered for stderr (diagnostics).
    pub fn error_block(&self, text: &str) {
        eprint!("{text}");
    }

    /// Asks a question on stderr and reads one line from stdin.
    pub fn ask(&self, question: &str) -> Option<String> {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
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
    /// Data for stdout.
    fn data(&mut self, text: &str);
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

/// Messages kept in order, to be printed at once with [`Buffer::print`].
#[derive(Debug)]
pub struct Buffer {
    out: Output,
    events: Vec<Event>,
}

#[derive(Debug)]
enum Event {
    Data(String),
    Status(String),
    Warning(String),
    Error(String, Option<String>),
    Block(String),
}

impl Buffer {
    pub fn new(out: Output) -> Buffer {
        Buffer { out, events: Vec::new() }
    }

    /// Prints every message, in the order they came.
    pub fn print(self) {
        for event in self.events {
            match event {
                Event::Data(text) => self.out.data(&text),
                Event::Status(text) => self.out.status(&text),
                Event::Warning(text) => self.out.warning(&text),
                Event::Error(message, hint) => self.out.error(&message, hint.as_deref()),
                Event::Block(text) => self.out.error_block(&text),
            }
        }
    }
}

impl Sink for Buffer {
    fn output(&self) -> Output {
        self.out
    }
    fn data(&mut self, text: &str) {
        self.events.push(Event::Data(text.to_string()));
    }
    fn status(&mut self, text: &str) {
        self.events.push(Event::Status(text.to_string()));
    }
    fn warning(&mut self, text: &str) {
        self.events.push(Event::Warning(text.to_string()));
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.events.push(Event::Error(message.to_string(), hint.map(str::to_string)));
    }
    fn error_block(&mut self, text: &str) {
        self.events.push(Event::Block(text.to_string()));
    }
}
