//! `/metrics` output is what Prometheus reads: `promtool check metrics` (installed by
//! .ci/run from Debian's `prometheus` package) parses it and lints it without a single
//! problem. Without promtool on PATH the test fails under CI and is skipped elsewhere.

use palisade_admission::metrics::{Metrics, MAX_LABEL_SETS};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A realistic mix: every metric, both webhooks, every decision, bad requests, label values
/// that need escaping, and more kinds than the cardinality cap.
fn busy_metrics() -> Metrics {
    let m = Metrics::new();
    let us = Duration::from_micros;
    for (i, (op, kind, decision)) in [
        ("CREATE", "Pod", "denied"),
        ("CREATE", "Pod", "allowed"),
        ("UPDATE", "apps/Deployment", "allowed"),
        ("UPDATE", "batch/CronJob", "denied"),
        ("DELETE", "Pod", "allowed"),
        ("CONNECT", "PodExecOptions", "denied"),
        ("", "", "error"),
    ]
    .into_iter()
    .enumerate()
    {
        for n in 0..=i as u64 {
            m.observe_request("validate", op, kind, decision, us(40 + 350 * n * n));
        }
    }
    m.observe_request(
        "validate",
        "CREATE",
        "Pod",
        "allowed",
        Duration::from_secs(12),
    );
    m.observe_request("mutate", "CREATE", "Pod", "allowed", us(90));
    m.observe_request("mutate", "UPDATE", "apps/StatefulSet", "allowed", us(150));
    // A client making up kinds (and an operation) runs into the cap.
    for i in 0..MAX_LABEL_SETS + 10 {
        let kind = format!("example.com/Made{i}");
        m.observe_request("validate", "CREATE", &kind, "allowed", us(60));
    }
    m.observe_request("validate", "EXPLODE", "Pod", "error", us(10));
    m.observe_request(
        "validate",
        "CREATE",
        "we\"ird\\Kind\nwith newline",
        "denied",
        us(70),
    );
    m.violation("pod-security", "pod-security", "deny");
    m.violation("gatekeeper/K8sRequiredLabels/owner", "rego", "warn");
    m.violation("vap/with \"quotes\" and \\ backslash", "cel", "deny");
    m.violation("image/no-latest", "image", "audit");
    m.evaluation_error("vap/slow", "cel");
    m.evaluation_error("gatekeeper/K8sBroken/x", "rego");
    m.deadline_exceeded("validate");
    m.deadline_exceeded("mutate");
    for reason in ["malformed", "too_large", "unsupported_version"] {
        m.bad_request(reason);
    }
    m.patch_ops(4);
    m.patch_ops(0);
    m.set_policies_loaded(12);
    m.reload(true);
    m.reload(false);
    m.set_ready(true);
    m.decision_log_error();
    m.decision_log_dropped();
    m.cert_reload(true);
    m.cert_reload(false);
    m
}

#[test]
fn promtool_accepts_the_metrics() {
    let text = busy_metrics().encode();
    let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert_eq!(families, 13, "{text}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.prom");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is not on PATH ({e}): .ci/run installs it (Debian package prometheus)"
            );
            eprintln!(
                "skipped promtool_accepts_the_metrics: promtool is not on PATH \
                 (apt-get install --no-install-recommends prometheus)"
            );
            return;
        }
        Err(e) => panic!("running promtool: {e}"),
    };
    let problems = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics exited {}:\n{problems}\n--- input:\n{text}",
        out.status
    );
    assert!(
        problems.trim().is_empty(),
        "promtool lint problems:\n{problems}\n--- input:\n{text}"
    );
}
