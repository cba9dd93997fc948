//! What evaluating a policy produces.

use serde::Serialize;
use serde_json::Value;

use crate::inventory::SourceRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Palisade's built-in check catalog (Pod Security Standards and hardening checks).
    Builtin,
    /// CEL: ValidatingAdmissionPolicy, or a Gatekeeper template's `K8sNativeValidation` code.
    Cel,
    /// Rego: a Gatekeeper ConstraintTemplate's `Rego` code.
    Rego,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Builtin => "builtin",
            EngineKind::Cel => "cel",
            EngineKind::Rego => "rego",
        }
    }
}

/// What the admission chain does with a violation: ValidatingAdmissionPolicyBinding
/// `validationActions` (Deny, Warn, Audit) and Gatekeeper `enforcementAction` (deny,
/// warn, dryrun).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Deny,
    Warn,
    Audit,
    DryRun,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
            Action::Audit => "audit",
            Action::DryRun => "dryrun",
        }
    }

    /// Parses VAP (`Deny`) and Gatekeeper (`deny`, `dryrun`) spellings.
    pub fn parse(s: &str) -> Option<Action> {
        match s.to_ascii_lowercase().as_str() {
            "deny" => Some(Action::Deny),
            "warn" => Some(Action::Warn),
            "audit" => Some(Action::Audit),
            "dryrun" => Some(Action::DryRun),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// The policy's validation failed for this request.
    Violation,
    /// The policy could not be evaluated (runtime error, cost budget, missing params) and its
    /// failure policy is `Fail`: the request is treated as violating. With `Ignore` the error
    /// is reported in [`Evaluation::errors`] instead and no decision is made.
    Error,
}

/// One violation (or failed evaluation) of one policy for one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub engine: EngineKind,
    /// The policy: a ValidatingAdmissionPolicy name, a ConstraintTemplate name, a check ID.
    pub policy: String,
    /// What bound it to the request: a ValidatingAdmissionPolicyBinding name, or a
    /// Gatekeeper constraint as `Kind/name`.
    pub binding: Option<String>,
    /// Never empty.
    pub actions: Vec<Action>,
    pub kind: DecisionKind,
    pub message: String,
    /// VAP `reason` (`Forbidden`, `Invalid`, `Unauthorized`, `RequestEntityTooLarge`).
    pub reason: Option<String>,
    /// Gatekeeper's `details`, when the Rego gives them.
    pub details: Option<Value>,
    /// Where the policy (or constraint) is defined.
    pub source: Option<SourceRef>,
}

impl Decision {
    pub fn denies(&self) -> bool {
        self.actions.contains(&Action::Deny)
    }
}

/// A VAP `auditAnnotations` entry that evaluated to a non-null string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditAnnotation {
    pub policy: String,
    pub binding: Option<String>,
    pub key: String,
    pub value: String,
}

/// A policy that failed to evaluate under failurePolicy `Ignore`: no decision, but never
/// silent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluationError {
    pub engine: EngineKind,
    pub policy: String,
    pub binding: Option<String>,
    pub message: String,
    pub source: Option<SourceRef>,
}

/// Everything the policies said about one request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    pub decisions: Vec<Decision>,
    pub audit_annotations: Vec<AuditAnnotation>,
    pub errors: Vec<EvaluationError>,
}

impl Evaluation {
    /// Whether any decision denies the request.
    pub fn denied(&self) -> bool {
        self.decisions.iter().any(Decision::denies)
    }

    pub fn extend(&mut self, other: Evaluation) {
        self.decisions.extend(other.decisions);
        self.audit_annotations.extend(other.audit_annotations);
        self.errors.extend(other.errors);
    }
}
