//! The index against a brute-force oracle on random data: for every probe, the oracle scans
//! every indicator for the longest network containing the address, or the longest domain
//! that is the name or a parent of it on a label boundary.

use ipnet::{IpNet, Ipv4Net};
use palisade_store::psl::SuffixList;
use palisade_threat::feeds::Ioc;
use palisade_threat::index::Index;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

fn oracle_ip(nets: &[Ipv4Net], ip: Ipv4Addr) -> Option<Ipv4Net> {
    nets.iter()
        .filter(|n| n.contains(&ip))
        .max_by_key(|n| n.prefix_len())
        .copied()
}

fn oracle_domain<'a>(doms: &'a [String], name: &str) -> Option<&'a String> {
    doms.iter()
        .filter(|d| name == d.as_str() || name.ends_with(&format!(".{d}")))
        .max_by_key(|d| d.len())
}

// Addresses from a small space (10.0.0.0/20) so that random probes hit random prefixes.
fn net() -> impl Strategy<Value = Ipv4Net> {
    (0u32..4096, 20u8..=32).prop_map(|(x, len)| {
        Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | x), len)
            .unwrap()
            .trunc()
    })
}

fn label() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "ab", "evil", "x-1", "c2"]).prop_map(String::from)
}

fn name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 1..4),
        prop::sample::select(vec!["com", "net", "org"]),
    )
        .prop_map(|(ls, tld)| format!("{}.{tld}", ls.join(".")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn index_agrees_with_brute_force(
        nets in prop::collection::vec(net(), 0..60),
        doms in prop::collection::vec(name(), 0..40),
        probes in prop::collection::vec(0u32..4096, 1..80),
        names in prop::collection::vec(name(), 1..80),
    ) {
        let mut idx = Index::new(SuffixList::parse("com\nnet\norg\n"));
        let f = idx.add_feed("f", "random");
        for n in &nets { idx.insert(&Ioc::Net(IpNet::V4(*n)), f); }
        for d in &doms { idx.insert(&Ioc::Domain(d.clone()), f); }
        for p in probes {
            let ip = Ipv4Addr::from(0x0a00_0000 | p);
            let got = idx.lookup_ip(IpAddr::V4(ip)).map(|m| m.indicator);
            let want = oracle_ip(&nets, ip).map(|n| Ioc::Net(IpNet::V4(n)));
            prop_assert_eq!(got, want, "address {}", ip);
        }
        for n in names {
            let got = idx.lookup_domain(&n.to_ascii_uppercase()).map(|m| m.indicator);
            let want = oracle_domain(&doms, &n).map(|d| Ioc::Domain(d.clone()));
            prop_assert_eq!(got, want, "name {}", n);
        }
    }
}
