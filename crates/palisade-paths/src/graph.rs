//! The attack graph: vertices (entry points, endpoints, containers, pods, the node, identities,
//! permission sets, volumes, Secrets, cluster-admin), edges of a fixed catalog ([`EdgeKind`])
//! and the evidence of every edge.

use serde::Serialize;
use std::collections::HashMap;

/// What a vertex stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum VertexKind {
    /// The internet: the source of every external entry point.
    Internet,
    /// An Ingress, Route, LoadBalancer/NodePort Service or hostNetwork port.
    EntryPoint,
    /// A container port of a workload (`ns/name[Kind]:8080/TCP`).
    Endpoint,
    Container,
    /// A pod, or the pod template of a controller (all its replicas behave alike).
    Pod,
    /// Root on a node. Manifests do not say where a pod is scheduled, so every node is one
    /// vertex.
    Node,
    /// A service account, user or group.
    Identity,
    /// A role as bound by one binding, in that binding's scope.
    PermissionSet,
    /// A hostPath volume or a projected service account token.
    Volume,
    /// A Secret marked as a crown jewel.
    Secret,
    /// Cluster-admin-equivalent power.
    ClusterAdmin,
    /// Every pod, or every service account: what a cluster-wide grant reaches (one vertex
    /// instead of an edge per grant and target).
    Every,
}

impl VertexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VertexKind::Internet => "internet",
            VertexKind::EntryPoint => "entrypoint",
            VertexKind::Endpoint => "endpoint",
            VertexKind::Container => "container",
            VertexKind::Pod => "pod",
            VertexKind::Node => "node",
            VertexKind::Identity => "identity",
            VertexKind::PermissionSet => "permissionset",
            VertexKind::Volume => "volume",
            VertexKind::Secret => "secret",
            VertexKind::ClusterAdmin => "clusteradmin",
            VertexKind::Every => "every",
        }
    }
}

/// One vertex.
#[derive(Clone, Debug, Serialize)]
pub struct Vertex {
    pub kind: VertexKind,
    /// Unique and stable across snapshots of the same cluster (`pod:shop/web[Deployment]`).
    pub key: String,
    /// What a person reads (`pod shop/web[Deployment]`).
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Every edge kind. The first 26 are KubeHound's attacks with KubeHound's meaning; the next
/// three are new (network policy, vulnerabilities, runtime alerts); the rest connect the
/// parts (they are not attacks in themselves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum EdgeKind {
    CE_MODULE_LOAD,
    CE_NSENTER,
    CE_PRIV_MOUNT,
    CE_SYS_PTRACE,
    CE_UMH_CORE_PATTERN,
    CE_VAR_LOG_SYMLINK,
    CONTAINER_ATTACH,
    ENDPOINT_EXPLOIT,
    EXPLOIT_CONTAINERD_SOCK,
    EXPLOIT_HOST_READ,
    EXPLOIT_HOST_TRAVERSE,
    EXPLOIT_HOST_WRITE,
    IDENTITY_ASSUME,
    IDENTITY_IMPERSONATE,
    PERMISSION_DISCOVER,
    POD_ATTACH,
    POD_CREATE,
    POD_EXEC,
    POD_PATCH,
    ROLE_BIND,
    SHARE_PS_NAMESPACE,
    TOKEN_BRUTEFORCE,
    TOKEN_LIST,
    TOKEN_STEAL,
    VOLUME_ACCESS,
    VOLUME_DISCOVER,
    NETWORK_REACH,
    EXPOSED_VULN,
    ALERTED,
    EXPOSED,
    INGRESS_ROUTE,
    MEMBER_OF,
    ADMIN_EQUIVALENT,
    SECRET_READ,
    SECRET_MOUNT,
    ANY_OF,
}

/// Where an edge kind comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// One of KubeHound's attacks, same meaning.
    KubeHound,
    /// An attack KubeHound does not model.
    New,
    /// Connects the parts of the graph.
    Structural,
}

/// The catalog entry of an edge kind.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EdgeInfo {
    pub kind: EdgeKind,
    pub origin: Origin,
    pub from: VertexKind,
    pub to: VertexKind,
    /// How likely an attacker succeeds at this step, 0–1 (the risk score multiplies them).
    pub likelihood: f64,
    /// Whether removing the edge is a fix someone can make (chokepoints only propose those).
    pub fixable: bool,
    /// One line: what the step is.
    pub meaning: &'static str,
    /// One line: when the edge exists.
    pub preconditions: &'static str,
}

macro_rules! catalog {
    ($($k:ident, $o:ident, $f:ident -> $t:ident, $l:expr, $fix:expr, $m:expr, $p:expr;)*) => {
        /// The catalog, in [`EdgeKind`] order.
        pub const CATALOG: &[EdgeInfo] = &[$(EdgeInfo {
            kind: EdgeKind::$k,
            origin: Origin::$o,
            from: VertexKind::$f,
            to: VertexKind::$t,
            likelihood: $l,
            fixable: $fix,
            meaning: $m,
            preconditions: $p,
        },)*];
    };
}

catalog! {
    CE_MODULE_LOAD, KubeHound, Container -> Node, 0.9, true,
        "load a kernel module from the container and leave it",
        "the container is privileged or adds CAP_SYS_MODULE (PSS102 / PSS103)";
    CE_NSENTER, KubeHound, Container -> Node, 1.0, true,
        "enter the host's namespaces through PID 1 with nsenter",
        "the container is privileged (PSS102) and the pod sets hostPID (PSS101)";
    CE_PRIV_MOUNT, KubeHound, Container -> Node, 1.0, true,
        "mount the host's disk from a privileged container and write to it",
        "the container is privileged (PSS102)";
    CE_SYS_PTRACE, KubeHound, Container -> Node, 0.9, true,
        "attach to a host process with ptrace and run code in it",
        "the pod sets hostPID (PSS101) and the container is privileged, or adds SYS_PTRACE and SYS_ADMIN (PSS103) with AppArmor unconfined (PSS106)";
    CE_UMH_CORE_PATTERN, KubeHound, Container -> Node, 0.9, true,
        "rewrite the kernel's core_pattern helper through a mounted /proc and crash a process",
        "a hostPath volume (PSS104) mounted in the container exposes /proc/sys/kernel or a parent of it";
    CE_VAR_LOG_SYMLINK, KubeHound, Container -> Node, 0.7, true,
        "plant a symlink in the host's /var/log and read any host file through the kubelet's log API",
        "a hostPath volume (PSS104) mounted in the container exposes /var/log or a parent, and the container may run as root (PSS203)";
    CONTAINER_ATTACH, KubeHound, Pod -> Container, 1.0, false,
        "attach to a container of a pod one already controls",
        "the container belongs to the pod";
    ENDPOINT_EXPLOIT, KubeHound, Endpoint -> Container, 0.3, false,
        "exploit the service listening on an exposed port",
        "the container declares the port (containerPort)";
    EXPLOIT_CONTAINERD_SOCK, KubeHound, Container -> Node, 1.0, true,
        "drive the node's container runtime through its mounted socket (start or enter any container on the node)",
        "a hostPath volume mounts a container runtime socket or its directory (PAL111, critical)";
    EXPLOIT_HOST_READ, KubeHound, Container -> Node, 0.7, true,
        "read credentials (SSH keys, kubelet or control-plane certificates) from a sensitive host path and log in to the node",
        "a sensitive hostPath (PAL111) is mounted read-only";
    EXPLOIT_HOST_TRAVERSE, KubeHound, Volume -> Volume, 1.0, true,
        "read other pods' service account tokens through a host mount of /var/lib/kubelet/pods",
        "a hostPath volume exposes /var/lib/kubelet/pods or a parent of it; leads to every projected token volume";
    EXPLOIT_HOST_WRITE, KubeHound, Container -> Node, 1.0, true,
        "write to a sensitive host path (cron, systemd units, binaries, kubelet config) to run code on the node",
        "a sensitive hostPath (PAL111) is mounted writable (PAL112)";
    IDENTITY_ASSUME, KubeHound, Container -> Identity, 1.0, true,
        "act as the pod's service account from inside the container",
        "the pod runs as a service account and its token is mounted (PAL106)";
    IDENTITY_IMPERSONATE, KubeHound, PermissionSet -> Identity, 1.0, true,
        "impersonate a user, group or service account",
        "the role allows `impersonate` on users, groups or serviceaccounts (named, or any)";
    PERMISSION_DISCOVER, KubeHound, Identity -> PermissionSet, 1.0, true,
        "use the permissions a binding grants",
        "the identity (or its group) is a subject of the binding";
    POD_ATTACH, KubeHound, Node -> Pod, 1.0, false,
        "take over a pod from its node",
        "root on the node (every pod, since placement is unknown)";
    POD_CREATE, KubeHound, PermissionSet -> Node, 1.0, true,
        "create a privileged pod and escape from it",
        "the role allows `create` on pods or a pod controller, in a namespace that does not enforce Pod Security baseline or restricted";
    POD_EXEC, KubeHound, PermissionSet -> Pod, 1.0, true,
        "exec into a running pod",
        "the role allows `create` (or `get`) on pods/exec in the pod's namespace";
    POD_PATCH, KubeHound, PermissionSet -> Pod, 0.9, true,
        "patch a running pod's image to a backdoored one",
        "the role allows `patch` (or `update`) on pods in the pod's namespace";
    ROLE_BIND, KubeHound, PermissionSet -> PermissionSet, 1.0, true,
        "bind oneself an existing role",
        "the role allows creating (Cluster)RoleBindings and `bind` (or `escalate`) on the target role, within the binder's scope; binding any ClusterRole cluster-wide reaches cluster-admin";
    SHARE_PS_NAMESPACE, KubeHound, Container -> Container, 1.0, true,
        "reach a sibling container's processes and files through the shared process namespace",
        "the pod sets shareProcessNamespace (PAL116)";
    TOKEN_BRUTEFORCE, KubeHound, PermissionSet -> Identity, 0.5, true,
        "guess the names of service account token Secrets and read them",
        "the role allows `get` (not `list`) on secrets in a namespace with a long-lived token Secret";
    TOKEN_LIST, KubeHound, PermissionSet -> Identity, 1.0, true,
        "list Secrets and read the long-lived service account tokens among them",
        "the role allows `list` on secrets in a namespace with a long-lived token Secret";
    TOKEN_STEAL, KubeHound, Volume -> Identity, 1.0, true,
        "read a service account token from a volume",
        "a projected service account token is mounted (automountServiceAccountToken not false, PAL106)";
    VOLUME_ACCESS, KubeHound, Node -> Volume, 1.0, false,
        "read any volume from the node it is mounted on",
        "root on the node";
    VOLUME_DISCOVER, KubeHound, Container -> Volume, 1.0, false,
        "find the volumes mounted in the container",
        "the container mounts a hostPath volume or a projected token";
    NETWORK_REACH, New, Container -> Endpoint, 1.0, true,
        "open a connection from a compromised container to another workload's port",
        "the network policy engine allows the source workload to reach the port (admin policies, NetworkPolicies, baseline)";
    EXPOSED_VULN, New, Endpoint -> Container, 0.9, true,
        "exploit a known, remotely exploitable vulnerability of the image behind an exposed port",
        "the container's image has a vulnerability marked remote with a fixed version (--vulns file)";
    ALERTED, New, Internet -> Container, 0.9, true,
        "a container with a recent runtime alert: a plausible foothold already taken",
        "a detect alert (Falco JSON) names the container's namespace, pod and container within the recency window";
    EXPOSED, Structural, Internet -> EntryPoint, 1.0, true,
        "reach an entry point from the internet",
        "an Ingress or Route, a LoadBalancer or NodePort Service, or a hostNetwork container port";
    INGRESS_ROUTE, Structural, EntryPoint -> Endpoint, 1.0, true,
        "the entry point forwards to a workload's port",
        "the backing Service selects the workload and targets the port, and network policy admits the traffic (from the ingress controller, or from every external address)";
    MEMBER_OF, Structural, Identity -> Identity, 1.0, false,
        "an identity holds its groups' permissions",
        "service accounts are in system:serviceaccounts and system:serviceaccounts:<ns>, everyone authenticated in system:authenticated";
    ADMIN_EQUIVALENT, Structural, PermissionSet -> ClusterAdmin, 1.0, true,
        "the permission set is cluster-admin",
        "a ClusterRoleBinding to a role allowing every verb on every resource, or membership of system:masters";
    SECRET_READ, New, PermissionSet -> Secret, 1.0, true,
        "read a crown-jewel Secret through the API",
        "the role allows `get` or `list` on that Secret in its namespace";
    SECRET_MOUNT, New, Container -> Secret, 1.0, true,
        "read a crown-jewel Secret mounted as a volume or environment variable",
        "the pod mounts the Secret or reads it with secretKeyRef/secretRef";
    ANY_OF, Structural, Every -> Pod, 1.0, false,
        "a grant on every pod (or service account) reaches each one (counts as no hop)",
        "a ClusterRoleBinding grants POD_EXEC, POD_PATCH or IDENTITY_IMPERSONATE on every pod or service account";
}

impl EdgeKind {
    /// Hops an edge counts for: zero for ANY_OF, which only fans a grant out.
    pub fn weight(self) -> u32 {
        u32::from(self != EdgeKind::ANY_OF)
    }
    pub fn info(self) -> &'static EdgeInfo {
        &CATALOG[self as usize]
    }
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::CE_MODULE_LOAD => "CE_MODULE_LOAD",
            EdgeKind::CE_NSENTER => "CE_NSENTER",
            EdgeKind::CE_PRIV_MOUNT => "CE_PRIV_MOUNT",
            EdgeKind::CE_SYS_PTRACE => "CE_SYS_PTRACE",
            EdgeKind::CE_UMH_CORE_PATTERN => "CE_UMH_CORE_PATTERN",
            EdgeKind::CE_VAR_LOG_SYMLINK => "CE_VAR_LOG_SYMLINK",
            EdgeKind::CONTAINER_ATTACH => "CONTAINER_ATTACH",
            EdgeKind::ENDPOINT_EXPLOIT => "ENDPOINT_EXPLOIT",
            EdgeKind::EXPLOIT_CONTAINERD_SOCK => "EXPLOIT_CONTAINERD_SOCK",
            EdgeKind::EXPLOIT_HOST_READ => "EXPLOIT_HOST_READ",
            EdgeKind::EXPLOIT_HOST_TRAVERSE => "EXPLOIT_HOST_TRAVERSE",
            EdgeKind::EXPLOIT_HOST_WRITE => "EXPLOIT_HOST_WRITE",
            EdgeKind::IDENTITY_ASSUME => "IDENTITY_ASSUME",
            EdgeKind::IDENTITY_IMPERSONATE => "IDENTITY_IMPERSONATE",
            EdgeKind::PERMISSION_DISCOVER => "PERMISSION_DISCOVER",
            EdgeKind::POD_ATTACH => "POD_ATTACH",
            EdgeKind::POD_CREATE => "POD_CREATE",
            EdgeKind::POD_EXEC => "POD_EXEC",
            EdgeKind::POD_PATCH => "POD_PATCH",
            EdgeKind::ROLE_BIND => "ROLE_BIND",
            EdgeKind::SHARE_PS_NAMESPACE => "SHARE_PS_NAMESPACE",
            EdgeKind::TOKEN_BRUTEFORCE => "TOKEN_BRUTEFORCE",
            EdgeKind::TOKEN_LIST => "TOKEN_LIST",
            EdgeKind::TOKEN_STEAL => "TOKEN_STEAL",
            EdgeKind::VOLUME_ACCESS => "VOLUME_ACCESS",
            EdgeKind::VOLUME_DISCOVER => "VOLUME_DISCOVER",
            EdgeKind::NETWORK_REACH => "NETWORK_REACH",
            EdgeKind::EXPOSED_VULN => "EXPOSED_VULN",
            EdgeKind::ALERTED => "ALERTED",
            EdgeKind::EXPOSED => "EXPOSED",
            EdgeKind::INGRESS_ROUTE => "INGRESS_ROUTE",
            EdgeKind::MEMBER_OF => "MEMBER_OF",
            EdgeKind::ADMIN_EQUIVALENT => "ADMIN_EQUIVALENT",
            EdgeKind::SECRET_READ => "SECRET_READ",
            EdgeKind::SECRET_MOUNT => "SECRET_MOUNT",
            EdgeKind::ANY_OF => "ANY_OF",
        }
    }
    pub fn parse(s: &str) -> Option<EdgeKind> {
        CATALOG
            .iter()
            .map(|i| i.kind)
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fact an edge rests on: an object, the field, where it was read, and the rule that
/// judged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// `Kind ns/name` (or `Kind name`).
    pub object: String,
    /// Field path inside the object; empty when the fact is the whole object.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// File (or `cluster:<context>`, `<stdin>`, or an alert/vulnerability file).
    pub source: String,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// Check ID (`PSS102`), RBAC rule (`create pods`), policy, alert rule or vulnerability ID.
    pub rule: String,
}

/// A directed edge; its facts are `Graph::evidence[evidence]` (shared by edges that rest on
/// the same facts, e.g. every NETWORK_REACH edge between two classes of workloads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub kind: EdgeKind,
    pub evidence: u32,
}

/// Crown jewels: a named target and the vertices that count as reaching it.
#[derive(Clone, Debug, Serialize)]
pub struct Jewel {
    /// `cluster-admin`, `node-root`, or the marked object (`Secret payments/db-credentials`).
    pub name: String,
    pub kind: JewelKind,
    #[serde(skip)]
    pub vertices: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JewelKind {
    ClusterAdmin,
    NodeRoot,
    /// A Secret or workload marked by label or configuration.
    Marked,
}

impl JewelKind {
    /// The value of reaching it (the risk score's scale).
    pub fn value(self) -> f64 {
        match self {
            JewelKind::ClusterAdmin => 10.0,
            JewelKind::NodeRoot => 9.0,
            JewelKind::Marked => 8.0,
        }
    }
    pub fn is_critical(self) -> bool {
        matches!(self, JewelKind::ClusterAdmin | JewelKind::NodeRoot)
    }
}

/// The attack graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub vertices: Vec<Vertex>,
    pub edges: Vec<Edge>,
    pub evidence: Vec<Vec<Fact>>,
    pub jewels: Vec<Jewel>,
    /// Identities the input itself names (subjects of its bindings, its ServiceAccounts, the
    /// service accounts its pods run as): footholds for `critical`, unlike the control
    /// plane's identities that only default bindings name.
    pub own_identities: std::collections::HashSet<u32>,
    /// Outgoing edges per vertex (indices into `edges`), built by [`Graph::index`].
    pub out: Vec<Vec<u32>>,
    /// Incoming edges per vertex.
    pub inc: Vec<Vec<u32>>,
    keys: HashMap<String, u32>,
    dedup: std::collections::HashSet<(u32, u32, EdgeKind)>,
}

impl Graph {
    /// The vertex with this key, created on first use.
    pub fn vertex(
        &mut self,
        kind: VertexKind,
        key: String,
        label: impl FnOnce() -> String,
        namespace: Option<&str>,
    ) -> u32 {
        if let Some(&i) = self.keys.get(&key) {
            return i;
        }
        let i = self.vertices.len() as u32;
        self.vertices.push(Vertex {
            kind,
            key: key.clone(),
            label: label(),
            namespace: namespace.map(str::to_string),
        });
        self.keys.insert(key, i);
        i
    }

    /// Looks a vertex up by key.
    pub fn find(&self, key: &str) -> Option<u32> {
        self.keys.get(key).copied()
    }

    /// Stores facts, returning their index for [`Graph::edge`].
    pub fn facts(&mut self, facts: Vec<Fact>) -> u32 {
        self.evidence.push(facts);
        (self.evidence.len() - 1) as u32
    }

    /// Adds an edge; the same (from, to, kind) twice keeps the first evidence.
    pub fn edge(&mut self, from: u32, to: u32, kind: EdgeKind, evidence: u32) {
        if from == to || !self.dedup.insert((from, to, kind)) {
            return;
        }
        self.edges.push(Edge {
            from,
            to,
            kind,
            evidence,
        });
    }

    /// Builds the adjacency lists (call after the last edge).
    pub fn index(&mut self) {
        let n = self.vertices.len();
        self.out = vec![Vec::new(); n];
        self.inc = vec![Vec::new(); n];
        for (i, e) in self.edges.iter().enumerate() {
            self.out[e.from as usize].push(i as u32);
            self.inc[e.to as usize].push(i as u32);
        }
        self.dedup = Default::default();
    }

    /// Edges of one kind (for tests and reports).
    pub fn edges_of(&self, kind: EdgeKind) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.kind == kind)
    }

    pub fn label(&self, v: u32) -> &str {
        &self.vertices[v as usize].label
    }
    pub fn key(&self, v: u32) -> &str {
        &self.vertices[v as usize].key
    }
}
