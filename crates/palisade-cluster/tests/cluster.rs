//! Listing against a fake API server that answers from recorded list responses
//! (`tests/fixtures/<plural>[.<group>].json`); every other type gets an empty list.

use palisade_cluster::{
    connect, list_objects, load_cluster, ClusterError, ClusterOptions, ResourceKind, RESOURCES,
};
use palisade_model::{Level, Loaded, Node, Object, Source};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOKEN: &str = "kind-test-token-3f9a1c";
/// Bound on every test: the fake server answers in milliseconds.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The fake API server
// ---------------------------------------------------------------------------------------------

/// One request the server saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
}

impl Seen {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct FakeApi {
    /// Fixed answers by qualified resource name (`secrets`, `ingresses.networking.k8s.io`).
    overrides: HashMap<String, (u16, String)>,
    /// Answer the first continue request for this resource with 410 Gone.
    expire_first_continue: Option<String>,
    expired: Mutex<bool>,
    seen: Mutex<Vec<Seen>>,
}

impl FakeApi {
    fn new() -> Self {
        FakeApi::default()
    }

    fn respond(mut self, resource: &str, status: u16, body: impl Into<String>) -> Self {
        self.overrides
            .insert(resource.to_string(), (status, body.into()));
        self
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_for(&self, plural: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.rsplit('/').next() == Some(plural))
            .collect()
    }

    fn answer(&self, head: &str) -> (u16, String) {
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let authorization = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.trim().to_string());
        let seen = Seen {
            method,
            path: path.to_string(),
            query,
            authorization,
        };
        self.seen.lock().unwrap().push(seen.clone());
        self.list(&seen)
    }

    fn list(&self, req: &Seen) -> (u16, String) {
        let Some((rk, namespace)) = route(&req.path) else {
            return not_found();
        };
        if req.method != "GET" {
            return status(405, "MethodNotAllowed", "only lists are served");
        }
        let name = rk.qualified_name();
        if let Some((code, body)) = self.overrides.get(&name) {
            return (*code, body.clone());
        }
        let mut list = fixture(rk);
        let items = list["items"].as_array_mut().unwrap();
        if let Some(ns) = &namespace {
            items.retain(|i| i["metadata"]["namespace"] == json!(ns));
        }
        if let Some(sel) = req.param("fieldSelector") {
            let wanted = sel
                .strip_prefix("metadata.name=")
                .expect("only name selectors");
            items.retain(|i| i["metadata"]["name"] == json!(wanted));
        }
        let all = std::mem::take(items);
        let offset = match req.param("continue") {
            None => 0,
            Some(token) => {
                if self.expire_first_continue.as_deref() == Some(name.as_str()) {
                    let mut expired = self.expired.lock().unwrap();
                    if !*expired {
                        *expired = true;
                        return status(
                            410,
                            "Expired",
                            "The provided continue parameter is too old to display a \
                             consistent list result. You can start a new list without the \
                             continue parameter.",
                        );
                    }
                }
                match token
                    .strip_prefix("eyJ2IjoibWV0YS5rOHMuaW8vdjEi.")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(n) if n <= all.len() => n,
                    _ => return status(400, "BadRequest", "invalid continue token"),
                }
            }
        };
        let limit = req
            .param("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|&l| l > 0)
            .unwrap_or(usize::MAX);
        let end = offset.saturating_add(limit).min(all.len());
        let page: Vec<Value> = all[offset..end].to_vec();
        list["items"] = Value::Array(page);
        if end < all.len() {
            list["metadata"]["continue"] = json!(format!("eyJ2IjoibWV0YS5rOHMuaW8vdjEi.{end}"));
            list["metadata"]["remainingItemCount"] = json!(all.len() - end);
        }
        (200, list.to_string())
    }
}

/// `/api/v1/[namespaces/<ns>/]<plural>` or `/apis/<group>/<version>/[namespaces/<ns>/]<plural>`.
fn route(path: &str) -> Option<(&'static ResourceKind, Option<String>)> {
    let (group, version, rest) = if let Some(rest) = path.strip_prefix("/api/") {
        let (version, rest) = rest.split_once('/')?;
        ("", version, rest)
    } else {
        let rest = path.strip_prefix("/apis/")?;
        let (group, rest) = rest.split_once('/')?;
        let (version, rest) = rest.split_once('/')?;
        (group, version, rest)
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (namespace, plural) = match segments.as_slice() {
        [plural] => (None, *plural),
        ["namespaces", ns, plural] => (Some(ns.to_string()), *plural),
        _ => return None,
    };
    let rk = RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)?;
    if namespace.is_some() && !rk.namespaced {
        return None;
    }
    Some((rk, namespace))
}

/// The recorded list for a type, or an empty list of the right kind.
fn fixture(rk: &ResourceKind) -> Value {
    let path = Path::new(FIXTURES).join(format!("{}.json", rk.qualified_name()));
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => json!({
            "kind": format!("{}List", rk.kind),
            "apiVersion": rk.api_version(),
            "metadata": {"resourceVersion": "184220"},
            "items": []
        }),
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code
    });
    (code, body.to_string())
}

fn not_found() -> (u16, String) {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Serves one keep-alive connection: requests are GETs without bodies.
async fn serve_connection(mut stream: TcpStream, api: Arc<FakeApi>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    // Bounded: a connection never carries more requests than a scan makes.
    for _ in 0..10_000 {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let (code, body) = api.answer(&head);
        let response = format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            reason_phrase(code),
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn serve(listener: TcpListener, api: Arc<FakeApi>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve_connection(stream, api.clone()));
    }
}

/// Starts the server on the current runtime.
async fn start(api: FakeApi) -> (SocketAddr, Arc<FakeApi>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let api = Arc::new(api);
    tokio::spawn(serve(listener, api.clone()));
    (addr, api)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Writes a kubeconfig whose contexts `kind-test` (current) and `staging` point at `server`.
fn write_kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("kubeconfig.yaml");
    let text = format!(
        "apiVersion: v1
kind: Config
preferences: {{}}
current-context: kind-test
clusters:
- name: kind-test
  cluster:
    server: {server}
contexts:
- name: kind-test
  context:
    cluster: kind-test
    user: scanner
- name: staging
  context:
    cluster: kind-test
    user: scanner
    namespace: staging
users:
- name: scanner
  user:
    token: {TOKEN}
"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Connects through a kubeconfig pointing at `addr` and lists everything.
async fn scan(addr: SocketAddr, namespace: Option<&str>, page_size: u32) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let opts = ClusterOptions {
        kubeconfig: Some(write_kubeconfig(dir.path(), &format!("http://{addr}"))),
        context: Some("kind-test".into()),
        namespace: namespace.map(str::to_string),
        page_size,
    };
    let (client, context) = connect(&opts).await.expect("connect");
    list_objects(client, &context, opts.namespace.as_deref(), opts.page_size).await
}

fn of_kind<'a>(loaded: &'a Loaded, kind: &str) -> Vec<&'a Object> {
    loaded.objects.iter().filter(|o| o.kind == kind).collect()
}

fn names(objects: &[&Object]) -> Vec<String> {
    objects.iter().map(|o| o.name.clone()).collect()
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test took too long")
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lists_every_type_from_recorded_responses() {
    bounded(async {
        let (addr, api) = start(FakeApi::new()).await;
        let loaded = scan(addr, None, 500).await;
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(loaded.files, 0);
        assert_eq!(loaded.documents, loaded.objects.len());
        // 3 namespaces, 2 pods, 3 secrets, 2 service accounts, 5 deployments, 1 replica set,
        // 1 cluster role, 2 cluster role bindings.
        assert_eq!(loaded.objects.len(), 19);
        assert_eq!(
            names(&of_kind(&loaded, "Namespace")),
            ["default", "kube-system", "prod"]
        );

        let pod = of_kind(&loaded, "Pod")
            .into_iter()
            .find(|p| p.name == "web-7c9d8f6b5-x2xkq")
            .unwrap();
        assert_eq!(pod.api_version, "v1");
        assert_eq!(pod.namespace.as_deref(), Some("prod"));
        assert_eq!(pod.list_item, None);
        assert_eq!(pod.document, 0);
        assert_eq!(
            pod.root.get("apiVersion").and_then(Node::as_str),
            Some("v1")
        );
        assert_eq!(pod.root.get("kind").and_then(Node::as_str), Some("Pod"));
        let rs = of_kind(&loaded, "ReplicaSet")[0];
        assert_eq!(rs.api_version, "apps/v1");
        assert_eq!(pod.controller_uid(), rs.uid());
        assert!(pod.pod().is_some());
        assert_eq!(pod.pod().unwrap().containers().len(), 1);

        let crbs = of_kind(&loaded, "ClusterRoleBinding");
        assert_eq!(names(&crbs), ["cluster-admin", "ci-deployer-admin"]);
        assert_eq!(crbs[0].api_version, "rbac.authorization.k8s.io/v1");
        assert_eq!(crbs[1].namespace, None);
        assert_eq!(
            crbs[1].root.at(&["roleRef", "name"]).and_then(Node::as_str),
            Some("cluster-admin")
        );

        // managedFields never survive.
        for o in &loaded.objects {
            assert!(o.metadata().get("managedFields").is_none(), "{}", o.name);
        }
        // One request per type, all GETs, no discovery.
        let seen = api.seen();
        assert_eq!(seen.len(), RESOURCES.len());
        assert!(seen.iter().all(|s| s.method == "GET"));
        assert!(seen.iter().all(|s| s.param("limit") == Some("500")));
    })
    .await
}

#[tokio::test]
async fn pagination_follows_continue_tokens() {
    bounded(async {
        let (addr, api) = start(FakeApi::new()).await;
        let loaded = scan(addr, None, 2).await;
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);

        let deployments = names(&of_kind(&loaded, "Deployment"));
        assert_eq!(deployments, ["coredns", "nginx", "api", "web", "worker"]);
        let unique: BTreeSet<&String> = deployments.iter().collect();
        assert_eq!(unique.len(), deployments.len(), "an item arrived twice");

        let requests = api.seen_for("deployments");
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert!(requests.iter().all(|r| r.param("limit") == Some("2")));
        let tokens: Vec<Option<&str>> = requests.iter().map(|r| r.param("continue")).collect();
        assert_eq!(
            tokens,
            [
                None,
                Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEi.2"),
                Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEi.4"),
            ]
        );
        // Other paged types arrive whole too.
        assert_eq!(of_kind(&loaded, "Namespace").len(), 3);
        assert_eq!(of_kind(&loaded, "Secret").len(), 3);
        assert_eq!(api.seen_for("namespaces").len(), 2);
    })
    .await
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list_once() {
    bounded(async {
        let api = FakeApi {
            expire_first_continue: Some("deployments.apps".into()),
            ..FakeApi::new()
        };
        let (addr, api) = start(api).await;
        let loaded = scan(addr, None, 2).await;
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(
            names(&of_kind(&loaded, "Deployment")),
            ["coredns", "nginx", "api", "web", "worker"]
        );
        // first page, expired continue, then three pages from the start
        assert_eq!(api.seen_for("deployments").len(), 5);
    })
    .await
}

#[tokio::test]
async fn forbidden_secrets_are_a_warning_and_the_scan_goes_on() {
    bounded(async {
        let body =
            std::fs::read_to_string(Path::new(FIXTURES).join("forbidden-secrets.json")).unwrap();
        let (addr, _api) = start(FakeApi::new().respond("secrets", 403, body)).await;
        let loaded = scan(addr, None, 500).await;

        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        let d = &loaded.diagnostics[0];
        assert_eq!(d.level, Level::Warning);
        assert_eq!(d.source, "cluster:kind-test");
        assert_eq!(
            d.message,
            "cannot list secrets: forbidden: secrets is forbidden: User \
             \"system:serviceaccount:ci:scanner\" cannot list resource \"secrets\" in API group \
             \"\" at the cluster scope"
        );
        let hint = d.hint.as_deref().unwrap();
        assert!(hint.contains("`get`") && hint.contains("`list`"), "{hint}");
        assert!(hint.contains("secrets"), "{hint}");

        assert!(of_kind(&loaded, "Secret").is_empty());
        assert_eq!(of_kind(&loaded, "Pod").len(), 2);
        assert_eq!(of_kind(&loaded, "Deployment").len(), 5);
        assert_eq!(of_kind(&loaded, "ClusterRoleBinding").len(), 2);
        assert_eq!(loaded.objects.len(), 16);
        assert_eq!(loaded.documents, 16);
    })
    .await
}

#[tokio::test]
async fn secret_values_are_dropped() {
    bounded(async {
        let (addr, _api) = start(FakeApi::new()).await;
        let loaded = scan(addr, None, 500).await;
        let secrets = of_kind(&loaded, "Secret");
        assert_eq!(
            names(&secrets),
            ["db-credentials", "registry-pull", "bootstrap-token-abcdef"]
        );
        let types: Vec<&str> = secrets
            .iter()
            .map(|s| s.root.get("type").and_then(Node::as_str).unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "Opaque",
                "kubernetes.io/dockerconfigjson",
                "bootstrap.kubernetes.io/token"
            ]
        );
        for s in &secrets {
            assert!(s.root.get("data").is_none(), "{}", s.name);
            assert!(s.root.get("stringData").is_none(), "{}", s.name);
            assert!(s
                .annotation("kubectl.kubernetes.io/last-applied-configuration")
                .is_none());
            assert!(s.metadata().get("uid").is_some());
        }
        assert_eq!(
            secrets[0].labels().get("app").and_then(Node::as_str),
            Some("api")
        );
        // No value (nor the copy in last-applied-configuration) is held anywhere.
        for o in &loaded.objects {
            let text = o.root.to_json().to_string();
            for value in [
                "czNjcjN0LXBhc3N3MHJk",
                "eyJhdXRocyI6",
                "MDEyMzQ1Njc4OWFiY2RlZg",
            ] {
                assert!(!text.contains(value), "{} holds a secret value", o.name);
            }
        }
    })
    .await
}

#[tokio::test]
async fn kubeconfig_context_names_the_source_and_authenticates() {
    bounded(async {
        let (addr, api) = start(FakeApi::new()).await;
        let dir = tempfile::tempdir().unwrap();
        let path = write_kubeconfig(dir.path(), &format!("http://{addr}"));
        let opts = ClusterOptions {
            kubeconfig: Some(path.clone()),
            context: Some("kind-test".into()),
            ..ClusterOptions::default()
        };
        let (client, context) = connect(&opts).await.unwrap();
        assert_eq!(context, "kind-test");
        let loaded = list_objects(client, &context, None, opts.page_size).await;
        assert!(!loaded.objects.is_empty());
        for o in &loaded.objects {
            assert_eq!(*o.source, Source::Cluster("kind-test".into()));
        }
        let seen = api.seen();
        assert!(!seen.is_empty());
        for s in &seen {
            assert_eq!(
                s.authorization.as_deref(),
                Some(&*format!("Bearer {TOKEN}"))
            );
        }

        // Without a context, the kubeconfig's current context is used and named.
        let opts = ClusterOptions {
            kubeconfig: Some(path.clone()),
            ..ClusterOptions::default()
        };
        let (_, context) = connect(&opts).await.unwrap();
        assert_eq!(context, "kind-test");
        let opts = ClusterOptions {
            kubeconfig: Some(path.clone()),
            context: Some("staging".into()),
            ..ClusterOptions::default()
        };
        let (_, context) = connect(&opts).await.unwrap();
        assert_eq!(context, "staging");
    })
    .await
}

#[tokio::test]
async fn configuration_errors_name_the_context_or_file() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let path = write_kubeconfig(dir.path(), "http://127.0.0.1:9");
        let opts = ClusterOptions {
            kubeconfig: Some(path.clone()),
            context: Some("prod-eu".into()),
            ..ClusterOptions::default()
        };
        let err = connect(&opts).await.err().expect("unknown context");
        assert!(
            matches!(err, ClusterError::UnknownContext { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("\"prod-eu\""), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("kind-test, staging"), "{msg}");

        let missing = dir.path().join("no-such-kubeconfig");
        let opts = ClusterOptions {
            kubeconfig: Some(missing.clone()),
            ..ClusterOptions::default()
        };
        let err = connect(&opts).await.err().expect("missing file");
        assert!(
            matches!(err, ClusterError::KubeconfigUnreadable { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );

        let no_current = dir.path().join("no-current.yaml");
        std::fs::write(
            &no_current,
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
        )
        .unwrap();
        let opts = ClusterOptions {
            kubeconfig: Some(no_current.clone()),
            ..ClusterOptions::default()
        };
        let err = connect(&opts).await.err().expect("no current context");
        assert!(
            matches!(err, ClusterError::NoCurrentContext { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("--context"), "{err}");
    })
    .await
}

#[tokio::test]
async fn a_namespace_restricts_namespaced_types() {
    bounded(async {
        let (addr, api) = start(FakeApi::new()).await;
        let loaded = scan(addr, Some("prod"), 500).await;
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);

        let seen = api.seen();
        assert_eq!(seen.len(), RESOURCES.len());
        for rk in RESOURCES {
            let prefix = if rk.group.is_empty() {
                "/api/v1/".to_string()
            } else {
                format!("/apis/{}/{}/", rk.group, rk.version)
            };
            let expected = if rk.namespaced {
                format!("{prefix}namespaces/prod/{}", rk.plural)
            } else {
                format!("{prefix}{}", rk.plural)
            };
            assert!(
                seen.iter().any(|s| s.path == expected),
                "no request for {expected}: {seen:?}"
            );
        }
        // The Namespace list is narrowed to the namespace itself.
        let ns_request = &api.seen_for("namespaces")[0];
        assert_eq!(ns_request.path, "/api/v1/namespaces");
        assert_eq!(
            ns_request.param("fieldSelector"),
            Some("metadata.name=prod")
        );
        assert_eq!(names(&of_kind(&loaded, "Namespace")), ["prod"]);

        for o in &loaded.objects {
            match o.kind.as_str() {
                "Namespace" | "ClusterRole" | "ClusterRoleBinding" => {
                    assert_eq!(o.namespace, None)
                }
                _ => assert_eq!(o.namespace.as_deref(), Some("prod"), "{}", o.name),
            }
        }
        assert_eq!(
            names(&of_kind(&loaded, "Deployment")),
            ["api", "web", "worker"]
        );
        assert_eq!(of_kind(&loaded, "ClusterRoleBinding").len(), 2);
    })
    .await
}

#[tokio::test]
async fn unserved_types_are_noted_and_server_errors_reported() {
    bounded(async {
        let (_, not_found) = not_found();
        let (_, internal) = status(500, "InternalError", "etcdserver: request timed out");
        let api = FakeApi::new()
            .respond("ingresses.networking.k8s.io", 404, not_found)
            .respond("cronjobs.batch", 500, internal);
        let (addr, _api) = start(api).await;
        let loaded = scan(addr, None, 500).await;

        assert_eq!(loaded.diagnostics.len(), 2, "{:?}", loaded.diagnostics);
        let cronjobs = &loaded.diagnostics[0];
        assert_eq!(cronjobs.level, Level::Error);
        assert!(
            cronjobs
                .message
                .starts_with("cannot list cronjobs.batch: HTTP 500: etcdserver"),
            "{}",
            cronjobs.message
        );
        let ingresses = &loaded.diagnostics[1];
        assert_eq!(ingresses.level, Level::Note);
        assert_eq!(
            ingresses.message,
            "ingresses.networking.k8s.io is not served by this cluster; skipped"
        );
        // Types listed after the failures are still there.
        assert_eq!(of_kind(&loaded, "ClusterRoleBinding").len(), 2);
        assert_eq!(loaded.objects.len(), 19);
    })
    .await
}

#[tokio::test]
async fn rejected_credentials_stop_the_listing_with_one_error() {
    bounded(async {
        let (_, body) = status(401, "Unauthorized", "Unauthorized");
        let (addr, api) = start(FakeApi::new().respond("namespaces", 401, body)).await;
        let loaded = scan(addr, None, 500).await;
        assert!(loaded.objects.is_empty());
        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        let d = &loaded.diagnostics[0];
        assert_eq!(d.level, Level::Error);
        assert!(d.message.contains("unauthorized"), "{}", d.message);
        assert!(d.hint.as_deref().unwrap().contains("kind-test"));
        assert_eq!(api.seen().len(), 1);
    })
    .await
}

#[tokio::test]
async fn an_unreachable_cluster_is_one_error() {
    bounded(async {
        // A port that was just free: nothing listens there.
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let loaded = scan(addr, None, 500).await;
        assert!(loaded.objects.is_empty());
        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        let d = &loaded.diagnostics[0];
        assert_eq!(d.level, Level::Error);
        assert!(
            d.message.starts_with("cannot reach the cluster"),
            "{}",
            d.message
        );
    })
    .await
}

/// `load_cluster` builds its own runtime, so the server runs on another thread.
#[test]
fn load_cluster_blocks_on_its_own_runtime() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let api = Arc::new(FakeApi::new());
    let server_api = api.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            serve(listener, server_api).await;
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let opts = ClusterOptions {
        kubeconfig: Some(write_kubeconfig(dir.path(), &format!("http://{addr}"))),
        namespace: Some("kube-system".into()),
        page_size: 1,
        ..ClusterOptions::default()
    };
    let loaded = load_cluster(&opts).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(
        names(&of_kind(&loaded, "Pod")),
        ["coredns-668d6bf9bc-4bq7n"]
    );
    assert_eq!(
        names(&of_kind(&loaded, "Secret")),
        ["bootstrap-token-abcdef"]
    );
    assert!(loaded
        .objects
        .iter()
        .all(|o| *o.source == Source::Cluster("kind-test".into())));
    // page size 1: two cluster role bindings take two requests
    assert_eq!(api.seen_for("clusterrolebindings").len(), 2);
}
