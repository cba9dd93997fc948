use super::rules::{plain_list, role_rules};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

const GROUP: &str = "admissionregistration.k8s.io";
const RESOURCES: &[&str] = &[
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
];
const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that can change admission control: `create`,
    /// `update`, `patch`, `delete` or `deletecollection` (or `*`) on
    /// `validatingwebhookconfigurations`, `mutatingwebhookconfigurations`,
    /// `validatingadmissionpolicies`, `validatingadmissionpolicybindings`,
    /// `mutatingadmissionpolicies` or `mutatingadmissionpolicybindings`
    /// (`admissionregistration.k8s.io`, or wildcards).
    ///
    /// ## Why is this bad?
    /// Admission webhooks and policies see, and mutating ones rewrite, every object sent to
    /// the API server, Secrets included. Whoever can change them can disable the policies
    /// that keep privileged pods out, or register a webhook that copies Secrets and injects
    /// containers into every new pod.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["admissionregistration.k8s.io"]
    ///     resources: ["mutatingwebhookconfigurations"]
    ///     verbs: ["create", "update", "patch"]
    /// ```
    ///
    /// ## Use instead
    /// Leave admission configuration to cluster administrators. Operators that manage their
    /// own webhook should be limited to it with `resourceNames` and given `get`, `update` and
    /// `patch` only.
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacAdmissionWebhookWrite {
        id: "PAL510",
        name: "rbac-admission-webhook-write",
        title: "RBAC rule can change admission webhooks or policies",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.12"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &[],
    }
}

impl Check for RbacAdmissionWebhookWrite {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            let resources: Vec<&str> = RESOURCES
                .iter()
                .copied()
                .filter(|r| !rule.granted(WRITE_VERBS, GROUP, r).is_empty())
                .collect();
            if resources.is_empty() {
                continue;
            }
            let verbs = rule.granted(WRITE_VERBS, GROUP, resources[0]);
            let limited = if rule.is_named() {
                " (limited by resourceNames)"
            } else {
                ""
            };
            rule.emit(
                out,
                "resources",
                format!(
                    "rule can {} {}{limited}: admission control can be changed or disabled",
                    plain_list(&verbs),
                    plain_list(&resources)
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
    fn flags_admission_writes() {
        let f = run(
            &RbacAdmissionWebhookWrite,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations]
    verbs: [get, list, watch]
  - apiGroups: [admissionregistration.k8s.io]
    resources: [mutatingwebhookconfigurations]
    resourceNames: [operator-webhook]
    verbs: [update, patch]
  - apiGroups: ["*"]
    resources: [validatingadmissionpolicies, validatingadmissionpolicybindings]
    verbs: ["*"]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].resources", "rules[2].resources"]);
        assert_eq!([f[0].line, f[1].line], [10, 14]);
        assert!(
            f[0].message
                .contains("update, patch mutatingwebhookconfigurations (limited"),
            "{}",
            f[0].message
        );
        assert!(f[1]
            .message
            .contains("create, update, patch, delete, deletecollection"));
    }

    #[test]
    fn ignores_reads() {
        let f = run(
            &RbacAdmissionWebhookWrite,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: ["*"]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [validatingwebhookconfigurations]
    verbs: [create]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
