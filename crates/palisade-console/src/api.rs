//! The JSON API. Every endpoint is `GET /api/v1/<name>?<query>` (impact also takes a `POST`
//! of policy YAML) and answers JSON; errors are `{"error": "..."}` with 400 (the request is
//! wrong: a malformed parameter, an empty range, an unknown workload), 404 (no snapshot or no
//! such endpoint) or 500 (the store failed). Handlers are plain functions of [`Console`] and
//! the raw query string.

use crate::metrics::Metrics;
use crate::params::{self, Params};
use palisade_model::{LoadOptions, Object, Source};
use palisade_netpol::conn::Protocol;
use palisade_netpol::eval::Engine;
use palisade_netpol::flows::{resolve_all, Flow, FlowEnd, FlowLog, Verdict as NpVerdict};
use palisade_netpol::{BuildOptions, Network};
use palisade_store::aggregate::End;
use palisade_store::{EndpointKind, Filter, Scope, Store, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// An API error: HTTP status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn bad(m: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: m.into(),
        }
    }
    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: m.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Query(m) => ApiError::bad(m),
            other => ApiError {
                status: 500,
                message: other.to_string(),
            },
        }
    }
}

type ApiResult = Result<Value, ApiError>;

/// The cluster's manifests, for explain, recommend, impact and a workload's policies, scan
/// findings and RBAC risks (computed once, at load).
pub struct Snapshot {
    pub objects: Vec<Object>,
    pub net: Network,
    /// Scan findings (the default profile) by (namespace, object name).
    pub findings: BTreeMap<(String, String), Vec<palisade_report::Finding>>,
    /// RBAC risks (RBAC001–018) by the service account they belong to (namespace, name).
    pub risks: BTreeMap<(String, String), Vec<Value>>,
    /// The service account of each pod-bearing object (namespace, object name).
    pub service_accounts: BTreeMap<(String, String), String>,
}

impl Snapshot {
    pub fn new(objects: Vec<Object>) -> Snapshot {
        let net = Network::build(&objects, &BuildOptions::default());
        let mut findings: BTreeMap<(String, String), Vec<palisade_report::Finding>> =
            BTreeMap::new();
        if let Ok(engine) = palisade_checks::engine::Engine::new(Default::default()) {
            for f in engine.run(&objects).findings {
                let ns = f.object.namespace.clone().unwrap_or_default();
                findings
                    .entry((ns, f.object.name.clone()))
                    .or_default()
                    .push(f);
            }
        }
        let rbac = palisade_rbac::Rbac::build(&objects, &palisade_rbac::BuildOptions::default());
        let mut risks: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        for r in palisade_rbac::risks::risks(&rbac, &Default::default()) {
            if r.subject.kind == palisade_rbac::SubjectKind::ServiceAccount {
                let key = (
                    r.subject.namespace.clone().unwrap_or_default(),
                    r.subject.name.clone(),
                );
                risks
                    .entry(key)
                    .or_default()
                    .push(serde_json::to_value(&r).unwrap_or_default());
            }
        }
        let mut service_accounts = BTreeMap::new();
        for o in &objects {
            if let Some(p) = o.pod() {
                let sa = p
                    .spec
                    .get("serviceAccountName")
                    .and_then(|n| n.as_str())
                    .unwrap_or("default");
                service_accounts.insert(
                    (
                        o.namespace.clone().unwrap_or_else(|| "default".into()),
                        o.name.clone(),
                    ),
                    sa.to_string(),
                );
            }
        }
        Snapshot {
            objects,
            net,
            findings,
            risks,
            service_accounts,
        }
    }
}

/// One detect alert (a JSON line of `detect run -o json`), with its time in Unix ms.
#[derive(Clone, Debug)]
pub struct Alert {
    pub time_ms: i64,
    pub value: Value,
}

/// Reads detect alerts, one JSON object per line. Returns the alerts and `(line, message)`
/// for every line that is not an alert (reported by the caller, never dropped silently).
pub fn read_alerts(text: &str) -> (Vec<Alert>, Vec<(usize, String)>) {
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => {
                match v
                    .get("time")
                    .and_then(Value::as_str)
                    .and_then(palisade_detect::time::parse_rfc3339)
                {
                    Some(ns) => alerts.push(Alert {
                        time_ms: ns / 1_000_000,
                        value: v,
                    }),
                    None => errors.push((i + 1, "an alert without an RFC 3339 \"time\"".into())),
                }
            }
            Ok(_) => errors.push((i + 1, "not a JSON object".into())),
            Err(e) => errors.push((i + 1, format!("not JSON: {e}"))),
        }
    }
    (alerts, errors)
}

/// What the server holds.
pub struct Console {
    store: Mutex<Box<dyn Store>>,
    pub snapshot: Option<Snapshot>,
    pub alerts: Vec<Alert>,
    pub metrics: Arc<Metrics>,
    now: Box<dyn Fn() -> i64 + Send + Sync>,
}

/// Endpoints and their own parameters (besides the filter's).
pub const ENDPOINTS: &[(&str, &[&str])] = &[
    ("meta", &[]),
    ("graph", &[]),
    ("flows", &[]),
    ("top", &[]),
    ("dns", &[]),
    ("domains", &[]),
    ("new-edges", &["new_since"]),
    ("denied", &[]),
    ("details", &[]),
    ("stats", &[]),
    ("edge", &["src", "dst"]),
    ("workload", &["name"]),
    // `port` and `protocol` are the filter's parameters.
    ("explain", &["src", "dst"]),
    ("recommend", &["src", "dst"]),
    ("impact", &[]),
    ("alerts", &[]),
];

fn now_ms() -> i64 {
    palisade_detect::time::now_ns() / 1_000_000
}

impl Console {
    pub fn new(store: Box<dyn Store>, snapshot: Option<Snapshot>, alerts: Vec<Alert>) -> Console {
        Console {
            store: Mutex::new(store),
            snapshot,
            alerts,
            metrics: Arc::new(Metrics::new()),
            now: Box::new(now_ms),
        }
    }

    /// Fixes "now" (tests over data at a known time).
    pub fn with_clock(mut self, now: impl Fn() -> i64 + Send + Sync + 'static) -> Console {
        self.now = Box::new(now);
        self
    }

    pub fn now(&self) -> i64 {
        (self.now)()
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers `endpoint` with the raw `query` string (and a body for `POST /impact`).
    pub fn handle(&self, endpoint: &str, query: &str, body: Option<&str>) -> ApiResult {
        let extras = ENDPOINTS
            .iter()
            .find(|(n, _)| *n == endpoint)
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no endpoint /api/v1/{endpoint} (endpoints: {})",
                    ENDPOINTS.iter().map(|e| e.0).collect::<Vec<_>>().join(", ")
                ))
            })?;
        let p = params::parse(query, self.now(), extras).map_err(ApiError::bad)?;
        match endpoint {
            "meta" => self.meta(),
            "graph" => self.graph(&p),
            "flows" => Ok(serde_json::to_value(self.store().flows(&p.filter)?).unwrap_or_default()),
            "top" => {
                Ok(serde_json::to_value(self.store().top_talkers(&p.filter)?).unwrap_or_default())
            }
            "dns" => Ok(
                serde_json::to_value(self.store().dns_by_workload(&p.filter)?).unwrap_or_default(),
            ),
            "domains" => Ok(
                serde_json::to_value(self.store().dns_by_domain(&p.filter)?).unwrap_or_default()
            ),
            "new-edges" => {
                let t = params::parse_instant(
                    p.require("new_since").map_err(ApiError::bad)?,
                    self.now(),
                )
                .map_err(|e| ApiError::bad(format!("parameter new_since: {e}")))?;
                Ok(serde_json::to_value(self.store().new_edges(&p.filter, t)?).unwrap_or_default())
            }
            "denied" => Ok(
                serde_json::to_value(self.store().denied_by_policy(&p.filter)?).unwrap_or_default(),
            ),
            "details" => {
                Ok(serde_json::to_value(self.store().details(&p.filter)?).unwrap_or_default())
            }
            "stats" => self.stats(),
            "edge" => self.edge(&p),
            "workload" => self.workload(&p),
            "explain" => self.explain(&p),
            "recommend" => self.recommend(&p),
            "impact" => self.impact(&p, body),
            "alerts" => Ok(self.alerts(&p)),
            _ => Err(ApiError::not_found(endpoint.to_string())),
        }
    }

    /// `/metrics`: refreshes the store's figures and the edges of the last window, then
    /// encodes everything.
    pub fn metrics_text(&self) -> String {
        let now = self.now();
        let f = Filter {
            since: now - crate::metrics::EDGE_WINDOW_MS,
            until: now + 1,
            ..Filter::default()
        };
        let (stats, rows) = {
            let s = self.store();
            (s.stats(), s.flows(&f))
        };
        match (stats, rows) {
            (Ok(st), Ok(rows)) => {
                let edges = rows
                    .into_iter()
                    .map(|r| crate::metrics::EdgeSample {
                        src: r.src.label(),
                        dst: r.dst.label(),
                        verdict: r.verdict,
                        bytes: r.counts.bytes_out + r.counts.bytes_in,
                        flows: r.counts.flows,
                    })
                    .collect();
                self.metrics.update_store(&st, edges);
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!("metrics: reading the store: {e}"),
        }
        self.metrics.encode()
    }

    fn meta(&self) -> ApiResult {
        let all = Filter {
            since: 0,
            until: self.now().saturating_add(1),
            resolution: Some(palisade_store::query::Resolution::Hour),
            ..Filter::default()
        };
        let rows = self.store().flows(&all)?;
        let first = rows.iter().map(|r| r.counts.first_seen).min();
        let last = rows.iter().map(|r| r.counts.last_seen).max();
        let staged = self
            .snapshot
            .as_ref()
            .map_or(0, |s| s.net.policies.iter().filter(|p| p.staged).count());
        Ok(json!({
            "now": self.now(),
            "history": {"first": first, "last": last},
            "snapshot": self.snapshot.is_some(),
            "staged_policies": staged,
            "alerts": self.alerts.len(),
        }))
    }

    fn stats(&self) -> ApiResult {
        let s = self.store().stats()?;
        Ok(json!({"store": s, "api": self.metrics.api_summary()}))
    }

    /// The service graph: workloads grouped by namespace, directed edges with bytes, flows,
    /// denied, TLS and plaintext counts, ports and a verdict class.
    pub fn graph(&self, p: &Params) -> ApiResult {
        let rows = self.store().flows(&p.filter)?;
        let mut edges: BTreeMap<(End, End), GraphAcc> = BTreeMap::new();
        for r in &rows {
            let e = edges.entry((r.src.clone(), r.dst.clone())).or_default();
            e.add(r);
        }
        let mut nodes: BTreeMap<End, (u64, u64, u64)> = BTreeMap::new();
        for ((s, d), e) in &edges {
            let n = nodes.entry(s.clone()).or_default();
            n.0 += e.bytes_out;
            n.2 += e.flows;
            let n = nodes.entry(d.clone()).or_default();
            n.1 += e.bytes_out;
            n.2 += e.flows;
        }
        let mut namespaces: BTreeMap<String, usize> = BTreeMap::new();
        let nodes_json: Vec<Value> = nodes
            .iter()
            .map(|(e, (out, inn, flows))| {
                let g = group_of(e);
                *namespaces.entry(g.clone()).or_default() += 1;
                json!({"id": e.label(), "namespace": g, "name": e.name, "kind": e.kind.as_str(),
                       "bytes_out": out, "bytes_in": inn, "flows": flows})
            })
            .collect();
        let hits = threat_hits(&self.alerts);
        let edges_json: Vec<Value> = edges
            .iter()
            .map(|((s, d), e)| {
                let mut v = e.to_json(s, d);
                let feeds = hits.matching(s, d, &e.names);
                if !feeds.is_empty() {
                    // A threat-feed match outranks the verdict (kept in `verdict`).
                    v["verdict"] = v["class"].clone();
                    v["class"] = json!("threat");
                    v["threats"] = json!(feeds);
                }
                v
            })
            .collect();
        Ok(json!({
            "namespaces": namespaces.iter().map(|(n, c)| json!({"id": n, "workloads": c})).collect::<Vec<_>>(),
            "nodes": nodes_json,
            "edges": edges_json,
        }))
    }

    fn edge_rows(
        &self,
        f: &Filter,
        src: &str,
        dst: &str,
    ) -> Result<Vec<palisade_store::query::EdgeRow>, ApiError> {
        let rows = self.store().flows(f)?;
        Ok(rows
            .into_iter()
            .filter(|r| r.src.label() == src && r.dst.label() == dst)
            .collect())
    }

    /// One edge: its rows per port and verdict, the flows kept whole, and (with a snapshot)
    /// the explanation and a recommended policy per denied port.
    fn edge(&self, p: &Params) -> ApiResult {
        let src = p.require("src").map_err(ApiError::bad)?;
        let dst = p.require("dst").map_err(ApiError::bad)?;
        let rows = self.edge_rows(&p.filter, src, dst)?;
        if rows.is_empty() {
            return Err(ApiError::bad(format!(
                "no flows from {src} to {dst} in the range and filters"
            )));
        }
        let details: Vec<_> = self
            .store()
            .details(&p.filter)?
            .into_iter()
            .filter(|d| End::of(&d.src).label() == src && End::of(&d.dst).label() == dst)
            .take(200)
            .collect();
        let mut acc = GraphAcc::default();
        for r in &rows {
            acc.add(r);
        }
        let (s_end, d_end) = (&rows[0].src, &rows[0].dst);
        let mut explains = Vec::new();
        if let Some(snap) = &self.snapshot {
            let mut seen = BTreeSet::new();
            for r in &rows {
                if !seen.insert((r.protocol.clone(), r.port)) {
                    continue;
                }
                if let Some(proto) = Protocol::parse(&r.protocol) {
                    match explain_one(snap, s_end, d_end, proto, r.port) {
                        Ok(v) => explains.push(v),
                        Err(e) => explains
                            .push(json!({"port": r.port, "protocol": r.protocol, "error": e})),
                    }
                }
            }
        }
        Ok(json!({
            "summary": acc.to_json(s_end, d_end),
            "rows": rows,
            "details": details,
            "explain": explains,
            "snapshot": self.snapshot.is_some(),
        }))
    }

    /// A workload: its peers both ways, DNS names it resolved, the policies selecting it, its
    /// scan findings and its service account's RBAC risks (snapshot), and alerts in its
    /// namespace that name it.
    fn workload(&self, p: &Params) -> ApiResult {
        let name = p.require("name").map_err(ApiError::bad)?.to_string();
        let f = Filter {
            workload: Some(name.clone()),
            ..p.filter.clone()
        };
        let rows = self.store().flows(&f)?;
        let mut peers: BTreeMap<(String, &str), GraphAcc> = BTreeMap::new();
        for r in &rows {
            let (peer, dir) = if r.src.label() == name {
                (r.dst.label(), "out")
            } else {
                (r.src.label(), "in")
            };
            peers.entry((peer, dir)).or_default().add(r);
        }
        let dns = self.store().dns_by_workload(&f)?;
        let mut policies = Vec::new();
        if let Some(snap) = &self.snapshot {
            if let Some((ns, w)) = name.split_once('/') {
                if let Some(wl) = snap
                    .net
                    .workloads
                    .iter()
                    .find(|x| x.namespace == ns && x.name == w)
                {
                    for pol in &snap.net.policies {
                        if pol.namespace == ns && pol.pod_selector.matches(&wl.labels) {
                            policies.push(json!({"namespace": pol.namespace, "name": pol.name,
                                "ingress": pol.affects_ingress, "egress": pol.affects_egress, "staged": pol.staged}));
                        }
                    }
                }
            }
        }
        let mut findings: Vec<&palisade_report::Finding> = Vec::new();
        let mut risks: Vec<&Value> = Vec::new();
        let mut service_account = None;
        if let (Some(snap), Some((ns, w))) = (&self.snapshot, name.split_once('/')) {
            let key = (ns.to_string(), w.to_string());
            findings.extend(snap.findings.get(&key).into_iter().flatten());
            if let Some(sa) = snap.service_accounts.get(&key) {
                risks.extend(
                    snap.risks
                        .get(&(ns.to_string(), sa.clone()))
                        .into_iter()
                        .flatten(),
                );
                service_account = Some(format!("{ns}/{sa}"));
            }
        }
        let short = name.rsplit('/').next().unwrap_or(&name).to_string();
        let ns = name.split_once('/').map(|x| x.0.to_string());
        let alerts: Vec<&Value> = self
            .alerts
            .iter()
            .filter(|a| a.time_ms >= p.filter.since && a.time_ms < p.filter.until)
            .filter(|a| alert_namespace(&a.value).is_none_or(|n| Some(n) == ns.as_deref()))
            .filter(|a| a.value.to_string().contains(&short))
            .map(|a| &a.value)
            .take(200)
            .collect();
        Ok(json!({
            "name": name,
            "peers": peers.iter().map(|((peer, dir), a)| {
                let mut v = a.to_json_plain();
                v["peer"] = json!(peer);
                v["direction"] = json!(dir);
                v
            }).collect::<Vec<_>>(),
            "dns": dns,
            "policies": policies,
            "findings": findings,
            "service_account": service_account,
            "rbac_risks": risks,
            "snapshot": self.snapshot.is_some(),
            "alerts": alerts,
        }))
    }

    fn snapshot(&self) -> Result<&Snapshot, ApiError> {
        self.snapshot.as_ref().ok_or_else(|| {
            ApiError::not_found(
                "no snapshot loaded: start `palisade observe serve` with --snapshot FILE",
            )
        })
    }

    fn explain(&self, p: &Params) -> ApiResult {
        let snap = self.snapshot()?;
        let (src, dst, proto, port) = edge_query(p)?;
        explain_one(snap, &src, &dst, proto, port).map_err(ApiError::bad)
    }

    /// What `netpol recommend` writes for the flows of one edge.
    fn recommend(&self, p: &Params) -> ApiResult {
        let snap = self.snapshot()?;
        let (src, dst, proto, port) = edge_query(p)?;
        let log = FlowLog {
            flows: vec![Flow {
                time: None,
                src: flow_end(&src),
                dst: flow_end(&dst),
                protocol: proto,
                port,
                bytes: 0,
                packets: 0,
                verdict: None,
                policy: None,
                line: 1,
            }],
            ..FlowLog::default()
        };
        let (resolved, unresolved) = resolve_all(&snap.net, &log);
        if let Some((_, why)) = unresolved.first() {
            return Err(ApiError::bad(format!(
                "{} → {}: {why}",
                src.label(),
                dst.label()
            )));
        }
        let rec = palisade_netpol::recommend::recommend(
            &snap.net,
            &resolved,
            &palisade_netpol::recommend::Options::default(),
        );
        let mut yaml = format!(
            "# Generated by palisade netpol recommend for {} -> {} {}/{port}.\n",
            src.label(),
            dst.label(),
            proto.as_str()
        );
        yaml.push_str(&rec.policies.join("---\n"));
        Ok(json!({"yaml": yaml, "notes": rec.notes}))
    }

    /// Which stored flows of the range a staged policy would newly deny (or allow): the
    /// snapshot's `palisade.dev/staged` policies, or the policies of a posted YAML file
    /// (they replace policies of the same kind, namespace and name).
    fn impact(&self, p: &Params, body: Option<&str>) -> ApiResult {
        let snap = self.snapshot()?;
        let (after, mode) = match body.filter(|b| !b.trim().is_empty()) {
            None => (
                Network::build(
                    &snap.objects,
                    &BuildOptions {
                        enforce_staged: true,
                    },
                ),
                "staged",
            ),
            Some(yaml) => {
                let loaded = palisade_model::load_bytes(
                    yaml.as_bytes(),
                    Source::File("posted policy".into()),
                    &LoadOptions::default(),
                );
                let errors: Vec<String> = loaded
                    .diagnostics
                    .iter()
                    .filter(|d| d.level == palisade_model::Level::Error)
                    .map(|d| d.to_string())
                    .collect();
                if !errors.is_empty() {
                    return Err(ApiError::bad(errors.join("; ")));
                }
                let keys: Vec<_> = loaded.objects.iter().filter_map(policy_key).collect();
                if keys.is_empty() {
                    return Err(ApiError::bad(
                        "the posted YAML holds no NetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy",
                    ));
                }
                let mut merged: Vec<Object> = snap
                    .objects
                    .iter()
                    .filter(|o| policy_key(o).is_none_or(|k| !keys.contains(&k)))
                    .cloned()
                    .collect();
                merged.extend(loaded.objects);
                (
                    Network::build(
                        &merged,
                        &BuildOptions {
                            enforce_staged: true,
                        },
                    ),
                    "posted",
                )
            }
        };
        let (log, counts) = flow_log_counted(&**self.store(), &p.filter)?;
        let (resolved, unresolved) = resolve_all(&snap.net, &log);
        let (b, a) = (Engine::new(&snap.net), Engine::new(&after));
        let r = palisade_netpol::impact::impact(&b, &a, &resolved, &log);
        // A log entry is a stored row (one edge and minute, or one detail record): count
        // the flow records behind each impact row.
        let mut flows: BTreeMap<(String, String, Protocol, u16), u64> = BTreeMap::new();
        for f in &resolved {
            *flows
                .entry((b.label(f.src), b.label(f.dst), f.protocol, f.port))
                .or_default() += counts[f.flow];
        }
        let rows = |rs: &[palisade_netpol::impact::Row]| -> Vec<Value> {
            rs.iter()
                .map(|r| {
                    let n = flows
                        .get(&(r.src.clone(), r.dst.clone(), r.protocol, r.port))
                        .copied()
                        .unwrap_or(r.flows);
                    json!({"src": r.src, "dst": r.dst, "protocol": r.protocol.as_str(),
                           "port": r.port, "flows": n, "rows": r.flows, "bytes": r.bytes})
                })
                .collect()
        };
        Ok(json!({
            "mode": mode,
            "evaluated": r.evaluated,
            "unresolved": unresolved.len(),
            "still_allowed": r.still_allowed,
            "still_denied": r.still_denied,
            "newly_denied": rows(&r.newly_denied),
            "newly_allowed": rows(&r.newly_allowed),
        }))
    }

    fn alerts(&self, p: &Params) -> Value {
        let f = &p.filter;
        let mut out: Vec<&Value> = self
            .alerts
            .iter()
            .filter(|a| a.time_ms >= f.since && a.time_ms < f.until)
            .filter(|a| match &f.namespace {
                Some(ns) => alert_namespace(&a.value) == Some(ns.as_str()),
                None => true,
            })
            .map(|a| &a.value)
            .collect();
        if f.limit > 0 {
            out.truncate(f.limit);
        }
        json!(out)
    }
}

/// Threat-feed hits among the alerts (palisade-threat's `Threat feed match` alerts): which
/// (workload, address range or name) pairs matched which feeds.
#[derive(Default)]
struct ThreatHits {
    /// (workload, peer end label: an external range) → feeds, for `flow.dst` / `flow.src`.
    peers: BTreeMap<(String, String, bool), BTreeSet<String>>,
    /// (workload, name) → feeds, for names seen on flows (DNS name, SNI, HTTP host).
    names: BTreeMap<(String, String), BTreeSet<String>>,
}

impl ThreatHits {
    fn matching(&self, src: &End, dst: &End, names: &BTreeSet<String>) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        let (s, d) = (src.label(), dst.label());
        // The workload called the address (`flow.dst`), or the address called it (`flow.src`).
        for key in [(s.clone(), d.clone(), true), (d.clone(), s.clone(), false)] {
            if let Some(f) = self.peers.get(&key) {
                out.extend(f.iter().cloned());
            }
        }
        for n in names {
            if let Some(f) = self.names.get(&(s.clone(), n.to_ascii_lowercase())) {
                out.extend(f.iter().cloned());
            }
        }
        out.into_iter().collect()
    }
}

fn threat_hits(alerts: &[Alert]) -> ThreatHits {
    let mut h = ThreatHits::default();
    for a in alerts {
        let Some(f) = a.value.get("output_fields") else {
            continue;
        };
        let get = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
        let (field, observed) = (get("threat.field"), get("threat.observed"));
        if field.is_empty() || observed.is_empty() {
            continue;
        }
        let workload = match (get("k8s.ns.name"), get("k8s.workload.name")) {
            ("", w) => w.to_string(),
            (ns, w) => format!("{ns}/{w}"),
        };
        let feeds: BTreeSet<String> = get("threat.feed")
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        match field {
            "flow.dst" | "flow.src" => {
                // `203.0.113.7:4444`, `[2001:db8::1]:443` or an address alone.
                let ip = observed
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']').map(|x| x.0))
                    .or_else(|| {
                        observed
                            .rsplit_once(':')
                            .filter(|(a, _)| !a.contains(':'))
                            .map(|x| x.0)
                    })
                    .unwrap_or(observed);
                let range = palisade_store::aggregate::external_range(ip);
                h.peers
                    .entry((workload, range, field == "flow.dst"))
                    .or_default()
                    .extend(feeds);
            }
            "flow.dns_name" | "flow.sni" | "flow.http_host" => {
                h.names
                    .entry((
                        workload,
                        observed.trim_end_matches('.').to_ascii_lowercase(),
                    ))
                    .or_default()
                    .extend(feeds);
            }
            _ => {}
        }
    }
    h
}

/// The namespace an alert is about (k8s audit or syscall fields).
fn alert_namespace(v: &Value) -> Option<&str> {
    let f = v.get("output_fields")?;
    ["ka.target.namespace", "k8s.ns.name", "ka.resp.namespace"]
        .iter()
        .find_map(|k| f.get(*k).and_then(Value::as_str))
}

fn policy_key(o: &Object) -> Option<(String, String, String)> {
    matches!(
        o.kind.as_str(),
        "NetworkPolicy" | "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy"
    )
    .then(|| {
        (
            o.kind.clone(),
            o.namespace.clone().unwrap_or_else(|| "default".into()),
            o.name.clone(),
        )
    })
}

/// The compound node an end is drawn in: its namespace, `(external)` or `(nodes)`.
pub fn group_of(e: &End) -> String {
    if !e.namespace.is_empty() {
        e.namespace.clone()
    } else if e.kind == EndpointKind::Node {
        "(nodes)".into()
    } else {
        "(external)".into()
    }
}

/// Parses an end as the graph names it: `ns/name`, a node name, or an external range.
fn end_of(label: &str) -> End {
    match label.split_once('/') {
        Some((ns, name)) if !ns.contains('.') && !ns.contains(':') => End {
            namespace: ns.into(),
            name: name.into(),
            kind: EndpointKind::Pod,
        },
        _ => End {
            namespace: String::new(),
            name: label.into(),
            kind: EndpointKind::External,
        },
    }
}

fn edge_query(p: &Params) -> Result<(End, End, Protocol, u16), ApiError> {
    let src = end_of(p.require("src").map_err(ApiError::bad)?);
    let dst = end_of(p.require("dst").map_err(ApiError::bad)?);
    let proto = match p.filter.protocol.as_deref() {
        None => Protocol::Tcp,
        Some(s) => Protocol::parse(s).ok_or_else(|| {
            ApiError::bad(format!(
                "parameter protocol={s:?}: expected tcp, udp or sctp"
            ))
        })?,
    };
    let port = p
        .filter
        .port
        .ok_or_else(|| ApiError::bad("missing parameter \"port\""))?;
    Ok((src, dst, proto, port))
}

/// An end as netpol's explain names it: `ns/name`, or the first address of an external range.
fn explain_spec(e: &End) -> String {
    if e.namespace.is_empty() {
        e.name.split('/').next().unwrap_or(&e.name).to_string()
    } else {
        format!("{}/{}", e.namespace, e.name)
    }
}

fn explain_one(
    snap: &Snapshot,
    src: &End,
    dst: &End,
    proto: Protocol,
    port: u16,
) -> Result<Value, String> {
    let engine = Engine::new(&snap.net);
    let s = palisade_netpol::explain::endpoint(&engine, &explain_spec(src))?;
    let d = palisade_netpol::explain::endpoint(&engine, &explain_spec(dst))?;
    let e = palisade_netpol::explain::explain(&engine, s, d, Some((proto, port)));
    Ok(json!({
        "src": e.src,
        "dst": e.dst,
        "protocol": proto.as_str(),
        "port": port,
        "allowed": e.verdict(),
        "text": palisade_netpol::explain::render(&e),
        "nearest_miss": e.near_misses,
    }))
}

fn flow_end(e: &End) -> FlowEnd {
    if e.namespace.is_empty() {
        FlowEnd {
            ip: Some(explain_spec(e)),
            ..FlowEnd::default()
        }
    } else {
        FlowEnd {
            namespace: Some(e.namespace.clone()),
            workload: Some(e.name.clone()),
            ..FlowEnd::default()
        }
    }
}

/// Counters of a (source, destination) pair over every port and verdict.
#[derive(Default)]
struct GraphAcc {
    bytes_out: u64,
    bytes_in: u64,
    flows: u64,
    allowed: u64,
    denied: u64,
    tls: u64,
    plaintext: u64,
    ports: BTreeSet<String>,
    /// Names the source resolved the destination as (external destinations).
    names: BTreeSet<String>,
    first: i64,
    last: i64,
}

impl GraphAcc {
    fn add(&mut self, r: &palisade_store::query::EdgeRow) {
        if self.flows == 0 {
            self.first = r.counts.first_seen;
            self.last = r.counts.last_seen;
        }
        self.first = self.first.min(r.counts.first_seen);
        self.last = self.last.max(r.counts.last_seen);
        self.bytes_out += r.counts.bytes_out;
        self.bytes_in += r.counts.bytes_in;
        self.flows += r.counts.flows;
        match r.verdict.as_str() {
            "denied" => self.denied += r.counts.flows,
            "allowed" => self.allowed += r.counts.flows,
            _ => {}
        }
        self.tls += r.counts.tls_flows;
        self.plaintext += r.counts.plaintext_flows;
        self.ports.insert(format!("{}/{}", r.protocol, r.port));
        if !r.dst_name.is_empty() {
            self.names.insert(r.dst_name.clone());
        }
    }
    /// `denied` (every flow), `mixed` (some), `plaintext`, `allowed`, or `unknown` (no
    /// verdict: a passive sensor without a snapshot).
    fn class(&self) -> &'static str {
        if self.denied > 0 && self.denied == self.flows {
            "denied"
        } else if self.denied > 0 {
            "mixed"
        } else if self.plaintext > 0 {
            "plaintext"
        } else if self.allowed > 0 {
            "allowed"
        } else {
            "unknown"
        }
    }
    fn to_json_plain(&self) -> Value {
        json!({"bytes": self.bytes_out + self.bytes_in, "bytes_out": self.bytes_out, "bytes_in": self.bytes_in,
               "flows": self.flows, "denied": self.denied, "tls": self.tls, "plaintext": self.plaintext,
               "ports": self.ports, "class": self.class(), "first_seen": self.first, "last_seen": self.last})
    }
    fn to_json(&self, s: &End, d: &End) -> Value {
        let mut v = self.to_json_plain();
        v["src"] = json!(s.label());
        v["dst"] = json!(d.label());
        v
    }
}

/// The stored flows of a filter as a netpol flow log (for impact and `netpol recommend/impact
/// --from-store`): edges between in-cluster ends from the aggregates, and flows with an
/// external end from the detail records, with their addresses.
pub fn flow_log(store: &dyn Store, f: &Filter) -> Result<FlowLog, StoreError> {
    flow_log_counted(store, f).map(|(log, _)| log)
}

/// [`flow_log`], with the number of flow records behind each entry.
pub fn flow_log_counted(store: &dyn Store, f: &Filter) -> Result<(FlowLog, Vec<u64>), StoreError> {
    let mut counts = Vec::new();
    let proto = Protocol::parse;
    let verdict = |v: &str| match v {
        "allowed" => Some(NpVerdict::Allowed),
        "denied" => Some(NpVerdict::Denied),
        _ => None,
    };
    let time = |ms: i64| {
        let s = palisade_detect::time::iso8601(ms * 1_000_000);
        format!("{}Z", &s[..23.min(s.len())])
    };
    let mut log = FlowLog::default();
    let end_of = |e: &End| FlowEnd {
        namespace: Some(e.namespace.clone()).filter(|s| !s.is_empty()),
        workload: Some(e.name.clone()),
        ..FlowEnd::default()
    };
    for e in store.flows(&Filter {
        scope: Some(Scope::Internal),
        ..f.clone()
    })? {
        let Some(protocol) = proto(&e.protocol) else {
            continue;
        };
        counts.push(e.counts.flows);
        log.flows.push(Flow {
            time: Some(time(e.counts.first_seen)),
            src: end_of(&e.src),
            dst: end_of(&e.dst),
            protocol,
            port: e.port,
            bytes: e.counts.bytes_out + e.counts.bytes_in,
            packets: e.counts.packets_out + e.counts.packets_in,
            verdict: verdict(&e.verdict),
            policy: None,
            line: log.flows.len() + 1,
        });
    }
    let ext_end = |e: &palisade_store::Endpoint| FlowEnd {
        namespace: e.namespace.clone(),
        workload: e.workload.clone(),
        pod: e.pod.clone(),
        // Pods are placed by workload name, external peers by address.
        ip: if e.workload.is_some() {
            None
        } else {
            Some(e.ip.clone())
        },
        labels: None,
    };
    for r in store.details(&Filter {
        scope: Some(Scope::External),
        ..f.clone()
    })? {
        let Some(protocol) = proto(&r.protocol) else {
            continue;
        };
        counts.push(r.connections());
        log.flows.push(Flow {
            time: Some(time(r.start)),
            src: ext_end(&r.src),
            dst: ext_end(&r.dst),
            protocol,
            port: r.dst.port,
            bytes: r.bytes_out + r.bytes_in,
            packets: r.packets_out + r.packets_in,
            verdict: verdict(r.effective_verdict().as_str()),
            policy: r.policy.clone(),
            line: log.flows.len() + 1,
        });
    }
    Ok((log, counts))
}
