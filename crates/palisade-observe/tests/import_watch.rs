//! Live attribution against a fake Kubernetes API server on loopback that serves lists and
//! watches (chunked watch streams): records are attributed from the watched Pods,
//! ReplicaSets, Services, Nodes, Namespaces and NetworkPolicies, and follow changes.
#![cfg(feature = "watch")]

use palisade_cluster::ClusterOptions;
use palisade_observe::flow::Sink;
use palisade_observe::watch::{ClusterView, LiveAttributed};
use palisade_store::{DnsRecord, Endpoint, EndpointKind, FlowRecord, Verdict};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Events = Arc<Mutex<Option<mpsc::UnboundedReceiver<Value>>>>;

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Value {
    json!({"kind": format!("{kind}List"), "apiVersion": api_version,
           "metadata": {"resourceVersion": "10"}, "items": items})
}

fn pod(name: &str, ns: &str, ip: &str, labels: Value, owner: Option<(&str, &str)>) -> Value {
    let mut meta = json!({"name": name, "namespace": ns, "labels": labels,
        "resourceVersion": "11", "uid": format!("uid-{name}")});
    if let Some((kind, n)) = owner {
        meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": n,
            "uid": format!("uid-{n}"), "controller": true}]);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"containers": [{"name": "c", "image": "x"}]},
        "status": {"podIP": ip, "podIPs": [{"ip": ip}]}})
}

fn answer(path: &str) -> Option<Value> {
    let p = path.split('?').next().unwrap_or("");
    Some(match p {
        "/api/v1/pods" => list(
            "Pod",
            "v1",
            vec![pod(
                "web-7d4b9c-x2vqp",
                "shop",
                "10.244.1.10",
                json!({"app": "web"}),
                Some(("ReplicaSet", "web-7d4b9c")),
            )],
        ),
        "/apis/apps/v1/replicasets" => list(
            "ReplicaSet",
            "apps/v1",
            vec![json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web-7d4b9c", "namespace": "shop", "resourceVersion": "3", "uid": "uid-web-7d4b9c",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": true}]},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})],
        ),
        "/api/v1/services" => list(
            "Service",
            "v1",
            vec![json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kube-dns", "namespace": "kube-system", "resourceVersion": "4"},
                "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}]}})],
        ),
        "/api/v1/nodes" => list(
            "Node",
            "v1",
            vec![json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "node-1", "resourceVersion": "5"},
                "status": {"addresses": [{"type": "InternalIP", "address": "192.168.49.2"}]}})],
        ),
        "/api/v1/namespaces" => list(
            "Namespace",
            "v1",
            ["shop", "kube-system"]
                .iter()
                .map(|n| json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": n, "resourceVersion": "6", "labels": {"kubernetes.io/metadata.name": n}}}))
                .collect(),
        ),
        "/apis/networking.k8s.io/v1/networkpolicies" => list(
            "NetworkPolicy",
            "networking.k8s.io/v1",
            vec![json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "db-ingress", "namespace": "shop", "resourceVersion": "7"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                 "ports": [{"port": 5432, "protocol": "TCP"}]}]}})],
        ),
        "/apis/apps/v1/deployments" => list(
            "Deployment",
            "apps/v1",
            vec![json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "8", "uid": "uid-web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})],
        ),
        "/apis/apps/v1/statefulsets" => list("StatefulSet", "apps/v1", vec![]),
        "/apis/apps/v1/daemonsets" => list("DaemonSet", "apps/v1", vec![]),
        "/apis/batch/v1/jobs" => list("Job", "batch/v1", vec![]),
        "/apis/batch/v1/cronjobs" => list("CronJob", "batch/v1", vec![]),
        _ => return None,
    })
}

async fn connection(mut s: TcpStream, events: Events) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        if path.contains("watch=true") || path.contains("watch=1") {
            // A chunked watch stream: pod events as the test sends them; other kinds idle.
            let hdr = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if s.write_all(hdr.as_bytes()).await.is_err() {
                return;
            }
            let rx = if path.starts_with("/api/v1/pods") {
                events.lock().unwrap().take()
            } else {
                None
            };
            match rx {
                Some(mut rx) => {
                    while let Some(ev) = rx.recv().await {
                        let line = format!("{ev}\n");
                        let c = format!("{:x}\r\n{line}\r\n", line.len());
                        if s.write_all(c.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
                None => tokio::time::sleep(Duration::from_secs(3600)).await,
            }
            return;
        }
        let (code, body) = match answer(&path) {
            Some(v) => (200, v.to_string()),
            None => (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "not found"})
                .to_string(),
            ),
        };
        let resp = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Starts the fake API server; returns its address and the sender of pod watch events.
fn start() -> (String, mpsc::UnboundedSender<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let events: Events = Arc::new(Mutex::new(Some(rx)));
    let (atx, arx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            atx.send(l.local_addr().unwrap().to_string()).unwrap();
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(connection(s, events.clone()));
            }
        });
    });
    (arx.recv().unwrap(), tx)
}

fn kubeconfig(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let p = dir.join("kubeconfig");
    std::fs::write(
        &p,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {server}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .unwrap();
    p
}

fn flow(src: &str, dst: &str, port: u16) -> FlowRecord {
    FlowRecord {
        start: 1,
        end: 1,
        src: Endpoint {
            ip: src.into(),
            port: 40000,
            ..Endpoint::default()
        },
        dst: Endpoint {
            ip: dst.into(),
            port,
            ..Endpoint::default()
        },
        protocol: "tcp".into(),
        reporter: "test".into(),
        ..FlowRecord::default()
    }
}

#[test]
fn records_follow_the_watched_cluster() {
    let (addr, events) = start();
    let dir = tempfile::tempdir().unwrap();
    let view = ClusterView::start(&ClusterOptions {
        kubeconfig: Some(kubeconfig(dir.path(), &format!("http://{addr}"))),
        ..ClusterOptions::default()
    })
    .unwrap();
    assert_eq!(view.context, "fake");
    view.wait_synced(Duration::from_secs(20)).unwrap();

    let mut out: (Vec<FlowRecord>, Vec<DnsRecord>) = (Vec::new(), Vec::new());
    let mut live = LiveAttributed::new(view.clone(), &mut out);
    live.min_rebuild = Duration::ZERO;
    live.flow(flow("10.244.1.10", "10.244.1.20", 5432));
    live.flow(flow("10.244.1.10", "10.96.0.10", 53));
    live.flow(flow("192.168.49.2", "10.244.1.10", 8080));

    // The database pod appears: later records place it, and the policy decides.
    let v = view.version();
    events
        .send(
            json!({"type": "ADDED", "object": pod("db-0", "shop", "10.244.1.20",
            json!({"app": "db"}), Some(("StatefulSet", "db")))}),
        )
        .unwrap();
    assert_ne!(view.wait_change(v, Duration::from_secs(10)), v);
    live.flow(flow("10.244.1.10", "10.244.1.20", 5432));
    live.flow(flow("10.244.9.9", "10.244.1.20", 5432));

    // The web pod goes away: its address is no longer a workload.
    let v = view.version();
    events
        .send(
            json!({"type": "DELETED", "object": pod("web-7d4b9c-x2vqp", "shop", "10.244.1.10",
            json!({"app": "web"}), Some(("ReplicaSet", "web-7d4b9c")))}),
        )
        .unwrap();
    assert_ne!(view.wait_change(v, Duration::from_secs(10)), v);
    live.flow(flow("10.244.1.10", "10.244.1.20", 5432));
    assert!(live.rebuilds >= 3);
    drop(live);

    let r = &out.0;
    assert_eq!(r.len(), 6);
    // Named after the Deployment through the watched ReplicaSet.
    assert_eq!(
        (
            r[0].src.kind,
            r[0].src.namespace.as_deref(),
            r[0].src.workload.as_deref()
        ),
        (EndpointKind::Pod, Some("shop"), Some("web"))
    );
    assert_eq!(r[0].src.pod.as_deref(), Some("web-7d4b9c-x2vqp"));
    assert_eq!(r[0].src.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(r[0].dst.kind, EndpointKind::External, "db not there yet");
    assert_eq!(
        (r[1].dst.kind, r[1].dst.workload.as_deref()),
        (EndpointKind::Service, Some("kube-dns"))
    );
    assert_eq!(
        (r[2].src.kind, r[2].src.workload.as_deref()),
        (EndpointKind::Node, Some("node-1"))
    );
    assert_eq!(
        (r[3].dst.kind, r[3].dst.workload.as_deref()),
        (EndpointKind::Pod, Some("db"))
    );
    assert_eq!(r[3].computed_verdict, Some(Verdict::Allowed));
    assert_eq!(r[4].computed_verdict, Some(Verdict::Denied), "{:?}", r[4]);
    assert!(r[4]
        .computed_policy
        .as_deref()
        .unwrap_or("")
        .contains("db-ingress"));
    assert_eq!(r[5].src.kind, EndpointKind::External, "web deleted");
    assert_eq!(r[5].dst.workload.as_deref(), Some("db"));
    assert!(view.take_errors().is_empty());
}

#[test]
fn an_unreachable_cluster_is_a_clear_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = l.local_addr().unwrap().to_string();
    drop(l);
    let dir = tempfile::tempdir().unwrap();
    let view = ClusterView::start(&ClusterOptions {
        kubeconfig: Some(kubeconfig(dir.path(), &format!("http://{free}"))),
        ..ClusterOptions::default()
    })
    .unwrap();
    let e = view.wait_synced(Duration::from_secs(2)).unwrap_err();
    assert!(e.starts_with("cluster fake: Pod, ReplicaSet, Service, Node, Namespace, NetworkPolicy, Deployment, StatefulSet, DaemonSet, Job, CronJob not listed within 2 s"), "{e}");
    assert!(e.contains("watching Pods"), "{e}");

    let e = ClusterView::start(&ClusterOptions {
        kubeconfig: Some(dir.path().join("missing")),
        ..ClusterOptions::default()
    })
    .err()
    .unwrap();
    assert!(e.contains("cannot read kubeconfig"), "{e}");
}
