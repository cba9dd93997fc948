//! The registry of every check, sorted by ID.

use crate::context::Check;
use std::sync::OnceLock;

/// Every check this build has, sorted by ID.
pub fn all() -> &'static [&'static dyn Check] {
    static ALL: OnceLock<Vec<&'static dyn Check>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<&'static dyn Check> = Vec::new();
        v.extend_from_slice(crate::pss::CHECKS);
        v.extend_from_slice(crate::hardening::workload::CHECKS);
        v.extend_from_slice(crate::hardening::image::CHECKS);
        v.extend_from_slice(crate::hardening::secrets::CHECKS);
        v.extend_from_slice(crate::hardening::network::CHECKS);
        v.extend_from_slice(crate::hardening::rbac::CHECKS);
        v.extend_from_slice(crate::hardening::namespace::CHECKS);
        v.sort_by_key(|c| c.meta().id);
        v
    })
}

/// Finds a check by ID (case-insensitive) or name.
pub fn find(key: &str) -> Option<&'static dyn Check> {
    all()
        .iter()
        .copied()
        .find(|c| c.meta().id.eq_ignore_ascii_case(key) || c.meta().name == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for c in all() {
            let m = c.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(names.insert(m.name), "duplicate name {}", m.name);
            assert!(
                (m.id.starts_with("PSS") || m.id.starts_with("PAL"))
                    && m.id.len() == 6
                    && m.id[3..].chars().all(|c| c.is_ascii_digit()),
                "bad id {}",
                m.id
            );
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "bad name {}",
                m.name
            );
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(m.docs.contains(section), "{} docs lack {section:?}", m.id);
            }
            assert_eq!(m.pss.is_some(), m.id.starts_with("PSS"), "{}", m.id);
        }
    }

    #[test]
    fn catalog_size() {
        let hardening = all()
            .iter()
            .filter(|c| c.meta().id.starts_with("PAL"))
            .count();
        assert!(hardening >= 40, "only {hardening} hardening checks");
        let pss = all().iter().filter(|c| c.meta().pss.is_some()).count();
        assert_eq!(pss, 19, "one check per upstream PSS control");
    }
}
