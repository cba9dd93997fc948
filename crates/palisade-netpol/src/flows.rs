//! Flow logs: Palisade's documented JSON-lines schema, and importers for Cilium Hubble
//! (`hubble observe -o json`, also the jsonpb `{"flow": …}` wrapping) and Calico flow logs.
//! Flows are resolved to workloads of the snapshot by pod name, workload name, labels or pod
//! IP; what cannot be resolved is an external address or is reported, never dropped silently.
//!
//! This is the one parser of these formats: [`parse`] gives an [`Event`] with everything a
//! line says (ports, bytes each way, reply direction, drop reason, every policy named, L7
//! HTTP and DNS); netpol's analyses read its [`Flow`], palisade-observe's importers the rest.

use crate::conn::Protocol;
use crate::eval::Endpoint;
use crate::ip::{parse_v4, IpRange};
use crate::model::{find_workloads, Labels, Network};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// One side of a flow, as much as the log says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowEnd {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    /// Workload name, optionally `Kind/name`.
    pub workload: Option<String>,
    pub labels: Option<Labels>,
    pub ip: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Allowed,
    Denied,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub time: Option<String>,
    pub src: FlowEnd,
    pub dst: FlowEnd,
    pub protocol: Protocol,
    pub port: u16,
    pub bytes: u64,
    pub packets: u64,
    pub verdict: Option<Verdict>,
    pub policy: Option<String>,
    /// 1-based line in its file.
    pub line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Detect from each line.
    Auto,
    Palisade,
    Hubble,
    Calico,
}

#[derive(Clone, Debug, Default)]
pub struct FlowLog {
    pub flows: Vec<Flow>,
    /// Lines that could not be read: (line, message).
    pub errors: Vec<(usize, String)>,
    /// Lines that are not flows of interest (Hubble replies, non-L4 events): (line, reason).
    pub skipped: Vec<(usize, String)>,
}

/// Everything one flow-log line says. `flow` is what netpol's analyses read (its `bytes` and
/// `packets` are both directions together); the rest is kept for the flow store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub flow: Flow,
    pub src_port: Option<u16>,
    /// Source to destination, as the log counts them (0 when the log has no counters).
    pub bytes_out: u64,
    pub packets_out: u64,
    /// Destination to source.
    pub bytes_in: u64,
    pub packets_in: u64,
    /// A packet or message in the reply direction (Hubble `is_reply`): `flow.src` is then the
    /// server and `flow.port` the client's port.
    pub reply: bool,
    /// Why a dropped flow was dropped (Hubble `drop_reason_desc`).
    pub drop_reason: Option<String>,
    /// Every policy the log names, in its order (`ns/name`; Calico's `tier|name|action`
    /// entries as written).
    pub policies: Vec<String>,
    /// Which end reported the flow (Calico `reporter`: `src` or `dst`).
    pub reporter: Option<String>,
    /// The node that saw it (Hubble `node_name`, Calico `host`).
    pub node: Option<String>,
    /// The end of the interval an aggregated line covers (Calico `end_time`).
    pub end_time: Option<String>,
    /// Endpoint types as the log names them (Calico `wep`, `hep`, `ns`, `net`).
    pub src_type: Option<String>,
    pub dst_type: Option<String>,
    /// TCP flags of the packet (FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32).
    pub tcp_flags: u8,
    /// Connections this line stands for (Calico `num_flows`; 1 for a Hubble event).
    pub connections: u64,
    /// L7 event kind (Hubble `l7.type`: `REQUEST`, `RESPONSE`, `SAMPLE`).
    pub l7_type: Option<String>,
    pub latency_ns: Option<u64>,
    pub http: Option<Http>,
    pub dns: Option<Dns>,
}

/// An HTTP request or response of an L7 flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Http {
    pub method: Option<String>,
    pub url: Option<String>,
    pub protocol: Option<String>,
    pub code: Option<u16>,
}

/// A DNS request or response of an L7 flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    pub query: String,
    pub ips: Vec<String>,
    pub ttl: u32,
    pub cnames: Vec<String>,
    /// The response code (RFC 1035 numbers); absent on requests.
    pub rcode: Option<u32>,
    pub qtypes: Vec<String>,
}

impl Event {
    fn new(flow: Flow) -> Event {
        Event {
            flow,
            src_port: None,
            bytes_out: 0,
            packets_out: 0,
            bytes_in: 0,
            packets_in: 0,
            reply: false,
            drop_reason: None,
            policies: Vec::new(),
            reporter: None,
            node: None,
            end_time: None,
            src_type: None,
            dst_type: None,
            tcp_flags: 0,
            connections: 1,
            l7_type: None,
            latency_ns: None,
            http: None,
            dns: None,
        }
    }
}

/// Detects the format of a parsed line (Hubble, Calico, else Palisade).
pub fn detect_format(v: &Value) -> Format {
    detect(v)
}

/// Parses one line already read as JSON. `Ok(None)`: a line that is no layer-4 flow (an
/// ICMP or non-IP event, a Hubble node or lost-events message).
pub fn parse(v: &Value, format: Format) -> Result<Option<Event>, String> {
    let fmt = match format {
        Format::Auto => detect(v),
        f => f,
    };
    match fmt {
        Format::Palisade | Format::Auto => palisade(v),
        Format::Hubble => hubble(v),
        Format::Calico => calico(v),
    }
}

/// Reads a flow log (one JSON object a line; blank lines ignored).
pub fn read(text: &str, format: Format) -> FlowLog {
    let mut log = FlowLog::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                log.errors.push((n, format!("not JSON: {e}")));
                continue;
            }
        };
        match parse(&v, format) {
            Ok(Some(e)) if !e.reply => {
                let mut f = e.flow;
                f.line = n;
                log.flows.push(f);
            }
            Ok(_) => log.skipped.push((
                n,
                "not a layer-4 request flow (reply or non-TCP/UDP/SCTP event)".into(),
            )),
            Err(e) => log.errors.push((n, e)),
        }
    }
    log
}

fn detect(v: &Value) -> Format {
    if v.get("flow").is_some() || v.get("IP").is_some() || v.get("l4").is_some() {
        Format::Hubble
    } else if v.get("dest_port").is_some()
        || v.get("source_namespace").is_some()
        || v.get("dest_namespace").is_some()
    {
        Format::Calico
    } else {
        Format::Palisade
    }
}

fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn u(v: &Value, k: &str) -> Option<u64> {
    match v.get(k)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn port_of(v: Option<u64>) -> Result<u16, String> {
    match v {
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Some(p) => Err(format!("port {p} is outside 1-65535")),
        None => Err("missing destination port".into()),
    }
}

fn proto_of(v: &Value) -> Result<Protocol, String> {
    match v {
        Value::String(s) => Protocol::parse(s).ok_or_else(|| format!("unsupported protocol {s:?}")),
        Value::Number(n) => match n.as_u64() {
            Some(6) => Ok(Protocol::Tcp),
            Some(17) => Ok(Protocol::Udp),
            Some(132) => Ok(Protocol::Sctp),
            _ => Err(format!("unsupported protocol number {n}")),
        },
        _ => Err("missing protocol".into()),
    }
}

fn labels_from(v: Option<&Value>) -> Option<Labels> {
    match v? {
        Value::Object(m) => {
            if let Some(inner) = m.get("labels") {
                return labels_from(Some(inner));
            }
            Some(
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
            )
        }
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                // Hubble prefixes the label source: `k8s:app=web`, `reserved:host`.
                .filter_map(hubble_label)
                .collect(),
        ),
        _ => None,
    }
}

/// Palisade's schema (see docs/netpol.md).
fn palisade(v: &Value) -> Result<Option<Event>, String> {
    let end = |k: &str| -> Result<FlowEnd, String> {
        let e = v.get(k).ok_or(format!("missing {k:?}"))?;
        if !e.is_object() {
            return Err(format!("{k:?} is not an object"));
        }
        Ok(FlowEnd {
            namespace: s(e, "namespace"),
            pod: s(e, "pod"),
            workload: s(e, "workload"),
            labels: labels_from(e.get("labels")),
            ip: s(e, "ip"),
        })
    };
    let verdict = match v
        .get("verdict")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("allowed") | Some("allow") | Some("forwarded") => Some(Verdict::Allowed),
        Some("denied") | Some("deny") | Some("dropped") => Some(Verdict::Denied),
        Some(other) => return Err(format!("unknown verdict {other:?} (allowed or denied)")),
    };
    let bytes = u(v, "bytes").unwrap_or(0);
    let packets = u(v, "packets").unwrap_or(0);
    let mut e = Event::new(Flow {
        time: s(v, "time"),
        src: end("src")?,
        dst: end("dst")?,
        protocol: proto_of(v.get("protocol").unwrap_or(&Value::Null))?,
        port: port_of(u(v, "port"))?,
        bytes,
        packets,
        verdict,
        policy: s(v, "policy"),
        line: 0,
    });
    e.bytes_out = bytes;
    e.packets_out = packets;
    e.policies = e.flow.policy.iter().cloned().collect();
    Ok(Some(e))
}

/// Cilium Hubble flow: `hubble observe -o json` (the Flow), `-o jsonpb` and the exporter's
/// files (a GetFlowsResponse: `{"flow": …, "node_name": …, "time": …}`). Field names are the
/// proto names of Cilium's api/v1/flow/flow.proto, as Hubble prints them. The schema is
/// typed and borrows from the line, so a line is read without building a JSON tree.
fn hubble(v: &Value) -> Result<Option<Event>, String> {
    let f = hubble_schema::Flow::deserialize(v).map_err(|e| e.to_string())?;
    hubble_event(f)
}

/// [`parse`] for a Hubble line given as text (the importers' fast path: no JSON tree).
pub fn parse_hubble_line(line: &str) -> Result<Option<Event>, String> {
    let f: hubble_schema::Flow = serde_json::from_str(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("not a Hubble flow: {e}"),
        _ => format!("not JSON: {e}"),
    })?;
    hubble_event(f)
}

mod hubble_schema {
    //! The parts of Hubble's JSON that Palisade reads; everything else is skipped unread.
    use serde::de::{self, IgnoredAny, Visitor};
    use serde::Deserialize;
    use std::borrow::Cow;

    type Str<'a> = Option<Cow<'a, str>>;

    /// A number as JSON writes it, or as protojson writes 64-bit integers (a string).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Num(pub Option<u64>);

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Num;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a number")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                    Ok(Num(Some(v)))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                    Ok(Num(u64::try_from(v).ok()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                    Ok(Num(
                        (v >= 0.0 && v.fract() == 0.0 && v < 1.8e19).then_some(v as u64)
                    ))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                    Ok(Num(v.parse().ok()))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                    Ok(Num(None))
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(Deserialize, Default)]
    pub struct Flow<'a> {
        /// The GetFlowsResponse wrapping (`-o jsonpb`, exporter files).
        #[serde(borrow)]
        pub flow: Option<Box<Flow<'a>>>,
        pub node_status: Option<IgnoredAny>,
        pub lost_events: Option<IgnoredAny>,
        #[serde(borrow)]
        pub time: Str<'a>,
        #[serde(borrow)]
        pub verdict: Str<'a>,
        #[serde(default)]
        pub drop_reason: Num,
        #[serde(borrow)]
        pub drop_reason_desc: Str<'a>,
        #[serde(rename = "IP", borrow)]
        pub ip: Option<Ip<'a>>,
        pub l4: Option<L4>,
        #[serde(borrow)]
        pub source: Option<Endpoint<'a>>,
        #[serde(borrow)]
        pub destination: Option<Endpoint<'a>>,
        #[serde(borrow)]
        pub node_name: Str<'a>,
        #[serde(borrow)]
        pub l7: Option<L7<'a>>,
        pub is_reply: Option<bool>,
        pub reply: Option<bool>,
        #[serde(default, borrow)]
        pub egress_allowed_by: Vec<Policy<'a>>,
        #[serde(default, borrow)]
        pub ingress_allowed_by: Vec<Policy<'a>>,
        #[serde(default, borrow)]
        pub egress_denied_by: Vec<Policy<'a>>,
        #[serde(default, borrow)]
        pub ingress_denied_by: Vec<Policy<'a>>,
    }

    #[derive(Deserialize)]
    pub struct Ip<'a> {
        #[serde(borrow)]
        pub source: Str<'a>,
        #[serde(borrow)]
        pub destination: Str<'a>,
    }

    #[derive(Deserialize)]
    #[allow(non_snake_case)]
    pub struct L4 {
        pub TCP: Option<Ports>,
        pub UDP: Option<Ports>,
        pub SCTP: Option<Ports>,
    }

    #[derive(Deserialize)]
    pub struct Ports {
        #[serde(default)]
        pub source_port: Num,
        #[serde(default)]
        pub destination_port: Num,
        pub flags: Option<Flags>,
    }

    #[derive(Deserialize, Default)]
    #[allow(non_snake_case, clippy::upper_case_acronyms)]
    pub struct Flags {
        #[serde(default)]
        pub FIN: bool,
        #[serde(default)]
        pub SYN: bool,
        #[serde(default)]
        pub RST: bool,
        #[serde(default)]
        pub PSH: bool,
        #[serde(default)]
        pub ACK: bool,
        #[serde(default)]
        pub URG: bool,
    }

    #[derive(Deserialize)]
    pub struct Endpoint<'a> {
        #[serde(borrow)]
        pub namespace: Str<'a>,
        #[serde(borrow)]
        pub pod_name: Str<'a>,
        #[serde(default, borrow)]
        pub labels: Vec<Cow<'a, str>>,
        #[serde(default, borrow)]
        pub workloads: Vec<Workload<'a>>,
    }

    #[derive(Deserialize)]
    pub struct Workload<'a> {
        #[serde(borrow)]
        pub name: Str<'a>,
        #[serde(borrow)]
        pub kind: Str<'a>,
    }

    #[derive(Deserialize)]
    pub struct Policy<'a> {
        #[serde(borrow)]
        pub name: Str<'a>,
        #[serde(borrow)]
        pub namespace: Str<'a>,
    }

    #[derive(Deserialize)]
    pub struct L7<'a> {
        #[serde(rename = "type", borrow)]
        pub kind: Str<'a>,
        #[serde(default)]
        pub latency_ns: Num,
        #[serde(borrow)]
        pub dns: Option<Dns<'a>>,
        #[serde(borrow)]
        pub http: Option<Http<'a>>,
    }

    #[derive(Deserialize)]
    pub struct Dns<'a> {
        #[serde(borrow)]
        pub query: Str<'a>,
        #[serde(default, borrow)]
        pub ips: Vec<Cow<'a, str>>,
        #[serde(default)]
        pub ttl: Num,
        #[serde(default, borrow)]
        pub cnames: Vec<Cow<'a, str>>,
        #[serde(default)]
        pub rcode: Num,
        #[serde(default, borrow)]
        pub qtypes: Vec<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    pub struct Http<'a> {
        #[serde(default)]
        pub code: Num,
        #[serde(borrow)]
        pub method: Str<'a>,
        #[serde(borrow)]
        pub url: Str<'a>,
        #[serde(borrow)]
        pub protocol: Str<'a>,
    }
}

fn owned(s: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.as_deref()
        .filter(|s| !s.is_empty() && *s != "-")
        .map(str::to_string)
}

fn hubble_event(outer: hubble_schema::Flow<'_>) -> Result<Option<Event>, String> {
    use hubble_schema::Flow as F;
    let outer_time = owned(&outer.time);
    let outer_node = owned(&outer.node_name);
    let f: F = match outer.flow {
        Some(f) => *f,
        None if outer.node_status.is_some() || outer.lost_events.is_some() => return Ok(None),
        None => outer,
    };
    let Some(l4) = &f.l4 else {
        return Ok(None);
    };
    let (protocol, body) = if let Some(b) = &l4.TCP {
        (Protocol::Tcp, b)
    } else if let Some(b) = &l4.UDP {
        (Protocol::Udp, b)
    } else if let Some(b) = &l4.SCTP {
        (Protocol::Sctp, b)
    } else {
        return Ok(None);
    };
    let port = port_of(body.destination_port.0)?;
    let ip = |which: bool| -> Option<String> {
        f.ip.as_ref()
            .and_then(|ip| owned(if which { &ip.source } else { &ip.destination }))
    };
    let end = |e: &Option<hubble_schema::Endpoint<'_>>, ip: Option<String>| -> FlowEnd {
        let Some(e) = e else {
            return FlowEnd {
                ip,
                ..FlowEnd::default()
            };
        };
        let workload = e.workloads.first().and_then(|w| {
            let name = w.name.as_deref().filter(|n| !n.is_empty())?;
            Some(match w.kind.as_deref().filter(|k| !k.is_empty()) {
                Some(kind) => format!("{kind}/{name}"),
                None => name.to_string(),
            })
        });
        let labels: Labels = e.labels.iter().filter_map(|l| hubble_label(l)).collect();
        FlowEnd {
            namespace: owned(&e.namespace),
            pod: owned(&e.pod_name),
            workload,
            labels: (!labels.is_empty()).then_some(labels),
            ip,
        }
    };
    let verdict = match f.verdict.as_deref() {
        Some("FORWARDED") | Some("REDIRECTED") | Some("TRACED") | Some("TRANSLATED") => {
            Some(Verdict::Allowed)
        }
        Some("DROPPED") | Some("ERROR") => Some(Verdict::Denied),
        _ => None,
    };
    let name = |p: &hubble_schema::Policy<'_>| -> Option<String> {
        let n = p.name.as_deref().filter(|n| !n.is_empty())?;
        Some(match p.namespace.as_deref().filter(|n| !n.is_empty()) {
            Some(ns) => format!("{ns}/{n}"),
            None => n.to_string(),
        })
    };
    let allowed: Vec<String> = f
        .egress_allowed_by
        .iter()
        .chain(&f.ingress_allowed_by)
        .filter_map(name)
        .collect();
    let denied: Vec<String> = f
        .egress_denied_by
        .iter()
        .chain(&f.ingress_denied_by)
        .filter_map(name)
        .collect();
    // The deciding policy: a denying one for a drop, else the first allowing one.
    let policy = if verdict == Some(Verdict::Denied) && !denied.is_empty() {
        denied.first().cloned()
    } else {
        allowed.first().or(denied.first()).cloned()
    };
    let mut policies = allowed;
    policies.extend(denied);
    let mut flags = 0u8;
    if let Some(fl) = &body.flags {
        for (bit, on) in [
            (1, fl.FIN),
            (2, fl.SYN),
            (4, fl.RST),
            (8, fl.PSH),
            (16, fl.ACK),
            (32, fl.URG),
        ] {
            if on {
                flags |= bit;
            }
        }
    }
    let mut e = Event::new(Flow {
        time: owned(&f.time).or(outer_time),
        src: end(&f.source, ip(true)),
        dst: end(&f.destination, ip(false)),
        protocol,
        port,
        bytes: 0,
        packets: 1,
        verdict,
        policy,
        line: 0,
    });
    e.reply = f.is_reply.or(f.reply).unwrap_or(false);
    e.src_port = body.source_port.0.and_then(|p| u16::try_from(p).ok());
    e.packets_out = 1;
    e.tcp_flags = flags;
    e.policies = policies;
    e.drop_reason = owned(&f.drop_reason_desc)
        .filter(|r| r != "DROP_REASON_UNKNOWN")
        .or_else(|| {
            f.drop_reason
                .0
                .filter(|&n| n != 0)
                .map(|n| format!("drop reason {n}"))
        });
    e.node = owned(&f.node_name).or(outer_node);
    if let Some(l7) = &f.l7 {
        e.l7_type = owned(&l7.kind);
        e.latency_ns = l7.latency_ns.0.filter(|&n| n > 0);
        if let Some(h) = &l7.http {
            e.http = Some(Http {
                method: owned(&h.method),
                url: owned(&h.url),
                protocol: owned(&h.protocol),
                code: h
                    .code
                    .0
                    .filter(|&c| c > 0)
                    .and_then(|c| u16::try_from(c).ok()),
            });
        }
        if let Some(d) = &l7.dns {
            let strs = |v: &[std::borrow::Cow<'_, str>]| -> Vec<String> {
                v.iter().map(|s| s.to_string()).collect()
            };
            let response = e.l7_type.as_deref() == Some("RESPONSE");
            e.dns = Some(Dns {
                query: owned(&d.query).unwrap_or_default(),
                ips: strs(&d.ips),
                ttl: d.ttl.0.and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
                cnames: strs(&d.cnames),
                // proto3 leaves a zero rcode out: a response without one is NOERROR.
                rcode: response.then(|| d.rcode.0.and_then(|c| u32::try_from(c).ok()).unwrap_or(0)),
                qtypes: strs(&d.qtypes),
            });
        }
    }
    Ok(Some(e))
}

/// A Hubble label `k8s:app=web` as (`app`, `web`); Cilium's own and reserved labels are left
/// out.
fn hubble_label(l: &str) -> Option<(String, String)> {
    let l = l.strip_prefix("k8s:").unwrap_or(l);
    if l.starts_with("reserved:")
        || l.starts_with("io.cilium.k8s.")
        || l.starts_with("io.kubernetes.pod.namespace")
    {
        return None;
    }
    l.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
}

/// Calico flow log record (Calico Enterprise / Cloud `flows` JSON).
fn calico(v: &Value) -> Result<Option<Event>, String> {
    let end = |p: &str| -> FlowEnd {
        let ty = s(v, &format!("{p}_type")).unwrap_or_default();
        let name = s(v, &format!("{p}_name"));
        let aggr = s(v, &format!("{p}_name_aggr"))
            .map(|a| a.trim_end_matches('*').trim_end_matches('-').to_string());
        let is_pod = ty == "wep" || ty.is_empty();
        FlowEnd {
            namespace: s(v, &format!("{p}_namespace")),
            pod: if is_pod { name } else { None },
            workload: if is_pod {
                aggr.filter(|a| !a.is_empty())
            } else {
                None
            },
            labels: labels_from(v.get(format!("{p}_labels").as_str())).filter(|l| !l.is_empty()),
            ip: s(v, &format!("{p}_ip")),
        }
    };
    let protocol = proto_of(v.get("proto").unwrap_or(&Value::Null))?;
    let port = port_of(u(v, "dest_port"))?;
    let verdict = match s(v, "action").as_deref() {
        Some("allow") => Some(Verdict::Allowed),
        Some("deny") => Some(Verdict::Denied),
        _ => None,
    };
    let (bytes_in, bytes_out) = (
        u(v, "bytes_in").unwrap_or(0),
        u(v, "bytes_out").unwrap_or(0),
    );
    let (packets_in, packets_out) = (
        u(v, "packets_in").unwrap_or(0),
        u(v, "packets_out").unwrap_or(0),
    );
    let policies: Vec<String> = v
        .get("policies")
        .and_then(|p| p.get("all_policies").or_else(|| p.get("enforced_policies")))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let reporter = s(v, "reporter");
    let mut e = Event::new(Flow {
        time: s(v, "start_time").or_else(|| s(v, "end_time")),
        src: end("source"),
        dst: end("dest"),
        protocol,
        port,
        bytes: bytes_in + bytes_out,
        packets: packets_in + packets_out,
        verdict,
        policy: policies.first().cloned(),
        line: 0,
    });
    // Counters are the reporting endpoint's: `out` is what the source sent when the source
    // reports, what the destination sent when the destination reports.
    if reporter.as_deref() == Some("dst") {
        (e.bytes_out, e.bytes_in) = (bytes_in, bytes_out);
        (e.packets_out, e.packets_in) = (packets_in, packets_out);
    } else {
        (e.bytes_out, e.bytes_in) = (bytes_out, bytes_in);
        (e.packets_out, e.packets_in) = (packets_out, packets_in);
    }
    e.src_port = u(v, "source_port").and_then(|p| u16::try_from(p).ok());
    e.policies = policies;
    e.reporter = reporter;
    e.node = s(v, "host");
    e.end_time = s(v, "end_time");
    e.src_type = s(v, "source_type");
    e.dst_type = s(v, "dest_type");
    e.connections = u(v, "num_flows").unwrap_or(1);
    Ok(Some(e))
}

/// Maps flow ends to endpoints of the snapshot.
pub struct Resolver<'a> {
    net: &'a Network,
    by_ip: HashMap<&'a str, usize>,
    by_pod: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> Resolver<'a> {
    pub fn new(net: &'a Network) -> Resolver<'a> {
        let mut by_ip = HashMap::new();
        let mut by_pod = HashMap::new();
        for (i, w) in net.workloads.iter().enumerate() {
            for ip in &w.pod_ips {
                by_ip.insert(ip.as_str(), i);
            }
            for p in &w.pod_names {
                by_pod.insert((w.namespace.as_str(), p.as_str()), i);
            }
        }
        Resolver { net, by_ip, by_pod }
    }

    /// The endpoint of a flow end: a workload, or an external address. `Err` explains why
    /// the end could not be placed.
    pub fn resolve(&self, e: &FlowEnd) -> Result<Endpoint, String> {
        if let Some(ns) = e.namespace.as_deref() {
            if let Some(pod) = e.pod.as_deref() {
                if let Some(&i) = self.by_pod.get(&(ns, pod)) {
                    return Ok(Endpoint::Workload(i));
                }
                // A pod of a workload template: `<name>-<hash>-<id>`, `<name>-<ordinal>`.
                let best = self
                    .net
                    .workloads
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| {
                        w.namespace == ns
                            && pod.len() > w.name.len()
                            && pod.starts_with(&w.name)
                            && pod.as_bytes()[w.name.len()] == b'-'
                    })
                    .max_by_key(|(_, w)| (w.name.len(), w.kind != "ReplicaSet"));
                if let Some((i, _)) = best {
                    return Ok(Endpoint::Workload(i));
                }
            }
            if let Some(wl) = e.workload.as_deref() {
                let (kind, name) = match wl.split_once('/') {
                    Some((k, n)) => (Some(k), n),
                    None => (None, wl),
                };
                let spec = match kind {
                    Some(k) => format!("{ns}/{name}[{k}]"),
                    None => format!("{ns}/{name}"),
                };
                if let Some(&i) = find_workloads(&self.net.workloads, &spec).first() {
                    return Ok(Endpoint::Workload(i));
                }
                // A ReplicaSet-named workload belongs to its Deployment: `web-5d9c7b8f4`.
                if let Some((i, _)) = self.net.workloads.iter().enumerate().find(|(_, w)| {
                    w.namespace == ns
                        && name.starts_with(&w.name)
                        && name.len() > w.name.len()
                        && name.as_bytes()[w.name.len()] == b'-'
                }) {
                    return Ok(Endpoint::Workload(i));
                }
            }
            if let Some(labels) = &e.labels {
                let best = self
                    .net
                    .workloads
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| {
                        w.namespace == ns
                            && !w.labels.is_empty()
                            && w.labels
                                .iter()
                                .all(|(k, v)| k == "pod-template-hash" || labels.get(k) == Some(v))
                    })
                    .max_by_key(|(_, w)| w.labels.len());
                if let Some((i, _)) = best {
                    return Ok(Endpoint::Workload(i));
                }
            }
        }
        if let Some(ip) = e.ip.as_deref() {
            if let Some(&i) = self.by_ip.get(ip) {
                return Ok(Endpoint::Workload(i));
            }
            if e.namespace.is_none() {
                return match parse_v4(ip) {
                    Some(a) => Ok(Endpoint::Ip(IpRange { lo: a, hi: a })),
                    None => Err(format!(
                        "address {ip} is not an IPv4 address of a known pod (IPv6 is not analysed)"
                    )),
                };
            }
        }
        match (&e.namespace, &e.pod, &e.workload) {
            (Some(ns), Some(p), _) => {
                Err(format!("pod {ns}/{p} matches no workload of the snapshot"))
            }
            (Some(ns), None, Some(w)) => Err(format!("workload {ns}/{w} is not in the snapshot")),
            (Some(ns), None, None) => Err(format!(
                "an endpoint in namespace {ns} matches no workload of the snapshot"
            )),
            _ => Err("the flow end has neither a namespace nor an address".into()),
        }
    }
}

/// A flow placed on the snapshot.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub protocol: Protocol,
    pub port: u16,
    /// Index into the flow log.
    pub flow: usize,
}

/// Resolves every flow; the second list is (flow index, reason) for flows left out.
pub fn resolve_all(net: &Network, log: &FlowLog) -> (Vec<Resolved>, Vec<(usize, String)>) {
    let r = Resolver::new(net);
    let mut ok = Vec::with_capacity(log.flows.len());
    let mut bad = Vec::new();
    for (i, f) in log.flows.iter().enumerate() {
        match (r.resolve(&f.src), r.resolve(&f.dst)) {
            (Ok(src), Ok(dst)) => {
                if matches!((src, dst), (Endpoint::Ip(_), Endpoint::Ip(_))) {
                    bad.push((i, "both ends are external addresses".into()));
                } else {
                    ok.push(Resolved {
                        src,
                        dst,
                        protocol: f.protocol,
                        port: f.port,
                        flow: i,
                    });
                }
            }
            (Err(e), _) => bad.push((i, format!("source: {e}"))),
            (_, Err(e)) => bad.push((i, format!("destination: {e}"))),
        }
    }
    (ok, bad)
}
