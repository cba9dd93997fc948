//! Namespace checks: Pod Security Admission enforcement on Namespace objects.

use crate::context::Check;

mod pod_security_label;

pub use pod_security_label::NamespacePodSecurityLabel;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[&NamespacePodSecurityLabel];
