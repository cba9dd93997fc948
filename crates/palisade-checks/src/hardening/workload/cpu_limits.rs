use super::{check_resource, Bound};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags regular containers and sidecars (init containers with `restartPolicy: Always`)
    /// that do not set `resources.limits.cpu`.
    ///
    /// A limit is considered set when the container sets it, when the pod sets
    /// `spec.resources.limits.cpu` (pod-level resources), or when a LimitRange with
    /// `type: Container` in the same namespace of the scanned set supplies one (`default` or
    /// `max`). Plain init containers are not checked: they run before the app containers
    /// and are covered by the pod's effective resources.
    ///
    /// ## Why is this bad?
    /// A container without a CPU limit can use every idle core of its node. A compromised
    /// or runaway container (a crypto miner, a busy loop) then degrades every other pod on
    /// the node.
    ///
    /// Some teams deliberately run without CPU limits to avoid CFS throttling and rely on
    /// requests alone; if that is your policy, disable this check (`skip: [PAL102]`).
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   requests:
    ///     cpu: 250m
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// resources:
    ///   requests:
    ///     cpu: 250m
    ///   limits:
    ///     cpu: "1"
    /// ```
    pub struct CpuLimits {
        id: "PAL102",
        name: "cpu-limits",
        title: "CPU limit not set",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: resource policies"),
        mitre: &["T1496", "T1499"],
    }
}

impl Check for CpuLimits {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        check_resource(cx, obj, out, "cpu", Bound::Limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_containers_without_cpu_limit() {
        let f = run(
            &CpuLimits,
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      initContainers:
        - name: init
      containers:
        - name: a
          resources:
            requests: {cpu: 1}
            limits: {cpu: 2}
        - name: b
          resources:
            requests: {cpu: 1}
            limits: {memory: 1Gi}
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.template.spec.containers[1].resources.limits.cpu"]
        );
        assert_eq!(f[0].line, 18);
        assert!(f[0].message.contains("container \"b\""));
    }

    #[test]
    fn a_request_does_not_count_but_a_limit_range_max_does() {
        let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      resources: {requests: {cpu: 1}}
"#;
        assert_eq!(run(&CpuLimits, pod).len(), 1);
        let with_lr = format!(
            "{pod}---\napiVersion: v1\nkind: LimitRange\nmetadata: {{name: lr}}\nspec:\n  limits:\n    - {{type: Container, max: {{cpu: 2}}}}\n"
        );
        assert!(run(&CpuLimits, &with_lr).is_empty());
        let min_only = with_lr.replace("max:", "min:");
        assert_eq!(run(&CpuLimits, &min_only).len(), 1);
    }
}
