//! The HTTP(S) server: the API under `/api/v1/`, `/metrics`, `/healthz` and the embedded
//! front-end. Plain HTTP unless a certificate and key are given (then rustls, ring only, the
//! same configuration as the webhook's). Every page is served with a content security policy
//! that allows only the server's own origin, so the console cannot make a request elsewhere.

use crate::api::Console;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Allows the page's own origin only: no CDN, no beacon, no external font.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Largest request body (a posted policy file).
pub const MAX_BODY: usize = 4 << 20;

#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Default 127.0.0.1:7480.
    pub listen: SocketAddr,
    /// PEM certificate chain and key: HTTPS. None: plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 7480)),
            tls: None,
        }
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub https: bool,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The base URL (`http://127.0.0.1:7480`).
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.addr
        )
    }
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = self.task.await;
    }
    /// Waits until the server stops.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// The routes over a console.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/api/v1/{endpoint}", get(api_get).post(api_post))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(|| async { asset("index.html") }))
        .route(
            "/{file}",
            get(|Path(f): Path<String>| async move { asset(&f) }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(console)
}

/// Starts serving; returns once the socket listens.
pub async fn serve(console: Arc<Console>, opts: ServeOptions) -> anyhow::Result<Running> {
    let app = router(console);
    let handle: Handle<SocketAddr> = Handle::new();
    let https = opts.tls.is_some();
    let task = match &opts.tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let cfg = palisade_admission::server::tls_config(cert, key)?;
            let tls = RustlsConfig::from_config(cfg);
            tokio::spawn(
                axum_server::bind_rustls(opts.listen, tls)
                    .handle(handle.clone())
                    .serve(app.into_make_service()),
            )
        }
        None => tokio::spawn(
            axum_server::bind(opts.listen)
                .handle(handle.clone())
                .serve(app.into_make_service()),
        ),
    };
    let Some(addr) = handle.listening().await else {
        let err = match task.await {
            Ok(Err(e)) => e.to_string(),
            _ => "the server stopped".into(),
        };
        anyhow::bail!("cannot listen on {}: {err}", opts.listen);
    };
    Ok(Running {
        addr,
        https,
        handle,
        task,
    })
}

fn with_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn asset(name: &str) -> Response {
    match crate::assets::get(name) {
        Some((body, ty)) => with_headers(
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, ty),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
                .into_response(),
        ),
        None => with_headers((StatusCode::NOT_FOUND, "not found\n").into_response()),
    }
}

async fn answer(
    console: Arc<Console>,
    endpoint: String,
    query: String,
    body: Option<String>,
) -> Response {
    let t = Instant::now();
    let c = console.clone();
    let ep = endpoint.clone();
    let res = tokio::task::spawn_blocking(move || c.handle(&ep, &query, body.as_deref())).await;
    let (code, text) = match res {
        Ok(Ok(v)) => (200u16, v.to_string()),
        Ok(Err(e)) => (
            e.status,
            serde_json::json!({"error": e.message}).to_string(),
        ),
        Err(e) => (
            500,
            serde_json::json!({"error": format!("the handler failed: {e}")}).to_string(),
        ),
    };
    // Endpoint names in metrics come from the fixed list only.
    let known = crate::api::ENDPOINTS
        .iter()
        .find(|(n, _)| *n == endpoint)
        .map_or("unknown", |(n, _)| n);
    console
        .metrics
        .request(known, code, t.elapsed().as_secs_f64());
    with_headers(
        (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
    )
}

async fn api_get(
    State(c): State<Arc<Console>>,
    Path(endpoint): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    answer(c, endpoint, q.unwrap_or_default(), None).await
}

async fn api_post(
    State(c): State<Arc<Console>>,
    Path(endpoint): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if endpoint != "impact" {
        return answer(c, "unknown".into(), String::new(), None).await;
    }
    match String::from_utf8(body.to_vec()) {
        Ok(b) => answer(c, endpoint, q.unwrap_or_default(), Some(b)).await,
        Err(_) => with_headers(
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"the body is not UTF-8"}"#,
            )
                .into_response(),
        ),
    }
}

async fn metrics(State(c): State<Arc<Console>>) -> Response {
    let text = tokio::task::spawn_blocking(move || c.metrics_text())
        .await
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            palisade_admission::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}
