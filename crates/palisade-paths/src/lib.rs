//! Attack paths across RBAC, containers, network reachability, vulnerabilities and runtime
//! alerts, in one in-memory graph.
//!
//! - [`graph`]: vertices, the edge catalog ([`graph::CATALOG`]: KubeHound's attacks with
//!   their meaning, plus NETWORK_REACH, EXPOSED_VULN, ALERTED and the structural edges) and
//!   the evidence of every edge (object, field path, file and line, rule);
//! - [`build`]: the graph from loaded objects, reusing the RBAC snapshot and authorizer
//!   (palisade-rbac), the scan checks' findings (palisade-checks) and the network policy
//!   engine (palisade-netpol);
//! - [`inputs`]: detect alerts (Falco JSON), a vulnerability file, the crown-jewel
//!   configuration;
//! - [`query`]: shortest paths to crown jewels, critical paths, chokepoints, diff;
//! - [`render`]: text, JSON and a self-contained HTML page.
//!
//! Invariant: no I/O. The caller reads files and the cluster.

pub mod build;
pub mod graph;
pub mod html;
pub mod inputs;
pub mod query;
pub mod render;

pub use build::{build, Built, Inputs, Stats};
pub use graph::{EdgeKind, Fact, Graph, JewelKind, VertexKind, CATALOG};
pub use query::{AttackPath, Chokepoints, From, PathDiff};
