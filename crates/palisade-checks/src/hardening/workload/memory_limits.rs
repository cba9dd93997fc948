use super::{check_resource, Bound};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags regular containers and sidecars (init containers with `restartPolicy: Always`)
    /// that do not set `resources.limits.memory`.
    ///
    /// A limit is considered set when the container sets it, when the pod sets
    /// `spec.resources.limits.memory` (pod-level resources), or when a LimitRange with
    /// `type: Container` in the same namespace of the scanned set supplies one (`default` or
    /// `max`). Plain init containers are not checked: they run before the app containers
    /// and are covered by the pod's effective resources.
    ///
    /// ## Why is this bad?
    /// Memory cannot be throttled: a container without a limit that leaks or is abused can
    /// consume the node's memory until the kernel's OOM killer or the kubelet's eviction
    /// takes down other workloads, or the node itself becomes unstable.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   requests:
    ///     memory: 256Mi
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// resources:
    ///   requests:
    ///     memory: 256Mi
    ///   limits:
    ///     memory: 512Mi
    /// ```
    pub struct MemoryLimits {
        id: "PAL104",
        name: "memory-limits",
        title: "Memory limit not set",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: resource policies"),
        mitre: &["T1499"],
    }
}

impl Check for MemoryLimits {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        check_resource(cx, obj, out, "memory", Bound::Limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_containers_without_memory_limit() {
        let f = run(
            &MemoryLimits,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  template:
    spec:
      containers:
        - name: agent
          resources:
            requests: {memory: 64Mi}
            limits: {memory: null}
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.template.spec.containers[0].resources.limits.memory"]
        );
        assert_eq!(f[0].line, 12);
        assert!(f[0]
            .message
            .contains("container \"agent\" does not set resources.limits.memory"));
    }

    #[test]
    fn limit_range_default_in_same_namespace_is_clean() {
        let f = run(
            &MemoryLimits,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: web
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: shop}
spec:
  limits:
    - type: Container
      default: {memory: 512Mi}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
