//! RBAC helpers: the rules of Roles and ClusterRoles, what a rule grants (with `*` and
//! subresource handling as the RBAC authorizer matches them), and the subjects of bindings.

use crate::context::{Emitter, Inventory};
use crate::util::strings;
use palisade_model::{node, Node, Object, Pos};

/// The API group of Roles, ClusterRoles and their bindings.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The label the API server puts on the roles and bindings it creates itself.
const BOOTSTRAP_LABEL: &str = "kubernetes.io/bootstrapping";

/// One entry of `rules`.
#[derive(Debug)]
pub struct Rule<'a> {
    pub index: usize,
    pub node: &'a Node,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
}

/// `true` for the API server's own roles: names starting with `system:` or the
/// `kubernetes.io/bootstrapping: rbac-defaults` label (`cluster-admin`, `admin`, `edit`,
/// `view`, ...).
pub fn is_builtin(obj: &Object) -> bool {
    obj.name.starts_with("system:")
        || obj.labels().get(BOOTSTRAP_LABEL).and_then(Node::as_str) == Some("rbac-defaults")
}

/// The rules the role checks inspect: those of a Role or ClusterRole in the RBAC group that is
/// neither built in ([`is_builtin`]) nor aggregated (an aggregated ClusterRole's rules are
/// filled in by the controller from the roles it selects, which are checked themselves).
/// Empty for anything else.
pub fn role_rules(obj: &Object) -> Vec<Rule<'_>> {
    if !matches!(obj.kind.as_str(), "Role" | "ClusterRole") || obj.group() != RBAC_GROUP {
        return Vec::new();
    }
    if is_builtin(obj) || obj.root.get("aggregationRule").is_some_and(Node::is_set) {
        return Vec::new();
    }
    let rules = obj.root.get("rules").map(Node::items).unwrap_or(&[]);
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_map())
        .map(|(index, r)| Rule {
            index,
            node: r,
            api_groups: strings(r.get("apiGroups")),
            resources: strings(r.get("resources")),
            verbs: strings(r.get("verbs")),
            resource_names: strings(r.get("resourceNames")),
        })
        .collect()
}

impl Rule<'_> {
    /// `rules[i].field`.
    pub fn path(&self, field: &str) -> String {
        node::join(&node::index("rules", self.index), field)
    }

    /// The position of `field` in the rule, or of the rule.
    pub fn locate(&self, field: &str) -> Pos {
        self.node.locate(&[field])
    }

    /// Emits a finding at `rules[i].field`.
    pub fn emit(&self, out: &mut Emitter<'_>, field: &str, message: String) {
        out.emit(self.path(field), self.locate(field), message);
    }

    /// Does the rule list `verb` (or `*`)?
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb || v == "*")
    }

    /// Does the rule cover API group `group` (`""` is the core group)?
    pub fn has_group(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| g == group || g == "*")
    }

    /// Does the rule cover `resource` (`pods`, or `pods/exec` for a subresource)? As the
    /// authorizer matches: `*` covers everything, a `*/exec` entry covers the `exec`
    /// subresource of every resource, and `pods` does not cover `pods/exec`.
    pub fn has_resource(&self, resource: &str) -> bool {
        let sub = resource.split_once('/').map(|(_, s)| s);
        self.resources.iter().any(|r| {
            r == "*" || r == resource || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s))
        })
    }

    /// Does the rule grant `verb` on `resource` in `group`?
    pub fn grants(&self, verb: &str, group: &str, resource: &str) -> bool {
        self.has_verb(verb) && self.has_group(group) && self.has_resource(resource)
    }

    /// The verbs of `verbs` the rule grants on `resource` in `group`.
    pub fn granted<'v>(&self, verbs: &[&'v str], group: &str, resource: &str) -> Vec<&'v str> {
        if !self.has_group(group) || !self.has_resource(resource) {
            return Vec::new();
        }
        verbs.iter().copied().filter(|v| self.has_verb(v)).collect()
    }

    /// `true` when the rule is limited to named objects.
    pub fn is_named(&self) -> bool {
        !self.resource_names.is_empty()
    }
}

/// A subject of a RoleBinding or ClusterRoleBinding.
#[derive(Debug)]
pub struct Subject<'a> {
    pub index: usize,
    pub node: &'a Node,
    pub kind: String,
    pub name: String,
    /// For ServiceAccounts: the subject's namespace, or the RoleBinding's own.
    pub namespace: Option<String>,
}

impl Subject<'_> {
    /// `subjects[k]`.
    pub fn path(&self) -> String {
        node::index("subjects", self.index)
    }

    /// A label for messages: `ServiceAccount "shop/default"`, `User "alice"`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) if self.kind == "ServiceAccount" => {
                format!("ServiceAccount \"{ns}/{}\"", self.name)
            }
            _ => format!("{} {:?}", self.kind, self.name),
        }
    }

    /// The namespace and name of the service account this subject is, when it is one: a
    /// `ServiceAccount` subject or a `system:serviceaccount:<ns>:<name>` user.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        match self.kind.as_str() {
            "ServiceAccount" => Some((self.namespace.as_deref().unwrap_or(""), &self.name)),
            "User" => {
                let rest = self.name.strip_prefix("system:serviceaccount:")?;
                rest.split_once(':')
            }
            _ => None,
        }
    }
}

/// The `roleRef` (kind, name) and subjects of a RoleBinding or ClusterRoleBinding in the RBAC
/// group; `None` for anything else.
pub fn binding(obj: &Object) -> Option<((String, String), Vec<Subject<'_>>)> {
    if !matches!(obj.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        || obj.group() != RBAC_GROUP
    {
        return None;
    }
    let role_ref = obj.root.get("roleRef").unwrap_or(Node::null());
    let get = |n: &Node, k: &str| n.get(k).and_then(Node::scalar_string).unwrap_or_default();
    let role = (get(role_ref, "kind"), get(role_ref, "name"));
    let own_ns = (obj.kind == "RoleBinding").then(|| Inventory::namespace_of(obj).to_string());
    let subjects = obj
        .root
        .get("subjects")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_map())
        .map(|(index, s)| {
            let kind = get(s, "kind");
            let namespace = s
                .get("namespace")
                .and_then(Node::scalar_string)
                .filter(|n| !n.is_empty())
                .or_else(|| (kind == "ServiceAccount").then(|| own_ns.clone()).flatten());
            Subject {
                index,
                node: s,
                name: get(s, "name"),
                kind,
                namespace,
            }
        })
        .collect();
    Some((role, subjects))
}

/// `"a", "b"` without quotes: `a, b`.
pub fn plain_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{load_bytes, LoadOptions, Source};

    fn objects(yaml: &str) -> Vec<Object> {
        load_bytes(yaml.as_bytes(), Source::Stdin, &LoadOptions::default()).objects
    }

    #[test]
    fn rule_matching_follows_the_authorizer() {
        let objs = objects(
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - {apiGroups: [""], resources: [pods], verbs: [get, create]}
  - {apiGroups: ["*"], resources: ["*/exec"], verbs: ["*"]}
  - {apiGroups: ["apps"], resources: ["*"], verbs: [list]}
  - "not a rule"
  - {apiGroups: "", resources: 7}
"#,
        );
        let rules = role_rules(&objs[0]);
        // Non-mappings are skipped; a mapping with wrong types grants nothing.
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[3].index, 4);
        assert!(!rules[3].has_group("") && !rules[3].has_resource("pods"));
        let r0 = &rules[0];
        assert!(r0.grants("create", "", "pods"));
        assert!(
            !r0.grants("create", "", "pods/exec"),
            "pods does not cover subresources"
        );
        assert!(!r0.grants("create", "apps", "pods"));
        assert!(!r0.grants("delete", "", "pods"));
        assert_eq!(r0.granted(&["get", "list", "watch"], "", "pods"), ["get"]);
        assert!(rules[1].grants("create", "", "pods/exec"));
        assert!(rules[1].grants("anything", "x", "deployments/exec"));
        assert!(!rules[1].grants("get", "", "pods"));
        assert!(
            rules[2].grants("list", "apps", "deployments/scale"),
            "* covers subresources"
        );
        assert!(!rules[2].grants("list", "", "pods"));
        assert_eq!(rules[2].path("verbs"), "rules[2].verbs");
        assert_eq!(rules[2].locate("verbs").line, 8);
    }

    #[test]
    fn builtin_aggregated_and_foreign_roles_have_no_rules() {
        let objs = objects(
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:controller:foo"}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: edit, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: example.com/v1
kind: Role
metadata: {name: custom}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ok, namespace: shop}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
"#,
        );
        let counts: Vec<usize> = objs.iter().map(|o| role_rules(o).len()).collect();
        assert_eq!(counts, [0, 0, 0, 0, 1]);
    }

    #[test]
    fn binding_subjects() {
        let objs = objects(
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: shop}
roleRef: {kind: ClusterRole, name: edit}
subjects:
  - {kind: ServiceAccount, name: default}
  - {kind: ServiceAccount, name: ci, namespace: tools}
  - {kind: User, name: "system:serviceaccount:ops:deployer"}
  - {kind: Group, name: devs}
  - 42
"#,
        );
        let (role, subjects) = binding(&objs[0]).unwrap();
        assert_eq!(role, ("ClusterRole".to_string(), "edit".to_string()));
        assert_eq!(subjects.len(), 4);
        assert_eq!(subjects[0].label(), "ServiceAccount \"shop/default\"");
        assert_eq!(subjects[0].service_account(), Some(("shop", "default")));
        assert_eq!(subjects[1].service_account(), Some(("tools", "ci")));
        assert_eq!(subjects[2].service_account(), Some(("ops", "deployer")));
        assert_eq!(subjects[3].service_account(), None);
        assert_eq!(subjects[3].label(), "Group \"devs\"");
        assert_eq!(subjects[3].path(), "subjects[3]");
    }
}
