//! Palisade in the cluster: `install` (the manifests of every component) and the
//! PolicyReport controller.

pub mod install;
