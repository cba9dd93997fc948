//! A fake Kubernetes API server on loopback for the controller's tests and benchmark: lists,
//! watches (chunked streams of watch events, history replayed from a resourceVersion),
//! get, create, replace (resourceVersion preconditions: 409), server-side apply patches and
//! deletes, for any resource path. Faults on demand: the next watches of a resource expire
//! (a 410 ERROR event), the next patches conflict (409), and changes can be made without
//! watch events (as if they happened while a watch was down).

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Router;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

type ObjKey = (Option<String>, String);

#[derive(Default)]
struct Inner {
    rv: u64,
    uid: u64,
    objects: BTreeMap<String, BTreeMap<ObjKey, Value>>,
    /// (resourceVersion, resource, namespace, event) of every change with an event.
    history: Vec<(u64, String, Option<String>, Value)>,
    expire_watches: BTreeMap<String, usize>,
    conflict_patches: usize,
    /// (method, path) of every request.
    requests: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<Mutex<Inner>>,
    /// (resource, namespace, event JSON line); an event of type EXPIRE ends watches.
    events: broadcast::Sender<(String, Option<String>, Value)>,
    pub addr: SocketAddr,
}

/// `group/plural` of an object's apiVersion and kind, for the test helpers.
pub fn resource_of(api_version: &str, plural: &str) -> String {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    format!("{group}/{plural}")
}

struct Target {
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match *segs.first()? {
        "api" => ("", &segs[2..]),
        "apis" => (*segs.get(1)?, &segs[3.min(segs.len())..]),
        _ => return None,
    };
    let (namespace, plural, name) = if rest.len() >= 3 && rest[0] == "namespaces" {
        (Some(rest[1].to_string()), rest[2], rest.get(3))
    } else {
        (None, *rest.first()?, rest.get(1))
    };
    Some(Target {
        resource: format!("{group}/{plural}"),
        namespace,
        name: name.map(|s| s.to_string()),
    })
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message});
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn ok(code: u16, v: &Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .unwrap()
}

fn query(uri: &axum::http::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3D", "=").replace("%2F", "/")))
        .collect()
}

fn labels_match(obj: &Value, selector: Option<&String>) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    sel.split(',').all(|kv| match kv.split_once('=') {
        Some((k, v)) => obj["metadata"]["labels"][k] == v,
        None => false,
    })
}

impl FakeApi {
    pub async fn start() -> FakeApi {
        let (events, _) = broadcast::channel(1 << 16);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let api = FakeApi {
            inner: Arc::new(Mutex::new(Inner::default())),
            events,
            addr,
        };
        let app = Router::new().fallback(handle).with_state(api.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        api
    }

    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    /// Stores an object (create or update) and emits its watch event, unless `silent`.
    fn store(&self, resource: &str, mut obj: Value, silent: bool) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.rv += 1;
        let rv = inner.rv;
        let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if obj["metadata"]["uid"].is_null() {
            inner.uid += 1;
            obj["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{:012}", inner.uid));
        }
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let map = inner.objects.entry(resource.to_string()).or_default();
        let kind = if map.insert((ns.clone(), name), obj.clone()).is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        if !silent {
            let ev = json!({"type": kind, "object": obj});
            inner
                .history
                .push((rv, resource.to_string(), ns.clone(), ev.clone()));
            let _ = self.events.send((resource.to_string(), ns, ev));
        }
        obj
    }

    fn remove(&self, resource: &str, ns: Option<&str>, name: &str, silent: bool) -> Option<Value> {
        let mut inner = self.inner.lock().unwrap();
        let mut obj = inner
            .objects
            .get_mut(resource)?
            .remove(&(ns.map(str::to_string), name.to_string()))?;
        inner.rv += 1;
        let rv = inner.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if !silent {
            let ev = json!({"type": "DELETED", "object": obj});
            inner
                .history
                .push((rv, resource.to_string(), ns.map(str::to_string), ev.clone()));
            let _ = self
                .events
                .send((resource.to_string(), ns.map(str::to_string), ev));
        }
        Some(obj)
    }

    /// Creates or updates an object (resource = `group/plural`, core group `""`).
    pub fn put(&self, resource: &str, obj: Value) -> Value {
        self.store(resource, obj, false)
    }

    /// Changes an object without a watch event (lost while a watch was down).
    pub fn put_silently(&self, resource: &str, obj: Value) -> Value {
        self.store(resource, obj, true)
    }

    pub fn delete(&self, resource: &str, ns: Option<&str>, name: &str) {
        self.remove(resource, ns, name, false);
    }

    pub fn delete_silently(&self, resource: &str, ns: Option<&str>, name: &str) {
        self.remove(resource, ns, name, true);
    }

    pub fn get(&self, resource: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .objects
            .get(resource)?
            .get(&(ns.map(str::to_string), name.to_string()))
            .cloned()
    }

    pub fn list(&self, resource: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .objects
            .get(resource)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Ends the open watches of `resource` with a 410 Gone ERROR event, and answers the
    /// next `n` watches of it the same way.
    pub fn expire_watches(&self, resource: &str, n: usize) {
        self.inner
            .lock()
            .unwrap()
            .expire_watches
            .insert(resource.to_string(), n);
        let _ = self
            .events
            .send((resource.to_string(), None, json!({"type": "EXPIRE"})));
    }

    /// Answers the next `n` patches with 409 Conflict.
    pub fn conflict_next_patches(&self, n: usize) {
        self.inner.lock().unwrap().conflict_patches = n;
    }

    /// Requests seen with this method whose path ends with `suffix`.
    pub fn count(&self, method: &str, suffix: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(m, p)| m == method && p.ends_with(suffix))
            .count()
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().requests.clone()
    }
}

fn gone_event() -> Value {
    json!({"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 410, "reason": "Expired", "message": "too old resource version"}})
}

async fn handle(State(api): State<FakeApi>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let q = query(&parts.uri);
    api.inner
        .lock()
        .unwrap()
        .requests
        .push((parts.method.to_string(), path.clone()));
    let Some(t) = parse_path(&path) else {
        return status(404, "NotFound", "unknown path");
    };
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    match (parts.method.clone(), &t.name) {
        (Method::GET, None) if q.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            watch(api, t, q).await
        }
        (Method::GET, None) => {
            let inner = api.inner.lock().unwrap();
            // Pages as the API server cuts them: `limit` items, `continue` = the next offset.
            let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
            let limit: usize = q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .filter(|l| *l > 0)
                .unwrap_or(usize::MAX);
            let mut page: Vec<Value> = inner
                .objects
                .get(&t.resource)
                .map(|m| {
                    m.iter()
                        .filter(|((ns, _), _)| t.namespace.is_none() || *ns == t.namespace)
                        .map(|(_, v)| v)
                        .filter(|v| labels_match(v, q.get("labelSelector")))
                        .skip(start)
                        .take(limit.saturating_add(1))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut meta = json!({"resourceVersion": inner.rv.to_string()});
            if page.len() > limit {
                page.truncate(limit);
                meta["continue"] = json!((start + limit).to_string());
            }
            ok(
                200,
                &json!({"apiVersion": "v1", "kind": "List", "metadata": meta, "items": page}),
            )
        }
        (Method::GET, Some(name)) => match api.get(&t.resource, t.namespace.as_deref(), name) {
            Some(v) => ok(200, &v),
            None => status(404, "NotFound", &format!("{name} not found")),
        },
        (Method::POST, None) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "body");
            };
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if api
                .get(&t.resource, t.namespace.as_deref(), &name)
                .is_some()
            {
                return status(409, "AlreadyExists", "exists");
            }
            ok(201, &api.put(&t.resource, obj))
        }
        (Method::PUT, Some(name)) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "body");
            };
            let current = api.get(&t.resource, t.namespace.as_deref(), name);
            let sent = obj["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
            match current {
                Some(c)
                    if sent.is_some()
                        && c["metadata"]["resourceVersion"].as_str() != sent.as_deref() =>
                {
                    status(409, "Conflict", "the object has been modified")
                }
                _ => ok(200, &api.put(&t.resource, obj)),
            }
        }
        (Method::PATCH, Some(_)) => {
            {
                let mut inner = api.inner.lock().unwrap();
                if inner.conflict_patches > 0 {
                    inner.conflict_patches -= 1;
                    return status(
                        409,
                        "Conflict",
                        "Operation cannot be fulfilled: the object has been modified",
                    );
                }
            }
            let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "apply patch body");
            };
            if let Some(c) = api.get(
                &t.resource,
                t.namespace.as_deref(),
                t.name.as_deref().unwrap(),
            ) {
                obj["metadata"]["uid"] = c["metadata"]["uid"].clone();
            }
            ok(200, &api.put(&t.resource, obj))
        }
        (Method::DELETE, Some(name)) => {
            match api.remove(&t.resource, t.namespace.as_deref(), name, false) {
                Some(_) => ok(
                    200,
                    &json!({"apiVersion": "v1", "kind": "Status", "status": "Success"}),
                ),
                None => status(404, "NotFound", &format!("{name} not found")),
            }
        }
        _ => status(405, "MethodNotAllowed", "unsupported"),
    }
}

async fn watch(api: FakeApi, t: Target, q: BTreeMap<String, String>) -> Response {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (backlog, rx, expired) = {
        let mut inner = api.inner.lock().unwrap();
        let expired = match inner.expire_watches.get_mut(&t.resource) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let backlog: Vec<Value> = inner
            .history
            .iter()
            .filter(|(rv, r, ns, _)| {
                *rv > from && *r == t.resource && (t.namespace.is_none() || *ns == t.namespace)
            })
            .map(|(_, _, _, e)| e.clone())
            .collect();
        (backlog, api.events.subscribe(), expired)
    };
    let line = |v: &Value| Ok::<_, std::convert::Infallible>(format!("{v}\n"));
    let stream: futures::stream::BoxStream<'static, Result<String, std::convert::Infallible>> =
        if expired {
            futures::stream::iter(vec![line(&gone_event())]).boxed()
        } else {
            let resource = t.resource.clone();
            let namespace = t.namespace.clone();
            let live = tokio_stream_from(rx).filter_map(move |(r, ns, ev)| {
                let keep = r == resource && (namespace.is_none() || ns == namespace);
                async move { keep.then_some(ev) }
            });
            let live = live
                .take_while(|ev| futures::future::ready(ev["type"] != "EXPIRE"))
                .chain(futures::stream::once(async { gone_event() }))
                .map(move |ev| line(&ev));
            futures::stream::iter(backlog.iter().map(line).collect::<Vec<_>>())
                .chain(live)
                .boxed()
        };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn tokio_stream_from(
    rx: broadcast::Receiver<(String, Option<String>, Value)>,
) -> impl futures::Stream<Item = (String, Option<String>, Value)> {
    futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(item) => return Some((item, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
