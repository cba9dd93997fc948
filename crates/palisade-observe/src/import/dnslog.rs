//! DNS logs: Calico DNS logs, Inspektor Gadget `trace_dns`, the CoreDNS `log` plugin.

use super::convert::{time_ms, workload_of};
use super::PendingKey;
use palisade_store::{DnsAnswer, DnsRecord, Endpoint, EndpointKind};
use serde_json::Value;

/// Half of a DNS exchange, keyed to find its other half.
pub(super) enum Half {
    Query(PendingKey, DnsRecord),
    Response(PendingKey, DnsRecord),
}

/// RFC 1035/6895 response code names, as the sensor writes them.
pub(super) fn rcode_name(r: u32) -> String {
    match u8::try_from(r) {
        Ok(r) if r < 16 => crate::dns::rcode_name(r),
        _ => format!("RCODE{r}"),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && *s != "-")
}

fn n(v: &Value, k: &str) -> Option<u64> {
    match v.get(k)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn labels(v: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => Default::default(),
    }
}

/// An endpoint from a namespace, a pod or aggregated name, and an address.
fn end(ip: Option<&str>, port: u16, ns: Option<&str>, name: Option<&str>) -> Endpoint {
    let kind = if ns.is_some() && name.is_some() {
        EndpointKind::Pod
    } else {
        EndpointKind::External
    };
    Endpoint {
        ip: ip.unwrap_or_default().to_string(),
        port,
        kind,
        namespace: ns.map(str::to_string),
        workload: if kind == EndpointKind::Pod {
            name.map(workload_of)
        } else {
            None
        },
        pod: name
            .filter(|n| !n.ends_with('*') && kind == EndpointKind::Pod)
            .map(str::to_string),
        ..Endpoint::default()
    }
}

/// Canonical rcode spelling from the names tools use (`NoError`, `Success`, `NXDomain`, …).
fn rcode_text(r: &str) -> String {
    match r.to_ascii_lowercase().as_str() {
        "noerror" | "success" => "NOERROR".into(),
        "formerr" | "formaterror" => "FORMERR".into(),
        "servfail" | "serverfailure" => "SERVFAIL".into(),
        "nxdomain" | "nameerror" => "NXDOMAIN".into(),
        "notimp" | "notimplemented" => "NOTIMP".into(),
        "refused" => "REFUSED".into(),
        _ => r.to_ascii_uppercase(),
    }
}

/// A Calico DNS log record: one client's queries for one name and type in an interval
/// (`count` of them), with the answers (`rrsets`) and latency.
pub(super) fn calico(v: &Value) -> Result<DnsRecord, String> {
    let qname = s(v, "qname").ok_or("missing \"qname\"")?;
    let time = time_ms(
        v.get("start_time")
            .or_else(|| v.get("end_time"))
            .map(|t| match t {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .as_deref(),
    )?;
    let mut client = end(
        s(v, "client_ip"),
        0,
        s(v, "client_namespace"),
        s(v, "client_name").or(s(v, "client_name_aggr")),
    );
    client.labels = labels(v.get("client_labels"));
    let server = match v
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        Some(sv) => {
            let mut e = end(
                s(sv, "ip"),
                53,
                s(sv, "namespace"),
                s(sv, "name").or(s(sv, "name_aggr")),
            );
            e.labels = labels(sv.get("labels"));
            e
        }
        None => Endpoint {
            port: 53,
            ..Endpoint::default()
        },
    };
    let mut answers = Vec::new();
    for rr in v
        .get("rrsets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = s(rr, "name").unwrap_or(qname);
        let rtype = s(rr, "type").unwrap_or("A");
        for d in rr
            .get("rdata")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(d) = d.as_str() {
                answers.push(DnsAnswer {
                    name: name.trim_end_matches('.').to_string(),
                    rtype: rtype.to_string(),
                    ttl: 0,
                    data: d.trim_end_matches('.').to_string(),
                });
            }
        }
    }
    Ok(DnsRecord {
        time,
        client,
        server,
        protocol: "udp".into(),
        id: 0,
        qname: qname.trim_end_matches('.').to_string(),
        qtype: s(v, "qtype").unwrap_or("A").to_string(),
        rcode: s(v, "rcode").map(rcode_text),
        answers,
        latency_us: n(v, "latency_mean").map(|ns| ns / 1000),
        reporter: "calico".into(),
    })
}

/// An Inspektor Gadget `trace_dns` event: a query (`qr: Q`) or a response (`qr: R`) seen in
/// a pod. The image-based gadget writes `src`/`dst` endpoints and `k8s.podName`; the older
/// built-in one `srcIP`/`dstIP` and `k8s.pod`.
pub(super) fn gadget(v: &Value) -> Result<Half, String> {
    let response = match v.get("qr") {
        Some(Value::String(q)) if q == "Q" => false,
        Some(Value::String(q)) if q == "R" => true,
        Some(Value::Number(q)) => q.as_u64() == Some(1),
        _ => match v.get("qr_raw").and_then(Value::as_bool) {
            Some(b) => b,
            None => return Err("missing \"qr\" (Q or R)".into()),
        },
    };
    let name = s(v, "name").ok_or("missing \"name\"")?;
    let addr = |k: &str, old: &str, oldport: &str| -> (Option<String>, u16) {
        match v.get(k) {
            Some(e) if e.is_object() => (
                s(e, "addr").map(str::to_string),
                n(e, "port")
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            ),
            _ => (
                s(v, old).map(str::to_string),
                n(v, oldport)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            ),
        }
    };
    let (sip, sport) = addr("src", "srcIP", "srcPort");
    let (dip, dport) = addr("dst", "dstIP", "dstPort");
    let k8s = v.get("k8s").unwrap_or(&Value::Null);
    let ns = s(k8s, "namespace");
    let pod = s(k8s, "podName").or(s(k8s, "pod"));
    // The traced pod is the client: it sends queries and receives responses.
    let ((cip, cport), (sip2, sport2)) = if response {
        ((dip, dport), (sip, sport))
    } else {
        ((sip, sport), (dip, dport))
    };
    let mut client = end(cip.as_deref(), cport, ns, pod);
    if let Some(node) = s(k8s, "node").filter(|_| ns.is_none()) {
        client.kind = EndpointKind::Node;
        client.workload = Some(node.to_string());
    }
    let server = end(
        sip2.as_deref().or(s(v, "nameserver")),
        if sport2 == 0 { 53 } else { sport2 },
        None,
        None,
    );
    let time = match v.get("timestamp_raw").or_else(|| v.get("timestamp")) {
        Some(Value::Number(t)) => t.as_i64().map(|ns| ns / 1_000_000).unwrap_or(0),
        Some(Value::String(t)) => time_ms(Some(t))?,
        _ => return Err("missing \"timestamp\"".into()),
    };
    let id = match v.get("id") {
        Some(Value::String(h)) => u16::from_str_radix(h.trim_start_matches("0x"), 16)
            .map_err(|_| format!("id {h:?} is not a hexadecimal DNS id"))?,
        Some(Value::Number(x)) => x.as_u64().and_then(|x| u16::try_from(x).ok()).unwrap_or(0),
        _ => 0,
    };
    let qtype = match v.get("qtype") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(t)) => crate::dns::type_name(t.as_u64().unwrap_or(0) as u16),
        _ => "A".into(),
    };
    let qname = name.trim_end_matches('.').to_string();
    let mut answers = Vec::new();
    let addrs: Vec<String> = match v.get("addresses") {
        Some(Value::String(a)) => a
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    for a in addrs {
        answers.push(DnsAnswer {
            name: qname.clone(),
            rtype: if a.contains(':') { "AAAA" } else { "A" }.into(),
            ttl: 0,
            data: a,
        });
    }
    let key = (
        format!("{}:{}", client.ip, client.port),
        format!("{id}/{}", qname.to_ascii_lowercase()),
        qtype.clone(),
    );
    let r = DnsRecord {
        time,
        client,
        server,
        protocol: s(v, "protocol")
            .or_else(|| v.get("dst").and_then(|d| s(d, "proto")))
            .unwrap_or("udp")
            .to_ascii_lowercase(),
        id,
        qname,
        qtype,
        rcode: if response {
            Some(rcode_text(s(v, "rcode").unwrap_or("NoError")))
        } else {
            None
        },
        answers,
        latency_us: n(v, "latency_ns")
            .or_else(|| n(v, "latency"))
            .filter(|&l| l > 0)
            .map(|l| l / 1000),
        reporter: "inspektor-gadget".into(),
    };
    Ok(if response {
        Half::Response(key, r)
    } else {
        Half::Query(key, r)
    })
}

/// A CoreDNS `log` plugin line in the default format:
/// `{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode}
/// {>rflags} {rsize} {duration}`, optionally after a `[INFO]` level and an RFC 3339 time
/// (`kubectl logs --timestamps`). `Ok(None)`: another kind of CoreDNS line (start-up, plugin
/// messages).
pub(super) fn coredns(line: &str, default_time_ms: i64) -> Result<Option<DnsRecord>, String> {
    let mut rest = line;
    let mut time = None;
    if let Some((first, tail)) = rest.split_once(' ') {
        if let Some(ns) = palisade_detect::time::parse_rfc3339(first) {
            time = Some(ns / 1_000_000);
            rest = tail.trim_start();
        }
    }
    if let Some(tail) = rest.strip_prefix('[') {
        let Some((level, tail)) = tail.split_once(']') else {
            return Ok(None);
        };
        if level.chars().all(|c| c.is_ascii_uppercase()) {
            rest = tail.trim_start();
        }
    }
    let Some(q0) = rest.find('"') else {
        return Ok(None);
    };
    let Some(q1) = rest[q0 + 1..].find('"').map(|i| i + q0 + 1) else {
        return Err("unterminated quoted request".into());
    };
    let head: Vec<&str> = rest[..q0].split_whitespace().collect();
    let (remote, id) = match head.as_slice() {
        [remote, "-", id] => (*remote, *id),
        _ => return Ok(None),
    };
    let (ip, port) = match remote.rsplit_once(':') {
        Some((ip, port)) => (
            ip.trim_start_matches('[').trim_end_matches(']'),
            port.parse::<u16>()
                .map_err(|_| format!("remote port {port:?} is not a port"))?,
        ),
        None => return Err(format!("remote {remote:?} has no port")),
    };
    let req: Vec<&str> = rest[q0 + 1..q1].split_whitespace().collect();
    if req.len() < 4 {
        return Err(format!(
            "request {:?} has fewer than type, class, name and protocol",
            &rest[q0 + 1..q1]
        ));
    }
    let tail: Vec<&str> = rest[q1 + 1..].split_whitespace().collect();
    let rcode = tail.first().ok_or("missing rcode after the request")?;
    let duration = tail.get(3).and_then(|d| d.strip_suffix('s'));
    let latency_us = duration
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| (d * 1e6).round() as u64);
    Ok(Some(DnsRecord {
        time: time.unwrap_or(default_time_ms),
        client: Endpoint {
            ip: ip.to_string(),
            port,
            ..Endpoint::default()
        },
        server: Endpoint {
            port: 53,
            ..Endpoint::default()
        },
        protocol: req[3].to_ascii_lowercase(),
        id: id
            .parse()
            .map_err(|_| format!("query id {id:?} is not a number"))?,
        qname: req[2].trim_end_matches('.').to_string(),
        qtype: req[0].to_string(),
        rcode: Some(rcode_text(rcode)),
        answers: Vec::new(),
        latency_us,
        reporter: "coredns".into(),
    }))
}
