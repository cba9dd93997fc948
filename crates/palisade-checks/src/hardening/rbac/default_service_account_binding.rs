use super::rules::binding;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags RoleBindings and ClusterRoleBindings whose subjects include a namespace's
    /// `default` service account (as a `ServiceAccount` subject, or as the user
    /// `system:serviceaccount:<namespace>:default`), one finding per such subject.
    ///
    /// ## Why is this bad?
    /// Every pod that does not name a service account runs as `default`. Permissions granted
    /// to it are silently given to every such pod in the namespace, including ones added
    /// later by other teams, and its token is mounted into them unless automounting is
    /// disabled.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RoleBinding
    /// roleRef: {kind: Role, name: config-reader}
    /// subjects:
    ///   - {kind: ServiceAccount, name: default, namespace: shop}
    /// ```
    ///
    /// ## Use instead
    /// Create a dedicated service account for the workload, bind the role to it, and set
    /// `serviceAccountName` in the pod spec. Leave `default` without permissions and with
    /// `automountServiceAccountToken: false`.
    pub struct RbacDefaultServiceAccountBinding {
        id: "PAL507",
        name: "rbac-default-service-account-binding",
        title: "Role bound to a default service account",
        severity: Medium,
        category: Rbac,
        pss: None,
        cis: Some("5.1.5"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &[],
    }
}

impl Check for RbacDefaultServiceAccountBinding {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(((kind, name), subjects)) = binding(obj) else {
            return;
        };
        for s in &subjects {
            let Some((ns, "default")) = s.service_account() else {
                continue;
            };
            let ns = if ns.is_empty() { "?" } else { ns };
            out.emit(
                s.path(),
                s.node.pos,
                format!(
                    "{kind} {name:?} is granted to the default service account of namespace {ns:?}, which every pod without serviceAccountName uses"
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
    fn flags_default_service_accounts() {
        let f = run(
            &RbacDefaultServiceAccountBinding,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: shop}
roleRef: {kind: Role, name: config-reader}
subjects:
  - {kind: ServiceAccount, name: app}
  - {kind: ServiceAccount, name: default}
  - {kind: User, name: "system:serviceaccount:billing:default"}
"#,
        );
        assert_eq!(paths(&f), ["subjects[1]", "subjects[2]"]);
        assert_eq!([f[0].line, f[1].line], [8, 9]);
        assert!(
            f[0].message.contains("namespace \"shop\""),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("Role \"config-reader\""),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("namespace \"billing\""),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_named_accounts_and_users() {
        let f = run(
            &RbacDefaultServiceAccountBinding,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {kind: ClusterRole, name: view}
subjects:
  - {kind: ServiceAccount, name: app, namespace: shop}
  - {kind: User, name: default}
  - {kind: Group, name: default}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
