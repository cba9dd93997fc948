//! The store suite on a real ClickHouse: Debian's `clickhouse-server` (18.16), started by each
//! test on a free loopback port with its own data directory and configuration
//! (`clickhouse_server`). Without the binary the tests are skipped locally; under CI
//! (`CI=true`) they fail instead.

use palisade_store::clickhouse::{ClickhouseOptions, ClickhouseStore};
use palisade_store::clickhouse_server::{free_port, TestServer};
use palisade_store::testsuite;
use palisade_store::{Store, StoreError};

fn open(s: &TestServer, db: &str) -> ClickhouseStore {
    ClickhouseStore::open(&s.url(db), &ClickhouseOptions::default())
        .unwrap_or_else(|e| panic!("open {db}: {e}\n{}", s.log()))
}

#[test]
fn store_suite() {
    let Some(s) = TestServer::start() else { return };
    testsuite::run(&mut open(&s, "suite"));
}

#[test]
fn detail_merge() {
    let Some(s) = TestServer::start() else { return };
    testsuite::run_detail_merge(&mut open(&s, "merge"));
}

#[test]
fn size_retention() {
    let Some(s) = TestServer::start() else { return };
    // Background merges shrink small parts on their own, which would meet the budget without
    // retention; the suite measures what dropping days does.
    let mut store = open(&s, "size");
    s.execute("SYSTEM STOP MERGES"); // for the tables that now exist
    testsuite::run_size_retention(&mut store);
}

#[test]
fn stores_are_databases_and_reopen_with_their_rows() {
    let Some(s) = TestServer::start() else { return };
    testsuite::load(&mut open(&s, "one"));
    assert_eq!(open(&s, "one").stats().unwrap().records, 29);
    assert_eq!(
        open(&s, "two").stats().unwrap().records,
        0,
        "another database"
    );
    // Opening an existing store does not touch its tables.
    let st = open(&s, "one").stats().unwrap();
    assert_eq!((st.minute_rows, st.detail_rows), (5, 3));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = free_port(); // nothing listens there
    let url = format!("clickhouse://127.0.0.1:{port}/palisade");
    let e = ClickhouseStore::open(&url, &ClickhouseOptions::default())
        .err()
        .expect("no server");
    assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
}

#[test]
fn open_picks_the_backend_by_url() {
    let Some(s) = TestServer::start() else { return };
    let mut st = palisade_store::open(s.url("byurl").as_ref(), Default::default(), true).unwrap();
    testsuite::load(st.as_mut());
    assert_eq!(st.stats().unwrap().batches, 2);
}

#[test]
fn rollups_fold_on_merge() {
    let Some(s) = TestServer::start() else { return };
    let mut st = open(&s, "fold");
    use palisade_store::aggregate::{Aggregator, HOUR_MS};
    use palisade_store::psl::SuffixList;
    let (flows, _) = testsuite::dataset();
    let mut agg = Aggregator::new(SuffixList::default());
    for h in 0..6 {
        let mut f = flows[0].clone();
        f.start = testsuite::T0 + h * 4 * HOUR_MS;
        f.end = f.start + 400;
        agg.add_flow(&f);
        st.write(&agg.take()).unwrap();
    }
    // Merged into one row per key, sums and first/last seen kept.
    s.execute("OPTIMIZE TABLE fold.flows_1d FINAL");
    let rows = s.query(
        "SELECT flows, finalizeAggregation(first_seen), finalizeAggregation(last_seen) FROM fold.flows_1d",
    );
    let t0 = testsuite::T0;
    assert_eq!(
        rows,
        format!("6\t{t0}\t{}\n", t0 + 20 * HOUR_MS + 400),
        "one folded row"
    );
}
