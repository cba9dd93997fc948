//! The Hubble gRPC importer against a fake Observer server on loopback, generated from the
//! same proto files: flows streamed, `follow`, lost events, server errors.
#![cfg(feature = "hubble-grpc")]

use palisade_observe::import::grpc::proto::flow as pb;
use palisade_observe::import::grpc::proto::observer::{
    get_flows_response::ResponseTypes,
    observer_server::{Observer, ObserverServer},
    GetFlowsRequest, GetFlowsResponse,
};
use palisade_observe::import::grpc::{import, Request};
use palisade_observe::import::{Format, Importer, Options};
use palisade_store::{DnsRecord, FlowRecord, Verdict};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_stream::Stream;
use tonic::{Response, Status};

type Item = Result<GetFlowsResponse, Status>;

/// Replies to GetFlows with `first`; with `follow`, `later` after a pause. `fail` fails the
/// call; `fail_after` ends the stream with that error after the responses.
#[derive(Clone, Default)]
struct Fake {
    first: Vec<GetFlowsResponse>,
    later: Vec<GetFlowsResponse>,
    fail: Option<Status>,
    fail_after: Option<Status>,
    seen: Arc<Mutex<Vec<GetFlowsRequest>>>,
}

#[tonic::async_trait]
impl Observer for Fake {
    type GetFlowsStream = Pin<Box<dyn Stream<Item = Item> + Send>>;
    async fn get_flows(
        &self,
        req: tonic::Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        let req = req.into_inner();
        self.seen.lock().unwrap().push(req);
        if let Some(s) = &self.fail {
            return Err(s.clone());
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Item>(16);
        let me = self.clone();
        tokio::spawn(async move {
            for r in me.first {
                let _ = tx.send(Ok(r)).await;
            }
            if req.follow {
                tokio::time::sleep(Duration::from_millis(200)).await;
                for r in me.later {
                    let _ = tx.send(Ok(r)).await;
                }
            }
            if let Some(s) = me.fail_after {
                let _ = tx.send(Err(s)).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

fn serve(fake: Fake) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap().to_string()).unwrap();
            tonic::transport::Server::builder()
                .add_service(ObserverServer::new(fake))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(l))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    })
}

const T0: i64 = 1_796_119_200_000; // 2026-12-01T10:00:00Z

fn ep(ns: &str, pod: &str, app: &str) -> Option<pb::Endpoint> {
    Some(pb::Endpoint {
        namespace: ns.into(),
        pod_name: pod.into(),
        labels: vec![format!("k8s:app={app}")],
        ..Default::default()
    })
}

fn tcp(
    ms: i64,
    src: (&str, &str, &str, &str),
    dst: (&str, &str, &str, &str),
    dport: u32,
) -> pb::Flow {
    pb::Flow {
        time: ts(ms),
        verdict: pb::Verdict::Forwarded as i32,
        ip: Some(pb::Ip {
            source: src.3.into(),
            destination: dst.3.into(),
        }),
        l4: Some(pb::Layer4 {
            protocol: Some(pb::layer4::Protocol::Tcp(pb::Tcp {
                source_port: 41000,
                destination_port: dport,
                flags: Some(pb::TcpFlags {
                    syn: true,
                    ..Default::default()
                }),
            })),
        }),
        source: ep(src.0, src.1, src.2),
        destination: ep(dst.0, dst.1, dst.2),
        r#type: pb::FlowType::L3L4 as i32,
        is_reply: Some(false),
        ..Default::default()
    }
}

const WEB: (&str, &str, &str, &str) = ("shop", "web-7d4b9c-x2vqp", "web", "10.244.1.10");
const DB: (&str, &str, &str, &str) = ("shop", "db-5f8d6c-k8s2m", "db", "10.244.1.20");
const REPORT: (&str, &str, &str, &str) = ("batch", "report-84c7d9-qq7bn", "report", "10.244.2.40");

fn resp(f: pb::Flow) -> GetFlowsResponse {
    GetFlowsResponse {
        response_types: Some(ResponseTypes::Flow(f)),
        node_name: "node-1".into(),
        time: None,
    }
}

fn flows() -> Vec<GetFlowsResponse> {
    let mut allowed = tcp(T0, WEB, DB, 5432);
    allowed.ingress_allowed_by = vec![pb::Policy {
        name: "db-ingress".into(),
        namespace: "shop".into(),
        kind: "NetworkPolicy".into(),
        ..Default::default()
    }];
    let mut denied = tcp(T0 + 1000, REPORT, DB, 5432);
    denied.verdict = pb::Verdict::Dropped as i32;
    denied.drop_reason_desc = pb::DropReason::PolicyDenied as i32;
    denied.ingress_denied_by = vec![pb::Policy {
        name: "db-ingress".into(),
        namespace: "shop".into(),
        ..Default::default()
    }];
    let dns = |ms: i64, response: bool| {
        let (s, d) = if response {
            (
                (
                    "kube-system",
                    "coredns-668d6bf9bc-7xk2p",
                    "coredns",
                    "10.96.0.10",
                ),
                WEB,
            )
        } else {
            (
                WEB,
                (
                    "kube-system",
                    "coredns-668d6bf9bc-7xk2p",
                    "coredns",
                    "10.96.0.10",
                ),
            )
        };
        pb::Flow {
            time: ts(ms),
            verdict: pb::Verdict::Forwarded as i32,
            ip: Some(pb::Ip {
                source: s.3.into(),
                destination: d.3.into(),
            }),
            l4: Some(pb::Layer4 {
                protocol: Some(pb::layer4::Protocol::Udp(pb::Udp {
                    source_port: if response { 53 } else { 53111 },
                    destination_port: if response { 53111 } else { 53 },
                })),
            }),
            source: ep(s.0, s.1, s.2),
            destination: ep(d.0, d.1, d.2),
            r#type: pb::FlowType::L7 as i32,
            is_reply: Some(response),
            l7: Some(pb::Layer7 {
                r#type: if response {
                    pb::L7FlowType::Response
                } else {
                    pb::L7FlowType::Request
                } as i32,
                latency_ns: if response { 4_000_000 } else { 0 },
                record: Some(pb::layer7::Record::Dns(pb::Dns {
                    query: "api.example.com.".into(),
                    ips: if response {
                        vec!["203.0.113.7".into()]
                    } else {
                        vec![]
                    },
                    ttl: 300,
                    rcode: 0,
                    qtypes: vec!["A".into()],
                    ..Default::default()
                })),
            }),
            ..Default::default()
        }
    };
    vec![
        resp(allowed),
        resp(denied),
        resp(dns(T0 + 2000, false)),
        resp(dns(T0 + 2004, true)),
        GetFlowsResponse {
            response_types: Some(ResponseTypes::LostEvents(pb::LostEvent {
                source: 3,
                num_events_lost: 7,
            })),
            node_name: "node-1".into(),
            time: None,
        },
    ]
}

struct Run {
    flows: Vec<FlowRecord>,
    dns: Vec<DnsRecord>,
    reports: Vec<String>,
    result: Result<palisade_observe::import::grpc::GrpcStats, String>,
}

fn run(addr: &str, follow: bool, last: Option<u64>) -> Run {
    let mut imp = Importer::new(Options::new(Format::Hubble));
    let mut sink: (Vec<FlowRecord>, Vec<DnsRecord>) = (Vec::new(), Vec::new());
    let mut reports = Vec::new();
    let result = import(
        &Request {
            addr: addr.into(),
            follow,
            last,
        },
        &mut imp,
        &mut sink,
        &mut |e| reports.push(e),
    );
    imp.finish(&mut sink);
    Run {
        flows: sink.0,
        dns: sink.1,
        reports,
        result,
    }
}

#[test]
fn flows_are_streamed_and_imported() {
    let fake = Fake {
        first: flows(),
        ..Fake::default()
    };
    let seen = fake.seen.clone();
    let addr = serve(fake);
    let r = run(&addr, false, None);
    let stats = r.result.unwrap();
    assert_eq!(stats.responses, 5);
    assert_eq!(stats.lost_events, 7);
    assert!(
        r.reports.iter().any(|m| m.contains("lost 7 flows")),
        "{:?}",
        r.reports
    );
    // Without --follow and --last: the whole buffer (Hubble's `--all` is the largest number).
    let req = seen.lock().unwrap()[0];
    assert!(!req.follow);
    assert_eq!(req.number, u64::MAX);

    assert_eq!(r.flows.len(), 2, "{:#?}", r.flows);
    let a = &r.flows[0];
    assert_eq!(a.start, T0);
    assert_eq!(a.src.workload.as_deref(), Some("web"));
    assert_eq!((a.dst.workload.as_deref(), a.dst.port), (Some("db"), 5432));
    assert_eq!(a.src.port, 41000);
    assert_eq!(a.verdict, Verdict::Allowed);
    assert_eq!(a.policy.as_deref(), Some("shop/db-ingress"));
    assert_eq!(a.tcp_flags, 2);
    let d = &r.flows[1];
    assert_eq!(d.verdict, Verdict::Denied);
    assert_eq!(d.drop_reason.as_deref(), Some("POLICY_DENIED"));
    assert_eq!(d.src.namespace.as_deref(), Some("batch"));

    assert_eq!(r.dns.len(), 1);
    let q = &r.dns[0];
    assert_eq!(q.time, T0 + 2000);
    assert_eq!(q.qname, "api.example.com");
    assert_eq!(q.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(q.latency_us, Some(4000));
    assert_eq!(q.answers[0].data, "203.0.113.7");
}

/// The same flows through the API and as `hubble observe -o jsonpb` lines give the same
/// records: one parser behind both.
#[test]
fn api_and_files_agree() {
    let addr = serve(Fake {
        first: flows(),
        ..Fake::default()
    });
    let api = run(&addr, false, None);
    let mut text = String::new();
    for r in flows() {
        if let Some(ResponseTypes::Flow(f)) = &r.response_types {
            let v = serde_json::json!({"flow": palisade_observe::import::grpc::flow_json(f, &r.node_name), "node_name": r.node_name});
            text.push_str(&v.to_string());
            text.push('\n');
        }
    }
    let mut imp = Importer::new(Options::new(Format::Hubble));
    let mut sink: (Vec<FlowRecord>, Vec<DnsRecord>) = (Vec::new(), Vec::new());
    imp.read(text.as_bytes(), "x", &mut sink, &mut |e| panic!("{e}"));
    imp.finish(&mut sink);
    assert_eq!(api.flows, sink.0);
    assert_eq!(api.dns, sink.1);
}

#[test]
fn follow_streams_until_the_server_ends() {
    let later = vec![resp(tcp(T0 + 60_000, WEB, DB, 5432))];
    let fake = Fake {
        first: flows(),
        later,
        ..Fake::default()
    };
    let seen = fake.seen.clone();
    let addr = serve(fake);
    let r = run(&addr, true, None);
    r.result.unwrap();
    let req = seen.lock().unwrap()[0];
    assert!(req.follow);
    assert_eq!(req.number, 0, "follow without --last starts with new flows");
    assert_eq!(
        r.flows.len(),
        3,
        "the flow sent after the pause arrives too"
    );
    assert_eq!(r.flows[2].start, T0 + 60_000);

    let r = run(&addr, true, Some(20));
    r.result.unwrap();
    assert_eq!(seen.lock().unwrap()[1].number, 20);
}

#[test]
fn server_errors_are_reported() {
    let addr = serve(Fake {
        fail: Some(Status::unavailable("no hubble peers")),
        ..Fake::default()
    });
    let r = run(&addr, false, None);
    let e = r.result.unwrap_err();
    assert_eq!(
        e,
        format!("Hubble server {addr}: GetFlows failed: Unavailable: no hubble peers")
    );

    // A stream that fails midway keeps what came before it.
    let addr = serve(Fake {
        first: flows()[..1].to_vec(),
        fail_after: Some(Status::internal("ring buffer reset")),
        ..Fake::default()
    });
    let r = run(&addr, false, None);
    let e = r.result.unwrap_err();
    assert!(
        e.contains("the flow stream failed: Internal: ring buffer reset"),
        "{e}"
    );
    assert_eq!(r.flows.len(), 1);

    // Nobody listening.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = l.local_addr().unwrap().to_string();
    drop(l);
    let e = run(&free, false, None).result.unwrap_err();
    assert!(
        e.starts_with(&format!("Hubble server {free}: cannot connect")),
        "{e}"
    );
}
