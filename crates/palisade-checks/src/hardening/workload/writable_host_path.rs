use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags every `volumeMount` of a `hostPath` volume that does not set `readOnly: true`,
    /// in any container (init, regular, ephemeral). One finding per mount, at
    /// `volumeMounts[j].readOnly`.
    ///
    /// ## Why is this bad?
    /// A writable host mount lets the container change files the node, or other pods, rely
    /// on: planting binaries or cron jobs, rewriting configuration, filling the node's disk,
    /// or tampering with logs. Read-only access is enough for most agents that need a host
    /// path at all (log shippers, metrics exporters).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: shipper
    ///     volumeMounts:
    ///       - name: varlog
    ///         mountPath: /var/log
    /// volumes:
    ///   - name: varlog
    ///     hostPath:
    ///       path: /var/log
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    ///   - name: shipper
    ///     volumeMounts:
    ///       - name: varlog
    ///         mountPath: /var/log
    ///         readOnly: true
    /// ```
    pub struct WritableHostPath {
        id: "PAL112",
        name: "writable-host-path",
        title: "hostPath mounted writable",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: Some("5.2.12"),
        nsa: Some("Pod security: restrict hostPath mounts"),
        mitre: &["T1611"],
    }
}

impl Check for WritableHostPath {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        // Volume name → host path, for hostPath volumes.
        let host_volumes: Vec<(String, String)> = pod
            .spec
            .get("volumes")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter(|v| v.get("hostPath").is_some_and(|h| !h.is_null()))
            .filter_map(|v| {
                let name = v.get("name").and_then(Node::scalar_string)?;
                let path = v
                    .at(&["hostPath", "path"])
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                Some((name, path))
            })
            .collect();
        if host_volumes.is_empty() {
            return;
        }
        for c in pod.containers() {
            let mounts = c.node.get("volumeMounts").map(Node::items).unwrap_or(&[]);
            for (j, m) in mounts.iter().enumerate() {
                let Some(name) = m.get("name").and_then(Node::scalar_string) else {
                    continue;
                };
                let Some((_, host)) = host_volumes.iter().find(|(n, _)| *n == name) else {
                    continue;
                };
                if is_true(m.get("readOnly")) {
                    continue;
                }
                let at = m
                    .get("mountPath")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                out.emit(
                    node::join(&node::index(&c.path(&["volumeMounts"]), j), "readOnly"),
                    m.locate(&["readOnly"]),
                    format!(
                        "{} mounts hostPath volume {name:?} ({host}) at {at} without readOnly: true",
                        c.label()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_writable_host_path_mounts() {
        let f = run(
            &WritableHostPath,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: shipper}
spec:
  template:
    spec:
      initContainers:
        - name: init
          volumeMounts:
            - {name: varlog, mountPath: /host/log, readOnly: true}
      containers:
        - name: shipper
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: varlog
              mountPath: /var/log
              readOnly: false
            - name: state
              mountPath: /state
      volumes:
        - name: varlog
          hostPath: {path: /var/log}
        - name: state
          hostPath: {path: /var/lib/shipper}
        - name: tmp
          emptyDir: {}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.containers[0].volumeMounts[1].readOnly",
                "spec.template.spec.containers[0].volumeMounts[2].readOnly",
            ]
        );
        assert_eq!(f[0].line, 19);
        assert_eq!(f[1].line, 20);
        assert_eq!(
            f[1].message,
            "container \"shipper\" mounts hostPath volume \"state\" (/var/lib/shipper) at /state without readOnly: true"
        );
    }

    #[test]
    fn read_only_mounts_are_clean() {
        let f = run(
            &WritableHostPath,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      volumeMounts:
        - {name: varlog, mountPath: /var/log, readOnly: true}
        - {name: data, mountPath: /data}
  volumes:
    - {name: varlog, hostPath: {path: /var/log}}
    - {name: data, persistentVolumeClaim: {claimName: data}}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
