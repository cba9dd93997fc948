//! Kubernetes RBAC for Palisade: the API server's RBAC authorizer, reproduced offline over a
//! snapshot (manifests or a live cluster, plus Kubernetes' default roles for a chosen
//! version), and the questions asked of it:
//!
//! - [`authz`]: may this user make this request, and through which binding → role → rule;
//!   who can make it; what a subject can do (`kubectl auth can-i --list`).
//! - [`risks`]: dangerous permissions per subject, with severity and the granting binding.
//! - [`paths`]: escalation paths to cluster-admin-equivalent power, joined with the
//!   workloads that run as an affected service account.
//! - [`generate`]: least-privilege roles from an audit log.
//!
//! Invariant: no I/O. Callers load objects (palisade-model, palisade-cluster) and read
//! files; everything here is a function of its inputs.

pub mod authz;
pub mod bootstrap;
pub mod generate;
pub mod kubectl;
pub mod model;
pub mod paths;
pub mod resources;
pub mod risks;

pub use authz::{
    rule_allows, AccessReview, Grant, PermissionRow, PermissionTable, Request, Scope, UserInfo,
    WhoCanRow,
};
pub use model::{
    Binding, BindingKind, BuildOptions, Origin, PodSecurity, Rbac, Role, RoleKind, Rule, Subject,
    SubjectKind, Workload,
};
