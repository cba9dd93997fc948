use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object, Pos};

declare_check! {
    /// ## What it does
    /// Flags `seLinuxOptions` that set a custom SELinux `user` or `role`, or a `type` other
    /// than `container_t`, `container_init_t`, `container_kvm_t` (and, from v1.31,
    /// `container_engine_t`).
    ///
    /// ## Why is this bad?
    /// A custom SELinux type, user or role can lift the confinement SELinux puts on
    /// containers (for example `spc_t` is unconfined).
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     type: spc_t
    /// ```
    ///
    /// ## Use instead
    /// Leave `seLinuxOptions` unset, or set only `level` (and an allowed `type`).
    pub struct SeLinuxOptions {
        id: "PSS107",
        name: "selinux-options",
        title: "Custom SELinux options",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("seLinuxOptions", 0),
        cis: None,
        nsa: Some("Pod security: use AppArmor / SELinux / seccomp"),
        mitre: &["T1611"],
    }
}

fn problems(opts: &Node, minor: u32) -> Vec<String> {
    let mut p = Vec::new();
    let t = opts
        .get("type")
        .and_then(Node::scalar_string)
        .unwrap_or_default();
    let mut allowed = vec!["", "container_t", "container_init_t", "container_kvm_t"];
    if minor >= 31 {
        allowed.push("container_engine_t");
    }
    if !allowed.contains(&t.as_str()) {
        p.push(format!("type {t:?}"));
    }
    for field in ["user", "role"] {
        if opts
            .get(field)
            .and_then(Node::scalar_string)
            .is_some_and(|s| !s.is_empty())
        {
            p.push(format!("{field} may not be set"));
        }
    }
    p
}

impl Check for SeLinuxOptions {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["securityContext", "seLinuxOptions"];
        let mut report = |path: String, pos: Pos, who: String, opts: &Node| {
            let p = problems(opts, cx.pss_version.0);
            if !p.is_empty() {
                out.emit(
                    path,
                    pos,
                    format!(
                        "{who} sets forbidden securityContext.seLinuxOptions: {}",
                        p.join("; ")
                    ),
                );
            }
        };
        if let Some(o) = pod.spec.at(&f).filter(|o| o.is_map()) {
            report(
                pod.path("securityContext.seLinuxOptions"),
                pod.locate(&f),
                "pod".into(),
                o,
            );
        }
        for c in pod.containers() {
            if let Some(o) = c.node.at(&f).filter(|o| o.is_map()) {
                report(c.path(&f), c.locate(&f), c.label(), o);
            }
        }
    }
}
