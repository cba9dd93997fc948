use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags pods with `hostPath` volumes.
    ///
    /// ## Why is this bad?
    /// A hostPath volume exposes the node's filesystem to the container: credentials, the
    /// container runtime socket, kubelet state, other pods' data.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    ///   - name: logs
    ///     hostPath:
    ///       path: /var/log
    /// ```
    ///
    /// ## Use instead
    /// Use `emptyDir`, a `persistentVolumeClaim`, a `configMap`/`secret`, or a CSI volume.
    pub struct HostPathVolumes {
        id: "PSS104",
        name: "host-path-volumes",
        title: "hostPath volume",
        severity: High,
        category: PodSecurity,
        pss: baseline("hostPathVolumes", 0),
        cis: Some("5.2.12"),
        nsa: Some("Pod security: restrict hostPath mounts"),
        mitre: &["T1611"],
    }
}

impl Check for HostPathVolumes {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for (i, v) in pod
            .spec
            .get("volumes")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if v.get("hostPath").is_some_and(|h| !h.is_null()) {
                let name = v
                    .get("name")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                out.emit(
                    node::join(&node::index(&pod.path("volumes"), i), "hostPath"),
                    v.locate(&["hostPath"]),
                    format!("volume {name:?} must not use hostPath"),
                );
            }
        }
    }
}
