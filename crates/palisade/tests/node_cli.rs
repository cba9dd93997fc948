//! `palisade node`: the check on fixture roots in every format, --fail-on, kube-bench
//! check files, the analyses, the catalog, and bad input.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("crates/palisade-node/tests/fixtures")
        .join(name)
}

fn palisade(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("palisade")
        .unwrap()
        .current_dir(repo())
        .env("PALISADE_LOG", "off")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The hardened fixture with its modes and owners (as the node crate's tests set them).
fn hardened() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    palisade_node::testing::install(
        "kubeadm-hardened",
        tmp.path(),
        palisade_node::testing::HARDENED,
    )
    .expect("install the fixture (chown needs root, as CI runs)");
    tmp
}

#[test]
fn hardened_node_is_clean_in_every_format() {
    let tmp = hardened();
    let root = tmp.path().to_str().unwrap();
    let cluster = tmp.path().join("cluster");
    let cluster = cluster.to_str().unwrap();
    let (code, out, err) = palisade(&[
        "node",
        "check",
        "--root",
        root,
        "--manifests",
        cluster,
        "-o",
        "json",
        "--fail-on",
        "info",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["node"]["total"]["fail"], 0);
    assert_eq!(v["node"]["total"]["not_found"], 0);
    assert!(
        v["findings"].as_array().unwrap().is_empty(),
        "{}",
        v["findings"]
    );
    assert_eq!(v["node"]["benchmark"], "cis-1.12");
    assert_eq!(v["node"]["results"].as_array().unwrap().len(), 131);
    let (code, out, _) = palisade(&["node", "check", "--root", root, "--benchmark", "cis-1.10"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "== Summary 4 Worker Node Security Configuration ==\n24 checks PASS, 0 checks FAIL"
        ),
        "{out}"
    );
}

#[test]
fn misconfigured_node_fails_with_file_and_line() {
    let f = fixture("kubeadm-misconfigured");
    let root = f.to_str().unwrap();
    let cluster = f.join("cluster");
    let (code, out, err) = palisade(&[
        "node",
        "check",
        "--root",
        root,
        "--manifests",
        cluster.to_str().unwrap(),
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("[FAIL] 1.3.7 Controller manager binds to 127.0.0.1 (Automated)\n        --bind-address=0.0.0.0 (flag, /proc/102/cmdline)"), "{out}");
    assert!(out.contains("[FAIL] 4.2.2 Kubelet authorization mode is not AlwaysAllow (Automated)\n        authorization.mode=AlwaysAllow (config file /opt/kubelet/custom-config.yaml)"), "{out}");
    assert!(out.contains("== Summary total =="));
    assert!(out.contains("[CRITICAL] ENC001 /etc/kubernetes/encryption-config.yaml:6: identity is the first provider"), "{out}");
    // SARIF and JUnit carry the same findings.
    let (code, out, _) = palisade(&["node", "check", "--root", root, "-o", "sarif"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let r = results.iter().find(|r| r["ruleId"] == "CIS-1.3.7").unwrap();
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "file:///etc/kubernetes/manifests/kube-controller-manager.yaml"
    );
    assert_eq!(loc["region"]["startLine"], 16);
    let (_, out, _) = palisade(&["node", "check", "--root", root, "-o", "junit"]);
    assert!(
        out.contains("<testsuite") && out.contains("CIS-2.2"),
        "{out}"
    );
}

#[test]
fn kube_bench_files_run_alongside() {
    let tmp = hardened();
    let (code, out, err) = palisade(&[
        "node",
        "check",
        "--root",
        tmp.path().to_str().unwrap(),
        "--checks-file",
        "crates/palisade-node/tests/kube-bench/node-custom.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[INFO] kube-bench 9 Team node checks"),
        "{out}"
    );
    assert!(
        out.contains("[PASS] 9.1.1 Kubelet anonymous auth is off"),
        "{out}"
    );
    assert!(
        out.contains("[WARN] 9.1.13 A shell pipeline needs --allow-exec"),
        "{out}"
    );
    assert!(out.contains("== Summary kube-bench 9 Team node checks ==\n9 checks PASS, 0 checks FAIL, 4 checks WARN, 1 checks INFO"), "{out}");
    let (code, _, err) = palisade(&[
        "node",
        "check",
        "--root",
        tmp.path().to_str().unwrap(),
        "--checks-file",
        "crates/palisade-node/tests/kube-bench/broken.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("broken.yaml:6: error: check without an `id`"),
        "{err}"
    );
}

#[test]
fn analyses_from_files() {
    let f = fixture("kubeadm-misconfigured");
    let (code, out, _) = palisade(&[
        "node",
        "audit-policy",
        f.join("etc/kubernetes/audit-policy.yaml").to_str().unwrap(),
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("audit-policy.yaml:8: high AUD001: Secrets are logged at RequestResponse"),
        "{out}"
    );
    let (code, out, _) = palisade(&[
        "node",
        "encryption",
        f.join("etc/kubernetes/encryption-config.yaml")
            .to_str()
            .unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["check"], "ENC001");
    let (_, out, _) = palisade(&[
        "node",
        "corefile",
        f.join("cluster/cluster.yaml").to_str().unwrap(),
    ]);
    assert!(
        out.contains("cluster.yaml:48: high DNS001: server .:53: `transfer ... to *`"),
        "{out}"
    );
    let (_, out, _) = palisade(&["node", "metadata", f.join("cluster").to_str().unwrap()]);
    assert!(
        out.contains("shop/web[Deployment] can reach the cloud metadata API"),
        "{out}"
    );
    let (_, out, _) = palisade(&[
        "node",
        "metadata",
        fixture("kubeadm-hardened")
            .join("cluster")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.starts_with("0 workload(s)"), "{out}");
    let (code, out, _) = palisade(&[
        "node",
        "eol",
        "v1.30.2",
        "--date",
        "2026-12-03",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("Kubernetes 1.30 reached end of life on 2025-06-28"),
        "{out}"
    );
}

#[test]
fn catalog_lists_and_explains_the_cis_checks() {
    let (code, out, _) = palisade(&["checks", "explain", "CIS-4.2.1"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Kubelet anonymous requests are disabled")
            && out.contains("CIS Kubernetes Benchmark v1.12, control 4.2.1"),
        "{out}"
    );
    let md = std::fs::read_to_string(repo().join("docs/checks.md")).unwrap();
    for id in [
        "CIS-1.2.1",
        "CIS-4.2.4",
        "CIS-1.10-5.2.9",
        "AUD001",
        "ENC001",
        "DNS001",
        "MD001",
        "EOL001",
    ] {
        assert!(md.contains(id), "{id} not in docs/checks.md");
    }
}

#[test]
fn bad_input_is_exit_2_with_a_clear_error() {
    let (code, _, err) = palisade(&["node", "check", "--root", "/nonexistent/node"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--root /nonexistent/node: not a directory"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("audit.yaml");
    std::fs::write(&bad, "kind: Policy\nrules: [\n").unwrap();
    let (code, _, err) = palisade(&["node", "audit-policy", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("audit.yaml:") && err.contains("cannot parse"),
        "{err}"
    );
    let (code, _, err) = palisade(&["node", "check", "--profile", "openshift"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown profile"), "{err}");
}
