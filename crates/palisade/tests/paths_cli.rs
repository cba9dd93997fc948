//! `palisade paths` end to end on examples/paths: text, JSON and HTML, critical,
//! chokepoints, diff, --fail-on-path and bad input.

use assert_cmd::Command;
use std::path::PathBuf;

fn example(f: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/paths")
        .join(f)
        .display()
        .to_string()
}

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn cluster() -> [String; 2] {
    [example("cluster.yaml"), example("policy.yaml")]
}

#[test]
fn paths_from_the_internet_as_json_with_evidence() {
    let out = palisade()
        .arg("paths")
        .args(cluster())
        .args([
            "--vulns",
            &example("vulns.json"),
            "--config",
            &example("paths.yaml"),
        ])
        .args(["--to", "node-root", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 1);
    let kinds: Vec<&str> = paths[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "EXPOSED",
            "INGRESS_ROUTE",
            "EXPOSED_VULN",
            "IDENTITY_ASSUME",
            "PERMISSION_DISCOVER",
            "POD_CREATE"
        ]
    );
    let vuln = &paths[0]["steps"][2]["evidence"][1];
    assert_eq!(vuln["rule"], "CVE-2026-31337");
    assert!(vuln["source"].as_str().unwrap().ends_with("vulns.json"));
    let create = &paths[0]["steps"][5]["evidence"][1];
    assert_eq!(create["object"], "Role shop/job-runner");
    assert!(create["source"].as_str().unwrap().ends_with("cluster.yaml"));
    assert!(create["line"].as_u64().unwrap() > 0);
}

#[test]
fn fail_on_path_exits_one_and_text_names_every_step() {
    let out = palisade()
        .arg("paths")
        .args(cluster())
        .args(["--to", "node-root", "--fail-on-path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("attack paths: 1 path"), "{text}");
    assert!(text.contains("the internet → node-root  (6 hops"), "{text}");
    assert!(text.contains("POD_CREATE"), "{text}");
    // Fixed: no path, exit 0.
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.yaml");
    std::fs::write(
        &fixed,
        std::fs::read_to_string(example("cluster.yaml"))
            .unwrap()
            .replacen(
                "verbs: [\"create\", \"get\", \"list\"]",
                "verbs: [\"get\", \"list\"]",
                1,
            ),
    )
    .unwrap();
    palisade()
        .arg("paths")
        .arg(&fixed)
        .args(["--to", "node-root", "--fail-on-path"])
        .assert()
        .code(0);
}

#[test]
fn critical_chokepoints_html_and_diff() {
    let out = palisade()
        .args(["paths", "critical"])
        .args(cluster())
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&str> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sourceKey"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"pod:shop/web[Deployment]"), "{sources:?}");
    assert!(sources.contains(&"identity:ServiceAccount shop/web"));
    assert!(v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["jewel"] == "node-root" || p["jewel"] == "cluster-admin"));

    let out = palisade()
        .args(["paths", "chokepoints"])
        .args(cluster())
        .args(["--to", "node-root", "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pairs"], 1);
    assert_eq!(v["remaining"], 0);
    assert_eq!(v["fixes"].as_array().unwrap().len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("paths.html");
    palisade()
        .arg("paths")
        .args(cluster())
        .args(["-o", "html", "--output-file"])
        .arg(&html)
        .assert()
        .code(0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("<canvas id=\"graph\"")
            && page.contains("__palisadeGraph")
            && page.contains("Chokepoints")
    );
    assert!(!page.contains("http://") || !page.contains("<script src"));

    let before = dir.path().join("before.yaml");
    std::fs::write(
        &before,
        std::fs::read_to_string(example("cluster.yaml"))
            .unwrap()
            .replacen(
                "verbs: [\"create\", \"get\", \"list\"]",
                "verbs: [\"get\", \"list\"]",
                1,
            ),
    )
    .unwrap();
    let out = palisade()
        .args(["paths", "diff"])
        .arg(&before)
        .arg(example("cluster.yaml"))
        .args(["--critical", "--fail-on-path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("paths to node-root"), "{text}");
    assert!(
        text.contains("+ pod:shop/web[Deployment] → node-root"),
        "{text}"
    );
}

#[test]
fn bad_inputs_name_file_and_line_and_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.json");
    std::fs::write(&alerts, "{\"rule\":\"x\"}\nnot json\n").unwrap();
    let out = palisade()
        .arg("paths")
        .args(cluster())
        .arg("--alerts")
        .arg(&alerts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("alerts.json:1"), "{err}");
    assert!(err.contains("alerts.json:2"), "{err}");
    palisade()
        .args(["paths", "--from", "pod:nowhere/none"])
        .args(cluster())
        .assert()
        .code(2);
}
