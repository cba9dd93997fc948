//! The built-in check catalog (Pod Security Standards and hardening checks) as a
//! [`Policy`], so the admission webhook and `policy test` can put it beside CEL and Rego
//! policies. `palisade scan` runs the catalog directly (it also needs cross-object checks
//! and owner de-duplication); for a single object both give the same findings.

use palisade_checks::engine::EngineOptions;
use palisade_checks::{Engine, EngineError};
use palisade_model::{Node, Object, Source};
use palisade_report::Severity;
use std::sync::Arc;

use crate::decision::{Action, Decision, DecisionKind, EngineKind, Evaluation, EvaluationError};
use crate::{Policy, Review, SourceRef};

/// The catalog, with the severity from which a finding denies (below it, it warns).
pub struct BuiltinPolicy {
    engine: Engine,
    deny_at: Severity,
    name: String,
}

impl BuiltinPolicy {
    pub fn new(opts: EngineOptions, deny_at: Severity) -> Result<BuiltinPolicy, EngineError> {
        Ok(BuiltinPolicy {
            engine: Engine::new(opts)?,
            deny_at,
            name: "palisade".into(),
        })
    }
}

impl std::fmt::Debug for BuiltinPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinPolicy")
            .field("checks", &self.engine.checks().len())
            .field("deny_at", &self.deny_at)
            .finish()
    }
}

impl Policy for BuiltinPolicy {
    fn engine(&self) -> EngineKind {
        EngineKind::Builtin
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn source(&self) -> Option<&SourceRef> {
        None
    }

    fn evaluate(&self, review: &Review<'_>, out: &mut Evaluation) {
        // DELETE has nothing to check; CONNECT carries options, not an object.
        let Some(value) = review.request.object.as_ref() else {
            return;
        };
        let source = Arc::new(Source::File("<request>".into()));
        let Some(obj) = Object::from_node(Node::from_json(value), source, 0, None) else {
            out.errors.push(EvaluationError {
                engine: EngineKind::Builtin,
                policy: self.name.clone(),
                binding: None,
                message: "the object has no apiVersion or kind".into(),
                source: None,
            });
            return;
        };
        let result = self.engine.run(std::slice::from_ref(&obj));
        for f in result.findings {
            if f.suppressed.is_some() {
                continue;
            }
            let action = if f.severity >= self.deny_at {
                Action::Deny
            } else {
                Action::Warn
            };
            let message = if f.path.is_empty() {
                f.message
            } else {
                format!("{} ({})", f.message, f.path)
            };
            out.decisions.push(Decision {
                engine: EngineKind::Builtin,
                policy: f.check,
                binding: None,
                actions: vec![action],
                kind: DecisionKind::Violation,
                message,
                reason: Some("Forbidden".into()),
                details: None,
                source: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AdmissionRequest, Inventory, NoOpinion, Operation, UserInfo};
    use palisade_checks::Profile;
    use serde_json::json;

    #[test]
    fn privileged_pod_is_denied_by_baseline() {
        let p = BuiltinPolicy::new(
            EngineOptions {
                profile: Profile::PssBaseline,
                ..EngineOptions::default()
            },
            Severity::Info,
        )
        .unwrap();
        let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c","image":"nginx","securityContext":{"privileged":true}}]}});
        let req =
            AdmissionRequest::for_object(Some(pod), None, Operation::Create, UserInfo::offline());
        let inv = Inventory::default();
        let mut out = Evaluation::default();
        p.evaluate(&Review::new(&req, &inv, &NoOpinion), &mut out);
        assert!(out.denied(), "{out:?}");
        assert!(
            out.decisions.iter().any(|d| d.policy == "PSS102"),
            "{out:?}"
        );

        let ok = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c","image":"nginx"}]}});
        let req =
            AdmissionRequest::for_object(Some(ok), None, Operation::Create, UserInfo::offline());
        let mut out = Evaluation::default();
        p.evaluate(&Review::new(&req, &inv, &NoOpinion), &mut out);
        assert!(!out.denied(), "{out:?}");
    }
}
