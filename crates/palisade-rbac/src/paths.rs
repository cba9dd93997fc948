//! Escalation paths: a graph search over "a subject can do X, so it becomes Y" steps, ending
//! at cluster-admin-equivalent power.
//!
//! Nodes are principals (users, groups, service accounts) and a few pseudo-nodes: "any
//! service account of namespace N" (whoever can run a pod there can run it as any of them),
//! "the tokens mounted in N's running pods", "root on a node", and the goal, "cluster-admin
//! equivalent". The steps, each with the grant that enables it:
//!
//! | capability (where it is granted)                                  | leads to |
//! |---|---|
//! | `*` on `*`, or bound to cluster-admin (cluster-wide)               | goal |
//! | bind or escalate ClusterRoles + create ClusterRoleBindings          | goal (bind cluster-admin to itself) |
//! | escalate + update/patch ClusterRoles                                | goal (rewrite its own role) |
//! | impersonate groups (or users) without a name limit, or named `system:masters` | goal |
//! | impersonate a named user / service account                         | that principal |
//! | write mutating webhook configurations                               | goal (rewrites every request) |
//! | create CSRs + approve them (approval + `approve` on signers)         | goal (a client certificate for system:masters) |
//! | nodes/proxy                                                         | the tokens in every running pod |
//! | create pods or pod controllers in N                                 | any service account of N; root on a node unless N enforces Pod Security baseline or restricted |
//! | create serviceaccounts/token in N                                   | any (or the named) service account of N |
//! | read Secrets in N                                                   | service accounts of N with a long-lived token Secret |
//! | exec / attach / ephemeral containers in N                           | the tokens mounted in N's running pods |
//! | bind or escalate + create RoleBindings in N                         | any service account of N (and root on a node, as pod creation) |
//! | root on a node                                                      | the tokens of DaemonSet pods (they run on every node) |
//!
//! A principal's permissions include its groups' (a service account is in
//! `system:serviceaccounts` and `system:serviceaccounts:<ns>`, everyone authenticated in
//! `system:authenticated`), so a grant to a group is a step for every member.

use crate::authz::{rule_allows, Request, UserInfo};
use crate::model::{BindingKind, PodSecurity, Rbac, Subject};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A node of the escalation graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Node {
    Principal {
        subject: Subject,
    },
    /// Any service account of the namespace.
    NamespaceServiceAccounts {
        namespace: String,
    },
    /// The service account tokens mounted in the namespace's running pods.
    NamespacePodTokens {
        namespace: String,
    },
    /// Root on a node (a privileged pod or a hostPath mount).
    NodeRoot,
    ClusterAdmin,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Principal { subject } => write!(f, "{subject}"),
            Node::NamespaceServiceAccounts { namespace } => {
                write!(f, "any service account in {namespace}")
            }
            Node::NamespacePodTokens { namespace } => {
                write!(f, "tokens mounted in {namespace}'s pods")
            }
            Node::NodeRoot => f.write_str("root on a node"),
            Node::ClusterAdmin => f.write_str("cluster-admin equivalent"),
        }
    }
}

/// One step: `from` can become `to` because of `how`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: Node,
    pub to: Node,
    /// What the subject does (`create pods in shop`).
    pub action: String,
    /// The grant that allows it (`RoleBinding shop/ci → ClusterRole edit`), or how the
    /// pseudo-node reaches the principal.
    pub via: String,
    /// Whether the grant comes from a default (bootstrap) binding.
    #[serde(skip)]
    pub default: bool,
}

/// The shortest path of one principal to cluster-admin-equivalent power.
#[derive(Clone, Debug, Serialize)]
pub struct EscalationPath {
    pub subject: Subject,
    pub steps: Vec<Step>,
}

/// A workload whose service account has a path.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposedWorkload {
    pub workload: String,
    pub service_account: Subject,
    pub path_length: usize,
}

/// The result of [`paths`].
#[derive(Clone, Debug, Serialize)]
pub struct PathsReport {
    pub paths: Vec<EscalationPath>,
    pub workloads: Vec<ExposedWorkload>,
    /// Nodes and edges of the whole graph.
    pub graph_nodes: usize,
    pub graph_edges: usize,
}

#[derive(Default)]
struct Graph {
    ids: HashMap<Node, usize>,
    nodes: Vec<Node>,
    /// Reverse adjacency: to → [(from, step)].
    rev: Vec<Vec<(usize, usize)>>,
    steps: Vec<Step>,
}

impl Graph {
    fn id(&mut self, n: &Node) -> usize {
        if let Some(&i) = self.ids.get(n) {
            return i;
        }
        let i = self.nodes.len();
        self.ids.insert(n.clone(), i);
        self.nodes.push(n.clone());
        self.rev.push(Vec::new());
        i
    }
    fn edge(&mut self, from: &Node, to: &Node, action: String, via: String, default: bool) {
        let f = self.id(from);
        let t = self.id(to);
        if f == t {
            return;
        }
        let s = self.steps.len();
        self.steps.push(Step {
            from: from.clone(),
            to: to.clone(),
            action,
            via,
            default,
        });
        self.rev[t].push((f, s));
    }
}

/// Options of [`paths`].
#[derive(Clone, Debug, Default)]
pub struct PathOptions {
    /// Also report principals whose path starts with a default (bootstrap) grant, such as
    /// the controller-manager's.
    pub include_defaults: bool,
}

/// What one principal can do, as steps.
struct Capabilities<'a> {
    rbac: &'a Rbac,
    /// Applicable bindings with their scope: `None` = cluster-wide.
    bindings: Vec<(usize, Option<String>)>,
}

impl Capabilities<'_> {
    /// The first grant (binding → role) allowing `verb group/resource` with scope; `name`
    /// for requests about one object.
    fn grant(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        name: Option<&str>,
        scope: &Option<String>,
    ) -> Option<(usize, bool)> {
        for (b, bscope) in &self.bindings {
            if bscope != scope {
                continue;
            }
            let Some(role) = self.rbac.bindings[*b].role else {
                continue;
            };
            let mut req = Request::resource(verb, group, resource);
            req.name = name.map(str::to_string);
            if self.rbac.roles[role]
                .rules
                .iter()
                .any(|r| rule_allows(r, &req))
            {
                return Some((*b, self.rbac.bindings[*b].default));
            }
        }
        None
    }

    /// Names a rule limits `verb group/resource` to, over every grant in scope: `None` when
    /// some grant is unrestricted.
    fn names(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        scope: &Option<String>,
    ) -> Option<BTreeSet<String>> {
        let mut names = BTreeSet::new();
        let mut any = false;
        for (b, bscope) in &self.bindings {
            if bscope != scope {
                continue;
            }
            let Some(role) = self.rbac.bindings[*b].role else {
                continue;
            };
            for rule in &self.rbac.roles[role].rules {
                if rule.resource_names.is_empty() {
                    if rule_allows(rule, &Request::resource(verb, group, resource)) {
                        return None;
                    }
                } else if crate::risks::rule_grants(rule, verb, group, resource) {
                    any = true;
                    names.extend(rule.resource_names.iter().cloned());
                }
            }
        }
        any.then_some(names).or(Some(BTreeSet::new()))
    }

    /// The grants of `verb` on a service-account subresource in `scope`: one for any
    /// account, or one per account name the rules are limited to.
    fn sa_grants(&self, verb: &str, resource: &str, scope: &Option<String>) -> SaGrants {
        match self.names(verb, "", resource, scope) {
            None => SaGrants {
                any: self.grant(verb, "", resource, None, scope),
                named: Vec::new(),
            },
            Some(names) => SaGrants {
                any: None,
                named: names
                    .into_iter()
                    .filter_map(|n| {
                        let b = self.grant(verb, "", resource, Some(&n), scope)?;
                        Some((n, b))
                    })
                    .collect(),
            },
        }
    }

    fn via(&self, b: usize) -> String {
        let binding = &self.rbac.bindings[b];
        let role = binding
            .role
            .map(|r| self.rbac.roles[r].label())
            .unwrap_or_default();
        format!("{} → {role}", binding.label())
    }
}

/// Grants over service accounts (TokenRequest, impersonation): `(binding, default)`.
struct SaGrants {
    any: Option<(usize, bool)>,
    named: Vec<(String, (usize, bool))>,
}

/// The steps a [`SaGrants`] gives in namespace `ns`: to any of its service accounts, or to
/// the named ones.
#[allow(clippy::too_many_arguments)]
fn sa_steps(
    g: &mut Graph,
    me: &Node,
    cap: &Capabilities<'_>,
    grants: &SaGrants,
    ns: &str,
    any_sa: &Node,
    verb_phrase: &str,
    where_: &str,
) {
    if let Some((b, default)) = grants.any {
        g.edge(
            me,
            any_sa,
            format!("{verb_phrase} any service account in {where_}"),
            cap.via(b),
            default,
        );
    }
    for (n, (b, default)) in &grants.named {
        g.edge(
            me,
            &Node::Principal {
                subject: Subject::service_account(ns, n),
            },
            format!("{verb_phrase} {ns}/{n}"),
            cap.via(*b),
            *default,
        );
    }
}

/// Builds the escalation graph and finds, for every principal, its shortest path to
/// cluster-admin-equivalent power; then the workloads running as a service account with one.
pub fn paths(rbac: &Rbac, opts: &PathOptions) -> PathsReport {
    let mut g = Graph::default();
    let goal = Node::ClusterAdmin;
    g.id(&goal);

    // Principals: every subject of a binding and every known service account.
    let mut principals: BTreeSet<Subject> = rbac.subjects().cloned().collect();
    for (ns, name) in &rbac.service_accounts {
        principals.insert(Subject::service_account(ns, name));
    }
    let namespaces: Vec<String> = rbac.namespaces.iter().cloned().collect();
    let mut sas_by_ns: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (ns, name) in &rbac.service_accounts {
        sas_by_ns.entry(ns).or_default().push(name);
    }

    // Pseudo-nodes → principals.
    for (ns, names) in &sas_by_ns {
        let from = Node::NamespaceServiceAccounts {
            namespace: ns.to_string(),
        };
        for name in names {
            g.edge(
                &from,
                &Node::Principal {
                    subject: Subject::service_account(ns, name),
                },
                format!("run a pod as {ns}/{name}"),
                "spec.serviceAccountName".into(),
                false,
            );
        }
    }
    for w in &rbac.workloads {
        if !w.token_mounted {
            continue;
        }
        let sa = Node::Principal {
            subject: Subject::service_account(&w.namespace, &w.service_account),
        };
        g.edge(
            &Node::NamespacePodTokens {
                namespace: w.namespace.clone(),
            },
            &sa,
            format!("read the token mounted in {}", w.label()),
            "the pod's service account token".into(),
            false,
        );
        if w.kind == "DaemonSet" {
            g.edge(
                &Node::NodeRoot,
                &sa,
                format!("read the token of {} from the node", w.label()),
                "a DaemonSet runs on every node".into(),
                false,
            );
        }
    }

    for p in &principals {
        let user = UserInfo::of(p, &[]);
        let bindings: Vec<(usize, Option<String>)> = rbac
            .applicable_bindings(&user)
            .into_iter()
            .map(|b| {
                let binding = &rbac.bindings[b];
                let scope = match binding.kind {
                    BindingKind::ClusterRoleBinding => None,
                    BindingKind::RoleBinding => binding.namespace.clone(),
                };
                (b, scope)
            })
            .collect();
        if bindings.is_empty() {
            continue;
        }
        let cap = Capabilities { rbac, bindings };
        let me = Node::Principal { subject: p.clone() };
        let cluster: Option<String> = None;

        // Cluster-wide steps.
        let direct = |g: &mut Graph, b: (usize, bool), action: &str, to: &Node| {
            g.edge(&me, to, action.to_string(), cap.via(b.0), b.1);
        };
        if let Some(b) = cap.grant("*", "*", "*", None, &cluster) {
            direct(&mut g, b, "holds * on *", &goal);
        }
        let crb_create = cap.grant(
            "create",
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            None,
            &cluster,
        );
        if let Some(b) = cap
            .grant(
                "bind",
                "rbac.authorization.k8s.io",
                "clusterroles",
                Some("cluster-admin"),
                &cluster,
            )
            .filter(|_| crb_create.is_some())
        {
            direct(
                &mut g,
                b,
                "bind cluster-admin to itself (bind + create clusterrolebindings)",
                &goal,
            );
        }
        if let Some(b) = cap.grant(
            "escalate",
            "rbac.authorization.k8s.io",
            "clusterroles",
            None,
            &cluster,
        ) {
            if crb_create.is_some()
                || cap
                    .grant(
                        "update",
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                        None,
                        &cluster,
                    )
                    .is_some()
                || cap
                    .grant(
                        "patch",
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                        None,
                        &cluster,
                    )
                    .is_some()
            {
                direct(
                    &mut g,
                    b,
                    "write a ClusterRole with any permission and hold it (escalate)",
                    &goal,
                );
            }
        }
        if let Some(b) = cap.grant(
            "impersonate",
            "",
            "groups",
            Some("system:masters"),
            &cluster,
        ) {
            direct(&mut g, b, "impersonate the group system:masters", &goal);
        }
        match cap.names("impersonate", "", "users", &cluster) {
            None => {
                if let Some(b) = cap.grant("impersonate", "", "users", None, &cluster) {
                    direct(&mut g, b, "impersonate any user", &goal);
                }
            }
            Some(names) => {
                for n in names {
                    if let Some(b) = cap.grant("impersonate", "", "users", Some(&n), &cluster) {
                        let to = match Subject::parse(&n) {
                            Ok(s) => s,
                            Err(_) => Subject::user(&n),
                        };
                        direct(
                            &mut g,
                            b,
                            &format!("impersonate {n}"),
                            &Node::Principal { subject: to },
                        );
                    }
                }
            }
        }
        if let Some(b) = cap
            .grant(
                "create",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                None,
                &cluster,
            )
            .or_else(|| {
                cap.grant(
                    "update",
                    "admissionregistration.k8s.io",
                    "mutatingwebhookconfigurations",
                    None,
                    &cluster,
                )
            })
            .or_else(|| {
                cap.grant(
                    "patch",
                    "admissionregistration.k8s.io",
                    "mutatingwebhookconfigurations",
                    None,
                    &cluster,
                )
            })
        {
            direct(
                &mut g,
                b,
                "register a mutating webhook that rewrites every request",
                &goal,
            );
        }
        let csr_create = cap.grant(
            "create",
            "certificates.k8s.io",
            "certificatesigningrequests",
            None,
            &cluster,
        );
        let csr_approve = cap
            .grant(
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
                None,
                &cluster,
            )
            .or_else(|| {
                cap.grant(
                    "patch",
                    "certificates.k8s.io",
                    "certificatesigningrequests/approval",
                    None,
                    &cluster,
                )
            });
        let signer = cap.grant(
            "approve",
            "certificates.k8s.io",
            "signers",
            Some("kubernetes.io/kube-apiserver-client"),
            &cluster,
        );
        if let (Some(_), Some(b), Some(_)) = (csr_create, csr_approve, signer) {
            direct(
                &mut g,
                b,
                "issue and approve a client certificate for system:masters",
                &goal,
            );
        }
        for verb in ["get", "create"] {
            if let Some(b) = cap.grant(verb, "", "nodes/proxy", None, &cluster) {
                for ns in &namespaces {
                    direct(
                        &mut g,
                        b,
                        "run commands in any pod through the kubelet API (nodes/proxy)",
                        &Node::NamespacePodTokens {
                            namespace: ns.clone(),
                        },
                    );
                }
                break;
            }
        }
        if let Some(b) = cap.grant("create", "", "persistentvolumes", None, &cluster) {
            direct(
                &mut g,
                b,
                "create a hostPath PersistentVolume and mount the node's disk",
                &Node::NodeRoot,
            );
        }

        // Per-namespace steps: cluster-wide grants reach every namespace.
        let mut scopes: Vec<Option<String>> = vec![None];
        for (_, s) in &cap.bindings {
            if s.is_some() && !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        for scope in &scopes {
            let targets: Vec<&String> = match scope {
                None => namespaces.iter().collect(),
                Some(ns) => namespaces.iter().filter(|n| *n == ns).collect(),
            };
            if targets.is_empty() {
                continue;
            }
            let where_ = |ns: &str| match scope {
                None => format!("any namespace ({ns})"),
                Some(_) => ns.to_string(),
            };
            let pod_create = [
                ("", "pods"),
                ("apps", "deployments"),
                ("apps", "daemonsets"),
                ("apps", "statefulsets"),
                ("apps", "replicasets"),
                ("batch", "jobs"),
                ("batch", "cronjobs"),
                ("", "replicationcontrollers"),
            ]
            .iter()
            .find_map(|(gr, r)| cap.grant("create", gr, r, None, scope).map(|b| (b, *r)));
            let bind_ns = cap
                .grant(
                    "bind",
                    "rbac.authorization.k8s.io",
                    "clusterroles",
                    None,
                    scope,
                )
                .or_else(|| {
                    cap.grant(
                        "escalate",
                        "rbac.authorization.k8s.io",
                        "roles",
                        None,
                        scope,
                    )
                })
                .filter(|_| {
                    cap.grant(
                        "create",
                        "rbac.authorization.k8s.io",
                        "rolebindings",
                        None,
                        scope,
                    )
                    .is_some()
                });
            // Judged once per scope, not per namespace.
            let token = cap.sa_grants("create", "serviceaccounts/token", scope);
            let secrets = cap
                .grant("get", "", "secrets", None, scope)
                .or_else(|| cap.grant("list", "", "secrets", None, scope));
            let exec = ["pods/exec", "pods/attach"]
                .iter()
                .find_map(|r| {
                    cap.grant("create", "", r, None, scope)
                        .or_else(|| cap.grant("get", "", r, None, scope))
                        .map(|b| (b, *r))
                })
                .or_else(|| {
                    cap.grant("patch", "", "pods/ephemeralcontainers", None, scope)
                        .map(|b| (b, "pods/ephemeralcontainers"))
                });
            let impersonate_sa = cap.sa_grants("impersonate", "serviceaccounts", scope);
            for ns in targets {
                let any_sa = Node::NamespaceServiceAccounts {
                    namespace: ns.clone(),
                };
                let privileged = rbac
                    .pod_security
                    .get(ns)
                    .is_none_or(|l| *l == PodSecurity::Privileged);
                let as_pods = pod_create
                    .map(|(b, r)| (b, format!("create {r} in {}", where_(ns))))
                    .or_else(|| {
                        bind_ns.map(|b| {
                            (
                                b,
                                format!("bind itself a role with pod creation in {}", where_(ns)),
                            )
                        })
                    });
                if let Some((b, action)) = as_pods {
                    direct(&mut g, b, &action, &any_sa);
                    if privileged {
                        direct(
                            &mut g,
                            b,
                            &format!("{action}: a privileged pod (the namespace does not enforce Pod Security baseline)"),
                            &Node::NodeRoot,
                        );
                    }
                }
                sa_steps(
                    &mut g,
                    &me,
                    &cap,
                    &token,
                    ns,
                    &any_sa,
                    "create a token for",
                    &where_(ns),
                );
                if let Some(b) = secrets {
                    for ((sns, sa), secret_names) in
                        rbac.token_secrets.range((ns.clone(), String::new())..)
                    {
                        if sns != ns {
                            break;
                        }
                        direct(
                            &mut g,
                            b,
                            &format!("read the token Secret {ns}/{}", secret_names.join(",")),
                            &Node::Principal {
                                subject: Subject::service_account(ns, sa),
                            },
                        );
                    }
                }
                if let Some((b, r)) = exec {
                    direct(
                        &mut g,
                        b,
                        &format!("use {r} in {}", where_(ns)),
                        &Node::NamespacePodTokens {
                            namespace: ns.clone(),
                        },
                    );
                }
                sa_steps(
                    &mut g,
                    &me,
                    &cap,
                    &impersonate_sa,
                    ns,
                    &any_sa,
                    "impersonate",
                    &where_(ns),
                );
            }
        }
    }

    // Group membership: a group's steps are its members' (service accounts are members of
    // their namespace's group and of system:serviceaccounts; everyone authenticated of
    // system:authenticated). Handled above through UserInfo; here a user or service account
    // inherits nothing more.

    // Reverse BFS from the goal: for every node, the next step towards it.
    let n = g.nodes.len();
    let mut next: Vec<Option<usize>> = vec![None; n];
    let mut dist: Vec<usize> = vec![usize::MAX; n];
    let goal_id = g.ids[&goal];
    dist[goal_id] = 0;
    let mut queue = VecDeque::from([goal_id]);
    while let Some(t) = queue.pop_front() {
        for &(f, s) in &g.rev[t] {
            if dist[f] == usize::MAX {
                dist[f] = dist[t] + 1;
                next[f] = Some(s);
                queue.push_back(f);
            }
        }
    }
    let path_of = |start: usize| -> Vec<Step> {
        let mut steps = Vec::new();
        let mut cur = start;
        while let Some(s) = next[cur] {
            steps.push(g.steps[s].clone());
            cur = g.ids[&g.steps[s].to];
        }
        steps
    };
    let mut out = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let Node::Principal { subject } = node else {
            continue;
        };
        if dist[i] == usize::MAX || i == goal_id {
            continue;
        }
        let steps = path_of(i);
        if steps.first().is_some_and(|s| s.default) && !opts.include_defaults {
            continue;
        }
        out.push(EscalationPath {
            subject: subject.clone(),
            steps,
        });
    }
    out.sort_by(|a, b| {
        a.steps
            .len()
            .cmp(&b.steps.len())
            .then_with(|| a.subject.cmp(&b.subject))
    });

    let mut workloads = Vec::new();
    for w in &rbac.workloads {
        if !w.token_mounted {
            continue;
        }
        let sa = Subject::service_account(&w.namespace, &w.service_account);
        if let Some(p) = out.iter().find(|p| p.subject == sa) {
            workloads.push(ExposedWorkload {
                workload: w.label(),
                service_account: sa,
                path_length: p.steps.len(),
            });
        }
    }
    PathsReport {
        graph_nodes: g.nodes.len(),
        graph_edges: g.steps.len(),
        paths: out,
        workloads,
    }
}

/// The report as Graphviz dot: every principal with a path, and its steps.
pub fn to_dot(report: &PathsReport) -> String {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut edges: BTreeSet<(usize, usize, String)> = BTreeSet::new();
    let id = |s: String, ids: &mut BTreeMap<String, usize>| {
        let n = ids.len();
        *ids.entry(s).or_insert(n)
    };
    for p in &report.paths {
        for s in &p.steps {
            let f = id(s.from.to_string(), &mut ids);
            let t = id(s.to.to_string(), &mut ids);
            edges.insert((f, t, s.action.clone()));
        }
    }
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "digraph escalation {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
    );
    for (label, i) in &ids {
        let style = if label == "cluster-admin equivalent" {
            ", style=filled, fillcolor=\"#f4cccc\""
        } else {
            ""
        };
        out.push_str(&format!("  n{i} [label=\"{}\"{style}];\n", esc(label)));
    }
    for (f, t, a) in &edges {
        out.push_str(&format!("  n{f} -> n{t} [label=\"{}\"];\n", esc(a)));
    }
    out.push_str("}\n");
    out
}

/// The steps of every path as one graph, each vertex and each (from, to, action) once:
/// what a graph page draws (the binary draws it with the console's graph component).
#[derive(Clone, Debug, Default)]
pub struct StepGraph {
    /// Vertices in first-seen order, with the fewest steps any path takes to reach them.
    pub nodes: Vec<(Node, usize)>,
    /// (from, to, action, the grants that allow it).
    pub edges: Vec<(usize, usize, String, String)>,
}

pub fn step_graph(report: &PathsReport) -> StepGraph {
    let mut g = StepGraph::default();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<(usize, usize, String), usize> = HashMap::new();
    let mut id = |n: &Node, hop: usize, g: &mut StepGraph| {
        let i = *ids.entry(n.to_string()).or_insert_with(|| {
            g.nodes.push((n.clone(), hop));
            g.nodes.len() - 1
        });
        g.nodes[i].1 = g.nodes[i].1.min(hop);
        i
    };
    for p in &report.paths {
        for (k, s) in p.steps.iter().enumerate() {
            let f = id(&s.from, k, &mut g);
            let t = id(&s.to, k + 1, &mut g);
            match seen.get(&(f, t, s.action.clone())) {
                Some(&e) => {
                    let via = &mut g.edges[e].3;
                    if !via.split("; ").any(|v| v == s.via) {
                        via.push_str("; ");
                        via.push_str(&s.via);
                    }
                }
                None => {
                    seen.insert((f, t, s.action.clone()), g.edges.len());
                    g.edges.push((f, t, s.action.clone(), s.via.clone()));
                }
            }
        }
    }
    g
}

impl Node {
    /// The namespace a vertex belongs to, if any.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Node::Principal { subject } => subject.namespace.as_deref(),
            Node::NamespaceServiceAccounts { namespace }
            | Node::NamespacePodTokens { namespace } => Some(namespace),
            Node::NodeRoot | Node::ClusterAdmin => None,
        }
    }
}

/// The HTML sections of the report page under its graph: the exposed workloads and each path
/// as a chain of boxes (escaped; the page itself is drawn by the caller).
pub fn html_sections(report: &PathsReport) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut body = String::new();
    if !report.workloads.is_empty() {
        body.push_str("<h2>Workloads</h2><table><tr><th>workload</th><th>service account</th><th>steps</th></tr>");
        for w in &report.workloads {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&w.workload),
                esc(&w.service_account.to_string()),
                w.path_length
            ));
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Paths</h2><table><tr><th>principal</th><th>steps</th></tr>");
    for p in &report.paths {
        let mut chain = String::new();
        for s in &p.steps {
            chain.push_str(&format!(
                " <span title=\"{}\">{} →</span> <b>{}</b>",
                esc(&s.via),
                esc(&s.action),
                esc(&s.to.to_string())
            ));
        }
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&p.subject.to_string()),
            chain.trim_start()
        ));
    }
    body.push_str("</table>");
    body
}
