//! DNS messages (RFC 1035 wire format): header, questions and answers, with compressed
//! names (pointer loops and over-long names refused). Only what flow records need.

use palisade_store::DnsAnswer;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub response: bool,
    pub rcode: u8,
    /// First question: (name, type).
    pub question: Option<(String, u16)>,
    pub answers: Vec<DnsAnswer>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DNS: {0}")]
pub struct DnsError(pub &'static str);

pub fn type_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => format!("TYPE{n}"),
    }
}

pub fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE{n}"),
    }
}

fn be16(b: &[u8], o: usize) -> Result<u16, DnsError> {
    match (b.get(o), b.get(o + 1)) {
        (Some(x), Some(y)) => Ok(u16::from_be_bytes([*x, *y])),
        _ => Err(DnsError("truncated")),
    }
}

/// Reads a (possibly compressed) name at `o`; returns it and the offset after it.
fn name(b: &[u8], mut o: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut after = None;
    let mut jumps = 0;
    loop {
        let len = *b.get(o).ok_or(DnsError("truncated name"))? as usize;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    o += 1;
                    break;
                }
                let label = b
                    .get(o + 1..o + 1 + len)
                    .ok_or(DnsError("truncated label"))?;
                if !out.is_empty() {
                    out.push('.');
                }
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        out.push(c as char);
                    } else {
                        out.push_str(&format!("\\{c:03}"));
                    }
                }
                if out.len() > 1024 {
                    return Err(DnsError("name too long"));
                }
                o += 1 + len;
            }
            0xc0 => {
                let ptr = (be16(b, o)? & 0x3fff) as usize;
                if after.is_none() {
                    after = Some(o + 2);
                }
                jumps += 1;
                if jumps > 64 || ptr >= b.len() {
                    return Err(DnsError("bad compression pointer"));
                }
                o = ptr;
            }
            _ => return Err(DnsError("unknown label type")),
        }
    }
    Ok((out, after.unwrap_or(o)))
}

/// Parses one DNS message.
pub fn parse(b: &[u8]) -> Result<Message, DnsError> {
    if b.len() < 12 {
        return Err(DnsError("shorter than a header"));
    }
    let id = be16(b, 0)?;
    let flags = be16(b, 2)?;
    let qd = be16(b, 4)? as usize;
    let an = be16(b, 6)? as usize;
    if flags & 0x7800 != 0 {
        return Err(DnsError("not a standard query (opcode)"));
    }
    let mut o = 12;
    let mut question = None;
    for i in 0..qd.min(16) {
        let (n, next) = name(b, o)?;
        let t = be16(b, next)?;
        be16(b, next + 2)?;
        o = next + 4;
        if i == 0 {
            question = Some((n, t));
        }
    }
    if qd > 16 {
        return Err(DnsError("too many questions"));
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(256) {
        let (n, next) = name(b, o)?;
        let t = be16(b, next)?;
        let ttl_hi = be16(b, next + 4)? as u32;
        let ttl = (ttl_hi << 16) | be16(b, next + 6)? as u32;
        let rdlen = be16(b, next + 8)? as usize;
        let rd = next + 10;
        let rdata = b.get(rd..rd + rdlen).ok_or(DnsError("truncated answer"))?;
        let data = match t {
            1 if rdlen == 4 => Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string(),
            28 if rdlen == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                Ipv6Addr::from(a).to_string()
            }
            2 | 5 | 12 => name(b, rd)?.0,
            16 => {
                let mut s = String::new();
                let mut i = 0;
                while i < rdata.len() {
                    let l = rdata[i] as usize;
                    let part = rdata.get(i + 1..i + 1 + l).unwrap_or(&rdata[i + 1..]);
                    s.push_str(&String::from_utf8_lossy(part));
                    i += 1 + l;
                }
                s
            }
            _ => format!("({rdlen} bytes)"),
        };
        answers.push(DnsAnswer {
            name: n,
            rtype: type_name(t),
            ttl,
            data,
        });
        o = rd + rdlen;
    }
    Ok(Message {
        id,
        response: flags & 0x8000 != 0,
        rcode: (flags & 0x000f) as u8,
        question,
        answers,
    })
}

/// Builds messages for tests and the example capture.
pub mod build {
    fn put_name(out: &mut Vec<u8>, name: &str) {
        for l in name.trim_end_matches('.').split('.') {
            out.push(l.len() as u8);
            out.extend(l.as_bytes());
        }
        out.push(0);
    }

    pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        put_name(&mut m, name);
        m.extend(qtype.to_be_bytes());
        m.extend([0, 1]);
        m
    }

    /// A response; answers are (type, ttl, data): an IPv4 address for A, a name for CNAME.
    /// Answer owners point at the question (compressed) or at the previous CNAME target.
    pub fn response(
        id: u16,
        name: &str,
        qtype: u16,
        rcode: u8,
        answers: &[(u16, u32, &str)],
    ) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend([0x81, 0x80 | rcode, 0, 1]);
        m.extend((answers.len() as u16).to_be_bytes());
        m.extend([0, 0, 0, 0]);
        put_name(&mut m, name);
        m.extend(qtype.to_be_bytes());
        m.extend([0, 1]);
        let mut owner: u16 = 12;
        for (t, ttl, data) in answers {
            m.extend((0xc000 | owner).to_be_bytes());
            m.extend(t.to_be_bytes());
            m.extend([0, 1]);
            m.extend(ttl.to_be_bytes());
            if *t == 1 {
                let a: std::net::Ipv4Addr = data.parse().expect("an IPv4 address");
                m.extend(4u16.to_be_bytes());
                m.extend(a.octets());
            } else {
                let mut n = Vec::new();
                put_name(&mut n, data);
                m.extend((n.len() as u16).to_be_bytes());
                owner = m.len() as u16;
                m.extend(n);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_response_with_cname_chain() {
        let q = parse(&build::query(0x1234, "www.example.com", 1)).unwrap();
        assert_eq!((q.id, q.response), (0x1234, false));
        assert_eq!(q.question, Some(("www.example.com".into(), 1)));
        let r = parse(&build::response(
            0x1234,
            "www.example.com",
            1,
            0,
            &[(5, 60, "edge.cdn.example.net"), (1, 30, "192.0.2.7")],
        ))
        .unwrap();
        assert!(r.response);
        assert_eq!(rcode_name(r.rcode), "NOERROR");
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].rtype, "CNAME");
        assert_eq!(r.answers[0].name, "www.example.com");
        assert_eq!(r.answers[0].data, "edge.cdn.example.net");
        assert_eq!(r.answers[1].name, "edge.cdn.example.net");
        assert_eq!(
            (r.answers[1].data.as_str(), r.answers[1].ttl),
            ("192.0.2.7", 30)
        );
    }

    #[test]
    fn hostile_messages_are_errors() {
        // A pointer to itself.
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        assert!(parse(&m).is_err());
        m.truncate(5);
        assert!(parse(&m).is_err());
        let r = build::response(1, "a.b", 1, 3, &[]);
        assert_eq!(rcode_name(parse(&r).unwrap().rcode), "NXDOMAIN");
    }
}
