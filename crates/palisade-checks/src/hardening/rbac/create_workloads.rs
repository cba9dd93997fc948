use super::rules::{plain_list, role_rules};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

/// Resources whose creation runs pods, by API group.
const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("extensions", "deployments"),
    ("extensions", "daemonsets"),
    ("extensions", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that grant `create` (or `*`) on pods or on any
    /// controller that creates pods: `replicationcontrollers`, `deployments`, `daemonsets`,
    /// `statefulsets`, `replicasets`, `jobs` and `cronjobs` (in their API groups, or through
    /// wildcards).
    ///
    /// ## Why is this bad?
    /// Whoever can create a pod can run it as any service account of the namespace and mount
    /// any Secret, ConfigMap or volume of the namespace into it, so the permission includes
    /// all of those. Unless Pod Security Admission enforces a restrictive level, it can also
    /// create privileged pods and take over the node.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["apps"]
    ///     resources: ["deployments"]
    ///     verbs: ["create", "update"]
    /// ```
    ///
    /// ## Use instead
    /// Give workload creation only to the deployment pipeline, in the namespaces it deploys
    /// to, and enforce Pod Security Admission there. Accounts that only roll out new versions
    /// usually need `get` and `patch`.
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacCreateWorkloads {
        id: "PAL508",
        name: "rbac-create-workloads",
        title: "RBAC rule allows creating pods or workloads",
        severity: Medium,
        category: Rbac,
        pss: None,
        cis: Some("5.1.4"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1610"],
    }
}

impl Check for RbacCreateWorkloads {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            let mut found: Vec<&str> = Vec::new();
            for (group, res) in WORKLOADS {
                if rule.grants("create", group, res) && !found.contains(res) {
                    found.push(res);
                }
            }
            if found.is_empty() {
                continue;
            }
            rule.emit(
                out,
                "resources",
                format!(
                    "rule allows creating {}: pods can then run as any service account of the namespace",
                    plain_list(&found)
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
    fn flags_workload_creation() {
        let f = run(
            &RbacCreateWorkloads,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: shop}
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, patch]
  - apiGroups: [apps, extensions]
    resources: [deployments, daemonsets]
    verbs: [create]
  - apiGroups: ["", batch]
    resources: ["*"]
    verbs: ["*"]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].resources", "rules[2].resources"]);
        assert_eq!([f[0].line, f[1].line], [10, 13]);
        assert!(
            f[0].message.contains("creating deployments, daemonsets:"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message
                .contains("pods, replicationcontrollers, jobs, cronjobs"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_updates_and_wrong_groups() {
        let f = run(
            &RbacCreateWorkloads,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: [apps]
    resources: [deployments, deployments/scale]
    verbs: [update, patch]
  - apiGroups: [""]
    resources: [deployments, pods/eviction]
    verbs: [create]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
