//! Why a connection is allowed or denied: the policies and rules that decided it in each
//! direction, and for a denial the nearest miss (the rule that matches all but the port, or
//! all but the peer, with the label that is missing).

use crate::conn::{ConnSet, Protocol};
use crate::eval::{Endpoint, Engine, Step};
use crate::ip::{parse_v4, IpRange};
use crate::model::{find_workloads, Direction, NpPeer, INGRESS_CONTROLLER};
use std::fmt::Write as _;

/// Resolves `ns/name[Kind]`, `ns/name`, `name`, an IPv4 address or `{ingress-controller}`.
pub fn endpoint(engine: &Engine, spec: &str) -> Result<Endpoint, String> {
    let s = spec.trim();
    if s == INGRESS_CONTROLLER || s == format!("{{{INGRESS_CONTROLLER}}}") {
        return Ok(Endpoint::IngressController);
    }
    if let Some(a) = parse_v4(s) {
        return Ok(Endpoint::Ip(IpRange { lo: a, hi: a }));
    }
    let found = find_workloads(&engine.net.workloads, s);
    match found.as_slice() {
        [one] => Ok(Endpoint::Workload(*one)),
        [] => Err(format!("no workload {s:?} (give ns/name, ns/name[Kind], an IPv4 address or {{ingress-controller}})")),
        many => Err(format!(
            "{s:?} is ambiguous: {}",
            many.iter().map(|&i| engine.net.workloads[i].label()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Parses `TCP/8080`, `udp/53` or `8080` (TCP).
pub fn parse_port(s: &str) -> Result<(Protocol, u16), String> {
    let (p, n) = match s.split_once('/') {
        Some((p, n)) => (
            Protocol::parse(p).ok_or_else(|| format!("unknown protocol {p:?} (TCP, UDP, SCTP)"))?,
            n,
        ),
        None => (Protocol::Tcp, s),
    };
    let n: u16 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("bad port {n:?} (1-65535)"))?;
    Ok((p, n))
}

#[derive(Clone, Debug)]
pub struct Explanation {
    pub src: String,
    pub dst: String,
    pub query: Option<(Protocol, u16)>,
    pub allowed: ConnSet,
    pub egress: ConnSet,
    pub ingress: ConnSet,
    pub steps: Vec<Step>,
    /// For a denied query: the closest rules, best first.
    pub near_misses: Vec<String>,
}

impl Explanation {
    pub fn verdict(&self) -> bool {
        match self.query {
            Some((p, n)) => self.allowed.contains(p, n),
            None => !self.allowed.is_empty(),
        }
    }
}

pub fn explain(
    engine: &Engine,
    src: Endpoint,
    dst: Endpoint,
    query: Option<(Protocol, u16)>,
) -> Explanation {
    let (allowed, egress, ingress, trace) = engine.allowed_traced(src, dst);
    let mut e = Explanation {
        src: engine.label(src),
        dst: engine.label(dst),
        query,
        allowed,
        egress: egress.clone(),
        ingress: ingress.clone(),
        steps: trace.steps,
        near_misses: Vec::new(),
    };
    let denied_in = |c: &ConnSet| match query {
        Some((p, n)) => !c.contains(p, n),
        None => c.is_empty(),
    };
    for (dir, conns) in [(Direction::Egress, &egress), (Direction::Ingress, &ingress)] {
        if denied_in(conns) {
            near_misses(engine, src, dst, dir, query, &mut e.near_misses);
        }
    }
    e
}

fn near_misses(
    engine: &Engine,
    src: Endpoint,
    dst: Endpoint,
    dir: Direction,
    query: Option<(Protocol, u16)>,
    out: &mut Vec<String>,
) {
    let (subject, peer) = match dir {
        Direction::Egress => (src, dst),
        Direction::Ingress => (dst, src),
    };
    let net = engine.net;
    let mut port_only = Vec::new();
    let mut peer_only = Vec::new();
    for &pi in engine.selecting_policies(subject, dir) {
        let p = &net.policies[pi as usize];
        for (ri, r) in p.rules(dir).iter().enumerate() {
            let c = engine.np_rule(pi as usize, dir, ri);
            let peer_ok = engine.peer_matches(&c.peers, peer);
            let conns = c.ports.resolve(engine.workload(dst));
            let port_ok = match query {
                Some((pr, n)) => conns.contains(pr, n),
                None => !conns.is_empty(),
            };
            let at = format!(
                "{} {}[{ri}] ({}:{})",
                p.label(),
                dir.as_str(),
                p.origin.source,
                r.line
            );
            if peer_ok && !port_ok {
                port_only.push(format!(
                    "{at} matches {} but allows only {conns}",
                    engine.label(peer)
                ));
            } else if port_ok && !peer_ok {
                let why = why_peer_misses(
                    engine,
                    r.peers.as_deref().unwrap_or(&[]),
                    &p.namespace,
                    peer,
                );
                peer_only.push(format!(
                    "{at} allows the port but not {}: {why}",
                    engine.label(peer)
                ));
            }
        }
    }
    out.extend(port_only);
    out.extend(peer_only);
    if out.is_empty() && !engine.selecting_policies(subject, dir).is_empty() {
        out.push(format!(
            "no {} rule of the policies selecting {} matches {} or the port",
            dir.as_str(),
            engine.label(subject),
            engine.label(peer)
        ));
    }
}

fn why_peer_misses(engine: &Engine, peers: &[NpPeer], policy_ns: &str, peer: Endpoint) -> String {
    let Some(w) = engine.workload(peer) else {
        let blocks: Vec<&str> = peers
            .iter()
            .filter_map(|p| match p {
                NpPeer::IpBlock { cidr, .. } => Some(cidr.as_str()),
                _ => None,
            })
            .collect();
        return if blocks.is_empty() {
            "the rule names pods, not addresses".into()
        } else {
            format!("the address is outside {}", blocks.join(", "))
        };
    };
    let ns_labels = engine.namespace_labels(peer).cloned().unwrap_or_default();
    let mut reasons = Vec::new();
    for p in peers {
        match p {
            NpPeer::IpBlock { cidr, .. } => {
                reasons.push(format!("ipBlock {cidr} does not select pods"))
            }
            NpPeer::Selectors { namespaces, pods } => {
                let mut r = String::new();
                match namespaces {
                    None if w.namespace != policy_ns => {
                        let _ = write!(r, "the peer is in namespace {}, the rule only selects pods of {policy_ns}", w.namespace);
                    }
                    Some(s) if !s.matches(&ns_labels) => {
                        let _ = write!(
                            r,
                            "namespace {} has labels {} but the rule needs namespaceSelector {s}",
                            w.namespace,
                            crate::model::fmt_labels(&ns_labels)
                        );
                    }
                    _ => {}
                }
                if let Some(s) = pods {
                    if !s.matches(&w.labels) {
                        if !r.is_empty() {
                            r.push_str("; ");
                        }
                        let missing: Vec<String> =
                            s.0.match_labels
                                .iter()
                                .filter(|(k, v)| w.labels.get(k) != Some(v))
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect();
                        let _ = write!(
                            r,
                            "pod labels {} do not match podSelector {s}{}",
                            crate::model::fmt_labels(&w.labels),
                            if missing.is_empty() {
                                String::new()
                            } else {
                                format!(" (missing {})", missing.join(", "))
                            }
                        );
                    }
                }
                if !r.is_empty() {
                    reasons.push(r);
                }
            }
        }
    }
    if reasons.is_empty() {
        "no peer of the rule matches".into()
    } else {
        reasons.join(" | ")
    }
}

/// Human-readable explanation.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let q = e
        .query
        .map(|(p, n)| format!(" on {}/{n}", p.as_str()))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "{} => {}{q}: {}",
        e.src,
        e.dst,
        if e.verdict() { "ALLOWED" } else { "DENIED" }
    );
    let _ = writeln!(s, "  allowed connections: {}", e.allowed);
    for dir in [Direction::Egress, Direction::Ingress] {
        let (conns, at) = match dir {
            Direction::Egress => (&e.egress, &e.src),
            Direction::Ingress => (&e.ingress, &e.dst),
        };
        let _ = writeln!(s, "  {} at {at}: {conns}", dir.as_str());
        for st in e.steps.iter().filter(|st| st.direction == dir) {
            let loc = if st.line > 0 {
                format!(" ({}:{})", st.source, st.line)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "    {:<7} {} {}: {}{loc}",
                st.action, st.policy, st.rule, st.conns
            );
        }
    }
    if !e.verdict() && !e.near_misses.is_empty() {
        let _ = writeln!(s, "  nearest miss:");
        for m in &e.near_misses {
            let _ = writeln!(s, "    {m}");
        }
    }
    s
}
