//! Palisade's flow and DNS store.
//!
//! - [`record`]: the records sources produce (flows with workload attribution, verdicts,
//!   TLS/plaintext and HTTP; DNS exchanges).
//! - [`aggregate`]: Calico-style one-minute aggregation (hourly rollups are the same rows at
//!   an hour's width); denied, plaintext, external and drifting flows are also kept whole.
//! - [`query`]: filters, result rows and the [`Store`] trait: the one query layer.
//! - [`sqlite`]: the embedded backend. [`clickhouse`] (feature `clickhouse`): the scale-out
//!   backend. [`open`]: either, from a `--store` argument. [`ingest`]: the bounded queue and
//!   batching writer.
//! - [`testsuite`]: the store and query suite every backend runs.

pub mod aggregate;
#[cfg(feature = "clickhouse")]
pub mod clickhouse;
#[cfg(feature = "clickhouse")]
pub mod clickhouse_server;
pub mod ingest;
pub mod location;
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

/// Opens the store a `--store` argument names: `clickhouse://host:port/database` (with the
/// `clickhouse` feature), else a SQLite file. `create`: a missing SQLite file is created
/// (writers); readers get a clear error instead.
pub fn open(
    path: &std::path::Path,
    retention: Retention,
    create: bool,
) -> Result<Box<dyn Store>, StoreError> {
    if let Some(location) = path.to_str().filter(|l| l.starts_with("clickhouse://")) {
        #[cfg(feature = "clickhouse")]
        {
            let opts = clickhouse::ClickhouseOptions { retention };
            return Ok(Box::new(clickhouse::ClickhouseStore::open(
                location, &opts,
            )?));
        }
        #[cfg(not(feature = "clickhouse"))]
        return Err(StoreError::Query(format!(
            "{location}: this palisade was built without the clickhouse feature"
        )));
    }
    if !create && !path.exists() {
        return Err(StoreError::Backend {
            path: path.to_path_buf(),
            message: "no such flow store".into(),
        });
    }
    let opts = SqliteOptions {
        retention,
        ..SqliteOptions::default()
    };
    Ok(Box::new(SqliteStore::open(path, &opts)?))
}
