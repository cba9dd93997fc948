//! What the first payload of each direction says: a TLS ClientHello (with its server name) or
//! ServerHello, an HTTP/1.x request line or status line, or other printable text.

use palisade_store::HttpInfo;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    ClientHello { sni: Option<String> },
    ServerHello,
}

/// A TLS handshake record starting the payload.
pub fn tls(p: &[u8]) -> Option<Tls> {
    if p.len() < 6 || p[0] != 0x16 || p[1] != 3 || p[2] > 4 {
        return None;
    }
    match p[5] {
        1 => Some(Tls::ClientHello { sni: sni(p) }),
        2 => Some(Tls::ServerHello),
        _ => None,
    }
}

/// The server_name extension of a ClientHello that fits in this segment.
fn sni(p: &[u8]) -> Option<String> {
    let rec_end = (5 + u16::from_be_bytes([*p.get(3)?, *p.get(4)?]) as usize).min(p.len());
    let b = p.get(..rec_end)?;
    // record(5) type(1) len(3) version(2) random(32)
    let mut o = 5 + 4 + 2 + 32;
    let sid = *b.get(o)? as usize;
    o += 1 + sid;
    let cs = u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]) as usize;
    o += 2 + cs;
    let cm = *b.get(o)? as usize;
    o += 1 + cm;
    let ext_len = u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]) as usize;
    o += 2;
    let end = (o + ext_len).min(b.len());
    while o + 4 <= end {
        let ty = u16::from_be_bytes([b[o], b[o + 1]]);
        let len = u16::from_be_bytes([b[o + 2], b[o + 3]]) as usize;
        let body = b.get(o + 4..o + 4 + len)?;
        if ty == 0 {
            // server_name_list: len(2) type(1) name_len(2) name
            let nl = u16::from_be_bytes([*body.get(3)?, *body.get(4)?]) as usize;
            let name = body.get(5..5 + nl)?;
            if *body.get(2)? == 0 && name.iter().all(|c| c.is_ascii_graphic()) {
                return Some(String::from_utf8_lossy(name).into_owned());
            }
            return None;
        }
        o += 4 + len;
    }
    None
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

fn first_line(p: &[u8]) -> Option<&str> {
    let end = p.windows(2).take(8192).position(|w| w == b"\r\n")?;
    std::str::from_utf8(&p[..end]).ok()
}

/// `METHOD target HTTP/1.x` and the Host header.
pub fn http_request(p: &[u8]) -> Option<HttpInfo> {
    let line = first_line(p)?;
    let mut it = line.split(' ');
    let (m, target, v) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || !METHODS.contains(&m) || !v.starts_with("HTTP/1.") {
        return None;
    }
    let head = std::str::from_utf8(&p[..p.len().min(8192)]).unwrap_or("");
    let host = head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
    });
    Some(HttpInfo {
        method: m.into(),
        path: target.chars().take(256).collect(),
        version: v.into(),
        host,
        status: None,
    })
}

/// The status code of `HTTP/1.x NNN reason`.
pub fn http_status(p: &[u8]) -> Option<u16> {
    let line = first_line(p)?;
    let rest = line.strip_prefix("HTTP/1.")?;
    let code = rest.get(2..5)?;
    let n: u16 = code.parse().ok()?;
    (100..=599).contains(&n).then_some(n)
}

/// Printable text: at least 4 bytes, nearly all printable ASCII or whitespace, and not an
/// SSH banner (the rest of an SSH session is encrypted).
pub fn plaintext(p: &[u8]) -> bool {
    if p.len() < 4 || p.starts_with(b"SSH-") {
        return false;
    }
    let head = &p[..p.len().min(64)];
    let printable = head
        .iter()
        .filter(|&&c| c.is_ascii_graphic() || c == b' ' || c == b'\r' || c == b'\n' || c == b'\t')
        .count();
    printable * 100 >= head.len() * 95
}

/// Builds a ClientHello with a server name, for tests and the example capture.
pub fn client_hello(server_name: &str) -> Vec<u8> {
    let name = server_name.as_bytes();
    let mut sni_ext = Vec::new();
    sni_ext.extend(((name.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend((name.len() as u16).to_be_bytes());
    sni_ext.extend(name);
    let mut exts = vec![0, 0];
    exts.extend((sni_ext.len() as u16).to_be_bytes());
    exts.extend(sni_ext);
    let mut hello = vec![3, 3];
    hello.extend([0x5a; 32]);
    hello.push(0); // session id
    hello.extend([0, 2, 0x13, 0x01]); // one cipher suite
    hello.extend([1, 0]); // null compression
    hello.extend((exts.len() as u16).to_be_bytes());
    hello.extend(exts);
    let mut hs = vec![1];
    hs.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend(hello);
    let mut rec = vec![0x16, 3, 1];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// A minimal ServerHello record (enough for detection).
pub fn server_hello() -> Vec<u8> {
    let mut hello = vec![3, 3];
    hello.extend([0x3c; 32]);
    hello.extend([0, 0x13, 0x01, 0, 0, 0]);
    let mut hs = vec![2];
    hs.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    hs.extend(hello);
    let mut rec = vec![0x16, 3, 3];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_hellos_and_sni() {
        assert_eq!(
            tls(&client_hello("api.example.com")),
            Some(Tls::ClientHello {
                sni: Some("api.example.com".into())
            })
        );
        assert_eq!(tls(&server_hello()), Some(Tls::ServerHello));
        assert_eq!(tls(b"GET / HTTP/1.1\r\n"), None);
        let ch = client_hello("x.test");
        assert!(matches!(
            tls(&ch[..20]),
            Some(Tls::ClientHello { sni: None })
        ));
    }

    #[test]
    fn http_lines() {
        let r = http_request(b"GET /api/v1/items?x=1 HTTP/1.1\r\nHost: shop\r\n\r\n").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.version.as_str()),
            ("GET", "/api/v1/items?x=1", "HTTP/1.1")
        );
        assert_eq!(r.host.as_deref(), Some("shop"));
        assert!(http_request(b"FOO / HTTP/1.1\r\n").is_none());
        assert!(http_request(b"GET / HTTP/2\r\n").is_none());
        assert_eq!(http_status(b"HTTP/1.1 404 Not Found\r\n"), Some(404));
        assert_eq!(http_status(b"HTTP/1.1 99x\r\n"), None);
        assert!(plaintext(b"PING redis\r\n"));
        assert!(!plaintext(b"SSH-2.0-OpenSSH_9.2\r\n"));
        assert!(!plaintext(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8]));
    }
}
