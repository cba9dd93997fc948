//! The store suite on a real ClickHouse: Debian's `clickhouse-server` (18.16), started by each
//! test on a free loopback port with its own data directory and configuration. Without the
//! binary the tests are skipped locally; under CI (`CI=true`) they fail instead.

use palisade_store::clickhouse::{ClickhouseOptions, ClickhouseStore};
use palisade_store::testsuite;
use palisade_store::{Store, StoreError};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn url(&self, database: &str) -> String {
        format!("clickhouse://127.0.0.1:{}/{database}", self.port)
    }
    fn log(&self) -> String {
        ["stdout.log", "server.err.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /ping HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.ends_with("Ok.\n")
}

/// Runs a statement over plain HTTP (test set-up only).
fn post(port: u16, sql: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST / HTTP/1.0\r\nContent-Length: {}\r\n\r\n{sql}",
        sql.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"),
        "{sql}: {out}"
    );
}

fn write_config(dir: &Path, port: u16) {
    let d = dir.display();
    std::fs::write(
        dir.join("users.xml"),
        r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("config.xml"),
        format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{port}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
"#
        ),
    )
    .unwrap();
}

/// A running server, or `None` (test skipped) when the binary is missing outside CI.
fn server() -> Option<Server> {
    let Some(bin) = binary() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("clickhouse-server is missing: scripts/install-test-deps.sh installs it (Debian package clickhouse-server)");
        }
        eprintln!(
            "skipped: clickhouse-server is not installed (apt-get install clickhouse-server)"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    for sub in ["data", "tmp", "user_files"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let port = free_port();
    write_config(dir.path(), port);
    let out = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config-file={}",
            dir.path().join("config.xml").display()
        ))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("starting clickhouse-server");
    let mut s = Server { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ping(port) {
        if let Ok(Some(status)) = s.child.try_wait() {
            panic!("clickhouse-server exited ({status}):\n{}", s.log());
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server did not answer on port {port} within 60 s:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(s)
}

fn open(s: &Server, db: &str) -> ClickhouseStore {
    ClickhouseStore::open(&s.url(db), &ClickhouseOptions::default())
        .unwrap_or_else(|e| panic!("open {db}: {e}\n{}", s.log()))
}

#[test]
fn store_suite() {
    let Some(s) = server() else { return };
    testsuite::run(&mut open(&s, "suite"));
}

#[test]
fn size_retention() {
    let Some(s) = server() else { return };
    // Background merges shrink small parts on their own, which would meet the budget without
    // retention; the suite measures what dropping days does.
    post(s.port, "SYSTEM STOP MERGES");
    testsuite::run_size_retention(&mut open(&s, "size"));
}

#[test]
fn stores_are_databases_and_reopen_with_their_rows() {
    let Some(s) = server() else { return };
    testsuite::load(&mut open(&s, "one"));
    assert_eq!(open(&s, "one").stats().unwrap().records, 29);
    assert_eq!(
        open(&s, "two").stats().unwrap().records,
        0,
        "another database"
    );
    // Opening an existing store does not touch its tables.
    let st = open(&s, "one").stats().unwrap();
    assert_eq!((st.minute_rows, st.detail_rows), (5, 9));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = free_port(); // nothing listens there
    let url = format!("clickhouse://127.0.0.1:{port}/palisade");
    let e = ClickhouseStore::open(&url, &ClickhouseOptions::default())
        .err()
        .expect("no server");
    assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
}

#[test]
fn open_picks_the_backend_by_url() {
    let Some(s) = server() else { return };
    let mut st = palisade_store::open(s.url("byurl").as_ref(), Default::default(), true).unwrap();
    testsuite::load(st.as_mut());
    assert_eq!(st.stats().unwrap().batches, 2);
}
