use super::capabilities;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::quote_list;
use crate::Severity;
use palisade_model::Object;

/// Capabilities that each give a container a path to the host or to other workloads.
const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "SYS_TIME",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
];

/// Capabilities that are reported as critical.
const CRITICAL: &[&str] = &["ALL", "SYS_ADMIN"];

declare_check! {
    /// ## What it does
    /// Flags containers that add a dangerous capability in
    /// `securityContext.capabilities.add`: `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`,
    /// `SYS_MODULE`, `SYS_RAWIO`, `SYS_BOOT`, `DAC_READ_SEARCH`, `BPF`, `PERFMON`, `SYS_TIME`,
    /// `MAC_ADMIN`, `MAC_OVERRIDE`, `SYSLOG`, or `ALL`. Names are matched case-insensitively,
    /// with or without the `CAP_` prefix. One finding per container lists every dangerous
    /// capability it adds; it is **critical** when the list includes `SYS_ADMIN` or `ALL`.
    ///
    /// ## Why is this bad?
    /// Each of these capabilities breaks an isolation boundary: `SYS_ADMIN` allows mounts
    /// and a large share of privileged kernel operations (it is "the new root"),
    /// `SYS_MODULE` loads kernel modules, `SYS_PTRACE` inspects other processes,
    /// `DAC_READ_SEARCH` bypasses file permissions (and enabled the classic "shocker"
    /// escape), `NET_ADMIN` reconfigures the pod network, `BPF`/`PERFMON` load and observe
    /// kernel programs, `SYS_TIME` changes the node's clock, `MAC_*` weaken AppArmor and
    /// SELinux, `SYSLOG` reads kernel addresses. `ALL` grants all of them.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["SYS_ADMIN"]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["ALL"]
    ///     add: ["NET_BIND_SERVICE"]   # only what the workload provably needs
    /// ```
    /// Agents that truly need such powers (CNI plugins, node monitoring) belong in a
    /// dedicated namespace with an exemption that records why.
    pub struct DangerousCapabilities {
        id: "PAL110",
        name: "dangerous-capabilities",
        title: "Dangerous capability added",
        severity: High,
        category: Workload,
        pss: None,
        cis: Some("5.2.9"),
        nsa: Some("Pod security: restrict Linux capabilities"),
        mitre: &["T1611"],
    }
}

impl Check for DangerousCapabilities {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["securityContext", "capabilities", "add"];
        for c in pod.containers() {
            let mut bad: Vec<String> = Vec::new();
            for a in capabilities(&c, "add") {
                if DANGEROUS.contains(&a.as_str()) && !bad.contains(&a) {
                    bad.push(a);
                }
            }
            if bad.is_empty() {
                continue;
            }
            let message = format!(
                "{} adds dangerous capabilities {}",
                c.label(),
                quote_list(&bad)
            );
            if bad.iter().any(|b| CRITICAL.contains(&b.as_str())) {
                out.emit_with(c.path(&f), c.locate(&f), message, Severity::Critical);
            } else {
                out.emit(c.path(&f), c.locate(&f), message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_dangerous_capabilities_with_graded_severity() {
        let f = run(
            &DangerousCapabilities,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      initContainers:
        - name: init
          securityContext:
            capabilities: {add: [cap_sys_admin]}
      containers:
        - name: net
          securityContext:
            capabilities:
              add: [NET_BIND_SERVICE, NET_ADMIN, CAP_SYS_PTRACE]
        - name: fine
          securityContext:
            capabilities: {add: [CHOWN, NET_BIND_SERVICE]}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.initContainers[0].securityContext.capabilities.add",
                "spec.template.spec.containers[0].securityContext.capabilities.add",
            ]
        );
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].message.contains("\"SYS_ADMIN\""));
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!(f[1].line, 16);
        assert!(
            f[1].message.ends_with("\"NET_ADMIN\", \"SYS_PTRACE\""),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn all_is_critical_and_odd_values_do_not_panic() {
        let f = run(
            &DangerousCapabilities,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      securityContext: {capabilities: {add: ["all"]}}
    - name: b
      securityContext: {capabilities: {add: SYS_ADMIN}}
    - name: c
      securityContext: {capabilities: null}
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.containers[0].securityContext.capabilities.add"]
        );
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn default_capabilities_are_clean() {
        let f = run(
            &DangerousCapabilities,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}
"#,
        );
        assert!(f.is_empty());
    }
}
