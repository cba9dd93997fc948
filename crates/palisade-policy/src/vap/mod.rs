//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
//! (`admissionregistration.k8s.io/v1`; `v1beta1` and `v1alpha1` are read the same way),
//! evaluated offline as an API server evaluates them
//! (`k8s.io/apiserver/pkg/admission/plugin/policy/{generic,validating,matching}`).
//!
//! A policy does something only through its bindings, as in a cluster: a policy without a
//! binding is loaded (with a note) and never evaluated. For each request, a policy whose
//! `matchConstraints` match is evaluated once per matching binding and per param object;
//! its `failurePolicy` (default `Fail`) turns evaluation and configuration errors into
//! decisions (`Fail`) or reported errors (`Ignore`).
//!
//! What differs offline:
//! - `matchPolicy: Equivalent` matches a rule written for any other version of the same
//!   group and resource (there is no discovery to list the served versions; objects are
//!   not converted).
//! - A namespace that is not in the inventory is taken to exist with only its automatic
//!   `kubernetes.io/metadata.name` label (for `namespaceSelector` and `namespaceObject`).
//! - Param kinds outside the built-in resource table are namespaced when a
//!   CustomResourceDefinition in the inventory says so, else when one of their objects has a
//!   namespace; a namespaced param object without a namespace is in `default`.
//! - Policies and bindings an API server would refuse (no `matchConstraints`, no
//!   validations or audit annotations, no `validationActions`, …) are not loaded: each is
//!   an error diagnostic. Expressions that do not compile are diagnostics too, and the
//!   policy is still loaded: those expressions fail at evaluation (`compilation error`),
//!   which its failure policy handles, as an API server handles a stored policy that no
//!   longer compiles.

mod matching;
mod params;
pub mod suite;

use std::collections::HashMap;
use std::sync::Arc;

use palisade_model::{Diagnostic, LabelSelector, Level, Node, Object};
use serde_json::{json, Value};

use crate::cel::{CelSpec, CompileOptions, Inputs, SpecResult};
use crate::decision::{
    Action, AuditAnnotation, Decision, DecisionKind, EngineKind, Evaluation, EvaluationError,
};
use crate::inventory::SourceRef;
use crate::{source_ref, Policy, Review, ReviewMemo};

pub use matching::{MatchPolicy, MatchResources, ResourceRule};
pub use params::{NotFoundAction, ParamKind, ParamRef};

const GROUP: &str = "admissionregistration.k8s.io";
const VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];
const POLICY_KIND: &str = "ValidatingAdmissionPolicy";
const BINDING_KIND: &str = "ValidatingAdmissionPolicyBinding";
/// Kubernetes truncates audit annotation values to this length.
const MAX_AUDIT_ANNOTATION_VALUE: usize = 10 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    #[default]
    Fail,
    Ignore,
}

/// A ValidatingAdmissionPolicyBinding.
#[derive(Debug)]
pub struct Binding {
    pub name: String,
    pub source: SourceRef,
    pub param_ref: Option<ParamRef>,
    /// `None`: matches every request the policy matches.
    pub match_resources: Option<MatchResources>,
    /// Never empty.
    pub actions: Vec<Action>,
}

/// A compiled ValidatingAdmissionPolicy with its bindings.
#[derive(Debug)]
pub struct ValidatingAdmissionPolicy {
    pub name: String,
    pub source: SourceRef,
    pub failure_policy: FailurePolicy,
    pub param_kind: Option<ParamKind>,
    pub match_constraints: MatchResources,
    pub spec: CelSpec,
    pub bindings: Vec<Binding>,
}

fn is_vap_object(o: &Object, kind: &str) -> bool {
    o.kind == kind && o.group() == GROUP
}

fn version_of(o: &Object) -> &str {
    o.api_version.rsplit_once('/').map_or("", |(_, v)| v)
}

struct Loader<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

impl Loader<'_> {
    fn diag(
        &mut self,
        level: Level,
        o: &Object,
        line: u32,
        what: &str,
        message: impl std::fmt::Display,
    ) {
        let line = if line > 0 { line } else { o.line };
        self.diags.push(Diagnostic::new(
            level,
            o.source.display(),
            line,
            format!("{} {what:?}: {message}", o.kind),
        ));
    }
}

fn string_list(node: Option<&Node>) -> Vec<String> {
    node.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// Loads every ValidatingAdmissionPolicy and binding among `objects` (marking them used)
/// and compiles them. Problems are diagnostics; one broken policy or binding never stops
/// the others.
pub fn load(
    objects: &[Object],
    used: &mut [bool],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Arc<dyn Policy>> {
    let mut l = Loader { diags };
    let mut policies: Vec<ValidatingAdmissionPolicy> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut bindings: Vec<(String, Binding, usize)> = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let is_policy = is_vap_object(o, POLICY_KIND);
        let is_binding = is_vap_object(o, BINDING_KIND);
        if !is_policy && !is_binding {
            continue;
        }
        if !VERSIONS.contains(&version_of(o)) {
            l.diag(
                Level::Warning,
                o,
                0,
                &o.name,
                format!("unsupported apiVersion {:?}; not loaded", o.api_version),
            );
            continue;
        }
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        if o.name.is_empty() {
            l.diag(
                Level::Error,
                o,
                0,
                "",
                "metadata.name: required value; not loaded",
            );
            continue;
        }
        if is_policy {
            if by_name.contains_key(&o.name) {
                l.diag(
                    Level::Warning,
                    o,
                    0,
                    &o.name,
                    "defined more than once; this definition is ignored",
                );
                continue;
            }
            if let Some(p) = load_policy(o, &mut l) {
                by_name.insert(p.name.clone(), policies.len());
                policies.push(p);
            }
        } else if let Some((policy_name, b)) = load_binding(o, &mut l) {
            bindings.push((policy_name, b, i));
        }
    }
    for (policy_name, b, i) in bindings {
        match by_name.get(&policy_name) {
            Some(&p) => {
                if policies[p].bindings.iter().any(|x| x.name == b.name) {
                    l.diag(
                        Level::Warning,
                        &objects[i],
                        0,
                        &b.name,
                        "defined more than once; this definition is ignored",
                    );
                } else {
                    policies[p].bindings.push(b);
                }
            }
            None => l.diag(
                Level::Warning,
                &objects[i],
                0,
                &b.name,
                format!("binds ValidatingAdmissionPolicy {policy_name:?}, which is not among the loaded policies"),
            ),
        }
    }
    for (i, o) in objects.iter().enumerate() {
        if is_vap_object(o, POLICY_KIND) && used.get(i).copied().unwrap_or(false) {
            if let Some(&p) = by_name.get(&o.name) {
                if policies[p].bindings.is_empty() && policies[p].source == source_ref(o) {
                    l.diag(
                        Level::Note,
                        o,
                        0,
                        &o.name,
                        "has no ValidatingAdmissionPolicyBinding: like in a cluster, it is never evaluated",
                    );
                }
            }
        }
    }
    policies
        .into_iter()
        .map(|p| Arc::new(p) as Arc<dyn Policy>)
        .collect()
}

fn load_policy(o: &Object, l: &mut Loader<'_>) -> Option<ValidatingAdmissionPolicy> {
    let name = o.name.clone();
    let Some(spec) = o.root.get("spec").filter(|s| s.is_map()) else {
        l.diag(
            Level::Error,
            o,
            0,
            &name,
            "spec: required mapping; not loaded",
        );
        return None;
    };
    let failure_policy = match spec.get("failurePolicy").and_then(Node::as_str) {
        None | Some("Fail") => FailurePolicy::Fail,
        Some("Ignore") => FailurePolicy::Ignore,
        Some(other) => {
            l.diag(
                Level::Error,
                o,
                o.locate(&["spec", "failurePolicy"]).line,
                &name,
                format!(
                    "spec.failurePolicy: unsupported value {other:?} (Fail or Ignore); using Fail"
                ),
            );
            FailurePolicy::Fail
        }
    };
    let param_kind = match spec.get("paramKind").filter(|n| !n.is_null()) {
        None => None,
        Some(pk) => {
            let api_version = pk.get("apiVersion").and_then(Node::as_str).unwrap_or("");
            let kind = pk.get("kind").and_then(Node::as_str).unwrap_or("");
            if api_version.is_empty() || kind.is_empty() {
                l.diag(
                    Level::Error,
                    o,
                    pk.pos.line,
                    &name,
                    "spec.paramKind: apiVersion and kind are required; not loaded",
                );
                return None;
            }
            Some(ParamKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
        }
    };
    let Some(mc) = spec.get("matchConstraints").filter(|n| !n.is_null()) else {
        l.diag(
            Level::Error,
            o,
            0,
            &name,
            "spec.matchConstraints: required value (an API server refuses the policy); not loaded",
        );
        return None;
    };
    let mut problems = Vec::new();
    let match_constraints = MatchResources::from_node(mc, "spec.matchConstraints", &mut problems);
    if match_constraints.resource_rules.is_empty() {
        problems.push((
            "spec.matchConstraints.resourceRules: required value".into(),
            mc.pos.line,
        ));
    }
    let has_work = spec
        .get("validations")
        .is_some_and(|v| !v.items().is_empty())
        || spec
            .get("auditAnnotations")
            .is_some_and(|v| !v.items().is_empty());
    if !has_work {
        problems.push((
            "spec: validations or auditAnnotations must contain at least one item".into(),
            o.locate(&["spec"]).line,
        ));
    }
    if !problems.is_empty() {
        for (msg, line) in problems {
            l.diag(Level::Error, o, line, &name, format!("{msg}; not loaded"));
        }
        return None;
    }
    let cel = CelSpec::compile(
        spec,
        &CompileOptions {
            params: param_kind.is_some(),
            authorizer: true,
            predefined_variables: Vec::new(),
            field_prefix: "spec".into(),
        },
    );
    for e in cel.errors() {
        let message = if e.column > 0 {
            format!(
                "{}: {} (expression line {}, column {})",
                e.field, e.message, e.expression_line, e.column
            )
        } else {
            format!("{}: {}", e.field, e.message)
        };
        l.diag(Level::Error, o, e.line, &name, message);
    }
    Some(ValidatingAdmissionPolicy {
        name,
        source: source_ref(o),
        failure_policy,
        param_kind,
        match_constraints,
        spec: cel,
        bindings: Vec::new(),
    })
}

fn load_binding(o: &Object, l: &mut Loader<'_>) -> Option<(String, Binding)> {
    let name = o.name.clone();
    let Some(spec) = o.root.get("spec").filter(|s| s.is_map()) else {
        l.diag(
            Level::Error,
            o,
            0,
            &name,
            "spec: required mapping; not loaded",
        );
        return None;
    };
    let Some(policy_name) = spec
        .get("policyName")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    else {
        l.diag(
            Level::Error,
            o,
            0,
            &name,
            "spec.policyName: required value; not loaded",
        );
        return None;
    };
    let actions_line = o.locate(&["spec", "validationActions"]).line;
    let mut actions = Vec::new();
    for a in string_list(spec.get("validationActions")) {
        match a.as_str() {
            "Deny" | "Warn" | "Audit" => {
                let action = Action::parse(&a).unwrap_or(Action::Deny);
                if !actions.contains(&action) {
                    actions.push(action);
                }
            }
            other => l.diag(
                Level::Error,
                o,
                actions_line,
                &name,
                format!(
                    "spec.validationActions: unsupported value {other:?} (Deny, Warn or Audit)"
                ),
            ),
        }
    }
    if actions.is_empty() {
        l.diag(
            Level::Error,
            o,
            actions_line,
            &name,
            "spec.validationActions: at least one of Deny, Warn, Audit is required; not loaded",
        );
        return None;
    }
    if actions.contains(&Action::Deny) && actions.contains(&Action::Warn) {
        l.diag(
            Level::Warning,
            o,
            actions_line,
            &name,
            "spec.validationActions: Deny and Warn may not be used together (an API server refuses this binding)",
        );
    }
    let param_ref = match spec.get("paramRef").filter(|n| !n.is_null()) {
        None => None,
        Some(pr) => {
            let not_found = match pr.get("parameterNotFoundAction").and_then(Node::as_str) {
                Some("Deny") => NotFoundAction::Deny,
                Some("Allow") | None => NotFoundAction::Allow,
                Some(other) => {
                    l.diag(
                        Level::Error,
                        o,
                        pr.pos.line,
                        &name,
                        format!("spec.paramRef.parameterNotFoundAction: unsupported value {other:?}; using Allow"),
                    );
                    NotFoundAction::Allow
                }
            };
            let selector = pr.get("selector").filter(|n| !n.is_null()).map(|s| {
                let sel = LabelSelector::from_node(s);
                if sel.invalid {
                    l.diag(
                        Level::Error,
                        o,
                        s.pos.line,
                        &name,
                        "spec.paramRef.selector: invalid label selector",
                    );
                }
                sel
            });
            Some(ParamRef {
                name: pr
                    .get("name")
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                namespace: pr
                    .get("namespace")
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                selector,
                not_found,
            })
        }
    };
    let match_resources = match spec.get("matchResources").filter(|n| !n.is_null()) {
        None => None,
        Some(mr) => {
            let mut problems = Vec::new();
            let m = MatchResources::from_node(mr, "spec.matchResources", &mut problems);
            for (msg, line) in problems {
                l.diag(Level::Error, o, line, &name, msg);
            }
            Some(m)
        }
    };
    Some((
        policy_name.to_string(),
        Binding {
            name,
            source: source_ref(o),
            param_ref,
            match_resources,
            actions,
        },
    ))
}

/// The `Namespace` object of a request's namespace: from the inventory (with the
/// `kubernetes.io/metadata.name` label an API server always sets), or an assumed one.
fn namespace_object(name: &str, review: &Review<'_>) -> Value {
    let mut ns = match review.inventory.namespace(name) {
        Some(v) => v.clone(),
        None => json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }),
    };
    if let Some(meta) = ns.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels
                .entry("kubernetes.io/metadata.name")
                .or_insert_with(|| Value::String(name.to_string()));
        }
    }
    ns
}

/// What CEL sees as `namespaceObject`: metadata without managed fields, spec, status.
fn cel_namespace_object(ns: &Value) -> Value {
    const META: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "finalizers",
    ];
    let mut out = serde_json::Map::new();
    if let Some(meta) = ns.get("metadata").and_then(Value::as_object) {
        let m: serde_json::Map<String, Value> = meta
            .iter()
            .filter(|(k, _)| META.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert("metadata".into(), Value::Object(m));
    }
    for key in ["apiVersion", "kind", "spec", "status"] {
        if let Some(v) = ns.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The `request` CEL sees: the `admission.k8s.io/v1` JSON with Kubernetes' `omitempty`
/// fields left out when empty, and, for a Namespace, the namespace set to its own name (an
/// API server's admission attributes carry it there).
fn request_json(req: &crate::AdmissionRequest, is_namespace: bool) -> Value {
    let mut v = req.to_json_without_objects();
    if let Some(m) = v.as_object_mut() {
        if is_namespace && !req.name.is_empty() && !req.is_namespaced() {
            m.insert("namespace".into(), Value::String(req.name.clone()));
        }
        for key in ["name", "namespace"] {
            if m.get(key).and_then(Value::as_str) == Some("") {
                m.remove(key);
            }
        }
        if let Some(u) = m.get_mut("userInfo").and_then(Value::as_object_mut) {
            if u.get("username").and_then(Value::as_str) == Some("") {
                u.remove("username");
            }
        }
    }
    v
}

impl Policy for ValidatingAdmissionPolicy {
    fn engine(&self) -> EngineKind {
        EngineKind::Cel
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn source(&self) -> Option<&SourceRef> {
        Some(&self.source)
    }

    fn evaluate(&self, review: &Review<'_>, out: &mut Evaluation) {
        if self.bindings.is_empty() {
            return;
        }
        let req = review.request;
        let is_namespace = matching::is_namespace_resource(req);
        // The namespace whose labels a namespaceSelector sees (a Namespace request's own).
        let selector_ns = if is_namespace {
            req.name.clone()
        } else {
            req.namespace.clone().unwrap_or_default()
        };
        let ns_cache: std::cell::OnceCell<Value> = std::cell::OnceCell::new();
        let ns_full = || {
            ns_cache.get_or_init(|| match review.namespace_object.filter(|_| !is_namespace) {
                Some(v) => {
                    let mut v = v.clone();
                    if let Some(labels) = v
                        .get_mut("metadata")
                        .and_then(Value::as_object_mut)
                        .map(|m| m.entry("labels").or_insert_with(|| json!({})))
                        .and_then(Value::as_object_mut)
                    {
                        labels
                            .entry("kubernetes.io/metadata.name")
                            .or_insert_with(|| Value::String(selector_ns.clone()));
                    }
                    v
                }
                None => namespace_object(&selector_ns, review),
            })
        };
        let labels = || {
            ns_full()
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .cloned()
                .unwrap_or_else(|| json!({}))
        };
        if !self.match_constraints.matches(req, &labels) {
            return;
        }
        // `namespaceObject` is null for cluster-scoped requests and for Namespace requests.
        let ns_for_cel =
            (req.is_namespaced() && !is_namespace).then(|| cel_namespace_object(ns_full()));
        let request_json = request_json(req, is_namespace);
        // A Namespace request is "in" the namespace it creates, as on an API server.
        let request_ns = if is_namespace {
            req.name.clone()
        } else {
            req.namespace.clone().unwrap_or_default()
        };
        let mut annotations: Vec<AuditAnnotation> = Vec::new();
        for b in &self.bindings {
            if let Some(mr) = &b.match_resources {
                if !mr.matches(req, &labels) {
                    continue;
                }
            }
            let params = match params::collect(
                self.param_kind.as_ref(),
                b.param_ref.as_ref(),
                &request_ns,
                review.inventory,
            ) {
                Ok(p) => p,
                Err(e) => {
                    self.error(
                        b,
                        format!("failed to configure binding: {e}"),
                        vec![Action::Deny],
                        out,
                    );
                    continue;
                }
            };
            for p in &params {
                let inputs = Inputs {
                    object: req.object.as_ref(),
                    old_object: req.old_object.as_ref(),
                    request: &request_json,
                    params: p.as_deref(),
                    namespace_object: ns_for_cel.as_ref(),
                    authorizer: Some((review.authorizer, &req.user_info)),
                    variables: &[],
                };
                let result = self
                    .spec
                    .evaluate_shared(&inputs, review.memo.map(ReviewMemo::cel_inputs));
                self.record(b, result, &mut annotations, out);
            }
        }
        out.audit_annotations.extend(annotations);
    }
}

impl ValidatingAdmissionPolicy {
    /// An evaluation or configuration error: a decision under `Fail`, a reported error
    /// under `Ignore`.
    fn error(&self, b: &Binding, message: String, actions: Vec<Action>, out: &mut Evaluation) {
        match self.failure_policy {
            FailurePolicy::Fail => out.decisions.push(Decision {
                engine: EngineKind::Cel,
                policy: self.name.clone(),
                binding: Some(b.name.clone()),
                actions,
                kind: DecisionKind::Error,
                message,
                reason: None,
                details: None,
                source: Some(self.source.clone()),
            }),
            FailurePolicy::Ignore => out.errors.push(EvaluationError {
                engine: EngineKind::Cel,
                policy: self.name.clone(),
                binding: Some(b.name.clone()),
                message,
                source: Some(self.source.clone()),
            }),
        }
    }

    fn record(
        &self,
        b: &Binding,
        r: SpecResult,
        annotations: &mut Vec<AuditAnnotation>,
        out: &mut Evaluation,
    ) {
        if !r.matched {
            return;
        }
        if !r.match_errors.is_empty() {
            let messages: Vec<&str> = r.match_errors.iter().map(|e| e.message.as_str()).collect();
            let message = if messages.len() == 1 {
                messages[0].to_string()
            } else {
                format!("[{}]", messages.join(", "))
            };
            self.error(b, message, b.actions.clone(), out);
            return;
        }
        for f in r.failures {
            out.decisions.push(Decision {
                engine: EngineKind::Cel,
                policy: self.name.clone(),
                binding: Some(b.name.clone()),
                actions: b.actions.clone(),
                kind: DecisionKind::Violation,
                message: f.message,
                reason: Some(f.reason),
                details: None,
                source: Some(self.source.clone()),
            });
        }
        for e in r.errors {
            self.error(b, e.message, b.actions.clone(), out);
        }
        // Audit annotation errors deny directly under Fail, whatever the binding's actions.
        for e in r.audit_errors {
            self.error(b, e.message, vec![Action::Deny], out);
        }
        for (key, mut value) in r.audit_annotations {
            if value.len() > MAX_AUDIT_ANNOTATION_VALUE {
                let mut cut = MAX_AUDIT_ANNOTATION_VALUE;
                while !value.is_char_boundary(cut) {
                    cut -= 1;
                }
                value.truncate(cut);
            }
            if !annotations.iter().any(|a| a.key == key && a.value == value) {
                annotations.push(AuditAnnotation {
                    policy: self.name.clone(),
                    binding: Some(b.name.clone()),
                    key,
                    value,
                });
            }
        }
    }
}
