//! `rbac risks`: which subjects hold which dangerous permissions, through which binding.

mod common;

use palisade_rbac::risks::{risks, RiskOptions, Severity, CATALOG};
use palisade_rbac::Subject;

#[test]
fn every_catalog_entry_is_detected_and_default_bindings_are_skipped() {
    let r = common::snapshot("risks.yaml");
    let found = risks(&r, &RiskOptions::default());
    for def in CATALOG {
        assert!(
            found.iter().any(|f| f.id == def.id),
            "{} ({}) not detected",
            def.id,
            def.name
        );
    }
    assert!(!found
        .iter()
        .any(|f| f.subject == Subject::group("system:masters")));
    let with_defaults = risks(
        &r,
        &RiskOptions {
            include_defaults: true,
        },
    );
    assert!(with_defaults
        .iter()
        .any(|f| f.subject == Subject::group("system:masters") && f.id == "RBAC001"));
}

#[test]
fn severity_depends_on_scope_and_names_and_the_binding_is_named() {
    let r = common::snapshot("risks.yaml");
    let found = risks(&r, &RiskOptions::default());
    let get = |id: &str, who: &Subject| {
        found
            .iter()
            .find(|f| f.id == id && f.subject == *who)
            .unwrap_or_else(|| panic!("{id} for {who}"))
    };
    let cluster = get("RBAC003", &Subject::user("sec-all"));
    assert_eq!(cluster.severity, Severity::Critical);
    assert_eq!(cluster.scope, "cluster-wide");
    assert_eq!(cluster.binding, "ClusterRoleBinding sec-all");
    let ns = get("RBAC003", &Subject::user("sec-ns"));
    assert_eq!(ns.severity, Severity::High);
    assert_eq!(ns.scope, "namespace shop");
    let named = get("RBAC003", &Subject::user("sec-named"));
    assert_eq!(named.severity, Severity::Medium);
    assert_eq!(named.only_names, vec!["tls"]);
    assert!(named.source.ends_with("risks.yaml") && named.line > 0);
    // edit (a default, aggregated role) bound in a namespace: judged by its real rules.
    let edit = get("RBAC005", &Subject::service_account("shop", "ci"));
    assert_eq!(edit.role, "ClusterRole edit");
    // cluster-admin is reported once, not once per permission.
    let admin: Vec<_> = found
        .iter()
        .filter(|f| f.subject == Subject::user("boss"))
        .collect();
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0].id, "RBAC001");
    // A RoleBinding cannot grant nodes/proxy: nothing reported for it.
    assert!(!found
        .iter()
        .any(|f| f.id == "RBAC009" && f.subject == Subject::user("ns-proxy")));
}
