//! Policy lint: dead policies and peers, shadowed rules, namespaces without default-deny,
//! egress to everywhere, pods open to every namespace on every port, and admin `Pass` rules
//! with nothing behind them.

use crate::conn::ConnSet;
use crate::eval::{Bits, CompiledRule, Endpoint, Engine};
use crate::ip::IpSet;
use crate::model::{
    Action, AdminPeer, AdminPolicy, Direction, Network, NpPeer, NpRule, PortSpec, Selector,
};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

pub struct LintDef {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub why: &'static str,
}

pub const CATALOG: &[LintDef] = &[
    LintDef { id: "NP001", name: "netpol-selects-no-pod", title: "policy selects no pod", severity: Severity::Low, why: "A NetworkPolicy or AdminNetworkPolicy whose subject matches no workload of the snapshot has no effect: usually a typo in a label or a namespace" },
    LintDef { id: "NP002", name: "netpol-peer-matches-nothing", title: "rule peer matches nothing", severity: Severity::Low, why: "A peer (podSelector/namespaceSelector, admin namespaces/pods) that matches no workload allows or denies nothing; the traffic it was written for is not covered" },
    LintDef { id: "NP003", name: "netpol-rule-shadowed", title: "rule shadowed by another rule", severity: Severity::Low, why: "Every connection the rule allows is already allowed by another rule selecting the same pods (or, in an admin policy, decided by an earlier rule): it is dead weight and hides intent" },
    LintDef { id: "NP004", name: "netpol-namespace-without-default-deny", title: "namespace without default-deny", severity: Severity::Medium, why: "Workloads in a namespace without a policy selecting every pod for ingress accept traffic from anywhere unless a policy selects them; a default-deny makes new workloads closed by default" },
    LintDef { id: "NP005", name: "netpol-egress-to-any-address", title: "egress allowed to 0.0.0.0/0 or ::/0", severity: Severity::Medium, why: "An egress rule to every address allows exfiltration and command-and-control traffic to any host on the internet" },
    LintDef { id: "NP006", name: "netpol-open-to-all-namespaces", title: "pods reachable from every namespace on every port", severity: Severity::High, why: "An ingress rule admitting every pod of every namespace on every port isolates nothing: any compromised pod in the cluster reaches these pods" },
    LintDef { id: "NP007", name: "netpol-pass-without-fallback", title: "admin Pass rule with no NetworkPolicy or baseline behind it", severity: Severity::Medium, why: "A Pass rule delegates to NetworkPolicies and then the BaselineAdminNetworkPolicy; when neither selects the pods the passed traffic is simply allowed" },
];

#[derive(Clone, Debug)]
pub struct LintFinding {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub object: String,
    pub message: String,
    pub source: String,
    pub line: u32,
}

fn def(id: &str) -> &'static LintDef {
    CATALOG.iter().find(|d| d.id == id).unwrap_or(&CATALOG[0])
}

fn finding(id: &str, object: String, message: String, source: &str, line: u32) -> LintFinding {
    let d = def(id);
    LintFinding {
        id: d.id,
        name: d.name,
        severity: d.severity,
        object,
        message,
        source: source.to_string(),
        line,
    }
}

fn rule_is_all_ports(r: &NpRule) -> bool {
    r.ports.is_empty()
}

/// Work done by one lint run, counted in the units that would grow quadratically if an
/// analysis compared every policy, rule or namespace with every other. The scaling test
/// asserts that they grow at most linearly with the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LintWork {
    /// Workloads tested against a policy's subject (only those of the policy's namespace).
    pub subject_tests: u64,
    /// NP003: comparisons of a rule with a class of identical rules of the same subject.
    pub shadow_tests: u64,
    /// NP004, NP001 (admin) and NP007: workloads visited per namespace or admin policy.
    pub workload_visits: u64,
    /// NP002: namespaces tested against a peer's namespace selector (once per distinct
    /// selector).
    pub selector_tests: u64,
}

impl LintWork {
    pub fn total(&self) -> u64 {
        self.subject_tests + self.shadow_tests + self.workload_visits + self.selector_tests
    }
}

/// Runs every lint (NP001–NP007); findings sorted by source, line and ID.
pub fn lint(engine: &Engine) -> Vec<LintFinding> {
    lint_with_work(engine).0
}

/// A NetworkPolicy rule by (policy index, rule index).
type RuleRef = (usize, usize);

/// NP003 candidates of one subject (namespace and pod selector) and direction: the rules
/// without named ports, grouped into classes that read the same to the shadowing test
/// (same compiled peers and fixed ports). Each class lists its members in (policy, rule)
/// order, so a rule is compared with each class once, however many copies it has.
struct ShadowClass {
    members: Vec<RuleRef>,
}

/// What the shadowing test reads of the other rule: its compiled peers and fixed ports.
type ShadowSignature = (bool, Bits, IpSet, ConnSet);

fn signature(c: &CompiledRule) -> ShadowSignature {
    (
        c.peers.any,
        c.peers.workloads.clone(),
        c.peers.ips.clone(),
        c.ports.fixed.clone(),
    )
}

fn has_named_port(r: &NpRule) -> bool {
    r.ports.iter().any(|x| matches!(x.port, PortSpec::Named(_)))
}

/// Whether `other` allows everything `mine` (rule `r`) allows, and whether the two are
/// identical (of two identical rules only the later one is reported).
fn covers(r: &NpRule, mine: &CompiledRule, other: &CompiledRule) -> (bool, bool) {
    let peers_covered = other.peers.any
        || (!mine.peers.any
            && mine
                .peers
                .workloads
                .iter()
                .all(|w| other.peers.workloads.get(w))
            && mine.peers.ips.subtract(&other.peers.ips).is_empty()
            && r.peers
                .iter()
                .flatten()
                .all(|x| !matches!(x, NpPeer::IpBlock { v6: true, .. })));
    let ports_covered = mine.ports.fixed.is_subset(&other.ports.fixed);
    let identical = peers_covered
        && ports_covered
        && other
            .peers
            .workloads
            .iter()
            .all(|w| mine.peers.workloads.get(w))
        && other.ports.fixed == mine.ports.fixed
        && other.peers.any == mine.peers.any
        && other.peers.ips == mine.peers.ips;
    (peers_covered && ports_covered, identical)
}

/// Runs every lint and reports the work it took ([`LintWork`]).
///
/// Cost: one pass over the workloads builds a namespace index; a policy's subject is matched
/// against the workloads of its namespace only; namespace selectors of peers are judged once
/// per distinct selector; NP003 compares each rule with the classes of distinct rules of the
/// same subject and direction (policies grouped by namespace and selector once), so copies
/// of a policy cost one comparison each, not one per pair. What remains superlinear is
/// inherent to the question: workloads × policies of one namespace (NP001, NP006), rules ×
/// distinct rules of one subject (NP003), and admin rules × namespaces (NP002 for admin
/// policies), each bounded by one namespace or one subject, not by the input.
pub fn lint_with_work(engine: &Engine) -> (Vec<LintFinding>, LintWork) {
    let net: &Network = engine.net;
    let mut work = LintWork::default();
    let mut out = Vec::new();
    let nw = net.workloads.len();
    // Workloads per namespace, in input order.
    let mut ns_workloads: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, w) in net.workloads.iter().enumerate() {
        ns_workloads
            .entry(w.namespace.as_str())
            .or_default()
            .push(i);
    }
    let no_workloads: Vec<usize> = Vec::new();
    let in_ns = |name: &str| ns_workloads.get(name).unwrap_or(&no_workloads);
    let populated = |name: &str| ns_workloads.contains_key(name);
    // Whether a namespace selector matches a namespace with workloads, once per selector.
    let mut ns_memo: HashMap<String, bool> = HashMap::new();
    let mut selector_tests = 0u64;
    let mut selects_populated = |sel: &Selector| -> bool {
        *ns_memo.entry(format!("{:?}", sel.0)).or_insert_with(|| {
            selector_tests += net.namespaces.len() as u64;
            net.namespaces
                .iter()
                .any(|n| sel.matches(&n.labels) && populated(&n.name))
        })
    };
    // NP003: policies with the same namespace and pod selector, once.
    let mut subject_ids: HashMap<(&str, String), usize> = HashMap::new();
    let mut subject_of: Vec<usize> = Vec::with_capacity(net.policies.len());
    for p in &net.policies {
        let key = (p.namespace.as_str(), p.pod_selector.to_string());
        let next = subject_ids.len();
        subject_of.push(*subject_ids.entry(key).or_insert(next));
    }
    drop(subject_ids);
    let mut classes: HashMap<(usize, Direction), Vec<ShadowClass>> = HashMap::new();
    // Class of each signature within its subject and direction.
    let mut class_of: HashMap<(usize, Direction, ShadowSignature), usize> = HashMap::new();
    for (qi, q) in net.policies.iter().enumerate() {
        for dir in [Direction::Ingress, Direction::Egress] {
            if !q.affects(dir) {
                continue;
            }
            let list = classes.entry((subject_of[qi], dir)).or_default();
            for (qj, qr) in q.rules(dir).iter().enumerate() {
                if has_named_port(qr) {
                    continue;
                }
                work.shadow_tests += 1;
                let c = engine.np_rule(qi, dir, qj);
                let key = (subject_of[qi], dir, signature(c));
                let next = list.len();
                let at = *class_of.entry(key).or_insert(next);
                if at == next {
                    list.push(ShadowClass {
                        members: Vec::new(),
                    });
                }
                list[at].members.push((qi, qj));
            }
        }
    }
    drop(class_of);
    for (pi, p) in net.policies.iter().enumerate() {
        let candidates = in_ns(&p.namespace);
        work.subject_tests += candidates.len() as u64;
        let selected: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&w| p.pod_selector.matches(&net.workloads[w].labels))
            .collect();
        if selected.is_empty() && nw > 0 {
            out.push(finding(
                "NP001",
                p.label(),
                format!(
                    "podSelector {} matches no workload in namespace {}",
                    p.pod_selector, p.namespace
                ),
                &p.origin.source,
                p.origin.line,
            ));
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            let rules = p.rules(dir);
            for (ri, r) in rules.iter().enumerate() {
                let compiled = engine.np_rule(pi, dir, ri);
                if let Some(peers) = &r.peers {
                    // Only when every selector peer names namespaces whose workloads are in
                    // the input: a peer in a namespace outside it is not dead, just unseen.
                    let judgeable = peers.iter().all(|x| match x {
                        NpPeer::Selectors {
                            namespaces: None, ..
                        } => populated(&p.namespace),
                        NpPeer::Selectors {
                            namespaces: Some(sel),
                            ..
                        } => selects_populated(sel),
                        NpPeer::IpBlock { .. } => false,
                    });
                    if judgeable && nw > 0 && compiled.peers.workloads.count() == 0 {
                        out.push(finding(
                            "NP002",
                            p.label(),
                            format!("{}[{ri}]: no workload matches its peers", dir.as_str()),
                            &p.origin.source,
                            r.line,
                        ));
                    }
                    if dir == Direction::Egress {
                        for peer in peers {
                            if let NpPeer::IpBlock { cidr, .. } = peer {
                                if cidr.trim() == "0.0.0.0/0" || cidr.trim() == "::/0" {
                                    out.push(finding(
                                        "NP005",
                                        p.label(),
                                        format!(
                                            "egress[{ri}] allows {cidr}{}",
                                            if r.ports.is_empty() {
                                                " on every port"
                                            } else {
                                                ""
                                            }
                                        ),
                                        &p.origin.source,
                                        r.line,
                                    ));
                                }
                            }
                        }
                    }
                    if dir == Direction::Ingress && rule_is_all_ports(r) {
                        let all_ns = peers.iter().any(|x| matches!(x, NpPeer::Selectors { namespaces: Some(ns), pods } if ns.is_everything() && pods.as_ref().is_none_or(|s| s.is_everything())));
                        if all_ns {
                            out.push(finding("NP006", p.label(), format!("ingress[{ri}] admits every pod of every namespace on every port ({} workloads selected)", selected.len()), &p.origin.source, r.line));
                        }
                    }
                } else if dir == Direction::Ingress && rule_is_all_ports(r) && p.affects_ingress {
                    out.push(finding(
                        "NP006",
                        p.label(),
                        format!(
                            "ingress[{ri}] has no `from`: it admits every source on every port"
                        ),
                        &p.origin.source,
                        r.line,
                    ));
                } else if dir == Direction::Egress && rule_is_all_ports(r) && p.affects_egress {
                    out.push(finding("NP005", p.label(), format!("egress[{ri}] has no `to`: it allows every destination, 0.0.0.0/0 included, on every port"), &p.origin.source, r.line));
                }
                // Shadowing: another rule of a policy with the same namespace and pod selector
                // whose peers and ports cover this one's. The first such rule in (policy,
                // rule) order is named; of two identical rules only the later is reported.
                if has_named_port(r) || !p.affects(dir) {
                    continue;
                }
                let me = (pi, ri);
                let mut by: Option<RuleRef> = None;
                for class in classes
                    .get(&(subject_of[pi], dir))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    work.shadow_tests += 1;
                    let (ci, cj) = class.members[0];
                    let (covered, identical) = covers(r, compiled, engine.np_rule(ci, dir, cj));
                    if !covered {
                        continue;
                    }
                    let first = if identical {
                        class.members.first().copied().filter(|&m| m < me)
                    } else {
                        class.members.iter().copied().find(|&m| m != me)
                    };
                    if let Some(m) = first {
                        by = Some(by.map_or(m, |b| b.min(m)));
                    }
                }
                if let Some((qi, qj)) = by {
                    if nw > 0 {
                        let by = format!("{} {}[{qj}]", net.policies[qi].label(), dir.as_str());
                        out.push(finding(
                            "NP003",
                            p.label(),
                            format!(
                                "{}[{ri}] allows nothing that {by} does not already allow",
                                dir.as_str()
                            ),
                            &p.origin.source,
                            r.line,
                        ));
                    }
                }
            }
        }
    }
    // NP004: namespaces with workloads and no ingress policy selecting every pod.
    let default_deny: HashSet<&str> = net
        .policies
        .iter()
        .filter(|p| !p.staged && p.affects_ingress && p.pod_selector.is_everything())
        .map(|p| p.namespace.as_str())
        .collect();
    // Admin policies with an ingress rule denying every namespace on every port.
    let deny_all_admin: Vec<&AdminPolicy> = net
        .admin_policies
        .iter()
        .chain(net.baseline.iter())
        .filter(|a| {
            !a.staged
                && a.ingress.iter().any(|r| {
                    r.action == Action::Deny
                        && r.ports.is_none()
                        && r.peers
                            .iter()
                            .any(|x| matches!(x, AdminPeer::Namespaces(s) if s.is_everything()))
                })
        })
        .collect();
    for ns in &net.namespaces {
        let members = in_ns(&ns.name);
        if members.is_empty() {
            continue;
        }
        let admin_covers = !default_deny.contains(ns.name.as_str())
            && deny_all_admin.iter().any(|a| {
                work.workload_visits += members.len() as u64;
                members.iter().all(|&w| {
                    let e = Endpoint::Workload(w);
                    engine
                        .selecting_admin_policies(e, Direction::Ingress)
                        .iter()
                        .any(|&i| net.admin_policies[i as usize].name == a.name)
                        || (a.priority.is_none() && engine.baseline_selects(e, Direction::Ingress))
                })
            });
        if !default_deny.contains(ns.name.as_str()) && !admin_covers {
            work.workload_visits += members.len() as u64;
            let open: Vec<String> = members
                .iter()
                .filter(|&&i| !engine.is_isolated(Endpoint::Workload(i), Direction::Ingress))
                .map(|&i| net.workloads[i].label())
                .collect();
            let first = &net.workloads[members[0]];
            out.push(finding(
                "NP004",
                format!("Namespace {}", ns.name),
                format!(
                    "no ingress default-deny; {} workload(s) accept traffic from anywhere{}",
                    open.len(),
                    if open.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", open.join(", "))
                    }
                ),
                &first.origin.source,
                first.origin.line,
            ));
        }
    }
    // Admin policies: selects nothing, peers match nothing, Pass without fallback. Each
    // policy's subject (in workload order), from one pass over the workloads.
    let mut subjects: Vec<Vec<Endpoint>> = vec![Vec::new(); net.admin_policies.len()];
    if !net.admin_policies.is_empty() {
        for w in 0..nw {
            let e = Endpoint::Workload(w);
            let ing = engine.selecting_admin_policies(e, Direction::Ingress);
            let eg = engine.selecting_admin_policies(e, Direction::Egress);
            work.workload_visits += 1;
            for &ai in ing.iter().chain(eg.iter().filter(|ai| !ing.contains(ai))) {
                if let Some(s) = subjects.get_mut(ai as usize) {
                    s.push(e);
                }
            }
        }
    }
    for (ai, a) in net.admin_policies.iter().enumerate() {
        let subj = &subjects[ai];
        if subj.is_empty() && nw > 0 && !a.staged && (!a.ingress.is_empty() || !a.egress.is_empty())
        {
            out.push(finding(
                "NP001",
                a.label(),
                "subject matches no workload".into(),
                &a.origin.source,
                a.origin.line,
            ));
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            for (ri, r) in a.rules(dir).iter().enumerate() {
                let c = &engine.anp_rules(ai, dir)[ri];
                let selector_only = r.peers.iter().all(|x| match x {
                    AdminPeer::Namespaces(sel)
                    | AdminPeer::Pods {
                        namespaces: sel, ..
                    } => selects_populated(sel),
                    _ => false,
                });
                if selector_only && nw > 0 && c.peers.workloads.count() == 0 {
                    out.push(finding(
                        "NP002",
                        a.label(),
                        format!("rule {:?}: no workload matches its peers", r.name),
                        &a.origin.source,
                        r.line,
                    ));
                }
                if r.action == Action::Pass {
                    work.workload_visits += subj.len() as u64;
                    let unbacked: Vec<String> = subj
                        .iter()
                        .filter(|&&e| {
                            engine.selecting_policies(e, dir).is_empty()
                                && !engine.baseline_selects(e, dir)
                        })
                        .map(|&e| engine.label(e))
                        .collect();
                    if !unbacked.is_empty() {
                        out.push(finding("NP007", a.label(), format!("{} rule {:?} passes traffic of {} that no NetworkPolicy or baseline policy selects for {}: it is allowed", dir.as_str(), r.name, unbacked.join(", "), dir.as_str()), &a.origin.source, r.line));
                    }
                }
            }
        }
    }
    work.selector_tests = selector_tests;
    out.sort_by(|a, b| (&a.source, a.line, a.id).cmp(&(&b.source, b.line, b.id)));
    (out, work)
}
