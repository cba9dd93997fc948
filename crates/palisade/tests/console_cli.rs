//! `palisade observe serve`, as the README runs it: the example capture stored by the sensor,
//! then the console over it with the example snapshot and an alert file; the page, the graph,
//! the denied edge's explanation and recommended policy, and errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.current_dir(repo());
    c
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_string())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_the_example_capture() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flows.db");
    let out = bin()
        .args(["observe", "sensor", "-r", "examples/observe/example.pcap"])
        .args(["--snapshot", "examples/observe/snapshot.yaml", "--store"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = dir.path().join("alerts.jsonl");
    std::fs::write(
        &alerts,
        "{\"time\":\"2026-12-01T10:00:01Z\",\"rule\":\"Secret read\",\"priority\":\"Notice\",\"output\":\"report read a secret\",\"output_fields\":{\"ka.target.namespace\":\"batch\"}}\nnot an alert\n",
    )
    .unwrap();
    let mut child = bin()
        .args(["observe", "serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(&db)
        .args(["--snapshot", "examples/observe/snapshot.yaml", "--alerts"])
        .arg(&alerts)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let server = Server(child);
    let mut seen = String::new();
    let addr = loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("serve stopped:\n{seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("console at http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    assert!(
        seen.contains("alerts.jsonl:2: error: not JSON"),
        "the bad alert line is named: {seen}"
    );
    let (code, page) = get(&addr, "/");
    assert_eq!(code, 200);
    assert!(page.contains("<canvas id=\"graph\""));
    let (code, body) = get(&addr, "/api/v1/graph");
    assert_eq!(code, 200);
    let g: serde_json::Value = serde_json::from_str(&body).unwrap();
    let denied: Vec<_> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["class"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{body}");
    assert_eq!(denied[0]["src"], "batch/report");
    assert_eq!(denied[0]["dst"], "shop/db");
    let (code, body) = get(&addr, "/api/v1/edge?src=batch%2Freport&dst=shop%2Fdb");
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["explain"][0]["allowed"], false, "{body}");
    assert!(e["explain"][0]["text"]
        .as_str()
        .unwrap()
        .contains("db-ingress"));
    let (code, body) = get(
        &addr,
        "/api/v1/recommend?src=batch%2Freport&dst=shop%2Fdb&port=5432",
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("kind: NetworkPolicy"));
    let (code, body) = get(&addr, "/api/v1/alerts");
    assert_eq!(code, 200);
    assert!(body.contains("Secret read"));
    let (code, body) = get(&addr, "/api/v1/flows?port=99999");
    assert_eq!(code, 400);
    assert!(body.contains("port"), "{body}");
    let (code, body) = get(&addr, "/metrics");
    assert_eq!(code, 200);
    assert!(body.contains("palisade_store_records_total 28"), "{body}");
    drop(server);

    // A store that does not exist is an error, not an empty store.
    let out = bin()
        .args(["observe", "serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.path().join("missing.db"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such flow store"));
    assert!(!dir.path().join("missing.db").exists());
}
