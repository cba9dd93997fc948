//! Hubble JSON import throughput (figure in BENCHMARKS.md): synthetic `hubble observe -o
//! jsonpb` lines (the exporter's shape: GetFlowsResponse with a full L3/L4 Flow, ~1 KB each,
//! 5% drops with a policy, 10% replies) read from memory through the importer into a
//! counting sink. Reports flows/s and MB/s of wall time, and flows per second of CPU time
//! the thread was on a core (from /proc/thread-self/schedstat), which a shared machine's
//! other load does not change.
//!
//! `cargo bench -p palisade-observe --bench import` (pin with `taskset -c 1`).

use palisade_observe::flow::Sink;
use palisade_observe::import::{Format, Importer, Options};
use palisade_store::{DnsRecord, FlowRecord};
use std::time::Instant;

struct Count(u64, u64);
impl Sink for Count {
    fn flow(&mut self, r: FlowRecord) {
        self.0 += 1;
        std::hint::black_box(r);
    }
    fn dns(&mut self, r: DnsRecord) {
        self.1 += 1;
        std::hint::black_box(r);
    }
}

fn line(i: u64) -> String {
    let (a, b) = (i % 250, (i / 250) % 250);
    let dropped = i % 20 == 0;
    let reply = i % 10 == 3;
    let verdict = if dropped { "DROPPED" } else { "FORWARDED" };
    let extra = if dropped {
        r#","drop_reason":133,"drop_reason_desc":"POLICY_DENIED","ingress_denied_by":[{"name":"db-ingress","namespace":"shop","kind":"NetworkPolicy"}]"#
    } else {
        r#","egress_allowed_by":[{"name":"allow-egress","namespace":"shop","kind":"NetworkPolicy"}]"#
    };
    format!(
        concat!(
            r#"{{"flow":{{"time":"2026-12-01T10:{:02}:{:02}.{:09}Z","uuid":"5e8d2f0c-{:012x}","verdict":"{}","ethernet":{{"source":"aa:bb:cc:00:00:01","destination":"aa:bb:cc:00:00:02"}},"#,
            r#""IP":{{"source":"10.244.{}.{}","destination":"10.244.{}.{}","ipVersion":"IPv4"}},"l4":{{"TCP":{{"source_port":{},"destination_port":{},"flags":{{"SYN":true}}}}}},"#,
            r#""source":{{"ID":{},"identity":{},"namespace":"shop","labels":["k8s:app=web","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.cilium.k8s.policy.serviceaccount=web","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"web-7d4b9c-{:05}","workloads":[{{"name":"web","kind":"Deployment"}}]}},"#,
            r#""destination":{{"ID":{},"identity":{},"namespace":"shop","labels":["k8s:app=db","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"db-5f8d6c-{:05}","workloads":[{{"name":"db","kind":"Deployment"}}]}},"#,
            r#""Type":"L3_L4","node_name":"node-{}","event_type":{{"type":4}},"traffic_direction":"EGRESS","trace_observation_point":"TO_ENDPOINT","is_reply":{},"interface":{{"index":12,"name":"lxc1234"}}{},"Summary":"TCP Flags: SYN"}},"node_name":"node-{}","time":"2026-12-01T10:{:02}:{:02}.{:09}Z"}}"#
        ),
        (i / 60_000) % 60,
        (i / 1000) % 60,
        (i % 1000) * 1_000_000,
        i,
        verdict,
        a,
        b,
        b,
        a,
        30000 + i % 30000,
        5432 + i % 8,
        i % 4000,
        10_000 + i % 500,
        i % 100_000,
        4000 + i % 4000,
        20_000 + i % 500,
        i % 100_000,
        i % 16,
        reply,
        extra,
        i % 16,
        (i / 60_000) % 60,
        (i / 1000) % 60,
        (i % 1000) * 1_000_000,
    )
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("IMPORT_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let mut text = String::with_capacity(n as usize * 1200);
    for i in 0..n {
        text.push_str(&line(i));
        text.push('\n');
    }
    let mb = text.len() as f64 / 1e6;
    for run in 0..3 {
        let mut imp = Importer::new(Options::new(Format::Hubble));
        let mut sink = Count(0, 0);
        let t = Instant::now();
        let c0 = cpu_ns();
        let fatal = imp.read(text.as_bytes(), "bench", &mut sink, &mut |e| panic!("{e}"));
        imp.finish(&mut sink);
        let s = t.elapsed().as_secs_f64();
        let cpu = match (c0, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => f64::NAN,
        };
        assert!(fatal.is_none());
        assert_eq!(sink.0, n);
        println!(
            "hubble json import run {run}: {n} flows ({mb:.0} MB, {:.0} B/flow) in {s:.3} s wall, {cpu:.3} s CPU: {:.0} flows/s wall, {:.0} flows per CPU-second, {:.0} MB/s wall",
            text.len() as f64 / n as f64,
            n as f64 / s,
            n as f64 / cpu,
            mb / s
        );
    }
}
