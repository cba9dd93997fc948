use super::policy::{report_missing_default_deny, Direction};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Reports each namespace that runs workloads in the scanned set but has no default-deny
    /// egress NetworkPolicy: a `networking.k8s.io` NetworkPolicy with an empty `podSelector`
    /// (`{}`), `Egress` listed in `policyTypes` (a policy without `policyTypes` never denies
    /// egress) and no `egress` rules (absent or `[]`; a rule `- {}` allows everything).
    ///
    /// Each namespace is reported exactly once: on its `Namespace` object when that is in the
    /// scan, otherwise on the namespace's first workload in scan order. Objects without a
    /// namespace are taken to be in `default`. Coverage is evaluated within the scanned set.
    ///
    /// ## Why is this bad?
    /// Without egress control, a compromised pod can reach every service in the cluster, the
    /// cloud metadata endpoint and the internet: to move laterally, fetch tools and
    /// exfiltrate data.
    ///
    /// ## Example
    /// A namespace whose policies only restrict ingress:
    /// ```yaml
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny-ingress, namespace: shop}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny-egress, namespace: shop}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Egress]
    /// ```
    /// and add policies that allow the egress each workload needs (DNS included).
    pub struct NamespaceWithoutDefaultDenyEgress {
        id: "PAL407",
        name: "namespace-without-default-deny-egress",
        title: "Namespace without a default-deny egress NetworkPolicy",
        severity: Low,
        category: Network,
        pss: None,
        cis: Some("5.3.2"),
        nsa: Some("Network separation and hardening: Network policies"),
        mitre: &[],
    }
}

impl Check for NamespaceWithoutDefaultDenyEgress {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        report_missing_default_deny(cx, obj, out, Direction::Egress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn reports_namespaces_without_egress_deny() {
        let f = run(
            &NamespaceWithoutDefaultDenyEgress,
            r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-allow-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}
"#,
        );
        assert_eq!(paths(&f), ["metadata.name"]);
        assert_eq!(f[0].line, 5);
        assert!(
            f[0].message.contains("default-deny egress"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn accepts_egress_deny() {
        let f = run(
            &NamespaceWithoutDefaultDenyEgress,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
