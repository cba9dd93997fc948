//! Palisade's flow and DNS store.
//!
//! - [`record`]: the records sources produce (flows with workload attribution, verdicts,
//!   TLS/plaintext and HTTP; DNS exchanges).
//! - [`aggregate`]: Calico-style one-minute aggregation (hourly rollups are the same rows at
//!   an hour's width); denied, plaintext, external and drifting flows are also kept whole.
//! - [`query`]: filters, result rows and the [`Store`] trait: the one query layer.
//! - [`sqlite`]: the embedded backend. [`ingest`]: the bounded queue and batching writer.
//! - [`testsuite`]: the store and query suite every backend runs.

pub mod aggregate;
pub mod ingest;
pub mod psl;
pub mod query;
pub mod record;
pub mod sqlite;
pub mod testsuite;

pub use aggregate::{Aggregator, Batch, End};
pub use query::{Filter, Retention, Scope, Store, StoreError};
pub use record::{
    DnsAnswer, DnsRecord, Endpoint, EndpointKind, FlowRecord, HttpInfo, Security, TcpState, Verdict,
};
pub use sqlite::{SqliteOptions, SqliteStore};
