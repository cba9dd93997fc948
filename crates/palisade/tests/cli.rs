//! End-to-end tests of the `palisade` binary: inputs, outputs, exit codes, configuration.

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

fn json_scan(args: &[&str], stdin: Option<&str>) -> (i32, Value, String) {
    let mut c = palisade();
    c.arg("scan").args(args).args(["-o", "json", "--no-config"]);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn checks_of(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn insecure_example_fails_with_located_findings() {
    let (code, v, _) = json_scan(&["examples/insecure"], None);
    assert_eq!(code, 1);
    let priv_finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "PSS102")
        .expect("privileged container found");
    assert_eq!(priv_finding["source"], "examples/insecure/shop.yaml");
    assert_eq!(priv_finding["line"], 36);
    assert_eq!(
        priv_finding["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(priv_finding["object"]["kind"], "Deployment");
    assert_eq!(priv_finding["object"]["namespace"], "shop");
}

#[test]
fn hardened_example_is_clean() {
    let (code, v, stderr) = json_scan(&["examples/hardened"], None);
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        0,
        "hardened example has findings: {:#}",
        v["findings"]
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(v["summary"]["objects"].as_u64().unwrap() >= 9);
}

#[test]
fn stdin_and_helm_templates() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: [{name: c, image: x:1}]\n";
    let (code, v, _) = json_scan(&["-", "--checks", "PSS101"], Some(pod));
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["source"], "<stdin>");
    assert_eq!(v["findings"][0]["line"], 5);

    let helm =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"app.fullname\" . }}\n";
    let (code, v, stderr) = json_scan(&["-"], Some(helm));
    assert_eq!(code, 2);
    assert!(stderr.contains("helm template"), "{stderr}");
    assert_eq!(v["diagnostics"][0]["level"], "error");
}

#[test]
fn a_broken_document_does_not_stop_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mixed.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: x:1\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  hostIPC: true\n  containers: [{name: c, image: x:1}]\n",
    )
    .unwrap();
    let (code, v, stderr) = json_scan(&[f.to_str().unwrap(), "--checks", "PSS101"], None);
    assert_eq!(code, 2, "input errors exit 2");
    assert!(stderr.contains("mixed.yaml:"), "{stderr}");
    assert!(
        stderr.contains("error: cannot parse document 1"),
        "{stderr}"
    );
    assert_eq!(
        checks_of(&v),
        ["PSS101"],
        "the second document is still scanned"
    );
    assert_eq!(v["findings"][0]["object"]["name"], "b");
}

#[test]
fn hostile_inputs_give_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"unterminated\n".to_vec(),
            "cannot parse",
        ),
        (
            "binary.yaml",
            vec![0x7f, b'E', b'L', b'F', 0, 1, 2, 3, 0xff],
            "binary content",
        ),
        (
            "nested.yaml",
            "[".repeat(100_000).into_bytes(),
            "cannot parse",
        ),
        ("bomb.yaml", bomb.into_bytes(), "expands to more than"),
        (
            "latin1.yaml",
            b"apiVersion: v1\nkind: ConfigMap\ndata: {a: \xe9t\xe9}\n".to_vec(),
            "invalid UTF-8",
        ),
        (
            "big.yaml",
            "# padding\n".repeat(200_000).into_bytes(),
            "limit",
        ),
    ];
    for (name, bytes, expect) in &cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let path = dir.path().join(name);
        let (code, v, stderr) = json_scan(&[path.to_str().unwrap(), "--max-file-size", "1"], None);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expect),
            "{name}: {stderr}"
        );
        assert_eq!(v["summary"]["inputErrors"], 1, "{name}");
    }
}

#[test]
fn owned_objects_are_checked_once_through_their_owner() {
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"a","uid":"d1"},
  "spec":{"template":{"spec":{"hostPID":true,"containers":[{"name":"c","image":"x:1"}]}}}},
 {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-1","namespace":"a","uid":"r1",
   "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"d1","controller":true}]},
  "spec":{"template":{"spec":{"hostPID":true,"containers":[{"name":"c","image":"x:1"}]}}}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1-x","namespace":"a","uid":"p1",
   "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"r1","controller":true}]},
  "spec":{"hostPID":true,"containers":[{"name":"c","image":"x:1"}]}}]}"#;
    let (_, v, _) = json_scan(&["-", "--checks", "PSS101"], Some(list));
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["object"]["kind"], "Deployment");
    assert_eq!(v["summary"]["objects"], 1);
}

#[test]
fn fail_on_threshold_and_exit_codes() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x:1}]\n";
    // Only medium findings from the restricted profile.
    let mut c = palisade();
    c.args([
        "scan",
        "-",
        "--no-config",
        "--profile",
        "pss-restricted",
        "--fail-on",
        "high",
    ])
    .write_stdin(pod);
    c.assert().code(0);
    let mut c = palisade();
    c.args([
        "scan",
        "-",
        "--no-config",
        "--profile",
        "pss-restricted",
        "--fail-on",
        "medium",
    ])
    .write_stdin(pod);
    c.assert().code(1);
    let mut c = palisade();
    c.args(["scan", "-", "--fail-on", "severe"])
        .write_stdin(pod);
    c.assert().code(2);
    let mut c = palisade();
    c.args(["scan", "-", "--checks", "NOPE999"])
        .write_stdin(pod);
    c.assert().code(2);
    palisade().args(["scan"]).assert().code(2);
}

#[test]
fn annotations_suppress_and_are_never_silently_dropped() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    palisade.dev/ignore: \"PSS101, no-such-check\"\n    palisade.dev/ignore-reason: node exporter\nspec:\n  hostPID: true\n  hostNetwork: true\n  containers: [{name: c, image: x:1}]\n";
    let (code, v, stderr) = json_scan(&["-", "--checks", "PSS101"], Some(pod));
    assert_eq!(code, 0, "suppressed findings do not fail the scan");
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["suppressed"][0]["suppressed"]["reason"], "node exporter");
    assert!(
        stderr.contains("unknown check \"no-such-check\""),
        "{stderr}"
    );

    let mut c = palisade();
    c.args([
        "scan",
        "-",
        "--no-config",
        "--checks",
        "PSS101",
        "--color",
        "never",
    ])
    .write_stdin(pod);
    let out = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert!(out.contains("2 suppressed"), "{out}");
    assert!(
        !out.contains("hostNetwork"),
        "hidden unless --show-suppressed: {out}"
    );
    let mut c = palisade();
    c.args([
        "scan",
        "-",
        "--no-config",
        "--checks",
        "PSS101",
        "--show-suppressed",
    ])
    .write_stdin(pod);
    let out = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert!(
        out.contains("suppressed by annotation: node exporter"),
        "{out}"
    );
}

#[test]
fn configuration_file_is_discovered_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("deploy/app");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: infra}\nspec:\n  hostPID: true\n  hostNetwork: true\n  containers: [{name: c, image: x:1}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".palisade.yaml"),
        "profile: pss-baseline\nseverity:\n  PSS101: low\nexemptions:\n  - checks: [host-namespaces]\n    namespaces: [\"infr*\"]\n    kinds: [Pod]\n    reason: infra pods need the host network\n",
    )
    .unwrap();
    let out = Command::cargo_bin("palisade")
        .unwrap()
        .current_dir(&sub)
        .args(["scan", "pod.yaml", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["suppressed"][0]["severity"], "low");
    assert_eq!(v["suppressed"][0]["suppressed"]["by"], "config");

    std::fs::write(
        dir.path().join(".palisade.yaml"),
        "profile: all\nskip:\n  - PSS999\n",
    )
    .unwrap();
    let out = Command::cargo_bin("palisade")
        .unwrap()
        .current_dir(&sub)
        .args(["scan", "pod.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".palisade.yaml:2:") && err.contains("PSS999"),
        "{err}"
    );
}

#[test]
fn sarif_output_of_a_real_scan_validates() {
    let out = palisade()
        .args(["scan", "examples", "--no-config", "-o", "sarif"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 10);
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("examples/"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
            r["ruleId"]
        );
    }
}

#[test]
fn junit_and_human_output() {
    let out = palisade()
        .args(["scan", "examples/insecure", "--no-config", "-o", "junit"])
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml"));
    let failures = xml.matches("<failure ").count();
    let (_, v, _) = json_scan(&["examples/insecure"], None);
    assert_eq!(failures, v["findings"].as_array().unwrap().len());

    let out = palisade()
        .args([
            "scan",
            "examples/insecure",
            "--no-config",
            "--color",
            "always",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    let out = palisade()
        .env("NO_COLOR", "1")
        .args(["scan", "examples/insecure", "--no-config"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'));
    assert!(text.contains("Deployment/shop/storefront (examples/insecure/shop.yaml:"));
}

#[test]
fn checks_listing_and_explain() {
    let out = palisade().args(["checks"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("PSS102 ") && l.split_whitespace().nth(1) == Some("privileged")),
        "{text}"
    );
    let out = palisade()
        .args(["checks", "--framework", "pss-restricted", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 7);
    let out = palisade()
        .args(["checks", "explain", "privileged"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("## Why is this bad?") && text.contains("CIS Kubernetes Benchmark"));
    palisade()
        .args(["checks", "explain", "XYZ"])
        .assert()
        .code(2);
}

/// Every manifest of 15 real projects: no panic, no parse error.
#[test]
fn shared_corpus_scans_without_errors() {
    let (code, v, stderr) = json_scan(&["../shared/corpus"], None);
    assert_ne!(code, 2, "input errors on the corpus:\n{stderr}");
    assert_eq!(v["summary"]["inputErrors"], 0, "{stderr}");
    assert!(v["summary"]["files"].as_u64().unwrap() >= 860);
    assert!(v["summary"]["objects"].as_u64().unwrap() >= 3000);
    assert!(v["summary"]["findings"].as_u64().unwrap() > 1000);
}

/// `palisade scan --cluster` end to end: the real kube client, a kubeconfig context, and a
/// loopback server answering like an API server (one privileged pod; secrets forbidden).
#[test]
fn cluster_scan_through_kubeconfig() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        // Bounded: serve at most 200 connections, each with at most 50 requests.
        for stream in listener.incoming().take(200) {
            let Ok(stream) = stream else { break };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut out = stream;
            for _ in 0..50 {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    break;
                }
                let mut content_length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        content_length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; content_length];
                let _ = reader.read_exact(&mut body);
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                let path = path.split('?').next().unwrap_or("").to_string();
                let (code, json) = if path == "/api/v1/pods" {
                    (200, r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[
                        {"metadata":{"name":"debug","namespace":"ops","uid":"u1"},
                         "spec":{"containers":[{"name":"sh","image":"busybox:1.36","securityContext":{"privileged":true}}]}}]}"#.to_string())
                } else if path == "/api/v1/secrets" {
                    (403, r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets is forbidden: User \"ci\" cannot list resource \"secrets\" in API group \"\" at the cluster scope","reason":"Forbidden","code":403}"#.to_string())
                } else {
                    (200, r#"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}"#.to_string())
                };
                let reason = if code == 200 { "OK" } else { "Forbidden" };
                let resp = format!(
                    "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                if out.write_all(resp.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: ci}}\n- name: other\n  context: {{cluster: fake, user: ci}}\nusers:\n- name: ci\n  user: {{token: abc}}\n"
        ),
    )
    .unwrap();
    let (code, v, stderr) = json_scan(
        &[
            "--cluster",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--context",
            "fake",
            "--checks",
            "PSS102",
        ],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    let f = &v["findings"][0];
    assert_eq!(f["check"], "PSS102");
    assert_eq!(f["source"], "cluster:fake");
    assert_eq!(f["object"]["namespace"], "ops");
    assert_eq!(f["path"], "spec.containers[0].securityContext.privileged");
    assert!(
        stderr.contains("warning") && stderr.contains("secrets"),
        "{stderr}"
    );
    drop(server);
}

/// Golden files for the human and SARIF output of the insecure example: any change to what a
/// user sees shows up as a reviewed diff. Regenerate with `UPDATE_GOLDEN=1 cargo test -p palisade`.
#[test]
fn golden_outputs_of_the_insecure_example() {
    for (format, file) in [
        ("text", "insecure.human.txt"),
        ("sarif", "insecure.sarif.json"),
    ] {
        let out = palisade()
            .args([
                "scan",
                "examples/insecure",
                "--no-config",
                "--color",
                "never",
                "-o",
                format,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout)
            .unwrap()
            .replace(env!("CARGO_PKG_VERSION"), "<version>");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(file);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != text {
            let first = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            panic!(
                "{file} differs from the output at line {} (review, then UPDATE_GOLDEN=1):\n- {}\n+ {}",
                first + 1,
                want.lines().nth(first).unwrap_or("<end>"),
                text.lines().nth(first).unwrap_or("<end>")
            );
        }
    }
}
