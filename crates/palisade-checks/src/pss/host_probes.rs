use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Flags probes (`livenessProbe`, `readinessProbe`, `startupProbe`) and lifecycle
    /// handlers (`postStart`, `preStop`) whose `httpGet.host` or `tcpSocket.host` is set
    /// (v1.34+).
    ///
    /// ## Why is this bad?
    /// The kubelet runs probes and handlers from the node. A custom host turns them into a
    /// server-side request forgery primitive: the kubelet will connect to any address the
    /// pod's author names, including node-local and cloud metadata endpoints.
    ///
    /// ## Example
    /// ```yaml
    /// livenessProbe:
    ///   httpGet:
    ///     host: 169.254.169.254
    ///     path: /latest/meta-data
    ///     port: 80
    /// ```
    ///
    /// ## Use instead
    /// Leave `host` unset: the probe targets the pod's own IP.
    pub struct HostProbesAndLifecycle {
        id: "PSS112",
        name: "host-probes-and-lifecycle",
        title: "Probe or lifecycle handler with a custom host",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("hostProbesAndHostLifecycle", 34),
        cis: None,
        nsa: None,
        mitre: &["T1090"],
    }
}

impl Check for HostProbesAndLifecycle {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let handlers: [&[&str]; 5] = [
            &["livenessProbe"],
            &["readinessProbe"],
            &["startupProbe"],
            &["lifecycle", "postStart"],
            &["lifecycle", "preStop"],
        ];
        for c in pod.containers() {
            for h in handlers {
                for action in ["httpGet", "tcpSocket"] {
                    let mut f: Vec<&str> = h.to_vec();
                    f.extend([action, "host"]);
                    let host = c
                        .node
                        .at(&f)
                        .and_then(Node::scalar_string)
                        .unwrap_or_default();
                    if !host.is_empty() {
                        out.emit(
                            c.path(&f),
                            c.locate(&f),
                            format!("{} must not set {} to {host:?}", c.label(), f.join(".")),
                        );
                    }
                }
            }
        }
    }
}
