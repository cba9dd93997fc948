//! The controller against a fake API server on loopback (tests/fake_api): the real kube
//! client and kube::runtime watchers, PolicyReports written by server-side apply.
//!
//! Scenarios: a Deployment created → its report appears with the expected results; fixed →
//! the report shows pass; deleted → the report is gone; a RoleBinding added → only its
//! subjects' reports change; a watch that expires (410 Gone) → a relist, nothing lost; a 409
//! conflict on a write → a retry.

mod fake_api;

use fake_api::FakeApi;
use palisade_controller::controller::{run, ControllerOptions, Progress, WATCHED};
use palisade_controller::install::CONTROLLER_READS;
use palisade_controller::lease::LeaseOptions;
use palisade_scan::{ScanConfig, Scanner};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

const REPORTS: &str = "wgpolicyk8s.io/policyreports";
const DEPLOYMENTS: &str = "apps/deployments";
const TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    progress: Arc<Mutex<Progress>>,
}

impl Running {
    async fn start(api: FakeApi, lease: bool) -> Running {
        Running::start_on(api, lease, None).await
    }

    async fn start_on(api: FakeApi, lease: bool, listen: Option<std::net::SocketAddr>) -> Running {
        let scanner = Scanner::new(&ScanConfig {
            profile: palisade_checks::Profile::All,
            ..ScanConfig::default()
        })
        .unwrap();
        let opts = ControllerOptions {
            scanner,
            categories: BTreeMap::from([(
                "PSS102".to_string(),
                "Pod Security Standards".to_string(),
            )]),
            listen,
            lease: lease.then(|| {
                let mut l = LeaseOptions::new("palisade-system", "replica-a");
                l.renew_every = Duration::from_millis(200);
                l
            }),
            context: "fake".into(),
        };
        let (tx, rx) = oneshot::channel();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let client = api.client();
        let p = progress.clone();
        let done = tokio::spawn(async move {
            run(client, opts, Some(p), async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Running {
            stop: Some(tx),
            done,
            progress,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = tokio::time::timeout(TIMEOUT, self.done).await;
    }

    async fn synced(&self) {
        wait("the initial sync", || {
            self.progress.lock().unwrap().initial_sync.is_some()
        })
        .await;
    }
}

async fn wait(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn deployment(ns: &str, name: &str, uid: &str, privileged: bool) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": uid},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                "securityContext": {"privileged": privileged}}]},
        }},
    })
}

fn result<'a>(report: &'a Value, policy: &str) -> Option<&'a Value> {
    report["results"]
        .as_array()?
        .iter()
        .find(|r| r["policy"] == policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_created_fixed_and_deleted() {
    let api = FakeApi::start().await;
    api.put("/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "a"}}}));
    let ctl = Running::start(api.clone(), true).await;
    ctl.synced().await;
    // Leader election went through the Lease.
    let lease = api
        .get(
            "coordination.k8s.io/leases",
            Some("palisade-system"),
            "palisade-controller",
        )
        .expect("the lease");
    assert_eq!(lease["spec"]["holderIdentity"], "replica-a");

    // Created: the report appears, named by the UID, owned by the Deployment.
    let uid = "0b7e1d2c-0000-4000-8000-000000000001";
    api.put(DEPLOYMENTS, deployment("shop", "web", uid, true));
    wait("the report of shop/web", || {
        api.get(REPORTS, Some("shop"), uid).is_some()
    })
    .await;
    let r = api.get(REPORTS, Some("shop"), uid).unwrap();
    assert_eq!(r["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(r["metadata"]["ownerReferences"][0]["uid"], uid);
    assert_eq!(r["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(r["scope"]["name"], "web");
    let privileged = result(&r, "PSS102").expect("PSS102 result");
    assert_eq!(privileged["result"], "fail");
    assert_eq!(privileged["source"], "palisade");
    assert_eq!(privileged["category"], "Pod Security Standards");
    assert_eq!(
        privileged["properties"]["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert!(r["summary"]["fail"].as_u64().unwrap() >= 1);
    // Written by server-side apply with the field manager.
    assert!(api.count("PATCH", &format!("/policyreports/{uid}")) >= 1);

    // Fixed: the same report now says pass.
    api.put(DEPLOYMENTS, deployment("shop", "web", uid, false));
    wait("PSS102 to pass", || {
        api.get(REPORTS, Some("shop"), uid)
            .and_then(|r| result(&r, "PSS102").map(|x| x["result"] == "pass"))
            .unwrap_or(false)
    })
    .await;
    let r = api.get(REPORTS, Some("shop"), uid).unwrap();
    assert!(r["summary"]["pass"].as_u64().unwrap() > 0);

    // Deleted: the report is gone.
    api.delete(DEPLOYMENTS, Some("shop"), "web");
    wait("the report to go", || {
        api.get(REPORTS, Some("shop"), uid).is_none()
    })
    .await;
    ctl.stop().await;
}

fn binding(name: &str, uid: &str, role: &str, sa: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": "team", "uid": uid},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "team"}],
    })
}

fn cluster_role(name: &str, resources: &[&str], verbs: &[&str]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolebinding_changes_only_its_subjects_reports() {
    let api = FakeApi::start().await;
    let roles = "rbac.authorization.k8s.io/clusterroles";
    let bindings = "rbac.authorization.k8s.io/rolebindings";
    api.put(
        roles,
        cluster_role("secret-reader", &["secrets"], &["get", "list"]),
    );
    api.put(roles, cluster_role("pod-exec", &["pods/exec"], &["create"]));
    api.put(
        bindings,
        binding("a-secrets", "uid-a-secrets", "secret-reader", "a"),
    );
    api.put(
        bindings,
        binding("b-secrets", "uid-b-secrets", "secret-reader", "b"),
    );
    let ctl = Running::start(api.clone(), false).await;
    ctl.synced().await;
    wait("both bindings' reports", || {
        api.get(REPORTS, Some("team"), "uid-a-secrets").is_some()
            && api.get(REPORTS, Some("team"), "uid-b-secrets").is_some()
    })
    .await;
    let b_before = api.get(REPORTS, Some("team"), "uid-b-secrets").unwrap();
    assert!(
        result(&b_before, "RBAC003").is_some_and(|r| r["result"] == "fail"),
        "{b_before:#}"
    );
    let b_writes = api.count("PATCH", "/policyreports/uid-b-secrets");
    let a_writes = api.count("PATCH", "/policyreports/uid-a-secrets");

    // A new binding for subject a: its report appears, b's is not touched.
    api.put(bindings, binding("a-exec", "uid-a-exec", "pod-exec", "a"));
    wait("the new binding's report", || {
        api.get(REPORTS, Some("team"), "uid-a-exec").is_some()
    })
    .await;
    let r = api.get(REPORTS, Some("team"), "uid-a-exec").unwrap();
    assert!(
        result(&r, "RBAC005").is_some_and(|r| r["result"] == "fail"),
        "{r:#}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        api.count("PATCH", "/policyreports/uid-b-secrets"),
        b_writes,
        "b's report was rewritten"
    );
    assert_eq!(
        api.get(REPORTS, Some("team"), "uid-b-secrets").unwrap()["results"],
        b_before["results"]
    );
    // a's existing report has the same results: not rewritten either.
    assert_eq!(api.count("PATCH", "/policyreports/uid-a-secrets"), a_writes);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_watch_relists_and_a_conflict_is_retried() {
    let api = FakeApi::start().await;
    api.put(DEPLOYMENTS, deployment("shop", "old", "uid-old", true));
    let ctl = Running::start(api.clone(), false).await;
    ctl.synced().await;
    wait("the first report", || {
        api.get(REPORTS, Some("shop"), "uid-old").is_some()
    })
    .await;

    // The watch expires; while it is down one Deployment goes and another comes, with no
    // watch events. The relist finds both changes.
    api.expire_watches(DEPLOYMENTS, 1);
    api.delete_silently(DEPLOYMENTS, Some("shop"), "old");
    api.put_silently(DEPLOYMENTS, deployment("shop", "new", "uid-new", true));
    wait("the new Deployment's report", || {
        api.get(REPORTS, Some("shop"), "uid-new").is_some()
    })
    .await;
    wait("the old report to go", || {
        api.get(REPORTS, Some("shop"), "uid-old").is_none()
    })
    .await;
    let watches = api
        .requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p == "/apis/apps/v1/deployments")
        .count();
    assert!(watches >= 3, "list, watch, relist: {watches} requests");

    // A write that conflicts is retried.
    api.conflict_next_patches(1);
    api.put(DEPLOYMENTS, deployment("shop", "third", "uid-third", true));
    wait("the third report", || {
        api.get(REPORTS, Some("shop"), "uid-third").is_some()
    })
    .await;
    assert_eq!(
        api.count("PATCH", "/policyreports/uid-third"),
        2,
        "one 409, one retry"
    );
    ctl.stop().await;
}

#[test]
fn the_install_role_grants_what_the_controller_watches() {
    let watched: BTreeSet<(String, String)> = WATCHED
        .iter()
        .map(|w| (w.group.to_string(), w.plural.to_string()))
        .collect();
    let granted: BTreeSet<(String, String)> = CONTROLLER_READS
        .iter()
        .flat_map(|(g, rs)| rs.iter().map(move |r| (g.to_string(), r.to_string())))
        .collect();
    assert_eq!(watched, granted);
}

/// GET over plain HTTP/1.1 on loopback: (status, body).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let api = FakeApi::start().await;
    api.put(DEPLOYMENTS, deployment("shop", "web", "uid-web", true));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ctl = Running::start_on(api.clone(), false, Some(port)).await;
    ctl.synced().await;
    wait("the report", || {
        api.get(REPORTS, Some("shop"), "uid-web").is_some()
    })
    .await;
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(port).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up, "endpoints not listening");
    assert_eq!(http_get(port, "/healthz").await.0, 200);
    assert_eq!(http_get(port, "/readyz").await.0, 200);
    let (code, metrics) = http_get(port, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("palisade_controller_reports_written_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_controller_relists_total{kind=\"Deployment\"}"),
        "{metrics}"
    );
    // The exposition passes Prometheus' own linter.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, &metrics).unwrap();
    let lint = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("promtool (Debian package prometheus; scripts/install-test-deps.sh)");
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    ctl.stop().await;
}
