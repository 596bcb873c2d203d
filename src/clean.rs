//! The one terminal cleaner: in text meant for a terminal (text plans, messages, logs), control characters and
//! invisible ones (format characters such as bidirectional controls and zero-width ones, the line and paragraph
//! separators, fillers and variation selectors: see [`is_hidden`]) are written as `\u{...}`, so that no value,
//! file line or server message can rewrite the line it is printed on, recolour the terminal or hide what it is. Pure
//! text, and never applied to a finished document (JSON escapes them in its serialiser, `import` quotes them in YAML,
//! Markdown escapes them in its values): the output path (`render`) says which colour sequences of its own may pass.

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

/// Whether a character is written as `\u{...}` in text for a terminal (and escaped in every document): a control
/// character, a format character (Unicode's `Cf`: zero-width, bidirectional controls and marks, the soft hyphen,
/// tag characters that can carry hidden text), the line and paragraph separators, and the other default-ignorable
/// code points a terminal shows as nothing (fillers, variation selectors).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// Escapes what `keep` does not let through.
pub fn clean(text: &str, keep: Keep) -> Cow<'_, str> {
    let needs = |c: char| is_hidden(c) && !(c == '\n' && keep != Keep::Nothing);
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let colours = if let Keep::LinesAndColours(sequences) = keep { sequences } else { &[] };
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest: &str = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(seq) = colours.iter().find(|s| rest.starts_with(s.as_str()))
        {
            out.push_str(seq);
            rest = &rest[seq.len()..];
            continue;
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

/// A value as pretty-printed JSON, every control or invisible character in its strings written as a `\uXXXX` escape
/// (the serialiser escapes only those below U+0020): a JSON document or saved plan holds none, reads back to the same
/// values, and can be printed on a terminal as it is.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, Escaping(serde_json::ser::PrettyFormatter::new()));
    value.serialize(&mut serializer)?;
    // The serialiser writes only what it was given, as UTF-8.
    Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// serde_json's pretty formatter, with [`is_hidden`] characters escaped in strings.
struct Escaping<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for Escaping<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(is_hidden) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or(' ');
            // One `\uXXXX` each, or a surrogate pair for a character past the Basic Multilingual Plane (a tag).
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{:04x}", unit)?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
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
    fn json_escapes_every_hidden_character_and_reads_back() {
        let value = serde_json::json!({"k\u{85}": ["a\u{200b}b\u{202e}c\u{7f}\u{1b}\n\"\\é🎉"]});
        let text = to_json_pretty(&value).unwrap();
        assert!(!text.chars().any(|c| is_hidden(c) && c != '\n'), "{text}");
        assert!(text.contains(r#""a\u200bb\u202ec\u007f\u001b\n\"\\é🎉""#), "{text}");
        assert!(text.contains(r#""k\u0085""#), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
        assert_eq!(
            to_json_pretty(&serde_json::json!({"a": [1]})).unwrap(),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1]})).unwrap()
        );
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
