//! Store benchmarks (figures in BENCHMARKS.md; run through scripts/bench-store.sh):
//!
//! 1. `reduction`: one hour at 1,000 flows/s on a synthetic mix → stored rows, with the key
//!    distribution that limits the ratio.
//! 2. `graph`: the 7-day service graph over 2,500 workloads and 10,000 active edges on SQLite
//!    and, when `PALISADE_BENCH_CLICKHOUSE` names a server (`clickhouse://127.0.0.1:PORT/db`),
//!    on ClickHouse.
//!
//! `cargo bench -p palisade-store --features clickhouse --bench store -- [reduction] [graph]`

use palisade_store::aggregate::{Aggregator, DAY_MS, HOUR_MS};
use palisade_store::psl::SuffixList;
use palisade_store::query::{Filter, Resolution};
use palisade_store::{
    Endpoint, EndpointKind, FlowRecord, Security, SqliteOptions, SqliteStore, Store, Verdict,
};
use std::collections::{HashMap, HashSet};

/// (minute, source address, destination, port, denied, plaintext)
type DetailKey = (i64, String, String, u16, bool, bool);
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The mix of the sensor benchmark since the first store measurement: 200 workloads in 20
/// namespaces, up to 800 edges with skewed rates, ephemeral source ports, 2% of flows to one
/// of 1,000 external addresses (port 443), 1% denied, 3% plaintext.
fn mix(i: u64, t0: i64, rnd: &mut Rng) -> FlowRecord {
    let pod = |w: u64, port: u16| Endpoint {
        ip: format!("10.1.{}.{}", w / 200, w % 200),
        port,
        kind: EndpointKind::Pod,
        namespace: Some(format!("ns{}", w % 20)),
        workload: Some(format!("wl{w}")),
        pod: Some(format!("wl{w}-5d8f-x{}", w % 3)),
        ..Endpoint::default()
    };
    let t = t0 + i as i64; // one a millisecond
    let edge = rnd.below(800).min(rnd.below(800));
    let src = pod(edge % 200, 40000 + rnd.below(20000) as u16);
    let dst = if rnd.below(100) < 2 {
        Endpoint {
            ip: format!("203.0.{}.{}", rnd.below(4), rnd.below(250)),
            port: 443,
            ..Endpoint::default()
        }
    } else {
        pod(
            (edge * 7 + 3) % 200,
            [80, 443, 5432, 6379][(edge % 4) as usize],
        )
    };
    let mut r = FlowRecord {
        start: t,
        end: t + 50,
        src,
        dst,
        protocol: "tcp".into(),
        packets_out: 6,
        bytes_out: 900,
        packets_in: 5,
        bytes_in: 4000,
        reporter: "sensor".into(),
        security: if rnd.below(100) < 3 {
            Security::Plaintext
        } else {
            Security::Tls
        },
        ..FlowRecord::default()
    };
    if rnd.below(100) < 1 {
        r.computed_verdict = Some(Verdict::Denied);
        r.computed_policy = Some(format!(
            "ns{}/default-deny",
            r.dst.namespace.as_ref().map_or(0, |n| n.len())
        ));
    }
    r
}

fn reduction() {
    let t0 = 1_790_000_000_000i64;
    let mut rnd = Rng(0x9e37_79b9_7f4a_7c15);
    let mut agg = Aggregator::new(SuffixList::default());
    let records = 3_600_000u64;
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        SqliteStore::open(&dir.path().join("flows.db"), &SqliteOptions::default()).unwrap();
    // Why records are kept whole, for the profile.
    let mut why: HashMap<&str, u64> = HashMap::new();
    // The key distribution of the records kept in detail: distinct (minute, source pod and
    // address, destination address, port, …) without the source port, and with external
    // destinations as ranges.
    let mut no_port: HashMap<&str, HashSet<DetailKey>> = HashMap::new();
    let mut no_port_range: HashMap<&str, HashSet<DetailKey>> = HashMap::new();
    let started = Instant::now();
    for i in 0..records {
        let r = mix(i, t0, &mut rnd);
        if r.keeps_detail() {
            let k = if r.effective_verdict() == Verdict::Denied {
                "denied"
            } else if r.security == Security::Plaintext {
                "plaintext"
            } else {
                "external"
            };
            *why.entry(k).or_default() += 1;
            let key = |dst: String| {
                (
                    r.start / 60_000,
                    r.src.ip.clone(),
                    dst,
                    r.dst.port,
                    r.effective_verdict() == Verdict::Denied,
                    r.security == Security::Plaintext,
                )
            };
            no_port.entry(k).or_default().insert(key(r.dst.ip.clone()));
            no_port_range
                .entry(k)
                .or_default()
                .insert(key(palisade_store::aggregate::external_range(&r.dst.ip)));
        }
        agg.add_flow(&r);
        // A batch every 10 s, as the ingest writer would at this rate (5 s or 50k records).
        if (i + 1) % 10_000 == 0 {
            store.write(&agg.take()).unwrap();
        }
    }
    store.write(&agg.take()).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let st = store.stats().unwrap();
    // What the hour costs once its minute rows have expired (the default keeps them 2 days;
    // hourly and daily rollups and detail rows stay for the maximum age).
    store
        .retain(
            &palisade_store::Retention {
                minute_age_ms: 0,
                max_age_ms: 3650 * DAY_MS,
                max_bytes: 0,
            },
            t0 + 2 * DAY_MS,
        )
        .unwrap();
    let long = store.stats().unwrap().bytes;
    println!(
        "retention: {:.1} bytes/record with minute rows, {:.1} bytes/record after they expire; at 1,000 records/s: {:.0} MB/hour, {:.0} MB/hour",
        st.bytes as f64 / records as f64,
        long as f64 / records as f64,
        st.bytes as f64 / 1e6,
        long as f64 / 1e6
    );
    let mut why: Vec<_> = why.into_iter().collect();
    why.sort();
    let sizes = |m: &HashMap<&str, HashSet<_>>| {
        let mut v: Vec<(String, usize)> = m.iter().map(|(k, s)| (k.to_string(), s.len())).collect();
        v.sort();
        v
    };
    println!(
        "reduction profile: detail keys without source port {:?}; and external destinations as ranges {:?}",
        sizes(&no_port),
        sizes(&no_port_range)
    );
    println!(
        "reduction: {records} flow records (one hour at 1,000/s) → {} one-minute rows + {} detail rows = {:.1}:1 (minute rows alone {:.1}:1; {} hourly, {} daily rows; {:.0} MB on disk = {:.1} bytes/record); records kept in detail by reason {why:?}; generated, aggregated and written in {secs:.1} s = {:.0} records/s",
        st.minute_rows,
        st.detail_rows,
        records as f64 / (st.minute_rows + st.detail_rows) as f64,
        records as f64 / st.minute_rows as f64,
        st.hour_rows,
        st.day_rows,
        st.bytes as f64 / 1e6,
        st.bytes as f64 / records as f64,
        records as f64 / secs
    );
}

/// 8 days of 10,000 edges among 2,500 workloads, each active every hour (60 flow records an
/// hour: one a minute), written as hourly batches.
fn fill_graph(store: &mut dyn Store, t0: i64) -> f64 {
    let started = Instant::now();
    palisade_store::testsuite::write_graph_hours(store, t0, 8 * 24);
    started.elapsed().as_secs_f64()
}

fn percentiles(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    (at(0.5), at(0.95))
}

fn graph_on(name: &str, store: &mut dyn Store) {
    let t0 = 1_790_000_000_000i64 / DAY_MS * DAY_MS;
    let write_secs = fill_graph(store, t0);
    // "The last 7 days" at 13:00 on the 8th day: 11 hours, 6 whole days, 13 hours.
    let until = t0 + 7 * DAY_MS + 13 * HOUR_MS;
    let windows = [
        ("last 7 days at 13:00", until - 7 * DAY_MS, until),
        ("7 whole days", t0, t0 + 7 * DAY_MS),
    ];
    let st = store.stats().unwrap();
    for (what, since, until) in windows {
        let f = Filter {
            since,
            until,
            resolution: Some(Resolution::Hour),
            ..Filter::default()
        };
        let mut times = Vec::new();
        let mut edges = 0;
        let mut flows = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let g = store.graph(&f).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            edges = g.len();
            flows = g.iter().map(|e| e.flows).sum::<u64>();
        }
        let (p50, p95) = percentiles(times);
        println!(
            "graph on {name}, {what}: {edges} edges, {flows} flows; p50 {p50:.0} ms, p95 {p95:.0} ms (20 runs)"
        );
    }
    println!(
        "graph on {name}: {} hourly rows, {} daily rows written in {write_secs:.1} s; {:.0} MB",
        st.hour_rows,
        st.day_rows,
        st.bytes as f64 / 1e6
    );
}

fn graph() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("flows.db"), &SqliteOptions::default()).unwrap();
    graph_on("SQLite", &mut s);
    match std::env::var("PALISADE_BENCH_CLICKHOUSE") {
        Ok(url) => {
            let mut s = palisade_store::open(url.as_ref(), Default::default(), true).unwrap();
            graph_on("ClickHouse", s.as_mut());
        }
        Err(_) => println!("graph on ClickHouse: skipped (PALISADE_BENCH_CLICKHOUSE not set)"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.is_empty();
    if all || args.iter().any(|a| a == "reduction") {
        reduction();
    }
    if all || args.iter().any(|a| a == "graph") {
        graph();
    }
}
