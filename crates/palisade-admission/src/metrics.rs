//! Prometheus metrics, served on `/metrics` in the Prometheus text exposition format
//! (version 0.0.4), which every Prometheus scrapes and `promtool check metrics` lints.
//!
//! Metrics are kept with `prometheus-client`, which encodes OpenMetrics; [`to_prometheus_text`]
//! converts that to the classic text format (counter families named with their `_total`
//! suffix, no `# UNIT` / `# EOF` lines).
//!
//! Label values such as `kind` come from requests, so from users: each family holds at most
//! [`MAX_LABEL_SETS`] label sets, and further ones are counted under `kind="other"` (or
//! `policy="other"`), so a flood of made-up kinds cannot grow memory without bound.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The `Content-Type` of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Distinct label sets kept per family before folding into `other`.
pub const MAX_LABEL_SETS: usize = 1000;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn histogram() -> Histogram {
    // 100 µs … ~13 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    violations: Family<Labels, Counter>,
    eval_errors: Family<Labels, Counter>,
    deadline: Family<Labels, Counter>,
    bad_requests: Family<Labels, Counter>,
    patch_ops: Counter,
    policies: Gauge,
    reloads: Family<Labels, Counter>,
    ready: Gauge,
    log_errors: Counter,
    cert_reloads: Family<Labels, Counter>,
    /// Label sets created per bounded family.
    sets: [AtomicUsize; 4],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Increments `family[labels]`, folding the label named `fold` into `other` once the family
/// is full.
fn inc_bounded(family: &Family<Labels, Counter>, sets: &AtomicUsize, mut l: Labels, fold: &str) {
    if family.get(&l).is_none() {
        if sets.load(Ordering::Relaxed) >= MAX_LABEL_SETS {
            for (k, v) in &mut l {
                if k == fold {
                    *v = "other".into();
                }
            }
        } else {
            sets.fetch_add(1, Ordering::Relaxed);
        }
    }
    family.get_or_create(&l).inc();
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let duration =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let violations = Family::<Labels, Counter>::default();
        let eval_errors = Family::<Labels, Counter>::default();
        let deadline = Family::<Labels, Counter>::default();
        let bad_requests = Family::<Labels, Counter>::default();
        let patch_ops = Counter::default();
        let policies = Gauge::default();
        let reloads = Family::<Labels, Counter>::default();
        let ready = Gauge::default();
        let log_errors = Counter::default();
        let cert_reloads = Family::<Labels, Counter>::default();
        let p = "palisade_admission_";
        registry.register(
            format!("{p}requests"),
            "Admission requests answered, by webhook, operation, kind and decision",
            requests.clone(),
        );
        registry.register(
            format!("{p}request_duration_seconds"),
            "Time from receiving a request body to the answer",
            duration.clone(),
        );
        registry.register(
            format!("{p}policy_violations"),
            "Policy violations, by policy, engine and action",
            violations.clone(),
        );
        registry.register(
            format!("{p}evaluation_errors"),
            "Policies that could not be evaluated (errors, deadline), by policy and engine",
            eval_errors.clone(),
        );
        registry.register(
            format!("{p}deadline_exceeded"),
            "Requests answered before every policy ran because the deadline passed",
            deadline.clone(),
        );
        registry.register(
            format!("{p}bad_requests"),
            "Requests refused with HTTP 400, by reason",
            bad_requests.clone(),
        );
        registry.register(
            format!("{p}patch_operations"),
            "JSONPatch operations returned by the mutating webhook",
            patch_ops.clone(),
        );
        registry.register(
            format!("{p}policies_loaded"),
            "Evaluation units loaded (Pod Security, check rules, CEL and Rego policies)",
            policies.clone(),
        );
        registry.register(
            format!("{p}reloads"),
            "Configuration reloads, by result",
            reloads.clone(),
        );
        registry.register(
            format!("{p}ready"),
            "1 when the webhook is ready to serve",
            ready.clone(),
        );
        registry.register(
            format!("{p}decision_log_errors"),
            "Decision log lines that could not be written",
            log_errors.clone(),
        );
        registry.register(
            format!("{p}certificate_reloads"),
            "Serving certificate reloads, by result",
            cert_reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            violations,
            eval_errors,
            deadline,
            bad_requests,
            patch_ops,
            policies,
            reloads,
            ready,
            log_errors,
            cert_reloads,
            sets: Default::default(),
        }
    }

    /// `kind` is group-qualified outside the core group (`apps/Deployment`); empty for
    /// requests that could not be parsed.
    pub fn observe_request(
        &self,
        webhook: &str,
        operation: &str,
        kind: &str,
        decision: &str,
        latency: Duration,
    ) {
        inc_bounded(
            &self.requests,
            &self.sets[0],
            labels(&[
                ("webhook", webhook),
                ("operation", operation),
                ("kind", kind),
                ("decision", decision),
            ]),
            "kind",
        );
        self.duration
            .get_or_create(&labels(&[("webhook", webhook)]))
            .observe(latency.as_secs_f64());
    }

    pub fn violation(&self, policy: &str, engine: &str, action: &str) {
        inc_bounded(
            &self.violations,
            &self.sets[1],
            labels(&[("policy", policy), ("engine", engine), ("action", action)]),
            "policy",
        );
    }

    pub fn evaluation_error(&self, policy: &str, engine: &str) {
        inc_bounded(
            &self.eval_errors,
            &self.sets[2],
            labels(&[("policy", policy), ("engine", engine)]),
            "policy",
        );
    }

    pub fn deadline_exceeded(&self, webhook: &str) {
        self.deadline
            .get_or_create(&labels(&[("webhook", webhook)]))
            .inc();
    }

    pub fn bad_request(&self, reason: &str) {
        inc_bounded(
            &self.bad_requests,
            &self.sets[3],
            labels(&[("reason", reason)]),
            "reason",
        );
    }

    pub fn patch_ops(&self, n: usize) {
        self.patch_ops.inc_by(n as u64);
    }

    pub fn set_policies_loaded(&self, n: usize) {
        self.policies.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn reload(&self, ok: bool) {
        let r = if ok { "success" } else { "failure" };
        self.reloads.get_or_create(&labels(&[("result", r)])).inc();
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    pub fn decision_log_error(&self) {
        self.log_errors.inc();
    }

    pub fn cert_reload(&self, ok: bool) {
        let r = if ok { "success" } else { "failure" };
        self.cert_reloads
            .get_or_create(&labels(&[("result", r)]))
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut open_metrics = String::new();
        if encode(&mut open_metrics, &self.registry).is_err() {
            return String::new();
        }
        to_prometheus_text(&open_metrics)
    }
}

/// Converts OpenMetrics text to the Prometheus text format: counter families are named with
/// `_total` in `# HELP`/`# TYPE`, and `# UNIT` and `# EOF` lines are dropped.
pub fn to_prometheus_text(open_metrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for l in open_metrics.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.insert(name.to_string());
            }
        }
    }
    let mut out = String::with_capacity(open_metrics.len());
    for l in open_metrics.lines() {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let meta = l
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| l.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        if let Some((prefix, rest)) = meta {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) {
                out.push_str(&format!("{prefix}{name}_total {tail}\n"));
                continue;
            }
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, line_prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(line_prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn families_have_help_and_type_and_count() {
        let m = Metrics::new();
        m.observe_request(
            "validate",
            "CREATE",
            "Pod",
            "denied",
            Duration::from_micros(300),
        );
        m.observe_request(
            "validate",
            "CREATE",
            "Pod",
            "denied",
            Duration::from_micros(500),
        );
        m.violation("pod-security", "pod-security", "deny");
        m.reload(false);
        m.cert_reload(true);
        m.set_ready(true);
        let t = m.encode();
        assert!(!t.contains("# EOF"));
        for family in [
            "palisade_admission_requests_total",
            "palisade_admission_request_duration_seconds",
            "palisade_admission_policy_violations_total",
            "palisade_admission_reloads_total",
            "palisade_admission_ready",
        ] {
            assert!(t.contains(&format!("# HELP {family} ")), "{family}\n{t}");
            assert!(t.contains(&format!("# TYPE {family} ")), "{family}\n{t}");
        }
        assert_eq!(
            value(&t, "palisade_admission_requests_total{webhook=\"validate\",operation=\"CREATE\",kind=\"Pod\",decision=\"denied\"}"),
            Some(2.0),
            "{t}"
        );
        assert_eq!(
            value(&t, "palisade_admission_request_duration_seconds_count"),
            Some(2.0)
        );
        assert_eq!(
            value(&t, "palisade_admission_reloads_total{result=\"failure\"}"),
            Some(1.0)
        );
        assert_eq!(value(&t, "palisade_admission_ready"), Some(1.0));
    }

    #[test]
    fn cardinality_is_bounded() {
        let m = Metrics::new();
        for i in 0..(MAX_LABEL_SETS + 500) {
            m.observe_request(
                "validate",
                "CREATE",
                &format!("Kind{i}"),
                "allowed",
                Duration::ZERO,
            );
        }
        assert_eq!(m.sets[0].load(Ordering::Relaxed), MAX_LABEL_SETS);
        let t = m.encode();
        assert_eq!(
            value(&t, "palisade_admission_requests_total{webhook=\"validate\",operation=\"CREATE\",kind=\"other\",decision=\"allowed\"}"),
            Some(500.0)
        );
    }
}
