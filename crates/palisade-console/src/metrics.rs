//! `/metrics`: the observe pipeline and the console in the Prometheus text format.
//!
//! Kept with `prometheus-client` and written out through the webhook's
//! `to_prometheus_text` (classic counter names, so `promtool check metrics` passes).
//!
//! - ingest (only when this process ingests: an [`IngestStats`] was attached):
//!   `palisade_observe_records_ingested_total`, `palisade_observe_records_dropped_total{reason}`
//!   (`queue_full`, `write_error`), `palisade_store_writes_total`,
//!   `palisade_store_write_seconds_total` (mean latency = rate of the two),
//!   `palisade_store_write_seconds_max`;
//! - the store, read at scrape time (any process that wrote it): `palisade_store_records_total`,
//!   `palisade_store_rows{table}`, `palisade_store_bytes`;
//! - per edge over the last [`EDGE_WINDOW_MS`]: `palisade_observe_edge_bytes{src,dst,verdict}`
//!   and `palisade_observe_edge_flows{…}` for at most [`MAX_EDGES`] edges (largest by bytes);
//!   the rest are summed under `src="other",dst="other"` and counted in
//!   `palisade_observe_edges_folded`;
//! - the API: `palisade_console_requests_total{endpoint,code}` and
//!   `palisade_console_request_seconds{endpoint}`; endpoint names come from a fixed list.

use palisade_store::ingest::IngestStats;
use palisade_store::query::StoreStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Edges exported one by one; the rest are folded into `other`.
pub const MAX_EDGES: usize = 200;
/// The window of the per-edge gauges.
pub const EDGE_WINDOW_MS: i64 = 5 * 60_000;

type Labels = Vec<(String, String)>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One edge of the per-edge gauges.
pub struct EdgeSample {
    pub src: String,
    pub dst: String,
    pub verdict: String,
    pub bytes: u64,
    pub flows: u64,
}

struct Inner {
    registry: Registry,
    /// Ingest families: exposed only once an ingest queue is attached.
    ingest_registry: Registry,
    ingested: Counter,
    dropped: Family<Labels, Counter>,
    writes: Counter,
    write_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    write_max: Gauge<f64, std::sync::atomic::AtomicU64>,
    store_records: Counter,
    store_rows: Family<Labels, Gauge>,
    store_bytes: Gauge,
    edge_bytes: Family<Labels, Gauge>,
    edge_flows: Family<Labels, Gauge>,
    edges_folded: Gauge,
    requests: Family<Labels, Counter>,
    seconds: Family<Labels, Histogram, fn() -> Histogram>,
    /// Last values seen of the external monotonic counters, to add deltas.
    seen: BTreeMap<&'static str, u64>,
}

pub struct Metrics {
    inner: Mutex<Inner>,
    ingest: Mutex<Option<Arc<IngestStats>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let mut ri = Registry::default();
        let i = Inner {
            ingested: Counter::default(),
            dropped: Family::default(),
            writes: Counter::default(),
            write_seconds: Counter::default(),
            write_max: Gauge::default(),
            store_records: Counter::default(),
            store_rows: Family::default(),
            store_bytes: Gauge::default(),
            edge_bytes: Family::default(),
            edge_flows: Family::default(),
            edges_folded: Gauge::default(),
            requests: Family::default(),
            seconds: Family::new_with_constructor(histogram),
            seen: BTreeMap::new(),
            registry: Registry::default(),
            ingest_registry: Registry::default(),
        };
        ri.register(
            "palisade_observe_records_ingested",
            "Flow and DNS records taken by the ingest queue of this process",
            i.ingested.clone(),
        );
        ri.register(
            "palisade_observe_records_dropped",
            "Records dropped by this process, by reason",
            i.dropped.clone(),
        );
        ri.register(
            "palisade_store_writes",
            "Batches written to the store by this process",
            i.writes.clone(),
        );
        ri.register(
            "palisade_store_write_seconds",
            "Time spent writing batches to the store",
            i.write_seconds.clone(),
        );
        ri.register(
            "palisade_store_write_seconds_max",
            "Longest batch write so far, in seconds",
            i.write_max.clone(),
        );
        r.register(
            "palisade_store_records",
            "Records the store holds the aggregates of (every writer)",
            i.store_records.clone(),
        );
        r.register(
            "palisade_store_rows",
            "Rows in the store, by table",
            i.store_rows.clone(),
        );
        r.register(
            "palisade_store_bytes",
            "Size of the store in bytes",
            i.store_bytes.clone(),
        );
        r.register(
            "palisade_observe_edge_bytes",
            "Bytes per edge over the last five minutes (largest edges; the rest under other)",
            i.edge_bytes.clone(),
        );
        r.register(
            "palisade_observe_edge_flows",
            "Flows per edge over the last five minutes (largest edges; the rest under other)",
            i.edge_flows.clone(),
        );
        r.register(
            "palisade_observe_edges_folded",
            "Edges of the last five minutes summed under other (cardinality cap)",
            i.edges_folded.clone(),
        );
        r.register(
            "palisade_console_requests",
            "API requests, by endpoint and status code",
            i.requests.clone(),
        );
        r.register(
            "palisade_console_request_seconds",
            "API request latency, by endpoint",
            i.seconds.clone(),
        );
        let mut i = i;
        i.registry = r;
        i.ingest_registry = ri;
        Metrics {
            inner: Mutex::new(i),
            ingest: Mutex::new(None),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Exports the counters of an ingest queue this process runs.
    pub fn attach_ingest(&self, s: Arc<IngestStats>) {
        *self.ingest.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }

    /// Counts one API request. `endpoint` must come from a fixed list (cardinality).
    pub fn request(&self, endpoint: &str, code: u16, seconds: f64) {
        let i = self.inner();
        i.requests
            .get_or_create(&l(&[("endpoint", endpoint), ("code", &code.to_string())]))
            .inc();
        i.seconds
            .get_or_create(&l(&[("endpoint", endpoint)]))
            .observe(seconds);
    }

    /// Requests so far, by endpoint (for `/api/v1/stats`).
    pub fn api_summary(&self) -> BTreeMap<String, u64> {
        let text = self.encode();
        let mut m = BTreeMap::new();
        for line in text
            .lines()
            .filter(|x| x.starts_with("palisade_console_requests_total{"))
        {
            if let (Some(a), Some(v)) = (line.find("endpoint=\""), line.rsplit(' ').next()) {
                let rest = &line[a + 10..];
                let ep = &rest[..rest.find('"').unwrap_or(0)];
                *m.entry(ep.to_string()).or_default() += v.parse::<u64>().unwrap_or(0);
            }
        }
        m
    }

    fn delta(i: &mut Inner, key: &'static str, now: u64) -> u64 {
        let last = i.seen.insert(key, now).unwrap_or(0);
        now.saturating_sub(last)
    }

    /// Updates the scrape-time values: the store's, and the edges of the last window.
    pub fn update_store(&self, s: &StoreStats, edges: Vec<EdgeSample>) {
        let mut i = self.inner();
        let d = Self::delta(&mut i, "store_records", s.records);
        i.store_records.inc_by(d);
        for (t, v) in [
            ("minute", s.minute_rows),
            ("hour", s.hour_rows),
            ("detail", s.detail_rows),
            ("dns", s.dns_rows),
        ] {
            i.store_rows
                .get_or_create(&l(&[("table", t)]))
                .set(v as i64);
        }
        i.store_bytes.set(s.bytes as i64);
        i.edge_bytes.clear();
        i.edge_flows.clear();
        let mut edges = edges;
        edges.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.flows.cmp(&a.flows)));
        let folded = edges.len().saturating_sub(MAX_EDGES);
        let (keep, rest) = edges.split_at(edges.len().min(MAX_EDGES));
        for e in keep {
            let k = l(&[("src", &e.src), ("dst", &e.dst), ("verdict", &e.verdict)]);
            i.edge_bytes.get_or_create(&k).inc_by(e.bytes as i64);
            i.edge_flows.get_or_create(&k).inc_by(e.flows as i64);
        }
        if !rest.is_empty() {
            let k = l(&[("src", "other"), ("dst", "other"), ("verdict", "other")]);
            i.edge_bytes
                .get_or_create(&k)
                .set(rest.iter().map(|e| e.bytes as i64).sum());
            i.edge_flows
                .get_or_create(&k)
                .set(rest.iter().map(|e| e.flows as i64).sum());
        }
        i.edges_folded.set(folded as i64);
    }

    fn update_live(&self) {
        let ingest = self
            .ingest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut i = self.inner();
        if let Some(s) = ingest {
            let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
            let d = Self::delta(&mut i, "ingested", r(&s.ingested));
            i.ingested.inc_by(d);
            let d = Self::delta(&mut i, "queue_full", r(&s.dropped_queue_full));
            i.dropped
                .get_or_create(&l(&[("reason", "queue_full")]))
                .inc_by(d);
            let d = Self::delta(&mut i, "write_error", r(&s.dropped_write_error));
            i.dropped
                .get_or_create(&l(&[("reason", "write_error")]))
                .inc_by(d);
            let d = Self::delta(&mut i, "batches", r(&s.batches));
            i.writes.inc_by(d);
            let d = Self::delta(&mut i, "write_nanos", r(&s.write_nanos));
            i.write_seconds.inc_by(d as f64 / 1e9);
            i.write_max.set(r(&s.max_write_nanos) as f64 / 1e9);
        }
    }

    /// The Prometheus text.
    pub fn encode(&self) -> String {
        self.update_live();
        let ingest = self
            .ingest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        let i = self.inner();
        let mut out = String::new();
        for (reg, on) in [(&i.ingest_registry, ingest), (&i.registry, true)] {
            let mut om = String::new();
            if on && encode(&mut om, reg).is_ok() {
                out.push_str(&palisade_admission::metrics::to_prometheus_text(&om));
            }
        }
        out
    }
}
