//! The registry of every check, sorted by ID.

use crate::context::Check;
use crate::meta::CatalogEntry;
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

/// The one catalog: every rule any command can emit, from every source. This crate owns
/// the type, the checks' own entries ([`Catalog::builtin`]) and the docs generated from it
/// (`docs::catalog_markdown`); engines that cannot depend on this crate (palisade-rbac,
/// palisade-netpol) or that this crate cannot depend on (palisade-node, palisade-paths)
/// contribute their rule tables as `RuleInfo`s, and the binary aggregates them
/// (`palisade::catalog`).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// This crate's checks: Pod Security Standards (`pss`) and hardening (`scan`).
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        // Pod Security Standards first, as in the docs.
        let (pss, hardening): (Vec<&&dyn Check>, Vec<&&dyn Check>) =
            all().iter().partition(|c| c.meta().pss.is_some());
        for check in pss.into_iter().chain(hardening) {
            c.push(check.meta().catalog_entry());
        }
        c
    }

    /// Adds one source's rules under a docs heading. `help_uri`s are pointed at the rule's
    /// section of docs/checks.md.
    pub fn add(
        &mut self,
        source: &'static str,
        category: &str,
        frameworks: &[&str],
        rules: impl IntoIterator<Item = palisade_report::RuleInfo>,
    ) {
        for mut rule in rules {
            rule.help_uri = crate::meta::help_uri(&rule.id);
            self.push(CatalogEntry {
                source,
                category: category.to_string(),
                frameworks: frameworks.iter().map(|f| f.to_string()).collect(),
                rule,
            });
        }
    }

    fn push(&mut self, e: CatalogEntry) {
        // Sorted by source (in the order sources were added) then ID.
        let pos = self
            .entries
            .iter()
            .position(|x| x.source == e.source && x.rule.id > e.rule.id)
            .or_else(|| {
                self.entries
                    .iter()
                    .rposition(|x| x.source == e.source)
                    .map(|i| i + 1)
            })
            .unwrap_or(self.entries.len());
        self.entries.insert(pos, e);
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sources, in the order they were added.
    pub fn sources(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for e in &self.entries {
            if !v.contains(&e.source) {
                v.push(e.source);
            }
        }
        v
    }

    /// Finds an entry by ID (case-insensitive) or name.
    pub fn find(&self, key: &str) -> Option<&CatalogEntry> {
        self.entries
            .iter()
            .find(|e| e.rule.id.eq_ignore_ascii_case(key))
            .or_else(|| self.entries.iter().find(|e| e.rule.name == key))
    }

    /// Whether `id` (exactly as emitted) is in the catalog.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.rule.id == id)
    }

    /// What is wrong with the catalog: duplicate IDs or names, empty titles, documentation
    /// without the standard sections. Empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for e in &self.entries {
            let r = &e.rule;
            if !ids.insert(r.id.as_str()) {
                out.push(format!("{}: duplicate ID", r.id));
            }
            if !names.insert(r.name.as_str()) {
                out.push(format!("{}: duplicate name {}", r.id, r.name));
            }
            if r.title.trim().is_empty() {
                out.push(format!("{}: empty title", r.id));
            }
            for section in crate::meta::DOC_SECTIONS {
                if !r.docs.contains(section) {
                    out.push(format!("{}: docs lack {section:?}", r.id));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn builtin_catalog_is_sound_and_complete() {
        let c = Catalog::builtin();
        assert_eq!(c.len(), all().len());
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.sources(), ["pss", "scan"]);
        assert_eq!(c.find("privileged").map(|e| e.source), Some("pss"));
        assert_eq!(c.find("pss102").map(|e| e.rule.id.as_str()), Some("PSS102"));
    }

    #[test]
    fn added_sources_sort_by_id_within_source() {
        let rule = |id: &str| palisade_report::RuleInfo {
            id: id.into(),
            name: id.to_lowercase(),
            title: "t".into(),
            severity: crate::Severity::Low,
            docs: String::new(),
            tags: vec![],
            help_uri: String::new(),
        };
        let mut c = Catalog::default();
        c.add("b", "B", &[], [rule("B2"), rule("B1")]);
        c.add("a", "A", &["cis"], [rule("A9"), rule("A1")]);
        c.add("b", "B", &[], [rule("B0")]);
        let ids: Vec<&str> = c.entries().iter().map(|e| e.rule.id.as_str()).collect();
        assert_eq!(ids, ["B0", "B1", "B2", "A1", "A9"]);
        assert_eq!(c.sources(), ["b", "a"]);
        assert!(c.entries()[0].rule.help_uri.ends_with("checks.md#b0"));
        // Missing doc sections and duplicates are reported.
        c.add("a", "A", &[], [rule("A1")]);
        let p = c.problems();
        assert!(p.iter().any(|m| m == "A1: duplicate ID"), "{p:?}");
        assert!(p.iter().any(|m| m.contains("What it does")), "{p:?}");
    }

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
