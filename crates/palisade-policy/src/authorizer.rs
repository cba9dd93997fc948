//! The `authorizer` CEL variable asks "may this user do that?". Offline there is no API
//! server to ask, so answers come from an [`Authorizer`]: by default [`NoOpinion`]; the
//! RBAC snapshot authorizer ([`RbacAuthorizer`]) answers from Roles and bindings in the
//! inventory. The CEL side (`authorizer.group(..).resource(..).check(verb)`, `path`,
//! `serviceAccount`, `requestResource`, and the decision's `allowed`, `reason`, `errored`,
//! `error`) is in [`crate::cel::authz`].

use std::collections::HashMap;

use serde_json::Value;

use crate::inventory::Inventory;
use crate::request::{str_at, UserInfo};

/// The attributes of one access check (`authorizer.group(g).resource(r)...check(verb)` or
/// `authorizer.path(p).check(verb)`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessCheck {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub verb: String,
    /// Set for non-resource requests (`authorizer.path("/healthz")`).
    pub path: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthzDecision {
    Allow,
    Deny,
    NoOpinion,
}

pub trait Authorizer: Send + Sync {
    /// The decision and a reason (shown by CEL's `reason()`).
    fn authorize(&self, user: &UserInfo, check: &AccessCheck) -> (AuthzDecision, String);
}

/// Answers every check with no opinion (`allowed()` is false), like an authorizer chain
/// where nothing matched.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOpinion;

impl Authorizer for NoOpinion {
    fn authorize(&self, _user: &UserInfo, _check: &AccessCheck) -> (AuthzDecision, String) {
        (
            AuthzDecision::NoOpinion,
            "no authorizer configured offline".into(),
        )
    }
}

/// Answers from a snapshot of RBAC objects (Roles, ClusterRoles, RoleBindings,
/// ClusterRoleBindings), as the API server's RBAC authorizer would
/// (`k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac`):
///
/// - ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant a Role of
///   their namespace, or a ClusterRole, only within their namespace (never for
///   cluster-scoped or non-resource requests).
/// - Subjects: `User` (by username), `Group` (by the user's groups), `ServiceAccount`
///   (`system:serviceaccount:<ns>:<name>`; a subject without a namespace takes the
///   binding's).
/// - Rules: `verbs`, `apiGroups`, `resources` (`*`, `resource`, `resource/subresource`,
///   `*/subresource`), `resourceNames` (a check without a name matches only rules without
///   names) and `nonResourceURLs` (`*`, exact, or a `prefix*`); `*` wildcards everywhere.
/// - Members of `system:masters` are allowed everything, as the API server's
///   privileged-group authorizer (ahead of RBAC) allows them.
///
/// Not evaluated: `aggregationRule` (an aggregated ClusterRole has the rules written in its
/// object, which a cluster's controller fills in and a manifest usually leaves empty).
/// Denials are "no opinion" with an empty reason, unless a binding refers to a missing
/// role (then the reason names it), as RBAC answers.
#[derive(Clone, Debug, Default)]
pub struct RbacAuthorizer {
    cluster_roles: HashMap<String, Vec<Rule>>,
    roles: HashMap<(String, String), Vec<Rule>>,
    cluster_role_bindings: Vec<RbacBinding>,
    role_bindings: HashMap<String, Vec<RbacBinding>>,
}

#[derive(Clone, Debug, Default)]
struct Rule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    non_resource_urls: Vec<String>,
}

#[derive(Clone, Debug)]
struct RbacBinding {
    name: String,
    /// `None` for a ClusterRoleBinding.
    namespace: Option<String>,
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
}

#[derive(Clone, Debug)]
struct Subject {
    kind: String,
    name: String,
    namespace: String,
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn strings_at(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn rules_of(v: &Value) -> Vec<Rule> {
    v.get("rules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| Rule {
                    verbs: strings_at(r, "verbs"),
                    api_groups: strings_at(r, "apiGroups"),
                    resources: strings_at(r, "resources"),
                    resource_names: strings_at(r, "resourceNames"),
                    non_resource_urls: strings_at(r, "nonResourceURLs"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn binding_of(v: &Value, namespace: Option<String>) -> Option<RbacBinding> {
    let name = str_at(v, &["metadata", "name"])?.to_string();
    let role_kind = str_at(v, &["roleRef", "kind"])?.to_string();
    let role_name = str_at(v, &["roleRef", "name"])?.to_string();
    let subjects = v
        .get("subjects")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .map(|s| Subject {
                    kind: str_at(s, &["kind"]).unwrap_or("").to_string(),
                    name: str_at(s, &["name"]).unwrap_or("").to_string(),
                    namespace: str_at(s, &["namespace"]).unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(RbacBinding {
        name,
        namespace,
        role_kind,
        role_name,
        subjects,
    })
}

fn matches_item(items: &[String], requested: &str) -> bool {
    items.iter().any(|i| i == "*" || i == requested)
}

impl Rule {
    fn allows(&self, check: &AccessCheck) -> bool {
        if !matches_item(&self.verbs, &check.verb) {
            return false;
        }
        if let Some(path) = &check.path {
            return self.non_resource_urls.iter().any(|u| {
                u == "*"
                    || u == path
                    || u.strip_suffix('*')
                        .is_some_and(|prefix| path.starts_with(prefix))
            });
        }
        let combined = if check.subresource.is_empty() {
            check.resource.clone()
        } else {
            format!("{}/{}", check.resource, check.subresource)
        };
        let resource = self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (!check.subresource.is_empty()
                    && r.strip_prefix("*/") == Some(check.subresource.as_str()))
        });
        let name = self.resource_names.is_empty() || self.resource_names.contains(&check.name);
        matches_item(&self.api_groups, &check.group) && resource && name
    }
}

impl Subject {
    fn applies_to(&self, user: &UserInfo, binding_namespace: &str) -> bool {
        match self.kind.as_str() {
            "User" => user.username == self.name,
            "Group" => user.groups.contains(&self.name),
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() {
                    binding_namespace
                } else {
                    &self.namespace
                };
                !ns.is_empty()
                    && user.username == format!("system:serviceaccount:{ns}:{}", self.name)
            }
            _ => false,
        }
    }
}

impl RbacAuthorizer {
    /// Reads the RBAC objects of an inventory (any `rbac.authorization.k8s.io` version).
    pub fn from_inventory(inventory: &Inventory) -> RbacAuthorizer {
        let mut a = RbacAuthorizer::default();
        for o in inventory.of_kind(RBAC_GROUP, "ClusterRole") {
            if let Some(name) = str_at(&o.value, &["metadata", "name"]) {
                a.cluster_roles.insert(name.to_string(), rules_of(&o.value));
            }
        }
        for o in inventory.of_kind(RBAC_GROUP, "Role") {
            let ns = str_at(&o.value, &["metadata", "namespace"]).unwrap_or("default");
            if let Some(name) = str_at(&o.value, &["metadata", "name"]) {
                a.roles
                    .insert((ns.to_string(), name.to_string()), rules_of(&o.value));
            }
        }
        for o in inventory.of_kind(RBAC_GROUP, "ClusterRoleBinding") {
            if let Some(b) = binding_of(&o.value, None) {
                a.cluster_role_bindings.push(b);
            }
        }
        for o in inventory.of_kind(RBAC_GROUP, "RoleBinding") {
            let ns = str_at(&o.value, &["metadata", "namespace"])
                .unwrap_or("default")
                .to_string();
            if let Some(b) = binding_of(&o.value, Some(ns.clone())) {
                a.role_bindings.entry(ns).or_default().push(b);
            }
        }
        a
    }

    fn rules_for(&self, b: &RbacBinding) -> Option<&Vec<Rule>> {
        match (b.role_kind.as_str(), &b.namespace) {
            ("ClusterRole", _) => self.cluster_roles.get(&b.role_name),
            ("Role", Some(ns)) => self.roles.get(&(ns.clone(), b.role_name.clone())),
            _ => None,
        }
    }
}

fn describe_binding(b: &RbacBinding, s: &Subject) -> String {
    let binding = match &b.namespace {
        Some(ns) => format!("RoleBinding \"{}/{}\"", ns, b.name),
        None => format!("ClusterRoleBinding \"{}\"", b.name),
    };
    let subject = if s.kind == "ServiceAccount" {
        let ns = if s.namespace.is_empty() {
            b.namespace.as_deref().unwrap_or("")
        } else {
            &s.namespace
        };
        format!("ServiceAccount \"{}/{}\"", s.name, ns)
    } else {
        format!("{} \"{}\"", s.kind, s.name)
    };
    format!(
        "{binding} of {} \"{}\" to {subject}",
        b.role_kind, b.role_name
    )
}

impl Authorizer for RbacAuthorizer {
    fn authorize(&self, user: &UserInfo, check: &AccessCheck) -> (AuthzDecision, String) {
        if user.groups.iter().any(|g| g == "system:masters") {
            return (
                AuthzDecision::Allow,
                "allowed: member of system:masters".into(),
            );
        }
        let mut missing = Vec::new();
        let namespaced = (!check.namespace.is_empty() && check.path.is_none())
            .then(|| self.role_bindings.get(&check.namespace))
            .flatten();
        let bindings = self
            .cluster_role_bindings
            .iter()
            .chain(namespaced.into_iter().flatten());
        for b in bindings {
            let binding_ns = b.namespace.as_deref().unwrap_or("");
            let Some(subject) = b.subjects.iter().find(|s| s.applies_to(user, binding_ns)) else {
                continue;
            };
            match self.rules_for(b) {
                Some(rules) => {
                    if rules.iter().any(|r| r.allows(check)) {
                        return (
                            AuthzDecision::Allow,
                            format!("RBAC: allowed by {}", describe_binding(b, subject)),
                        );
                    }
                }
                None => missing.push(format!(
                    "{}.rbac.authorization.k8s.io \"{}\" not found",
                    b.role_kind.to_ascii_lowercase(),
                    b.role_name
                )),
            }
        }
        let reason = if missing.is_empty() {
            String::new()
        } else {
            format!("RBAC: [{}]", missing.join(", "))
        };
        (AuthzDecision::NoOpinion, reason)
    }
}
