//! The store and query suite. Every backend runs [`run`] on a fresh, empty store; each check
//! panics with the name of the query and what differed.

use crate::aggregate::{Aggregator, End, HOUR_MS, MINUTE_MS};
use crate::psl::SuffixList;
use crate::query::{Filter, Resolution, Retention, Scope, Store};
use crate::record::{
    DnsAnswer, DnsRecord, Endpoint, EndpointKind, FlowRecord, Security, TcpState, Verdict,
};
use std::collections::BTreeMap;

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;

fn pod(ns: &str, w: &str, ip: &str, port: u16, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        ip: ip.into(),
        port,
        kind: EndpointKind::Pod,
        namespace: Some(ns.into()),
        workload: Some(w.into()),
        pod: Some(format!("{w}-7d4b9c-x1")),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        dns_name: None,
    }
}

fn web(port: u16) -> Endpoint {
    pod(
        "shop",
        "web",
        "10.1.0.10",
        port,
        &[("app", "web"), ("tier", "front")],
    )
}

fn flow(start: i64, src: Endpoint, dst: Endpoint) -> FlowRecord {
    FlowRecord {
        start,
        end: start + 400,
        src,
        dst,
        protocol: "tcp".into(),
        packets_out: 5,
        bytes_out: 100,
        packets_in: 4,
        bytes_in: 200,
        tcp_state: Some(TcpState::Closed),
        tcp_flags: 0x1b,
        reporter: "sensor".into(),
        ..FlowRecord::default()
    }
}

/// The records the suite stores: (flows, dns).
pub fn dataset() -> (Vec<FlowRecord>, Vec<DnsRecord>) {
    let db = || pod("shop", "db", "10.1.0.20", 5432, &[("app", "db")]);
    let mut flows = Vec::new();
    // web → db, TLS, 10 flows in minute 0 and 5 in minute 1.
    for i in 0..15 {
        let t = T0
            + if i < 10 {
                i * 1000
            } else {
                MINUTE_MS + i * 1000
            };
        let mut f = flow(t, web(40000 + i as u16), db());
        f.security = Security::Tls;
        f.verdict = Verdict::Allowed;
        flows.push(f);
    }
    // web → external API, TLS, resolved name.
    for i in 0..2 {
        let mut f = flow(
            T0 + 5000 + i,
            web(41000 + i as u16),
            Endpoint {
                ip: "203.0.113.5".into(),
                port: 443,
                dns_name: Some("api.example.com".into()),
                ..Endpoint::default()
            },
        );
        f.security = Security::Tls;
        f.sni = Some("api.example.com".into());
        flows.push(f);
    }
    // web → cache, plaintext.
    for i in 0..3 {
        let mut f = flow(
            T0 + 7000 + i,
            web(42000 + i as u16),
            pod("shop", "cache", "10.1.0.30", 6379, &[("app", "cache")]),
        );
        f.security = Security::Plaintext;
        flows.push(f);
    }
    // job → db denied, two hours later: a new edge.
    for i in 0..4 {
        let mut f = flow(
            T0 + 2 * HOUR_MS + i * 1000,
            pod(
                "batch",
                "job",
                "10.2.0.5",
                43000 + i as u16,
                &[("app", "job")],
            ),
            db(),
        );
        f.packets_in = 0;
        f.bytes_in = 0;
        f.tcp_state = Some(TcpState::Attempted);
        f.verdict = Verdict::Denied;
        f.policy = Some("shop/db-ingress".into());
        f.computed_verdict = Some(Verdict::Denied);
        flows.push(f);
    }
    let dns = |t: i64, client: Endpoint, q: &str, rcode: &str, a: &[&str]| DnsRecord {
        time: t,
        client,
        server: pod("kube-system", "coredns", "10.96.0.10", 53, &[]),
        protocol: "udp".into(),
        id: 7,
        qname: q.into(),
        qtype: "A".into(),
        rcode: Some(rcode.into()),
        answers: a
            .iter()
            .map(|d| DnsAnswer {
                name: q.into(),
                rtype: "A".into(),
                ttl: 30,
                data: d.to_string(),
            })
            .collect(),
        latency_us: Some(300),
        reporter: "sensor".into(),
    };
    let dnsr = vec![
        dns(
            T0 + 1000,
            web(50000),
            "api.example.com",
            "NOERROR",
            &["203.0.113.5"],
        ),
        dns(
            T0 + 2000,
            web(50001),
            "api.example.com.",
            "NOERROR",
            &["203.0.113.5"],
        ),
        dns(
            T0 + 3000,
            web(50002),
            "API.example.com",
            "NOERROR",
            &["203.0.113.5"],
        ),
        dns(
            T0 + 4000,
            web(50003),
            "www.example.com",
            "NOERROR",
            &["198.51.100.7"],
        ),
        dns(
            T0 + 2 * HOUR_MS,
            pod("batch", "job", "10.2.0.5", 50004, &[]),
            "foo.example.org",
            "NXDOMAIN",
            &[],
        ),
    ];
    (flows, dnsr)
}

fn day(res: Resolution) -> Filter {
    Filter {
        since: T0,
        until: T0 + 24 * HOUR_MS,
        resolution: Some(res),
        ..Filter::default()
    }
}

fn end(ns: &str, name: &str) -> End {
    End {
        namespace: ns.into(),
        name: name.into(),
        kind: EndpointKind::Pod,
    }
}

/// Writes the dataset in two batches (so counters must add across batches).
pub fn load(store: &mut dyn Store) {
    let (flows, dns) = dataset();
    let psl = SuffixList::parse("com\norg\n");
    let mut agg = Aggregator::new(psl);
    let half = flows.len() / 2;
    for f in &flows[..half] {
        agg.add_flow(f);
    }
    store.write(&agg.take()).expect("first batch");
    for f in &flows[half..] {
        agg.add_flow(f);
    }
    for d in &dns {
        agg.add_dns(d);
    }
    store.write(&agg.take()).expect("second batch");
}

/// Runs every check on an empty store.
pub fn run(store: &mut dyn Store) {
    load(store);
    let st = store.stats().expect("stats");
    assert_eq!(st.records, 29, "stats: records");
    assert_eq!(st.batches, 2, "stats: batches");
    // One detail row per minute and (pods, addresses, port, …): the source ports differ.
    assert_eq!(
        st.detail_rows, 3,
        "stats: detail rows (external, plaintext, denied)"
    );
    // 15 web→db flows in 2 minutes (2 rows), 2 external (1), 3 cache (1), 4 denied (1).
    assert_eq!(st.minute_rows, 5, "stats: one-minute rows");
    assert_eq!(st.hour_rows, 4, "stats: hourly rows");
    assert_eq!(st.day_rows, 4, "stats: daily rows");

    for res in [Resolution::Minute, Resolution::Hour] {
        let all = store.flows(&day(res)).expect("flows");
        assert_eq!(all.len(), 4, "flows at {res:?}: {all:#?}");
        let db = all
            .iter()
            .find(|e| e.src == end("shop", "web") && e.dst == end("shop", "db"))
            .expect("web → db edge");
        assert_eq!(db.counts.flows, 15, "web → db flows at {res:?}");
        assert_eq!(db.counts.bytes_out, 1500);
        assert_eq!(db.counts.bytes_in, 3000);
        assert_eq!(db.counts.packets_out, 75);
        assert_eq!(db.counts.tls_flows, 15);
        assert_eq!(db.counts.first_seen, T0);
        assert_eq!(db.counts.last_seen, T0 + MINUTE_MS + 14_000 + 400);
        assert_eq!(db.verdict, "allowed");
        let ext = all
            .iter()
            .find(|e| e.dst.kind == EndpointKind::External)
            .expect("external edge");
        assert_eq!(ext.dst.name, "203.0.113.0/24");
        assert_eq!(ext.dst_name, "api.example.com");
        assert_eq!(ext.port, 443);
        assert_eq!(ext.verdict, "unknown");
    }

    // Long ranges add whole days from the daily rollup and the hours around them from the
    // hourly one: the same answer as the day alone when the extra hours are empty…
    let around = store
        .flows(&Filter {
            since: T0 - 12 * HOUR_MS,
            until: T0 + 36 * HOUR_MS,
            resolution: Some(Resolution::Hour),
            ..Filter::default()
        })
        .expect("flows over a day and a half");
    assert_eq!(around, store.flows(&day(Resolution::Hour)).unwrap());
    // …and only the hours inside the range when the range starts after the day did.
    let later = store
        .flows(&Filter {
            since: T0 + HOUR_MS,
            until: T0 + 49 * HOUR_MS,
            resolution: Some(Resolution::Hour),
            ..Filter::default()
        })
        .expect("flows from the second hour");
    assert_eq!(
        later.len(),
        1,
        "only the job's edge is after T0 + 1h: {later:#?}"
    );
    assert_eq!(
        (later[0].src.clone(), later[0].counts.flows),
        (end("batch", "job"), 4)
    );

    let q = |f: Filter| store.flows(&f).expect("filtered flows");
    let base = day(Resolution::Minute);
    let n = |f: Filter| q(f).len();
    assert_eq!(
        n(Filter {
            namespace: Some("batch".into()),
            ..base.clone()
        }),
        1,
        "namespace filter"
    );
    assert_eq!(
        n(Filter {
            workload: Some("shop/cache".into()),
            ..base.clone()
        }),
        1,
        "workload filter ns/name"
    );
    assert_eq!(
        n(Filter {
            workload: Some("db".into()),
            ..base.clone()
        }),
        2,
        "workload filter by name"
    );
    assert_eq!(
        n(Filter {
            labels: vec![
                ("app".into(), "web".into()),
                ("tier".into(), "front".into())
            ],
            ..base.clone()
        }),
        3,
        "label filter"
    );
    assert_eq!(
        n(Filter {
            labels: vec![("app".into(), "nope".into())],
            ..base.clone()
        }),
        0,
        "label filter without match"
    );
    assert_eq!(
        n(Filter {
            port: Some(5432),
            ..base.clone()
        }),
        2,
        "port filter"
    );
    assert_eq!(
        n(Filter {
            protocol: Some("UDP".into()),
            ..base.clone()
        }),
        0,
        "protocol filter"
    );
    let denied = q(Filter {
        verdict: Some(Verdict::Denied),
        ..base.clone()
    });
    assert_eq!(denied.len(), 1, "verdict filter");
    assert_eq!(denied[0].src, end("batch", "job"));
    assert_eq!(denied[0].counts.flows, 4);
    assert_eq!(
        n(Filter {
            scope: Some(Scope::External),
            ..base.clone()
        }),
        1,
        "external scope"
    );
    assert_eq!(
        n(Filter {
            scope: Some(Scope::Internal),
            ..base.clone()
        }),
        3,
        "internal scope"
    );
    assert_eq!(
        n(Filter {
            security: Some(Security::Tls),
            ..base.clone()
        }),
        2,
        "tls filter"
    );
    let plain = q(Filter {
        security: Some(Security::Plaintext),
        ..base.clone()
    });
    assert_eq!(plain.len(), 1, "plaintext filter");
    assert_eq!(plain[0].dst, end("shop", "cache"));
    // Time range: only the first minute.
    let first = q(Filter {
        until: T0 + MINUTE_MS,
        ..base.clone()
    });
    let db = first
        .iter()
        .find(|e| e.dst == end("shop", "db"))
        .expect("db edge in minute 0");
    assert_eq!(db.counts.flows, 10, "time range: first minute only");
    assert_eq!(
        n(Filter {
            limit: 2,
            ..base.clone()
        }),
        2,
        "limit"
    );
    assert!(
        store
            .flows(&Filter {
                since: T0,
                until: T0,
                ..Filter::default()
            })
            .is_err(),
        "an empty range is an error"
    );

    let top = store.top_talkers(&base).expect("top talkers");
    assert_eq!(top[0].end, end("shop", "web"), "top talker: {top:#?}");
    assert_eq!(top[0].flows, 20);
    assert_eq!(top[0].bytes_out, 2000);
    assert_eq!(top[1].end, end("batch", "job"));

    let g = store.graph(&day(Resolution::Hour)).expect("graph");
    assert_eq!(g.len(), 4, "graph edges: {g:#?}");
    let e = g
        .iter()
        .find(|e| e.src == end("batch", "job"))
        .expect("job edge");
    assert_eq!(
        (e.flows, e.denied, e.bytes),
        (4, 4, 400),
        "graph deny counts"
    );
    let e = g
        .iter()
        .find(|e| e.dst == end("shop", "db") && e.src == end("shop", "web"))
        .expect("web → db");
    assert_eq!((e.flows, e.denied, e.bytes), (15, 0, 4500));

    let d = store.dns_by_workload(&base).expect("dns by workload");
    let api = d
        .iter()
        .find(|r| r.qname == "api.example.com")
        .expect("api.example.com");
    assert_eq!(api.client, end("shop", "web"));
    assert_eq!(
        api.counts.queries, 3,
        "names are folded to lower case without the dot"
    );
    assert_eq!(api.counts.answers, "203.0.113.5");
    assert_eq!(api.domain, "example.com");
    assert_eq!(d.len(), 3, "dns rows: {d:#?}");
    let nx = d.iter().find(|r| r.rcode == "NXDOMAIN").expect("nxdomain");
    assert_eq!(nx.client, end("batch", "job"));
    let dom = store.dns_by_domain(&base).expect("dns by domain");
    assert_eq!(dom[0].domain, "example.com");
    assert_eq!((dom[0].queries, dom[0].clients, dom[0].names), (4, 1, 2));
    assert_eq!(dom[1].domain, "example.org");
    let dns_ns = store
        .dns_by_workload(&Filter {
            namespace: Some("batch".into()),
            ..base.clone()
        })
        .expect("dns by namespace");
    assert_eq!(dns_ns.len(), 1, "dns namespace filter");

    let new = store.new_edges(&base, T0 + HOUR_MS).expect("new edges");
    assert_eq!(new.len(), 1, "new edges: {new:#?}");
    assert_eq!(new[0].src, end("batch", "job"));
    assert!(store.new_edges(&base, T0).expect("new edges").len() == 4);

    let pol = store.denied_by_policy(&base).expect("denied by policy");
    assert_eq!(pol.len(), 1, "{pol:#?}");
    assert_eq!(pol[0].policy, "shop/db-ingress");
    assert_eq!((pol[0].flows, pol[0].edges), (4, 1));

    let det = store.details(&base).expect("details");
    assert_eq!(det.len(), 3);
    let (flows, _) = dataset();
    // The two external flows as one row: the first record without its source port, times
    // from first to last, counters added.
    let mut ext = flows[15].clone();
    ext.src.port = 0;
    ext.end = flows[16].end;
    ext.packets_out *= 2;
    ext.bytes_out *= 2;
    ext.packets_in *= 2;
    ext.bytes_in *= 2;
    ext.connections = 2;
    assert!(
        det.contains(&ext),
        "a detail row comes back whole: {det:#?}"
    );
    assert_eq!(det.iter().map(|r| r.connections()).sum::<u64>(), 9);
    let det_ext = store
        .details(&Filter {
            scope: Some(Scope::External),
            ..base.clone()
        })
        .expect("external details");
    assert_eq!(det_ext.len(), 1);
    assert_eq!(det_ext[0].dst.ip, "203.0.113.5");

    // Retention: after three days the minute rows are gone, the hourly rollups answer.
    let r = Retention {
        minute_age_ms: 2 * 24 * HOUR_MS,
        max_age_ms: 30 * 24 * HOUR_MS,
        max_bytes: 0,
    };
    let rep = store.retain(&r, T0 + 3 * 24 * HOUR_MS).expect("retain");
    assert_eq!(rep.minute_rows_deleted, 5, "{rep:?}");
    assert_eq!(rep.hour_rows_deleted, 0);
    assert!(store.flows(&base).expect("flows").is_empty());
    let hours = store.flows(&day(Resolution::Hour)).expect("flows");
    assert_eq!(hours.iter().map(|e| e.counts.flows).sum::<u64>(), 24);
    // Past the maximum age, everything goes.
    let rep = store.retain(&r, T0 + 31 * 24 * HOUR_MS).expect("retain");
    assert_eq!(rep.hour_rows_deleted, 4);
    assert_eq!(rep.day_rows_deleted, 4);
    assert_eq!(rep.detail_rows_deleted, 3);
    let st = store.stats().expect("stats");
    assert_eq!(
        (st.minute_rows, st.hour_rows, st.detail_rows),
        (0, 0, 0),
        "empty after max age"
    );
}

/// Retention by size: a store over its byte budget loses its oldest days first.
pub fn run_size_retention(store: &mut dyn Store) {
    let mut agg = Aggregator::new(SuffixList::default());
    // Four days, a batch every four hours.
    for h in (0..96).step_by(4) {
        for i in 0..200 {
            let mut f = flow(
                T0 + h * HOUR_MS + i,
                web(40000),
                pod("shop", &format!("svc{i}"), "10.1.0.99", 80, &[]),
            );
            f.security = Security::Plaintext; // kept in detail too
            agg.add_flow(&f);
        }
        store.write(&agg.take()).expect("write");
    }
    let before = store.stats().expect("stats");
    let budget = before.bytes / 2;
    let rep = store
        .retain(
            &Retention {
                minute_age_ms: i64::MAX / 4,
                max_age_ms: i64::MAX / 4,
                max_bytes: budget,
            },
            T0 + 97 * HOUR_MS,
        )
        .expect("retain by size");
    assert!(rep.bytes_after <= budget, "{rep:?} budget {budget}");
    assert!(rep.hour_rows_deleted > 0, "{rep:?} before {before:?}");
    let left = store
        .flows(&Filter {
            since: T0,
            until: T0 + 97 * HOUR_MS,
            resolution: Some(Resolution::Hour),
            ..Filter::default()
        })
        .expect("flows");
    let oldest = left.iter().map(|e| e.counts.first_seen).min().unwrap_or(0);
    assert!(oldest >= T0 + 24 * HOUR_MS, "the oldest day went first");
    let newest = left.iter().map(|e| e.counts.last_seen).max().unwrap_or(0);
    assert!(
        newest >= T0 + 92 * HOUR_MS,
        "the newest day stays: {rep:?} budget {budget} before {before:?}; newest {newest} first {:?}",
        left.first()
    );
}

/// Detail rows add up across writes: connections of one (minute, key) written by two batches
/// read as one row.
pub fn run_detail_merge(store: &mut dyn Store) {
    let (flows, _) = dataset();
    let mut agg = Aggregator::new(SuffixList::default());
    for f in &flows[15..17] {
        agg.add_flow(f);
        store.write(&agg.take()).expect("write");
    }
    let det = store.details(&day(Resolution::Minute)).expect("details");
    assert_eq!(det.len(), 1, "{det:#?}");
    assert_eq!(det[0].connections, 2);
    assert_eq!((det[0].start, det[0].end), (flows[15].start, flows[16].end));
    assert_eq!(det[0].bytes_out, flows[15].bytes_out * 2);
    assert_eq!(det[0].tcp_flags, flows[15].tcp_flags);
    assert_eq!(store.stats().expect("stats").detail_rows, 1);
}

/// The service-graph benchmark's data: `hours` hours from `t0` of 10,000 edges among 2,500
/// workloads in 50 namespaces, each edge active every hour (60 flow records an hour: one a
/// minute), written as hourly batches as the ingest path writes them.
pub fn write_graph_hours(store: &mut dyn Store, t0: i64, hours: i64) {
    use crate::aggregate::{FlowCounts, FlowKey};
    let end = |w: u64| End {
        namespace: format!("ns{}", w % 50),
        name: format!("wl{w}"),
        kind: EndpointKind::Pod,
    };
    for h in 0..hours {
        let mut b = crate::Batch::default();
        let t = t0 + h * HOUR_MS;
        for e in 0..10_000u64 {
            let (s, d) = (e % 2500, (e * 7919 + e / 2500 * 17 + 13) % 2500);
            b.flows.push((
                FlowKey {
                    bucket: t,
                    src: end(s),
                    dst: end(d),
                    dst_name: String::new(),
                    port: [80, 443, 5432, 8080][(e % 4) as usize],
                    protocol: "tcp".into(),
                    verdict: if e % 50 == 0 { "denied" } else { "allowed" }.into(),
                    reporter: "sensor".into(),
                },
                FlowCounts {
                    flows: 60,
                    packets_out: 600,
                    bytes_out: 60_000,
                    packets_in: 500,
                    bytes_in: 240_000,
                    first_seen: t,
                    last_seen: t + HOUR_MS - 1,
                    ..FlowCounts::default()
                },
            ));
        }
        b.records = 10_000 * 60;
        store.write(&b).expect("write a batch of the graph data");
    }
}
