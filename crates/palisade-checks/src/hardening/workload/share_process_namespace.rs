use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags pods that set `shareProcessNamespace: true`.
    ///
    /// ## Why is this bad?
    /// All containers of the pod then share one PID namespace: each can see the others'
    /// processes, send them signals, and, subject to its privileges, read their
    /// environment, memory and root filesystem through `/proc/<pid>/`. A compromise of the
    /// least trusted container (a sidecar, a debug tool) reaches the secrets of the others.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   shareProcessNamespace: true
    ///   containers:
    ///     - name: app
    ///     - name: sidecar
    /// ```
    ///
    /// ## Use instead
    /// Remove `shareProcessNamespace` (it defaults to `false`). For one-off debugging use
    /// `kubectl debug --target=<container>`, which shares only with the chosen container and
    /// only for the debug session.
    pub struct ShareProcessNamespace {
        id: "PAL116",
        name: "share-process-namespace",
        title: "Process namespace shared between containers",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &[],
    }
}

impl Check for ShareProcessNamespace {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["shareProcessNamespace"];
        if is_true(pod.spec.get(f[0])) {
            out.emit(
                pod.path(f[0]),
                pod.locate(&f),
                "pod sets shareProcessNamespace=true: its containers can see and signal each other's processes",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_shared_process_namespace() {
        let f = run(
            &ShareProcessNamespace,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      shareProcessNamespace: true
      containers: [{name: a}]
"#,
        );
        assert_eq!(paths(&f), ["spec.template.spec.shareProcessNamespace"]);
        assert_eq!(f[0].line, 8);
    }

    #[test]
    fn false_or_unset_is_clean() {
        let f = run(
            &ShareProcessNamespace,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  shareProcessNamespace: false
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  containers: [{name: a}]
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
