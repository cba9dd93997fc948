//! The one catalog, aggregated: the checks of palisade-checks plus the rule tables of every
//! engine that emits IDs. palisade-checks owns the type and the docs generation; this is the
//! only place that knows every source, because it is the only crate that depends on them all.
//! To add a source, add one `c.add(…)` line here (and its rows appear in `palisade checks`,
//! `checks explain` and docs/checks.md; `tests/catalog.rs` checks that what it emits is
//! registered).

use palisade_checks::Catalog;
use std::sync::OnceLock;

/// Every rule any command can emit.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut c = Catalog::builtin();
        c.add("rbac", "RBAC risks", &[], crate::rbac::catalog_rules());
        c.add(
            "netpol",
            "Network policy lint",
            &[],
            crate::netpol::catalog_rules(),
        );
        c.add(
            "node",
            "Node and control plane (CIS Kubernetes Benchmark)",
            &["cis"],
            palisade_node::catalog(),
        );
        c.add(
            "image",
            "Container images",
            &[],
            palisade_image::harden::rules(),
        );
        c
    })
}

/// Rule ID → the catalog heading it is listed under (PolicyReport results' `category`).
pub fn categories() -> std::collections::BTreeMap<String, String> {
    catalog()
        .entries()
        .iter()
        .map(|e| (e.rule.id.clone(), e.category.clone()))
        .collect()
}
