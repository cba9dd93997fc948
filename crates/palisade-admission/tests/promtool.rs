//! `/metrics` output is what Prometheus reads: `promtool check metrics` (installed by
//! .ci/run) accepts it without a single lint problem.

use palisade_admission::metrics::Metrics;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn promtool_accepts_the_metrics() {
    let m = Metrics::new();
    for (op, kind, decision) in [
        ("CREATE", "Pod", "denied"),
        ("UPDATE", "apps/Deployment", "allowed"),
        ("DELETE", "Pod", "allowed"),
        ("CONNECT", "PodExecOptions", "denied"),
        ("", "", "error"),
    ] {
        m.observe_request("validate", op, kind, decision, Duration::from_micros(420));
    }
    m.observe_request(
        "mutate",
        "CREATE",
        "Pod",
        "allowed",
        Duration::from_micros(90),
    );
    m.violation("pod-security", "pod-security", "deny");
    m.violation("gatekeeper/K8sRequiredLabels/owner", "rego", "warn");
    m.violation("vap/with \"quotes\" and \\ backslash", "cel", "deny");
    m.evaluation_error("vap/slow", "cel");
    m.deadline_exceeded("validate");
    m.bad_request("malformed");
    m.patch_ops(4);
    m.set_policies_loaded(12);
    m.reload(true);
    m.reload(false);
    m.set_ready(true);
    m.decision_log_error();
    m.cert_reload(true);
    let text = m.encode();

    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is not installed ({e}); .ci/run installs it (Debian package prometheus)"
            );
            eprintln!("skipped: promtool not installed ({e})");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool failed:\n{problems}\n{text}");
    assert!(
        problems.trim().is_empty(),
        "promtool lint problems:\n{problems}\n{text}"
    );
}
