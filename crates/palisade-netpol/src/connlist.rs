//! The list of allowed connections between workloads, external IP ranges and the ingress
//! controller, computed over equivalence classes of workloads (same namespace, labels and
//! container ports behave the same), then expanded.

use crate::conn::{ConnSet, PortSet, Protocol};
use crate::eval::{Endpoint, Engine};
use crate::ip::{atoms, IpRange, IpSet};
use crate::model::{Direction, NpPeer, Workload};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Connection {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub conns: ConnSet,
}

/// External ranges: sources (from ingress ipBlocks) and destinations (from egress ipBlocks,
/// admin `networks` and `nodes`), each splitting the IPv4 space at every block boundary.
pub fn external_ranges(engine: &Engine) -> (Vec<IpRange>, Vec<IpRange>) {
    let net = engine.net;
    let mut src_blocks: Vec<IpSet> = Vec::new();
    let mut dst_blocks: Vec<IpSet> = Vec::new();
    for (pi, p) in net.policies.iter().enumerate() {
        if p.staged {
            continue;
        }
        for (dir, out) in [
            (Direction::Ingress, &mut src_blocks),
            (Direction::Egress, &mut dst_blocks),
        ] {
            for r in p.rules(dir) {
                for peer in r.peers.iter().flatten() {
                    if let NpPeer::IpBlock { set, .. } = peer {
                        // Each contiguous part of cidr-minus-except counts as one block.
                        for &(lo, hi) in set.intervals() {
                            out.push(IpSet::range(lo, hi));
                        }
                    }
                }
            }
            let _ = pi;
        }
    }
    let admin = net
        .admin_policies
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.staged)
        .map(|(i, _)| Some(i));
    let baseline = net.baseline.iter().filter(|b| !b.staged).map(|_| None);
    for which in admin.chain(baseline) {
        let rules = match which {
            Some(i) => engine.anp_rules(i, Direction::Egress),
            None => engine.banp_rules(Direction::Egress),
        };
        for r in rules {
            for &(lo, hi) in r.peers.ips.intervals() {
                dst_blocks.push(IpSet::range(lo, hi));
            }
        }
    }
    (atoms(&src_blocks), atoms(&dst_blocks))
}

/// The external ranges of two policy sets together (every boundary of either).
pub fn merged_ranges(a: &Engine, b: &Engine) -> (Vec<IpRange>, Vec<IpRange>) {
    let (s1, d1) = external_ranges(a);
    let (s2, d2) = external_ranges(b);
    let blocks = |x: Vec<IpRange>, y: Vec<IpRange>| -> Vec<IpRange> {
        let sets: Vec<IpSet> = x
            .into_iter()
            .chain(y)
            .map(|r| IpSet::range(r.lo, r.hi))
            .collect();
        atoms(&sets)
    };
    (blocks(s1, s2), blocks(d1, d2))
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Leave out connections to and from external ranges.
    pub no_external: bool,
    /// External ranges to use instead of this engine's own (for comparing two policy sets).
    pub ranges: Option<(Vec<IpRange>, Vec<IpRange>)>,
}

/// Workloads grouped into classes of identical behaviour.
pub fn classes(engine: &Engine) -> Vec<Vec<usize>> {
    type PortKey<'a> = Vec<(Option<&'a str>, u16, Protocol)>;
    let mut index: HashMap<(usize, &crate::model::Labels, PortKey), usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, w) in engine.net.workloads.iter().enumerate() {
        let ns = engine.namespace_index(Endpoint::Workload(i)).unwrap_or(0);
        let mut ports: Vec<(Option<&str>, u16, Protocol)> = w
            .ports
            .iter()
            .map(|p| (p.name.as_deref(), p.port, p.protocol))
            .collect();
        ports.sort();
        let key = (ns, &w.labels, ports);
        match index.get(&key) {
            Some(&c) => out[c].push(i),
            None => {
                index.insert(key, out.len());
                out.push(vec![i]);
            }
        }
    }
    out
}

/// Every allowed connection (non-empty), sorted by source then destination label.
pub fn connlist(engine: &Engine, opts: &Options) -> Vec<Connection> {
    let classes = classes(engine);
    let mut out = Vec::new();
    for cs in &classes {
        let s = Endpoint::Workload(cs[0]);
        for cd in &classes {
            let d = Endpoint::Workload(cd[0]);
            let conns = engine.allowed(s, d);
            if conns.is_empty() {
                continue;
            }
            for &a in cs {
                for &b in cd {
                    if a != b && engine.net.workloads[a].label() != engine.net.workloads[b].label()
                    {
                        out.push(Connection {
                            src: Endpoint::Workload(a),
                            dst: Endpoint::Workload(b),
                            conns: conns.clone(),
                        });
                    }
                }
            }
        }
    }
    if !opts.no_external && !engine.net.workloads.is_empty() {
        let (src_ranges, dst_ranges) = opts
            .ranges
            .clone()
            .unwrap_or_else(|| external_ranges(engine));
        for r in src_ranges {
            for cd in &classes {
                let conns = engine.allowed(Endpoint::Ip(r), Endpoint::Workload(cd[0]));
                if !conns.is_empty() {
                    for &b in cd {
                        out.push(Connection {
                            src: Endpoint::Ip(r),
                            dst: Endpoint::Workload(b),
                            conns: conns.clone(),
                        });
                    }
                }
            }
        }
        for cs in &classes {
            for &r in &dst_ranges {
                let conns = engine.allowed(Endpoint::Workload(cs[0]), Endpoint::Ip(r));
                if !conns.is_empty() {
                    for &a in cs {
                        out.push(Connection {
                            src: Endpoint::Workload(a),
                            dst: Endpoint::Ip(r),
                            conns: conns.clone(),
                        });
                    }
                }
            }
        }
    }
    for (w, ports) in ingress_exposure(engine) {
        let conns = engine
            .allowed(Endpoint::IngressController, Endpoint::Workload(w))
            .intersect(&ports);
        if !conns.is_empty() {
            out.push(Connection {
                src: Endpoint::IngressController,
                dst: Endpoint::Workload(w),
                conns,
            });
        }
    }
    let mut keyed: Vec<(String, String, Connection)> = out
        .into_iter()
        .map(|c| (engine.label(c.src), engine.label(c.dst), c))
        .collect();
    keyed.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    keyed.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    keyed.into_iter().map(|(_, _, c)| c).collect()
}

/// What Ingress and Route objects expose: for each backing workload, the TCP ports the
/// ingress controller forwards to (service target ports that are container ports).
pub fn ingress_exposure(engine: &Engine) -> Vec<(usize, ConnSet)> {
    let net = engine.net;
    let mut per: HashMap<usize, ConnSet> = HashMap::new();
    if net.ingresses.is_empty() {
        return Vec::new();
    }
    for ing in &net.ingresses {
        for b in &ing.backends {
            let Some(svc) = net
                .services
                .iter()
                .find(|s| s.namespace == ing.namespace && s.name == b.service)
            else {
                continue;
            };
            let Some(sel) = &svc.selector else { continue };
            // The service ports the backend uses (all when it names none).
            let ports: Vec<&crate::model::ServicePort> = match &b.port {
                None => svc.ports.iter().collect(),
                Some(want) => svc
                    .ports
                    .iter()
                    .find(|p| match want {
                        Ok(n) => p.port == *n || p.target == Some(Ok(*n)),
                        Err(name) => {
                            p.name.as_deref() == Some(name.as_str())
                                || p.target.as_ref() == Some(&Err(name.clone()))
                        }
                    })
                    .into_iter()
                    .collect(),
            };
            for (wi, w) in net.workloads.iter().enumerate() {
                if w.namespace != svc.namespace || !sel.matches(&w.labels) {
                    continue;
                }
                for p in &ports {
                    if let Some(port) = target_port(w, p) {
                        if w.ports
                            .iter()
                            .any(|c| c.port == port && c.protocol == Protocol::Tcp)
                        {
                            per.entry(wi)
                                .or_default()
                                .add(Protocol::Tcp, &PortSet::range(port, port));
                        }
                    }
                }
            }
        }
    }
    let mut v: Vec<(usize, ConnSet)> = per.into_iter().collect();
    v.sort_by_key(|(w, _)| *w);
    v
}

fn target_port(w: &Workload, p: &crate::model::ServicePort) -> Option<u16> {
    match &p.target {
        None => Some(p.port),
        Some(Ok(n)) => Some(*n),
        Some(Err(name)) => match w.named_port(name) {
            Some((Protocol::Tcp, n)) => Some(n),
            _ => None,
        },
    }
}

/// How far a workload is open: from (to) any pod of any namespace, and from (to) every
/// external address.
#[derive(Clone, Debug)]
pub struct Exposure {
    pub workload: usize,
    pub ingress_any_namespace: ConnSet,
    pub ingress_any_external: ConnSet,
    pub egress_any_namespace: ConnSet,
    pub egress_any_external: ConnSet,
}

/// Exposure per workload. "Any namespace" is judged for an unlabelled pod in an unlabelled
/// namespace (the ingress-controller pseudo workload is exactly that), so only rules that
/// admit every pod of every namespace count; "any external" is what every external range
/// gets.
pub fn exposure(engine: &Engine) -> Vec<Exposure> {
    let (src_ranges, dst_ranges) = external_ranges(engine);
    let probe = Endpoint::IngressController;
    (0..engine.net.workloads.len())
        .map(|w| {
            let ep = Endpoint::Workload(w);
            let all_of = |it: &mut dyn Iterator<Item = ConnSet>| {
                it.fold(ConnSet::all(), |acc, c| acc.intersect(&c))
            };
            Exposure {
                workload: w,
                ingress_any_namespace: engine.direction(probe, ep, Direction::Ingress, None),
                ingress_any_external: all_of(
                    &mut src_ranges
                        .iter()
                        .map(|r| engine.direction(Endpoint::Ip(*r), ep, Direction::Ingress, None)),
                ),
                egress_any_namespace: engine.direction(ep, probe, Direction::Egress, None),
                egress_any_external: all_of(
                    &mut dst_ranges
                        .iter()
                        .map(|r| engine.direction(ep, Endpoint::Ip(*r), Direction::Egress, None)),
                ),
            }
        })
        .collect()
}
