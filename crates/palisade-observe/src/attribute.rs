//! Workload and policy attribution from a snapshot: pod IPs map to namespace, workload, pod
//! and labels; Service cluster IPs to the Service; node addresses to the node; anything else
//! is external. For flows between a workload and a workload or external IPv4 address, the
//! netpol engine gives the verdict the current policies imply, the deciding rules, and for a
//! denial the nearest miss; an observed verdict that differs is flagged as drift.

use palisade_model::Object;
use palisade_netpol::conn::Protocol;
use palisade_netpol::explain::explain;
use palisade_netpol::ip::{parse_v4, IpRange};
use palisade_netpol::model::Direction;
use palisade_netpol::{Endpoint as NpEndpoint, Engine, Network};
use palisade_store::{DnsRecord, Endpoint, EndpointKind, FlowRecord, Verdict};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Debug)]
struct Place {
    kind: EndpointKind,
    namespace: Option<String>,
    workload: Option<String>,
    pod: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
    /// Index into `Network::workloads` for pods.
    index: Option<usize>,
}

type Decision = (Verdict, Option<String>, Option<String>);

/// Attribution over one snapshot.
pub struct Attribution<'a> {
    by_ip: HashMap<String, Place>,
    engine: Option<Engine<'a>>,
    cache: Mutex<HashMap<(NpEndpoint, NpEndpoint, u8, u16), Decision>>,
}

fn str_at<'n>(n: &'n palisade_model::Node, path: &[&str]) -> Option<&'n palisade_model::Node> {
    let mut cur = n;
    for k in path {
        cur = cur.get(k)?;
    }
    Some(cur)
}

impl<'a> Attribution<'a> {
    /// Builds the address map from the snapshot's objects and the network model built from
    /// them (for workload names and the policy engine).
    pub fn new(objects: &[Object], net: &'a Network) -> Attribution<'a> {
        let mut by_ip = HashMap::new();
        for (i, w) in net.workloads.iter().enumerate() {
            for ip in &w.pod_ips {
                by_ip.insert(
                    ip.clone(),
                    Place {
                        kind: EndpointKind::Pod,
                        namespace: Some(w.namespace.clone()),
                        workload: Some(w.name.clone()),
                        pod: None,
                        labels: w
                            .labels
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        index: Some(i),
                    },
                );
            }
        }
        for o in objects {
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            match o.kind.as_str() {
                "Pod" => {
                    let status = o.root.get("status");
                    let mut ips: Vec<String> = status
                        .and_then(|s| s.get("podIPs"))
                        .map(|l| {
                            l.items()
                                .iter()
                                .filter_map(|i| i.get("ip")?.scalar_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(ip) = status
                        .and_then(|s| s.get("podIP"))
                        .and_then(|i| i.scalar_string())
                    {
                        ips.push(ip);
                    }
                    for ip in ips {
                        if let Some(p) = by_ip.get_mut(&ip) {
                            p.pod = Some(o.name.clone());
                        }
                    }
                }
                "Service" => {
                    let spec = str_at(&o.root, &["spec"]);
                    let mut ips: Vec<String> = spec
                        .and_then(|s| s.get("clusterIPs"))
                        .map(|l| l.items().iter().filter_map(|i| i.scalar_string()).collect())
                        .unwrap_or_default();
                    if let Some(ip) = spec
                        .and_then(|s| s.get("clusterIP"))
                        .and_then(|i| i.scalar_string())
                    {
                        ips.push(ip);
                    }
                    for ip in ips.into_iter().filter(|ip| ip != "None") {
                        by_ip.entry(ip).or_insert_with(|| Place {
                            kind: EndpointKind::Service,
                            namespace: Some(ns.clone()),
                            workload: Some(o.name.clone()),
                            pod: None,
                            labels: Default::default(),
                            index: None,
                        });
                    }
                }
                "Node" => {
                    let addrs = str_at(&o.root, &["status", "addresses"]);
                    for a in addrs.map(|a| a.items()).unwrap_or_default() {
                        if let Some(ip) = a.get("address").and_then(|i| i.scalar_string()) {
                            by_ip.entry(ip).or_insert_with(|| Place {
                                kind: EndpointKind::Node,
                                namespace: None,
                                workload: Some(o.name.clone()),
                                pod: None,
                                labels: Default::default(),
                                index: None,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Attribution {
            by_ip,
            engine: Some(Engine::new(net)),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// An attribution that knows no addresses (everything is external) and no policies.
    pub fn empty() -> Attribution<'static> {
        Attribution {
            by_ip: HashMap::new(),
            engine: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn place(&self, e: &mut Endpoint) -> Option<usize> {
        match self.by_ip.get(&e.ip) {
            Some(p) => {
                e.kind = p.kind;
                e.namespace = p.namespace.clone();
                e.workload = p.workload.clone();
                e.pod = p.pod.clone();
                e.labels = p.labels.clone();
                p.index
            }
            // An address the snapshot does not know: an imported record keeps the names
            // its source gave it; a bare address is external.
            None => {
                if e.namespace.is_none() && e.workload.is_none() {
                    e.kind = EndpointKind::External;
                }
                None
            }
        }
    }

    fn np_endpoint(&self, e: &Endpoint, index: Option<usize>) -> Option<NpEndpoint> {
        match (index, e.kind) {
            (Some(i), _) => Some(NpEndpoint::Workload(i)),
            (None, EndpointKind::External) => {
                parse_v4(&e.ip).map(|a| NpEndpoint::Ip(IpRange { lo: a, hi: a }))
            }
            _ => None, // Services and nodes: no pod-level policy applies as such
        }
    }

    /// Places both ends and, with a policy engine, adds the computed verdict.
    pub fn flow(&self, r: &mut FlowRecord) {
        let si = self.place(&mut r.src);
        let di = self.place(&mut r.dst);
        let Some(engine) = &self.engine else { return };
        let proto = match r.protocol.as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return,
        };
        let (Some(s), Some(d)) = (self.np_endpoint(&r.src, si), self.np_endpoint(&r.dst, di))
        else {
            return;
        };
        if matches!((s, d), (NpEndpoint::Ip(_), NpEndpoint::Ip(_))) {
            return;
        }
        let port = r.dst.port;
        let key = (s, d, proto as u8, port);
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
        let (verdict, policy, miss) = match cached {
            Some(x) => x,
            None => {
                let e = explain(engine, s, d, Some((proto, port)));
                let allowed = e.verdict();
                let decide = |dir: Direction, want: &[&str]| {
                    e.steps
                        .iter()
                        .filter(|st| st.direction == dir && want.contains(&st.action))
                        .find(|st| st.action == "Isolate" || st.conns.contains(proto, port))
                        .map(|st| format!("{} {}: {}", dir.as_str(), st.policy, st.rule))
                };
                let policy = if allowed {
                    let parts: Vec<String> = [Direction::Egress, Direction::Ingress]
                        .into_iter()
                        .filter_map(|d| decide(d, &["Allow", "Pass"]))
                        .collect();
                    (!parts.is_empty()).then(|| parts.join("; "))
                } else {
                    let dir = if e.egress.contains(proto, port) {
                        Direction::Ingress
                    } else {
                        Direction::Egress
                    };
                    decide(dir, &["Deny"]).or_else(|| decide(dir, &["Isolate"]))
                };
                let v = if allowed {
                    Verdict::Allowed
                } else {
                    Verdict::Denied
                };
                let x = (v, policy, e.near_misses.first().cloned());
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() < 1 << 20 {
                        c.insert(key, x.clone());
                    }
                }
                x
            }
        };
        r.computed_verdict = Some(verdict);
        r.computed_policy = policy;
        r.nearest_miss = if verdict == Verdict::Denied {
            miss
        } else {
            None
        };
        r.drift = r.verdict != Verdict::Unknown && r.verdict != verdict;
    }

    pub fn dns(&self, r: &mut DnsRecord) {
        self.place(&mut r.client);
        self.place(&mut r.server);
    }
}
