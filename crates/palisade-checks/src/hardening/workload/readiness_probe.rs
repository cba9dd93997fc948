use super::present;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{ContainerKind, Object};

declare_check! {
    /// ## What it does
    /// Flags regular containers without a `readinessProbe`. Sidecars, init and ephemeral
    /// containers are not checked, and neither are pods that run to completion (Jobs,
    /// CronJobs, and pods with `restartPolicy: Never` or `OnFailure`).
    ///
    /// ## Why is this bad?
    /// Without a readiness probe a pod is marked ready, and receives Service traffic, as
    /// soon as its containers start: before the application has loaded, and while it is
    /// overloaded or lost a dependency. Rolling updates also proceed without waiting for
    /// the new pods to actually work.
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
    ///     readinessProbe:
    ///       httpGet:
    ///         path: /ready
    ///         port: 8080
    /// ```
    pub struct ReadinessProbe {
        id: "PAL108",
        name: "readiness-probe",
        title: "Readiness probe not set",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &[],
    }
}

impl Check for ReadinessProbe {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.runs_to_completion() {
            return;
        }
        let f = ["readinessProbe"];
        for c in pod.containers() {
            if c.kind == ContainerKind::Regular && !present(c.node.get(f[0])) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!("{} has no readinessProbe", c.label()),
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
    fn flags_regular_containers_without_readiness_probe() {
        let f = run(
            &ReadinessProbe,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: proxy
      restartPolicy: Always
  containers:
    - name: a
      readinessProbe: {tcpSocket: {port: 80}}
    - name: b
      livenessProbe: {tcpSocket: {port: 80}}
"#,
        );
        assert_eq!(paths(&f), ["spec.containers[1].readinessProbe"]);
        assert_eq!(f[0].line, 12);
        assert!(f[0].message.contains("container \"b\""));
    }

    #[test]
    fn probed_and_run_to_completion_pods_are_clean() {
        let f = run(
            &ReadinessProbe,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: once}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: a
          readinessProbe: {exec: {command: [true]}}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
