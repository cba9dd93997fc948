//! Calico-style aggregation: flow records become one row per (bucket, source, destination,
//! port, protocol, verdict, reporter), where an end is its workload (`ns/name`) or, for
//! addresses outside the cluster, its network range (/24 for IPv4, /64 for IPv6). DNS records
//! become one row per (bucket, client, query name, type, rcode). Backends store the rows of a
//! [`Batch`] in a one-minute table and add them into hourly and daily rollups.

use crate::psl::SuffixList;
use crate::record::{DnsRecord, Endpoint, EndpointKind, FlowRecord, Security};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

pub fn bucket(t: i64, width: i64) -> i64 {
    t.div_euclid(width) * width
}

/// An aggregated end: a workload, a Service, a node, or an external range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct End {
    /// Empty for nodes and external ranges.
    pub namespace: String,
    /// Workload, Service or node name, or the external range (`203.0.113.0/24`).
    pub name: String,
    pub kind: EndpointKind,
}

impl End {
    pub fn of(e: &Endpoint) -> End {
        match (&e.workload, e.kind) {
            (Some(w), EndpointKind::Pod | EndpointKind::Service | EndpointKind::Node) => End {
                namespace: e.namespace.clone().unwrap_or_default(),
                name: w.clone(),
                kind: e.kind,
            },
            _ => End {
                namespace: String::new(),
                name: external_range(&e.ip),
                kind: EndpointKind::External,
            },
        }
    }

    /// `ns/name`, the node name, or the range.
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// The /24 (IPv4) or /64 (IPv6) that holds an address; the text itself when it is not one.
pub fn external_range(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => ip.to_string(),
    }
}

/// The aggregation key of a flow row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FlowKey {
    pub bucket: i64,
    pub src: End,
    pub dst: End,
    /// The DNS name the source resolved the destination as (external destinations only).
    pub dst_name: String,
    pub port: u16,
    pub protocol: String,
    pub verdict: String,
    pub reporter: String,
}

/// Counters of a flow row; they add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounts {
    pub flows: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub tls_flows: u64,
    pub plaintext_flows: u64,
    pub drift_flows: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl FlowCounts {
    pub fn add(&mut self, o: &FlowCounts) {
        if self.flows == 0 {
            self.first_seen = o.first_seen;
            self.last_seen = o.last_seen;
        } else {
            self.first_seen = self.first_seen.min(o.first_seen);
            self.last_seen = self.last_seen.max(o.last_seen);
        }
        self.flows += o.flows;
        self.packets_out += o.packets_out;
        self.bytes_out += o.bytes_out;
        self.packets_in += o.packets_in;
        self.bytes_in += o.bytes_in;
        self.tls_flows += o.tls_flows;
        self.plaintext_flows += o.plaintext_flows;
        self.drift_flows += o.drift_flows;
    }
    fn of(r: &FlowRecord) -> FlowCounts {
        FlowCounts {
            flows: 1,
            packets_out: r.packets_out,
            bytes_out: r.bytes_out,
            packets_in: r.packets_in,
            bytes_in: r.bytes_in,
            tls_flows: (r.security == Security::Tls) as u64,
            plaintext_flows: (r.security == Security::Plaintext) as u64,
            drift_flows: r.drift as u64,
            first_seen: r.start,
            last_seen: r.end,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DnsKey {
    pub bucket: i64,
    pub client: End,
    pub qname: String,
    /// Registered domain of `qname` (public suffix list).
    pub domain: String,
    pub qtype: String,
    /// Empty: no response seen.
    pub rcode: String,
    pub reporter: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCounts {
    pub queries: u64,
    /// The answers' data (addresses, CNAME targets) of the latest response, comma-separated.
    pub answers: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl DnsCounts {
    pub fn add(&mut self, o: &DnsCounts) {
        if self.queries == 0 {
            *self = o.clone();
            return;
        }
        self.queries += o.queries;
        if o.last_seen >= self.last_seen && !o.answers.is_empty() {
            self.answers = o.answers.clone();
        }
        self.first_seen = self.first_seen.min(o.first_seen);
        self.last_seen = self.last_seen.max(o.last_seen);
    }
}

/// Workload labels seen in records, for label filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadLabels {
    pub namespace: String,
    pub name: String,
    pub labels: String,
}

/// What one write adds to the store.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub flows: Vec<(FlowKey, FlowCounts)>,
    /// Records kept with pod and IP detail (denied, plaintext, external, drifting): one per
    /// minute and distinct record once the source port, times and counters are set aside
    /// (see [`detail_key`]), with `connections` counting the records it adds up.
    pub details: Vec<FlowRecord>,
    pub dns: Vec<(DnsKey, DnsCounts)>,
    pub workloads: Vec<WorkloadLabels>,
    /// Flow and DNS records that went into this batch.
    pub records: u64,
}

/// What a detail row keeps of a record: everything but the source port (the initiator's
/// ephemeral port), the times and the counters, which add up. Calico's flow logs drop the
/// source port the same way; pods, addresses, destination port, verdicts, policies, TLS/SNI,
/// HTTP and DNS names stay.
pub fn detail_key(r: &FlowRecord) -> String {
    let mut k = r.clone();
    k.src.port = 0;
    (k.start, k.end, k.tcp_flags, k.connections) = (0, 0, 0, 0);
    (k.packets_out, k.bytes_out, k.packets_in, k.bytes_in) = (0, 0, 0, 0);
    serde_json::to_string(&k).unwrap_or_default()
}

/// A stable 64-bit hash (FNV-1a) of a [`detail_key`]: with the minute, the identity of a
/// detail row in the store, which adds later batches' connections into it.
pub fn detail_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The counters of a detail row, stored beside its [`detail_key`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetailCounts {
    pub start: i64,
    pub end: i64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub tcp_flags: u8,
    pub connections: u64,
}

impl DetailCounts {
    pub fn of(r: &FlowRecord) -> DetailCounts {
        DetailCounts {
            start: r.start,
            end: r.end,
            packets_out: r.packets_out,
            bytes_out: r.bytes_out,
            packets_in: r.packets_in,
            bytes_in: r.bytes_in,
            tcp_flags: r.tcp_flags,
            connections: r.connections(),
        }
    }
    /// The detail row as a record: its key with these counters.
    pub fn record(&self, key: &str) -> serde_json::Result<FlowRecord> {
        let mut r: FlowRecord = serde_json::from_str(key)?;
        r.start = self.start;
        r.end = self.end;
        r.packets_out = self.packets_out;
        r.bytes_out = self.bytes_out;
        r.packets_in = self.packets_in;
        r.bytes_in = self.bytes_in;
        r.tcp_flags = self.tcp_flags;
        // One connection is the default (0), as in a record a source wrote.
        r.connections = if self.connections > 1 {
            self.connections
        } else {
            0
        };
        Ok(r)
    }
}

fn add_detail(d: &mut FlowRecord, r: &FlowRecord) {
    d.start = d.start.min(r.start);
    d.end = d.end.max(r.end);
    d.packets_out += r.packets_out;
    d.bytes_out += r.bytes_out;
    d.packets_in += r.packets_in;
    d.bytes_in += r.bytes_in;
    d.tcp_flags |= r.tcp_flags;
    d.connections += r.connections();
}

/// Builds [`Batch`]es from records.
pub struct Aggregator {
    psl: SuffixList,
    flows: HashMap<FlowKey, FlowCounts>,
    dns: HashMap<DnsKey, DnsCounts>,
    details: HashMap<(i64, String), FlowRecord>,
    workloads: HashMap<(String, String), String>,
    records: u64,
}

impl Aggregator {
    pub fn new(psl: SuffixList) -> Aggregator {
        Aggregator {
            psl,
            flows: HashMap::new(),
            dns: HashMap::new(),
            details: HashMap::new(),
            workloads: HashMap::new(),
            records: 0,
        }
    }

    pub fn pending(&self) -> u64 {
        self.records
    }

    fn note_labels(&mut self, e: &Endpoint) {
        if let (Some(ns), Some(w), false) = (&e.namespace, &e.workload, e.labels.is_empty()) {
            self.workloads
                .entry((ns.clone(), w.clone()))
                .or_insert_with(|| serde_json::to_string(&e.labels).unwrap_or_default());
        }
    }

    pub fn add_flow(&mut self, r: &FlowRecord) {
        self.records += 1;
        self.note_labels(&r.src);
        self.note_labels(&r.dst);
        let dst = End::of(&r.dst);
        let key = FlowKey {
            bucket: bucket(r.start, MINUTE_MS),
            src: End::of(&r.src),
            dst_name: if dst.kind == EndpointKind::External {
                r.dst.dns_name.clone().unwrap_or_default()
            } else {
                String::new()
            },
            dst,
            port: r.dst.port,
            protocol: r.protocol.clone(),
            verdict: r.effective_verdict().as_str().to_string(),
            reporter: r.reporter.clone(),
        };
        self.flows.entry(key).or_default().add(&FlowCounts::of(r));
        if r.keeps_detail() {
            let key = (bucket(r.start, MINUTE_MS), detail_key(r));
            match self.details.get_mut(&key) {
                Some(d) => add_detail(d, r),
                None => {
                    let mut d = r.clone();
                    d.src.port = 0;
                    d.connections = r.connections();
                    self.details.insert(key, d);
                }
            }
        }
    }

    pub fn add_dns(&mut self, r: &DnsRecord) {
        self.records += 1;
        self.note_labels(&r.client);
        let qname = r.qname.trim_end_matches('.').to_ascii_lowercase();
        let key = DnsKey {
            bucket: bucket(r.time, MINUTE_MS),
            client: End::of(&r.client),
            domain: self.psl.registered_domain(&qname),
            qname,
            qtype: r.qtype.clone(),
            rcode: r.rcode.clone().unwrap_or_default(),
            reporter: r.reporter.clone(),
        };
        let answers = r
            .answers
            .iter()
            .take(8)
            .map(|a| a.data.as_str())
            .collect::<Vec<_>>()
            .join(",");
        self.dns.entry(key).or_default().add(&DnsCounts {
            queries: 1,
            answers,
            first_seen: r.time,
            last_seen: r.time,
        });
    }

    /// Takes what was aggregated so far.
    pub fn take(&mut self) -> Batch {
        let mut flows: Vec<_> = self.flows.drain().collect();
        flows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut dns: Vec<_> = self.dns.drain().collect();
        dns.sort_by(|a, b| a.0.cmp(&b.0));
        let workloads = self
            .workloads
            .drain()
            .map(|((namespace, name), labels)| WorkloadLabels {
                namespace,
                name,
                labels,
            })
            .collect();
        let mut details: Vec<_> = self.details.drain().collect();
        details.sort_by(|a, b| (a.1.start, &a.0).cmp(&(b.1.start, &b.0)));
        Batch {
            flows,
            details: details.into_iter().map(|(_, d)| d).collect(),
            dns,
            workloads,
            records: std::mem::take(&mut self.records),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Verdict;

    fn pod(ns: &str, w: &str, ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.into(),
            port,
            kind: EndpointKind::Pod,
            namespace: Some(ns.into()),
            workload: Some(w.into()),
            pod: Some(format!("{w}-abc")),
            ..Endpoint::default()
        }
    }

    #[test]
    fn same_edge_same_minute_is_one_row() {
        let mut a = Aggregator::new(SuffixList::default());
        for i in 0..30 {
            a.add_flow(&FlowRecord {
                start: 120_000 + i * 1000,
                end: 120_500 + i * 1000,
                src: pod("shop", "web", "10.0.0.1", 40000 + i as u16),
                dst: pod("shop", "db", "10.0.0.2", 5432),
                protocol: "tcp".into(),
                packets_out: 2,
                bytes_out: 100,
                security: Security::Tls,
                reporter: "sensor".into(),
                ..FlowRecord::default()
            });
        }
        let b = a.take();
        assert_eq!(b.records, 30);
        assert_eq!(b.flows.len(), 1);
        assert_eq!(b.flows[0].1.flows, 30);
        assert_eq!(b.flows[0].1.bytes_out, 3000);
        assert_eq!(b.flows[0].1.tls_flows, 30);
        assert_eq!(b.flows[0].1.first_seen, 120_000);
        assert_eq!(b.flows[0].1.last_seen, 149_500);
        assert!(b.details.is_empty());
        assert_eq!(a.take().records, 0);
    }

    #[test]
    fn external_ends_aggregate_to_ranges_and_keep_detail() {
        let mut a = Aggregator::new(SuffixList::default());
        for last in [1, 2] {
            a.add_flow(&FlowRecord {
                start: 0,
                end: 1,
                src: pod("shop", "web", "10.0.0.1", 40000),
                dst: Endpoint {
                    ip: format!("203.0.113.{last}"),
                    port: 443,
                    ..Endpoint::default()
                },
                protocol: "tcp".into(),
                verdict: Verdict::Denied,
                reporter: "sensor".into(),
                ..FlowRecord::default()
            });
        }
        let b = a.take();
        assert_eq!(b.flows.len(), 1);
        assert_eq!(b.flows[0].0.dst.name, "203.0.113.0/24");
        assert_eq!(b.flows[0].0.verdict, "denied");
        assert_eq!(b.details.len(), 2);
        assert_eq!(external_range("2001:db8:1:2:3::4"), "2001:db8:1:2::/64");
    }

    #[test]
    fn detail_rows_add_up_connections_that_differ_in_source_port() {
        let mut a = Aggregator::new(SuffixList::default());
        let mut r = FlowRecord {
            start: 120_000,
            end: 120_400,
            src: pod("shop", "web", "10.0.0.1", 40000),
            dst: pod("shop", "cache", "10.0.0.3", 6379),
            protocol: "tcp".into(),
            packets_out: 2,
            bytes_out: 100,
            tcp_flags: 0x02,
            security: Security::Plaintext,
            reporter: "sensor".into(),
            ..FlowRecord::default()
        };
        a.add_flow(&r);
        (r.src.port, r.start, r.end, r.tcp_flags) = (40001, 130_000, 131_000, 0x11);
        a.add_flow(&r);
        r.dst.ip = "10.0.0.4".into(); // another pod of the destination: its own row
        a.add_flow(&r);
        r.start = 180_000; // the next minute: its own row
        a.add_flow(&r);
        let b = a.take();
        assert_eq!(b.details.len(), 3);
        let d = &b.details[0];
        assert_eq!((d.start, d.end, d.connections), (120_000, 131_000, 2));
        assert_eq!((d.src.port, d.bytes_out, d.tcp_flags), (0, 200, 0x13));
        assert_eq!(d.dst.ip, "10.0.0.3");
        assert_eq!(b.details[1].connections, 1);
        assert_eq!(b.details[2].start, 180_000);
    }
}
