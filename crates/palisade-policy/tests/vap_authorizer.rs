//! The RBAC snapshot authorizer (`palisade_policy::authorizer::RbacSnapshot`, palisade-rbac underneath).

use palisade_model::{load_bytes, LoadOptions as ModelLoadOptions, Source};
use palisade_policy::authorizer::RbacSnapshot;
use palisade_policy::UserInfo;
use palisade_policy::{
    AccessCheck, AdmissionRequest, Authorizer, AuthzDecision, Inventory, LoadOptions, Operation,
    PolicySet, Review,
};
use serde_json::json;

fn rbac() -> RbacSnapshot {
    RbacSnapshot::from_inventory(&Inventory::from_values([
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "deployer"},
               "rules": [
                   {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"], "verbs": ["get", "update"]},
                   {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["*"]},
                   {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]},
                   {"nonResourceURLs": ["/version"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader", "namespace": "dev"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "deployers", "namespace": "prod"},
               "roleRef": {"kind": "ClusterRole", "name": "deployer"},
               "subjects": [{"kind": "Group", "name": "ci"}, {"kind": "ServiceAccount", "name": "argo"}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "readers", "namespace": "dev"},
               "roleRef": {"kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "argo", "namespace": "prod"}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "dangling", "namespace": "dev"},
               "roleRef": {"kind": "Role", "name": "missing"},
               "subjects": [{"kind": "User", "name": "carol"}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
               "roleRef": {"kind": "ClusterRole", "name": "deployer"},
               "subjects": [{"kind": "User", "name": "olga"}]}),
    ]))
}

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        username: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    }
}

fn resource(
    group: &str,
    resource: &str,
    sub: &str,
    ns: &str,
    name: &str,
    verb: &str,
) -> AccessCheck {
    AccessCheck {
        group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace: ns.into(),
        name: name.into(),
        verb: verb.into(),
        path: None,
    }
}

fn allowed(a: &RbacSnapshot, u: &UserInfo, c: &AccessCheck) -> bool {
    a.authorize(u, c).0 == AuthzDecision::Allow
}

#[test]
fn role_bindings_are_namespaced() {
    let a = rbac();
    let ci = user("jenkins", &["ci"]);
    assert!(allowed(
        &a,
        &ci,
        &resource("apps", "deployments", "", "prod", "web", "update")
    ));
    assert!(!allowed(
        &a,
        &ci,
        &resource("apps", "deployments", "", "dev", "web", "update")
    ));
    assert!(
        !allowed(
            &a,
            &ci,
            &resource("apps", "deployments", "", "", "", "update")
        ),
        "cluster-scoped"
    );
    assert!(!allowed(
        &a,
        &ci,
        &resource("apps", "deployments", "", "prod", "web", "delete")
    ));
    let (d, reason) = a.authorize(
        &ci,
        &resource("apps", "deployments", "", "prod", "web", "get"),
    );
    assert_eq!(d, AuthzDecision::Allow);
    assert_eq!(reason, "RBAC: allowed by RoleBinding \"deployers/prod\" of ClusterRole \"deployer\" to Group \"ci\"");
    let bob = user("bob", &[]);
    assert!(allowed(
        &a,
        &bob,
        &resource("", "pods", "", "dev", "", "list")
    ));
    assert!(!allowed(
        &a,
        &bob,
        &resource("", "pods", "", "prod", "", "list")
    ));
}

#[test]
fn cluster_role_bindings_apply_everywhere() {
    let a = rbac();
    let olga = user("olga", &[]);
    assert!(allowed(
        &a,
        &olga,
        &resource("apps", "deployments", "", "any", "x", "get")
    ));
    assert!(allowed(
        &a,
        &olga,
        &resource("apps", "deployments", "", "", "", "get")
    ));
    let version = AccessCheck {
        verb: "get".into(),
        path: Some("/version".into()),
        ..Default::default()
    };
    assert!(allowed(&a, &olga, &version));
    let healthz = AccessCheck {
        verb: "get".into(),
        path: Some("/healthz".into()),
        ..Default::default()
    };
    assert!(!allowed(&a, &olga, &healthz));
    // Non-resource URLs are never granted through a RoleBinding.
    assert!(!allowed(&a, &user("jenkins", &["ci"]), &version));
}

#[test]
fn subresources_and_resource_names() {
    let a = rbac();
    let olga = user("olga", &[]);
    assert!(allowed(
        &a,
        &olga,
        &resource("apps", "deployments", "scale", "x", "web", "update")
    ));
    assert!(!allowed(
        &a,
        &olga,
        &resource("apps", "replicasets", "scale", "x", "web", "update")
    ));
    assert!(
        allowed(
            &a,
            &olga,
            &resource("batch", "jobs", "status", "x", "j", "get")
        ),
        "*/status"
    );
    assert!(!allowed(
        &a,
        &olga,
        &resource("batch", "jobs", "", "x", "j", "get")
    ));
    assert!(allowed(
        &a,
        &olga,
        &resource("", "configmaps", "", "x", "app-config", "delete")
    ));
    assert!(!allowed(
        &a,
        &olga,
        &resource("", "configmaps", "", "x", "other", "delete")
    ));
    assert!(
        !allowed(&a, &olga, &resource("", "configmaps", "", "x", "", "list")),
        "names need a name"
    );
}

#[test]
fn service_accounts_and_special_groups() {
    let a = rbac();
    let argo = user(
        "system:serviceaccount:prod:argo",
        &["system:serviceaccounts", "system:serviceaccounts:prod"],
    );
    assert!(
        allowed(
            &a,
            &argo,
            &resource("apps", "deployments", "", "prod", "w", "get")
        ),
        "namespace from the binding"
    );
    assert!(
        allowed(&a, &argo, &resource("", "pods", "", "dev", "p", "get")),
        "explicit namespace"
    );
    let other = user("system:serviceaccount:dev:argo", &[]);
    assert!(!allowed(
        &a,
        &other,
        &resource("apps", "deployments", "", "prod", "w", "get")
    ));
    let admin = user("admin", &["system:masters"]);
    assert!(allowed(
        &a,
        &admin,
        &resource("", "secrets", "", "kube-system", "x", "delete")
    ));
}

#[test]
fn missing_roles_are_named_in_the_reason() {
    let a = rbac();
    let (d, reason) = a.authorize(
        &user("carol", &[]),
        &resource("", "pods", "", "dev", "", "get"),
    );
    assert_eq!(d, AuthzDecision::NoOpinion);
    assert!(
        reason.contains("role.rbac.authorization.k8s.io \"missing\" not found"),
        "{reason}"
    );
    let (d, reason) = a.authorize(
        &user("nobody", &[]),
        &resource("", "pods", "", "dev", "", "get"),
    );
    assert_eq!((d, reason.as_str()), (AuthzDecision::NoOpinion, ""));
}

/// Aggregated ClusterRoles answer through CEL's `authorizer`: a ClusterRole with an
/// `aggregationRule` gets the rules of every ClusterRole its selectors match (as the
/// API server's aggregation controller fills them in), including Kubernetes' default
/// `view`, which aggregates `aggregate-to-view` roles.
#[test]
fn aggregated_cluster_role_answers_through_cel() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: may-read-pods-and-widgets
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [configmaps]
  validations:
  - expression: authorizer.group('').resource('pods').namespace(object.metadata.namespace).check('list').allowed()
    message: cannot list pods
  - expression: authorizer.group('example.com').resource('widgets').namespace(object.metadata.namespace).check('get').allowed()
    message: cannot get widgets
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: may-read-pods-and-widgets
spec:
  policyName: may-read-pods-and-widgets
  validationActions: [Deny]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring
aggregationRule:
  clusterRoleSelectors:
  - matchLabels:
      example.com/aggregate-to-monitoring: "true"
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring-pods
  labels:
    example.com/aggregate-to-monitoring: "true"
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels:
    example.com/aggregate-to-monitoring: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
- apiGroups: [example.com]
  resources: [widgets]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ops-monitoring
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: monitoring
subjects:
- kind: Group
  name: ops
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: carol-view
  namespace: prod
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: User
  name: carol
"#;
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("policy.yaml".into()),
        &ModelLoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let set = PolicySet::from_objects(&loaded.objects, &LoadOptions::default());
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let inventory = Inventory::new(
        loaded
            .objects
            .iter()
            .filter(|o| o.group() == "rbac.authorization.k8s.io")
            .map(palisade_policy::inventory_object),
    );
    let rbac = RbacSnapshot::from_inventory(&inventory);
    let denials = |user: UserInfo, ns: &str| -> Vec<String> {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}});
        let req = AdmissionRequest::for_object(Some(cm), None, Operation::Create, user);
        let e = set.evaluate(&Review::new(&req, &inventory, &rbac));
        let mut m: Vec<String> = e.decisions.iter().map(|d| d.message.clone()).collect();
        m.sort();
        m
    };
    // `monitoring` has no rules of its own: both permissions come from the roles its
    // selector picks.
    assert_eq!(
        denials(user("dana", &["ops"]), "prod"),
        Vec::<String>::new()
    );
    assert_eq!(denials(user("dana", &["ops"]), "dev"), Vec::<String>::new());
    // The default `view` role (bound in prod only) lists pods itself and aggregates
    // `widgets-view`.
    assert_eq!(denials(user("carol", &[]), "prod"), Vec::<String>::new());
    assert_eq!(
        denials(user("carol", &[]), "dev"),
        vec!["cannot get widgets", "cannot list pods"]
    );
    assert_eq!(
        denials(user("erin", &["devs"]), "prod"),
        vec!["cannot get widgets", "cannot list pods"]
    );
    // The grant is named after the binding, not the role the rule came from.
    let (d, reason) = rbac.authorize(
        &user("dana", &["ops"]),
        &resource("", "pods", "", "prod", "", "list"),
    );
    assert_eq!(d, AuthzDecision::Allow);
    assert_eq!(
        reason,
        "RBAC: allowed by ClusterRoleBinding \"ops-monitoring\" of ClusterRole \"monitoring\" to Group \"ops\""
    );
}

/// Kubernetes' default bindings answer too (every authenticated user may read
/// `/healthz`, through `system:public-info-viewer`), unless the snapshot is built
/// without them.
#[test]
fn default_roles_and_bindings() {
    let inventory = Inventory::default();
    let healthz = AccessCheck {
        verb: "get".into(),
        path: Some("/healthz".into()),
        ..Default::default()
    };
    let authenticated = user("alice", &["system:authenticated"]);
    let with = RbacSnapshot::from_inventory(&inventory);
    assert!(allowed(&with, &authenticated, &healthz));
    assert!(!allowed(&with, &user("alice", &[]), &healthz));
    let without = RbacSnapshot::with_defaults(&inventory, None);
    assert!(!allowed(&without, &authenticated, &healthz));
    // A service account's token reviewer role is a default binding of the controller
    // manager: nothing for an ordinary service account.
    let sa = user(
        "system:serviceaccount:prod:app",
        &[
            "system:serviceaccounts",
            "system:serviceaccounts:prod",
            "system:authenticated",
        ],
    );
    assert!(!allowed(
        &with,
        &sa,
        &resource("", "secrets", "", "prod", "", "list")
    ));
}

/// The reason names what the API server would: ClusterRoleBindings are visited before
/// RoleBindings, and a service account is written `name/namespace` (the binding's
/// namespace when the subject has none).
#[test]
fn reasons_in_the_api_servers_words() {
    let a = rbac();
    let both = user("olga", &["ci"]);
    let (d, reason) = a.authorize(
        &both,
        &resource("apps", "deployments", "", "prod", "web", "get"),
    );
    assert_eq!(d, AuthzDecision::Allow);
    assert_eq!(
        reason,
        "RBAC: allowed by ClusterRoleBinding \"ops\" of ClusterRole \"deployer\" to User \"olga\""
    );
    let argo = user("system:serviceaccount:prod:argo", &[]);
    let (_, reason) = a.authorize(
        &argo,
        &resource("apps", "deployments", "", "prod", "web", "get"),
    );
    assert_eq!(
        reason,
        "RBAC: allowed by RoleBinding \"deployers/prod\" of ClusterRole \"deployer\" to ServiceAccount \"argo/prod\""
    );
}
