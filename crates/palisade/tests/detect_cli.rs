//! `palisade detect` through the binary: run (with the built-in rules, with rule files, as
//! a stream in bounded memory), validate, fields, rules list/show; exit codes and errors.

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
    // Upstream's rules alone: the built-in ones would match first.
    let (code, out, err) = run(&[
        "detect",
        "run",
        "--no-default-rules",
        "-r",
        &rules,
        "--hostname",
        "ci",
        &ev,
    ]);
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
    let (code, _, _) = run(&[
        "detect",
        "run",
        "--fail-on-alert",
        "--no-default-rules",
        "-r",
        &rules,
        &ev,
    ]);
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
        "--no-default-rules",
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

#[test]
fn run_without_rule_files_uses_the_built_in_rules() {
    let ev = format!("{SUITE}/events/create_nginx_pod_privileged.json");
    let (code, out, err) = run(&["detect", "run", &ev]);
    assert_eq!(code, 0, "{err}");
    let a: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(a["rule"], "K8s Privileged Pod Created", "{out}");
    assert_eq!(a["priority"], "Warning");
    let tags = a["tags"].to_string();
    assert!(
        tags.contains("T1611") && tags.contains("mitre_privilege_escalation"),
        "{tags}"
    );

    // --rules adds: a user rule fires where the defaults are silent, and a user list entry
    // tunes a default rule.
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("user.yaml");
    std::fs::write(
        &user,
        "- list: pal_privileged_images\n  items: [nginx]\n  append: true\n\
         - rule: Nginx pod created\n  desc: d\n  condition: pal_complete and pal_create and ka.target.resource = pods and ka.req.pod.containers.image.repository in (nginx)\n  output: nginx (user=%ka.user.name)\n  priority: notice\n  source: k8s_audit\n  tags: [mitre_execution, T1610]\n",
    )
    .unwrap();
    let unpriv = format!("{SUITE}/events/create_nginx_pod_unprivileged.json");
    let (code, out, err) = run(&["detect", "run", &unpriv]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let (code, out, err) = run(&["detect", "run", "-r", user.to_str().unwrap(), &unpriv, &ev]);
    assert_eq!(code, 0, "{err}");
    let rules: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(rules, ["Nginx pod created", "Nginx pod created"], "{out}");

    // --no-default-rules replaces them: the user file alone no longer finds the built-in
    // macros and lists; a self-contained file runs alone; no file at all is a usage error.
    let hostnet = format!("{SUITE}/events/create_nginx_pod_hostnetwork.json");
    let (code, _, err) = run(&[
        "detect",
        "run",
        "--no-default-rules",
        "-r",
        user.to_str().unwrap(),
        &hostnet,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pal_privileged_images") || err.contains("pal_complete"),
        "{err}"
    );
    let own = dir.path().join("own.yaml");
    std::fs::write(
        &own,
        "- rule: Pod created\n  desc: d\n  condition: ka.verb = create and ka.target.resource = pods\n  output: pod (user=%ka.user.name)\n  priority: notice\n  source: k8s_audit\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "detect",
        "run",
        "--no-default-rules",
        "-r",
        own.to_str().unwrap(),
        &hostnet,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"rule\":\"Pod created\""), "{out}");
    let (code, _, err) = run(&["detect", "run", "--no-default-rules", &ev]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--no-default-rules needs at least one --rules FILE"),
        "{err}"
    );
}

#[test]
fn rules_list_and_show() {
    let (code, out, err) = run(&["detect", "rules", "list"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("K8s Privileged Pod Created "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("Warning") && line.contains("T1611"), "{line}");
    assert!(
        line.contains("<built-in>/palisade_k8s_audit.yaml:"),
        "{line}"
    );
    let (code, out, _) = run(&["detect", "rules", "list", "-o", "json"]);
    assert_eq!(code, 0);
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(all.len() >= 30, "{}", all.len());
    assert!(all
        .iter()
        .all(|r| !r["mitre"].as_array().unwrap().is_empty()));

    let (code, out, err) = run(&["detect", "rules", "show", "K8s Exec or Attach Into Pod"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("condition: pal_started and ka.target.resource = pods"),
        "{out}"
    );
    assert!(out.contains("tags: [k8s, mitre_execution, T1609]"), "{out}");
    let (code, out, _) = run(&["detect", "rules", "show"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("# <built-in>/palisade_k8s_audit.yaml\n"),
        "{out}"
    );
    assert!(out.contains("- rule: K8s Anonymous Request Allowed"));
    let (code, _, err) = run(&["detect", "rules", "show", "No Such Rule"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule named \"No Such Rule\""), "{err}");
}

/// Peak resident memory (VmHWM, KiB) of a running child, sampled until it exits.
fn run_measuring_peak(mut cmd: std::process::Command) -> (std::process::ExitStatus, u64, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, peak, err)
}

#[test]
fn run_streams_a_large_log_in_bounded_memory() {
    // ~300 MB: the suite's audit events replayed with unique IDs, most of them alerting.
    let mut base = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(format!("{SUITE}/events"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        for l in std::fs::read_to_string(p).unwrap_or_default().lines() {
            if l.contains("\"auditID\"") {
                base.push(l.to_string());
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    let (mut bytes, mut events) = (0usize, 0u64);
    use std::io::Write;
    while bytes < 300 << 20 {
        let l = &base[events as usize % base.len()];
        let l = l.replacen("\"auditID\":\"", &format!("\"auditID\":\"big-{events}-"), 1);
        w.write_all(l.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        bytes += l.len() + 1;
        events += 1;
    }
    w.flush().unwrap();
    drop(w);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("palisade"));
    cmd.args(["detect", "run", log.to_str().unwrap()]);
    let (status, peak_kib, err) = run_measuring_peak(cmd);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("{events} event(s), ")), "{err}");
    let alerts: u64 = err
        .split(" event(s), ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        alerts > events / 3,
        "{alerts} alerts for {events} events: {err}"
    );
    assert!(
        peak_kib < 100 * 1024,
        "peak RSS {peak_kib} KiB for a {} MiB log",
        bytes >> 20
    );
    eprintln!(
        "{events} events, {} MiB, peak RSS {} KiB",
        bytes >> 20,
        peak_kib
    );
}
