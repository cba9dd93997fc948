//! The built-in rule set against the upstream Kubernetes audit rules, on the Falco suite's
//! audit events (`../shared/conformance/falco-k8saudit/events`, read at test time).
//!
//! For every event file, the upstream rules — the suite's `falco_rules.yaml` +
//! `k8s_audit_rules.yaml`, and today's `rules-latest/k8s_audit_rules.yaml` — are replayed
//! unchanged. Where they alert, the defaults must alert on the same events, with the rule
//! that corresponds to upstream's (`CORRESPONDS`). Where they are silent, the defaults must
//! be silent too, except for the events listed in `BEYOND_UPSTREAM`, each with its reason.
//! The suite's cases that add user rule files (allow lists, `json_pointer_example`) test
//! those files, not the defaults; their events are covered here all the same.

use palisade_detect::input::parse;
use palisade_detect::{defaults, Engine, RuleSet};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn suite() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/falco-k8saudit"
    ))
    .to_path_buf()
}

fn engine(files: &[&str]) -> Engine {
    let mut set = RuleSet::new();
    for f in files {
        let p = suite().join(f);
        let text = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (conformance data missing?)", p.display()));
        set.load(f, &text);
    }
    Engine::from_ruleset(&set)
}

/// Alerts per rule for one events file.
fn alerts(e: &Engine, events: &str) -> BTreeMap<String, u64> {
    let host: Arc<str> = Arc::from("defaults-test");
    // Lines that are not events (the suite has a `{"kind": 0}`) are the same for every
    // rule set.
    let parsed = parse(events, &host);
    let mut out = BTreeMap::new();
    for ev in &parsed.events {
        if let Some(a) = e.process(ev.as_event(), ev.time_ns(), "h") {
            *out.entry(a.rule).or_default() += 1;
        }
    }
    out
}

/// Upstream rule → the default rule that raises the same detection.
const CORRESPONDS: &[(&str, &str)] = &[
    ("Anonymous Request Allowed", "K8s Anonymous Request Allowed"),
    ("Create Privileged Pod", "K8s Privileged Pod Created"),
    (
        "Create Sensitive Mount Pod",
        "K8s Pod With Sensitive Host Mount Created",
    ),
    (
        "Create HostNetwork Pod",
        "K8s Pod Sharing Host Network Created",
    ),
    ("Create NodePort Service", "K8s NodePort Service Created"),
    (
        "Create/Modify Configmap With Private Credentials",
        "K8s ConfigMap With Credentials Written",
    ),
    ("Attach/Exec Pod", "K8s Exec or Attach Into Pod"),
    (
        "Pod Created in Kube Namespace",
        "K8s Pod Created in System Namespace",
    ),
    (
        "Service Account Created in Kube Namespace",
        "K8s ServiceAccount Created in System Namespace",
    ),
    (
        "System ClusterRole Modified/Deleted",
        "K8s System Role Modified or Deleted",
    ),
    (
        "Attach to cluster-admin Role",
        "K8s Binding to cluster-admin Created",
    ),
    (
        "ClusterRole With Wildcard Created",
        "K8s Role With Wildcard Created",
    ),
    (
        "ClusterRole With Write Privileges Created",
        "K8s Role With Write Access Created",
    ),
    (
        "ClusterRole With Pod Exec Created",
        "K8s Role Granting Pod Exec Created",
    ),
    ("K8s Deployment Created", "K8s Workload Created by User"),
    ("K8s Deployment Deleted", "K8s Workload Deleted by User"),
    (
        "K8s Service Created",
        "K8s Service or Ingress Created by User",
    ),
    (
        "K8s Service Deleted",
        "K8s Service or Ingress Deleted by User",
    ),
    (
        "K8s ConfigMap Created",
        "K8s Configuration or Identity Created by User",
    ),
    (
        "K8s ConfigMap Deleted",
        "K8s Configuration or Identity Deleted by User",
    ),
    (
        "K8s Secret Created",
        "K8s Configuration or Identity Created by User",
    ),
    (
        "K8s Secret Deleted",
        "K8s Configuration or Identity Deleted by User",
    ),
    (
        "K8s Serviceaccount Created",
        "K8s Configuration or Identity Created by User",
    ),
    (
        "K8s Serviceaccount Deleted",
        "K8s Configuration or Identity Deleted by User",
    ),
    ("K8s Namespace Created", "K8s Namespace Created by User"),
    ("K8s Namespace Deleted", "K8s Namespace Deleted by User"),
    (
        "K8s Role/Clusterrole Created",
        "K8s RBAC Object Created by User",
    ),
    (
        "K8s Role/Clusterrole Deleted",
        "K8s RBAC Object Deleted by User",
    ),
    (
        "K8s Role/Clusterrolebinding Created",
        "K8s RBAC Object Created by User",
    ),
    (
        "K8s Role/Clusterrolebinding Deleted",
        "K8s RBAC Object Deleted by User",
    ),
    ("K8s ClusterRole Created", "K8s RBAC Object Created by User"),
    ("K8s ClusterRole Deleted", "K8s RBAC Object Deleted by User"),
    (
        "K8s ClusterRoleBinding Created",
        "K8s RBAC Object Created by User",
    ),
    (
        "K8s ClusterRoleBinding Deleted",
        "K8s RBAC Object Deleted by User",
    ),
];

/// Upstream rules that encode one site's allow lists (minikube's users, three namespaces);
/// the defaults leave allow lists to the user (docs/detect.md). Their events are still
/// detected by the audit-trail rules, which the test checks.
const SITE_SPECIFIC: &[&str] = &["Disallowed K8s User", "Create Disallowed Namespace"];

/// Events the defaults alert on where upstream is silent, and why.
const BEYOND_UPSTREAM: &[(&str, &str)] = &[(
    "create_kube_system_secret.json",
    "a person creating a bootstrap-token Secret in kube-system (it lets a machine join the \
     cluster as a node); upstream skips every kube-system Secret",
)];

#[test]
fn defaults_detect_what_upstream_detects_on_the_suite_events() {
    let defaults = Engine::from_ruleset(&defaults::ruleset());
    assert_eq!(defaults.compiled.diags.len(), 0);
    let upstream_suite = engine(&["rules/falco_rules.yaml", "rules/k8s_audit_rules.yaml"]);
    let upstream_latest = engine(&["rules-latest/k8s_audit_rules.yaml"]);
    let corresponds: BTreeMap<&str, &str> = CORRESPONDS.iter().copied().collect();
    let beyond: BTreeMap<&str, &str> = BEYOND_UPSTREAM.iter().copied().collect();

    let mut files: Vec<_> = std::fs::read_dir(suite().join("events"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 45, "{}", files.len());
    let mut failures = Vec::new();
    let (mut detected, mut silent) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let mut up = alerts(&upstream_suite, &text);
        for (r, n) in alerts(&upstream_latest, &text) {
            let e = up.entry(r).or_default();
            *e = (*e).max(n);
        }
        let ours = alerts(&defaults, &text);
        if up.is_empty() {
            silent += 1;
            if !ours.is_empty() && !beyond.contains_key(name.as_str()) {
                failures.push(format!("{name}: upstream silent, defaults raise {ours:?}"));
            }
            if ours.is_empty() && beyond.contains_key(name.as_str()) {
                failures.push(format!("{name}: listed beyond upstream but nothing raised"));
            }
            continue;
        }
        detected += 1;
        let total_up: u64 = up.values().sum();
        let total_ours: u64 = ours.values().sum();
        if total_ours < total_up.min(1) {
            failures.push(format!("{name}: upstream raises {up:?}, defaults nothing"));
            continue;
        }
        // Every upstream detection that is not a site allow list has its counterpart.
        let expected: BTreeSet<&str> = up
            .keys()
            .filter(|r| !SITE_SPECIFIC.contains(&r.as_str()))
            .map(|r| {
                corresponds.get(r.as_str()).copied().unwrap_or_else(|| {
                    failures.push(format!("{name}: upstream rule {r:?} has no counterpart"));
                    ""
                })
            })
            .collect();
        for want in expected.iter().filter(|w| !w.is_empty()) {
            // First match wins: one event gives one alert, so the counterpart of the
            // upstream rule that matched first must be ours.
            if !ours.contains_key(*want) {
                failures.push(format!(
                    "{name}: upstream {up:?}, defaults {ours:?}, expected {want:?}"
                ));
            }
        }
        // Same number of alerting events (one alert per event and rule set).
        let up_events = up.values().sum::<u64>().min(
            alerts(&upstream_suite, &text)
                .values()
                .sum::<u64>()
                .max(alerts(&upstream_latest, &text).values().sum()),
        );
        if total_ours < up_events {
            failures.push(format!(
                "{name}: upstream alerts on {up_events} event(s), defaults on {total_ours}"
            ));
        }
    }
    eprintln!("{detected} event files detected upstream, {silent} silent");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        detected >= 40 && silent >= 4,
        "{detected} detected, {silent} silent"
    );
}

#[test]
fn user_rules_extend_and_switch_off_the_defaults() {
    let events =
        std::fs::read_to_string(suite().join("events/create_nginx_pod_privileged.json")).unwrap();
    let mut set = defaults::ruleset();
    // Trust nginx as a privileged agent: the privileged-pod rule goes quiet.
    set.load(
        "user.yaml",
        "- list: pal_privileged_images\n  items: [nginx]\n  append: true\n",
    );
    let e = Engine::from_ruleset(&set);
    assert!(e.compiled.diags.is_empty(), "{:?}", e.compiled.diags);
    assert_eq!(alerts(&e, &events), BTreeMap::new());

    let mut set = defaults::ruleset();
    set.load(
        "user.yaml",
        "- rule: K8s Privileged Pod Created\n  enabled: false\n",
    );
    assert!(alerts(&Engine::from_ruleset(&set), &events).is_empty());
}
