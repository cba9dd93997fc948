use super::rules::{plain_list, role_rules};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that grant `get`, `list` or `watch` (or `*`) on
    /// `secrets` in the core API group (directly, or through `*` resources or groups).
    ///
    /// Rules limited by `resourceNames` (an application reading its own Secret) are not
    /// reported.
    ///
    /// ## Why is this bad?
    /// Reading Secrets yields credentials: database passwords, TLS keys, cloud keys and
    /// service account tokens of more privileged accounts. `list` and `watch` return the
    /// content of every Secret in scope, not just names. In a ClusterRole bound cluster-wide,
    /// this is every Secret of the cluster.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["secrets"]
    ///     verbs: ["get", "list", "watch"]
    /// ```
    ///
    /// ## Use instead
    /// Mount the Secrets the workload needs, or restrict the rule to them:
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["secrets"]
    ///     resourceNames: ["app-db"]
    ///     verbs: ["get"]
    /// ```
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacReadSecrets {
        id: "PAL503",
        name: "rbac-read-secrets",
        title: "RBAC rule can read Secrets",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.2"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1552.007"],
    }
}

impl Check for RbacReadSecrets {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            if rule.is_named() {
                continue;
            }
            let verbs = rule.granted(&["get", "list", "watch"], "", "secrets");
            if verbs.is_empty() {
                continue;
            }
            rule.emit(
                out,
                "resources",
                format!(
                    "rule can read Secrets ({}){}",
                    plain_list(&verbs),
                    if obj.kind == "ClusterRole" {
                        "; bound with a ClusterRoleBinding this is every Secret in the cluster"
                    } else {
                        ""
                    }
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
    fn flags_secret_reads() {
        let f = run(
            &RbacReadSecrets,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: [""]
    resources: [configmaps, secrets]
    verbs: [list, watch]
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create]
"#,
        );
        assert_eq!(paths(&f), ["rules[0].resources", "rules[1].resources"]);
        assert_eq!([f[0].line, f[1].line], [7, 10]);
        assert!(f[0].message.contains("(list, watch)"), "{}", f[0].message);
        assert!(
            f[1].message.contains("(get, list, watch)"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_named_secrets_and_other_groups() {
        let f = run(
            &RbacReadSecrets,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: shop}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [app-db]
    verbs: [get]
  - apiGroups: [external-secrets.io]
    resources: [secrets]
    verbs: [get]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
