//! `--checks`/`--skip` patterns for finding sources outside the check registry.

/// The selection rule every source follows: an exact ID or name (any case), or `PREFIX*`.
pub fn pattern_hits(p: &str, key: &str) -> bool {
    let p = p.trim();
    match p.strip_suffix('*') {
        Some(prefix) => key
            .to_ascii_uppercase()
            .starts_with(&prefix.to_ascii_uppercase()),
        None => p.eq_ignore_ascii_case(key),
    }
}

/// The patterns of `--checks`/`--skip` (and the configuration file's `checks`/`skip`) that
/// name no registry check, handed to the other finding sources. `only` empty means "all of
/// the source's rules"; [`Selection::NOTHING`] in `only` means none (only registry checks
/// were asked for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    /// A pattern that matches no rule.
    pub const NOTHING: &'static str = "-";
}

/// Is the rule `id`/`name` selected?
pub fn picked(sel: &Selection, id: &str, name: &str) -> bool {
    let hit = |p: &String| pattern_hits(p, id) || pattern_hits(p, name);
    (sel.only.is_empty() || sel.only.iter().any(hit)) && !sel.skip.iter().any(hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_hits("rbac*", "RBAC003"));
        assert!(pattern_hits("read-secrets", "READ-SECRETS"));
        assert!(!pattern_hits("RBAC00", "RBAC003"));
        let sel = Selection {
            only: vec!["RBAC*".into()],
            skip: vec!["RBAC004".into()],
        };
        assert!(picked(&sel, "RBAC003", "x"));
        assert!(!picked(&sel, "RBAC004", "x"));
        assert!(!picked(&sel, "NP001", "x"));
        let none = Selection {
            only: vec![Selection::NOTHING.into()],
            skip: vec![],
        };
        assert!(!picked(&none, "RBAC003", "x"));
    }
}
