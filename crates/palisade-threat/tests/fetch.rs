//! Fetching against local servers (axum on loopback): a feed server that honours ETag and
//! can be told to fail or to serve garbage, and a server that answers like TAXII 2.1
//! (discovery, API root, collections, objects with added_after, paging with next/more,
//! X-TAXII-Date-Added-Last).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use palisade_threat::config::{FeedSpec, Header, HeaderValue, Source};
use palisade_threat::feeds::{self, Content, Format};
use palisade_threat::fetch::{fetch_feed, tls_config, Outcome};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Feed {
    body: Mutex<String>,
    status: Mutex<u16>,
    hits: AtomicUsize,
    not_modified: AtomicUsize,
    keys: Mutex<Vec<String>>,
}

async fn feed(State(s): State<Arc<Feed>>, h: HeaderMap) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    if let Some(k) = h.get("x-api-key") {
        s.keys
            .lock()
            .unwrap()
            .push(k.to_str().unwrap_or("").to_string());
    }
    let status = *s.status.lock().unwrap();
    if status != 200 {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    let body = s.body.lock().unwrap().clone();
    let etag = format!("\"{}\"", body.len());
    if h.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        s.not_modified.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([("etag", etag)], body).into_response()
}

fn serve(app: Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn spec(name: &str, url: String, format: Format, period_s: u64) -> FeedSpec {
    FeedSpec {
        name: name.into(),
        source: Source::Url(url),
        format,
        content: Content::Any,
        period_s,
        headers: vec![Header {
            name: "X-Api-Key".into(),
            value: HeaderValue::Env("PALISADE_TEST_FEED_KEY".into()),
        }],
        taxii: false,
        origin: "test".into(),
    }
}

#[test]
fn etag_period_and_last_good_copy() {
    std::env::set_var("PALISADE_TEST_FEED_KEY", "k-123");
    let state = Arc::new(Feed::default());
    *state.body.lock().unwrap() = "203.0.113.7\n198.51.100.0/24\n".into();
    *state.status.lock().unwrap() = 200;
    let base = serve(
        Router::new()
            .route("/feed.txt", get(feed))
            .with_state(state.clone()),
    );
    let cache = tempfile::tempdir().unwrap();
    let tls = tls_config(None).unwrap();
    let s = spec("ips", format!("{base}/feed.txt"), Format::Plain, 3600);
    let good = |t: &str| {
        let p = feeds::parse(t, &Format::Plain, Content::Any, "x");
        !p.iocs.is_empty() || p.errors() == 0
    };
    let t0 = 1_000_000_000;
    let f = fetch_feed(&s, cache.path(), &tls, t0, false, &good);
    assert_eq!(f.outcome, Outcome::Fetched);
    assert_eq!(f.text.as_deref(), Some("203.0.113.7\n198.51.100.0/24\n"));
    assert_eq!(state.keys.lock().unwrap().as_slice(), ["k-123"]);
    // Within the period: not fetched again.
    let f = fetch_feed(&s, cache.path(), &tls, t0 + 60_000, false, &good);
    assert_eq!(f.outcome, Outcome::TooSoon);
    assert_eq!(state.hits.load(Ordering::SeqCst), 1);
    // After it: a conditional request, answered 304.
    let f = fetch_feed(&s, cache.path(), &tls, t0 + 3_600_000, false, &good);
    assert_eq!(f.outcome, Outcome::NotModified);
    assert_eq!(state.not_modified.load(Ordering::SeqCst), 1);
    assert!(f.text.is_some());
    // The server fails: the last good copy is used and the failure counted.
    *state.status.lock().unwrap() = 503;
    let f = fetch_feed(&s, cache.path(), &tls, t0 + 7_200_000, false, &good);
    assert_eq!(f.outcome, Outcome::Failed);
    assert_eq!(f.meta.fetch_failures, 1);
    assert!(f.error.unwrap().contains("HTTP 503"));
    assert_eq!(f.text.as_deref(), Some("203.0.113.7\n198.51.100.0/24\n"));
    // The server sends garbage: the parse fails, the last good copy stays.
    *state.status.lock().unwrap() = 200;
    *state.body.lock().unwrap() = "<html>maintenance</html>\n".into();
    let f = fetch_feed(&s, cache.path(), &tls, t0 + 10_800_000, false, &good);
    assert_eq!(f.outcome, Outcome::Failed);
    assert_eq!(f.meta.parse_failures, 1);
    assert_eq!(f.meta.fetch_failures, 1);
    assert_eq!(f.text.as_deref(), Some("203.0.113.7\n198.51.100.0/24\n"));
    // Nothing listens: still the last good copy.
    let dead = spec(
        "ips",
        "http://127.0.0.1:9/feed.txt".into(),
        Format::Plain,
        3600,
    );
    let f = fetch_feed(&dead, cache.path(), &tls, t0 + 20_000_000, false, &good);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(f.text.is_none(), "another URL has its own cache entry");
}

struct Taxii {
    /// (date_added, object)
    objects: Vec<(String, serde_json::Value)>,
    requests: Mutex<Vec<String>>,
}

const TAXII: &str = "application/taxii+json;version=2.1";

fn taxii_json(v: serde_json::Value, extra: Vec<(&'static str, String)>) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", TAXII.parse().unwrap());
    for (k, val) in extra {
        r.headers_mut().insert(k, val.parse().unwrap());
    }
    r
}

fn accepts(h: &HeaderMap) -> bool {
    h.get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/taxii+json"))
}

async fn discovery(h: HeaderMap) -> Response {
    if !accepts(&h) {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    taxii_json(
        serde_json::json!({"title": "test", "default": "/api1/", "api_roots": ["/api1/"]}),
        vec![],
    )
}

async fn collections(h: HeaderMap) -> Response {
    if !accepts(&h) {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    taxii_json(
        serde_json::json!({"collections": [
            {"id": "91a7b528-80eb-42ed-a74d-c6fbd5a26116", "title": "Indicators", "can_read": true, "can_write": false},
            {"id": "52892447-4d7e-4f70-b94d-d7f22742ff63", "title": "Write only", "can_read": false, "can_write": true}
        ]}),
        vec![],
    )
}

async fn objects(
    State(s): State<Arc<Taxii>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if !accepts(&h) {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    s.requests.lock().unwrap().push(format!(
        "{id} added_after={} next={}",
        q.get("added_after").cloned().unwrap_or_default(),
        q.get("next").cloned().unwrap_or_default()
    ));
    if id != "91a7b528-80eb-42ed-a74d-c6fbd5a26116" {
        return StatusCode::FORBIDDEN.into_response();
    }
    let after = q.get("added_after").cloned().unwrap_or_default();
    let sel: Vec<&(String, serde_json::Value)> =
        s.objects.iter().filter(|(d, _)| *d > after).collect();
    let start: usize = q.get("next").and_then(|n| n.parse().ok()).unwrap_or(0);
    let page: Vec<_> = sel.iter().skip(start).take(2).collect();
    let more = start + page.len() < sel.len();
    let mut body = serde_json::json!({
        "more": more,
        "objects": page.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>()
    });
    if more {
        body["next"] = (start + 2).to_string().into();
    }
    let mut extra = vec![];
    if let Some((d, _)) = page.first() {
        extra.push(("x-taxii-date-added-first", d.clone()));
    }
    if let Some((d, _)) = page.last() {
        extra.push(("x-taxii-date-added-last", d.clone()));
    }
    taxii_json(body, extra)
}

fn ind(id: &str, pattern: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            m.insert(k.clone(), x.clone());
        }
    }
    v
}

#[test]
fn taxii_discovery_collections_paging_and_added_after() {
    let mut objs = vec![
        (
            "2026-11-01T00:00:01.000Z".to_string(),
            ind(
                "indicator--1",
                "[ipv4-addr:value = '203.0.113.7']",
                serde_json::json!({}),
            ),
        ),
        (
            "2026-11-01T00:00:02.000Z".to_string(),
            ind(
                "indicator--2",
                "[domain-name:value = 'c2.evil.example']",
                serde_json::json!({}),
            ),
        ),
        (
            "2026-11-01T00:00:03.000Z".to_string(),
            ind(
                "indicator--3",
                "[ipv6-addr:value = '2001:db8::/32']",
                serde_json::json!({}),
            ),
        ),
        (
            "2026-11-01T00:00:04.000Z".to_string(),
            ind(
                "indicator--4",
                "[url:value = 'http://dl.bad.example/x.exe']",
                serde_json::json!({}),
            ),
        ),
        (
            "2026-11-01T00:00:05.000Z".to_string(),
            ind(
                "indicator--5",
                "[ipv4-addr:value = '198.51.100.9']",
                serde_json::json!({"revoked": true}),
            ),
        ),
    ];
    objs.sort_by(|a, b| a.0.cmp(&b.0));
    let state = Arc::new(Taxii {
        objects: objs,
        requests: Mutex::new(Vec::new()),
    });
    let base = serve(
        Router::new()
            .route("/taxii2/", get(discovery))
            .route("/api1/collections/", get(collections))
            .route("/api1/collections/{id}/objects/", get(objects))
            .with_state(state.clone()),
    );
    let cache = tempfile::tempdir().unwrap();
    let tls = tls_config(None).unwrap();
    let mut s = spec("taxii", format!("{base}/taxii2/"), Format::Stix, 3600);
    s.taxii = true;
    s.headers.clear();
    let good = |_: &str| true;
    let f = fetch_feed(&s, cache.path(), &tls, 1_000_000, false, &good);
    assert_eq!(f.outcome, Outcome::Fetched, "{:?}", f.error);
    let p = feeds::parse(
        f.text.as_deref().unwrap(),
        &Format::Stix,
        Content::Any,
        "taxii",
    );
    let mut got: Vec<String> = p.iocs.iter().map(|i| i.to_string()).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "2001:db8::/32",
            "203.0.113.7",
            "c2.evil.example",
            "dl.bad.example"
        ]
    );
    assert_eq!(p.skipped, vec![("revoked".to_string(), 1)]);
    {
        let r = state.requests.lock().unwrap();
        assert_eq!(
            r.as_slice(),
            [
                "91a7b528-80eb-42ed-a74d-c6fbd5a26116 added_after= next=",
                "91a7b528-80eb-42ed-a74d-c6fbd5a26116 added_after= next=2",
                "91a7b528-80eb-42ed-a74d-c6fbd5a26116 added_after= next=4"
            ],
            "three pages of two; the write-only collection is not read"
        );
    }
    // The next poll asks only for what was added after the last object seen, and keeps the
    // indicators it already has.
    let f = fetch_feed(&s, cache.path(), &tls, 1_000_000 + 3_600_000, false, &good);
    assert_eq!(f.outcome, Outcome::Fetched);
    assert_eq!(
        state.requests.lock().unwrap().last().unwrap(),
        "91a7b528-80eb-42ed-a74d-c6fbd5a26116 added_after=2026-11-01T00:00:05.000Z next="
    );
    let p = feeds::parse(
        f.text.as_deref().unwrap(),
        &Format::Stix,
        Content::Any,
        "taxii",
    );
    assert_eq!(p.iocs.len(), 4);
}

/// HTTPS: rustls (ring) on both sides, a certificate for `localhost` trusted through
/// `--ca-file`; an untrusted certificate is a failed fetch, not a silent downgrade.
#[test]
fn https_with_a_ca_file() {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    use std::io::{Read, Write};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_cfg = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(sock) = s else { continue };
            let conn = rustls::ServerConnection::new(server_cfg.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = [0u8; 2048];
            if tls.read(&mut buf).is_err() {
                continue; // the untrusting client hangs up during the handshake
            }
            let body = "203.0.113.7\n";
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    let url = format!("https://localhost:{port}/feed.txt");
    let good = |_: &str| true;
    let cache = tempfile::tempdir().unwrap();
    let trusted = tls_config(Some(&ca)).unwrap();
    let mut s = spec("tls", url.clone(), Format::Plain, 3600);
    s.headers.clear();
    let f = fetch_feed(&s, cache.path(), &trusted, 1, true, &good);
    assert_eq!(f.outcome, Outcome::Fetched, "{:?}", f.error);
    assert_eq!(f.text.as_deref(), Some("203.0.113.7\n"));
    let untrusted = tls_config(None).unwrap();
    let f = fetch_feed(&s, cache.path(), &untrusted, 2, true, &good);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(f.error.unwrap().to_lowercase().contains("certificate"));
    assert_eq!(
        f.text.as_deref(),
        Some("203.0.113.7\n"),
        "the last good copy"
    );
}
