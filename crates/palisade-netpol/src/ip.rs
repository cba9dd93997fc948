//! IPv4 address sets as sorted disjoint inclusive intervals, CIDR parsing, and the split of the
//! address space into the disjoint ranges that every referenced block either fully contains or
//! does not touch (np-guard's "disjoint IP blocks").

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Sorted, disjoint, non-adjacent inclusive IPv4 intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpSet(Vec<(u32, u32)>);

/// A parsed CIDR: IPv4 becomes an interval; IPv6 is recognised but not analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cidr {
    V4(u32, u32),
    V6(String),
}

pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let s = s.trim();
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("invalid CIDR {s:?}: missing prefix length"))?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid CIDR {s:?}: bad address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("invalid CIDR {s:?}: bad prefix length"))?;
    match ip {
        IpAddr::V4(v4) => {
            if len > 32 {
                return Err(format!("invalid CIDR {s:?}: prefix length over 32"));
            }
            let a = u32::from(v4);
            let mask: u32 = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let lo = a & mask;
            Ok(Cidr::V4(lo, lo | !mask))
        }
        IpAddr::V6(_) => {
            if len > 128 {
                return Err(format!("invalid CIDR {s:?}: prefix length over 128"));
            }
            Ok(Cidr::V6(s.to_string()))
        }
    }
}

/// Parses one address, IPv4 only (`None` for IPv6 or garbage).
pub fn parse_v4(s: &str) -> Option<u32> {
    s.trim().parse::<Ipv4Addr>().ok().map(u32::from)
}

pub fn v4_to_string(a: u32) -> String {
    Ipv4Addr::from(a).to_string()
}

impl IpSet {
    pub fn empty() -> IpSet {
        IpSet(Vec::new())
    }
    pub fn all() -> IpSet {
        IpSet(vec![(0, u32::MAX)])
    }
    pub fn range(lo: u32, hi: u32) -> IpSet {
        if lo > hi {
            return IpSet::empty();
        }
        IpSet(vec![(lo, hi)])
    }
    pub fn intervals(&self) -> &[(u32, u32)] {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_all(&self) -> bool {
        self.0 == [(0, u32::MAX)]
    }
    pub fn contains(&self, a: u32) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < a);
        i < self.0.len() && self.0[i].0 <= a
    }
    /// Is the interval `[lo, hi]` inside the set?
    pub fn contains_range(&self, lo: u32, hi: u32) -> bool {
        let i = self.0.partition_point(|&(_, h)| h < lo);
        i < self.0.len() && self.0[i].0 <= lo && hi <= self.0[i].1
    }
    pub fn union(&self, o: &IpSet) -> IpSet {
        let mut all: Vec<(u32, u32)> = self.0.iter().chain(o.0.iter()).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        IpSet(out)
    }
    pub fn complement(&self) -> IpSet {
        let mut out = Vec::new();
        let mut next: u64 = 0;
        for &(lo, hi) in &self.0 {
            if u64::from(lo) > next {
                out.push((next as u32, lo - 1));
            }
            next = u64::from(hi) + 1;
        }
        if next <= u64::from(u32::MAX) {
            out.push((next as u32, u32::MAX));
        }
        IpSet(out)
    }
    pub fn intersect(&self, o: &IpSet) -> IpSet {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.0.len() && j < o.0.len() {
            let (a, b) = (self.0[i], o.0[j]);
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        IpSet(out)
    }
    pub fn subtract(&self, o: &IpSet) -> IpSet {
        self.intersect(&o.complement())
    }
}

/// One contiguous external range, printed `a.b.c.d-e.f.g.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpRange {
    pub lo: u32,
    pub hi: u32,
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", v4_to_string(self.lo), v4_to_string(self.hi))
    }
}

impl IpRange {
    /// Parses `a.b.c.d-e.f.g.h`, a CIDR, or a single address.
    pub fn parse(s: &str) -> Option<IpRange> {
        if let Some((a, b)) = s.split_once('-') {
            let (lo, hi) = (parse_v4(a)?, parse_v4(b)?);
            return (lo <= hi).then_some(IpRange { lo, hi });
        }
        if s.contains('/') {
            return match parse_cidr(s).ok()? {
                Cidr::V4(lo, hi) => Some(IpRange { lo, hi }),
                Cidr::V6(_) => None,
            };
        }
        let a = parse_v4(s)?;
        Some(IpRange { lo: a, hi: a })
    }
}

/// Splits the whole IPv4 space into the ranges between consecutive boundaries of `blocks`: each
/// resulting range is either inside or outside every block.
pub fn atoms(blocks: &[IpSet]) -> Vec<IpRange> {
    let mut cuts: Vec<u64> = vec![0, 1u64 << 32];
    for b in blocks {
        for &(lo, hi) in &b.0 {
            cuts.push(u64::from(lo));
            cuts.push(u64::from(hi) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| IpRange {
            lo: w[0] as u32,
            hi: (w[1] - 1) as u32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_atoms() {
        let Cidr::V4(lo, hi) = parse_cidr("10.0.0.0/8").unwrap() else {
            panic!()
        };
        assert_eq!(
            (v4_to_string(lo), v4_to_string(hi)),
            ("10.0.0.0".into(), "10.255.255.255".into())
        );
        assert!(matches!(parse_cidr("::/0"), Ok(Cidr::V6(_))));
        assert!(parse_cidr("10.0.0.0").is_err());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        let ten = IpSet::range(lo, hi);
        let except = match parse_cidr("10.1.0.0/16").unwrap() {
            Cidr::V4(a, b) => IpSet::range(a, b),
            Cidr::V6(_) => unreachable!(),
        };
        let block = ten.subtract(&except);
        assert_eq!(block.intervals().len(), 2);
        let a: Vec<String> = atoms(&[block]).iter().map(|r| r.to_string()).collect();
        assert_eq!(
            a,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0-10.0.255.255",
                "10.1.0.0-10.1.255.255",
                "10.2.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
        assert_eq!(atoms(&[]).len(), 1);
        assert!(IpSet::all().contains_range(0, u32::MAX));
        assert_eq!(
            IpRange::parse("1.2.3.4-1.2.3.9").unwrap().to_string(),
            "1.2.3.4-1.2.3.9"
        );
    }
}
