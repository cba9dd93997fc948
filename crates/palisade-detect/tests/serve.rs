//! `detect serve` over real TLS on loopback: batches are queued whole or refused with 429,
//! a burst larger than the queue is counted as dropped (and reported in /metrics), accepted
//! events are evaluated by the workers and raise alerts.

use palisade_detect::server::{start, ServeOptions, Sink};
use palisade_detect::{Alert, Engine, RuleSet};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn event(i: usize) -> serde_json::Value {
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request", "auditID": format!("id-{i}"),
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/default/secrets", "verb": "create",
        "user": {"username": "mallory", "groups": ["system:authenticated"]},
        "objectRef": {"resource": "secrets", "namespace": "default", "name": format!("s{i}"), "apiVersion": "v1"},
        "responseStatus": {"code": 201}, "stageTimestamp": "2026-11-20T10:00:00.000001Z",
        "annotations": {"authorization.k8s.io/decision": "allow"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_larger_than_the_queue_is_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    std::fs::write(dir.path().join("tls.crt"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("tls.key"), &key_pem).unwrap();

    let mut set = RuleSet::new();
    set.load("r.yaml", "- rule: Secret created\n  desc: d\n  condition: ka.verb=create and ka.target.resource=secrets\n  output: secret %ka.target.name by %ka.user.name\n  priority: notice\n  source: k8s_audit\n");
    let engine = Arc::new(Engine::from_ruleset(&set));
    assert_eq!(engine.compiled.errors(), 0);
    let alerts: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let a2 = alerts.clone();
    let sink: Sink = Arc::new(move |a| a2.lock().unwrap().push(a));
    let opts = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: dir.path().join("tls.crt"),
        tls_key: dir.path().join("tls.key"),
        queue: 8,
        workers: 1,
        max_body: 1 << 20,
        hostname: "test".into(),
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = start(engine, opts, sink, Some(listener)).await.unwrap();
    let cfg = palisade_loadgen::client_config(cert_pem.as_bytes()).unwrap();
    let mut conn = palisade_loadgen::connect(running.addr, "localhost", cfg.clone())
        .await
        .unwrap();

    // A burst of 20 events for a queue of 8: refused whole, counted.
    let burst = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": (0..20).map(event).collect::<Vec<_>>()});
    let r = conn
        .post_json("/k8s-audit", burst.to_string())
        .await
        .unwrap();
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.json().unwrap()["dropped"], 20);
    // A batch that fits is acknowledged once queued.
    let ok = json!({"kind": "EventList", "items": (100..105).map(event).collect::<Vec<_>>()});
    let r = conn.post_json("/k8s-audit", ok.to_string()).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json().unwrap()["queued"], 5);
    // Bad bodies are 400, not events.
    let r = conn.post_json("/k8s-audit", "{not json").await.unwrap();
    assert_eq!(r.status, 400);

    for _ in 0..100 {
        if running.stats.processed.get() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running.stats.processed.get(), 5);
    let m = conn.get("/metrics").await.unwrap();
    assert_eq!(m.status, 200);
    let text = String::from_utf8_lossy(&m.body).into_owned();
    assert!(
        text.contains("palisade_detect_events_dropped_total{reason=\"queue_full\"} 20"),
        "{text}"
    );
    assert!(
        text.contains("palisade_detect_events_received_total 25"),
        "{text}"
    );
    assert!(
        text.contains("palisade_detect_events_processed_total 5"),
        "{text}"
    );
    assert!(
        text.contains(
            "palisade_detect_alerts_total{rule=\"Secret created\",priority=\"Notice\"} 5"
        ),
        "{text}"
    );
    assert!(
        text.contains("palisade_detect_evaluation_latency_seconds_count 5"),
        "{text}"
    );
    let got = alerts.lock().unwrap().clone();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0].message, "secret s100 by mallory");
    assert_eq!(got[0].to_json()["output_fields"]["ka.user.name"], "mallory");
    running.shutdown().await;
}
