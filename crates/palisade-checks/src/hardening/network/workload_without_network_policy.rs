use crate::context::{Check, Context, Emitter, Inventory};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags workloads (Pods and every pod-bearing kind) whose pod template labels are
    /// selected by no `networking.k8s.io` NetworkPolicy in the workload's namespace.
    ///
    /// Coverage is evaluated within the scanned set: policies applied separately (another
    /// repository, a platform chart) are not seen, and a scan with no NetworkPolicy at all
    /// reports every workload. Pods with `hostNetwork: true` are skipped (NetworkPolicy does
    /// not apply to them), and only `networking.k8s.io/v1` NetworkPolicies count, not
    /// CNI-specific policy kinds. An object without a namespace is taken to be in `default`.
    ///
    /// ## Why is this bad?
    /// A pod that no NetworkPolicy selects accepts connections from every pod in the cluster
    /// and may connect anywhere: one compromised workload can reach it directly, and it can
    /// reach databases, the cloud metadata endpoint and the internet.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: api}
    /// # ...and no NetworkPolicy in namespace shop selects app=api
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: api, namespace: shop}
    /// spec:
    ///   podSelector: {matchLabels: {app: api}}
    ///   policyTypes: [Ingress, Egress]
    ///   ingress:
    ///     - from: [{podSelector: {matchLabels: {app: web}}}]
    ///   egress:
    ///     - to: [{podSelector: {matchLabels: {app: db}}}]
    /// ```
    pub struct WorkloadWithoutNetworkPolicy {
        id: "PAL405",
        name: "workload-without-network-policy",
        title: "Workload not selected by any NetworkPolicy",
        severity: Medium,
        category: Network,
        pss: None,
        cis: Some("5.3.2"),
        nsa: Some("Network separation and hardening: Network policies"),
        mitre: &[],
    }
}

impl Check for WorkloadWithoutNetworkPolicy {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.spec.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
            return;
        }
        let ns = Inventory::namespace_of(obj);
        let labels = pod.labels();
        if cx
            .inventory
            .network_policy_selectors(ns)
            .iter()
            .any(|sel| sel.matches(labels))
        {
            return;
        }
        out.emit(
            node::join(pod.meta_path, "labels"),
            pod.meta.locate(&["labels"]),
            format!(
                "no NetworkPolicy in namespace {ns:?} selects these pods: they accept traffic from, and may connect to, anywhere"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_workloads_no_policy_selects() {
        let f = run(
            &WorkloadWithoutNetworkPolicy,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: api}
    spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-elsewhere, namespace: other}
spec:
  podSelector: {matchLabels: {app: api}}
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
spec: {containers: [{name: c}]}
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.template.metadata.labels", "metadata.labels"]
        );
        assert_eq!(f[0].line, 8);
        assert_eq!(f[0].object.name, "api");
        assert!(
            f[0].message.contains("namespace \"shop\""),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("namespace \"default\""),
            "{}",
            f[1].message
        );
        // No labels: the finding points at the pod metadata's nearest parent.
        assert_eq!(f[1].line, 34);
    }

    #[test]
    fn ignores_selected_and_host_network_pods() {
        let f = run(
            &WorkloadWithoutNetworkPolicy,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: c}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    metadata: {labels: {app: migrate, tier: batch}}
    spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: exprs}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: DoesNotExist}]
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
