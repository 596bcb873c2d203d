//! Secret safety by construction: which values of the run are secret, and how a value is checked before it is placed
//! in anything the tool prints or writes. Nothing here rewrites a finished document: a value is checked on its own,
//! and shown as it is or masked as a whole.
//!
//! - The registry ([`register_secret`]) holds every secret the run resolved (provider secrets, API keys), for the life
//!   of the process, as its [`PIECE_CHARS`]-character pieces. A resolved secret shorter than that is refused where it
//!   is resolved (`config::resolve`), so a piece of that length is always enough to recognise one.
//! - [`holds_secret`]: whether a value holds a secret of the run, whole or a piece of [`PIECE_CHARS`] or more
//!   characters. [`shown`] gives a value as a document may show it: itself, or [`HIDDEN`] in its place. The values a
//!   run compares and sends are never the shown ones.
//! - [`Outside`]: text from outside the tool (a server's message, `sops`'s, a redirect's target) kept as it came and
//!   checked only when it is shown, against every secret known by then; control characters neutralised.
//! - [`without_words`]: server free text cleaned of one account's remote prefixes where they stand as words of their
//!   own. A prefix is never searched for inside data: four characters match groups of agent IDs and words like
//!   `user` or `true`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A run of this many characters of a secret, found anywhere in a value, is taken for a piece of that secret; a
/// resolved secret shorter than this is refused (no credential is that short).
pub const PIECE_CHARS: usize = 8;

/// What a value holding a secret of the run is shown as, in place of the whole value.
pub const HIDDEN: &str = "[hidden: holds part of a secret]";

/// What a remote prefix standing as a word of its own in server free text is shown as.
pub const HIDDEN_PREFIX: &str = "[hidden: a secret's prefix]";

/// Prefixes shorter than this are not looked for even in server free text: one or two characters say nothing of a
/// secret, and hiding them would garble every message.
const MIN_PREFIX_CHARS: usize = 3;

/// Every [`PIECE_CHARS`]-character piece of every secret the process resolved. Process-wide and thread-safe, so that
/// every value shown is checked against everything any task has read; registering adds pieces to a hash set, and a
/// check costs one look-up per character of the value, whatever the number of secrets.
static PIECES: std::sync::LazyLock<std::sync::RwLock<HashSet<String>>> = std::sync::LazyLock::new(Default::default);

/// Remembers a resolved secret (or an API key), so that no value holding it, or a piece of it, is ever shown. A value
/// shorter than [`PIECE_CHARS`] is not remembered: it is refused before it is used.
pub fn register_secret(value: &SecretString) {
    let value = value.expose_secret();
    let chars: Vec<usize> = value.char_indices().map(|(i, _)| i).chain([value.len()]).collect();
    if chars.len() <= PIECE_CHARS {
        return;
    }
    let mut pieces = PIECES.write().unwrap_or_else(|e| e.into_inner());
    for start in 0..chars.len() - PIECE_CHARS {
        pieces.insert(value[chars[start]..chars[start + PIECE_CHARS]].to_string());
    }
}

/// Whether `value` holds a secret of the run: the whole of one, or any piece of [`PIECE_CHARS`] characters.
pub fn holds_secret(value: &str) -> bool {
    let pieces = PIECES.read().unwrap_or_else(|e| e.into_inner());
    if pieces.is_empty() {
        return false;
    }
    let bounds: Vec<usize> = value.char_indices().map(|(i, _)| i).chain([value.len()]).collect();
    bounds.windows(PIECE_CHARS + 1).any(|w| pieces.contains(&value[w[0]..w[PIECE_CHARS]]))
}

/// A value as a document may show it: the value itself, or [`HIDDEN`] when it holds a secret of the run.
pub fn shown(value: &str) -> Cow<'_, str> {
    if holds_secret(value) { Cow::Borrowed(HIDDEN) } else { Cow::Borrowed(value) }
}

/// Whether a value as shown is a mask ([`HIDDEN`], or [`HIDDEN`] numbered, as the keys of one mapping are), not a
/// value: a plan read back from its JSON document shows it as a mask again.
pub fn is_mask(shown: &str) -> bool {
    shown.strip_prefix(HIDDEN).is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix(" (")
                .and_then(|n| n.strip_suffix(')'))
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The `n`th mask of one mapping's keys (counted from 1): keys must stay distinct.
pub fn numbered_mask(n: usize) -> String {
    if n <= 1 { HIDDEN.to_string() } else { format!("{HIDDEN} ({n})") }
}

/// Text from outside the tool (a server's message, `sops`'s first line, a redirect's target), kept as it came. It is
/// checked only when it is shown ([`fmt::Display`], [`fmt::Debug`]), against every secret the run knows by then:
/// shown as [`HIDDEN`] when it holds one, otherwise with its control characters neutralised and cut to its limit.
#[derive(Clone, PartialEq, Eq)]
pub struct Outside {
    text: String,
    max_chars: usize,
}

impl Outside {
    /// A line of outside text, shown at most `max_chars` characters long.
    pub fn line(text: impl Into<String>, max_chars: usize) -> Outside {
        Outside { text: text.into(), max_chars }
    }
}

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Checked whole, before it is cut: a cut could leave less than a piece of a secret.
        if holds_secret(&self.text) {
            return f.write_str(HIDDEN);
        }
        f.write_str(&crate::clean::truncate(&crate::clean::printable(&self.text), self.max_chars))
    }
}

impl fmt::Debug for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Outside({:?})", self.to_string())
    }
}

/// `text` with each of `words` (one account's remote prefixes) that stands as a word of its own (no letter or digit
/// on either side) replaced by [`HIDDEN_PREFIX`]. For server free text only: inside data, a prefix is never looked
/// for. Prefixes shorter than three characters are left alone.
pub fn without_words<'a>(text: &'a str, words: &BTreeSet<String>) -> Cow<'a, str> {
    let words: Vec<Vec<char>> =
        words.iter().map(|w| w.chars().collect::<Vec<char>>()).filter(|w| w.len() >= MIN_PREFIX_CHARS).collect();
    if words.is_empty() {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let alnum_at = |i: usize| chars.get(i).is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let at_start = i == 0 || !alnum_at(i - 1);
        let word = words
            .iter()
            .filter(|w| at_start && chars[i..].starts_with(w) && !alnum_at(i + w.len()))
            .max_by_key(|w| w.len());
        match word {
            Some(w) => {
                out.push_str(HIDDEN_PREFIX);
                i += w.len();
                changed = true;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    if changed { Cow::Owned(out) } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_value_holding_a_secret_or_a_piece_of_eight_is_hidden_whole() {
        register_secret(&secret("twtok-secret-123"));
        assert!(holds_secret("twtok-secret-123"));
        assert!(holds_secret("a token starting twtok-se was refused"));
        assert!(holds_secret("ends ecret-123."));
        assert!(!holds_secret("twtok-s is short enough to stay"));
        assert_eq!(shown("user.twtok-secret-123.x"), HIDDEN);
        assert_eq!(shown("user.phone_number"), "user.phone_number");
    }

    #[test]
    fn a_value_shorter_than_a_piece_is_not_remembered() {
        register_secret(&secret("Jq5Wv2x"));
        assert!(!holds_secret("token=Jq5Wv2x; and more text around it"));
    }

    #[test]
    fn multibyte_secrets_are_recognised() {
        register_secret(&secret("Ωmega-unicode-secret"));
        assert!(holds_secret("xΩmega-unx"));
        assert!(!holds_secret("Ωmega-u"));
    }

    #[test]
    fn thousands_of_secrets_are_all_recognised() {
        // As with 1,000 files of four secrets each: registering adds pieces, checking stays one look-up per character.
        let secrets: Vec<String> = (0..4000).map(|i| format!("bulkZ{i:05}Qv7wXk")).collect();
        std::thread::scope(|scope| {
            for chunk in secrets.chunks(1000) {
                scope.spawn(move || chunk.iter().for_each(|s| register_secret(&secret(s))));
            }
        });
        assert!(secrets.iter().step_by(397).all(|s| holds_secret(&format!("<{s}>"))));
        assert!(!holds_secret("3c90c3cc-0d44-4b50-8888-8dd25736052a"));
    }

    #[test]
    fn outside_text_is_checked_when_shown_and_cut_after() {
        let said = Outside::line("no key for LaTeR-kq9-4411 here", 12);
        assert_eq!(said.to_string(), "no key for L…");
        register_secret(&secret("LaTeR-kq9-4411"));
        assert_eq!(said.to_string(), HIDDEN, "checked against what is known when it is shown");
        assert_eq!(format!("{said:?}"), format!("Outside({HIDDEN:?})"));
        assert_eq!(Outside::line("a\u{1b}[2Jb", 50).to_string(), "a\\u{001b}[2Jb");
    }

    #[test]
    fn prefixes_are_hidden_only_as_words_of_their_own() {
        let words: BTreeSet<String> = ["Pk7z", "ab", "Zx\tQw"].map(str::to_string).into();
        assert_eq!(
            without_words("Pk7z and xPk7zy (Pk7z)", &words),
            format!("{HIDDEN_PREFIX} and xPk7zy ({HIDDEN_PREFIX})")
        );
        assert_eq!(
            without_words("prefix Zx\tQw- does not match", &words),
            format!("prefix {HIDDEN_PREFIX}- does not match")
        );
        assert_eq!(without_words("ab is too short to look for", &words), "ab is too short to look for");
    }

    #[test]
    fn masks_are_recognised_and_numbered() {
        assert!(is_mask(HIDDEN));
        assert!(is_mask(&numbered_mask(2)));
        assert_eq!(numbered_mask(1), HIDDEN);
        assert!(!is_mask(&format!("{HIDDEN} (x)")));
        assert!(!is_mask("user.phone_number"));
    }
}
