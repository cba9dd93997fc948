use super::{check_resource, Bound};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags regular containers and sidecars (init containers with `restartPolicy: Always`)
    /// that do not set `resources.requests.memory`.
    ///
    /// A request is considered set when the container sets it, when the container sets
    /// `resources.limits.memory` (the API server then defaults the request to the limit),
    /// when the pod sets `spec.resources.requests.memory` (pod-level resources), or when a
    /// LimitRange with `type: Container` in the same namespace of the scanned set supplies a
    /// default (`defaultRequest`, `default`, `max` or `min`). Plain init containers are not
    /// checked: they run before the app containers and are covered by the pod's effective
    /// requests.
    ///
    /// ## Why is this bad?
    /// The scheduler reserves no memory for the container, so nodes are overcommitted; when
    /// a node runs short of memory the kubelet evicts pods that use more than they
    /// requested first, so the workload is among the first to be killed.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   limits:
    ///     cpu: "1"
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// resources:
    ///   requests:
    ///     memory: 256Mi
    ///   limits:
    ///     cpu: "1"
    ///     memory: 512Mi
    /// ```
    pub struct MemoryRequests {
        id: "PAL103",
        name: "memory-requests",
        title: "Memory request not set",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: resource policies"),
        mitre: &[],
    }
}

impl Check for MemoryRequests {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        check_resource(cx, obj, out, "memory", Bound::Request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_containers_without_memory_request() {
        let f = run(
            &MemoryRequests,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: a
              resources:
                requests: {cpu: 1}
            - name: b
              resources:
                limits: {memory: 1Gi}
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.jobTemplate.spec.template.spec.containers[0].resources.requests.memory"]
        );
        assert_eq!(f[0].line, 13);
    }

    #[test]
    fn set_requests_are_clean() {
        let f = run(
            &MemoryRequests,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      resources: {requests: {memory: 64Mi}}
  ephemeralContainers:
    - name: debug
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
