//! Sets of connections: for each protocol (TCP, UDP, SCTP) a set of port ranges in 1–65535.
//!
//! Printed as np-guard's connlist prints them: `All Connections`, `No Connections`, or the
//! protocols in alphabetical order, each with its ranges (`SCTP 9003,TCP 80-81,UDP 53`).

use std::fmt;

pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Sctp = 0,
    Tcp = 1,
    Udp = 2,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Sorted, disjoint, non-adjacent inclusive port ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSet(Vec<(u16, u16)>);

impl PortSet {
    pub fn empty() -> PortSet {
        PortSet(Vec::new())
    }
    pub fn all() -> PortSet {
        PortSet(vec![(MIN_PORT, MAX_PORT)])
    }
    pub fn range(lo: u16, hi: u16) -> PortSet {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            return PortSet::empty();
        }
        PortSet(vec![(lo, hi)])
    }
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn is_all(&self) -> bool {
        self.0 == [(MIN_PORT, MAX_PORT)]
    }
    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }
    pub fn count(&self) -> u32 {
        self.0.iter().map(|&(lo, hi)| u32::from(hi - lo) + 1).sum()
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.0.is_empty() {
            return self.clone();
        }
        if self.0.is_empty() {
            return other.clone();
        }
        let mut all: Vec<(u16, u16)> = self.0.iter().chain(other.0.iter()).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        PortSet(out)
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
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
        PortSet(out)
    }

    pub fn complement(&self) -> PortSet {
        let mut out = Vec::new();
        let mut next: u32 = u32::from(MIN_PORT);
        for &(lo, hi) in &self.0 {
            if u32::from(lo) > next {
                out.push((next as u16, lo - 1));
            }
            next = u32::from(hi) + 1;
        }
        if next <= u32::from(MAX_PORT) {
            out.push((next as u16, MAX_PORT));
        }
        PortSet(out)
    }

    pub fn subtract(&self, other: &PortSet) -> PortSet {
        if other.0.is_empty() || self.0.is_empty() {
            return self.clone();
        }
        self.intersect(&other.complement())
    }

    pub fn is_subset(&self, other: &PortSet) -> bool {
        self.subtract(other).is_empty()
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// A set of connections: ports per protocol, indexed by `Protocol as usize`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnSet {
    ports: [PortSet; 3],
}

impl ConnSet {
    pub fn none() -> ConnSet {
        ConnSet::default()
    }
    pub fn all() -> ConnSet {
        ConnSet {
            ports: [PortSet::all(), PortSet::all(), PortSet::all()],
        }
    }
    pub fn protocol(proto: Protocol, ports: PortSet) -> ConnSet {
        let mut c = ConnSet::none();
        c.ports[proto as usize] = ports;
        c
    }
    pub fn single(proto: Protocol, port: u16) -> ConnSet {
        ConnSet::protocol(proto, PortSet::range(port, port))
    }
    pub fn ports(&self, proto: Protocol) -> &PortSet {
        &self.ports[proto as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(PortSet::is_empty)
    }
    pub fn is_all(&self) -> bool {
        self.ports.iter().all(PortSet::is_all)
    }
    pub fn contains(&self, proto: Protocol, port: u16) -> bool {
        self.ports[proto as usize].contains(port)
    }
    pub fn union(&self, o: &ConnSet) -> ConnSet {
        ConnSet {
            ports: std::array::from_fn(|i| self.ports[i].union(&o.ports[i])),
        }
    }
    pub fn union_with(&mut self, o: &ConnSet) {
        for i in 0..3 {
            if !o.ports[i].is_empty() {
                self.ports[i] = self.ports[i].union(&o.ports[i]);
            }
        }
    }
    pub fn intersect(&self, o: &ConnSet) -> ConnSet {
        if o.is_all() {
            return self.clone();
        }
        if self.is_all() {
            return o.clone();
        }
        ConnSet {
            ports: std::array::from_fn(|i| self.ports[i].intersect(&o.ports[i])),
        }
    }
    pub fn subtract(&self, o: &ConnSet) -> ConnSet {
        if o.is_empty() {
            return self.clone();
        }
        ConnSet {
            ports: std::array::from_fn(|i| self.ports[i].subtract(&o.ports[i])),
        }
    }
    pub fn is_subset(&self, o: &ConnSet) -> bool {
        self.subtract(o).is_empty()
    }
    pub fn add(&mut self, proto: Protocol, ports: &PortSet) {
        let i = proto as usize;
        self.ports[i] = self.ports[i].union(ports);
    }

    /// Parses np-guard's printed form (`All Connections`, `No Connections`,
    /// `SCTP 1-9002,9004-65535,TCP 80`).
    pub fn parse(s: &str) -> Option<ConnSet> {
        let s = s.trim();
        match s {
            "All Connections" => return Some(ConnSet::all()),
            "No Connections" | "" => return Some(ConnSet::none()),
            _ => {}
        }
        let mut out = ConnSet::none();
        let mut current: Option<Protocol> = None;
        for part in s.split(',') {
            let part = part.trim();
            let ports = match part.split_once(' ') {
                Some((proto, ports)) => {
                    current = Some(Protocol::parse(proto)?);
                    ports.trim()
                }
                None => part,
            };
            let proto = current?;
            let (lo, hi) = match ports.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None => {
                    let p: u16 = ports.parse().ok()?;
                    (p, p)
                }
            };
            if lo == 0 || lo > hi {
                return None;
            }
            out.add(proto, &PortSet::range(lo, hi));
        }
        Some(out)
    }
}

impl fmt::Display for ConnSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut first = true;
        for p in Protocol::ALL {
            let ports = &self.ports[p as usize];
            if ports.is_empty() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{} {}", p.as_str(), ports)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_set_algebra() {
        let a = PortSet::range(1, 100).union(&PortSet::range(200, 300));
        let b = PortSet::range(50, 250);
        assert_eq!(a.intersect(&b).to_string(), "50-100,200-250");
        assert_eq!(a.subtract(&b).to_string(), "1-49,251-300");
        assert_eq!(a.union(&b).to_string(), "1-300");
        assert_eq!(
            PortSet::range(53, 53).complement().to_string(),
            "1-52,54-65535"
        );
        assert!(PortSet::range(1, 65535).is_all());
        assert_eq!(
            PortSet::range(5, 6)
                .union(&PortSet::range(7, 9))
                .to_string(),
            "5-9"
        );
    }

    #[test]
    fn printing_and_parsing_round_trip() {
        for s in [
            "All Connections",
            "No Connections",
            "TCP 8080",
            "SCTP 1-9002,9004-65535,TCP 1-79,81-65535,UDP 1-52,54-65535",
            "TCP 8080,UDP 80,5000-6000",
        ] {
            let c = ConnSet::parse(s).unwrap_or_else(|| panic!("parse {s}"));
            assert_eq!(c.to_string(), s);
        }
        let mut c = ConnSet::single(Protocol::Udp, 53);
        c.add(Protocol::Tcp, &PortSet::range(80, 81));
        assert_eq!(c.to_string(), "TCP 80-81,UDP 53");
        assert_eq!(ConnSet::all().subtract(&c).intersect(&c), ConnSet::none());
        assert!(ConnSet::parse("TCP 0").is_none());
        assert!(ConnSet::parse("ICMP 1").is_none());
    }
}
