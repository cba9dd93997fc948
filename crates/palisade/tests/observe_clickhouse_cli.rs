//! `--store clickhouse://…` through the CLI: the README's capture stored in SQLite and in a
//! real ClickHouse server (Debian's clickhouse-server, started on a loopback port by the
//! test) gives the same answer to every query and to `netpol recommend --from-store`.
#![cfg(feature = "clickhouse")]

use assert_cmd::Command as Bin;
use palisade_store::clickhouse_server::TestServer;
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

fn store_example(store: &str) {
    let (code, out, err) = run(&[
        "observe",
        "sensor",
        "-r",
        "examples/observe/example.pcap",
        "--snapshot",
        "examples/observe/snapshot.yaml",
        "--store",
        store,
    ]);
    assert_eq!(code, 0, "{store}: {err}");
    assert!(out.is_empty(), "records go to the store: {out}");
    assert!(err.contains("stored 28 records in 1 batches"), "{err}");
}

#[test]
fn sqlite_and_clickhouse_answer_the_same() {
    let Some(server) = TestServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flows.db").display().to_string();
    let ch = server.url("readme");
    store_example(&db);
    store_example(&ch);
    let since = "2026-11-30T00:00:00Z";
    let until = "2026-12-02T00:00:00Z";
    for what in [
        "flows", "top", "graph", "dns", "domains", "denied", "details",
    ] {
        let q = |store: &str| {
            let (code, out, err) = run(&[
                "observe", "query", what, "--store", store, "--since", since, "--until", until,
                "-o", "json",
            ]);
            assert_eq!(code, 0, "{what} on {store}: {err}");
            out
        };
        let (a, b) = (q(&db), q(&ch));
        assert!(a.len() > 10, "{what}: an answer with rows: {a}");
        assert_eq!(a, b, "{what}: SQLite and ClickHouse differ");
    }
    let rec = |store: &str| {
        let (code, out, err) = run(&[
            "netpol",
            "recommend",
            "examples/observe/snapshot.yaml",
            "--from-store",
            store,
            "--since",
            since,
            "--until",
            until,
        ]);
        assert_eq!(code, 0, "recommend from {store}: {err}");
        out
    };
    let (a, b) = (rec(&db), rec(&ch));
    assert!(a.contains("kind: NetworkPolicy"), "{a}");
    assert_eq!(a, b, "recommend --from-store differs between the backends");
}

#[test]
fn an_unreachable_clickhouse_is_a_clear_error() {
    let port = palisade_store::clickhouse_server::free_port();
    let url = format!("clickhouse://127.0.0.1:{port}/palisade");
    let (code, _, err) = run(&["observe", "query", "flows", "--store", &url]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&url), "{err}");
}
