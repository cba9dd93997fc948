use super::capabilities;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags containers that keep the `NET_RAW` capability: they do not list `NET_RAW` or
    /// `ALL` in `securityContext.capabilities.drop`, or they list `NET_RAW` (or `ALL`) in
    /// `capabilities.add`. Capability names are matched case-insensitively, with or without
    /// the `CAP_` prefix. Every container is checked (init, regular, ephemeral); Windows pods
    /// (`spec.os.name: windows`) are not, as Linux capabilities do not apply to them.
    ///
    /// ## Why is this bad?
    /// `NET_RAW` is in the default capability set of most container runtimes. It lets a
    /// process craft arbitrary packets: ARP and DNS spoofing against other pods on the same
    /// node, and a long line of kernel exploits that start from a raw socket. Applications
    /// rarely need it (modern `ping` uses unprivileged ICMP sockets).
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["CHOWN"]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["ALL"]
    /// ```
    pub struct NetRawNotDropped {
        id: "PAL109",
        name: "net-raw-not-dropped",
        title: "NET_RAW capability not dropped",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: Some("5.2.8"),
        nsa: Some("Pod security: restrict Linux capabilities"),
        mitre: &["T1557.002"],
    }
}

impl Check for NetRawNotDropped {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.is_windows() {
            return;
        }
        let add = ["securityContext", "capabilities", "add"];
        let drop = ["securityContext", "capabilities", "drop"];
        for c in pod.containers() {
            let added: Vec<String> = capabilities(&c, "add")
                .into_iter()
                .filter(|a| a == "NET_RAW" || a == "ALL")
                .collect();
            if let Some(a) = added.first() {
                let message = if a == "ALL" {
                    format!(
                        "{} adds \"ALL\" capabilities, which include NET_RAW",
                        c.label()
                    )
                } else {
                    format!(
                        "{} adds NET_RAW in securityContext.capabilities.add",
                        c.label()
                    )
                };
                out.emit(c.path(&add), c.locate(&add), message);
            } else if !capabilities(&c, "drop")
                .iter()
                .any(|d| d == "NET_RAW" || d == "ALL")
            {
                out.emit(
                    c.path(&drop),
                    c.locate(&drop),
                    format!(
                        "{} does not drop NET_RAW (securityContext.capabilities.drop should list \"ALL\" or \"NET_RAW\")",
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
    fn flags_containers_that_keep_net_raw() {
        let f = run(
            &NetRawNotDropped,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      securityContext:
        capabilities: {drop: [all]}
  containers:
    - name: keeps
      securityContext:
        capabilities:
          drop: [CHOWN]
    - name: adds
      securityContext:
        capabilities:
          drop: [ALL]
          add: [cap_net_raw]
    - name: drops-net-raw
      securityContext:
        capabilities: {drop: [CAP_NET_RAW]}
    - name: bare
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.containers[0].securityContext.capabilities.drop",
                "spec.containers[1].securityContext.capabilities.add",
                "spec.containers[3].securityContext.capabilities.drop",
            ]
        );
        assert_eq!(f[0].line, 14);
        assert_eq!(f[1].line, 19);
        assert_eq!(
            f[1].message,
            "container \"adds\" adds NET_RAW in securityContext.capabilities.add"
        );
        assert_eq!(f[2].line, 23);
    }

    #[test]
    fn dropped_and_windows_are_clean() {
        let f = run(
            &NetRawNotDropped,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext:
            capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers: [{name: iis}]
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
