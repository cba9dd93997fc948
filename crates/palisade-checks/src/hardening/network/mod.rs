//! Network exposure checks: Services reachable from outside the cluster, Ingresses without
//! TLS, and NetworkPolicy coverage of workloads and namespaces (evaluated within the scanned
//! set). Shared helpers are in `policy`.

use crate::context::Check;

mod ingress_without_tls;
mod namespace_default_deny_egress;
mod namespace_default_deny_ingress;
pub mod policy;
mod service_external_ips;
mod service_loadbalancer;
mod service_nodeport;
mod workload_without_network_policy;

pub use ingress_without_tls::IngressWithoutTls;
pub use namespace_default_deny_egress::NamespaceWithoutDefaultDenyEgress;
pub use namespace_default_deny_ingress::NamespaceWithoutDefaultDenyIngress;
pub use service_external_ips::ServiceExternalIps;
pub use service_loadbalancer::ServiceLoadBalancer;
pub use service_nodeport::ServiceNodePort;
pub use workload_without_network_policy::WorkloadWithoutNetworkPolicy;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[
    &ServiceNodePort,
    &ServiceLoadBalancer,
    &ServiceExternalIps,
    &IngressWithoutTls,
    &WorkloadWithoutNetworkPolicy,
    &NamespaceWithoutDefaultDenyIngress,
    &NamespaceWithoutDefaultDenyEgress,
];
