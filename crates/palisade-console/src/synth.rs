//! Synthetic clusters for tests and benchmarks: `namespaces` namespaces of `per_ns`
//! workloads each; every workload talks to two others in its namespace and one in the next
//! namespace; every tenth edge is denied, every seventh plaintext, and every namespace's
//! first workload calls an external API. Deterministic.

use palisade_store::psl::SuffixList;
use palisade_store::{
    Aggregator, Endpoint, EndpointKind, FlowRecord, Security, Store, TcpState, Verdict,
};

fn pod(ns: usize, w: usize, port: u16) -> Endpoint {
    Endpoint {
        ip: format!("10.{}.{}.{}", 100 + ns / 250, ns % 250, w + 1),
        port,
        kind: EndpointKind::Pod,
        namespace: Some(format!("ns-{ns:03}")),
        workload: Some(format!("wl-{w}")),
        pod: Some(format!("wl-{w}-5f7c9-abcde")),
        labels: [("app".to_string(), format!("wl-{w}"))]
            .into_iter()
            .collect(),
        dns_name: None,
    }
}

/// The records of one minute starting at `t0` (Unix ms).
pub fn records(namespaces: usize, per_ns: usize, t0: i64) -> Vec<FlowRecord> {
    let mut out = Vec::new();
    let mut k = 0usize;
    for ns in 0..namespaces {
        for w in 0..per_ns {
            let targets = [
                (ns, (w + 1) % per_ns),
                (ns, (w + 2) % per_ns),
                ((ns + 1) % namespaces, w),
            ];
            for (tn, tw) in targets {
                if (tn, tw) == (ns, w) {
                    continue;
                }
                k += 1;
                let denied = k % 10 == 0;
                let plain = !denied && k % 7 == 0;
                let port = 8080 + (tw as u16 % 4);
                out.push(FlowRecord {
                    start: t0 + (k as i64 % 50_000),
                    end: t0 + (k as i64 % 50_000) + 300,
                    src: pod(ns, w, 40000 + (k % 20000) as u16),
                    dst: pod(tn, tw, port),
                    protocol: "tcp".into(),
                    packets_out: 6,
                    bytes_out: 500 + (k as u64 % 97) * 40,
                    packets_in: if denied { 0 } else { 5 },
                    bytes_in: if denied {
                        0
                    } else {
                        1200 + (k as u64 % 13) * 100
                    },
                    tcp_state: Some(if denied {
                        TcpState::Attempted
                    } else {
                        TcpState::Closed
                    }),
                    tcp_flags: 0x1b,
                    security: if plain {
                        Security::Plaintext
                    } else {
                        Security::Tls
                    },
                    verdict: if denied {
                        Verdict::Denied
                    } else {
                        Verdict::Allowed
                    },
                    policy: denied.then(|| format!("ns-{tn:03}/default-deny")),
                    reporter: "synthetic".into(),
                    ..FlowRecord::default()
                });
            }
            if w == 0 {
                out.push(FlowRecord {
                    start: t0 + 1000,
                    end: t0 + 2000,
                    src: pod(ns, w, 45000),
                    dst: Endpoint {
                        ip: "203.0.113.5".into(),
                        port: 443,
                        dns_name: Some("api.example.com".into()),
                        ..Endpoint::default()
                    },
                    protocol: "tcp".into(),
                    packets_out: 10,
                    bytes_out: 900,
                    packets_in: 10,
                    bytes_in: 4000,
                    tcp_state: Some(TcpState::Closed),
                    security: Security::Tls,
                    verdict: Verdict::Allowed,
                    reporter: "synthetic".into(),
                    ..FlowRecord::default()
                });
            }
        }
    }
    out
}

/// Writes [`records`] for `minutes` consecutive minutes from `t0` into `store`.
pub fn load(store: &mut dyn Store, namespaces: usize, per_ns: usize, t0: i64, minutes: i64) {
    let mut agg = Aggregator::new(SuffixList::parse("com\norg\n"));
    for m in 0..minutes {
        for r in records(namespaces, per_ns, t0 + m * 60_000) {
            agg.add_flow(&r);
        }
        store.write(&agg.take()).expect("writing synthetic records");
    }
}
