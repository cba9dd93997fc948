use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Object, PodRef};

declare_check! {
    /// ## What it does
    /// Flags containers that set `securityContext.procMount` to anything but `Default`.
    /// From v1.35 a pod in a user namespace (`hostUsers: false`) may use any value.
    ///
    /// ## Why is this bad?
    /// `Unmasked` removes the masks over sensitive `/proc` paths (such as `/proc/kcore`
    /// and `/proc/sys`) that keep a container from reading or changing host kernel state.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   procMount: Unmasked
    /// ```
    ///
    /// ## Use instead
    /// Leave `procMount` unset (or `Default`).
    pub struct ProcMount {
        id: "PSS108",
        name: "proc-mount",
        title: "Unmasked /proc mount",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("procMount", 0),
        cis: None,
        nsa: None,
        mitre: &["T1611"],
    }
}

/// Shared by the baseline and restricted procMount controls.
pub(crate) fn check_proc_mount(pod: &PodRef<'_>, out: &mut Emitter<'_>) {
    for c in pod.containers() {
        let f = ["securityContext", "procMount"];
        if let Some(v) = c.node.at(&f).filter(|v| !v.is_null()) {
            let s = v.scalar_string().unwrap_or_default();
            if s != "Default" {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} must not set securityContext.procMount to {s:?}",
                        c.label()
                    ),
                );
            }
        }
    }
}

impl Check for ProcMount {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 35 && pod.in_user_namespace() {
            return;
        }
        check_proc_mount(&pod, out);
    }
}
