//! A compiled "validation spec": the ValidatingAdmissionPolicy-shaped lists
//! `matchConditions`, `variables`, `validations` and `auditAnnotations`, and their
//! evaluation with Kubernetes' semantics (`k8s.io/apiserver/pkg/admission/plugin/policy/
//! validating/validator.go`, `.../plugin/cel`).

use std::sync::Arc;

use kube_cel::cel::common::value::Val;
use kube_cel::cel::{Context, ExecutionError, Value};
use palisade_model::{Node, Pos};

use super::authz::{authorizer_value, AuthzResolver};
use super::compile::{compile, Compiled, Env, Issue};
use super::runtime::{
    describe, eval, set_scope_variable, take_scope_variable, with_root, EvalState, VariableSlot,
    MATCH_CONDITIONS_BUDGET, OUT_OF_BUDGET_MESSAGE, PER_CALL_LIMIT, RUNTIME_BUDGET, STATE_VARIABLE,
};
use super::value::{from_json, json_to_val, type_name, CelInputCache};
use crate::authorizer::Authorizer;
use crate::request::UserInfo;

/// Longest `messageExpression` result Kubernetes uses (`MaxEvaluatedMessageExpressionSizeBytes`).
const MAX_MESSAGE_BYTES: usize = 5 * 1024;

/// What the expressions of a spec may refer to, and where the spec is.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Declares `params` (a ValidatingAdmissionPolicy with a `paramKind`). Without it,
    /// `params` is an undeclared reference, as on an API server.
    pub params: bool,
    /// Declares `authorizer` and `authorizer.requestResource` in matchConditions,
    /// variables, validations and auditAnnotations (never in messageExpression).
    pub authorizer: bool,
    /// Variables defined by the caller, visible as `variables.<name>` before the spec's own
    /// (Gatekeeper: `params`, `anyObject`). Their values are given to [`CelSpec::evaluate`].
    pub predefined_variables: Vec<String>,
    /// Field path of the spec node, prefixed to error fields (`spec`, or
    /// `spec.targets[0].code[1].source`).
    pub field_prefix: String,
}

/// An expression (or spec field) that does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// `spec.validations[2].expression`
    pub field: String,
    /// The YAML line of the problem (the expression's line for multi-line literal
    /// expressions); 0 when unknown.
    pub line: u32,
    /// 1-based line and column inside the expression text; 0 when unknown or when the
    /// problem is the field itself.
    pub expression_line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if self.column > 0 {
            write!(
                f,
                " (expression line {}, column {})",
                self.expression_line, self.column
            )?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Expression {
    /// Field path relative to the spec (`validations[0].expression`).
    field: String,
    source: String,
    compiled: Result<Compiled, String>,
}

#[derive(Debug)]
struct MatchCondition {
    name: String,
    expr: Expression,
}

#[derive(Debug)]
struct Validation {
    expr: Expression,
    message: Option<String>,
    message_expression: Option<Expression>,
    reason: Option<String>,
}

#[derive(Debug)]
struct AuditAnnotationSpec {
    key: String,
    value: Expression,
}

/// A compiled spec. Compile once, evaluate many times (from any thread).
#[derive(Debug)]
pub struct CelSpec {
    match_conditions: Vec<MatchCondition>,
    variables: Arc<[VariableSlot]>,
    predefined: Vec<String>,
    validations: Vec<Validation>,
    audit_annotations: Vec<AuditAnnotationSpec>,
    errors: Vec<CompileError>,
    prefix: String,
}

/// The inputs of one evaluation. JSON values are those of the admission request.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    /// `object` (null for DELETE).
    pub object: Option<&'a serde_json::Value>,
    /// `oldObject` (null for CREATE).
    pub old_object: Option<&'a serde_json::Value>,
    /// `request`: [`crate::AdmissionRequest::to_json`]. Its `object` and `oldObject` keys
    /// are not exposed (as on an API server).
    pub request: &'a serde_json::Value,
    /// `params` (null when there is no param object).
    pub params: Option<&'a serde_json::Value>,
    /// `namespaceObject` (null for cluster-scoped requests).
    pub namespace_object: Option<&'a serde_json::Value>,
    /// The authorizer `authorizer` asks, and the request's user.
    pub authorizer: Option<(&'a dyn Authorizer, &'a UserInfo)>,
    /// Values of [`CompileOptions::predefined_variables`], by name (missing ones are null).
    pub variables: &'a [(&'a str, &'a serde_json::Value)],
}

/// A validation whose expression evaluated to false.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationFailure {
    /// Index in `validations`.
    pub index: usize,
    pub expression: String,
    /// The resolved message: the `messageExpression` result when it is a non-empty,
    /// single-line string of at most 5 KiB; else `message`; else
    /// `failed expression: <expression>`.
    pub message: String,
    /// `reason`, `Invalid` when unset.
    pub reason: String,
}

/// An expression that could not be evaluated (or did not compile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// `spec.validations[1].expression`
    pub field: String,
    /// Kubernetes' wording: `expression '<expr>' resulted in error: <cause>`,
    /// `compilation error: <cause>`, or the cost budget message.
    pub message: String,
}

/// What evaluating a spec produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecResult {
    /// False when a matchCondition evaluated to false: nothing else was evaluated.
    pub matched: bool,
    /// The name of the matchCondition that evaluated to false.
    pub unmatched_condition: Option<String>,
    /// matchConditions that failed to evaluate (when none was false). Like validation
    /// errors, the caller's failure policy decides; with them nothing else is evaluated.
    pub match_errors: Vec<ExprError>,
    pub failures: Vec<ValidationFailure>,
    /// Validations that could not be evaluated. When the cost budget ran out this is one
    /// error and `failures` is empty (Kubernetes stops the whole evaluation).
    pub errors: Vec<ExprError>,
    /// Published audit annotations (key, value): string results, trimmed, non-empty.
    pub audit_annotations: Vec<(String, String)>,
    /// auditAnnotations that failed to evaluate or were neither string nor null.
    pub audit_errors: Vec<ExprError>,
    /// Cost units spent.
    pub cost: u64,
}

impl SpecResult {
    /// No failure and no error of any kind.
    pub fn is_clean(&self) -> bool {
        self.match_errors.is_empty()
            && self.failures.is_empty()
            && self.errors.is_empty()
            && self.audit_errors.is_empty()
    }
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

struct Builder<'o> {
    opts: &'o CompileOptions,
    errors: Vec<CompileError>,
}

impl Builder<'_> {
    fn field_error(&mut self, field: &str, pos: Pos, message: impl Into<String>) {
        self.errors.push(CompileError {
            field: join(&self.opts.field_prefix, field),
            line: pos.line,
            expression_line: 0,
            column: 0,
            message: message.into(),
        });
    }

    /// The list under `key` (absent: empty).
    fn list<'n>(&mut self, spec: &'n Node, key: &str) -> &'n [Node] {
        match spec.entry(key) {
            None => &[],
            Some(e) if e.value.is_null() => &[],
            Some(e) if e.value.is_seq() => e.value.items(),
            Some(e) => {
                let msg = format!("must be a list, not a {}", e.value.type_name());
                self.field_error(key, e.key_pos, msg);
                &[]
            }
        }
    }

    /// An optional string field.
    fn string(&mut self, item: &Node, field: &str, key: &str) -> Option<String> {
        let v = item.get(key)?;
        if v.is_null() {
            return None;
        }
        match v.scalar_string().filter(|_| !v.is_map() && !v.is_seq()) {
            Some(s) if v.as_str().is_some() => Some(s),
            _ => {
                let msg = format!("must be a string, not a {}", v.type_name());
                self.field_error(&format!("{field}.{key}"), v.pos, msg);
                None
            }
        }
    }

    /// Compiles the expression at `item.key`. A missing or broken expression is an error
    /// both now and at evaluation time.
    fn expression(&mut self, item: &Node, field: &str, key: &str, env: &Env<'_>) -> Expression {
        let path = format!("{field}.{key}");
        let Some(node) = item.get(key).filter(|n| !n.is_null()) else {
            self.field_error(&path, item.pos, "required value");
            return Expression {
                field: path,
                source: String::new(),
                compiled: Err("required value".into()),
            };
        };
        let Some(src) = node.as_str() else {
            let msg = format!("must be a string, not a {}", node.type_name());
            self.field_error(&path, node.pos, msg.clone());
            return Expression {
                field: path,
                source: String::new(),
                compiled: Err(msg),
            };
        };
        let compiled = match compile(src, env) {
            Ok(c) => Ok(c),
            Err(issues) => {
                let message = issues
                    .iter()
                    .map(|i| i.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                let first: &Issue = &issues[0];
                let line = if node.pos.line > 0 && first.line > 0 {
                    node.pos.line + first.line - 1
                } else {
                    node.pos.line
                };
                self.errors.push(CompileError {
                    field: join(&self.opts.field_prefix, &path),
                    line,
                    expression_line: first.line,
                    column: first.column,
                    message: message.clone(),
                });
                let at = if first.line > 0 {
                    format!("ERROR: <input>:{}:{}: ", first.line, first.column)
                } else {
                    String::new()
                };
                Err(format!("compilation failed: {at}{message}"))
            }
        };
        Expression {
            field: path,
            source: src.to_string(),
            compiled,
        }
    }
}

impl CelSpec {
    /// Compiles the spec `node` (a mapping with any of `matchConditions`, `variables`,
    /// `validations`, `auditAnnotations`). Never fails: problems are in [`CelSpec::errors`]
    /// and the broken expressions report them again when evaluated.
    pub fn compile(node: &Node, opts: &CompileOptions) -> CelSpec {
        let mut b = Builder {
            opts,
            errors: Vec::new(),
        };
        if !node.is_map() && !node.is_null() {
            b.field_error(
                "",
                node.pos,
                format!("must be a mapping, not a {}", node.type_name()),
            );
        }
        let mut visible: Vec<String> = opts.predefined_variables.clone();
        let mut variables = Vec::new();
        for (i, item) in b.list(node, "variables").iter().enumerate() {
            let field = format!("variables[{i}]");
            let name = b.string(item, &field, "name").unwrap_or_default();
            if name.is_empty() {
                b.field_error(&format!("{field}.name"), item.pos, "required value");
            } else if visible.contains(&name) {
                b.field_error(
                    &format!("{field}.name"),
                    item.pos,
                    format!("duplicate variable name {name:?}"),
                );
            }
            let env = Env {
                params: opts.params,
                authorizer: opts.authorizer,
                variables: &visible,
            };
            let expr = b.expression(item, &field, "expression", &env);
            variables.push(VariableSlot {
                name: name.clone(),
                compiled: expr.compiled.clone(),
            });
            visible.push(name);
        }
        let env = Env {
            params: opts.params,
            authorizer: opts.authorizer,
            variables: &visible,
        };
        let message_env = Env {
            params: opts.params,
            authorizer: false,
            variables: &visible,
        };
        let mut match_conditions = Vec::new();
        for (i, item) in b.list(node, "matchConditions").iter().enumerate() {
            let field = format!("matchConditions[{i}]");
            let name = b.string(item, &field, "name").unwrap_or_default();
            if name.is_empty() {
                b.field_error(&format!("{field}.name"), item.pos, "required value");
            }
            let expr = b.expression(item, &field, "expression", &env);
            match_conditions.push(MatchCondition { name, expr });
        }
        let mut validations = Vec::new();
        for (i, item) in b.list(node, "validations").iter().enumerate() {
            let field = format!("validations[{i}]");
            let expr = b.expression(item, &field, "expression", &env);
            let message = b.string(item, &field, "message");
            let message_expression = item
                .get("messageExpression")
                .filter(|n| !n.is_null())
                .map(|_| b.expression(item, &field, "messageExpression", &message_env));
            let reason = b.string(item, &field, "reason");
            validations.push(Validation {
                expr,
                message,
                message_expression,
                reason,
            });
        }
        let mut audit_annotations = Vec::new();
        for (i, item) in b.list(node, "auditAnnotations").iter().enumerate() {
            let field = format!("auditAnnotations[{i}]");
            let key = b.string(item, &field, "key").unwrap_or_default();
            if key.is_empty() {
                b.field_error(&format!("{field}.key"), item.pos, "required value");
            }
            let value = b.expression(item, &field, "valueExpression", &env);
            audit_annotations.push(AuditAnnotationSpec { key, value });
        }
        CelSpec {
            match_conditions,
            variables: variables.into(),
            predefined: opts.predefined_variables.clone(),
            validations,
            audit_annotations,
            errors: b.errors,
            prefix: opts.field_prefix.clone(),
        }
    }

    /// Compile errors, one per broken expression or field.
    pub fn errors(&self) -> &[CompileError] {
        &self.errors
    }

    /// Number of validations.
    pub fn validation_count(&self) -> usize {
        self.validations.len()
    }

    /// Evaluates the spec for one request. Never panics; every problem is in the result.
    pub fn evaluate(&self, inputs: &Inputs<'_>) -> SpecResult {
        self.evaluate_shared(inputs, None)
    }

    /// [`Self::evaluate`], taking `object` and `oldObject` already converted from `shared`
    /// (and giving them back) when the policies of one request share a cache.
    pub(crate) fn evaluate_shared(
        &self,
        inputs: &Inputs<'_>,
        shared: Option<&CelInputCache>,
    ) -> SpecResult {
        let mut extras = Vec::with_capacity(self.predefined.len());
        for name in &self.predefined {
            let v = inputs
                .variables
                .iter()
                .find(|(n, _)| n == name)
                .map_or(Value::Null, |(_, v)| from_json(v));
            extras.push(v);
        }
        let state = Arc::new(EvalState::new(self.variables.clone(), extras));
        let resolver = inputs.authorizer.map(|(a, u)| AuthzResolver::new(a, u));
        with_root(|root| {
            let mut scope = root.new_inner_scope();
            if let Some(r) = &resolver {
                scope.set_variable_resolver(r);
            }
            let null = serde_json::Value::Null;
            let request = match inputs.request {
                serde_json::Value::Object(m)
                    if m.contains_key("object") || m.contains_key("oldObject") =>
                {
                    let mut m = m.clone();
                    m.remove("object");
                    m.remove("oldObject");
                    json_to_val(&serde_json::Value::Object(m))
                }
                other => json_to_val(other),
            };
            set_scope_variable(&mut scope, "request", request);
            // The request's objects, from the shared cache when there is one.
            let objects = [("object", inputs.object), ("oldObject", inputs.old_object)];
            for (name, v) in objects {
                let val = match (shared, v) {
                    (Some(cache), Some(json)) => cache.take(name, json),
                    (_, v) => json_to_val(v.unwrap_or(&null)),
                };
                set_scope_variable(&mut scope, name, val);
            }
            for (name, v) in [
                ("params", inputs.params),
                ("namespaceObject", inputs.namespace_object),
            ] {
                set_scope_variable(&mut scope, name, json_to_val(v.unwrap_or(&null)));
            }
            set(&mut scope, STATE_VARIABLE, Value::Opaque(state.clone()));
            if inputs.authorizer.is_some() {
                set(&mut scope, "authorizer", authorizer_value());
            }
            let result = self.run(&scope, &state);
            if let Some(cache) = shared {
                for (name, v) in objects {
                    if let (Some(json), Some(val)) = (v, take_scope_variable(&mut scope, name)) {
                        cache.give(name, json, val);
                    }
                }
            }
            result
        })
    }

    fn run(&self, scope: &Context<'_>, state: &EvalState) -> SpecResult {
        let mut out = SpecResult {
            matched: true,
            ..Default::default()
        };
        // matchConditions: any false → not matched; errors only count when none is false.
        let mut remaining = MATCH_CONDITIONS_BUDGET;
        let mut match_errors = Vec::new();
        for mc in &self.match_conditions {
            match self.eval_bool(scope, state, &mc.expr, &mut remaining, &mut out.cost) {
                Step::Value(false) => {
                    out.matched = false;
                    out.unmatched_condition = Some(mc.name.clone());
                    return out;
                }
                Step::Value(true) => {}
                Step::Error(e) => match_errors.push(e),
                Step::OutOfBudget(e) => {
                    out.match_errors = vec![e];
                    return out;
                }
            }
        }
        if !match_errors.is_empty() {
            out.match_errors = match_errors;
            return out;
        }
        // validations (and their messages) share one budget.
        let mut remaining = RUNTIME_BUDGET;
        let mut failed = Vec::new();
        for (i, v) in self.validations.iter().enumerate() {
            match self.eval_bool(scope, state, &v.expr, &mut remaining, &mut out.cost) {
                Step::Value(true) => {}
                Step::Value(false) => failed.push(i),
                Step::Error(e) => out.errors.push(e),
                Step::OutOfBudget(e) => {
                    out.errors = vec![e];
                    return out;
                }
            }
        }
        for i in failed {
            let v = &self.validations[i];
            let mut message = String::new();
            if let Some(me) = &v.message_expression {
                match self.eval_value(scope, state, me, &mut remaining, &mut out.cost) {
                    Ok(Value::String(s)) => {
                        let s = s.trim();
                        if s.len() <= MAX_MESSAGE_BYTES && !s.contains('\n') {
                            message = s.to_string();
                        }
                    }
                    Ok(_) | Err(Step::Error(_)) | Err(Step::Value(_)) => {}
                    Err(Step::OutOfBudget(_)) => {
                        out.failures.clear();
                        out.errors = vec![ExprError {
                            field: join(&self.prefix, &me.field),
                            message: format!("failed messageExpression: {OUT_OF_BUDGET_MESSAGE}"),
                        }];
                        return out;
                    }
                }
            }
            if message.is_empty() {
                message = v
                    .message
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string();
            }
            if message.is_empty() {
                message = format!("failed expression: {}", v.expr.source.trim());
            }
            out.failures.push(ValidationFailure {
                index: i,
                expression: v.expr.source.clone(),
                message,
                reason: v
                    .reason
                    .clone()
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "Invalid".into()),
            });
        }
        // auditAnnotations have a budget of their own.
        let mut remaining = RUNTIME_BUDGET;
        for a in &self.audit_annotations {
            match self.eval_value(scope, state, &a.value, &mut remaining, &mut out.cost) {
                Ok(Value::String(s)) => {
                    let s = s.trim();
                    if !s.is_empty() {
                        out.audit_annotations.push((a.key.clone(), s.to_string()));
                    }
                }
                Ok(Value::Null) => {}
                Ok(other) => {
                    let b: Result<Box<dyn Val>, _> = other.try_into();
                    let t = b
                        .map(|b| type_name(b.as_ref()))
                        .unwrap_or_else(|_| "unknown".into());
                    out.audit_errors.push(ExprError {
                        field: join(&self.prefix, &a.value.field),
                        message: format!(
                            "valueExpression '{}' resulted in unsupported return type: {t}. Return type must be either string or null.",
                            a.value.source
                        ),
                    });
                }
                Err(Step::Error(e)) | Err(Step::OutOfBudget(e)) => out.audit_errors.push(e),
                Err(Step::Value(_)) => {}
            }
        }
        out
    }

    /// Evaluates one expression, charging `remaining`.
    fn eval_value(
        &self,
        scope: &Context<'_>,
        state: &EvalState,
        expr: &Expression,
        remaining: &mut u64,
        total: &mut u64,
    ) -> Result<Value, Step> {
        let field = join(&self.prefix, &expr.field);
        let compiled = match &expr.compiled {
            Ok(c) => c,
            Err(e) => {
                return Err(Step::Error(ExprError {
                    field,
                    message: format!("compilation error: {e}"),
                }))
            }
        };
        let (result, cost) = eval(scope, compiled, PER_CALL_LIMIT);
        let cost = cost.saturating_add(state.take_composition_cost());
        *total = total.saturating_add(cost);
        if cost > *remaining {
            *remaining = 0;
            return Err(Step::OutOfBudget(ExprError {
                field,
                message: OUT_OF_BUDGET_MESSAGE.into(),
            }));
        }
        *remaining -= cost;
        result.map_err(|e: ExecutionError| {
            Step::Error(ExprError {
                field,
                message: format!(
                    "expression '{}' resulted in error: {}",
                    expr.source,
                    describe(&e)
                ),
            })
        })
    }

    fn eval_bool(
        &self,
        scope: &Context<'_>,
        state: &EvalState,
        expr: &Expression,
        remaining: &mut u64,
        total: &mut u64,
    ) -> Step {
        match self.eval_value(scope, state, expr, remaining, total) {
            Ok(Value::Bool(b)) => Step::Value(b),
            Ok(other) => {
                let b: Result<Box<dyn Val>, _> = other.try_into();
                let t = b
                    .map(|b| type_name(b.as_ref()))
                    .unwrap_or_else(|_| "unknown".into());
                Step::Error(ExprError {
                    field: join(&self.prefix, &expr.field),
                    message: format!(
                        "expression '{}' must evaluate to bool but got {t}",
                        expr.source
                    ),
                })
            }
            Err(step) => step,
        }
    }
}

enum Step {
    Value(bool),
    Error(ExprError),
    OutOfBudget(ExprError),
}

fn set(scope: &mut Context<'_>, name: &str, v: Value) {
    if let Ok(b) = Box::<dyn Val>::try_from(v) {
        set_scope_variable(scope, name, b);
    }
}
