//! `palisade rbac` end to end through the binary: output formats, exit codes and errors.

use assert_cmd::Command;
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../palisade-rbac/tests/fixtures"
);

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn who_can_json_names_subject_scope_and_binding() {
    let out = palisade()
        .args([
            "rbac",
            "who-can",
            "get",
            "secrets",
            "-n",
            "shop",
            "--name",
            "db-password",
            "-o",
            "json",
        ])
        .arg(fixture("semantics.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed = v["allowed"].as_array().unwrap();
    let alice = allowed
        .iter()
        .find(|a| a["subject"]["name"] == "alice")
        .expect("alice");
    assert_eq!(alice["scope"], "namespace shop");
    assert_eq!(alice["binding"], "RoleBinding shop/alice-secret");
    assert_eq!(alice["rule"]["resourceNames"][0], "db-password");
}

#[test]
fn who_can_rejects_unknown_resources_clearly() {
    let out = palisade()
        .args(["rbac", "who-can", "get", "widgets"])
        .arg(fixture("semantics.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown resource \"widgets\""), "{err}");
}

#[test]
fn can_prints_a_table_per_scope() {
    let out = palisade()
        .args(["rbac", "can", "User:alice"])
        .arg(fixture("semantics.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("== cluster-wide"), "{text}");
    assert!(text.contains("== namespace shop"), "{text}");
    assert!(text.contains("[db-password]"), "{text}");
}

#[test]
fn risks_fail_on_and_json() {
    let out = palisade()
        .args(["rbac", "risks", "--fail-on", "critical", "-o", "json"])
        .arg(fixture("risks.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["id"] == "RBAC001"));
}

#[test]
fn bad_input_is_reported_and_exit_is_2() {
    let out = palisade()
        .args(["rbac", "risks"])
        .arg(fixture("bad.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:17: error: ClusterRole \"malformed\": rules[0].verbs"),
        "{err}"
    );
}

#[test]
fn paths_dot_and_generate() {
    let out = palisade()
        .args(["rbac", "paths", "-o", "dot"])
        .arg(fixture("escalation.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph escalation {"));

    // The HTML page is drawn by the console's graph component (the page of `paths -o html`):
    // one self-contained file with the graph's data, the component inlined, the tables under it.
    let out = palisade()
        .args(["rbac", "paths", "-o", "html"])
        .arg(fixture("escalation.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(html.contains("<canvas id=\"graph\""), "{html}");
    assert!(html.contains("<script id=\"graph-data\" type=\"application/json\">"));
    assert!(html.contains("cluster-admin equivalent"));
    assert!(html.contains("<h2>Paths</h2>"));
    assert!(
        !html.contains("<script src") && !html.contains("http://") && !html.contains("https://")
    );

    let out = palisade()
        .args([
            "rbac",
            "generate",
            "--subject",
            "ServiceAccount:ci/deployer",
            "--audit-log",
        ])
        .arg(fixture("audit.jsonl"))
        .output()
        .unwrap();
    // The fixture has one malformed line: reported, exit 2, roles still written.
    assert_eq!(out.status.code(), Some(2));
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("kind: Role\n"), "{yaml}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit.jsonl:6: error"));
}

#[test]
fn unknown_kubernetes_version_is_an_error() {
    let out = palisade()
        .args(["rbac", "risks", "--kubernetes-version", "1.2"])
        .arg(fixture("risks.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no default roles for Kubernetes"));
}

/// `RESOURCE/NAME` is the object named NAME, as `kubectl auth can-i` reads it: a Role that
/// grants exactly that Secret answers (it used to be read as a subresource, with 0 grants).
#[test]
fn who_can_reads_resource_slash_name_as_kubectl_does() {
    let run = |args: &[&str]| {
        palisade()
            .args(["rbac", "who-can", "get"])
            .args(args)
            .args(["-n", "shop", "-o", "json"])
            .arg(fixture("semantics.yaml"))
            .output()
            .unwrap()
    };
    let out = run(&["secrets/db-password"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["request"]["name"], "db-password");
    assert_eq!(v["request"]["subresource"], "");
    let bindings: Vec<&str> = v["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["binding"].as_str().unwrap())
        .collect();
    assert!(
        bindings.contains(&"RoleBinding shop/alice-secret"),
        "{bindings:?}"
    );
    // --name is the same question.
    let same = run(&["secrets", "--name", "db-password"]);
    assert_eq!(same.stdout, out.stdout);
    // A subresource is asked with --subresource.
    let out = run(&["pods", "--subresource", "exec"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["request"]["subresource"], "exec");
    // pods/exec alone is ambiguous: exit 2, both spellings named.
    let out = run(&["pods/exec"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pods --subresource exec") && err.contains("pods --name exec"),
        "{err}"
    );
}

/// `rbac can-i VERB RESOURCE --as SUBJECT` answers like `kubectl auth can-i`: yes with the
/// API server's reason, no (exit 1 only with --fail-on-deny), and the same resource forms.
#[test]
fn can_i_answers_yes_or_no_with_kubectl_forms() {
    let run = |args: &[&str]| {
        palisade()
            .args(["rbac", "can-i"])
            .args(args)
            .arg(fixture("semantics.yaml"))
            .output()
            .unwrap()
    };
    let out = run(&[
        "get",
        "secrets/db-password",
        "--as",
        "User:alice",
        "-n",
        "shop",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("yes\n"), "{text}");
    assert!(text.contains("alice-secret"), "{text}");
    // resourceNames limits the grant to that one Secret.
    let out = run(&[
        "get",
        "secrets/other",
        "--as",
        "User:alice",
        "-n",
        "shop",
        "--fail-on-deny",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no\n"));
    let out = run(&[
        "get",
        "secrets",
        "--as",
        "User:alice",
        "-n",
        "shop",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no is not a failure without --fail-on-deny"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["allowed"], false);
    let out = run(&["create", "pods/exec", "--as", "User:alice"]);
    assert_eq!(out.status.code(), Some(2));
}
