use super::rules::role_rules;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that allow running commands in, or attaching to,
    /// running containers: `create` or `get` on `pods/exec` or `pods/attach` (directly or
    /// through `*`). `get` counts because exec and attach over WebSockets are opened with an
    /// HTTP GET, which clusters may authorize with the `get` verb.
    ///
    /// ## Why is this bad?
    /// Exec gives a shell inside any pod in scope, with that pod's service account token,
    /// mounted Secrets and network position. It bypasses everything that guards how pods are
    /// created.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["pods", "pods/exec"]
    ///     verbs: ["get", "create"]
    /// ```
    ///
    /// ## Use instead
    /// Grant exec only to the people who debug, in the namespaces they own, preferably
    /// just-in-time; give automation read-only access (`pods`, `pods/log`).
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacPodExec {
        id: "PAL504",
        name: "rbac-pod-exec",
        title: "RBAC rule allows exec into pods",
        severity: High,
        category: Rbac,
        pss: None,
        cis: None,
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1609"],
    }
}

impl Check for RbacPodExec {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            let mut what = Vec::new();
            for sub in ["pods/exec", "pods/attach"] {
                let verbs = rule.granted(&["create", "get"], "", sub);
                if !verbs.is_empty() {
                    what.push(format!("{} on {sub}", verbs.join("/")));
                }
            }
            if what.is_empty() {
                continue;
            }
            rule.emit(
                out,
                "resources",
                format!(
                    "rule allows running commands in containers ({})",
                    what.join(", ")
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
    fn flags_exec_and_attach() {
        let f = run(
            &RbacPodExec,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: debug, namespace: shop}
rules:
  - apiGroups: [""]
    resources: [pods, pods/log]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [pods/exec]
    verbs: [get]
  - apiGroups: [""]
    resources: ["*/attach"]
    verbs: [create]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].resources", "rules[2].resources"]);
        assert_eq!([f[0].line, f[1].line], [10, 13]);
        assert!(
            f[0].message.contains("get on pods/exec"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("create on pods/attach"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_reads_of_pods_and_other_verbs() {
        let f = run(
            &RbacPodExec,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: [""]
    resources: [pods, pods/portforward]
    verbs: ["*"]
  - apiGroups: [""]
    resources: [pods/exec]
    verbs: [list, watch]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
