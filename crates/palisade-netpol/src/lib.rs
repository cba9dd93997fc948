//! Palisade's network policy analysis: Kubernetes NetworkPolicy, AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy semantics over a snapshot (no I/O here).
//!
//! - [`model`]: the snapshot read into namespaces, workloads, policies, services, ingresses.
//! - [`eval`]: the policy engine (which connections one endpoint may open to another).
//! - [`connlist`]: every allowed connection, over equivalence classes of workloads.

pub mod conn;
pub mod connlist;
pub mod eval;
pub mod ip;
pub mod model;

pub use conn::{ConnSet, PortSet, Protocol};
pub use eval::{Endpoint, Engine};
pub use model::{BuildOptions, Network};
pub mod explain;
pub mod flows;
pub mod impact;
pub mod lint;
pub mod recommend;
pub mod render;
