use super::restricted;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Requires `runAsNonRoot: true` on the pod's security context or on every container;
    /// `false` anywhere is a violation. From v1.35 a pod in a user namespace
    /// (`hostUsers: false`) is exempt.
    ///
    /// ## Why is this bad?
    /// Root in a container is root on the node's kernel: one kernel bug or mis-mounted path
    /// away from owning the node.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///     - name: app
    ///       image: app:1.0
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsNonRoot: true
    ///     runAsUser: 10001
    /// ```
    pub struct RunAsNonRoot {
        id: "PSS203",
        name: "run-as-non-root",
        title: "Container may run as root",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("runAsNonRoot", 0, &[]),
        cis: Some("5.2.7"),
        nsa: Some("Pod security: non-root containers"),
        mitre: &["T1611"],
    }
}

impl Check for RunAsNonRoot {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 35 && pod.in_user_namespace() {
            return;
        }
        let f = ["securityContext", "runAsNonRoot"];
        let pod_value = pod.spec.at(&f).and_then(Node::as_bool);
        if pod_value == Some(false) {
            out.emit(
                pod.path("securityContext.runAsNonRoot"),
                pod.locate(&f),
                "pod must not set securityContext.runAsNonRoot=false",
            );
        }
        for c in pod.containers() {
            match c.node.at(&f).filter(|n| !n.is_null()) {
                Some(n) if n.as_bool() == Some(true) => {}
                Some(_) => out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} must not set securityContext.runAsNonRoot=false",
                        c.label()
                    ),
                ),
                None if pod_value != Some(true) => out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "pod or {} must set securityContext.runAsNonRoot=true",
                        c.label()
                    ),
                ),
                None => {}
            }
        }
    }
}
