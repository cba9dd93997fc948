//! Dangerous permissions: for every subject of every binding, which of the catalog's risky
//! permissions the bound role grants, with the severity, the scope (cluster-wide through a
//! ClusterRoleBinding, one namespace through a RoleBinding) and the rule that grants it.
//!
//! The roles' effective rules are used, so a binding to `edit` (a default, aggregated role)
//! is judged by what `edit` really allows. The API server's own bindings (the defaults, and
//! objects labelled `kubernetes.io/bootstrapping: rbac-defaults`) are skipped unless asked.

use crate::authz::{rule_allows, Request};
use crate::model::{BindingKind, Rbac, Rule, Subject};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One entry of the risk catalog.
#[derive(Debug)]
pub struct RiskDef {
    /// Stable ID, `RBAC001`...
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// Through a ClusterRoleBinding.
    pub cluster_severity: Severity,
    /// Through a RoleBinding (one namespace); `None` when a RoleBinding cannot grant it
    /// (cluster-scoped resources).
    pub namespace_severity: Option<Severity>,
    /// `(verbs, group, resource)`: granting any verb of any entry is the risk.
    pub grants: &'static [(&'static [&'static str], &'static str, &'static str)],
}

const WORKLOAD_CREATE: &[&str] = &["create"];
const WRITE: &[&str] = &["create", "update", "patch", "delete"];
const RBAC_G: &str = "rbac.authorization.k8s.io";
const ADM: &str = "admissionregistration.k8s.io";

/// The catalog. `RBAC001` (cluster-admin) is matched by role name, every other entry by
/// rules.
pub static CATALOG: &[RiskDef] = &[
    RiskDef {
        id: "RBAC001",
        name: "cluster-admin-binding",
        title: "bound to cluster-admin",
        why: "cluster-admin allows every verb on every resource: through a ClusterRoleBinding the whole cluster, through a RoleBinding everything in the namespace, RBAC included",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[],
    },
    RiskDef {
        id: "RBAC002",
        name: "wildcard-everything",
        title: "`*` verbs on `*` resources in `*` API groups",
        why: "a role with wildcards everywhere is cluster-admin by another name, and also covers every resource added later",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[(&["*"], "*", "*")],
    },
    RiskDef {
        id: "RBAC003",
        name: "read-secrets",
        title: "can read Secrets",
        why: "Secrets hold credentials, including service account tokens that carry their account's permissions; list and watch return every Secret's data",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[(&["get", "list", "watch"], "", "secrets")],
    },
    RiskDef {
        id: "RBAC004",
        name: "create-workloads",
        title: "can create pods or pod controllers",
        why: "a pod can run as any service account of its namespace and mount its token, and, where Pod Security does not forbid it, run privileged on the node",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[
            (WORKLOAD_CREATE, "", "pods"),
            (WORKLOAD_CREATE, "", "replicationcontrollers"),
            (WORKLOAD_CREATE, "apps", "deployments"),
            (WORKLOAD_CREATE, "apps", "daemonsets"),
            (WORKLOAD_CREATE, "apps", "statefulsets"),
            (WORKLOAD_CREATE, "apps", "replicasets"),
            (WORKLOAD_CREATE, "batch", "jobs"),
            (WORKLOAD_CREATE, "batch", "cronjobs"),
        ],
    },
    RiskDef {
        id: "RBAC005",
        name: "pods-exec",
        title: "can exec into pods",
        why: "exec runs commands in a container: its files, its mounted Secrets and its service account token",
        cluster_severity: Severity::High,
        namespace_severity: Some(Severity::High),
        // kubectl exec over WebSocket is authorized as `get`, over SPDY as `create`.
        grants: &[(&["create", "get"], "", "pods/exec")],
    },
    RiskDef {
        id: "RBAC006",
        name: "pods-attach",
        title: "can attach to pods",
        why: "attach connects to a running container's console, with the same reach as exec for many images",
        cluster_severity: Severity::High,
        namespace_severity: Some(Severity::Medium),
        grants: &[(&["create", "get"], "", "pods/attach")],
    },
    RiskDef {
        id: "RBAC007",
        name: "pods-portforward",
        title: "can port-forward to pods",
        why: "port-forward reaches any port of a pod, past NetworkPolicies and Services",
        cluster_severity: Severity::Medium,
        namespace_severity: Some(Severity::Medium),
        grants: &[(&["create", "get"], "", "pods/portforward")],
    },
    RiskDef {
        id: "RBAC008",
        name: "ephemeral-containers",
        title: "can add ephemeral containers to pods",
        why: "an ephemeral container runs in an existing pod, with its service account and volumes",
        cluster_severity: Severity::High,
        namespace_severity: Some(Severity::High),
        grants: &[(&["patch", "update"], "", "pods/ephemeralcontainers")],
    },
    RiskDef {
        id: "RBAC009",
        name: "nodes-proxy",
        title: "can use nodes/proxy (the kubelet API)",
        why: "the kubelet API runs commands in every pod on the node, and its requests bypass admission and audit",
        cluster_severity: Severity::Critical,
        namespace_severity: None,
        grants: &[(&["get", "create"], "", "nodes/proxy")],
    },
    RiskDef {
        id: "RBAC010",
        name: "escalate",
        title: "can escalate Roles or ClusterRoles",
        why: "escalate lets a subject write roles with permissions it does not hold",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[
            (&["escalate"], RBAC_G, "roles"),
            (&["escalate"], RBAC_G, "clusterroles"),
        ],
    },
    RiskDef {
        id: "RBAC011",
        name: "bind",
        title: "can bind Roles or ClusterRoles",
        why: "bind lets a subject create bindings to roles with permissions it does not hold",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[
            (&["bind"], RBAC_G, "roles"),
            (&["bind"], RBAC_G, "clusterroles"),
        ],
    },
    RiskDef {
        id: "RBAC012",
        name: "impersonate",
        title: "can impersonate users, groups, service accounts or UIDs",
        why: "impersonation acts with another identity's permissions; impersonating the group system:masters is cluster-admin",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[
            (&["impersonate"], "", "users"),
            (&["impersonate"], "", "groups"),
            (&["impersonate"], "", "serviceaccounts"),
            (&["impersonate"], "authentication.k8s.io", "uids"),
            (&["impersonate"], "authentication.k8s.io", "userextras/scopes"),
        ],
    },
    RiskDef {
        id: "RBAC013",
        name: "serviceaccount-token",
        title: "can create service account tokens",
        why: "a TokenRequest mints a token for the service account, carrying all of its permissions",
        cluster_severity: Severity::Critical,
        namespace_severity: Some(Severity::High),
        grants: &[(&["create"], "", "serviceaccounts/token")],
    },
    RiskDef {
        id: "RBAC014",
        name: "approve-csr",
        title: "can approve certificate signing requests",
        why: "approving a CSR for the kube-apiserver-client signer mints a client certificate for any user or group, system:masters included",
        cluster_severity: Severity::High,
        namespace_severity: None,
        grants: &[
            (&["update", "patch"], "certificates.k8s.io", "certificatesigningrequests/approval"),
            (&["approve"], "certificates.k8s.io", "signers"),
        ],
    },
    RiskDef {
        id: "RBAC015",
        name: "admission-control",
        title: "can change admission webhooks or policies",
        why: "a mutating webhook sees and can rewrite every matching request (Secrets, pods); removing a validating one disables a guardrail",
        cluster_severity: Severity::Critical,
        namespace_severity: None,
        grants: &[
            (WRITE, ADM, "mutatingwebhookconfigurations"),
            (WRITE, ADM, "validatingwebhookconfigurations"),
            (WRITE, ADM, "validatingadmissionpolicies"),
            (WRITE, ADM, "validatingadmissionpolicybindings"),
            (WRITE, ADM, "mutatingadmissionpolicies"),
            (WRITE, ADM, "mutatingadmissionpolicybindings"),
        ],
    },
    RiskDef {
        id: "RBAC016",
        name: "modify-rbac",
        title: "can modify RBAC",
        why: "writing roles and bindings is one step from granting more, with bind or escalate, or by binding roles the subject already holds to others",
        cluster_severity: Severity::High,
        namespace_severity: Some(Severity::Medium),
        grants: &[
            (&["create", "update", "patch"], RBAC_G, "roles"),
            (&["create", "update", "patch"], RBAC_G, "rolebindings"),
            (&["create", "update", "patch"], RBAC_G, "clusterroles"),
            (&["create", "update", "patch"], RBAC_G, "clusterrolebindings"),
        ],
    },
    RiskDef {
        id: "RBAC017",
        name: "create-persistentvolumes",
        title: "can create PersistentVolumes",
        why: "a hostPath PersistentVolume mounts any path of a node into a pod that claims it, past Pod Security's hostPath ban",
        cluster_severity: Severity::High,
        namespace_severity: None,
        grants: &[(&["create"], "", "persistentvolumes")],
    },
    RiskDef {
        id: "RBAC018",
        name: "patch-status",
        title: "can write node or pod status",
        why: "node status steers the scheduler and controllers (addresses, conditions); pod status can change which endpoints receive traffic",
        cluster_severity: Severity::Medium,
        namespace_severity: Some(Severity::Medium),
        grants: &[
            (&["patch", "update"], "", "nodes/status"),
            (&["patch", "update"], "", "pods/status"),
        ],
    },
];

/// Finds a catalog entry by ID or name.
pub fn find(key: &str) -> Option<&'static RiskDef> {
    CATALOG
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(key) || r.name == key)
}

/// One risky permission held by one subject through one binding.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub subject: Subject,
    /// `cluster-wide` or `namespace <ns>`.
    pub scope: String,
    pub binding: String,
    pub role: String,
    /// The rule that grants it, summarised (`get,list secrets ("")`); empty for RBAC001.
    pub rule: String,
    /// `rules[i]` of the role, when a rule grants it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    /// When the rule is limited to named objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub only_names: Vec<String>,
    /// Where the binding is written (`file:line`).
    pub source: String,
    pub line: u32,
    /// Index of the binding in [`Rbac::bindings`].
    #[serde(skip)]
    pub binding_index: usize,
    /// Index of the subject in the binding.
    #[serde(skip)]
    pub subject_index: usize,
}

/// Does `rule` grant `verb` on `resource` in `group` for some object? A rule limited to
/// names counts (with the names reported).
pub fn rule_grants(rule: &Rule, verb: &str, group: &str, resource: &str) -> bool {
    let mut req = Request::resource(verb, group, resource);
    if let Some(n) = rule.resource_names.first() {
        req.name = Some(n.clone());
    }
    rule_allows(rule, &req)
}

/// Options of [`risks`].
#[derive(Clone, Debug, Default)]
pub struct RiskOptions {
    /// Also judge the API server's default bindings.
    pub include_defaults: bool,
}

/// Every risk of every subject, ordered by severity (highest first), then subject.
pub fn risks(rbac: &Rbac, opts: &RiskOptions) -> Vec<Risk> {
    let mut out = Vec::new();
    for (bi, b) in rbac.bindings.iter().enumerate() {
        if b.default && !opts.include_defaults {
            continue;
        }
        let Some(role_i) = b.role else { continue };
        let role = &rbac.roles[role_i];
        let (scope, cluster) = match b.kind {
            BindingKind::ClusterRoleBinding => ("cluster-wide".to_string(), true),
            BindingKind::RoleBinding => (
                format!("namespace {}", b.namespace.clone().unwrap_or_default()),
                false,
            ),
        };
        let is_cluster_admin =
            role.kind == crate::model::RoleKind::ClusterRole && role.name == "cluster-admin";
        // A role with `*` on `*` holds every other risk: RBAC002 says so once.
        let everything =
            !is_cluster_admin && role.rules.iter().any(|r| rule_grants(r, "*", "*", "*"));
        for def in CATALOG {
            let severity = if cluster {
                def.cluster_severity
            } else {
                match def.namespace_severity {
                    Some(s) => s,
                    None => continue,
                }
            };
            let hit: Option<(Option<usize>, Vec<String>)> = if def.id == "RBAC001" {
                is_cluster_admin.then(|| (None, Vec::new()))
            } else if is_cluster_admin || (everything && def.id != "RBAC002") {
                // cluster-admin and full wildcards hold everything; one finding says so.
                None
            } else {
                role.rules.iter().enumerate().find_map(|(ri, rule)| {
                    def.grants
                        .iter()
                        .any(|(verbs, g, r)| verbs.iter().any(|v| rule_grants(rule, v, g, r)))
                        .then(|| (Some(ri), rule.resource_names.clone()))
                })
            };
            let Some((rule_index, only_names)) = hit else {
                continue;
            };
            // A rule limited to named objects is one step less severe.
            let severity = if only_names.is_empty() {
                severity
            } else {
                match severity {
                    Severity::Critical => Severity::High,
                    Severity::High => Severity::Medium,
                    _ => Severity::Low,
                }
            };
            for (si, s) in b.subjects.iter().enumerate() {
                out.push(Risk {
                    id: def.id,
                    name: def.name,
                    title: def.title,
                    severity,
                    subject: s.clone(),
                    scope: scope.clone(),
                    binding: b.label(),
                    role: role.label(),
                    rule: rule_index
                        .map(|i| role.rules[i].summary())
                        .unwrap_or_default(),
                    rule_index,
                    only_names: only_names.clone(),
                    source: b.origin.source.clone(),
                    line: b.origin.line,
                    binding_index: bi,
                    subject_index: si,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.id.cmp(b.id))
            .then_with(|| a.binding.cmp(&b.binding))
    });
    out
}
