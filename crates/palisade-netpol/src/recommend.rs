//! Least-privilege NetworkPolicies from observed flows: a default-deny per namespace, and per
//! workload one policy allowing exactly the observed ingress and egress, with selectors from
//! stable labels (never `pod-template-hash` and friends), plus DNS egress to kube-dns.

use crate::conn::{PortSet, Protocol};
use crate::eval::Endpoint;
use crate::flows::Resolved;
use crate::ip::v4_to_string;
use crate::model::{Labels, Network, Selector, Workload, NS_NAME_LABEL};
use std::collections::{BTreeMap, BTreeSet};

/// Labels that change with every rollout or pod, never used in selectors.
pub const UNSTABLE_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
];

/// Preferred selector keys, in order; the first present ones are used when they single out
/// the workload in its namespace.
pub const PREFERRED_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app",
    "k8s-app",
    "component",
    "tier",
    "name",
];

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Namespaces whose kube-dns receives DNS egress (default `kube-system`).
    pub dns_namespace: Option<String>,
    /// Leave out the DNS egress rule.
    pub no_dns: bool,
}

#[derive(Clone, Debug)]
pub struct Recommendation {
    /// YAML documents, one per policy, in a stable order.
    pub policies: Vec<String>,
    /// Things the user should know (ambiguous selectors, flows from the ingress controller).
    pub notes: Vec<String>,
}

fn stable(labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(k, _)| !UNSTABLE_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The selector labels for a workload: preferred keys when they single it out among the
/// namespace's workloads, else every stable label.
pub fn selector_labels(net: &Network, wi: usize) -> (Labels, bool) {
    let w = &net.workloads[wi];
    let st = stable(&w.labels);
    let others: Vec<&Workload> = net
        .workloads
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != wi && o.namespace == w.namespace && o.labels != w.labels)
        .map(|(_, o)| o)
        .collect();
    let unique = |sel: &Labels| {
        !sel.is_empty()
            && !others
                .iter()
                .any(|o| sel.iter().all(|(k, v)| o.labels.get(k) == Some(v)))
    };
    let mut pref = Labels::new();
    for k in PREFERRED_LABELS {
        if let Some(v) = st.get(*k) {
            pref.insert((*k).to_string(), v.clone());
            if unique(&pref) {
                return (pref, true);
            }
        }
    }
    let ok = unique(&st);
    (st, ok)
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn labels_yaml(l: &Labels, indent: usize) -> String {
    if l.is_empty() {
        return " {}\n".into();
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("\n");
    for (k, v) in l {
        out.push_str(&format!("{pad}{}: {}\n", yaml_str(k), yaml_str(v)));
    }
    out
}

fn ports_yaml(ports: &BTreeSet<(Protocol, u16)>, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}ports:\n");
    // Consecutive ports of one protocol become a range (endPort).
    let mut by_proto: BTreeMap<Protocol, PortSet> = BTreeMap::new();
    for &(p, n) in ports {
        let e = by_proto.entry(p).or_default();
        *e = e.union(&PortSet::range(n, n));
    }
    for (p, set) in by_proto {
        for &(lo, hi) in set.ranges() {
            out.push_str(&format!(
                "{pad}- protocol: {}\n{pad}  port: {lo}\n",
                p.as_str()
            ));
            if hi > lo {
                out.push_str(&format!("{pad}  endPort: {hi}\n"));
            }
        }
    }
    out
}

fn k8s_name(s: &str) -> String {
    let mut n: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    n.truncate(253);
    n.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// Builds the policies. Only flows between a workload and a workload or an external address
/// are used; flows from or to the ingress controller pseudo peer are noted.
pub fn recommend(net: &Network, flows: &[Resolved], opts: &Options) -> Recommendation {
    let mut notes = Vec::new();
    // (dst workload) -> peer -> ports ; (src workload) -> peer -> ports
    let mut ingress: BTreeMap<usize, BTreeMap<Endpoint, BTreeSet<(Protocol, u16)>>> =
        BTreeMap::new();
    let mut egress: BTreeMap<usize, BTreeMap<Endpoint, BTreeSet<(Protocol, u16)>>> =
        BTreeMap::new();
    let mut involved: BTreeSet<usize> = BTreeSet::new();
    for f in flows {
        let key = (f.protocol, f.port);
        match (f.src, f.dst) {
            (Endpoint::IngressController, _) | (_, Endpoint::IngressController) => {
                notes.push(
                    "flows through the ingress controller pseudo peer are not turned into rules"
                        .into(),
                );
                continue;
            }
            _ => {}
        }
        if let Endpoint::Workload(s) = f.src {
            involved.insert(s);
            egress
                .entry(s)
                .or_default()
                .entry(f.dst)
                .or_default()
                .insert(key);
        }
        if let Endpoint::Workload(d) = f.dst {
            involved.insert(d);
            ingress
                .entry(d)
                .or_default()
                .entry(f.src)
                .or_default()
                .insert(key);
        }
    }
    notes.sort();
    notes.dedup();
    let namespaces: BTreeSet<&str> = involved
        .iter()
        .map(|&w| net.workloads[w].namespace.as_str())
        .collect();
    let mut policies = Vec::new();
    for ns in &namespaces {
        policies.push(format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/managed-by: palisade\nspec:\n  podSelector: {{}}\n  policyTypes:\n  - Ingress\n  - Egress\n"
        ));
    }
    let dns_ns = opts
        .dns_namespace
        .clone()
        .unwrap_or_else(|| "kube-system".into());
    let mut selectors: BTreeMap<usize, Labels> = BTreeMap::new();
    for &w in &involved {
        let (sel, unique) = selector_labels(net, w);
        if !unique {
            notes.push(format!(
                "{}: no combination of stable labels singles it out in its namespace; the policy also selects workloads with the same labels",
                net.workloads[w].label()
            ));
        }
        if sel.is_empty() {
            notes.push(format!(
                "{}: no stable labels; its policy selects every pod of the namespace",
                net.workloads[w].label()
            ));
        }
        selectors.insert(w, sel);
    }
    let peer_yaml = |ep: &Endpoint, pad: &str| -> String {
        match ep {
            Endpoint::Workload(p) => {
                let pw = &net.workloads[*p];
                let mut ns = Labels::new();
                ns.insert(NS_NAME_LABEL.into(), pw.namespace.clone());
                format!(
                    "{pad}- namespaceSelector:\n{pad}    matchLabels:{}{pad}  podSelector:\n{pad}    matchLabels:{}",
                    labels_yaml(&ns, pad.len() + 6),
                    labels_yaml(&selectors[p], pad.len() + 6)
                )
            }
            Endpoint::Ip(r) => {
                let mut out = String::new();
                for cidr in range_to_cidrs(r.lo, r.hi) {
                    out.push_str(&format!("{pad}- ipBlock:\n{pad}    cidr: {cidr}\n"));
                }
                out
            }
            Endpoint::IngressController => String::new(),
        }
    };
    for &w in &involved {
        let wl = &net.workloads[w];
        let mut y = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    app.kubernetes.io/managed-by: palisade\n  annotations:\n    palisade.dev/generated-from: {}\nspec:\n  podSelector:\n    matchLabels:{}  policyTypes:\n  - Ingress\n  - Egress\n",
            k8s_name(&format!("{}-{}", wl.name, wl.kind)),
            wl.namespace,
            yaml_str(&format!("observed flows of {}", wl.label())),
            labels_yaml(&selectors[&w], 6)
        );
        if let Some(peers) = ingress.get(&w) {
            y.push_str("  ingress:\n");
            for (peer, ports) in peers {
                y.push_str("  - from:\n");
                y.push_str(&peer_yaml(peer, "    "));
                y.push_str(&ports_yaml(ports, 4));
            }
        }
        let dns = !opts.no_dns;
        if egress.contains_key(&w) || dns {
            y.push_str("  egress:\n");
        }
        if let Some(peers) = egress.get(&w) {
            for (peer, ports) in peers {
                y.push_str("  - to:\n");
                y.push_str(&peer_yaml(peer, "    "));
                y.push_str(&ports_yaml(ports, 4));
            }
        }
        if dns {
            y.push_str(&format!(
                "  - to:\n    - namespaceSelector:\n        matchLabels:\n          {NS_NAME_LABEL}: {dns_ns}\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\n"
            ));
        }
        policies.push(y);
    }
    notes.sort();
    notes.dedup();
    Recommendation { policies, notes }
}

/// The smallest list of CIDRs covering `[lo, hi]`.
pub fn range_to_cidrs(lo: u32, hi: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = u64::from(lo);
    let end = u64::from(hi);
    while cur <= end {
        let mut len = 32u32;
        while len > 0 {
            let size = 1u64 << (32 - (len - 1));
            if cur % size != 0 || cur + size - 1 > end {
                break;
            }
            len -= 1;
        }
        out.push(format!("{}/{len}", v4_to_string(cur as u32)));
        cur += 1u64 << (32 - len);
    }
    out
}

/// Exposes the selector type for callers checking generated policies.
pub fn matches(sel: &Labels, w: &Workload) -> bool {
    Selector(palisade_model::LabelSelector {
        match_labels: sel.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ..Default::default()
    })
    .matches(&w.labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_cover() {
        assert_eq!(range_to_cidrs(0, u32::MAX), ["0.0.0.0/0"]);
        assert_eq!(range_to_cidrs(0x0a000001, 0x0a000001), ["10.0.0.1/32"]);
        assert_eq!(
            range_to_cidrs(0x0a000000, 0x0a000002),
            ["10.0.0.0/31", "10.0.0.2/32"]
        );
    }
}
