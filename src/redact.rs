//! The process-wide registry of every secret value resolved and every remote prefix read, and the scrubber that
//! checks every byte the tool prints or writes against it ([`scrub`], used by the one output path in `render`, by
//! the terminal cleaner in `clean`, and by `files`). It keeps the pieces it looks for (8-character windows) as plain
//! strings in memory, for the life of the process, and never gives them out.

use std::collections::HashSet;

use secrecy::{ExposeSecret, SecretString};

/// Prefixes and secrets shorter than this are too common to scrub without mangling ordinary words; the rules that
/// keep prefixes out of output never print them in the first place.
const MIN_SCRUB_LEN: usize = 3;

/// A run of this many characters of a secret, found anywhere in a text, is taken for a piece of that secret.
/// Shorter runs would redact ordinary words that happen to occur in a secret.
pub const MIN_FRAGMENT_CHARS: usize = 8;

/// What a scrubbed piece is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Every secret value resolved and every remote prefix read in this process, as the pieces to look for: each
/// [`MIN_FRAGMENT_CHARS`]-character window of a long value, or a short value whole. Process-wide and thread-safe, so
/// that every output path (stdout, stderr, logs, written files) scrubs against everything any task has read.
///
/// Scrubbing costs a few set look-ups per character of the text, whatever the number of secrets: registering adds
/// its windows to hash sets, nothing is rebuilt.
#[derive(Default)]
struct Registry {
    /// Windows of exactly [`MIN_FRAGMENT_CHARS`] characters.
    windows: HashSet<String>,
    /// Values shorter than a window (short remote prefixes), kept whole, matched as words of their own.
    short: HashSet<String>,
    short_lengths: std::collections::BTreeSet<usize>,
    /// Secret values shorter than a window, kept whole, matched anywhere: a whole secret is never ordinary text,
    /// even inside a word (`tokXy7Qz9x` still shows the secret `Xy7Qz9`).
    short_secrets: HashSet<String>,
    short_secret_lengths: std::collections::BTreeSet<usize>,
}

/// How a value shorter than a window is matched.
#[derive(Clone, Copy)]
enum Short {
    /// As a word of its own (a remote prefix: `pliv` inside `plivo` is ordinary text).
    Word,
    /// Anywhere (a resolved secret value).
    Anywhere,
}

static REGISTRY: std::sync::LazyLock<std::sync::RwLock<Registry>> = std::sync::LazyLock::new(Default::default);

fn registry() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// Remembers a secret value (or a remote prefix) so that no output ever shows it or a piece of it, also as JSON
/// writes it (quotes, backslashes and control characters escaped), for the JSON documents and saved plans.
pub fn register(value: &str) {
    register_as(value, Short::Word);
}

fn register_as(value: &str, short: Short) {
    if let Ok(quoted) = serde_json::to_string(value) {
        let escaped = &quoted[1..quoted.len() - 1];
        if escaped != value {
            register_raw(escaped, short);
        }
    }
    register_raw(value, short);
}

fn register_raw(value: &str, short: Short) {
    let chars: Vec<(usize, char)> = value.char_indices().collect();
    if chars.len() < MIN_SCRUB_LEN {
        return;
    }
    let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if chars.len() < MIN_FRAGMENT_CHARS {
        match short {
            Short::Word => {
                reg.short_lengths.insert(chars.len());
                reg.short.insert(value.to_string());
            }
            Short::Anywhere => {
                reg.short_secret_lengths.insert(chars.len());
                reg.short_secrets.insert(value.to_string());
            }
        }
        return;
    }
    for start in 0..=chars.len() - MIN_FRAGMENT_CHARS {
        let from = chars[start].0;
        let to = chars.get(start + MIN_FRAGMENT_CHARS).map_or(value.len(), |c| c.0);
        reg.windows.insert(value[from..to].to_string());
    }
}

/// [`register`] for a secret held in a [`SecretString`]; a secret shorter than a window is scrubbed wherever it
/// occurs, not only as a word of its own.
pub fn register_secret(value: &SecretString) {
    register_as(value.expose_secret(), Short::Anywhere);
}

/// The text with every registered secret, every piece of [`MIN_FRAGMENT_CHARS`]+ characters of one, and every
/// registered prefix replaced by [`REDACTED`] (a run of hidden characters becomes one marker).
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    let reg = registry();
    if reg.windows.is_empty() && reg.short.is_empty() && reg.short_secrets.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    // Byte offsets of every character, and the end.
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let n = bounds.len() - 1;
    let mut hidden = vec![false; n];
    let mut any = false;
    for start in 0..n {
        if start + MIN_FRAGMENT_CHARS <= n
            && reg.windows.contains(&text[bounds[start]..bounds[start + MIN_FRAGMENT_CHARS]])
        {
            hidden[start..start + MIN_FRAGMENT_CHARS].iter_mut().for_each(|h| *h = true);
            any = true;
        }
        // A short value (a 4-character prefix) is scrubbed only as a word of its own: inside a word ("pliv" in
        // "plivo") it is ordinary text, and hiding it would garble every plan.
        let alnum_at = |i: usize| text[bounds[i]..bounds[i + 1]].chars().all(char::is_alphanumeric);
        for &len in &reg.short_lengths {
            if start + len <= n
                && !(start > 0 && alnum_at(start - 1))
                && !(start + len < n && alnum_at(start + len))
                && reg.short.contains(&text[bounds[start]..bounds[start + len]])
            {
                hidden[start..start + len].iter_mut().for_each(|h| *h = true);
                any = true;
            }
        }
        for &len in &reg.short_secret_lengths {
            if start + len <= n && reg.short_secrets.contains(&text[bounds[start]..bounds[start + len]]) {
                hidden[start..start + len].iter_mut().for_each(|h| *h = true);
                any = true;
            }
        }
    }
    if !any {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for (i, hide) in hidden.iter().enumerate() {
        match (hide, in_run) {
            (true, false) => {
                out.push_str(REDACTED);
                in_run = true;
            }
            (true, true) => {}
            (false, _) => {
                out.push_str(&text[bounds[i]..bounds[i + 1]]);
                in_run = false;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubber_hides_fragments_of_eight_characters_or_more() {
        register("twtok-secret-123");
        assert_eq!(scrub("a token starting twtok-se was refused"), "a token starting [redacted] was refused");
        assert_eq!(scrub("ends ecret-123."), "ends [redacted].");
        assert_eq!(scrub("twtok-s is short enough to stay"), "twtok-s is short enough to stay");
    }

    #[test]
    fn short_values_are_scrubbed_whole_and_runs_merge() {
        register("qzv");
        register("Ωmega-unicode-secret");
        assert_eq!(scrub("token qzv and Ωmega-unicode-secretqzv x"), "token [redacted] and [redacted]qzv x");
        assert_eq!(scrub("(qzv)"), "([redacted])");
        assert_eq!(scrub("qz qzvw"), "qz qzvw");
    }

    #[test]
    fn a_short_secret_is_scrubbed_inside_a_word_but_a_short_prefix_is_not() {
        register_secret(&SecretString::from("Jq5Wv2"));
        register("Pk7z");
        assert_eq!(scrub("token=Jq5Wv2; tokJq5Wv2x"), "token=[redacted]; tok[redacted]x");
        assert_eq!(scrub("Pk7z and xPk7zy"), "[redacted] and xPk7zy");
    }

    #[test]
    fn thousands_of_secrets_are_all_recognised() {
        // As with 1,000 files of four secrets each: registering adds windows, scrubbing stays a few set look-ups
        // per character of the text.
        let secrets: Vec<String> = (0..4000).map(|i| format!("bulkZ{i:05}Qv7wXk")).collect();
        std::thread::scope(|scope| {
            for chunk in secrets.chunks(1000) {
                scope.spawn(move || chunk.iter().for_each(|s| register(s)));
            }
        });
        let text: String = secrets.iter().step_by(397).map(|s| format!("<{s}> ")).collect();
        let scrubbed = scrub(&text);
        assert_eq!(scrubbed.matches("[redacted]").count(), secrets.iter().step_by(397).count(), "{scrubbed}");
        assert!(!scrubbed.contains("bulkZ"), "{scrubbed}");
    }

    #[test]
    fn a_secret_with_a_newline_is_recognised_raw() {
        register("line-one\nline-two-rest");
        assert_eq!(scrub("got line-one\nline-two-rest!"), "got [redacted]!");
    }
}
