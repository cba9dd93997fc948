use super::restricted;
use super::seccomp_baseline::valid_type;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Requires a seccomp profile (v1.19+): the pod's `securityContext.seccompProfile.type`,
    /// or every container's, must be `RuntimeDefault` or `Localhost`. Pods with
    /// `spec.os.name: windows` are exempt from v1.25. Replaces the baseline seccomp control at
    /// the restricted level.
    ///
    /// ## Why is this bad?
    /// Without a profile most runtimes run containers `Unconfined`, exposing the whole
    /// system-call surface of the host kernel.
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
    ///     seccompProfile:
    ///       type: RuntimeDefault
    /// ```
    pub struct SeccompRestricted {
        id: "PSS205",
        name: "seccomp-profile-restricted",
        title: "Seccomp profile not set",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("seccompProfile_restricted", 19, &["seccompProfile_baseline"]),
        cis: Some("5.7.2"),
        nsa: Some("Pod security: use AppArmor / SELinux / seccomp"),
        mitre: &["T1611"],
    }
}

impl Check for SeccompRestricted {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 25 && pod.is_windows() {
            return;
        }
        let f = ["securityContext", "seccompProfile"];
        let ft = ["securityContext", "seccompProfile", "type"];
        let mut pod_set = false;
        if let Some(p) = pod.spec.at(&f).filter(|p| !p.is_null()) {
            if valid_type(p) {
                pod_set = true;
            } else {
                let t = p
                    .get("type")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                out.emit(
                    pod.path("securityContext.seccompProfile.type"),
                    pod.locate(&ft),
                    format!("pod must not set securityContext.seccompProfile.type to {t:?}"),
                );
            }
        }
        for c in pod.containers() {
            match c.node.at(&f).filter(|p| !p.is_null()) {
                Some(p) if !valid_type(p) => {
                    let t = p.get("type").and_then(Node::scalar_string).unwrap_or_default();
                    out.emit(
                        c.path(&ft),
                        c.locate(&ft),
                        format!("{} must not set securityContext.seccompProfile.type to {t:?}", c.label()),
                    );
                }
                Some(_) => {}
                None if !pod_set => out.emit(
                    c.path(&ft),
                    c.locate(&ft),
                    format!(
                        "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                        c.label()
                    ),
                ),
                None => {}
            }
        }
    }
}
