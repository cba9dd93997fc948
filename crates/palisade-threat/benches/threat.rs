//! Matching and retrospective-search benchmark (`scripts/bench-threat.sh` runs it pinned to
//! one core). Prints one line per figure:
//!
//! - index: 1,000,000 indicators (700,000 IPv4 addresses, 1% /24s and 0.1% /16-/23s; 50,000 IPv6
//!   networks, 250,000 domains): build time, the index's own estimate of its bytes, and the
//!   process's resident-memory growth while building it;
//! - matching: 1,000,000 flow records and 1,000,000 DNS records (question, CNAME, address)
//!   against that index on one thread, records per second (about 0.1% of them hit);
//! - retrospective search: 7 days of history in a SQLite store (external flows kept in
//!   detail and DNS rows), `details` + `dns_by_workload` over 7 days and matching every row.
//!
//! Arguments: `[INDICATORS] [RECORDS] [STORE_FLOWS]` (defaults 1000000 1000000 300000).

use palisade_store::psl::SuffixList;
use palisade_store::{
    Aggregator, DnsAnswer, DnsRecord, Endpoint, EndpointKind, Filter, FlowRecord, Scope,
    SqliteOptions, SqliteStore, Store as _,
};
use palisade_threat::feeds::Ioc;
use palisade_threat::index::Index;
use palisade_threat::matcher::Matcher;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn word(r: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| LETTERS[r.below(LETTERS.len() as u64) as usize] as char)
        .collect()
}

fn v4(r: &mut Rng) -> std::net::Ipv4Addr {
    // Public-looking addresses 1.0.0.0 - 223.255.255.255.
    std::net::Ipv4Addr::from(0x0100_0000 + (r.below(0xdf00_0000) as u32))
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_ind = *args.first().unwrap_or(&1_000_000) as usize;
    let n_rec = *args.get(1).unwrap_or(&1_000_000) as usize;
    let n_store = *args.get(2).unwrap_or(&300_000) as usize;
    let psl = SuffixList::system();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);

    // Indicators.
    let n_v4 = n_ind * 7 / 10;
    let n_v6 = n_ind / 20;
    let n_dom = n_ind - n_v4 - n_v6;
    let mut iocs = Vec::with_capacity(n_ind);
    let mut known_v4 = Vec::new();
    let mut known_dom = Vec::new();
    for i in 0..n_v4 {
        let a = v4(&mut r);
        // As in real block lists: mostly single addresses, some /24s, a few wider networks.
        let len = match i % 1000 {
            0..=9 => 24,
            10 => 16 + r.below(8) as u8,
            _ => 32,
        };
        let n = ipnet::Ipv4Net::new(a, len).unwrap().trunc();
        if i % 1000 == 0 {
            known_v4.push(a);
        }
        iocs.push(Ioc::Net(ipnet::IpNet::V4(n)));
    }
    for _ in 0..n_v6 {
        let a = std::net::Ipv6Addr::from(
            (0x2001_0db8u128 << 96) | ((r.next() as u128) << 32) | r.next() as u128,
        );
        let n = ipnet::Ipv6Net::new(a, 48 + r.below(81) as u8)
            .unwrap()
            .trunc();
        iocs.push(Ioc::Net(ipnet::IpNet::V6(n)));
    }
    let tlds = ["com", "net", "org", "info", "ru", "co.uk", "xyz"];
    for i in 0..n_dom {
        let len = 6 + r.below(10) as usize;
        let d = format!("{}.{}", word(&mut r, len), tlds[i % tlds.len()]);
        if i % 1000 == 0 {
            known_dom.push(d.clone());
        }
        iocs.push(Ioc::Domain(d));
    }
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut index = Index::new(psl.clone());
    let f = index.add_feed("bench", "generated");
    for i in &iocs {
        index.insert(i, f);
    }
    let build = t.elapsed();
    let rss1 = rss_kib();
    println!(
        "index: {} indicators ({} IPv4, {} IPv6, {} domains) built in {:.2} s; estimate {:.1} MB; resident growth {:.1} MB",
        index.len(),
        n_v4,
        n_v6,
        n_dom,
        build.as_secs_f64(),
        index.mem_size() as f64 / 1e6,
        (rss1.saturating_sub(rss0)) as f64 * 1024.0 / 1e6
    );
    drop(iocs);

    // Records: 0.1% hit an indicator.
    let pod = |i: usize| Endpoint {
        ip: format!("10.244.{}.{}", (i / 250) % 250, i % 250),
        port: 40000 + (i % 20000) as u16,
        kind: EndpointKind::Pod,
        namespace: Some(format!("ns{}", i % 50)),
        workload: Some(format!("w{}", i % 500)),
        pod: Some(format!("w{}-{}", i % 500, i % 7)),
        ..Endpoint::default()
    };
    let mut flows = Vec::with_capacity(n_rec);
    for i in 0..n_rec {
        let dst = if i % 1000 == 0 {
            known_v4[r.below(known_v4.len() as u64) as usize]
        } else {
            v4(&mut r)
        };
        flows.push(FlowRecord {
            start: i as i64,
            end: i as i64 + 10,
            src: pod(i),
            dst: Endpoint {
                ip: dst.to_string(),
                port: 443,
                kind: EndpointKind::External,
                ..Endpoint::default()
            },
            protocol: "tcp".into(),
            reporter: "bench".into(),
            ..FlowRecord::default()
        });
    }
    let mut dns = Vec::with_capacity(n_rec);
    for i in 0..n_rec {
        let q = if i % 1000 == 0 {
            format!(
                "www.{}",
                known_dom[r.below(known_dom.len() as u64) as usize]
            )
        } else {
            format!("{}.{}.com", word(&mut r, 3), word(&mut r, 9))
        };
        let target = format!("edge.{}.net", word(&mut r, 8));
        dns.push(DnsRecord {
            time: i as i64,
            client: pod(i),
            qname: q.clone(),
            qtype: "A".into(),
            rcode: Some("NOERROR".into()),
            answers: vec![
                DnsAnswer {
                    name: q,
                    rtype: "CNAME".into(),
                    ttl: 60,
                    data: target.clone(),
                },
                DnsAnswer {
                    name: target,
                    rtype: "A".into(),
                    ttl: 60,
                    data: v4(&mut r).to_string(),
                },
            ],
            reporter: "bench".into(),
            ..DnsRecord::default()
        });
    }
    let mut m = Matcher::new(&index);
    let t = Instant::now();
    for f in &flows {
        m.flow(f);
    }
    let ft = t.elapsed().as_secs_f64();
    let hits_f = m.hits().len();
    let mut m = Matcher::new(&index);
    let t = Instant::now();
    for d in &dns {
        m.dns(d);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "matching flows: {} records in {:.3} s = {:.0} records/s ({} hit groups)",
        n_rec,
        ft,
        n_rec as f64 / ft,
        hits_f
    );
    println!(
        "matching DNS (question + CNAME + address): {} records in {:.3} s = {:.0} records/s ({} hit groups)",
        n_rec,
        dt,
        n_rec as f64 / dt,
        m.hits().len()
    );
    drop(flows);
    drop(dns);

    // Retrospective: 7 days of stored history.
    let dir = std::env::temp_dir().join(format!("palisade-bench-threat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("flows.db");
    let now = palisade_detect::time::now_ns() / 1_000_000;
    let week = 7 * 86_400_000i64;
    {
        let mut store = SqliteStore::open(&db, &SqliteOptions::default()).unwrap();
        let mut agg = Aggregator::new(psl.clone());
        let t = Instant::now();
        for i in 0..n_store {
            let when = now - week + (i as i64 * week / n_store as i64);
            let dst = if i % 1000 == 0 {
                known_v4[r.below(known_v4.len() as u64) as usize]
            } else {
                v4(&mut r)
            };
            agg.add_flow(&FlowRecord {
                start: when,
                end: when + 100,
                src: pod(i),
                dst: Endpoint {
                    ip: dst.to_string(),
                    port: 443,
                    kind: EndpointKind::External,
                    ..Endpoint::default()
                },
                protocol: "tcp".into(),
                packets_out: 2,
                bytes_out: 200,
                reporter: "bench".into(),
                ..FlowRecord::default()
            });
            if i % 3 == 0 {
                let q = if i % 3000 == 0 {
                    format!(
                        "www.{}",
                        known_dom[r.below(known_dom.len() as u64) as usize]
                    )
                } else {
                    format!("api.{}.com", word(&mut r, 8))
                };
                agg.add_dns(&DnsRecord {
                    time: when,
                    client: pod(i),
                    qname: q.clone(),
                    qtype: "A".into(),
                    rcode: Some("NOERROR".into()),
                    answers: vec![DnsAnswer {
                        name: q,
                        rtype: "A".into(),
                        ttl: 60,
                        data: v4(&mut r).to_string(),
                    }],
                    reporter: "bench".into(),
                    ..DnsRecord::default()
                });
            }
            if agg.pending() >= 50_000 {
                store.write(&agg.take()).unwrap();
            }
        }
        store.write(&agg.take()).unwrap();
        println!(
            "store: {} external flows and {} DNS queries over 7 days written in {:.1} s",
            n_store,
            n_store.div_ceil(3),
            t.elapsed().as_secs_f64()
        );
    }
    let store = SqliteStore::open(&db, &SqliteOptions::default()).unwrap();
    let f = Filter {
        since: now - week,
        until: now + 1,
        ..Filter::default()
    };
    let t = Instant::now();
    let mut m = Matcher::new(&index);
    let details = store
        .details(&Filter {
            scope: Some(Scope::External),
            ..f.clone()
        })
        .unwrap();
    let read_flows = t.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let rows = store.dns_by_workload(&f).unwrap();
    let read_dns = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    for d in &details {
        m.flow(d);
    }
    for d in &rows {
        m.dns_row(d);
    }
    let matching = t2.elapsed().as_secs_f64();
    let el = t.elapsed().as_secs_f64();
    println!(
        "retrospective 7-day search: {} flow details + {} DNS rows read and matched in {:.2} s (reading flows {:.2} s, DNS rows {:.2} s, matching {:.2} s; {} hit groups)",
        details.len(),
        rows.len(),
        el,
        read_flows,
        read_dns,
        matching,
        m.hits().len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
