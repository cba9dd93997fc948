//! Controller benchmark: initial sync of a synthetic cluster (10,000 pods, 2,500 workloads,
//! 50,000 RBAC bindings) served by the fake API server of the tests, then the latency of one
//! change, and the controller's peak RSS.
//!
//! The fake API server runs in a child process (this binary, `PALISADE_BENCH_ROLE=api`), so
//! the parent's peak RSS (VmHWM) is the controller's (plus its kube client).
//!
//!     cargo bench -p palisade-controller --bench controller
//!     PALISADE_BENCH_SCALE=0.1 …   (a tenth of the size)
//!     PALISADE_BENCH_BINDINGS=0 …  (another number of RoleBindings)

#[path = "../tests/fake_api/mod.rs"]
mod fake_api;

use fake_api::FakeApi;
use palisade_controller::controller::{run, ControllerOptions, Progress};
use palisade_scan::{ScanConfig, Scanner};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn scale() -> f64 {
    std::env::var("PALISADE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn deployment(ns: &str, name: &str, privileged: bool) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"), "labels": {"app": name}},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.2.3",
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "securityContext": {"privileged": privileged, "runAsNonRoot": true}}]},
        }},
    })
}

/// The synthetic cluster, in the child process.
async fn serve() {
    let s = scale();
    let api = FakeApi::start().await;
    let namespaces = ((250.0 * s) as usize).max(1);
    let workloads = (2500.0 * s) as usize;
    let bindings = std::env::var("PALISADE_BENCH_BINDINGS")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or((50_000.0 * s) as usize);
    for n in 0..namespaces {
        api.put_silently("/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("ns{n}"), "uid": format!("uid-ns{n}")}}));
    }
    api.put_silently("rbac.authorization.k8s.io/clusterroles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "viewer"}, "rules": [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list"]}]}));
    api.put_silently("rbac.authorization.k8s.io/clusterroles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "secret-reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}));
    for w in 0..workloads {
        let ns = format!("ns{}", w % namespaces);
        let name = format!("app{w}");
        api.put_silently("apps/deployments", deployment(&ns, &name, w % 10 == 0));
        let rs = format!("{name}-5d9f");
        api.put_silently("apps/replicasets", json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs, "namespace": ns, "uid": format!("uid-{ns}-{rs}"),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": format!("uid-{ns}-{name}"), "controller": true}]},
            "spec": deployment(&ns, &name, w % 10 == 0)["spec"].clone()}));
        for p in 0..4 {
            let pod = format!("{rs}-{p}");
            let mut spec = deployment(&ns, &name, w % 10 == 0)["spec"]["template"]["spec"].clone();
            spec["nodeName"] = json!(format!("node{}", p));
            api.put_silently("/pods", json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "uid": format!("uid-{ns}-{pod}"), "labels": {"app": name},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("uid-{ns}-{rs}"), "controller": true}]},
                "spec": spec}));
        }
    }
    for b in 0..bindings {
        let ns = format!("ns{}", b % namespaces);
        let role = if b % 100 == 0 {
            "secret-reader"
        } else {
            "viewer"
        };
        api.put_silently("rbac.authorization.k8s.io/rolebindings", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": format!("rb{b}"), "namespace": ns, "uid": format!("uid-rb{b}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": format!("sa{}", b % 5000), "namespace": ns}]}));
    }
    println!("{}", api.addr);
    // Serve until the parent closes our stdin.
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
}

fn vm_hwm_mib() -> f64 {
    status_mib("VmHWM:")
}

fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn bench() {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("PALISADE_BENCH_ROLE", "api")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    let addr = addr.trim().to_string();
    eprintln!(
        "fake API with the synthetic cluster on {addr} ({:.1} s to generate)",
        started.elapsed().as_secs_f64()
    );
    let client =
        kube::Client::try_from(kube::Config::new(format!("http://{addr}").parse().unwrap()))
            .unwrap();
    let scanner = Scanner::new(&ScanConfig {
        profile: palisade_checks::Profile::All,
        ..ScanConfig::default()
    })
    .unwrap();
    let progress = Arc::new(Mutex::new(Progress::default()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let p = progress.clone();
    let c = client.clone();
    let t0 = Instant::now();
    let task = tokio::spawn(async move {
        run(
            c,
            ControllerOptions {
                scanner,
                categories: Default::default(),
                listen: None,
                lease: None,
                context: "bench".into(),
            },
            Some(p),
            async {
                let _ = stop_rx.await;
            },
        )
        .await
        .unwrap();
    });
    loop {
        if progress.lock().unwrap().initial_sync.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sync = t0.elapsed();
    let reports = progress.lock().unwrap().reports;
    let rss_sync = vm_hwm_mib();
    println!(
        "initial sync: {reports} reports written in {:.2} s; peak RSS {rss_sync:.0} MiB",
        sync.as_secs_f64()
    );

    // One change: a Deployment becomes privileged; time until its report says so.
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "ns1",
        &kube::core::ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
        },
    );
    let reports: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "ns1",
        &kube::core::ApiResource {
            group: "wgpolicyk8s.io".into(),
            version: "v1alpha2".into(),
            api_version: "wgpolicyk8s.io/v1alpha2".into(),
            kind: "PolicyReport".into(),
            plural: "policyreports".into(),
        },
    );
    let mut latencies = Vec::new();
    for (i, privileged) in [true, false, true, false, true].into_iter().enumerate() {
        let name = "app1";
        let obj: kube::api::DynamicObject =
            serde_json::from_value(deployment("ns1", name, privileged)).unwrap();
        let t = Instant::now();
        api.replace(name, &Default::default(), &obj).await.unwrap();
        loop {
            let ok = reports
                .get_opt(&format!("uid-ns1-{name}"))
                .await
                .ok()
                .flatten()
                .and_then(|r| {
                    r.data["results"].as_array().map(|rs| {
                        rs.iter().any(|x| {
                            x["policy"] == "PSS102"
                                && x["result"] == if privileged { "fail" } else { "pass" }
                        })
                    })
                })
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "change {i} not reflected"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(t.elapsed());
    }
    let ms: Vec<String> = latencies
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
        .collect();
    println!(
        "one Deployment changed → its report updated: {} ms (5 changes)",
        ms.join(", ")
    );

    // One RoleBinding added: its report appears.
    let rb: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "ns1",
        &kube::core::ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "RoleBinding".into(),
            plural: "rolebindings".into(),
        },
    );
    let new: kube::api::DynamicObject = serde_json::from_value(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "bench-new", "namespace": "ns1", "uid": "uid-bench-new"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa1", "namespace": "ns1"}]}))
    .unwrap();
    let t = Instant::now();
    rb.create(&Default::default(), &new).await.unwrap();
    while reports
        .get_opt("uid-bench-new")
        .await
        .ok()
        .flatten()
        .is_none()
    {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "RoleBinding not reflected"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "one RoleBinding added → its report written: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "peak RSS of the controller process: {:.0} MiB (now {:.0} MiB)",
        vm_hwm_mib(),
        status_mib("VmRSS:")
    );
    let _ = stop_tx.send(());
    let _ = task.await;
    drop(child.stdin.take());
    let _ = child.wait();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("PALISADE_BENCH_ROLE").as_deref() == Ok("api") {
        rt.block_on(serve());
    } else {
        rt.block_on(bench());
    }
}
