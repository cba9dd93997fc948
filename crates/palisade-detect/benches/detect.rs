//! Detection throughput: `cargo bench -p palisade-detect --bench detect`.
//!
//! Builds a 1,000,000-event audit log from the Falco suite's events (users, namespaces and
//! object names varied), then measures on one core and on two: JSON parsing alone (the
//! floor) and parsing + the full upstream k8s_audit rule set (events/s, p50/p99 per event).
//! The `detect run` path (stream reader, rules, alerts written) on one core, and the cost of
//! formatting and writing one alert. Then `serve` over HTTPS on loopback: batches of 100
//! events from 4 connections offered at 50,000 and 100,000 events/s, events/s and drops.

use palisade_detect::k8saudit::AuditEvent;
use palisade_detect::server::{start, ServeOptions, Sink};
use palisade_detect::{Engine, RuleSet};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/falco-k8saudit"
);
const EVENTS: usize = 1_000_000;

fn base_events() -> Vec<Value> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(Path::new(SUITE).join("events"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths {
        for line in std::fs::read_to_string(&p).unwrap_or_default().lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if v.get("auditID").is_some() {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// Nine events in ten are the routine traffic of a cluster (reads and watches by the
/// control plane and service accounts, with the suite's objects); one in ten is one of the
/// suite's events as recorded, by one of several users.
fn generate(base: &[Value]) -> Vec<String> {
    let users = [
        "minikube-user",
        "alice",
        "bob",
        "system:serviceaccount:ci:deployer",
        "kubernetes-admin",
        "eve",
    ];
    let routine = [
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:serviceaccount:kube-system:coredns",
        "system:node:worker-1",
        "system:apiserver",
    ];
    let verbs = ["get", "list", "watch"];
    (0..EVENTS)
        .map(|i| {
            let mut v = base[i % base.len()].clone();
            v["auditID"] = Value::from(format!("bench-{i:08}"));
            if i % 10 != 0 {
                v["user"]["username"] = Value::from(routine[i % routine.len()]);
                v["verb"] = Value::from(verbs[i % verbs.len()]);
                if let Some(o) = v.as_object_mut() {
                    o.remove("requestObject");
                }
            } else {
                v["user"]["username"] = Value::from(users[(i / 10) % users.len()]);
            }
            if let Some(o) = v.get_mut("objectRef").and_then(Value::as_object_mut) {
                if o.contains_key("namespace") {
                    o.insert("namespace".into(), Value::from(format!("team-{}", i % 97)));
                }
                if let Some(n) = o.get("name").and_then(Value::as_str).map(str::to_string) {
                    o.insert("name".into(), Value::from(format!("{n}-{}", i % 1013)));
                }
            }
            v.to_string()
        })
        .collect()
}

fn engine() -> Engine {
    let mut set = RuleSet::new();
    let p = Path::new(SUITE).join("rules-latest/k8s_audit_rules.yaml");
    set.load("k8s_audit_rules.yaml", &std::fs::read_to_string(p).unwrap());
    let e = Engine::from_ruleset(&set);
    assert_eq!(e.compiled.errors(), 0);
    e
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn run(lines: &[String], threads: usize, engine: Option<&Engine>) -> (f64, u64, u64, u64) {
    let host: Arc<str> = Arc::from("bench");
    let alerts = AtomicU64::new(0);
    let chunk = lines.len().div_ceil(threads);
    let started = Instant::now();
    let lat: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                let host = host.clone();
                let alerts = &alerts;
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(part.len());
                    let mut n = 0u64;
                    for (i, l) in part.iter().enumerate() {
                        let t = Instant::now();
                        if let Some(e) = engine {
                            let ev = AuditEvent::parse(l, i as u64, host.clone())
                                .unwrap()
                                .unwrap();
                            if e.process(&ev, ev.time_ns, "bench").is_some() {
                                n += 1;
                            }
                        } else {
                            let v: Value = serde_json::from_str(l).unwrap();
                            std::hint::black_box(&v);
                        }
                        lat.push(t.elapsed().as_nanos() as u64);
                    }
                    alerts.fetch_add(n, Ordering::Relaxed);
                    lat
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut all: Vec<u64> = lat.into_iter().flatten().collect();
    let (p50, p99) = (pct(&mut all, 0.50), pct(&mut all, 0.99));
    (
        lines.len() as f64 / secs,
        p50,
        p99,
        alerts.load(Ordering::Relaxed),
    )
}

fn main() {
    let base = base_events();
    let t = Instant::now();
    let lines = generate(&base);
    let bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "generated {} events ({:.0} MiB) from {} suite events in {:.1?}",
        lines.len(),
        bytes as f64 / (1 << 20) as f64,
        base.len(),
        t.elapsed()
    );
    let e = engine();
    println!(
        "rules: {} enabled of {} (upstream k8s_audit_rules.yaml)",
        e.rules().len(),
        e.compiled.rules_total
    );
    {
        let host: Arc<str> = Arc::from("bench");
        let t = Instant::now();
        for (i, l) in lines.iter().enumerate() {
            std::hint::black_box(AuditEvent::parse(l, i as u64, host.clone()).unwrap());
        }
        println!(
            "1 core: locating the members of each event (no rules) {:.0} events/s",
            lines.len() as f64 / t.elapsed().as_secs_f64()
        );
    }
    stream_bench(&lines, &e);
    for threads in [1, 2] {
        let (parse_rate, pp50, pp99, _) = run(&lines, threads, None);
        let (rate, p50, p99, alerts) = run(&lines, threads, Some(&e));
        println!(
            "{threads} core(s): parse only {:.0} events/s (p50 {:.1} µs, p99 {:.1} µs); parse + rules {:.0} events/s (p50 {:.1} µs, p99 {:.1} µs), {:.2}x the parse-only time, {alerts} alerts",
            parse_rate, pp50 as f64 / 1e3, pp99 as f64 / 1e3, rate, p50 as f64 / 1e3, p99 as f64 / 1e3, parse_rate / rate
        );
    }
    drop(lines);
    let e = Arc::new(e);
    for rate in [50_000, 100_000] {
        serve_bench(&base, e.clone(), rate);
    }
}

/// The `detect run` path on one core: the log as one byte stream through `EventReader`,
/// every event matched, every alert written as a JSON line into a buffered writer. Then the
/// cost of an alert alone: rendering its output fields and writing its JSON line.
fn stream_bench(lines: &[String], e: &Engine) {
    use palisade_detect::input::{EventReader, Item};
    use palisade_detect::output::{write_alert, Format};
    use std::io::Write;
    let mut log = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        log.extend_from_slice(l.as_bytes());
        log.push(b'\n');
    }
    let host: Arc<str> = Arc::from("bench");
    let mut out = std::io::BufWriter::with_capacity(256 << 10, std::io::sink());
    let (mut events, mut alerts) = (0u64, 0u64);
    let t = Instant::now();
    for item in EventReader::with_capacity(256 << 10, log.as_slice(), host.clone()) {
        if let Item::Event(ev) = item {
            events += 1;
            if let Some(a) = e.process(ev.as_event(), ev.time_ns(), ev.hostname()) {
                alerts += 1;
                write_alert(&mut out, &a, Format::Json).unwrap();
            }
        }
    }
    out.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "1 core, the `detect run` path (stream reader, rules, alerts written as JSON): {:.0} events/s, {events} events, {alerts} alerts",
        events as f64 / secs
    );
    // Alerting events only: match alone, then match + render + write.
    let alerting: Vec<_> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| AuditEvent::parse(l, i as u64, host.clone()).ok().flatten())
        .filter(|ev| e.matching(ev).is_some())
        .take(100_000)
        .collect();
    let t = Instant::now();
    for ev in &alerting {
        std::hint::black_box(e.matching(ev));
    }
    let matched = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut buf = Vec::with_capacity(1 << 20);
    for ev in &alerting {
        let a = e.process(ev, ev.time_ns, "bench").unwrap();
        write_alert(&mut buf, &a, Format::Json).unwrap();
        if buf.len() > 1 << 20 {
            buf.clear();
        }
    }
    let full = t.elapsed().as_secs_f64();
    let n = alerting.len() as f64;
    println!(
        "1 core, {} alerting events: match {:.2} µs/event; match + format + write the alert {:.2} µs/event, so {:.2} µs per alert",
        alerting.len(),
        matched / n * 1e6,
        full / n * 1e6,
        (full - matched) / n * 1e6
    );
}

/// `serve` over HTTPS on loopback, offered `rate` events/s in EventLists of 100 from 4
/// connections, open loop, for 10 s.
fn serve_bench(base: &[Value], engine: Arc<Engine>, rate: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = std::env::temp_dir().join(format!("palisade-detect-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.join("tls.crt"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
        let alerts = Arc::new(AtomicU64::new(0));
        let a2 = alerts.clone();
        let sink: Sink = Arc::new(move |_| {
            a2.fetch_add(1, Ordering::Relaxed);
        });
        let opts = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), tls_cert: dir.join("tls.crt"), tls_key: dir.join("tls.key"), queue: 100_000, workers: 2, max_body: 64 << 20, hostname: "bench".into() };
        let running = start(engine, opts, sink, Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap())).await.unwrap();
        let cfg = palisade_loadgen::client_config(cert.cert.pem().as_bytes()).unwrap();
        let batch: String = serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": base.iter().cycle().take(100).cloned().collect::<Vec<_>>()}).to_string();
        let batch = Arc::new(batch);
        let duration = Duration::from_secs(10);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let cfg = cfg.clone();
            let batch = batch.clone();
            let addr = running.addr;
            tasks.push(tokio::spawn(async move {
                let mut conn = palisade_loadgen::connect(addr, "localhost", cfg).await.unwrap();
                let (mut ok, mut refused) = (0u64, 0u64);
                // Open loop: rate / 400 batches a second per connection, whatever the
                // answers take.
                let mut tick = tokio::time::interval(Duration::from_micros(400_000_000 / rate));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                while started.elapsed() < duration {
                    tick.tick().await;
                    let r = conn.post_json("/k8s-audit", batch.as_bytes().to_vec()).await.unwrap();
                    if r.status == 200 { ok += 1 } else { refused += 1 }
                }
                (ok, refused)
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            let (o, r) = t.await.unwrap();
            ok += o;
            refused += r;
        }
        let sent_secs = started.elapsed().as_secs_f64();
        while running.stats.processed.get() < ok * 100 && started.elapsed() < duration * 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let all_secs = started.elapsed().as_secs_f64();
        println!(
            "serve (HTTPS, 4 connections, EventList of 100, offered at {rate} events/s): {:.0} events/s accepted over {:.1} s, {} batches refused ({} events dropped), {} processed in {:.1} s ({:.0} events/s end to end), {} alerts",
            (ok * 100) as f64 / sent_secs, sent_secs, refused, running.stats.dropped("queue_full"), running.stats.processed.get(), all_secs, running.stats.processed.get() as f64 / all_secs, alerts.load(Ordering::Relaxed)
        );
        running.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
