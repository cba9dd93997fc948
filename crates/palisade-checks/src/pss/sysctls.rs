use super::baseline;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags pod `securityContext.sysctls` outside the safe set for the chosen version:
    /// `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`, `net.ipv4.tcp_syncookies`,
    /// `net.ipv4.ping_group_range`, `net.ipv4.ip_unprivileged_port_start`; plus
    /// `net.ipv4.ip_local_reserved_ports` (v1.27+); `net.ipv4.tcp_keepalive_time`,
    /// `net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_keepalive_intvl`,
    /// `net.ipv4.tcp_keepalive_probes` (v1.29+); `net.ipv4.tcp_rmem`, `net.ipv4.tcp_wmem`
    /// (v1.32+); `net.ipv4.tcp_slow_start_after_idle`, `net.ipv4.tcp_notsent_lowat` (v1.37+).
    ///
    /// ## Why is this bad?
    /// Other sysctls are not isolated per pod: they change the whole node's kernel
    /// behaviour or weaken its protections.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   sysctls:
    ///     - name: kernel.msgmax
    ///       value: "65536"
    /// ```
    ///
    /// ## Use instead
    /// Use only the safe sysctls, or tune the node itself.
    pub struct Sysctls {
        id: "PSS110",
        name: "sysctls",
        title: "Unsafe sysctls",
        severity: Medium,
        category: PodSecurity,
        pss: baseline("sysctls", 0),
        cis: None,
        nsa: None,
        mitre: &[],
    }
}

/// The safe sysctls at Kubernetes minor version `minor`.
pub(crate) fn allowed(minor: u32) -> Vec<&'static str> {
    let mut a = vec![
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    if minor >= 27 {
        a.push("net.ipv4.ip_local_reserved_ports");
    }
    if minor >= 29 {
        a.extend([
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ]);
    }
    if minor >= 32 {
        a.extend(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
    }
    if minor >= 37 {
        a.extend([
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ]);
    }
    a
}

impl Check for Sysctls {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let ok = allowed(cx.pss_version.0);
        let f = ["securityContext", "sysctls"];
        for (i, s) in pod
            .spec
            .at(&f)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let name = s
                .get("name")
                .and_then(Node::scalar_string)
                .unwrap_or_default();
            if !ok.contains(&name.as_str()) {
                out.emit(
                    node::index(&pod.path("securityContext.sysctls"), i),
                    s.pos,
                    format!("forbidden sysctl {name:?}"),
                );
            }
        }
    }
}
