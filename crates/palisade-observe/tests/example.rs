//! The example capture through the whole sensor: the committed pcap is what the generator
//! writes, and its records carry the expected counts, states, TLS/plaintext, HTTP, DNS names
//! and workloads, and the verdicts the example's policy implies.

use palisade_netpol::{BuildOptions, Network};
use palisade_observe::attribute::Attribution;
use palisade_observe::example;
use palisade_observe::flow::{Config, FlowTable};
use palisade_observe::sensor::{read_file, Attributed};
use palisade_store::{DnsRecord, EndpointKind, FlowRecord, Security, TcpState, Verdict};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn committed_example_pcap_is_current() {
    let path = repo().join("examples/observe/example.pcap");
    let fresh = example::pcap();
    if std::env::var_os("PALISADE_WRITE_EXAMPLES").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path)
        .expect("examples/observe/example.pcap (PALISADE_WRITE_EXAMPLES=1 writes it)");
    assert!(
        committed == fresh,
        "examples/observe/example.pcap is stale: run this test with PALISADE_WRITE_EXAMPLES=1"
    );
}

pub fn run_example() -> (
    Vec<FlowRecord>,
    Vec<DnsRecord>,
    palisade_observe::flow::Counters,
) {
    let loaded = palisade_model::load_paths(
        &[repo().join("examples/observe/snapshot.yaml")],
        &palisade_model::LoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let net = Network::build(&loaded.objects, &BuildOptions::default());
    let attr = Attribution::new(&loaded.objects, &net);
    let mut table = FlowTable::new(Config::default());
    let mut out = (Vec::new(), Vec::new());
    let mut sink = Attributed {
        attribution: &attr,
        inner: &mut out,
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("example.pcap");
    std::fs::write(&p, example::pcap()).unwrap();
    let (frames, err) = read_file(&p, &mut table, &mut sink);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames as usize, example::frames().len());
    table.finish(&mut sink);
    (out.0, out.1, table.counters.clone())
}

#[test]
fn example_records() {
    let (flows, dns, counters) = run_example();
    assert_eq!(counters.skipped.values().sum::<u64>(), 0, "{counters:?}");
    let by = |dst: &str, port: u16| -> Vec<&FlowRecord> {
        flows
            .iter()
            .filter(|f| f.dst.ip == dst && f.dst.port == port)
            .collect()
    };
    let db = by("10.244.1.20", 5432);
    let from_web: Vec<_> = db
        .iter()
        .filter(|f| f.src.workload.as_deref() == Some("web"))
        .collect();
    assert_eq!(from_web.len(), 20);
    for f in &from_web {
        assert_eq!((f.packets_out, f.packets_in), (5, 3));
        assert_eq!(
            f.bytes_out,
            4 * 60 + 62,
            "frames are padded to 60 bytes; the 8-byte request makes 62"
        );
        assert_eq!(f.tcp_state, Some(TcpState::Closed));
        assert_eq!(
            f.security,
            Security::Unknown,
            "a binary protocol is not plaintext"
        );
        assert_eq!(f.src.namespace.as_deref(), Some("shop"));
        assert_eq!(f.src.pod.as_deref(), Some("web-7d4b9c-x2vqp"));
        assert_eq!(f.src.labels.get("tier").map(String::as_str), Some("front"));
        assert_eq!(f.dst.workload.as_deref(), Some("db"));
        assert_eq!(f.computed_verdict, Some(Verdict::Allowed));
        assert!(
            f.computed_policy
                .as_deref()
                .unwrap_or("")
                .contains("db-ingress"),
            "{:?}",
            f.computed_policy
        );
        assert!(!f.drift);
    }
    let denied: Vec<_> = db
        .iter()
        .filter(|f| f.src.workload.as_deref() == Some("report"))
        .collect();
    assert_eq!(denied.len(), 1);
    let d = denied[0];
    assert_eq!((d.packets_out, d.packets_in), (2, 0));
    assert_eq!(d.tcp_state, Some(TcpState::Attempted));
    assert_eq!(d.computed_verdict, Some(Verdict::Denied));
    assert!(
        d.computed_policy
            .as_deref()
            .unwrap_or("")
            .contains("db-ingress"),
        "{:?}",
        d.computed_policy
    );
    assert!(
        d.nearest_miss.is_some(),
        "a denial carries its nearest miss"
    );

    let api = by("203.0.113.10", 443);
    assert_eq!(api.len(), 1);
    let a = api[0];
    assert_eq!(a.security, Security::Tls);
    assert_eq!(a.sni.as_deref(), Some("api.example.com"));
    assert_eq!(a.dst.kind, EndpointKind::External);
    assert_eq!(
        a.dst.dns_name.as_deref(),
        Some("api.example.com"),
        "tagged by the DNS answer"
    );
    assert_eq!(a.tcp_state, Some(TcpState::Closed));

    let cache = by("10.244.1.30", 6379);
    assert_eq!(cache[0].security, Security::Plaintext);
    let http = by("198.51.100.20", 80);
    let h = http[0].http.as_ref().expect("HTTP request line");
    assert_eq!(
        (h.method.as_str(), h.path.as_str(), h.status),
        ("GET", "/v1/status", Some(200))
    );
    assert_eq!(h.host.as_deref(), Some("status.example.org"));
    assert_eq!(http[0].security, Security::Plaintext);

    let dnsflow = by("10.244.0.5", 53);
    assert_eq!(dnsflow.len(), 2);
    assert!(dnsflow.iter().all(|f| f.protocol == "udp"
        && f.security == Security::Plaintext
        && f.dst.workload.as_deref() == Some("coredns")));

    assert_eq!(dns.len(), 2, "{dns:#?}");
    let q = dns.iter().find(|d| d.qname == "api.example.com").unwrap();
    assert_eq!(q.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(q.cname_chain(), vec!["api.edge.example.net".to_string()]);
    assert_eq!(
        q.answers.last().map(|a| a.data.as_str()),
        Some("203.0.113.10")
    );
    assert_eq!(q.client.workload.as_deref(), Some("web"));
    assert_eq!(q.server.workload.as_deref(), Some("coredns"));
    assert_eq!(q.latency_us, Some(2000));
    let nx = dns.iter().find(|d| d.qname == "nope.example.org").unwrap();
    assert_eq!(nx.rcode.as_deref(), Some("NXDOMAIN"));
    assert_eq!(nx.client.namespace.as_deref(), Some("batch"));
}
