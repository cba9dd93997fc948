//! Hubble's Observer gRPC API: `GetFlows` from a Hubble server or Relay, with `follow`.
//!
//! The client is generated from Palisade's wire-compatible subset of Cilium's published
//! protos (proto/observer.proto, proto/flow.proto). Each received Flow is written as the JSON
//! Hubble itself prints (proto field names), and read by the same parser as
//! `hubble observe -o jsonpb` lines, so files and the API give the same records.

use super::Importer;
use crate::flow::Sink;
use serde_json::{json, Map, Value};

/// The generated messages and the Observer client and server.
#[allow(clippy::all, missing_docs)]
pub mod proto {
    pub mod flow {
        tonic::include_proto!("flow");
    }
    pub mod observer {
        tonic::include_proto!("observer");
    }
}

use proto::flow as pb;

/// What a gRPC import did beyond the importer's own counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrpcStats {
    pub responses: u64,
    /// Flows the server reports it lost (its `lost_events` messages), summed.
    pub lost_events: u64,
    /// The stream ended because of an interrupt (Ctrl-C) while following.
    pub interrupted: bool,
}

fn time(t: &Option<prost_types::Timestamp>) -> Option<String> {
    let t = t.as_ref()?;
    let ns = t
        .seconds
        .checked_mul(1_000_000_000)?
        .checked_add(t.nanos as i64)?;
    Some(palisade_detect::time::iso8601(ns) + "Z")
}

fn endpoint(e: &Option<pb::Endpoint>) -> Value {
    let Some(e) = e else { return Value::Null };
    json!({
        "ID": e.id,
        "identity": e.identity,
        "namespace": e.namespace,
        "labels": e.labels,
        "pod_name": e.pod_name,
        "workloads": e.workloads.iter().map(|w| json!({"name": w.name, "kind": w.kind})).collect::<Vec<_>>(),
    })
}

fn policies(p: &[pb::Policy]) -> Value {
    Value::Array(
        p.iter()
            .map(|p| json!({"name": p.name, "namespace": p.namespace, "kind": p.kind}))
            .collect(),
    )
}

/// A Flow as Hubble prints it (the fields Palisade reads).
pub fn flow_json(f: &pb::Flow, node: &str) -> Value {
    let mut m = Map::new();
    if let Some(t) = time(&f.time) {
        m.insert("time".into(), t.into());
    }
    let verdict = pb::Verdict::try_from(f.verdict)
        .map(|v| v.as_str_name().to_string())
        .unwrap_or_else(|_| f.verdict.to_string());
    m.insert("verdict".into(), verdict.into());
    m.insert("drop_reason".into(), f.drop_reason.into());
    if f.drop_reason_desc != 0 {
        let r = pb::DropReason::try_from(f.drop_reason_desc)
            .map(|v| v.as_str_name().to_string())
            .unwrap_or_else(|_| format!("drop reason {}", f.drop_reason_desc));
        m.insert("drop_reason_desc".into(), r.into());
    }
    if let Some(ip) = &f.ip {
        m.insert(
            "IP".into(),
            json!({"source": ip.source, "destination": ip.destination}),
        );
    }
    if let Some(l4) = f.l4.as_ref().and_then(|l| l.protocol.as_ref()) {
        use pb::layer4::Protocol as P;
        let v = match l4 {
            P::Tcp(t) => {
                let fl = t.flags.unwrap_or_default();
                json!({"TCP": {"source_port": t.source_port, "destination_port": t.destination_port,
                    "flags": {"FIN": fl.fin, "SYN": fl.syn, "RST": fl.rst, "PSH": fl.psh, "ACK": fl.ack, "URG": fl.urg}}})
            }
            P::Udp(u) => {
                json!({"UDP": {"source_port": u.source_port, "destination_port": u.destination_port}})
            }
            P::Sctp(s) => {
                json!({"SCTP": {"source_port": s.source_port, "destination_port": s.destination_port}})
            }
            P::IcmPv4(i) => json!({"ICMPv4": {"type": i.r#type, "code": i.code}}),
            P::IcmPv6(i) => json!({"ICMPv6": {"type": i.r#type, "code": i.code}}),
        };
        m.insert("l4".into(), v);
    }
    m.insert("source".into(), endpoint(&f.source));
    m.insert("destination".into(), endpoint(&f.destination));
    let node = if f.node_name.is_empty() {
        node
    } else {
        &f.node_name
    };
    m.insert("node_name".into(), node.into());
    if let Some(r) = f.is_reply {
        m.insert("is_reply".into(), r.into());
    }
    if let Some(l7) = &f.l7 {
        let ty = pb::L7FlowType::try_from(l7.r#type)
            .map(|v| v.as_str_name().to_string())
            .unwrap_or_default();
        let mut o = Map::new();
        o.insert("type".into(), ty.into());
        o.insert("latency_ns".into(), l7.latency_ns.into());
        match &l7.record {
            Some(pb::layer7::Record::Dns(d)) => {
                o.insert(
                    "dns".into(),
                    json!({"query": d.query, "ips": d.ips, "ttl": d.ttl, "cnames": d.cnames,
                        "rcode": d.rcode, "qtypes": d.qtypes}),
                );
            }
            Some(pb::layer7::Record::Http(h)) => {
                o.insert(
                    "http".into(),
                    json!({"code": h.code, "method": h.method, "url": h.url, "protocol": h.protocol}),
                );
            }
            None => {}
        }
        m.insert("l7".into(), Value::Object(o));
    }
    for (k, p) in [
        ("egress_allowed_by", &f.egress_allowed_by),
        ("ingress_allowed_by", &f.ingress_allowed_by),
        ("egress_denied_by", &f.egress_denied_by),
        ("ingress_denied_by", &f.ingress_denied_by),
    ] {
        if !p.is_empty() {
            m.insert(k.into(), policies(p));
        }
    }
    Value::Object(m)
}

/// Options of a `GetFlows` call.
#[derive(Clone, Debug)]
pub struct Request {
    /// `host:port` or `http://host:port`.
    pub addr: String,
    pub follow: bool,
    /// The last N flows of the server's buffer first; `None`: all of them without `follow`,
    /// none with it.
    pub last: Option<u64>,
}

/// Calls `GetFlows` and feeds every flow to the importer. Returns when the server ends the
/// stream, on an error (which names the server), or on Ctrl-C while following.
pub fn import(
    req: &Request,
    imp: &mut Importer,
    sink: &mut dyn Sink,
    report: &mut dyn FnMut(String),
) -> Result<GrpcStats, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the gRPC client: {e}"))?;
    rt.block_on(run(req, imp, sink, report))
}

async fn run(
    req: &Request,
    imp: &mut Importer,
    sink: &mut dyn Sink,
    report: &mut dyn FnMut(String),
) -> Result<GrpcStats, String> {
    use proto::observer::{get_flows_response::ResponseTypes, observer_client::ObserverClient};
    let url = if req.addr.contains("://") {
        req.addr.clone()
    } else {
        format!("http://{}", req.addr)
    };
    let who = format!("Hubble server {}", req.addr);
    let endpoint = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| format!("{who}: not an address: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(10));
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("{who}: cannot connect: {}", source_chain(&e)))?;
    let mut client = ObserverClient::new(channel);
    let number = match (req.last, req.follow) {
        (Some(n), _) => n,
        (None, true) => 0,
        (None, false) => u64::MAX,
    };
    let request = proto::observer::GetFlowsRequest {
        number,
        follow: req.follow,
        first: false,
        since: None,
        until: None,
    };
    let mut stream = client
        .get_flows(request)
        .await
        .map_err(|s| format!("{who}: GetFlows failed: {}", status(&s)))?
        .into_inner();
    let mut stats = GrpcStats::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let msg = tokio::select! {
            m = stream.message() => m,
            _ = &mut ctrl_c, if req.follow => {
                stats.interrupted = true;
                break;
            }
        };
        let resp = match msg {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(s) => return Err(format!("{who}: the flow stream failed: {}", status(&s))),
        };
        stats.responses += 1;
        match resp.response_types {
            Some(ResponseTypes::Flow(f)) => {
                imp.stats.lines += 1;
                let v = flow_json(&f, &resp.node_name);
                if let Err(e) = imp.hubble_value(&v, sink) {
                    imp.stats.errors += 1;
                    report(format!("{who}: flow {}: {e}", stats.responses));
                }
            }
            Some(ResponseTypes::LostEvents(l)) => {
                stats.lost_events += l.num_events_lost;
                report(format!(
                    "{who}: the server lost {} flows (source {})",
                    l.num_events_lost, l.source
                ));
            }
            None => {}
        }
    }
    Ok(stats)
}

fn status(s: &tonic::Status) -> String {
    if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        format!("{:?}: {}", s.code(), s.message())
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
