//! RBAC checks: dangerous rules in Roles and ClusterRoles (built-in and aggregated roles are
//! not inspected) and risky subjects of RoleBindings and ClusterRoleBindings. Rule matching
//! is in `rules`.

use crate::context::Check;

mod admission_webhook_write;
mod cluster_admin_binding;
mod create_workloads;
mod default_service_account_binding;
mod escalate_bind_impersonate;
mod nodes_proxy;
mod pod_exec;
mod read_secrets;
pub mod rules;
mod token_request;
mod wildcard_resources;
mod wildcard_verbs;

pub use admission_webhook_write::RbacAdmissionWebhookWrite;
pub use cluster_admin_binding::RbacClusterAdminBinding;
pub use create_workloads::RbacCreateWorkloads;
pub use default_service_account_binding::RbacDefaultServiceAccountBinding;
pub use escalate_bind_impersonate::RbacEscalateBindImpersonate;
pub use nodes_proxy::RbacNodesProxy;
pub use pod_exec::RbacPodExec;
pub use read_secrets::RbacReadSecrets;
pub use token_request::RbacTokenRequest;
pub use wildcard_resources::RbacWildcardResources;
pub use wildcard_verbs::RbacWildcardVerbs;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[
    &RbacWildcardVerbs,
    &RbacWildcardResources,
    &RbacReadSecrets,
    &RbacPodExec,
    &RbacEscalateBindImpersonate,
    &RbacClusterAdminBinding,
    &RbacDefaultServiceAccountBinding,
    &RbacCreateWorkloads,
    &RbacNodesProxy,
    &RbacAdmissionWebhookWrite,
    &RbacTokenRequest,
];
