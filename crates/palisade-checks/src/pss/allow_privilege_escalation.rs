use super::restricted;
use crate::context::{is_false, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Requires every container to set `securityContext.allowPrivilegeEscalation: false`
    /// (v1.8+; pods with `spec.os.name: windows` are exempt from v1.25).
    ///
    /// ## Why is this bad?
    /// Unless it is `false`, a process can gain more privileges than its parent through
    /// set-user-ID binaries or file capabilities (`no_new_privs` is not set).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     image: app:1.0
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   allowPrivilegeEscalation: false
    /// ```
    pub struct AllowPrivilegeEscalation {
        id: "PSS202",
        name: "allow-privilege-escalation",
        title: "Privilege escalation allowed",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("allowPrivilegeEscalation", 8, &[]),
        cis: Some("5.2.6"),
        nsa: Some("Pod security: prevent privilege escalation"),
        mitre: &["T1548"],
    }
}

impl Check for AllowPrivilegeEscalation {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 25 && pod.is_windows() {
            return;
        }
        let f = ["securityContext", "allowPrivilegeEscalation"];
        for c in pod.containers() {
            if !is_false(c.node.at(&f)) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} must set securityContext.allowPrivilegeEscalation=false",
                        c.label()
                    ),
                );
            }
        }
    }
}
