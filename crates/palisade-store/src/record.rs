//! The records every source produces: one [`FlowRecord`] per observed connection (or per
//! active-timeout slice of one), one [`DnsRecord`] per DNS exchange. Times are Unix
//! milliseconds.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an address is, as attribution placed it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    /// A pod of a known workload.
    Pod,
    /// A Service's cluster IP.
    Service,
    /// A node address.
    Node,
    /// Anything else: outside the cluster, or not in the snapshot.
    #[default]
    External,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Pod => "pod",
            EndpointKind::Service => "service",
            EndpointKind::Node => "node",
            EndpointKind::External => "external",
        }
    }
    pub fn parse(s: &str) -> Option<EndpointKind> {
        Some(match s {
            "pod" => EndpointKind::Pod,
            "service" => EndpointKind::Service,
            "node" => EndpointKind::Node,
            "external" => EndpointKind::External,
            _ => return None,
        })
    }
}

/// One end of a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: String,
    pub port: u16,
    pub kind: EndpointKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Workload name (a Service's name for `kind: service`, the node name for `node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The name the other end resolved this address as (from a DNS answer seen earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
}

impl Endpoint {
    /// `ns/workload` for pods and services, the node name for nodes, else `None`.
    pub fn workload_key(&self) -> Option<String> {
        match (&self.namespace, &self.workload) {
            (Some(ns), Some(w)) => Some(format!("{ns}/{w}")),
            (None, Some(w)) => Some(w.clone()),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Denied,
    #[default]
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        Some(match s {
            "allowed" | "allow" => Verdict::Allowed,
            "denied" | "deny" => Verdict::Denied,
            "unknown" => Verdict::Unknown,
            _ => return None,
        })
    }
}

/// TCP connection state as far as the packets show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TcpState {
    /// A SYN without an answer from the other side.
    Attempted,
    /// Both sides sent packets (handshake seen, or traffic both ways mid-stream).
    Established,
    /// A RST was seen.
    Reset,
    /// FIN from both sides.
    Closed,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::Attempted => "attempted",
            TcpState::Established => "established",
            TcpState::Reset => "reset",
            TcpState::Closed => "closed",
        }
    }
}

/// Whether the connection negotiated TLS or sent recognisable plaintext.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// A TLS ClientHello (and possibly ServerHello) was seen.
    Tls,
    /// The first payload was cleartext (HTTP/1.x, DNS, or printable text).
    Plaintext,
    /// No payload, or binary payload that is not TLS.
    #[default]
    Unknown,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Plaintext => "plaintext",
            Security::Unknown => "unknown",
        }
    }
}

/// The first HTTP/1.x request and response of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpInfo {
    pub method: String,
    pub path: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// One connection (or one active-timeout slice of it). `src` is the initiator; "out" counts
/// go from `src` to `dst`, "in" counts the reverse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRecord {
    /// First packet, Unix ms.
    pub start: i64,
    /// Last packet, Unix ms.
    pub end: i64,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// `tcp`, `udp`, `sctp`, `icmp`, `icmpv6` or the IP protocol number.
    pub protocol: String,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_state: Option<TcpState>,
    /// Union of the TCP flags seen (FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32).
    #[serde(default)]
    pub tcp_flags: u8,
    #[serde(default)]
    pub security: Security,
    /// TLS server name from the ClientHello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpInfo>,
    /// The verdict the source observed (a CNI's flow log); `unknown` for a passive sensor.
    #[serde(default)]
    pub verdict: Verdict,
    /// The policy the source names as deciding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Every policy the source names for the flow (Hubble's allowed-by/denied-by lists,
    /// Calico's `all_policies`), in its order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_reason: Option<String>,
    /// The verdict the current policies imply (palisade-netpol), when a snapshot was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_verdict: Option<Verdict>,
    /// The deciding policy and rule of the computed verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_policy: Option<String>,
    /// For a computed denial: the nearest rule that would have allowed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nearest_miss: Option<String>,
    /// The observed verdict differs from the computed one (policy drift or a CNI bug).
    #[serde(default)]
    pub drift: bool,
    /// Who saw the flow: `sensor`, `hubble`, `calico`, … (Calico's `src`/`dst` are kept).
    pub reporter: String,
    /// The record was flushed early because the flow table was full.
    #[serde(default)]
    pub evicted: bool,
    /// How many connections the record stands for: the store's detail rows add up records
    /// that differ only in the source (ephemeral) port, times and counters. 0 and 1 both
    /// mean one; see [`FlowRecord::connections`].
    #[serde(default, skip_serializing_if = "at_most_one")]
    pub connections: u64,
}

fn at_most_one(n: &u64) -> bool {
    *n <= 1
}

impl FlowRecord {
    /// The verdict used for aggregation: observed, else computed, else unknown.
    pub fn effective_verdict(&self) -> Verdict {
        match (self.verdict, self.computed_verdict) {
            (Verdict::Unknown, Some(c)) => c,
            (v, _) => v,
        }
    }
    /// The connections this record stands for (at least one).
    pub fn connections(&self) -> u64 {
        self.connections.max(1)
    }
    /// Denied, plaintext and external flows keep pod and IP detail in the store.
    pub fn keeps_detail(&self) -> bool {
        self.effective_verdict() == Verdict::Denied
            || self.security == Security::Plaintext
            || self.src.kind == EndpointKind::External
            || self.dst.kind == EndpointKind::External
            || self.drift
    }
}

/// One answer of a DNS response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, … or `TYPE<n>`.
    pub rtype: String,
    pub ttl: u32,
    /// Address, target name, or text of the record.
    pub data: String,
}

/// One DNS query and its response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Unix ms of the query (or of the response when the query was not seen).
    pub time: i64,
    pub client: Endpoint,
    pub server: Endpoint,
    /// `udp` or `tcp`.
    pub protocol: String,
    pub id: u16,
    pub qname: String,
    pub qtype: String,
    /// `NOERROR`, `NXDOMAIN`, … ; `None`: no response was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswer>,
    /// Response time in microseconds, when both query and response were seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    pub reporter: String,
}

impl DnsRecord {
    /// The CNAME chain from the question to the final name, in order.
    pub fn cname_chain(&self) -> Vec<String> {
        let mut chain = Vec::new();
        let mut cur = self.qname.to_ascii_lowercase();
        for _ in 0..self.answers.len() {
            let next = self.answers.iter().find(|a| {
                a.rtype == "CNAME" && a.name.eq_ignore_ascii_case(&cur) && !chain.contains(&a.data)
            });
            match next {
                Some(a) => {
                    chain.push(a.data.clone());
                    cur = a.data.to_ascii_lowercase();
                }
                None => break,
            }
        }
        chain
    }
}
