//! Sensor and store benchmarks (figures in BENCHMARKS.md):
//!
//! 1. packets/s through pcap reading, parsing and the flow table on one core, with 100,000
//!    concurrent flows, and the peak RSS;
//! 2. reduction from flow records to stored rows on a synthetic mix.
//!
//! `cargo bench -p palisade-observe --bench sensor` (pin with `taskset -c 1`).

use palisade_observe::flow::{Config, FlowTable, Sink};
use palisade_observe::packet::build::tcp;
use palisade_observe::packet::{ACK, LINKTYPE_ETHERNET, SYN};
use palisade_observe::pcap::Writer;
use palisade_observe::sensor::read_file;
use palisade_store::aggregate::Aggregator;
use palisade_store::psl::SuffixList;
use palisade_store::{
    DnsRecord, Endpoint, EndpointKind, FlowRecord, Security, SqliteOptions, SqliteStore, Store,
    Verdict,
};
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::time::Instant;

struct Count(u64, u64);
impl Sink for Count {
    fn flow(&mut self, _: FlowRecord) {
        self.0 += 1;
    }
    fn dns(&mut self, _: DnsRecord) {
        self.1 += 1;
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pcap_throughput() {
    const FLOWS: u32 = 100_000;
    const PACKETS: u32 = 3_000_000;
    let dir = std::env::temp_dir().join(format!("palisade-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.pcap");
    {
        let f = BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = Writer::new(f, LINKTYPE_ETHERNET).unwrap();
        let t0 = 1_790_000_000_000_000_000i64;
        for i in 0..PACKETS {
            let flow = i % FLOWS;
            let round = i / FLOWS;
            let c = Ipv4Addr::from(0x0a00_0000 | (flow >> 4));
            let s = Ipv4Addr::from(0x0a80_0000 | (flow & 0xff));
            let cp = 20000 + (flow & 0x3fff) as u16;
            let payload = [0x5au8; 100];
            let frame = match round {
                0 => tcp(c, cp, s, 443, 1, 0, SYN, b""),
                1 => tcp(s, 443, c, cp, 1, 2, SYN | ACK, b""),
                r if r % 2 == 0 => tcp(c, cp, s, 443, 2, 2, ACK, &payload),
                _ => tcp(s, 443, c, cp, 2, 2, ACK, &payload),
            };
            // 30 s of traffic: every flow stays active (no idle timeout).
            w.write(t0 + i as i64 * 10_000, &frame).unwrap();
        }
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let rss_before = peak_rss_kib();
    let mut table = FlowTable::new(Config::default());
    let mut sink = Count(0, 0);
    let t = Instant::now();
    let (n, err) = read_file(&path, &mut table, &mut sink);
    let concurrent = table.len();
    table.finish(&mut sink);
    let secs = t.elapsed().as_secs_f64();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(n, PACKETS as u64);
    println!(
        "pcap → flow table: {n} packets ({:.0} MB file) in {secs:.3} s = {:.0} packets/s on one core; {concurrent} concurrent flows, {} records; peak RSS {} MiB (before: {} MiB)",
        bytes as f64 / 1e6,
        n as f64 / secs,
        sink.0,
        peak_rss_kib() / 1024,
        rss_before / 1024
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn reduction() {
    // One hour at 1,000 flows/s among 200 workloads: up to 800 edges with skewed rates,
    // 2% to external addresses, 1% denied, 3% plaintext.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let t0 = 1_790_000_000_000i64;
    let mut agg = Aggregator::new(SuffixList::default());
    let pod = |w: u64, port: u16| Endpoint {
        ip: format!("10.1.{}.{}", w / 200, w % 200),
        port,
        kind: EndpointKind::Pod,
        namespace: Some(format!("ns{}", w % 20)),
        workload: Some(format!("wl{w}")),
        ..Endpoint::default()
    };
    let records = 3_600_000u64;
    let dir = std::env::temp_dir().join(format!("palisade-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = SqliteStore::open(&dir.join("flows.db"), &SqliteOptions::default()).unwrap();
    let started = Instant::now();
    for i in 0..records {
        let t = t0 + i as i64; // 1,000 flows per second: one a millisecond
        let edge = {
            let a = rnd(800);
            let b = rnd(800);
            a.min(b) // skewed: low edges are busier
        };
        let src = pod(edge % 200, 40000 + rnd(20000) as u16);
        let ext = rnd(100) < 2;
        let dst = if ext {
            Endpoint {
                ip: format!("203.0.{}.{}", rnd(4), rnd(250)),
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
            security: if rnd(100) < 3 {
                Security::Plaintext
            } else {
                Security::Tls
            },
            ..FlowRecord::default()
        };
        if rnd(100) < 1 {
            r.computed_verdict = Some(Verdict::Denied);
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
    println!(
        "reduction: {records} flow records (one hour at 1,000/s) → {} one-minute rows + {} detail rows = {:.1}:1 ({} hourly rows, {:.0} MB); generated, aggregated and written in {secs:.1} s = {:.0} records/s",
        st.minute_rows,
        st.detail_rows,
        records as f64 / (st.minute_rows + st.detail_rows) as f64,
        st.hour_rows,
        st.bytes as f64 / 1e6,
        records as f64 / secs
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The 7-day service graph over 2,500 workloads and 10,000 active edges: one row per edge
/// and hour in the rollup (what a 7-day query reads), written as the ingest path writes.
fn graph_query() {
    use palisade_store::aggregate::HOUR_MS;
    use palisade_store::query::{Filter, Resolution};
    let dir = std::env::temp_dir().join(format!("palisade-bench-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = SqliteStore::open(&dir.join("flows.db"), &SqliteOptions::default()).unwrap();
    let t0 = 1_790_000_000_000i64 / HOUR_MS * HOUR_MS;
    let written = Instant::now();
    palisade_store::testsuite::write_graph_hours(&mut store, t0, 168);
    let write_secs = written.elapsed().as_secs_f64();
    let f = Filter {
        since: t0,
        until: t0 + 168 * HOUR_MS,
        resolution: Some(Resolution::Hour),
        ..Filter::default()
    };
    let mut times = Vec::new();
    let mut edges = 0;
    for _ in 0..20 {
        let t = Instant::now();
        edges = store.graph(&f).unwrap().len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let st = store.stats().unwrap();
    println!(
        "graph over 7 days on SQLite: {} hourly rows, {edges} edges; p50 {:.0} ms, p95 {:.0} ms (20 runs); rows written in {write_secs:.1} s, {:.0} MB",
        st.hour_rows,
        times[9],
        times[18],
        st.bytes as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    pcap_throughput();
    reduction();
    graph_query();
}
