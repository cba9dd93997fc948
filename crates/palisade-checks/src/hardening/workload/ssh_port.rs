use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags container ports that look like SSH: `containerPort: 22`, or a port whose
    /// `name` is `ssh` (case-insensitive). Every container is checked; one finding per port
    /// entry.
    ///
    /// ## Why is this bad?
    /// An SSH server inside a container is a second, unaudited way in: it carries its own
    /// credentials or keys, bypasses `kubectl exec` authorization and audit logging, and is
    /// a favourite target for brute-force and lateral movement.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - name: ssh
    ///     containerPort: 22
    /// ```
    ///
    /// ## Use instead
    /// Remove the SSH server from the image and use `kubectl exec` or `kubectl debug`,
    /// which go through the API server's authentication, RBAC and audit log.
    pub struct SshPort {
        id: "PAL117",
        name: "ssh-port",
        title: "SSH port exposed",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &["T1021.004"],
    }
}

impl Check for SshPort {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            let ports = c.node.get("ports").map(Node::items).unwrap_or(&[]);
            for (i, p) in ports.iter().enumerate() {
                let number = p
                    .get("containerPort")
                    .and_then(Node::scalar_string)
                    .and_then(|s| s.trim().parse::<i64>().ok());
                let port_name = p.get("name").and_then(Node::as_str);
                let named_ssh = port_name.is_some_and(|n| n.eq_ignore_ascii_case("ssh"));
                let field = if number == Some(22) {
                    "containerPort"
                } else if named_ssh {
                    "name"
                } else {
                    continue;
                };
                let what = match number {
                    Some(n) => format!("port {n}"),
                    None => "a port".to_string(),
                };
                let name = match port_name {
                    Some(n) if named_ssh => format!(" named {n:?}"),
                    _ => String::new(),
                };
                out.emit(
                    node::join(&node::index(&c.path(&["ports"]), i), field),
                    p.locate(&[field]),
                    format!("{} exposes {what}{name}, an SSH server", c.label()),
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
    fn flags_port_22_and_ports_named_ssh() {
        let f = run(
            &SshPort,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: bastion}
spec:
  template:
    spec:
      containers:
        - name: a
          ports:
            - containerPort: 8080
            - containerPort: 22
        - name: b
          ports:
            - name: SSH
              containerPort: 2222
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.containers[0].ports[1].containerPort",
                "spec.template.spec.containers[1].ports[0].name",
            ]
        );
        assert_eq!(f[0].line, 12);
        assert_eq!(
            f[0].message,
            "container \"a\" exposes port 22, an SSH server"
        );
        assert_eq!(f[1].line, 15);
        assert_eq!(
            f[1].message,
            "container \"b\" exposes port 2222 named \"SSH\", an SSH server"
        );
    }

    #[test]
    fn other_ports_are_clean() {
        let f = run(
            &SshPort,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      ports:
        - {name: https, containerPort: 443}
        - {containerPort: 2200}
        - 22
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
