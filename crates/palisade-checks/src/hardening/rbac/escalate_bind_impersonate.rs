use super::rules::{role_rules, Rule, RBAC_GROUP};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that let their holder raise their own privileges:
    /// `escalate` or `bind` on `roles` / `clusterroles` (`rbac.authorization.k8s.io`), or
    /// `impersonate` on `users`, `groups`, `serviceaccounts` or `uids` (in any API group).
    /// Wildcards count.
    ///
    /// `bind` limited by `resourceNames` (delegating the binding of specific, vetted roles) is
    /// not reported; `escalate` and `impersonate` are reported even when limited by name.
    ///
    /// ## Why is this bad?
    /// RBAC prevents users from granting permissions they do not hold, and these verbs are the
    /// exceptions: `escalate` lets a user write any rule into a role, `bind` lets a user bind
    /// any role (such as `cluster-admin`) to themselves, and `impersonate` lets a user act as
    /// any other user, group or service account. Each is equivalent to cluster-admin.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["rbac.authorization.k8s.io"]
    ///     resources: ["clusterroles"]
    ///     verbs: ["bind", "escalate"]
    ///   - apiGroups: [""]
    ///     resources: ["users"]
    ///     verbs: ["impersonate"]
    /// ```
    ///
    /// ## Use instead
    /// Remove these verbs. To let a team manage access in its namespace, allow `bind` only on
    /// the named roles it may hand out:
    /// ```yaml
    /// rules:
    ///   - apiGroups: ["rbac.authorization.k8s.io"]
    ///     resources: ["clusterroles"]
    ///     verbs: ["bind"]
    ///     resourceNames: ["view"]
    /// ```
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacEscalateBindImpersonate {
        id: "PAL505",
        name: "rbac-escalate-bind-impersonate",
        title: "RBAC rule allows privilege escalation (escalate, bind, impersonate)",
        severity: Critical,
        category: Rbac,
        pss: None,
        cis: Some("5.1.8"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1098"],
    }
}

/// What a rule grants of the escalation verbs, as `verb on resource` strings.
fn escalations(rule: &Rule<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for res in ["roles", "clusterroles"] {
        if rule.grants("escalate", RBAC_GROUP, res) {
            out.push(format!("escalate on {res}"));
        }
        if !rule.is_named() && rule.grants("bind", RBAC_GROUP, res) {
            out.push(format!("bind on {res}"));
        }
    }
    if rule.has_verb("impersonate") {
        for res in ["users", "groups", "serviceaccounts", "uids"] {
            if rule.has_resource(res) {
                out.push(format!("impersonate on {res}"));
            }
        }
    }
    out
}

impl Check for RbacEscalateBindImpersonate {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            let found = escalations(&rule);
            if found.is_empty() {
                continue;
            }
            rule.emit(
                out,
                "verbs",
                format!(
                    "rule allows privilege escalation ({}): its holder can obtain any permission",
                    found.join(", ")
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
    fn flags_escalation_verbs() {
        let f = run(
            &RbacEscalateBindImpersonate,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [clusterroles]
    verbs: [bind, escalate]
  - apiGroups: [""]
    resources: [users, groups]
    verbs: [impersonate]
  - apiGroups: [authentication.k8s.io]
    resources: [uids]
    resourceNames: [u-1]
    verbs: [impersonate]
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "rules[0].verbs",
                "rules[1].verbs",
                "rules[2].verbs",
                "rules[3].verbs"
            ]
        );
        assert_eq!(f[0].line, 8);
        assert!(
            f[0].message
                .contains("escalate on clusterroles, bind on clusterroles"),
            "{}",
            f[0].message
        );
        assert!(f[1]
            .message
            .contains("impersonate on users, impersonate on groups"));
        assert!(
            f[3].message.contains("escalate on roles"),
            "{}",
            f[3].message
        );
    }

    #[test]
    fn ignores_named_bind_and_ordinary_rbac_management() {
        let f = run(
            &RbacEscalateBindImpersonate,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: team}
rules:
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [clusterroles]
    resourceNames: [view]
    verbs: [bind]
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [roles, rolebindings]
    verbs: [get, list, create, update]
  - apiGroups: [example.com]
    resources: [roles]
    verbs: [bind]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
