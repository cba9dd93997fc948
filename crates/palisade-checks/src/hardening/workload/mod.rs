//! workload checks.

use crate::context::Check;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[];
