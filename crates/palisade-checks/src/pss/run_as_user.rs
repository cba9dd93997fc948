use super::restricted;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Flags `runAsUser: 0` on the pod or any container (v1.23+). From v1.35 a pod in a
    /// user namespace (`hostUsers: false`) is exempt.
    ///
    /// ## Why is this bad?
    /// UID 0 is root: it overrides the image's `USER` and defeats `runAsNonRoot`-style
    /// defences.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 0
    /// ```
    ///
    /// ## Use instead
    /// Run as a dedicated non-zero UID, e.g. `runAsUser: 10001`.
    pub struct RunAsUser {
        id: "PSS204",
        name: "run-as-user",
        title: "Container runs as UID 0",
        severity: High,
        category: PodSecurity,
        pss: restricted("runAsUser", 23, &[]),
        cis: Some("5.2.7"),
        nsa: Some("Pod security: non-root containers"),
        mitre: &["T1611"],
    }
}

impl Check for RunAsUser {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 35 && pod.in_user_namespace() {
            return;
        }
        let f = ["securityContext", "runAsUser"];
        if pod.spec.at(&f).and_then(Node::as_i64) == Some(0) {
            out.emit(
                pod.path("securityContext.runAsUser"),
                pod.locate(&f),
                "pod must not set securityContext.runAsUser=0",
            );
        }
        for c in pod.containers() {
            if c.node.at(&f).and_then(Node::as_i64) == Some(0) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!("{} must not set securityContext.runAsUser=0", c.label()),
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
    fn pod_and_container_level_root() {
        let f = run(
            &RunAsUser,
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsUser: 0\n  containers:\n    - name: a\n      securityContext: {runAsUser: 1000}\n    - name: b\n      securityContext:\n        runAsUser: 0\n",
        );
        assert_eq!(
            paths(&f),
            [
                "spec.securityContext.runAsUser",
                "spec.containers[1].securityContext.runAsUser"
            ]
        );
        assert_eq!(f[0].line, 6);
        assert_eq!(f[1].line, 12);
    }
}
