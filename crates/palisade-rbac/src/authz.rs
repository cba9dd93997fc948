//! The RBAC authorizer's decision, as the API server makes it
//! (`plugin/pkg/auth/authorizer/rbac`): which bindings apply to a user, which rules match a
//! request, and the two questions built on it: who can do X (`who_can`), and what can this
//! subject do (`permissions`, like `kubectl auth can-i --list`).
//!
//! Semantics:
//! - A ClusterRoleBinding grants its ClusterRole everywhere. A RoleBinding grants its Role,
//!   or a ClusterRole, only for namespaced requests in its own namespace; never for
//!   cluster-scoped resources or non-resource URLs.
//! - Subjects: `User` matches the username; `Group` one of the user's groups;
//!   `ServiceAccount` the username `system:serviceaccount:<ns>:<name>` (the namespace is the
//!   subject's, or the RoleBinding's when the subject has none).
//! - A service account's user is in `system:serviceaccounts`,
//!   `system:serviceaccounts:<ns>` and `system:authenticated`; any other user in
//!   `system:authenticated`, except `system:anonymous` (in `system:unauthenticated`).
//! - Rules: a verb matches itself or `*`; an API group itself or `*`; a resource `*`, itself
//!   (`pods`, `pods/exec` for the subresource), or `*/<subresource>`: `pods` does not cover
//!   `pods/exec`. `resourceNames`, when set, must contain the request's name (a request
//!   without a name, such as list or create, never matches them). Non-resource URLs match
//!   `*`, themselves, or a `prefix*`.
//! - RBAC only allows; nothing denies. Denied means no rule matched.

use crate::model::{BindingKind, Rbac, Rule, Subject, SubjectKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Who is asking: a username and groups, as the authenticator gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The identity the API server gives a subject: a service account's username and its
    /// implicit groups; a user with `extra_groups` and `system:authenticated` (or
    /// `system:unauthenticated` for `system:anonymous`); a group's members (no username,
    /// that group, `system:authenticated`).
    pub fn of(subject: &Subject, extra_groups: &[String]) -> UserInfo {
        let mut groups: Vec<String> = Vec::new();
        let name = match subject.kind {
            SubjectKind::ServiceAccount => {
                let ns = subject.namespace.clone().unwrap_or_default();
                groups.push("system:serviceaccounts".into());
                groups.push(format!("system:serviceaccounts:{ns}"));
                subject.username()
            }
            SubjectKind::User => subject.name.clone(),
            SubjectKind::Group => {
                groups.push(subject.name.clone());
                String::new()
            }
        };
        groups.extend(extra_groups.iter().cloned());
        let implicit = if name == "system:anonymous" {
            "system:unauthenticated"
        } else {
            "system:authenticated"
        };
        let anonymous_group =
            subject.kind == SubjectKind::Group && subject.name == "system:unauthenticated";
        if !anonymous_group && !groups.iter().any(|g| g == implicit) {
            groups.push(implicit.to_string());
        }
        UserInfo { name, groups }
    }
}

/// The attributes of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Request {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    /// `None` for cluster-scoped requests (and, in `who_can`, for "in any namespace").
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Set for non-resource requests (`/healthz`, `/metrics`).
    pub path: Option<String>,
}

impl Request {
    pub fn resource(verb: &str, group: &str, resource: &str) -> Request {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, s),
            None => (resource, ""),
        };
        Request {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            ..Request::default()
        }
    }
    pub fn non_resource(verb: &str, path: &str) -> Request {
        Request {
            verb: verb.into(),
            path: Some(path.into()),
            ..Request::default()
        }
    }
    pub fn in_namespace(mut self, ns: &str) -> Request {
        self.namespace = Some(ns.into());
        self
    }
    pub fn named(mut self, name: &str) -> Request {
        self.name = Some(name.into());
        self
    }
    /// `pods/exec` or `pods`.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == item)
}

/// Does `rule` allow `req`?
pub fn rule_allows(rule: &Rule, req: &Request) -> bool {
    if !(has(&rule.verbs, &req.verb) || has(&rule.verbs, "*")) {
        return false;
    }
    if let Some(path) = &req.path {
        return rule.non_resource_urls.iter().any(|u| {
            u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        });
    }
    if !(has(&rule.api_groups, "*") || has(&rule.api_groups, &req.group)) {
        return false;
    }
    let combined = req.combined_resource();
    let resource_ok = rule.resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!req.subresource.is_empty()
                && r.strip_prefix("*/") == Some(req.subresource.as_str()))
    });
    if !resource_ok {
        return false;
    }
    if rule.resource_names.is_empty() {
        return true;
    }
    match &req.name {
        Some(n) if !n.is_empty() => has(&rule.resource_names, n),
        _ => false,
    }
}

/// A SubjectAccessReview-style answer ([`Rbac::review`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessReview {
    pub allowed: bool,
    /// Why, in the API server's words; empty when denied with nothing to say.
    pub reason: String,
}

/// Does binding subject `s` name `user` (by username, group or service account)?
fn subject_is(s: &Subject, user: &UserInfo) -> bool {
    match s.kind {
        SubjectKind::User => !user.name.is_empty() && s.name == user.name,
        SubjectKind::Group => user.groups.contains(&s.name),
        SubjectKind::ServiceAccount => s.namespace.is_some() && s.username() == user.name,
    }
}

/// One way a request is allowed: binding → role → rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub binding: usize,
    pub role: usize,
    pub rule: usize,
}

/// Where a grant applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Everywhere (a ClusterRoleBinding).
    Cluster,
    /// In one namespace (a RoleBinding).
    Namespace(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Cluster => f.write_str("cluster-wide"),
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
        }
    }
}

/// A subject allowed a request, and how.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WhoCanRow {
    pub subject: Subject,
    pub scope: Scope,
    pub grant: Grant,
}

impl Rbac {
    /// The bindings whose subjects include `user` (by name, group or service account).
    pub fn applicable_bindings(&self, user: &UserInfo) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        if !user.name.is_empty() {
            out.extend(self.bindings_of(&Subject::user(&user.name)));
            if let Ok(sa) = Subject::parse(&user.name) {
                if sa.kind == SubjectKind::ServiceAccount {
                    out.extend(self.bindings_of(&sa));
                }
            }
        }
        for g in &user.groups {
            out.extend(self.bindings_of(&Subject::group(g)));
        }
        out
    }

    /// Whether a binding's grants reach `req`'s scope.
    fn binding_in_scope(&self, b: usize, req: &Request) -> bool {
        let b = &self.bindings[b];
        match b.kind {
            BindingKind::ClusterRoleBinding => true,
            BindingKind::RoleBinding => {
                req.path.is_none() && req.namespace.is_some() && req.namespace == b.namespace
            }
        }
    }

    /// Every grant that allows `user` to make `req` (empty: denied).
    pub fn authorize(&self, user: &UserInfo, req: &Request) -> Vec<Grant> {
        let mut out = Vec::new();
        for b in self.applicable_bindings(user) {
            if !self.binding_in_scope(b, req) {
                continue;
            }
            let Some(role) = self.bindings[b].role else {
                continue;
            };
            for (ri, rule) in self.roles[role].rules.iter().enumerate() {
                if rule_allows(rule, req) {
                    out.push(Grant {
                        binding: b,
                        role,
                        rule: ri,
                    });
                }
            }
        }
        out
    }

    /// Is `user` allowed `req`?
    pub fn allowed(&self, user: &UserInfo, req: &Request) -> bool {
        !self.authorize(user, req).is_empty()
    }

    /// The answer a SubjectAccessReview gets from the RBAC authorizer: allowed, with the
    /// API server's reason text (`RBAC: allowed by ClusterRoleBinding "ops" of ClusterRole
    /// "admin" to User "alice"`; a RoleBinding is written `"name/namespace"`, a service
    /// account `"name/namespace"`). ClusterRoleBindings are visited before RoleBindings,
    /// as the API server does, and the first allowing one is named. Denied has no reason,
    /// except for a binding of the user's (in the request's scope) whose role does not
    /// exist: `RBAC: [clusterrole.rbac.authorization.k8s.io "x" not found]`.
    pub fn review(&self, user: &UserInfo, req: &Request) -> AccessReview {
        let mut bindings: Vec<usize> = self
            .applicable_bindings(user)
            .into_iter()
            .filter(|&b| self.binding_in_scope(b, req))
            .collect();
        bindings.sort_by_key(|&b| (self.bindings[b].kind != BindingKind::ClusterRoleBinding, b));
        let mut missing = Vec::new();
        for b in bindings {
            let binding = &self.bindings[b];
            let Some(role) = binding.role else {
                missing.push(format!(
                    "{}.rbac.authorization.k8s.io \"{}\" not found",
                    binding.role_kind.as_str().to_ascii_lowercase(),
                    binding.role_name
                ));
                continue;
            };
            if !self.roles[role].rules.iter().any(|r| rule_allows(r, req)) {
                continue;
            }
            let subject = binding
                .subjects
                .iter()
                .find(|s| subject_is(s, user))
                .map(|s| match (s.kind, &s.namespace) {
                    (SubjectKind::ServiceAccount, Some(ns)) => {
                        format!("ServiceAccount \"{}/{ns}\"", s.name)
                    }
                    _ => format!("{} \"{}\"", s.kind.as_str(), s.name),
                })
                .unwrap_or_default();
            let name = match &binding.namespace {
                Some(ns) => format!("RoleBinding \"{}/{ns}\"", binding.name),
                None => format!("ClusterRoleBinding \"{}\"", binding.name),
            };
            return AccessReview {
                allowed: true,
                reason: format!(
                    "RBAC: allowed by {name} of {} \"{}\" to {subject}",
                    binding.role_kind.as_str(),
                    binding.role_name
                ),
            };
        }
        AccessReview {
            allowed: false,
            reason: if missing.is_empty() {
                String::new()
            } else {
                format!("RBAC: [{}]", missing.join(", "))
            },
        }
    }

    /// Every subject that some binding allows to make `req`, with the grant. A request
    /// without a namespace for a namespaced resource means "in some namespace": RoleBindings
    /// of every namespace count, each with its scope. Cluster-scoped resources and
    /// non-resource URLs are granted only by ClusterRoleBindings.
    pub fn who_can(&self, req: &Request, namespaced: bool) -> Vec<WhoCanRow> {
        let mut out = Vec::new();
        for (role, r) in self.roles.iter().enumerate() {
            let bindings = self.bindings_to(role);
            if bindings.is_empty() {
                continue;
            }
            for (ri, rule) in r.rules.iter().enumerate() {
                if !rule_allows(rule, req) {
                    continue;
                }
                for &b in bindings {
                    let binding = &self.bindings[b];
                    let scope = match binding.kind {
                        BindingKind::ClusterRoleBinding => Scope::Cluster,
                        BindingKind::RoleBinding => {
                            if req.path.is_some() || !namespaced {
                                continue;
                            }
                            let ns = binding.namespace.clone().unwrap_or_default();
                            if req.namespace.as_ref().is_some_and(|n| *n != ns) {
                                continue;
                            }
                            Scope::Namespace(ns)
                        }
                    };
                    for s in &binding.subjects {
                        out.push(WhoCanRow {
                            subject: s.clone(),
                            scope: scope.clone(),
                            grant: Grant {
                                binding: b,
                                role,
                                rule: ri,
                            },
                        });
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// `Binding → Role, rule #i` for messages.
    pub fn describe_grant(&self, g: &Grant) -> String {
        let b = &self.bindings[g.binding];
        let r = &self.roles[g.role];
        format!(
            "{} → {} rules[{}]: {}",
            b.label(),
            r.label(),
            g.rule,
            r.rules[g.rule].summary()
        )
    }

    /// The effective permissions of `user`: one table for what ClusterRoleBindings grant
    /// everywhere and one per namespace where RoleBindings add to it (only `namespace` when
    /// given; then, like `kubectl auth can-i --list -n NS`, that table also includes the
    /// cluster-wide grants).
    pub fn permissions(&self, user: &UserInfo, namespace: Option<&str>) -> Vec<PermissionTable> {
        let mut cluster: Vec<(usize, usize)> = Vec::new();
        let mut per_ns: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        for b in self.applicable_bindings(user) {
            let binding = &self.bindings[b];
            let Some(role) = binding.role else { continue };
            match binding.kind {
                BindingKind::ClusterRoleBinding => cluster.push((b, role)),
                BindingKind::RoleBinding => {
                    let ns = binding.namespace.clone().unwrap_or_default();
                    if namespace.is_none_or(|n| n == ns) {
                        per_ns.entry(ns).or_default().push((b, role));
                    }
                }
            }
        }
        let mut out = Vec::new();
        match namespace {
            Some(ns) => {
                let mut all = cluster.clone();
                all.extend(per_ns.remove(ns).unwrap_or_default());
                out.push(self.table(Scope::Namespace(ns.to_string()), &all, true));
            }
            None => {
                out.push(self.table(Scope::Cluster, &cluster, true));
                for (ns, grants) in per_ns {
                    out.push(self.table(Scope::Namespace(ns), &grants, false));
                }
            }
        }
        out
    }

    fn table(
        &self,
        scope: Scope,
        grants: &[(usize, usize)],
        include_non_resource: bool,
    ) -> PermissionTable {
        // (resource, names, url) → (verbs, via)
        type Key = (String, Vec<String>, String);
        let mut rows: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for &(b, role) in grants {
            let via = format!(
                "{} → {}",
                self.bindings[b].label(),
                self.roles[role].label()
            );
            for rule in &self.roles[role].rules {
                let mut names = rule.resource_names.clone();
                names.sort();
                if !rule.non_resource_urls.is_empty() {
                    if !include_non_resource {
                        continue;
                    }
                    for u in &rule.non_resource_urls {
                        let e = rows
                            .entry((String::new(), Vec::new(), u.clone()))
                            .or_default();
                        e.0.extend(rule.verbs.iter().cloned());
                        e.1.insert(via.clone());
                    }
                    continue;
                }
                for g in &rule.api_groups {
                    for r in &rule.resources {
                        let res = if g.is_empty() {
                            r.clone()
                        } else {
                            // kubectl's spelling: deployments.apps, pods/exec stays with its
                            // resource (`deployments.apps/scale`).
                            match r.split_once('/') {
                                Some((base, sub)) => format!("{base}.{g}/{sub}"),
                                None => format!("{r}.{g}"),
                            }
                        };
                        let e = rows.entry((res, names.clone(), String::new())).or_default();
                        e.0.extend(rule.verbs.iter().cloned());
                        e.1.insert(via.clone());
                    }
                }
            }
        }
        let rows = rows
            .into_iter()
            .map(|((resource, resource_names, url), (verbs, via))| {
                let mut verbs: Vec<String> = verbs.into_iter().collect();
                if verbs.iter().any(|v| v == "*") {
                    verbs = vec!["*".into()];
                }
                PermissionRow {
                    resource,
                    resource_names,
                    non_resource_url: url,
                    verbs,
                    via: via.into_iter().collect(),
                }
            })
            .collect();
        PermissionTable { scope, rows }
    }
}

/// One line of `rbac can`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRow {
    /// `pods`, `pods/exec`, `deployments.apps`, `*.*`; empty for a non-resource URL.
    pub resource: String,
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURL")]
    pub non_resource_url: String,
    pub verbs: Vec<String>,
    /// `Binding → Role` that grant it.
    pub via: Vec<String>,
}

/// The permissions in one scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PermissionTable {
    pub scope: Scope,
    pub rows: Vec<PermissionRow>,
}
