//! Reference comparison with Wireshark's tshark (Debian package `tshark`): on captures we
//! write, per-conversation frame and byte counts in each direction equal
//! `tshark -q -z conv,tcp -z conv,udp`, and DNS names equal `tshark -Y dns`.

use palisade_observe::dns::build as dnsb;
use palisade_observe::example;
use palisade_observe::flow::{Config, FlowTable};
use palisade_observe::packet::build::{tcp, udp};
use palisade_observe::packet::{ACK, FIN, LINKTYPE_ETHERNET, SYN};
use palisade_observe::pcap::Writer;
use palisade_observe::sensor::read_file;
use palisade_store::{DnsRecord, FlowRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

/// A deterministic mix: 300 TCP and UDP conversations between 40 addresses, payloads of
/// 0-1400 bytes, unanswered SYNs, one-way UDP, and DNS queries with answers.
fn mix() -> Vec<u8> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut frames: Vec<(i64, Vec<u8>)> = Vec::new();
    let t0 = 1_790_000_000_000_000_000i64;
    for c in 0..300u64 {
        let a = Ipv4Addr::new(10, 9, (rnd(4)) as u8, 1 + rnd(10) as u8);
        let b = Ipv4Addr::new(10, 8, 0, 1 + rnd(10) as u8);
        let ap = 30000 + c as u16;
        let bp = [80u16, 443, 5432, 8080, 9000][rnd(5) as usize];
        let mut t = t0 + c as i64 * 3_000_000;
        let mut tick = || {
            t += 100_000;
            t
        };
        match rnd(4) {
            0 | 1 => {
                frames.push((tick(), tcp(a, ap, b, bp, 1, 0, SYN, b"")));
                if rnd(5) == 0 {
                    continue; // unanswered
                }
                frames.push((tick(), tcp(b, bp, a, ap, 1, 2, SYN | ACK, b"")));
                for _ in 0..rnd(5) {
                    let n = rnd(1400) as usize;
                    frames.push((tick(), tcp(a, ap, b, bp, 2, 2, ACK, &vec![b'q'; n])));
                    let n = rnd(1400) as usize;
                    frames.push((tick(), tcp(b, bp, a, ap, 2, 2, ACK, &vec![7u8; n])));
                }
                frames.push((tick(), tcp(a, ap, b, bp, 3, 3, FIN | ACK, b"")));
                frames.push((tick(), tcp(b, bp, a, ap, 3, 4, FIN | ACK, b"")));
            }
            2 => {
                for _ in 0..1 + rnd(6) {
                    let n = rnd(1200) as usize;
                    frames.push((tick(), udp(a, ap, b, bp, &vec![1u8; n])));
                    if rnd(2) == 0 {
                        frames.push((tick(), udp(b, bp, a, ap, &vec![2u8; n / 2])));
                    }
                }
            }
            _ => {
                let name = format!("svc{}.ns{}.example.com", rnd(50), rnd(5));
                let id = c as u16;
                frames.push((tick(), udp(a, ap, b, 53, &dnsb::query(id, &name, 1))));
                if rnd(4) != 0 {
                    let answer = format!("192.0.2.{}", rnd(250));
                    frames.push((
                        tick(),
                        udp(
                            b,
                            53,
                            a,
                            ap,
                            &dnsb::response(id, &name, 1, 0, &[(1, 30, &answer)]),
                        ),
                    ));
                }
            }
        }
    }
    frames.sort_by_key(|f| f.0);
    let mut w = Writer::new(Vec::new(), LINKTYPE_ETHERNET).unwrap();
    for (t, f) in frames {
        w.write(t, &f).unwrap();
    }
    w.into_inner()
}

fn tshark_available() -> bool {
    match Command::new("tshark").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("tshark is not installed; .ci/run installs Debian's tshark");
            }
            eprintln!("skipped: tshark is not installed (Debian package tshark)");
            false
        }
    }
}

/// (client addr:port, server addr:port) → (frames A→B, bytes A→B, frames B→A, bytes B→A),
/// keyed by the ordered pair as tshark prints it (A first).
type Conv = BTreeMap<(String, String), (u64, u64, u64, u64)>;

fn bytes(num: &str, unit: &str) -> u64 {
    assert_eq!(
        unit, "bytes",
        "tshark printed a size in {unit}: keep conversations under 10 kB"
    );
    num.replace(',', "").parse().unwrap()
}

fn tshark_conv(path: &Path) -> Conv {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-q", "-z", "conv,tcp", "-z", "conv,udp"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut conv = Conv::new();
    for line in text.lines().filter(|l| l.contains("<->")) {
        let w: Vec<&str> = line.split_whitespace().collect();
        // A <-> B | B→A frames, bytes | A→B frames, bytes | total | start | duration
        let ba = (w[3].parse::<u64>().unwrap(), bytes(w[4], w[5]));
        let ab = (w[6].parse::<u64>().unwrap(), bytes(w[7], w[8]));
        let prev = conv.insert(
            (w[0].to_string(), w[2].to_string()),
            (ab.0, ab.1, ba.0, ba.1),
        );
        assert!(prev.is_none(), "tshark split {} <-> {} in two", w[0], w[2]);
    }
    conv
}

fn ours(path: &Path) -> (Vec<FlowRecord>, Vec<DnsRecord>) {
    let mut t = FlowTable::new(Config::default());
    let mut out = (Vec::new(), Vec::new());
    let (_, err) = read_file(path, &mut t, &mut out);
    assert!(err.is_none(), "{err:?}");
    t.finish(&mut out);
    out
}

fn compare(pcap: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.pcap");
    std::fs::write(&path, pcap).unwrap();
    let theirs = tshark_conv(&path);
    let (flows, dns) = ours(&path);
    assert!(
        theirs.len() >= 20,
        "tshark listed only {} conversations",
        theirs.len()
    );
    assert_eq!(flows.len(), theirs.len(), "number of conversations");
    for f in &flows {
        let s = format!("{}:{}", f.src.ip, f.src.port);
        let d = format!("{}:{}", f.dst.ip, f.dst.port);
        let (got, want) = match (
            theirs.get(&(s.clone(), d.clone())),
            theirs.get(&(d.clone(), s.clone())),
        ) {
            (Some(t), _) => ((f.packets_out, f.bytes_out, f.packets_in, f.bytes_in), *t),
            (None, Some(t)) => ((f.packets_in, f.bytes_in, f.packets_out, f.bytes_out), *t),
            (None, None) => panic!("tshark has no conversation {s} <-> {d}"),
        };
        assert_eq!(
            got, want,
            "{s} <-> {d}: ours (frames, bytes each way) vs tshark"
        );
    }
    // DNS: the names and the number of responses.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            "dns",
            "-T",
            "fields",
            "-e",
            "dns.qry.name",
            "-e",
            "dns.flags.response",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut names = BTreeSet::new();
    let mut responses = 0;
    for l in text.lines() {
        let mut it = l.split('\t');
        names.insert(it.next().unwrap_or("").to_string());
        let r = it.next().unwrap_or("");
        if r == "1" || r == "True" {
            responses += 1;
        }
    }
    assert!(names.len() >= 2, "tshark listed DNS names {names:?}");
    let our_names: BTreeSet<String> = dns.iter().map(|d| d.qname.clone()).collect();
    assert_eq!(our_names, names, "DNS names");
    assert_eq!(
        dns.iter().filter(|d| d.rcode.is_some()).count(),
        responses,
        "DNS responses"
    );
}

#[test]
fn example_capture_matches_tshark() {
    if tshark_available() {
        compare(&example::pcap());
    }
}

#[test]
fn synthetic_mix_matches_tshark() {
    if tshark_available() {
        compare(&mix());
    }
}
