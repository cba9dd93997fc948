//! Indexing of constant function clauses, done once when a template is compiled.
//!
//! regorus evaluates a call to a function by trying every clause of it, each with its own
//! scope and name resolution; OPA's rule indexer instead picks the clauses whose constant
//! arguments match. A lookup function written as one clause per key, such as the
//! Gatekeeper library's unit tables
//!
//! ```text
//! mem_multiple("Ki") = 1024000 { true }
//! mem_multiple("Mi") = 1048576000 { true }
//! …
//! ```
//!
//! therefore costs every clause on every call, and a quantity canonicalisation that calls
//! it a few times per container costs hundreds of clause evaluations. This rewrite turns
//! such a function into one clause reading an object:
//!
//! ```text
//! mem_multiple(k) = v { v := palisade_index_mem_multiple[k] }
//! palisade_index_mem_multiple = {"Ki": 1024000, "Mi": 1048576000, …}
//! ```
//!
//! which answers the same for every argument: the value of the clause whose literal equals
//! the argument, and undefined for any other argument (another string, another type).
//!
//! Only functions whose every clause in the module is one line of the form
//! `name(<scalar literal>) = <scalar literal>` with no body or a `{ true }` body are
//! rewritten, only when the keys are distinct (two clauses with one key and two values are
//! OPA's conflict error, which must stay an error), and only when `name` is defined nowhere
//! else (a module whose package another module shares is left alone). The clause lines are
//! blanked, not removed, so every other line keeps its number; the new rules go at the end.

use std::collections::BTreeMap;

/// The name of the object a function is rewritten to read.
const TABLE_PREFIX: &str = "palisade_index_";

/// Fewest clauses worth a table: below this the clauses are as cheap as the lookup.
const MIN_CLAUSES: usize = 4;

/// One `name(key) = value …` clause on one line.
struct Clause<'a> {
    line: usize,
    key: &'a str,
    value: &'a str,
}

/// Rewrites the constant functions of one module (see the module documentation). `shared`
/// tells whether another module of the template has the same package; such a module is
/// returned unchanged.
pub(crate) fn index_constant_functions(src: String, shared_package: bool) -> String {
    if shared_package {
        return src;
    }
    let lines: Vec<&str> = src.split('\n').collect();
    let depths = line_start_depths(&src);
    // Every definition head at depth 0: name → (line, clause if it has the constant shape).
    let mut defs: BTreeMap<&str, Vec<(usize, Option<Clause<'_>>)>> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if depths.get(i).copied().unwrap_or(1) != 0 {
            continue;
        }
        let Some(name) = head_name(line) else {
            continue;
        };
        defs.entry(name)
            .or_default()
            .push((i, constant_clause(line, name, i)));
    }
    let mut blank = vec![false; lines.len()];
    let mut added = String::new();
    for (name, clauses) in &defs {
        if clauses.len() < MIN_CLAUSES || clauses.iter().any(|(_, c)| c.is_none()) {
            continue;
        }
        let table = format!("{TABLE_PREFIX}{name}");
        if src.contains(&table) {
            continue;
        }
        let mut entries: BTreeMap<&str, &str> = BTreeMap::new();
        let mut conflict = false;
        for c in clauses.iter().filter_map(|(_, c)| c.as_ref()) {
            if let Some(v) = entries.insert(c.key, c.value) {
                conflict |= v != c.value;
            }
        }
        if conflict {
            continue;
        }
        for c in clauses.iter().filter_map(|(_, c)| c.as_ref()) {
            blank[c.line] = true;
        }
        let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        added.push_str(&format!(
            "\n{name}(k) = v {{ v := {table}[k] }}\n{table} = {{{}}}\n",
            body.join(", ")
        ));
    }
    if added.is_empty() {
        return src;
    }
    let mut out = String::with_capacity(src.len() + added.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !blank[i] {
            out.push_str(line);
        }
    }
    out.push_str(&added);
    out
}

/// The bracket depth at the start of each line, skipping strings and comments.
fn line_start_depths(src: &str) -> Vec<usize> {
    let bytes = src.as_bytes();
    let mut depths = vec![0usize];
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => depths.push(depth),
            b'#' => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i < bytes.len() && bytes[i] == b'\n' {
                    continue;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\n' {
                        depths.push(depth);
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    depths
}

/// The name of the rule or function a depth-0 line starts to define (`name` in
/// `name(…)`, `name[…]`, `name = …`, `name { … }`), if it starts with an identifier.
fn head_name(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let name = &t[..end];
    let first = name.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_')
        || matches!(name, "package" | "import" | "default" | "else")
    {
        return None;
    }
    Some(name)
}

/// `name(<literal>) = <literal>` with an optional `{ true }` body (and `if`, `:=` of Rego
/// v1) and an optional trailing comment, as a clause.
fn constant_clause<'a>(line: &'a str, name: &str, at: usize) -> Option<Clause<'a>> {
    let rest = line.trim_start().strip_prefix(name)?.trim_start();
    let rest = rest.strip_prefix('(')?.trim_start();
    let (key, rest) = literal(rest)?;
    let rest = rest.trim_start().strip_prefix(')')?.trim_start();
    let rest = rest
        .strip_prefix(":=")
        .or_else(|| rest.strip_prefix('='))?
        .trim_start();
    let (value, rest) = literal(rest)?;
    let mut rest = rest.trim_start();
    if let Some(r) = rest.strip_prefix("if") {
        rest = r.trim_start();
    }
    if let Some(r) = rest.strip_prefix('{') {
        rest = r.trim_start().strip_prefix("true")?.trim_start();
        rest = rest.strip_prefix('}')?.trim_start();
    }
    (rest.is_empty() || rest.starts_with('#')).then_some(Clause {
        line: at,
        key,
        value,
    })
}

/// A scalar literal at the start of `s` (a double-quoted string, a number, `true`,
/// `false`, `null`) and what follows it.
fn literal(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let end = match *b.first()? {
        b'"' => {
            let mut i = 1;
            loop {
                match *b.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    b'\n' => return None,
                    _ => i += 1,
                }
            }
        }
        b'-' | b'0'..=b'9' => {
            let mut i = usize::from(b[0] == b'-');
            let digits = i;
            while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E')) {
                if matches!(b[i], b'e' | b'E') && matches!(b.get(i + 1), Some(b'+' | b'-')) {
                    i += 1;
                }
                i += 1;
            }
            if i == digits || s[digits..i].parse::<f64>().is_err() {
                return None;
            }
            i
        }
        _ => {
            let word = ["true", "false", "null"]
                .into_iter()
                .find(|w| s.starts_with(w))?;
            word.len()
        }
    };
    // A literal ends at a delimiter, not inside an identifier (`trueish`).
    if s[end..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some((&s[..end], &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNITS: &str = r#"package t

# 10 ** 21
mem_multiple("E") = 1000000000000000000000 { true }
mem_multiple("k") = 1000000 { true }
mem_multiple("") = 1000 { true }
mem_multiple("Ki") = 1024000 { true } # 1000 * 2 ** 10
mem_multiple("m") = 1

get(mem) = s {
  mem_multiple(mem)
  s := mem
}
"#;

    #[test]
    fn constant_clauses_become_one_lookup() {
        let out = index_constant_functions(UNITS.to_string(), false);
        let lines: Vec<&str> = out.lines().collect();
        // Lines keep their numbers: the clauses are blanked, the body line is where it was.
        assert_eq!(lines[2], "# 10 ** 21");
        assert_eq!(lines[3], "");
        assert_eq!(lines[7], "");
        assert_eq!(lines[9], "get(mem) = s {");
        assert_eq!(lines[10], "  mem_multiple(mem)");
        assert!(out.contains("mem_multiple(k) = v { v := palisade_index_mem_multiple[k] }"));
        assert!(out.contains(
            r#"palisade_index_mem_multiple = {"": 1000, "E": 1000000000000000000000, "Ki": 1024000, "k": 1000000, "m": 1}"#
        ));
    }

    #[test]
    fn other_shapes_are_left_alone() {
        for src in [
            // A clause with a variable argument, a computed body, or a multi-line body.
            "package t\nf(\"a\") = 1\nf(\"b\") = 2\nf(\"c\") = 3\nf(x) = 4 { x == \"d\" }\n",
            "package t\nf(\"a\") = 1 { input.x }\nf(\"b\") = 2\nf(\"c\") = 3\nf(\"d\") = 4\n",
            "package t\nf(\"a\") = 1 {\n  true\n}\nf(\"b\") = 2\nf(\"c\") = 3\nf(\"d\") = 4\n",
            // One key with two values: OPA's conflict error must stay.
            "package t\nf(\"a\") = 1\nf(\"a\") = 2\nf(\"c\") = 3\nf(\"d\") = 4\n",
            // Too few clauses to be worth it.
            "package t\nf(\"a\") = 1\nf(\"b\") = 2\n",
            // A value that is not a scalar literal.
            "package t\nf(\"a\") = [1]\nf(\"b\") = 2\nf(\"c\") = 3\nf(\"d\") = 4\n",
        ] {
            assert_eq!(
                index_constant_functions(src.to_string(), false),
                src,
                "{src}"
            );
        }
        assert_eq!(
            index_constant_functions(UNITS.to_string(), true),
            UNITS,
            "a shared package is left alone"
        );
    }

    #[test]
    fn calls_inside_bodies_are_not_definitions() {
        // `f("x")` at the start of a body line is a call, not a clause of `f`.
        let src = "package t\nf(\"a\") = 1\nf(\"b\") = 2\nf(\"c\") = 3\nf(\"d\") = 4\np {\nf(\"a\") = 1\n}\n";
        let out = index_constant_functions(src.to_string(), false);
        assert!(out.contains("p {\nf(\"a\") = 1\n}"), "{out}");
        assert!(out.contains(r#"palisade_index_f = {"a": 1, "b": 2, "c": 3, "d": 4}"#));
    }

    #[test]
    fn literals() {
        assert_eq!(literal(r#""a\"b" = 1"#), Some((r#""a\"b""#, " = 1")));
        assert_eq!(literal("-1.5e+3)"), Some(("-1.5e+3", ")")));
        assert_eq!(literal("true)"), Some(("true", ")")));
        assert_eq!(literal("trueish"), None);
        assert_eq!(literal("x"), None);
        assert_eq!(literal("\"open"), None);
        assert_eq!(literal("-)"), None);
    }

    /// The rewritten functions answer exactly as the clauses did, for every argument.
    #[test]
    fn rewritten_module_answers_the_same() {
        let eval = |src: String, arg: &str| -> String {
            let mut e = regorus::Engine::new();
            e.set_rego_v0(true);
            e.add_policy("t.rego".into(), src).unwrap();
            let r = e
                .eval_query(format!("x := data.t.mem_multiple({arg})"), false)
                .unwrap();
            serde_json::to_string(&r.result).unwrap()
        };
        for arg in [
            r#""Ki""#, r#""E""#, r#""""#, r#""m""#, r#""Q""#, "1", "null",
        ] {
            assert_eq!(
                eval(index_constant_functions(UNITS.to_string(), false), arg),
                eval(UNITS.to_string(), arg),
                "mem_multiple({arg})"
            );
        }
    }
}
