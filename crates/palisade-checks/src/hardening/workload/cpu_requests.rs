use super::{check_resource, Bound};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags regular containers and sidecars (init containers with `restartPolicy: Always`)
    /// that do not set `resources.requests.cpu`.
    ///
    /// A request is considered set when the container sets it, when the container sets
    /// `resources.limits.cpu` (the API server then defaults the request to the limit), when
    /// the pod sets `spec.resources.requests.cpu` (pod-level resources), or when a LimitRange
    /// with `type: Container` in the same namespace of the scanned set supplies a default
    /// (`defaultRequest`, `default`, `max` or `min`).
    ///
    /// Plain init containers are not checked: they run one at a time before the app
    /// containers, and the pod's effective request is the larger of their requests and the
    /// app containers' sum, so the long-running containers decide scheduling.
    ///
    /// ## Why is this bad?
    /// Without a CPU request the scheduler places the pod as if it needed no CPU, the pod
    /// falls into the `BestEffort` or `Burstable` QoS class, and under contention the
    /// container gets only a minimal share of CPU time. Nodes get overcommitted and
    /// latency-sensitive workloads starve.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     image: ghcr.io/acme/app:1.4.2
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     image: ghcr.io/acme/app:1.4.2
    ///     resources:
    ///       requests:
    ///         cpu: 250m
    /// ```
    pub struct CpuRequests {
        id: "PAL101",
        name: "cpu-requests",
        title: "CPU request not set",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: resource policies"),
        mitre: &[],
    }
}

impl Check for CpuRequests {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        check_resource(cx, obj, out, "cpu", Bound::Request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_regular_containers_and_sidecars_without_cpu_request() {
        let f = run(
            &CpuRequests,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: app
        - name: proxy
          image: envoy
          restartPolicy: Always
      containers:
        - name: a
          resources:
            requests: {memory: 64Mi}
        - name: b
          resources:
            requests: {cpu: 100m}
        - name: c
          resources:
            limits: {cpu: "1"}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.initContainers[1].resources.requests.cpu",
                "spec.template.spec.containers[0].resources.requests.cpu",
            ]
        );
        assert_eq!(f[0].line, 11);
        assert_eq!(f[1].line, 17);
        assert!(f[0].message.contains("init container \"proxy\""));
        assert!(f[1]
            .message
            .contains("container \"a\" does not set resources.requests.cpu"));
    }

    #[test]
    fn pod_level_resources_and_limit_ranges_supply_the_request() {
        let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers:
    - name: a
"#;
        assert_eq!(run(&CpuRequests, pod).len(), 1);
        let pod_level = format!("{pod}  resources:\n    requests: {{cpu: 500m}}\n");
        assert!(run(&CpuRequests, &pod_level).is_empty());
        let limit_range = |ns: &str, item: &str| {
            format!(
                "{pod}---\napiVersion: v1\nkind: LimitRange\nmetadata: {{name: lr, namespace: {ns}}}\nspec:\n  limits:\n    - {item}\n"
            )
        };
        assert!(run(
            &CpuRequests,
            &limit_range("shop", "{type: Container, min: {cpu: 10m}}")
        )
        .is_empty());
        assert!(run(
            &CpuRequests,
            &limit_range("shop", "{type: Container, default: {cpu: 1}}")
        )
        .is_empty());
        // Another namespace, another type, or another resource does not help.
        assert_eq!(
            run(
                &CpuRequests,
                &limit_range("other", "{type: Container, min: {cpu: 10m}}")
            )
            .len(),
            1
        );
        assert_eq!(
            run(
                &CpuRequests,
                &limit_range("shop", "{type: Pod, min: {cpu: 10m}}")
            )
            .len(),
            1
        );
        assert_eq!(
            run(
                &CpuRequests,
                &limit_range("shop", "{type: Container, min: {memory: 1Mi}}")
            )
            .len(),
            1
        );
    }

    #[test]
    fn clean_and_odd_objects_have_no_findings() {
        let f = run(
            &CpuRequests,
            r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers:
        - name: a
          resources: {requests: {cpu: 1}}
---
apiVersion: v1
kind: Pod
metadata: {name: odd}
spec:
  containers:
    - name: a
      resources: {requests: {cpu: "2"}, limits: 7}
    - 42
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
"#,
        );
        // The scalar container item is not a mapping: it has no request, and must not panic.
        assert_eq!(paths(&f), ["spec.containers[1].resources.requests.cpu"]);
    }
}
