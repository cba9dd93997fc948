//! Gatekeeper ConstraintTemplates and constraints, evaluated offline as Gatekeeper's
//! admission webhook (and `gator`) evaluate them.
//!
//! A ConstraintTemplate is compiled once, for the engine [`TemplateEngine`] selects
//! (`Auto`: CEL when the template carries `K8sNativeValidation` code, as Gatekeeper's
//! driver priority does, else Rego; a template without code for the selected engine is a
//! load error): its Rego (template module and `libs`, Rego v0 unless `source.version:
//! v1`) into one prepared regorus engine, or its `K8sNativeValidation` code into a CEL
//! program. Each constraint (an object of group
//! `constraints.gatekeeper.sh` whose kind a template defines) becomes one
//! [`GatekeeperPolicy`]: its `spec.match` ([`matching::Match`]), its enforcement action,
//! and its `spec.parameters` with the template schema's defaults applied.
//!
//! Evaluation (Gatekeeper's rego driver and `k8scel` driver):
//!
//! - Rego: `violation[r]` with `input = {"review": <AdmissionRequest>, "parameters":
//!   <spec.parameters or {}>}` and `data.inventory` = [`crate::Inventory::gatekeeper_data`].
//!   Every result with a string `msg` is a violation; `details` is kept.
//! - CEL: the template's validations with `params` = the constraint,
//!   `variables.params` = its parameters and `variables.anyObject` = the object (the old
//!   object on DELETE).
//!
//! Evaluation clones the prepared engine (the compiled modules are shared, so a clone
//! costs a few microseconds and one policy serves every thread). A template that reads
//! `data.inventory` gets it through a hook rule (`with data.inventory as …`) rather than
//! as engine data, which would force the engine to be prepared again for every review;
//! the inventory is converted to a Rego value once per [`crate::Inventory`].
//!
//! Errors at evaluation time fail closed, as Gatekeeper does: a Rego runtime error, a
//! result whose `msg` is not a string, and a `spec.match` that cannot be decided (a
//! `namespaceSelector` for a namespaced object whose Namespace is unknown) become a
//! [`DecisionKind::Error`] decision carrying the constraint's actions (Gatekeeper turns
//! them into a violation whose message is the error; its webhook's failure policy only
//! covers the webhook being unreachable). A CEL error follows the template's
//! `failurePolicy` (default `Fail`): `Fail` is an error decision, `Ignore` an
//! [`crate::EvaluationError`].

pub mod constraint;
mod gkcel;
pub mod matching;
mod negation;
mod rego;
mod sprintf;
pub mod suite;
mod template;

use palisade_model::{Diagnostic, Level, Object};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

use crate::decision::{Action, Decision, DecisionKind, EngineKind, Evaluation};
use crate::inventory::SourceRef;
use crate::request::{AdmissionRequest, Operation};
use crate::{source_ref, LoadOptions, Policy, Review, TemplateEngine};

pub use matching::Match;
pub use template::{CONSTRAINT_GROUP, TARGET, TEMPLATE_GROUP};

/// A compiled template's program.
#[derive(Debug)]
enum Program {
    Rego(Box<rego::RegoProgram>),
    Cel(gkcel::CelProgram),
}

/// A compiled ConstraintTemplate.
#[derive(Debug)]
pub struct CompiledTemplate {
    /// `metadata.name` (the lower-cased kind).
    pub name: String,
    /// The constraint kind it defines.
    pub kind: String,
    pub source: SourceRef,
    /// Admission operations the template is limited to (`spec.targets[0].operations`);
    /// empty for all. Gatekeeper applies it only in its admission webhook.
    pub operations: Vec<String>,
    schema: Option<Value>,
    program: Program,
}

impl CompiledTemplate {
    pub fn engine(&self) -> EngineKind {
        match self.program {
            Program::Rego(_) => EngineKind::Rego,
            Program::Cel(_) => EngineKind::Cel,
        }
    }
}

/// One constraint with its template: a [`Policy`].
#[derive(Debug)]
pub struct GatekeeperPolicy {
    template: Arc<CompiledTemplate>,
    /// `Kind/name`.
    binding: String,
    matcher: Match,
    actions: Vec<Action>,
    /// `spec.parameters` with defaults, `{}` when absent.
    parameters: Value,
    /// `parameters` for the Rego engine.
    rego_parameters: regorus::Value,
    /// The whole constraint (with defaulted parameters): CEL's `params`.
    constraint: Value,
    source: SourceRef,
}

impl GatekeeperPolicy {
    pub fn template(&self) -> &CompiledTemplate {
        &self.template
    }

    /// `Kind/name` of the constraint.
    pub fn constraint_key(&self) -> &str {
        &self.binding
    }

    /// The actions a violation takes.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn parameters(&self) -> &Value {
        &self.parameters
    }

    pub fn matcher(&self) -> &Match {
        &self.matcher
    }

    fn decision(&self, kind: DecisionKind, message: String, details: Option<Value>) -> Decision {
        Decision {
            engine: self.template.engine(),
            policy: self.template.name.clone(),
            binding: Some(self.binding.clone()),
            actions: self.actions.clone(),
            kind,
            message,
            reason: None,
            details,
            source: Some(self.source.clone()),
        }
    }
}

/// `input.review`: the AdmissionRequest as Gatekeeper hands it to Rego. On DELETE the
/// object is the old object; `object` and `oldObject` are null rather than absent when
/// unset (Go marshals the empty raw extension as null); `namespaceObject` is the
/// request's Namespace (null when unknown).
pub fn review_input(request: &AdmissionRequest, namespace: Option<&Value>) -> Value {
    let mut v = request.to_json();
    if let Value::Object(m) = &mut v {
        if request.operation == Operation::Delete {
            if let Some(old) = &request.old_object {
                m.insert("object".into(), old.clone());
            }
        }
        m.entry("object").or_insert(Value::Null);
        m.entry("oldObject").or_insert(Value::Null);
        if let Some(Value::Object(user)) = m.get_mut("userInfo") {
            if user.get("username").and_then(Value::as_str) == Some("") {
                user.remove("username");
            }
        }
        m.insert(
            "namespaceObject".into(),
            namespace.cloned().unwrap_or(Value::Null),
        );
    }
    v
}

impl Policy for GatekeeperPolicy {
    fn engine(&self) -> EngineKind {
        self.template.engine()
    }

    fn name(&self) -> &str {
        &self.template.name
    }

    fn source(&self) -> Option<&SourceRef> {
        Some(&self.source)
    }

    fn evaluate(&self, review: &Review<'_>, out: &mut Evaluation) {
        if self.actions.is_empty() {
            return;
        }
        match self
            .matcher
            .matches(review.request, review.namespace_object)
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                out.decisions.push(self.decision(
                    DecisionKind::Error,
                    format!(
                        "autoreject: unable to match constraint {}: {e}",
                        self.binding
                    ),
                    None,
                ));
                return;
            }
        }
        match &self.template.program {
            Program::Rego(program) => {
                let convert =
                    || regorus::Value::from(review_input(review.request, review.namespace_object));
                let input = match review.memo {
                    Some(m) => m.rego_review(convert),
                    None => convert(),
                };
                let inventory =
                    (!review.inventory.is_empty()).then(|| review.inventory.gatekeeper_rego_data());
                match program.eval(input, &self.rego_parameters, inventory) {
                    Ok(mut violations) => {
                        violations.sort_by(|a, b| a.msg.cmp(&b.msg));
                        for v in violations {
                            out.decisions.push(self.decision(
                                DecisionKind::Violation,
                                v.msg,
                                v.details,
                            ));
                        }
                    }
                    Err(e) => out.decisions.push(self.decision(
                        DecisionKind::Error,
                        format!(
                            "error evaluating {} for {}: {e}",
                            self.template.name, self.binding
                        ),
                        None,
                    )),
                }
            }
            Program::Cel(program) => {
                program.evaluate(self, review, out);
            }
        }
    }
}

fn diag(o: &Object, line: u32, message: String) -> Diagnostic {
    Diagnostic::new(
        Level::Error,
        o.source.display(),
        if line > 0 { line } else { o.line },
        message,
    )
}

/// Compiles a template for the selected engine.
fn compile_template(
    o: &Object,
    opts: &LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Result<CompiledTemplate, Diagnostic> {
    let def = template::parse(o).map_err(|e| {
        diag(
            o,
            e.line,
            format!(
                "ConstraintTemplate {:?}: {}",
                if o.name.is_empty() {
                    "<unnamed>"
                } else {
                    &o.name
                },
                e.message
            ),
        )
    })?;
    let use_cel = match opts.template_engine {
        TemplateEngine::Auto => def.cel.is_some() && gkcel::AVAILABLE,
        TemplateEngine::Cel => true,
        TemplateEngine::Rego => false,
    };
    let program = if use_cel {
        let Some((source, code_index)) = &def.cel else {
            return Err(diag(
                o,
                0,
                format!("ConstraintTemplate {:?}: no K8sNativeValidation code (the CEL engine was selected)", def.name),
            ));
        };
        let (program, warnings) =
            gkcel::CelProgram::compile(source, *code_index).map_err(|(line, e)| {
                diag(
                    o,
                    line,
                    format!(
                        "ConstraintTemplate {:?}: K8sNativeValidation: {e}",
                        def.name
                    ),
                )
            })?;
        for (line, w) in warnings {
            diags.push(Diagnostic::new(
                Level::Warning,
                o.source.display(),
                if line > 0 { line } else { o.line },
                format!("ConstraintTemplate {:?}: {w}", def.name),
            ));
        }
        Program::Cel(program)
    } else {
        let Some(src) = &def.rego else {
            let why = if def.cel.is_some() {
                "no Rego code (the Rego engine was selected; the template only has K8sNativeValidation)"
            } else {
                "no Rego or K8sNativeValidation code"
            };
            return Err(diag(
                o,
                0,
                format!("ConstraintTemplate {:?}: {why}", def.name),
            ));
        };
        let libs: Vec<String> = src.libs.iter().map(|l| l.text.clone()).collect();
        let line_in = |lib: Option<usize>, line: u32| {
            let base = match lib {
                None => src.rego.line,
                Some(i) => src.libs.get(i).map_or(0, |l| l.line),
            };
            if base > 0 && line > 0 {
                base + line - 1
            } else {
                base
            }
        };
        let program = rego::RegoProgram::compile(&src.rego.text, &libs, src.v1).map_err(|e| {
            let module = match e.lib {
                None => "rego".to_string(),
                Some(i) => format!("libs[{i}]"),
            };
            let line = line_in(e.lib, e.line);
            let at = if e.line > 0 {
                format!(" ({module} line {}, column {})", e.line, e.col)
            } else {
                format!(" ({module})")
            };
            diag(
                o,
                line,
                format!(
                    "ConstraintTemplate {:?}: Rego error{at}: {}",
                    def.name, e.message
                ),
            )
        })?;
        let mut modules = vec![src.rego.text.as_str()];
        modules.extend(libs.iter().map(String::as_str));
        for u in rego::unknown_functions(&modules) {
            let module = match u.lib {
                None => "rego".to_string(),
                Some(i) => format!("libs[{i}]"),
            };
            diags.push(Diagnostic::new(
                Level::Warning,
                o.source.display(),
                line_in(u.lib, u.line),
                format!(
                    "ConstraintTemplate {:?} ({module} line {}): calls `{}`, which the template does not define and Palisade's Rego engine does not provide; a review that reaches the call fails with an error",
                    def.name, u.line, u.name
                ),
            ));
        }
        Program::Rego(Box::new(program))
    };
    Ok(CompiledTemplate {
        name: def.name,
        kind: def.kind,
        source: source_ref(o),
        operations: def.operations,
        schema: def.schema,
        program,
    })
}

fn build_constraint(
    o: &Object,
    template: &Arc<CompiledTemplate>,
) -> Result<GatekeeperPolicy, Diagnostic> {
    let what = format!("constraint {}/{}", o.kind, o.name);
    if o.name.is_empty() {
        return Err(diag(o, 0, format!("{what}: metadata.name is required")));
    }
    let mut constraint = o.root.to_json();
    let spec = constraint.get("spec").cloned();
    let actions = enforcement_line(o, constraint::enforcement_actions(spec.as_ref()), &what)?;
    let matcher = Match::from_json(spec.as_ref().and_then(|s| s.get("match"))).map_err(|e| {
        diag(
            o,
            o.root.locate(&["spec", "match"]).line,
            format!("{what}: {e}"),
        )
    })?;
    let mut parameters = match spec.as_ref().and_then(|s| s.get("parameters")) {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(p) => p.clone(),
    };
    let params_line = o.root.locate(&["spec", "parameters"]).line;
    let given = spec
        .as_ref()
        .and_then(|s| s.get("parameters"))
        .is_some_and(|p| !p.is_null());
    if let (Some(schema), true) = (&template.schema, given) {
        if !parameters.is_object() {
            return Err(diag(
                o,
                params_line,
                format!("{what}: spec.parameters must be an object"),
            ));
        }
        // Defaults only land in parameters the constraint gives: the API server does not
        // create `spec.parameters` to hold them.
        constraint::apply_defaults(&mut parameters, schema);
        if let Some(p) = constraint.pointer_mut("/spec/parameters") {
            *p = parameters.clone();
        }
        let errs = constraint::validate(&parameters, schema);
        if !errs.is_empty() {
            return Err(diag(
                o,
                params_line,
                format!(
                    "{what}: parameters do not match the template's schema: {}",
                    errs.join("; ")
                ),
            ));
        }
    }
    Ok(GatekeeperPolicy {
        template: template.clone(),
        binding: format!("{}/{}", o.kind, o.name),
        matcher,
        actions,
        rego_parameters: regorus::Value::from(parameters.clone()),
        parameters,
        constraint,
        source: source_ref(o),
    })
}

fn enforcement_line(
    o: &Object,
    r: Result<Vec<Action>, String>,
    what: &str,
) -> Result<Vec<Action>, Diagnostic> {
    r.map_err(|e| {
        let line = o.root.locate(&["spec", "enforcementAction"]).line;
        diag(o, line, format!("{what}: {e}"))
    })
}

/// Finds and compiles every ConstraintTemplate among `objects`, and turns each
/// constraint whose kind a template defines into a [`GatekeeperPolicy`]. Templates and
/// constraints are marked in `used`; every broken one is a diagnostic.
pub fn load(
    objects: &[Object],
    opts: &LoadOptions,
    used: &mut [bool],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Arc<dyn Policy>> {
    let mut templates: HashMap<String, Arc<CompiledTemplate>> = HashMap::new();
    // Kinds whose template exists but failed: their constraints are not reported again as
    // template-less.
    let mut broken: HashMap<String, String> = HashMap::new();
    let mut seen_names: HashMap<String, SourceRef> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if !template::is_template(o) {
            continue;
        }
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        if let Some(first) = seen_names.get(&o.name) {
            diags.push(Diagnostic::new(
                Level::Warning,
                o.source.display(),
                o.line,
                format!("ConstraintTemplate {:?} is defined twice (first at {first}); this one is ignored", o.name),
            ));
            continue;
        }
        seen_names.insert(o.name.clone(), source_ref(o));
        match compile_template(o, opts, diags) {
            Ok(t) => {
                templates.insert(t.kind.clone(), Arc::new(t));
            }
            Err(d) => {
                if let Some(kind) = o
                    .root
                    .at(&["spec", "crd", "spec", "names", "kind"])
                    .and_then(|n| n.as_str())
                {
                    broken.insert(kind.to_string(), o.name.clone());
                }
                diags.push(d);
            }
        }
    }

    let mut policies: Vec<Arc<dyn Policy>> = Vec::new();
    let mut seen_constraints: HashMap<(String, String), SourceRef> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if !template::is_constraint(o) {
            continue;
        }
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let Some(template) = templates.get(&o.kind) else {
            match broken.get(&o.kind) {
                Some(t) => diags.push(Diagnostic::new(
                    Level::Warning,
                    o.source.display(),
                    o.line,
                    format!(
                        "constraint {}/{} is not loaded: its ConstraintTemplate {t:?} has errors",
                        o.kind, o.name
                    ),
                )),
                None => diags.push(
                    diag(
                        o,
                        0,
                        format!(
                            "constraint {}/{}: no ConstraintTemplate defines kind {:?}",
                            o.kind, o.name, o.kind
                        ),
                    )
                    .with_hint(format!(
                        "load the template (metadata.name: {}) together with its constraints",
                        o.kind.to_ascii_lowercase()
                    )),
                ),
            }
            continue;
        };
        let key = (o.kind.clone(), o.name.clone());
        if let Some(first) = seen_constraints.get(&key) {
            diags.push(Diagnostic::new(
                Level::Warning,
                o.source.display(),
                o.line,
                format!(
                    "constraint {}/{} is defined twice (first at {first}); this one is ignored",
                    o.kind, o.name
                ),
            ));
            continue;
        }
        seen_constraints.insert(key, source_ref(o));
        match build_constraint(o, template) {
            Ok(p) => {
                if p.actions.is_empty() {
                    diags.push(Diagnostic::new(
                        Level::Warning,
                        o.source.display(),
                        o.line,
                        format!(
                            "constraint {}/{}: scopedEnforcementActions names no enforcement point; it is never reported",
                            o.kind, o.name
                        ),
                    ));
                }
                policies.push(Arc::new(p));
            }
            Err(d) => diags.push(d),
        }
    }
    policies
}
