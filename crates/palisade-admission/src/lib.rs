//! `palisade admission`: a validating and mutating admission webhook that enforces, at
//! deploy time, what `palisade scan` reports at build time.
//!
//! Layout: [`review`] parses and answers AdmissionReviews; [`engine`] evaluates one
//! request against the loaded policy set (Pod Security per namespace, built-in checks, image
//! rules, CEL and Rego policies) and builds the response; [`mutate`] computes the opt-in
//! secure-defaults JSONPatch; [`server`] is the HTTPS front end (rustls, reload, drain);
//! [`decision_log`] and [`metrics`] record what happened; [`certs`] and [`manifests`] help
//! deploy it.

pub mod certs;
pub mod config;
pub mod decision_log;
pub mod engine;
pub mod manifests;
pub mod metrics;
pub mod mutate;
pub mod namespaces;
pub mod pss;
pub mod review;
pub mod server;
