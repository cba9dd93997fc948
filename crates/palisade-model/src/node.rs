//! A spanned, JSON-like value tree: every node remembers where it came from.
//!
//! YAML and JSON documents, and objects read from a cluster, all become [`Node`]s, so every
//! engine sees one data model and every finding can point at a file and line.

use std::fmt::Write as _;

/// A 1-based line and 0-based column in a source file. `line == 0` means "no source position"
/// (objects read from a cluster).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const NONE: Pos = Pos { line: 0, col: 0 };
    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

/// One entry of a mapping: its key, where the key is, and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// A value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// The data of a node. Mappings keep their source order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

static NULL_NODE: Node = Node {
    value: Value::Null,
    pos: Pos::NONE,
};

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node { value, pos }
    }

    /// A node with no position.
    pub fn bare(value: Value) -> Self {
        Node {
            value,
            pos: Pos::NONE,
        }
    }

    /// The shared null node, for "absent" results that must still be a `&Node`.
    pub fn null() -> &'static Node {
        &NULL_NODE
    }

    /// The value under `key` if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// The entry (key and value) under `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Follows a dotted path of mapping keys: `node.at(&["spec", "template"])`.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        let mut cur = self;
        for key in path {
            cur = cur.get(key)?;
        }
        Some(cur)
    }

    /// The position of the deepest part of `path` that exists: the key's position when the
    /// last existing step is a mapping key, so a finding about a missing field points at its
    /// nearest present parent.
    pub fn locate(&self, path: &[&str]) -> Pos {
        let mut cur = self;
        let mut pos = self.pos;
        for key in path {
            match cur.entry(key) {
                Some(e) => {
                    pos = if e.key_pos.line > 0 {
                        e.key_pos
                    } else {
                        e.value.pos
                    };
                    cur = &e.value;
                }
                None => break,
            }
        }
        pos
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as a string (strings as they are, numbers and booleans printed).
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    /// The items of a sequence; empty for anything else.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping; empty for anything else.
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }
    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    /// `true` when the node is a mapping with at least one entry, or a non-empty sequence,
    /// or any non-null scalar.
    pub fn is_set(&self) -> bool {
        match &self.value {
            Value::Null => false,
            Value::Map(e) => !e.is_empty(),
            Value::Seq(i) => !i.is_empty(),
            Value::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    /// Converts to `serde_json::Value` (positions are dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a node tree (without positions) from JSON, e.g. an object read from the API.
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_pos: Pos::NONE,
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node::bare(value)
    }

    /// A short description of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

/// Appends `.key` (or `["key"]` for keys that are not plain identifiers) to a field path.
pub fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        let _ = write!(path, "[{key:?}]");
    }
}

/// `path` + `.key`, as a new string.
pub fn join(path: &str, key: &str) -> String {
    let mut p = path.to_string();
    push_key(&mut p, key);
    p
}

/// `path` + `[index]`, as a new string.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_building() {
        assert_eq!(join("spec", "containers"), "spec.containers");
        assert_eq!(index("spec.containers", 2), "spec.containers[2]");
        assert_eq!(
            join("metadata.annotations", "palisade.dev/ignore"),
            "metadata.annotations[\"palisade.dev/ignore\"]"
        );
        assert_eq!(join("", "spec"), "spec");
    }

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}});
        assert_eq!(Node::from_json(&j).to_json(), j);
    }
}
