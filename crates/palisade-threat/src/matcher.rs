//! Matching records against the index, live (one record at a time, as they arrive) or
//! retrospectively (over what the store kept), and turning hits into alerts.
//!
//! What is looked up:
//! - a flow: both addresses (the in-cluster end is the workload), the name the client
//!   resolved the peer as (`dns_name`), the TLS server name and the HTTP `Host`;
//! - a DNS exchange: the question name, every CNAME target and every A/AAAA address in the
//!   answers (the client is the workload);
//! - a stored DNS row: its question name and its latest answers.
//!
//! Hits are grouped by (indicator, workload, pod): one alert says when the group was first
//! and last seen and how often.

use crate::feeds::Ioc;
use crate::index::{Index, Match};
use palisade_detect::{Alert, Priority};
use palisade_store::aggregate::End;
use palisade_store::query::DnsRow;
use palisade_store::{DnsRecord, Endpoint, EndpointKind, FlowRecord};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One indicator seen from one workload/pod.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Hit {
    pub feeds: Vec<String>,
    pub indicator: String,
    /// `ip` or `domain`.
    pub kind: String,
    /// Where it was seen: `flow.dst`, `flow.src`, `flow.dns_name`, `flow.sni`, `flow.http_host`,
    /// `dns.query`, `dns.cname`, `dns.answer` (the first sighting's).
    pub field: String,
    /// The observed value (`203.0.113.7:4444`, `a.b.evil.example`).
    pub observed: String,
    /// `ns/workload`, a node name, or `` when the record was not attributed.
    pub workload: String,
    pub pod: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u64,
}

/// Collects hits.
pub struct Matcher<'a> {
    pub index: &'a Index,
    hits: HashMap<(String, String, String), Hit>,
    order: Vec<(String, String, String)>,
    /// Records looked at.
    pub records: u64,
}

fn workload_of(e: &Endpoint) -> (String, String) {
    (
        e.workload_key().unwrap_or_default(),
        e.pod.clone().unwrap_or_default(),
    )
}

impl<'a> Matcher<'a> {
    pub fn new(index: &'a Index) -> Matcher<'a> {
        Matcher {
            index,
            hits: HashMap::new(),
            order: Vec::new(),
            records: 0,
        }
    }

    /// Records a sighting; returns true when it is the group's first.
    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        m: Match<'_>,
        field: &str,
        observed: String,
        workload: (String, String),
        first: i64,
        last: i64,
        count: u64,
    ) -> bool {
        let key = (m.indicator.to_string(), workload.0, workload.1);
        if let Some(h) = self.hits.get_mut(&key) {
            h.first_seen = h.first_seen.min(first);
            h.last_seen = h.last_seen.max(last);
            h.count += count;
            return false;
        }
        let feeds = self
            .index
            .feed_names(m.feeds)
            .into_iter()
            .map(String::from)
            .collect();
        self.hits.insert(
            key.clone(),
            Hit {
                feeds,
                indicator: key.0.clone(),
                kind: m.indicator.kind().into(),
                field: field.into(),
                observed,
                workload: key.1.clone(),
                pod: key.2.clone(),
                first_seen: first,
                last_seen: last,
                count,
            },
        );
        self.order.push(key);
        true
    }

    /// Matches one flow; returns the number of new hit groups.
    pub fn flow(&mut self, r: &FlowRecord) -> usize {
        self.records += 1;
        let idx = self.index;
        let mut new = 0;
        let (s, e) = (r.start, r.end.max(r.start));
        if let Some(m) = idx.lookup_ip_str(&r.dst.ip) {
            let obs = format!("{}:{}", r.dst.ip, r.dst.port);
            new += self.note(m, "flow.dst", obs, workload_of(&r.src), s, e, 1) as usize;
        }
        if r.src.kind != EndpointKind::Pod || r.dst.kind == EndpointKind::Pod {
            if let Some(m) = idx.lookup_ip_str(&r.src.ip) {
                let obs = format!("{}:{}", r.src.ip, r.src.port);
                new += self.note(m, "flow.src", obs, workload_of(&r.dst), s, e, 1) as usize;
            }
        }
        let names = [
            ("flow.dns_name", r.dst.dns_name.as_deref()),
            ("flow.sni", r.sni.as_deref()),
            (
                "flow.http_host",
                r.http.as_ref().and_then(|h| h.host.as_deref()),
            ),
        ];
        for (field, name) in names {
            if let Some(n) = name {
                let host = n.split(':').next().unwrap_or(n);
                if let Some(m) = idx.lookup_domain(host) {
                    new +=
                        self.note(m, field, n.to_string(), workload_of(&r.src), s, e, 1) as usize;
                }
            }
        }
        new
    }

    /// Matches one DNS exchange; returns the number of new hit groups.
    pub fn dns(&mut self, r: &DnsRecord) -> usize {
        self.records += 1;
        let idx = self.index;
        let mut new = 0;
        let w = workload_of(&r.client);
        if let Some(m) = idx.lookup_domain(&r.qname) {
            new += self.note(
                m,
                "dns.query",
                r.qname.clone(),
                w.clone(),
                r.time,
                r.time,
                1,
            ) as usize;
        }
        for a in &r.answers {
            let m = match a.rtype.as_str() {
                "CNAME" => idx.lookup_domain(&a.data).map(|m| (m, "dns.cname")),
                "A" | "AAAA" => idx.lookup_ip_str(&a.data).map(|m| (m, "dns.answer")),
                _ => None,
            };
            if let Some((m, field)) = m {
                let obs = format!("{} {} {}", a.name, a.rtype, a.data);
                new += self.note(m, field, obs, w.clone(), r.time, r.time, 1) as usize;
            }
        }
        new
    }

    /// Matches a stored DNS row (question and latest answers; no pod).
    pub fn dns_row(&mut self, r: &DnsRow) -> usize {
        self.records += 1;
        let idx = self.index;
        let w = (end_label(&r.client), String::new());
        let (f, l, n) = (
            r.counts.first_seen,
            r.counts.last_seen,
            r.counts.queries.max(1),
        );
        let mut new = 0;
        if let Some(m) = idx.lookup_domain(&r.qname) {
            new += self.note(m, "dns.query", r.qname.clone(), w.clone(), f, l, n) as usize;
        }
        for a in r
            .counts
            .answers
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let m = match a.parse::<std::net::IpAddr>() {
                Ok(ip) => idx.lookup_ip(ip).map(|m| (m, "dns.answer")),
                Err(_) => idx.lookup_domain(a).map(|m| (m, "dns.cname")),
            };
            if let Some((m, field)) = m {
                new +=
                    self.note(m, field, format!("{} -> {a}", r.qname), w.clone(), f, l, n) as usize;
            }
        }
        new
    }

    /// The hit groups in the order they were first seen.
    pub fn hits(&self) -> Vec<Hit> {
        self.order
            .iter()
            .filter_map(|k| self.hits.get(k).cloned())
            .collect()
    }

    /// The hit group of a key (for live alerting right after `flow`/`dns`).
    pub fn last_new(&self) -> Option<&Hit> {
        self.order.last().and_then(|k| self.hits.get(k))
    }
}

fn end_label(e: &End) -> String {
    if e.kind == EndpointKind::External {
        String::new()
    } else {
        e.label()
    }
}

/// The alert of a hit, in Falco's JSON shape (rule `Threat feed match`).
pub fn alert(h: &Hit, hostname: &str) -> Alert {
    let mut f = Map::new();
    let s = |x: &str| Value::String(x.to_string());
    let (ns, name) = h
        .workload
        .split_once('/')
        .unwrap_or(("", h.workload.as_str()));
    f.insert("threat.feed".into(), s(&h.feeds.join(",")));
    f.insert("threat.indicator".into(), s(&h.indicator));
    f.insert("threat.kind".into(), s(&h.kind));
    f.insert("threat.field".into(), s(&h.field));
    f.insert("threat.observed".into(), s(&h.observed));
    f.insert("threat.first_seen".into(), s(&iso_ms(h.first_seen)));
    f.insert("threat.last_seen".into(), s(&iso_ms(h.last_seen)));
    f.insert("threat.count".into(), Value::from(h.count));
    f.insert("k8s.ns.name".into(), opt(ns));
    f.insert("k8s.workload.name".into(), opt(name));
    f.insert("k8s.pod.name".into(), opt(&h.pod));
    let who = if h.workload.is_empty() {
        "<unattributed>"
    } else {
        &h.workload
    };
    let message = format!(
        "Threat feed match (feed={} indicator={} {}={} workload={} pod={} first_seen={} last_seen={} count={})",
        h.feeds.join(","),
        h.indicator,
        h.field,
        h.observed,
        who,
        if h.pod.is_empty() { "<NA>" } else { &h.pod },
        iso_ms(h.first_seen),
        iso_ms(h.last_seen),
        h.count
    );
    Alert {
        time_ns: h.last_seen.saturating_mul(1_000_000),
        rule: "Threat feed match".into(),
        priority: Priority::Warning,
        source: "palisade_threat".into(),
        message,
        output_fields: f,
        tags: vec![
            "threat".into(),
            "network".into(),
            "mitre_command_and_control".into(),
            "T1071".into(),
        ],
        hostname: hostname.into(),
    }
}

fn opt(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.into())
    }
}

/// RFC 3339 of a Unix-ms time.
pub fn iso_ms(ms: i64) -> String {
    palisade_detect::time::iso8601(ms.saturating_mul(1_000_000))
}

/// An IP indicator's address for display (`198.51.100.7` for a /32).
pub fn show(i: &Ioc) -> String {
    i.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::psl::SuffixList;
    use palisade_store::DnsAnswer;

    #[test]
    fn stored_dns_rows() {
        use palisade_store::aggregate::DnsCounts;
        let mut idx = Index::new(SuffixList::parse("com\nexample\n"));
        let f = idx.add_feed("f", "f");
        idx.insert(&Ioc::Net("192.0.2.0/24".parse().unwrap()), f);
        idx.insert(&Ioc::Domain("evil.example".into()), f);
        let mut m = Matcher::new(&idx);
        let row = |q: &str, answers: &str| DnsRow {
            client: End {
                namespace: "shop".into(),
                name: "web".into(),
                kind: EndpointKind::Pod,
            },
            qname: q.into(),
            domain: String::new(),
            qtype: "A".into(),
            rcode: "NOERROR".into(),
            counts: DnsCounts {
                queries: 4,
                answers: answers.into(),
                first_seen: 10,
                last_seen: 90,
            },
        };
        assert_eq!(
            m.dns_row(&row("www.shop.com", "cdn.evil.example, 192.0.2.7")),
            2
        );
        assert_eq!(m.dns_row(&row("a.evil.example", "")), 0);
        let h = m.hits();
        assert_eq!(h[0].field, "dns.cname");
        assert_eq!(h[0].count, 8);
        assert_eq!(h[1].indicator, "192.0.2.0/24");
        assert_eq!(h[0].workload, "shop/web");
    }

    #[test]
    fn flow_and_dns_hits_grouped() {
        let mut idx = Index::new(SuffixList::parse("com\nexample\n"));
        let f = idx.add_feed("feodo", "feodo.txt");
        idx.insert(&Ioc::Net("203.0.113.0/24".parse().unwrap()), f);
        idx.insert(&Ioc::Domain("evil.example".into()), f);
        let mut m = Matcher::new(&idx);
        let src = Endpoint {
            ip: "10.0.0.5".into(),
            kind: EndpointKind::Pod,
            namespace: Some("shop".into()),
            workload: Some("cart".into()),
            pod: Some("cart-1".into()),
            ..Endpoint::default()
        };
        let mut fl = FlowRecord {
            start: 1000,
            end: 2000,
            src: src.clone(),
            dst: Endpoint {
                ip: "203.0.113.7".into(),
                port: 4444,
                ..Endpoint::default()
            },
            ..FlowRecord::default()
        };
        assert_eq!(m.flow(&fl), 1);
        fl.start = 5000;
        fl.end = 6000;
        assert_eq!(m.flow(&fl), 0);
        let d = DnsRecord {
            time: 3000,
            client: src,
            qname: "www.shop.com".into(),
            qtype: "A".into(),
            answers: vec![
                DnsAnswer {
                    name: "www.shop.com".into(),
                    rtype: "CNAME".into(),
                    ttl: 1,
                    data: "cdn.evil.example".into(),
                },
                DnsAnswer {
                    name: "cdn.evil.example".into(),
                    rtype: "A".into(),
                    ttl: 1,
                    data: "203.0.113.9".into(),
                },
            ],
            ..DnsRecord::default()
        };
        assert_eq!(
            m.dns(&d),
            1,
            "the CNAME is new, the address joins the /24 group"
        );
        let hits = m.hits();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].first_seen, 1000);
        assert_eq!(hits[0].last_seen, 6000);
        assert_eq!(hits[0].count, 3);
        assert_eq!(hits[0].workload, "shop/cart");
        assert_eq!(hits[1].field, "dns.cname");
        let a = alert(&hits[0], "h");
        let j = a.to_json();
        assert_eq!(j["output_fields"]["threat.feed"], "feodo");
        assert_eq!(j["output_fields"]["k8s.pod.name"], "cart-1");
        assert_eq!(j["rule"], "Threat feed match");
        assert!(j["output"]
            .as_str()
            .unwrap()
            .contains("indicator=203.0.113.0/24"));
    }
}
