//! Capture files: a streaming reader for pcap (micro- and nanosecond, either byte order) and
//! pcapng (section, interface, enhanced/simple/obsolete packet blocks; per-interface link
//! type and timestamp resolution; other blocks skipped), and a nanosecond pcap writer.
//! Errors name the record (1-based) and its byte offset; a damaged header ends the file,
//! because neither format can be resynchronised after one.

use std::io::{self, Read, Write};

/// Records larger than this are refused as damaged (pcap's own snaplen cap is 256 KiB).
pub const MAX_RECORD: u32 = 1 << 20;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Unix nanoseconds.
    pub ts_ns: i64,
    /// LINKTYPE_* of the interface.
    pub linktype: u16,
    /// Length on the wire.
    pub orig_len: u32,
    pub data: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
#[error("record {record} at byte {offset}: {message}")]
pub struct PcapError {
    pub record: u64,
    pub offset: u64,
    pub message: String,
}

enum Kind {
    Pcap {
        big: bool,
        nanos: bool,
        linktype: u16,
    },
    Ng {
        big: bool,
        /// (linktype, ticks per second) per interface of the current section.
        ifaces: Vec<(u16, u64)>,
    },
}

pub struct Reader<R: Read> {
    r: R,
    kind: Kind,
    buf: Vec<u8>,
    offset: u64,
    record: u64,
    done: bool,
}

fn u16_at(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_at(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Reads as much of `buf` as the stream has; `Ok(n)` with `n < buf.len()` means end of file.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

const NG_SHB: u32 = 0x0A0D_0D0A;

impl<R: Read> Reader<R> {
    /// Reads the file header and tells pcap from pcapng.
    pub fn new(mut r: R) -> Result<Reader<R>, PcapError> {
        let mut head = [0u8; 24];
        let n = read_full(&mut r, &mut head).map_err(|e| PcapError {
            record: 0,
            offset: 0,
            message: e.to_string(),
        })?;
        let bad = |m: &str| PcapError {
            record: 0,
            offset: 0,
            message: m.to_string(),
        };
        if n < 24 {
            return Err(bad("too short for a pcap or pcapng header"));
        }
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let kind = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            NG_SHB => {
                let big = match u32::from_le_bytes([head[8], head[9], head[10], head[11]]) {
                    0x1A2B_3C4D => false,
                    0x4D3C_2B1A => true,
                    _ => return Err(bad("pcapng section header with a bad byte-order magic")),
                };
                let len = u32_at(&head[4..], big);
                if !(28..=MAX_RECORD).contains(&len) || len % 4 != 0 {
                    return Err(bad("pcapng section header with a bad length"));
                }
                let mut rest = vec![0u8; len as usize - 24];
                if read_full(&mut r, &mut rest).map_err(|e| bad(&e.to_string()))? < rest.len() {
                    return Err(bad("truncated pcapng section header"));
                }
                return Ok(Reader {
                    r,
                    kind: Kind::Ng {
                        big,
                        ifaces: Vec::new(),
                    },
                    buf: Vec::new(),
                    offset: len as u64,
                    record: 0,
                    done: false,
                });
            }
            _ => return Err(bad("not a pcap or pcapng file (unknown magic number)")),
        };
        let (big, nanos) = kind;
        let linktype = (u32_at(&head[20..], big) & 0xffff) as u16;
        Ok(Reader {
            r,
            kind: Kind::Pcap {
                big,
                nanos,
                linktype,
            },
            buf: Vec::new(),
            offset: 24,
            record: 0,
            done: false,
        })
    }

    fn fail(&mut self, message: String) -> PcapError {
        self.done = true;
        PcapError {
            record: self.record,
            offset: self.offset,
            message,
        }
    }

    /// The next frame, `None` at the end. After an error the reader stops.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Frame<'_>, PcapError>> {
        if self.done {
            return None;
        }
        self.record += 1;
        match self.kind {
            Kind::Pcap { .. } => self.next_pcap(),
            Kind::Ng { .. } => self.next_ng(),
        }
    }

    fn next_pcap(&mut self) -> Option<Result<Frame<'_>, PcapError>> {
        let Kind::Pcap {
            big,
            nanos,
            linktype,
        } = self.kind
        else {
            return None;
        };
        let mut h = [0u8; 16];
        match read_full(&mut self.r, &mut h) {
            Ok(0) => {
                self.done = true;
                return None;
            }
            Ok(16) => {}
            Ok(n) => {
                return Some(Err(
                    self.fail(format!("truncated record header ({n} of 16 bytes)"))
                ))
            }
            Err(e) => return Some(Err(self.fail(e.to_string()))),
        }
        let sec = u32_at(&h, big) as i64;
        let frac = u32_at(&h[4..], big) as i64;
        let incl = u32_at(&h[8..], big);
        let orig = u32_at(&h[12..], big);
        if incl > MAX_RECORD {
            return Some(Err(self.fail(format!(
                "captured length {incl} is larger than {MAX_RECORD}: the file is damaged"
            ))));
        }
        self.buf.resize(incl as usize, 0);
        match read_full(&mut self.r, &mut self.buf) {
            Ok(n) if n == incl as usize => {}
            Ok(n) => {
                return Some(Err(
                    self.fail(format!("truncated packet data ({n} of {incl} bytes)"))
                ))
            }
            Err(e) => return Some(Err(self.fail(e.to_string()))),
        }
        self.offset += 16 + incl as u64;
        let ts_ns = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        Some(Ok(Frame {
            ts_ns,
            linktype,
            orig_len: orig.max(incl),
            data: &self.buf,
        }))
    }

    fn next_ng(&mut self) -> Option<Result<Frame<'_>, PcapError>> {
        loop {
            let big = match &self.kind {
                Kind::Ng { big, .. } => *big,
                Kind::Pcap { .. } => return None,
            };
            let mut h = [0u8; 8];
            match read_full(&mut self.r, &mut h) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(8) => {}
                Ok(n) => {
                    return Some(Err(
                        self.fail(format!("truncated block header ({n} of 8 bytes)"))
                    ))
                }
                Err(e) => return Some(Err(self.fail(e.to_string()))),
            }
            let ty = u32_at(&h, big);
            // A section header carries its own byte order.
            let mut len = u32_at(&h[4..], big);
            if ty == NG_SHB {
                let mut bom = [0u8; 4];
                if read_full(&mut self.r, &mut bom).ok() != Some(4) {
                    return Some(Err(self.fail("truncated section header".into())));
                }
                let nb = match u32::from_le_bytes(bom) {
                    0x1A2B_3C4D => false,
                    0x4D3C_2B1A => true,
                    _ => return Some(Err(self.fail("bad byte-order magic".into()))),
                };
                len = u32_at(&h[4..], nb);
                if !(28..=MAX_RECORD).contains(&len) || len % 4 != 0 {
                    return Some(Err(self.fail(format!("bad section header length {len}"))));
                }
                self.buf.resize(len as usize - 12, 0);
                if read_full(&mut self.r, &mut self.buf).ok() != Some(self.buf.len()) {
                    return Some(Err(self.fail("truncated section header".into())));
                }
                self.offset += len as u64;
                self.kind = Kind::Ng {
                    big: nb,
                    ifaces: Vec::new(),
                };
                continue;
            }
            if !(12..=MAX_RECORD).contains(&len) || len % 4 != 0 {
                return Some(Err(self.fail(format!("bad block length {len}"))));
            }
            self.buf.resize(len as usize - 8, 0);
            match read_full(&mut self.r, &mut self.buf) {
                Ok(n) if n == self.buf.len() => {}
                Ok(n) => {
                    return Some(Err(
                        self.fail(format!("truncated block ({n} of {} bytes)", len - 8))
                    ))
                }
                Err(e) => return Some(Err(self.fail(e.to_string()))),
            }
            let at = self.offset;
            self.offset += len as u64;
            let body_len = self.buf.len() - 4; // the trailing length copy
            match ty {
                1 => {
                    // Interface description: linktype, reserved, snaplen, options.
                    if body_len < 8 {
                        return Some(Err(self.fail("interface block too short".into())));
                    }
                    let lt = u16_at(&self.buf, big);
                    let mut tps = 1_000_000u64;
                    let mut o = 8;
                    while o + 4 <= body_len {
                        let code = u16_at(&self.buf[o..], big);
                        let olen = u16_at(&self.buf[o + 2..], big) as usize;
                        if code == 0 || o + 4 + olen > body_len {
                            break;
                        }
                        if code == 9 && olen >= 1 {
                            let v = self.buf[o + 4];
                            let exp = (v & 0x7f) as u32;
                            tps = if v & 0x80 == 0 {
                                10u64.checked_pow(exp).unwrap_or(0)
                            } else {
                                1u64.checked_shl(exp).unwrap_or(0)
                            };
                        }
                        o += 4 + olen.div_ceil(4) * 4;
                    }
                    if tps == 0 {
                        return Some(Err(self.fail("unsupported timestamp resolution".into())));
                    }
                    if let Kind::Ng { ifaces, .. } = &mut self.kind {
                        if ifaces.len() >= 4096 {
                            return Some(Err(self.fail("more than 4096 interfaces".into())));
                        }
                        ifaces.push((lt, tps));
                    }
                }
                2 | 6 => {
                    // Obsolete packet block (u16 interface, u16 drops) or enhanced (u32).
                    if body_len < 20 {
                        return Some(Err(self.fail("packet block too short".into())));
                    }
                    let iface = if ty == 6 {
                        u32_at(&self.buf, big) as usize
                    } else {
                        u16_at(&self.buf, big) as usize
                    };
                    let ts = ((u32_at(&self.buf[4..], big) as u64) << 32)
                        | u32_at(&self.buf[8..], big) as u64;
                    let cap = u32_at(&self.buf[12..], big) as usize;
                    let orig = u32_at(&self.buf[16..], big);
                    if 20 + cap > body_len {
                        return Some(Err(
                            self.fail(format!("captured length {cap} exceeds its block"))
                        ));
                    }
                    let Some((lt, tps)) = (match &self.kind {
                        Kind::Ng { ifaces, .. } => ifaces.get(iface).copied(),
                        Kind::Pcap { .. } => None,
                    }) else {
                        return Some(Err(PcapError {
                            record: self.record,
                            offset: at,
                            message: format!("packet of undeclared interface {iface}"),
                        }));
                    };
                    let ts_ns = (ts as u128 * 1_000_000_000 / tps as u128) as i64;
                    return Some(Ok(Frame {
                        ts_ns,
                        linktype: lt,
                        orig_len: orig.max(cap as u32),
                        data: &self.buf[20..20 + cap],
                    }));
                }
                3 => {
                    // Simple packet block: interface 0, no timestamp.
                    if body_len < 4 {
                        return Some(Err(self.fail("simple packet block too short".into())));
                    }
                    let orig = u32_at(&self.buf, big);
                    let cap = (orig as usize).min(body_len - 4);
                    let Some((lt, _)) = (match &self.kind {
                        Kind::Ng { ifaces, .. } => ifaces.first().copied(),
                        Kind::Pcap { .. } => None,
                    }) else {
                        return Some(Err(self.fail("simple packet before any interface".into())));
                    };
                    return Some(Ok(Frame {
                        ts_ns: 0,
                        linktype: lt,
                        orig_len: orig,
                        data: &self.buf[4..4 + cap],
                    }));
                }
                _ => {} // name resolution, statistics, custom blocks: not needed
            }
        }
    }
}

/// Writes a nanosecond-resolution pcap.
pub struct Writer<W: Write> {
    w: W,
}

impl<W: Write> Writer<W> {
    pub fn new(mut w: W, linktype: u16) -> io::Result<Writer<W>> {
        w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&0i32.to_le_bytes())?;
        w.write_all(&0u32.to_le_bytes())?;
        w.write_all(&262_144u32.to_le_bytes())?;
        w.write_all(&(linktype as u32).to_le_bytes())?;
        Ok(Writer { w })
    }

    pub fn write(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        let sec = ts_ns.div_euclid(1_000_000_000) as u32;
        let ns = ts_ns.rem_euclid(1_000_000_000) as u32;
        self.w.write_all(&sec.to_le_bytes())?;
        self.w.write_all(&ns.to_le_bytes())?;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w.write_all(data)
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_round_trip_and_truncation() {
        let mut w = Writer::new(Vec::new(), 1).unwrap();
        w.write(1_700_000_000_123_456_789, &[1, 2, 3]).unwrap();
        w.write(1_700_000_001_000_000_000, &[4; 60]).unwrap();
        let bytes = w.into_inner();
        let mut r = Reader::new(&bytes[..]).unwrap();
        let f = r.next().unwrap().unwrap();
        assert_eq!(
            (f.ts_ns, f.linktype, f.data),
            (1_700_000_000_123_456_789, 1, &[1u8, 2, 3][..])
        );
        let f = r.next().unwrap().unwrap();
        assert_eq!(f.orig_len, 60);
        assert!(r.next().is_none());
        let mut r = Reader::new(&bytes[..bytes.len() - 5]).unwrap();
        assert!(r.next().unwrap().is_ok());
        let e = r.next().unwrap().unwrap_err();
        assert_eq!(e.record, 2);
        assert!(
            e.to_string()
                .contains("truncated packet data (55 of 60 bytes)"),
            "{e}"
        );
        assert!(r.next().is_none());
        assert!(Reader::new(&b"hello world, not a capture"[..]).is_err());
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut b = ty.to_le_bytes().to_vec();
        b.extend(len.to_le_bytes());
        b.extend(body);
        b.resize(len as usize - 4, 0);
        b.extend(len.to_le_bytes());
        b
    }

    #[test]
    fn pcapng_interfaces_and_resolution() {
        let mut f = block(
            NG_SHB,
            &[
                0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        );
        // Interface 0: Ethernet, microseconds; interface 1: raw IP, nanoseconds (tsresol 9).
        f.extend(block(1, &[1, 0, 0, 0, 0, 0, 4, 0]));
        f.extend(block(
            1,
            &[101, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
        ));
        let epb = |iface: u32, ts: u64, data: &[u8]| {
            let mut b = iface.to_le_bytes().to_vec();
            b.extend(((ts >> 32) as u32).to_le_bytes());
            b.extend((ts as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend((data.len() as u32 + 10).to_le_bytes());
            b.extend(data);
            block(6, &b)
        };
        f.extend(block(0x0000_0BAD, &[1, 2, 3, 4]));
        f.extend(epb(0, 1_700_000_000_000_001, &[9, 9, 9]));
        f.extend(epb(1, 1_700_000_000_000_000_002, &[7]));
        f.extend(epb(5, 1, &[7]));
        let mut r = Reader::new(&f[..]).unwrap();
        let a = r.next().unwrap().unwrap();
        assert_eq!(
            (a.linktype, a.ts_ns, a.data.len(), a.orig_len),
            (1, 1_700_000_000_000_001_000, 3, 13)
        );
        let b = r.next().unwrap().unwrap();
        assert_eq!((b.linktype, b.ts_ns), (101, 1_700_000_000_000_000_002));
        let e = r.next().unwrap().unwrap_err();
        assert!(e.to_string().contains("undeclared interface 5"), "{e}");
        assert!(r.next().is_none());
    }
}
