//! Components, platform profiles, discovery, and effective settings.
//!
//! A component is found from its running process (`/proc/<pid>/cmdline`); a control-plane
//! component that is not running but has a static pod manifest is read from the manifest
//! (a mounted, stopped node); k3s runs the components inside one `k3s server`/`k3s agent`
//! process, whose `--kube-apiserver-arg`-style flags and `/etc/rancher/k3s/config.yaml` carry
//! their arguments over k3s' own built-in ones. A component found nowhere is "not found".
//!
//! The effective setting is computed as the component computes it: a flag given on the
//! command line wins over the `--config` file, which wins over the default. Kubelet and
//! kube-proxy defaults differ when a config file is used (the v1beta1 KubeletConfiguration
//! defaults anonymous auth off and authorization to Webhook, the flags do not): both are in
//! the tables below. The config file is the one the running process names with `--config`,
//! never a guessed path.

use crate::flags::{split_list, Flags};
use crate::root::{ReadError, Root};
use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::{Diagnostic, Level, Node, Value};
use std::collections::{BTreeMap, HashMap};

/// A Kubernetes component that the benchmark inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    ApiServer,
    ControllerManager,
    Scheduler,
    Etcd,
    Kubelet,
    Proxy,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
        Component::Kubelet,
        Component::Proxy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
            Component::Kubelet => "kubelet",
            Component::Proxy => "kube-proxy",
        }
    }

    pub fn is_control_plane(self) -> bool {
        !matches!(self, Component::Kubelet | Component::Proxy)
    }

    /// The k3s/RKE2 flag that passes arguments to the embedded component.
    fn k3s_arg_flag(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver-arg",
            Component::ControllerManager => "kube-controller-manager-arg",
            Component::Scheduler => "kube-scheduler-arg",
            Component::Etcd => "etcd-arg",
            Component::Kubelet => "kubelet-arg",
            Component::Proxy => "kube-proxy-arg",
        }
    }

    /// `hyperkube <sub>` sub-command names.
    fn hyperkube_names(self) -> &'static [&'static str] {
        match self {
            Component::ApiServer => &["apiserver", "kube-apiserver"],
            Component::ControllerManager => &["controller-manager", "kube-controller-manager"],
            Component::Scheduler => &["scheduler", "kube-scheduler"],
            Component::Etcd => &[],
            Component::Kubelet => &["kubelet"],
            Component::Proxy => &["proxy", "kube-proxy"],
        }
    }
}

/// The platform: where binaries, manifests and files live, and what is managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    Kubeadm,
    Eks,
    Gke,
    Aks,
    K3s,
    Rke2,
}

/// Where one platform keeps things.
#[derive(Debug)]
pub struct Paths {
    pub manifests_dir: &'static str,
    /// The default administrative kubeconfig(s).
    pub admin_conf: &'static [&'static str],
    /// Used when the component's process does not name its `--kubeconfig`.
    pub scheduler_conf: &'static str,
    pub controller_manager_conf: &'static str,
    pub pki_dir: &'static str,
    pub cni_dirs: &'static [&'static str],
    pub kubelet_service: &'static [&'static str],
    /// k3s/RKE2 configuration file read by the distribution's own binary.
    pub distro_config: Option<&'static str>,
    /// The etcd data directory when etcd's `--data-dir` is not known.
    pub etcd_data_dir: &'static str,
}

const KUBEADM_PATHS: Paths = Paths {
    manifests_dir: "/etc/kubernetes/manifests",
    admin_conf: &[
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/super-admin.conf",
    ],
    scheduler_conf: "/etc/kubernetes/scheduler.conf",
    controller_manager_conf: "/etc/kubernetes/controller-manager.conf",
    pki_dir: "/etc/kubernetes/pki",
    cni_dirs: &["/etc/cni/net.d"],
    kubelet_service: &[
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/lib/systemd/system/kubelet.service",
        "/etc/systemd/system/kubelet.service",
    ],
    distro_config: None,
    etcd_data_dir: "/var/lib/etcd",
};

const MANAGED_PATHS: Paths = Paths {
    manifests_dir: "/etc/kubernetes/manifests",
    admin_conf: &[],
    scheduler_conf: "",
    controller_manager_conf: "",
    pki_dir: "",
    cni_dirs: &["/etc/cni/net.d"],
    kubelet_service: &[
        "/etc/systemd/system/kubelet.service",
        "/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf",
        "/lib/systemd/system/kubelet.service",
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    ],
    distro_config: None,
    etcd_data_dir: "",
};

const K3S_PATHS: Paths = Paths {
    manifests_dir: "/var/lib/rancher/k3s/agent/pod-manifests",
    admin_conf: &["/etc/rancher/k3s/k3s.yaml"],
    scheduler_conf: "/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig",
    controller_manager_conf: "/var/lib/rancher/k3s/server/cred/controller.kubeconfig",
    pki_dir: "/var/lib/rancher/k3s/server/tls",
    cni_dirs: &["/var/lib/rancher/k3s/agent/etc/cni/net.d"],
    kubelet_service: &[
        "/etc/systemd/system/k3s.service",
        "/etc/systemd/system/k3s-agent.service",
    ],
    distro_config: Some("/etc/rancher/k3s/config.yaml"),
    etcd_data_dir: "/var/lib/rancher/k3s/server/db/etcd",
};

const RKE2_PATHS: Paths = Paths {
    manifests_dir: "/var/lib/rancher/rke2/agent/pod-manifests",
    admin_conf: &["/etc/rancher/rke2/rke2.yaml"],
    scheduler_conf: "/var/lib/rancher/rke2/server/cred/scheduler.kubeconfig",
    controller_manager_conf: "/var/lib/rancher/rke2/server/cred/controller.kubeconfig",
    pki_dir: "/var/lib/rancher/rke2/server/tls",
    cni_dirs: &["/etc/cni/net.d"],
    kubelet_service: &[
        "/usr/local/lib/systemd/system/rke2-server.service",
        "/usr/local/lib/systemd/system/rke2-agent.service",
        "/lib/systemd/system/rke2-server.service",
        "/lib/systemd/system/rke2-agent.service",
    ],
    distro_config: Some("/etc/rancher/rke2/config.yaml"),
    etcd_data_dir: "/var/lib/rancher/rke2/server/db/etcd",
};

impl Profile {
    pub const ALL: [Profile; 6] = [
        Profile::Kubeadm,
        Profile::Eks,
        Profile::Gke,
        Profile::Aks,
        Profile::K3s,
        Profile::Rke2,
    ];

    pub fn parse(s: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Kubeadm => "kubeadm",
            Profile::Eks => "eks",
            Profile::Gke => "gke",
            Profile::Aks => "aks",
            Profile::K3s => "k3s",
            Profile::Rke2 => "rke2",
        }
    }

    /// The provider that runs the control plane, for managed platforms.
    pub fn managed_by(self) -> Option<&'static str> {
        match self {
            Profile::Eks => Some("Amazon EKS"),
            Profile::Gke => Some("Google GKE"),
            Profile::Aks => Some("Azure AKS"),
            _ => None,
        }
    }

    pub fn paths(self) -> &'static Paths {
        match self {
            Profile::Kubeadm => &KUBEADM_PATHS,
            Profile::Eks | Profile::Gke | Profile::Aks => &MANAGED_PATHS,
            Profile::K3s => &K3S_PATHS,
            Profile::Rke2 => &RKE2_PATHS,
        }
    }

    /// Executable names of a component's process.
    fn binaries(self, c: Component) -> &'static [&'static str] {
        match c {
            Component::ApiServer => &["kube-apiserver"],
            Component::ControllerManager => &["kube-controller-manager"],
            Component::Scheduler => &["kube-scheduler"],
            Component::Etcd => &["etcd"],
            Component::Kubelet => &["kubelet"],
            Component::Proxy => &["kube-proxy"],
        }
    }

    /// k3s' own arguments to its embedded components (k3s `pkg/daemons`), under the user's.
    fn builtin_args(self, c: Component) -> &'static [(&'static str, &'static str)] {
        if self != Profile::K3s {
            return &[];
        }
        const TLS: &str = "/var/lib/rancher/k3s/server/tls";
        let _ = TLS;
        match c {
            Component::ApiServer => &[
                ("anonymous-auth", "false"),
                ("profiling", "false"),
                ("authorization-mode", "Node,RBAC"),
                ("enable-admission-plugins", "NodeRestriction"),
                ("allow-privileged", "true"),
                (
                    "client-ca-file",
                    "/var/lib/rancher/k3s/server/tls/client-ca.crt",
                ),
                (
                    "tls-cert-file",
                    "/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt",
                ),
                (
                    "tls-private-key-file",
                    "/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.key",
                ),
                (
                    "kubelet-certificate-authority",
                    "/var/lib/rancher/k3s/server/tls/server-ca.crt",
                ),
                (
                    "kubelet-client-certificate",
                    "/var/lib/rancher/k3s/server/tls/client-kube-apiserver.crt",
                ),
                (
                    "kubelet-client-key",
                    "/var/lib/rancher/k3s/server/tls/client-kube-apiserver.key",
                ),
                (
                    "service-account-key-file",
                    "/var/lib/rancher/k3s/server/tls/service.key",
                ),
            ],
            Component::ControllerManager => &[
                ("profiling", "false"),
                ("bind-address", "127.0.0.1"),
                ("use-service-account-credentials", "true"),
                (
                    "root-ca-file",
                    "/var/lib/rancher/k3s/server/tls/server-ca.crt",
                ),
                (
                    "service-account-private-key-file",
                    "/var/lib/rancher/k3s/server/tls/service.key",
                ),
                (
                    "kubeconfig",
                    "/var/lib/rancher/k3s/server/cred/controller.kubeconfig",
                ),
            ],
            Component::Scheduler => &[
                ("profiling", "false"),
                ("bind-address", "127.0.0.1"),
                (
                    "kubeconfig",
                    "/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig",
                ),
            ],
            Component::Kubelet => &[
                ("anonymous-auth", "false"),
                ("authorization-mode", "Webhook"),
                ("authentication-token-webhook", "true"),
                ("read-only-port", "0"),
                ("client-ca-file", "/var/lib/rancher/k3s/agent/client-ca.crt"),
                (
                    "kubeconfig",
                    "/var/lib/rancher/k3s/agent/kubelet.kubeconfig",
                ),
                (
                    "tls-cert-file",
                    "/var/lib/rancher/k3s/agent/serving-kubelet.crt",
                ),
                (
                    "tls-private-key-file",
                    "/var/lib/rancher/k3s/agent/serving-kubelet.key",
                ),
            ],
            Component::Proxy => &[(
                "kubeconfig",
                "/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig",
            )],
            Component::Etcd => &[],
        }
    }
}

/// A component's `--config` file.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    pub path: String,
    pub state: ConfigState,
}

#[derive(Clone, Debug)]
pub enum ConfigState {
    Loaded(Node),
    Missing,
    /// Unreadable or unparsable, with the reason (also a diagnostic).
    Broken(String),
}

/// A component as it was found.
#[derive(Clone, Debug)]
pub struct Found {
    pub component: Component,
    /// Where its arguments were read: `/proc/<pid>/cmdline`, a manifest, or
    /// `/proc/<pid>/cmdline (k3s server)`.
    pub source: String,
    pub pid: Option<u32>,
    /// The static pod manifest, when there is one (its lines locate flags).
    pub manifest: Option<String>,
    /// The arguments given by the user (command line, manifest, k3s `*-arg` flags).
    pub flags: Flags,
    /// Arguments the distribution adds itself (k3s), under the user's.
    pub builtin: Flags,
    /// The 1-based manifest line of each flag, for findings.
    pub lines: HashMap<String, u32>,
    pub config: Option<ConfigFile>,
    /// The container image of the static pod manifest (its tag is the version).
    pub image: Option<String>,
}

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A command-line flag (or manifest argument).
    Flag,
    /// An argument the distribution passes itself.
    Builtin(&'static str),
    /// A key of the `--config` file.
    Config { path: String, key: String },
    /// The component's default; `assumed` says why the default had to be assumed.
    Default { assumed: Option<String> },
}

/// An effective setting: its value (`None` = unset, no default) and its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: String,
    pub value: Option<String>,
    pub origin: Origin,
    pub line: u32,
}

impl Setting {
    /// `--name=value (flag)`, `authentication.anonymous.enabled=false (config FILE)`, ...
    pub fn describe(&self, f: &Found) -> String {
        let v = self.value.as_deref().unwrap_or("<unset>");
        match &self.origin {
            Origin::Flag => format!("--{}={v} (flag, {})", self.name, f.source),
            Origin::Builtin(d) => format!("--{}={v} ({d} built-in argument)", self.name),
            Origin::Config { path, key } => format!("{key}={v} (config file {path})"),
            Origin::Default { assumed: None } => format!("--{}={v} (default)", self.name),
            Origin::Default { assumed: Some(why) } => {
                format!("--{}={v} (default assumed: {why})", self.name)
            }
        }
    }
}

/// A flag that a config file can also set: its dotted config key and its defaults with and
/// without a config file.
struct ConfigKey {
    flag: &'static str,
    key: &'static str,
    flag_default: Option<&'static str>,
    config_default: Option<&'static str>,
}

const fn ck(
    flag: &'static str,
    key: &'static str,
    flag_default: Option<&'static str>,
    config_default: Option<&'static str>,
) -> ConfigKey {
    ConfigKey {
        flag,
        key,
        flag_default,
        config_default,
    }
}

/// Kubelet flags and KubeletConfiguration (v1beta1) keys with their defaults.
const KUBELET_KEYS: &[ConfigKey] = &[
    ck(
        "anonymous-auth",
        "authentication.anonymous.enabled",
        Some("true"),
        Some("false"),
    ),
    ck(
        "authentication-token-webhook",
        "authentication.webhook.enabled",
        Some("false"),
        Some("true"),
    ),
    ck(
        "authorization-mode",
        "authorization.mode",
        Some("AlwaysAllow"),
        Some("Webhook"),
    ),
    ck(
        "client-ca-file",
        "authentication.x509.clientCAFile",
        None,
        None,
    ),
    ck("read-only-port", "readOnlyPort", Some("10255"), Some("0")),
    ck(
        "streaming-connection-idle-timeout",
        "streamingConnectionIdleTimeout",
        Some("4h0m0s"),
        Some("4h0m0s"),
    ),
    ck(
        "make-iptables-util-chains",
        "makeIPTablesUtilChains",
        Some("true"),
        Some("true"),
    ),
    ck("event-qps", "eventRecordQPS", Some("50"), Some("50")),
    ck("tls-cert-file", "tlsCertFile", None, None),
    ck("tls-private-key-file", "tlsPrivateKeyFile", None, None),
    ck(
        "rotate-certificates",
        "rotateCertificates",
        Some("false"),
        Some("false"),
    ),
    ck("tls-cipher-suites", "tlsCipherSuites", None, None),
    ck("pod-max-pids", "podPidsLimit", Some("-1"), Some("-1")),
    ck(
        "seccomp-default",
        "seccompDefault",
        Some("false"),
        Some("false"),
    ),
    ck(
        "protect-kernel-defaults",
        "protectKernelDefaults",
        Some("false"),
        Some("false"),
    ),
    ck(
        "rotate-server-certificates",
        "serverTLSBootstrap",
        Some("false"),
        Some("false"),
    ),
    ck("feature-gates", "featureGates", None, None),
];

/// kube-proxy flags and KubeProxyConfiguration keys.
const PROXY_KEYS: &[ConfigKey] = &[
    ck(
        "metrics-bind-address",
        "metricsBindAddress",
        Some("127.0.0.1:10249"),
        Some("127.0.0.1:10249"),
    ),
    ck("kubeconfig", "clientConnection.kubeconfig", None, None),
];

/// Flag defaults of components without a config file (as of Kubernetes 1.30–1.33).
fn flag_default(c: Component, flag: &str) -> Option<&'static str> {
    Some(match (c, flag) {
        (Component::ApiServer, "anonymous-auth") => "true",
        (Component::ApiServer, "profiling") => "true",
        (Component::ApiServer, "authorization-mode") => "AlwaysAllow",
        (Component::ApiServer, "service-account-lookup") => "true",
        (Component::ApiServer, "service-account-extend-token-expiration") => "true",
        (Component::ApiServer, "audit-log-maxage") => "0",
        (Component::ApiServer, "audit-log-maxbackup") => "0",
        (Component::ApiServer, "audit-log-maxsize") => "0",
        (Component::ApiServer, "request-timeout") => "1m0s",
        (Component::ControllerManager | Component::Scheduler, "profiling") => "true",
        (Component::ControllerManager | Component::Scheduler, "bind-address") => "0.0.0.0",
        (Component::ControllerManager, "use-service-account-credentials") => "false",
        (Component::ControllerManager, "terminated-pod-gc-threshold") => "12500",
        (Component::Etcd, "client-cert-auth") => "false",
        (Component::Etcd, "peer-client-cert-auth") => "false",
        (Component::Etcd, "auto-tls") => "false",
        (Component::Etcd, "peer-auto-tls") => "false",
        (Component::Proxy, "metrics-bind-address") => "127.0.0.1:10249",
        _ => return None,
    })
}

/// Admission plugins the API server enables when `--enable-admission-plugins` does not
/// name them (Kubernetes 1.30–1.33 `DefaultOffAdmissionPlugins` complement, the ones the
/// benchmark asks about).
pub const DEFAULT_ADMISSION_PLUGINS: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

fn config_keys(c: Component) -> &'static [ConfigKey] {
    match c {
        Component::Kubelet => KUBELET_KEYS,
        Component::Proxy => PROXY_KEYS,
        _ => &[],
    }
}

/// Looks a dotted key up in a config tree; scalars as strings, lists comma-joined, maps as
/// `k=v` pairs (feature gates).
pub fn lookup(root: &Node, key: &str) -> Option<(String, u32)> {
    let path: Vec<&str> = key.split('.').collect();
    let n = root.at(&path)?;
    let line = n.pos.line;
    let s = match &n.value {
        Value::Null => return None,
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| i.scalar_string())
            .collect::<Vec<_>>()
            .join(","),
        Value::Map(entries) => entries
            .iter()
            .filter_map(|e| e.value.scalar_string().map(|v| format!("{}={v}", e.key)))
            .collect::<Vec<_>>()
            .join(","),
        _ => n.scalar_string()?,
    };
    Some((s, line))
}

impl Found {
    /// The effective value of a setting, named by its flag.
    pub fn setting(&self, flag: &str) -> Setting {
        let line = self.lines.get(flag).copied().unwrap_or(0);
        if let Some(v) = self.flags.get(flag) {
            return Setting {
                name: flag.into(),
                value: Some(v),
                origin: Origin::Flag,
                line,
            };
        }
        let keys = config_keys(self.component);
        let key = keys.iter().find(|k| k.flag == flag);
        let mut assumed = None;
        let mut config_used = false;
        if let (Some(k), Some(cfg)) = (key, &self.config) {
            match &cfg.state {
                ConfigState::Loaded(root) => {
                    config_used = true;
                    if let Some((v, l)) = lookup(root, k.key) {
                        return Setting {
                            name: flag.into(),
                            value: Some(v),
                            origin: Origin::Config {
                                path: cfg.path.clone(),
                                key: k.key.into(),
                            },
                            line: l,
                        };
                    }
                }
                ConfigState::Missing => {
                    assumed = Some(format!(
                        "config file {} (from --config) does not exist",
                        cfg.path
                    ))
                }
                ConfigState::Broken(why) => {
                    assumed = Some(format!("config file {} is unreadable: {why}", cfg.path))
                }
            }
        }
        if let Some(v) = self.builtin.get(flag) {
            return Setting {
                name: flag.into(),
                value: Some(v),
                origin: Origin::Builtin("k3s"),
                line: 0,
            };
        }
        let default = match key {
            Some(k) if config_used => k.config_default,
            Some(k) => k.flag_default,
            None => flag_default(self.component, flag),
        };
        Setting {
            name: flag.into(),
            value: default.map(String::from),
            origin: Origin::Default { assumed },
            line: 0,
        }
    }

    /// Whether a feature gate is on: `--feature-gates` (flag or config map) or the default.
    pub fn feature_gate(&self, gate: &str, default: bool) -> (bool, Setting) {
        let s = self.setting("feature-gates");
        let on = s
            .value
            .as_deref()
            .and_then(|v| {
                let (pairs, _) = crate::flags::feature_gates(v);
                pairs
                    .into_iter()
                    .rev()
                    .find(|(k, _)| k == gate)
                    .map(|p| p.1)
            })
            .unwrap_or(default);
        (on, s)
    }

    /// The admission plugins in effect: defaults plus `--enable-admission-plugins` minus
    /// `--disable-admission-plugins`.
    pub fn admission_plugins(&self) -> Vec<String> {
        let mut on: Vec<String> = DEFAULT_ADMISSION_PLUGINS
            .iter()
            .map(|s| s.to_string())
            .collect();
        for v in self.setting("enable-admission-plugins").value.iter() {
            for p in split_list(v) {
                if !on.contains(&p) {
                    on.push(p);
                }
            }
        }
        if let Some(d) = self.setting("disable-admission-plugins").value {
            let off = split_list(&d);
            on.retain(|p| !off.contains(p));
        }
        on
    }
}

/// Everything discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub found: BTreeMap<Component, Found>,
    pub processes: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl Discovery {
    pub fn get(&self, c: Component) -> Option<&Found> {
        self.found.get(&c)
    }
}

/// Reads a YAML or JSON file into one tree; errors become a `Broken` state and a diagnostic
/// with file and line.
pub fn load_tree(root: &Root, path: &str, diags: &mut Vec<Diagnostic>) -> ConfigState {
    match root.read(path) {
        Err(ReadError::NotFound) => ConfigState::Missing,
        Err(ReadError::Other(e)) => {
            diags.push(Diagnostic::new(
                Level::Error,
                path,
                0,
                format!("cannot read: {e}"),
            ));
            ConfigState::Broken(e)
        }
        Ok(text) => parse_tree(&text, path, diags),
    }
}

/// Parses text as one YAML/JSON document.
pub fn parse_tree(text: &str, path: &str, diags: &mut Vec<Diagnostic>) -> ConfigState {
    let docs = parse_documents(text, Limits::default());
    for d in docs {
        match d.result {
            Ok(Some(n)) => return ConfigState::Loaded(n),
            Ok(None) => continue,
            Err(e) => {
                diags.push(Diagnostic::new(
                    Level::Error,
                    path,
                    e.pos.line,
                    format!("cannot parse: {}", e.message),
                ));
                return ConfigState::Broken(format!("line {}: {}", e.pos.line, e.message));
            }
        }
    }
    ConfigState::Loaded(Node::bare(Value::Map(Vec::new())))
}

fn matches_binary(p: &crate::root::Process, profile: Profile, c: Component) -> Option<usize> {
    let exe = p.exe();
    if profile.binaries(c).contains(&exe) {
        return Some(1);
    }
    if exe == "hyperkube" {
        let sub = p.args.get(1)?;
        if c.hyperkube_names().contains(&sub.as_str()) {
            return Some(2);
        }
    }
    None
}

/// The container command and args of a static pod manifest, with each flag's line.
fn manifest_args(tree: &Node) -> (Vec<String>, HashMap<String, u32>, Option<String>) {
    let mut args = Vec::new();
    let mut lines = HashMap::new();
    let Some(c) = tree
        .at(&["spec", "containers"])
        .and_then(|c| c.items().first())
    else {
        return (args, lines, None);
    };
    let image = c.get("image").and_then(|i| i.scalar_string());
    for field in ["command", "args"] {
        for item in c.get(field).map(|n| n.items()).unwrap_or(&[]) {
            if let Some(s) = item.scalar_string() {
                if let Some(body) = s.strip_prefix("--") {
                    let name = body.split('=').next().unwrap_or(body).to_string();
                    lines.entry(name).or_insert(item.pos.line);
                }
                args.push(s);
            }
        }
    }
    (args, lines, image)
}

/// The file of a control-plane component's static pod manifest.
pub fn manifest_path(profile: Profile, c: Component) -> Option<String> {
    if !c.is_control_plane() || profile.managed_by().is_some() {
        return None;
    }
    Some(format!(
        "{}/{}.yaml",
        profile.paths().manifests_dir,
        c.name()
    ))
}

/// Reads a k3s/RKE2 `config.yaml` into flags (`key: value` or `key: [values]`).
fn distro_config_flags(root: &Root, path: &str, diags: &mut Vec<Diagnostic>) -> Flags {
    let mut f = Flags::default();
    let mut files = vec![path.to_string()];
    let dropins = format!("{path}.d");
    for name in root.list_dir(&dropins) {
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            files.push(format!("{dropins}/{name}"));
        }
    }
    for file in files {
        if let ConfigState::Loaded(tree) = load_tree(root, &file, diags) {
            for e in tree.entries() {
                let key = e.key.trim_end_matches('+');
                match &e.value.value {
                    Value::Seq(items) => {
                        for i in items {
                            if let Some(s) = i.scalar_string() {
                                f.push_pair(&format!("{key}={s}"));
                            }
                        }
                    }
                    _ => {
                        if let Some(s) = e.value.scalar_string() {
                            f.push_pair(&format!("{key}={s}"));
                        }
                    }
                }
            }
        }
    }
    f
}

/// Finds every component on the node under `root`.
pub fn discover(root: &Root, profile: Profile) -> Discovery {
    let mut d = Discovery::default();
    let (procs, diags) = root.processes();
    d.diagnostics.extend(diags);
    d.processes = procs.len();

    // k3s: one process runs everything.
    if profile == Profile::K3s {
        if let Some(p) = procs.iter().find(|p| {
            p.exe() == "k3s"
                && matches!(p.args.get(1).map(String::as_str), Some("server" | "agent"))
        }) {
            let server = p.args.get(1).map(String::as_str) == Some("server");
            let cli = Flags::parse(&p.args[2..]);
            let cfg_path = cli
                .get("config")
                .or_else(|| cli.get("c"))
                .unwrap_or_else(|| K3S_PATHS.distro_config.unwrap_or_default().to_string());
            let mut all = distro_config_flags(root, &cfg_path, &mut d.diagnostics);
            all.flags.extend(cli.flags.iter().cloned());
            let etcd = all.get("cluster-init").as_deref() == Some("true")
                || root.exists(K3S_PATHS.etcd_data_dir);
            for c in Component::ALL {
                let present = match c {
                    Component::Kubelet | Component::Proxy => {
                        !(server && all.get("disable-agent").as_deref() == Some("true"))
                    }
                    Component::Etcd => server && etcd,
                    _ => server,
                };
                if !present {
                    continue;
                }
                let mut flags = Flags::default();
                for v in all.all(c.k3s_arg_flag()) {
                    flags.push_pair(&v);
                }
                let mut builtin = Flags::default();
                for (k, v) in profile.builtin_args(c) {
                    builtin.push_pair(&format!("{k}={v}"));
                }
                if c == Component::ApiServer
                    && all.get("secrets-encryption").as_deref() == Some("true")
                {
                    builtin.push_pair("encryption-provider-config=/var/lib/rancher/k3s/server/cred/encryption-config.json");
                }
                if c == Component::Kubelet
                    && all.get("protect-kernel-defaults").as_deref() == Some("true")
                {
                    builtin.push_pair("protect-kernel-defaults=true");
                }
                let mut found = Found {
                    component: c,
                    source: format!(
                        "{} (k3s {})",
                        p.source(),
                        if server { "server" } else { "agent" }
                    ),
                    pid: Some(p.pid),
                    manifest: None,
                    flags,
                    builtin,
                    lines: HashMap::new(),
                    config: None,
                    image: None,
                };
                attach_config(root, &mut found, &mut d.diagnostics);
                d.found.insert(c, found);
            }
        }
        return d;
    }

    for c in Component::ALL {
        if c.is_control_plane() && profile.managed_by().is_some() {
            continue;
        }
        let manifest = manifest_path(profile, c).filter(|m| root.exists(m));
        let mut mtree = None;
        if let Some(m) = &manifest {
            if let ConfigState::Loaded(t) = load_tree(root, m, &mut d.diagnostics) {
                mtree = Some(t);
            }
        }
        let (margs, lines, image) = mtree.as_ref().map(manifest_args).unwrap_or_default();
        let proc = procs
            .iter()
            .find_map(|p| matches_binary(p, profile, c).map(|skip| (p, skip)));
        let mut found = match proc {
            Some((p, skip)) => Found {
                component: c,
                source: p.source(),
                pid: Some(p.pid),
                manifest: manifest.clone(),
                flags: Flags::parse(&p.args[skip.min(p.args.len())..]),
                builtin: Flags::default(),
                lines,
                config: None,
                image: image.clone(),
            },
            None if !margs.is_empty() => Found {
                component: c,
                source: manifest.clone().unwrap_or_default(),
                pid: None,
                manifest: manifest.clone(),
                flags: Flags::parse(&margs[1..]),
                builtin: Flags::default(),
                lines,
                config: None,
                image,
            },
            None => continue,
        };
        if profile == Profile::Rke2 {
            if let Some(cfg) = profile.paths().distro_config {
                let all = distro_config_flags(root, cfg, &mut d.diagnostics);
                let mut extra = Flags::default();
                for v in all.all(c.k3s_arg_flag()) {
                    extra.push_pair(&v);
                }
                // The RKE2 supervisor writes these into the manifests/command lines it starts;
                // a running process already shows them, so they only fill gaps.
                for f in extra.flags {
                    if !found.flags.contains(&f.name) {
                        found.flags.flags.push(f);
                    }
                }
            }
        }
        attach_config(root, &mut found, &mut d.diagnostics);
        d.found.insert(c, found);
    }
    d
}

fn attach_config(root: &Root, found: &mut Found, diags: &mut Vec<Diagnostic>) {
    if !matches!(found.component, Component::Kubelet | Component::Proxy) {
        return;
    }
    if let Some(path) = found.flags.get("config") {
        let path = found.host_path(root, &path);
        let state = load_tree(root, &path, diags);
        found.config = Some(ConfigFile { path, state });
    }
}

impl Found {
    /// A path the component names, as seen from the node: the path itself when it exists
    /// there, else the same path inside the process's own filesystem
    /// (`/proc/<pid>/root/...`, what a containerised kube-proxy or a static pod sees; needs
    /// hostPID), else the path itself (which does not exist).
    pub fn host_path(&self, root: &Root, path: &str) -> String {
        if root.exists(path) || !path.starts_with('/') {
            return path.to_string();
        }
        match self.pid {
            Some(pid) => {
                let inner = format!("/proc/{pid}/root{path}");
                if root.exists(&inner) {
                    inner
                } else {
                    path.to_string()
                }
            }
            None => path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(c: Component, args: &[&str], config: Option<&str>) -> Found {
        let mut diags = Vec::new();
        Found {
            component: c,
            source: "/proc/1/cmdline".into(),
            pid: Some(1),
            manifest: None,
            flags: Flags::parse(args),
            builtin: Flags::default(),
            lines: HashMap::new(),
            image: None,
            config: config.map(|text| ConfigFile {
                path: "/cfg.yaml".into(),
                state: parse_tree(text, "/cfg.yaml", &mut diags),
            }),
        }
    }

    #[test]
    fn flag_over_config_over_default() {
        let f = found(
            Component::Kubelet,
            &["--read-only-port=10255"],
            Some("readOnlyPort: 0\nauthorization:\n  mode: Webhook\n"),
        );
        let s = f.setting("read-only-port");
        assert_eq!(
            (s.value.as_deref(), &s.origin),
            (Some("10255"), &Origin::Flag)
        );
        let s = f.setting("authorization-mode");
        assert_eq!(s.value.as_deref(), Some("Webhook"));
        assert!(matches!(s.origin, Origin::Config { .. }));
        // Config file in use: the config default applies (anonymous auth off).
        let s = f.setting("anonymous-auth");
        assert_eq!(s.value.as_deref(), Some("false"));
        // No config file: the flag default applies (anonymous auth on).
        let f = found(Component::Kubelet, &[], None);
        assert_eq!(f.setting("anonymous-auth").value.as_deref(), Some("true"));
        assert_eq!(
            f.setting("authorization-mode").value.as_deref(),
            Some("AlwaysAllow")
        );
    }

    #[test]
    fn missing_config_says_what_was_assumed() {
        let mut f = found(Component::Kubelet, &["--config=/nope.yaml"], None);
        f.config = Some(ConfigFile {
            path: "/nope.yaml".into(),
            state: ConfigState::Missing,
        });
        let s = f.setting("authorization-mode");
        assert_eq!(s.value.as_deref(), Some("AlwaysAllow"));
        assert!(
            s.describe(&f)
                .contains("/nope.yaml (from --config) does not exist"),
            "{}",
            s.describe(&f)
        );
    }

    #[test]
    fn admission_plugins_enable_and_disable() {
        let f = found(
            Component::ApiServer,
            &[
                "--enable-admission-plugins=NodeRestriction,AlwaysAdmit",
                "--disable-admission-plugins=ServiceAccount",
            ],
            None,
        );
        let p = f.admission_plugins();
        assert!(p.contains(&"NodeRestriction".to_string()));
        assert!(p.contains(&"NamespaceLifecycle".to_string()));
        assert!(!p.contains(&"ServiceAccount".to_string()));
    }
}

#[cfg(test)]
mod discovery_tests {
    use super::*;

    fn write(root: &std::path::Path, path: &str, text: &[u8]) {
        let p = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn a_containerised_process_config_is_read_through_its_root() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "/proc/31/cmdline",
            b"/usr/local/bin/kube-proxy\0--config=/var/lib/kube-proxy/config.conf\0",
        );
        write(
            d.path(),
            "/proc/31/root/var/lib/kube-proxy/config.conf",
            b"kind: KubeProxyConfiguration\nmetricsBindAddress: 0.0.0.0:10249\n",
        );
        let disc = discover(&Root::new(d.path()), Profile::Kubeadm);
        let p = disc.get(Component::Proxy).unwrap();
        assert_eq!(
            p.config.as_ref().unwrap().path,
            "/proc/31/root/var/lib/kube-proxy/config.conf"
        );
        assert_eq!(
            p.setting("metrics-bind-address").value.as_deref(),
            Some("0.0.0.0:10249")
        );
    }

    #[test]
    fn rke2_config_fills_flags_the_process_does_not_show() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "/proc/7/cmdline",
            b"kube-apiserver\0--profiling=false\0--anonymous-auth=false\0",
        );
        write(
            d.path(),
            "/etc/rancher/rke2/config.yaml",
            b"kube-apiserver-arg:\n  - audit-log-maxage=30\n  - profiling=true\n",
        );
        let disc = discover(&Root::new(d.path()), Profile::Rke2);
        let api = disc.get(Component::ApiServer).unwrap();
        assert_eq!(api.setting("audit-log-maxage").value.as_deref(), Some("30"));
        // The running process shows --profiling=false: it wins over the config file.
        assert_eq!(api.setting("profiling").value.as_deref(), Some("false"));
        assert!(disc.get(Component::Etcd).is_none());
    }

    #[test]
    fn hyperkube_and_manifest_only_components() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "/proc/9/cmdline",
            b"/hyperkube\0kubelet\0--read-only-port=0\0",
        );
        write(
            d.path(),
            "/etc/kubernetes/manifests/kube-scheduler.yaml",
            b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: s\n    image: registry.k8s.io/kube-scheduler:v1.36.0\n    command:\n    - kube-scheduler\n    - --profiling=false\n",
        );
        let disc = discover(&Root::new(d.path()), Profile::Kubeadm);
        let k = disc.get(Component::Kubelet).unwrap();
        assert_eq!(k.setting("read-only-port").value.as_deref(), Some("0"));
        let s = disc.get(Component::Scheduler).unwrap();
        assert_eq!(s.source, "/etc/kubernetes/manifests/kube-scheduler.yaml");
        assert_eq!(s.pid, None);
        let p = s.setting("profiling");
        assert_eq!((p.value.as_deref(), p.line), (Some("false"), 9));
        assert!(disc.get(Component::ApiServer).is_none());
        // A managed profile never looks for the control plane.
        let disc = discover(&Root::new(d.path()), Profile::Gke);
        assert!(disc.get(Component::Scheduler).is_none() && disc.get(Component::Kubelet).is_some());
    }
}
