//! One request in, one answer out: the loaded policy set ([`Admission`]) evaluates an
//! [`AdmissionRequest`] unit by unit (Pod Security, each built-in check rule, the image
//! rules, each CEL or Rego policy) and turns the verdicts into an AdmissionResponse, a
//! decision-log record and metric updates. The HTTPS server and `palisade admission review`
//! both call [`Admission::validate`] / [`Admission::mutate`]: one code path.
//!
//! Invariants:
//! - Evaluation never does I/O; everything is loaded by [`Admission::load`].
//! - Units run in a fixed order and each result is published to a [`Progress`] as soon as
//!   it exists, so a request whose deadline passes is answered from what finished, with
//!   each unfinished unit failing open or closed by its own `failurePolicy`.
//! - A panic inside one unit is caught and becomes that unit's evaluation error.
//! - `palisade.dev/ignore` annotations exempt nothing at admission: a user must not be
//!   able to exempt their own pod. Exemptions come from the configuration only.

use palisade_checks::CheckSettings;
use palisade_model::load::{load_paths, LoadOptions as ModelLoadOptions};
use palisade_model::{Diagnostic, Level as DiagLevel, Node, Object, Source};
use palisade_policy::authorizer::RbacSnapshot;
use palisade_policy::ReviewMemo;
use palisade_policy::{
    Action, AdmissionRequest, DecisionKind, Evaluation, Inventory, LoadOptions, Operation, Policy,
    PolicySet, Review,
};
use palisade_scan::{ScanConfig, Scanner};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{AdmissionConfig, CheckRule, FailurePolicy, Mode};
use crate::mutate;
use crate::pss::{PodSecurity, PssOutcome};
use crate::review::{Response, Status};

/// Why a configuration could not be loaded (the server keeps its previous set).
#[derive(Debug, thiserror::Error)]
#[error("{}", .errors.join("\n"))]
pub struct LoadError {
    pub errors: Vec<String>,
}

/// A built-in check rule (or the image rules), compiled.
struct CheckUnit {
    name: String,
    /// The one scan pipeline (palisade-scan), configured with the unit's checks.
    scanner: Scanner,
    action: Action,
    namespaces: Vec<String>,
    exclude_namespaces: Vec<String>,
    failure_policy: FailurePolicy,
    /// Run the scanner (false when the unit only judges image vulnerabilities).
    scan: bool,
    /// Image vulnerabilities from the image result cache.
    vulns: Option<palisade_image::gate::Gate>,
}

/// The loaded, compiled configuration. Immutable; a reload builds a new one.
pub struct Admission {
    pub config: AdmissionConfig,
    pss: PodSecurity,
    checks: Vec<CheckUnit>,
    policies: Vec<Arc<dyn Policy>>,
    inventory: Inventory,
    authorizer: RbacSnapshot,
    /// Namespace objects from `namespaces.files` and the policy paths.
    static_namespaces: HashMap<String, Arc<Value>>,
    /// Load warnings (errors make [`Admission::load`] fail).
    pub warnings: Vec<Diagnostic>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("units", &self.unit_names())
            .finish()
    }
}

/// One evaluation unit's name, engine and failure policy.
#[derive(Clone, Debug)]
enum Unit {
    PodSecurity,
    Check(usize),
    Policy(usize),
}

/// What a unit said.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The unit was violated.
    Violation,
    /// The unit could not be evaluated (its action applies when it fails closed).
    Error,
    /// The deadline passed before the unit ran.
    Timeout,
}

/// One policy's verdict on one request (violations and errors; passing units are listed
/// by name in [`Outcome::passed`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub policy: String,
    pub engine: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    pub verdict: VerdictKind,
    /// The actions taken (after `mode: warn`); empty for an error that fails open.
    pub actions: Vec<Action>,
    /// Set when `mode: warn` turned a deny into a warning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_deny: bool,
    pub message: String,
    #[serde(skip)]
    pub reason: Option<String>,
}

/// A finished unit.
#[derive(Clone, Debug)]
struct UnitResult {
    unit: usize,
    verdicts: Vec<Verdict>,
    audit_annotations: Vec<(String, String)>,
    pss: Option<PssOutcome>,
}

/// Where a running evaluation publishes finished units, so a caller that stops waiting
/// can still answer from them.
#[derive(Default)]
pub struct Progress {
    done: Mutex<Vec<UnitResult>>,
}

impl Progress {
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    fn push(&self, r: UnitResult) {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    }

    fn take(&self) -> Vec<UnitResult> {
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Everything about one answered request.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    #[serde(skip)]
    pub response: Response,
    pub verdicts: Vec<Verdict>,
    /// Units that ran and found nothing.
    pub passed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_security: Option<PssOutcome>,
    /// Whether the deadline cut evaluation short.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// `known`, `unknown` (defaults applied) or absent for cluster-scoped requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch_skipped: Vec<String>,
}

impl Admission {
    /// Loads policies, namespaces and rules. Any error (a policy that does not compile, a
    /// file that does not parse) fails the whole load: a half-loaded policy set must not
    /// replace a working one.
    pub fn load(config: AdmissionConfig) -> Result<Admission, LoadError> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut keep = |d: Diagnostic, errors: &mut Vec<String>| {
            if d.level == DiagLevel::Error {
                errors.push(d.to_string());
            } else {
                warnings.push(d);
            }
        };

        let opts = ModelLoadOptions::default();
        let paths: Vec<_> = config
            .policies
            .paths
            .iter()
            .map(|p| config.resolve(p))
            .collect();
        let (policies, others) = if paths.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let loaded = load_paths(&paths, &opts);
            for d in loaded.diagnostics {
                keep(d, &mut errors);
            }
            let set = PolicySet::from_objects(
                &loaded.objects,
                &LoadOptions {
                    template_engine: config.policies.template_engine,
                },
            );
            for d in set.diagnostics {
                keep(d, &mut errors);
            }
            (set.policies, set.others)
        };

        let mut static_namespaces = HashMap::new();
        let ns_paths: Vec<_> = config
            .namespaces
            .files
            .iter()
            .map(|p| config.resolve(p))
            .collect();
        let mut ns_values = Vec::new();
        if !ns_paths.is_empty() {
            let loaded = load_paths(&ns_paths, &opts);
            for d in loaded.diagnostics {
                keep(d, &mut errors);
            }
            for o in &loaded.objects {
                if o.kind == "Namespace" && o.api_version == "v1" {
                    ns_values.push(palisade_policy::inventory_object(o));
                }
            }
        }
        for o in others.iter().chain(&ns_values) {
            let v = &o.value;
            if v.get("kind").and_then(Value::as_str) == Some("Namespace") {
                if let Some(name) = v.pointer("/metadata/name").and_then(Value::as_str) {
                    static_namespaces.insert(name.to_string(), o.value.clone());
                }
            }
        }
        let inventory = Inventory::new(others.into_iter().chain(ns_values));
        let authorizer = RbacSnapshot::from_inventory(&inventory);

        let mut checks = Vec::new();
        for (i, rule) in config.checks.iter().enumerate() {
            match check_unit(format!("checks[{i}]"), rule) {
                Ok(u) => checks.push(u),
                Err(e) => errors.push(format!("checks[{i}]: {e}")),
            }
        }
        if let Some(img) = &config.images {
            let mut only = Vec::new();
            if img.forbid_latest {
                only.extend(["PAL201".to_string(), "PAL202".to_string()]);
            }
            if img.require_digest {
                only.push("PAL203".into());
            }
            if !img.allowed_registries.is_empty() {
                only.push("PAL204".into());
            }
            let scanner = Scanner::new(&ScanConfig {
                checks: only,
                settings: CheckSettings {
                    allowed_registries: img.allowed_registries.clone(),
                },
                ..ScanConfig::default()
            });
            let vulns = img.vulnerabilities.as_ref().map(|v| {
                let vex = palisade_image_vex(&v.vex, &config, &mut errors);
                palisade_image::gate::Gate {
                    cache_dir: config.resolve(&v.cache_dir),
                    threshold: palisade_report::Severity::parse(&v.severity)
                        .unwrap_or(palisade_report::Severity::Critical),
                    exempt_images: v.exempt_images.clone(),
                    exempt_vulnerabilities: v.exempt_vulnerabilities.clone(),
                    vex,
                    unscanned: match v.unscanned.as_str() {
                        "allow" => palisade_image::gate::Unscanned::Allow,
                        "deny" => palisade_image::gate::Unscanned::Deny,
                        _ => palisade_image::gate::Unscanned::Warn,
                    },
                }
            });
            let scan =
                img.forbid_latest || img.require_digest || !img.allowed_registries.is_empty();
            match scanner {
                Ok(scanner) => checks.push(CheckUnit {
                    name: "images".into(),
                    scanner,
                    action: img.action,
                    namespaces: img.namespaces.clone(),
                    exclude_namespaces: img.exclude_namespaces.clone(),
                    failure_policy: img.failure_policy,
                    scan,
                    vulns,
                }),
                Err(e) => errors.push(format!("images: {e}")),
            }
        }
        if !errors.is_empty() {
            return Err(LoadError { errors });
        }
        Ok(Admission {
            pss: PodSecurity::new(config.pod_security.clone()),
            config,
            checks,
            policies,
            inventory,
            authorizer,
            static_namespaces,
            warnings,
        })
    }

    /// The number of evaluation units (Pod Security counts as one).
    pub fn policy_count(&self) -> usize {
        usize::from(self.config.pod_security.enabled) + self.checks.len() + self.policies.len()
    }

    fn units(&self) -> Vec<Unit> {
        let mut u = Vec::with_capacity(self.policy_count());
        if self.config.pod_security.enabled {
            u.push(Unit::PodSecurity);
        }
        u.extend((0..self.checks.len()).map(Unit::Check));
        u.extend((0..self.policies.len()).map(Unit::Policy));
        u
    }

    pub fn unit_names(&self) -> Vec<String> {
        self.units().iter().map(|u| self.unit_name(u)).collect()
    }

    fn unit_name(&self, u: &Unit) -> String {
        match u {
            Unit::PodSecurity => "pod-security".into(),
            Unit::Check(i) => self.checks[*i].name.clone(),
            Unit::Policy(i) => self.policies[*i].name().to_string(),
        }
    }

    /// A namespace object from the configuration's files (the server's API cache comes
    /// first).
    pub fn static_namespace(&self, name: &str) -> Option<Arc<Value>> {
        self.static_namespaces.get(name).cloned()
    }

    /// Validates one request: runs every unit until `deadline`, publishing to `progress`,
    /// then builds the answer. `namespace` is the request namespace's object when known.
    pub fn validate(
        &self,
        req: &AdmissionRequest,
        namespace: Option<&Value>,
        deadline: Instant,
        progress: &Progress,
    ) -> Outcome {
        self.run_units(req, namespace, deadline, progress);
        self.finish(req, namespace, progress)
    }

    /// Validates with no one waiting on a deadline (offline use).
    pub fn validate_now(&self, req: &AdmissionRequest, namespace: Option<&Value>) -> Outcome {
        let progress = Progress::default();
        let deadline = Instant::now() + self.config.limits.evaluation_deadline;
        self.validate(req, namespace, deadline, &progress)
    }

    /// Runs the units in order, stopping when `deadline` passes.
    pub fn run_units(
        &self,
        req: &AdmissionRequest,
        namespace: Option<&Value>,
        deadline: Instant,
        progress: &Progress,
    ) {
        let object = self.request_object(req);
        let memo = ReviewMemo::new();
        let review = Review {
            request: req,
            namespace_object: namespace,
            inventory: &self.inventory,
            authorizer: &self.authorizer,
            memo: Some(&memo),
        };
        for (idx, unit) in self.units().iter().enumerate() {
            if Instant::now() >= deadline {
                return;
            }
            let name = self.unit_name(unit);
            let result = catch_unwind(AssertUnwindSafe(|| {
                self.run_unit(idx, unit, req, object.as_ref(), namespace, &review)
            }));
            let result = result.unwrap_or_else(|_| UnitResult {
                unit: idx,
                verdicts: vec![self.failure_verdict(
                    unit,
                    &name,
                    VerdictKind::Error,
                    "evaluation panicked",
                    req,
                )]
                .into_iter()
                .flatten()
                .collect(),
                audit_annotations: Vec::new(),
                pss: None,
            });
            progress.push(result);
        }
    }

    /// How long each unit takes on one request (for the benchmark and for finding a slow
    /// policy): runs every unit once, in order, and times it.
    pub fn unit_timings(
        &self,
        req: &AdmissionRequest,
        namespace: Option<&Value>,
    ) -> Vec<(String, Duration)> {
        let t0 = Instant::now();
        let object = self.request_object(req);
        let mut out = vec![("<convert object>".to_string(), t0.elapsed())];
        let memo = ReviewMemo::new();
        let review = Review {
            request: req,
            namespace_object: namespace,
            inventory: &self.inventory,
            authorizer: &self.authorizer,
            memo: Some(&memo),
        };
        for (idx, unit) in self.units().iter().enumerate() {
            let t = Instant::now();
            let _ = self.run_unit(idx, unit, req, object.as_ref(), namespace, &review);
            out.push((self.unit_name(unit), t.elapsed()));
        }
        out
    }

    /// The request's object as the checks see it: converted once, with the request's
    /// namespace filled in (API servers may omit `metadata.namespace`).
    fn request_object(&self, req: &AdmissionRequest) -> Option<Object> {
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return None;
        }
        let value = req.object.as_ref()?;
        let source = Arc::new(Source::File(format!("<request {}>", req.uid)));
        let mut obj = Object::from_node(Node::from_json(value), source, 0, None)?;
        if obj.namespace.is_none() {
            obj.namespace = req.namespace.clone().filter(|n| !n.is_empty());
        }
        Some(obj)
    }

    fn run_unit(
        &self,
        idx: usize,
        unit: &Unit,
        req: &AdmissionRequest,
        object: Option<&Object>,
        namespace: Option<&Value>,
        review: &Review<'_>,
    ) -> UnitResult {
        let mut r = UnitResult {
            unit: idx,
            verdicts: Vec::new(),
            audit_annotations: Vec::new(),
            pss: None,
        };
        match unit {
            Unit::PodSecurity => {
                let out = self.pss.evaluate(req, object, namespace);
                self.pss_verdicts(&out, &mut r);
                r.pss = Some(out);
            }
            Unit::Check(i) => {
                let c = &self.checks[*i];
                if !check_applies(c, req) {
                    return r;
                }
                let Some(object) = object else { return r };
                if let Some(gate) = &c.vulns {
                    let images: Vec<(String, String)> =
                        palisade_image::workloads::image_uses(std::slice::from_ref(object))
                            .into_iter()
                            .map(|u| (u.image, u.container))
                            .collect();
                    for d in gate.evaluate(&images) {
                        let (action, message) = match d {
                            palisade_image::gate::Decision::Deny(m) => (c.action, m),
                            palisade_image::gate::Decision::Warn(m) => (Action::Warn, m),
                        };
                        r.verdicts.push(self.verdict(
                            "image-vulnerabilities".into(),
                            "builtin",
                            Some(c.name.clone()),
                            VerdictKind::Violation,
                            vec![action],
                            message,
                            Some("Forbidden".into()),
                        ));
                    }
                }
                let findings = if c.scan {
                    c.scanner.scan(std::slice::from_ref(object)).findings
                } else {
                    Vec::new()
                };
                for f in findings {
                    let message = if f.path.is_empty() {
                        format!("[{}] {}", f.check, f.message)
                    } else {
                        format!("[{}] {} ({})", f.check, f.message, f.path)
                    };
                    r.verdicts.push(self.verdict(
                        f.check,
                        "builtin",
                        Some(c.name.clone()),
                        VerdictKind::Violation,
                        vec![c.action],
                        message,
                        Some("Forbidden".into()),
                    ));
                }
            }
            Unit::Policy(i) => {
                let p = &self.policies[*i];
                let mut ev = Evaluation::default();
                p.evaluate(review, &mut ev);
                self.policy_verdicts(ev, &mut r);
            }
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn verdict(
        &self,
        policy: String,
        engine: &'static str,
        binding: Option<String>,
        verdict: VerdictKind,
        mut actions: Vec<Action>,
        message: String,
        reason: Option<String>,
    ) -> Verdict {
        let mut would_deny = false;
        if self.config.mode == Mode::Warn && actions.contains(&Action::Deny) {
            would_deny = true;
            actions.retain(|a| *a != Action::Deny);
            if !actions.contains(&Action::Warn) {
                actions.push(Action::Warn);
            }
        }
        Verdict {
            policy,
            engine,
            binding,
            verdict,
            actions,
            would_deny,
            message,
            reason,
        }
    }

    fn pss_verdicts(&self, out: &PssOutcome, r: &mut UnitResult) {
        const P: &str = "pod-security";
        if out.invalid_namespace {
            r.verdicts.push(self.verdict(
                P.into(),
                P,
                None,
                VerdictKind::Violation,
                vec![Action::Deny],
                format!(
                    "invalid Pod Security labels: {}",
                    out.label_errors.join("; ")
                ),
                Some("Invalid".into()),
            ));
            return;
        }
        if let Some(e) = out.exempt {
            r.audit_annotations
                .push(("pod-security-exempt".into(), e.into()));
        }
        if let Some(p) = &out.enforce_policy {
            r.audit_annotations
                .push(("pod-security-enforce-policy".into(), p.clone()));
        }
        if !out.label_errors.is_empty() {
            r.audit_annotations
                .push(("pod-security-error".into(), out.label_errors.join("; ")));
        }
        if let Some(v) = &out.enforce {
            r.verdicts.push(self.verdict(
                P.into(),
                P,
                Some(v.policy.clone()),
                VerdictKind::Violation,
                vec![Action::Deny],
                v.message("violates"),
                Some("Forbidden".into()),
            ));
        }
        if let Some(v) = &out.warn {
            r.verdicts.push(self.verdict(
                P.into(),
                P,
                Some(v.policy.clone()),
                VerdictKind::Violation,
                vec![Action::Warn],
                v.message("would violate"),
                None,
            ));
        }
        if let Some(v) = &out.audit {
            r.audit_annotations.push((
                "pod-security-audit-violations".into(),
                v.message("would violate"),
            ));
            r.verdicts.push(self.verdict(
                P.into(),
                P,
                Some(v.policy.clone()),
                VerdictKind::Violation,
                vec![Action::Audit],
                v.message("would violate"),
                None,
            ));
        }
    }

    fn policy_verdicts(&self, ev: Evaluation, r: &mut UnitResult) {
        for d in ev.decisions {
            let policy = palisade_policy::scan::check_id(&d);
            let kind = match d.kind {
                DecisionKind::Violation => VerdictKind::Violation,
                DecisionKind::Error => VerdictKind::Error,
            };
            let message = match (&d.binding, d.engine) {
                (Some(b), _) if b.contains('/') => format!("[{b}] {}", d.message),
                (Some(b), _) => format!(
                    "ValidatingAdmissionPolicy '{}' with binding '{b}' denied request: {}",
                    d.policy, d.message
                ),
                (None, _) => format!("[{}] {}", d.policy, d.message),
            };
            r.verdicts.push(self.verdict(
                policy,
                d.engine.as_str(),
                d.binding,
                kind,
                d.actions,
                message,
                d.reason,
            ));
        }
        for e in ev.errors {
            r.verdicts.push(Verdict {
                policy: e.policy,
                engine: e.engine.as_str(),
                binding: e.binding,
                verdict: VerdictKind::Error,
                actions: Vec::new(),
                would_deny: false,
                message: e.message,
                reason: None,
            });
        }
        for a in ev.audit_annotations {
            r.audit_annotations
                .push((annotation_key(&a.policy, &a.key), a.value));
        }
    }

    /// The verdict of a unit that did not finish (deadline, panic), by its failure policy.
    fn failure_verdict(
        &self,
        unit: &Unit,
        name: &str,
        kind: VerdictKind,
        why: &str,
        req: &AdmissionRequest,
    ) -> Option<Verdict> {
        let (engine, failure, action) = match unit {
            Unit::PodSecurity => {
                // PSA only denies pods; for everything else it would have warned.
                let pod = req.kind.group.is_empty() && req.kind.kind == "Pod";
                let action = if pod { Action::Deny } else { Action::Warn };
                (
                    "pod-security",
                    self.config.pod_security.failure_policy,
                    action,
                )
            }
            Unit::Check(i) => {
                let c = &self.checks[*i];
                if !check_applies(c, req) {
                    return None;
                }
                ("builtin", c.failure_policy, c.action)
            }
            Unit::Policy(i) => (
                self.policies[*i].engine().as_str(),
                self.config.policies.failure_policy,
                Action::Deny,
            ),
        };
        let message = format!("{name}: {why}");
        Some(match failure {
            FailurePolicy::Fail => self.verdict(
                name.into(),
                engine,
                None,
                kind,
                vec![action],
                format!("{message} (failurePolicy Fail)"),
                Some("InternalError".into()),
            ),
            FailurePolicy::Ignore => Verdict {
                policy: name.into(),
                engine,
                binding: None,
                verdict: kind,
                actions: Vec::new(),
                would_deny: false,
                message: format!("{message} (failurePolicy Ignore)"),
                reason: None,
            },
        })
    }

    /// Builds the answer from the units that finished; units that did not are decided by
    /// their failure policy.
    pub fn finish(
        &self,
        req: &AdmissionRequest,
        namespace: Option<&Value>,
        progress: &Progress,
    ) -> Outcome {
        let mut done = progress.take();
        done.sort_by_key(|r| r.unit);
        let units = self.units();
        let mut outcome = Outcome {
            namespace_labels: req.namespace.as_deref().filter(|n| !n.is_empty()).map(|_| {
                if namespace.is_some() {
                    "known"
                } else {
                    "unknown"
                }
            }),
            ..Outcome::default()
        };
        let mut annotations: BTreeMap<String, String> = BTreeMap::new();
        let mut finished = vec![false; units.len()];
        for r in done {
            if r.unit >= units.len() {
                continue;
            }
            finished[r.unit] = true;
            if r.verdicts.is_empty() {
                outcome.passed.push(self.unit_name(&units[r.unit]));
            }
            outcome.verdicts.extend(r.verdicts);
            for (k, v) in r.audit_annotations {
                annotations.insert(k, v);
            }
            if r.pss.as_ref().is_some_and(|p| p.applies) {
                outcome.pod_security = r.pss;
            }
        }
        for (i, unit) in units.iter().enumerate() {
            if !finished[i] {
                outcome.timed_out = true;
                let name = self.unit_name(unit);
                let why = "not evaluated before the deadline";
                if let Some(v) = self.failure_verdict(unit, &name, VerdictKind::Timeout, why, req) {
                    outcome.verdicts.push(v);
                }
            }
        }

        let mut resp = Response {
            uid: req.uid.clone(),
            allowed: true,
            ..Response::default()
        };
        let mut deny_messages = Vec::new();
        let mut reason: Option<String> = None;
        let mut audits = Vec::new();
        for v in &outcome.verdicts {
            for a in &v.actions {
                match a {
                    Action::Deny => {
                        resp.allowed = false;
                        deny_messages.push(v.message.clone());
                        if reason.is_none() {
                            reason = v.reason.clone();
                        }
                    }
                    Action::Warn => resp.warnings.push(v.message.clone()),
                    Action::Audit => {
                        if v.engine != "pod-security" {
                            audits.push(v.message.clone());
                        }
                    }
                    Action::DryRun => {}
                }
            }
        }
        if !audits.is_empty() {
            annotations.insert("audit-violations".into(), audits.join("\n"));
        }
        if !resp.allowed {
            let reason = reason.unwrap_or_else(|| "Forbidden".into());
            let code = match reason.as_str() {
                "Invalid" => 422,
                "Unauthorized" => 401,
                "RequestEntityTooLarge" => 413,
                "InternalError" => 500,
                _ => 403,
            };
            resp.status = Some(Status {
                code,
                reason,
                message: deny_messages.join("\n"),
            });
        }
        resp.audit_annotations = annotations;
        outcome.response = resp;
        outcome
    }

    /// The opt-in secure-defaults patch. Never denies.
    pub fn mutate(&self, req: &AdmissionRequest) -> Outcome {
        let mut outcome = Outcome {
            response: Response {
                uid: req.uid.clone(),
                allowed: true,
                ..Response::default()
            },
            ..Outcome::default()
        };
        if !self.config.mutation.enabled {
            return outcome;
        }
        let m = catch_unwind(AssertUnwindSafe(|| {
            mutate::secure_defaults(req, &self.config.mutation.defaults)
        }));
        match m {
            Ok(m) => {
                outcome.patch = m.summary();
                outcome.patch_skipped = m.skipped.clone();
                if !m.is_empty() {
                    outcome.response.patch = Some(m.to_json_patch());
                }
                outcome.passed.push("mutation".into());
            }
            Err(_) => outcome.verdicts.push(Verdict {
                policy: "mutation".into(),
                engine: "builtin",
                binding: None,
                verdict: VerdictKind::Error,
                actions: Vec::new(),
                would_deny: false,
                message: "mutation panicked; request admitted unpatched".into(),
                reason: None,
            }),
        }
        outcome
    }
}

fn check_unit(name: String, rule: &CheckRule) -> Result<CheckUnit, String> {
    let scanner = Scanner::new(&ScanConfig {
        checks: rule.checks.clone(),
        ..ScanConfig::default()
    })
    .map_err(|e| e.to_string())?;
    Ok(CheckUnit {
        name,
        scanner,
        action: rule.action,
        namespaces: rule.namespaces.clone(),
        exclude_namespaces: rule.exclude_namespaces.clone(),
        failure_policy: rule.failure_policy,
        scan: true,
        vulns: None,
    })
}

/// Reads the VEX files of `images.vulnerabilities` (a file that cannot be read is a load
/// error: a VEX document that silently went missing would deny what it accepted).
fn palisade_image_vex(
    files: &[std::path::PathBuf],
    config: &AdmissionConfig,
    errors: &mut Vec<String>,
) -> Vec<palisade_image::vex::Statement> {
    let mut out = Vec::new();
    for f in files {
        let p = config.resolve(f);
        match std::fs::read_to_string(&p) {
            Ok(t) => match palisade_image::vex::parse(&t, &p.display().to_string()) {
                Ok(s) => out.extend(s),
                Err(e) => errors.push(format!("images.vulnerabilities.vex: {e}")),
            },
            Err(e) => errors.push(format!("images.vulnerabilities.vex: {}: {e}", p.display())),
        }
    }
    out
}

/// Built-in check rules look at objects being created or updated, not at subresources
/// (except a pod's ephemeral containers), and only in their namespaces.
fn check_applies(c: &CheckUnit, req: &AdmissionRequest) -> bool {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return false;
    }
    match req.sub_resource.as_deref() {
        None | Some("") => {}
        Some("ephemeralcontainers") if req.kind.kind == "Pod" => {}
        Some(_) => return false,
    }
    let ns = req.namespace.as_deref().unwrap_or("");
    let glob = palisade_checks::util::glob_match;
    if !c.namespaces.is_empty() && !c.namespaces.iter().any(|p| glob(p, ns)) {
        return false;
    }
    !c.exclude_namespaces.iter().any(|p| glob(p, ns))
}

/// An audit annotation key the API server accepts after prefixing it with the webhook
/// name: a DNS-label-like name of at most 63 characters.
fn annotation_key(policy: &str, key: &str) -> String {
    let raw = format!("{policy}-{key}");
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(63);
    let s = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if s.is_empty() {
        "policy".into()
    } else {
        s
    }
}

impl Outcome {
    pub fn denied(&self) -> bool {
        !self.response.allowed
    }

    /// The decision-log record for this request.
    pub fn log_record(&self, req: &AdmissionRequest, webhook: &str, latency: Duration) -> Value {
        let mut rec = json!({
            "time": rfc3339_now(),
            "webhook": webhook,
            "uid": req.uid,
            "user": req.user_info.username,
            "groups": req.user_info.groups,
            "operation": req.operation.as_str(),
            "kind": req.kind,
            "resource": req.resource.resource,
            "namespace": req.namespace.clone().unwrap_or_default(),
            "name": req.name,
            "dryRun": req.dry_run.unwrap_or(false),
            "allowed": self.response.allowed,
            "latencyMs": (latency.as_secs_f64() * 1e6).round() / 1e3,
        });
        if let Some(s) = &req.sub_resource {
            rec["subResource"] = s.clone().into();
        }
        if let Some(s) = &self.response.status {
            rec["message"] = s.message.clone().into();
        }
        if let (Value::Object(m), Ok(Value::Object(extra))) = (&mut rec, serde_json::to_value(self))
        {
            m.extend(extra);
        }
        rec
    }
}

/// The current UTC time as RFC 3339 with milliseconds.
pub fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_policy::UserInfo;

    fn admission(yaml: &str) -> Admission {
        Admission::load(AdmissionConfig::parse(yaml, "test.yaml").unwrap()).unwrap()
    }

    fn pod_request(privileged: bool) -> AdmissionRequest {
        let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c","image":"nginx:1.27",
                "securityContext":{"privileged": privileged}}]}});
        let mut r =
            AdmissionRequest::for_object(Some(pod), None, Operation::Create, UserInfo::offline());
        r.uid = "u".into();
        r.namespace = Some("app".into());
        r
    }

    const BASELINE: &str = "podSecurity: {defaults: {enforce: baseline}}\n";

    #[test]
    fn enforce_and_warn_mode() {
        let a = admission(BASELINE);
        let o = a.validate_now(&pod_request(true), None);
        assert!(o.denied(), "{o:?}");
        assert_eq!(o.response.status.as_ref().unwrap().code, 403);
        assert_eq!(o.namespace_labels, Some("unknown"));
        assert!(!a.validate_now(&pod_request(false), None).denied());

        let a = admission(&format!("{BASELINE}mode: warn\n"));
        let o = a.validate_now(&pod_request(true), None);
        assert!(!o.denied(), "warn mode never denies");
        assert!(o.response.warnings[0].starts_with("violates PodSecurity \"baseline:latest\""));
        assert!(o.verdicts[0].would_deny);
    }

    #[test]
    fn deadline_fails_closed_or_open_per_rule() {
        let a = admission(&format!(
            "{BASELINE}checks:\n  - checks: [PAL105]\n    action: warn\n    failurePolicy: Ignore\n"
        ));
        // A deadline that has already passed: nothing runs.
        let progress = Progress::default();
        let o = a.validate(&pod_request(false), None, Instant::now(), &progress);
        assert!(o.timed_out);
        assert!(o.denied(), "Pod Security fails closed by default: {o:?}");
        let pss = o
            .verdicts
            .iter()
            .find(|v| v.policy == "pod-security")
            .unwrap();
        assert_eq!(pss.verdict, VerdictKind::Timeout);
        let chk = o.verdicts.iter().find(|v| v.policy == "checks[0]").unwrap();
        assert!(chk.actions.is_empty(), "failurePolicy Ignore fails open");

        let a = admission("podSecurity: {defaults: {enforce: baseline}, failurePolicy: Ignore}\n");
        let o = a.validate(
            &pod_request(false),
            None,
            Instant::now(),
            &Progress::default(),
        );
        assert!(o.timed_out && !o.denied());
    }

    #[test]
    fn partial_results_are_kept_when_the_deadline_passes() {
        let a = admission(&format!(
            "{BASELINE}checks:\n  - checks: [PAL105]\n    action: deny\n"
        ));
        let req = pod_request(false);
        let progress = Progress::default();
        // Run everything, then pretend the caller stopped waiting before the last unit
        // published: drop its result.
        a.run_units(
            &req,
            None,
            Instant::now() + Duration::from_secs(5),
            &progress,
        );
        let mut done = progress.take();
        assert_eq!(done.len(), 2);
        done.pop();
        for r in done {
            progress.push(r);
        }
        let o = a.finish(&req, None, &progress);
        assert!(o.timed_out);
        assert_eq!(o.passed, vec!["pod-security".to_string()]);
        assert!(o
            .verdicts
            .iter()
            .any(|v| v.policy == "checks[0]" && v.verdict == VerdictKind::Timeout));
    }

    #[test]
    fn ignore_annotations_do_not_exempt_at_admission() {
        let a = admission(BASELINE);
        let mut req = pod_request(true);
        req.object.as_mut().unwrap()["metadata"]["annotations"] =
            json!({"palisade.dev/ignore": "all"});
        assert!(a.validate_now(&req, None).denied());
    }

    #[test]
    fn check_rules_respect_namespaces_and_subresources() {
        let a = admission(
            "podSecurity: {enabled: false}\nchecks:\n  - checks: [PAL105]\n    action: deny\n    excludeNamespaces: [\"kube-*\"]\n",
        );
        let mut req = pod_request(false);
        assert!(
            a.validate_now(&req, None).denied(),
            "no read-only root filesystem"
        );
        req.namespace = Some("kube-system".into());
        assert!(!a.validate_now(&req, None).denied());
        req.namespace = Some("app".into());
        req.sub_resource = Some("status".into());
        assert!(!a.validate_now(&req, None).denied());
    }

    #[test]
    fn log_record_has_the_fields() {
        let a = admission(BASELINE);
        let req = pod_request(true);
        let o = a.validate_now(&req, None);
        let rec = o.log_record(&req, "validate", Duration::from_micros(1500));
        assert_eq!(rec["uid"], "u");
        assert_eq!(rec["user"], "palisade:offline");
        assert_eq!(rec["operation"], "CREATE");
        assert_eq!(rec["allowed"], false);
        assert_eq!(rec["latencyMs"], 1.5);
        assert_eq!(rec["verdicts"][0]["policy"], "pod-security");
        assert!(rec["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn mutation_is_opt_in() {
        let a = admission("");
        let o = a.mutate(&pod_request(false));
        assert!(o.response.patch.is_none());
        let a = admission("mutation: {enabled: true}\n");
        let o = a.mutate(&pod_request(false));
        assert!(o.response.allowed);
        assert!(o.response.patch.is_some());
        assert!(!o.patch.is_empty());
    }

    #[test]
    fn annotation_keys_are_valid() {
        assert_eq!(
            annotation_key("my-policy", "high-risk"),
            "my-policy-high-risk"
        );
        assert_eq!(annotation_key("a/b", "c d"), "a-b-c-d");
        assert!(annotation_key(&"x".repeat(100), "k").len() <= 63);
    }

    #[test]
    fn rfc3339_is_well_formed() {
        let t = rfc3339_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20"));
    }
}
