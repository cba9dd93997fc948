//! `palisade observe`: the README's path (sensor on the example capture into a store, then
//! queries), `netpol recommend --from-store`, bad input, and live capture on a veth pair
//! between two network namespaces the test creates (root only; CI runs as root).

use assert_cmd::Command as Bin;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade() -> Bin {
    let mut c = Bin::cargo_bin("palisade").unwrap();
    c.current_dir(repo());
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = palisade().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn stored_example(dir: &Path) -> String {
    let db = dir.join("flows.db").display().to_string();
    let (code, out, err) = run(&[
        "observe",
        "sensor",
        "-r",
        "examples/observe/example.pcap",
        "--snapshot",
        "examples/observe/snapshot.yaml",
        "--store",
        &db,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "records go to the store: {out}");
    assert!(err.contains("194 packets"), "{err}");
    assert!(err.contains("stored 28 records"), "{err}");
    db
}

fn query_json(db: &str, args: &[&str]) -> Value {
    let mut a = vec!["observe", "query"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--store", db, "-o", "json"]);
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn sensor_then_queries() {
    let dir = tempfile::tempdir().unwrap();
    let db = stored_example(dir.path());
    let flows = query_json(&db, &["flows"]);
    let rows = flows.as_array().unwrap();
    assert_eq!(rows.len(), 7, "{flows:#}");
    let web_db = rows
        .iter()
        .find(|r| r["src"]["name"] == "web" && r["dst"]["name"] == "db")
        .unwrap();
    assert_eq!(web_db["flows"], 20);
    assert_eq!(web_db["verdict"], "allowed");
    let denied = query_json(&db, &["flows", "--verdict", "denied"]);
    assert_eq!(denied.as_array().unwrap().len(), 1);
    assert_eq!(denied[0]["src"]["name"], "report");
    let ext = query_json(&db, &["flows", "--external", "--tls"]);
    assert_eq!(ext.as_array().unwrap().len(), 1);
    assert_eq!(ext[0]["dst_name"], "api.example.com");
    let plain = query_json(
        &db,
        &["flows", "--plaintext", "-n", "shop", "--port", "6379"],
    );
    assert_eq!(plain.as_array().unwrap().len(), 1);
    let lab = query_json(&db, &["flows", "-l", "app=report"]);
    assert_eq!(lab.as_array().unwrap().len(), 2, "{lab:#}");
    let top = query_json(&db, &["top", "--limit", "1"]);
    assert_eq!(top[0]["end"]["name"], "web");
    let graph = query_json(&db, &["graph"]);
    let g = graph.as_array().unwrap();
    assert_eq!(g.len(), 7);
    assert!(g
        .iter()
        .any(|e| e["src"]["name"] == "report" && e["denied"] == 1));
    let dns = query_json(&db, &["dns", "--workload", "shop/web"]);
    assert_eq!(dns[0]["qname"], "api.example.com");
    assert_eq!(dns[0]["answers"], "api.edge.example.net,203.0.113.10");
    let domains = query_json(&db, &["domains"]);
    assert_eq!(domains.as_array().unwrap().len(), 2);
    let pol = query_json(&db, &["denied"]);
    assert!(pol[0]["policy"]
        .as_str()
        .unwrap()
        .contains("shop/db-ingress"));
    let new = query_json(
        &db,
        &["new-edges", "--new-since", "2026-12-01T10:00:00.450Z"],
    );
    assert_eq!(new.as_array().unwrap().len(), 2, "{new:#}");
    let det = query_json(&db, &["details", "--verdict", "denied"]);
    assert!(det[0]["nearest_miss"]
        .as_str()
        .unwrap()
        .contains("podSelector"));
    // The range: nothing before the capture.
    let none = query_json(&db, &["flows", "--until", "2026-12-01T09:00:00Z"]);
    assert!(none.as_array().unwrap().is_empty());
    // Text and CSV.
    let (code, out, _) = run(&["observe", "query", "graph", "--store", &db, "-o", "csv"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("SOURCE,DESTINATION,BYTES,FLOWS,DENIED\n"),
        "{out}"
    );
    assert!(out.contains("batch/report,shop/db,120,1,1\n"), "{out}");
    let (code, out, _) = run(&["observe", "query", "flows", "--store", &db]);
    assert_eq!(code, 0);
    assert!(out.lines().next().unwrap().starts_with("SOURCE"), "{out}");
}

#[test]
fn sensor_prints_json_records_without_a_store() {
    let (code, out, err) = run(&[
        "observe",
        "sensor",
        "-r",
        "examples/observe/example.pcap",
        "--snapshot",
        "examples/observe/snapshot.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let recs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.iter().filter(|r| r["type"] == "flow").count(), 26);
    assert_eq!(recs.iter().filter(|r| r["type"] == "dns").count(), 2);
    let http = recs.iter().find(|r| r["http"].is_object()).unwrap();
    assert_eq!(http["http"]["status"], 200);
}

#[test]
fn recommend_from_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = stored_example(dir.path());
    let (code, out, err) = run(&[
        "netpol",
        "recommend",
        "examples/observe/snapshot.yaml",
        "--from-store",
        &db,
        "--since",
        "2026-12-01T09:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from 6 observed flow(s)"), "{out}");
    assert!(out.contains("name: db-deployment"), "{out}");
    // db accepts web on 5432, not report (its flow was denied).
    let db_policy = out
        .split("---")
        .find(|d| d.contains("name: db-deployment"))
        .unwrap();
    assert!(db_policy.contains("port: 5432"), "{db_policy}");
    assert!(db_policy.contains("\"app\": \"web\""), "{db_policy}");
    assert!(!db_policy.contains("\"app\": \"report\""), "{db_policy}");
    // web's egress allows the external API by address.
    assert!(out.contains("203.0.113.10/32"), "{out}");
    // Impact of the recommended policies on the stored flows: nothing allowed is lost.
    let pol = dir.path().join("rec.yaml");
    std::fs::write(&pol, &out).unwrap();
    let (code, out, err) = run(&[
        "netpol",
        "impact",
        "examples/observe/snapshot.yaml",
        "--from-store",
        &db,
        "--policies",
        &pol.display().to_string(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["newly_denied"].as_array().is_some_and(|a| a.is_empty()),
        "{v:#}"
    );
}

#[test]
fn bad_input_names_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(repo().join("examples/observe/example.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let (code, out, err) = run(&[
        "observe",
        "sensor",
        "-r",
        &cut.display().to_string(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cut.pcap: record 194 at byte"), "{err}");
    assert!(err.contains("truncated packet data"), "{err}");
    // What came before the damage is still reported.
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("\"type\":\"flow\""))
            .count(),
        26
    );
    let (code, _, err) = run(&[
        "observe",
        "query",
        "flows",
        "--store",
        "/nonexistent/flows.db",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/flows.db: no such flow store"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "observe",
        "query",
        "flows",
        "--store",
        "/nonexistent/flows.db",
        "--since",
        "yesterday",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("palisade: error"), "{err}");
}

// ---- live capture in network namespaces ----

const SERVER: &str = "10.200.0.2";
const CLIENT: &str = "10.200.0.1";

/// The server and client halves, run by the netns test inside its namespaces.
#[test]
#[ignore = "run inside a network namespace by live_capture_in_network_namespaces"]
fn netns_role() {
    match std::env::var("PALISADE_NETNS_ROLE").as_deref() {
        Ok("server") => server(),
        Ok("client") => client(),
        _ => {}
    }
}

fn server() {
    let http = TcpListener::bind((SERVER, 8080)).unwrap();
    let tls = TcpListener::bind((SERVER, 8443)).unwrap();
    let udp = UdpSocket::bind((SERVER, 9000)).unwrap();
    let dns = UdpSocket::bind((SERVER, 53)).unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    std::thread::spawn(move || {
        for s in http.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    std::thread::spawn(move || {
        for s in tls.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&palisade_observe::l7::server_hello());
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    });
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = dns.recv_from(&mut buf) {
        if let Ok(q) = palisade_observe::dns::parse(&buf[..n]) {
            let (name, t) = q.question.unwrap_or_default();
            let r = palisade_observe::dns::build::response(
                q.id,
                &name,
                t,
                0,
                &[(1, 60, "10.200.0.99")],
            );
            let _ = dns.send_to(&r, from);
        }
    }
}

fn client() {
    let mut s = TcpStream::connect((SERVER, 8080)).unwrap();
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: server\r\n\r\n")
        .unwrap();
    let mut resp = Vec::new();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = s.read_to_end(&mut resp);
    assert!(resp.starts_with(b"HTTP/1.1 200"));
    drop(s);
    let mut s = TcpStream::connect((SERVER, 8443)).unwrap();
    s.write_all(&palisade_observe::l7::client_hello("svc.test"))
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = s.read_to_end(&mut resp);
    drop(s);
    let u = UdpSocket::bind((CLIENT, 0)).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    u.send_to(b"0123456789", (SERVER, 9000)).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(u.recv_from(&mut buf).unwrap().0, 10);
    let d = UdpSocket::bind((CLIENT, 0)).unwrap();
    d.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    d.send_to(
        &palisade_observe::dns::build::query(77, "api.test", 1),
        (SERVER, 53),
    )
    .unwrap();
    let n = d.recv_from(&mut buf).unwrap().0;
    let m = palisade_observe::dns::parse(&buf[..n]).unwrap();
    assert_eq!(m.answers[0].data, "10.200.0.99");
    println!("client done");
}

fn sh(args: &[&str]) -> Result<(), String> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = sh(&["ip", "netns", "del", n]);
        }
    }
}

fn can_make_namespaces() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)".into());
    }
    sh(&["ip", "-V"]).map_err(|e| format!("iproute2 is missing: {e}"))
}

#[test]
fn live_capture_in_network_namespaces() {
    if let Err(why) = can_make_namespaces() {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the netns capture test: {why}");
        }
        eprintln!("skipped: {why}");
        return;
    }
    let id = std::process::id() % 100_000;
    let (nc, ns) = (format!("pal-c-{id}"), format!("pal-s-{id}"));
    let (vc, vs) = (format!("pvc{id}"), format!("pvs{id}"));
    let _guard = Netns(vec![nc.clone(), ns.clone()]);
    for cmd in [
        vec!["ip", "netns", "add", &nc],
        vec!["ip", "netns", "add", &ns],
        vec![
            "ip", "link", "add", &vc, "type", "veth", "peer", "name", &vs,
        ],
        vec!["ip", "link", "set", &vc, "netns", &nc],
        vec!["ip", "link", "set", &vs, "netns", &ns],
        vec!["ip", "-n", &nc, "addr", "add", "10.200.0.1/24", "dev", &vc],
        vec!["ip", "-n", &ns, "addr", "add", "10.200.0.2/24", "dev", &vs],
        vec!["ip", "-n", &nc, "link", "set", &vc, "up"],
        vec!["ip", "-n", &ns, "link", "set", &vs, "up"],
        vec!["ip", "-n", &nc, "link", "set", "lo", "up"],
        vec!["ip", "-n", &ns, "link", "set", "lo", "up"],
    ] {
        sh(&cmd).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.yaml");
    std::fs::write(
        &snapshot,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: client-1, namespace: lab, labels: {app: client}}\nspec: {containers: [{name: c, image: busybox}]}\nstatus: {podIP: 10.200.0.1}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: server-1, namespace: lab, labels: {app: server}}\nspec: {containers: [{name: s, image: busybox}]}\nstatus: {podIP: 10.200.0.2}\n",
    )
    .unwrap();
    let out = dir.path().join("records.jsonl");
    let bin = assert_cmd::cargo::cargo_bin("palisade");
    let sensor = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(&bin)
        .args([
            "observe",
            "sensor",
            "-i",
            &vs,
            "--duration",
            "6s",
            "-o",
            "json",
            "--snapshot",
        ])
        .arg(&snapshot)
        .arg("--output-file")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the sensor's capture is open, then keep its stderr for the checks.
    let mut sensor = sensor;
    let mut lines = BufReader::new(sensor.stderr.take().unwrap()).lines();
    let mut err = String::new();
    for l in lines.by_ref().map_while(Result::ok) {
        err.push_str(&l);
        err.push('\n');
        if l.contains("capturing on") {
            break;
        }
    }
    assert!(
        err.contains("capturing on"),
        "the sensor did not start: {err}"
    );
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let me = std::env::current_exe().unwrap();
    let helper = |role: &str, netns: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", netns])
            .arg(&me)
            .args([
                "--exact",
                "netns_role",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PALISADE_NETNS_ROLE", role)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    };
    let mut server = helper("server", &ns).spawn().unwrap();
    // libtest prints its own lines first; wait for the server's.
    let ready = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim_end().ends_with("ready"));
    assert!(ready, "the server in {ns} did not start");
    let c = helper("client", &nc).output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        String::from_utf8_lossy(&c.stdout).contains("client done"),
        "client failed: {}",
        String::from_utf8_lossy(&c.stdout)
    );
    let status = sensor.wait().unwrap();
    let err = err + &rest.join().unwrap();
    assert!(status.success(), "sensor: {err}");
    assert!(err.contains("packets received"), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flow = |port: u16, proto: &str| -> &Value {
        recs.iter()
            .find(|r| {
                r["type"] == "flow"
                    && r["dst"]["port"] == port
                    && r["protocol"] == proto
                    && r["dst"]["ip"] == SERVER
            })
            .unwrap_or_else(|| panic!("no {proto} flow to port {port} in {text}"))
    };
    let http = flow(8080, "tcp");
    assert_eq!(http["src"]["ip"], CLIENT);
    assert_eq!(http["src"]["workload"], "client-1");
    assert_eq!(http["src"]["namespace"], "lab");
    assert_eq!(http["dst"]["workload"], "server-1");
    assert_eq!(http["tcp_state"], "closed");
    assert_eq!(http["http"]["path"], "/hello");
    assert_eq!(http["http"]["status"], 200);
    assert_eq!(http["security"], "plaintext");
    assert!(http["packets_out"].as_u64().unwrap() >= 4, "{http}");
    assert!(http["packets_in"].as_u64().unwrap() >= 3, "{http}");
    assert!(http["bytes_out"].as_u64().unwrap() > 37 + 4 * 54, "{http}");
    let tls = flow(8443, "tcp");
    assert_eq!(tls["security"], "tls");
    assert_eq!(tls["sni"], "svc.test");
    let udp = flow(9000, "udp");
    assert_eq!(
        (udp["packets_out"].as_u64(), udp["packets_in"].as_u64()),
        (Some(1), Some(1))
    );
    // 14 Ethernet + 20 IPv4 + 8 UDP + 10 payload.
    assert_eq!(
        (udp["bytes_out"].as_u64(), udp["bytes_in"].as_u64()),
        (Some(52), Some(52))
    );
    let dns = recs
        .iter()
        .find(|r| r["type"] == "dns" && r["qname"] == "api.test")
        .unwrap_or_else(|| panic!("no DNS record in {text}"));
    assert_eq!(dns["rcode"], "NOERROR");
    assert_eq!(dns["answers"][0]["data"], "10.200.0.99");
    assert_eq!(dns["client"]["workload"], "client-1");
}
