//! Falco 0.34.1's own k8s audit test suite (`../shared/conformance/falco-k8saudit`, read at
//! test time): each case's rule files are loaded in order, unchanged, its events replayed, and
//! detection, per-rule alert counts and the expected priority are checked. The upstream rule
//! files of today (`rules-latest/`) must load with every rule and macro compiled.

use palisade_detect::k8saudit::AuditEvent;
use palisade_detect::{Engine, Priority, RuleSet};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn suite() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/falco-k8saudit"
    ))
    .to_path_buf()
}

fn load(files: &[PathBuf]) -> RuleSet {
    let mut set = RuleSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        set.load(&f.display().to_string(), &text);
    }
    set
}

#[test]
fn falco_k8s_audit_suite() {
    let root = suite();
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("cases.json"))
            .expect("conformance suite ../shared/conformance/falco-k8saudit is missing"),
    )
    .unwrap();
    assert!(cases.len() >= 45);
    let mut failed = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let files: Vec<PathBuf> = c["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| root.join(r.as_str().unwrap()))
            .collect();
        let set = load(&files);
        let engine = Engine::from_ruleset(&set);
        let errors: Vec<String> = engine
            .compiled
            .diags
            .iter()
            .filter(|d| d.level == palisade_detect::rules::Level::Error)
            .map(|d| d.to_string())
            .collect();
        let text = std::fs::read_to_string(root.join(c["events"].as_str().unwrap())).unwrap();
        let host: Arc<str> = Arc::from("conformance");
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut levels: BTreeMap<Priority, u64> = BTreeMap::new();
        let mut n = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            n += 1;
            let ev = AuditEvent::new(v, n, host.clone()).expect("audit event");
            if let Some(a) = engine.process(&ev, ev.time_ns, "conformance") {
                *counts.entry(a.rule).or_default() += 1;
                *levels.entry(a.priority).or_default() += 1;
            }
        }
        let mut problems = Vec::new();
        if !errors.is_empty() {
            problems.push(format!("rule errors: {}", errors.join(" | ")));
        }
        let detect = c["detect"].as_bool().unwrap();
        let total: u64 = counts.values().sum();
        if !detect && total > 0 {
            problems.push(format!("expected no alert, got {counts:?}"));
        }
        if detect {
            if total == 0 {
                problems.push("expected alerts, got none".into());
            }
            if let Some(level) = c["detect_level"].as_str() {
                let p = Priority::parse(level).unwrap();
                if !levels.contains_key(&p) {
                    problems.push(format!("no alert at {level}: {levels:?}"));
                }
            }
            for want in c["detect_counts"].as_array().into_iter().flatten() {
                for (rule, count) in want.as_object().unwrap() {
                    let got = counts.get(rule).copied().unwrap_or(0);
                    if got != count.as_u64().unwrap() {
                        problems.push(format!(
                            "rule {rule:?}: expected {count} alert(s), got {got} (all: {counts:?})"
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            println!("PASS {name} ({total} alert(s))");
        } else {
            println!("FAIL {name}: {}", problems.join("; "));
            failed.push(name.to_string());
        }
    }
    println!(
        "falco k8s audit conformance: {}/{} cases pass",
        cases.len() - failed.len(),
        cases.len()
    );
    assert!(failed.is_empty(), "failing cases: {failed:?}");
}

#[test]
fn latest_upstream_rules_compile() {
    let root = suite().join("rules-latest");
    let mut total = (0, 0, 0, 0);
    for f in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
        "k8s_audit_rules.yaml",
    ] {
        let set = load(&[root.join(f)]);
        let engine = Engine::from_ruleset(&set);
        let c = &engine.compiled;
        for d in &c.diags {
            println!("{d}");
        }
        println!(
            "{f}: {}/{} rules compiled ({} disabled), {}/{} macros compiled, {} lists",
            c.rules_compiled,
            c.rules_total,
            c.rules_disabled,
            c.macros_compiled,
            c.macros_total,
            c.lists_total
        );
        assert!(c.diags.is_empty(), "{f}: {} diagnostics", c.diags.len());
        assert_eq!(c.rules_compiled, c.rules_total, "{f}");
        assert_eq!(c.macros_compiled, c.macros_total, "{f}");
        total.0 += c.rules_compiled;
        total.1 += c.macros_compiled;
        total.2 += c.lists_total;
        total.3 += 1;
    }
    assert!(total.0 > 100 && total.1 > 100, "{total:?}");
}
