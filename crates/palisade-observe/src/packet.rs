//! Frames to transport headers: Ethernet (with 802.1Q/802.1ad tags), Linux cooked capture
//! v1 and v2, raw IP and BSD loopback; IPv4 and IPv6 (extension headers walked); TCP, UDP,
//! SCTP ports; ICMP without ports. Zero-copy: the payload borrows the frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const LINKTYPE_NULL: u16 = 0;
pub const LINKTYPE_ETHERNET: u16 = 1;
pub const LINKTYPE_RAW: u16 = 101;
pub const LINKTYPE_LINUX_SLL: u16 = 113;
pub const LINKTYPE_IPV4: u16 = 228;
pub const LINKTYPE_IPV6: u16 = 229;
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const SCTP: u8 = 132;

/// Why a frame carries no flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// ARP, LLDP, … : not IP.
    NotIp,
    /// A link type this reader does not decode.
    LinkType,
    /// Shorter than its headers say.
    Truncated,
    /// A bad version or header length.
    Malformed,
    /// A non-first IP fragment (no transport header).
    Fragment,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotIp => "not_ip",
            Skip::LinkType => "unsupported_linktype",
            Skip::Truncated => "truncated",
            Skip::Malformed => "malformed",
            Skip::Fragment => "ip_fragment",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// TCP flags (0 for other protocols).
    pub flags: u8,
    /// Transport payload, trimmed to the IP length (Ethernet padding removed).
    pub payload: &'a [u8],
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]))
}

/// Decodes a frame of the given link type.
pub fn parse(linktype: u16, frame: &[u8]) -> Result<Packet<'_>, Skip> {
    let (ethertype, rest) = match linktype {
        LINKTYPE_ETHERNET => {
            let mut et = be16(frame, 12).ok_or(Skip::Truncated)?;
            let mut o = 14;
            let mut tags = 0;
            while (et == 0x8100 || et == 0x88a8) && tags < 4 {
                et = be16(frame, o + 2).ok_or(Skip::Truncated)?;
                o += 4;
                tags += 1;
            }
            (et, &frame[o.min(frame.len())..])
        }
        LINKTYPE_LINUX_SLL => (
            be16(frame, 14).ok_or(Skip::Truncated)?,
            frame.get(16..).ok_or(Skip::Truncated)?,
        ),
        LINKTYPE_LINUX_SLL2 => (
            be16(frame, 0).ok_or(Skip::Truncated)?,
            frame.get(20..).ok_or(Skip::Truncated)?,
        ),
        LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => match frame.first().map(|b| b >> 4) {
            Some(4) => (0x0800, frame),
            Some(6) => (0x86dd, frame),
            Some(_) => return Err(Skip::Malformed),
            None => return Err(Skip::Truncated),
        },
        LINKTYPE_NULL => {
            let fam = frame.get(..4).ok_or(Skip::Truncated)?;
            let fam = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let fam = if fam > 0xffff { fam.swap_bytes() } else { fam };
            match fam {
                2 => (0x0800, &frame[4..]),
                24 | 28 | 30 => (0x86dd, &frame[4..]),
                _ => return Err(Skip::NotIp),
            }
        }
        _ => return Err(Skip::LinkType),
    };
    match ethertype {
        0x0800 => ipv4(rest),
        0x86dd => ipv6(rest),
        _ => Err(Skip::NotIp),
    }
}

fn ipv4(b: &[u8]) -> Result<Packet<'_>, Skip> {
    if b.len() < 20 {
        return Err(Skip::Truncated);
    }
    if b[0] >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let ihl = (b[0] & 0x0f) as usize * 4;
    let total = be16(b, 2).ok_or(Skip::Truncated)? as usize;
    if ihl < 20 || total < ihl {
        return Err(Skip::Malformed);
    }
    if b.len() < ihl {
        return Err(Skip::Truncated);
    }
    let frag = be16(b, 6).ok_or(Skip::Truncated)?;
    if frag & 0x1fff != 0 {
        return Err(Skip::Fragment);
    }
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    // A snapped capture may hold less than the IP length says; keep what is there.
    let end = total.min(b.len());
    transport(src, dst, b[9], &b[ihl..end])
}

fn ipv6(b: &[u8]) -> Result<Packet<'_>, Skip> {
    if b.len() < 40 {
        return Err(Skip::Truncated);
    }
    if b[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let plen = be16(b, 4).ok_or(Skip::Truncated)? as usize;
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&b[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let end = (40 + plen).min(b.len());
    let mut next = b[6];
    let mut o = 40;
    // Hop-by-hop, routing, fragment, destination options, AH: at most 8 in a row.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let h = b.get(o..o + 2).ok_or(Skip::Truncated)?;
                next = h[0];
                o += (h[1] as usize + 1) * 8;
            }
            44 => {
                let h = b.get(o..o + 8).ok_or(Skip::Truncated)?;
                if u16::from_be_bytes([h[2], h[3]]) >> 3 != 0 {
                    return Err(Skip::Fragment);
                }
                next = h[0];
                o += 8;
            }
            51 => {
                let h = b.get(o..o + 2).ok_or(Skip::Truncated)?;
                next = h[0];
                o += (h[1] as usize + 2) * 4;
            }
            _ => break,
        }
    }
    if o > end {
        return Err(Skip::Truncated);
    }
    transport(src, dst, next, &b[o..end])
}

fn transport<'a>(src: IpAddr, dst: IpAddr, proto: u8, b: &'a [u8]) -> Result<Packet<'a>, Skip> {
    let mut p = Packet {
        src,
        dst,
        proto,
        sport: 0,
        dport: 0,
        flags: 0,
        payload: &[],
    };
    match proto {
        TCP => {
            if b.len() < 20 {
                return Err(Skip::Truncated);
            }
            let off = (b[12] >> 4) as usize * 4;
            if off < 20 {
                return Err(Skip::Malformed);
            }
            p.sport = u16::from_be_bytes([b[0], b[1]]);
            p.dport = u16::from_be_bytes([b[2], b[3]]);
            p.flags = b[13];
            p.payload = b.get(off..).unwrap_or(&[]);
        }
        UDP | SCTP => {
            if b.len() < 8 {
                return Err(Skip::Truncated);
            }
            p.sport = u16::from_be_bytes([b[0], b[1]]);
            p.dport = u16::from_be_bytes([b[2], b[3]]);
            p.payload = if proto == UDP {
                let ulen = u16::from_be_bytes([b[4], b[5]]) as usize;
                &b[8..ulen.clamp(8, b.len())]
            } else {
                &b[12.min(b.len())..]
            };
        }
        _ => p.payload = b,
    }
    Ok(p)
}

/// The protocol's name as records spell it.
pub fn proto_name(p: u8) -> String {
    match p {
        TCP => "tcp".into(),
        UDP => "udp".into(),
        SCTP => "sctp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        n => n.to_string(),
    }
}

/// Builds frames for tests, the example capture and benchmarks: Ethernet + IPv4 + TCP/UDP.
pub mod build {
    use std::net::Ipv4Addr;

    fn checksum(data: &[u8]) -> u16 {
        let mut sum = 0u32;
        for c in data.chunks(2) {
            sum += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    fn ether_ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + l4.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend(src.octets());
        ip.extend(dst.octets());
        let c = checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend(ip);
        f.extend(l4);
        if f.len() < 60 {
            f.resize(60, 0); // Ethernet minimum frame (without FCS)
        }
        f
    }

    fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> u16 {
        let mut p = Vec::with_capacity(12 + l4.len());
        p.extend(src.octets());
        p.extend(dst.octets());
        p.extend([0, proto]);
        p.extend((l4.len() as u16).to_be_bytes());
        p.extend(l4);
        checksum(&p)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        src: Ipv4Addr,
        sport: u16,
        dst: Ipv4Addr,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut t = Vec::with_capacity(20 + payload.len());
        t.extend(sport.to_be_bytes());
        t.extend(dport.to_be_bytes());
        t.extend(seq.to_be_bytes());
        t.extend(ack.to_be_bytes());
        t.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t.extend(payload);
        let c = pseudo(src, dst, 6, &t);
        t[16..18].copy_from_slice(&c.to_be_bytes());
        ether_ipv4(src, dst, 6, &t)
    }

    pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::with_capacity(8 + payload.len());
        u.extend(sport.to_be_bytes());
        u.extend(dport.to_be_bytes());
        u.extend(((8 + payload.len()) as u16).to_be_bytes());
        u.extend([0, 0]);
        u.extend(payload);
        let c = pseudo(src, dst, 17, &u);
        u[6..8].copy_from_slice(&c.to_be_bytes());
        ether_ipv4(src, dst, 17, &u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_ipv4_tcp_and_udp() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let f = build::tcp(a, 1234, b, 80, 1, 0, SYN, b"");
        let p = parse(LINKTYPE_ETHERNET, &f).unwrap();
        assert_eq!(
            (p.src, p.dst, p.proto, p.sport, p.dport, p.flags),
            (a.into(), b.into(), TCP, 1234, 80, SYN)
        );
        assert!(p.payload.is_empty(), "Ethernet padding is not payload");
        let f = build::udp(a, 5353, b, 53, b"abc");
        let p = parse(LINKTYPE_ETHERNET, &f).unwrap();
        assert_eq!((p.proto, p.payload), (UDP, &b"abc"[..]));
        assert_eq!(parse(LINKTYPE_ETHERNET, &f[..30]), Err(Skip::Truncated));
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(parse(LINKTYPE_ETHERNET, &arp), Err(Skip::NotIp));
        // A VLAN tag.
        let mut v = f[..12].to_vec();
        v.extend([0x81, 0x00, 0x00, 0x05]);
        v.extend(&f[12..]);
        assert_eq!(parse(LINKTYPE_ETHERNET, &v).unwrap().dport, 53);
        // Raw IP and cooked capture.
        assert_eq!(parse(LINKTYPE_RAW, &f[14..]).unwrap().dport, 53);
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(&f[14..]);
        assert_eq!(parse(LINKTYPE_LINUX_SLL, &sll).unwrap().dport, 53);
    }

    #[test]
    fn ipv6_with_extension_header() {
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
        ip.extend([0u8; 15]);
        ip.push(1);
        ip.extend([0u8; 15]);
        ip.push(2);
        // Hop-by-hop (next: UDP), 8 bytes.
        ip.extend([17, 0, 0, 0, 0, 0, 0, 0]);
        ip.extend([0x30, 0x39, 0, 53, 0, 10, 0, 0, b'h', b'i']);
        let plen = (ip.len() - 40) as u16;
        ip[4..6].copy_from_slice(&plen.to_be_bytes());
        let p = parse(LINKTYPE_RAW, &ip).unwrap();
        assert_eq!(
            (p.proto, p.sport, p.dport, p.payload),
            (UDP, 12345, 53, &b"hi"[..])
        );
        assert_eq!(p.dst, "::2".parse::<IpAddr>().unwrap());
    }
}
