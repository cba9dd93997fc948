//! The one catalog: every ID a command emits is registered (statically, per source table, and
//! by running the commands over the shared corpus and the examples), `palisade checks` lists
//! and explains them all, and docs/checks.md is generated from it.

use assert_cmd::Command;
use palisade::catalog::catalog;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade() -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.current_dir(repo()).env("PALISADE_LOG", "off");
    c
}

fn json(args: &[&str]) -> Value {
    let out = palisade().args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: bad JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn catalog_is_sound_and_every_source_table_is_registered() {
    let c = catalog();
    assert!(c.problems().is_empty(), "{:#?}", c.problems());
    let sources = c.sources();
    for s in ["pss", "scan", "rbac", "netpol"] {
        assert!(sources.contains(&s), "{s} missing from {sources:?}");
    }
    for d in palisade_rbac::risks::CATALOG {
        let e = c.find(d.id).unwrap_or_else(|| panic!("{} missing", d.id));
        assert_eq!((e.source, e.rule.name.as_str()), ("rbac", d.name));
    }
    for d in palisade_netpol::lint::CATALOG {
        let e = c.find(d.id).unwrap_or_else(|| panic!("{} missing", d.id));
        assert_eq!((e.source, e.rule.name.as_str()), ("netpol", d.name));
        assert!(
            !e.rule.docs.contains("no example recorded"),
            "{} has no example in netpol.rs LINT_DOCS",
            d.id
        );
    }
    for check in palisade_checks::registry::all() {
        assert!(c.contains(check.meta().id), "{}", check.meta().id);
    }
    let count = |s: &str| c.entries().iter().filter(|e| e.source == s).count();
    assert_eq!(count("rbac"), palisade_rbac::risks::CATALOG.len());
    assert_eq!(count("netpol"), palisade_netpol::lint::CATALOG.len());
    assert_eq!(
        count("pss") + count("scan"),
        palisade_checks::registry::all().len()
    );
}

#[test]
fn docs_checks_md_is_in_sync() {
    let path = repo().join("docs/checks.md");
    let want = palisade_checks::docs::catalog_markdown(catalog());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/checks.md is out of date: run `cargo run -q -- checks -o md > docs/checks.md` \
         (or UPDATE_DOCS=1 cargo test -p palisade --test catalog docs)"
    );
    for id in ["RBAC005", "NP004", "PSS102"] {
        assert!(want.contains(&format!("\n### {id}\n")), "{id}");
    }
}

fn emitted(v: &Value, key: &str, field: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f[field].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// IDs of user-written policies (`vap/<policy>`, `gatekeeper/<Kind>/<constraint>`) carry
/// their own metadata in the report and are not catalog rules.
fn is_user_policy(id: &str) -> bool {
    id.starts_with("vap/") || id.starts_with("gatekeeper/")
}

#[test]
fn every_id_a_command_emits_is_registered() {
    let c = catalog();
    let mut seen = BTreeSet::new();
    let shared = repo().join("../shared/corpus");
    let mut scans: Vec<Vec<&str>> = vec![
        vec!["examples/insecure"],
        vec!["examples/rbac/cluster.yaml"],
        vec![
            "examples/netpol/cluster.yaml",
            "examples/netpol/policies.yaml",
        ],
        vec!["examples/hardened"],
        vec![
            "examples/insecure",
            "--policy",
            "examples/policies/allowed-registries",
        ],
    ];
    if shared.is_dir() {
        scans.push(vec!["../shared/corpus"]);
    }
    for args in scans {
        let mut a = vec!["scan", "--no-config", "--profile", "all", "-o", "json"];
        a.extend(args);
        let v = json(&a);
        let ids = emitted(&v, "findings", "check");
        // The report's own rule table is the catalog's, for every built-in rule.
        for r in v["rules"].as_array().into_iter().flatten() {
            let id = r["id"].as_str().unwrap_or_default();
            if !is_user_policy(id) {
                let e = c
                    .find(id)
                    .unwrap_or_else(|| panic!("{a:?}: rule {id} not registered"));
                assert_eq!(r["name"].as_str(), Some(e.rule.name.as_str()), "{id}");
            }
        }
        seen.extend(ids);
    }
    let v = json(&[
        "rbac",
        "risks",
        "examples/rbac/cluster.yaml",
        "--include-defaults",
        "-o",
        "json",
    ]);
    for r in v.as_array().unwrap() {
        seen.insert(r["id"].as_str().unwrap().to_string());
    }
    let v = json(&[
        "netpol",
        "lint",
        "examples/netpol/cluster.yaml",
        "examples/netpol/policies.yaml",
        "-o",
        "json",
    ]);
    let lints: Vec<Value> = v
        .as_array()
        .cloned()
        .or_else(|| v["findings"].as_array().cloned())
        .unwrap_or_default();
    for f in &lints {
        if let Some(id) = f["id"].as_str().or(f["check"].as_str()) {
            seen.insert(id.to_string());
        }
    }
    // palisade node: the CIS check on a misconfigured fixture node, and each analysis.
    let fixture = "crates/palisade-node/tests/fixtures/kubeadm-misconfigured";
    let node_runs: [&[&str]; 4] = [
        &["node", "check", "--root", fixture, "-o", "json"],
        &[
            "node",
            "audit-policy",
            "examples/node/audit-policy.yaml",
            "-o",
            "json",
        ],
        &[
            "node",
            "encryption",
            "examples/node/encryption-config.yaml",
            "-o",
            "json",
        ],
        &["node", "corefile", "examples/node/Corefile", "-o", "json"],
    ];
    for args in node_runs {
        seen.extend(emitted(&json(args), "findings", "check"));
    }
    let unknown: Vec<&String> = seen
        .iter()
        .filter(|id| !is_user_policy(id) && !c.contains(id))
        .collect();
    assert!(
        unknown.is_empty(),
        "emitted but not registered: {unknown:?}"
    );
    // The runs reach every source, so the check above means something for each.
    for prefix in ["PSS", "PAL", "RBAC", "NP", "CIS-", "AUD", "ENC", "DNS"] {
        assert!(
            seen.iter().any(|id| id.starts_with(prefix)),
            "no {prefix} ID emitted: {seen:?}"
        );
    }
}

#[test]
fn checks_lists_filters_and_explains_every_source() {
    let all = json(&["checks", "-o", "json"]);
    assert_eq!(all.as_array().unwrap().len(), catalog().len());
    for source in ["pss", "scan", "rbac", "netpol"] {
        let v = json(&["checks", "--source", source, "-o", "json"]);
        let rows = v.as_array().unwrap();
        assert!(!rows.is_empty(), "{source}");
        assert!(rows.iter().all(|r| r["source"] == source), "{source}");
    }
    let out = palisade()
        .args(["checks", "explain", "RBAC005"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# RBAC005 pods-exec"), "{text}");
    assert!(text.contains("## Use instead") && text.contains("pods/exec"));
    let out = palisade()
        .args(["checks", "explain", "netpol-namespace-without-default-deny"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# NP004"));
    let out = palisade()
        .args(["checks", "--source", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rbac, netpol"));
    let text =
        String::from_utf8_lossy(&palisade().arg("checks").output().unwrap().stdout).into_owned();
    assert!(
        text.contains(&format!("\n{} rules", catalog().len())),
        "{text}"
    );
}
