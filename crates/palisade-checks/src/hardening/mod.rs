//! Hardening checks beyond the Pod Security Standards, one file per check, grouped by
//! category. Each category module exposes `CHECKS`.

pub mod image;
pub mod namespace;
pub mod network;
pub mod rbac;
pub mod secrets;
pub mod workload;
