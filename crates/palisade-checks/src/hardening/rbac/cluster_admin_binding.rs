use super::rules::{binding, Subject};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags ClusterRoleBindings and RoleBindings that bind the `cluster-admin` ClusterRole,
    /// one finding per subject other than the cluster's own: users and groups named
    /// `system:...` and service accounts of `kube-system` are skipped. The broad system
    /// groups `system:authenticated`, `system:unauthenticated`, `system:serviceaccounts`
    /// (and `system:serviceaccounts:<namespace>`), the user `system:anonymous`, and service
    /// accounts written as `system:serviceaccount:<namespace>:<name>` users are always
    /// reported.
    ///
    /// ## Why is this bad?
    /// `cluster-admin` can do anything to any object. Through a ClusterRoleBinding the
    /// subject controls the whole cluster; through a RoleBinding, everything in the
    /// namespace, including its Secrets and RBAC. A stolen token of such a subject is a full
    /// compromise.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRoleBinding
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    /// subjects:
    ///   - {kind: ServiceAccount, name: deployer, namespace: ci}
    /// ```
    ///
    /// ## Use instead
    /// Bind a role with only the permissions the subject needs, in the namespaces it works
    /// in; keep `cluster-admin` for break-glass access.
    pub struct RbacClusterAdminBinding {
        id: "PAL506",
        name: "rbac-cluster-admin-binding",
        title: "cluster-admin bound to a subject",
        severity: Critical,
        category: Rbac,
        pss: None,
        cis: Some("5.1.1"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &[],
    }
}

/// System subjects that are part of the cluster itself, not principals to review.
fn is_cluster_internal(s: &Subject<'_>) -> bool {
    if let Some((ns, _)) = s.service_account() {
        return ns == "kube-system";
    }
    if !matches!(s.kind.as_str(), "User" | "Group") || !s.name.starts_with("system:") {
        return false;
    }
    let broad = matches!(
        s.name.as_str(),
        "system:authenticated"
            | "system:unauthenticated"
            | "system:anonymous"
            | "system:serviceaccounts"
    ) || s.name.starts_with("system:serviceaccounts:");
    !broad
}

impl Check for RbacClusterAdminBinding {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(((kind, name), subjects)) = binding(obj) else {
            return;
        };
        if kind != "ClusterRole" || name != "cluster-admin" {
            return;
        }
        let scope = if obj.kind == "ClusterRoleBinding" {
            "the whole cluster"
        } else {
            "everything in the namespace"
        };
        for s in subjects.iter().filter(|s| !is_cluster_internal(s)) {
            out.emit(
                s.path(),
                s.node.pos,
                format!(
                    "{} is bound to cluster-admin: it controls {scope}",
                    s.label()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_cluster_admin_subjects() {
        let f = run(
            &RbacClusterAdminBinding,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: Group, name: "system:masters"}
  - {kind: ServiceAccount, name: deployer, namespace: ci}
  - {kind: ServiceAccount, name: kube-proxy, namespace: kube-system}
  - {kind: Group, name: "system:authenticated"}
  - {kind: User, name: alice@example.com}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ns-admin, namespace: shop}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects:
  - kind: ServiceAccount
    name: app
"#,
        );
        assert_eq!(
            paths(&f),
            ["subjects[1]", "subjects[3]", "subjects[4]", "subjects[0]"]
        );
        assert_eq!(
            [f[0].line, f[1].line, f[2].line, f[3].line],
            [8, 10, 11, 18]
        );
        assert!(
            f[0].message.contains("ServiceAccount \"ci/deployer\""),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("the whole cluster"));
        assert!(f[3].message.contains("\"shop/app\""), "{}", f[3].message);
        assert!(f[3].message.contains("everything in the namespace"));
    }

    #[test]
    fn ignores_other_roles_and_system_subjects() {
        let f = run(
            &RbacClusterAdminBinding,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-admin}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "system:masters"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewers}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local, namespace: shop}
roleRef: {kind: Role, name: cluster-admin}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: odd}
roleRef: "cluster-admin"
subjects: {kind: User, name: alice}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
