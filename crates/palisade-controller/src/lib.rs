//! Palisade in the cluster: `install` (the manifests of every component) and the
//! PolicyReport controller (`controller`, leader election in `lease`).

pub mod controller;
pub mod install;
pub mod lease;
