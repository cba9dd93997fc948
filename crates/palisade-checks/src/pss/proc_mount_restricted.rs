use super::proc_mount::check_proc_mount;
use super::restricted;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// The restricted level's `procMount` control (v1.35+): containers must not set
    /// `securityContext.procMount` to anything but `Default`, even in a user namespace.
    /// It replaces the baseline `procMount` control at the restricted level.
    ///
    /// ## Why is this bad?
    /// An unmasked `/proc` exposes kernel interfaces that the default masks hide; the
    /// restricted level does not trust user namespaces to contain that.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostUsers: false
    ///   containers:
    ///     - securityContext:
    ///         procMount: Unmasked
    /// ```
    ///
    /// ## Use instead
    /// Leave `procMount` unset (or `Default`).
    pub struct ProcMountRestricted {
        id: "PSS207",
        name: "proc-mount-restricted",
        title: "Unmasked /proc mount (restricted)",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("procMount_restricted", 35, &["procMount"]),
        cis: None,
        nsa: None,
        mitre: &["T1611"],
    }
}

impl Check for ProcMountRestricted {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        check_proc_mount(&pod, out);
    }
}
