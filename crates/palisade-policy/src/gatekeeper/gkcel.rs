//! Gatekeeper `K8sNativeValidation` code, run by the shared CEL environment
//! ([`crate::cel`]) as Gatekeeper's `k8scel` driver runs it:
//!
//! - `params` is the constraint; `variables.params` its `spec.parameters` (null when
//!   unset) and `variables.anyObject` the object, or the old object on DELETE (when
//!   `object` is null, as it is then);
//! - the source's `variables`, `validations` (`expression`, `message`,
//!   `messageExpression`) and `matchCondition` (Gatekeeper's spelling; a
//!   `matchConditions` list is ignored by Gatekeeper and so here, with a warning);
//! - no `authorizer`, no `auditAnnotations`, no `reason` (Gatekeeper's schema has none);
//! - `failurePolicy` (`Fail`, the default, or `Ignore`) decides what an evaluation error
//!   is: `Fail` makes it a violation (an error decision), `Ignore` an
//!   [`crate::EvaluationError`].

use palisade_model::{Entry, Node, Value as NodeValue};
use serde_json::Value;

use super::GatekeeperPolicy;
use crate::cel::{CelSpec, CompileOptions, Inputs};
use crate::decision::{DecisionKind, EngineKind, Evaluation, EvaluationError};
use crate::request::Operation;
use crate::Review;

/// Whether the CEL engine can run templates (`TemplateEngine::Auto` prefers it then).
pub(crate) const AVAILABLE: bool = true;

/// Names Gatekeeper reserves for its own match conditions and variables.
const RESERVED_PREFIX: &str = "gatekeeper_internal_";

#[derive(Debug)]
pub(crate) struct CelProgram {
    spec: CelSpec,
    /// `failurePolicy: Ignore`.
    ignore_errors: bool,
}

/// A problem with the code, and its line.
pub(crate) type CelError = (u32, String);

impl CelProgram {
    /// Compiles the `source` of a `K8sNativeValidation` code entry (`code_index` in
    /// `spec.targets[0].code`). Returns the program and warnings, or the first error.
    pub(crate) fn compile(
        source: &Node,
        code_index: usize,
    ) -> Result<(CelProgram, Vec<CelError>), CelError> {
        let prefix = format!("spec.targets[0].code[{code_index}].source");
        let mut warnings = Vec::new();
        let ignore_errors = match source.get("failurePolicy") {
            None => false,
            Some(n) if n.is_null() => false,
            Some(n) => match n.as_str() {
                Some("Fail") => false,
                Some("Ignore") => true,
                _ => {
                    return Err((
                        n.pos.line,
                        format!("{prefix}.failurePolicy: must be Fail or Ignore"),
                    ))
                }
            },
        };
        for (list, key) in [("variables", "name"), ("matchCondition", "name")] {
            for (i, item) in source
                .get(list)
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                if let Some(name) = item.get(key).and_then(Node::as_str) {
                    if name.starts_with(RESERVED_PREFIX) {
                        return Err((
                            item.pos.line,
                            format!("{prefix}.{list}[{i}].{key}: {name:?} may not start with {RESERVED_PREFIX:?}"),
                        ));
                    }
                }
            }
        }
        if let Some(e) = source.entry("matchConditions") {
            warnings.push((
                e.key_pos.line,
                format!("{prefix}.matchConditions is not read by Gatekeeper (its field is `matchCondition`); ignored"),
            ));
        }
        // The fields Gatekeeper reads, under the names the shared compiler reads.
        let mut entries: Vec<Entry> = Vec::new();
        for (from, to) in [
            ("variables", "variables"),
            ("validations", "validations"),
            ("matchCondition", "matchConditions"),
        ] {
            if let Some(e) = source.entry(from) {
                entries.push(Entry {
                    key: to.to_string(),
                    key_pos: e.key_pos,
                    value: strip_reason(&e.value, from),
                });
            }
        }
        let node = Node::new(NodeValue::Map(entries), source.pos);
        let spec = CelSpec::compile(
            &node,
            &CompileOptions {
                params: true,
                authorizer: false,
                predefined_variables: vec!["anyObject".into(), "params".into()],
                field_prefix: prefix.clone(),
            },
        );
        if let Some(e) = spec.errors().first() {
            let more = spec.errors().len() - 1;
            let mut msg = e.to_string();
            if more > 0 {
                msg.push_str(&format!(" (and {more} more)"));
            }
            return Err((e.line, msg));
        }
        if spec.validation_count() == 0 {
            warnings.push((
                source.pos.line,
                format!("{prefix}: no validations; the template never reports anything"),
            ));
        }
        Ok((
            CelProgram {
                spec,
                ignore_errors,
            },
            warnings,
        ))
    }

    pub(crate) fn evaluate(
        &self,
        policy: &GatekeeperPolicy,
        review: &Review<'_>,
        out: &mut Evaluation,
    ) {
        let request = review.request;
        let delete = request.operation == Operation::Delete;
        // Gatekeeper unsets `object` on DELETE so CEL sees what an API server shows.
        let object = if delete {
            None
        } else {
            request.object.as_ref().filter(|o| !o.is_null())
        };
        let old_object = request.old_object.as_ref().filter(|o| !o.is_null());
        let any_object = if delete && object.is_none() {
            old_object
        } else {
            object
        };
        let null = Value::Null;
        let params = match policy.constraint.pointer("/spec/parameters") {
            Some(p) => p,
            None => &null,
        };
        let request_json = request.to_json();
        let variables: [(&str, &Value); 2] = [
            ("anyObject", any_object.unwrap_or(&null)),
            ("params", params),
        ];
        let result = self.spec.evaluate(&Inputs {
            object,
            old_object,
            request: &request_json,
            params: Some(&policy.constraint),
            namespace_object: review.namespace_object,
            authorizer: None,
            variables: &variables,
        });
        if !result.matched {
            return;
        }
        let errors = result.match_errors.iter().chain(result.errors.iter());
        for e in errors {
            let message = format!("{}: {}", e.field, e.message);
            if self.ignore_errors {
                out.errors.push(EvaluationError {
                    engine: EngineKind::Cel,
                    policy: policy.template.name.clone(),
                    binding: Some(policy.binding.clone()),
                    message,
                    source: Some(policy.source.clone()),
                });
            } else {
                out.decisions
                    .push(policy.decision(DecisionKind::Error, e.message.clone(), None));
            }
        }
        if !result.match_errors.is_empty() {
            return;
        }
        for f in result.failures {
            out.decisions
                .push(policy.decision(DecisionKind::Violation, f.message, None));
        }
    }
}

/// Gatekeeper's validations have no `reason`; drop it so it is neither checked nor used.
fn strip_reason(list: &Node, field: &str) -> Node {
    if field != "validations" {
        return list.clone();
    }
    let NodeValue::Seq(items) = &list.value else {
        return list.clone();
    };
    let items = items
        .iter()
        .map(|item| match &item.value {
            NodeValue::Map(entries) => Node::new(
                NodeValue::Map(
                    entries
                        .iter()
                        .filter(|e| e.key != "reason")
                        .cloned()
                        .collect(),
                ),
                item.pos,
            ),
            _ => item.clone(),
        })
        .collect();
    Node::new(NodeValue::Seq(items), list.pos)
}
