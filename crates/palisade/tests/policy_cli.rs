//! End-to-end tests of `palisade scan --policy`, `palisade policy test` and
//! `palisade policy export-vap`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    repo().join("../shared")
}

fn palisade() -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.current_dir(repo())
        .env_remove("NO_COLOR")
        .env("PALISADE_LOG", "off");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_test_runs_the_example_suites_with_every_engine() {
    let (code, out, err) =
        run(palisade().args(["policy", "test", "examples/policies", "--engine", "all"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("2 suites, 9 cases: 9 passed, 0 failed"),
        "{out}"
    );
    // The Gatekeeper suite ran once per engine.
    assert!(
        out.contains("PASS  rego") && out.contains("PASS  cel"),
        "{out}"
    );

    let (code, out, _) =
        run(palisade().args(["policy", "test", "examples/policies", "-o", "json"]));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let cases: usize = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cases"].as_array().unwrap().len())
        .sum();
    assert_eq!(cases, 7);

    let (code, out, _) =
        run(palisade().args(["policy", "test", "examples/policies", "-o", "junit"]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("<?xml") && out.contains("tests=\"7\" failures=\"0\""),
        "{out}"
    );
}

#[test]
fn policy_test_fails_on_a_wrong_expectation_and_errors_on_broken_policies() {
    let dir = tempfile::tempdir().unwrap();
    let policy = repo().join("examples/policies/workload-ownership/policy.yaml");
    std::fs::write(
        dir.path().join("test.yaml"),
        format!(
            "apiVersion: palisade.dev/v1alpha1\nkind: PolicyTest\nmetadata: {{name: wrong}}\npolicies: [{}]\ncases:\n- name: unlabelled is wrongly expected allowed\n  object: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: a, namespace: shop}}}}\n  expect: {{allowed: true}}\n",
            policy.display()
        ),
    )
    .unwrap();
    let (code, out, err) = run(palisade().args(["policy", "test"]).arg(dir.path()));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("FAIL") && out.contains("0 passed, 1 failed"),
        "{out}"
    );

    // A CEL syntax error: the suite cannot run; the report names file and expression.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("policy.yaml"),
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: broken}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  validations:\n  - expression: \"object.spec.containers.all(c, \"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: broken}\nspec: {policyName: broken, validationActions: [Deny]}\n",
    )
    .unwrap();
    std::fs::write(
        broken.join("test.yaml"),
        "apiVersion: palisade.dev/v1alpha1\nkind: PolicyTest\nmetadata: {name: broken}\npolicies: [policy.yaml]\ncases:\n- name: any\n  object: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: []}}\n  expect: {allowed: true}\n",
    )
    .unwrap();
    let (code, out, err) = run(palisade().args(["policy", "test"]).arg(&broken));
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(out.contains("ERROR"), "{out}");
    assert!(
        out.contains("policy.yaml:8"),
        "the error names the expression's line: {out}"
    );

    // Not a suite at all.
    let (code, _, err) = run(palisade().args(["policy", "test"]).arg(&policy));
    assert_eq!(code, 2);
    assert!(err.contains("not a test suite"), "{err}");
}

#[test]
fn scan_with_policies_reports_vap_and_gatekeeper_findings() {
    let (code, out, err) = run(palisade().args([
        "scan",
        "examples/insecure",
        "--policy",
        "examples/policies",
        "--no-config",
        "-o",
        "json",
    ]));
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let policy_findings: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().contains('/'))
        .collect();
    let ids: Vec<&str> = policy_findings
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"vap/workload-ownership"), "{ids:?}");
    assert!(
        ids.contains(&"gatekeeper/PalisadeAllowedRegistries/acme-registries-only"),
        "{ids:?}"
    );
    let replicas = policy_findings
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .starts_with("replicas must be at most 1")
        })
        .expect("the param-driven replica limit");
    assert_eq!(replicas["severity"], "high");
    assert_eq!(replicas["object"]["kind"], "Deployment");
    assert!(replicas["source"].as_str().unwrap().ends_with("shop.yaml"));

    // The same with the Rego engine: one violation per offending container.
    let (_, out, _) = run(palisade().args([
        "scan",
        "examples/insecure",
        "--policy",
        "examples/policies",
        "--template-engine",
        "rego",
        "--no-config",
        "-o",
        "json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let rego: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "gatekeeper/PalisadeAllowedRegistries/acme-registries-only")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(rego.len() >= 2, "{rego:?}");
    assert!(
        rego.iter()
            .all(|m| m.contains("not from an allowed registry")),
        "{rego:?}"
    );

    // SARIF carries a rule for each policy.
    let (_, out, _) = run(palisade().args([
        "scan",
        "examples/insecure",
        "--policy",
        "examples/policies",
        "--no-config",
        "-o",
        "sarif",
    ]));
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"vap/workload-ownership"), "{rules:?}");
}

#[test]
fn scan_with_a_broken_policy_reports_it_and_runs_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("examples/policies/workload-ownership/policy.yaml"),
        dir.path().join("good.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8sbad}\nspec:\n  crd: {spec: {names: {kind: K8sBad}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package k8sbad\n      violation[{\"msg\": msg}] {\n        msg := \n      }\n",
    )
    .unwrap();
    let (code, out, err) = run(palisade()
        .args([
            "scan",
            "examples/insecure",
            "--no-config",
            "-o",
            "json",
            "--policy",
        ])
        .arg(dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.yaml") && err.contains("k8sbad"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == "vap/workload-ownership"));
}

/// `export-vap` output, read back by `policy test`, gives the built-in engine's verdict on every
/// Pod Security Standards fixture of the latest version.
#[test]
fn exported_pss_policy_passes_policy_test_on_the_pss_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("pss.yaml");
    let (code, _, err) = run(palisade()
        .args([
            "policy",
            "export-vap",
            "--pss",
            "restricted",
            "--output-file",
        ])
        .arg(&exported));
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        dir.path().join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n",
    )
    .unwrap();
    let mut suite = String::from(
        "apiVersion: palisade.dev/v1alpha1\nkind: PolicyTest\nmetadata: {name: pss-restricted}\npolicies: [pss.yaml]\nresources: [namespace.yaml]\ncases:\n",
    );
    let mut n = 0;
    for level in ["baseline", "restricted"] {
        for verdict in ["pass", "fail"] {
            let d = shared().join(format!("conformance/pss/{level}/v1.37/{verdict}"));
            let mut files: Vec<_> = std::fs::read_dir(&d)
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            for f in files {
                // A baseline-passing pod may still violate restricted: only baseline failures
                // and restricted fixtures have a known restricted verdict.
                if level == "baseline" && verdict == "pass" {
                    continue;
                }
                n += 1;
                suite.push_str(&format!(
                    "- name: {level}/{verdict}/{}\n  object: {}\n  expect: {{allowed: {}}}\n",
                    f.file_name().unwrap().to_string_lossy(),
                    f.display(),
                    verdict == "pass"
                ));
            }
        }
    }
    std::fs::write(dir.path().join("test.yaml"), suite).unwrap();
    let (code, out, err) = run(palisade().args(["policy", "test", "-q"]).arg(dir.path()));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("{n} cases: {n} passed")), "{out}");
    assert!(n > 100, "{n}");
}

#[test]
fn export_vap_needs_something_to_export() {
    let (code, _, err) = run(palisade().args(["policy", "export-vap"]));
    assert_eq!(code, 2);
    assert!(err.contains("nothing to export"), "{err}");
    let (code, out, _) = run(palisade().args(["policy", "export-vap", "examples/policies"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("name: palisade-gk-palisadeallowedregistries"),
        "{out}"
    );
    assert!(out.contains("name: workload-ownership"), "{out}");
}
