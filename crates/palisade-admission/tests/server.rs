//! The webhook over real TLS on loopback: real AdmissionReview payloads as kube-apiserver
//! sends them (tests/fixtures/reviews), certificate rotation under load, reload with a
//! broken policy file, the decision log, metrics, health and readiness.

use palisade_admission::certs::{self, CertOptions};
use palisade_admission::server::{self, Running, ServeOptions};
use palisade_loadgen::{client_config, connect, raw_exchange, Conn};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SERVER_NAME: &str = "palisade-admission.palisade-system.svc";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn review(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("reviews").join(name)).unwrap()
}

struct Env {
    dir: tempfile::TempDir,
    ca_pem: Vec<u8>,
}

impl Env {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn decision_log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path("decisions.log")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("every decision-log line is JSON"))
            .collect()
    }
}

fn write_certs(dir: &Path) -> Vec<u8> {
    let c = certs::generate(&CertOptions {
        service: "palisade-admission".into(),
        namespace: "palisade-system".into(),
        days: 30,
        ca_days: 60,
        extra_dns: Vec::new(),
        ip_sans: Vec::new(),
    })
    .unwrap();
    std::fs::write(dir.join("tls.crt"), &c.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &c.key_pem).unwrap();
    c.ca_cert_pem.into_bytes()
}

fn config_text(dir: &Path, policies: &Path, extra: &str) -> String {
    format!(
        r#"apiVersion: palisade.dev/v1alpha1
kind: AdmissionConfiguration
podSecurity:
  defaults: {{enforce: baseline, warn: restricted, audit: restricted}}
  exemptions:
    usernames: ["system:serviceaccount:ci:deployer"]
checks:
  - checks: [read-only-root-filesystem]
    action: warn
images:
  allowedRegistries: [registry.k8s.io, ghcr.io/acme]
  forbidLatest: true
  action: deny
policies:
  paths: ["{policies}"]
namespaces:
  files: ["{ns}"]
decisionLog:
  path: "{log}"
{extra}"#,
        policies = policies.display(),
        ns = fixtures().join("namespaces.yaml").display(),
        log = dir.join("decisions.log").display(),
    )
}

async fn start_with(extra: &str, policies: Option<PathBuf>) -> (Env, Running) {
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = write_certs(dir.path());
    let policies = policies.unwrap_or_else(|| fixtures().join("policies"));
    std::fs::write(
        dir.path().join("admission.yaml"),
        config_text(dir.path(), &policies, extra),
    )
    .unwrap();
    let mut opts = ServeOptions::new(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    opts.config = Some(dir.path().join("admission.yaml"));
    opts.reload_interval = Duration::from_millis(100);
    opts.shutdown_grace = Duration::from_secs(5);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = server::start(opts, Some(listener)).await.unwrap();
    (Env { dir, ca_pem }, running)
}

async fn client(env: &Env, running: &Running) -> Conn {
    connect(
        running.addr,
        SERVER_NAME,
        client_config(&env.ca_pem).unwrap(),
    )
    .await
    .unwrap()
}

async fn validate(conn: &mut Conn, body: Vec<u8>) -> Value {
    let r = conn.post_json("/validate", body).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_reviews_over_tls() {
    let (env, running) = start_with("", None).await;
    let mut c = client(&env, &running).await;

    // Pod create in a restricted namespace: privileged container, :latest image.
    let v = validate(&mut c, review("pod-create.json")).await;
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
    let r = &v["response"];
    assert_eq!(r["uid"], "0df28fbd-5f5f-4c23-8b8f-b2b0b1c8a001");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("violates PodSecurity \"restricted:latest\""),
        "{msg}"
    );
    assert!(msg.contains("privileged"), "{msg}");
    assert!(
        msg.contains("[PAL202]"),
        "the :latest image is denied too: {msg}"
    );
    assert_eq!(
        r["auditAnnotations"]["pod-security-enforce-policy"],
        "restricted:latest"
    );
    assert!(r["auditAnnotations"]["pod-security-audit-violations"]
        .as_str()
        .unwrap()
        .starts_with("would violate PodSecurity"));

    // The compliant version passes.
    let v = validate(&mut c, review("pod-create-compliant.json")).await;
    assert_eq!(v["response"]["allowed"], true, "{v}");
    assert!(v["response"].get("warnings").is_none(), "{v}");

    // dryRun, v1beta1: answered in kind, evaluated the same.
    let v = validate(&mut c, review("pod-create-dryrun-v1beta1.json")).await;
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(v["response"]["allowed"], false);

    // An exempt user: Pod Security is skipped (the image rule still applies).
    let v = validate(&mut c, review("pod-create-exempt-user.json")).await;
    let r = &v["response"];
    assert_eq!(r["auditAnnotations"]["pod-security-exempt"], "user", "{v}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(!msg.contains("PodSecurity"), "{msg}");
    assert!(msg.contains("[PAL202]"), "{msg}");

    // Deployment update with oldObject: PSA warns (never denies a workload), the
    // Gatekeeper constraint (enforcementAction: warn) warns about the missing owner label.
    let v = validate(&mut c, review("deployment-update.json")).await;
    let r = &v["response"];
    assert_eq!(r["allowed"], true, "{v}");
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w
                .starts_with("would violate PodSecurity \"restricted:latest\": hostNamespaces")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("[K8sRequiredLabels/workloads-need-owner]") && w.contains("owner")),
        "{warnings:?}"
    );

    // Delete: nothing to check.
    let v = validate(&mut c, review("pod-delete.json")).await;
    assert_eq!(v["response"]["allowed"], true, "{v}");

    // pods/exec CONNECT: denied in prod by the ValidatingAdmissionPolicy, allowed in dev.
    let v = validate(&mut c, review("pod-exec.json")).await;
    assert_eq!(v["response"]["allowed"], false, "{v}");
    let msg = v["response"]["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("exec into pods in namespace prod is not allowed"),
        "{msg}"
    );
    let v = validate(&mut c, review("pod-exec-dev.json")).await;
    assert_eq!(v["response"]["allowed"], true, "{v}");

    // The decision log has one line per request with the fields the issue asks for.
    running.state.flush_log();
    let log = env.decision_log();
    assert_eq!(log.len(), 8, "{log:#?}");
    let first = &log[0];
    assert_eq!(first["uid"], "0df28fbd-5f5f-4c23-8b8f-b2b0b1c8a001");
    assert_eq!(first["user"], "alice@example.com");
    assert_eq!(first["groups"][0], "developers");
    assert_eq!(first["operation"], "CREATE");
    assert_eq!(first["kind"]["kind"], "Pod");
    assert_eq!(first["namespace"], "prod");
    assert_eq!(first["name"], "web-7d9f8");
    assert_eq!(first["dryRun"], false);
    assert_eq!(first["allowed"], false);
    assert!(first["latencyMs"].as_f64().unwrap() > 0.0);
    let verdicts = first["verdicts"].as_array().unwrap();
    assert!(verdicts
        .iter()
        .any(|v| v["policy"] == "pod-security" && v["actions"][0] == "deny"));
    assert!(verdicts
        .iter()
        .any(|v| v["policy"] == "PAL202" && v["message"].as_str().unwrap().contains("latest")));
    assert_eq!(log[2]["dryRun"], true);
    assert_eq!(log[5]["operation"], "DELETE");
    assert_eq!(log[6]["subResource"], "exec");

    // Health, readiness, metrics.
    assert_eq!(c.get("/healthz").await.unwrap().status, 200);
    assert_eq!(c.get("/readyz").await.unwrap().status, 200);
    let m = c.get("/metrics").await.unwrap();
    assert_eq!(m.status, 200);
    let text = String::from_utf8(m.body.to_vec()).unwrap();
    assert!(text.contains("palisade_admission_requests_total"), "{text}");
    assert!(text.contains("decision=\"denied\""), "{text}");
    assert!(
        text.contains("palisade_admission_policy_violations_total"),
        "{text}"
    );
    check_with_promtool(&text);

    running.shutdown().await.unwrap();
}

/// `promtool check metrics` on what /metrics served, when promtool is installed (.ci/run
/// installs it; tests/promtool.rs fails in CI without it).
fn check_with_promtool(text: &str) {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not installed: /metrics not checked with it here");
        return;
    };
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400_and_are_logged() {
    let (env, running) = start_with("limits: {maxRequestBytes: 20000}\n", None).await;
    let mut c = client(&env, &running).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "not valid JSON"),
        (b"".to_vec(), "empty body"),
        (
            br#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}"#
                .to_vec(),
            "unsupported AdmissionReview apiVersion",
        ),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
            "no request",
        ),
        (vec![b' '; 30_000], "over the 20000-byte limit"),
        (
            format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
            "over the 20000-byte limit",
        ),
        (
            format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
            "not valid JSON",
        ),
    ];
    for (body, want) in &cases {
        if want.contains("limit") {
            // A body refused by its Content-Length is not read: the server answers and
            // closes, possibly while the client is still writing. Send the request by
            // hand so the answer is read whatever the timing.
            let mut req = format!(
                "POST /validate HTTP/1.1\r\nhost: {SERVER_NAME}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend_from_slice(body);
            let raw = raw_exchange(
                running.addr,
                SERVER_NAME,
                client_config(&env.ca_pem).unwrap(),
                &req,
            )
            .await
            .unwrap();
            let text = String::from_utf8_lossy(&raw);
            assert!(text.starts_with("HTTP/1.1 400"), "{text:?}");
            assert!(text.contains(want), "{text:?} should contain {want:?}");
            continue;
        }
        let r = c.post_json("/validate", body.clone()).await.unwrap();
        assert_eq!(r.status, 400);
        let text = String::from_utf8_lossy(&r.body);
        assert!(text.contains(want), "{text:?} should contain {want:?}");
    }
    // The connection survives bad requests, and good ones still work.
    let v = validate(&mut c, review("pod-create-compliant.json")).await;
    assert_eq!(v["response"]["allowed"], true);
    running.state.flush_log();
    let log = env.decision_log();
    assert_eq!(log.len(), cases.len() + 1);
    assert!(log[0]["error"].as_str().unwrap().contains("not valid JSON"));
    assert_eq!(log[4]["errorReason"], "too_large");
    let m = String::from_utf8(c.get("/metrics").await.unwrap().body.to_vec()).unwrap();
    assert!(m.contains("reason=\"too_large\""), "{m}");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_rotation_under_load_drops_nothing() {
    let (env, running) = start_with("", None).await;
    // The clients trust the old and the new CA, as during a real CA rotation.
    let first_ca = env.ca_pem.clone();
    let new_dir = tempfile::tempdir().unwrap();
    let second_ca = write_certs(new_dir.path());
    let mut both = first_ca.clone();
    both.extend_from_slice(&second_ca);
    let cfg = client_config(&both).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (cfg, stop, ok, addr) = (cfg.clone(), stop.clone(), ok.clone(), running.addr);
        workers.push(tokio::spawn(async move {
            let mut conn = connect(addr, SERVER_NAME, cfg).await.unwrap();
            let before = conn.peer_certificates.clone();
            while !stop.load(Ordering::Relaxed) {
                let r = conn
                    .post_json("/validate", review("pod-create-compliant.json"))
                    .await;
                let r = r.expect("no request fails during rotation");
                assert_eq!(r.status, 200);
                ok.fetch_add(1, Ordering::Relaxed);
            }
            before
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Rotate: write the key first, then the certificate, as a careless operator might; the
    // half-written pair is rejected and retried.
    std::fs::copy(new_dir.path().join("tls.key"), env.path("tls.key")).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    std::fs::copy(new_dir.path().join("tls.crt"), env.path("tls.crt")).unwrap();
    // New connections get the new certificate.
    let mut rotated = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let c = connect(running.addr, SERVER_NAME, cfg.clone())
            .await
            .unwrap();
        let served = c.peer_certificates[0].as_ref().to_vec();
        let new_leaf = std::fs::read(new_dir.path().join("tls.crt")).unwrap();
        if pem_matches(&new_leaf, &served) {
            rotated = true;
            break;
        }
    }
    assert!(rotated, "the new certificate is served to new connections");
    // Only the new CA is needed from now on.
    let only_new = client_config(&second_ca).unwrap();
    let mut c = connect(running.addr, SERVER_NAME, only_new).await.unwrap();
    assert_eq!(c.get("/healthz").await.unwrap().status, 200);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let before = w.await.expect("worker never failed");
        assert!(!before.is_empty());
    }
    assert!(ok.load(Ordering::Relaxed) > 10, "load kept flowing");
    let m = String::from_utf8(c.get("/metrics").await.unwrap().body.to_vec()).unwrap();
    assert!(
        m.contains("palisade_admission_certificate_reloads_total{result=\"success\"} 1"),
        "{m}"
    );
    running.shutdown().await.unwrap();
}

/// Whether the DER certificate is the first certificate of a PEM file.
fn pem_matches(pem: &[u8], der: &[u8]) -> bool {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .next()
        .and_then(Result::ok)
        .is_some_and(|c| c.as_ref() == der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_policy_reload_keeps_the_old_set() {
    // A private copy of the policies, so the test can break and fix them.
    let pdir = tempfile::tempdir().unwrap();
    for f in ["deny-exec-in-prod.yaml", "required-labels.yaml"] {
        std::fs::copy(fixtures().join("policies").join(f), pdir.path().join(f)).unwrap();
    }
    let (env, running) = start_with("", Some(pdir.path().to_path_buf())).await;
    let mut c = client(&env, &running).await;
    let v = validate(&mut c, review("pod-exec.json")).await;
    assert_eq!(v["response"]["allowed"], false);

    // Break the policy: the reload fails, the old set keeps enforcing.
    std::fs::write(
        pdir.path().join("deny-exec-in-prod.yaml"),
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: deny-exec-in-prod}\nspec:\n  validations:\n    - expression: \"object.(\"\n",
    )
    .unwrap();
    let mut failed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = String::from_utf8(c.get("/metrics").await.unwrap().body.to_vec()).unwrap();
        if m.lines()
            .any(|l| l.starts_with("palisade_admission_reloads_total{result=\"failure\"}"))
        {
            failed = true;
            break;
        }
    }
    assert!(failed, "the broken reload is counted");
    let v = validate(&mut c, review("pod-exec.json")).await;
    assert_eq!(
        v["response"]["allowed"], false,
        "the old policy still enforces"
    );
    assert_eq!(c.get("/readyz").await.unwrap().status, 200, "still ready");

    // Remove the policy: the reload succeeds and exec is allowed.
    std::fs::remove_file(pdir.path().join("deny-exec-in-prod.yaml")).unwrap();
    let mut allowed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let v = validate(&mut c, review("pod-exec.json")).await;
        if v["response"]["allowed"] == true {
            allowed = true;
            break;
        }
    }
    assert!(allowed, "the new set is swapped in");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests() {
    let (env, running) = start_with("", None).await;
    let cfg = client_config(&env.ca_pem).unwrap();
    let mut inflight = Vec::new();
    for _ in 0..8 {
        let mut conn = connect(running.addr, SERVER_NAME, cfg.clone())
            .await
            .unwrap();
        inflight.push(tokio::spawn(async move {
            let mut answered = 0;
            for _ in 0..20 {
                match conn.post_json("/validate", review("pod-create.json")).await {
                    Ok(r) => {
                        assert_eq!(r.status, 200, "an accepted request is answered");
                        answered += 1;
                    }
                    Err(_) => break,
                }
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let addr = running.addr;
    running.shutdown().await.unwrap();
    let mut total = 0;
    for t in inflight {
        total += t.await.unwrap();
    }
    assert!(total > 0);
    // The decision log was written out at shutdown: one line per answered request.
    assert_eq!(env.decision_log().len(), total, "no decision-log line lost");
    // Nothing listens any more.
    assert!(
        connect(addr, SERVER_NAME, client_config(&env.ca_pem).unwrap())
            .await
            .is_err()
    );
}
