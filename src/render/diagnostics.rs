//! File problems shown in the manner of cargo-deny: `error[CODE]` (the problem's stable code), the field path and
//! message, `file:line:col`, the source line with a caret, and a hint.
//!
//! A source line never shows a literal secret: the validator marks where literal secrets (and values of unknown keys,
//! which may be misspelt secret fields) stand, and those ranges are masked; for files that do not parse, a line
//! holding a secret field's literal value is masked by its shape. A line, path, message or hint that holds a secret
//! the run resolved is not shown at all ([`crate::redact::HIDDEN`] stands in its place).

use crate::config::node::ByteSpan;
use crate::config::{ConfigError, Diagnostic};
use crate::render::Palette;

const MASK: &str = "********";

pub fn render(error: &ConfigError, palette: Palette) -> String {
    let mut out = String::new();
    let source = Source::new(&error.source_text, &error.sensitive);
    for d in &error.diagnostics {
        out.push_str(&render_one(&error.file.display().to_string(), &source, d, palette));
        out.push('\n');
    }
    let n = error.diagnostics.len();
    out.push_str(&format!(
        "{} {} found in {}; nothing was sent\n",
        palette.error("error:"),
        if n == 1 { "1 problem".to_string() } else { format!("{n} problems") },
        error.file.display()
    ));
    out
}

/// The file's lines, with their byte ranges, and the ranges to mask.
struct Source<'a> {
    text: &'a str,
    lines: Vec<(usize, usize)>,
    sensitive: &'a [ByteSpan],
}

impl<'a> Source<'a> {
    fn new(text: &'a str, sensitive: &'a [ByteSpan]) -> Source<'a> {
        // YAML breaks lines at `\n`, `\r\n` and a lone `\r`.
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    lines.push((start, i));
                    start = i + 1;
                }
                b'\r' => {
                    lines.push((start, i));
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        if start < bytes.len() {
            lines.push((start, bytes.len()));
        }
        Source { text, lines, sensitive }
    }

    /// Line `number` (1-based) as it may be shown: secrets masked, tabs as single spaces (so the caret lines up), no
    /// byte-order mark.
    fn shown_line(&self, number: u64) -> Option<String> {
        let &(start, end) = self.lines.get((number as usize).checked_sub(1)?)?;
        let mut masked = String::new();
        let mut at = start;
        let mut spans: Vec<(usize, usize)> = self
            .sensitive
            .iter()
            .map(|s| (s.start, s.start + s.len))
            .filter(|&(s, e)| s < end && e > start)
            .map(|(s, e)| (s.max(start), e.min(end)))
            // Keep a continuation line's indentation.
            .map(|(s, e)| {
                let indent = self.text.get(s..e).map_or(0, |t| t.len() - t.trim_start_matches([' ', '\t']).len());
                (s + indent, e)
            })
            .filter(|(s, e)| s < e)
            .collect();
        spans.sort_unstable();
        // Ranges that overlap or touch (a list's bracket, then its item; a mapping, then a value merged from inside
        // it) read as one masked value.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        for (s, e) in merged {
            if at >= end {
                break;
            }
            match (self.text.get(at..s), self.text.get(s..e)) {
                (Some(before), Some(_)) => {
                    masked.push_str(before);
                    masked.push_str(MASK);
                    at = e;
                }
                // Not on a character boundary: mask the rest of the line rather than risk showing part of a value.
                _ => {
                    masked.push_str(self.text.get(at..s.min(end)).unwrap_or(""));
                    masked.push_str(MASK);
                    at = end;
                }
            }
        }
        masked.push_str(self.text.get(at..end).unwrap_or(""));
        let shown = mask_secret_literal(&masked).replace('\t', " ");
        // A line that still holds a resolved secret (another file's, pasted here as a value) is not shown at all.
        Some(crate::redact::shown(shown.trim_start_matches('\u{feff}')).into_owned())
    }
}

fn render_one(file: &str, source: &Source<'_>, d: &Diagnostic, palette: Palette) -> String {
    let mut out = String::new();
    let location = match d.loc {
        Some(loc) => format!("{file}:{}:{}", loc.line, loc.column),
        None => file.to_string(),
    };
    let subject = if d.path.is_empty() { String::new() } else { format!("{}: ", d.shown_path()) };
    out.push_str(&format!("{} {}{}\n", palette.error(&format!("error[{}]:", d.code)), subject, d.shown_message()));
    out.push_str(&format!("  {} {location}\n", palette.dim("-->")));
    if let Some(loc) = d.loc
        && let Some(shown) = source.shown_line(loc.line)
    {
        let number = loc.line.to_string();
        let pad = " ".repeat(number.len());
        out.push_str(&format!("  {pad} {}\n", palette.dim("|")));
        out.push_str(&format!("  {} {} {}\n", palette.dim(&number), palette.dim("|"), shown));
        let caret_col = (loc.column as usize).saturating_sub(1).min(shown.chars().count());
        out.push_str(&format!("  {pad} {} {}{}\n", palette.dim("|"), " ".repeat(caret_col), palette.error("^")));
    }
    if let Some(hint) = d.shown_hint() {
        out.push_str(&format!("  {} {hint}\n", palette.hint("hint:")));
    }
    out
}

/// `authToken: s3cr3t` becomes `authToken: ********`, in block or flow style, with an anchor or spaces before the
/// colon; references (`{ env: X }`), aliases and other fields are kept as written. For lines of files that do not
/// parse; parsed files are masked by the validator's ranges.
pub fn mask_secret_literal(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        let at_boundary = out.is_empty() || out.ends_with(|c: char| c.is_whitespace() || c == '{' || c == ',');
        if at_boundary {
            for key in crate::provider::secret_field_names() {
                for quote in ["", "\"", "'"] {
                    let quoted = format!("{quote}{key}{quote}");
                    let Some(after_key) = rest.strip_prefix(&quoted) else { continue };
                    let after_space = after_key.trim_start_matches([' ', '\t']);
                    let Some(after_colon) = after_space.strip_prefix(':') else { continue };
                    let in_flow = out.contains('{');
                    let mut value = after_colon.trim_start();
                    let mut kept = &rest[..rest.len() - value.len()];
                    if let Some(anchored) = value.strip_prefix('&') {
                        let name_end = anchored.find(char::is_whitespace).unwrap_or(anchored.len());
                        let after_anchor = anchored[name_end..].trim_start();
                        kept = &rest[..rest.len() - after_anchor.len()];
                        value = after_anchor;
                    }
                    out.push_str(kept);
                    if value.is_empty()
                        || value.starts_with(['{', '#', '*', '|', '>'])
                        || value == "~"
                        || value == "null"
                    {
                        rest = value;
                        continue 'scan;
                    }
                    let end = if in_flow {
                        value.find([',', '}']).unwrap_or(value.len())
                    } else {
                        value.find(" #").unwrap_or(value.len())
                    };
                    if !kept.ends_with(' ') {
                        out.push(' ');
                    }
                    out.push_str(MASK);
                    rest = &value[end..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_literal_secrets_only() {
        assert_eq!(mask_secret_literal("  authToken: abc123"), "  authToken: ********");
        assert_eq!(mask_secret_literal("  apiKey: \"k\" # c"), "  apiKey: ******** # c");
        assert_eq!(mask_secret_literal("  authToken: abc,def"), "  authToken: ********");
        assert_eq!(
            mask_secret_literal("twilio: { accountSid: a, authToken: s3, x: 1 }"),
            "twilio: { accountSid: a, authToken: ********, x: 1 }"
        );
        assert_eq!(mask_secret_literal("  authToken : s3cret"), "  authToken : ********");
        assert_eq!(mask_secret_literal("  authToken: &shared s3cret"), "  authToken: &shared ********");
        assert_eq!(mask_secret_literal("  authToken: { env: X }"), "  authToken: { env: X }");
        assert_eq!(mask_secret_literal("  authToken: *shared"), "  authToken: *shared");
        assert_eq!(mask_secret_literal("  authToken: ~"), "  authToken: ~");
        assert_eq!(mask_secret_literal("  accountSid: AC1"), "  accountSid: AC1");
    }

    #[test]
    fn overlapping_ranges_are_masked_as_one() {
        let text = "k: [abcdef, ghijkl]";
        let span = |from: &str, to: &str| {
            let start = text.find(from).unwrap();
            ByteSpan { start, len: text.find(to).unwrap() + to.len() - start }
        };
        let spans = [span("[", "ef"), span("cd", "gh"), span("ghijkl", "]")];
        assert_eq!(Source::new(text, &spans).shown_line(1).unwrap(), "k: ********");
    }

    #[test]
    fn sensitive_ranges_are_masked_across_lines() {
        let text = "a: 1\nk: |\n  line-one\n  line-two\nb: 2\n";
        let start = text.find("line-one").unwrap();
        let len = text.find("b: 2").unwrap() - start;
        let spans = [ByteSpan { start, len }];
        let source = Source::new(text, &spans);
        assert_eq!(source.shown_line(1).unwrap(), "a: 1");
        assert_eq!(source.shown_line(3).unwrap(), "  ********");
        assert_eq!(source.shown_line(4).unwrap(), "  ********");
        assert_eq!(source.shown_line(5).unwrap(), "b: 2");
        assert_eq!(Source::new("\tx: 1\n", &[]).shown_line(1).unwrap(), " x: 1");
        let mixed = Source::new("a: 1\rb: 2\r\nc: 3\nd: 4", &[]);
        let shown: Vec<String> = (1..=4).filter_map(|n| mixed.shown_line(n)).collect();
        assert_eq!(shown, vec!["a: 1", "b: 2", "c: 3", "d: 4"]);
    }
}
