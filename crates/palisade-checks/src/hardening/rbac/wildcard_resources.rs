use super::rules::role_rules;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::quote_list;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules whose `resources` include `*`. With `apiGroups: ["*"]`
    /// as well, the rule covers every resource of every API group, including Secrets, RBAC
    /// objects and every custom resource installed later.
    ///
    /// ## Why is this bad?
    /// A resource wildcard grants access to everything in the listed groups, now and in the
    /// future, including subresources such as `pods/exec` and `serviceaccounts/token`.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["*"]
    ///     resources: ["*"]
    ///     verbs: ["get", "list"]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["configmaps", "services"]
    ///     verbs: ["get", "list"]
    /// ```
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacWildcardResources {
        id: "PAL502",
        name: "rbac-wildcard-resources",
        title: "RBAC rule grants access to all resources",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.3"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &[],
    }
}

impl Check for RbacWildcardResources {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            if !rule.resources.iter().any(|r| r == "*") {
                continue;
            }
            let scope = if rule.api_groups.iter().any(|g| g == "*") {
                "every resource of every API group".to_string()
            } else {
                let groups: Vec<&str> = rule
                    .api_groups
                    .iter()
                    .map(|g| if g.is_empty() { "core" } else { g.as_str() })
                    .collect();
                format!("every resource of API group {}", quote_list(&groups))
            };
            rule.emit(
                out,
                "resources",
                format!("rule grants access to {scope} (\"*\"); list the resources needed"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_wildcard_resources() {
        let f = run(
            &RbacWildcardResources,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: [get]
  - apiGroups: ["", apps]
    resources: [pods, "*"]
    verbs: [list]
"#,
        );
        assert_eq!(paths(&f), ["rules[0].resources", "rules[1].resources"]);
        assert_eq!([f[0].line, f[1].line], [7, 10]);
        assert!(f[0].message.contains("every API group"), "{}", f[0].message);
        assert!(
            f[1].message.contains("\"core\", \"apps\""),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_named_resources_and_subresource_wildcards() {
        let f = run(
            &RbacWildcardResources,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
rules:
  - apiGroups: ["*"]
    resources: [deployments, "*/scale"]
    verbs: ["*"]
  - nonResourceURLs: ["*"]
    verbs: [get]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
