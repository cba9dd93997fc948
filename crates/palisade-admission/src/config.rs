//! The webhook's configuration file (`--config admission.yaml`).
//!
//! ```yaml
//! apiVersion: palisade.dev/v1alpha1
//! kind: AdmissionConfiguration
//! mode: enforce                    # enforce | warn: in warn mode every deny becomes a warning
//! podSecurity:                     # Pod Security Admission, per namespace labels
//!   defaults: {enforce: baseline, enforceVersion: latest, warn: restricted, audit: restricted}
//!   exemptions: {usernames: [], namespaces: [], runtimeClasses: []}
//!   failurePolicy: Fail
//! checks:                          # built-in checks by ID, name or PREFIX*
//!   - checks: [PAL105, PAL110]
//!     action: deny                 # deny | warn | audit | dryrun
//!     namespaces: ["*"]            # globs; default every namespace
//!     excludeNamespaces: [monitoring]
//! images:
//!   allowedRegistries: [registry.k8s.io, ghcr.io/acme]
//!   requireDigest: false
//!   forbidLatest: true
//!   action: deny
//!   vulnerabilities:               # from the image result cache (docs/image.md); never pulls
//!     cacheDir: /var/cache/palisade
//!     severity: critical           # deny an active vulnerability with a fix at or above
//!     exemptImages: []             # image reference globs
//!     exemptVulnerabilities: []    # ids or aliases
//!     vex: []                      # OpenVEX / CycloneDX VEX files
//!     unscanned: warn              # allow | warn | deny an image with no cached result
//! policies:                        # ValidatingAdmissionPolicies and Gatekeeper templates
//!   paths: [policies/]             # relative to this file
//!   templateEngine: auto
//!   failurePolicy: Fail            # when the deadline passes before a policy ran
//! mutation:
//!   enabled: false
//!   defaults: {seccompRuntimeDefault: true, automountServiceAccountToken: false}
//! namespaces:                      # where namespace labels come from
//!   files: []                      # Namespace manifests
//!   api: false                     # list/get Namespaces from the API server
//!   refresh: 60s
//! limits: {maxRequestBytes: 10485760, evaluationDeadline: 2s}
//! decisionLog: {path: "-", maxBytes: 104857600, maxFiles: 5, queueLines: 8192}
//! ```
//!
//! Every field is optional; unknown fields are errors (a typo must not silently disable a
//! rule). Errors name the file and line.

use palisade_model::yaml::{parse_documents, Limits as YamlLimits};
use palisade_model::Node;
use palisade_policy::{Action, TemplateEngine};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::decision_log::DecisionLogConfig;
use crate::mutate::MutationOptions;
use crate::pss::{Level, PssVersionSpec};

pub const API_VERSION: &str = "palisade.dev/v1alpha1";
pub const KIND: &str = "AdmissionConfiguration";

/// An error in the configuration, with its file and line (0 when unknown).
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AdmissionConfig {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub mode: Mode,
    pub pod_security: PodSecurityConfig,
    pub checks: Vec<CheckRule>,
    pub images: Option<ImageRules>,
    pub policies: PolicyConfig,
    pub mutation: MutationConfig,
    pub namespaces: NamespaceConfig,
    pub limits: Limits,
    pub decision_log: DecisionLogConfig,
    /// The directory relative paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            api_version: None,
            kind: None,
            mode: Mode::Enforce,
            pod_security: PodSecurityConfig::default(),
            checks: Vec::new(),
            images: None,
            policies: PolicyConfig::default(),
            mutation: MutationConfig::default(),
            namespaces: NamespaceConfig::default(),
            limits: Limits::default(),
            decision_log: DecisionLogConfig::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

/// Whether denials are enforced or only reported (the first step of a rollout).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    /// Every deny becomes a warning (and is logged as `wouldDeny`).
    Warn,
}

/// What happens to a rule that cannot give an answer (evaluation error, deadline).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Fail closed: treated as a violation of the rule, with the rule's action.
    #[default]
    Fail,
    /// Fail open: recorded as an error, no decision.
    Ignore,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PodSecurityConfig {
    pub enabled: bool,
    /// The levels of namespaces without Pod Security labels (PSA's `defaults`).
    pub defaults: PssDefaults,
    pub exemptions: PssExemptions,
    pub failure_policy: FailurePolicy,
}

impl Default for PodSecurityConfig {
    fn default() -> Self {
        PodSecurityConfig {
            enabled: true,
            defaults: PssDefaults::default(),
            exemptions: PssExemptions::default(),
            failure_policy: FailurePolicy::Fail,
        }
    }
}

/// Field names as in PSA's `PodSecurityConfiguration.defaults`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PssDefaults {
    pub enforce: Level,
    pub enforce_version: PssVersionSpec,
    pub audit: Level,
    pub audit_version: PssVersionSpec,
    pub warn: Level,
    pub warn_version: PssVersionSpec,
}

impl Default for PssDefaults {
    fn default() -> Self {
        PssDefaults {
            enforce: Level::Privileged,
            enforce_version: PssVersionSpec::Latest,
            audit: Level::Privileged,
            audit_version: PssVersionSpec::Latest,
            warn: Level::Privileged,
            warn_version: PssVersionSpec::Latest,
        }
    }
}

/// PSA's `exemptions`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PssExemptions {
    pub usernames: Vec<String>,
    pub namespaces: Vec<String>,
    pub runtime_classes: Vec<String>,
}

/// Built-in checks enforced with one action.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRule {
    /// Check IDs, names or `PREFIX*` patterns (as in `palisade checks`).
    pub checks: Vec<String>,
    #[serde(default = "deny", with = "action_serde")]
    pub action: Action,
    /// Namespace globs the rule applies to; empty: every namespace (and cluster-scoped
    /// objects).
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    #[serde(default)]
    pub failure_policy: FailurePolicy,
}

/// Image rules, enforced by the image checks of the catalog (PAL202, PAL203, PAL204).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRules {
    /// Registry hosts or `host/path` prefixes; empty: any registry.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    #[serde(default)]
    pub require_digest: bool,
    #[serde(default)]
    pub forbid_latest: bool,
    #[serde(default = "deny", with = "action_serde")]
    pub action: Action,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Known vulnerabilities, judged from the image result cache (never pulled at admission).
    #[serde(default)]
    pub vulnerabilities: Option<VulnerabilityRule>,
}

/// `images.vulnerabilities`: deny when an image has an active vulnerability with a fix at or
/// above `severity`, from the results `palisade image scan` / `scan --images` cached.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VulnerabilityRule {
    /// The cache directory the scans wrote (`--cache-dir`); relative to this file.
    pub cache_dir: PathBuf,
    /// critical, high, medium, low or info.
    #[serde(default = "critical")]
    pub severity: String,
    /// Image reference globs that are never judged.
    #[serde(default)]
    pub exempt_images: Vec<String>,
    /// Vulnerability ids (or aliases) that are accepted.
    #[serde(default)]
    pub exempt_vulnerabilities: Vec<String>,
    /// OpenVEX or CycloneDX VEX files (relative to this file).
    #[serde(default)]
    pub vex: Vec<PathBuf>,
    /// An image with no cached result: allow, warn or deny.
    #[serde(default = "warn_word")]
    pub unscanned: String,
}

fn critical() -> String {
    "critical".into()
}

fn warn_word() -> String {
    "warn".into()
}

fn deny() -> Action {
    Action::Deny
}

mod action_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(a: &Action, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
        let s = String::deserialize(d)?;
        Action::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown action {s:?} (deny, warn, audit, dryrun)"))
        })
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Files and directories of ValidatingAdmissionPolicies (+ bindings and params) and
    /// Gatekeeper ConstraintTemplates (+ constraints).
    pub paths: Vec<PathBuf>,
    #[serde(with = "engine_serde")]
    pub template_engine: TemplateEngine,
    /// What a policy that has not run when the deadline passes does.
    pub failure_policy: FailurePolicy,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            paths: Vec::new(),
            template_engine: TemplateEngine::Auto,
            failure_policy: FailurePolicy::Fail,
        }
    }
}

mod engine_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(e: &TemplateEngine, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match e {
            TemplateEngine::Auto => "auto",
            TemplateEngine::Rego => "rego",
            TemplateEngine::Cel => "cel",
        })
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TemplateEngine, D::Error> {
        match String::deserialize(d)?.as_str() {
            "auto" => Ok(TemplateEngine::Auto),
            "rego" => Ok(TemplateEngine::Rego),
            "cel" => Ok(TemplateEngine::Cel),
            s => Err(serde::de::Error::custom(format!(
                "unknown template engine {s:?} (auto, rego, cel)"
            ))),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MutationConfig {
    /// `/mutate` answers with an empty patch unless enabled.
    pub enabled: bool,
    pub defaults: MutationOptions,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NamespaceConfig {
    /// Namespace manifests (files or directories) that give namespace labels.
    pub files: Vec<PathBuf>,
    /// List Namespaces from the API server at start and every `refresh`; a namespace not
    /// in the cache is fetched on first use.
    pub api: bool,
    #[serde(with = "duration_serde")]
    pub refresh: Duration,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            files: Vec::new(),
            api: false,
            refresh: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Limits {
    /// Larger request bodies get a 400 without being parsed.
    pub max_request_bytes: u64,
    /// How long policies may run for one request. Keep it below the webhook's
    /// `timeoutSeconds`, so the API server gets our answer rather than a timeout.
    #[serde(with = "duration_serde")]
    pub evaluation_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 10 * 1024 * 1024,
            evaluation_deadline: Duration::from_secs(2),
        }
    }
}

/// Durations as `2s`, `500ms`, `1m`, or a number of seconds.
pub mod duration_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_millis() == 0 {
            s.serialize_str(&format!("{}s", d.as_secs()))
        } else {
            s.serialize_str(&format!("{}ms", d.as_millis()))
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::Number(n) => n
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e9)
                .map(Duration::from_secs_f64),
            serde_json::Value::String(s) => parse_duration(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {v} (e.g. 2s, 500ms, 1m, or seconds)"
            ))
        })
    }
}

/// Parses `500ms`, `2s`, `1.5s`, `1m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

/// The configuration used when none is given (`default-config.yaml`, documented in
/// docs/admission.md): PSS baseline enforced and restricted warned for unlabelled namespaces,
/// `:latest` images warned, the decision log on standard output.
pub const BUILTIN_CONFIG_YAML: &str = include_str!("../default-config.yaml");

impl AdmissionConfig {
    /// The built-in secure default configuration (`BUILTIN_CONFIG_YAML`).
    pub fn builtin() -> Result<AdmissionConfig, ConfigError> {
        AdmissionConfig::parse(BUILTIN_CONFIG_YAML, "<built-in admission configuration>")
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<AdmissionConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg = AdmissionConfig::parse(&text, &file)?;
        cfg.base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(cfg)
    }

    /// Parses configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<AdmissionConfig, ConfigError> {
        let err = |line: u32, message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let docs = parse_documents(text, YamlLimits::default());
        if docs.len() > 1 {
            return Err(err(docs[1].line, "expected one YAML document".into()));
        }
        let root = match docs.into_iter().next().map(|d| d.result) {
            None | Some(Ok(None)) => return Ok(AdmissionConfig::default()),
            Some(Err(e)) => return Err(err(e.pos.line, e.message)),
            Some(Ok(Some(n))) => n,
        };
        if !root.is_map() {
            return Err(err(
                root.pos.line,
                "the configuration must be a mapping".into(),
            ));
        }
        let json = root.to_json();
        let cfg: AdmissionConfig = serde_path_to_error::deserialize(&json).map_err(|e| {
            let path = e.path().to_string();
            let line = line_of(&root, &path);
            let inner = e.into_inner().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!("{path}: ")
            };
            err(line, format!("{at}{inner}"))
        })?;
        if let Some(v) = &cfg.api_version {
            if v != API_VERSION {
                return Err(err(
                    line_of(&root, "apiVersion"),
                    format!("apiVersion {v:?} is not {API_VERSION:?}"),
                ));
            }
        }
        if let Some(k) = &cfg.kind {
            if k != KIND {
                return Err(err(
                    line_of(&root, "kind"),
                    format!("kind {k:?} is not {KIND:?}"),
                ));
            }
        }
        for (i, rule) in cfg.checks.iter().enumerate() {
            let line = line_of(&root, &format!("checks[{i}]"));
            if rule.checks.is_empty() {
                return Err(err(line, "a checks rule needs at least one check".into()));
            }
            for k in &rule.checks {
                palisade_checks::engine::resolve(k).map_err(|e| err(line, e.to_string()))?;
            }
        }
        if let Some(img) = &cfg.images {
            if let Some(v) = &img.vulnerabilities {
                let line = line_of(&root, "images.vulnerabilities");
                if palisade_report::Severity::parse(&v.severity).is_none() {
                    return Err(err(line, format!("images.vulnerabilities.severity {:?}: critical, high, medium, low or info", v.severity)));
                }
                if !matches!(v.unscanned.as_str(), "allow" | "warn" | "deny") {
                    return Err(err(
                        line,
                        format!(
                            "images.vulnerabilities.unscanned {:?}: allow, warn or deny",
                            v.unscanned
                        ),
                    ));
                }
            }
            if img.allowed_registries.is_empty()
                && !img.require_digest
                && !img.forbid_latest
                && img.vulnerabilities.is_none()
            {
                return Err(err(
                    line_of(&root, "images"),
                    "images: set allowedRegistries, requireDigest, forbidLatest or vulnerabilities"
                        .into(),
                ));
            }
        }
        if cfg.limits.evaluation_deadline.is_zero() {
            return Err(err(
                line_of(&root, "limits.evaluationDeadline"),
                "evaluationDeadline must be positive".into(),
            ));
        }
        if cfg.limits.max_request_bytes < 1024 {
            return Err(err(
                line_of(&root, "limits.maxRequestBytes"),
                "maxRequestBytes must be at least 1024".into(),
            ));
        }
        if cfg.namespaces.api && cfg.namespaces.refresh < Duration::from_secs(1) {
            return Err(err(
                line_of(&root, "namespaces.refresh"),
                "refresh must be at least 1s".into(),
            ));
        }
        Ok(cfg)
    }

    /// A path from the configuration, resolved against the configuration's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// The line of a serde path (`a.b[2].c`) in the YAML tree: the deepest node that exists.
fn line_of(root: &Node, path: &str) -> u32 {
    let mut cur = root;
    let mut line = root.pos.line;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            match cur.entry(key) {
                Some(e) => {
                    line = e.key_pos.line;
                    cur = &e.value;
                }
                None => return line,
            }
        }
        for idx in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Ok(i) = idx.parse::<usize>() else {
                return line;
            };
            match cur.items().get(i) {
                Some(n) => {
                    line = n.pos.line;
                    cur = n;
                }
                None => return line,
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_safe_defaults() {
        let c = AdmissionConfig::parse("", "a.yaml").unwrap();
        assert_eq!(c.mode, Mode::Enforce);
        assert!(c.pod_security.enabled);
        assert_eq!(c.pod_security.defaults.enforce, Level::Privileged);
        assert!(!c.mutation.enabled);
        assert_eq!(c.limits.evaluation_deadline, Duration::from_secs(2));
    }

    #[test]
    fn full_config_parses() {
        let text = r#"
apiVersion: palisade.dev/v1alpha1
kind: AdmissionConfiguration
mode: warn
podSecurity:
  defaults: {enforce: baseline, enforceVersion: v1.30, warn: restricted}
  exemptions: {usernames: [system:serviceaccount:ci:deployer], runtimeClasses: [kata]}
checks:
  - checks: [PAL105, "PAL2*"]
    action: warn
    excludeNamespaces: [monitoring]
images: {allowedRegistries: [registry.k8s.io], forbidLatest: true, action: deny}
policies: {paths: [policies], templateEngine: rego, failurePolicy: Ignore}
mutation: {enabled: true, defaults: {automountServiceAccountToken: false}}
namespaces: {files: [ns.yaml], refresh: 30s}
limits: {maxRequestBytes: 2048, evaluationDeadline: 500ms}
decisionLog: {path: "-"}
"#;
        let c = AdmissionConfig::parse(text, "a.yaml").unwrap();
        assert_eq!(c.mode, Mode::Warn);
        assert_eq!(c.pod_security.defaults.enforce, Level::Baseline);
        assert_eq!(
            c.pod_security.defaults.enforce_version,
            PssVersionSpec::V(30)
        );
        assert_eq!(c.checks[0].action, Action::Warn);
        assert_eq!(c.policies.template_engine, TemplateEngine::Rego);
        assert_eq!(c.policies.failure_policy, FailurePolicy::Ignore);
        assert!(c.mutation.enabled);
        assert!(!c.mutation.defaults.automount_service_account_token);
        assert!(c.mutation.defaults.seccomp_runtime_default);
        assert_eq!(c.limits.evaluation_deadline, Duration::from_millis(500));
        assert_eq!(c.namespaces.refresh, Duration::from_secs(30));
    }

    #[test]
    fn errors_name_the_line() {
        let text = "podSecurity:\n  defaults:\n    enforce: strict\n";
        let e = AdmissionConfig::parse(text, "a.yaml").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().contains("strict"), "{e}");

        let text = "checks:\n  - checks: [PAL105]\n  - checks: [NOPE1]\n";
        let e = AdmissionConfig::parse(text, "a.yaml").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().contains("NOPE1"), "{e}");

        let text = "limits:\n  evaluationDeadlin: 1s\n";
        let e = AdmissionConfig::parse(text, "a.yaml").unwrap_err();
        assert!(e.to_string().contains("evaluationDeadlin"), "{e}");
        assert_eq!(e.line, 2, "{e}");

        let e = AdmissionConfig::parse("mode: [", "a.yaml").unwrap_err();
        assert!(e.line >= 1, "{e}");
        let e = AdmissionConfig::parse("kind: Other\n", "a.yaml").unwrap_err();
        assert!(e.to_string().contains("Other"), "{e}");
        let e = AdmissionConfig::parse("limits: {evaluationDeadline: 0s}\n", "a.yaml").unwrap_err();
        assert!(e.to_string().contains("positive"), "{e}");
    }

    #[test]
    fn builtin_config_is_the_documented_secure_default() {
        let c = AdmissionConfig::builtin().unwrap();
        assert_eq!(c.mode, Mode::Enforce);
        assert!(c.pod_security.enabled);
        assert_eq!(c.pod_security.defaults.enforce, Level::Baseline);
        assert_eq!(c.pod_security.defaults.warn, Level::Restricted);
        assert_eq!(c.pod_security.defaults.audit, Level::Restricted);
        assert_eq!(c.pod_security.exemptions.namespaces, vec!["kube-system"]);
        let img = c.images.as_ref().expect("image rules on");
        assert!(img.forbid_latest);
        assert_eq!(img.action, Action::Warn);
        assert_eq!(c.decision_log.path, "-");
        assert!(!c.mutation.enabled);
        // It differs from the field-by-field defaults a partial file falls back on.
        assert_ne!(c, AdmissionConfig::default());
    }

    #[test]
    fn without_a_configuration_baseline_is_enforced_and_latest_warned() {
        use crate::server::{load_admission, review_offline, Webhook};
        let adm = load_admission(None).unwrap();
        let mut review: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/fixtures/reviews/pod-create-compliant.json"
        ))
        .unwrap();
        let answer = |review: &serde_json::Value| -> serde_json::Value {
            let h = review_offline(&adm, Webhook::Validate, review.to_string().as_bytes());
            serde_json::from_slice::<serde_json::Value>(&h.body).unwrap()["response"].clone()
        };
        let ok = answer(&review);
        assert_eq!(ok["allowed"], true, "{ok}");
        let containers = &mut review["request"]["object"]["spec"]["containers"];
        containers[0]["image"] = "nginx:latest".into();
        let warned = answer(&review);
        assert_eq!(warned["allowed"], true, "{warned}");
        assert!(
            warned["warnings"].to_string().contains("latest"),
            "{warned}"
        );
        review["request"]["object"]["spec"]["containers"][0]["securityContext"]["privileged"] =
            true.into();
        let denied = answer(&review);
        assert_eq!(denied["allowed"], false, "{denied}");
        assert!(
            denied["status"]["message"]
                .to_string()
                .contains("rivileged"),
            "{denied}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration("NaNs"), None);
    }
}
