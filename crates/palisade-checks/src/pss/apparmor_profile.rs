use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

declare_check! {
    /// ## What it does
    /// Flags pods and containers that override the default AppArmor profile with anything
    /// other than `RuntimeDefault` or `Localhost` (in `securityContext.appArmorProfile.type`
    /// or the deprecated `container.apparmor.security.beta.kubernetes.io/*` annotations,
    /// where `runtime/default` and `localhost/*` are allowed).
    ///
    /// ## Why is this bad?
    /// `Unconfined` turns off the mandatory access control that stops a compromised
    /// container from writing to `/proc`, mounting filesystems, and similar escapes.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: RuntimeDefault
    /// ```
    pub struct AppArmorProfile {
        id: "PSS106",
        name: "apparmor-profile",
        title: "AppArmor disabled or overridden",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("appArmorProfile", 0),
        cis: None,
        nsa: Some("Pod security: use AppArmor / SELinux / seccomp"),
        mitre: &["T1611"],
    }
}

fn allowed_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

impl Check for AppArmorProfile {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["securityContext", "appArmorProfile"];
        if let Some(p) = pod.spec.at(&f).filter(|p| !p.is_null()) {
            let t = p.get("type").and_then(Node::as_str).unwrap_or("");
            if !allowed_type(t) {
                out.emit(
                    pod.path("securityContext.appArmorProfile.type"),
                    pod.locate(&["securityContext", "appArmorProfile", "type"]),
                    format!("pod must not set AppArmor profile type to {t:?}"),
                );
            }
        }
        for c in pod.containers() {
            if let Some(p) = c.node.at(&f).filter(|p| !p.is_null()) {
                let t = p.get("type").and_then(Node::as_str).unwrap_or("");
                if !allowed_type(t) {
                    let ff = ["securityContext", "appArmorProfile", "type"];
                    out.emit(
                        c.path(&ff),
                        c.locate(&ff),
                        format!("{} must not set AppArmor profile type to {t:?}", c.label()),
                    );
                }
            }
        }
        for e in pod.annotations().entries() {
            if let Some(_container) = e.key.strip_prefix(ANNOTATION_PREFIX) {
                let v = e.value.scalar_string().unwrap_or_default();
                let ok = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
                if !ok {
                    out.emit(
                        node::join(&format!("{}.annotations", pod.meta_path), &e.key),
                        e.key_pos,
                        format!(
                            "annotation {}={v:?} sets a forbidden AppArmor profile",
                            e.key
                        ),
                    );
                }
            }
        }
    }
}
