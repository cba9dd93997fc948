use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags containers that bind a `hostPort`.
    ///
    /// ## Why is this bad?
    /// A host port exposes the container on the node's own network interfaces, bypassing
    /// Services and NetworkPolicy, and limits scheduling to nodes where the port is free.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - containerPort: 8080
    ///     hostPort: 8080
    /// ```
    ///
    /// ## Use instead
    /// Remove `hostPort` and expose the port through a Service.
    pub struct HostPorts {
        id: "PSS105",
        name: "host-ports",
        title: "hostPort used",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("hostPorts", 0),
        cis: Some("5.2.13"),
        nsa: Some("Network separation and hardening"),
        mitre: &[],
    }
}

impl Check for HostPorts {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            for (i, p) in c
                .node
                .get("ports")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Some(hp) = p.get("hostPort") else {
                    continue;
                };
                let nonzero = match hp.as_i64() {
                    Some(v) => v != 0,
                    None => !hp.is_null(),
                };
                if nonzero {
                    out.emit(
                        node::join(&node::index(&c.path(&["ports"]), i), "hostPort"),
                        p.locate(&["hostPort"]),
                        format!(
                            "{} must not use hostPort {}",
                            c.label(),
                            hp.scalar_string().unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }
}
