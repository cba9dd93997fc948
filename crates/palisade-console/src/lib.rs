//! The Palisade console: what `palisade observe serve` serves.
//!
//! - [`params`]: query-string parameters → the store's [`palisade_store::Filter`] (every
//!   malformed parameter is an error naming it; fuzzed).
//! - [`api`]: the JSON API over the [`palisade_store::Store`] trait and the netpol engine
//!   (graph, flows, top talkers, DNS, new edges, denials, details, stats, explain, recommend,
//!   impact, alerts, workload drill-down). Handlers are plain functions of the state and the
//!   parameters, so they are tested without HTTP.
//! - [`metrics`]: Prometheus text (`prometheus-client`): records ingested, dropped by reason,
//!   flow-table size, store write latency, per-edge counters under a cardinality cap.
//! - [`assets`]: the front-end (`console/` at the repository root), bundled by `build.rs`
//!   and embedded in the binary; Node.js is never needed at run time.
//! - [`server`]: axum (+ axum-server over rustls for TLS): routes, content security policy.
//! - [`synth`]: synthetic clusters for tests and benchmarks (2,500 workloads in 500
//!   namespaces).

pub mod api;
pub mod assets;
pub mod cli;
pub mod metrics;
pub mod params;
pub mod server;
pub mod synth;

pub use api::{ApiError, Console, Snapshot};
pub use server::{serve, ServeOptions};
