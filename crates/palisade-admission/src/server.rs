//! The HTTPS front end: `/validate`, `/mutate`, `/healthz`, `/readyz`, `/metrics` over
//! rustls (HTTP/1.1 and HTTP/2), with
//! - certificate rotation: the certificate and key files are re-read every
//!   `reload_interval`; a changed, valid pair is used for new connections, open connections
//!   keep theirs (none is dropped); an invalid pair is logged and the old one kept;
//! - configuration reload on SIGHUP and when the configuration or any policy or namespace
//!   file changes (polled, so it also works with Kubernetes' symlink-swapped ConfigMap
//!   volumes): the new set is built aside and swapped in atomically, or, if it fails to load,
//!   the old set stays and the error is logged and counted;
//! - a per-request evaluation deadline (see [`crate::engine`]);
//! - graceful shutdown on SIGTERM/SIGINT: readiness turns false, new connections stop, and
//!   in-flight requests drain for up to `shutdown_grace`.
//!
//! [`handle_review`] is the one request path; `palisade admission review` calls
//! [`review_offline`], which goes through the same parsing, evaluation and answer building.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::AdmissionConfig;
use crate::decision_log::{DecisionLog, QueuedLog};
use crate::engine::{Admission, Outcome, Progress, VerdictKind};
use crate::metrics::{Metrics, CONTENT_TYPE as METRICS_CONTENT_TYPE};
use crate::namespaces::NamespaceCache;
use crate::review::{self, RequestError};

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The configuration file; `None`: the defaults.
    pub config: Option<PathBuf>,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub listen: SocketAddr,
    /// How often certificate, configuration and policy files are checked for changes.
    pub reload_interval: Duration,
    /// How long in-flight requests may take to drain at shutdown.
    pub shutdown_grace: Duration,
    /// Cluster access for `namespaces.api`.
    pub cluster: palisade_cluster::ClusterOptions,
}

impl ServeOptions {
    pub fn new(tls_cert: PathBuf, tls_key: PathBuf) -> ServeOptions {
        ServeOptions {
            config: None,
            tls_cert,
            tls_key,
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            reload_interval: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(25),
            cluster: palisade_cluster::ClusterOptions::default(),
        }
    }
}

/// Shared by every request.
pub struct AppState {
    admission: RwLock<Arc<Admission>>,
    pub metrics: Metrics,
    log: QueuedLog,
    pub namespaces: NamespaceCache,
    ready: AtomicBool,
    config_path: Option<PathBuf>,
}

impl AppState {
    /// Fails only if the decision-log writer thread cannot be started.
    pub fn new(
        admission: Admission,
        log: DecisionLog,
        namespaces: NamespaceCache,
        config_path: Option<PathBuf>,
    ) -> std::io::Result<AppState> {
        let metrics = Metrics::new();
        metrics.set_policies_loaded(admission.policy_count());
        let queue = admission.config.decision_log.queue_lines as usize;
        let log = QueuedLog::start(log, queue, metrics.log_counters())?;
        Ok(AppState {
            admission: RwLock::new(Arc::new(admission)),
            metrics,
            log,
            namespaces,
            ready: AtomicBool::new(false),
            config_path,
        })
    }

    /// Waits until every decision-log line queued so far is written.
    pub fn flush_log(&self) {
        self.log.flush();
    }

    /// The current policy set.
    pub fn admission(&self) -> Arc<Admission> {
        self.admission
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.namespaces.synced()
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
        self.metrics.set_ready(self.is_ready());
    }

    /// Reloads the configuration and policies; on failure the current set stays.
    pub fn reload(&self) -> Result<usize, String> {
        let result = load_admission(self.config_path.as_deref());
        match result {
            Ok(a) => {
                let n = a.policy_count();
                for w in &a.warnings {
                    tracing::warn!("{w}");
                }
                *self.admission.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(a);
                self.metrics.reload(true);
                self.metrics.set_policies_loaded(n);
                tracing::info!(policies = n, "configuration reloaded");
                Ok(n)
            }
            Err(e) => {
                self.metrics.reload(false);
                tracing::error!("reload failed, keeping the previous policies: {e}");
                Err(e)
            }
        }
    }
}

/// Loads the configuration file (or the built-in default, `default-config.yaml`) and compiles it.
pub fn load_admission(config: Option<&Path>) -> Result<Admission, String> {
    let cfg = match config {
        Some(p) => AdmissionConfig::load(p).map_err(|e| e.to_string())?,
        None => AdmissionConfig::builtin().map_err(|e| e.to_string())?,
    };
    Admission::load(cfg).map_err(|e| e.to_string())
}

/// What one request produced: the HTTP answer and its decision-log record.
#[derive(Debug)]
pub struct Handled {
    pub status: u16,
    pub body: Vec<u8>,
    pub json: bool,
    pub record: Value,
}

/// Which webhook a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Webhook {
    Validate,
    Mutate,
}

impl Webhook {
    pub fn as_str(self) -> &'static str {
        match self {
            Webhook::Validate => "validate",
            Webhook::Mutate => "mutate",
        }
    }
}

fn bad_request(webhook: Webhook, e: &RequestError, started: Instant) -> Handled {
    let message = e.to_string();
    Handled {
        status: 400,
        body: message.clone().into_bytes(),
        json: false,
        record: json!({
            "time": crate::engine::rfc3339_now(),
            "webhook": webhook.as_str(),
            "error": message,
            "errorReason": e.reason(),
            "latencyMs": (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        }),
    }
}

fn answered(
    webhook: Webhook,
    parsed: &review::ParsedReview,
    outcome: &Outcome,
    started: Instant,
) -> Handled {
    let body = serde_json::to_vec(&outcome.response.to_review(parsed.version))
        .unwrap_or_else(|_| b"{}".to_vec());
    Handled {
        status: 200,
        body,
        json: true,
        record: outcome.log_record(&parsed.request, webhook.as_str(), started.elapsed()),
    }
}

/// The one request path of the server: parse, look up the namespace, evaluate under the
/// deadline, answer, record.
pub async fn handle_review(state: &Arc<AppState>, webhook: Webhook, body: &[u8]) -> Handled {
    let started = Instant::now();
    let admission = state.admission();
    let parsed = match review::parse(body, admission.config.limits.max_request_bytes) {
        Ok(p) => p,
        Err(e) => {
            state.metrics.bad_request(e.reason());
            let h = bad_request(webhook, &e, started);
            record(state, webhook, None, &h, None, started);
            return h;
        }
    };
    let outcome = match webhook {
        Webhook::Mutate => admission.mutate(&parsed.request),
        Webhook::Validate => {
            let ns = namespace_for(state, &admission, &parsed.request).await;
            let deadline = started + admission.config.limits.evaluation_deadline;
            let progress = Progress::new();
            let task = {
                let (admission, progress, ns) = (admission.clone(), progress.clone(), ns.clone());
                let req = parsed.request.clone();
                tokio::task::spawn_blocking(move || {
                    admission.run_units(&req, ns.as_deref(), deadline, &progress)
                })
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Whether the units finished, failed or the deadline passed, the answer is
            // built from what was published.
            let _ = tokio::time::timeout(remaining, task).await;
            admission.finish(&parsed.request, ns.as_deref(), &progress)
        }
    };
    let h = answered(webhook, &parsed, &outcome, started);
    record(
        state,
        webhook,
        Some(&parsed.request),
        &h,
        Some(&outcome),
        started,
    );
    h
}

async fn namespace_for(
    state: &AppState,
    admission: &Admission,
    req: &palisade_policy::AdmissionRequest,
) -> Option<Arc<Value>> {
    let name = req.namespace.as_deref().filter(|n| !n.is_empty())?;
    if let Some(v) = state.namespaces.lookup(name).await {
        return Some(v);
    }
    admission.static_namespace(name)
}

fn record(
    state: &AppState,
    webhook: Webhook,
    req: Option<&palisade_policy::AdmissionRequest>,
    h: &Handled,
    outcome: Option<&Outcome>,
    started: Instant,
) {
    let m = &state.metrics;
    let (operation, kind) = match req {
        Some(r) => (
            r.operation.as_str(),
            if r.kind.group.is_empty() {
                r.kind.kind.clone()
            } else {
                format!("{}/{}", r.kind.group, r.kind.kind)
            },
        ),
        None => ("", String::new()),
    };
    let decision = match outcome {
        None => "error",
        Some(o) if o.denied() => "denied",
        Some(_) => "allowed",
    };
    m.observe_request(
        webhook.as_str(),
        operation,
        &kind,
        decision,
        started.elapsed(),
    );
    if let Some(o) = outcome {
        if o.timed_out {
            m.deadline_exceeded(webhook.as_str());
        }
        for v in &o.verdicts {
            match v.verdict {
                VerdictKind::Violation => {
                    let action = v.actions.first().map(|a| a.as_str()).unwrap_or("none");
                    m.violation(&v.policy, v.engine, action);
                }
                VerdictKind::Error | VerdictKind::Timeout => {
                    m.evaluation_error(&v.policy, v.engine)
                }
            }
        }
        if !o.patch.is_empty() {
            m.patch_ops(o.patch.len());
        }
    }
    // Queued: the writer thread writes it; drops and failures are counted in /metrics.
    state.log.write(&h.record);
}

/// `palisade admission review`: one AdmissionReview through the same path, no server.
/// Namespace labels come from the configuration's namespace files.
pub fn review_offline(admission: &Admission, webhook: Webhook, body: &[u8]) -> Handled {
    let started = Instant::now();
    let parsed = match review::parse(body, admission.config.limits.max_request_bytes) {
        Ok(p) => p,
        Err(e) => return bad_request(webhook, &e, started),
    };
    let outcome = match webhook {
        Webhook::Mutate => admission.mutate(&parsed.request),
        Webhook::Validate => {
            let ns = parsed
                .request
                .namespace
                .as_deref()
                .and_then(|n| admission.static_namespace(n));
            admission.validate_now(&parsed.request, ns.as_deref())
        }
    };
    answered(webhook, &parsed, &outcome, started)
}

async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, RequestError> {
    let limit = state.admission().config.limits.max_request_bytes;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok())
    {
        if len > limit {
            return Err(RequestError::TooLarge { size: len, limit });
        }
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    match axum::body::to_bytes(body, limit_usize).await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => {
            let text = format!("{e}");
            let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            let mut too_large = text.contains("length limit");
            while let Some(s) = source {
                too_large |= s.to_string().contains("length limit");
                source = s.source();
            }
            if too_large {
                Err(RequestError::TooLarge {
                    size: limit + 1,
                    limit,
                })
            } else {
                Err(RequestError::Malformed(format!(
                    "cannot read the request body: {text}"
                )))
            }
        }
    }
}

async fn webhook_route(
    state: Arc<AppState>,
    webhook: Webhook,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let mut close = false;
    let h = match read_body(&state, &headers, body).await {
        Ok(bytes) => handle_review(&state, webhook, &bytes).await,
        Err(e) => {
            // An unread body leaves the connection unusable: say so.
            close = matches!(e, RequestError::TooLarge { .. });
            state.metrics.bad_request(e.reason());
            let h = bad_request(webhook, &e, Instant::now());
            record(&state, webhook, None, &h, None, Instant::now());
            h
        }
    };
    let status = StatusCode::from_u16(h.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = if h.json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut resp = (status, [(header::CONTENT_TYPE, ct)], h.body).into_response();
    if close {
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    resp
}

/// The routes, for the server and for tests.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/validate",
            post(
                |State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body| async move {
                    webhook_route(s, Webhook::Validate, headers, body).await
                },
            ),
        )
        .route(
            "/mutate",
            post(
                |State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body| async move {
                    webhook_route(s, Webhook::Mutate, headers, body).await
                },
            ),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(s): State<Arc<AppState>>| async move {
                if s.is_ready() {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(s): State<Arc<AppState>>| async move {
                (
                    [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
                    s.metrics.encode(),
                )
            }),
        )
        .with_state(state)
}

/// Builds a rustls server configuration from PEM files (ring provider, TLS 1.2 and 1.3,
/// h2 and http/1.1).
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (chain, private_key) = crate::certs::load_pem_files(cert, key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| anyhow::anyhow!("{} / {}: {e}", cert.display(), key.display()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    handle: Handle<SocketAddr>,
    grace: Duration,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting connections, lets in-flight requests finish (up to the grace
    /// period), and waits for the server to stop.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.state.set_ready(false);
        self.handle.graceful_shutdown(Some(self.grace));
        self.watcher.abort();
        let result = match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        // Every request has been answered: write what the decision log still holds.
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.log.close()).await;
        result
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.handle.connection_count()
    }
}

/// Starts the server (on `listener` when given, else on `opts.listen`) and its reload
/// watcher. Fails if the configuration, the policies or the certificate cannot be loaded.
pub async fn start(
    opts: ServeOptions,
    listener: Option<std::net::TcpListener>,
) -> anyhow::Result<Running> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let admission = load_admission(opts.config.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    for w in &admission.warnings {
        tracing::warn!("{w}");
    }
    let log = DecisionLog::open(&admission.config.decision_log)
        .map_err(|e| anyhow::anyhow!("decision log: {e}"))?;
    let namespaces = if admission.config.namespaces.api {
        let (client, context) = palisade_cluster::connect(&opts.cluster).await?;
        tracing::info!(context, "reading namespaces from the API server");
        NamespaceCache::with_client(client)
    } else {
        NamespaceCache::offline()
    };
    let tls = tls_config(&opts.tls_cert, &opts.tls_key)?;
    let rustls_config = RustlsConfig::from_config(tls);
    let state = Arc::new(
        AppState::new(admission, log, namespaces, opts.config.clone())
            .map_err(|e| anyhow::anyhow!("decision log: {e}"))?,
    );

    let handle: Handle<SocketAddr> = Handle::new();
    let app = router(state.clone());
    let server = match listener {
        Some(l) => {
            l.set_nonblocking(true)?;
            axum_server::from_tcp_rustls(l, rustls_config.clone())?
        }
        None => axum_server::bind_rustls(opts.listen, rustls_config.clone()),
    };
    let task = tokio::spawn(server.handle(handle.clone()).serve(app.into_make_service()));
    let addr = handle
        .listening()
        .await
        .ok_or_else(|| anyhow::anyhow!("the server did not start listening on {}", opts.listen))?;
    state.set_ready(true);
    let watcher = tokio::spawn(watch(state.clone(), opts.clone(), rustls_config));
    tracing::info!(%addr, policies = state.admission().policy_count(), "admission webhook listening");
    Ok(Running {
        addr,
        state,
        handle,
        grace: opts.shutdown_grace,
        task,
        watcher,
    })
}

/// `palisade admission serve`: runs until SIGTERM or SIGINT, reloads on SIGHUP.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let running = start(opts, None).await?;
    let state = running.state.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = hup.recv() => {
                    let s = state.clone();
                    let _ = tokio::task::spawn_blocking(move || s.reload()).await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await?;
    Ok(())
}

/// What the watcher compares between polls.
#[derive(PartialEq, Eq, Default)]
struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out, 0);
    }
    out.sort();
    Fingerprint(out)
}

fn walk(p: &Path, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>, depth: usize) {
    // Follows symlinks (ConfigMap volumes are symlinks to a timestamped directory).
    let Ok(meta) = std::fs::metadata(p) else {
        out.push((p.to_path_buf(), u64::MAX, None));
        return;
    };
    if meta.is_dir() {
        if depth > 16 {
            return;
        }
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                walk(&e.path(), out, depth + 1);
            }
        }
    } else {
        out.push((p.to_path_buf(), meta.len(), meta.modified().ok()));
    }
}

fn watched_paths(state: &AppState) -> Vec<PathBuf> {
    let a = state.admission();
    let mut paths: Vec<PathBuf> = state.config_path.iter().cloned().collect();
    paths.extend(a.config.policies.paths.iter().map(|p| a.config.resolve(p)));
    paths.extend(
        a.config
            .namespaces
            .files
            .iter()
            .map(|p| a.config.resolve(p)),
    );
    paths
}

async fn watch(state: Arc<AppState>, opts: ServeOptions, tls: RustlsConfig) {
    let read_pair = |opts: &ServeOptions| -> Option<(Vec<u8>, Vec<u8>)> {
        Some((
            std::fs::read(&opts.tls_cert).ok()?,
            std::fs::read(&opts.tls_key).ok()?,
        ))
    };
    let mut cert_bytes = read_pair(&opts);
    let mut files = {
        let s = state.clone();
        tokio::task::spawn_blocking(move || fingerprint(&watched_paths(&s)))
            .await
            .unwrap_or_default()
    };
    let mut ns_refreshed = Instant::now();
    if state.namespaces.has_api() {
        refresh_namespaces(&state).await;
        ns_refreshed = Instant::now();
    }
    let mut tick = tokio::time::interval(opts.reload_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // Certificates.
        let now = read_pair(&opts);
        if now.is_some() && now != cert_bytes {
            match tls_config(&opts.tls_cert, &opts.tls_key) {
                Ok(cfg) => {
                    tls.reload_from_config(cfg);
                    state.metrics.cert_reload(true);
                    tracing::info!("serving certificate reloaded");
                    cert_bytes = now;
                }
                Err(e) => {
                    // A half-written pair is retried at the next tick.
                    state.metrics.cert_reload(false);
                    tracing::error!("certificate reload failed, keeping the current one: {e:#}");
                    cert_bytes = now;
                }
            }
        }
        // Configuration and policies.
        let s = state.clone();
        let (changed, new_files) = tokio::task::spawn_blocking(move || {
            let f = fingerprint(&watched_paths(&s));
            (f != files, f)
        })
        .await
        .unwrap_or_else(|_| (false, Fingerprint::default()));
        files = new_files;
        if changed {
            let s = state.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
            // The reloaded config may watch other paths.
            let s = state.clone();
            files = tokio::task::spawn_blocking(move || fingerprint(&watched_paths(&s)))
                .await
                .unwrap_or_default();
        }
        // Namespaces.
        if state.namespaces.has_api()
            && ns_refreshed.elapsed() >= state.admission().config.namespaces.refresh
        {
            refresh_namespaces(&state).await;
            ns_refreshed = Instant::now();
        }
    }
}

async fn refresh_namespaces(state: &AppState) {
    match state.namespaces.refresh().await {
        Ok(n) => tracing::debug!(namespaces = n, "namespace cache refreshed"),
        Err(e) => tracing::warn!("namespace list failed, keeping the cache: {e}"),
    }
    state.metrics.set_ready(state.is_ready());
}
