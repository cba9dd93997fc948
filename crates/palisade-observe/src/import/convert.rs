//! palisade-netpol's flow-log events → store records.

use super::dnslog::{rcode_name, Half};
use palisade_netpol::flows::{Event, FlowEnd, Verdict as NpVerdict};
use palisade_store::{
    DnsAnswer, DnsRecord, Endpoint, EndpointKind, FlowRecord, HttpInfo, Security, Verdict,
};

/// Unix ms from an RFC 3339 time or a number of Unix seconds (Calico's `start_time`).
pub(super) fn time_ms(t: Option<&str>) -> Result<i64, String> {
    let t = t.ok_or("the record has no time")?;
    if let Some(ns) = palisade_detect::time::parse_rfc3339(t) {
        return Ok(ns / 1_000_000);
    }
    match t.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..1e11).contains(&s) => Ok((s * 1000.0) as i64),
        _ => Err(format!("time {t:?} is neither RFC 3339 nor Unix seconds")),
    }
}

/// Characters of Kubernetes' generated name suffixes (pod-template-hash, pod name suffix).
fn generated(s: &str, lens: std::ops::RangeInclusive<usize>) -> bool {
    lens.contains(&s.len())
        && s.bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
}

/// The workload a pod or ReplicaSet name belongs to: `web-5d9c7b8f4-x7k2p` → `web`,
/// `web-5d9c7b8f4` → `web`, `db-0` → `db`; other names stay as they are.
pub(super) fn workload_of(name: &str) -> String {
    let mut n = name.trim_end_matches('*').trim_end_matches('-');
    if let Some((head, tail)) = n.rsplit_once('-') {
        if generated(tail, 5..=5) || (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
        {
            n = head;
        }
    }
    if let Some((head, tail)) = n.rsplit_once('-') {
        if generated(tail, 6..=10) && tail.bytes().any(|b| b.is_ascii_digit()) {
            n = head;
        }
    }
    n.to_string()
}

pub(super) fn endpoint(e: FlowEnd, port: u16) -> Endpoint {
    let workload = e
        .workload
        .as_deref()
        .map(|w| w.rsplit_once('/').map_or(w, |(_, n)| n))
        .map(workload_of)
        .or_else(|| e.pod.as_deref().map(workload_of));
    let kind = if e.namespace.is_some() && (workload.is_some() || e.pod.is_some()) {
        EndpointKind::Pod
    } else {
        EndpointKind::External
    };
    Endpoint {
        ip: e.ip.unwrap_or_default(),
        port,
        kind,
        namespace: e.namespace,
        workload: if kind == EndpointKind::Pod {
            workload
        } else {
            None
        },
        pod: e.pod,
        labels: e.labels.unwrap_or_default(),
        dns_name: None,
    }
}

fn verdict(v: Option<NpVerdict>) -> Verdict {
    match v {
        Some(NpVerdict::Allowed) => Verdict::Allowed,
        Some(NpVerdict::Denied) => Verdict::Denied,
        None => Verdict::Unknown,
    }
}

/// One Hubble event: a packet (or L7 message) of a connection, oriented initiator → server.
pub(super) fn hubble_flow(e: Event) -> Result<FlowRecord, String> {
    let f = e.flow;
    let t = time_ms(f.time.as_deref())?;
    let src_port = e.src_port.unwrap_or(0);
    // A reply goes server → client: the record keeps the client as its source.
    let (src, dst, out, inn) = if e.reply {
        (
            endpoint(f.dst, f.port),
            endpoint(f.src, src_port),
            (0, 0),
            (e.packets_out, e.bytes_out),
        )
    } else {
        (
            endpoint(f.src, src_port),
            endpoint(f.dst, f.port),
            (e.packets_out, e.bytes_out),
            (0, 0),
        )
    };
    let http = e.http.map(|h| HttpInfo {
        method: h.method.unwrap_or_default(),
        path: h.url.unwrap_or_default(),
        version: h.protocol.unwrap_or_default(),
        host: None,
        status: h.code,
    });
    Ok(FlowRecord {
        start: t,
        end: t,
        src,
        dst,
        protocol: f.protocol.as_str().to_ascii_lowercase(),
        packets_out: out.0,
        bytes_out: out.1,
        packets_in: inn.0,
        bytes_in: inn.1,
        tcp_state: None,
        tcp_flags: e.tcp_flags,
        security: Security::Unknown,
        sni: None,
        http,
        verdict: verdict(f.verdict),
        policy: f.policy,
        policies: e.policies,
        drop_reason: e.drop_reason,
        reporter: "hubble".into(),
        ..FlowRecord::default()
    })
}

/// A Hubble L7 DNS event: a request waits for its response; a response carries the answers.
pub(super) fn hubble_dns(e: Event) -> Result<Half, String> {
    let f = e.flow;
    let d = e.dns.as_ref().ok_or("not a DNS event")?;
    let t = time_ms(f.time.as_deref())?;
    let response = e.l7_type.as_deref() == Some("RESPONSE") || e.reply;
    let src_port = e.src_port.unwrap_or(0);
    let (client, server) = if response {
        (endpoint(f.dst, f.port), endpoint(f.src, src_port))
    } else {
        (endpoint(f.src, src_port), endpoint(f.dst, f.port))
    };
    let qtype = d.qtypes.first().cloned().unwrap_or_else(|| "A".into());
    // The CNAME chain from the question, then the addresses under the last name.
    let mut answers = Vec::new();
    let mut name = d.query.trim_end_matches('.').to_string();
    for c in &d.cnames {
        let c = c.trim_end_matches('.').to_string();
        answers.push(DnsAnswer {
            name: name.clone(),
            rtype: "CNAME".into(),
            ttl: d.ttl,
            data: c.clone(),
        });
        name = c;
    }
    for ip in &d.ips {
        answers.push(DnsAnswer {
            name: name.clone(),
            rtype: if ip.contains(':') { "AAAA" } else { "A" }.into(),
            ttl: d.ttl,
            data: ip.clone(),
        });
    }
    let key = (
        format!("{}:{}", client.ip, client.port),
        d.query.to_ascii_lowercase(),
        qtype.clone(),
    );
    let r = DnsRecord {
        time: t,
        client,
        server,
        protocol: f.protocol.as_str().to_ascii_lowercase(),
        id: 0,
        qname: d.query.trim_end_matches('.').to_string(),
        qtype,
        rcode: if response {
            Some(rcode_name(d.rcode.unwrap_or(0)))
        } else {
            None
        },
        answers: if response { answers } else { Vec::new() },
        latency_us: e.latency_ns.map(|n| n / 1000),
        reporter: "hubble".into(),
    };
    Ok(if response {
        Half::Response(key, r)
    } else {
        Half::Query(key, r)
    })
}

/// A Calico flow log record: one aggregated line of a reporting endpoint.
pub(super) fn calico_flow(e: Event) -> Result<FlowRecord, String> {
    let f = e.flow;
    let start = time_ms(f.time.as_deref())?;
    let end = match e.end_time.as_deref() {
        Some(t) => time_ms(Some(t))?.max(start),
        None => start,
    };
    let mut src = endpoint(f.src, e.src_port.unwrap_or(0));
    let mut dst = endpoint(f.dst, f.port);
    // Host endpoints are nodes; `ns` (network sets) and `net` ends are outside the cluster.
    for (end, ty) in [(&mut src, &e.src_type), (&mut dst, &e.dst_type)] {
        match ty.as_deref() {
            Some("hep") => {
                end.kind = EndpointKind::Node;
                end.workload = f_name(end);
            }
            Some("ns") | Some("net") => {
                end.kind = EndpointKind::External;
                end.workload = None;
            }
            _ => {}
        }
    }
    // Calico's deciding policy is the last one whose action is the flow's action.
    let action = match f.verdict {
        Some(NpVerdict::Allowed) => "allow",
        Some(NpVerdict::Denied) => "deny",
        None => "",
    };
    let name_of = |p: &str| -> String {
        let parts: Vec<&str> = p.split('|').collect();
        if parts.len() >= 4 {
            parts[2].to_string()
        } else {
            p.to_string()
        }
    };
    let policy = e
        .policies
        .iter()
        .rev()
        .find(|p| p.split('|').nth(3) == Some(action))
        .or(e.policies.last())
        .map(|p| name_of(p));
    Ok(FlowRecord {
        start,
        end,
        src,
        dst,
        protocol: f.protocol.as_str().to_ascii_lowercase(),
        packets_out: e.packets_out,
        bytes_out: e.bytes_out,
        packets_in: e.packets_in,
        bytes_in: e.bytes_in,
        verdict: verdict(f.verdict),
        policy,
        policies: e.policies.iter().map(|p| name_of(p)).collect(),
        reporter: match e.reporter.as_deref() {
            Some(r) => format!("calico-{r}"),
            None => "calico".into(),
        },
        ..FlowRecord::default()
    })
}

/// A host endpoint's name: Calico puts the node name in `*_name_aggr`, which netpol's parser
/// leaves out for non-pods; the IP stands in.
fn f_name(e: &Endpoint) -> Option<String> {
    e.workload
        .clone()
        .or_else(|| (!e.ip.is_empty()).then(|| e.ip.clone()))
}
