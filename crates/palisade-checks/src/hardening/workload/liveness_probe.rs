use super::present;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags regular containers and sidecars (init containers with `restartPolicy: Always`)
    /// without a `livenessProbe`. Pods that run to completion (Jobs, CronJobs, and pods with
    /// `restartPolicy: Never` or `OnFailure`) are not checked, and neither are plain init
    /// containers, which cannot have probes.
    ///
    /// ## Why is this bad?
    /// Without a liveness probe the kubelet restarts a container only when its process
    /// exits. A deadlocked or wedged process keeps running, keeps its resources, and stops
    /// serving until someone notices.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: api
    ///     image: ghcr.io/acme/api:2.0.1
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    ///   - name: api
    ///     image: ghcr.io/acme/api:2.0.1
    ///     livenessProbe:
    ///       httpGet:
    ///         path: /healthz
    ///         port: 8080
    /// ```
    pub struct LivenessProbe {
        id: "PAL107",
        name: "liveness-probe",
        title: "Liveness probe not set",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &[],
    }
}

impl Check for LivenessProbe {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.runs_to_completion() {
            return;
        }
        let f = ["livenessProbe"];
        for c in pod.containers() {
            if c.is_long_running() && !present(c.node.get(f[0])) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!("{} has no livenessProbe", c.label()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_long_running_containers_without_liveness_probe() {
        let f = run(
            &LivenessProbe,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - name: setup
        - name: proxy
          restartPolicy: Always
      containers:
        - name: web
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
        - name: worker
          image: worker
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.initContainers[1].livenessProbe",
                "spec.template.spec.containers[1].livenessProbe",
            ]
        );
        assert_eq!(f[1].line, 16);
        assert_eq!(f[1].message, "container \"worker\" has no livenessProbe");
    }

    #[test]
    fn run_to_completion_pods_are_not_checked() {
        let f = run(
            &LivenessProbe,
            r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  restartPolicy: OnFailure
  containers: [{name: once}]
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
