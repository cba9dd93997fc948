//! The network model read from a snapshot: namespaces, workloads (one representative pod
//! each), NetworkPolicies, AdminNetworkPolicies, the BaselineAdminNetworkPolicy, Services,
//! Ingresses, Routes and Nodes. Bad input becomes a [`Diagnostic`] with file and line; the
//! rest is still read.

use crate::conn::Protocol;
use crate::ip::{parse_cidr, parse_v4, Cidr, IpSet};
use palisade_model::{Diagnostic, LabelSelector, Level, Node, Object, SelectorOp};
use std::collections::{BTreeMap, HashMap};

pub type Labels = BTreeMap<String, String>;

/// The label every namespace carries (set by the API server since v1.21).
pub const NS_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Policies with this annotation set to "true" are evaluated without effect.
pub const STAGED_ANNOTATION: &str = "palisade.dev/staged";
/// The pseudo workload standing for the ingress controller (np-guard's name).
pub const INGRESS_CONTROLLER: &str = "ingress-controller";
pub const INGRESS_CONTROLLER_NS: &str = "ingress-controller-ns";

/// Workload kinds whose pod template gives a representative pod.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// A label selector, compiled for matching against label maps.
#[derive(Clone, Debug, Default)]
pub struct Selector(pub LabelSelector);

impl Selector {
    pub fn everything() -> Selector {
        Selector(LabelSelector::default())
    }
    pub fn from_node(n: &Node) -> Selector {
        Selector(LabelSelector::from_node(n))
    }
    pub fn is_everything(&self) -> bool {
        self.0.is_empty()
    }
    pub fn matches(&self, labels: &Labels) -> bool {
        let s = &self.0;
        if s.invalid {
            return false;
        }
        s.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && s.expressions.iter().all(|(k, op, values)| {
                let actual = labels.get(k);
                match op {
                    SelectorOp::In => actual.is_some_and(|a| values.contains(a)),
                    SelectorOp::NotIn => actual.is_none_or(|a| !values.contains(a)),
                    SelectorOp::Exists => actual.is_some(),
                    SelectorOp::DoesNotExist => actual.is_none(),
                }
            })
    }
    /// Label keys the selector reads.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0
            .match_labels
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(self.0.expressions.iter().map(|(k, _, _)| k.as_str()))
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.0;
        if s.invalid {
            return f.write_str("<invalid selector>");
        }
        let mut parts: Vec<String> = s
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (k, op, vals) in &s.expressions {
            parts.push(match op {
                SelectorOp::In => format!("{k} in ({})", vals.join(",")),
                SelectorOp::NotIn => format!("{k} notin ({})", vals.join(",")),
                SelectorOp::Exists => k.clone(),
                SelectorOp::DoesNotExist => format!("!{k}"),
            });
        }
        if parts.is_empty() {
            f.write_str("{}")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

#[derive(Clone, Debug)]
pub struct Namespace {
    pub name: String,
    pub labels: Labels,
    /// Read from a Namespace object (false: only referenced by other objects).
    pub declared: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

/// Where an object was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub line: u32,
}

impl Origin {
    fn of(obj: &Object) -> Origin {
        Origin {
            source: obj.source.display(),
            line: obj.line,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    /// Owner kind (`Deployment`, `ReplicaSet`, …) or `Pod` for a pod without a controller.
    pub kind: String,
    pub labels: Labels,
    pub ports: Vec<ContainerPort>,
    pub host_network: bool,
    /// Pod names and IPs from Pod objects (for resolving flow logs).
    pub pod_names: Vec<String>,
    pub pod_ips: Vec<String>,
    pub origin: Origin,
}

impl Workload {
    /// `ns/name[Kind]`, as np-guard prints workloads.
    pub fn label(&self) -> String {
        format!("{}/{}[{}]", self.namespace, self.name, self.kind)
    }
    /// Resolves a named container port.
    pub fn named_port(&self, name: &str) -> Option<(Protocol, u16)> {
        self.ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .map(|p| (p.protocol, p.port))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PortSpec {
    /// No `port`: every port of the protocol.
    All,
    Range(u16, u16),
    Named(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NpPort {
    pub protocol: Protocol,
    pub port: PortSpec,
}

#[derive(Clone, Debug)]
pub enum NpPeer {
    /// `podSelector` and/or `namespaceSelector`; `None` means the field is absent.
    Selectors {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    IpBlock {
        cidr: String,
        /// IPv4 addresses covered (cidr minus except); empty for IPv6 blocks.
        set: IpSet,
        v6: bool,
    },
}

#[derive(Clone, Debug)]
pub struct NpRule {
    /// `None`: the `from`/`to` field is empty or absent (every peer).
    pub peers: Option<Vec<NpPeer>>,
    /// Empty: every port.
    pub ports: Vec<NpPort>,
    pub line: u32,
}

#[derive(Clone, Debug)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: Selector,
    pub affects_ingress: bool,
    pub affects_egress: bool,
    pub ingress: Vec<NpRule>,
    pub egress: Vec<NpRule>,
    pub staged: bool,
    pub origin: Origin,
}

impl NetworkPolicy {
    pub fn label(&self) -> String {
        format!("NetworkPolicy {}/{}", self.namespace, self.name)
    }
    pub fn affects(&self, dir: Direction) -> bool {
        match dir {
            Direction::Ingress => self.affects_ingress,
            Direction::Egress => self.affects_egress,
        }
    }
    pub fn rules(&self, dir: Direction) -> &[NpRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
    Pass,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Pass => "Pass",
        }
    }
}

#[derive(Clone, Debug)]
pub enum AdminSubject {
    Namespaces(Selector),
    Pods {
        namespaces: Selector,
        pods: Selector,
    },
}

#[derive(Clone, Debug)]
pub enum AdminPeer {
    Namespaces(Selector),
    Pods {
        namespaces: Selector,
        pods: Selector,
    },
    /// IPv4 part of `networks` (IPv6 CIDRs are reported and left out).
    Networks(IpSet),
    /// `nodes`: node IPs of the Node objects matching the selector.
    Nodes(Selector),
}

#[derive(Clone, Debug, PartialEq)]
pub enum AdminPort {
    Number(Protocol, u16),
    Named(String),
    Range(Protocol, u16, u16),
}

#[derive(Clone, Debug)]
pub struct AdminRule {
    pub name: String,
    pub action: Action,
    pub peers: Vec<AdminPeer>,
    /// `None`: every port.
    pub ports: Option<Vec<AdminPort>>,
    pub line: u32,
}

#[derive(Clone, Debug)]
pub struct AdminPolicy {
    pub name: String,
    /// `None` for the BaselineAdminNetworkPolicy.
    pub priority: Option<i64>,
    pub subject: AdminSubject,
    pub ingress: Vec<AdminRule>,
    pub egress: Vec<AdminRule>,
    pub staged: bool,
    pub origin: Origin,
}

impl AdminPolicy {
    pub fn label(&self) -> String {
        match self.priority {
            Some(_) => format!("AdminNetworkPolicy {}", self.name),
            None => format!("BaselineAdminNetworkPolicy {}", self.name),
        }
    }
    pub fn rules(&self, dir: Direction) -> &[AdminRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    /// `targetPort`: a number or a container port name; `None` means the same as `port`.
    pub target: Option<Result<u16, String>>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    /// `None`: a Service without selector (not backed by pods we can see).
    pub selector: Option<Selector>,
    pub ports: Vec<ServicePort>,
}

/// A backend reference of an Ingress or Route: a service and optionally a port.
#[derive(Clone, Debug)]
pub struct Backend {
    pub service: String,
    /// Port number or name; `None`: every service port.
    pub port: Option<Result<u16, String>>,
}

#[derive(Clone, Debug)]
pub struct IngressObject {
    /// `Ingress` or `Route`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub backends: Vec<Backend>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub name: String,
    pub labels: Labels,
    pub ips: Vec<u32>,
}

/// Everything the analyses read.
#[derive(Clone, Debug, Default)]
pub struct Network {
    pub namespaces: Vec<Namespace>,
    pub workloads: Vec<Workload>,
    pub policies: Vec<NetworkPolicy>,
    /// Sorted by priority (lowest number first).
    pub admin_policies: Vec<AdminPolicy>,
    pub baseline: Option<AdminPolicy>,
    pub services: Vec<Service>,
    pub ingresses: Vec<IngressObject>,
    pub nodes: Vec<NodeInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Evaluate policies annotated `palisade.dev/staged: "true"` as if they were enforced.
    pub enforce_staged: bool,
}

fn labels_of(n: &Node) -> Labels {
    n.entries()
        .iter()
        .filter_map(|e| e.value.scalar_string().map(|v| (e.key.clone(), v)))
        .collect()
}

fn is_staged(obj: &Object) -> bool {
    obj.annotation(STAGED_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

struct Builder<'a> {
    net: Network,
    /// Controllers present in the input: (namespace, kind, name) of an object → its
    /// controller's (kind, name) when that controller is in the input too.
    owners: HashMap<(String, String, String), (String, String)>,
    /// Template workloads whose pods (or whose controlled objects) are in the input.
    covered: std::collections::HashSet<(String, String, String)>,
    ns_index: HashMap<String, usize>,
    wl_index: HashMap<(String, String, String), usize>,
    opts: &'a BuildOptions,
}

impl Network {
    pub fn build(objects: &[Object], opts: &BuildOptions) -> Network {
        let mut b = Builder {
            net: Network::default(),
            owners: HashMap::new(),
            covered: Default::default(),
            ns_index: HashMap::new(),
            wl_index: HashMap::new(),
            opts,
        };
        for obj in objects.iter().filter(|o| o.kind == "Namespace") {
            b.namespace_object(obj);
        }
        for obj in objects.iter().filter(|o| o.kind == "Node") {
            b.node(obj);
        }
        b.index_owners(objects);
        for obj in objects {
            match obj.kind.as_str() {
                "Pod" if obj.api_version == "v1" => b.pod(obj),
                k if WORKLOAD_KINDS.contains(&k) => b.workload(obj),
                "NetworkPolicy" if obj.group() == "networking.k8s.io" => b.network_policy(obj),
                "AdminNetworkPolicy" if obj.group() == "policy.networking.k8s.io" => {
                    b.admin_policy(obj, false)
                }
                "BaselineAdminNetworkPolicy" if obj.group() == "policy.networking.k8s.io" => {
                    b.admin_policy(obj, true)
                }
                "Service" if obj.api_version == "v1" => b.service(obj),
                "Ingress" if obj.group() == "networking.k8s.io" || obj.group() == "extensions" => {
                    b.ingress(obj)
                }
                "Route" if obj.group() == "route.openshift.io" => b.route(obj),
                _ => {}
            }
        }
        b.finish()
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    pub fn find_workload(&self, spec: &str) -> Vec<usize> {
        find_workloads(&self.workloads, spec)
    }
}

/// Finds workloads by `ns/name[Kind]`, `ns/name` or `name`.
pub fn find_workloads(workloads: &[Workload], spec: &str) -> Vec<usize> {
    let spec = spec.trim();
    let (body, kind) = match spec.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
        Some((b, k)) => (b, Some(k)),
        None => (spec, None),
    };
    let (ns, name) = match body.split_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, body),
    };
    let exact: Vec<usize> = workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            w.name == name
                && ns.is_none_or(|n| n == w.namespace)
                && kind.is_none_or(|k| k.eq_ignore_ascii_case(&w.kind))
        })
        .map(|(i, _)| i)
        .collect();
    if !exact.is_empty() || kind.is_some() {
        return exact;
    }
    // `web` for the ReplicaSet `web-7d9f8c6b5` its pods name (no Deployment in the input).
    workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            w.kind == "ReplicaSet"
                && ns.is_none_or(|n| n == w.namespace)
                && w.name
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|h| !h.is_empty() && !h.contains('-'))
        })
        .map(|(i, _)| i)
        .collect()
}

impl Builder<'_> {
    fn diag(&mut self, level: Level, obj: &Object, line: u32, msg: String) {
        let line = if line > 0 { line } else { obj.line };
        self.net.diagnostics.push(Diagnostic::new(
            level,
            obj.source.display(),
            line,
            format!("{}: {msg}", obj.display_name()),
        ));
    }

    /// Records which objects of the input control which, and which templates have their pods
    /// in the input.
    fn index_owners(&mut self, objects: &[Object]) {
        let controller = |o: &Object| -> Option<(String, String)> {
            o.metadata()
                .get("ownerReferences")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
                .and_then(|r| {
                    Some((
                        r.get("kind").and_then(Node::as_str)?.to_string(),
                        r.get("name").and_then(Node::as_str)?.to_string(),
                    ))
                })
        };
        let present: std::collections::HashSet<(String, String, String)> = objects
            .iter()
            .filter(|o| WORKLOAD_KINDS.contains(&o.kind.as_str()))
            .map(|o| {
                (
                    o.namespace.clone().unwrap_or_else(|| "default".into()),
                    o.kind.clone(),
                    o.name.clone(),
                )
            })
            .collect();
        for o in objects {
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            let Some((k, n)) = controller(o) else {
                continue;
            };
            let owner = (ns.clone(), k.clone(), n.clone());
            if !present.contains(&owner) {
                continue;
            }
            if o.kind == "Pod" {
                // Every template up the chain is covered by this pod.
                let mut cur = owner;
                let mut hops = 0;
                while self.covered.insert(cur.clone()) && hops < 8 {
                    hops += 1;
                    match self.owners.get(&cur) {
                        Some((k2, n2)) => cur = (cur.0.clone(), k2.clone(), n2.clone()),
                        None => break,
                    }
                }
            } else if WORKLOAD_KINDS.contains(&o.kind.as_str()) {
                self.owners
                    .insert((ns, o.kind.clone(), o.name.clone()), (k, n));
            }
        }
        // Pods seen before their ReplicaSet's owner was indexed: cover the rest of the chain.
        let covered: Vec<_> = self.covered.iter().cloned().collect();
        for mut cur in covered {
            let mut hops = 0;
            while let Some((k, n)) = self.owners.get(&cur) {
                cur = (cur.0.clone(), k.clone(), n.clone());
                self.covered.insert(cur.clone());
                hops += 1;
                if hops > 8 {
                    break;
                }
            }
        }
    }

    fn ensure_namespace(&mut self, name: &str) {
        if self.ns_index.contains_key(name) {
            return;
        }
        let mut labels = Labels::new();
        labels.insert(NS_NAME_LABEL.to_string(), name.to_string());
        self.ns_index
            .insert(name.to_string(), self.net.namespaces.len());
        self.net.namespaces.push(Namespace {
            name: name.to_string(),
            labels,
            declared: false,
        });
    }

    fn namespace_object(&mut self, obj: &Object) {
        if self.ns_index.contains_key(&obj.name) {
            self.diag(
                Level::Warning,
                obj,
                0,
                "namespace defined more than once; the first definition is used".into(),
            );
            return;
        }
        let mut labels = labels_of(obj.labels());
        labels
            .entry(NS_NAME_LABEL.to_string())
            .or_insert_with(|| obj.name.clone());
        self.ns_index
            .insert(obj.name.clone(), self.net.namespaces.len());
        self.net.namespaces.push(Namespace {
            name: obj.name.clone(),
            labels,
            declared: true,
        });
    }

    fn node(&mut self, obj: &Object) {
        let ips = obj
            .root
            .at(&["status", "addresses"])
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter(|a| {
                matches!(
                    a.get("type").and_then(Node::as_str),
                    Some("InternalIP") | Some("ExternalIP")
                )
            })
            .filter_map(|a| a.get("address").and_then(Node::as_str).and_then(parse_v4))
            .collect();
        self.net.nodes.push(NodeInfo {
            name: obj.name.clone(),
            labels: labels_of(obj.labels()),
            ips,
        });
    }

    fn ports_of(&mut self, obj: &Object, spec: &Node) -> Vec<ContainerPort> {
        let mut out = Vec::new();
        for c in spec.get("containers").map(Node::items).unwrap_or(&[]) {
            for p in c.get("ports").map(Node::items).unwrap_or(&[]) {
                let port = p.get("containerPort").and_then(Node::as_i64);
                let Some(port) = port.filter(|n| (1..=65535).contains(n)) else {
                    self.diag(
                        Level::Warning,
                        obj,
                        p.pos.line,
                        "container port without a valid containerPort (1-65535) is ignored".into(),
                    );
                    continue;
                };
                let protocol = match p.get("protocol").and_then(Node::as_str) {
                    None => Protocol::Tcp,
                    Some(s) => match Protocol::parse(s) {
                        Some(pr) => pr,
                        None => {
                            self.diag(
                                Level::Warning,
                                obj,
                                p.pos.line,
                                format!("unknown container port protocol {s:?} is ignored"),
                            );
                            continue;
                        }
                    },
                };
                out.push(ContainerPort {
                    name: p.get("name").and_then(Node::as_str).map(str::to_string),
                    port: port as u16,
                    protocol,
                });
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn add_workload(
        &mut self,
        obj: &Object,
        namespace: String,
        name: String,
        kind: String,
        labels: Labels,
        ports: Vec<ContainerPort>,
        host_network: bool,
        pod: Option<(String, Vec<String>)>,
    ) {
        self.ensure_namespace(&namespace);
        let key = (namespace.clone(), name.clone(), kind.clone());
        if let Some(&i) = self.wl_index.get(&key) {
            let existing = &self.net.workloads[i];
            if existing.labels != labels {
                let msg = format!(
                    "pods of {} have different labels ({} and {}); the first set is used",
                    existing.label(),
                    fmt_labels(&existing.labels),
                    fmt_labels(&labels)
                );
                self.diag(Level::Warning, obj, 0, msg);
            }
            let w = &mut self.net.workloads[i];
            for p in ports {
                if !w.ports.contains(&p) {
                    w.ports.push(p);
                }
            }
            if let Some((pod_name, ips)) = pod {
                w.pod_names.push(pod_name);
                w.pod_ips.extend(ips);
            }
            return;
        }
        let (pod_names, pod_ips) = match pod {
            Some((n, ips)) => (vec![n], ips),
            None => (Vec::new(), Vec::new()),
        };
        self.wl_index.insert(key, self.net.workloads.len());
        self.net.workloads.push(Workload {
            namespace,
            name,
            kind,
            labels,
            ports,
            host_network,
            pod_names,
            pod_ips,
            origin: Origin::of(obj),
        });
    }

    fn pod(&mut self, obj: &Object) {
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let ports = self.ports_of(obj, spec);
        let owner = obj
            .metadata()
            .get("ownerReferences")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
            .and_then(|r| {
                // np-guard names a controller without a kind `[Pod]`.
                let kind = r
                    .get("kind")
                    .and_then(Node::as_str)
                    .filter(|k| !k.is_empty())
                    .unwrap_or("Pod");
                let name = r.get("name").and_then(Node::as_str)?;
                (kind != "Node").then(|| (name.to_string(), kind.to_string()))
            });
        let (mut name, mut kind) = owner.unwrap_or_else(|| (obj.name.clone(), "Pod".into()));
        // A live snapshot has the whole chain (Pod → ReplicaSet → Deployment): name the pod
        // after the top controller present in the input.
        let mut hops = 0;
        while let Some((k, n)) = self.owners.get(&(ns.clone(), kind.clone(), name.clone())) {
            (kind, name) = (k.clone(), n.clone());
            hops += 1;
            if hops > 8 {
                break;
            }
        }
        let mut ips: Vec<String> = obj
            .root
            .at(&["status", "podIPs"])
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|p| p.get("ip").and_then(Node::as_str).map(str::to_string))
            .collect();
        if let Some(ip) = obj.root.at(&["status", "podIP"]).and_then(Node::as_str) {
            if !ips.iter().any(|i| i == ip) {
                ips.push(ip.to_string());
            }
        }
        let host_network = spec.get("hostNetwork").and_then(Node::as_bool) == Some(true);
        self.add_workload(
            obj,
            ns,
            name,
            kind,
            labels_of(obj.labels()),
            ports,
            host_network,
            Some((obj.name.clone(), ips)),
        );
    }

    fn workload(&mut self, obj: &Object) {
        let ns0 = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let key = (ns0, obj.kind.clone(), obj.name.clone());
        if self.owners.contains_key(&key) || self.covered.contains(&key) {
            // Its controller, or its own pods, stand for it.
            return;
        }
        let Some(pod) = obj.pod() else {
            self.diag(
                Level::Warning,
                obj,
                0,
                "no pod template found; the workload is left out of the analysis".into(),
            );
            return;
        };
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let ports = self.ports_of(obj, pod.spec);
        let host_network = pod.spec.get("hostNetwork").and_then(Node::as_bool) == Some(true);
        self.add_workload(
            obj,
            ns,
            obj.name.clone(),
            obj.kind.clone(),
            labels_of(pod.labels()),
            ports,
            host_network,
            None,
        );
    }

    fn np_ports(&mut self, obj: &Object, rule: &Node) -> Option<Vec<NpPort>> {
        let mut out = Vec::new();
        for p in rule.get("ports").map(Node::items).unwrap_or(&[]) {
            let protocol = match p.get("protocol").and_then(Node::as_str) {
                None => Protocol::Tcp,
                Some(s) => match Protocol::parse(s) {
                    Some(pr) => pr,
                    None => {
                        self.diag(
                            Level::Error,
                            obj,
                            p.pos.line,
                            format!("unknown protocol {s:?}; the rule is ignored"),
                        );
                        return None;
                    }
                },
            };
            let end = p.get("endPort").filter(|n| !n.is_null());
            let port = match p.get("port").filter(|n| !n.is_null()) {
                None => PortSpec::All,
                Some(n) => {
                    if let Some(num) = n.as_i64() {
                        let end_num = match end {
                            None => num,
                            Some(e) => match e.as_i64() {
                                Some(v) => v,
                                None => {
                                    self.diag(
                                        Level::Error,
                                        obj,
                                        e.pos.line,
                                        "endPort is not a number; the rule is ignored".into(),
                                    );
                                    return None;
                                }
                            },
                        };
                        if !(1..=65535).contains(&num)
                            || !(1..=65535).contains(&end_num)
                            || end_num < num
                        {
                            self.diag(
                                Level::Error,
                                obj,
                                n.pos.line,
                                format!("illegal port range {num}-{end_num}; the rule is ignored"),
                            );
                            return None;
                        }
                        PortSpec::Range(num as u16, end_num as u16)
                    } else if let Some(name) = n.as_str() {
                        if end.is_some() {
                            self.diag(
                                Level::Error,
                                obj,
                                n.pos.line,
                                "endPort cannot be used with a named port; the rule is ignored"
                                    .into(),
                            );
                            return None;
                        }
                        PortSpec::Named(name.to_string())
                    } else {
                        self.diag(
                            Level::Error,
                            obj,
                            n.pos.line,
                            "port is neither a number nor a name; the rule is ignored".into(),
                        );
                        return None;
                    }
                }
            };
            out.push(NpPort { protocol, port });
        }
        Some(out)
    }

    fn np_peers(&mut self, obj: &Object, list: Option<&Node>) -> Option<Option<Vec<NpPeer>>> {
        let items = match list {
            None => return Some(None),
            Some(n) if n.is_null() || n.items().is_empty() => return Some(None),
            Some(n) => n.items(),
        };
        let mut out = Vec::new();
        for p in items {
            let present = |k: &str| p.get(k).filter(|n| !n.is_null());
            let (ns, pods, ipb) = (
                present("namespaceSelector"),
                present("podSelector"),
                present("ipBlock"),
            );
            if let Some(ipb) = ipb {
                if ns.is_some() || pods.is_some() {
                    self.diag(
                        Level::Error,
                        obj,
                        p.pos.line,
                        "a peer sets ipBlock together with a selector; the rule is ignored".into(),
                    );
                    return None;
                }
                let Some(cidr) = ipb.get("cidr").and_then(Node::as_str) else {
                    self.diag(
                        Level::Error,
                        obj,
                        ipb.pos.line,
                        "ipBlock without cidr; the rule is ignored".into(),
                    );
                    return None;
                };
                match parse_cidr(cidr) {
                    Ok(Cidr::V4(lo, hi)) => {
                        let mut set = IpSet::range(lo, hi);
                        for e in ipb.get("except").map(Node::items).unwrap_or(&[]) {
                            match e.as_str().map(parse_cidr) {
                                Some(Ok(Cidr::V4(a, b))) => {
                                    if a < lo || b > hi {
                                        self.diag(
                                            Level::Warning,
                                            obj,
                                            e.pos.line,
                                            format!(
                                                "except {} is not inside cidr {cidr}",
                                                e.as_str().unwrap_or_default()
                                            ),
                                        );
                                    }
                                    set = set.subtract(&IpSet::range(a, b));
                                }
                                Some(Ok(Cidr::V6(_))) => {
                                    self.diag(
                                        Level::Warning,
                                        obj,
                                        e.pos.line,
                                        "IPv6 except in an IPv4 block is ignored".into(),
                                    );
                                }
                                Some(Err(msg)) => {
                                    self.diag(
                                        Level::Error,
                                        obj,
                                        e.pos.line,
                                        format!("{msg}; the rule is ignored"),
                                    );
                                    return None;
                                }
                                None => {
                                    self.diag(
                                        Level::Error,
                                        obj,
                                        e.pos.line,
                                        "except entry is not a string; the rule is ignored".into(),
                                    );
                                    return None;
                                }
                            }
                        }
                        out.push(NpPeer::IpBlock {
                            cidr: cidr.to_string(),
                            set,
                            v6: false,
                        });
                    }
                    Ok(Cidr::V6(_)) => {
                        self.diag(
                            Level::Note,
                            obj,
                            ipb.pos.line,
                            format!("IPv6 block {cidr}: the analysis covers IPv4 external addresses only"),
                        );
                        out.push(NpPeer::IpBlock {
                            cidr: cidr.to_string(),
                            set: IpSet::empty(),
                            v6: true,
                        });
                    }
                    Err(msg) => {
                        self.diag(
                            Level::Error,
                            obj,
                            ipb.pos.line,
                            format!("{msg}; the rule is ignored"),
                        );
                        return None;
                    }
                }
                continue;
            }
            if ns.is_none() && pods.is_none() {
                self.diag(Level::Error, obj, p.pos.line, "a peer sets none of podSelector, namespaceSelector, ipBlock; the rule is ignored".into());
                return None;
            }
            let ns = ns.map(|n| self.selector(obj, n));
            let pods = pods.map(|n| self.selector(obj, n));
            out.push(NpPeer::Selectors {
                namespaces: ns,
                pods,
            });
        }
        Some(Some(out))
    }

    fn selector(&mut self, obj: &Object, n: &Node) -> Selector {
        let s = Selector::from_node(n);
        if s.0.invalid {
            self.diag(
                Level::Error,
                obj,
                n.pos.line,
                "invalid label selector; it matches nothing".into(),
            );
        }
        s
    }

    fn network_policy(&mut self, obj: &Object) {
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let pod_selector = match spec.get("podSelector") {
            Some(n) => self.selector(obj, n),
            None => Selector::everything(),
        };
        let rules = |this: &mut Self, key: &str, peers_key: &str| -> Vec<NpRule> {
            let mut out = Vec::new();
            for r in spec.get(key).map(Node::items).unwrap_or(&[]) {
                let Some(peers) = this.np_peers(obj, r.get(peers_key)) else {
                    continue;
                };
                let Some(ports) = this.np_ports(obj, r) else {
                    continue;
                };
                out.push(NpRule {
                    peers,
                    ports,
                    line: r.pos.line,
                });
            }
            out
        };
        let ingress = rules(self, "ingress", "from");
        let egress = rules(self, "egress", "to");
        let types: Vec<String> = spec
            .get("policyTypes")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        for t in &types {
            if t != "Ingress" && t != "Egress" {
                self.diag(Level::Error, obj, 0, format!("unknown policyType {t:?}"));
            }
        }
        let has_egress_rules = !spec
            .get("egress")
            .map(Node::items)
            .unwrap_or(&[])
            .is_empty();
        let (affects_ingress, affects_egress) = if types.is_empty() {
            (true, has_egress_rules)
        } else {
            (
                types.iter().any(|t| t == "Ingress"),
                types.iter().any(|t| t == "Egress"),
            )
        };
        self.ensure_namespace(&ns);
        self.net.policies.push(NetworkPolicy {
            namespace: ns,
            name: obj.name.clone(),
            pod_selector,
            affects_ingress,
            affects_egress,
            ingress,
            egress,
            staged: is_staged(obj) && !self.opts.enforce_staged,
            origin: Origin::of(obj),
        });
    }

    fn admin_subject_or_peer(
        &mut self,
        obj: &Object,
        n: &Node,
        what: &str,
    ) -> Option<SubjectOrPeer> {
        let ns = n.get("namespaces").filter(|x| !x.is_null());
        let pods = n.get("pods").filter(|x| !x.is_null());
        match (ns, pods) {
            (Some(s), None) => Some((Some(self.selector(obj, s)), None)),
            (None, Some(p)) => {
                let nss = p
                    .get("namespaceSelector")
                    .map(|s| self.selector(obj, s))
                    .unwrap_or_default();
                let ps = p
                    .get("podSelector")
                    .map(|s| self.selector(obj, s))
                    .unwrap_or_default();
                Some((None, Some((nss, ps))))
            }
            _ => {
                self.diag(
                    Level::Error,
                    obj,
                    n.pos.line,
                    format!("{what} must set exactly one of namespaces, pods"),
                );
                None
            }
        }
    }

    fn admin_ports(&mut self, obj: &Object, rule: &Node) -> Option<Option<Vec<AdminPort>>> {
        let Some(list) = rule.get("ports").filter(|n| !n.is_null()) else {
            return Some(None);
        };
        let mut out = Vec::new();
        for p in list.items() {
            let proto = |this: &mut Self, n: &Node| -> Option<Protocol> {
                match n.get("protocol").and_then(Node::as_str) {
                    None => Some(Protocol::Tcp),
                    Some(s) => {
                        let pr = Protocol::parse(s);
                        if pr.is_none() {
                            this.diag(
                                Level::Error,
                                obj,
                                n.pos.line,
                                format!("unknown protocol {s:?}; the rule is ignored"),
                            );
                        }
                        pr
                    }
                }
            };
            let set = ["portNumber", "namedPort", "portRange"]
                .iter()
                .filter(|k| p.get(k).is_some_and(|n| !n.is_null()))
                .count();
            if set != 1 {
                self.diag(Level::Error, obj, p.pos.line, "a port must set exactly one of portNumber, namedPort, portRange; the rule is ignored".into());
                return None;
            }
            if let Some(n) = p.get("portNumber").filter(|n| !n.is_null()) {
                let pr = proto(self, n)?;
                match n
                    .get("port")
                    .and_then(Node::as_i64)
                    .filter(|v| (1..=65535).contains(v))
                {
                    Some(v) => out.push(AdminPort::Number(pr, v as u16)),
                    None => {
                        self.diag(
                            Level::Error,
                            obj,
                            n.pos.line,
                            "portNumber.port must be 1-65535; the rule is ignored".into(),
                        );
                        return None;
                    }
                }
            } else if let Some(n) = p.get("namedPort").filter(|n| !n.is_null()) {
                match n.as_str() {
                    Some(s) => out.push(AdminPort::Named(s.to_string())),
                    None => {
                        self.diag(
                            Level::Error,
                            obj,
                            n.pos.line,
                            "namedPort must be a string; the rule is ignored".into(),
                        );
                        return None;
                    }
                }
            } else if let Some(n) = p.get("portRange").filter(|n| !n.is_null()) {
                let pr = proto(self, n)?;
                let start = n.get("start").and_then(Node::as_i64);
                let end = n.get("end").and_then(Node::as_i64);
                match (start, end) {
                    (Some(s), Some(e))
                        if (1..=65535).contains(&s) && (1..=65535).contains(&e) && s <= e =>
                    {
                        out.push(AdminPort::Range(pr, s as u16, e as u16))
                    }
                    _ => {
                        self.diag(
                            Level::Error,
                            obj,
                            n.pos.line,
                            "portRange needs 1 <= start <= end <= 65535; the rule is ignored"
                                .into(),
                        );
                        return None;
                    }
                }
            }
        }
        Some(Some(out))
    }

    fn admin_policy(&mut self, obj: &Object, baseline: bool) {
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let priority = if baseline {
            None
        } else {
            match spec.get("priority").and_then(Node::as_i64) {
                Some(p) if (0..=1000).contains(&p) => Some(p),
                Some(p) => {
                    self.diag(
                        Level::Error,
                        obj,
                        spec.locate(&["priority"]).line,
                        format!("priority {p} is outside 0-1000; the policy is ignored"),
                    );
                    return;
                }
                None => {
                    self.diag(
                        Level::Error,
                        obj,
                        0,
                        "AdminNetworkPolicy without priority is ignored".into(),
                    );
                    return;
                }
            }
        };
        let subject_node = spec.get("subject").unwrap_or(Node::null());
        let Some(subject) = self.admin_subject_or_peer(obj, subject_node, "subject") else {
            return;
        };
        let subject = match subject {
            (Some(ns), None) => AdminSubject::Namespaces(ns),
            (None, Some((namespaces, pods))) => AdminSubject::Pods { namespaces, pods },
            _ => return,
        };
        let rules = |this: &mut Self,
                     key: &str,
                     peers_key: &str,
                     ingress: bool|
         -> Vec<AdminRule> {
            let mut out = Vec::new();
            for r in spec.get(key).map(Node::items).unwrap_or(&[]) {
                let name = r
                    .get("name")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string();
                let action = match r.get("action").and_then(Node::as_str) {
                    Some("Allow") => Action::Allow,
                    Some("Deny") => Action::Deny,
                    Some("Pass") if !baseline => Action::Pass,
                    other => {
                        this.diag(
                            Level::Error,
                            obj,
                            r.pos.line,
                            format!(
                                "rule {name:?}: unknown action {:?}; the rule is ignored",
                                other.unwrap_or("")
                            ),
                        );
                        continue;
                    }
                };
                let peer_nodes = r.get(peers_key).map(Node::items).unwrap_or(&[]);
                if peer_nodes.is_empty() {
                    this.diag(
                        Level::Error,
                        obj,
                        r.pos.line,
                        format!("rule {name:?} has no {peers_key} peers; the rule is ignored"),
                    );
                    continue;
                }
                let mut peers = Vec::new();
                let mut bad = false;
                for p in peer_nodes {
                    if !ingress {
                        let nets = p.get("networks").filter(|n| !n.is_null());
                        let nodes = p.get("nodes").filter(|n| !n.is_null());
                        let others = ["namespaces", "pods"]
                            .iter()
                            .filter(|k| p.get(k).is_some_and(|n| !n.is_null()))
                            .count();
                        if nets.is_some() || nodes.is_some() {
                            if others + usize::from(nets.is_some()) + usize::from(nodes.is_some())
                                != 1
                            {
                                this.diag(Level::Error, obj, p.pos.line, "a peer must set exactly one of namespaces, pods, nodes, networks; the rule is ignored".into());
                                bad = true;
                                break;
                            }
                            if let Some(nets) = nets {
                                let mut set = IpSet::empty();
                                for c in nets.items() {
                                    match c.as_str().map(parse_cidr) {
                                        Some(Ok(Cidr::V4(a, b))) => set = set.union(&IpSet::range(a, b)),
                                        Some(Ok(Cidr::V6(s))) => this.diag(Level::Note, obj, c.pos.line, format!("IPv6 network {s}: the analysis covers IPv4 external addresses only")),
                                        Some(Err(m)) => this.diag(Level::Error, obj, c.pos.line, format!("{m}; the network is ignored")),
                                        None => this.diag(Level::Error, obj, c.pos.line, "network is not a string; ignored".into()),
                                    }
                                }
                                peers.push(AdminPeer::Networks(set));
                            } else if let Some(nodes) = nodes {
                                peers.push(AdminPeer::Nodes(this.selector(obj, nodes)));
                            }
                            continue;
                        }
                    }
                    match this.admin_subject_or_peer(obj, p, "peer") {
                        Some((Some(ns), None)) => peers.push(AdminPeer::Namespaces(ns)),
                        Some((None, Some((namespaces, pods)))) => {
                            peers.push(AdminPeer::Pods { namespaces, pods })
                        }
                        _ => {
                            bad = true;
                            break;
                        }
                    }
                }
                if bad {
                    continue;
                }
                let Some(ports) = this.admin_ports(obj, r) else {
                    continue;
                };
                out.push(AdminRule {
                    name,
                    action,
                    peers,
                    ports,
                    line: r.pos.line,
                });
            }
            out
        };
        let ingress = rules(self, "ingress", "from", true);
        let egress = rules(self, "egress", "to", false);
        let policy = AdminPolicy {
            name: obj.name.clone(),
            priority,
            subject,
            ingress,
            egress,
            staged: is_staged(obj) && !self.opts.enforce_staged,
            origin: Origin::of(obj),
        };
        if baseline {
            if let Some(prev) = &self.net.baseline {
                let msg = format!(
                    "a second BaselineAdminNetworkPolicy (the first is {}); it is ignored",
                    prev.name
                );
                self.diag(Level::Error, obj, 0, msg);
                return;
            }
            if obj.name != "default" {
                self.diag(
                    Level::Warning,
                    obj,
                    0,
                    "the API server only accepts a BaselineAdminNetworkPolicy named \"default\""
                        .into(),
                );
            }
            self.net.baseline = Some(policy);
        } else {
            if let Some(other) = self
                .net
                .admin_policies
                .iter()
                .find(|p| p.priority == priority)
            {
                let msg = format!("same priority as AdminNetworkPolicy {}: their order is undefined (this one is evaluated after it)", other.name);
                self.diag(Level::Warning, obj, 0, msg);
            }
            self.net.admin_policies.push(policy);
        }
    }

    fn service(&mut self, obj: &Object) {
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let selector = spec
            .get("selector")
            .filter(|n| n.is_map() && !n.entries().is_empty())
            .map(|n| Selector(LabelSelector::from_map(n)));
        let mut ports = Vec::new();
        for p in spec.get("ports").map(Node::items).unwrap_or(&[]) {
            let Some(port) = p
                .get("port")
                .and_then(Node::as_i64)
                .filter(|v| (1..=65535).contains(v))
            else {
                self.diag(
                    Level::Warning,
                    obj,
                    p.pos.line,
                    "service port without a valid port is ignored".into(),
                );
                continue;
            };
            let target = p.get("targetPort").filter(|n| !n.is_null()).and_then(|t| {
                if let Some(v) = t.as_i64() {
                    u16::try_from(v).ok().filter(|v| *v > 0).map(Ok)
                } else {
                    t.as_str().map(|s| Err(s.to_string()))
                }
            });
            ports.push(ServicePort {
                name: p.get("name").and_then(Node::as_str).map(str::to_string),
                port: port as u16,
                target,
            });
        }
        self.net.services.push(Service {
            namespace: ns,
            name: obj.name.clone(),
            selector,
            ports,
        });
    }

    fn backend_port(n: Option<&Node>) -> Option<Result<u16, String>> {
        let n = n.filter(|n| !n.is_null())?;
        if let Some(v) = n.as_i64() {
            return u16::try_from(v).ok().map(Ok);
        }
        n.as_str().map(|s| Err(s.to_string()))
    }

    fn ingress(&mut self, obj: &Object) {
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let mut backends = Vec::new();
        let mut add = |this: &mut Self, b: &Node| {
            if let Some(svc) = b.get("service").filter(|n| !n.is_null()) {
                if let Some(name) = svc.get("name").and_then(Node::as_str) {
                    let port = svc.get("port").and_then(|p| {
                        Self::backend_port(p.get("number"))
                            .or_else(|| Self::backend_port(p.get("name")))
                    });
                    backends.push(Backend {
                        service: name.to_string(),
                        port,
                    });
                    return;
                }
            }
            // networking.k8s.io/v1beta1 and extensions/v1beta1 shape.
            if let Some(name) = b.get("serviceName").and_then(Node::as_str) {
                backends.push(Backend {
                    service: name.to_string(),
                    port: Self::backend_port(b.get("servicePort")),
                });
                return;
            }
            this.diag(
                Level::Note,
                obj,
                b.pos.line,
                "backend without a service is ignored".into(),
            );
        };
        for key in ["defaultBackend", "backend"] {
            if let Some(b) = spec.get(key).filter(|n| !n.is_null()) {
                add(self, b);
            }
        }
        for r in spec.get("rules").map(Node::items).unwrap_or(&[]) {
            for p in r.at(&["http", "paths"]).map(Node::items).unwrap_or(&[]) {
                if let Some(b) = p.get("backend") {
                    add(self, b);
                }
            }
        }
        self.net.ingresses.push(IngressObject {
            kind: "Ingress".into(),
            namespace: ns,
            name: obj.name.clone(),
            backends,
            origin: Origin::of(obj),
        });
    }

    fn route(&mut self, obj: &Object) {
        let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let port = Self::backend_port(spec.at(&["port", "targetPort"]));
        let mut backends = Vec::new();
        let targets = spec.get("to").into_iter().chain(
            spec.get("alternateBackends")
                .map(Node::items)
                .unwrap_or(&[])
                .iter(),
        );
        for t in targets {
            let kind = t.get("kind").and_then(Node::as_str).unwrap_or("");
            if !kind.is_empty() && kind != "Service" {
                self.diag(
                    Level::Note,
                    obj,
                    t.pos.line,
                    format!("route target of kind {kind} is ignored"),
                );
                continue;
            }
            if let Some(name) = t.get("name").and_then(Node::as_str) {
                backends.push(Backend {
                    service: name.to_string(),
                    port: port.clone(),
                });
            }
        }
        self.net.ingresses.push(IngressObject {
            kind: "Route".into(),
            namespace: ns,
            name: obj.name.clone(),
            backends,
            origin: Origin::of(obj),
        });
    }

    fn finish(mut self) -> Network {
        self.net.admin_policies.sort_by_key(|p| p.priority);
        // Pods of one owner whose labels differ: np-guard refuses the analysis when a policy
        // reads a differing label; we keep the first set and said so in a warning above.
        self.net
    }
}

/// A parsed `namespaces` selector or `pods` (namespace selector, pod selector).
type SubjectOrPeer = (Option<Selector>, Option<(Selector, Selector)>);

pub fn fmt_labels(l: &Labels) -> String {
    if l.is_empty() {
        return "{}".into();
    }
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(",")
}
