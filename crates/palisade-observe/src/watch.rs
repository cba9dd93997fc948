//! Live attribution: the cluster's Pods and their controllers (to name a pod after its top
//! controller, as a snapshot does), Services, Nodes, Namespaces and NetworkPolicies kept
//! current by kube::runtime watchers, as an alternative to a snapshot file.
//!
//! A background thread runs one watcher per kind on its own runtime and keeps the objects
//! (the same `Object`s a snapshot file gives). [`LiveAttributed`] attributes records with an
//! [`Attribution`] built from them, rebuilt when the objects changed and at most once per
//! `min_rebuild` (the network model is rebuilt whole). A watch that fails is retried by the
//! watcher with a growing pause; its error is kept for the caller to report. A kind the
//! server does not serve (404) or the identity may not list (403) is reported and left out.

use crate::attribute::Attribution;
use crate::flow::Sink;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Node as K8sNode, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::runtime::watcher;
use kube::{Api, Resource};
use palisade_cluster::watch::{pump, WatchEvent};
use palisade_cluster::ClusterOptions;
use palisade_model::{Node, Object, Source};
use palisade_netpol::{BuildOptions, Network};
use palisade_store::{DnsRecord, FlowRecord};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The watched kinds, in the order of [`State`]'s arrays.
pub const KINDS: [&str; N] = [
    "Pod",
    "ReplicaSet",
    "Service",
    "Node",
    "Namespace",
    "NetworkPolicy",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
];
const N: usize = 11;

type Objects = BTreeMap<(String, String), Object>;

#[derive(Default)]
struct State {
    objects: [Objects; N],
    /// Objects of a (re)list in progress.
    relist: [Option<Objects>; N],
    synced: [bool; N],
    version: u64,
    errors: Vec<String>,
    /// Set when the watch thread ended (connection failure at start).
    ended: Option<String>,
}

/// The cluster as the watchers see it.
#[derive(Clone)]
pub struct ClusterView {
    shared: Arc<(Mutex<State>, Condvar)>,
    pub context: String,
}

fn lock(shared: &(Mutex<State>, Condvar)) -> std::sync::MutexGuard<'_, State> {
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClusterView {
    /// Connects (palisade-cluster's client: kubeconfig, context, in-cluster) and starts the
    /// watches on a background thread.
    pub fn start(opts: &ClusterOptions) -> Result<ClusterView, String> {
        let shared: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let opts = opts.clone();
        let bg = shared.clone();
        std::thread::Builder::new()
            .name("palisade-watch".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(format!("starting the watch runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (client, context) = match palisade_cluster::connect(&opts).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(context.clone()));
                    let source = Arc::new(Source::Cluster(context));
                    futures::join!(
                        watch(Api::<Pod>::all(client.clone()), 0, &bg, &source),
                        watch(Api::<ReplicaSet>::all(client.clone()), 1, &bg, &source),
                        watch(Api::<Service>::all(client.clone()), 2, &bg, &source),
                        watch(Api::<K8sNode>::all(client.clone()), 3, &bg, &source),
                        watch(Api::<Namespace>::all(client.clone()), 4, &bg, &source),
                        watch(Api::<NetworkPolicy>::all(client.clone()), 5, &bg, &source),
                        watch(Api::<Deployment>::all(client.clone()), 6, &bg, &source),
                        watch(Api::<StatefulSet>::all(client.clone()), 7, &bg, &source),
                        watch(Api::<DaemonSet>::all(client.clone()), 8, &bg, &source),
                        watch(Api::<Job>::all(client.clone()), 9, &bg, &source),
                        watch(Api::<CronJob>::all(client), 10, &bg, &source),
                    );
                    lock(&bg).ended = Some("all watches ended".into());
                    bg.1.notify_all();
                });
            })
            .map_err(|e| format!("starting the watch thread: {e}"))?;
        let context = rx
            .recv()
            .map_err(|_| "the watch thread ended before connecting".to_string())??;
        Ok(ClusterView { shared, context })
    }

    /// Waits until every kind has been listed once (or left out). `Err` lists what is
    /// missing and the errors seen.
    pub fn wait_synced(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.shared);
        loop {
            if st.synced.iter().all(|s| *s) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline || st.ended.is_some() {
                let missing: Vec<&str> = KINDS
                    .iter()
                    .zip(st.synced)
                    .filter(|(_, s)| !s)
                    .map(|(k, _)| *k)
                    .collect();
                return Err(format!(
                    "cluster {}: {} not listed within {} s{}",
                    self.context,
                    missing.join(", "),
                    timeout.as_secs(),
                    if st.errors.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", st.errors.join("; "))
                    }
                ));
            }
            st = self
                .shared
                .1
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Bumped on every change.
    pub fn version(&self) -> u64 {
        lock(&self.shared).version
    }

    /// Waits until the version differs from `seen` (or the timeout passes); the new version.
    pub fn wait_change(&self, seen: u64, timeout: Duration) -> u64 {
        let st = lock(&self.shared);
        let (st, _) = self
            .shared
            .1
            .wait_timeout_while(st, timeout, |s| s.version == seen)
            .unwrap_or_else(|e| e.into_inner());
        st.version
    }

    /// The current objects and their version.
    pub fn objects(&self) -> (Vec<Object>, u64) {
        let st = lock(&self.shared);
        let objects = st
            .objects
            .iter()
            .flat_map(|m| m.values().cloned())
            .collect();
        (objects, st.version)
    }

    /// Watch errors since the last call.
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.shared).errors)
    }
}

fn to_object(v: &serde_json::Value, source: &Arc<Source>) -> Option<(String, String, Object)> {
    let obj = Object::from_node(Node::from_json(v), source.clone(), 0, None)?;
    Some((
        obj.namespace.clone().unwrap_or_default(),
        obj.name.clone(),
        obj,
    ))
}

/// Keeps one kind's objects current from the one watch loop (`palisade_cluster::watch`).
async fn watch<K>(
    api: Api<K>,
    idx: usize,
    shared: &Arc<(Mutex<State>, Condvar)>,
    source: &Arc<Source>,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
    K: Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<(usize, WatchEvent)>(1024);
    let producer = async move {
        let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
        let to_json = |o: K| serde_json::to_value(o).unwrap_or(serde_json::Value::Null);
        pump(&mut stream, to_json, &tx, idx).await;
    };
    let consumer = async move {
        while let Some((_, ev)) = rx.recv().await {
            let mut st = lock(shared);
            match ev {
                WatchEvent::Init => st.relist[idx] = Some(Objects::new()),
                WatchEvent::InitApply(v) => {
                    if let Some((ns, name, obj)) = to_object(&v, source) {
                        st.relist[idx]
                            .get_or_insert_with(Objects::new)
                            .insert((ns, name), obj);
                    }
                }
                WatchEvent::InitDone => {
                    // A relist replaces the kind's objects: what was deleted meanwhile is gone.
                    st.objects[idx] = st.relist[idx].take().unwrap_or_default();
                    st.synced[idx] = true;
                    st.version += 1;
                }
                WatchEvent::Apply(v) => {
                    if let Some((ns, name, obj)) = to_object(&v, source) {
                        st.objects[idx].insert((ns, name), obj);
                        st.version += 1;
                    }
                }
                WatchEvent::Delete(v) => {
                    if let Some((ns, name, _)) = to_object(&v, source) {
                        st.objects[idx].remove(&(ns, name));
                        st.version += 1;
                    }
                }
                WatchEvent::Error(code, message) => {
                    st.errors
                        .push(format!("watching {}s: {message}", KINDS[idx]));
                    if code == 403 || code == 404 {
                        // Not listable: left out of attribution, reported once; dropping the
                        // receiver ends the watch.
                        st.synced[idx] = true;
                        drop(st);
                        shared.1.notify_all();
                        return;
                    }
                }
            }
            drop(st);
            shared.1.notify_all();
        }
    };
    tokio::join!(producer, consumer);
}

self_cell::self_cell!(
    /// A network model and the attribution that borrows it.
    struct Built {
        owner: Network,
        #[covariant]
        dependent: Attribution,
    }
);

/// Attributes records with the cluster as currently watched, on their way to another sink.
pub struct LiveAttributed<'s> {
    view: ClusterView,
    built: Built,
    version: u64,
    built_at: Instant,
    /// The least time between two rebuilds of the model.
    pub min_rebuild: Duration,
    pub inner: &'s mut dyn Sink,
    /// Rebuilds done (the first included).
    pub rebuilds: u64,
}

fn build(view: &ClusterView) -> (Built, u64) {
    let (objects, version) = view.objects();
    let net = Network::build(&objects, &BuildOptions::default());
    let built = Built::new(net, |net| Attribution::new(&objects, net));
    (built, version)
}

impl<'s> LiveAttributed<'s> {
    pub fn new(view: ClusterView, inner: &'s mut dyn Sink) -> LiveAttributed<'s> {
        let (built, version) = build(&view);
        LiveAttributed {
            view,
            built,
            version,
            built_at: Instant::now(),
            min_rebuild: Duration::from_secs(1),
            inner,
            rebuilds: 1,
        }
    }

    fn refresh(&mut self) {
        if self.view.version() != self.version && self.built_at.elapsed() >= self.min_rebuild {
            let (built, version) = build(&self.view);
            self.built = built;
            self.version = version;
            self.built_at = Instant::now();
            self.rebuilds += 1;
        }
    }
}

impl Sink for LiveAttributed<'_> {
    fn flow(&mut self, mut r: FlowRecord) {
        self.refresh();
        self.built.borrow_dependent().flow(&mut r);
        self.inner.flow(r);
    }
    fn dns(&mut self, mut r: DnsRecord) {
        self.refresh();
        self.built.borrow_dependent().dns(&mut r);
        self.inner.dns(r);
    }
}
