use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

/// Namespaced application kinds this check looks at (besides any object with a pod template).
const KINDS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Ingress",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
];

declare_check! {
    /// ## What it does
    /// Flags workloads (anything with a pod template), Services, ConfigMaps, Secrets,
    /// ServiceAccounts, Roles, RoleBindings, Ingresses, NetworkPolicies,
    /// PersistentVolumeClaims, HorizontalPodAutoscalers and PodDisruptionBudgets that
    /// explicitly set `metadata.namespace: default`.
    ///
    /// Objects without `metadata.namespace` are not flagged: their namespace is chosen when
    /// they are applied (`kubectl apply -n`, Helm's `--namespace`, Kustomize's `namespace:`),
    /// so the manifest alone does not say they will land in `default`.
    ///
    /// ## Why is this bad?
    /// The `default` namespace is where everything lands that nobody placed deliberately. It
    /// usually has no Pod Security Admission labels, no NetworkPolicies, no quotas and broad
    /// RBAC, and sharing it mixes unrelated applications inside one trust boundary.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   name: web
    ///   namespace: default
    /// ```
    ///
    /// ## Use instead
    /// Give each application its own namespace, with Pod Security Admission labels,
    /// NetworkPolicies and quotas:
    /// ```yaml
    /// metadata:
    ///   name: web
    ///   namespace: shop
    /// ```
    pub struct DefaultNamespace {
        id: "PAL114",
        name: "default-namespace",
        title: "Object in the default namespace",
        severity: Low,
        category: Workload,
        pss: None,
        cis: Some("5.7.4"),
        nsa: Some("Network separation and hardening: namespaces"),
        mitre: &[],
    }
}

impl Check for DefaultNamespace {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        if obj.namespace.as_deref() != Some("default") {
            return;
        }
        if !KINDS.contains(&obj.kind.as_str()) && obj.pod().is_none() {
            return;
        }
        out.emit(
            "metadata.namespace",
            obj.locate(&["metadata", "namespace"]),
            format!(
                "{} {:?} is placed in the default namespace",
                obj.kind, obj.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_explicit_default_namespace() {
        let f = run(
            &DefaultNamespace,
            r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
---
apiVersion: example.com/v1
kind: Worker
metadata: {name: w, namespace: default}
spec:
  template:
    spec:
      containers: [{name: a}]
"#,
        );
        assert_eq!(paths(&f), ["metadata.namespace", "metadata.namespace"]);
        assert_eq!(f[0].line, 6);
        assert_eq!(
            f[0].message,
            "ConfigMap \"settings\" is placed in the default namespace"
        );
        assert_eq!(f[1].line, 10);
    }

    #[test]
    fn unset_other_and_cluster_admin_objects_are_clean() {
        let f = run(
            &DefaultNamespace,
            r#"
apiVersion: v1
kind: Service
metadata: {name: unset}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: shop}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: default}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
