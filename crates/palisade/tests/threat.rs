//! `palisade threat` end to end on the example data (examples/threat): feeds, live matching
//! with a feed hit, a DGA alert and a canary flow; canaries that pass Pod Security
//! `restricted` and whose rules fire exactly once on a replayed audit log; a retrospective
//! hunt over a real SQLite store; blocking policy whose impact `netpol impact` shows on the
//! stored flows.

use assert_cmd::Command;
use palisade_store::psl::SuffixList;
use palisade_store::{
    Aggregator, Endpoint, EndpointKind, FlowRecord, SqliteOptions, SqliteStore, Store as _,
};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade() -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.current_dir(root());
    c
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn feeds_are_listed_with_counts_and_skips() {
    let out = palisade()
        .args([
            "threat",
            "feeds",
            "--config",
            "examples/threat/threat.yaml",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<(String, u64)> = v["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["indicators"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("feodo".into(), 3),
            ("spamhaus-drop".into(), 2),
            ("urlhaus".into(), 2),
            ("intel-stix".into(), 1)
        ]
    );
    assert_eq!(v["feeds"][3]["skipped"][0][1], 1);
}

#[test]
fn a_malformed_feed_names_the_line_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.txt"),
        "1.2.3.4\nnot an entry\n5.6.7.0/24\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "feeds:\n  - name: bad\n    path: bad.txt\n    content: ip\n",
    )
    .unwrap();
    let out = palisade()
        .args(["threat", "feeds", "-o", "json", "--config"])
        .arg(dir.path().join("t.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt:2: error:"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["feeds"][0]["indicators"], 2);
}

#[test]
fn live_match_raises_feed_dga_and_canary_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary.yaml");
    palisade()
        .args(["threat", "canary", "-n", "default", "--output-file"])
        .arg(&canary)
        .assert()
        .success();
    let out = palisade()
        .args([
            "threat",
            "match",
            "examples/threat/records.jsonl",
            "--config",
            "examples/threat/threat.yaml",
            "--hostname",
            "node-1",
            "--canary",
        ])
        .arg(&canary)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = json_lines(&out.stdout);
    let rules: Vec<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        vec![
            "Threat feed match",
            "Threat feed match",
            "Threat feed match",
            "DGA domain resolved",
            "DGA domain resolved",
            "DGA domain resolved",
            "Canary Service Contacted"
        ]
    );
    let hit = &alerts[0];
    assert_eq!(hit["output_fields"]["threat.feed"], "feodo");
    assert_eq!(hit["output_fields"]["threat.indicator"], "203.0.113.7");
    assert_eq!(hit["output_fields"]["k8s.workload.name"], "cart");
    assert_eq!(hit["output_fields"]["k8s.pod.name"], "cart-7d9f-abcde");
    assert_eq!(hit["hostname"], "node-1");
    assert_eq!(hit["source"], "palisade_threat");
    assert_eq!(
        alerts[6]["output_fields"]["canary.target"],
        "default/vault-internal"
    );
    // The console's alert timeline (`observe serve --alerts FILE`) reads them as detect's.
    let (timeline, bad) = palisade_console::api::read_alerts(&String::from_utf8_lossy(&out.stdout));
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(timeline.len(), 7);
    // Standard input, as `observe sensor -o json | palisade threat match -` gives it.
    let records = std::fs::read(root().join("examples/threat/records.jsonl")).unwrap();
    let out = palisade()
        .args([
            "threat",
            "match",
            "-",
            "--config",
            "examples/threat/threat.yaml",
        ])
        .write_stdin(records)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out.stdout).len(), 6);
    // --fail-on-alert
    palisade()
        .args([
            "threat",
            "match",
            "examples/threat/records.jsonl",
            "--config",
            "examples/threat/threat.yaml",
            "--fail-on-alert",
        ])
        .assert()
        .code(1);
}

#[test]
fn canaries_pass_restricted_and_fire_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("canary.yaml");
    let rules = dir.path().join("canary-rules.yaml");
    palisade()
        .args(["threat", "canary", "-n", "payments", "--output-file"])
        .arg(&manifests)
        .assert()
        .success();
    assert!(
        rules.exists(),
        "the rule file is written next to the manifests"
    );
    let scan = palisade()
        .args([
            "scan",
            "--profile",
            "pss-restricted",
            "-o",
            "json",
            "--no-config",
        ])
        .arg(&manifests)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(
        scan.status.code(),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    let ev = |stage: &str, verb: &str, user: &str, ns: &str, name: Option<&str>| {
        let mut obj =
            serde_json::json!({"resource": "secrets", "namespace": ns, "apiVersion": "v1"});
        if let Some(n) = name {
            obj["name"] = n.into();
        }
        serde_json::json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("{stage}-{verb}-{user}-{ns}-{name:?}"), "stage": stage,
            "requestURI": format!("/api/v1/namespaces/{ns}/secrets/{}", name.unwrap_or("")),
            "verb": verb, "user": {"username": user, "groups": ["system:authenticated"]},
            "sourceIPs": ["10.0.3.7"], "userAgent": "curl/8.5.0", "objectRef": obj,
            "responseStatus": {"metadata": {}, "code": 200},
            "requestReceivedTimestamp": "2026-12-01T10:00:00.000000Z",
            "stageTimestamp": "2026-12-01T10:00:00.010000Z"
        })
        .to_string()
    };
    let sa = "system:serviceaccount:ci:runner";
    let log = [
        // Unrelated reads and a controller's list: no canary alert.
        ev("ResponseComplete", "get", sa, "payments", Some("app-tls")),
        ev(
            "ResponseComplete",
            "list",
            "system:serviceaccount:kube-system:generic-garbage-collector",
            "",
            None,
        ),
        // The decoy is read: logged at two stages, reported once.
        ev(
            "RequestReceived",
            "get",
            sa,
            "payments",
            Some("aws-prod-credentials"),
        ),
        ev(
            "ResponseComplete",
            "get",
            sa,
            "payments",
            Some("aws-prod-credentials"),
        ),
    ]
    .join("\n");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&audit, log + "\n").unwrap();
    let out = palisade()
        .args(["detect", "run", "-o", "json", "--rules"])
        .arg(&rules)
        .arg(&audit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = json_lines(&out.stdout);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["rule"], "Canary Secret Accessed");
    assert_eq!(alerts[0]["priority"], "Critical");
}

fn ext(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.into(),
        port,
        kind: EndpointKind::External,
        ..Endpoint::default()
    }
}

#[test]
fn hunt_over_the_store_and_the_impact_of_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flows.db");
    let now = palisade_detect::time::now_ns() / 1_000_000;
    {
        let mut store = SqliteStore::open(&db, &SqliteOptions::default()).unwrap();
        let mut agg = Aggregator::new(SuffixList::parse("com\n"));
        let cart = Endpoint {
            ip: "10.244.1.5".into(),
            port: 40000,
            kind: EndpointKind::Pod,
            namespace: Some("shop".into()),
            workload: Some("cart".into()),
            pod: Some("cart-1".into()),
            ..Endpoint::default()
        };
        for (i, (ip, port)) in [
            ("203.0.113.7", 4444),
            ("140.82.112.6", 443),
            ("203.0.113.7", 4444),
        ]
        .iter()
        .enumerate()
        {
            let t = now - 3 * 86_400_000 + i as i64 * 3_600_000;
            agg.add_flow(&FlowRecord {
                start: t,
                end: t + 500,
                src: cart.clone(),
                dst: ext(ip, *port),
                protocol: "tcp".into(),
                packets_out: 3,
                bytes_out: 300,
                reporter: "sensor".into(),
                ..FlowRecord::default()
            });
        }
        store.write(&agg.take()).unwrap();
    }
    let out = palisade()
        .args([
            "threat",
            "hunt",
            "--config",
            "examples/threat/threat.yaml",
            "--since",
            "7d",
            "--store",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = json_lines(&out.stdout);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["output_fields"]["threat.count"], 2);
    assert_eq!(alerts[0]["output_fields"]["k8s.workload.name"], "cart");

    // watch: the first look searches for every indicator, the next only for new ones.
    let feed_dir = dir.path().join("feeds");
    std::fs::create_dir_all(&feed_dir).unwrap();
    std::fs::write(feed_dir.join("c2.txt"), "198.51.100.1\n").unwrap();
    std::fs::write(
        feed_dir.join("t.yaml"),
        "feeds:\n  - name: c2\n    path: c2.txt\n",
    )
    .unwrap();
    let watch = || {
        let out = palisade()
            .args(["threat", "watch", "--once", "--config"])
            .arg(feed_dir.join("t.yaml"))
            .arg("--cache")
            .arg(dir.path().join("cache"))
            .arg("--store")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out.stdout)
    };
    assert!(watch().is_empty(), "198.51.100.1 was never contacted");
    std::fs::write(feed_dir.join("c2.txt"), "198.51.100.1\n203.0.113.7\n").unwrap();
    let alerts = watch();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["output_fields"]["threat.indicator"],
        "203.0.113.7"
    );
    assert!(watch().is_empty(), "already searched for");

    let block = dir.path().join("block.yaml");
    palisade()
        .args([
            "threat",
            "block",
            "--config",
            "examples/threat/threat.yaml",
            "--feed",
            "feodo",
            "--kind",
            "anp",
            "--output-file",
        ])
        .arg(&block)
        .assert()
        .success();
    let snap = dir.path().join("snapshot.yaml");
    std::fs::write(
        &snap,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: cart}\n  template:\n    metadata:\n      labels: {app: cart}\n    spec:\n      containers:\n        - name: c\n          image: registry.example/cart:1\n",
    )
    .unwrap();
    let out = palisade()
        .args(["netpol", "impact", "-o", "json"])
        .arg(&snap)
        .arg("--policies")
        .arg(&block)
        .arg("--from-store")
        .arg(&db)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let denied = v["newly_denied"].as_array().unwrap();
    assert_eq!(denied.len(), 1, "{v:#}");
    assert_eq!(denied[0]["port"], 4444);
    assert_eq!(denied[0]["flows"], 2);
    // The same, shown by `threat block --impact` before the policy is written.
    let out = palisade()
        .args([
            "threat",
            "block",
            "--config",
            "examples/threat/threat.yaml",
            "--feed",
            "feodo",
            "--impact",
        ])
        .arg(&snap)
        .arg("--store")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 flow(s) in 1 connection(s) newly denied"),
        "{err}"
    );
    assert!(err.contains(":4444") || err.contains("/4444"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: AdminNetworkPolicy"));
}

#[test]
fn a_global_threat_feed_in_the_manifests_is_fetched() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
        let body = "# feed\n203.0.113.7\n198.51.100.0/24\n";
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        req
    });
    let dir = tempfile::tempdir().unwrap();
    let gtf = dir.path().join("gtf.yaml");
    std::fs::write(
        &gtf,
        format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalThreatFeed\nmetadata:\n  name: sample-ips\nspec:\n  content: IPSet\n  pull:\n    period: 1h\n    http:\n      url: http://127.0.0.1:{port}/feed.txt\n      headers:\n        - name: X-Key\n          valueFrom:\n            configMapKeyRef: {{name: feed-keys, key: k}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feed-keys\ndata:\n  k: abc\n"
        ),
    )
    .unwrap();
    let out = palisade()
        .args(["threat", "feeds", "-o", "json", "--manifests"])
        .arg(&gtf)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["feeds"][0]["name"], "sample-ips");
    assert_eq!(v["feeds"][0]["outcome"], "fetched");
    assert_eq!(v["feeds"][0]["indicators"], 2);
    let req = server.join().unwrap();
    assert!(req.starts_with("GET /feed.txt HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("X-Key: abc\r\n"), "{req}");
    // Within the period the cached copy is used; no server is needed.
    let out = palisade()
        .args(["threat", "feeds", "-o", "json", "--manifests"])
        .arg(&gtf)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["feeds"][0]["outcome"], "too-soon");
    assert_eq!(v["feeds"][0]["indicators"], 2);
}
