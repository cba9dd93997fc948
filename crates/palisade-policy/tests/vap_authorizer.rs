//! The RBAC snapshot authorizer (`palisade_policy::authorizer::RbacAuthorizer`).

use palisade_policy::authorizer::RbacAuthorizer;
use palisade_policy::{AccessCheck, Authorizer, AuthzDecision, Inventory, UserInfo};
use serde_json::json;

fn rbac() -> RbacAuthorizer {
    RbacAuthorizer::from_inventory(&Inventory::from_values([
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

fn allowed(a: &RbacAuthorizer, u: &UserInfo, c: &AccessCheck) -> bool {
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
    assert_eq!(reason, "RBAC: allowed by RoleBinding \"prod/deployers\" of ClusterRole \"deployer\" to Group \"ci\"");
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
