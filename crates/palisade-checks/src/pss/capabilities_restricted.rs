use super::restricted;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::{quote_list, strings};
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Requires every container to drop `ALL` capabilities and to add none except
    /// `NET_BIND_SERVICE` (v1.22+; pods with `spec.os.name: windows` are exempt from v1.25).
    /// Replaces the baseline capabilities control at the restricted level.
    ///
    /// ## Why is this bad?
    /// The runtime's default capability set still includes powers (`CHOWN`,
    /// `DAC_OVERRIDE`, `SETUID`, `NET_RAW`, ...) that most applications never need and
    /// attackers use to escalate.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["CHOWN"]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["ALL"]
    ///     add: ["NET_BIND_SERVICE"]   # only if it binds a port below 1024
    /// ```
    pub struct CapabilitiesRestricted {
        id: "PSS206",
        name: "capabilities-restricted",
        title: "Capabilities not dropped",
        severity: Medium,
        category: PodSecurity,
        pss: restricted("capabilities_restricted", 22, &["capabilities_baseline"]),
        cis: Some("5.2.9"),
        nsa: Some("Pod security: restrict Linux capabilities"),
        mitre: &["T1611"],
    }
}

impl Check for CapabilitiesRestricted {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if cx.pss_version.0 >= 25 && pod.is_windows() {
            return;
        }
        let drop = ["securityContext", "capabilities", "drop"];
        let add = ["securityContext", "capabilities", "add"];
        for c in pod.containers() {
            if !strings(c.node.at(&drop)).iter().any(|d| d == "ALL") {
                out.emit(
                    c.path(&drop),
                    c.locate(&drop),
                    format!(
                        "{} must set securityContext.capabilities.drop=[\"ALL\"]",
                        c.label()
                    ),
                );
            }
            let bad: Vec<String> = strings(c.node.at(&add))
                .into_iter()
                .filter(|a| a != "NET_BIND_SERVICE")
                .collect();
            if !bad.is_empty() {
                out.emit(
                    c.path(&add),
                    c.locate(&add),
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
