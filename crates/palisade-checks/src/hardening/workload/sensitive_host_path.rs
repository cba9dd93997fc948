use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::Severity;
use palisade_model::{node, Node, Object};

/// Container runtime sockets (Linux paths; `/var/run` is usually a link to `/run`).
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/dockershim.sock",
    "/run/dockershim.sock",
    "/run/k3s/containerd/containerd.sock",
];

/// Directories that hold a runtime socket and the runtime's state: anything inside is critical.
const RUNTIME_DIRS: &[&str] = &[
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/run/k3s/containerd",
];

/// Windows named pipes of container runtimes (compared case-insensitively).
const RUNTIME_PIPES: &[&str] = &[r"\\.\pipe\docker_engine", r"\\.\pipe\containerd-containerd"];

/// Host directories that are sensitive with everything under them.
const SENSITIVE_DIRS: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/root",
    "/home",
    "/boot",
    "/dev",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
];

declare_check! {
    /// ## What it does
    /// Grades `hostPath` volumes by what they expose, reporting at
    /// `volumes[i].hostPath.path`. The path is normalised first (repeated `/` collapsed,
    /// `.` and `..` resolved, trailing `/` removed), so `/etc/` and `/var/../etc` are `/etc`.
    ///
    /// - **Critical**: a container runtime socket (`/var/run/docker.sock`,
    ///   `/run/containerd/containerd.sock`, `/run/crio/crio.sock`, `/var/run/cri-dockerd.sock`,
    ///   their `/run` and `/var/run` variants, k3s' containerd socket, and the Windows pipes
    ///   `\\.\pipe\docker_engine` and `\\.\pipe\containerd-containerd`), anything inside the
    ///   runtime directories `/run/containerd`, `/run/crio` (and their `/var/run` forms), and
    ///   any directory that contains a socket: `/`, `/run`, `/var/run`, `/var`.
    /// - **High**: `/etc`, `/proc`, `/sys`, `/root`, `/home`, `/boot`, `/dev`,
    ///   `/var/lib/kubelet`, `/var/lib/docker`, `/var/lib/containerd` and anything under
    ///   them (e.g. `/etc/kubernetes`), and directories that contain one of them
    ///   (e.g. `/var/lib`).
    ///
    /// Other paths (e.g. `/var/log`, `/opt/data`) are not reported by this check; PSS104
    /// reports every hostPath volume regardless of its path.
    ///
    /// ## Why is this bad?
    /// The runtime socket is root on the node: whoever can talk to it can start a
    /// privileged container with the host's filesystem mounted. The other directories hold
    /// node credentials (kubelet and control-plane certificates, other pods' secrets under
    /// `/var/lib/kubelet`), kernel interfaces (`/proc`, `/sys`, `/dev`), or users' keys.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    ///   - name: docker
    ///     hostPath:
    ///       path: /var/run/docker.sock
    /// ```
    ///
    /// ## Use instead
    /// Do not give workloads the runtime socket: build images with a daemonless builder
    /// (BuildKit rootless, Kaniko), read container metadata from the Kubernetes API, and
    /// collect logs from `/var/log` read-only. Agents that genuinely need node access belong
    /// in a dedicated, locked-down namespace with an exemption that records why.
    pub struct SensitiveHostPath {
        id: "PAL111",
        name: "sensitive-host-path",
        title: "Sensitive host path mounted",
        severity: High,
        category: Workload,
        pss: None,
        cis: Some("5.2.12"),
        nsa: Some("Pod security: restrict hostPath mounts"),
        mitre: &["T1611"],
    }
}

/// Lexically normalises an absolute Unix path; `None` for anything else.
fn normalise(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// `path` is `base` or lies under it.
fn within(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why a host path is sensitive: severity and a phrase for the message.
fn classify(raw: &str) -> Option<(Severity, String)> {
    let trimmed = raw.trim();
    let pipe = trimmed.replace('/', "\\").to_ascii_lowercase();
    if RUNTIME_PIPES.contains(&pipe.as_str()) {
        return Some((
            Severity::Critical,
            format!("the host's container runtime pipe {trimmed}"),
        ));
    }
    let path = normalise(trimmed)?;
    if RUNTIME_SOCKETS.contains(&path.as_str()) {
        return Some((
            Severity::Critical,
            format!("the host's container runtime socket {path}"),
        ));
    }
    if let Some(dir) = RUNTIME_DIRS.iter().find(|d| within(&path, d)) {
        return Some((
            Severity::Critical,
            if path == *dir {
                format!("host path {path}, the container runtime's socket directory")
            } else {
                format!("host path {path}, inside the container runtime's directory {dir}")
            },
        ));
    }
    if path == "/" {
        return Some((
            Severity::Critical,
            "the host's root filesystem (/)".to_string(),
        ));
    }
    if let Some(sock) = RUNTIME_SOCKETS.iter().find(|s| within(s, &path)) {
        return Some((
            Severity::Critical,
            format!("host path {path}, which contains the container runtime socket {sock}"),
        ));
    }
    if let Some(dir) = SENSITIVE_DIRS.iter().find(|d| within(&path, d)) {
        return Some((
            Severity::High,
            if path == *dir {
                format!("sensitive host path {path}")
            } else {
                format!("sensitive host path {path} (inside {dir})")
            },
        ));
    }
    if let Some(dir) = SENSITIVE_DIRS.iter().find(|d| within(d, &path)) {
        return Some((
            Severity::High,
            format!("host path {path}, which contains the sensitive directory {dir}"),
        ));
    }
    None
}

impl Check for SensitiveHostPath {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let volumes = pod.spec.get("volumes").map(Node::items).unwrap_or(&[]);
        for (i, v) in volumes.iter().enumerate() {
            let f = ["hostPath", "path"];
            let Some(raw) = v.at(&f).and_then(Node::as_str) else {
                continue;
            };
            let Some((severity, what)) = classify(raw) else {
                continue;
            };
            let name = v
                .get("name")
                .and_then(Node::scalar_string)
                .unwrap_or_default();
            out.emit_with(
                node::join(
                    &node::join(&node::index(&pod.path("volumes"), i), "hostPath"),
                    "path",
                ),
                v.locate(&f),
                format!("volume {name:?} mounts {what}"),
                severity,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn classification() {
        let sev = |p: &str| classify(p).map(|(s, _)| s);
        assert_eq!(
            normalise("//var//run/./docker.sock/").as_deref(),
            Some("/var/run/docker.sock")
        );
        assert_eq!(normalise("/var/../etc").as_deref(), Some("/etc"));
        assert_eq!(normalise("/../..").as_deref(), Some("/"));
        assert_eq!(normalise("var/run"), None);
        for p in [
            "/var/run/docker.sock",
            "/run//containerd/containerd.sock",
            "/var/run/crio",
            "/run/containerd/io.containerd.runtime.v2.task",
            "/var/run/",
            "/run",
            "/",
            "//",
            "/var",
            r"\\.\pipe\docker_engine",
            "//./pipe/docker_engine",
        ] {
            assert_eq!(sev(p), Some(Severity::Critical), "{p}");
        }
        for p in [
            "/etc",
            "/etc/kubernetes/pki/",
            "/proc/sys",
            "/sys/fs/cgroup",
            "/root/.ssh",
            "/home",
            "/boot",
            "/dev/mem",
            "/var/lib/kubelet/pods",
            "/var/lib/docker/containers",
            "/var/lib/containerd",
            "/var/lib",
        ] {
            assert_eq!(sev(p), Some(Severity::High), "{p}");
        }
        for p in [
            "/var/log",
            "/var/log/pods",
            "/opt/data",
            "/etcetera",
            "/run/xtables.lock",
            "/var/run/netns",
            "/var/lib/kubeletx",
            "",
            "C:\\data",
        ] {
            assert_eq!(sev(p), None, "{p}");
        }
    }

    #[test]
    fn reports_at_host_path_with_graded_severity() {
        let f = run(
            &SensitiveHostPath,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      containers: [{name: a}]
      volumes:
        - name: logs
          hostPath: {path: /var/log}
        - name: docker
          hostPath:
            path: /var/run/docker.sock
            type: Socket
        - name: etc
          hostPath:
            path: /etc/
        - name: odd
          hostPath: {path: 42}
        - name: cfg
          configMap: {name: c}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.volumes[1].hostPath.path",
                "spec.template.spec.volumes[2].hostPath.path",
            ]
        );
        assert_eq!(f[0].line, 14);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            f[0].message,
            "volume \"docker\" mounts the host's container runtime socket /var/run/docker.sock"
        );
        assert_eq!(f[1].line, 18);
        assert_eq!(f[1].severity, Severity::High);
    }

    #[test]
    fn harmless_host_paths_are_clean() {
        let f = run(
            &SensitiveHostPath,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a}]
  volumes:
    - name: logs
      hostPath: {path: /var/log/}
    - name: data
      hostPath: {path: /mnt/data}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
