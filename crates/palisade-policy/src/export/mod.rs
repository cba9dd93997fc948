//! `palisade policy export-vap`: what Palisade enforces, as ValidatingAdmissionPolicy and
//! ValidatingAdmissionPolicyBinding objects (`admissionregistration.k8s.io/v1`, Kubernetes
//! 1.30+) that the API server enforces on its own, without the webhook.
//!
//! - [`pss_policies`]: the Pod Security Standards (`baseline`, `restricted`, v1.37
//!   semantics) as one policy per level with one validation per control.
//! - [`export_policies`]: ValidatingAdmissionPolicies passed through, and Gatekeeper
//!   ConstraintTemplates with `K8sNativeValidation` code turned into a policy plus one
//!   binding per constraint (the way Gatekeeper itself generates them).
//! - [`to_yaml`]: a multi-document YAML stream of the result.
//!
//! Everything here is a pure function of its input (no I/O); the binary writes the stream.

mod cel;
mod gatekeeper;
mod pss;

pub use gatekeeper::export_policies;
pub use palisade_model::emit::{document, to_yaml};
pub use pss::{
    control_ids, pss_policies, NamespaceSelection, PssExportOptions, PssLevel, ENFORCE_LABEL,
    PSS_VERSION,
};

use serde_json::{json, Value};

/// The API group and version of everything exported.
pub const API_VERSION: &str = "admissionregistration.k8s.io/v1";

/// A ValidatingAdmissionPolicyBinding `validationActions` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValidationAction {
    Deny,
    Warn,
    Audit,
}

impl ValidationAction {
    /// The API spelling: `Deny`, `Warn`, `Audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationAction::Deny => "Deny",
            ValidationAction::Warn => "Warn",
            ValidationAction::Audit => "Audit",
        }
    }

    /// Parses `Deny`/`deny`, `Warn`, `Audit`, and Gatekeeper's `dryrun` (as `Audit`).
    pub fn parse(s: &str) -> Option<ValidationAction> {
        match s.to_ascii_lowercase().as_str() {
            "deny" => Some(ValidationAction::Deny),
            "warn" => Some(ValidationAction::Warn),
            "audit" | "dryrun" => Some(ValidationAction::Audit),
            _ => None,
        }
    }
}

/// Why a set of options cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("validationActions must not be empty")]
    NoActions,
    #[error("validationActions must not contain both Deny and Warn")]
    DenyAndWarn,
    #[error("invalid object name {0:?}: names must be lower-case RFC 1123 subdomains of at most 253 characters")]
    InvalidName(String),
    #[error("invalid label selector: {0}")]
    InvalidSelector(String),
}

/// Checks a `validationActions` list the way the API server does (non-empty, no
/// duplicates, not both Deny and Warn) and returns it deduplicated in canonical order.
pub fn check_actions(actions: &[ValidationAction]) -> Result<Vec<ValidationAction>, ExportError> {
    let mut a = actions.to_vec();
    a.sort();
    a.dedup();
    if a.is_empty() {
        return Err(ExportError::NoActions);
    }
    if a.contains(&ValidationAction::Deny) && a.contains(&ValidationAction::Warn) {
        return Err(ExportError::DenyAndWarn);
    }
    Ok(a)
}

fn actions_json(actions: &[ValidationAction]) -> Value {
    Value::Array(actions.iter().map(|a| json!(a.as_str())).collect())
}

/// An RFC 1123 subdomain, as object names of these kinds must be.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// A name made of `parts` joined by `-`, shortened to fit 253 characters with a stable
/// hash suffix when too long (as Gatekeeper does for its binding names).
fn join_name(parts: &[&str]) -> String {
    let name = parts.join("-").to_ascii_lowercase();
    if name.len() <= 253 {
        return name;
    }
    let hash = fnv1a(name.as_bytes());
    let mut cut = name[..253 - 9].to_string();
    while cut.ends_with('-') || cut.ends_with('.') {
        cut.pop();
    }
    format!("{cut}-{hash:08x}")
}

fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_checked_like_the_api_server() {
        use ValidationAction::*;
        assert_eq!(
            check_actions(&[Audit, Deny, Audit]).unwrap(),
            vec![Deny, Audit]
        );
        assert_eq!(check_actions(&[]), Err(ExportError::NoActions));
        assert_eq!(check_actions(&[Deny, Warn]), Err(ExportError::DenyAndWarn));
        assert_eq!(ValidationAction::parse("dryrun"), Some(Audit));
    }

    #[test]
    fn names() {
        assert!(is_valid_name("palisade-pss-restricted"));
        assert!(is_valid_name("a.b-c"));
        assert!(!is_valid_name("Upper"));
        assert!(!is_valid_name("-a"));
        assert!(!is_valid_name(""));
        let long = join_name(&["x".repeat(200).as_str(), "y".repeat(100).as_str()]);
        assert_eq!(long.len(), 253);
        assert!(is_valid_name(&long));
    }
}
