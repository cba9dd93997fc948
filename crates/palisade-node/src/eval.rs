//! Runs the catalog against a discovered node and gives one result per control, plus the
//! findings of the analyses (audit policy, encryption, Corefile, metadata reachability, end
//! of life) over the files and manifests the node points at.

use crate::analysis::Issue;
use crate::catalog::{Audit, Benchmark, CisCheck, FileRef, Kind, Special, Test, CATALOG};
use crate::component::{load_tree, ConfigState, Discovery, Found, Origin, Profile, Setting};
use crate::flags::{go_duration_secs, split_list};
use crate::root::Root;
use crate::{audit_policy, corefile, encryption, eol, metadata};
use palisade_model::{Diagnostic, Object};
use palisade_report::{ObjectId, Severity};
use serde::Serialize;
use std::collections::HashMap;

/// A control's outcome, as kube-bench reports them, plus "not found".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Status {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "NOT FOUND")]
    NotFound,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Info,
        Status::NotFound,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Info => "INFO",
            Status::NotFound => "NOT FOUND",
        }
    }
}

/// Something wrong that becomes a finding: where, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub object: ObjectId,
    pub source: String,
    pub line: u32,
    /// The flag, config key or file path judged.
    pub path: String,
    pub message: String,
    /// For section 5: the severity of the scan finding; otherwise the control's.
    pub severity: Option<Severity>,
}

/// The result of one control.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub check: &'static CisCheck,
    /// The control's number in the selected benchmark.
    pub number: &'static str,
    pub kind: Kind,
    pub status: Status,
    /// What was seen: one line per setting or file.
    pub evidence: Vec<String>,
    pub problems: Vec<Problem>,
}

/// A finding of one of the analyses.
#[derive(Clone, Debug, PartialEq)]
pub struct Extra {
    pub issue: Issue,
    pub source: String,
    pub object: ObjectId,
}

/// What to check and with what.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    pub benchmark: Benchmark,
    /// The Kubernetes version, when the API server's image does not tell.
    pub kubernetes_version: Option<String>,
    /// Today, in days since 1970-01-01 (for end of life); `None` skips that analysis.
    pub today: Option<i64>,
}

/// The whole node run.
#[derive(Debug, Default)]
pub struct NodeRun {
    pub results: Vec<CheckResult>,
    pub extras: Vec<Extra>,
    pub diagnostics: Vec<Diagnostic>,
    /// (component, where it was found) for every component found.
    pub components: Vec<(String, String)>,
    pub processes: usize,
    pub benchmark: Option<Benchmark>,
}

enum Verdict {
    Pass(Vec<String>),
    Fail(Vec<String>, Vec<Problem>),
    NotFound(String),
    NotApplicable(String),
    Manual(String),
}

fn component_id(name: &str) -> ObjectId {
    ObjectId {
        api_version: "node.palisade.dev/v1".into(),
        kind: "Component".into(),
        namespace: None,
        name: name.into(),
    }
}

fn file_id(path: &str) -> ObjectId {
    ObjectId {
        api_version: "node.palisade.dev/v1".into(),
        kind: "File".into(),
        namespace: None,
        name: path.into(),
    }
}

struct Ctx<'a> {
    root: &'a Root,
    opts: &'a Options,
    disc: &'a Discovery,
    /// Findings of the mapped scan checks by check ID, when manifests were given.
    policy: Option<HashMap<String, Vec<palisade_report::Finding>>>,
    diags: Vec<Diagnostic>,
    /// Analysis results computed once per run.
    audit: Option<(String, Option<Vec<Issue>>)>,
    enc: Option<(String, Option<encryption::Encryption>)>,
}

fn not_found(c: crate::component::Component) -> Verdict {
    Verdict::NotFound(format!(
        "{} not found: no matching process in /proc and no static pod manifest",
        c.name()
    ))
}

fn loopback(v: &str) -> bool {
    let host = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if v.matches(':').count() == 1 {
        v.split(':').next().unwrap_or("")
    } else {
        v
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Does a value pass a test? `None` is an unset value without default.
pub fn test_value(test: Test, v: Option<&str>) -> bool {
    let v = v.map(str::trim);
    match test {
        Test::Eq(want) => v.is_some_and(|v| v.eq_ignore_ascii_case(want)),
        Test::NotEq(bad) => !v.is_some_and(|v| v.eq_ignore_ascii_case(bad)),
        Test::Set => v.is_some_and(|v| !v.is_empty()),
        Test::NotSet => v.is_none_or(str::is_empty),
        Test::Has(item) => v.is_some_and(|v| split_list(v).iter().any(|i| i == item)),
        Test::NotHas(item) => !v.is_some_and(|v| split_list(v).iter().any(|i| i == item)),
        Test::Gte(n) => v
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|x| x >= n),
        Test::Gt(n) => v.and_then(|v| v.parse::<f64>().ok()).is_some_and(|x| x > n),
        Test::NonZeroDuration => v.and_then(go_duration_secs).is_some_and(|d| d != 0.0),
        Test::Loopback => v.is_some_and(loopback),
    }
}

/// A problem located at the setting's origin.
fn setting_problem(f: &Found, s: &Setting, message: String) -> Problem {
    let (source, line, path) = match &s.origin {
        Origin::Config { path, key } => (path.clone(), s.line, key.clone()),
        _ => match (&f.manifest, s.line) {
            (Some(m), l) if l > 0 => (m.clone(), l, format!("--{}", s.name)),
            _ => (
                f.manifest.clone().unwrap_or_else(|| f.source.clone()),
                0,
                format!("--{}", s.name),
            ),
        },
    };
    Problem {
        object: component_id(f.component.name()),
        source,
        line,
        path,
        message,
        severity: None,
    }
}

const STRONG_CIPHERS: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

impl<'a> Ctx<'a> {
    fn get(&self, c: crate::component::Component) -> Option<&'a Found> {
        self.disc.get(c)
    }

    fn flag(&self, c: crate::component::Component, flags: &[&str], test: Test) -> Verdict {
        let Some(f) = self.get(c) else {
            return not_found(c);
        };
        let mut ev = Vec::new();
        let mut probs = Vec::new();
        for name in flags {
            let s = f.setting(name);
            let d = s.describe(f);
            if !test_value(test, s.value.as_deref()) {
                probs.push(setting_problem(
                    f,
                    &s,
                    format!("{d}; expected it {}", test.describe()),
                ));
            }
            ev.push(d);
        }
        if probs.is_empty() {
            Verdict::Pass(ev)
        } else {
            Verdict::Fail(ev, probs)
        }
    }

    /// The files a reference names, or why there are none.
    fn files(&self, r: FileRef) -> Result<Vec<String>, Verdict> {
        use crate::component::Component as C;
        let p = self.opts.profile.paths();
        let existing = |v: Vec<String>, what: &str| -> Result<Vec<String>, Verdict> {
            let v: Vec<String> = v.into_iter().filter(|f| self.root.exists(f)).collect();
            if v.is_empty() {
                Err(Verdict::NotFound(what.to_string()))
            } else {
                Ok(v)
            }
        };
        let from_setting = |c: C, flag: &str, fallback: &str| -> Result<Vec<String>, Verdict> {
            let Some(f) = self.get(c) else {
                return Err(not_found(c));
            };
            let s = f.setting(flag);
            let path = s
                .value
                .clone()
                .filter(|v| !v.is_empty())
                .or_else(|| (!fallback.is_empty()).then(|| fallback.to_string()));
            match path.map(|p| f.host_path(self.root, &p)) {
                None => Err(Verdict::NotFound(format!("{} has no --{flag}", c.name()))),
                Some(path) => existing(
                    vec![path.clone()],
                    &format!("{path} (from {}) does not exist", s.describe(f)),
                ),
            }
        };
        match r {
            FileRef::Manifest(c) => {
                if self.opts.profile == Profile::K3s {
                    return Err(Verdict::NotApplicable(format!(
                        "k3s runs {} inside the k3s process: there is no pod specification file",
                        c.name()
                    )));
                }
                let m = crate::component::manifest_path(self.opts.profile, c).unwrap_or_default();
                existing(vec![m.clone()], &format!("no static pod manifest at {m}"))
            }
            FileRef::AdminConf => existing(
                p.admin_conf.iter().map(|s| s.to_string()).collect(),
                &format!(
                    "no administrative kubeconfig at {}",
                    p.admin_conf.join(" or ")
                ),
            ),
            FileRef::SchedulerConf => from_setting(C::Scheduler, "kubeconfig", p.scheduler_conf),
            FileRef::ControllerManagerConf => from_setting(
                C::ControllerManager,
                "kubeconfig",
                p.controller_manager_conf,
            ),
            FileRef::EtcdDataDir => from_setting(C::Etcd, "data-dir", p.etcd_data_dir),
            FileRef::PkiAll | FileRef::PkiCerts | FileRef::PkiKeys => {
                if p.pki_dir.is_empty() || !self.root.exists(p.pki_dir) {
                    return Err(Verdict::NotFound(format!(
                        "no PKI directory at {}",
                        p.pki_dir
                    )));
                }
                let mut files = self.root.walk(p.pki_dir, 10_000);
                match r {
                    FileRef::PkiCerts => files.retain(|f| f.ends_with(".crt")),
                    FileRef::PkiKeys => files.retain(|f| f.ends_with(".key")),
                    _ => files.insert(0, p.pki_dir.to_string()),
                }
                if files.is_empty() {
                    return Err(Verdict::NotFound(format!("no such files in {}", p.pki_dir)));
                }
                Ok(files)
            }
            FileRef::CniFiles => {
                let files: Vec<String> = p
                    .cni_dirs
                    .iter()
                    .flat_map(|d| self.root.walk(d, 1000))
                    .collect();
                if files.is_empty() {
                    Err(Verdict::NotFound(format!(
                        "no CNI configuration in {}",
                        p.cni_dirs.join(", ")
                    )))
                } else {
                    Ok(files)
                }
            }
            FileRef::KubeletService => existing(
                p.kubelet_service.iter().map(|s| s.to_string()).collect(),
                &format!("no kubelet unit at {}", p.kubelet_service.join(", ")),
            ),
            FileRef::ProxyKubeconfig => from_setting(C::Proxy, "kubeconfig", ""),
            FileRef::KubeletKubeconfig => from_setting(C::Kubelet, "kubeconfig", ""),
            FileRef::KubeletClientCa => from_setting(C::Kubelet, "client-ca-file", ""),
            FileRef::KubeletConfig => {
                let Some(f) = self.get(C::Kubelet) else {
                    return Err(not_found(C::Kubelet));
                };
                match &f.config {
                    None => Err(Verdict::NotApplicable(
                        "the kubelet runs without --config".into(),
                    )),
                    Some(c) => existing(
                        vec![c.path.clone()],
                        &format!("{} (from the kubelet's --config) does not exist", c.path),
                    ),
                }
            }
        }
    }

    /// Judges every file a reference names: `judge` gives the evidence line and, when the
    /// file is wrong, the problem's message.
    fn per_file(
        &self,
        r: FileRef,
        judge: impl Fn(&str, crate::root::Stat) -> (String, Option<String>),
    ) -> Verdict {
        let files = match self.files(r) {
            Ok(f) => f,
            Err(v) => return v,
        };
        let mut ev = Vec::new();
        let mut probs = Vec::new();
        for f in files {
            let Some(st) = self.root.stat(&f) else {
                continue;
            };
            let (line, problem) = judge(&f, st);
            if let Some(message) = problem {
                probs.push(Problem {
                    object: file_id(&f),
                    source: f.clone(),
                    line: 0,
                    path: f.clone(),
                    message,
                    severity: None,
                });
            }
            ev.push(line);
        }
        if probs.is_empty() {
            Verdict::Pass(ev)
        } else {
            Verdict::Fail(ev, probs)
        }
    }

    fn mode(&self, r: FileRef, max: u32) -> Verdict {
        self.per_file(r, |f, st| {
            // Directories compare with the search bit a directory needs.
            let allowed = if st.is_dir && max & 0o700 == 0o600 {
                max | 0o100
            } else {
                max
            };
            let bad = st.mode & !allowed & 0o7777 != 0;
            (
                format!("{f}: permissions {:o}", st.mode),
                bad.then(|| {
                    format!(
                        "{f} has permissions {:o}; expected {max:o} or more restrictive",
                        st.mode
                    )
                }),
            )
        })
    }

    fn owner(&self, r: FileRef, user: &str, group: &str) -> Verdict {
        self.per_file(r, |f, st| {
            let (u, g) = (self.root.user_name(st.uid), self.root.group_name(st.gid));
            let bad = u != user || g != group;
            (
                format!("{f}: owner {u}:{g}"),
                bad.then(|| format!("{f} is owned by {u}:{g}; expected {user}:{group}")),
            )
        })
    }

    fn audit_issues(&mut self) -> Option<(String, Option<Vec<Issue>>)> {
        if self.audit.is_none() {
            let f = self.get(crate::component::Component::ApiServer)?;
            let path = f
                .setting("audit-policy-file")
                .value
                .filter(|v| !v.is_empty())?;
            let issues = match load_tree(self.root, &path, &mut self.diags) {
                ConfigState::Loaded(t) => Some(audit_policy::analyze(&t)),
                _ => None,
            };
            self.audit = Some((path, issues));
        }
        self.audit.clone()
    }

    fn encryption(&mut self) -> Option<&(String, Option<encryption::Encryption>)> {
        if self.enc.is_none() {
            let f = self.get(crate::component::Component::ApiServer)?;
            let path = f
                .setting("encryption-provider-config")
                .value
                .filter(|v| !v.is_empty())?;
            let e = match load_tree(self.root, &path, &mut self.diags) {
                ConfigState::Loaded(t) => Some(encryption::analyze(&t)),
                _ => None,
            };
            self.enc = Some((path, e));
        }
        self.enc.as_ref()
    }

    fn special(&mut self, s: Special) -> Verdict {
        use crate::component::Component as C;
        match s {
            Special::ApiServerAnonymous => {
                let Some(f) = self.get(C::ApiServer) else {
                    return not_found(C::ApiServer);
                };
                let flag = f.setting("anonymous-auth");
                if let Some(path) = f
                    .setting("authentication-config")
                    .value
                    .filter(|v| !v.is_empty())
                {
                    if let ConfigState::Loaded(t) = load_tree(self.root, &path, &mut self.diags) {
                        if let Some(a) = t.get("anonymous") {
                            let enabled =
                                a.get("enabled").and_then(|e| e.as_bool()).unwrap_or(false);
                            let conds: Vec<String> = a
                                .get("conditions")
                                .map(|c| {
                                    c.items()
                                        .iter()
                                        .filter_map(|i| {
                                            i.get("path").and_then(|p| p.scalar_string())
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            let ev = vec![format!(
                                "anonymous.enabled={enabled} (authentication config {path}:{}){}",
                                a.pos.line,
                                if conds.is_empty() {
                                    String::new()
                                } else {
                                    format!(", only for {}", conds.join(", "))
                                }
                            )];
                            return if !enabled || !conds.is_empty() {
                                Verdict::Pass(ev)
                            } else {
                                let p = Problem {
                                    object: component_id("kube-apiserver"),
                                    source: path.clone(),
                                    line: a.pos.line,
                                    path: "anonymous.enabled".into(),
                                    message: "anonymous requests are enabled for every path".into(),
                                    severity: None,
                                };
                                Verdict::Fail(ev, vec![p])
                            };
                        }
                    }
                }
                let d = flag.describe(f);
                if test_value(Test::Eq("false"), flag.value.as_deref()) {
                    Verdict::Pass(vec![d])
                } else {
                    let p =
                        setting_problem(f, &flag, format!("{d}: anonymous requests are allowed"));
                    Verdict::Fail(vec![d], vec![p])
                }
            }
            Special::EventRateLimit => {
                let Some(f) = self.get(C::ApiServer) else {
                    return not_found(C::ApiServer);
                };
                let on = f.admission_plugins().iter().any(|p| p == "EventRateLimit");
                let cfg = f.setting("admission-control-config-file");
                let mut ev = vec![
                    format!(
                        "EventRateLimit {} the admission plugins in effect",
                        if on { "is among" } else { "is not among" }
                    ),
                    cfg.describe(f),
                ];
                let configured = cfg
                    .value
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .is_some_and(|p| {
                        self.root
                            .read(p)
                            .is_ok_and(|t| t.contains("EventRateLimit"))
                    });
                if on && configured {
                    Verdict::Pass(ev)
                } else {
                    ev.push("EventRateLimit needs both the plugin and its configuration".into());
                    let s = f.setting("enable-admission-plugins");
                    let p = setting_problem(
                        f,
                        &s,
                        "the EventRateLimit admission plugin is not enabled and configured".into(),
                    );
                    Verdict::Fail(ev, vec![p])
                }
            }
            Special::EncryptionConfigSet => {
                let Some(f) = self.get(C::ApiServer) else {
                    return not_found(C::ApiServer);
                };
                let s = f.setting("encryption-provider-config");
                let d = s.describe(f);
                match s.value.as_deref().filter(|v| !v.is_empty()) {
                    Some(p) if self.root.exists(p) => Verdict::Pass(vec![d]),
                    Some(p) => {
                        let pr = setting_problem(f, &s, format!("{d}: {p} does not exist"));
                        Verdict::Fail(vec![d, format!("{p} does not exist")], vec![pr])
                    }
                    None => {
                        let pr = setting_problem(f, &s, "--encryption-provider-config is not set: Secrets are stored in plaintext".into());
                        Verdict::Fail(vec![d], vec![pr])
                    }
                }
            }
            Special::EncryptionProviders => {
                if self.get(C::ApiServer).is_none() {
                    return not_found(C::ApiServer);
                }
                let Some((path, e)) = self.encryption().map(|(p, e)| {
                    (
                        p.clone(),
                        e.as_ref().map(|e| (e.issues.clone(), e.entries.clone())),
                    )
                }) else {
                    let f = self.get(C::ApiServer).expect("checked");
                    let s = f.setting("encryption-provider-config");
                    let pr = setting_problem(
                        f,
                        &s,
                        "no EncryptionConfiguration: Secrets are stored in plaintext".into(),
                    );
                    return Verdict::Fail(vec![s.describe(f)], vec![pr]);
                };
                let Some((issues, entries)) = e else {
                    return Verdict::Fail(
                        vec![format!("{path}: cannot be read or parsed")],
                        vec![Problem {
                            object: file_id(&path),
                            source: path.clone(),
                            line: 0,
                            path: path.clone(),
                            message: "the EncryptionConfiguration cannot be read".into(),
                            severity: None,
                        }],
                    );
                };
                let mut ev: Vec<String> = entries
                    .iter()
                    .map(|(r, d, l)| format!("{path}:{l}: {} → {d}", r.join(",")))
                    .collect();
                let bad: Vec<Problem> = issues
                    .iter()
                    .filter(|i| matches!(i.id, "ENC001" | "ENC002" | "ENC004" | "ENC005"))
                    .map(|i| Problem {
                        object: file_id(&path),
                        source: path.clone(),
                        line: i.line,
                        path: "providers".into(),
                        message: format!("{}: {}", i.id, i.message),
                        severity: None,
                    })
                    .collect();
                ev.extend(
                    issues
                        .iter()
                        .map(|i| format!("{path}:{}: {} {}", i.line, i.id, i.message)),
                );
                if bad.is_empty() {
                    Verdict::Pass(ev)
                } else {
                    Verdict::Fail(ev, bad)
                }
            }
            Special::StrongCiphers(c) => {
                let Some(f) = self.get(c) else {
                    return not_found(c);
                };
                let s = f.setting("tls-cipher-suites");
                let d = s.describe(f);
                let v = s.value.clone().unwrap_or_default();
                let list = split_list(&v);
                let weak: Vec<&String> = list
                    .iter()
                    .filter(|x| !STRONG_CIPHERS.contains(&x.as_str()))
                    .collect();
                if list.is_empty() {
                    let pr = setting_problem(
                        f,
                        &s,
                        "--tls-cipher-suites is not set: Go's default list applies".into(),
                    );
                    Verdict::Fail(vec![d], vec![pr])
                } else if weak.is_empty() {
                    Verdict::Pass(vec![d])
                } else {
                    let pr = setting_problem(
                        f,
                        &s,
                        format!(
                            "weak cipher suites: {}",
                            weak.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    Verdict::Fail(vec![d], vec![pr])
                }
            }
            Special::EtcdUniqueCa => {
                let Some(e) = self.get(C::Etcd) else {
                    return not_found(C::Etcd);
                };
                let Some(a) = self.get(C::ApiServer) else {
                    return not_found(C::ApiServer);
                };
                let es = e.setting("trusted-ca-file");
                let cs = a.setting("client-ca-file");
                let ev = vec![es.describe(e), cs.describe(a)];
                match (&es.value, &cs.value) {
                    (Some(x), Some(y)) if x == y => {
                        let pr = setting_problem(e, &es, format!("etcd trusts the API server's client CA {x}: every cluster client certificate can reach etcd"));
                        Verdict::Fail(ev, vec![pr])
                    }
                    (None, _) => {
                        let pr = setting_problem(e, &es, "etcd has no --trusted-ca-file".into());
                        Verdict::Fail(ev, vec![pr])
                    }
                    _ => Verdict::Pass(ev),
                }
            }
            Special::AuditPolicyExists | Special::AuditPolicyCoverage => {
                let coverage = s == Special::AuditPolicyCoverage;
                let Some(f) = self.get(C::ApiServer) else {
                    return not_found(C::ApiServer);
                };
                let st = f.setting("audit-policy-file");
                let d = st.describe(f);
                let pr_unset = setting_problem(
                    f,
                    &st,
                    "--audit-policy-file is not set: nothing is audited".into(),
                );
                match self.audit_issues() {
                    None => Verdict::Fail(vec![d], vec![pr_unset]),
                    Some((path, None)) => Verdict::Fail(
                        vec![d, format!("{path} cannot be read or parsed")],
                        vec![Problem {
                            object: file_id(&path),
                            source: path.clone(),
                            line: 0,
                            path: path.clone(),
                            message: "the audit policy cannot be read".into(),
                            severity: None,
                        }],
                    ),
                    Some((path, Some(issues))) => {
                        let relevant: Vec<&Issue> = if coverage {
                            issues
                                .iter()
                                .filter(|i| i.severity >= Severity::High)
                                .collect()
                        } else {
                            issues.iter().filter(|i| i.id == "AUD005").collect()
                        };
                        let mut ev = vec![d];
                        ev.extend(
                            issues
                                .iter()
                                .map(|i| format!("{path}:{}: {} {}", i.line, i.id, i.message)),
                        );
                        if relevant.is_empty() {
                            Verdict::Pass(ev)
                        } else {
                            let probs = relevant
                                .iter()
                                .map(|i| Problem {
                                    object: file_id(&path),
                                    source: path.clone(),
                                    line: i.line,
                                    path: "rules".into(),
                                    message: format!("{}: {}", i.id, i.message),
                                    severity: None,
                                })
                                .collect();
                            Verdict::Fail(ev, probs)
                        }
                    }
                }
            }
            Special::KubeletServerCertRotation => {
                let Some(f) = self.get(C::Kubelet) else {
                    return not_found(C::Kubelet);
                };
                let (gate, gs) = f.feature_gate("RotateKubeletServerCertificate", true);
                let s = f.setting("rotate-server-certificates");
                let on = test_value(Test::Eq("true"), s.value.as_deref());
                let ev = vec![
                    format!("RotateKubeletServerCertificate={gate} ({})", gs.describe(f)),
                    s.describe(f),
                ];
                if gate && on {
                    Verdict::Pass(ev)
                } else {
                    let pr = setting_problem(
                        f,
                        if on { &gs } else { &s },
                        "the kubelet does not rotate its serving certificate".into(),
                    );
                    Verdict::Fail(ev, vec![pr])
                }
            }
            Special::ControllerManagerRotation => {
                let Some(f) = self.get(C::ControllerManager) else {
                    return not_found(C::ControllerManager);
                };
                let (gate, gs) = f.feature_gate("RotateKubeletServerCertificate", true);
                let ev = vec![format!(
                    "RotateKubeletServerCertificate={gate} ({})",
                    gs.describe(f)
                )];
                if gate {
                    Verdict::Pass(ev)
                } else {
                    let pr = setting_problem(
                        f,
                        &gs,
                        "RotateKubeletServerCertificate is turned off".into(),
                    );
                    Verdict::Fail(ev, vec![pr])
                }
            }
            Special::PodPidsLimit => self.flag(C::Kubelet, &["pod-max-pids"], Test::Gt(0.0)),
        }
    }
}

/// RBAC risks of palisade-rbac that answer section 5 controls no scan check is tagged with:
/// (v1.10 number, risk ID).
pub const RBAC_RISKS: &[(&str, &str)] = &[("5.1.9", "RBAC017"), ("5.1.11", "RBAC014")];

/// The checks that answer a section 5 control: the scan checks tagged with its v1.10 number
/// (the checks' `cis` metadata) and the RBAC risks of [`RBAC_RISKS`], so the logic stays in
/// one place.
pub fn mapped_checks(v110: &str) -> Vec<&'static str> {
    palisade_checks::registry::all()
        .iter()
        .filter(|c| c.meta().cis == Some(v110))
        .map(|c| c.meta().id)
        .chain(
            RBAC_RISKS
                .iter()
                .filter(|(n, _)| *n == v110)
                .map(|(_, id)| *id),
        )
        .collect()
}

/// The mapped RBAC risks over the manifests, as findings (default bindings are not judged).
fn rbac_findings(objects: &[Object]) -> Vec<palisade_report::Finding> {
    let rbac = palisade_rbac::Rbac::build(objects, &palisade_rbac::BuildOptions { defaults: None });
    let opts = palisade_rbac::risks::RiskOptions {
        include_defaults: false,
    };
    palisade_rbac::risks::risks(&rbac, &opts)
        .into_iter()
        .filter(|r| RBAC_RISKS.iter().any(|(_, id)| *id == r.id))
        .map(|r| palisade_report::Finding {
            check: r.id.to_string(),
            severity: Severity::parse(r.severity.as_str()).unwrap_or(Severity::Medium),
            message: format!(
                "{} ({}) through {} ({}): {}",
                r.subject, r.scope, r.binding, r.role, r.title
            ),
            object: ObjectId {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: "Binding".into(),
                namespace: None,
                name: r.binding.clone(),
            },
            source: r.source.split(':').next().unwrap_or(&r.source).to_string(),
            line: r.line,
            path: r.rule.clone(),
            suppressed: None,
        })
        .collect()
}

type PolicyFindings = HashMap<String, Vec<palisade_report::Finding>>;

/// Runs the mapped scan checks once over the manifests.
fn policy_findings(objects: &[Object]) -> (PolicyFindings, Vec<Diagnostic>) {
    let mut ids: Vec<String> = CATALOG
        .iter()
        .filter(|c| c.audit == Audit::Policy)
        .filter_map(|c| c.v110())
        .flat_map(mapped_checks)
        .filter(|id| !RBAC_RISKS.iter().any(|(_, r)| r == id))
        .map(String::from)
        .collect();
    ids.sort();
    ids.dedup();
    let mut map = PolicyFindings::new();
    if ids.is_empty() {
        return (map, Vec::new());
    }
    let engine = match palisade_checks::Engine::new(palisade_checks::EngineOptions {
        only: ids,
        ..Default::default()
    }) {
        Ok(e) => e,
        Err(e) => {
            return (
                map,
                vec![Diagnostic::new(
                    palisade_model::Level::Error,
                    "<policy checks>",
                    0,
                    e.to_string(),
                )],
            )
        }
    };
    let r = engine.run(objects);
    for f in r.findings.into_iter().chain(rbac_findings(objects)) {
        map.entry(f.check.clone()).or_default().push(f);
    }
    (map, r.diagnostics)
}

impl Ctx<'_> {
    fn policy(&self, c: &CisCheck) -> Verdict {
        let Some(v) = c.v110() else {
            return Verdict::Manual(
                "no Palisade scan check answers this control: review it by hand".into(),
            );
        };
        let ids = mapped_checks(v);
        if ids.is_empty() {
            return Verdict::Manual(
                "no Palisade scan check answers this control: review it by hand".into(),
            );
        }
        let Some(map) = &self.policy else {
            return Verdict::Manual(format!(
                "answered from manifests: give them with --manifests (checks {})",
                ids.join(", ")
            ));
        };
        let mut ev = Vec::new();
        let mut probs = Vec::new();
        for id in ids {
            let active: Vec<&palisade_report::Finding> = map
                .get(id)
                .map(|v| v.iter().filter(|f| f.suppressed.is_none()).collect())
                .unwrap_or_default();
            ev.push(format!("{id}: {} finding(s)", active.len()));
            for f in active {
                probs.push(Problem {
                    object: f.object.clone(),
                    source: f.source.clone(),
                    line: f.line,
                    path: f.path.clone(),
                    message: format!("{}: {}", f.check, f.message),
                    severity: Some(f.severity),
                });
            }
        }
        if probs.is_empty() {
            Verdict::Pass(ev)
        } else {
            Verdict::Fail(ev, probs)
        }
    }

    fn verdict(&mut self, c: &CisCheck) -> Verdict {
        if let Some(by) = self.opts.profile.managed_by() {
            if matches!(c.section(), "1" | "2" | "3") {
                return Verdict::NotApplicable(format!(
                    "the control plane is managed by {by}: not inspectable from a node"
                ));
            }
        }
        if self.opts.profile == Profile::K3s
            && self.get(crate::component::Component::Etcd).is_none()
            && matches!(c.id, "CIS-1.2.23" | "CIS-1.2.26")
        {
            return Verdict::NotApplicable(
                "k3s without etcd keeps its data in SQLite through kine on a local socket: no etcd client TLS applies".into(),
            );
        }
        match c.audit {
            Audit::Flag { c, flags, test } => self.flag(c, flags, test),
            Audit::AdmissionPlugin { plugin, enabled } => {
                let api = crate::component::Component::ApiServer;
                let Some(f) = self.get(api) else {
                    return not_found(api);
                };
                let on = f.admission_plugins().iter().any(|p| p == plugin);
                let en = f.setting("enable-admission-plugins");
                let dis = f.setting("disable-admission-plugins");
                let ev = vec![
                    format!(
                        "{plugin} is {}",
                        if on { "in effect" } else { "not in effect" }
                    ),
                    en.describe(f),
                    dis.describe(f),
                ];
                if on == enabled {
                    Verdict::Pass(ev)
                } else {
                    let at = if enabled
                        && f.setting("disable-admission-plugins")
                            .value
                            .as_deref()
                            .is_some_and(|v| split_list(v).iter().any(|p| p == plugin))
                    {
                        &dis
                    } else {
                        &en
                    };
                    let p = setting_problem(
                        f,
                        at,
                        format!(
                            "admission plugin {plugin} is {}",
                            if on { "enabled" } else { "not enabled" }
                        ),
                    );
                    Verdict::Fail(ev, vec![p])
                }
            }
            Audit::Mode { file, max } => {
                let m = if self.opts.benchmark == Benchmark::Cis110 {
                    max[0]
                } else {
                    max[1]
                };
                self.mode(file, m)
            }
            Audit::Owner { file, user, group } => self.owner(file, user, group),
            Audit::Special(s) => self.special(s),
            Audit::Policy => self.policy(c),
            Audit::Manual(what) => Verdict::Manual(what.to_string()),
        }
    }
}

/// Checks the node under `root`; `objects` are manifests for section 5, the Corefile and
/// metadata reachability.
pub fn run(root: &Root, opts: &Options, objects: Option<&[Object]>) -> NodeRun {
    let disc = crate::component::discover(root, opts.profile);
    let mut out = NodeRun {
        processes: disc.processes,
        benchmark: Some(opts.benchmark),
        diagnostics: disc.diagnostics.clone(),
        ..NodeRun::default()
    };
    for (c, f) in &disc.found {
        out.components
            .push((c.name().to_string(), f.source.clone()));
    }
    let policy = objects.map(|o| {
        let (m, d) = policy_findings(o);
        out.diagnostics.extend(d);
        m
    });
    let mut ctx = Ctx {
        root,
        opts,
        disc: &disc,
        policy,
        diags: Vec::new(),
        audit: None,
        enc: None,
    };
    for check in CATALOG {
        let Some((number, kind)) = check.in_benchmark(opts.benchmark) else {
            continue;
        };
        let (status, evidence, problems) = match ctx.verdict(check) {
            Verdict::Pass(ev) => (Status::Pass, ev, Vec::new()),
            Verdict::Fail(ev, p) => (
                if kind == Kind::Automated {
                    Status::Fail
                } else {
                    Status::Warn
                },
                ev,
                p,
            ),
            Verdict::NotFound(why) => (Status::NotFound, vec![why], Vec::new()),
            Verdict::NotApplicable(why) => (Status::Info, vec![why], Vec::new()),
            Verdict::Manual(what) => (Status::Warn, vec![format!("manual: {what}")], Vec::new()),
        };
        out.results.push(CheckResult {
            check,
            number,
            kind,
            status,
            evidence,
            problems,
        });
    }

    // The analyses of the files the API server names.
    if let Some((path, Some(issues))) = ctx.audit_issues() {
        for i in issues {
            out.extras.push(Extra {
                issue: i,
                source: path.clone(),
                object: file_id(&path),
            });
        }
    }
    if let Some((path, Some(e))) = ctx.encryption() {
        let path = path.clone();
        for i in e.issues.clone() {
            out.extras.push(Extra {
                issue: i,
                source: path.clone(),
                object: file_id(&path),
            });
        }
    }
    out.diagnostics.append(&mut ctx.diags);
    if let Some(objs) = objects {
        out.extras.extend(corefile_extras(objs));
        let (reach, _) = metadata::reachability(objs);
        for (i, r) in metadata::issues(&reach).into_iter().zip(&reach) {
            out.extras.push(Extra {
                issue: i,
                source: r.source.clone(),
                object: ObjectId {
                    api_version: "v1".into(),
                    kind: "Workload".into(),
                    namespace: None,
                    name: r.workload.clone(),
                },
            });
        }
    }
    if let Some(today) = opts.today {
        let image = disc
            .get(crate::component::Component::ApiServer)
            .and_then(|f| f.image.clone());
        if let Some(v) = opts.kubernetes_version.clone().or(image) {
            for i in eol::check(&v, today) {
                out.extras.push(Extra {
                    issue: i,
                    source: v.clone(),
                    object: component_id("kubernetes"),
                });
            }
        }
    }
    out
}

/// The Corefile of every ConfigMap that has one (CoreDNS's `kube-system/coredns`), with
/// lines mapped back into the manifest.
pub fn corefile_extras(objects: &[Object]) -> Vec<Extra> {
    let mut out = Vec::new();
    for o in objects.iter().filter(|o| o.kind == "ConfigMap") {
        let Some(n) = o.root.at(&["data", "Corefile"]) else {
            continue;
        };
        let Some(text) = n.as_str() else { continue };
        let (_, issues) = corefile::analyze(text);
        for mut i in issues {
            if i.line > 0 && n.pos.line > 0 {
                i.line += n.pos.line - 1;
            }
            out.push(Extra {
                issue: i,
                source: o.source.display(),
                object: ObjectId::from_object(o),
            });
        }
    }
    out
}
