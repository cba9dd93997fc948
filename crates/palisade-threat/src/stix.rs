//! STIX 2.1 indicators: a bundle (`{"type": "bundle", "objects": […]}`), a TAXII envelope
//! (`{"objects": […]}`) or a bare array of objects. Objects of type `indicator` with
//! `pattern_type` `stix` are read; their pattern must be one or more comparisons
//! `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value` or `url:value` with `=` (or
//! `ISSUBSET` for a CIDR), joined by `OR` inside or between observation expressions. A
//! pattern with `AND`, `FOLLOWEDBY`, qualifiers or other object types cannot be expressed as
//! a set of addresses and names: it is skipped and counted, not guessed at.
//!
//! `revoked: true`, a `valid_until` in the past and a `valid_from` in the future skip the
//! indicator (counted). A URL indicator matches its host (flows and DNS do not see paths).

use crate::feeds::{classify, line_of, url_host, Content, Parsed};
use palisade_detect::time::parse_rfc3339;
use serde_json::Value;

/// Parses STIX text into `p`; `now_ms` decides validity.
pub fn parse_into(text: &str, content: Content, file: &str, now_ms: i64, p: &mut Parsed) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return p.error(file, e.line(), format!("not JSON: {e}")),
    };
    let objects = match &v {
        Value::Array(a) => a.as_slice(),
        Value::Object(m) => match m.get("objects") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return p.error(file, 1, "\"objects\" is not an array"),
            None if m.get("type").and_then(Value::as_str) == Some("indicator") => {
                std::slice::from_ref(&v)
            }
            None => {
                return p.error(
                    file,
                    1,
                    "no \"objects\": not a STIX bundle or TAXII envelope",
                )
            }
        },
        _ => return p.error(file, 1, "not a STIX bundle"),
    };
    for o in objects {
        if o.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        indicator(o, text, content, file, now_ms, p);
    }
}

/// Reads the values of an indicator object into `p` (also used by the TAXII client).
pub fn indicator(o: &Value, text: &str, content: Content, file: &str, now_ms: i64, p: &mut Parsed) {
    let id = o.get("id").and_then(Value::as_str).unwrap_or("");
    let line = if id.is_empty() { 0 } else { line_of(text, id) };
    if o.get("revoked").and_then(Value::as_bool) == Some(true) {
        return p.skip("revoked");
    }
    let time = |k: &str| -> Result<Option<i64>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_rfc3339(s)
                .map(|ns| Some(ns / 1_000_000))
                .ok_or_else(|| format!("{id}: {k} {s:?} is not an RFC 3339 time")),
            Some(x) => Err(format!("{id}: {k} is {x}, not a time")),
        }
    };
    let (from, until) = match (time("valid_from"), time("valid_until")) {
        (Ok(f), Ok(u)) => (f, u),
        (Err(e), _) | (_, Err(e)) => return p.error(file, line, e),
    };
    if from.is_some_and(|f| f > now_ms) {
        return p.skip("not yet valid (valid_from in the future)");
    }
    if until.is_some_and(|u| u <= now_ms) {
        return p.skip("expired (valid_until in the past)");
    }
    let ptype = o
        .get("pattern_type")
        .and_then(Value::as_str)
        .unwrap_or("stix");
    if ptype != "stix" {
        return p.skip("pattern_type is not stix");
    }
    let Some(pattern) = o.get("pattern").and_then(Value::as_str) else {
        return p.error(file, line, format!("{id}: indicator without a pattern"));
    };
    match values(pattern) {
        Ok(vals) => {
            for (ty, val) in vals {
                let tok = if ty == "url" {
                    match url_host(&val) {
                        Some(h) => h.to_string(),
                        None => {
                            p.error(file, line, format!("{id}: URL {val:?} has no host"));
                            continue;
                        }
                    }
                } else {
                    val
                };
                match classify(&tok) {
                    Ok(ioc) => {
                        let ok = matches!(
                            (&ioc, ty.as_str()),
                            (crate::feeds::Ioc::Net(_), "ipv4-addr" | "ipv6-addr" | "url")
                                | (crate::feeds::Ioc::Domain(_), "domain-name" | "url")
                        );
                        if ok {
                            p.push(ioc, content, file, line);
                        } else {
                            p.error(file, line, format!("{id}: {tok:?} is not a valid {ty}"));
                        }
                    }
                    Err(e) => p.error(file, line, format!("{id}: {e}")),
                }
            }
        }
        Err(Unsupported::Syntax(e)) => {
            p.error(file, line, format!("{id}: pattern {pattern:?}: {e}"))
        }
        Err(Unsupported::Complex) => {
            p.skip("pattern not a disjunction of address/name comparisons")
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum Unsupported {
    Syntax(String),
    Complex,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    LParen,
    RParen,
    Word(String),
    Str(String),
}

fn tokens(s: &str) -> Result<Vec<Tok>, Unsupported> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '[' => out.push(Tok::Open),
            ']' => out.push(Tok::Close),
            '(' => out.push(Tok::LParen),
            ')' => out.push(Tok::RParen),
            '\'' => {
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some((_, '\\')) => match it.next() {
                            Some((_, e)) => v.push(e),
                            None => return Err(Unsupported::Syntax("unterminated string".into())),
                        },
                        Some((_, '\'')) => break,
                        Some((_, ch)) => v.push(ch),
                        None => return Err(Unsupported::Syntax("unterminated string".into())),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = it.peek() {
                    if d.is_whitespace() || "[]()'".contains(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push(Tok::Word(s[i..end].to_string()));
            }
        }
    }
    Ok(out)
}

/// The (object type, value) pairs of a pattern that is a disjunction of equality comparisons.
pub fn values(pattern: &str) -> Result<Vec<(String, String)>, Unsupported> {
    let toks = tokens(pattern)?;
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    let mut expect_operand = true;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => {
                depth += 1;
                expect_operand = true;
            }
            Tok::Close => {
                depth -= 1;
                if depth < 0 {
                    return Err(Unsupported::Syntax("unbalanced ]".into()));
                }
                expect_operand = false;
            }
            Tok::LParen | Tok::RParen => {}
            Tok::Word(w) if w.eq_ignore_ascii_case("OR") => expect_operand = true,
            Tok::Word(w) if depth > 0 && expect_operand && w.contains(':') => {
                let (ty, prop) = w.split_once(':').unwrap_or(("", ""));
                let op = match toks.get(i + 1) {
                    Some(Tok::Word(op)) => op.to_ascii_uppercase(),
                    _ => return Err(Unsupported::Complex),
                };
                let val = match toks.get(i + 2) {
                    Some(Tok::Str(v)) => v.clone(),
                    _ => return Err(Unsupported::Complex),
                };
                let supported_type =
                    matches!(ty, "ipv4-addr" | "ipv6-addr" | "domain-name" | "url");
                let supported_op =
                    op == "=" || (op == "ISSUBSET" && matches!(ty, "ipv4-addr" | "ipv6-addr"));
                if !supported_type || prop != "value" || !supported_op {
                    return Err(Unsupported::Complex);
                }
                out.push((ty.to_string(), val));
                i += 3;
                expect_operand = false;
                continue;
            }
            // AND, FOLLOWEDBY, WITHIN, REPEATS, START/STOP, NOT, other operators.
            _ => return Err(Unsupported::Complex),
        }
        i += 1;
    }
    if depth != 0 {
        return Err(Unsupported::Syntax("unbalanced [".into()));
    }
    if out.is_empty() {
        return Err(Unsupported::Syntax("no comparison".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::Ioc;

    #[test]
    fn patterns() {
        assert_eq!(
            values("[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.0/24']")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            values(
                "[domain-name:value = 'evil.example'] OR [url:value = 'http://x.example/a\\'b']"
            )
            .unwrap(),
            vec![
                ("domain-name".into(), "evil.example".into()),
                ("url".into(), "http://x.example/a'b".into())
            ]
        );
        assert_eq!(
            values("[ipv4-addr:value ISSUBSET '10.0.0.0/8']").unwrap()[0].1,
            "10.0.0.0/8"
        );
        assert_eq!(
            values("[file:hashes.'SHA-256' = 'abc']"),
            Err(Unsupported::Complex)
        );
        assert_eq!(
            values("[ipv4-addr:value = '1.1.1.1' AND domain-name:value = 'a.b']"),
            Err(Unsupported::Complex)
        );
        assert_eq!(
            values("[ipv4-addr:value = '1.1.1.1'] FOLLOWEDBY [ipv4-addr:value = '2.2.2.2']"),
            Err(Unsupported::Complex)
        );
        assert!(matches!(
            values("[ipv4-addr:value = '1"),
            Err(Unsupported::Syntax(_))
        ));
    }

    #[test]
    fn validity_and_revocation() {
        let text = r#"{"type":"bundle","id":"bundle--1","objects":[
{"type":"indicator","id":"indicator--a","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"},
{"type":"indicator","id":"indicator--b","pattern":"[domain-name:value = 'old.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z","valid_until":"2021-01-01T00:00:00Z"},
{"type":"indicator","id":"indicator--c","pattern":"[domain-name:value = 'revoked.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z","revoked":true},
{"type":"indicator","id":"indicator--d","pattern":"[domain-name:value = 'future.example']","pattern_type":"stix","valid_from":"2099-01-01T00:00:00Z"},
{"type":"indicator","id":"indicator--e","pattern":"[domain-name:value = 'bad name']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"},
{"type":"malware","id":"malware--x","name":"x","is_family":true}
]}"#;
        let mut p = Parsed::default();
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap() / 1_000_000;
        parse_into(text, Content::Any, "b.json", now, &mut p);
        assert_eq!(p.iocs, vec![Ioc::Net("198.51.100.7/32".parse().unwrap())]);
        assert_eq!(p.skipped.len(), 3);
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].line, 6);
    }
}
