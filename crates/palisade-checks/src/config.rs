//! The `.palisade.yaml` configuration file: profile, checks to run or skip, severity
//! overrides, the image registry allowlist, and exemptions.
//!
//! ```yaml
//! profile: all                 # pss-baseline | pss-restricted | all
//! pssVersion: v1.37            # or latest
//! checks: []                   # when set, only these run (IDs, names, or PREFIX*)
//! skip: [PAL203]
//! failOn: high                 # default --fail-on
//! severity: {PAL101: info}
//! registries: [ghcr.io/acme, registry.k8s.io]
//! exemptions:
//!   - checks: [PSS102]         # IDs, names or PREFIX*; empty or absent: every check
//!     namespaces: [kube-system] # globs; all given selectors must match
//!     names: ["calico-*"]
//!     kinds: [DaemonSet]
//!     labels: {k8s-app: calico-node}
//!     reason: the CNI needs the host network
//! ```

use crate::engine::{resolve, Profile};
use crate::meta::CheckMeta;
use crate::util::glob_match;
use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::{Node, Object};
use palisade_report::Severity;
use std::path::{Path, PathBuf};

/// The configuration file's name, looked for upward from the working directory.
pub const FILE_NAME: &str = ".palisade.yaml";

/// An error in the configuration file, with its line.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// A rule that suppresses findings on matching objects.
#[derive(Clone, Debug, Default)]
pub struct Exemption {
    /// Check IDs this exemption covers; empty means every check.
    pub checks: Vec<&'static str>,
    pub namespaces: Vec<String>,
    pub names: Vec<String>,
    pub kinds: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub reason: Option<String>,
}

impl Exemption {
    pub fn matches(&self, meta: &CheckMeta, obj: &Object) -> bool {
        if !self.checks.is_empty() && !self.checks.contains(&meta.id) {
            return false;
        }
        let ns = obj.namespace.as_deref().unwrap_or("");
        (self.namespaces.is_empty() || self.namespaces.iter().any(|p| glob_match(p, ns)))
            && (self.names.is_empty() || self.names.iter().any(|p| glob_match(p, &obj.name)))
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == &obj.kind))
            && self.labels.iter().all(|(k, v)| {
                obj.labels().get(k).and_then(Node::scalar_string).as_deref() == Some(v.as_str())
            })
    }
}

/// The parsed configuration file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub profile: Option<Profile>,
    pub pss_version: Option<crate::PssVersion>,
    pub checks: Vec<String>,
    pub skip: Vec<String>,
    pub fail_on: Option<Severity>,
    pub severity: Vec<(String, Severity)>,
    pub registries: Vec<String>,
    pub exemptions: Vec<Exemption>,
}

/// Looks for `.palisade.yaml` in `start` and its parents.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let mut c = Config::parse(&text, &file)?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parses configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let err = |line: u32, message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let docs = parse_documents(text, Limits::default());
        let mut cfg = Config::default();
        let Some(doc) = docs.into_iter().next() else {
            return Ok(cfg);
        };
        let root = match doc.result {
            Err(e) => return Err(err(e.pos.line, e.message)),
            Ok(None) => return Ok(cfg),
            Ok(Some(n)) => n,
        };
        if !root.is_map() {
            return Err(err(
                root.pos.line,
                "the configuration must be a mapping".into(),
            ));
        }
        let strings = |n: &Node, what: &str| -> Result<Vec<String>, ConfigError> {
            if n.is_null() {
                return Ok(Vec::new());
            }
            if !n.is_seq() {
                return Err(err(n.pos.line, format!("{what} must be a list")));
            }
            n.items()
                .iter()
                .map(|i| {
                    i.scalar_string()
                        .ok_or_else(|| err(i.pos.line, format!("{what} entries must be strings")))
                })
                .collect()
        };
        let check_keys = |keys: &[String], line: u32| -> Result<(), ConfigError> {
            for k in keys {
                resolve(k).map_err(|e| err(line, e.to_string()))?;
            }
            Ok(())
        };
        for e in root.entries() {
            let v = &e.value;
            let line = e.key_pos.line;
            match e.key.as_str() {
                "profile" => {
                    let s = v.as_str().unwrap_or_default();
                    cfg.profile = Some(Profile::parse(s).ok_or_else(|| {
                        err(line, format!("unknown profile {s:?} (pss-baseline, pss-restricted, all)"))
                    })?);
                }
                "pssVersion" => {
                    let s = v.scalar_string().unwrap_or_default();
                    cfg.pss_version = Some(crate::PssVersion::parse(&s).ok_or_else(|| {
                        err(line, format!("unknown Pod Security Standards version {s:?} (v1.0 to {})", crate::PssVersion::LATEST))
                    })?);
                }
                "checks" => {
                    cfg.checks = strings(v, "checks")?;
                    check_keys(&cfg.checks, line)?;
                }
                "skip" => {
                    cfg.skip = strings(v, "skip")?;
                    check_keys(&cfg.skip, line)?;
                }
                "failOn" => {
                    let s = v.as_str().unwrap_or_default();
                    cfg.fail_on = Some(Severity::parse(s).ok_or_else(|| {
                        err(line, format!("unknown severity {s:?} (critical, high, medium, low, info)"))
                    })?);
                }
                "severity" => {
                    if !v.is_map() {
                        return Err(err(line, "severity must map check IDs to severities".into()));
                    }
                    for s in v.entries() {
                        resolve(&s.key).map_err(|e| err(s.key_pos.line, e.to_string()))?;
                        let sev = s.value.as_str().and_then(Severity::parse).ok_or_else(|| {
                            err(s.key_pos.line, format!("unknown severity for {}", s.key))
                        })?;
                        cfg.severity.push((s.key.clone(), sev));
                    }
                }
                "registries" => cfg.registries = strings(v, "registries")?,
                "exemptions" => {
                    if !v.is_seq() {
                        return Err(err(line, "exemptions must be a list".into()));
                    }
                    for item in v.items() {
                        if !item.is_map() {
                            return Err(err(item.pos.line, "an exemption must be a mapping".into()));
                        }
                        let mut ex = Exemption::default();
                        for f in item.entries() {
                            let l = f.key_pos.line;
                            match f.key.as_str() {
                                "checks" => {
                                    for k in strings(&f.value, "checks")? {
                                        let cs = resolve(&k).map_err(|e| err(l, e.to_string()))?;
                                        ex.checks.extend(cs.iter().map(|c| c.meta().id));
                                    }
                                }
                                "namespaces" => ex.namespaces = strings(&f.value, "namespaces")?,
                                "names" => ex.names = strings(&f.value, "names")?,
                                "kinds" => ex.kinds = strings(&f.value, "kinds")?,
                                "labels" => {
                                    for lv in f.value.entries() {
                                        let val = lv.value.scalar_string().ok_or_else(|| {
                                            err(lv.key_pos.line, "label values must be strings".into())
                                        })?;
                                        ex.labels.push((lv.key.clone(), val));
                                    }
                                }
                                "reason" => ex.reason = f.value.scalar_string(),
                                other => {
                                    return Err(err(l, format!("unknown exemption field {other:?} (checks, namespaces, names, kinds, labels, reason)")))
                                }
                            }
                        }
                        cfg.exemptions.push(ex);
                    }
                }
                other => {
                    return Err(err(
                        line,
                        format!("unknown setting {other:?} (profile, pssVersion, checks, skip, failOn, severity, registries, exemptions)"),
                    ))
                }
            }
        }
        Ok(cfg)
    }
}
