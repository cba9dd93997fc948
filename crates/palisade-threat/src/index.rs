//! The indicator index: IPv4 and IPv6 networks in prefix tries (longest-prefix match, the
//! `prefix-trie` crate's tree bitmap), domains in a hash set matched by suffix on label
//! boundaries (`a.b.evil.com` matches an indicator `evil.com`, `notevil.com` does not).
//!
//! An indicator that is a public suffix (`com`, `co.uk`, `github.io`) would match every name
//! under it: it is refused with a diagnostic when the index is built. Names are matched in
//! lower-case IDNA (punycode) form, as they travel on the wire.
//!
//! Each entry holds the set of feeds that listed it (interned: the same set is stored once).

use crate::feeds::Ioc;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use palisade_store::psl::SuffixList;
use prefix_trie::PrefixMap;
use std::collections::HashMap;
use std::net::IpAddr;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

#[derive(Clone, Debug, Default)]
pub struct FeedInfo {
    pub name: String,
    /// Where it came from (a file, a URL, a manifest).
    pub source: String,
}

pub struct Index {
    pub feeds: Vec<FeedInfo>,
    v4: PrefixMap<Ipv4Net, u32>,
    v6: PrefixMap<Ipv6Net, u32>,
    domains: FastMap<Box<str>, u32>,
    sets: Vec<Box<[u16]>>,
    set_ids: HashMap<Box<[u16]>, u32>,
    psl: SuffixList,
    nets: usize,
    /// Indicators refused (public suffixes), with the feed that listed them.
    pub refused: Vec<(String, String)>,
}

/// What an observed value matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match<'a> {
    pub indicator: Ioc,
    pub feeds: &'a [u16],
}

impl Index {
    pub fn new(psl: SuffixList) -> Index {
        Index {
            feeds: Vec::new(),
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
            domains: FastMap::default(),
            sets: Vec::new(),
            set_ids: HashMap::new(),
            psl,
            nets: 0,
            refused: Vec::new(),
        }
    }

    /// Registers a feed; returns its number.
    pub fn add_feed(&mut self, name: &str, source: &str) -> u16 {
        if let Some(i) = self.feeds.iter().position(|f| f.name == name) {
            return i as u16;
        }
        self.feeds.push(FeedInfo {
            name: name.to_string(),
            source: source.to_string(),
        });
        (self.feeds.len() - 1) as u16
    }

    fn with_feed(&mut self, old: Option<u32>, feed: u16) -> u32 {
        let mut set: Vec<u16> = old
            .map(|s| self.sets[s as usize].to_vec())
            .unwrap_or_default();
        if set.contains(&feed) {
            return old.unwrap_or(0);
        }
        set.push(feed);
        set.sort_unstable();
        let set: Box<[u16]> = set.into();
        if let Some(&id) = self.set_ids.get(&set) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.set_ids.insert(set, id);
        id
    }

    /// True when `d` is itself a public suffix (`com`, `co.uk`, `github.io`).
    pub fn is_public_suffix(&self, d: &str) -> bool {
        let probe = format!("x.{d}");
        self.psl.registered_domain(&probe) == probe
    }

    /// Adds an indicator listed by `feed`. Returns false when it was refused.
    pub fn insert(&mut self, ioc: &Ioc, feed: u16) -> bool {
        match ioc {
            Ioc::Net(IpNet::V4(n)) => {
                let old = self.v4.get(n).copied();
                if old.is_none() {
                    self.nets += 1;
                }
                let id = self.with_feed(old, feed);
                self.v4.insert(*n, id);
            }
            Ioc::Net(IpNet::V6(n)) => {
                let old = self.v6.get(n).copied();
                if old.is_none() {
                    self.nets += 1;
                }
                let id = self.with_feed(old, feed);
                self.v6.insert(*n, id);
            }
            Ioc::Domain(d) => {
                if self.is_public_suffix(d) {
                    let fname = self.feeds.get(feed as usize).map(|f| f.name.clone());
                    self.refused.push((d.clone(), fname.unwrap_or_default()));
                    return false;
                }
                let old = self.domains.get(d.as_str()).copied();
                let id = self.with_feed(old, feed);
                self.domains.insert(d.as_str().into(), id);
            }
        }
        true
    }

    pub fn len(&self) -> usize {
        self.nets + self.domains.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the tries, the domain table and the feed sets (an estimate for the
    /// hash table: capacity × entry size plus the names).
    pub fn mem_size(&self) -> usize {
        let dom = self.domains.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
            + self.domains.keys().map(|k| k.len()).sum::<usize>();
        let sets = self.sets.iter().map(|s| s.len() * 2 + 16).sum::<usize>() * 2;
        self.v4.mem_size() + self.v6.mem_size() + dom + sets
    }

    pub fn feed_names(&self, set: &[u16]) -> Vec<&str> {
        set.iter()
            .filter_map(|&f| self.feeds.get(f as usize).map(|x| x.name.as_str()))
            .collect()
    }

    /// The most specific network containing `ip`.
    pub fn lookup_ip(&self, ip: IpAddr) -> Option<Match<'_>> {
        match ip {
            IpAddr::V4(a) => {
                let (p, &id) = self.v4.get_lpm(&Ipv4Net::from(a))?;
                Some(Match {
                    indicator: Ioc::Net(IpNet::V4(p)),
                    feeds: &self.sets[id as usize],
                })
            }
            IpAddr::V6(a) => {
                let (p, &id) = self.v6.get_lpm(&Ipv6Net::from(a))?;
                Some(Match {
                    indicator: Ioc::Net(IpNet::V6(p)),
                    feeds: &self.sets[id as usize],
                })
            }
        }
    }

    /// Parses `ip` (an address as text) and looks it up; `None` for anything else.
    pub fn lookup_ip_str(&self, ip: &str) -> Option<Match<'_>> {
        self.lookup_ip(ip.parse().ok()?)
    }

    /// The longest indicator that is `name` or a parent of it on a label boundary.
    pub fn lookup_domain(&self, name: &str) -> Option<Match<'_>> {
        if self.domains.is_empty() {
            return None;
        }
        let trimmed = name.trim_end_matches('.');
        let owned;
        let n: &str = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            owned = trimmed.to_ascii_lowercase();
            &owned
        } else if !trimmed.is_ascii() {
            owned = idna::domain_to_ascii(trimmed).ok()?;
            &owned
        } else {
            trimmed
        };
        let mut rest = n;
        loop {
            if let Some(&id) = self.domains.get(rest) {
                return Some(Match {
                    indicator: Ioc::Domain(rest.to_string()),
                    feeds: &self.sets[id as usize],
                });
            }
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => return None,
            }
        }
    }

    /// Every indicator, for policies and listings (networks first, then domains, sorted).
    pub fn indicators(&self) -> Vec<(Ioc, Vec<&str>)> {
        let mut out: Vec<(Ioc, Vec<&str>)> = Vec::new();
        for (p, &id) in self.v4.iter() {
            out.push((
                Ioc::Net(IpNet::V4(p)),
                self.feed_names(&self.sets[id as usize]),
            ));
        }
        for (p, &id) in self.v6.iter() {
            out.push((
                Ioc::Net(IpNet::V6(p)),
                self.feed_names(&self.sets[id as usize]),
            ));
        }
        let mut d: Vec<_> = self
            .domains
            .iter()
            .map(|(k, &id)| {
                (
                    Ioc::Domain(k.to_string()),
                    self.feed_names(&self.sets[id as usize]),
                )
            })
            .collect();
        d.sort();
        out.extend(d);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> Index {
        let mut i = Index::new(SuffixList::parse("com\nuk\nco.uk\ngithub.io\nio\n"));
        let a = i.add_feed("a", "a.txt");
        let b = i.add_feed("b", "b.txt");
        for s in [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "2001:db8::/32",
            "evil.com",
            "x.evil.com",
        ] {
            assert!(i.insert(&crate::feeds::classify(s).unwrap(), a));
        }
        assert!(i.insert(&crate::feeds::classify("10.1.0.0/16").unwrap(), b));
        assert!(!i.insert(&Ioc::Domain("co.uk".into()), b));
        assert!(!i.insert(&Ioc::Domain("github.io".into()), b));
        i
    }

    #[test]
    fn longest_prefix_and_feed_sets() {
        let i = idx();
        let m = i.lookup_ip_str("10.1.2.3").unwrap();
        assert_eq!(m.indicator.to_string(), "10.1.0.0/16");
        assert_eq!(i.feed_names(m.feeds), vec!["a", "b"]);
        assert_eq!(
            i.lookup_ip_str("10.2.0.1").unwrap().indicator.to_string(),
            "10.0.0.0/8"
        );
        assert!(i.lookup_ip_str("11.0.0.1").is_none());
        assert!(i.lookup_ip_str("2001:db8::5").is_some());
        assert_eq!(i.len(), 5);
        assert_eq!(i.refused.len(), 2);
    }

    #[test]
    fn domain_suffix_on_label_boundaries() {
        let i = idx();
        assert_eq!(
            i.lookup_domain("A.B.Evil.COM.").unwrap().indicator,
            Ioc::Domain("evil.com".into())
        );
        assert_eq!(
            i.lookup_domain("y.x.evil.com").unwrap().indicator,
            Ioc::Domain("x.evil.com".into())
        );
        assert!(i.lookup_domain("notevil.com").is_none());
        assert!(i.lookup_domain("evil.com.au").is_none());
        assert!(i.lookup_domain("com").is_none());
    }
}
