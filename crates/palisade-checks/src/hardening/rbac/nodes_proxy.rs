use super::rules::{plain_list, role_rules};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that grant any verb on the `nodes/proxy` subresource
    /// (core group; directly, through `*/proxy`, or through `*`).
    ///
    /// ## Why is this bad?
    /// `nodes/proxy` reaches the kubelet API of every node through the API server. The kubelet
    /// API can run commands in any container on the node (its `/exec` and `/run`
    /// endpoints), and requests to it are not seen by admission control nor fully recorded
    /// by API server auditing.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["nodes/proxy"]
    ///     verbs: ["get"]
    /// ```
    ///
    /// ## Use instead
    /// Scrape metrics through `nodes/metrics` (and `nodes/stats`) instead, and read logs
    /// through `pods/log`.
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacNodesProxy {
        id: "PAL509",
        name: "rbac-nodes-proxy",
        title: "RBAC rule grants access to nodes/proxy",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.10"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1609"],
    }
}

impl Check for RbacNodesProxy {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            if rule.verbs.is_empty() || !rule.has_group("") || !rule.has_resource("nodes/proxy") {
                continue;
            }
            rule.emit(
                out,
                "resources",
                format!(
                    "rule grants {} on nodes/proxy: the kubelet API can run commands in any container on the node",
                    plain_list(&rule.verbs)
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
    fn flags_nodes_proxy() {
        let f = run(
            &RbacNodesProxy,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
rules:
  - apiGroups: [""]
    resources: [nodes, nodes/metrics]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [nodes/proxy]
    verbs: [get]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].resources"]);
        assert_eq!(f[0].line, 10);
        assert!(
            f[0].message.contains("grants get on nodes/proxy"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn ignores_other_node_subresources() {
        let f = run(
            &RbacNodesProxy,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
rules:
  - apiGroups: [""]
    resources: [nodes, nodes/metrics, nodes/stats]
    verbs: ["*"]
  - apiGroups: [""]
    resources: [nodes/proxy]
    verbs: []
  - apiGroups: [metrics.k8s.io]
    resources: [nodes/proxy]
    verbs: [get]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
