//! A throw-away ClickHouse server for tests: Debian's `clickhouse-server` started on a free
//! loopback port with its own data directory and configuration, killed and removed on drop.
//! The store's tests and the binary's CLI tests share it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|p| p.is_file())
}

/// A port nothing listens on (at the time of the call).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn write_config(dir: &Path, port: u16) -> std::io::Result<()> {
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
    )?;
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
}

impl TestServer {
    /// Starts a server and waits until it answers `/ping`. `None` (the caller skips its
    /// test) when `clickhouse-server` is not installed, unless `CI=true`: then it panics, as
    /// it does when the server will not start.
    pub fn start() -> Option<TestServer> {
        let Some(bin) = binary() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("clickhouse-server is missing: scripts/install-test-deps.sh installs it (Debian package clickhouse-server)");
            }
            eprintln!(
                "skipped: clickhouse-server is not installed (apt-get install clickhouse-server)"
            );
            return None;
        };
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("palisade-clickhouse-{}-{port}", std::process::id()));
        for sub in ["data", "tmp", "user_files"] {
            std::fs::create_dir_all(dir.join(sub)).expect("creating the server's directory");
        }
        write_config(&dir, port).expect("writing the server's configuration");
        let out = std::fs::File::create(dir.join("stdout.log")).expect("creating its log");
        let child = Command::new(bin)
            .arg(format!(
                "--config-file={}",
                dir.join("config.xml").display()
            ))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .expect("starting clickhouse-server");
        let mut s = TestServer { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http(port, "GET /ping HTTP/1.0\r\n\r\n").is_some_and(|r| r.ends_with("Ok.\n")) {
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

    /// The store URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("clickhouse://127.0.0.1:{}/{database}", self.port)
    }

    /// The server's output and error log.
    pub fn log(&self) -> String {
        ["stdout.log", "server.err.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs a query over plain HTTP and returns its TabSeparated answer.
    pub fn query(&self, sql: &str) -> String {
        let req = format!(
            "POST / HTTP/1.0\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        let out = http(self.port, &req).unwrap_or_default();
        out.split_once("\r\n\r\n")
            .map_or(out.clone(), |(_, b)| b.to_string())
    }

    /// Runs a statement over plain HTTP (set-up only); panics unless it succeeds.
    pub fn execute(&self, sql: &str) {
        let req = format!(
            "POST / HTTP/1.0\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        );
        let out = http(self.port, &req).unwrap_or_default();
        assert!(
            out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"),
            "{sql}: {out}"
        );
    }
}
