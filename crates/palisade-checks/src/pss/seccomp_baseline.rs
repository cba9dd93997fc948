use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

declare_check! {
    /// ## What it does
    /// Flags seccomp profiles other than `RuntimeDefault` or `Localhost`: from v1.19 in
    /// `securityContext.seccompProfile.type` (pod and containers); before v1.19 in the
    /// `seccomp.security.alpha.kubernetes.io/pod` and
    /// `container.seccomp.security.alpha.kubernetes.io/<name>` annotations (where
    /// `runtime/default`, `docker/default` and `localhost/*` are allowed).
    ///
    /// ## Why is this bad?
    /// `Unconfined` lets the container call every system call, including the ones most
    /// kernel exploits need.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: RuntimeDefault
    /// ```
    pub struct SeccompBaseline {
        id: "PSS109",
        name: "seccomp-profile-baseline",
        title: "Seccomp disabled",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("seccompProfile_baseline", 0),
        cis: Some("5.7.2"),
        nsa: Some("Pod security: use AppArmor / SELinux / seccomp"),
        mitre: &["T1611"],
    }
}

pub(crate) fn valid_type(n: &Node) -> bool {
    matches!(
        n.get("type").and_then(Node::as_str),
        Some("RuntimeDefault") | Some("Localhost")
    )
}

fn valid_annotation(v: &str) -> bool {
    v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
}

impl Check for SeccompBaseline {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 < 19 {
            let ann = pod.annotations();
            let mut keys = vec![POD_ANNOTATION.to_string()];
            keys.extend(
                pod.containers()
                    .iter()
                    .map(|c| format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name)),
            );
            for key in keys {
                if let Some(e) = ann.entry(&key) {
                    let v = e.value.scalar_string().unwrap_or_default();
                    if !valid_annotation(&v) {
                        out.emit(
                            node::join(&format!("{}.annotations", pod.meta_path), &key),
                            e.key_pos,
                            format!("forbidden seccomp annotation {key}={v:?}"),
                        );
                    }
                }
            }
            return;
        }
        let f = ["securityContext", "seccompProfile"];
        if let Some(p) = pod.spec.at(&f).filter(|p| !p.is_null()) {
            if !valid_type(p) {
                let t = p
                    .get("type")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                out.emit(
                    pod.path("securityContext.seccompProfile.type"),
                    pod.locate(&["securityContext", "seccompProfile", "type"]),
                    format!("pod must not set securityContext.seccompProfile.type to {t:?}"),
                );
            }
        }
        for c in pod.containers() {
            if let Some(p) = c.node.at(&f).filter(|p| !p.is_null()) {
                if !valid_type(p) {
                    let t = p
                        .get("type")
                        .and_then(Node::scalar_string)
                        .unwrap_or_default();
                    let ff = ["securityContext", "seccompProfile", "type"];
                    out.emit(
                        c.path(&ff),
                        c.locate(&ff),
                        format!(
                            "{} must not set securityContext.seccompProfile.type to {t:?}",
                            c.label()
                        ),
                    );
                }
            }
        }
    }
}
