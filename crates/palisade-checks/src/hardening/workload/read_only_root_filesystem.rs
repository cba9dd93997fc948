use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{ContainerKind, Object};

declare_check! {
    /// ## What it does
    /// Flags init and regular containers that do not set
    /// `securityContext.readOnlyRootFilesystem: true`. Ephemeral (debug) containers are not
    /// checked, and neither are Windows pods (`spec.os.name: windows`), where the field is
    /// not supported.
    ///
    /// ## Why is this bad?
    /// A writable root filesystem lets an attacker who gains code execution drop tools,
    /// modify binaries or configuration the application trusts, and persist for the life of
    /// the container. An immutable filesystem confines writes to the volumes you chose.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     image: ghcr.io/acme/app:1.4.2
    /// ```
    ///
    /// ## Use instead
    /// Make the root filesystem read-only and mount an `emptyDir` where the application
    /// needs to write:
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     image: ghcr.io/acme/app:1.4.2
    ///     securityContext:
    ///       readOnlyRootFilesystem: true
    ///     volumeMounts:
    ///       - name: tmp
    ///         mountPath: /tmp
    /// volumes:
    ///   - name: tmp
    ///     emptyDir: {}
    /// ```
    pub struct ReadOnlyRootFilesystem {
        id: "PAL105",
        name: "read-only-root-filesystem",
        title: "Root filesystem is writable",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Pod security: immutable container file systems"),
        mitre: &[],
    }
}

impl Check for ReadOnlyRootFilesystem {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.is_windows() {
            return;
        }
        let f = ["securityContext", "readOnlyRootFilesystem"];
        for c in pod.containers() {
            if c.kind == ContainerKind::Ephemeral || is_true(c.node.at(&f)) {
                continue;
            }
            out.emit(
                c.path(&f),
                c.locate(&f),
                format!(
                    "{} does not set securityContext.readOnlyRootFilesystem=true",
                    c.label()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_init_and_regular_containers_with_writable_root() {
        let f = run(
            &ReadOnlyRootFilesystem,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
  containers:
    - name: ro
      securityContext: {readOnlyRootFilesystem: true}
    - name: rw
      securityContext:
        readOnlyRootFilesystem: false
    - name: quoted
      securityContext: {readOnlyRootFilesystem: "true"}
  ephemeralContainers:
    - name: debug
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.initContainers[0].securityContext.readOnlyRootFilesystem",
                "spec.containers[1].securityContext.readOnlyRootFilesystem",
                "spec.containers[2].securityContext.readOnlyRootFilesystem",
            ]
        );
        assert_eq!(f[1].line, 13);
        assert!(f[0].message.starts_with("init container \"init\""));
    }

    #[test]
    fn read_only_and_windows_pods_are_clean() {
        let f = run(
            &ReadOnlyRootFilesystem,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext: {readOnlyRootFilesystem: true}
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers:
    - name: iis
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
