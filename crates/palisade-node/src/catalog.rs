//! The CIS Kubernetes Benchmark catalog (v1.10 and v1.12), written from the benchmark's
//! published control list: one entry per control, with what Palisade inspects, why it
//! matters and how to fix it. The differences between the two versions are data: each entry
//! carries its number and its Automated/Manual assessment status in each version, and the
//! few thresholds that changed (PKI certificate and CA file modes).
//!
//! Stable IDs are `CIS-<number in v1.12>`; a control that exists only in v1.10 is
//! `CIS-1.10-<number>`. Results print the number of the benchmark that was selected.

use crate::component::Component;
use palisade_report::{RuleInfo, Severity};
use std::fmt::Write as _;

/// A benchmark version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Benchmark {
    Cis110,
    Cis112,
}

impl Benchmark {
    pub const ALL: [Benchmark; 2] = [Benchmark::Cis110, Benchmark::Cis112];

    pub fn parse(s: &str) -> Option<Benchmark> {
        match s {
            "cis-1.10" | "1.10" => Some(Benchmark::Cis110),
            "cis-1.12" | "1.12" => Some(Benchmark::Cis112),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Benchmark::Cis110 => "cis-1.10",
            Benchmark::Cis112 => "cis-1.12",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Benchmark::Cis110 => "v1.10",
            Benchmark::Cis112 => "v1.12",
        }
    }

    fn idx(self) -> usize {
        match self {
            Benchmark::Cis110 => 0,
            Benchmark::Cis112 => 1,
        }
    }
}

/// The benchmark's assessment status for a control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Automated,
    Manual,
}

use Kind::{Automated as A, Manual as M};

/// A file (or set of files) a control inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRef {
    /// A control-plane component's static pod manifest.
    Manifest(Component),
    /// The default administrative kubeconfig (`admin.conf`, `super-admin.conf`).
    AdminConf,
    /// The scheduler's `--kubeconfig`.
    SchedulerConf,
    /// The controller manager's `--kubeconfig`.
    ControllerManagerConf,
    /// etcd's `--data-dir`.
    EtcdDataDir,
    /// The PKI directory and every file in it.
    PkiAll,
    /// `*.crt` files in the PKI directory.
    PkiCerts,
    /// `*.key` files in the PKI directory.
    PkiKeys,
    /// Files in the CNI configuration directories.
    CniFiles,
    /// The kubelet's systemd unit or drop-in.
    KubeletService,
    /// kube-proxy's `--kubeconfig` (flag or `clientConnection.kubeconfig`).
    ProxyKubeconfig,
    /// The kubelet's `--kubeconfig`.
    KubeletKubeconfig,
    /// The kubelet's client CA file (`--client-ca-file` / `authentication.x509.clientCAFile`).
    KubeletClientCa,
    /// The kubelet's `--config` file.
    KubeletConfig,
}

impl FileRef {
    pub fn describe(self) -> &'static str {
        match self {
            FileRef::Manifest(Component::ApiServer) => "the API server's static pod manifest",
            FileRef::Manifest(Component::ControllerManager) => {
                "the controller manager's static pod manifest"
            }
            FileRef::Manifest(Component::Scheduler) => "the scheduler's static pod manifest",
            FileRef::Manifest(_) => "etcd's static pod manifest",
            FileRef::AdminConf => "the default administrative kubeconfig (admin.conf, super-admin.conf)",
            FileRef::SchedulerConf => "the scheduler's kubeconfig (its --kubeconfig)",
            FileRef::ControllerManagerConf => "the controller manager's kubeconfig (its --kubeconfig)",
            FileRef::EtcdDataDir => "etcd's data directory (its --data-dir)",
            FileRef::PkiAll => "the PKI directory and every file in it",
            FileRef::PkiCerts => "every certificate (*.crt) in the PKI directory",
            FileRef::PkiKeys => "every private key (*.key) in the PKI directory",
            FileRef::CniFiles => "every file in the CNI configuration directories",
            FileRef::KubeletService => "the kubelet's systemd unit and drop-ins",
            FileRef::ProxyKubeconfig => "kube-proxy's kubeconfig (--kubeconfig or clientConnection.kubeconfig)",
            FileRef::KubeletKubeconfig => "the kubelet's --kubeconfig",
            FileRef::KubeletClientCa => "the kubelet's client CA file (--client-ca-file or authentication.x509.clientCAFile)",
            FileRef::KubeletConfig => "the kubelet's --config file",
        }
    }
}

/// A test on an effective setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Test {
    Eq(&'static str),
    NotEq(&'static str),
    /// Has a value (any).
    Set,
    /// Has no value.
    NotSet,
    /// The comma-separated list contains the item.
    Has(&'static str),
    /// The comma-separated list does not contain the item.
    NotHas(&'static str),
    /// A number at least this large.
    Gte(f64),
    /// A number greater than this.
    Gt(f64),
    /// A Go duration that is not zero.
    NonZeroDuration,
    /// An address on the loopback interface (`127.0.0.1`, `::1`, `localhost`, with or
    /// without a port).
    Loopback,
}

impl Test {
    pub fn describe(self) -> String {
        match self {
            Test::Eq(v) => format!("is `{v}`"),
            Test::NotEq(v) => format!("is not `{v}`"),
            Test::Set => "is set".into(),
            Test::NotSet => "is not set".into(),
            Test::Has(v) => format!("includes `{v}`"),
            Test::NotHas(v) => format!("does not include `{v}`"),
            Test::Gte(n) => format!("is at least {n}"),
            Test::Gt(n) => format!("is greater than {n}"),
            Test::NonZeroDuration => "is not a zero duration".into(),
            Test::Loopback => "is a loopback address".into(),
        }
    }
}

/// Controls that need their own logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `--anonymous-auth` or the `--authentication-config` file's `anonymous.enabled`.
    ApiServerAnonymous,
    /// EventRateLimit enabled and configured through `--admission-control-config-file`.
    EventRateLimit,
    /// `--encryption-provider-config` set and the file present.
    EncryptionConfigSet,
    /// The EncryptionConfiguration protects Secrets (first provider not `identity`).
    EncryptionProviders,
    /// Only strong TLS cipher suites.
    StrongCiphers(Component),
    /// etcd's client CA differs from the API server's client CA.
    EtcdUniqueCa,
    /// `--audit-policy-file` set and loadable.
    AuditPolicyExists,
    /// The audit policy covers Secrets, exec/attach/port-forward and has a catch-all.
    AuditPolicyCoverage,
    /// The kubelet rotates its serving certificate.
    KubeletServerCertRotation,
    /// The controller manager's RotateKubeletServerCertificate gate is on.
    ControllerManagerRotation,
    /// A positive pod PID limit.
    PodPidsLimit,
}

/// How a control is audited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Audit {
    /// Every listed setting of the component passes the test.
    Flag {
        c: Component,
        flags: &'static [&'static str],
        test: Test,
    },
    /// An admission plugin is (or is not) in effect.
    AdmissionPlugin {
        plugin: &'static str,
        enabled: bool,
    },
    /// File permissions at most `max[v1.10]`/`max[v1.12]`.
    Mode {
        file: FileRef,
        max: [u32; 2],
    },
    /// File owner `user:group`.
    Owner {
        file: FileRef,
        user: &'static str,
        group: &'static str,
    },
    Special(Special),
    /// Section 5: the scan checks tagged with the control's v1.10 number (and the RBAC risks
    /// of [`crate::eval::RBAC_RISKS`]) answer it from manifests; with no manifests, or no such
    /// check, it stays manual.
    Policy,
    /// Cannot be decided from the node: what to verify by hand.
    Manual(&'static str),
}

/// One control.
#[derive(Debug)]
pub struct CisCheck {
    /// Stable ID: `CIS-<v1.12 number>` or `CIS-1.10-<number>`.
    pub id: &'static str,
    /// Number and assessment status in v1.10 and v1.12 (`None`: not in that version).
    pub versions: [Option<(&'static str, Kind)>; 2],
    pub title: &'static str,
    pub severity: Severity,
    pub audit: Audit,
    pub why: &'static str,
    pub fix: &'static str,
}

impl CisCheck {
    pub fn in_benchmark(&self, b: Benchmark) -> Option<(&'static str, Kind)> {
        self.versions[b.idx()]
    }

    /// The control's v1.10 number (used to find section 5's mapped scan checks).
    pub fn v110(&self) -> Option<&'static str> {
        self.versions[0].map(|v| v.0)
    }

    /// The top-level section (`1`..`5`).
    pub fn section(&self) -> &'static str {
        let n = self.versions[1]
            .or(self.versions[0])
            .map(|v| v.0)
            .unwrap_or("");
        n.split('.').next().unwrap_or("")
    }

    /// Kebab-case name, e.g. `cis-1-2-1`.
    pub fn name(&self) -> String {
        self.id.to_ascii_lowercase().replace('.', "-")
    }

    fn audit_text(&self) -> String {
        match self.audit {
            Audit::Flag { c, flags, test } => {
                let names: Vec<String> = flags.iter().map(|f| format!("`--{f}`")).collect();
                let cfg = match c {
                    Component::Kubelet => " (or the matching key of the kubelet's `--config` file)",
                    Component::Proxy => " (or the matching key of kube-proxy's `--config` file)",
                    _ => "",
                };
                format!(
                    "Reads the effective {} of `{}`{cfg} — flag over config file over default — and passes when it {}.",
                    names.join(" and "),
                    c.name(),
                    test.describe()
                )
            }
            Audit::AdmissionPlugin { plugin, enabled } => format!(
                "Computes the API server's admission plugins in effect (the default set, plus `--enable-admission-plugins`, minus `--disable-admission-plugins`) and passes when `{plugin}` is {}.",
                if enabled { "among them" } else { "not among them" }
            ),
            Audit::Mode { file, max } => {
                if max[0] == max[1] {
                    format!("Stats {} and passes when the permissions are `{:o}` or more restrictive.", file.describe(), max[1])
                } else {
                    format!(
                        "Stats {} and passes when the permissions are `{:o}` (v1.10) / `{:o}` (v1.12) or more restrictive.",
                        file.describe(),
                        max[0],
                        max[1]
                    )
                }
            }
            Audit::Owner { file, user, group } => format!(
                "Stats {} and passes when the owner is `{user}:{group}` (names from the node's /etc/passwd and /etc/group).",
                file.describe()
            ),
            Audit::Special(s) => match s {
                Special::ApiServerAnonymous => "Reads `--anonymous-auth` of `kube-apiserver`, or `anonymous.enabled` of its `--authentication-config` file, and passes when anonymous requests are off.".into(),
                Special::EventRateLimit => "Passes when the `EventRateLimit` admission plugin is in effect and `--admission-control-config-file` names a file that configures it.".into(),
                Special::EncryptionConfigSet => "Passes when `--encryption-provider-config` names a file that exists.".into(),
                Special::EncryptionProviders => "Analyses the EncryptionConfiguration (see `palisade node encryption`) and passes when Secrets are encrypted by their first provider.".into(),
                Special::StrongCiphers(c) => format!("Reads `--tls-cipher-suites` of `{}` and passes when it is set and lists only AEAD (GCM or ChaCha20-Poly1305) ECDHE suites or TLS 1.3 suites.", c.name()),
                Special::EtcdUniqueCa => "Compares etcd's `--trusted-ca-file` with the API server's `--client-ca-file` and passes when they differ.".into(),
                Special::AuditPolicyExists => "Passes when `--audit-policy-file` names a Policy file that loads.".into(),
                Special::AuditPolicyCoverage => "Analyses the audit policy (see `palisade node audit-policy`) and passes when it has no high-severity gap.".into(),
                Special::KubeletServerCertRotation => "Passes when the kubelet requests its serving certificate from the cluster (`--rotate-server-certificates`/`serverTLSBootstrap`) and the `RotateKubeletServerCertificate` feature gate is not off.".into(),
                Special::ControllerManagerRotation => "Passes when the controller manager's `RotateKubeletServerCertificate` feature gate is on (it is by default).".into(),
                Special::PodPidsLimit => "Reads the kubelet's `--pod-max-pids`/`podPidsLimit` and passes when it is a positive number.".into(),
            },
            Audit::Policy => "Answered from manifests (`--manifests`): the Palisade scan checks tagged with this control (for 5.1.9 and 5.1.11, palisade-rbac's RBAC017 and RBAC014) run over them, and each of their findings is evidence. Without manifests the control is manual.".into(),
            Audit::Manual(what) => format!("Manual: {what}"),
        }
    }

    /// A failing configuration, generated from the audit.
    fn example(&self) -> String {
        match self.audit {
            Audit::Flag { c, flags, test } => {
                let bad = match test {
                    Test::Eq("false") => "=true".to_string(),
                    Test::Eq("true") => "=false".to_string(),
                    Test::Eq("0") => "=10255".to_string(),
                    Test::Eq(v) | Test::NotEq(v) if matches!(test, Test::NotEq(_)) => format!("={v}"),
                    Test::NotHas(v) => format!("={v}"),
                    Test::Has(v) => format!("=<a list without {v}>"),
                    Test::NotSet => "=<any value>".to_string(),
                    Test::Gte(n) => format!("={}", (n as i64 - 1).max(0)),
                    Test::Gt(_) | Test::NonZeroDuration => "=0".to_string(),
                    Test::Loopback => "=0.0.0.0".to_string(),
                    _ => String::new(),
                };
                if matches!(test, Test::Set) {
                    format!("```text\n{} ... (started without {})\n```", c.name(), flags.iter().map(|f| format!("--{f}")).collect::<Vec<_>>().join(" or "))
                } else {
                    format!("```text\n{} --{}{bad}\n```", c.name(), flags[0])
                }
            }
            Audit::AdmissionPlugin { plugin, enabled } => {
                if enabled {
                    format!("```text\nkube-apiserver --enable-admission-plugins=NodeRestriction   # no {plugin}\n```")
                } else {
                    format!("```text\nkube-apiserver --enable-admission-plugins=NodeRestriction,{plugin}\n```")
                }
            }
            Audit::Mode { file, .. } => format!("{} with permissions `644` (`-rw-r--r--`): readable by every local user.", capitalize(file.describe())),
            Audit::Owner { file, user, group } => format!("{} owned by `node:node` instead of `{user}:{group}`.", capitalize(file.describe())),
            Audit::Special(s) => match s {
                Special::ApiServerAnonymous => "```text\nkube-apiserver --anonymous-auth=true\n```".into(),
                Special::EventRateLimit => "```text\nkube-apiserver --enable-admission-plugins=NodeRestriction   # no EventRateLimit\n```".into(),
                Special::EncryptionConfigSet => "```text\nkube-apiserver ... (started without --encryption-provider-config)\n```".into(),
                Special::EncryptionProviders => "```yaml\nresources:\n  - resources: [secrets]\n    providers:\n      - identity: {}\n      - aescbc: {keys: [{name: k1, secret: <base64>}]}\n```".into(),
                Special::StrongCiphers(c) => format!("```text\n{} --tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA\n```", c.name()),
                Special::EtcdUniqueCa => "```text\netcd --trusted-ca-file=/etc/kubernetes/pki/ca.crt\nkube-apiserver --client-ca-file=/etc/kubernetes/pki/ca.crt\n```".into(),
                Special::AuditPolicyExists => "```text\nkube-apiserver --audit-log-path=/var/log/audit.log   # no --audit-policy-file\n```".into(),
                Special::AuditPolicyCoverage => "```yaml\nrules:\n  - level: RequestResponse   # logs Secret bodies\n```".into(),
                Special::KubeletServerCertRotation => "```yaml\nserverTLSBootstrap: false\n```".into(),
                Special::ControllerManagerRotation => "```text\nkube-controller-manager --feature-gates=RotateKubeletServerCertificate=false\n```".into(),
                Special::PodPidsLimit => "```yaml\npodPidsLimit: -1\n```".into(),
            },
            Audit::Policy => "A manifest that the checks answering this control flag (see their own examples in this catalog).".into(),
            Audit::Manual(_) => "Nothing a file or flag shows: the benchmark leaves this control to review.".into(),
        }
    }

    /// The documentation, in the `declare_check!` style of the scan checks.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## What it does\n{}.\n\n{}\n",
            self.title,
            self.audit_text()
        );
        let _ = writeln!(out, "## Why is this bad?\n{}\n", self.why);
        let _ = writeln!(out, "## Example\n{}\n", self.example());
        let _ = writeln!(out, "## Use instead\n{}\n", self.fix);
        let _ = writeln!(
            out,
            "## Audit evidence\nEach result shows the setting or file it judged and the value seen, with where it came from \
(flag on `/proc/<pid>/cmdline` or a manifest line, config file key, built-in argument, or default — and why a default was assumed). \
A component that is not running and has no manifest gives \"not found\", never pass or fail.\n"
        );
        out.push_str("## References\n");
        for b in Benchmark::ALL {
            if let Some((n, k)) = self.in_benchmark(b) {
                let _ = writeln!(
                    out,
                    "- CIS Kubernetes Benchmark {}, control {n} ({})",
                    b.version(),
                    if k == A { "Automated" } else { "Manual" }
                );
            }
        }
        out
    }

    pub fn tags(&self) -> Vec<String> {
        let mut t = vec![
            "cis-node".to_string(),
            format!("cis-section-{}", self.section()),
        ];
        for b in Benchmark::ALL {
            if let Some((n, k)) = self.in_benchmark(b) {
                t.push(format!("{}-{n}", b.as_str()));
                if k == M {
                    t.push(format!("{}-manual", b.as_str()));
                }
            }
        }
        t
    }

    pub fn rule_info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_string(),
            name: self.name(),
            title: self.title.to_string(),
            severity: self.severity,
            docs: self.markdown(),
            tags: self.tags(),
            help_uri: palisade_checks::meta::help_uri(self.id),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Section and group titles, for the kube-bench-like report.
pub fn group_title(b: Benchmark, number: &str) -> Option<&'static str> {
    Some(match number {
        "1" => "Control Plane Security Configuration",
        "1.1" => "Control Plane Node Configuration Files",
        "1.2" => "API Server",
        "1.3" => "Controller Manager",
        "1.4" => "Scheduler",
        "2" => "Etcd Node Configuration",
        "3" => "Control Plane Configuration",
        "3.1" => "Authentication and Authorization",
        "3.2" => "Logging",
        "4" => "Worker Node Security Configuration",
        "4.1" => "Worker Node Configuration Files",
        "4.2" => "Kubelet",
        "4.3" => "kube-proxy",
        "5" => "Kubernetes Policies",
        "5.1" => "RBAC and Service Accounts",
        "5.2" => "Pod Security Standards",
        "5.3" => "Network Policies and CNI",
        "5.4" => "Secrets Management",
        "5.5" => "Extensible Admission Control",
        "5.6" if b == Benchmark::Cis112 => "General Policies",
        "5.7" if b == Benchmark::Cis110 => "General Policies",
        _ => return None,
    })
}

const fn both(n: &'static str, k10: Kind, k12: Kind) -> [Option<(&'static str, Kind)>; 2] {
    [Some((n, k10)), Some((n, k12))]
}

use Component::{
    ApiServer as API, ControllerManager as CM, Etcd as ETCD, Kubelet as KL, Proxy as KP,
    Scheduler as SCH,
};
use Severity::{Critical, High, Info as Inf, Low, Medium};

macro_rules! cis {
    ($id:literal, $v:expr, $sev:expr, $title:literal, $audit:expr, $why:expr, $fix:expr) => {
        CisCheck {
            id: $id,
            versions: $v,
            severity: $sev,
            title: $title,
            audit: $audit,
            why: $why,
            fix: $fix,
        }
    };
}

const fn flag(c: Component, flags: &'static [&'static str], test: Test) -> Audit {
    Audit::Flag { c, flags, test }
}
const fn mode(file: FileRef, m: u32) -> Audit {
    Audit::Mode { file, max: [m, m] }
}
const fn root_owner(file: FileRef) -> Audit {
    Audit::Owner {
        file,
        user: "root",
        group: "root",
    }
}

const KUBECONFIG_WHY: &str = "The file holds credentials that authenticate to the API server; anyone who can read it acts with those credentials.";

/// The catalog, in benchmark order.
pub static CATALOG: &[CisCheck] = &[
    // 1.1 Control plane node configuration files
    cis!("CIS-1.1.1", both("1.1.1", A, A), High, "API server pod specification file permissions are 600 or more restrictive", mode(FileRef::Manifest(API), 0o600), "The static pod manifest decides the API server's flags; a writable manifest lets a local user turn off authentication or authorization.", "`chmod 600` the manifest (for kubeadm `/etc/kubernetes/manifests/kube-apiserver.yaml`)."),
    cis!("CIS-1.1.2", both("1.1.2", A, A), High, "API server pod specification file is owned by root:root", root_owner(FileRef::Manifest(API)), "The owner of the manifest can change it and so the API server's flags.", "`chown root:root` the manifest."),
    cis!("CIS-1.1.3", both("1.1.3", A, A), High, "Controller manager pod specification file permissions are 600 or more restrictive", mode(FileRef::Manifest(CM), 0o600), "The controller manager holds the service account signing key; its manifest decides which key and flags it uses.", "`chmod 600` the controller manager's manifest."),
    cis!("CIS-1.1.4", both("1.1.4", A, A), High, "Controller manager pod specification file is owned by root:root", root_owner(FileRef::Manifest(CM)), "The owner of the manifest controls the controller manager's flags.", "`chown root:root` the controller manager's manifest."),
    cis!("CIS-1.1.5", both("1.1.5", A, A), High, "Scheduler pod specification file permissions are 600 or more restrictive", mode(FileRef::Manifest(SCH), 0o600), "The scheduler decides where pods run; its manifest decides its flags and credentials.", "`chmod 600` the scheduler's manifest."),
    cis!("CIS-1.1.6", both("1.1.6", A, A), High, "Scheduler pod specification file is owned by root:root", root_owner(FileRef::Manifest(SCH)), "The owner of the manifest controls the scheduler's flags.", "`chown root:root` the scheduler's manifest."),
    cis!("CIS-1.1.7", both("1.1.7", A, A), High, "etcd pod specification file permissions are 600 or more restrictive", mode(FileRef::Manifest(ETCD), 0o600), "etcd stores every object of the cluster, Secrets included; its manifest decides its TLS settings.", "`chmod 600` etcd's manifest."),
    cis!("CIS-1.1.8", both("1.1.8", A, A), High, "etcd pod specification file is owned by root:root", root_owner(FileRef::Manifest(ETCD)), "The owner of etcd's manifest controls its TLS and client authentication settings.", "`chown root:root` etcd's manifest."),
    cis!("CIS-1.1.9", both("1.1.9", M, M), Medium, "Container Network Interface files permissions are 600 or more restrictive", mode(FileRef::CniFiles, 0o600), "CNI configuration decides pod networking; changing it can redirect or expose pod traffic.", "`chmod 600` the files in the CNI configuration directory (`/etc/cni/net.d`)."),
    cis!("CIS-1.1.10", both("1.1.10", M, M), Medium, "Container Network Interface files are owned by root:root", root_owner(FileRef::CniFiles), "The owner of the CNI configuration can change pod networking.", "`chown root:root` the files in the CNI configuration directory."),
    cis!("CIS-1.1.11", both("1.1.11", A, A), High, "etcd data directory permissions are 700 or more restrictive", mode(FileRef::EtcdDataDir, 0o700), "The data directory holds the whole cluster state, Secrets in the clear unless encryption at rest is on.", "`chmod 700` etcd's `--data-dir` (for kubeadm `/var/lib/etcd`)."),
    cis!("CIS-1.1.12", both("1.1.12", A, A), Medium, "etcd data directory is owned by etcd:etcd", Audit::Owner { file: FileRef::EtcdDataDir, user: "etcd", group: "etcd" }, "Only the etcd service account should be able to read or change the cluster's stored state.", "`chown etcd:etcd` etcd's `--data-dir` (create the user if etcd runs as root)."),
    cis!("CIS-1.1.13", both("1.1.13", A, A), Critical, "Default administrative credential files permissions are 600", mode(FileRef::AdminConf, 0o600), "admin.conf and super-admin.conf authenticate as cluster administrators (super-admin.conf as system:masters, which RBAC cannot restrict).", "`chmod 600 /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf`."),
    cis!("CIS-1.1.14", both("1.1.14", A, A), Critical, "Default administrative credential files are owned by root:root", root_owner(FileRef::AdminConf), KUBECONFIG_WHY, "`chown root:root` admin.conf and super-admin.conf."),
    cis!("CIS-1.1.15", both("1.1.15", A, A), High, "scheduler.conf permissions are 600 or more restrictive", mode(FileRef::SchedulerConf, 0o600), KUBECONFIG_WHY, "`chmod 600` the scheduler's kubeconfig (for kubeadm `/etc/kubernetes/scheduler.conf`)."),
    cis!("CIS-1.1.16", both("1.1.16", A, A), High, "scheduler.conf is owned by root:root", root_owner(FileRef::SchedulerConf), KUBECONFIG_WHY, "`chown root:root` the scheduler's kubeconfig."),
    cis!("CIS-1.1.17", both("1.1.17", A, A), High, "controller-manager.conf permissions are 600 or more restrictive", mode(FileRef::ControllerManagerConf, 0o600), KUBECONFIG_WHY, "`chmod 600` the controller manager's kubeconfig (for kubeadm `/etc/kubernetes/controller-manager.conf`)."),
    cis!("CIS-1.1.18", both("1.1.18", A, A), High, "controller-manager.conf is owned by root:root", root_owner(FileRef::ControllerManagerConf), KUBECONFIG_WHY, "`chown root:root` the controller manager's kubeconfig."),
    cis!("CIS-1.1.19", both("1.1.19", A, A), High, "Kubernetes PKI directory and files are owned by root:root", root_owner(FileRef::PkiAll), "The PKI directory holds the cluster's CA keys; whoever owns them can mint any identity.", "`chown -R root:root` the PKI directory (for kubeadm `/etc/kubernetes/pki`)."),
    cis!("CIS-1.1.20", both("1.1.20", M, M), Medium, "Kubernetes PKI certificate files permissions are restrictive (600 in v1.10, 644 in v1.12)", Audit::Mode { file: FileRef::PkiCerts, max: [0o600, 0o644] }, "Certificates are public, but a writable certificate lets a local user replace a CA the components trust.", "`chmod 644` (v1.12) or `600` (v1.10) the `*.crt` files of the PKI directory."),
    cis!("CIS-1.1.21", both("1.1.21", M, M), Critical, "Kubernetes PKI key files permissions are 600", mode(FileRef::PkiKeys, 0o600), "A readable CA or service account key lets a local user sign client certificates or service account tokens for any identity.", "`chmod 600` the `*.key` files of the PKI directory."),
    // 1.2 API server
    cis!("CIS-1.2.1", both("1.2.1", M, M), High, "API server anonymous requests are disabled", Audit::Special(Special::ApiServerAnonymous), "Anonymous requests reach the API as `system:anonymous`; any permission bound to it (or to `system:unauthenticated`) is open to the network.", "Set `--anonymous-auth=false`, or `anonymous: {enabled: false}` (or a narrow `conditions` list of health endpoints) in the `--authentication-config` file."),
    cis!("CIS-1.2.2", both("1.2.2", A, A), High, "API server does not use a static token file", flag(API, &["token-auth-file"], Test::NotSet), "Static tokens are long-lived, stored in plain text and cannot be revoked without restarting the API server.", "Remove `--token-auth-file` and use client certificates, OIDC or webhook token authentication."),
    cis!("CIS-1.2.3", both("1.2.3", M, M), Medium, "API server admission plugin DenyServiceExternalIPs is enabled", Audit::AdmissionPlugin { plugin: "DenyServiceExternalIPs", enabled: true }, "Service `externalIPs` let a user who can create Services intercept traffic to any address (CVE-2020-8554).", "Add `DenyServiceExternalIPs` to `--enable-admission-plugins`."),
    cis!("CIS-1.2.4", both("1.2.4", A, A), High, "API server authenticates to kubelets with a client certificate", flag(API, &["kubelet-client-certificate", "kubelet-client-key"], Test::Set), "Without a client certificate the API server cannot authenticate to kubelets, so kubelets must accept unauthenticated requests.", "Set `--kubelet-client-certificate` and `--kubelet-client-key`."),
    cis!("CIS-1.2.5", both("1.2.5", A, A), High, "API server verifies kubelet serving certificates", flag(API, &["kubelet-certificate-authority"], Test::Set), "Without a CA the API server does not verify the kubelet it talks to; logs, exec and port-forward traffic can be intercepted.", "Set `--kubelet-certificate-authority` to the CA that signs kubelet serving certificates."),
    cis!("CIS-1.2.6", both("1.2.6", A, A), Critical, "API server authorization mode is not AlwaysAllow", flag(API, &["authorization-mode"], Test::NotHas("AlwaysAllow")), "AlwaysAllow authorizes every authenticated request: every user and service account is a cluster administrator.", "Set `--authorization-mode=Node,RBAC`."),
    cis!("CIS-1.2.7", both("1.2.7", A, A), High, "API server authorization mode includes Node", flag(API, &["authorization-mode"], Test::Has("Node")), "The Node authorizer limits each kubelet to the objects of its own pods; without it a compromised node reads every Secret.", "Include `Node` in `--authorization-mode` (with the NodeRestriction admission plugin)."),
    cis!("CIS-1.2.8", both("1.2.8", A, A), High, "API server authorization mode includes RBAC", flag(API, &["authorization-mode"], Test::Has("RBAC")), "Without RBAC, Roles and bindings have no effect and permissions cannot be limited per user.", "Include `RBAC` in `--authorization-mode`."),
    cis!("CIS-1.2.9", both("1.2.9", M, M), Low, "API server admission plugin EventRateLimit is set", Audit::Special(Special::EventRateLimit), "Without a limit, a flood of events from one client can overload the API server and etcd.", "Add `EventRateLimit` to `--enable-admission-plugins` and configure it in the `--admission-control-config-file`."),
    cis!("CIS-1.2.10", both("1.2.10", A, A), Critical, "API server admission plugin AlwaysAdmit is not set", Audit::AdmissionPlugin { plugin: "AlwaysAdmit", enabled: false }, "AlwaysAdmit admits every request, whatever other admission plugins decide.", "Remove `AlwaysAdmit` from `--enable-admission-plugins`."),
    cis!("CIS-1.2.11", both("1.2.11", M, M), Low, "API server admission plugin AlwaysPullImages is set", Audit::AdmissionPlugin { plugin: "AlwaysPullImages", enabled: true }, "On a multi-tenant cluster, a cached private image can be run by any pod on the node without pull credentials.", "Add `AlwaysPullImages` to `--enable-admission-plugins` (weigh registry availability)."),
    cis!("CIS-1.2.12", both("1.2.12", A, A), Medium, "API server admission plugin ServiceAccount is in effect", Audit::AdmissionPlugin { plugin: "ServiceAccount", enabled: true }, "The ServiceAccount plugin assigns service accounts and their projected tokens; without it pods may reference any service account.", "Do not list `ServiceAccount` in `--disable-admission-plugins`."),
    cis!("CIS-1.2.13", both("1.2.13", A, A), Medium, "API server admission plugin NamespaceLifecycle is in effect", Audit::AdmissionPlugin { plugin: "NamespaceLifecycle", enabled: true }, "Without it objects can be created in terminating or non-existent namespaces, escaping namespace policies.", "Do not list `NamespaceLifecycle` in `--disable-admission-plugins`."),
    cis!("CIS-1.2.14", both("1.2.14", A, A), High, "API server admission plugin NodeRestriction is set", Audit::AdmissionPlugin { plugin: "NodeRestriction", enabled: true }, "NodeRestriction stops a kubelet from changing other nodes and pods or setting labels that steer workloads to it.", "Add `NodeRestriction` to `--enable-admission-plugins` (with the Node authorizer)."),
    cis!("CIS-1.2.15", both("1.2.15", A, A), Low, "API server profiling is disabled", flag(API, &["profiling"], Test::Eq("false")), "The profiling endpoint reveals internals and costs CPU; it is rarely needed in production.", "Set `--profiling=false`."),
    cis!("CIS-1.2.16", both("1.2.16", A, A), High, "API server audit log path is set", flag(API, &["audit-log-path"], Test::Set), "Without an audit log there is no record of who did what to the cluster.", "Set `--audit-log-path` (and `--audit-policy-file`)."),
    cis!("CIS-1.2.17", both("1.2.17", A, A), Low, "API server keeps audit logs for at least 30 days", flag(API, &["audit-log-maxage"], Test::Gte(30.0)), "Short retention loses the evidence needed to investigate an incident.", "Set `--audit-log-maxage=30` or more."),
    cis!("CIS-1.2.18", both("1.2.18", A, A), Low, "API server keeps at least 10 audit log backups", flag(API, &["audit-log-maxbackup"], Test::Gte(10.0)), "Too few rotated files lose audit history.", "Set `--audit-log-maxbackup=10` or more."),
    cis!("CIS-1.2.19", both("1.2.19", A, A), Low, "API server rotates audit logs at 100 MB or more", flag(API, &["audit-log-maxsize"], Test::Gte(100.0)), "Small audit files rotate away quickly.", "Set `--audit-log-maxsize=100` or more."),
    cis!("CIS-1.2.20", both("1.2.20", M, M), Inf, "API server request timeout is set as appropriate", Audit::Manual("judge whether `--request-timeout` (default 60s) suits the cluster's largest requests."), "Timeouts that are too long let slow clients hold connections; too short break large list requests.", "Set `--request-timeout` only when the default does not fit."),
    cis!("CIS-1.2.21", both("1.2.21", A, A), Medium, "API server checks that service account tokens still exist", flag(API, &["service-account-lookup"], Test::Eq("true")), "Without lookup, a token of a deleted service account (or a deleted legacy Secret) keeps working until it expires.", "Set `--service-account-lookup=true` (the default)."),
    cis!("CIS-1.2.22", both("1.2.22", A, A), High, "API server service account key file is set", flag(API, &["service-account-key-file"], Test::Set), "The key verifies service account tokens; without an explicit key the serving key is used and cannot be rotated separately.", "Set `--service-account-key-file` to the public key matching the controller manager's signing key."),
    cis!("CIS-1.2.23", both("1.2.23", A, A), High, "API server authenticates to etcd with a client certificate", flag(API, &["etcd-certfile", "etcd-keyfile"], Test::Set), "etcd holds every Secret; the API server must use a client certificate so etcd can refuse everyone else.", "Set `--etcd-certfile` and `--etcd-keyfile`."),
    cis!("CIS-1.2.24", both("1.2.24", A, A), High, "API server serves TLS with its own certificate", flag(API, &["tls-cert-file", "tls-private-key-file"], Test::Set), "Without an explicit serving certificate, clients cannot verify the API server they talk to.", "Set `--tls-cert-file` and `--tls-private-key-file`."),
    cis!("CIS-1.2.25", both("1.2.25", A, A), High, "API server client CA file is set", flag(API, &["client-ca-file"], Test::Set), "Without a client CA, client certificate authentication (used by kubelets and components) is off.", "Set `--client-ca-file`."),
    cis!("CIS-1.2.26", both("1.2.26", A, A), High, "API server verifies etcd's certificate", flag(API, &["etcd-cafile"], Test::Set), "Without a CA the API server cannot verify that it talks to the real etcd.", "Set `--etcd-cafile`."),
    cis!("CIS-1.2.27", both("1.2.27", M, M), High, "API server encryption provider config is set", Audit::Special(Special::EncryptionConfigSet), "Without encryption at rest, Secrets are stored in etcd (and its backups) in the clear.", "Write an EncryptionConfiguration and set `--encryption-provider-config`."),
    cis!("CIS-1.2.28", both("1.2.28", M, M), High, "Encryption providers are appropriately configured", Audit::Special(Special::EncryptionProviders), "If `identity` is the first provider, Secrets are written in plaintext even though a key is configured.", "Put `kms` (v2), `aesgcm`, `aescbc` or `secretbox` first for `secrets`; keep `identity` last only during migration."),
    cis!("CIS-1.2.29", both("1.2.29", M, M), Medium, "API server only uses strong cryptographic ciphers", Audit::Special(Special::StrongCiphers(API)), "Weak cipher suites (CBC, RC4, 3DES, static RSA key exchange) allow downgrade and decryption attacks.", "Set `--tls-cipher-suites` to ECDHE suites with AES-GCM or ChaCha20-Poly1305."),
    cis!("CIS-1.2.30", [None, Some(("1.2.30", A))], Medium, "API server does not extend service account token expiration", flag(API, &["service-account-extend-token-expiration"], Test::Eq("false")), "Extended expiration turns short-lived projected tokens into tokens valid for a year, which outlive a compromise.", "Set `--service-account-extend-token-expiration=false` once workloads refresh their tokens."),
    // 1.3 Controller manager
    cis!("CIS-1.3.1", both("1.3.1", M, M), Inf, "Controller manager terminated pod garbage collection threshold is set", flag(CM, &["terminated-pod-gc-threshold"], Test::Set), "Too many terminated pods degrade the controller manager and etcd.", "Set `--terminated-pod-gc-threshold` (for example 10)."),
    cis!("CIS-1.3.2", both("1.3.2", A, A), Low, "Controller manager profiling is disabled", flag(CM, &["profiling"], Test::Eq("false")), "The profiling endpoint reveals internals and costs CPU.", "Set `--profiling=false`."),
    cis!("CIS-1.3.3", both("1.3.3", A, A), High, "Controller manager uses one service account per controller", flag(CM, &["use-service-account-credentials"], Test::Eq("true")), "Otherwise every controller runs with the controller manager's own, broad credentials.", "Set `--use-service-account-credentials=true`."),
    cis!("CIS-1.3.4", both("1.3.4", A, A), High, "Controller manager service account private key file is set", flag(CM, &["service-account-private-key-file"], Test::Set), "The key signs service account tokens; it must be set explicitly so it can be rotated.", "Set `--service-account-private-key-file`."),
    cis!("CIS-1.3.5", both("1.3.5", A, A), Medium, "Controller manager root CA file is set", flag(CM, &["root-ca-file"], Test::Set), "Pods get this CA in their service account volume to verify the API server; without it they cannot.", "Set `--root-ca-file`."),
    cis!("CIS-1.3.6", both("1.3.6", A, A), Medium, "Controller manager RotateKubeletServerCertificate is enabled", Audit::Special(Special::ControllerManagerRotation), "Kubelet serving certificates that never rotate stay valid after a node is compromised.", "Do not set `--feature-gates=RotateKubeletServerCertificate=false`."),
    cis!("CIS-1.3.7", both("1.3.7", A, A), Medium, "Controller manager binds to 127.0.0.1", flag(CM, &["bind-address"], Test::Loopback), "The controller manager's health and metrics endpoints should not be reachable from the network.", "Set `--bind-address=127.0.0.1`."),
    // 1.4 Scheduler
    cis!("CIS-1.4.1", both("1.4.1", A, A), Low, "Scheduler profiling is disabled", flag(SCH, &["profiling"], Test::Eq("false")), "The profiling endpoint reveals internals and costs CPU.", "Set `--profiling=false`."),
    cis!("CIS-1.4.2", both("1.4.2", A, A), Medium, "Scheduler binds to 127.0.0.1", flag(SCH, &["bind-address"], Test::Loopback), "The scheduler's health and metrics endpoints should not be reachable from the network.", "Set `--bind-address=127.0.0.1`."),
    // 2 etcd
    cis!("CIS-2.1", both("2.1", A, A), Critical, "etcd serves clients over TLS", flag(ETCD, &["cert-file", "key-file"], Test::Set), "Without TLS, everything the API server stores — Secrets included — crosses the network in the clear.", "Set etcd's `--cert-file` and `--key-file`."),
    cis!("CIS-2.2", both("2.2", A, A), Critical, "etcd requires client certificates", flag(ETCD, &["client-cert-auth"], Test::Eq("true")), "Without client certificate authentication anyone who reaches etcd reads and writes the whole cluster state.", "Set `--client-cert-auth=true`."),
    cis!("CIS-2.3", both("2.3", A, A), High, "etcd does not use self-signed automatic TLS for clients", flag(ETCD, &["auto-tls"], Test::NotEq("true")), "Self-signed certificates cannot be verified by clients.", "Remove `--auto-tls` or set it to false."),
    cis!("CIS-2.4", both("2.4", A, A), High, "etcd peers use TLS", flag(ETCD, &["peer-cert-file", "peer-key-file"], Test::Set), "Replication traffic between etcd members carries the whole cluster state.", "Set `--peer-cert-file` and `--peer-key-file`."),
    cis!("CIS-2.5", both("2.5", A, A), High, "etcd requires peer client certificates", flag(ETCD, &["peer-client-cert-auth"], Test::Eq("true")), "Without it any host can join the etcd cluster as a peer.", "Set `--peer-client-cert-auth=true`."),
    cis!("CIS-2.6", both("2.6", A, A), High, "etcd does not use self-signed automatic TLS for peers", flag(ETCD, &["peer-auto-tls"], Test::NotEq("true")), "Self-signed peer certificates cannot be verified.", "Remove `--peer-auto-tls` or set it to false."),
    cis!("CIS-2.7", both("2.7", M, M), Medium, "etcd uses its own certificate authority", Audit::Special(Special::EtcdUniqueCa), "If etcd trusts the cluster's client CA, every client certificate of the cluster (every kubelet) can talk to etcd directly.", "Give etcd its own CA (`--trusted-ca-file`) distinct from the API server's `--client-ca-file`."),
    // 3 control plane configuration
    cis!("CIS-3.1.1", both("3.1.1", M, M), Medium, "Client certificate authentication is not used for users", Audit::Manual("check that people authenticate through OIDC or another revocable method, not client certificates (which cannot be revoked)."), "Client certificates cannot be revoked; a leaked one works until it expires.", "Use an OIDC provider or webhook token authentication for users."),
    cis!("CIS-3.1.2", both("3.1.2", M, M), Medium, "Service account token authentication is not used for users", Audit::Manual("check that no person authenticates with a service account token."), "Service account tokens are meant for workloads; shared or long-lived ones are hard to audit and revoke.", "Give people their own identities through an identity provider."),
    cis!("CIS-3.1.3", both("3.1.3", M, M), Medium, "Bootstrap token authentication is not used for users", Audit::Manual("check that bootstrap tokens are used only to join nodes."), "Bootstrap tokens are for node joining and are stored as Secrets in kube-system.", "Use bootstrap tokens only for node joining, with short TTLs."),
    cis!("CIS-3.2.1", both("3.2.1", M, M), High, "A minimal audit policy is created", Audit::Special(Special::AuditPolicyExists), "Without an audit policy file the API server records nothing, even with a log path.", "Write an audit Policy and set `--audit-policy-file`."),
    cis!("CIS-3.2.2", both("3.2.2", M, M), Medium, "The audit policy covers key security concerns", Audit::Special(Special::AuditPolicyCoverage), "A policy that logs Secret bodies leaks them into logs; one that skips exec or has no catch-all misses attacks.", "Log Secrets, ConfigMaps and TokenReviews at Metadata, pods/exec, attach and port-forward at least at Metadata, and end with a catch-all rule."),
    // 4.1 worker node configuration files
    cis!("CIS-4.1.1", both("4.1.1", A, A), High, "Kubelet service file permissions are 600 or more restrictive", mode(FileRef::KubeletService, 0o600), "The unit file decides the kubelet's flags; a writable one lets a local user turn off its authentication.", "`chmod 600` the kubelet's unit and drop-ins."),
    cis!("CIS-4.1.2", both("4.1.2", A, A), High, "Kubelet service file is owned by root:root", root_owner(FileRef::KubeletService), "The owner of the unit file controls the kubelet's flags.", "`chown root:root` the kubelet's unit and drop-ins."),
    cis!("CIS-4.1.3", both("4.1.3", M, M), Medium, "kube-proxy kubeconfig permissions are 600 or more restrictive", mode(FileRef::ProxyKubeconfig, 0o600), KUBECONFIG_WHY, "`chmod 600` kube-proxy's kubeconfig."),
    cis!("CIS-4.1.4", both("4.1.4", M, M), Medium, "kube-proxy kubeconfig is owned by root:root", root_owner(FileRef::ProxyKubeconfig), KUBECONFIG_WHY, "`chown root:root` kube-proxy's kubeconfig."),
    cis!("CIS-4.1.5", both("4.1.5", A, A), High, "Kubelet kubeconfig permissions are 600 or more restrictive", mode(FileRef::KubeletKubeconfig, 0o600), "The kubelet's kubeconfig authenticates as the node; with it one reads every Secret of the node's pods.", "`chmod 600` the file named by the kubelet's `--kubeconfig`."),
    cis!("CIS-4.1.6", both("4.1.6", A, A), High, "Kubelet kubeconfig is owned by root:root", root_owner(FileRef::KubeletKubeconfig), KUBECONFIG_WHY, "`chown root:root` the file named by the kubelet's `--kubeconfig`."),
    cis!("CIS-4.1.7", both("4.1.7", M, M), Medium, "Kubelet client CA file permissions are restrictive (600 in v1.10, 644 in v1.12)", Audit::Mode { file: FileRef::KubeletClientCa, max: [0o600, 0o644] }, "A writable client CA lets a local user make the kubelet trust certificates of their choosing.", "`chmod 644` (v1.12) or `600` (v1.10) the kubelet's client CA file."),
    cis!("CIS-4.1.8", both("4.1.8", M, M), Medium, "Kubelet client CA file is owned by root:root", root_owner(FileRef::KubeletClientCa), "The owner of the client CA decides whom the kubelet trusts.", "`chown root:root` the kubelet's client CA file."),
    cis!("CIS-4.1.9", both("4.1.9", A, A), High, "Kubelet config file permissions are 600 or more restrictive", mode(FileRef::KubeletConfig, 0o600), "The config file decides the kubelet's authentication and authorization.", "`chmod 600` the file named by the kubelet's `--config`."),
    cis!("CIS-4.1.10", both("4.1.10", A, A), High, "Kubelet config file is owned by root:root", root_owner(FileRef::KubeletConfig), "The owner of the config file controls the kubelet's settings.", "`chown root:root` the file named by the kubelet's `--config`."),
    // 4.2 kubelet
    cis!("CIS-4.2.1", both("4.2.1", A, A), Critical, "Kubelet anonymous requests are disabled", flag(KL, &["anonymous-auth"], Test::Eq("false")), "With anonymous auth on, anyone who reaches port 10250 can call the kubelet API (with AlwaysAllow: run commands in every pod).", "Set `authentication.anonymous.enabled: false` in the config file, or `--anonymous-auth=false`."),
    cis!("CIS-4.2.2", both("4.2.2", A, A), Critical, "Kubelet authorization mode is not AlwaysAllow", flag(KL, &["authorization-mode"], Test::NotEq("AlwaysAllow")), "AlwaysAllow lets every authenticated caller exec into pods and read logs on the node.", "Set `authorization.mode: Webhook` in the config file, or `--authorization-mode=Webhook`."),
    cis!("CIS-4.2.3", both("4.2.3", A, A), High, "Kubelet client CA file is set", flag(KL, &["client-ca-file"], Test::Set), "Without a client CA the kubelet cannot authenticate the API server's client certificate.", "Set `authentication.x509.clientCAFile`, or `--client-ca-file`."),
    cis!("CIS-4.2.4", both("4.2.4", M, M), High, "Kubelet read-only port is 0", flag(KL, &["read-only-port"], Test::Eq("0")), "The read-only port (10255) serves pod specs and metrics without any authentication.", "Set `readOnlyPort: 0`, or `--read-only-port=0`."),
    cis!("CIS-4.2.5", both("4.2.5", M, M), Low, "Kubelet streaming connection idle timeout is not 0", flag(KL, &["streaming-connection-idle-timeout"], Test::NonZeroDuration), "Exec and port-forward sessions that never time out keep connections and access open.", "Set `streamingConnectionIdleTimeout` (for example `5m`)."),
    cis!("CIS-4.2.6", both("4.2.6", A, A), Low, "Kubelet manages iptables utility chains", flag(KL, &["make-iptables-util-chains"], Test::Eq("true")), "Letting the kubelet manage its iptables chains keeps pod networking rules consistent with its configuration.", "Set `makeIPTablesUtilChains: true`."),
    cis!("CIS-4.2.7", both("4.2.7", M, M), Low, "Kubelet hostname override is not set", flag(KL, &["hostname-override"], Test::NotSet), "A hostname that differs from the certificate's breaks TLS verification between the API server and the kubelet.", "Remove `--hostname-override` (some cloud providers need it: then this check does not apply)."),
    cis!("CIS-4.2.8", both("4.2.8", M, M), Inf, "Kubelet event record QPS captures events appropriately", flag(KL, &["event-qps"], Test::Gte(0.0)), "Too low a limit drops events an investigation needs; 0 means unlimited, which risks a flood.", "Set `eventRecordQPS` to a level suited to the node."),
    cis!("CIS-4.2.9", both("4.2.9", M, M), Medium, "Kubelet serves TLS with its own certificate", flag(KL, &["tls-cert-file", "tls-private-key-file"], Test::Set), "A self-signed serving certificate generated at start cannot be verified by the API server.", "Set `tlsCertFile` and `tlsPrivateKeyFile`, or use serving certificate bootstrap."),
    cis!("CIS-4.2.10", both("4.2.10", A, A), Medium, "Kubelet client certificate rotation is not disabled", flag(KL, &["rotate-certificates"], Test::NotEq("false")), "A client certificate that does not rotate expires or stays valid for too long.", "Set `rotateCertificates: true`."),
    cis!("CIS-4.2.11", both("4.2.11", M, M), Medium, "Kubelet serving certificate rotation is enabled", Audit::Special(Special::KubeletServerCertRotation), "A serving certificate that never rotates stays valid after a compromise.", "Set `serverTLSBootstrap: true` and leave the `RotateKubeletServerCertificate` feature gate on."),
    cis!("CIS-4.2.12", both("4.2.12", M, M), Medium, "Kubelet only uses strong cryptographic ciphers", Audit::Special(Special::StrongCiphers(KL)), "Weak cipher suites allow downgrade and decryption attacks on the kubelet API.", "Set `tlsCipherSuites` to ECDHE suites with AES-GCM or ChaCha20-Poly1305."),
    cis!("CIS-4.2.13", both("4.2.13", M, M), Low, "A limit is set on pod PIDs", Audit::Special(Special::PodPidsLimit), "A fork bomb in one pod can exhaust the node's process IDs and take down every pod on it.", "Set `podPidsLimit` (for example 4096)."),
    cis!("CIS-4.2.14", [None, Some(("4.2.14", M))], Low, "Kubelet uses the RuntimeDefault seccomp profile by default", flag(KL, &["seccomp-default"], Test::Eq("true")), "Containers without a seccomp profile can use every system call, including rarely needed ones that kernel exploits use.", "Set `seccompDefault: true`."),
    // 4.3 kube-proxy
    cis!("CIS-4.3.1", both("4.3.1", A, A), Medium, "kube-proxy metrics are bound to localhost", flag(KP, &["metrics-bind-address"], Test::Loopback), "The metrics endpoint reveals the node's services and endpoints to the network.", "Set `metricsBindAddress: 127.0.0.1:10249`."),
    // 5.1 RBAC and service accounts
    cis!("CIS-5.1.1", both("5.1.1", A, M), High, "The cluster-admin role is only used where required", Audit::Policy, "cluster-admin grants every permission; each binding is a full compromise waiting to happen.", "Bind narrower roles; remove cluster-admin bindings that are not needed."),
    cis!("CIS-5.1.2", both("5.1.2", A, M), High, "Access to Secrets is minimized", Audit::Policy, "get, list or watch on Secrets reveals credentials, including service account tokens.", "Remove Secret read access from roles that do not need it."),
    cis!("CIS-5.1.3", both("5.1.3", A, M), Medium, "Wildcards in Roles and ClusterRoles are minimized", Audit::Policy, "Wildcards grant present and future resources and verbs.", "List resources and verbs explicitly."),
    cis!("CIS-5.1.4", both("5.1.4", A, M), High, "Access to create pods is minimized", Audit::Policy, "Creating pods gives access to every Secret and service account of the namespace and, without Pod Security, to the node.", "Limit pod (and workload) creation rights."),
    cis!("CIS-5.1.5", both("5.1.5", A, M), Medium, "Default service accounts are not actively used", Audit::Policy, "Permissions given to a default service account go to every pod of the namespace.", "Give workloads their own service accounts; grant nothing to `default`."),
    cis!("CIS-5.1.6", both("5.1.6", A, M), Medium, "Service account tokens are only mounted where necessary", Audit::Policy, "A mounted token is a credential an attacker in the pod can use against the API server.", "Set `automountServiceAccountToken: false` where the API is not used."),
    cis!("CIS-5.1.7", both("5.1.7", M, M), High, "The system:masters group is not used", Audit::Manual("check that no client certificate or binding uses the `system:masters` group (it bypasses RBAC and cannot be revoked)."), "Membership of system:masters bypasses authorization entirely.", "Use RBAC-bound groups; keep system:masters for break-glass only."),
    cis!("CIS-5.1.8", both("5.1.8", M, M), High, "Bind, impersonate and escalate permissions are limited", Audit::Policy, "These verbs let a subject grant itself permissions it does not have.", "Remove bind, impersonate and escalate from roles that do not need them."),
    cis!("CIS-5.1.9", both("5.1.9", M, M), Medium, "Access to create persistent volumes is minimized", Audit::Policy, "A PersistentVolume of type hostPath mounts the node's filesystem into a pod.", "Limit PersistentVolume creation to storage administrators."),
    cis!("CIS-5.1.10", both("5.1.10", M, M), High, "Access to the nodes/proxy subresource is minimized", Audit::Policy, "nodes/proxy reaches the kubelet API, bypassing audit and admission, including exec in pods.", "Remove nodes/proxy from roles that do not need it."),
    cis!("CIS-5.1.11", both("5.1.11", M, M), High, "Access to approve certificate signing requests is minimized", Audit::Policy, "Approving CSRs lets a subject issue client certificates for other identities.", "Limit CSR approval to the controllers that need it."),
    cis!("CIS-5.1.12", both("5.1.12", M, M), High, "Access to webhook configuration objects is minimized", Audit::Policy, "Whoever can change admission webhooks can intercept or silence every admission decision.", "Limit write access to Validating/MutatingWebhookConfigurations."),
    cis!("CIS-5.1.13", both("5.1.13", M, M), High, "Access to create service account tokens is minimized", Audit::Policy, "Creating tokens for a service account acts as that service account.", "Limit `serviceaccounts/token` create rights."),
    // 5.2 Pod Security Standards
    cis!("CIS-5.2.1", both("5.2.1", M, M), High, "The cluster has at least one active policy control mechanism", Audit::Policy, "Without Pod Security admission or a policy engine any pod specification is admitted.", "Label namespaces with `pod-security.kubernetes.io/enforce`, or run a policy engine."),
    cis!("CIS-5.2.2", both("5.2.2", M, M), Critical, "Admission of privileged containers is minimized", Audit::Policy, "A privileged container is root on the node.", "Enforce the baseline Pod Security Standard."),
    cis!("CIS-5.2.3", both("5.2.3", M, M), High, "Admission of containers sharing the host PID namespace is minimized", Audit::Policy, "hostPID exposes every process on the node to the container.", "Enforce the baseline Pod Security Standard."),
    cis!("CIS-5.2.4", both("5.2.4", M, M), High, "Admission of containers sharing the host IPC namespace is minimized", Audit::Policy, "hostIPC exposes the node's shared memory.", "Enforce the baseline Pod Security Standard."),
    cis!("CIS-5.2.5", both("5.2.5", M, M), High, "Admission of containers sharing the host network namespace is minimized", Audit::Policy, "hostNetwork bypasses network policies and reaches node-local services.", "Enforce the baseline Pod Security Standard."),
    cis!("CIS-5.2.6", both("5.2.6", M, M), High, "Admission of containers with allowPrivilegeEscalation is minimized", Audit::Policy, "setuid binaries can gain privileges the container was not given.", "Set `allowPrivilegeEscalation: false`; enforce the restricted standard."),
    cis!("CIS-5.2.7", both("5.2.7", M, M), Medium, "Admission of root containers is minimized", Audit::Policy, "A process running as root in a container is one kernel bug away from root on the node.", "Set `runAsNonRoot: true`; enforce the restricted standard."),
    cis!("CIS-5.2.8", both("5.2.8", M, M), Medium, "Admission of containers with the NET_RAW capability is minimized", Audit::Policy, "NET_RAW allows spoofing and sniffing on the pod network.", "Drop `NET_RAW` (or `ALL`)."),
    cis!("CIS-1.10-5.2.9", [Some(("5.2.9", M)), None], Medium, "Admission of containers with added capabilities is minimized", Audit::Policy, "Added capabilities widen what a compromised container can do to the node.", "Add no capabilities beyond the baseline set."),
    cis!("CIS-5.2.9", [Some(("5.2.10", M)), Some(("5.2.9", M))], Low, "Admission of containers with capabilities assigned is minimized", Audit::Policy, "Most applications need no capabilities at all.", "Drop `ALL` capabilities."),
    cis!("CIS-5.2.10", [Some(("5.2.11", M)), Some(("5.2.10", M))], High, "Admission of Windows HostProcess containers is minimized", Audit::Policy, "A HostProcess container runs directly on the Windows host.", "Enforce the baseline Pod Security Standard."),
    cis!("CIS-5.2.11", [Some(("5.2.12", M)), Some(("5.2.11", M))], High, "Admission of HostPath volumes is minimized", Audit::Policy, "hostPath volumes expose the node's filesystem.", "Use other volume types; enforce the baseline standard."),
    cis!("CIS-5.2.12", [Some(("5.2.13", M)), Some(("5.2.12", M))], Medium, "Admission of containers using host ports is minimized", Audit::Policy, "Host ports bind on the node's interfaces and bypass network policy.", "Use Services instead of host ports."),
    // 5.3 network policies
    cis!("CIS-5.3.1", both("5.3.1", M, M), Medium, "The CNI in use supports NetworkPolicies", Audit::Manual("confirm that the CNI plugin enforces NetworkPolicy (Calico, Cilium, Antrea, ...; flannel alone does not)."), "NetworkPolicies have no effect if the CNI does not enforce them.", "Use a CNI plugin that enforces NetworkPolicy."),
    cis!("CIS-5.3.2", both("5.3.2", M, M), Medium, "All namespaces have NetworkPolicies defined", Audit::Policy, "Pods in namespaces without policies accept traffic from everywhere.", "Add a default-deny policy to every namespace (`palisade netpol recommend`)."),
    // 5.4 secrets
    cis!("CIS-5.4.1", both("5.4.1", M, M), Medium, "Secrets are used as files rather than environment variables", Audit::Policy, "Environment variables leak into logs, crash dumps and child processes.", "Mount Secrets as volumes."),
    cis!("CIS-5.4.2", both("5.4.2", M, M), Low, "External secret storage is considered", Audit::Manual("consider an external secret store (Vault, a cloud secret manager) with a CSI driver or operator."), "Kubernetes Secrets are only base64-encoded in the API.", "Use an external secret store where the risk warrants it."),
    // 5.5 admission control
    cis!("CIS-5.5.1", both("5.5.1", M, M), Medium, "Image provenance is configured (ImagePolicyWebhook or equivalent)", Audit::Policy, "Without provenance checks any image from any registry can run.", "Restrict registries and verify signatures at admission."),
    // 5.6 (v1.12) / 5.7 (v1.10) general policies
    cis!("CIS-5.6.1", [Some(("5.7.1", M)), Some(("5.6.1", M))], Low, "Administrative boundaries between resources use namespaces", Audit::Manual("check that teams and applications are separated into namespaces."), "Namespaces are the unit of RBAC, quota and policy.", "Create namespaces per team or application."),
    cis!("CIS-5.6.2", [Some(("5.7.2", M)), Some(("5.6.2", M))], Medium, "The seccomp profile is set to RuntimeDefault in pod definitions", Audit::Policy, "Containers without a seccomp profile can use every system call.", "Set `seccompProfile.type: RuntimeDefault`."),
    cis!("CIS-5.6.3", [Some(("5.7.3", M)), Some(("5.6.3", M))], Medium, "A SecurityContext is applied to pods and containers", Audit::Manual("review pod and container securityContexts (`palisade scan --profile pss-restricted` reports the restricted-level gaps)."), "Defaults run containers with more privilege than most need.", "Set runAsNonRoot, readOnlyRootFilesystem, dropped capabilities and seccomp."),
    cis!("CIS-5.6.4", [Some(("5.7.4", M)), Some(("5.6.4", M))], Low, "The default namespace is not used", Audit::Policy, "Objects in `default` share one set of policies and are easy to miss.", "Put workloads in their own namespaces."),
];

/// The catalog's entries as `RuleInfo`s for the one check registry, sorted by ID.
pub fn catalog() -> Vec<RuleInfo> {
    let mut v: Vec<RuleInfo> = CATALOG.iter().map(CisCheck::rule_info).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// Finds a control by stable ID or by its number in a benchmark.
pub fn find(key: &str, b: Benchmark) -> Option<&'static CisCheck> {
    let k = key.trim();
    CATALOG.iter().find(|c| {
        c.id.eq_ignore_ascii_case(k)
            || c.in_benchmark(b)
                .is_some_and(|(n, _)| n == k || format!("CIS-{n}").eq_ignore_ascii_case(k))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_unique_and_numbers_unique_per_benchmark() {
        let mut ids = HashSet::new();
        for c in CATALOG {
            assert!(ids.insert(c.id), "duplicate {}", c.id);
            assert!(c.id.starts_with("CIS-"));
            let expect = match c.in_benchmark(Benchmark::Cis112) {
                Some((n, _)) => format!("CIS-{n}"),
                None => format!("CIS-1.10-{}", c.v110().unwrap()),
            };
            assert_eq!(c.id, expect);
            let md = c.markdown();
            for s in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
                "## Audit evidence",
                "## References",
            ] {
                assert!(md.contains(s), "{} lacks {s}", c.id);
            }
        }
        for b in Benchmark::ALL {
            let mut nums = HashSet::new();
            for c in CATALOG {
                if let Some((n, _)) = c.in_benchmark(b) {
                    assert!(nums.insert(n), "{n} twice in {b:?}");
                }
            }
        }
    }

    #[test]
    fn version_differences_are_data() {
        let c = find("CIS-1.2.30", Benchmark::Cis112).unwrap();
        assert!(c.in_benchmark(Benchmark::Cis110).is_none());
        let c = find("5.2.9", Benchmark::Cis110).unwrap();
        assert_eq!(c.id, "CIS-1.10-5.2.9");
        let c = find("5.2.9", Benchmark::Cis112).unwrap();
        assert_eq!(c.v110(), Some("5.2.10"));
        assert_eq!(
            find("CIS-5.1.1", Benchmark::Cis110)
                .unwrap()
                .in_benchmark(Benchmark::Cis110),
            Some(("5.1.1", A))
        );
        assert_eq!(
            find("CIS-5.1.1", Benchmark::Cis112)
                .unwrap()
                .in_benchmark(Benchmark::Cis112),
            Some(("5.1.1", M))
        );
        // Counts per version as published: v1.10 has 4.2.1–4.2.13, v1.12 adds 4.2.14 and 1.2.30.
        let count = |b| {
            CATALOG
                .iter()
                .filter(|c| c.in_benchmark(b).is_some())
                .count()
        };
        assert_eq!(count(Benchmark::Cis112), count(Benchmark::Cis110) + 1);
    }
}
