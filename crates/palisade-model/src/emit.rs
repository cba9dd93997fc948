//! A small block-style YAML emitter for `serde_json::Value`, enough for Kubernetes manifests.
//!
//! Every scalar re-parses to the value it came from under the Kubernetes decoder's YAML 1.1
//! rules (the ones this crate's loader implements): a string is written plain only when it
//! cannot be read as anything else (no `yes`, `on`, `0644`, `1e3`, `~`, no indicator
//! characters); multi-line strings (CEL expressions) become literal block scalars (`|`,
//! `|-`) when that is exact, and double-quoted strings with escapes otherwise.

use serde_json::{Map, Value};
use std::fmt::Write;

/// Keys written first, in this order, in every mapping (the conventional order of a
/// Kubernetes object, and of admission policies: what is matched, then what is checked);
/// the others follow in the map's own order.
const LEADING_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "policyName",
    "paramKind",
    "paramRef",
    "validationActions",
    "failurePolicy",
    "matchConstraints",
    "matchResources",
    "matchConditions",
    "variables",
    "validations",
    "expression",
    "messageExpression",
    "message",
];

/// A multi-document YAML stream: each object is one document, documents are separated by
/// `---` lines.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&document(o));
    }
    out
}

/// One YAML document (no `---` line), ending in a newline.
pub fn document(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        _ => {
            out.push_str(&inline_scalar(v, 0));
            out.push('\n');
        }
    }
    out
}

fn ordered(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut first: Vec<(&String, &Value)> = LEADING_KEYS
        .iter()
        .filter_map(|k| m.get_key_value(*k))
        .collect();
    first.extend(
        m.iter()
            .filter(|(k, _)| !LEADING_KEYS.contains(&k.as_str())),
    );
    first
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes the entries of a non-empty map, each on its own line at `indent`.
fn write_map(out: &mut String, m: &Map<String, Value>, indent: usize) {
    for (i, (k, v)) in ordered(m).into_iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&scalar_string(k, indent));
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

/// Writes the items of a non-empty sequence, each on its own line at `indent`.
fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                write_map(out, m, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push(' ');
                write_seq(out, a, indent + 2);
            }
            _ => {
                out.push(' ');
                out.push_str(&inline_scalar(v, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// The value of a mapping entry, after `key:`.
fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            // Sequences in mappings are not indented, as kubectl writes them.
            out.push('\n');
            pad(out, indent);
            write_seq(out, a, indent);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline_scalar(v, indent + 2));
            out.push('\n');
        }
    }
}

/// A scalar (or empty collection) on the current line. `indent` is the indentation of the
/// content of a block scalar, should one be used.
fn inline_scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s, indent),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn scalar_string(s: &str, indent: usize) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else if let Some(block) = literal_block(s, indent) {
        block
    } else {
        double_quoted(s)
    }
}

/// Plain scalars that resolve to the same string under YAML 1.1 and cannot be mistaken
/// for syntax: start with a letter, `_` or `/`, continue with letters, digits and `_ . / -`
/// (and inner single spaces), and are not one of YAML 1.1's boolean or null words.
fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    if b.last() == Some(&b' ') || s.contains("  ") {
        return false;
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-' | b' '))
    {
        return false;
    }
    // ` #` would start a comment.
    if s.contains(" #") {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "y" | "n" | "on" | "off" | "null"
    )
}

/// A literal block scalar (`|`, `|-`) when it reproduces `s` exactly: at least one line
/// break, no trailing newline beyond one, no carriage returns or other control characters,
/// no line with trailing whitespace, and a first line that does not start with a space.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    if !s.contains('\n') || s.contains('\r') {
        return None;
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return None;
    }
    if s.starts_with(' ') || s.starts_with('\n') || s.starts_with('\t') {
        return None;
    }
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(b) if b.ends_with('\n') => return None,
        Some(b) => (b, "|"),
        None => (s, "|-"),
    };
    if body
        .split('\n')
        .any(|l| l.ends_with(' ') || l.ends_with('\t') || l.starts_with('\t'))
    {
        return None;
    }
    let indent = indent.max(2);
    let mut out = String::from(chomp);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, indent);
            out.push_str(line);
        }
    }
    Some(out)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_leading_keys_first() {
        let v = json!({
            "spec": {"list": [1, {"a": "x", "b": []}], "empty": {}},
            "kind": "Thing",
            "apiVersion": "v1",
        });
        assert_eq!(
            document(&v),
            "apiVersion: v1\nkind: Thing\nspec:\n  empty: {}\n  list:\n  - 1\n  - a: x\n    b: []\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "On", "0644", "1e3", "~", "", "-", "a: b", "x #y", " a", "null", "1.5",
        ] {
            assert!(scalar_string(s, 2).starts_with('"'), "{s:?} must be quoted");
        }
        for s in [
            "Deny",
            "apps/v1",
            "kubernetes.io/metadata.name",
            "palisade-pss-restricted",
        ] {
            assert_eq!(scalar_string(s, 2), s);
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(literal_block("a\n  b", 4).unwrap(), "|-\n    a\n      b");
        assert_eq!(literal_block("a\n\nb\n", 2).unwrap(), "|\n  a\n\n  b");
        assert!(literal_block("a \nb", 2).is_none());
        assert!(literal_block(" a\nb", 2).is_none());
        assert!(literal_block("a\nb\n\n", 2).is_none());
    }
}
