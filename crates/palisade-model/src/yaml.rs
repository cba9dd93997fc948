//! YAML (and JSON) text to [`Node`] documents, with positions, resource limits and
//! per-document error recovery.
//!
//! The stream is first split into documents at `---` lines, the way the Kubernetes YAML reader
//! (`k8s.io/apimachinery/pkg/util/yaml`) splits them, so one broken document does not hide the
//! documents after it. Each document is then parsed with `saphyr-parser` into a [`Node`] tree.
//! Plain scalars resolve as the Kubernetes decoder (go-yaml v2, YAML 1.1 rules) resolves them:
//! `0644` is the octal 420, `yes`/`on` are `true`, `~` is null.

use crate::node::{Entry, Node, Pos, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Resource limits that keep hostile input (alias bombs, deep nesting) bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum nesting depth of mappings and sequences.
    pub max_depth: usize,
    /// Maximum number of nodes one document may expand to (aliases count every time they are
    /// used, so a "billion laughs" document is stopped here).
    pub max_nodes: usize,
    /// Read only `apiVersion`, `kind` and `metadata` of block-style CustomResourceDefinition
    /// documents: their schemas are most of the bytes of a typical install manifest and no
    /// check reads them.
    pub shallow_crds: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 200,
            max_nodes: 2_000_000,
            shallow_crds: true,
        }
    }
}

/// One document of a stream: its first line and the parsed tree, or an error.
#[derive(Debug)]
pub struct Document {
    /// 0-based index of the document in its stream.
    pub index: usize,
    /// 1-based line where the document's text starts.
    pub line: u32,
    pub result: Result<Option<Node>, YamlError>,
    /// Non-fatal notes about the document (duplicate keys, ...).
    pub warnings: Vec<(Pos, String)>,
    /// The document's raw text, for diagnostics such as template detection.
    pub text_range: (usize, usize),
}

/// A parse error with the position where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// Splits `text` into the byte ranges of its documents and their first line numbers.
/// A line that starts with `---` followed by nothing, whitespace or a comment begins a new
/// document (the `---` line itself belongs to the new document).
fn split_documents(text: &str) -> Vec<(usize, usize, u32)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        if offset > start && is_separator(line) {
            out.push((start, offset, start_line));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    out.push((start, text.len(), start_line));
    out
}

fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n") || rest.starts_with('#')
}

/// Parses every document in `text`. Never panics; errors are per document.
pub fn parse_documents(text: &str, limits: Limits) -> Vec<Document> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    for (start, end, line) in split_documents(text) {
        let shallow;
        let chunk = if limits.shallow_crds && is_crd(&text[start..end]) {
            shallow = crd_header(&text[start..end]);
            shallow.as_str()
        } else {
            &text[start..end]
        };
        // A chunk may still hold several YAML documents (e.g. `...` markers); parse them all.
        let mut b = Builder::new(line - 1, limits);
        let mut res = b.run(chunk);
        if res.is_err() {
            // libyaml (and so kubectl) tolerates continuation lines of flow collections and
            // quoted scalars indented less than YAML 1.2 requires; saphyr does not. Such
            // whitespace is insignificant, so re-indent those lines and try once more.
            if let Some(relaxed) = relax_flow_indentation(chunk) {
                let mut b2 = Builder::new(line - 1, limits);
                if b2.run(&relaxed).is_ok() {
                    b = b2;
                    res = Ok(());
                }
            }
        }
        let warnings = std::mem::take(&mut b.warnings);
        match res {
            Ok(()) => {
                let produced = std::mem::take(&mut b.docs);
                if produced.is_empty() {
                    docs.push(Document {
                        index: docs.len(),
                        line,
                        result: Ok(None),
                        warnings: warnings.clone(),
                        text_range: (start, end),
                    });
                }
                let n = produced.len();
                for (i, d) in produced.into_iter().enumerate() {
                    docs.push(Document {
                        index: docs.len(),
                        line: if i == 0 { line } else { d.pos.line.max(line) },
                        result: Ok(Some(d).filter(|d| !d.is_null())),
                        warnings: if i + 1 == n {
                            warnings.clone()
                        } else {
                            Vec::new()
                        },
                        text_range: (start, end),
                    });
                }
            }
            Err(e) => docs.push(Document {
                index: docs.len(),
                line,
                result: Err(e),
                warnings,
                text_range: (start, end),
            }),
        }
    }
    docs
}

/// `true` for a block-style CustomResourceDefinition document: `kind: CustomResourceDefinition`
/// and an `apiextensions.k8s.io` apiVersion as top-level (column 0) keys.
fn is_crd(chunk: &str) -> bool {
    let mut kind = None;
    let mut api = None;
    for line in chunk.lines() {
        if let Some(v) = line.strip_prefix("kind:") {
            kind = Some(v.trim().trim_matches(['"', '\'']) == "CustomResourceDefinition");
        } else if let Some(v) = line.strip_prefix("apiVersion:") {
            api = Some(
                v.trim()
                    .trim_matches(['"', '\''])
                    .starts_with("apiextensions.k8s.io/"),
            );
        }
        if let (Some(k), Some(a)) = (kind, api) {
            return k && a;
        }
    }
    false
}

/// The document with every top-level entry other than `apiVersion`, `kind` and `metadata`
/// replaced by empty lines, so line numbers are unchanged.
fn crd_header(chunk: &str) -> String {
    let b = chunk.as_bytes();
    let mut out = String::with_capacity(4096);
    let mut i = 0;
    while i < b.len() {
        let line_end = chunk[i..].find('\n').map_or(b.len(), |p| i + p + 1);
        let line = &chunk[i..line_end];
        let first = b[i];
        let top_level_key =
            (first.is_ascii_alphabetic() || first == b'"' || first == b'\'') && line.contains(':');
        let keep = if top_level_key {
            let key = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim_matches(['"', '\'']);
            matches!(key, "apiVersion" | "kind" | "metadata")
        } else {
            true
        };
        if keep {
            out.push_str(line);
            i = line_end;
            continue;
        }
        // Skip the entry: every following line that is indented, blank or a comment, keeping
        // only the line breaks.
        let mut j = line_end;
        if line.ends_with('\n') {
            out.push('\n');
        }
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r' | b'#') {
            match chunk[j..].find('\n') {
                Some(p) => {
                    out.push('\n');
                    j += p + 1;
                }
                None => j = b.len(),
            }
        }
        i = j;
    }
    out
}

/// Re-indents the continuation lines of multi-line flow collections and quoted scalars so
/// that each is indented at least as far as the line that opened the construct, plus one.
/// Returns `None` when nothing needed changing. Only whitespace is added, so line numbers
/// and meaning are preserved.
fn relax_flow_indentation(text: &str) -> Option<String> {
    #[derive(PartialEq)]
    enum State {
        Normal,
        Single,
        Double,
    }
    let mut state = State::Normal;
    let mut depth = 0usize;
    let mut required = 0usize;
    let mut block_parent: Option<usize> = None;
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim_end_matches(['\n', '\r']);
        if let Some(parent) = block_parent {
            if content.trim().is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block_parent = None;
        }
        let continuing = state != State::Normal || depth > 0;
        if continuing && indent < required && !content.trim().is_empty() {
            out.extend(std::iter::repeat_n(' ', required - indent));
            changed = true;
        }
        if !continuing {
            required = indent + 1;
        }
        let mut prev = ' ';
        let mut chars = content.chars().peekable();
        while let Some(c) = chars.next() {
            match state {
                State::Normal => match c {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '\'' if matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':' | '-') => {
                        state = State::Single
                    }
                    '"' if matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':' | '-') => {
                        state = State::Double
                    }
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
                State::Single => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            state = State::Normal;
                        }
                    }
                }
                State::Double => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => state = State::Normal,
                    _ => {}
                },
            }
            prev = c;
        }
        out.push_str(line);
        if state == State::Normal && depth == 0 {
            let t = content.trim_end();
            let t = t.split(" #").next().unwrap_or(t).trim_end();
            let tail = t.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            if tail.ends_with(": |")
                || tail.ends_with(": >")
                || tail == "|"
                || tail == ">"
                || tail.ends_with("- |")
                || tail.ends_with("- >")
            {
                block_parent = Some(indent);
            }
        }
    }
    changed.then_some(out)
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map(Vec<Entry>, Pos, usize, Option<(String, Pos)>, Vec<String>),
}

struct Builder {
    line_offset: u32,
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    nodes: usize,
    warnings: Vec<(Pos, String)>,
}

impl Builder {
    fn new(line_offset: u32, limits: Limits) -> Self {
        Builder {
            line_offset,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            nodes: 0,
            warnings: Vec::new(),
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos::new(
            (span.start.line() as u32).saturating_add(self.line_offset),
            span.start.col() as u32 + 1,
        )
    }

    fn err(&self, pos: Pos, message: impl Into<String>) -> YamlError {
        YamlError {
            pos,
            message: message.into(),
        }
    }

    fn run(&mut self, chunk: &str) -> Result<(), YamlError> {
        let parser = Parser::new_from_str(chunk);
        for ev in parser {
            let (ev, span) = ev.map_err(|e| YamlError {
                pos: Pos::new(
                    (e.marker().line() as u32).saturating_add(self.line_offset),
                    e.marker().col() as u32 + 1,
                ),
                message: e.info().to_string(),
            })?;
            let pos = self.pos(&span);
            match ev {
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    self.nodes = 0;
                }
                Event::DocumentEnd => {}
                Event::Alias(id) => {
                    let node = self
                        .anchors
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| self.err(pos, "alias refers to an unknown anchor"))?;
                    let size = count_nodes(&node);
                    self.bump(size, pos)?;
                    self.push_value(node, pos)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.bump(1, pos)?;
                    let tag_suffix = tag.as_ref().map(|t| t.suffix.as_str());
                    let value = resolve_scalar(&text, style, tag_suffix);
                    let node = Node::new(value, pos);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node, pos)?;
                }
                Event::SequenceStart(anchor, _) => {
                    self.bump(1, pos)?;
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(self.err(
                            pos,
                            format!("nesting deeper than {} levels", self.limits.max_depth),
                        ));
                    }
                    self.stack.push(Frame::Seq(Vec::new(), pos, anchor));
                }
                Event::MappingStart(anchor, _) => {
                    self.bump(1, pos)?;
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(self.err(
                            pos,
                            format!("nesting deeper than {} levels", self.limits.max_depth),
                        ));
                    }
                    self.stack
                        .push(Frame::Map(Vec::new(), pos, anchor, None, Vec::new()));
                }
                Event::SequenceEnd => {
                    let Some(Frame::Seq(items, start, anchor)) = self.stack.pop() else {
                        return Err(self.err(pos, "unbalanced sequence end"));
                    };
                    let node = Node::new(Value::Seq(items), start);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node, start)?;
                }
                Event::MappingEnd => {
                    let Some(Frame::Map(entries, start, anchor, pending, _)) = self.stack.pop()
                    else {
                        return Err(self.err(pos, "unbalanced mapping end"));
                    };
                    if pending.is_some() {
                        return Err(self.err(pos, "mapping key without a value"));
                    }
                    let node = Node::new(Value::Map(entries), start);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node, start)?;
                }
            }
        }
        Ok(())
    }

    fn bump(&mut self, n: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(self.err(
                pos,
                format!(
                    "document expands to more than {} nodes (alias expansion bomb?)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn push_value(&mut self, node: Node, pos: Pos) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.docs.push(node);
                Ok(())
            }
            Some(Frame::Seq(items, _, _)) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map(entries, _, _, pending, merged)) => match pending.take() {
                None => {
                    let key = match node.value {
                        Value::Str(s) => s,
                        Value::Null => "null".to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(YamlError {
                                pos,
                                message: "a mapping or list cannot be a mapping key".into(),
                            })
                        }
                    };
                    *pending = Some((key, node.pos));
                    Ok(())
                }
                Some((key, key_pos)) => {
                    if key == "<<" {
                        // YAML 1.1 merge key, as go-yaml supports it: merge entries not present.
                        let sources: Vec<Node> = match node.value {
                            Value::Map(_) => vec![node],
                            Value::Seq(items) => items,
                            _ => {
                                return Err(YamlError {
                                    pos: key_pos,
                                    message: "merge key `<<` needs a mapping or list of mappings"
                                        .into(),
                                })
                            }
                        };
                        for src in sources {
                            if let Value::Map(src_entries) = src.value {
                                for e in src_entries {
                                    if !entries.iter().any(|x| x.key == e.key) {
                                        merged.push(e.key.clone());
                                        entries.push(e);
                                    }
                                }
                            }
                        }
                        return Ok(());
                    }
                    if let Some(i) = merged.iter().position(|k| *k == key) {
                        // An explicit key overrides a merged one.
                        merged.swap_remove(i);
                        if let Some(existing) = entries.iter_mut().find(|e| e.key == key) {
                            existing.value = node;
                            existing.key_pos = key_pos;
                        }
                    } else if let Some(existing) = entries.iter_mut().find(|e| e.key == key) {
                        self.warnings.push((
                            key_pos,
                            format!(
                                "duplicate key {key:?} (first at line {}); the last value is used",
                                existing.key_pos.line
                            ),
                        ));
                        existing.value = node;
                        existing.key_pos = key_pos;
                    } else {
                        entries.push(Entry {
                            key,
                            key_pos,
                            value: node,
                        });
                    }
                    Ok(())
                }
            },
        }
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|e| count_nodes(&e.value)).sum::<usize>(),
        _ => 1,
    }
}

/// Resolves a scalar the way the Kubernetes YAML decoder does.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::Str(text.to_string()),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") => {
            let v = resolve_plain(text);
            if !matches!(v, Value::Str(_)) {
                return v;
            }
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    resolve_plain(text)
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::Str(text.to_string());
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let looks_float = cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && cleaned.chars().any(|c| c.is_ascii_digit());
    if looks_float {
        if let Ok(f) = cleaned.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let body: String = body.chars().filter(|&c| c != '_').collect();
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = body.strip_prefix("0b") {
        (2, b)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let docs = parse_documents(text, Limits::default());
        docs.into_iter().next().unwrap().result.unwrap().unwrap()
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let n = one("a: 0644\nb: yes\nc: '0644'\nd: ~\ne: 1.5\nf: 0x1F\ng: hello\nh: -3\ni: 1e3\n");
        assert_eq!(n.get("a").unwrap().value, Value::Int(420));
        assert_eq!(n.get("b").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("c").unwrap().value, Value::Str("0644".into()));
        assert_eq!(n.get("d").unwrap().value, Value::Null);
        assert_eq!(n.get("e").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("f").unwrap().value, Value::Int(31));
        assert_eq!(n.get("g").unwrap().value, Value::Str("hello".into()));
        assert_eq!(n.get("h").unwrap().value, Value::Int(-3));
        assert_eq!(n.get("i").unwrap().value, Value::Float(1000.0));
    }

    #[test]
    fn positions_are_absolute_lines() {
        let docs = parse_documents(
            "a: 1\n---\n# c\nkind: Pod\nspec:\n  x: 1\n",
            Limits::default(),
        );
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 2);
        let n = docs[1].result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(n.entry("kind").unwrap().key_pos.line, 4);
        assert_eq!(n.locate(&["spec", "x"]).line, 6);
        assert_eq!(n.locate(&["spec", "missing"]).line, 5);
    }

    #[test]
    fn broken_document_does_not_hide_the_next() {
        let docs = parse_documents(
            "a: [1, 2\n---\nkind: Pod\n---\nb: : :\n  - x\n---\nkind: Service\n",
            Limits::default(),
        );
        assert_eq!(docs.len(), 4);
        assert!(docs[0].result.is_err());
        assert!(docs[1].result.as_ref().unwrap().is_some());
        assert!(docs[2].result.is_err());
        assert_eq!(docs[2].line, 4);
        let err = docs[2].result.as_ref().unwrap_err();
        assert!(err.pos.line >= 5, "{err:?}");
        assert!(docs[3].result.as_ref().unwrap().is_some());
    }

    #[test]
    fn tolerates_libyaml_flow_indentation() {
        let text =
            "spec:\n  a:\n    args: [\n      \"x\",\n    ]\n  b: '[\n  {\"k\": 1}\n  ]'\n  c: 1\n";
        let n = one(text);
        assert_eq!(n.at(&["spec", "a", "args"]).unwrap().items().len(), 1);
        assert_eq!(
            n.at(&["spec", "b"]).unwrap().as_str(),
            Some("[ {\"k\": 1} ]")
        );
        assert_eq!(n.locate(&["spec", "c"]).line, 9);
    }

    #[test]
    fn crd_bodies_are_not_parsed_but_metadata_is() {
        let text = "apiVersion: v1\nkind: Pod\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\nspec:\n  group: example.com\n  versions: [{{broken\nstatus: {}\n";
        let docs = parse_documents(text, Limits::default());
        let crd = docs[1].result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            crd.at(&["metadata", "name"]).unwrap().as_str(),
            Some("x.example.com")
        );
        assert_eq!(crd.locate(&["metadata", "name"]).line, 7);
        assert!(crd.get("spec").is_none());
        let full = Limits {
            shallow_crds: false,
            ..Limits::default()
        };
        assert!(parse_documents(text, full)[1].result.is_err());
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let docs = parse_documents(&s, Limits::default());
        let err = docs[0].result.as_ref().unwrap_err();
        assert!(err.message.contains("expands"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let s = "[".repeat(10_000);
        let docs = parse_documents(&s, Limits::default());
        assert!(docs[0].result.is_err());
    }

    #[test]
    fn merge_keys_and_duplicates() {
        let docs = parse_documents(
            "base: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\nm2: 1\nm2: 2\n",
            Limits::default(),
        );
        let n = docs[0].result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(n.at(&["m", "p"]).unwrap().value, Value::Int(1));
        assert_eq!(n.at(&["m", "q"]).unwrap().value, Value::Int(3));
        assert_eq!(n.get("m2").unwrap().value, Value::Int(2));
        assert_eq!(docs[0].warnings.len(), 1);
    }

    #[test]
    fn json_parses_as_yaml() {
        let n = one("{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"name\": \"a\"}]}}");
        assert_eq!(n.get("kind").unwrap().as_str(), Some("Pod"));
    }
}
