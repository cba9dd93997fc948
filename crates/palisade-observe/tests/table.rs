//! Flow-table behaviour on synthetic packets: timeouts, the size cap, restarts, DNS matching.

use palisade_observe::dns::build as dnsb;
use palisade_observe::flow::{Config, FlowTable};
use palisade_observe::packet::{build, parse, ACK, FIN, LINKTYPE_ETHERNET, RST, SYN};
use palisade_store::{DnsRecord, FlowRecord, TcpState};
use std::net::Ipv4Addr;

const S: i64 = 1_000_000_000;
const C: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const D: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn feed(t: &mut FlowTable, out: &mut (Vec<FlowRecord>, Vec<DnsRecord>), ts: i64, frame: &[u8]) {
    let p = parse(LINKTYPE_ETHERNET, frame).unwrap();
    t.packet(ts, frame.len() as u32, &p, out);
}

#[test]
fn full_table_evicts_oldest_and_counts() {
    let mut t = FlowTable::new(Config {
        max_flows: 32,
        ..Config::default()
    });
    let mut out = (Vec::new(), Vec::new());
    for i in 0..100u16 {
        feed(
            &mut t,
            &mut out,
            i as i64 * 1000,
            &build::udp(C, 10000 + i, D, 9000, b"x"),
        );
    }
    assert!(t.len() <= 32);
    assert_eq!(t.counters.evicted as usize, out.0.len());
    assert!(out.0.iter().all(|r| r.evicted));
    // The evicted ones are the oldest.
    let max_evicted = out.0.iter().map(|r| r.src.port).max().unwrap();
    assert!(max_evicted < 10000 + 100 - 30, "{max_evicted}");
    t.finish(&mut out);
    assert_eq!(
        out.0.len(),
        100,
        "every flow is emitted once, evicted or not"
    );
    assert_eq!(t.counters.flows_created, 100);
}

#[test]
fn idle_and_active_timeouts() {
    let cfg = Config {
        idle_timeout_ns: 10 * S,
        active_timeout_ns: 30 * S,
        ..Config::default()
    };
    let mut t = FlowTable::new(cfg);
    let mut out = (Vec::new(), Vec::new());
    // A flow that goes quiet is flushed by idle timeout while the chatty one continues.
    feed(&mut t, &mut out, 0, &build::udp(C, 5001, D, 6000, b"once"));
    // A chatty UDP flow for 70 s, one packet a second: three active-timeout slices.
    for s in 0..70 {
        feed(
            &mut t,
            &mut out,
            s * S,
            &build::udp(C, 5000, D, 6000, b"tick"),
        );
    }
    t.finish(&mut out);
    let chatty: Vec<_> = out.0.iter().filter(|r| r.src.port == 5000).collect();
    assert_eq!(chatty.len(), 3, "{chatty:#?}");
    assert_eq!(chatty.iter().map(|r| r.packets_out).sum::<u64>(), 70);
    let quiet: Vec<_> = out.0.iter().filter(|r| r.src.port == 5001).collect();
    assert_eq!(quiet.len(), 1);
    assert_eq!(quiet[0].end, 0);
    // It was flushed by the sweep, before the chatty flow's last slice.
    let pos_quiet = out.0.iter().position(|r| r.src.port == 5001).unwrap();
    let pos_last = out.0.iter().rposition(|r| r.src.port == 5000).unwrap();
    assert!(pos_quiet < pos_last);
}

#[test]
fn tcp_states_and_restart_after_close() {
    let mut t = FlowTable::new(Config::default());
    let mut out = (Vec::new(), Vec::new());
    // Reset connection.
    feed(
        &mut t,
        &mut out,
        0,
        &build::tcp(C, 1111, D, 80, 1, 0, SYN, b""),
    );
    feed(
        &mut t,
        &mut out,
        1,
        &build::tcp(D, 80, C, 1111, 0, 2, RST | ACK, b""),
    );
    // Same tuple again after the reset: a new flow.
    feed(
        &mut t,
        &mut out,
        2,
        &build::tcp(C, 1111, D, 80, 1, 0, SYN, b""),
    );
    feed(
        &mut t,
        &mut out,
        3,
        &build::tcp(D, 80, C, 1111, 5, 2, SYN | ACK, b""),
    );
    // Mid-stream traffic first seen from the server side: the client is still the initiator.
    feed(
        &mut t,
        &mut out,
        4,
        &build::tcp(D, 443, C, 50000, 9, 9, ACK, b"\x17\x03\x03"),
    );
    feed(
        &mut t,
        &mut out,
        5,
        &build::tcp(C, 50000, D, 443, 9, 9, ACK | FIN, b""),
    );
    t.finish(&mut out);
    let mut states: Vec<_> = out
        .0
        .iter()
        .map(|r| (r.src.port, r.dst.port, r.tcp_state.unwrap()))
        .collect();
    states.sort_by_key(|s| (s.0, s.1, s.2 as u8));
    assert_eq!(
        states,
        vec![
            (1111, 80, TcpState::Established),
            (1111, 80, TcpState::Reset),
            (50000, 443, TcpState::Established)
        ]
    );
}

#[test]
fn dns_over_tcp_and_unanswered_queries() {
    let mut t = FlowTable::new(Config::default());
    let mut out = (Vec::new(), Vec::new());
    let q = dnsb::query(9, "svc.example.com", 28);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend(&q);
    feed(
        &mut t,
        &mut out,
        0,
        &build::tcp(C, 3333, D, 53, 1, 1, ACK, &framed),
    );
    let r = dnsb::response(9, "svc.example.com", 28, 0, &[(5, 10, "other.example.com")]);
    let mut framed = (r.len() as u16).to_be_bytes().to_vec();
    framed.extend(&r);
    feed(
        &mut t,
        &mut out,
        1_000_000,
        &build::tcp(D, 53, C, 3333, 1, 1, ACK, &framed),
    );
    feed(
        &mut t,
        &mut out,
        2_000_000,
        &build::udp(C, 4444, D, 53, &dnsb::query(10, "lost.example.com", 1)),
    );
    feed(
        &mut t,
        &mut out,
        3_000_000,
        &build::udp(C, 4445, D, 53, b"not dns at all"),
    );
    t.finish(&mut out);
    assert_eq!(out.1.len(), 2);
    let a = out.1.iter().find(|d| d.qname == "svc.example.com").unwrap();
    assert_eq!(
        (a.protocol.as_str(), a.qtype.as_str(), a.latency_us),
        ("tcp", "AAAA", Some(1000))
    );
    assert_eq!(a.cname_chain(), vec!["other.example.com".to_string()]);
    let lost = out
        .1
        .iter()
        .find(|d| d.qname == "lost.example.com")
        .unwrap();
    assert_eq!(lost.rcode, None);
    assert_eq!(t.counters.dns_unanswered, 1);
    assert_eq!(t.counters.dns_errors, 1);
}
