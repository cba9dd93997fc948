//! Building blocks for the CEL the exporters write.
//!
//! Only what a Kubernetes 1.30 API server accepts in a ValidatingAdmissionPolicy: standard
//! macros (`has`, `all`, `exists`, `map`, `filter`), the strings extension (`join`,
//! `startsWith`), no optional syntax (`.?`), no list extensions (`sort`, `flatten`). Absent
//! fields are guarded with `has()` chains, so the expressions evaluate on any pod, not only
//! on ones that set every field.

/// `base.a.b.c` when every step is present, `default` otherwise:
/// `(has(base.a) && has(base.a.b) && has(base.a.b.c) ? base.a.b.c : default)`.
pub fn opt(base: &str, path: &str, default: &str) -> String {
    let mut cur = base.to_string();
    let mut guards = Vec::new();
    for step in path.split('.') {
        cur.push('.');
        cur.push_str(step);
        guards.push(format!("has({cur})"));
    }
    format!("({} ? {cur} : {default})", guards.join(" && "))
}

/// Whether `base.path` is present and not null.
pub fn set(base: &str, path: &str) -> String {
    format!("{} != null", opt(base, path, "null"))
}

/// A CEL string literal for `s` (single-quoted, escaped).
pub fn lit(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A CEL list literal of string literals.
pub fn lit_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| lit(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// `"a", "b"` from a list of strings bound to `var`.
pub fn join_quoted(var: &str, item: &str) -> String {
    format!("{var}.map({item}, '\"' + string({item}) + '\"').join(', ')")
}

/// `container "a"` / `containers "a", "b"` (PSA's wording) from a non-empty list of names
/// bound to `var`.
pub fn containers_phrase(var: &str) -> String {
    noun_phrase(var, "container", "containers")
}

/// `<singular> "a"` / `<plural> "a", "b"` from a non-empty list of names bound to `var`.
pub fn noun_phrase(var: &str, singular: &str, plural: &str) -> String {
    format!(
        "(size({var}) == 1 ? '{singular} ' : '{plural} ') + {}",
        join_quoted(var, "n")
    )
}

/// A list holding one detail (built from `names`, a list expression, bound to `l`) when the
/// list is non-empty, and no detail otherwise: `[names].filter(l, size(l) > 0).map(l, …)`.
pub fn when_any(names: &str, detail: &str) -> String {
    format!("[{names}].filter(l, size(l) > 0).map(l, {detail})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_guards_every_step() {
        assert_eq!(
            opt("c", "securityContext.privileged", "false"),
            "(has(c.securityContext) && has(c.securityContext.privileged) ? c.securityContext.privileged : false)"
        );
        assert_eq!(lit("it's \\"), "'it\\'s \\\\'");
        assert_eq!(lit_list(&["a", "b"]), "['a', 'b']");
    }
}
