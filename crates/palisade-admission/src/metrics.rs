//! Prometheus metrics, served on `/metrics` in the Prometheus text exposition format
//! (version 0.0.4), which every Prometheus scrapes and `promtool check metrics` lints.
//!
//! Metrics are kept with `prometheus-client`, which encodes OpenMetrics; [`to_prometheus_text`]
//! converts that to the classic text format (counter families named with their `_total`
//! suffix, no `# UNIT` / `# EOF` lines). Why not serve the OpenMetrics text as it is: in
//! OpenMetrics a counter family is named without `_total` (`# TYPE x counter`) while its
//! sample is `x_total`. A classic-format reader — `promtool check metrics` (2.42, Debian's),
//! or Prometheus scraping with `Content-Type: text/plain` — then sees an untyped `x_total`
//! with no help and an empty counter `x`, and promtool fails with "no help text". (`# EOF` and
//! `# UNIT` alone are read as comments.) Prometheus reads the classic format whatever it
//! asks for in `Accept`, so one exposition, with [`CONTENT_TYPE`], serves every scraper.
//!
//! Label values such as `kind` come from requests, so from users: each bounded family holds
//! at most [`MAX_LABEL_SETS`] label sets, and further ones are counted under `kind="other"`
//! (`policy="other"`, `reason="other"`), so a flood of made-up kinds cannot grow memory
//! without bound. A labelled family shows from its first sample on (as `prometheus-client`
//! writes it). An `operation` other than `CREATE`, `UPDATE`, `DELETE`, `CONNECT` (or empty,
//! for a request that could not be parsed) is counted as `other`. Label values are escaped by
//! `prometheus-client` (`\\`, `\"`, `\n`), so no value can forge a line.

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
    log_dropped: Counter,
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
/// holds [`MAX_LABEL_SETS`] label sets. (Two threads adding the same new set at once may
/// both count it: the cap errs on the small side, never past [`MAX_LABEL_SETS`] plus the sets
/// with `fold="other"`.)
fn inc_bounded(family: &Family<Labels, Counter>, sets: &AtomicUsize, mut l: Labels, fold: &str) {
    if family.get(&l).is_none()
        && sets
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_LABEL_SETS).then_some(n + 1)
            })
            .is_err()
    {
        for (k, v) in &mut l {
            if k == fold {
                *v = "other".into();
            }
        }
    }
    family.get_or_create(&l).inc();
}

/// The admission operations, as the API server names them; anything else is `other`.
fn operation_label(operation: &str) -> &str {
    match operation {
        "" | "CREATE" | "UPDATE" | "DELETE" | "CONNECT" => operation,
        _ => "other",
    }
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
        let log_dropped = Counter::default();
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
            format!("{p}decision_log_dropped"),
            "Decision log lines dropped because the write queue was full or closed",
            log_dropped.clone(),
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
            log_dropped,
            cert_reloads,
            sets: Default::default(),
        }
    }

    /// One answered request. `webhook` is `validate` or `mutate`; `operation` is `CREATE`,
    /// `UPDATE`, `DELETE` or `CONNECT` (empty when the request could not be parsed); `kind`
    /// is the object's kind, group-qualified outside the core group (`Pod`,
    /// `apps/Deployment`, `batch/CronJob`), empty when the request could not be parsed;
    /// `decision` is `allowed`, `denied` or `error` (answered 400 or 500). `latency` is
    /// observed in the `webhook`'s duration histogram.
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
                ("operation", operation_label(operation)),
                ("kind", kind),
                ("decision", decision),
            ]),
            "kind",
        );
        self.duration
            .get_or_create(&labels(&[("webhook", webhook)]))
            .observe(latency.as_secs_f64());
    }

    /// A policy found a violation; `action` is the first enforcement action (`deny`, `warn`,
    /// `audit`, … or `none`). `policy` is folded into `other` past [`MAX_LABEL_SETS`].
    pub fn violation(&self, policy: &str, engine: &str, action: &str) {
        inc_bounded(
            &self.violations,
            &self.sets[1],
            labels(&[("policy", policy), ("engine", engine), ("action", action)]),
            "policy",
        );
    }

    /// A policy could not be evaluated (error or per-policy timeout).
    pub fn evaluation_error(&self, policy: &str, engine: &str) {
        inc_bounded(
            &self.eval_errors,
            &self.sets[2],
            labels(&[("policy", policy), ("engine", engine)]),
            "policy",
        );
    }

    /// A request was answered before every policy ran because its deadline passed.
    pub fn deadline_exceeded(&self, webhook: &str) {
        self.deadline
            .get_or_create(&labels(&[("webhook", webhook)]))
            .inc();
    }

    /// A request refused with 400; `reason` as [`crate::review`] names it (`malformed`,
    /// `too_large`, `unsupported_version`, …).
    pub fn bad_request(&self, reason: &str) {
        inc_bounded(
            &self.bad_requests,
            &self.sets[3],
            labels(&[("reason", reason)]),
            "reason",
        );
    }

    /// JSONPatch operations returned by the mutating webhook.
    pub fn patch_ops(&self, n: usize) {
        self.patch_ops.inc_by(n as u64);
    }

    /// Evaluation units loaded now.
    pub fn set_policies_loaded(&self, n: usize) {
        self.policies.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A configuration reload, `result="success"` or `"failure"`.
    pub fn reload(&self, ok: bool) {
        let r = if ok { "success" } else { "failure" };
        self.reloads.get_or_create(&labels(&[("result", r)])).inc();
    }

    /// `ready` gauge: 1 when serving, 0 while starting or draining.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// A decision log line that could not be written.
    pub fn decision_log_error(&self) {
        self.log_errors.inc();
    }

    /// A decision log line dropped (queue full or closed).
    pub fn decision_log_dropped(&self) {
        self.log_dropped.inc();
    }

    /// Counters the decision-log writer thread updates.
    pub fn log_counters(&self) -> std::sync::Arc<dyn crate::decision_log::LogCounters> {
        std::sync::Arc::new(LogCounterHandles {
            errors: self.log_errors.clone(),
            dropped: self.log_dropped.clone(),
        })
    }

    /// A serving certificate reload, `result="success"` or `"failure"`.
    pub fn cert_reload(&self, ok: bool) {
        let r = if ok { "success" } else { "failure" };
        self.cert_reloads
            .get_or_create(&labels(&[("result", r)]))
            .inc();
    }

    /// The whole exposition in the Prometheus text format (serve it with [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut open_metrics = String::new();
        if encode(&mut open_metrics, &self.registry).is_err() {
            return String::new();
        }
        to_prometheus_text(&open_metrics)
    }
}

/// The decision-log counters, shared with its writer thread.
struct LogCounterHandles {
    errors: Counter,
    dropped: Counter,
}

impl crate::decision_log::LogCounters for LogCounterHandles {
    fn dropped(&self) {
        self.dropped.inc();
    }

    fn failed(&self, error: &std::io::Error) {
        self.errors.inc();
        tracing::error!("decision log write failed: {error}");
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
    use std::collections::BTreeMap;

    /// The value of the sample line starting with `line_prefix` (name and labels).
    fn value(text: &str, line_prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(line_prefix) && l[line_prefix.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// Family name → (type, has help, sample count), checking the text as it goes: HELP then
    /// TYPE before any sample of the family, every sample belongs to a typed family.
    fn families(text: &str) -> BTreeMap<String, (String, bool, usize)> {
        let mut f: BTreeMap<String, (String, bool, usize)> = BTreeMap::new();
        for l in text.lines() {
            if let Some(r) = l.strip_prefix("# HELP ") {
                let (name, help) = r.split_once(' ').unwrap();
                assert!(!help.is_empty(), "{l}");
                f.entry(name.into()).or_default().1 = true;
            } else if let Some(r) = l.strip_prefix("# TYPE ") {
                let (name, ty) = r.split_once(' ').unwrap();
                let e = f
                    .get_mut(name)
                    .unwrap_or_else(|| panic!("TYPE before HELP: {l}"));
                assert!(e.0.is_empty(), "second TYPE: {l}");
                e.0 = ty.into();
            } else {
                assert!(!l.starts_with('#'), "unexpected comment: {l}");
                let name = &l[..l.find(['{', ' ']).unwrap()];
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|s| name.strip_suffix(s))
                    .find(|b| f.get(*b).is_some_and(|e| e.0 == "histogram"))
                    .unwrap_or(name);
                let e = f
                    .get_mut(family)
                    .unwrap_or_else(|| panic!("sample of no family: {l}"));
                assert!(!e.0.is_empty(), "sample before TYPE: {l}");
                e.2 += 1;
            }
        }
        f
    }

    fn record_everything(m: &Metrics) {
        let us = Duration::from_micros;
        m.observe_request("validate", "CREATE", "Pod", "denied", us(300));
        m.observe_request("validate", "UPDATE", "apps/Deployment", "allowed", us(900));
        m.observe_request("mutate", "CREATE", "Pod", "allowed", us(80));
        m.observe_request("validate", "", "", "error", us(20));
        m.violation("pod-security", "pod-security", "deny");
        m.evaluation_error("vap/slow", "cel");
        m.deadline_exceeded("validate");
        m.bad_request("malformed");
        m.patch_ops(3);
        m.set_policies_loaded(7);
        m.reload(true);
        m.set_ready(true);
        m.decision_log_error();
        m.decision_log_dropped();
        m.cert_reload(false);
    }

    #[test]
    fn every_family_has_help_and_type() {
        let m = Metrics::new();
        // Before anything happened only the unlabelled families show (prometheus-client
        // writes a labelled family once it has a label set).
        let empty = families(&m.encode());
        assert_eq!(empty.len(), 5, "{empty:?}");
        record_everything(&m);
        let t = m.encode();
        assert!(!t.contains("# EOF") && !t.contains("# UNIT"), "{t}");
        assert!(t.ends_with('\n'));
        let f = families(&t);
        let p = "palisade_admission_";
        let expected = [
            ("requests_total", "counter"),
            ("request_duration_seconds", "histogram"),
            ("policy_violations_total", "counter"),
            ("evaluation_errors_total", "counter"),
            ("deadline_exceeded_total", "counter"),
            ("bad_requests_total", "counter"),
            ("patch_operations_total", "counter"),
            ("policies_loaded", "gauge"),
            ("reloads_total", "counter"),
            ("ready", "gauge"),
            ("decision_log_errors_total", "counter"),
            ("decision_log_dropped_total", "counter"),
            ("certificate_reloads_total", "counter"),
        ];
        assert_eq!(f.len(), expected.len(), "{f:?}");
        for (name, ty) in expected {
            let (t_, help, samples) = &f[&format!("{p}{name}")];
            assert_eq!((t_.as_str(), *help), (ty, true), "{name}");
            assert!(*samples > 0, "{name} has no sample");
        }
    }

    #[test]
    fn counters_and_gauges_count() {
        let m = Metrics::new();
        record_everything(&m);
        record_everything(&m);
        m.set_policies_loaded(9);
        m.set_ready(false);
        let t = m.encode();
        let v = |s: &str| value(&t, &format!("palisade_admission_{s}"));
        assert_eq!(
            v(
                r#"requests_total{webhook="validate",operation="CREATE",kind="Pod",decision="denied"}"#
            ),
            Some(2.0),
            "{t}"
        );
        assert_eq!(
            v(
                r#"requests_total{webhook="validate",operation="UPDATE",kind="apps/Deployment",decision="allowed"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            v(r#"requests_total{webhook="validate",operation="",kind="",decision="error"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"request_duration_seconds_count{webhook="validate"}"#),
            Some(6.0)
        );
        assert_eq!(
            v(r#"request_duration_seconds_count{webhook="mutate"}"#),
            Some(2.0)
        );
        // 300 µs and 900 µs, twice each, and 20 µs: bucket bounds are 0.0001 · 2^k.
        assert_eq!(
            v(r#"request_duration_seconds_bucket{le="0.0001",webhook="validate"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"request_duration_seconds_bucket{le="0.0004",webhook="validate"}"#),
            Some(4.0)
        );
        assert_eq!(
            v(r#"request_duration_seconds_bucket{le="+Inf",webhook="validate"}"#),
            Some(6.0)
        );
        assert_eq!(
            v(
                r#"policy_violations_total{policy="pod-security",engine="pod-security",action="deny"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            v(r#"evaluation_errors_total{policy="vap/slow",engine="cel"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"deadline_exceeded_total{webhook="validate"}"#),
            Some(2.0)
        );
        assert_eq!(v(r#"bad_requests_total{reason="malformed"}"#), Some(2.0));
        assert_eq!(v("patch_operations_total"), Some(6.0));
        assert_eq!(v("policies_loaded"), Some(9.0));
        assert_eq!(v(r#"reloads_total{result="success"}"#), Some(2.0));
        assert_eq!(v("ready"), Some(0.0));
        assert_eq!(v("decision_log_errors_total"), Some(2.0));
        assert_eq!(v("decision_log_dropped_total"), Some(2.0));
        assert_eq!(
            v(r#"certificate_reloads_total{result="failure"}"#),
            Some(2.0)
        );
    }

    #[test]
    fn cardinality_is_bounded() {
        let m = Metrics::new();
        for i in 0..(MAX_LABEL_SETS + 500) {
            let kind = format!("Kind{i}");
            m.observe_request("validate", "CREATE", &kind, "allowed", Duration::ZERO);
            m.violation(&format!("policy-{i}"), "cel", "deny");
        }
        // Operations are checked, not capped.
        m.observe_request("validate", "EXPLODE", "Pod", "allowed", Duration::ZERO);
        assert_eq!(m.sets[0].load(Ordering::Relaxed), MAX_LABEL_SETS);
        let t = m.encode();
        let samples = |prefix: &str| t.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(
            samples("palisade_admission_requests_total{"),
            MAX_LABEL_SETS + 2
        );
        assert_eq!(
            samples("palisade_admission_policy_violations_total{"),
            MAX_LABEL_SETS + 1
        );
        assert_eq!(
            value(
                &t,
                r#"palisade_admission_requests_total{webhook="validate",operation="CREATE",kind="other",decision="allowed"}"#
            ),
            Some(500.0)
        );
        assert_eq!(
            value(
                &t,
                r#"palisade_admission_requests_total{webhook="validate",operation="other",kind="other",decision="allowed"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &t,
                r#"palisade_admission_policy_violations_total{policy="other",engine="cel",action="deny"}"#
            ),
            Some(500.0)
        );
        // Label sets seen before the cap go on counting under their own name.
        m.observe_request("validate", "CREATE", "Kind0", "allowed", Duration::ZERO);
        assert_eq!(
            value(
                &m.encode(),
                r#"palisade_admission_requests_total{webhook="validate",operation="CREATE",kind="Kind0",decision="allowed"}"#
            ),
            Some(2.0)
        );
    }

    #[test]
    fn hostile_label_values_stay_on_their_line() {
        let m = Metrics::new();
        let kind = "Pod\"} 1\nfake_metric 99\n# TYPE x counter\\";
        m.observe_request("validate", "CREATE", kind, "denied", Duration::ZERO);
        let t = m.encode();
        assert!(!t.lines().any(|l| l.starts_with("fake_metric")), "{t}");
        assert!(
            t.contains(r#"kind="Pod\"} 1\nfake_metric 99\n# TYPE x counter\\""#),
            "{t}"
        );
        families(&t);
    }

    #[test]
    fn open_metrics_becomes_prometheus_text() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\n\
                  a_requests_total{k=\"v\"} 1\n# HELP a_up Up.\n# TYPE a_up gauge\na_up 1\n\
                  # HELP a_seconds Time.\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
                  a_seconds_sum 0.5\na_seconds_count 1\na_seconds_bucket{le=\"+Inf\"} 1\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n\
             a_requests_total{k=\"v\"} 1\n# HELP a_up Up.\n# TYPE a_up gauge\na_up 1\n\
             # HELP a_seconds Time.\n# TYPE a_seconds histogram\n\
             a_seconds_sum 0.5\na_seconds_count 1\na_seconds_bucket{le=\"+Inf\"} 1\n"
        );
    }

    #[test]
    fn metrics_are_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Metrics>();
        send_sync::<crate::decision_log::DecisionLog>();
        let m = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.observe_request("validate", "CREATE", "Pod", "allowed", Duration::ZERO);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            value(
                &m.encode(),
                r#"palisade_admission_requests_total{webhook="validate",operation="CREATE",kind="Pod",decision="allowed"}"#
            ),
            Some(4000.0)
        );
    }
}
