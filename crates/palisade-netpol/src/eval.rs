//! The policy engine: which connections one endpoint may open to another.
//!
//! Per direction (egress at the source, ingress at the destination) the layers combine as
//! Kubernetes defines them: AdminNetworkPolicies in priority order, each rule in order, the
//! first rule that matches a connection decides it (Allow, Deny or Pass); connections that no
//! admin rule decided, or that were passed, go to the NetworkPolicies when any selects the pod
//! in that direction (the union of their rules), and otherwise to the
//! BaselineAdminNetworkPolicy, whose first matching rule decides; what is left is allowed.
//! A connection is allowed when both directions allow it.

use crate::conn::{ConnSet, PortSet, Protocol};
use crate::ip::{IpRange, IpSet};
use crate::model::{
    Action, AdminPeer, AdminPolicy, AdminPort, AdminSubject, Direction, Labels, Network, NpPeer,
    NpRule, PortSpec, Selector, Workload, INGRESS_CONTROLLER, INGRESS_CONTROLLER_NS, NS_NAME_LABEL,
};

/// One end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// Index into `Network::workloads`.
    Workload(usize),
    /// An external IPv4 range (outside the cluster's pods).
    Ip(IpRange),
    /// The ingress controller pseudo workload.
    IngressController,
}

/// A growable bit set over endpoint indices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bits(Vec<u64>);

impl Bits {
    pub fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    pub fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + b)
            })
        })
    }
}

/// A compiled peer list: workloads matched (bit per endpoint index) and IPv4 addresses matched.
#[derive(Clone, Debug)]
pub struct PeerMatch {
    /// `true`: every endpoint (an empty `from`/`to`).
    pub any: bool,
    pub workloads: Bits,
    pub ips: IpSet,
}

/// Ports of a rule: a fixed part and named ports resolved against the destination.
#[derive(Clone, Debug)]
pub struct RulePorts {
    pub fixed: ConnSet,
    /// (protocol required, name); `None` protocol: take the container port's (admin policies).
    pub named: Vec<(Option<Protocol>, String)>,
}

impl RulePorts {
    pub fn resolve(&self, dst: Option<&Workload>) -> ConnSet {
        if self.named.is_empty() {
            return self.fixed.clone();
        }
        let mut out = self.fixed.clone();
        if let Some(w) = dst {
            for (proto, name) in &self.named {
                if let Some((p, port)) = w.named_port(name) {
                    if proto.is_none_or(|want| want == p) {
                        out.add(p, &PortSet::range(port, port));
                    }
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub peers: PeerMatch,
    pub ports: RulePorts,
}

/// What one layer decided for a pair, with the rules that took part (for explanations).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub direction: Direction,
    pub policy: String,
    /// Rule name or `ingress[2]`.
    pub rule: String,
    pub action: &'static str,
    /// The connections this rule decided (after earlier rules took theirs).
    pub conns: ConnSet,
    pub source: String,
    pub line: u32,
}

pub struct Engine<'a> {
    pub net: &'a Network,
    /// Labels of each endpoint's namespace (workloads, then the ingress controller).
    ns_labels: Vec<Labels>,
    wl_ns: Vec<usize>,
    ic: Workload,
    /// For each direction, the (non-staged) NetworkPolicies selecting each endpoint.
    np_selecting: [Vec<Vec<u32>>; 2],
    /// For each direction, the AdminNetworkPolicies (in priority order) selecting each endpoint.
    anp_selecting: [Vec<Vec<u32>>; 2],
    banp_selects: [Bits; 2],
    /// Compiled NetworkPolicy rules: `np_rules[policy][dir]`.
    np_rules: Vec<[Vec<CompiledRule>; 2]>,
    anp_rules: Vec<[Vec<CompiledRule>; 2]>,
    banp_rules: [Vec<CompiledRule>; 2],
}

fn di(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl<'a> Engine<'a> {
    pub fn new(net: &'a Network) -> Engine<'a> {
        let n = net.workloads.len() + 1;
        let mut ns_names: Vec<&str> = net.namespaces.iter().map(|n| n.name.as_str()).collect();
        let mut ns_label_list: Vec<Labels> =
            net.namespaces.iter().map(|n| n.labels.clone()).collect();
        if !ns_names.contains(&INGRESS_CONTROLLER_NS) {
            ns_names.push(INGRESS_CONTROLLER_NS);
            let mut l = Labels::new();
            l.insert(NS_NAME_LABEL.into(), INGRESS_CONTROLLER_NS.into());
            ns_label_list.push(l);
        }
        let ns_pos = |name: &str| ns_names.iter().position(|n| *n == name);
        let mut wl_ns: Vec<usize> = net
            .workloads
            .iter()
            .map(|w| ns_pos(&w.namespace).unwrap_or(0))
            .collect();
        wl_ns.push(ns_pos(INGRESS_CONTROLLER_NS).unwrap_or(0));
        let ns_labels: Vec<Labels> = wl_ns.iter().map(|&i| ns_label_list[i].clone()).collect();
        let ic = Workload {
            namespace: INGRESS_CONTROLLER_NS.into(),
            name: INGRESS_CONTROLLER.into(),
            kind: "IngressController".into(),
            labels: Labels::new(),
            ports: Vec::new(),
            host_network: false,
            pod_names: Vec::new(),
            pod_ips: Vec::new(),
            origin: Default::default(),
        };
        // Namespaces → endpoint indices, to evaluate namespace selectors once per namespace.
        let mut by_ns: Vec<Vec<usize>> = vec![Vec::new(); ns_label_list.len()];
        for (i, &nsi) in wl_ns.iter().enumerate() {
            by_ns[nsi].push(i);
        }
        let mut e = Engine {
            net,
            ns_labels,
            wl_ns,
            ic,
            np_selecting: [vec![Vec::new(); n], vec![Vec::new(); n]],
            anp_selecting: [vec![Vec::new(); n], vec![Vec::new(); n]],
            banp_selects: [Bits::new(n), Bits::new(n)],
            np_rules: Vec::new(),
            anp_rules: Vec::new(),
            banp_rules: [Vec::new(), Vec::new()],
        };
        let ctx = MatchCtx {
            ns_labels: &ns_label_list,
            ns_names: &ns_names,
            by_ns: &by_ns,
            net,
            ic_labels: &e.ic.labels,
            n,
        };
        let mut np_rules = Vec::with_capacity(net.policies.len());
        let mut np_selecting: [Vec<Vec<u32>>; 2] = [vec![Vec::new(); n], vec![Vec::new(); n]];
        for (pi, p) in net.policies.iter().enumerate() {
            let ns_i = ns_pos(&p.namespace);
            let compile = |rules: &[NpRule], dir: Direction| -> Vec<CompiledRule> {
                rules
                    .iter()
                    .map(|r| ctx.np_rule(r, &p.namespace, dir))
                    .collect()
            };
            np_rules.push([
                compile(&p.ingress, Direction::Ingress),
                compile(&p.egress, Direction::Egress),
            ]);
            if p.staged {
                continue;
            }
            if let Some(nsi) = ns_i {
                for &w in &by_ns[nsi] {
                    if w < net.workloads.len() && p.pod_selector.matches(&net.workloads[w].labels) {
                        if p.affects_ingress {
                            np_selecting[0][w].push(pi as u32);
                        }
                        if p.affects_egress {
                            np_selecting[1][w].push(pi as u32);
                        }
                    }
                }
            }
        }
        let mut anp_rules = Vec::new();
        let mut anp_selecting: [Vec<Vec<u32>>; 2] = [vec![Vec::new(); n], vec![Vec::new(); n]];
        for (ai, a) in net.admin_policies.iter().enumerate() {
            anp_rules.push([
                ctx.admin_rules(a, Direction::Ingress),
                ctx.admin_rules(a, Direction::Egress),
            ]);
            if a.staged {
                continue;
            }
            let subj = ctx.subject(&a.subject);
            for w in subj.iter() {
                if !a.ingress.is_empty() {
                    anp_selecting[0][w].push(ai as u32);
                }
                if !a.egress.is_empty() {
                    anp_selecting[1][w].push(ai as u32);
                }
            }
        }
        let mut banp_selects = [Bits::new(n), Bits::new(n)];
        let mut banp_rules = [Vec::new(), Vec::new()];
        if let Some(b) = &net.baseline {
            banp_rules = [
                ctx.admin_rules(b, Direction::Ingress),
                ctx.admin_rules(b, Direction::Egress),
            ];
            if !b.staged {
                let subj = ctx.subject(&b.subject);
                for w in subj.iter() {
                    if !b.ingress.is_empty() {
                        banp_selects[0].set(w);
                    }
                    if !b.egress.is_empty() {
                        banp_selects[1].set(w);
                    }
                }
            }
        }
        e.np_rules = np_rules;
        e.np_selecting = np_selecting;
        e.anp_rules = anp_rules;
        e.anp_selecting = anp_selecting;
        e.banp_rules = banp_rules;
        e.banp_selects = banp_selects;
        e
    }

    /// The endpoint index used in bit sets (the ingress controller is last).
    fn index(&self, ep: Endpoint) -> Option<usize> {
        match ep {
            Endpoint::Workload(i) => Some(i),
            Endpoint::IngressController => Some(self.net.workloads.len()),
            Endpoint::Ip(_) => None,
        }
    }

    pub fn workload(&self, ep: Endpoint) -> Option<&Workload> {
        match ep {
            Endpoint::Workload(i) => self.net.workloads.get(i),
            Endpoint::IngressController => Some(&self.ic),
            Endpoint::Ip(_) => None,
        }
    }

    pub fn label(&self, ep: Endpoint) -> String {
        match ep {
            Endpoint::Workload(i) => self.net.workloads[i].label(),
            Endpoint::Ip(r) => format!("{r}[External]"),
            Endpoint::IngressController => format!("{{{INGRESS_CONTROLLER}}}"),
        }
    }

    /// Labels of the endpoint's namespace.
    pub fn namespace_labels(&self, ep: Endpoint) -> Option<&Labels> {
        self.index(ep).map(|i| &self.ns_labels[i])
    }

    pub fn namespace_index(&self, ep: Endpoint) -> Option<usize> {
        self.index(ep).map(|i| self.wl_ns[i])
    }

    /// NetworkPolicies (indices) selecting the endpoint in a direction.
    pub fn selecting_policies(&self, ep: Endpoint, dir: Direction) -> &[u32] {
        match self.index(ep) {
            Some(i) => &self.np_selecting[di(dir)][i],
            None => &[],
        }
    }

    pub fn selecting_admin_policies(&self, ep: Endpoint, dir: Direction) -> &[u32] {
        match self.index(ep) {
            Some(i) => &self.anp_selecting[di(dir)][i],
            None => &[],
        }
    }

    pub fn baseline_selects(&self, ep: Endpoint, dir: Direction) -> bool {
        self.index(ep)
            .is_some_and(|i| self.banp_selects[di(dir)].get(i))
    }

    pub fn np_rule(&self, policy: usize, dir: Direction, rule: usize) -> &CompiledRule {
        &self.np_rules[policy][di(dir)][rule]
    }

    pub fn np_rules(&self, policy: usize, dir: Direction) -> &[CompiledRule] {
        &self.np_rules[policy][di(dir)]
    }

    pub fn anp_rules(&self, policy: usize, dir: Direction) -> &[CompiledRule] {
        &self.anp_rules[policy][di(dir)]
    }

    pub fn banp_rules(&self, dir: Direction) -> &[CompiledRule] {
        &self.banp_rules[di(dir)]
    }

    /// Does a compiled peer list match the endpoint?
    pub fn peer_matches(&self, m: &PeerMatch, ep: Endpoint) -> bool {
        if m.any {
            return true;
        }
        match ep {
            Endpoint::Ip(r) => m.ips.contains_range(r.lo, r.hi),
            _ => self.index(ep).is_some_and(|i| m.workloads.get(i)),
        }
    }

    /// Is the endpoint isolated in a direction by any policy layer?
    pub fn is_isolated(&self, ep: Endpoint, dir: Direction) -> bool {
        !self.selecting_policies(ep, dir).is_empty()
    }

    /// Connections allowed from `src` to `dst`.
    pub fn allowed(&self, src: Endpoint, dst: Endpoint) -> ConnSet {
        let eg = self.direction(src, dst, Direction::Egress, None);
        if eg.is_empty() {
            return eg;
        }
        let ing = self.direction(src, dst, Direction::Ingress, None);
        eg.intersect(&ing)
    }

    /// Connections allowed from `src` to `dst`, with the rules that decided them.
    pub fn allowed_traced(
        &self,
        src: Endpoint,
        dst: Endpoint,
    ) -> (ConnSet, ConnSet, ConnSet, Trace) {
        let mut t = Trace::default();
        let eg = self.direction(src, dst, Direction::Egress, Some(&mut t));
        let ing = self.direction(src, dst, Direction::Ingress, Some(&mut t));
        (eg.intersect(&ing), eg, ing, t)
    }

    /// Connections one direction allows: egress is judged at `src`, ingress at `dst`.
    pub fn direction(
        &self,
        src: Endpoint,
        dst: Endpoint,
        dir: Direction,
        mut trace: Option<&mut Trace>,
    ) -> ConnSet {
        let (subject, peer) = match dir {
            Direction::Egress => (src, dst),
            Direction::Ingress => (dst, src),
        };
        let Some(si) = self.index(subject) else {
            return ConnSet::all(); // external addresses are not subject to cluster policies
        };
        let d = di(dir);
        let anps = &self.anp_selecting[d][si];
        let nps = &self.np_selecting[d][si];
        let banp = self.banp_selects[d].get(si);
        if anps.is_empty() && nps.is_empty() && !banp {
            if let Some(t) = trace.as_deref_mut() {
                t.steps.push(Step {
                    direction: dir,
                    policy: "(none)".into(),
                    rule: format!(
                        "no policy selects {} for {}",
                        self.label(subject),
                        dir.as_str()
                    ),
                    action: "Allow",
                    conns: ConnSet::all(),
                    source: String::new(),
                    line: 0,
                });
            }
            return ConnSet::all();
        }
        let dst_w = self.workload(dst);
        // Admin layer.
        let mut allowed = ConnSet::none();
        let mut denied = ConnSet::none();
        let mut decided = ConnSet::none();
        for &ai in anps {
            let a = &self.net.admin_policies[ai as usize];
            for (ri, r) in self.anp_rules[ai as usize][d].iter().enumerate() {
                if decided.is_all() {
                    break;
                }
                if !self.peer_matches(&r.peers, peer) {
                    continue;
                }
                let c = r.ports.resolve(dst_w).subtract(&decided);
                if c.is_empty() {
                    continue;
                }
                let rule = &a.rules(dir)[ri];
                match rule.action {
                    Action::Allow => allowed.union_with(&c),
                    Action::Deny => denied.union_with(&c),
                    Action::Pass => {}
                }
                decided.union_with(&c);
                if let Some(t) = trace.as_deref_mut() {
                    t.steps.push(Step {
                        direction: dir,
                        policy: a.label(),
                        rule: rule.name.clone(),
                        action: rule.action.as_str(),
                        conns: c,
                        source: a.origin.source.clone(),
                        line: rule.line,
                    });
                }
            }
        }
        if allowed.union(&denied).is_all() {
            return allowed;
        }
        if !nps.is_empty() {
            let mut np_allowed = ConnSet::none();
            for &pi in nps {
                let p = &self.net.policies[pi as usize];
                let mut matched_any = false;
                for (ri, r) in self.np_rules[pi as usize][d].iter().enumerate() {
                    if !self.peer_matches(&r.peers, peer) {
                        continue;
                    }
                    matched_any = true;
                    let c = r.ports.resolve(dst_w);
                    if let Some(t) = trace.as_deref_mut() {
                        let effective = c.subtract(&denied);
                        t.steps.push(Step {
                            direction: dir,
                            policy: p.label(),
                            rule: format!("{}[{ri}]", dir.as_str()),
                            action: "Allow",
                            conns: effective,
                            source: p.origin.source.clone(),
                            line: p.rules(dir)[ri].line,
                        });
                    }
                    np_allowed.union_with(&c);
                    if np_allowed.is_all() && trace.is_none() {
                        break;
                    }
                }
                if !matched_any {
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps.push(Step {
                            direction: dir,
                            policy: p.label(),
                            rule: format!(
                                "selects {} for {}; no {} rule matches {}",
                                self.label(subject),
                                dir.as_str(),
                                dir.as_str(),
                                self.label(peer)
                            ),
                            action: "Isolate",
                            conns: ConnSet::none(),
                            source: p.origin.source.clone(),
                            line: p.origin.line,
                        });
                    }
                }
                if np_allowed.is_all() && trace.is_none() {
                    break;
                }
            }
            return allowed.union(&np_allowed.subtract(&denied));
        }
        // Baseline layer: first matching rule decides among what the admin layer left.
        let mut b_denied = ConnSet::none();
        if banp {
            let mut b_decided = ConnSet::none();
            if let Some(b) = &self.net.baseline {
                for (ri, r) in self.banp_rules[d].iter().enumerate() {
                    if !self.peer_matches(&r.peers, peer) {
                        continue;
                    }
                    let c = r.ports.resolve(dst_w).subtract(&b_decided);
                    if c.is_empty() {
                        continue;
                    }
                    let rule = &b.rules(dir)[ri];
                    if rule.action == Action::Deny {
                        b_denied.union_with(&c);
                    }
                    b_decided.union_with(&c);
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps.push(Step {
                            direction: dir,
                            policy: b.label(),
                            rule: rule.name.clone(),
                            action: rule.action.as_str(),
                            conns: c.subtract(&decided),
                            source: b.origin.source.clone(),
                            line: rule.line,
                        });
                    }
                }
            }
        }
        let rest = ConnSet::all().subtract(&denied).subtract(&b_denied);
        if let Some(t) = trace {
            let left = rest.subtract(&allowed);
            if !left.is_empty() {
                t.steps.push(Step {
                    direction: dir,
                    policy: "(default)".into(),
                    rule: format!(
                        "no NetworkPolicy selects {} for {}",
                        self.label(subject),
                        dir.as_str()
                    ),
                    action: "Allow",
                    conns: left,
                    source: String::new(),
                    line: 0,
                });
            }
        }
        allowed.union(&rest)
    }
}

struct MatchCtx<'c> {
    ns_labels: &'c [Labels],
    ns_names: &'c [&'c str],
    by_ns: &'c [Vec<usize>],
    net: &'c Network,
    ic_labels: &'c Labels,
    n: usize,
}

impl MatchCtx<'_> {
    fn labels(&self, i: usize) -> &Labels {
        if i < self.net.workloads.len() {
            &self.net.workloads[i].labels
        } else {
            self.ic_labels
        }
    }

    /// Endpoints in namespaces matching `ns` whose pod labels match `pods`.
    fn select(&self, ns: &NsChoice, pods: Option<&Selector>, out: &mut Bits) {
        for (nsi, members) in self.by_ns.iter().enumerate() {
            let ok = match ns {
                NsChoice::Named(name) => self.ns_names[nsi] == *name,
                NsChoice::Selector(s) => s.matches(&self.ns_labels[nsi]),
            };
            if !ok {
                continue;
            }
            for &w in members {
                if pods.is_none_or(|p| p.matches(self.labels(w))) {
                    out.set(w);
                }
            }
        }
    }

    fn np_rule(&self, r: &NpRule, policy_ns: &str, _dir: Direction) -> CompiledRule {
        let mut m = PeerMatch {
            any: r.peers.is_none(),
            workloads: Bits::new(self.n),
            ips: IpSet::empty(),
        };
        for p in r.peers.iter().flatten() {
            match p {
                NpPeer::Selectors { namespaces, pods } => {
                    let ns = match namespaces {
                        Some(s) => NsChoice::Selector(s),
                        None => NsChoice::Named(policy_ns),
                    };
                    self.select(&ns, pods.as_ref(), &mut m.workloads);
                }
                NpPeer::IpBlock { set, .. } => m.ips = m.ips.union(set),
            }
        }
        let mut fixed = ConnSet::none();
        let mut named = Vec::new();
        if r.ports.is_empty() {
            fixed = ConnSet::all();
        }
        for p in &r.ports {
            match &p.port {
                PortSpec::All => fixed.add(p.protocol, &PortSet::all()),
                PortSpec::Range(a, b) => fixed.add(p.protocol, &PortSet::range(*a, *b)),
                PortSpec::Named(n) => named.push((Some(p.protocol), n.clone())),
            }
        }
        CompiledRule {
            peers: m,
            ports: RulePorts { fixed, named },
        }
    }

    fn subject(&self, s: &AdminSubject) -> Bits {
        let mut b = Bits::new(self.n);
        match s {
            AdminSubject::Namespaces(ns) => self.select(&NsChoice::Selector(ns), None, &mut b),
            AdminSubject::Pods { namespaces, pods } => {
                self.select(&NsChoice::Selector(namespaces), Some(pods), &mut b)
            }
        }
        b
    }

    fn admin_rules(&self, a: &AdminPolicy, dir: Direction) -> Vec<CompiledRule> {
        a.rules(dir)
            .iter()
            .map(|r| {
                let mut m = PeerMatch {
                    any: false,
                    workloads: Bits::new(self.n),
                    ips: IpSet::empty(),
                };
                for p in &r.peers {
                    match p {
                        AdminPeer::Namespaces(s) => {
                            self.select(&NsChoice::Selector(s), None, &mut m.workloads)
                        }
                        AdminPeer::Pods { namespaces, pods } => self.select(
                            &NsChoice::Selector(namespaces),
                            Some(pods),
                            &mut m.workloads,
                        ),
                        AdminPeer::Networks(set) => m.ips = m.ips.union(set),
                        AdminPeer::Nodes(sel) => {
                            for node in &self.net.nodes {
                                if sel.matches(&node.labels) {
                                    for &ip in &node.ips {
                                        m.ips = m.ips.union(&IpSet::range(ip, ip));
                                    }
                                }
                            }
                        }
                    }
                }
                let mut fixed = ConnSet::none();
                let mut named = Vec::new();
                match &r.ports {
                    None => fixed = ConnSet::all(),
                    Some(ports) => {
                        for p in ports {
                            match p {
                                AdminPort::Number(pr, n) => fixed.add(*pr, &PortSet::range(*n, *n)),
                                AdminPort::Range(pr, a, b) => {
                                    fixed.add(*pr, &PortSet::range(*a, *b))
                                }
                                AdminPort::Named(n) => named.push((None, n.clone())),
                            }
                        }
                    }
                }
                CompiledRule {
                    peers: m,
                    ports: RulePorts { fixed, named },
                }
            })
            .collect()
    }
}

enum NsChoice<'s> {
    Named(&'s str),
    Selector(&'s Selector),
}
