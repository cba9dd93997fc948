//! `palisade detect` through the binary: run, validate, fields; exit codes and errors.

use assert_cmd::Command;
use serde_json::Value;

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/falco-k8saudit"
);
const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/detect");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("palisade")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_audit_log_gives_falco_json_alerts() {
    let rules = format!("{SUITE}/rules-latest/k8s_audit_rules.yaml");
    let ev = format!("{SUITE}/events/create_nginx_pod_privileged.json");
    let (code, out, err) = run(&["detect", "run", "-r", &rules, "--hostname", "ci", &ev]);
    assert_eq!(code, 0, "{err}");
    let alerts: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{out}");
    let a = &alerts[0];
    assert_eq!(a["rule"], "Create Privileged Pod");
    assert_eq!(a["priority"], "Warning");
    assert_eq!(a["source"], "k8s_audit");
    assert_eq!(a["hostname"], "ci");
    for k in ["time", "output", "output_fields", "tags"] {
        assert!(!a[k].is_null(), "{k} missing in {a}");
    }
    assert!(a["output_fields"]["ka.user.name"].is_string());
    assert!(err.contains("1 event(s), 1 alert(s)"), "{err}");
    let (code, _, _) = run(&["detect", "run", "--fail-on-alert", "-r", &rules, &ev]);
    assert_eq!(code, 1);
    // Text output and rate limiting (counted, not silent).
    let evs = format!("{SUITE}/events/create_configmap_sensitive_values.json");
    let dis = format!("{SUITE}/rules/disallow_kactivity.yaml");
    let old = format!("{SUITE}/rules/k8s_audit_rules.yaml");
    let (code, out, err) = run(&[
        "detect",
        "run",
        "-o",
        "text",
        "--rate-limit",
        "0.001",
        "--rate-burst",
        "2",
        "-r",
        &old,
        "-r",
        &dis,
        &evs,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.contains(": Warning ")), "{out}");
    assert!(err.contains("4 alert(s) suppressed by the rate limit (Create/Modify Configmap With Private Credentials: 4)"), "{err}");
}

#[test]
fn run_tetragon_events_with_upstream_syscall_rules() {
    let rules = format!("{SUITE}/rules-latest/falco_rules.yaml");
    let (code, out, err) = run(&[
        "detect",
        "run",
        "-r",
        &rules,
        &format!("{EX}/tetragon.jsonl"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"rule\":\"Netcat Remote Code Execution in Container\""),
        "{out}"
    );
    assert!(
        out.contains("\"rule\":\"Read sensitive file untrusted\""),
        "{out}"
    );
}

#[test]
fn validate_reports_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        "- macro: m\n  condition: ka.verb = get\n- rule: Typo\n  desc: d\n  condition: m and ka.usr.name = bob\n  output: x\n  priority: warning\n  source: k8s_audit\n- rule: Bad op\n  desc: d\n  condition: evt.rawres contains x\n  output: x\n  priority: info\n- rule: No macro\n  desc: d\n  condition: nope and proc.name = x\n  output: x\n  priority: info\n- rule: Wrong source\n  desc: d\n  condition: proc.name = sh\n  output: x\n  priority: info\n  source: k8s_audit\n",
    )
    .unwrap();
    let (code, out, err) = run(&["detect", "validate", p.to_str().unwrap()]);
    assert_eq!(code, 2);
    let f = p.display().to_string();
    assert!(
        err.contains(&format!(
            "{f}:3: error: rule Typo: unknown field ka.usr.name"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{f}:9: error: rule Bad op: operator contains cannot be used with field evt.rawres of type int64")), "{err}");
    assert!(
        err.contains(&format!(
            "{f}:14: error: rule No macro: undefined macro nope"
        )),
        "{err}"
    );
    assert!(err.contains("rule Wrong source: field proc.name belongs to source syscall (the rule's source is k8s_audit)"), "{err}");
    assert!(out.contains("0/4 rules compiled"), "{out}");
    let latest = format!("{SUITE}/rules-latest");
    let files: Vec<String> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
        "k8s_audit_rules.yaml",
    ]
    .iter()
    .map(|f| format!("{latest}/{f}"))
    .collect();
    let mut args = vec!["detect", "validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");
}

#[test]
fn fields_lists_sources() {
    let (code, out, _) = run(&["detect", "fields", "--source", "k8s_audit", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"ka.req.pod.containers.privileged") && names.contains(&"jevt.value"));
    assert!(!names.contains(&"proc.name"));
    let (code, _, err) = run(&["detect", "fields", "--source", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown source"));
}
