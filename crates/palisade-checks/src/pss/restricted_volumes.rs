use super::restricted;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

/// Volume sources the restricted level allows.
pub const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Volume sources the restricted level forbids, in Pod Security Admission's order of
/// preference when naming a volume's type.
pub const FORBIDDEN_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "portworxVolume",
    "photonPersistentDisk",
    "scaleIO",
    "storageos",
];

declare_check! {
    /// ## What it does
    /// Restricts inline volumes to `configMap`, `csi`, `downwardAPI`, `emptyDir`,
    /// `ephemeral`, `image`, `persistentVolumeClaim`, `projected` and `secret`. Replaces
    /// the baseline hostPath control at the restricted level.
    ///
    /// ## Why is this bad?
    /// Other inline sources (`hostPath`, `nfs`, `iscsi`, `gitRepo`, cloud disks, ...) mount
    /// storage straight into the pod, bypassing PersistentVolume access control; several
    /// (`hostPath`, `gitRepo`) have led to node compromise.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    ///   - name: data
    ///     nfs:
    ///       server: nfs.example.com
    ///       path: /exports
    /// ```
    ///
    /// ## Use instead
    /// Use a PersistentVolumeClaim bound to a PersistentVolume managed by the cluster admin.
    pub struct RestrictedVolumes {
        id: "PSS201",
        name: "restricted-volumes",
        title: "Restricted volume type",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("restrictedVolumes", 0, &["hostPathVolumes"]),
        cis: None,
        nsa: Some("Pod security: restrict volume types"),
        mitre: &["T1611"],
    }
}

impl Check for RestrictedVolumes {
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
            let sources: Vec<&str> = v
                .entries()
                .iter()
                .filter(|e| e.key != "name" && !e.value.is_null())
                .map(|e| e.key.as_str())
                .collect();
            if sources.iter().any(|s| ALLOWED_VOLUMES.contains(s)) {
                continue;
            }
            // A volume with no source is defaulted to emptyDir by the API server.
            let Some(bad) = sources
                .iter()
                .find(|s| FORBIDDEN_VOLUMES.contains(s))
                .or(sources.first())
            else {
                continue;
            };
            let name = v
                .get("name")
                .and_then(Node::scalar_string)
                .unwrap_or_default();
            out.emit(
                node::join(&node::index(&pod.path("volumes"), i), bad),
                v.locate(&[bad]),
                format!("volume {name:?} uses restricted volume type {bad:?}"),
            );
        }
    }
}
