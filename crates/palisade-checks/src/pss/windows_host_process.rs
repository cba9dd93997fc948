use super::baseline;
use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Windows pods and containers that set
    /// `securityContext.windowsOptions.hostProcess: true`.
    ///
    /// ## Why is this bad?
    /// A HostProcess container runs directly on the Windows node with the node's
    /// privileges: it is the Windows equivalent of a privileged container.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   windowsOptions:
    ///     hostProcess: true
    /// ```
    ///
    /// ## Use instead
    /// Remove `hostProcess`.
    pub struct WindowsHostProcess {
        id: "PSS111",
        name: "windows-host-process",
        title: "Windows HostProcess container",
        severity: Critical,
        category: PodSecurity,
        pss: baseline("windowsHostProcess", 0),
        cis: Some("5.2.11"),
        nsa: None,
        mitre: &["T1611"],
    }
}

impl Check for WindowsHostProcess {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["securityContext", "windowsOptions", "hostProcess"];
        if is_true(pod.spec.at(&f)) {
            out.emit(
                pod.path("securityContext.windowsOptions.hostProcess"),
                pod.locate(&f),
                "pod must not set securityContext.windowsOptions.hostProcess=true",
            );
        }
        for c in pod.containers() {
            if is_true(c.node.at(&f)) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} must not set securityContext.windowsOptions.hostProcess=true",
                        c.label()
                    ),
                );
            }
        }
    }
}
