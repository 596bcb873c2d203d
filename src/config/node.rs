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

/// A range of the source text, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteSpan {
    pub start: usize,
    pub len: usize,
}

/// One YAML node and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub kind: NodeKind,
    /// Where the node's text is (for an alias: the alias itself; for a value a merge key (`<<`) brought in from a flow
    /// mapping: that whole mapping). A flow list or mapping covers its whole text, brackets included; a block one is
    /// empty, at its start.
    pub span: ByteSpan,
    /// Where its value is defined (for an alias: the anchored node; otherwise the same as `span`).
    pub defined: ByteSpan,
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

fn byte_span(location: &serde_saphyr::Location) -> ByteSpan {
    let span = location.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(start), Some(len)) => ByteSpan { start: start as usize, len: len as usize },
        _ => ByteSpan::default(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKind>::deserialize(deserializer)?;
        Ok(Node {
            loc: loc_of(&spanned),
            span: byte_span(&spanned.referenced),
            defined: byte_span(&spanned.defined),
            kind: spanned.value,
        })
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
    pub hint: Option<String>,
}

/// Parses one YAML document. Several documents, aliases that blow up, and invalid YAML are refused. Duplicate keys
/// are passed through, so that validation reports them with both places and goes on to find the other problems.
/// Booleans are YAML 1.2's only (`yes` stays a string), and numbers with leading zeros stay strings.
pub fn parse(text: &str) -> Result<Option<Node>, ParseFailure> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
        budget: Some(budget()),
        alias_limits: alias_limits(),
    };
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(mut node) => {
            refuse_tags(text)?;
            if let Some(node) = &mut node {
                widen_flow_spans(node, &flow_extents(text));
            }
            Ok(node)
        }
        Err(err) => Err(failure(text, &err)),
    }
}

/// Where each flow list and flow mapping of the text ends (just past its closing bracket), by the byte of its opening
/// bracket.
fn flow_extents(text: &str) -> std::collections::HashMap<usize, usize> {
    use serde_saphyr::granit_parser::{Event, Parser, StructureStyle};
    let mut extents = std::collections::HashMap::new();
    // The start of each open collection; `None` for a block one.
    let mut open: Vec<Option<usize>> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        match event {
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                open.push(span.start.byte_offset().filter(|_| style == StructureStyle::Flow));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let (Some(Some(start)), Some(end)) = (open.pop(), span.end.byte_offset()) {
                    extents.insert(start, end);
                }
            }
            _ => {}
        }
    }
    extents
}

/// The parser locates a flow list or mapping at its opening bracket alone, and a value a merge key brought in at the
/// opening bracket of the mapping it came from: each such span is widened to the whole bracketed text, so that masking
/// a node masks all of it (the merged mapping's own entries too, even those the merge overrode) and never the bracket
/// alone. Block collections keep their empty span: their entries are masked one by one, their keys left in view.
fn widen_flow_spans(node: &mut Node, extents: &std::collections::HashMap<usize, usize>) {
    for span in [&mut node.span, &mut node.defined] {
        if span.len == 1
            && let Some(&end) = extents.get(&span.start)
        {
            span.len = end.saturating_sub(span.start).max(1);
        }
    }
    match &mut node.kind {
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| widen_flow_spans(n, extents)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(_, n)| widen_flow_spans(n, extents)),
        _ => {}
    }
}

/// The YAML core schema's tags, which only say what YAML already infers (or force a string): accepted. `!!merge`
/// is the explicit spelling of a merge key (`<<`), which is supported.
const ACCEPTED_TAGS: [&str; 8] = ["str", "int", "float", "bool", "null", "seq", "map", "merge"];

/// Refuses every other explicit tag, at its place: `!!binary` (serde-saphyr would decode it silently, so a value
/// would not be what the file shows) and custom tags such as `!secret` or `!env` (which the tool does not
/// interpret, so they would be ignored silently).
fn refuse_tags(text: &str) -> Result<(), ParseFailure> {
    use serde_saphyr::granit_parser::{Event, Parser};
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { return Ok(()) };
        let tag = match &event {
            Event::Scalar(_, _, _, tag) | Event::SequenceStart(_, _, tag) | Event::MappingStart(_, _, tag) => tag,
            _ => continue,
        };
        let Some(tag) = tag else { continue };
        if tag.is_yaml_core_schema() && ACCEPTED_TAGS.iter().any(|s| tag.is_yaml_core_schema_tag(s)) {
            continue;
        }
        let marker = span.tag_start.unwrap_or(span.start);
        let written = tag.original();
        let binary = tag.suffix_in_namespace("tag:yaml.org,2002:").is_some_and(|s| s == "binary");
        return Err(ParseFailure {
            loc: Some(Loc { line: marker.line() as u64, column: marker.col() as u64 + 1 }),
            message: if binary {
                format!("`{written}` values are not accepted: a value must be written as the text it is")
            } else {
                format!("the tag `{written}` is not supported: reconcile gives no meaning to custom tags")
            },
            hint: Some(if binary {
                "write the value as plain text, and a secret as a reference (`{ env: NAME }` or `{ file: PATH }`)"
                    .into()
            } else {
                "remove the tag; a secret is written as a reference: `{ env: NAME }` or `{ file: PATH }`".into()
            }),
        });
    }
    Ok(())
}

fn failure(text: &str, err: &serde_saphyr::Error) -> ParseFailure {
    let mut loc = err.location().map(|l| Loc { line: l.line(), column: l.column() }).filter(Loc::is_known);
    let raw = strip_location_suffix(&err.without_snippet().to_string());
    if matches!(err.without_snippet(), serde_saphyr::Error::MultipleDocuments { .. })
        || raw.contains("from_str_multiple")
    {
        loc = second_document_marker(text).or(loc);
        return ParseFailure {
            loc,
            message: "the file holds more than one YAML document".into(),
            hint: Some("a telephony.yaml is one document: remove the `---` line, and merge what follows it".into()),
        };
    }
    if let Some(limit) = Limit::breached(err, &raw) {
        // The parser's limits, in its own words (`budget breached: Depth { depth: 17 }`), are no help to a reader.
        let (message, hint) = match limit {
            Limit::Depth => (
                format!("the file nests more than {MAX_DEPTH} levels deep"),
                "a telephony.yaml nests four levels at most (provider, field, then a reference, list or mapping); \
                 check the indentation and the brackets here"
                    .to_string(),
            ),
            Limit::Size if uses_aliases(text) => (
                "the file is too large once its aliases (`*name`) are expanded".to_string(),
                format!(
                    "an alias repeats everything under its anchor, so aliases of aliases multiply; reconcile reads at \
                     most {MAX_VALUES} values, aliases expanded (a telephony.yaml needs about a thousand at most): write \
                     the values out, or alias only what is repeated"
                ),
            ),
            Limit::Size => (
                format!("the file holds more than {MAX_VALUES} values"),
                "a telephony.yaml needs about a thousand values at most (100 agent IDs per provider); check that this \
                 is the file you meant"
                    .to_string(),
            ),
        };
        return ParseFailure { loc, message, hint: Some(hint) };
    }
    let line_text = loc.and_then(|l| text.lines().nth((l.line as usize).saturating_sub(1))).unwrap_or("");
    let hint = if line_text.contains('\t') || text.lines().any(|l| l.starts_with('\t')) {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else if raw.to_lowercase().contains("anchor") || raw.to_lowercase().contains("alias") {
        "an alias (`*name`) must refer to an anchor (`&name`) defined above it"
    } else {
        "check the indentation, and that quotes and brackets are closed, on this line or the lines above it"
    };
    ParseFailure { loc, message: raw, hint: Some(hint.into()) }
}

/// Where a second document starts: a `---` line after some content.
fn second_document_marker(text: &str) -> Option<Loc> {
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if seen_content {
                return Some(Loc { line: i as u64 + 1, column: 1 });
            }
        } else if !trimmed.trim_start().is_empty() && !trimmed.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    None
}

/// The deepest nesting read. A telephony.yaml needs four levels; the limit also keeps the recursive descent far from
/// the end of a small stack (a debug build on a 1 MiB thread overflows at a few dozen levels).
const MAX_DEPTH: usize = 16;

/// The most values (keys, scalars, lists and mappings, each alias expanded) read from one file. The largest
/// legitimate telephony.yaml (100 agent IDs for each provider, a mapping of every webhook field, the references)
/// holds about a thousand; the parser's own default (250,000, with a million events) let an alias bomb run for a
/// third of a second in a release build, and seconds in a debug one, before it was refused.
const MAX_VALUES: usize = 5_000;

/// The parser's limits, tightened to what a telephony.yaml can need (see [`MAX_VALUES`]), so that a hostile file is
/// refused after a few thousand events rather than a million.
fn budget() -> serde_saphyr::budget::Budget {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_VALUES;
    // Every value is at most two events (a list or mapping starts and ends), plus the document's own.
    budget.max_events = 2 * MAX_VALUES + 16;
    // Copies of events kept for anchors, which an alias of an alias multiplies.
    budget.max_recorded_anchor_events = 2 * MAX_VALUES;
    budget
}

/// Events replayed for aliases, in all: the same bound as the values read.
fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut limits = serde_saphyr::options::AliasLimits::default();
    limits.max_total_replayed_events = 2 * MAX_VALUES;
    limits
}

/// Which of the parser's limits a file passed.
enum Limit {
    /// [`MAX_DEPTH`].
    Depth,
    /// [`MAX_VALUES`], or the events and anchor copies bounded with it.
    Size,
}

impl Limit {
    fn breached(err: &serde_saphyr::Error, raw: &str) -> Option<Limit> {
        use serde_saphyr::Error;
        use serde_saphyr::budget::BudgetBreach;
        let mut err = err;
        while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = err {
            err = error;
        }
        match err {
            Error::Budget { breach: BudgetBreach::Depth { .. }, .. } => Some(Limit::Depth),
            Error::Budget { .. } | Error::AliasReplayLimitExceeded { .. } => Some(Limit::Size),
            // The parser's own guard against deep recursion, below the budget's.
            _ if raw.starts_with("recursion limit exceeded") => Some(Limit::Depth),
            _ => None,
        }
    }
}

/// Whether the text holds an alias (`*name`), read by the parser alone (which does not expand them).
fn uses_aliases(text: &str) -> bool {
    use serde_saphyr::granit_parser::{Event, Parser};
    Parser::new_from_str(text).map_while(Result::ok).any(|(event, _)| matches!(event, Event::Alias(_)))
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
    fn duplicate_keys_are_passed_through_for_validation_to_report() {
        let node = parse("a: 1\nb: 2\na: 3\n").unwrap().unwrap();
        let keys: Vec<(&str, u64)> = map(&node).iter().map(|(k, _)| (k.name.as_str(), k.loc.line)).collect();
        assert_eq!(keys, vec![("a", 1), ("b", 2), ("a", 3)]);
    }

    #[test]
    fn yaml_1_1_booleans_and_leading_zeros_stay_strings() {
        let node = parse("a: yes\nb: 0123\nc: true\n").unwrap().unwrap();
        let kinds: Vec<&NodeKind> = map(&node).iter().map(|(_, v)| &v.kind).collect();
        assert_eq!(kinds, vec![&NodeKind::Str("yes".into()), &NodeKind::Str("0123".into()), &NodeKind::Bool(true)]);
    }

    #[test]
    fn spans_cover_the_value_text() {
        let text = "k: secret-value\n";
        let node = parse(text).unwrap().unwrap();
        let span = map(&node)[0].1.span;
        assert_eq!(&text[span.start..span.start + span.len], "secret-value");
    }

    #[test]
    fn flow_collections_and_merged_values_span_the_whole_collection_they_come_from() {
        let text = "a: {k: 1, <<: {k: hidden, m: 2}}\nb:\n  - x\n  - [y, z]\nc: d\n";
        let node = parse(text).unwrap().unwrap();
        let shown = |span: ByteSpan| &text[span.start..span.start + span.len];
        let a = &map(&node)[0].1;
        assert_eq!(shown(a.span), "{k: 1, <<: {k: hidden, m: 2}}");
        let merged = &map(a)[1];
        assert_eq!((merged.0.name.as_str(), &merged.1.kind), ("m", &NodeKind::Int(2)));
        assert_eq!(shown(merged.1.span), "{k: hidden, m: 2}", "the merged value points at its whole source");
        assert_eq!(shown(merged.1.defined), "2");
        let b = &map(&node)[1].1;
        assert_eq!(shown(b.span), "", "a block list is located at its start");
        match &b.kind {
            NodeKind::Seq(items) => assert_eq!(shown(items[1].span), "[y, z]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn several_documents_are_refused_at_the_separator() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.message, "the file holds more than one YAML document");
        assert_eq!(err.loc, Some(Loc { line: 2, column: 1 }));
    }

    #[test]
    fn malformed_yaml_is_located() {
        let err = parse("twilio: [1, 2\n").unwrap_err();
        assert!(err.loc.is_some(), "{err:?}");
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_in_plain_words() {
        let deep: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        let err = parse(&deep).unwrap_err();
        assert_eq!(err.message, "the file nests more than 16 levels deep");
        assert!(err.loc.is_some(), "{err:?}");
        let flow = format!("twilio: {}{}", "[".repeat(500), "]".repeat(500));
        assert_eq!(parse(&flow).unwrap_err().message, "the file nests more than 16 levels deep");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in "abcdefghi".chars().zip("bcdefghij".chars()) {
            bomb.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{prev}"); 10].join(", ")));
        }
        bomb.push_str("twilio: *j\n");
        let err = parse(&bomb).unwrap_err();
        assert_eq!(err.message, "the file is too large once its aliases (`*name`) are expanded");
        assert!(err.hint.as_deref().is_some_and(|h| h.contains("at most 5000 values")), "{err:?}");
        // Refused at an alias of the fourth level (a few thousand copies), long before the last line.
        let loc = err.loc.expect("located");
        assert!((2..=5).contains(&loc.line), "{err:?}");
    }

    #[test]
    fn a_file_past_the_values_read_is_refused_in_plain_words() {
        let many: String = (0..MAX_VALUES).map(|i| format!("    - {i}\n")).collect();
        let err = parse(&format!("twilio:\n  callCreationAllowedAgentIds:\n{many}")).unwrap_err();
        assert_eq!(err.message, "the file holds more than 5000 values");
        // Located at the first value past the limit: five values (the top mapping, two keys, the provider's
        // mapping, the list) precede the items, which start on line 3.
        assert_eq!(err.loc, Some(Loc { line: (MAX_VALUES - 5 + 3) as u64, column: 7 }), "{err:?}");
        assert!(err.hint.as_deref().is_some_and(|h| h.contains("about a thousand values at most")), "{err:?}");
    }

    #[test]
    fn the_largest_legitimate_file_with_aliases_is_read() {
        // 100 agent IDs per provider (the API's most), the list shared through an anchor and aliases, a mapping
        // shared through a merge key, and every reference: what a real file may hold, at its largest.
        let ids: String = (0..100).map(|i| format!("    - 3c90c3cc-0d44-4b50-8888-{i:012}\n")).collect();
        let mapping: String = (0..50).map(|i| format!("    Field{i}: user.field_{i}\n")).collect();
        let text = format!(
            "version: 1\naccount:\n  apiKey: {{ env: ULTRAVOX_API_KEY }}\ntwilio:\n  accountSid: AC1\n  \
             authToken: {{ env: TWILIO_AUTH_TOKEN }}\n  callCreationAllowedAgentIds: &agents\n{ids}  \
             requestContextMapping: &mapping\n{mapping}telnyx:\n  accountSid: a\n  apiKey: {{ env: K }}\n  \
             publicKey: {{ env: P }}\n  applicationSid: '1'\n  callCreationAllowedAgentIds: *agents\n  \
             requestContextMapping:\n    <<: *mapping\n    To: call.to\nplivo:\n  authId: MA1\n  \
             authToken: {{ file: plivo-token }}\n  callCreationAllowedAgentIds: *agents\n  \
             requestContextMapping: *mapping\n"
        );
        let node = parse(&text).unwrap().unwrap();
        let plivo = &map(&node)[4].1;
        match &map(plivo)[2].1.kind {
            NodeKind::Seq(items) => assert_eq!(items.len(), 100),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_text_is_no_document() {
        assert_eq!(parse("  \n# only a comment\n").unwrap_or(None), None);
    }
}
