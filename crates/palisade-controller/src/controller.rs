//! The PolicyReport controller (`palisade controller`): keeps one PolicyReport per object
//! current as the cluster changes.
//!
//! - **Watches** (kube::runtime `watcher`s, one per kind in [`WATCHED`]; Namespaces through a
//!   metadata-only watch, since the checks read only their labels) feed one store of
//!   palisade `Object`s. A watch that expires (410 Gone) is relisted by the watcher; the
//!   relist replaces that kind's objects, so objects deleted during the gap are dropped and
//!   their reports removed.
//! - **One pipeline**: every evaluation is `palisade_scan::Scanner::scan_parts` (the CLI's
//!   pipeline), never a copy.
//! - **Incremental**: a batch of changes marks what it affects, and only that is re-run:
//!   an object's namespace for the checks (cross-object checks read one namespace), a
//!   RoleBinding's (or a role's, or a ServiceAccount's) subjects for the RBAC risks (only the
//!   bindings of those subjects get new results), a NetworkPolicy's namespace for the lint
//!   (an admin policy or a Namespace's labels: every namespace).
//! - **Writes**: server-side apply with field manager `palisade` (forced: the controller owns
//!   its reports), only when a report's results changed (timestamps aside); deletes for
//!   objects that are gone or have no result left. Failed writes (409 conflicts, 5xx,
//!   network) are retried per report with exponential backoff (100 ms doubling to 60 s),
//!   at most [`WRITE_CONCURRENCY`] at once. Only the leader writes (a Lease in its
//!   namespace); other replicas keep their store warm.
//! - **Endpoints**: `/healthz`, `/readyz` (after the initial sync), `/metrics` (Prometheus).

use crate::lease::{Leadership, LeaseOptions};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, PartialObjectMeta};
use kube::runtime::watcher;
use kube::Client;
use palisade_cluster::watch::pump;
pub use palisade_cluster::watch::WatchEvent;
use palisade_model::{Node, Object, Source};
use palisade_report::policyreport::{self, Subject, Timestamp};
use palisade_report::{Finding, Report, RuleInfo};
use palisade_scan::{Parts, Scanner};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "palisade";
/// Reports written at once.
pub const WRITE_CONCURRENCY: usize = 16;
/// Reports decided (bodies built) and written per step.
const DECIDE_CHUNK: usize = 256;
const BATCH_WINDOW: Duration = Duration::from_millis(50);
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// One watched kind.
#[derive(Clone, Copy, Debug)]
pub struct Watched {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

const fn w(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Watched {
    Watched {
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

/// What the controller watches: what the checks, the RBAC risks and the lint read (never
/// Secrets). `install`'s ClusterRole grants exactly these (a test compares them).
pub const WATCHED: &[Watched] = &[
    w("", "v1", "Namespace", "namespaces", false),
    w("", "v1", "Pod", "pods", true),
    w("", "v1", "Service", "services", true),
    w("", "v1", "ServiceAccount", "serviceaccounts", true),
    w(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    w("", "v1", "PodTemplate", "podtemplates", true),
    w("", "v1", "LimitRange", "limitranges", true),
    w("apps", "v1", "Deployment", "deployments", true),
    w("apps", "v1", "ReplicaSet", "replicasets", true),
    w("apps", "v1", "StatefulSet", "statefulsets", true),
    w("apps", "v1", "DaemonSet", "daemonsets", true),
    w("batch", "v1", "Job", "jobs", true),
    w("batch", "v1", "CronJob", "cronjobs", true),
    w("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    w(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    w(
        "policy.networking.k8s.io",
        "v1alpha1",
        "AdminNetworkPolicy",
        "adminnetworkpolicies",
        false,
    ),
    w(
        "policy.networking.k8s.io",
        "v1alpha1",
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies",
        false,
    ),
    w("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    w(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    w(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    w(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
];

impl Watched {
    fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: if self.group.is_empty() {
                self.version.into()
            } else {
                format!("{}/{}", self.group, self.version)
            },
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }
}

fn report_resource(cluster: bool) -> ApiResource {
    let (kind, plural) = if cluster {
        ("ClusterPolicyReport", "clusterpolicyreports")
    } else {
        ("PolicyReport", "policyreports")
    };
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: policyreport::API_VERSION.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Everything the controller is told.
pub struct ControllerOptions {
    pub scanner: Scanner,
    /// Rule ID → category (the binary's catalog).
    pub categories: BTreeMap<String, String>,
    /// `/healthz`, `/readyz`, `/metrics`; none when `None`.
    pub listen: Option<SocketAddr>,
    /// Leader election; `None` = always the leader (one replica).
    pub lease: Option<LeaseOptions>,
    /// The source name of objects (`cluster:<context>`).
    pub context: String,
}

/// (kind, namespace, name).
pub type Key = (String, Option<String>, String);

fn key_of(o: &Object) -> Key {
    (o.kind.clone(), o.namespace.clone(), o.name.clone())
}

fn key_of_finding(f: &Finding) -> Key {
    (
        f.object.kind.clone(),
        f.object.namespace.clone(),
        f.object.name.clone(),
    )
}

/// A watch event, reduced to what the store needs.
#[derive(Debug)]
pub enum Change {
    Apply(Box<Object>),
    Delete(Key),
    /// A (re)list began for this kind.
    Relist(&'static str),
    /// A (re)list ended: these keys are the kind's complete set.
    Listed(&'static str, Vec<Box<Object>>),
    /// The kind is not served (404): nothing to wait for.
    Absent(&'static str),
}

/// The controller's metrics.
pub struct Metrics {
    pub registry: Registry,
    pub objects: Gauge,
    pub reports: Gauge,
    pub leader: Gauge,
    pub written: Counter,
    pub deleted: Counter,
    pub retries: Counter,
    pub write_errors: Family<Vec<(String, String)>, Counter>,
    pub evaluations: Family<Vec<(String, String)>, Counter>,
    pub relists: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("palisade_controller");
        let m = Metrics {
            registry: Registry::default(),
            objects: Gauge::default(),
            reports: Gauge::default(),
            leader: Gauge::default(),
            written: Counter::default(),
            deleted: Counter::default(),
            retries: Counter::default(),
            write_errors: Family::default(),
            evaluations: Family::default(),
            relists: Family::default(),
        };
        registry.register("objects", "Objects in the watched store", m.objects.clone());
        registry.register(
            "reports",
            "PolicyReports and ClusterPolicyReports the controller keeps",
            m.reports.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the lease",
            m.leader.clone(),
        );
        registry.register(
            "reports_written",
            "Reports applied (server-side apply)",
            m.written.clone(),
        );
        registry.register("reports_deleted", "Reports deleted", m.deleted.clone());
        registry.register(
            "write_retries",
            "Report writes retried after a failure",
            m.retries.clone(),
        );
        registry.register(
            "write_errors",
            "Failed report writes, by HTTP status (0: no answer)",
            m.write_errors.clone(),
        );
        registry.register(
            "evaluations",
            "Pipeline runs, by part (checks, rbac, netpol)",
            m.evaluations.clone(),
        );
        registry.register("relists", "Watches (re)listed, by kind", m.relists.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The Prometheus text format (0.0.4), through the admission webhook's converter.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        palisade_admission::metrics::to_prometheus_text(&out)
    }
}

/// What one object has, by pipeline part.
#[derive(Clone, Debug, Default)]
struct Results {
    checks: Vec<Finding>,
    rbac: Vec<Finding>,
    netpol: Vec<Finding>,
}

/// A report to write, or to delete.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Apply {
        name: String,
        namespace: Option<String>,
        body: Value,
    },
    Delete {
        name: String,
        namespace: Option<String>,
    },
}

/// What a batch of changes affects.
#[derive(Debug, Default)]
struct Dirty {
    all: bool,
    check_namespaces: BTreeSet<String>,
    check_cluster: BTreeSet<Key>,
    rbac_subjects: BTreeSet<String>,
    netpol_namespaces: BTreeSet<String>,
    netpol_all: bool,
    touched: BTreeSet<Key>,
}

/// The store and the results: the reconcile logic, with no I/O (the tests drive it too).
pub struct State {
    scanner: Scanner,
    categories: BTreeMap<String, String>,
    source: Arc<Source>,
    objects: BTreeMap<Key, Object>,
    uids: HashMap<String, Key>,
    results: BTreeMap<Key, Results>,
    rules: BTreeMap<String, RuleInfo>,
    /// Report per object as last decided: (name, namespace, hash of the results).
    decided: BTreeMap<Key, (String, Option<String>, u64)>,
    pending: Dirty,
    synced: BTreeSet<&'static str>,
    pub evaluations: BTreeMap<&'static str, u64>,
}

const RBAC_KINDS: [&str; 4] = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];
const NETPOL_ADMIN: [&str; 2] = ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"];

/// The subjects a binding names, as `Kind:namespace/name` strings.
fn binding_subjects(o: &Object) -> Vec<String> {
    o.root
        .get("subjects")
        .map(|s| s.items())
        .unwrap_or(&[])
        .iter()
        .map(|s| {
            let kind = s.get("kind").and_then(Node::as_str).unwrap_or("");
            let name = s.get("name").and_then(Node::as_str).unwrap_or("");
            let ns = match kind {
                "ServiceAccount" => s
                    .get("namespace")
                    .and_then(Node::as_str)
                    .or(o.namespace.as_deref())
                    .unwrap_or(""),
                _ => "",
            };
            format!("{kind}:{ns}/{name}")
        })
        .collect()
}

fn role_ref(o: &Object) -> Option<(String, String)> {
    let r = o.root.get("roleRef")?;
    Some((
        r.get("kind")?.as_str()?.to_string(),
        r.get("name")?.as_str()?.to_string(),
    ))
}

fn hash_results(report: &Value) -> u64 {
    let mut results = report["results"].clone();
    if let Some(items) = results.as_array_mut() {
        for r in items {
            if let Some(m) = r.as_object_mut() {
                m.remove("timestamp");
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    results.to_string().hash(&mut h);
    report["metadata"].to_string().hash(&mut h);
    h.finish()
}

impl State {
    pub fn new(scanner: Scanner, categories: BTreeMap<String, String>, context: &str) -> State {
        State {
            scanner,
            categories,
            source: Arc::new(Source::Cluster(context.to_string())),
            objects: BTreeMap::new(),
            uids: HashMap::new(),
            results: BTreeMap::new(),
            rules: BTreeMap::new(),
            decided: BTreeMap::new(),
            pending: Dirty::default(),
            synced: BTreeSet::new(),
            evaluations: BTreeMap::new(),
        }
    }

    /// Turns a watched object (JSON) into a palisade object of the store.
    pub fn object(&self, kind: &Watched, mut value: Value) -> Option<Object> {
        let m = value.as_object_mut()?;
        m.insert("apiVersion".into(), json!(kind.api_resource().api_version));
        m.insert("kind".into(), json!(kind.kind));
        // No check reads status, except the network model's pod IPs: the rest is dropped
        // (a pod's status is often most of its size).
        if let Some(status) = m.remove("status") {
            if kind.kind == "Pod" {
                let ips: serde_json::Map<String, Value> = status
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k == "podIP" || *k == "podIPs")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !ips.is_empty() {
                    m.insert("status".into(), Value::Object(ips));
                }
            }
        }
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        Object::from_node(Node::from_json(&value), self.source.clone(), 0, None)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Have all kinds been listed once?
    pub fn synced(&self) -> bool {
        self.synced.len() == WATCHED.len()
    }

    fn mark(&mut self, o: &Object) {
        let d = &mut self.pending;
        let key = key_of(o);
        d.touched.insert(key.clone());
        match (&o.namespace, o.kind.as_str()) {
            (_, "Namespace") => {
                d.check_namespaces.insert(o.name.clone());
                d.netpol_all = true;
            }
            (Some(ns), _) => {
                d.check_namespaces.insert(ns.clone());
            }
            (None, _) => {
                d.check_cluster.insert(key);
            }
        }
        match o.kind.as_str() {
            "RoleBinding" | "ClusterRoleBinding" => {
                d.rbac_subjects.extend(binding_subjects(o));
            }
            "Role" | "ClusterRole" => {
                // Every subject bound to this role.
                let (kind, ns, name) = (o.kind.as_str(), o.namespace.clone(), o.name.as_str());
                let subjects: Vec<String> = self
                    .objects
                    .values()
                    .filter(|b| matches!(b.kind.as_str(), "RoleBinding" | "ClusterRoleBinding"))
                    .filter(|b| {
                        role_ref(b).is_some_and(|(k, n)| {
                            k == kind && n == name && (kind == "ClusterRole" || b.namespace == ns)
                        })
                    })
                    .flat_map(binding_subjects)
                    .collect();
                self.pending.rbac_subjects.extend(subjects);
            }
            "ServiceAccount" => {
                let ns = o.namespace.clone().unwrap_or_default();
                self.pending
                    .rbac_subjects
                    .insert(format!("ServiceAccount:{ns}/{}", o.name));
            }
            "NetworkPolicy"
            | "Pod"
            | "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "CronJob"
            | "ReplicationController"
            | "Service"
            | "Ingress" => {
                if let Some(ns) = &o.namespace {
                    self.pending.netpol_namespaces.insert(ns.clone());
                }
            }
            k if NETPOL_ADMIN.contains(&k) => self.pending.netpol_all = true,
            _ => {}
        }
    }

    fn insert(&mut self, o: Object) {
        let key = key_of(&o);
        if let Some(old) = self.objects.get(&key).cloned() {
            self.mark(&old);
            if let Some(uid) = old.uid() {
                self.uids.remove(uid);
            }
        }
        self.mark(&o);
        if let Some(uid) = o.uid() {
            self.uids.insert(uid.to_string(), key.clone());
        }
        self.objects.insert(key, o);
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.objects.get(key).cloned() {
            self.mark(&old);
            if let Some(uid) = old.uid() {
                self.uids.remove(uid);
            }
            self.objects.remove(key);
        }
    }

    /// Applies one change to the store (no evaluation yet).
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Apply(o) => self.insert(*o),
            Change::Delete(k) => self.remove(&k),
            Change::Relist(_) => {}
            Change::Listed(kind, objects) => {
                let keep: BTreeSet<Key> = objects.iter().map(|o| key_of(o)).collect();
                let gone: Vec<Key> = self
                    .objects
                    .keys()
                    .filter(|k| k.0 == kind && !keep.contains(*k))
                    .cloned()
                    .collect();
                for k in gone {
                    self.remove(&k);
                }
                for o in objects {
                    // An unchanged object (same resourceVersion) affects nothing.
                    let same = self.objects.get(&key_of(&o)).is_some_and(|old| {
                        old.root
                            .at(&["metadata", "resourceVersion"])
                            .and_then(Node::as_str)
                            == o.root
                                .at(&["metadata", "resourceVersion"])
                                .and_then(Node::as_str)
                            && o.root.at(&["metadata", "resourceVersion"]).is_some()
                    });
                    if !same {
                        self.insert(*o);
                    }
                }
                self.synced.insert(kind);
            }
            Change::Absent(kind) => {
                self.synced.insert(kind);
            }
        }
    }

    fn count(&mut self, part: &'static str) {
        *self.evaluations.entry(part).or_default() += 1;
    }

    fn learn(&mut self, rules: Vec<RuleInfo>) {
        for r in rules {
            self.rules.entry(r.id.clone()).or_insert(r);
        }
    }

    fn in_namespace(&self, ns: &str) -> Vec<Object> {
        let mut set: Vec<Object> = self
            .objects
            .values()
            .filter(|o| o.namespace.as_deref() == Some(ns))
            .cloned()
            .collect();
        if let Some(n) = self
            .objects
            .get(&("Namespace".to_string(), None, ns.to_string()))
        {
            set.push(n.clone());
        }
        set
    }

    /// Re-runs what the pending changes affect and returns the report writes that follow.
    pub fn reconcile(&mut self) -> Vec<Write> {
        let touched: Vec<Key> = self.evaluate().into_iter().collect();
        self.decide(&touched)
    }

    /// Re-runs what the pending changes affect; returns the objects whose report must be
    /// decided again ([`State::decide`], in chunks: a report's body is built only when it is
    /// about to be written).
    pub fn evaluate(&mut self) -> BTreeSet<Key> {
        let d = std::mem::take(&mut self.pending);
        let mut touched = d.touched.clone();
        let all = d.all;
        // Checks: per namespace (with its Namespace object), and cluster-scoped objects alone.
        let namespaces: BTreeSet<String> = if all {
            self.objects
                .values()
                .filter_map(|o| o.namespace.clone())
                .chain(
                    self.objects
                        .values()
                        .filter(|o| o.kind == "Namespace")
                        .map(|o| o.name.clone()),
                )
                .collect()
        } else {
            d.check_namespaces.clone()
        };
        for ns in &namespaces {
            let set = self.in_namespace(ns);
            let out = self.scanner.scan_parts(&set, &Parts::Checks);
            self.count("checks");
            let keys: Vec<Key> = set.iter().map(key_of).collect();
            for k in &keys {
                self.results.entry(k.clone()).or_default().checks.clear();
                touched.insert(k.clone());
            }
            for f in out.findings {
                self.results
                    .entry(key_of_finding(&f))
                    .or_default()
                    .checks
                    .push(f);
            }
            self.learn(out.rules);
        }
        let cluster: Vec<Key> = if all {
            self.objects
                .keys()
                .filter(|k| k.1.is_none() && k.0 != "Namespace")
                .cloned()
                .collect()
        } else {
            d.check_cluster.iter().cloned().collect()
        };
        for k in cluster {
            if let Some(r) = self.results.get_mut(&k) {
                r.checks.clear();
            }
            touched.insert(k.clone());
            let Some(o) = self.objects.get(&k).cloned() else {
                continue;
            };
            let out = self
                .scanner
                .scan_parts(std::slice::from_ref(&o), &Parts::Checks);
            self.count("checks");
            for f in out.findings {
                self.results
                    .entry(key_of_finding(&f))
                    .or_default()
                    .checks
                    .push(f);
            }
            self.learn(out.rules);
        }
        // RBAC risks: recomputed over the RBAC objects; only the bindings of the affected
        // subjects take the new results.
        if all || !d.rbac_subjects.is_empty() {
            // A subject's risks come from its own bindings and the roles: the set is every
            // role plus the bindings naming an affected subject (all of them at a full run).
            let set: Vec<Object> = self
                .objects
                .values()
                .filter(|o| match o.kind.as_str() {
                    "Role" | "ClusterRole" | "ServiceAccount" => true,
                    "RoleBinding" | "ClusterRoleBinding" => {
                        all || binding_subjects(o)
                            .iter()
                            .any(|s| d.rbac_subjects.contains(s))
                    }
                    _ => false,
                })
                .cloned()
                .collect();
            let out = self.scanner.scan_parts(&set, &Parts::Source("rbac"));
            self.count("rbac");
            let affected: Vec<Key> = set
                .iter()
                .filter(|o| matches!(o.kind.as_str(), "RoleBinding" | "ClusterRoleBinding"))
                .filter(|o| {
                    all || binding_subjects(o)
                        .iter()
                        .any(|s| d.rbac_subjects.contains(s))
                })
                .map(key_of)
                .collect();
            // Deleted bindings lose their results too.
            let gone: Vec<Key> = self
                .results
                .iter()
                .filter(|(k, r)| !r.rbac.is_empty() && !self.objects.contains_key(*k))
                .map(|(k, _)| k.clone())
                .collect();
            for k in affected.iter().chain(&gone) {
                if let Some(r) = self.results.get_mut(k) {
                    r.rbac.clear();
                }
                touched.insert(k.clone());
            }
            let affected: BTreeSet<Key> = affected.into_iter().collect();
            for f in out.findings {
                let k = key_of_finding(&f);
                if affected.contains(&k) {
                    self.results.entry(k).or_default().rbac.push(f);
                }
            }
            self.learn(out.rules);
        }
        // Network policy lint: per namespace, or everything after an admin policy or a
        // Namespace changed.
        let netpol_scopes: Vec<Option<String>> = if all || d.netpol_all {
            vec![None]
        } else {
            d.netpol_namespaces.iter().cloned().map(Some).collect()
        };
        for scope in netpol_scopes {
            let set: Vec<Object> = self
                .objects
                .values()
                .filter(|o| !RBAC_KINDS.contains(&o.kind.as_str()))
                .filter(|o| match &scope {
                    None => true,
                    Some(ns) => {
                        o.namespace.as_deref() == Some(ns.as_str())
                            || o.kind == "Namespace"
                            || NETPOL_ADMIN.contains(&o.kind.as_str())
                    }
                })
                .cloned()
                .collect();
            let out = self.scanner.scan_parts(&set, &Parts::Source("netpol"));
            self.count("netpol");
            let in_scope = |k: &Key| match &scope {
                None => true,
                Some(ns) => k.1.as_deref() == Some(ns.as_str()),
            };
            let keys: Vec<Key> = self
                .results
                .keys()
                .filter(|k| in_scope(k))
                .cloned()
                .collect();
            for k in keys {
                if let Some(r) = self.results.get_mut(&k) {
                    if !r.netpol.is_empty() {
                        r.netpol.clear();
                        touched.insert(k);
                    }
                }
            }
            for f in out.findings {
                let k = key_of_finding(&f);
                if in_scope(&k) {
                    touched.insert(k.clone());
                    self.results.entry(k).or_default().netpol.push(f);
                }
            }
            self.learn(out.rules);
        }
        touched
    }

    /// Forces a full evaluation at the next reconcile (start, leadership gained).
    pub fn mark_all(&mut self) {
        self.pending.all = true;
    }

    /// The objects that get a report: those not owned by another watched object.
    fn reportable(&self, o: &Object) -> bool {
        !o.controller_uid()
            .is_some_and(|u| self.uids.contains_key(u))
    }

    /// The writes that bring these objects' reports up to date.
    pub fn decide(&mut self, touched: &[Key]) -> Vec<Write> {
        let now = Timestamp::now();
        let mut writes = Vec::new();
        for k in touched {
            let body = self
                .objects
                .get(k)
                .filter(|o| self.reportable(o))
                .and_then(|o| {
                    let subjects = self.scanner.subjects(std::slice::from_ref(o));
                    let r = self.results.get(k).cloned().unwrap_or_default();
                    let findings: Vec<Finding> =
                        r.checks.into_iter().chain(r.rbac).chain(r.netpol).collect();
                    let subject = Subject {
                        source: o.source.display(),
                        ..subjects.into_iter().next()?
                    };
                    if findings.is_empty() && subject.evaluated.is_empty() {
                        return None; // nothing to say about it: no report
                    }
                    let ids: BTreeSet<&str> = findings
                        .iter()
                        .map(|f| f.check.as_str())
                        .chain(subject.evaluated.iter().map(String::as_str))
                        .collect();
                    let rules = ids
                        .iter()
                        .filter_map(|id| self.rules.get(*id).cloned())
                        .collect();
                    let report = Report {
                        findings,
                        rules,
                        ..Report::default()
                    };
                    let opts = policyreport::Options {
                        timestamp: now,
                        categories: self.categories.clone(),
                        subjects: vec![subject],
                    };
                    policyreport::reports(&report, &opts).into_iter().next()
                });
            match body {
                Some(body) => {
                    let name = body["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let namespace = body["metadata"]["namespace"].as_str().map(str::to_string);
                    let hash = hash_results(&body);
                    let previous = self
                        .decided
                        .insert(k.clone(), (name.clone(), namespace.clone(), hash));
                    if let Some((old_name, old_ns, _)) = previous
                        .as_ref()
                        .filter(|p| p.0 != name || p.1 != namespace)
                    {
                        writes.push(Write::Delete {
                            name: old_name.clone(),
                            namespace: old_ns.clone(),
                        });
                    }
                    if previous.is_none_or(|p| p.2 != hash) {
                        writes.push(Write::Apply {
                            name,
                            namespace,
                            body,
                        });
                    }
                }
                None => {
                    self.results.remove(k);
                    if let Some((name, namespace, _)) = self.decided.remove(k) {
                        writes.push(Write::Delete { name, namespace });
                    }
                }
            }
        }
        writes
    }

    /// Every report as decided (for a new leader's full write).
    pub fn all_writes(&mut self) -> Vec<Write> {
        let keys = self.forget_decided();
        self.decide(&keys)
    }

    /// Forgets what was decided (a new leader rewrites everything) and returns every key.
    pub fn forget_decided(&mut self) -> Vec<Key> {
        self.decided.clear();
        self.objects.keys().cloned().collect()
    }

    /// The names of the reports the controller keeps: (namespace, name).
    pub fn report_names(&self) -> BTreeSet<(Option<String>, String)> {
        self.decided
            .values()
            .map(|(n, ns, _)| (ns.clone(), n.clone()))
            .collect()
    }

    pub fn report_count(&self) -> usize {
        self.decided.len()
    }
}

fn status_code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        _ => 0,
    }
}

/// Runs the watch of one kind, sending changes; a kind the server does not serve (404)
/// is reported once as absent and not watched.
async fn watch_kind(
    client: Client,
    kind: &'static Watched,
    tx: mpsc::Sender<(usize, WatchEvent)>,
    idx: usize,
) {
    let config = watcher::Config::default().timeout(100);
    if kind.kind == "Namespace" {
        let api: Api<PartialObjectMeta<Namespace>> = Api::all(client);
        let mut stream = watcher::watcher(api, config).boxed();
        pump(
            &mut stream,
            |o: PartialObjectMeta<Namespace>| json!({"metadata": o.metadata}),
            &tx,
            idx,
        )
        .await;
    } else {
        let api: Api<DynamicObject> = Api::all_with(client, &kind.api_resource());
        let mut stream = watcher::watcher(api, config).boxed();
        pump(
            &mut stream,
            |o: DynamicObject| serde_json::to_value(o).unwrap_or(Value::Null),
            &tx,
            idx,
        )
        .await;
    }
}

/// Writes reports: server-side apply or delete, retried per report with backoff.
pub struct Writer {
    client: Client,
    metrics: Arc<Metrics>,
}

impl Writer {
    pub fn new(client: Client, metrics: Arc<Metrics>) -> Writer {
        Writer { client, metrics }
    }

    fn api(&self, namespace: &Option<String>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &report_resource(false)),
            None => Api::all_with(self.client.clone(), &report_resource(true)),
        }
    }

    async fn once(&self, w: &Write) -> Result<(), kube::Error> {
        match w {
            Write::Apply {
                name,
                namespace,
                body,
            } => {
                let pp = PatchParams::apply(FIELD_MANAGER).force();
                self.api(namespace)
                    .patch(name, &pp, &Patch::Apply(body))
                    .await?;
                self.metrics.written.inc();
            }
            Write::Delete { name, namespace } => {
                match self
                    .api(namespace)
                    .delete(name, &DeleteParams::default())
                    .await
                {
                    Ok(_) => {}
                    Err(e) if status_code(&e) == 404 => {}
                    Err(e) => return Err(e),
                }
                self.metrics.deleted.inc();
            }
        }
        Ok(())
    }

    /// Writes one report, retrying failures (409 conflicts, 5xx, no answer) with
    /// exponential backoff; a 4xx other than 409/429 is not retried. Returns whether it
    /// was written.
    pub async fn write(&self, w: &Write, stop: &AtomicBool) -> bool {
        let mut delay = RETRY_FIRST;
        loop {
            match self.once(w).await {
                Ok(()) => return true,
                Err(e) => {
                    let code = status_code(&e);
                    self.metrics
                        .write_errors
                        .get_or_create(&vec![("code".to_string(), code.to_string())])
                        .inc();
                    let retry = code == 0 || code == 409 || code == 429 || code >= 500;
                    tracing::warn!(error = %e, code, retry, "report write failed");
                    if !retry || stop.load(Ordering::Relaxed) {
                        return false;
                    }
                    self.metrics.retries.inc();
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Writes a batch, [`WRITE_CONCURRENCY`] at a time. Returns the number written.
    pub async fn write_all(&self, writes: Vec<Write>, stop: &AtomicBool) -> usize {
        futures::stream::iter(writes)
            .map(|w| async move { self.write(&w, stop).await })
            .buffer_unordered(WRITE_CONCURRENCY)
            .filter(|ok| futures::future::ready(*ok))
            .count()
            .await
    }

    /// Reports palisade wrote earlier whose object is gone (deleted while no controller
    /// ran): listed by label and deleted.
    pub async fn orphans(&self, keep: &BTreeSet<(Option<String>, String)>) -> Vec<Write> {
        let lp = ListParams::default().labels(&format!(
            "{}={}",
            policyreport::MANAGED_BY.0,
            policyreport::MANAGED_BY.1
        ));
        let mut out = Vec::new();
        for cluster in [false, true] {
            let api: Api<DynamicObject> =
                Api::all_with(self.client.clone(), &report_resource(cluster));
            match api.list(&lp).await {
                Ok(list) => {
                    for r in list.items {
                        let name = r.metadata.name.clone().unwrap_or_default();
                        let namespace = r.metadata.namespace.clone();
                        if !keep.contains(&(namespace.clone(), name.clone())) {
                            out.push(Write::Delete { name, namespace });
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot list existing reports"),
            }
        }
        out
    }
}

/// Shared with the HTTP endpoints.
pub struct Health {
    pub ready: AtomicBool,
    pub metrics: Arc<Metrics>,
}

async fn serve_endpoints(addr: SocketAddr, health: Arc<Health>) -> anyhow::Result<()> {
    use axum::routing::get;
    use axum::Router;
    let h = health.clone();
    let h2 = health.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let h = h.clone();
                async move {
                    if h.ready.load(Ordering::Relaxed) {
                        (axum::http::StatusCode::OK, "ready")
                    } else {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "initial sync not done",
                        )
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let h = h2.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            palisade_admission::metrics::CONTENT_TYPE,
                        )],
                        h.metrics.encode(),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Timings of a run, for tests and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// From start to the first full write after the initial sync.
    pub initial_sync: Option<Duration>,
    pub reports: usize,
    pub reconciles: u64,
    pub last_reconcile: Option<Instant>,
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    opts: ControllerOptions,
    progress: Option<Arc<std::sync::Mutex<Progress>>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health {
        ready: AtomicBool::new(false),
        metrics: metrics.clone(),
    });
    if let Some(addr) = opts.listen {
        let h = health.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_endpoints(addr, h).await {
                tracing::error!(error = %e, "health and metrics endpoints stopped");
            }
        });
    }
    let leadership = Leadership::start(client.clone(), opts.lease.clone(), metrics.clone());
    let (tx, mut rx) = mpsc::channel::<(usize, WatchEvent)>(4096);
    for (i, kind) in WATCHED.iter().enumerate() {
        tokio::spawn(watch_kind(client.clone(), kind, tx.clone(), i));
    }
    drop(tx);
    let writer = Writer::new(client.clone(), metrics.clone());
    let stop = AtomicBool::new(false);
    let mut state = State::new(opts.scanner, opts.categories, &opts.context);
    state.mark_all();
    let mut buffers: Vec<Vec<Box<Object>>> = vec![Vec::new(); WATCHED.len()];
    let mut was_leader = false;
    let mut first_full = true;
    tokio::pin!(shutdown);
    loop {
        // Collect a batch: everything that arrives within the window.
        let first = tokio::select! {
            _ = &mut shutdown => break,
            ev = rx.recv() => match ev {
                Some(ev) => Some(ev),
                None => {
                    // Every watch ended (no kind is served): nothing will change.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    None
                }
            },
            _ = tokio::time::sleep(Duration::from_secs(1)) => None,
        };
        let mut batch = Vec::new();
        if let Some(ev) = first {
            batch.push(ev);
            let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
            while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                batch.push(ev);
                if batch.len() >= 100_000 {
                    break;
                }
            }
        }
        for (idx, ev) in batch {
            let kind = &WATCHED[idx];
            let change = match ev {
                WatchEvent::Apply(v) => state.object(kind, v).map(|o| Change::Apply(Box::new(o))),
                WatchEvent::Delete(v) => state.object(kind, v).map(|o| Change::Delete(key_of(&o))),
                WatchEvent::Init => {
                    metrics
                        .relists
                        .get_or_create(&vec![("kind".to_string(), kind.kind.to_string())])
                        .inc();
                    buffers[idx].clear();
                    Some(Change::Relist(kind.kind))
                }
                WatchEvent::InitApply(v) => {
                    if let Some(o) = state.object(kind, v) {
                        buffers[idx].push(Box::new(o));
                    }
                    None
                }
                WatchEvent::InitDone => {
                    Some(Change::Listed(kind.kind, std::mem::take(&mut buffers[idx])))
                }
                WatchEvent::Error(404, _) => Some(Change::Absent(kind.kind)),
                WatchEvent::Error(code, msg) => {
                    tracing::warn!(kind = kind.kind, code, "watch: {msg}");
                    None
                }
            };
            if let Some(c) = change {
                state.apply(c);
            }
        }
        metrics.objects.set(state.len() as i64);
        if !state.synced() {
            continue;
        }
        let leader = leadership.is_leader();
        let touched = state.evaluate();
        let became_leader = leader && !was_leader;
        let keys: Vec<Key> = if became_leader {
            // A new leader writes everything it decided and removes what nobody owns.
            state.forget_decided()
        } else {
            touched.into_iter().collect()
        };
        was_leader = leader;
        for (part, n) in &state.evaluations {
            let c = metrics
                .evaluations
                .get_or_create(&vec![("part".to_string(), part.to_string())]);
            let have = c.get();
            if *n > have {
                c.inc_by(n - have);
            }
        }
        // Report bodies are built a chunk at a time, right before they are written, so a
        // full write never holds every report in memory.
        for chunk in keys.chunks(DECIDE_CHUNK) {
            let writes = state.decide(chunk);
            if leader && !writes.is_empty() {
                writer.write_all(writes, &stop).await;
            }
        }
        if became_leader {
            let keep = state.report_names();
            let orphans = writer.orphans(&keep).await;
            writer.write_all(orphans, &stop).await;
        }
        metrics.reports.set(state.report_count() as i64);
        // Ready once synced: a standby replica is ready to take over.
        health.ready.store(true, Ordering::Relaxed);
        if let Some(p) = &progress {
            let mut p = p.lock().unwrap();
            if first_full && leader {
                p.initial_sync = Some(started.elapsed());
                first_full = false;
            }
            p.reports = state.report_count();
            p.reconciles += 1;
            p.last_reconcile = Some(Instant::now());
        }
    }
    stop.store(true, Ordering::Relaxed);
    leadership.release().await;
    Ok(())
}

/// Resolves on SIGTERM (what the kubelet sends) or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
