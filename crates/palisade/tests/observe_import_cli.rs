//! `palisade observe import`: sample logs of every format into a store, then queries and
//! `netpol recommend --from-store` over the imported history; bad lines and exit codes.

use assert_cmd::Command as Bin;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Bin::cargo_bin("palisade")
        .unwrap()
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const DIR: &str = "examples/observe/import";

fn import(db: &str, format: &str, file: &str) -> String {
    let (code, out, err) = run(&[
        "observe",
        "import",
        "--input-format",
        format,
        &format!("{DIR}/{file}"),
        "--snapshot",
        "examples/observe/snapshot.yaml",
        "--store",
        db,
        "--default-time",
        "2026-12-01T10:00:00Z",
    ]);
    // Every sample has deliberately broken lines: reported, counted, exit 2, the rest kept.
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(&format!("{DIR}/{file}:")), "{err}");
    assert!(err.contains("palisade: stored "), "{err}");
    err
}

fn query(db: &str, what: &str) -> Value {
    let (code, out, err) = run(&[
        "observe",
        "query",
        what,
        "--store",
        db,
        "--since",
        "2026-12-01T00:00:00Z",
        "--until",
        "2026-12-02T00:00:00Z",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn every_format_into_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flows.db").display().to_string();
    let err = import(&db, "hubble", "hubble.jsonl");
    assert!(
        err.contains("10 lines: 4 flow records, 1 DNS records, 2 lines not readable"),
        "{err}"
    );
    import(&db, "calico-flows", "calico-flows.jsonl");
    import(&db, "calico-dns", "calico-dns.jsonl");
    import(&db, "ig-dns", "ig-dns.jsonl");
    import(&db, "coredns", "coredns.log");

    // Denied flows grouped by the policy the CNIs named.
    let denied = query(&db, "denied");
    let policies: Vec<&str> = denied
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert!(policies.contains(&"shop/db-ingress"), "{denied}");
    assert!(policies.contains(&"shop/default.db-ingress"), "{denied}");

    // The service graph has web → db from Hubble and Calico, and report → db denied.
    let graph = query(&db, "graph");
    let edge = |s: &str, d: &str| {
        graph
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["src"]["name"] == s && e["dst"]["name"] == d)
            .cloned()
    };
    let web_db = edge("web", "db").expect("web → db");
    assert!(web_db["flows"].as_u64().unwrap() >= 3, "{web_db}");
    let report_db = edge("report", "db").expect("report → db");
    assert!(report_db["denied"].as_u64().unwrap() >= 2, "{report_db}");

    // DNS from four sources.
    let dns = query(&db, "domains");
    let example = dns
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == "example.com")
        .expect("example.com");
    assert!(example["queries"].as_u64().unwrap() >= 4, "{example}");

    // Imported history feeds netpol recommend.
    let (code, out, err) = run(&[
        "netpol",
        "recommend",
        "examples/observe/snapshot.yaml",
        "--from-store",
        &db,
        "--since",
        "2026-12-01T00:00:00Z",
        "--until",
        "2026-12-02T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kind: NetworkPolicy"), "{out}");
}

#[test]
fn json_output_keeps_verdict_drop_reason_and_policies() {
    let (code, out, err) = run(&[
        "observe",
        "import",
        "--input-format",
        "hubble",
        &format!("{DIR}/hubble.jsonl"),
        "--snapshot",
        "examples/observe/snapshot.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    let recs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let drop = recs
        .iter()
        .find(|r| r["drop_reason"] == "POLICY_DENIED")
        .expect("the drop");
    assert_eq!(drop["verdict"], "denied");
    assert_eq!(drop["computed_verdict"], "denied");
    assert_eq!(drop["policies"][0], "shop/db-ingress");
    assert_eq!(drop["drift"], false);
    assert!(recs
        .iter()
        .any(|r| r["type"] == "dns" && r["qname"] == "api.example.com"));
}

#[test]
fn usage_and_unreadable_input() {
    let (code, _, err) = run(&["observe", "import", "x.log"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--input-format"), "{err}");
    let (code, _, err) = run(&[
        "observe",
        "import",
        "--input-format",
        "coredns",
        "no/such.log",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such.log"), "{err}");
    let (code, _, err) = run(&["observe", "import", "--hubble-server", "127.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Hubble server 127.0.0.1:1: cannot connect"),
        "{err}"
    );
    // Live attribution: a kubeconfig that cannot be read stops the run before any record.
    let (code, _, err) = run(&[
        "observe",
        "import",
        "--input-format",
        "coredns",
        "examples/observe/import/coredns.log",
        "--cluster",
        "--kubeconfig",
        "no/such/kubeconfig",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read kubeconfig no/such/kubeconfig"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "observe",
        "import",
        "--input-format",
        "coredns",
        "x.log",
        "--cluster",
        "--snapshot",
        "y.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn standard_input() {
    let o = Bin::cargo_bin("palisade")
        .unwrap()
        .current_dir(repo())
        .args(["observe", "import", "--input-format", "coredns", "-", "-o", "json"])
        .write_stdin("[INFO] 10.0.0.1:5353 - 7 \"A IN a.example. udp 29 false 512\" NOERROR qr,rd 45 0.001s\n")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["qname"], "a.example");
    assert_eq!(v["client"]["ip"], "10.0.0.1");
}
