use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

declare_check! {
    /// ## What it does
    /// Flags Secrets of `type: kubernetes.io/service-account-token`, which ask the control
    /// plane to create a long-lived token for a ServiceAccount.
    ///
    /// ## Why is this bad?
    /// These tokens never expire and are not bound to a pod: anyone who can read the
    /// Secret, or who finds the token in a log, a backup or a CI variable, holds the
    /// ServiceAccount's permissions until the Secret is deleted. Since Kubernetes v1.24 they
    /// are no longer created automatically, and the control plane cleans up unused ones.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: ci-token
    ///   annotations:
    ///     kubernetes.io/service-account.name: ci
    /// type: kubernetes.io/service-account-token
    /// ```
    ///
    /// ## Use instead
    /// Use short-lived, audience-bound tokens: the projected token every pod gets, a
    /// `projected` `serviceAccountToken` volume, or `kubectl create token ci --duration=1h`
    /// (the TokenRequest API) for clients outside the cluster. Prefer workload identity
    /// federation (OIDC) for CI systems.
    pub struct LegacyServiceAccountToken {
        id: "PAL120",
        name: "legacy-service-account-token",
        title: "Long-lived service account token Secret",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Pod security: protecting Pod service account tokens"),
        mitre: &["T1528", "T1552.007"],
    }
}

impl Check for LegacyServiceAccountToken {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        if obj.kind != "Secret" || !obj.group().is_empty() {
            return;
        }
        if obj.root.get("type").and_then(Node::as_str) != Some(TOKEN_TYPE) {
            return;
        }
        let account = obj
            .annotation("kubernetes.io/service-account.name")
            .map(|sa| format!(" for ServiceAccount {sa:?}"))
            .unwrap_or_default();
        out.emit(
            "type",
            obj.locate(&["type"]),
            format!(
                "Secret {:?} holds a long-lived, non-expiring service account token{account}",
                obj.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_service_account_token_secrets() {
        let f = run(
            &LegacyServiceAccountToken,
            r#"
apiVersion: v1
kind: Secret
metadata:
  name: ci-token
  annotations:
    kubernetes.io/service-account.name: ci
type: kubernetes.io/service-account-token
"#,
        );
        assert_eq!(paths(&f), ["type"]);
        assert_eq!(f[0].line, 8);
        assert_eq!(
            f[0].message,
            "Secret \"ci-token\" holds a long-lived, non-expiring service account token for ServiceAccount \"ci\""
        );
    }

    #[test]
    fn other_secrets_are_clean() {
        let f = run(
            &LegacyServiceAccountToken,
            r#"
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
---
apiVersion: v1
kind: Secret
metadata: {name: opaque}
---
apiVersion: example.com/v1
kind: Secret
metadata: {name: custom}
type: kubernetes.io/service-account-token
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
