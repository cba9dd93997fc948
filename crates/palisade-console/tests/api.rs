//! The API over palisade-store's synthetic test data (`testsuite::dataset`) in a real SQLite
//! store, with a snapshot of the same cluster: every handler's answer, filters, malformed
//! parameters (400 with a message), explain/recommend/impact, alerts, and `/metrics` through
//! a real HTTP server, linted by `promtool check metrics`.

use palisade_console::api::{read_alerts, Console, Snapshot};
use palisade_store::aggregate::HOUR_MS;
use palisade_store::testsuite::{self, T0};
use palisade_store::{SqliteOptions, SqliteStore};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;

const NOW: i64 = T0 + 3 * HOUR_MS;

fn snapshot() -> Snapshot {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshot.yaml");
    let loaded = palisade_model::load_file(&p, &palisade_model::LoadOptions::default());
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.level != palisade_model::Level::Error),
        "{:?}",
        loaded.diagnostics
    );
    Snapshot::new(loaded.objects)
}

const ALERTS: &str = r#"{"time":"2026-01-01T00:10:00.000000000Z","rule":"Shell in container","priority":"Warning","source":"syscall","output":"shell in shop/web pod web-7d4b9c-x1","output_fields":{"k8s.ns.name":"shop"}}
not json
{"time":"2026-01-01T02:00:00Z","rule":"Secret read","priority":"Notice","source":"k8s_audit","output":"job read a secret","output_fields":{"ka.target.namespace":"batch"}}
{"time":"2026-01-01T00:00:06Z","rule":"Threat feed match","priority":"Warning","source":"palisade_threat","output":"Threat feed match (feed=feodo indicator=203.0.113.5 flow.dst=203.0.113.5:443)","output_fields":{"threat.feed":"feodo","threat.indicator":"203.0.113.5","threat.field":"flow.dst","threat.observed":"203.0.113.5:443","k8s.ns.name":"shop","k8s.workload.name":"web"}}
"#;

fn console(dir: &Path, with_snapshot: bool) -> Console {
    let mut store = SqliteStore::open(&dir.join("flows.db"), &SqliteOptions::default()).unwrap();
    testsuite::load(&mut store);
    let (alerts, errors) = read_alerts(ALERTS);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 2, "the bad line is named");
    Console::new(Box::new(store), with_snapshot.then(snapshot), alerts).with_clock(|| NOW)
}

fn ok(c: &Console, ep: &str, q: &str) -> Value {
    c.handle(ep, q, None)
        .unwrap_or_else(|e| panic!("{ep}?{q}: {} {}", e.status, e.message))
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            if key == "edges" {
                format!(
                    "{}>{}:{}",
                    x["src"].as_str().unwrap(),
                    x["dst"].as_str().unwrap(),
                    x["class"].as_str().unwrap()
                )
            } else {
                x["id"].as_str().unwrap().to_string()
            }
        })
        .collect()
}

#[test]
fn graph_nodes_edges_and_classes() {
    let d = tempfile::tempdir().unwrap();
    let c = console(d.path(), false);
    let g = ok(&c, "graph", "");
    assert_eq!(
        ids(&g, "nodes"),
        [
            "203.0.113.0/24",
            "batch/job",
            "shop/cache",
            "shop/db",
            "shop/web"
        ]
    );
    let mut e = ids(&g, "edges");
    e.sort();
    assert_eq!(
        e,
        [
            "batch/job>shop/db:denied",
            "shop/web>203.0.113.0/24:threat",
            "shop/web>shop/cache:plaintext",
            "shop/web>shop/db:allowed",
        ]
    );
    let ns = ids(&g, "namespaces");
    assert_eq!(ns, ["(external)", "batch", "shop"]);
    let web_db = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["src"] == "shop/web" && x["dst"] == "shop/db")
        .unwrap();
    assert_eq!(web_db["flows"], 15);
    assert_eq!(web_db["bytes"], 15 * 300);
    assert_eq!(web_db["tls"], 15);
    assert_eq!(web_db["ports"][0], "tcp/5432");
    // The edge a threat feed matched keeps its verdict beside the class.
    let ext = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["dst"] == "203.0.113.0/24")
        .unwrap();
    assert_eq!(ext["threats"][0], "feodo");
    assert_eq!(ext["verdict"], "unknown");
}

#[test]
fn filters_change_the_graph() {
    let d = tempfile::tempdir().unwrap();
    let c = console(d.path(), false);
    let count = |q: &str| {
        let g = ok(&c, "graph", q);
        (
            g["nodes"].as_array().unwrap().len(),
            g["edges"].as_array().unwrap().len(),
        )
    };
    assert_eq!(count("namespace=batch"), (2, 1));
    assert_eq!(count(&format!("since={T0}&until={}", T0 + HOUR_MS)), (4, 3));
    assert_eq!(count(&format!("since={}", T0 + HOUR_MS)), (2, 1));
    assert_eq!(count("verdict=denied"), (2, 1));
    assert_eq!(count("port=6379"), (2, 1));
    assert_eq!(count("label=app%3Djob"), (2, 1));
    assert_eq!(count("scope=external"), (2, 1));
    assert_eq!(count("security=plaintext"), (2, 1));
    assert_eq!(count("workload=shop%2Fweb"), (4, 3));
}

#[test]
fn every_query_endpoint_answers() {
    let d = tempfile::tempdir().unwrap();
    let c = console(d.path(), false);
    assert_eq!(ok(&c, "flows", "").as_array().unwrap().len(), 4);
    let top = ok(&c, "top", "");
    assert_eq!(top[0]["end"]["name"], "web");
    let dns = ok(&c, "dns", "workload=shop%2Fweb");
    assert!(dns
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["qname"] == "api.example.com"));
    let dom = ok(&c, "domains", "");
    assert!(dom
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["domain"] == "example.com"));
    let new = ok(&c, "new-edges", &format!("new_since={}", T0 + HOUR_MS));
    assert_eq!(new.as_array().unwrap().len(), 1);
    assert_eq!(new[0]["src"]["name"], "job");
    let denied = ok(&c, "denied", "");
    assert_eq!(denied[0]["policy"], "shop/db-ingress");
    assert_eq!(denied[0]["flows"], 4);
    // Detail rows keep pod and IP per minute: the four denied attempts are one row of four
    // connections.
    let details = ok(&c, "details", "verdict=denied");
    let conns: u64 = details
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["connections"].as_u64().unwrap_or(1).max(1))
        .sum();
    assert_eq!(conns, 4, "{details}");
    let stats = ok(&c, "stats", "");
    assert_eq!(stats["store"]["records"], 29);
    let meta = ok(&c, "meta", "");
    assert_eq!(meta["history"]["first"], T0);
    assert_eq!(meta["snapshot"], false);
    let edge = ok(&c, "edge", "src=batch%2Fjob&dst=shop%2Fdb");
    assert_eq!(edge["summary"]["class"], "denied");
    assert!(!edge["details"].as_array().unwrap().is_empty(), "{edge}");
    let wl = ok(&c, "workload", "name=shop%2Fweb");
    assert_eq!(wl["peers"].as_array().unwrap().len(), 3);
    assert!(wl["dns"].as_array().unwrap().len() >= 2);
    assert_eq!(
        wl["alerts"].as_array().unwrap().len(),
        2,
        "the shell alert and the threat hit name web"
    );
    let alerts = ok(&c, "alerts", "namespace=batch");
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    assert_eq!(alerts[0]["rule"], "Secret read");
    assert_eq!(ok(&c, "alerts", "").as_array().unwrap().len(), 3);
}

#[test]
fn malformed_parameters_are_400_with_a_message() {
    let d = tempfile::tempdir().unwrap();
    let c = console(d.path(), true);
    for (ep, _) in palisade_console::api::ENDPOINTS {
        for q in [
            "port=abc",
            "since=tomorrow",
            "verdict=perhaps",
            "nonsense=1",
            "namespace=%G1",
        ] {
            let e = c.handle(ep, q, None).expect_err(&format!("{ep}?{q}"));
            assert_eq!(e.status, 400, "{ep}?{q}: {}", e.message);
            assert!(!e.message.is_empty());
        }
    }
    let e = c.handle("edge", "src=shop%2Fweb", None).unwrap_err();
    assert_eq!(
        (e.status, e.message.as_str()),
        (400, "missing parameter \"dst\"")
    );
    let e = c.handle("new-edges", "new_since=soon", None).unwrap_err();
    assert!(e.message.contains("new_since"), "{}", e.message);
    let e = c
        .handle("explain", "src=shop%2Fweb&dst=shop%2Fdb&port=99999", None)
        .unwrap_err();
    assert!(e.message.contains("port"), "{}", e.message);
    let e = c
        .handle("explain", "src=shop%2Fnope&dst=shop%2Fdb&port=5432", None)
        .unwrap_err();
    assert!(e.message.contains("no workload"), "{}", e.message);
    let e = c.handle("impact", "", Some("kind: [unclosed")).unwrap_err();
    assert_eq!(e.status, 400, "{}", e.message);
    let e = c.handle("nope", "", None).unwrap_err();
    assert_eq!(e.status, 404);
    let e = c
        .handle("edge", "src=shop%2Fdb&dst=shop%2Fweb", None)
        .unwrap_err();
    assert!(e.message.contains("no flows"), "{}", e.message);
    // Without a snapshot, the policy endpoints say what is missing.
    let c = console(d.path(), false);
    let e = c
        .handle("explain", "src=batch%2Fjob&dst=shop%2Fdb&port=5432", None)
        .unwrap_err();
    assert_eq!(e.status, 404);
    assert!(e.message.contains("--snapshot"), "{}", e.message);
}

#[test]
fn explain_recommend_and_impact_with_a_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let c = console(d.path(), true);
    let x = ok(
        &c,
        "explain",
        "src=batch%2Fjob&dst=shop%2Fdb&port=5432&protocol=tcp",
    );
    assert_eq!(x["allowed"], false);
    assert!(
        x["text"].as_str().unwrap().contains("db-ingress"),
        "{}",
        x["text"]
    );
    assert!(!x["nearest_miss"].as_array().unwrap().is_empty(), "{x}");
    let x = ok(&c, "explain", "src=shop%2Fweb&dst=shop%2Fdb&port=5432");
    assert_eq!(x["allowed"], true);
    // The edge drill-down carries the same explanation.
    let edge = ok(&c, "edge", "src=batch%2Fjob&dst=shop%2Fdb");
    assert_eq!(edge["explain"][0]["allowed"], false);
    let r = ok(&c, "recommend", "src=batch%2Fjob&dst=shop%2Fdb&port=5432");
    let yaml = r["yaml"].as_str().unwrap();
    assert!(yaml.contains("kind: NetworkPolicy"), "{yaml}");
    assert!(yaml.contains("\"app\": \"job\""), "{yaml}");
    assert!(yaml.contains("5432"), "{yaml}");
    // The staged policy locks cache down: web → cache is newly denied.
    let i = ok(&c, "impact", "");
    assert_eq!(i["mode"], "staged");
    let nd = i["newly_denied"].as_array().unwrap();
    assert_eq!(nd.len(), 1, "{i}");
    assert!(nd[0]["dst"].as_str().unwrap().contains("cache"), "{i}");
    assert_eq!(nd[0]["flows"], 3, "{i}");
    // A posted policy file: deny all ingress to db.
    let posted = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-ingress, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n";
    let i = c.handle("impact", "", Some(posted)).unwrap();
    assert_eq!(i["mode"], "posted");
    let nd = i["newly_denied"].as_array().unwrap();
    assert!(
        nd.iter()
            .any(|r| r["src"].as_str().unwrap().contains("web") && r["port"] == 5432),
        "{i}"
    );
    let wl = ok(&c, "workload", "name=shop%2Fdb");
    assert_eq!(wl["policies"][0]["name"], "db-ingress");
    // Scan findings of the workload's object and its service account's RBAC risks.
    let wl = ok(&c, "workload", "name=batch%2Fjob");
    let findings = wl["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{wl}");
    assert!(
        findings.iter().all(|f| f["object"]["name"] == "job"),
        "{wl}"
    );
    assert_eq!(wl["service_account"], "batch/job-runner");
    let risks = wl["rbac_risks"].as_array().unwrap();
    assert!(
        risks
            .iter()
            .any(|r| r["rule"].as_str().unwrap_or("").contains("secrets")),
        "{wl}"
    );
}

fn http(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    let code = head[9..12].parse().unwrap();
    (code, head.to_string(), body.to_string())
}

#[test]
fn http_server_assets_errors_and_metrics() {
    let d = tempfile::tempdir().unwrap();
    let console = std::sync::Arc::new(console(d.path(), true).with_clock(move || T0 + 90_000));
    // An ingest queue in this process: its counters reach /metrics.
    let other = SqliteStore::open(&d.path().join("ingest.db"), &SqliteOptions::default()).unwrap();
    let ingest = palisade_store::ingest::Ingest::start(
        Box::new(other),
        palisade_store::psl::SuffixList::parse("com\n"),
        Default::default(),
    );
    console.metrics.attach_ingest(ingest.stats.clone());
    for f in testsuite::dataset().0 {
        ingest.submit_flow(f);
    }
    ingest.flush();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(palisade_console::serve(
            console.clone(),
            palisade_console::ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls: None,
            },
        ))
        .unwrap();
    let addr = running.addr;
    let (code, head, body) = http(addr, "/");
    assert_eq!(code, 200);
    assert!(body.contains("<canvas id=\"graph\""));
    assert!(head
        .to_ascii_lowercase()
        .contains("content-security-policy: default-src 'self'"));
    let (code, _, body) = http(addr, "/app.js");
    assert_eq!(code, 200);
    assert!(body.contains("api/v1/"));
    assert_eq!(http(addr, "/NOTICES.txt").0, 200);
    assert_eq!(http(addr, "/nothing.js").0, 404);
    let (code, _, body) = http(addr, "/api/v1/graph?port=abc");
    assert_eq!(code, 400);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("port"), "{body}");
    let (code, _, body) = http(
        addr,
        &format!("/api/v1/graph?namespace=batch&until={}", T0 + 3 * HOUR_MS),
    );
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["edges"].as_array().unwrap().len(), 1);
    let (code, head, text) = http(addr, "/metrics");
    assert_eq!(code, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert_eq!(value("palisade_store_records_total "), 29.0);
    assert_eq!(value("palisade_observe_records_ingested_total "), 24.0);
    assert_eq!(
        value("palisade_observe_records_dropped_total{reason=\"queue_full\"}"),
        0.0
    );
    assert!(value("palisade_store_writes_total ") >= 1.0);
    assert_eq!(
        value("palisade_console_requests_total{endpoint=\"graph\",code=\"400\"}"),
        1.0
    );
    // The clock is 1.5 minutes after T0: the last five minutes hold web's edges of minute 0.
    assert_eq!(
        value("palisade_observe_edge_flows{src=\"shop/web\",dst=\"shop/db\",verdict=\"allowed\"}"),
        15.0
    );
    promtool(&text);
    rt.block_on(running.shutdown());
    drop(ingest);
}

#[test]
fn https_with_a_certificate() {
    let d = tempfile::tempdir().unwrap();
    let certs = palisade_admission::certs::generate(&palisade_admission::certs::CertOptions {
        service: "console".into(),
        namespace: "palisade".into(),
        days: 2,
        ca_days: 2,
        extra_dns: vec!["localhost".into()],
        ip_sans: vec![],
    })
    .unwrap();
    let (cert, key) = (d.path().join("tls.crt"), d.path().join("tls.key"));
    std::fs::write(&cert, &certs.cert_pem).unwrap();
    std::fs::write(&key, &certs.key_pem).unwrap();
    let console = std::sync::Arc::new(console(d.path(), false));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let running = palisade_console::serve(
            console,
            palisade_console::ServeOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls: Some((cert, key)),
            },
        )
        .await
        .unwrap();
        assert!(running.url().starts_with("https://127.0.0.1:"));
        let cfg = palisade_loadgen::client_config(certs.ca_cert_pem.as_bytes()).unwrap();
        let mut conn = palisade_loadgen::connect(running.addr, "localhost", cfg)
            .await
            .unwrap();
        let r = conn
            .get("/api/v1/graph?namespace=batch&until=1767236400000")
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json().unwrap()["edges"].as_array().unwrap().len(), 1);
        let r = conn.get("/api/v1/flows?verdict=maybe").await.unwrap();
        assert_eq!(r.status, 400);
        // Plain HTTP to the TLS port gets no API answer.
        let mut s = std::net::TcpStream::connect(running.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _ = write!(s, "GET /api/v1/graph HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        assert!(!String::from_utf8_lossy(&buf).contains("\"edges\""));
        running.shutdown().await;
    });
}

#[test]
fn per_edge_metrics_are_capped() {
    let d = tempfile::tempdir().unwrap();
    let mut store =
        SqliteStore::open(&d.path().join("flows.db"), &SqliteOptions::default()).unwrap();
    palisade_console::synth::load(&mut store, 40, 5, T0, 1);
    let c = Console::new(Box::new(store), None, Vec::new()).with_clock(|| T0 + 60_000);
    let text = c.metrics_text();
    let series = text
        .lines()
        .filter(|l| l.starts_with("palisade_observe_edge_bytes{"))
        .count();
    assert_eq!(
        series,
        palisade_console::metrics::MAX_EDGES + 1,
        "capped, plus other"
    );
    assert!(
        text.contains("palisade_observe_edge_bytes{src=\"other\",dst=\"other\",verdict=\"other\"}")
    );
    let folded: f64 = text
        .lines()
        .find(|l| l.starts_with("palisade_observe_edges_folded "))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(folded > 0.0);
    // Nothing ingests in this process: no ingest families.
    assert!(
        !text.contains("palisade_observe_records_ingested"),
        "{text}"
    );
    promtool(&text);
}

fn promtool(text: &str) {
    let mut child = match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("promtool is not on PATH ({e}): scripts/install-test-deps.sh installs it (Debian package prometheus)")
        }
        Err(_) => {
            eprintln!("skipped the promtool lint: promtool is not on PATH");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
