//! `palisade detect serve`: an HTTPS endpoint for the API server's audit webhook backend.
//!
//! A POST of an `audit.k8s.io/v1` EventList is answered 200 only once all its events are in
//! the bounded queue; when the queue cannot take the whole batch the answer is 429 and every
//! refused event is counted as dropped (the API server retries the batch, so nothing is lost
//! silently and nothing is queued twice). A pool of workers evaluates the rules; alerts go to
//! the configured sink. `/metrics` exposes events, alerts by rule and priority, drops, queue
//! depth and evaluation latency in the Prometheus text format.

use crate::engine::{Alert, Engine};
use crate::input::{classify, AnyEvent, Parsed};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Events the queue holds.
    pub queue: usize,
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    pub hostname: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
    priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// Server counters (also rendered as Prometheus metrics).
pub struct Stats {
    registry: Registry,
    pub received: Counter,
    pub processed: Counter,
    dropped: Family<ReasonLabels, Counter>,
    alerts: Family<RuleLabels, Counter>,
    queue_depth: Gauge,
    latency: Histogram,
    pub rejected_requests: AtomicU64,
}

impl Stats {
    fn new() -> Stats {
        let mut registry = Registry::with_prefix("palisade_detect");
        let received = Counter::default();
        let processed = Counter::default();
        let dropped = Family::<ReasonLabels, Counter>::default();
        let alerts = Family::<RuleLabels, Counter>::default();
        let queue_depth = Gauge::default();
        let latency = Histogram::new(exponential_buckets(1e-6, 2.0, 20));
        registry.register("events_received", "Audit events received", received.clone());
        registry.register(
            "events_processed",
            "Events evaluated against the rules",
            processed.clone(),
        );
        registry.register(
            "events_dropped",
            "Events refused or lost, by reason",
            dropped.clone(),
        );
        registry.register(
            "alerts",
            "Alerts raised, by rule and priority",
            alerts.clone(),
        );
        registry.register(
            "queue_depth",
            "Events waiting for a worker",
            queue_depth.clone(),
        );
        registry.register(
            "evaluation_latency_seconds",
            "Time to evaluate one event against the rules",
            latency.clone(),
        );
        Stats {
            registry,
            received,
            processed,
            dropped,
            alerts,
            queue_depth,
            latency,
            rejected_requests: AtomicU64::new(0),
        }
    }
    pub fn dropped(&self, reason: &str) -> u64 {
        self.dropped
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .get()
    }
    pub fn alerts_total(&self) -> u64 {
        // Sum over the families we have seen.
        let mut s = String::new();
        let _ = encode(&mut s, &self.registry);
        s.lines()
            .filter(|l| l.starts_with("palisade_detect_alerts_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = encode(&mut s, &self.registry);
        s
    }
    fn drop_events(&self, reason: &str, n: u64) {
        self.dropped
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc_by(n);
    }
}

/// Where alerts go; called from worker threads.
pub type Sink = Arc<dyn Fn(Alert) + Send + Sync>;

struct AppState {
    tx: mpsc::Sender<AnyEvent>,
    stats: Arc<Stats>,
    host: Arc<str>,
    max_body: usize,
    next: AtomicU64,
}

pub struct Running {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets the workers drain the queue, and returns.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = self.task.await;
        for w in self.workers {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
    }
}

fn tls_config(cert: &PathBuf, key: &PathBuf) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: invalid PEM: {e}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{}: no certificate found",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("{}: no private key found: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Starts the server and its workers (on `listener` when given, else on `opts.listen`).
pub async fn start(
    engine: Arc<Engine>,
    opts: ServeOptions,
    sink: Sink,
    listener: Option<std::net::TcpListener>,
) -> anyhow::Result<Running> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = RustlsConfig::from_config(Arc::new(tls_config(&opts.tls_cert, &opts.tls_key)?));
    let stats = Arc::new(Stats::new());
    let (tx, rx) = mpsc::channel::<AnyEvent>(opts.queue.max(1));
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let mut workers = Vec::new();
    for _ in 0..opts.workers.max(1) {
        let rx = rx.clone();
        let engine = engine.clone();
        let stats = stats.clone();
        let sink = sink.clone();
        let host = opts.hostname.clone();
        workers.push(std::thread::spawn(move || loop {
            let ev = {
                let Ok(mut guard) = rx.lock() else { return };
                guard.blocking_recv()
            };
            let Some(ev) = ev else { return };
            stats.queue_depth.dec();
            let started = Instant::now();
            let alert = engine.process(ev.as_event(), ev.time_ns(), &host);
            stats.latency.observe(started.elapsed().as_secs_f64());
            stats.processed.inc();
            if let Some(a) = alert {
                stats
                    .alerts
                    .get_or_create(&RuleLabels {
                        rule: a.rule.clone(),
                        priority: a.priority.as_str().to_string(),
                    })
                    .inc();
                sink(a);
            }
        }));
    }
    let state = Arc::new(AppState {
        tx,
        stats: stats.clone(),
        host: Arc::from(opts.hostname.as_str()),
        max_body: opts.max_body,
        next: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/k8s-audit", post(audit))
        .route("/k8s_audit", post(audit))
        .route("/", post(audit))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(opts.max_body))
        .with_state(state);
    let handle: Handle<SocketAddr> = Handle::new();
    let server = match listener {
        Some(l) => {
            l.set_nonblocking(true)?;
            axum_server::from_tcp_rustls(l, tls)?
        }
        None => axum_server::bind_rustls(opts.listen, tls),
    };
    let task = tokio::spawn(server.handle(handle.clone()).serve(app.into_make_service()));
    let addr = handle
        .listening()
        .await
        .ok_or_else(|| anyhow::anyhow!("the server did not start listening on {}", opts.listen))?;
    Ok(Running {
        addr,
        stats,
        handle,
        task,
        workers,
    })
}

fn json_reply(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn audit(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    if body.len() > st.max_body {
        st.stats.rejected_requests.fetch_add(1, Ordering::Relaxed);
        return json_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({"error": "body too large"}),
        );
    }
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => {
            st.stats.rejected_requests.fetch_add(1, Ordering::Relaxed);
            return json_reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "body is not UTF-8"}),
            );
        }
    };
    let mut parsed = Parsed::default();
    // Fast path: an EventList whose items are read lazily.
    #[derive(serde::Deserialize)]
    struct RawList {
        items: Vec<Box<serde_json::value::RawValue>>,
    }
    if let Ok(list) = serde_json::from_str::<RawList>(text) {
        for item in list.items {
            let num = st.next.fetch_add(1, Ordering::Relaxed) + 1;
            match crate::k8saudit::AuditEvent::parse(item.get(), num, st.host.clone()) {
                Ok(Some(ev)) => parsed.events.push(AnyEvent::Audit(ev)),
                Ok(None) => parsed
                    .errors
                    .push((1, "an EventList item without auditID".into())),
                Err(e) => parsed.errors.push((1, e)),
            }
        }
        return enqueue(&st, parsed);
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => {
            let mut num = st.next.load(Ordering::Relaxed);
            classify(v, 1, &mut num, &st.host, &mut parsed);
            st.next.store(num, Ordering::Relaxed);
        }
        Err(e) => {
            st.stats.rejected_requests.fetch_add(1, Ordering::Relaxed);
            return json_reply(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("not JSON: {e}")}),
            );
        }
    }
    enqueue(&st, parsed)
}

fn enqueue(st: &AppState, parsed: Parsed) -> Response {
    if !parsed.errors.is_empty() && parsed.events.is_empty() {
        st.stats.rejected_requests.fetch_add(1, Ordering::Relaxed);
        let msgs: Vec<String> = parsed.errors.iter().map(|(_, m)| m.clone()).collect();
        return json_reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": msgs.join("; ")}),
        );
    }
    let n = parsed.events.len();
    st.stats.received.inc_by(n as u64);
    if n == 0 {
        return json_reply(StatusCode::OK, serde_json::json!({"queued": 0}));
    }
    // All or nothing: the API server resends a refused batch.
    match st.tx.try_reserve_many(n) {
        Ok(permits) => {
            st.stats.queue_depth.inc_by(n as i64);
            for (p, ev) in permits.zip(parsed.events) {
                p.send(ev);
            }
            json_reply(StatusCode::OK, serde_json::json!({"queued": n}))
        }
        Err(_) => {
            st.stats.drop_events("queue_full", n as u64);
            json_reply(
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({"error": "queue full", "dropped": n}),
            )
        }
    }
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.stats.render(),
    )
        .into_response()
}
