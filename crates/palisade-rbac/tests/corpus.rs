//! The shared corpus (`../shared/corpus`, read at test time) is analysed without error:
//! every RBAC object reads, every analysis runs over the whole snapshot.

use palisade_model::{load_paths, Level, LoadOptions};
use palisade_rbac::paths::{paths, PathOptions};
use palisade_rbac::risks::{risks, RiskOptions};
use palisade_rbac::{bootstrap, BuildOptions, Rbac, Request, UserInfo};
use std::path::PathBuf;

#[test]
fn corpus_is_analysed_without_error() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    assert!(
        dir.is_dir(),
        "{} is missing: ../shared must sit beside the repo",
        dir.display()
    );
    let loaded = load_paths(&[dir], &LoadOptions::default());
    let rbac = Rbac::build(
        &loaded.objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    );
    let errors: Vec<String> = rbac
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let own_roles = rbac.roles.iter().filter(|r| !r.default).count();
    let own_bindings = rbac.bindings.iter().filter(|b| !b.default).count();
    assert!(
        own_roles > 50 && own_bindings > 50,
        "{own_roles} roles, {own_bindings} bindings"
    );
    // Every binding of the corpus resolves its role, except where the corpus itself lacks it.
    let resolved = rbac.bindings.iter().filter(|b| b.role.is_some()).count();
    assert!(
        resolved * 10 >= rbac.bindings.len() * 9,
        "{resolved} of {}",
        rbac.bindings.len()
    );

    let found = risks(&rbac, &RiskOptions::default());
    assert!(
        found.iter().any(|r| r.id == "RBAC003"),
        "someone reads secrets in the corpus"
    );
    let report = paths(&rbac, &PathOptions::default());
    assert!(report.graph_nodes > 0);
    for s in rbac.subjects() {
        let tables = rbac.permissions(&UserInfo::of(s, &[]), None);
        assert!(!tables.is_empty());
    }
    let rows = rbac.who_can(&Request::resource("get", "", "secrets"), true);
    assert!(rows.len() > 10);
}
