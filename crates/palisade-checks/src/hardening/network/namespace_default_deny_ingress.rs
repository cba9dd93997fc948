use super::policy::{report_missing_default_deny, Direction};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Reports each namespace that runs workloads in the scanned set but has no default-deny
    /// ingress NetworkPolicy: a `networking.k8s.io` NetworkPolicy with an empty `podSelector`
    /// (`{}`), `Ingress` among its `policyTypes` (or no `policyTypes`, which implies
    /// Ingress) and no `ingress` rules (absent or `[]`; a rule `- {}` allows everything).
    ///
    /// Each namespace is reported exactly once: on its `Namespace` object when that is in the
    /// scan, otherwise on the namespace's first workload in scan order. Objects without a
    /// namespace are taken to be in `default`. Coverage is evaluated within the scanned set.
    ///
    /// ## Why is this bad?
    /// Without a default deny, every pod that no other policy selects, including every
    /// workload added later, accepts connections from every pod in the cluster. Allowing
    /// traffic explicitly on top of a default deny is the only way new workloads start out
    /// isolated.
    ///
    /// ## Example
    /// A namespace whose only policy selects some pods:
    /// ```yaml
    /// kind: NetworkPolicy
    /// metadata: {name: web, namespace: shop}
    /// spec:
    ///   podSelector: {matchLabels: {app: web}}
    ///   ingress: [{from: [{podSelector: {}}]}]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: default-deny-ingress, namespace: shop}
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress]
    /// ```
    /// and add policies that allow the traffic each workload needs.
    pub struct NamespaceWithoutDefaultDenyIngress {
        id: "PAL406",
        name: "namespace-without-default-deny-ingress",
        title: "Namespace without a default-deny ingress NetworkPolicy",
        severity: Medium,
        category: Network,
        pss: None,
        cis: Some("5.3.2"),
        nsa: Some("Network separation and hardening: Network policies"),
        mitre: &[],
    }
}

impl Check for NamespaceWithoutDefaultDenyIngress {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        report_missing_default_deny(cx, obj, out, Direction::Ingress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn reports_each_namespace_once_on_its_anchor() {
        let f = run(
            &NamespaceWithoutDefaultDenyIngress,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: shop}
spec:
  podSelector: {}
  ingress: [{}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
  namespace: billing
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b, namespace: billing}
spec: {template: {spec: {containers: [{name: c}]}}}
"#,
        );
        assert_eq!(paths(&f), ["metadata.name", "metadata.namespace"]);
        assert_eq!((f[0].object.kind.as_str(), f[0].line), ("Namespace", 15));
        assert_eq!((f[1].object.name.as_str(), f[1].line), ("a", 28));
        assert!(
            f[0].message.starts_with("namespace \"shop\""),
            "{}",
            f[0].message
        );
        assert!(f[1].message.contains("first workload"), "{}", f[1].message);
    }

    #[test]
    fn accepts_default_deny_policies() {
        let f = run(
            &NamespaceWithoutDefaultDenyIngress,
            r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Namespace
metadata: {name: idle}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
