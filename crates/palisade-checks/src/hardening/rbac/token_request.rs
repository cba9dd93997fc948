use super::rules::role_rules;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::quote_list;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Role and ClusterRole rules that grant `create` (or `*`) on the
    /// `serviceaccounts/token` subresource (core group; directly or through wildcards).
    /// Rules limited by `resourceNames` are reported too, naming the accounts.
    ///
    /// ## Why is this bad?
    /// The TokenRequest API issues a fresh token for a service account, with a lifetime the
    /// caller chooses (up to the server's maximum). Whoever can call it holds every
    /// permission of those service accounts, and the tokens stay valid after the role is
    /// removed until they expire.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    ///   - apiGroups: [""]
    ///     resources: ["serviceaccounts/token"]
    ///     verbs: ["create"]
    /// ```
    ///
    /// ## Use instead
    /// Let the kubelet issue tokens through projected volumes. Where a component must mint
    /// tokens, limit the rule to the accounts it needs with `resourceNames`, and keep those
    /// accounts' permissions minimal.
    ///
    /// ## Notes
    /// Built-in roles (names starting with `system:`, or labelled
    /// `kubernetes.io/bootstrapping: rbac-defaults` such as `cluster-admin`, `admin`, `edit`
    /// and `view`) and aggregated ClusterRoles (whose rules are copied from the roles they
    /// select, which are checked themselves) are not inspected.
    pub struct RbacTokenRequest {
        id: "PAL511",
        name: "rbac-token-request",
        title: "RBAC rule can create service account tokens",
        severity: High,
        category: Rbac,
        pss: None,
        cis: Some("5.1.13"),
        nsa: Some("Authentication and authorization: Role-based access control"),
        mitre: &["T1528"],
    }
}

impl Check for RbacTokenRequest {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        for rule in role_rules(obj) {
            if !rule.grants("create", "", "serviceaccounts/token") {
                continue;
            }
            let whose = if rule.is_named() {
                format!("service accounts {}", quote_list(&rule.resource_names))
            } else {
                "every service account in scope".to_string()
            };
            rule.emit(
                out,
                "resources",
                format!("rule can create tokens for {whose} and act with their permissions"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_token_creation() {
        let f = run(
            &RbacTokenRequest,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ci}
rules:
  - apiGroups: [""]
    resources: [serviceaccounts]
    verbs: [create]
  - apiGroups: [""]
    resources: [serviceaccounts/token]
    resourceNames: [builder]
    verbs: [create]
  - apiGroups: ["*"]
    resources: ["*/token"]
    verbs: ["*"]
"#,
        );
        assert_eq!(paths(&f), ["rules[1].resources", "rules[2].resources"]);
        assert_eq!([f[0].line, f[1].line], [10, 14]);
        assert!(
            f[0].message.contains("service accounts \"builder\""),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("every service account"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_reading_tokens_and_plain_service_accounts() {
        let f = run(
            &RbacTokenRequest,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ci}
rules:
  - apiGroups: [""]
    resources: [serviceaccounts, serviceaccounts/token]
    verbs: [get, list]
  - apiGroups: [""]
    resources: [serviceaccounts]
    verbs: ["*"]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
