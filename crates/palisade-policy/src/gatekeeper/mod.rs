//! Gatekeeper ConstraintTemplates and constraints. (Being written.)
use crate::{LoadOptions, Policy};
use palisade_model::{Diagnostic, Object};
use std::sync::Arc;

pub mod suite {}

pub fn load(
    _objects: &[Object],
    _opts: &LoadOptions,
    _used: &mut [bool],
    _diags: &mut Vec<Diagnostic>,
) -> Vec<Arc<dyn Policy>> {
    Vec::new()
}
