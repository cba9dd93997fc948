use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::{quote_list, strings};
use palisade_model::Object;

/// Capabilities a container may add under the baseline level (the container runtime's
/// default set, without `NET_RAW`).
pub(crate) const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

declare_check! {
    /// ## What it does
    /// Flags containers that add Linux capabilities beyond the default set
    /// (`AUDIT_WRITE`, `CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`,
    /// `NET_BIND_SERVICE`, `SETFCAP`, `SETGID`, `SETPCAP`, `SETUID`, `SYS_CHROOT`).
    ///
    /// ## Why is this bad?
    /// Extra capabilities such as `SYS_ADMIN`, `NET_ADMIN` or `NET_RAW` hand the container
    /// parts of root's power over the node's kernel.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["NET_ADMIN"]
    /// ```
    ///
    /// ## Use instead
    /// Add only capabilities from the default set, or none.
    pub struct CapabilitiesBaseline {
        id: "PSS103",
        name: "capabilities-baseline",
        title: "Non-default capabilities added",
        severity: High,
        category: PodSecurity,
        pss: baseline("capabilities_baseline", 0),
        cis: Some("5.2.9"),
        nsa: Some("Pod security: restrict Linux capabilities"),
        mitre: &["T1611"],
    }
}

impl Check for CapabilitiesBaseline {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            let f = ["securityContext", "capabilities", "add"];
            let bad: Vec<String> = strings(c.node.at(&f))
                .into_iter()
                .filter(|cap| !DEFAULT_CAPABILITIES.contains(&cap.as_str()))
                .collect();
            if !bad.is_empty() {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} must not include {} in securityContext.capabilities.add",
                        c.label(),
                        quote_list(&bad)
                    ),
                );
            }
        }
    }
}
