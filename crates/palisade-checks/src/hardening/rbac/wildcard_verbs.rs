use super::rules::{plain_list, role_rules};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules whose `verbs` include `*`.
    ///
    /// ## Why is this bad?
    /// `*` grants every verb that exists now and every verb added later, including
    /// `escalate`, `bind`, `impersonate`, `deletecollection` and custom verbs of extension
    /// APIs. Roles should list exactly what their holder needs.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["apps"]
    ///     resources: ["deployments"]
    ///     verbs: ["*"]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["apps"]
    ///     resources: ["deployments"]
    ///     verbs: ["get", "list", "watch", "patch"]
    /// ```
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacWildcardVerbs {
        id: "PAL501",
        name: "rbac-wildcard-verbs",
        title: "RBAC rule grants all verbs",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.3"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &[],
    }
}

impl Check for RbacWildcardVerbs {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            if !rule.verbs.iter().any(|v| v == "*") {
                continue;
            }
            let target = if rule.resources.is_empty() {
                "its non-resource URLs".to_string()
            } else if rule.resources.iter().any(|r| r == "*") {
                "every resource".to_string()
            } else {
                plain_list(&rule.resources)
            };
            rule.emit(
                out,
                "verbs",
                format!("rule grants every verb (\"*\") on {target}; list the verbs needed"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_wildcard_verbs() {
        let f = run(
            &RbacWildcardVerbs,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: shop}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get]
  - apiGroups: [apps]
    resources: [deployments, statefulsets]
    verbs: ["*"]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].verbs"]);
        assert_eq!(f[0].line, 11);
        assert!(
            f[0].message.contains("on deployments, statefulsets"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn names_wildcard_resources() {
        let f = run(
            &RbacWildcardVerbs,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
  - {nonResourceURLs: ["*"], verbs: ["*"]}
"#,
        );
        assert_eq!(paths(&f), ["rules[0].verbs", "rules[1].verbs"]);
        assert!(
            f[0].message.contains("on every resource;"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("non-resource URLs"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_explicit_verbs_and_builtin_roles() {
        let f = run(
            &RbacWildcardVerbs,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: aggregated}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {a: b}}]}
rules: []
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
