//! The importers on the sample logs in examples/observe/import (written for Palisade from the
//! formats' documented fields): every record, every bad line reported with file:line, the
//! rest kept.

use palisade_observe::flow::Sink;
use palisade_observe::import::{Format, Importer, Options};
use palisade_store::{DnsRecord, EndpointKind, FlowRecord, Verdict};
use std::path::PathBuf;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/observe/import")
        .join(name)
}

struct Out {
    flows: Vec<FlowRecord>,
    dns: Vec<DnsRecord>,
    errors: Vec<String>,
    stats: palisade_observe::import::Stats,
}

fn import(format: Format, name: &str) -> Out {
    let mut sink: (Vec<FlowRecord>, Vec<DnsRecord>) = (Vec::new(), Vec::new());
    let mut errors = Vec::new();
    let mut imp = Importer::new(Options {
        default_time_ms: 1_796_119_200_000,
        ..Options::new(format)
    });
    let f = std::fs::File::open(sample(name)).unwrap();
    let fatal = imp.read(f, name, &mut sink, &mut |e| errors.push(e));
    assert_eq!(fatal, None);
    imp.finish(&mut sink);
    Out {
        flows: sink.0,
        dns: sink.1,
        errors,
        stats: imp.stats,
    }
}

const T0: i64 = 1_796_119_200_000; // 2026-12-01T10:00:00Z

#[test]
fn hubble_json_and_jsonpb() {
    let o = import(Format::Hubble, "hubble.jsonl");
    assert_eq!(o.flows.len(), 4, "{:#?}", o.flows);
    let syn = &o.flows[0];
    assert_eq!(syn.start, T0 + 100);
    assert_eq!(
        (syn.src.namespace.as_deref(), syn.src.workload.as_deref()),
        (Some("shop"), Some("web"))
    );
    assert_eq!(syn.src.pod.as_deref(), Some("web-7d4b9c-x2vqp"));
    assert_eq!((syn.src.ip.as_str(), syn.src.port), ("10.244.1.10", 41000));
    assert_eq!(
        (syn.dst.workload.as_deref(), syn.dst.port),
        (Some("db"), 5432)
    );
    assert_eq!(syn.src.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(syn.verdict, Verdict::Allowed);
    assert_eq!(syn.policy.as_deref(), Some("shop/db-ingress"));
    assert_eq!(syn.tcp_flags, 2);
    assert_eq!((syn.packets_out, syn.packets_in), (1, 0));
    assert_eq!(syn.reporter, "hubble");

    // The SYN-ACK is a reply: kept, oriented client → server, counted inbound.
    let reply = &o.flows[1];
    assert_eq!(
        (reply.src.workload.as_deref(), reply.src.port),
        (Some("web"), 41000)
    );
    assert_eq!(
        (reply.dst.workload.as_deref(), reply.dst.port),
        (Some("db"), 5432)
    );
    assert_eq!((reply.packets_out, reply.packets_in), (0, 1));
    assert_eq!(reply.tcp_flags, 2 | 16);

    // `-o json` (a bare Flow): the drop with its reason and the denying policy.
    let drop = &o.flows[2];
    assert_eq!(drop.verdict, Verdict::Denied);
    assert_eq!(drop.drop_reason.as_deref(), Some("POLICY_DENIED"));
    assert_eq!(drop.policy.as_deref(), Some("shop/db-ingress"));
    assert_eq!(drop.policies, vec!["shop/db-ingress".to_string()]);
    assert_eq!(
        (drop.src.namespace.as_deref(), drop.src.workload.as_deref()),
        (Some("batch"), Some("report"))
    );

    let http = &o.flows[3];
    assert_eq!(http.dst.kind, EndpointKind::External);
    assert_eq!((http.dst.ip.as_str(), http.dst.port), ("203.0.113.7", 80));
    let h = http.http.as_ref().unwrap();
    assert_eq!(
        (h.method.as_str(), h.path.as_str()),
        ("GET", "http://api.example.com/v1/items")
    );

    // The L7 DNS request and response are one exchange.
    assert_eq!(o.dns.len(), 1, "{:#?}", o.dns);
    let d = &o.dns[0];
    assert_eq!(d.time, T0 + 2000);
    assert_eq!(d.qname, "api.example.com");
    assert_eq!(d.qtype, "A");
    assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(d.latency_us, Some(4000));
    assert_eq!(d.client.workload.as_deref(), Some("web"));
    assert_eq!(d.cname_chain(), vec!["edge.example.net".to_string()]);
    assert!(d
        .answers
        .iter()
        .any(|a| a.rtype == "A" && a.data == "203.0.113.7"));

    assert_eq!(o.stats.skipped.get("Hubble node status message"), Some(&1));
    assert_eq!(
        o.stats
            .skipped
            .get("Hubble event without TCP, UDP or SCTP (ICMP, non-IP)"),
        Some(&1)
    );
    assert_eq!(o.errors.len(), 2, "{:?}", o.errors);
    assert!(
        o.errors[0].starts_with("hubble.jsonl:9: missing destination port"),
        "{}",
        o.errors[0]
    );
    assert!(
        o.errors[1].starts_with("hubble.jsonl:10: not JSON"),
        "{}",
        o.errors[1]
    );
    assert_eq!(o.stats.lines, 10);
    assert_eq!(
        (o.stats.flow_records, o.stats.dns_records, o.stats.errors),
        (4, 1, 2)
    );
}

#[test]
fn calico_flow_logs() {
    let o = import(Format::CalicoFlows, "calico-flows.jsonl");
    assert_eq!(o.flows.len(), 4);
    let (src, dst) = (&o.flows[0], &o.flows[1]);
    assert_eq!((src.start, src.end), (T0, T0 + 300_000));
    assert_eq!(src.reporter, "calico-src");
    assert_eq!(dst.reporter, "calico-dst");
    // Both reporters count the same connection the same way round.
    assert_eq!((src.bytes_out, src.bytes_in), (9120, 48213));
    assert_eq!((dst.bytes_out, dst.bytes_in), (9120, 48213));
    assert_eq!((dst.packets_out, dst.packets_in), (55, 61));
    assert_eq!(src.src.workload.as_deref(), Some("web"));
    assert_eq!(src.dst.workload.as_deref(), Some("db"));
    assert_eq!(
        src.src.labels.get("tier").map(String::as_str),
        Some("front")
    );
    assert_eq!(src.policy.as_deref(), Some("shop/default.db-ingress"));

    let deny = &o.flows[2];
    assert_eq!(deny.verdict, Verdict::Denied);
    assert_eq!(deny.protocol, "tcp");
    assert_eq!(deny.policy.as_deref(), Some("shop/default.db-ingress"));
    assert_eq!(
        deny.policies,
        vec![
            "security.allow-batch".to_string(),
            "shop/default.db-ingress".to_string()
        ]
    );
    assert_eq!(deny.src.pod.as_deref(), Some("report-84c7d9-qq7bn"));

    let ext = &o.flows[3];
    assert_eq!(ext.dst.kind, EndpointKind::External);
    assert_eq!(ext.dst.ip, "203.0.113.7");
    assert_eq!(ext.dst.workload, None);

    assert_eq!(o.errors.len(), 1);
    assert!(
        o.errors[0].starts_with("calico-flows.jsonl:5: port 70000 is outside 1-65535"),
        "{}",
        o.errors[0]
    );
}

#[test]
fn calico_dns_logs() {
    let o = import(Format::CalicoDns, "calico-dns.jsonl");
    assert_eq!(o.dns.len(), 2);
    let d = &o.dns[0];
    assert_eq!(d.time, T0);
    assert_eq!(d.client.workload.as_deref(), Some("web"));
    assert_eq!(d.client.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(d.server.ip, "10.244.0.5");
    assert_eq!(d.server.workload.as_deref(), Some("coredns"));
    assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(d.cname_chain(), vec!["edge.example.net".to_string()]);
    assert_eq!(d.latency_us, Some(2500));
    assert_eq!(o.dns[1].rcode.as_deref(), Some("NXDOMAIN"));
    assert_eq!(o.dns[1].qtype, "AAAA");
    assert_eq!(o.errors.len(), 1);
    assert!(
        o.errors[0].starts_with("calico-dns.jsonl:3: missing \"qname\""),
        "{}",
        o.errors[0]
    );
}

#[test]
fn inspektor_gadget_trace_dns() {
    let o = import(Format::IgDns, "ig-dns.jsonl");
    assert_eq!(o.dns.len(), 2, "{:#?}", o.dns);
    // Query and response become one record at the query's time.
    let d = &o.dns[0];
    assert_eq!(d.time, T0 + 2000);
    assert_eq!(d.id, 0x1a2b);
    assert_eq!(
        (d.client.ip.as_str(), d.client.port),
        ("10.244.1.10", 53111)
    );
    assert_eq!(d.client.workload.as_deref(), Some("web"));
    assert_eq!((d.server.ip.as_str(), d.server.port), ("10.96.0.10", 53));
    assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(d.latency_us, Some(3000));
    assert_eq!(d.answers.len(), 1);
    assert_eq!(d.answers[0].data, "203.0.113.7");
    // The older built-in gadget's fields; the query was never answered.
    let u = &o.dns[1];
    assert_eq!(u.client.workload.as_deref(), Some("report"));
    assert_eq!(u.client.ip, "10.244.2.40");
    assert_eq!(u.qname, "nope.invalid");
    assert_eq!(u.rcode, None);
    assert_eq!(o.stats.dns_unanswered, 1);
    assert_eq!(o.errors.len(), 1);
    assert!(
        o.errors[0].contains("ig-dns.jsonl:4: id \"zzzz\""),
        "{}",
        o.errors[0]
    );
}

#[test]
fn coredns_log_plugin() {
    let o = import(Format::Coredns, "coredns.log");
    assert_eq!(o.dns.len(), 3, "{:#?}", o.dns);
    let d = &o.dns[0];
    assert_eq!(d.time, T0 + 2001);
    assert_eq!(
        (d.client.ip.as_str(), d.client.port),
        ("10.244.1.10", 53111)
    );
    assert_eq!(
        (d.id, d.qname.as_str(), d.qtype.as_str()),
        (6699, "api.example.com", "A")
    );
    assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(d.latency_us, Some(2501));
    // No timestamp prefix: the import's default time.
    assert_eq!(o.dns[1].time, T0);
    assert_eq!(o.dns[1].rcode.as_deref(), Some("NXDOMAIN"));
    assert_eq!(o.dns[2].client.ip, "2001:db8::5");
    assert_eq!(o.dns[2].protocol, "tcp");
    assert_eq!(o.stats.skipped.values().sum::<u64>(), 3);
    assert_eq!(o.errors.len(), 1);
    assert!(
        o.errors[0].starts_with("coredns.log:7: query id \"77777\""),
        "{}",
        o.errors[0]
    );
}

#[test]
fn long_lines_are_reported_and_skipped() {
    let mut text = String::from(
        "[INFO] 10.0.0.1:1 - 1 \"A IN a.example. udp 29 false 512\" NOERROR qr 45 0.1s\n",
    );
    text.push_str(&"x".repeat(5000));
    text.push('\n');
    text.push_str(
        "[INFO] 10.0.0.1:2 - 2 \"A IN b.example. udp 29 false 512\" NOERROR qr 45 0.1s\n",
    );
    let mut imp = Importer::new(Options {
        max_line: 1000,
        ..Options::new(Format::Coredns)
    });
    let mut sink: (Vec<FlowRecord>, Vec<DnsRecord>) = (Vec::new(), Vec::new());
    let mut errors = Vec::new();
    imp.read(text.as_bytes(), "big.log", &mut sink, &mut |e| {
        errors.push(e)
    });
    assert_eq!(sink.1.len(), 2);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("big.log:2: line of 5000 bytes"),
        "{}",
        errors[0]
    );
}

/// Records from an import are attributed like the sensor's: snapshot workloads by address,
/// the verdict the policies imply, drift when the CNI disagrees.
#[test]
fn imported_flows_get_policy_attribution() {
    let objects = palisade_model::load_paths(
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/observe/snapshot.yaml")],
        &palisade_model::LoadOptions::default(),
    )
    .objects;
    let net = palisade_netpol::Network::build(&objects, &palisade_netpol::BuildOptions::default());
    let attribution = palisade_observe::attribute::Attribution::new(&objects, &net);
    let o = import(Format::Hubble, "hubble.jsonl");
    let mut flows = o.flows;
    for f in &mut flows {
        attribution.flow(f);
    }
    // web → db is allowed by db-ingress, report → db is not: both as Cilium saw them.
    assert_eq!(flows[0].computed_verdict, Some(Verdict::Allowed));
    assert!(!flows[0].drift);
    assert_eq!(flows[2].computed_verdict, Some(Verdict::Denied));
    assert!(!flows[2].drift);
    assert!(flows[2].nearest_miss.is_some());
    // Names from the log survive where the snapshot has no address (the external peer).
    assert_eq!(flows[3].dst.kind, EndpointKind::External);
    assert_eq!(flows[3].src.workload.as_deref(), Some("web"));

    // A Calico log that calls the denied flow allowed is drift.
    let mut c = import(Format::CalicoFlows, "calico-flows.jsonl").flows;
    c[2].verdict = Verdict::Allowed;
    attribution.flow(&mut c[2]);
    assert!(c[2].drift);
}

struct Count(usize);
impl Sink for Count {
    fn flow(&mut self, _: FlowRecord) {
        self.0 += 1;
    }
    fn dns(&mut self, _: DnsRecord) {
        self.0 += 1;
    }
}

#[test]
fn pending_dns_queries_are_bounded() {
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!(
            "{{\"timestamp\":{},\"k8s\":{{\"namespace\":\"shop\",\"podName\":\"web-7d4b9c-x2vqp\"}},\"src\":{{\"addr\":\"10.244.1.10\",\"port\":{}}},\"dst\":{{\"addr\":\"10.96.0.10\",\"port\":53}},\"id\":\"{:04x}\",\"qr\":\"Q\",\"qtype\":\"A\",\"name\":\"n{i}.example.\"}}\n",
            1_796_119_200_000_000_000i64 + i,
            30000 + i,
            i
        ));
    }
    let mut imp = Importer::new(Options {
        max_pending_dns: 10,
        ..Options::new(Format::IgDns)
    });
    let mut sink = Count(0);
    imp.read(text.as_bytes(), "q.jsonl", &mut sink, &mut |e| {
        panic!("{e}")
    });
    assert_eq!(sink.0, 90, "queries beyond the cap are recorded at once");
    assert_eq!(imp.stats.dns_pending_overflow, 90);
    imp.finish(&mut sink);
    assert_eq!(sink.0, 100);
    assert_eq!(imp.stats.dns_unanswered, 100);
}
