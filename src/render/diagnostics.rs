//! File problems shown in the manner of cargo-deny: `file:line:col`, the field path, the source line with a caret,
//! and a hint. A source line that holds a secret field's literal value is shown with the value masked.

use crate::config::{ConfigError, Diagnostic};
use crate::render::Palette;

/// Keys whose values are secrets; a literal next to them is never echoed.
const SECRET_KEYS: [&str; 3] = ["authToken", "apiKey", "publicKey"];

pub fn render(error: &ConfigError, palette: Palette) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = error.source_text.lines().collect();
    for d in &error.diagnostics {
        out.push_str(&render_one(&error.file.display().to_string(), &lines, d, palette));
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

fn render_one(file: &str, lines: &[&str], d: &Diagnostic, palette: Palette) -> String {
    let mut out = String::new();
    let location = match d.loc {
        Some(loc) => format!("{file}:{}:{}", loc.line, loc.column),
        None => file.to_string(),
    };
    let subject = if d.path.is_empty() { String::new() } else { format!("{}: ", d.path) };
    out.push_str(&format!("{} {}{}\n", palette.error("error:"), subject, d.message));
    out.push_str(&format!("  {} {location}\n", palette.dim("-->")));
    if let Some(loc) = d.loc {
        if let Some(source) = lines.get((loc.line as usize).wrapping_sub(1)) {
            let number = loc.line.to_string();
            let pad = " ".repeat(number.len());
            let shown = mask_secret_literal(source);
            out.push_str(&format!("  {pad} {}\n", palette.dim("|")));
            out.push_str(&format!("  {} {} {}\n", palette.dim(&number), palette.dim("|"), shown));
            let caret_col = (loc.column as usize).saturating_sub(1).min(shown.chars().count());
            out.push_str(&format!("  {pad} {} {}{}\n", palette.dim("|"), " ".repeat(caret_col), palette.error("^")));
        }
    }
    if let Some(hint) = &d.hint {
        out.push_str(&format!("  {} {hint}\n", palette.hint("hint:")));
    }
    out
}

/// `authToken: s3cr3t` becomes `authToken: ********`, in block or flow style; references (`{ env: X }`) and
/// other fields are kept as written.
pub fn mask_secret_literal(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for key in SECRET_KEYS {
            for quote in ["", "\"", "'"] {
                let pattern = format!("{quote}{key}{quote}:");
                let at_boundary = out.is_empty() || out.ends_with(|c: char| c.is_whitespace() || c == '{' || c == ',');
                if at_boundary && rest.starts_with(&pattern) {
                    out.push_str(&pattern);
                    let after = &rest[pattern.len()..];
                    let value = after.trim_start();
                    if value.is_empty() || value.starts_with(['{', '#', '&', '*']) {
                        rest = after;
                        continue 'scan;
                    }
                    let end = value.find([',', '}', '#']).unwrap_or(value.len());
                    out.push_str(" ********");
                    if end < value.len() {
                        out.push_str(if value[end..].starts_with('#') { " " } else { "" });
                    }
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
        assert_eq!(
            mask_secret_literal("twilio: { accountSid: a, authToken: s3, x: 1 }"),
            "twilio: { accountSid: a, authToken: ********, x: 1 }"
        );
        assert_eq!(mask_secret_literal("  authToken: { env: X }"), "  authToken: { env: X }");
        assert_eq!(mask_secret_literal("  accountSid: AC1"), "  accountSid: AC1");
    }
}
