use super::baseline;
use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags pods that share the host's network, PID or IPC namespace (`hostNetwork`,
    /// `hostPID`, `hostIPC`).
    ///
    /// ## Why is this bad?
    /// Host namespaces let a container see and talk to every process, socket and shared
    /// memory segment on the node: sniff traffic, signal or `ptrace` host processes, reach
    /// services bound to localhost, and bypass NetworkPolicy.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true
    ///   hostPID: true
    /// ```
    ///
    /// ## Use instead
    /// Remove the fields (they default to `false`); expose ports through a Service.
    pub struct HostNamespaces {
        id: "PSS101",
        name: "host-namespaces",
        title: "Host namespaces shared",
        severity: High,
        category: PodSecurity,
        pss: baseline("hostNamespaces", 0),
        cis: Some("5.2.3"),
        nsa: Some("Pod security: restrict host namespaces"),
        mitre: &["T1611"],
    }
}

impl Check for HostNamespaces {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if is_true(pod.spec.get(field)) {
                out.emit(
                    pod.path(field),
                    pod.locate(&[field]),
                    format!("pod must not set {field}=true"),
                );
            }
        }
    }
}
