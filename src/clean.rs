//! The one terminal cleaner: what the tool prints is scrubbed of secrets first ([`crate::redact::scrub`]), then its
//! control characters and invisible formatting characters (bidirectional overrides, zero-width) are written as
//! `\u{...}`, so that no value, file line or server message can rewrite the line it is printed on, recolour the
//! terminal or hide what it is. Diagnostics, plans, server messages and the output streams all use it. Pure text:
//! the output path (`render`) says which colour sequences of its own may pass.

use std::borrow::Cow;

/// What may pass through unescaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// A value on one line: every control character is escaped, line breaks and tabs included.
    Nothing,
    /// A block of lines: line breaks pass.
    Lines,
    /// A block of lines as the tool coloured it: line breaks, and the given colour sequences (the tool's own,
    /// longest first), pass.
    LinesAndColours(&'static [String]),
}

/// Whether a character is written as `\u{...}`.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Scrubs `text`, then escapes what `keep` does not let through.
pub fn clean(text: &str, keep: Keep) -> Cow<'_, str> {
    let scrubbed = crate::redact::scrub(text);
    let needs = |c: char| is_hidden(c) && !(c == '\n' && keep != Keep::Nothing);
    if !scrubbed.chars().any(needs) {
        return scrubbed;
    }
    let colours = if let Keep::LinesAndColours(sequences) = keep { sequences } else { &[] };
    let mut out = String::with_capacity(scrubbed.len() + 16);
    let mut rest: &str = &scrubbed;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            if let Some(seq) = colours.iter().find(|s| rest.starts_with(s.as_str())) {
                out.push_str(seq);
                rest = &rest[seq.len()..];
                continue;
            }
        }
        if needs(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// A value for one line: [`clean`] with nothing kept.
pub fn printable(text: &str) -> Cow<'_, str> {
    clean(text, Keep::Nothing)
}

/// Cuts a text to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped() {
        assert_eq!(
            printable("a\u{1b}[31mb\nc\u{202e}d\u{7f}\t"),
            "a\\u{001b}[31mb\\u{000a}c\\u{202e}d\\u{007f}\\u{0009}"
        );
        assert_eq!(printable("Ça va: 日本"), "Ça va: 日本");
        assert_eq!(clean("a\nb\u{0}", Keep::Lines), "a\nb\\u{0000}");
    }

    #[test]
    fn only_the_given_colours_pass() {
        let red = "\u{1b}[31mx\u{1b}[0m".to_string();
        let sequences: &'static [String] = Box::leak(Box::new(["\u{1b}[31m".to_string(), "\u{1b}[0m".to_string()]));
        let keep = Keep::LinesAndColours(sequences);
        assert_eq!(clean(&red, keep), red);
        assert_eq!(clean("\u{1b}[8mhidden", keep), "\\u{001b}[8mhidden");
        assert_eq!(clean("\u{1b}[2J", keep), "\\u{001b}[2J");
    }

    #[test]
    fn secrets_are_scrubbed_before_cleaning() {
        crate::redact::register("tab\tinside-a-secret");
        assert_eq!(printable("echo: tab\tinside-a-secret"), "echo: [redacted]");
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
