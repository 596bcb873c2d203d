//! A YAML document as a tree of located nodes.
//!
//! `serde-saphyr` parses the text (rejecting duplicate keys and malformed YAML with a location); this module keeps
//! every node's line and column so that validation can report *all* problems, each at its place, instead of stopping
//! at the first one as a derived `Deserialize` would.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based position in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

impl Loc {
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub kind: NodeKind,
}

/// What a node holds. Scalars keep the type YAML's core schema gave them.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub loc: Loc,
    pub name: String,
}

impl NodeKind {
    /// What the node is, in words, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            NodeKind::Null => "nothing (null)",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "a number",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

fn loc_of<T>(spanned: &Spanned<T>) -> Loc {
    Loc { line: spanned.referenced.line(), column: spanned.referenced.column() }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKind>::deserialize(deserializer)?;
        Ok(Node { loc: loc_of(&spanned), kind: spanned.value })
    }
}

impl<'de> Deserialize<'de> for NodeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Mapping keys are read as text whatever their YAML type (`1:` or `true:` as a key is still a name we can report).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NodeKind::deserialize(deserializer)? {
            NodeKind::Str(s) => Ok(KeyText(s)),
            NodeKind::Int(i) => Ok(KeyText(i.to_string())),
            NodeKind::Float(f) => Ok(KeyText(f.to_string())),
            NodeKind::Bool(b) => Ok(KeyText(b.to_string())),
            NodeKind::Null => Ok(KeyText("null".to_string())),
            other => Err(de::Error::custom(format!("a mapping key must be a plain name, found {}", other.describe()))),
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        NodeKind::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeKind, E> {
        i128::try_from(v).map(NodeKind::Int).or(Ok(NodeKind::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<NodeKind, E> {
        Err(E::custom("binary values are not supported here"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((Key { loc: loc_of(&key), name: key.value.0 }, value));
        }
        Ok(NodeKind::Map(entries))
    }
}

/// Why the text is not a YAML document we can read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseFailure {
    pub loc: Option<Loc>,
    pub message: String,
}

/// Parses one YAML document. Duplicate keys, aliases that blow up, several documents, and invalid YAML are refused.
pub fn parse(text: &str) -> Result<Option<Node>, ParseFailure> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
    };
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(node) => Ok(node),
        Err(err) => {
            let loc = err.location().map(|l| Loc { line: l.line(), column: l.column() }).filter(Loc::is_known);
            let message = err.without_snippet().to_string();
            Err(ParseFailure { loc, message: strip_location_suffix(&message) })
        }
    }
}

/// serde-saphyr appends " at line X column Y" to some messages; we print the location ourselves.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    match first_line.rfind(" at line ") {
        Some(idx) => first_line[..idx].to_string(),
        None => first_line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &Vec<(Key, Node)> {
        match &node.kind {
            NodeKind::Map(m) => m,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    #[test]
    fn keeps_locations_of_keys_and_values() {
        let node = parse("twilio:\n  accountSid: AC1\n  list:\n    - a\n").unwrap().unwrap();
        let top = map(&node);
        assert_eq!(top[0].0.name, "twilio");
        assert_eq!(top[0].0.loc, Loc { line: 1, column: 1 });
        let twilio = map(&top[0].1);
        assert_eq!(twilio[0].0.loc, Loc { line: 2, column: 3 });
        assert_eq!(twilio[0].1.loc, Loc { line: 2, column: 15 });
        assert_eq!(twilio[0].1.kind, NodeKind::Str("AC1".into()));
        match &twilio[1].1.kind {
            NodeKind::Seq(items) => assert_eq!(items[0].loc, Loc { line: 4, column: 7 }),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_value_is_null_not_empty_string() {
        let node = parse("authToken:\n").unwrap().unwrap();
        assert_eq!(map(&node)[0].1.kind, NodeKind::Null);
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_location() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.to_lowercase().contains("duplicate"), "{err:?}");
        assert_eq!(err.loc.map(|l| l.line), Some(3));
    }

    #[test]
    fn nested_duplicate_keys_are_refused() {
        let err = parse("twilio:\n  accountSid: a\n  accountSid: b\n").unwrap_err();
        assert_eq!(err.loc.map(|l| l.line), Some(3), "{err:?}");
    }

    #[test]
    fn malformed_yaml_is_located() {
        let err = parse("twilio: [1, 2\n").unwrap_err();
        assert!(err.loc.is_some(), "{err:?}");
    }

    #[test]
    fn empty_text_is_no_document() {
        assert_eq!(parse("  \n# only a comment\n").unwrap_or(None), None);
    }
}
