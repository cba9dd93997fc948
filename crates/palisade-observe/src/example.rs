//! The example capture (`examples/observe/example.pcap`): traffic between the pods of
//! `examples/observe/snapshot.yaml` — DNS with a CNAME chain and an NXDOMAIN, TLS to an
//! external API, a database, a plaintext cache, plain HTTP out, a connection the policy
//! denies — written with our own pcap writer. A test keeps the committed file current.

use crate::dns::build as dnsb;
use crate::l7;
use crate::packet::build::{tcp, udp};
use crate::packet::{ACK, FIN, LINKTYPE_ETHERNET, SYN};
use crate::pcap::Writer;
use std::net::Ipv4Addr;

pub const WEB: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 10);
pub const DB: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 20);
pub const CACHE: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 30);
pub const REPORT: Ipv4Addr = Ipv4Addr::new(10, 244, 2, 40);
pub const COREDNS: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 5);
pub const API: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
pub const STATUS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

/// 2026-12-01T10:00:00Z in ns.
pub const T0_NS: i64 = 1_796_119_200_000_000_000;
const MS: i64 = 1_000_000;

/// A TCP conversation builder: handshake, exchanges, close.
struct Conn<'a> {
    frames: &'a mut Vec<(i64, Vec<u8>)>,
    c: Ipv4Addr,
    cp: u16,
    s: Ipv4Addr,
    sp: u16,
    cseq: u32,
    sseq: u32,
    t: i64,
}

impl Conn<'_> {
    fn push(&mut self, from_client: bool, flags: u8, data: &[u8]) {
        self.t += MS;
        let f = if from_client {
            tcp(
                self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, flags, data,
            )
        } else {
            tcp(
                self.s, self.sp, self.c, self.cp, self.sseq, self.cseq, flags, data,
            )
        };
        let adv = data.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(adv);
        } else {
            self.sseq = self.sseq.wrapping_add(adv);
        }
        self.frames.push((self.t, f));
    }
    fn open(&mut self) {
        self.push(true, SYN, b"");
        self.push(false, SYN | ACK, b"");
        self.push(true, ACK, b"");
    }
    fn close(&mut self) {
        self.push(true, FIN | ACK, b"");
        self.push(false, FIN | ACK, b"");
        self.push(true, ACK, b"");
    }
}

#[allow(clippy::too_many_arguments)]
fn conn(
    frames: &mut Vec<(i64, Vec<u8>)>,
    t: i64,
    c: Ipv4Addr,
    cp: u16,
    s: Ipv4Addr,
    sp: u16,
    exchanges: &[(&[u8], &[u8])],
) {
    let mut k = Conn {
        frames,
        c,
        cp,
        s,
        sp,
        cseq: 1000 + cp as u32,
        sseq: 9000 + sp as u32,
        t,
    };
    k.open();
    for (req, resp) in exchanges {
        k.push(true, ACK | 0x08, req);
        k.push(false, ACK | 0x08, resp);
    }
    k.close();
}

/// The frames of the example, in time order: (ts_ns, Ethernet frame).
pub fn frames() -> Vec<(i64, Vec<u8>)> {
    let mut f = Vec::new();
    let t = T0_NS;
    // web resolves the API: a CNAME chain to an address.
    f.push((
        t,
        udp(
            WEB,
            40001,
            COREDNS,
            53,
            &dnsb::query(0x1a2b, "api.example.com", 1),
        ),
    ));
    f.push((
        t + 2 * MS,
        udp(
            COREDNS,
            53,
            WEB,
            40001,
            &dnsb::response(
                0x1a2b,
                "api.example.com",
                1,
                0,
                &[(5, 300, "api.edge.example.net"), (1, 60, "203.0.113.10")],
            ),
        ),
    ));
    // web → API over TLS.
    conn(
        &mut f,
        t + 10 * MS,
        WEB,
        41000,
        API,
        443,
        &[
            (&l7::client_hello("api.example.com"), &l7::server_hello()),
            (
                &[0x17, 3, 3, 0, 4, 0xde, 0xad, 0xbe, 0xef],
                &[0x17, 3, 3, 0, 2, 0x42, 0x42],
            ),
        ],
    );
    // web → db, twenty short connections over three minutes (binary protocol).
    for i in 0..20 {
        conn(
            &mut f,
            t + 100 * MS + i * 9_000 * MS,
            WEB,
            42000 + i as u16,
            DB,
            5432,
            &[(&[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f], b"N")],
        );
    }
    // web → cache, plaintext.
    conn(
        &mut f,
        t + 300 * MS,
        WEB,
        43000,
        CACHE,
        6379,
        &[
            (b"PING\r\n", b"+PONG\r\n"),
            (b"GET session:42\r\n", b"$-1\r\n"),
        ],
    );
    // web → an external status page over plain HTTP.
    conn(
        &mut f,
        t + 400 * MS,
        WEB,
        44000,
        STATUS,
        80,
        &[(
            b"GET /v1/status HTTP/1.1\r\nHost: status.example.org\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        )],
    );
    // report → db: denied by the policy, so SYNs go unanswered (a retransmission too).
    f.push((t + 500 * MS, tcp(REPORT, 45000, DB, 5432, 7, 0, SYN, b"")));
    f.push((t + 1500 * MS, tcp(REPORT, 45000, DB, 5432, 7, 0, SYN, b"")));
    // report resolves a name that does not exist.
    f.push((
        t + 600 * MS,
        udp(
            REPORT,
            40002,
            COREDNS,
            53,
            &dnsb::query(0x3c4d, "nope.example.org", 1),
        ),
    ));
    f.push((
        t + 601 * MS,
        udp(
            COREDNS,
            53,
            REPORT,
            40002,
            &dnsb::response(0x3c4d, "nope.example.org", 1, 3, &[]),
        ),
    ));
    f.sort_by_key(|x| x.0);
    f
}

/// The example as pcap bytes.
pub fn pcap() -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), LINKTYPE_ETHERNET).expect("writing to memory");
    for (t, frame) in frames() {
        w.write(t, &frame).expect("writing to memory");
    }
    w.into_inner()
}
