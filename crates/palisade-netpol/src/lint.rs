//! Policy lint: dead policies and peers, shadowed rules, namespaces without default-deny,
//! egress to everywhere, pods open to every namespace on every port, and admin `Pass` rules
//! with nothing behind them.

use crate::eval::{Endpoint, Engine};
use crate::model::{Action, AdminPeer, Direction, Network, NpPeer, NpRule, PortSpec};

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

pub fn lint(engine: &Engine) -> Vec<LintFinding> {
    let net: &Network = engine.net;
    let mut out = Vec::new();
    let nw = net.workloads.len();
    let eps = || (0..nw).map(Endpoint::Workload);
    for (pi, p) in net.policies.iter().enumerate() {
        let selected: Vec<usize> = (0..nw)
            .filter(|&w| {
                net.workloads[w].namespace == p.namespace
                    && p.pod_selector.matches(&net.workloads[w].labels)
            })
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
                    let populated = |name: &str| net.workloads.iter().any(|w| w.namespace == name);
                    let judgeable = peers.iter().all(|x| match x {
                        NpPeer::Selectors {
                            namespaces: None, ..
                        } => populated(&p.namespace),
                        NpPeer::Selectors {
                            namespaces: Some(sel),
                            ..
                        } => net
                            .namespaces
                            .iter()
                            .any(|n| sel.matches(&n.labels) && populated(&n.name)),
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
                // whose peers and ports cover this one's.
                if r.ports.iter().any(|x| matches!(x.port, PortSpec::Named(_))) {
                    continue;
                }
                let mine = compiled;
                let shadow = net.policies.iter().enumerate().find_map(|(qi, q)| {
                    if q.namespace != p.namespace
                        || q.pod_selector.to_string() != p.pod_selector.to_string()
                        || !q.affects(dir)
                        || !p.affects(dir)
                    {
                        return None;
                    }
                    q.rules(dir).iter().enumerate().find_map(|(qj, qr)| {
                        if (qi, qj) == (pi, ri)
                            || qr
                                .ports
                                .iter()
                                .any(|x| matches!(x.port, PortSpec::Named(_)))
                        {
                            return None;
                        }
                        let other = engine.np_rule(qi, dir, qj);
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
                        // Of two identical rules, report only the later one.
                        if peers_covered && ports_covered && (!identical || (qi, qj) < (pi, ri)) {
                            Some(format!("{} {}[{qj}]", q.label(), dir.as_str()))
                        } else {
                            None
                        }
                    })
                });
                if let Some(by) = shadow {
                    if nw > 0 {
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
    for ns in &net.namespaces {
        let has_workloads = net.workloads.iter().any(|w| w.namespace == ns.name);
        if !has_workloads {
            continue;
        }
        let default_deny = net.policies.iter().any(|p| {
            p.namespace == ns.name
                && !p.staged
                && p.affects_ingress
                && p.pod_selector.is_everything()
        });
        let admin_covers = net
            .admin_policies
            .iter()
            .chain(net.baseline.iter())
            .any(|a| {
                !a.staged
                    && a.ingress.iter().any(|r| {
                        r.action == Action::Deny
                            && r.ports.is_none()
                            && r.peers
                                .iter()
                                .any(|x| matches!(x, AdminPeer::Namespaces(s) if s.is_everything()))
                    })
                    && eps()
                        .filter(|e| engine.workload(*e).is_some_and(|w| w.namespace == ns.name))
                        .all(|e| {
                            engine
                                .selecting_admin_policies(e, Direction::Ingress)
                                .iter()
                                .any(|&i| net.admin_policies[i as usize].name == a.name)
                                || (a.priority.is_none()
                                    && engine.baseline_selects(e, Direction::Ingress))
                        })
            });
        if !default_deny && !admin_covers {
            let open: Vec<String> = net
                .workloads
                .iter()
                .enumerate()
                .filter(|(i, w)| {
                    w.namespace == ns.name
                        && !engine.is_isolated(Endpoint::Workload(*i), Direction::Ingress)
                })
                .map(|(_, w)| w.label())
                .collect();
            let (source, line) = net
                .workloads
                .iter()
                .find(|w| w.namespace == ns.name)
                .map(|w| (w.origin.source.clone(), w.origin.line))
                .unwrap_or_default();
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
                &source,
                line,
            ));
        }
    }
    // Admin policies: selects nothing, peers match nothing, Pass without fallback.
    for (ai, a) in net.admin_policies.iter().enumerate() {
        let subj: Vec<Endpoint> = eps()
            .filter(|&e| {
                engine
                    .selecting_admin_policies(e, Direction::Ingress)
                    .contains(&(ai as u32))
                    || engine
                        .selecting_admin_policies(e, Direction::Egress)
                        .contains(&(ai as u32))
            })
            .collect();
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
                let populated = |name: &str| net.workloads.iter().any(|w| w.namespace == name);
                let selector_only = r.peers.iter().all(|x| match x {
                    AdminPeer::Namespaces(sel)
                    | AdminPeer::Pods {
                        namespaces: sel, ..
                    } => net
                        .namespaces
                        .iter()
                        .any(|n| sel.matches(&n.labels) && populated(&n.name)),
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
    out.sort_by(|a, b| (&a.source, a.line, a.id).cmp(&(&b.source, b.line, b.id)));
    out
}
