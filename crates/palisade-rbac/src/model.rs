//! The RBAC objects of a snapshot, read from [`Object`]s: Roles, ClusterRoles (with their
//! aggregation resolved), RoleBindings and ClusterRoleBindings, plus what the escalation
//! analysis needs to know about the cluster (service accounts, their token Secrets, the
//! workloads that run as them and the namespaces' Pod Security level).
//!
//! Bad input never stops the analysis: a malformed rule, an unknown subject kind or a
//! binding to a missing role becomes a [`Diagnostic`] naming the file and line, and the rest
//! is read.

use crate::bootstrap::{self, Defaults};
use crate::resources::ResourceTable;
use palisade_model::{Diagnostic, LabelSelector, Level, Node, Object};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The API group of the RBAC kinds.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One `PolicyRule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    /// A one-line summary: `get,list secrets ("")` or `get /healthz`.
    pub fn summary(&self) -> String {
        let verbs = self.verbs.join(",");
        if !self.non_resource_urls.is_empty() {
            return format!("{verbs} {}", self.non_resource_urls.join(","));
        }
        let groups: Vec<String> = self
            .api_groups
            .iter()
            .map(|g| {
                if g.is_empty() {
                    "\"\"".into()
                } else {
                    g.clone()
                }
            })
            .collect();
        let mut s = format!(
            "{verbs} {} (apiGroups {})",
            self.resources.join(","),
            groups.join(",")
        );
        if !self.resource_names.is_empty() {
            s.push_str(&format!(" names {}", self.resource_names.join(",")));
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RoleKind {
    Role,
    ClusterRole,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Role => "Role",
            RoleKind::ClusterRole => "ClusterRole",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum BindingKind {
    RoleBinding,
    ClusterRoleBinding,
}

impl BindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::RoleBinding => "RoleBinding",
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }
}

/// Where a role or binding came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// A file path, `<stdin>`, `cluster:<context>`, or `kubernetes vX.Y defaults`.
    pub source: String,
    /// 1-based line of the object, 0 when unknown.
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

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.source, self.line)
        } else {
            f.write_str(&self.source)
        }
    }
}

/// A Role or ClusterRole.
#[derive(Clone, Debug)]
pub struct Role {
    pub kind: RoleKind,
    /// Set for Roles.
    pub namespace: Option<String>,
    pub name: String,
    /// The effective rules: the written ones plus, for an aggregated ClusterRole, those of
    /// every ClusterRole its selectors match (as the aggregation controller fills them in).
    pub rules: Vec<Rule>,
    /// `aggregationRule.clusterRoleSelectors`; empty when the role is not aggregated.
    pub aggregation: Vec<LabelSelector>,
    pub labels: Node,
    pub origin: Origin,
    /// One of the API server's default (bootstrap) roles: from the built-in defaults, or an
    /// object labelled `kubernetes.io/bootstrapping: rbac-defaults`.
    pub default: bool,
}

impl Role {
    /// `ClusterRole admin`, `Role shop/reader`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind.as_str(), self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "User",
            SubjectKind::Group => "Group",
            SubjectKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// A subject of a binding, or a principal to ask about. A ServiceAccount's namespace is
/// resolved (a subject without one takes its RoleBinding's namespace, as the authorizer
/// does).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    pub fn user(name: &str) -> Subject {
        Subject {
            kind: SubjectKind::User,
            name: name.into(),
            namespace: None,
        }
    }
    pub fn group(name: &str) -> Subject {
        Subject {
            kind: SubjectKind::Group,
            name: name.into(),
            namespace: None,
        }
    }
    pub fn service_account(ns: &str, name: &str) -> Subject {
        Subject {
            kind: SubjectKind::ServiceAccount,
            name: name.into(),
            namespace: Some(ns.into()),
        }
    }

    /// Parses `User:alice`, `Group:devs`, `ServiceAccount:ns/name`, `sa:ns/name`,
    /// `system:serviceaccount:ns:name` (a service account's username), or a bare username.
    pub fn parse(s: &str) -> Result<Subject, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty subject".into());
        }
        if let Some(rest) = s.strip_prefix("system:serviceaccount:") {
            return match rest.split_once(':') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains(':') => {
                    Ok(Subject::service_account(ns, name))
                }
                _ => Err(format!(
                    "{s:?}: a service account username is system:serviceaccount:<namespace>:<name>"
                )),
            };
        }
        if let Some((kind, rest)) = s.split_once(':') {
            let kind_l = kind.to_ascii_lowercase();
            match kind_l.as_str() {
                "user" | "u" => return non_empty(rest).map(Subject::user),
                "group" | "g" => return non_empty(rest).map(Subject::group),
                "serviceaccount" | "sa" => {
                    return match rest.split_once('/') {
                        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
                            Ok(Subject::service_account(ns, name))
                        }
                        _ => Err(format!(
                            "{s:?}: write a service account as ServiceAccount:<namespace>/<name>"
                        )),
                    };
                }
                _ => {}
            }
        }
        Ok(Subject::user(s))
    }

    /// The username the API server gives this subject when it is a service account.
    pub fn username(&self) -> String {
        match (self.kind, &self.namespace) {
            (SubjectKind::ServiceAccount, Some(ns)) => {
                format!("system:serviceaccount:{ns}:{}", self.name)
            }
            _ => self.name.clone(),
        }
    }
}

fn non_empty(s: &str) -> Result<&str, String> {
    if s.is_empty() {
        Err("empty subject name".into())
    } else {
        Ok(s)
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, &self.namespace) {
            (SubjectKind::ServiceAccount, Some(ns)) => {
                write!(f, "ServiceAccount {ns}/{}", self.name)
            }
            _ => write!(f, "{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Clone, Debug)]
pub struct Binding {
    pub kind: BindingKind,
    /// Set for RoleBindings.
    pub namespace: Option<String>,
    pub name: String,
    pub role_kind: RoleKind,
    pub role_name: String,
    /// The bound role, when it exists (in the input or the defaults).
    pub role: Option<usize>,
    pub subjects: Vec<Subject>,
    pub origin: Origin,
    pub default: bool,
}

impl Binding {
    /// `ClusterRoleBinding ops`, `RoleBinding shop/readers`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind.as_str(), self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A workload: a pod or a pod template of a controller (one representative per template).
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub service_account: String,
    /// Whether the service account's token is mounted into the pods.
    pub token_mounted: bool,
}

impl Workload {
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// The Pod Security level a namespace enforces (`pod-security.kubernetes.io/enforce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    Privileged,
    Baseline,
    Restricted,
}

/// How to build a snapshot.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Which Kubernetes version's default roles and bindings to add for those the input
    /// lacks; `None` adds none.
    pub defaults: Option<&'static Defaults>,
}

/// Everything the RBAC analyses read.
#[derive(Debug, Default)]
pub struct Rbac {
    pub roles: Vec<Role>,
    pub bindings: Vec<Binding>,
    /// `(kind, namespace, name)` → index in `roles`.
    role_index: HashMap<(RoleKind, Option<String>, String), usize>,
    /// Subject → the bindings naming it.
    by_subject: HashMap<Subject, Vec<usize>>,
    /// Role → the bindings referring to it.
    by_role: HashMap<usize, Vec<usize>>,
    /// Service accounts known to exist (objects, and those bindings or workloads name).
    pub service_accounts: BTreeSet<(String, String)>,
    /// `(namespace, service account)` → names of its long-lived token Secrets.
    pub token_secrets: BTreeMap<(String, String), Vec<String>>,
    pub workloads: Vec<Workload>,
    /// Namespaces seen (objects, and namespaces of namespaced objects).
    pub namespaces: BTreeSet<String>,
    /// The enforced Pod Security level of namespaces that have a Namespace object.
    pub pod_security: BTreeMap<String, PodSecurity>,
    pub resources: ResourceTable,
    pub diagnostics: Vec<Diagnostic>,
    /// The defaults' version, when defaults were added.
    pub defaults_version: Option<&'static str>,
}

fn strings_at(
    node: Option<&Node>,
    field: &str,
    obj: &Object,
    path: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(n) = node else {
        return Vec::new();
    };
    if n.is_null() {
        return Vec::new();
    }
    if !n.is_seq() {
        diags.push(Diagnostic::new(
            Level::Error,
            obj.source.display(),
            if n.pos.line > 0 { n.pos.line } else { obj.line },
            format!(
                "{} {}: {path}.{field} must be a list of strings, not {}",
                obj.kind,
                display_name(obj),
                n.type_name()
            ),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, item) in n.items().iter().enumerate() {
        match item.as_str() {
            Some(s) => out.push(s.to_string()),
            None => diags.push(Diagnostic::new(
                Level::Error,
                obj.source.display(),
                if item.pos.line > 0 {
                    item.pos.line
                } else {
                    obj.line
                },
                format!(
                    "{} {}: {path}.{field}[{i}] must be a string, not {}; ignored",
                    obj.kind,
                    display_name(obj),
                    item.type_name()
                ),
            )),
        }
    }
    out
}

fn display_name(obj: &Object) -> String {
    match &obj.namespace {
        Some(ns) => format!("{ns}/{}", obj.name),
        None => format!("{:?}", obj.name),
    }
}

fn is_default_object(obj: &Object) -> bool {
    obj.labels()
        .get("kubernetes.io/bootstrapping")
        .and_then(Node::as_str)
        == Some("rbac-defaults")
}

/// Reads the rules of a Role or ClusterRole object, reporting malformed ones.
fn read_rules(obj: &Object, diags: &mut Vec<Diagnostic>) -> Vec<Rule> {
    let Some(rules) = obj.root.get("rules") else {
        return Vec::new();
    };
    if rules.is_null() {
        return Vec::new();
    }
    if !rules.is_seq() {
        diags.push(Diagnostic::new(
            Level::Error,
            obj.source.display(),
            rules.pos.line.max(obj.line),
            format!(
                "{} {}: rules must be a list, not {}",
                obj.kind,
                display_name(obj),
                rules.type_name()
            ),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, r) in rules.items().iter().enumerate() {
        let path = format!("rules[{i}]");
        let line = if r.pos.line > 0 { r.pos.line } else { obj.line };
        if !r.is_map() {
            diags.push(Diagnostic::new(
                Level::Error,
                obj.source.display(),
                line,
                format!(
                    "{} {}: {path} must be a mapping, not {}; ignored",
                    obj.kind,
                    display_name(obj),
                    r.type_name()
                ),
            ));
            continue;
        }
        let rule = Rule {
            verbs: strings_at(r.get("verbs"), "verbs", obj, &path, diags),
            api_groups: strings_at(r.get("apiGroups"), "apiGroups", obj, &path, diags),
            resources: strings_at(r.get("resources"), "resources", obj, &path, diags),
            resource_names: strings_at(r.get("resourceNames"), "resourceNames", obj, &path, diags),
            non_resource_urls: strings_at(
                r.get("nonResourceURLs"),
                "nonResourceURLs",
                obj,
                &path,
                diags,
            ),
        };
        let problem = if rule.verbs.is_empty() {
            Some("has no verbs, so it grants nothing")
        } else if rule.resources.is_empty() && rule.non_resource_urls.is_empty() {
            Some("has neither resources nor nonResourceURLs, so it grants nothing")
        } else if !rule.resources.is_empty() && !rule.non_resource_urls.is_empty() {
            Some("mixes resources and nonResourceURLs, which the API server rejects")
        } else if !rule.non_resource_urls.is_empty() && obj.kind == "Role" {
            Some("has nonResourceURLs, which only a ClusterRole may have")
        } else if !rule.resources.is_empty() && rule.api_groups.is_empty() {
            Some("has resources but no apiGroups (write \"\" for the core group), so it grants nothing")
        } else {
            None
        };
        if let Some(p) = problem {
            diags.push(Diagnostic::new(
                Level::Warning,
                obj.source.display(),
                line,
                format!("{} {}: {path} {p}", obj.kind, display_name(obj)),
            ));
        }
        out.push(rule);
    }
    out
}

impl Rbac {
    /// Reads every RBAC object (and the service accounts, Secrets, workloads, Namespaces and
    /// CustomResourceDefinitions the analyses use) from `objects`, adds the defaults for
    /// those missing, resolves aggregation and binds role references.
    pub fn build(objects: &[Object], opts: &BuildOptions) -> Rbac {
        let mut rbac = Rbac {
            resources: ResourceTable::builtin(),
            ..Rbac::default()
        };
        let mut diags = Vec::new();
        let mut seen_bindings: HashMap<(BindingKind, Option<String>, String), usize> =
            HashMap::new();
        let uids: BTreeSet<&str> = objects.iter().filter_map(Object::uid).collect();
        // Per workload: the pod's own automountServiceAccountToken, when set.
        let mut pod_automount: Vec<Option<bool>> = Vec::new();
        for obj in objects {
            if let Some(ns) = &obj.namespace {
                rbac.namespaces.insert(ns.clone());
            }
            let group = obj.group();
            match (group, obj.kind.as_str()) {
                (RBAC_GROUP, "Role" | "ClusterRole") => {
                    let kind = if obj.kind == "Role" {
                        RoleKind::Role
                    } else {
                        RoleKind::ClusterRole
                    };
                    let namespace = match kind {
                        RoleKind::Role => Some(
                            obj.namespace
                                .clone()
                                .unwrap_or_else(|| "default".to_string()),
                        ),
                        RoleKind::ClusterRole => None,
                    };
                    let mut aggregation = Vec::new();
                    if let Some(agg) = obj.root.get("aggregationRule").filter(|n| n.is_set()) {
                        if kind == RoleKind::Role {
                            diags.push(Diagnostic::new(
                                Level::Warning,
                                obj.source.display(),
                                agg.pos.line.max(obj.line),
                                format!(
                                    "Role {}: aggregationRule is only for ClusterRoles; ignored",
                                    display_name(obj)
                                ),
                            ));
                        } else {
                            for sel in agg
                                .get("clusterRoleSelectors")
                                .map(Node::items)
                                .unwrap_or(&[])
                            {
                                let s = LabelSelector::from_node(sel);
                                if s.invalid {
                                    diags.push(Diagnostic::new(
                                        Level::Error,
                                        obj.source.display(),
                                        sel.pos.line.max(obj.line),
                                        format!("ClusterRole {}: aggregationRule selector is malformed; it matches nothing", display_name(obj)),
                                    ));
                                }
                                aggregation.push(s);
                            }
                        }
                    }
                    let rules = read_rules(obj, &mut diags);
                    let role = Role {
                        kind,
                        namespace,
                        name: obj.name.clone(),
                        rules,
                        aggregation,
                        labels: obj.labels().clone(),
                        origin: Origin::of(obj),
                        default: is_default_object(obj),
                    };
                    rbac.insert_role(role, &mut diags);
                }
                (RBAC_GROUP, "RoleBinding" | "ClusterRoleBinding") => {
                    if let Some(b) = read_binding(obj, &mut diags) {
                        let key = (b.kind, b.namespace.clone(), b.name.clone());
                        if let Some(&i) = seen_bindings.get(&key) {
                            diags.push(Diagnostic::new(
                                Level::Warning,
                                obj.source.display(),
                                obj.line,
                                format!(
                                    "{} is defined again (first at {}); the later definition is used",
                                    b.label(),
                                    rbac.bindings[i].origin
                                ),
                            ));
                            rbac.bindings[i] = b;
                        } else {
                            seen_bindings.insert(key, rbac.bindings.len());
                            rbac.bindings.push(b);
                        }
                    }
                }
                ("", "ServiceAccount") => {
                    rbac.service_accounts.insert((
                        obj.namespace.clone().unwrap_or_else(|| "default".into()),
                        obj.name.clone(),
                    ));
                }
                ("", "Secret") => {
                    let ty = obj.root.get("type").and_then(Node::as_str);
                    if ty == Some("kubernetes.io/service-account-token") {
                        if let Some(sa) = obj.annotation("kubernetes.io/service-account.name") {
                            rbac.token_secrets
                                .entry((
                                    obj.namespace.clone().unwrap_or_else(|| "default".into()),
                                    sa.to_string(),
                                ))
                                .or_default()
                                .push(obj.name.clone());
                        }
                    }
                }
                ("", "Namespace") => {
                    rbac.namespaces.insert(obj.name.clone());
                    let level = match obj
                        .labels()
                        .get("pod-security.kubernetes.io/enforce")
                        .and_then(Node::as_str)
                    {
                        Some("restricted") => PodSecurity::Restricted,
                        Some("baseline") => PodSecurity::Baseline,
                        // Absent or invalid labels enforce privileged (the API server's
                        // default admission configuration).
                        _ => PodSecurity::Privileged,
                    };
                    rbac.pod_security.insert(obj.name.clone(), level);
                }
                ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                    rbac.resources.add_crd(obj);
                }
                _ => {}
            }
            if let Some(pod) = obj.pod() {
                // A pod created by a controller in the snapshot is represented by its
                // controller's template.
                let owned = obj.controller_uid().is_some_and(|u| uids.contains(u));
                if !owned {
                    let sa = pod
                        .spec
                        .get("serviceAccountName")
                        .and_then(Node::as_str)
                        .filter(|s| !s.is_empty())
                        .or_else(|| pod.spec.get("serviceAccount").and_then(Node::as_str))
                        .filter(|s| !s.is_empty())
                        .unwrap_or("default")
                        .to_string();
                    let ns = obj.namespace.clone().unwrap_or_else(|| "default".into());
                    let automount = pod
                        .spec
                        .get("automountServiceAccountToken")
                        .and_then(Node::as_bool);
                    pod_automount.push(automount);
                    let token_mounted = automount != Some(false);
                    rbac.workloads.push(Workload {
                        kind: obj.kind.clone(),
                        namespace: ns,
                        name: obj.name.clone(),
                        service_account: sa,
                        token_mounted,
                    });
                }
            }
        }
        // A service account's `automountServiceAccountToken: false` applies unless the pod
        // says otherwise.
        let sa_no_automount: BTreeSet<(String, String)> = objects
            .iter()
            .filter(|o| o.kind == "ServiceAccount" && o.group().is_empty())
            .filter(|o| {
                o.root
                    .get("automountServiceAccountToken")
                    .and_then(Node::as_bool)
                    == Some(false)
            })
            .map(|o| {
                (
                    o.namespace.clone().unwrap_or_else(|| "default".into()),
                    o.name.clone(),
                )
            })
            .collect();
        for (w, automount) in rbac.workloads.iter_mut().zip(&pod_automount) {
            rbac.service_accounts
                .insert((w.namespace.clone(), w.service_account.clone()));
            let sa_off =
                sa_no_automount.contains(&(w.namespace.clone(), w.service_account.clone()));
            // The pod's own setting wins over its service account's.
            w.token_mounted = automount.unwrap_or(!sa_off);
        }

        if let Some(defaults) = opts.defaults {
            rbac.defaults_version = Some(defaults.version);
            for role in bootstrap::roles(defaults) {
                let key = (role.kind, role.namespace.clone(), role.name.clone());
                if !rbac.role_index.contains_key(&key) {
                    rbac.insert_role(role, &mut diags);
                }
            }
            for b in bootstrap::bindings(defaults) {
                let key = (b.kind, b.namespace.clone(), b.name.clone());
                if let std::collections::hash_map::Entry::Vacant(e) = seen_bindings.entry(key) {
                    e.insert(rbac.bindings.len());
                    rbac.bindings.push(b);
                }
            }
        }

        rbac.aggregate();

        // Resolve role references and index bindings.
        for (bi, b) in rbac.bindings.iter_mut().enumerate() {
            let key = match b.role_kind {
                RoleKind::ClusterRole => (RoleKind::ClusterRole, None, b.role_name.clone()),
                RoleKind::Role => (RoleKind::Role, b.namespace.clone(), b.role_name.clone()),
            };
            b.role = rbac.role_index.get(&key).copied();
            match b.role {
                Some(r) => rbac.by_role.entry(r).or_default().push(bi),
                None => diags.push(Diagnostic::new(
                    Level::Warning,
                    b.origin.source.clone(),
                    b.origin.line,
                    format!(
                        "{} refers to {} {}, which is not in the input{}; it grants nothing",
                        b.label(),
                        b.role_kind.as_str(),
                        match (&b.role_kind, &b.namespace) {
                            (RoleKind::Role, Some(ns)) => format!("{ns}/{}", b.role_name),
                            _ => b.role_name.clone(),
                        },
                        if opts.defaults.is_some() {
                            " nor a Kubernetes default"
                        } else {
                            ""
                        }
                    ),
                )),
            }
            for s in &b.subjects {
                rbac.by_subject.entry(s.clone()).or_default().push(bi);
                if s.kind == SubjectKind::ServiceAccount {
                    if let Some(ns) = &s.namespace {
                        rbac.service_accounts.insert((ns.clone(), s.name.clone()));
                    }
                }
            }
        }
        for (ns, _) in &rbac.service_accounts {
            rbac.namespaces.insert(ns.clone());
        }
        for b in &rbac.bindings {
            if let Some(ns) = &b.namespace {
                rbac.namespaces.insert(ns.clone());
            }
        }
        rbac.diagnostics = diags;
        rbac
    }

    fn insert_role(&mut self, role: Role, diags: &mut Vec<Diagnostic>) {
        let key = (role.kind, role.namespace.clone(), role.name.clone());
        if let Some(&i) = self.role_index.get(&key) {
            diags.push(Diagnostic::new(
                Level::Warning,
                role.origin.source.clone(),
                role.origin.line,
                format!(
                    "{} is defined again (first at {}); the later definition is used",
                    role.label(),
                    self.roles[i].origin
                ),
            ));
            self.roles[i] = role;
        } else {
            self.role_index.insert(key, self.roles.len());
            self.roles.push(role);
        }
    }

    /// Fills in aggregated ClusterRoles as the clusterrole-aggregation controller does: the
    /// union of the rules of every other ClusterRole matching one of the selectors, repeated
    /// until nothing changes (an aggregated role can itself be aggregated into another, as
    /// `edit` is into `admin`). Rules written in the object are kept (on a live cluster they
    /// are the controller's own output).
    fn aggregate(&mut self) {
        let aggregated: Vec<usize> = (0..self.roles.len())
            .filter(|&i| {
                self.roles[i].kind == RoleKind::ClusterRole && !self.roles[i].aggregation.is_empty()
            })
            .collect();
        if aggregated.is_empty() {
            return;
        }
        let sources: Vec<(usize, Vec<usize>)> = aggregated
            .iter()
            .map(|&a| {
                let sels = &self.roles[a].aggregation;
                let srcs = (0..self.roles.len())
                    .filter(|&j| {
                        j != a
                            && self.roles[j].kind == RoleKind::ClusterRole
                            && sels.iter().any(|s| {
                                // An empty selector would select every role; the controller
                                // treats it as matching nothing useful and so do we.
                                !s.is_empty() && s.matches(&self.roles[j].labels)
                            })
                    })
                    .collect();
                (a, srcs)
            })
            .collect();
        let mut sets: HashMap<usize, BTreeSet<Rule>> = aggregated
            .iter()
            .map(|&a| (a, self.roles[a].rules.iter().cloned().collect()))
            .collect();
        // Iterate to a fixpoint; the number of rounds is bounded by the aggregation depth.
        for _ in 0..=aggregated.len() {
            let mut changed = false;
            for (a, srcs) in &sources {
                let mut add = Vec::new();
                for &j in srcs {
                    match sets.get(&j) {
                        Some(set) => add.extend(set.iter().cloned()),
                        None => add.extend(self.roles[j].rules.iter().cloned()),
                    }
                }
                let set = sets.get_mut(a).expect("every aggregated role has a set");
                for r in add {
                    changed |= set.insert(r);
                }
            }
            if !changed {
                break;
            }
        }
        for (a, set) in sets {
            let own: BTreeSet<Rule> = self.roles[a].rules.iter().cloned().collect();
            let mut rules = std::mem::take(&mut self.roles[a].rules);
            rules.extend(set.into_iter().filter(|r| !own.contains(r)));
            self.roles[a].rules = rules;
        }
    }

    /// A role by kind, namespace (for Roles) and name.
    pub fn role(&self, kind: RoleKind, namespace: Option<&str>, name: &str) -> Option<usize> {
        let ns = match kind {
            RoleKind::Role => namespace.map(str::to_string),
            RoleKind::ClusterRole => None,
        };
        self.role_index.get(&(kind, ns, name.to_string())).copied()
    }

    /// The bindings that name `subject` directly.
    pub fn bindings_of(&self, subject: &Subject) -> &[usize] {
        self.by_subject
            .get(subject)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The bindings referring to role `role`.
    pub fn bindings_to(&self, role: usize) -> &[usize] {
        self.by_role.get(&role).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every subject some binding names.
    pub fn subjects(&self) -> impl Iterator<Item = &Subject> {
        self.by_subject.keys()
    }
}

fn read_binding(obj: &Object, diags: &mut Vec<Diagnostic>) -> Option<Binding> {
    let kind = if obj.kind == "RoleBinding" {
        BindingKind::RoleBinding
    } else {
        BindingKind::ClusterRoleBinding
    };
    let namespace = match kind {
        BindingKind::RoleBinding => Some(obj.namespace.clone().unwrap_or_else(|| "default".into())),
        BindingKind::ClusterRoleBinding => None,
    };
    let err = |diags: &mut Vec<Diagnostic>, line: u32, msg: String| {
        diags.push(Diagnostic::new(
            Level::Error,
            obj.source.display(),
            if line > 0 { line } else { obj.line },
            format!("{} {}: {msg}", obj.kind, display_name(obj)),
        ))
    };
    let Some(role_ref) = obj.root.get("roleRef").filter(|n| n.is_map()) else {
        err(
            diags,
            obj.line,
            "roleRef is missing or not a mapping; the binding is ignored".into(),
        );
        return None;
    };
    let role_kind = match role_ref.get("kind").and_then(Node::as_str) {
        Some("ClusterRole") => RoleKind::ClusterRole,
        Some("Role") if kind == BindingKind::RoleBinding => RoleKind::Role,
        Some("Role") => {
            err(
                diags,
                role_ref.pos.line,
                "a ClusterRoleBinding can only refer to a ClusterRole; the binding is ignored"
                    .into(),
            );
            return None;
        }
        other => {
            err(
                diags,
                role_ref.pos.line,
                format!(
                    "roleRef.kind must be Role or ClusterRole, not {}; the binding is ignored",
                    other.map(|s| format!("{s:?}")).unwrap_or("missing".into())
                ),
            );
            return None;
        }
    };
    let Some(role_name) = role_ref
        .get("name")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    else {
        err(
            diags,
            role_ref.pos.line,
            "roleRef.name is missing; the binding is ignored".into(),
        );
        return None;
    };
    let mut subjects = Vec::new();
    let subj_node = obj.root.get("subjects");
    if subj_node.is_some_and(|n| !n.is_null() && !n.is_seq()) {
        err(
            diags,
            subj_node.map(|n| n.pos.line).unwrap_or(0),
            "subjects must be a list".into(),
        );
    }
    for (i, s) in subj_node.map(Node::items).unwrap_or(&[]).iter().enumerate() {
        let line = s.pos.line;
        if !s.is_map() {
            err(
                diags,
                line,
                format!("subjects[{i}] must be a mapping; ignored"),
            );
            continue;
        }
        let name = s.get("name").and_then(Node::as_str).unwrap_or("");
        if name.is_empty() {
            err(diags, line, format!("subjects[{i}] has no name; ignored"));
            continue;
        }
        let subject = match s.get("kind").and_then(Node::as_str) {
            Some("User") => Subject::user(name),
            Some("Group") => Subject::group(name),
            Some("ServiceAccount") => {
                let ns = s
                    .get("namespace")
                    .and_then(Node::as_str)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .or_else(|| namespace.clone());
                match ns {
                    Some(ns) => Subject::service_account(&ns, name),
                    None => {
                        err(diags, line, format!("subjects[{i}]: a ServiceAccount subject of a ClusterRoleBinding needs a namespace; ignored"));
                        continue;
                    }
                }
            }
            other => {
                diags.push(Diagnostic::new(
                    Level::Warning,
                    obj.source.display(),
                    if line > 0 { line } else { obj.line },
                    format!(
                        "{} {}: subjects[{i}] has unknown kind {}; RBAC knows User, Group and ServiceAccount; ignored",
                        obj.kind,
                        display_name(obj),
                        other.map(|s| format!("{s:?}")).unwrap_or("(missing)".into())
                    ),
                ));
                continue;
            }
        };
        subjects.push(subject);
    }
    Some(Binding {
        kind,
        namespace,
        name: obj.name.clone(),
        role_kind,
        role_name: role_name.to_string(),
        role: None,
        subjects,
        origin: Origin::of(obj),
        default: is_default_object(obj),
    })
}
