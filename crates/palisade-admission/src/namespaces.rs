//! Namespace objects for Pod Security labels and `namespaceObject`, without an informer:
//! the API server's Namespaces are listed at start and every `refresh`, and a namespace not
//! in the cache is fetched once on first use (with a short timeout). Without API access the
//! cache holds only what the configuration's files give.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a request may wait for a namespace GET before the defaults are used.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);

pub struct NamespaceCache {
    map: RwLock<HashMap<String, Arc<Value>>>,
    api: Option<Api<Namespace>>,
    synced: AtomicBool,
}

impl std::fmt::Debug for NamespaceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceCache")
            .field("api", &self.api.is_some())
            .field("len", &self.len())
            .finish()
    }
}

impl NamespaceCache {
    /// A cache with no API behind it.
    pub fn offline() -> NamespaceCache {
        NamespaceCache {
            map: RwLock::new(HashMap::new()),
            api: None,
            synced: AtomicBool::new(true),
        }
    }

    /// A cache backed by the API server `client` talks to. Not synced until the first
    /// successful [`NamespaceCache::refresh`].
    pub fn with_client(client: kube::Client) -> NamespaceCache {
        NamespaceCache {
            map: RwLock::new(HashMap::new()),
            api: Some(Api::all(client)),
            synced: AtomicBool::new(false),
        }
    }

    pub fn has_api(&self) -> bool {
        self.api.is_some()
    }

    /// Whether the cache has been filled once (always true offline).
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lists every Namespace and replaces the cache. Returns how many there are.
    pub async fn refresh(&self) -> Result<usize, kube::Error> {
        let Some(api) = &self.api else {
            return Ok(self.len());
        };
        let list = api.list(&ListParams::default()).await?;
        let mut map = HashMap::with_capacity(list.items.len());
        for ns in list.items {
            if let (Some(name), Ok(v)) = (ns.metadata.name.clone(), serde_json::to_value(&ns)) {
                map.insert(name, Arc::new(with_type_meta(v)));
            }
        }
        let n = map.len();
        if let Ok(mut m) = self.map.write() {
            *m = map;
        }
        self.synced.store(true, Ordering::Release);
        Ok(n)
    }

    /// The cached namespace, or (with an API) a GET of it, cached when found.
    pub async fn lookup(&self, name: &str) -> Option<Arc<Value>> {
        if let Some(v) = self.get(name) {
            return Some(v);
        }
        let api = self.api.as_ref()?;
        let got = tokio::time::timeout(LOOKUP_TIMEOUT, api.get_opt(name)).await;
        match got {
            Ok(Ok(Some(ns))) => {
                let v = Arc::new(with_type_meta(serde_json::to_value(&ns).ok()?));
                if let Ok(mut m) = self.map.write() {
                    m.insert(name.to_string(), v.clone());
                }
                Some(v)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(namespace = name, error = %e, "namespace lookup failed");
                None
            }
            Err(_) => {
                tracing::warn!(namespace = name, "namespace lookup timed out");
                None
            }
        }
    }

    /// The cached namespace only.
    pub fn get(&self, name: &str) -> Option<Arc<Value>> {
        self.map.read().ok()?.get(name).cloned()
    }

    pub fn insert(&self, name: &str, v: Value) {
        if let Ok(mut m) = self.map.write() {
            m.insert(name.to_string(), Arc::new(v));
        }
    }
}

/// Typed objects serialize without apiVersion/kind; policies expect them.
fn with_type_meta(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.entry("apiVersion").or_insert_with(|| "v1".into());
        m.entry("kind").or_insert_with(|| "Namespace".into());
    }
    v
}
