//! Pod Security Admission, as the API server's PodSecurity plugin applies it: levels and
//! versions from the namespace's `pod-security.kubernetes.io/{enforce,audit,warn}[-version]`
//! labels (configured defaults for absent labels), PSA's exemptions (usernames, namespaces,
//! runtimeClassNames), and the controls of the built-in Pod Security Standards checks.
//!
//! What PSA does, and so what this does:
//! - Pods (and the `ephemeralcontainers` subresource) are checked on CREATE and on UPDATEs
//!   that change something PSA cares about (images, containers, seccomp annotations);
//!   other pod subresources are not checked.
//! - Workload resources (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
//!   ReplicationController, PodTemplate) are checked through their pod template for `warn`
//!   and `audit` only: PSA never denies a workload, it denies the pods it creates.
//! - An invalid enforce level label means `restricted`; invalid audit and warn levels fail
//!   open (`privileged`); an invalid version means `latest`. A Namespace create or update
//!   that sets invalid Pod Security labels is denied.
//! - A version newer than this build knows is evaluated as `latest`.
//!
//! One deliberate difference: PSA fails a request whose namespace it cannot find; Palisade
//! applies the configured defaults and records `namespaceLabels: unknown` in the decision
//! log, because its namespace cache may come from files.

use palisade_checks::engine::{Engine, EngineOptions, Profile};
use palisade_checks::{registry, PssVersion};
use palisade_model::Object;
use palisade_policy::{AdmissionRequest, Operation};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::config::{PodSecurityConfig, PssDefaults};

pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";
pub const ENFORCE_POLICY_ANNOTATION: &str = "pod-security.kubernetes.io/enforce-policy";
pub const AUDIT_VIOLATIONS_ANNOTATION: &str = "pod-security.kubernetes.io/audit-violations";
pub const EXEMPT_ANNOTATION: &str = "pod-security.kubernetes.io/exempt";
pub const ERROR_ANNOTATION: &str = "pod-security.kubernetes.io/error";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Level::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown Pod Security level {s:?} (privileged, baseline, restricted)"
            ))
        })
    }
}

/// A Pod Security Standards version label value: `latest` or `v1.N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PssVersionSpec {
    Latest,
    V(u32),
}

impl PssVersionSpec {
    /// PSA's `^v1\.([0-9]|[1-9][0-9]*)$` or `latest`.
    pub fn parse(s: &str) -> Option<PssVersionSpec> {
        if s == "latest" {
            return Some(PssVersionSpec::Latest);
        }
        let minor = s.strip_prefix("v1.")?;
        if minor.is_empty()
            || !minor.bytes().all(|b| b.is_ascii_digit())
            || (minor.len() > 1 && minor.starts_with('0'))
        {
            return None;
        }
        minor.parse().ok().map(PssVersionSpec::V)
    }

    /// The checks' version: newer than this build knows is evaluated as the latest.
    pub fn effective(self) -> PssVersion {
        match self {
            PssVersionSpec::Latest => PssVersion::LATEST,
            PssVersionSpec::V(n) => PssVersion(n.min(PssVersion::LATEST.0)),
        }
    }
}

impl std::fmt::Display for PssVersionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PssVersionSpec::Latest => f.write_str("latest"),
            PssVersionSpec::V(n) => write!(f, "v1.{n}"),
        }
    }
}

impl Serialize for PssVersionSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PssVersionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PssVersionSpec::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid Pod Security version {s:?} (latest or v1.N)"
            ))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: PssVersionSpec,
}

impl std::fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

/// The levels a namespace's labels (or the defaults) ask for.
#[derive(Clone, Debug, PartialEq)]
pub struct NamespacePolicy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
    /// Invalid label values, as `label=value: reason`.
    pub errors: Vec<String>,
}

/// PSA's `PolicyToEvaluate`.
pub fn policy_for(
    labels: Option<&serde_json::Map<String, Value>>,
    d: &PssDefaults,
) -> NamespacePolicy {
    let mut p = NamespacePolicy {
        enforce: LevelVersion {
            level: d.enforce,
            version: d.enforce_version,
        },
        audit: LevelVersion {
            level: d.audit,
            version: d.audit_version,
        },
        warn: LevelVersion {
            level: d.warn,
            version: d.warn_version,
        },
        errors: Vec::new(),
    };
    let Some(labels) = labels else { return p };
    let level =
        |mode: &str, target: &mut LevelVersion, invalid: Level, errors: &mut Vec<String>| {
            if let Some(v) = labels.get(&format!("{LABEL_PREFIX}{mode}")) {
                let s = v.as_str().unwrap_or_default();
                match Level::parse(s) {
                    Some(l) => target.level = l,
                    None => {
                        target.level = invalid;
                        errors.push(format!(
                        "{LABEL_PREFIX}{mode}={s}: must be one of privileged, baseline, restricted"
                    ));
                    }
                }
            }
            if let Some(v) = labels.get(&format!("{LABEL_PREFIX}{mode}-version")) {
                let s = v.as_str().unwrap_or_default();
                match PssVersionSpec::parse(s) {
                    Some(ver) => target.version = ver,
                    None => {
                        target.version = PssVersionSpec::Latest;
                        errors.push(format!(
                            "{LABEL_PREFIX}{mode}-version={s}: must be \"latest\" or \"v1.x\""
                        ));
                    }
                }
            }
        };
    let mut errors = Vec::new();
    level("enforce", &mut p.enforce, Level::Restricted, &mut errors);
    level("audit", &mut p.audit, Level::Privileged, &mut errors);
    level("warn", &mut p.warn, Level::Privileged, &mut errors);
    p.errors = errors;
    p
}

/// Kinds PSA checks through their pod template (warn and audit only).
pub fn is_pod_controller(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "PodTemplate")
            | ("", "ReplicationController")
            | ("apps", "ReplicaSet")
            | ("apps", "Deployment")
            | ("apps", "StatefulSet")
            | ("apps", "DaemonSet")
            | ("batch", "Job")
            | ("batch", "CronJob")
    )
}

/// The controls one level/version combination violates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violations {
    pub policy: String,
    /// `control (detail; detail)` per violated control, in control order.
    pub controls: Vec<String>,
    /// The check IDs behind them.
    pub checks: Vec<String>,
}

impl Violations {
    /// PSA's wording: `violates PodSecurity "restricted:latest": a (…), b (…)`.
    pub fn message(&self, prefix: &str) -> String {
        format!(
            "{prefix} PodSecurity \"{}\": {}",
            self.policy,
            self.controls.join(", ")
        )
    }
}

/// What PSA concluded for one request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PssOutcome {
    /// Whether the request is something PSA looks at.
    pub applies: bool,
    /// `user`, `namespace` or `runtimeClass` when exempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce: Option<Violations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn: Option<Violations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Violations>,
    /// Invalid Pod Security labels: on the namespace (evaluated with PSA's fallbacks), or,
    /// for a Namespace request, the reason it is denied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_errors: Vec<String>,
    /// A Namespace create/update with invalid labels.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub invalid_namespace: bool,
}

/// The compiled Pod Security configuration, with one check engine per level and version,
/// built on first use.
pub struct PodSecurity {
    cfg: PodSecurityConfig,
    engines: Mutex<HashMap<(Level, u32), Arc<Engine>>>,
}

impl std::fmt::Debug for PodSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodSecurity")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl PodSecurity {
    pub fn new(cfg: PodSecurityConfig) -> PodSecurity {
        let ps = PodSecurity {
            cfg,
            engines: Mutex::new(HashMap::new()),
        };
        // Warm the engines the defaults need so the first request does not pay for them.
        let d = ps.cfg.defaults.clone();
        for lv in [
            LevelVersion {
                level: d.enforce,
                version: d.enforce_version,
            },
            LevelVersion {
                level: d.warn,
                version: d.warn_version,
            },
            LevelVersion {
                level: d.audit,
                version: d.audit_version,
            },
            LevelVersion {
                level: Level::Restricted,
                version: PssVersionSpec::Latest,
            },
            LevelVersion {
                level: Level::Baseline,
                version: PssVersionSpec::Latest,
            },
        ] {
            ps.engine(lv);
        }
        ps
    }

    pub fn config(&self) -> &PodSecurityConfig {
        &self.cfg
    }

    fn engine(&self, lv: LevelVersion) -> Option<Arc<Engine>> {
        let profile = match lv.level {
            Level::Privileged => return None,
            Level::Baseline => Profile::PssBaseline,
            Level::Restricted => Profile::PssRestricted,
        };
        let v = lv.version.effective();
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = engines.get(&(lv.level, v.0)) {
            return Some(e.clone());
        }
        let engine = Engine::new(EngineOptions {
            profile,
            pss_version: Some(v),
            ..EngineOptions::default()
        })
        .ok()?;
        let engine = Arc::new(engine);
        engines.insert((lv.level, v.0), engine.clone());
        Some(engine)
    }

    /// Evaluates `object` (the request's object, already converted) at one level.
    /// Annotations such as `palisade.dev/ignore` do not exempt anything here: at admission,
    /// exemptions come only from the configuration.
    pub fn violations(&self, lv: LevelVersion, object: &Object) -> Option<Violations> {
        let engine = self.engine(lv)?;
        let result = engine.run(std::slice::from_ref(object));
        if result.findings.is_empty() {
            return None;
        }
        // Group details by control, in check order, as PSA lists them.
        let mut by_control: BTreeMap<usize, (String, Vec<String>, String)> = BTreeMap::new();
        for f in result.findings {
            let (idx, control) = engine
                .checks()
                .iter()
                .position(|c| c.meta().id == f.check)
                .map(|i| {
                    let control = registry::find(&f.check)
                        .and_then(|c| c.meta().pss)
                        .map(|p| p.control.to_string())
                        .unwrap_or_else(|| f.check.clone());
                    (i, control)
                })
                .unwrap_or((usize::MAX, f.check.clone()));
            let e = by_control
                .entry(idx)
                .or_insert_with(|| (control, Vec::new(), f.check.clone()));
            if !e.1.contains(&f.message) {
                e.1.push(f.message);
            }
        }
        let mut controls = Vec::new();
        let mut checks = Vec::new();
        for (_, (control, details, check)) in by_control {
            controls.push(format!("{control} ({})", details.join("; ")));
            checks.push(check);
        }
        Some(Violations {
            policy: lv.to_string(),
            controls,
            checks,
        })
    }

    /// PSA for one request. `object` is the request's object converted for the checks
    /// (`None` when there is none or it could not be converted); `namespace` is the
    /// Namespace object when known.
    pub fn evaluate(
        &self,
        req: &AdmissionRequest,
        object: Option<&Object>,
        namespace: Option<&Value>,
    ) -> PssOutcome {
        let mut out = PssOutcome::default();
        if !self.cfg.enabled {
            return out;
        }
        let group = req.kind.group.as_str();
        let kind = req.kind.kind.as_str();
        let sub = req.sub_resource.as_deref().unwrap_or("");
        let op = req.operation;
        if !matches!(op, Operation::Create | Operation::Update) {
            return out;
        }
        // Namespaces: Pod Security labels must be valid.
        if group.is_empty() && kind == "Namespace" && sub.is_empty() {
            let labels = req
                .object
                .as_ref()
                .and_then(|o| o.pointer("/metadata/labels"))
                .and_then(Value::as_object);
            let policy = policy_for(labels, &self.cfg.defaults);
            if !policy.errors.is_empty() && !self.exempt_user(req) {
                out.applies = true;
                out.invalid_namespace = true;
                out.label_errors = policy.errors;
            }
            return out;
        }
        let is_pod =
            group.is_empty() && kind == "Pod" && (sub.is_empty() || sub == "ephemeralcontainers");
        let is_controller = sub.is_empty() && is_pod_controller(group, kind);
        if !is_pod && !is_controller {
            return out;
        }
        let Some(object) = object else { return out };
        out.applies = true;
        let ns_name = req.namespace.as_deref().unwrap_or("");
        if self.cfg.exemptions.namespaces.iter().any(|n| n == ns_name) {
            out.exempt = Some("namespace");
            return out;
        }
        if self.exempt_user(req) {
            out.exempt = Some("user");
            return out;
        }
        if is_pod {
            let rc = req
                .object
                .as_ref()
                .and_then(|o| o.pointer("/spec/runtimeClassName"))
                .and_then(Value::as_str);
            if rc.is_some_and(|rc| self.cfg.exemptions.runtime_classes.iter().any(|r| r == rc)) {
                out.exempt = Some("runtimeClass");
                return out;
            }
        }
        if op == Operation::Update {
            let unchanged = match (&req.object, &req.old_object) {
                (Some(new), Some(old)) if is_pod => !significant_pod_update(new, old),
                (Some(new), Some(old)) => template_of(new) == template_of(old),
                _ => false,
            };
            if unchanged {
                out.applies = false;
                return out;
            }
        }
        let labels = namespace
            .and_then(|n| n.pointer("/metadata/labels"))
            .and_then(Value::as_object);
        let policy = policy_for(labels, &self.cfg.defaults);
        out.label_errors = policy.errors.clone();
        // Enforce, warn and audit usually ask for the same level and version: each distinct
        // one is evaluated once per request.
        let mut seen: Vec<(LevelVersion, Option<Violations>)> = Vec::with_capacity(3);
        let mut at = |lv: LevelVersion| -> Option<Violations> {
            if let Some((_, v)) = seen.iter().find(|(l, _)| *l == lv) {
                return v.clone();
            }
            let v = self.violations(lv, object);
            seen.push((lv, v.clone()));
            v
        };
        if is_pod {
            out.enforce_policy = Some(policy.enforce.to_string());
            out.enforce = at(policy.enforce);
        }
        // PSA does not repeat the enforce message as a warning.
        if !(is_pod && policy.warn == policy.enforce && out.enforce.is_some()) {
            out.warn = at(policy.warn);
        }
        out.audit = at(policy.audit);
        out
    }

    fn exempt_user(&self, req: &AdmissionRequest) -> bool {
        let u = &req.user_info.username;
        !u.is_empty() && self.cfg.exemptions.usernames.iter().any(|e| e == u)
    }
}

/// PSA's `isSignificantPodUpdate`: only changes to images, to the set of containers, to
/// ephemeral containers, or to seccomp annotations are re-checked (the rest of a pod's spec
/// is immutable, and metadata changes must not be blocked by a namespace's new level).
pub fn significant_pod_update(new: &Value, old: &Value) -> bool {
    let annotation = |v: &Value, k: &str| -> Option<Value> {
        v.pointer("/metadata/annotations")
            .and_then(|a| a.get(k))
            .cloned()
    };
    const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";
    if annotation(new, SECCOMP_POD) != annotation(old, SECCOMP_POD) {
        return true;
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let n = new
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array);
        let o = old
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array);
        let (n, o) = (
            n.map(Vec::as_slice).unwrap_or(&[]),
            o.map(Vec::as_slice).unwrap_or(&[]),
        );
        if n.len() != o.len() {
            return true;
        }
        for (a, b) in n.iter().zip(o) {
            if list == "ephemeralContainers" {
                if a != b {
                    return true;
                }
                continue;
            }
            if a.get("image") != b.get("image") || a.get("name") != b.get("name") {
                return true;
            }
            let name = a.get("name").and_then(Value::as_str).unwrap_or("");
            let key = format!("{SECCOMP_CONTAINER}{name}");
            if annotation(new, &key) != annotation(old, &key) {
                return true;
            }
        }
    }
    false
}

/// The pod template of a workload object.
fn template_of(v: &Value) -> Option<&Value> {
    v.pointer("/spec/template")
        .or_else(|| v.pointer("/spec/jobTemplate/spec/template"))
        .or_else(|| v.get("template"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{Node, Source};
    use palisade_policy::UserInfo;
    use serde_json::json;

    fn obj(v: &Value) -> Object {
        Object::from_node(
            Node::from_json(v),
            Arc::new(Source::File("<req>".into())),
            0,
            None,
        )
        .unwrap()
    }

    fn ns(labels: Value) -> Value {
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app","labels":labels}})
    }

    fn pss(defaults: PssDefaults) -> PodSecurity {
        PodSecurity::new(PodSecurityConfig {
            defaults,
            ..PodSecurityConfig::default()
        })
    }

    fn pod(extra: Value) -> Value {
        let mut p = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"app"},
            "spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                p["spec"][k] = v;
            }
        }
        p
    }

    fn req(o: Value, op: Operation) -> AdmissionRequest {
        let mut r = AdmissionRequest::for_object(Some(o), None, op, UserInfo::offline());
        r.namespace = Some("app".into());
        r
    }

    #[test]
    fn labels_resolve_like_psa() {
        let d = PssDefaults::default();
        let l = ns(json!({"pod-security.kubernetes.io/enforce":"baseline",
            "pod-security.kubernetes.io/enforce-version":"v1.30",
            "pod-security.kubernetes.io/warn":"restricted"}));
        let p = policy_for(l.pointer("/metadata/labels").and_then(Value::as_object), &d);
        assert_eq!(p.enforce.to_string(), "baseline:v1.30");
        assert_eq!(p.warn.to_string(), "restricted:latest");
        assert_eq!(p.audit.to_string(), "privileged:latest");
        assert!(p.errors.is_empty());

        let l = ns(json!({"pod-security.kubernetes.io/enforce":"bogus",
            "pod-security.kubernetes.io/warn":"bogus",
            "pod-security.kubernetes.io/audit-version":"1.30"}));
        let p = policy_for(l.pointer("/metadata/labels").and_then(Value::as_object), &d);
        assert_eq!(
            p.enforce.level,
            Level::Restricted,
            "invalid enforce fails closed"
        );
        assert_eq!(p.warn.level, Level::Privileged, "invalid warn fails open");
        assert_eq!(p.audit.version, PssVersionSpec::Latest);
        assert_eq!(p.errors.len(), 3, "{:?}", p.errors);
    }

    #[test]
    fn versions_parse_like_psa() {
        assert_eq!(PssVersionSpec::parse("v1.0"), Some(PssVersionSpec::V(0)));
        assert_eq!(PssVersionSpec::parse("v1.25"), Some(PssVersionSpec::V(25)));
        assert_eq!(PssVersionSpec::parse("v1.05"), None);
        assert_eq!(PssVersionSpec::parse("1.25"), None);
        assert_eq!(PssVersionSpec::parse("v2.1"), None);
        assert_eq!(PssVersionSpec::V(99).effective(), PssVersion::LATEST);
    }

    #[test]
    fn pods_are_enforced_workloads_only_warned() {
        let p = pss(PssDefaults {
            enforce: Level::Baseline,
            warn: Level::Restricted,
            audit: Level::Restricted,
            ..PssDefaults::default()
        });
        let bad = pod(json!({"hostNetwork": true}));
        let r = req(bad.clone(), Operation::Create);
        let out = p.evaluate(&r, Some(&obj(&bad)), None);
        let enforce = out.enforce.expect("hostNetwork violates baseline");
        assert!(
            enforce
                .message("violates")
                .starts_with("violates PodSecurity \"baseline:latest\": hostNamespaces ("),
            "{enforce:?}"
        );
        assert!(out.warn.is_some() && out.audit.is_some());

        let dep = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"app"},
            "spec":{"template":{"spec":{"hostNetwork":true,"containers":[{"name":"c","image":"nginx:1"}]}}}});
        let r = req(dep.clone(), Operation::Create);
        let out = p.evaluate(&r, Some(&obj(&dep)), None);
        assert!(out.applies);
        assert!(out.enforce.is_none(), "workloads are never denied by PSA");
        assert!(out.warn.is_some());
    }

    #[test]
    fn exemptions() {
        let mut cfg = PodSecurityConfig {
            defaults: PssDefaults {
                enforce: Level::Restricted,
                ..PssDefaults::default()
            },
            ..PodSecurityConfig::default()
        };
        cfg.exemptions.usernames = vec!["admin".into()];
        cfg.exemptions.namespaces = vec!["kube-system".into()];
        cfg.exemptions.runtime_classes = vec!["kata".into()];
        let p = PodSecurity::new(cfg);
        let bad = pod(json!({"hostPID": true}));
        let mut r = req(bad.clone(), Operation::Create);
        r.user_info.username = "admin".into();
        assert_eq!(p.evaluate(&r, Some(&obj(&bad)), None).exempt, Some("user"));
        let mut r = req(bad.clone(), Operation::Create);
        r.namespace = Some("kube-system".into());
        assert_eq!(
            p.evaluate(&r, Some(&obj(&bad)), None).exempt,
            Some("namespace")
        );
        let kata = pod(json!({"hostPID": true, "runtimeClassName": "kata"}));
        let r = req(kata.clone(), Operation::Create);
        assert_eq!(
            p.evaluate(&r, Some(&obj(&kata)), None).exempt,
            Some("runtimeClass")
        );
        let r = req(bad.clone(), Operation::Create);
        let out = p.evaluate(&r, Some(&obj(&bad)), None);
        assert_eq!(out.exempt, None);
        assert!(out.enforce.is_some());
    }

    #[test]
    fn namespace_labels_pick_the_level_and_insignificant_updates_pass() {
        let p = pss(PssDefaults::default());
        let bad = pod(json!({"hostIPC": true}));
        let r = req(bad.clone(), Operation::Create);
        assert!(
            p.evaluate(&r, Some(&obj(&bad)), None).enforce.is_none(),
            "privileged default"
        );
        let n = ns(json!({"pod-security.kubernetes.io/enforce":"baseline"}));
        let out = p.evaluate(&r, Some(&obj(&bad)), Some(&n));
        assert_eq!(out.enforce_policy.as_deref(), Some("baseline:latest"));
        assert!(out.enforce.is_some());

        // A label-only update of a violating pod is not re-checked.
        let mut newer = bad.clone();
        newer["metadata"]["labels"] = json!({"x":"y"});
        let mut r = req(newer.clone(), Operation::Update);
        r.old_object = Some(bad.clone());
        let out = p.evaluate(&r, Some(&obj(&newer)), Some(&n));
        assert!(!out.applies && out.enforce.is_none());
        // An image change is.
        newer["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        let mut r = req(newer.clone(), Operation::Update);
        r.old_object = Some(bad);
        assert!(p
            .evaluate(&r, Some(&obj(&newer)), Some(&n))
            .enforce
            .is_some());
    }

    #[test]
    fn invalid_namespace_labels_are_denied() {
        let p = pss(PssDefaults::default());
        let n = ns(json!({"pod-security.kubernetes.io/enforce":"strict"}));
        let r = req(n, Operation::Create);
        let out = p.evaluate(&r, None, None);
        assert!(out.invalid_namespace);
        assert!(out.label_errors[0].contains("strict"));
        let ok = ns(json!({"pod-security.kubernetes.io/enforce":"restricted"}));
        assert!(
            !p.evaluate(&req(ok, Operation::Create), None, None)
                .invalid_namespace
        );
    }

    #[test]
    fn subresources_other_than_ephemeral_containers_are_skipped() {
        let p = pss(PssDefaults {
            enforce: Level::Restricted,
            ..PssDefaults::default()
        });
        let bad = pod(json!({"hostPID": true}));
        let mut r = req(bad.clone(), Operation::Update);
        r.sub_resource = Some("status".into());
        assert!(!p.evaluate(&r, Some(&obj(&bad)), None).applies);
        r.sub_resource = Some("ephemeralcontainers".into());
        assert!(p.evaluate(&r, Some(&obj(&bad)), None).enforce.is_some());
    }
}
