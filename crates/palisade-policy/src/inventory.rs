//! The objects a policy may look at besides the one under review: namespaces (for
//! `namespaceSelector` and `namespaceObject`), param objects (`paramRef`), and Gatekeeper's
//! `data.inventory`. Offline it is the scanned set plus the policy files; in a suite it is
//! the case's `inventory`.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

use crate::request::{split_api_version, str_at};

/// Where an object came from, for messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceRef {
    pub file: String,
    /// 1-based, 0 when unknown.
    pub line: u32,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            f.write_str(&self.file)
        }
    }
}

#[derive(Clone, Debug)]
pub struct InventoryObject {
    pub value: Arc<Value>,
    pub source: Option<SourceRef>,
}

/// An immutable set of objects with the indexes engines need.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    objects: Vec<InventoryObject>,
    /// (group, kind) → indexes into `objects`.
    by_kind: HashMap<(String, String), Vec<usize>>,
    namespaces: HashMap<String, usize>,
    gatekeeper: std::sync::OnceLock<Value>,
    /// [`Inventory::gatekeeper_data`] converted for the Rego engine, built once.
    gatekeeper_rego: std::sync::OnceLock<regorus::Value>,
}

impl Inventory {
    pub fn new(objects: impl IntoIterator<Item = InventoryObject>) -> Self {
        let mut inv = Inventory::default();
        for o in objects {
            inv.push(o);
        }
        inv
    }

    /// Builds an inventory from bare JSON objects (no source).
    pub fn from_values(values: impl IntoIterator<Item = Value>) -> Self {
        Inventory::new(values.into_iter().map(|v| InventoryObject {
            value: Arc::new(v),
            source: None,
        }))
    }

    fn push(&mut self, o: InventoryObject) {
        let api_version = str_at(&o.value, &["apiVersion"]).unwrap_or("");
        let kind = str_at(&o.value, &["kind"]).unwrap_or("").to_string();
        let (group, _) = split_api_version(api_version);
        let i = self.objects.len();
        if group.is_empty() && kind == "Namespace" {
            if let Some(name) = str_at(&o.value, &["metadata", "name"]) {
                self.namespaces.entry(name.to_string()).or_insert(i);
            }
        }
        self.by_kind
            .entry((group.to_string(), kind))
            .or_default()
            .push(i);
        self.objects.push(o);
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn objects(&self) -> &[InventoryObject] {
        &self.objects
    }

    /// The `Namespace` object called `name`, if the inventory has it.
    pub fn namespace(&self, name: &str) -> Option<&Value> {
        self.namespaces.get(name).map(|&i| &*self.objects[i].value)
    }

    /// All objects of a group and kind (any version).
    pub fn of_kind<'a>(
        &'a self,
        group: &str,
        kind: &str,
    ) -> impl Iterator<Item = &'a InventoryObject> {
        self.by_kind
            .get(&(group.to_string(), kind.to_string()))
            .into_iter()
            .flatten()
            .map(|&i| &self.objects[i])
    }

    /// One object by group, kind, namespace (`None` for cluster-scoped) and name.
    pub fn get(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&InventoryObject> {
        self.of_kind(group, kind).find(|o| {
            str_at(&o.value, &["metadata", "name"]) == Some(name)
                && str_at(&o.value, &["metadata", "namespace"]).filter(|n| !n.is_empty())
                    == namespace
        })
    }

    /// Gatekeeper's `data.inventory`: `cluster[apiVersion][kind][name]` and
    /// `namespace[ns][apiVersion][kind][name]`. Built once, on first use.
    pub fn gatekeeper_data(&self) -> &Value {
        self.gatekeeper.get_or_init(|| {
            let mut cluster = Map::new();
            let mut namespaced = Map::new();
            for o in &self.objects {
                let v = &*o.value;
                let (Some(api_version), Some(kind), Some(name)) = (
                    str_at(v, &["apiVersion"]),
                    str_at(v, &["kind"]),
                    str_at(v, &["metadata", "name"]),
                ) else {
                    continue;
                };
                let root = match str_at(v, &["metadata", "namespace"]).filter(|n| !n.is_empty()) {
                    Some(ns) => obj_entry(&mut namespaced, ns),
                    None => &mut cluster,
                };
                let by_kind = obj_entry(obj_entry(root, api_version), kind);
                by_kind.insert(name.to_string(), v.clone());
            }
            let mut m = Map::new();
            m.insert("cluster".into(), Value::Object(cluster));
            m.insert("namespace".into(), Value::Object(namespaced));
            Value::Object(m)
        })
    }
}

impl Inventory {
    /// [`Inventory::gatekeeper_data`] as a Rego value (converted once: a large inventory
    /// takes milliseconds to convert).
    pub(crate) fn gatekeeper_rego_data(&self) -> &regorus::Value {
        self.gatekeeper_rego
            .get_or_init(|| regorus::Value::from(self.gatekeeper_data().clone()))
    }
}

fn obj_entry<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexes_and_gatekeeper_shape() {
        let inv = Inventory::from_values([
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"prod","labels":{"env":"prod"}}}),
            json!({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"a","namespace":"prod"}}),
        ]);
        assert_eq!(
            inv.namespace("prod").unwrap()["metadata"]["labels"]["env"],
            "prod"
        );
        assert!(inv.namespace("dev").is_none());
        assert!(inv
            .get("networking.k8s.io", "Ingress", Some("prod"), "a")
            .is_some());
        assert!(inv.get("networking.k8s.io", "Ingress", None, "a").is_none());
        let d = inv.gatekeeper_data();
        assert_eq!(
            d["cluster"]["v1"]["Namespace"]["prod"]["metadata"]["name"],
            "prod"
        );
        assert_eq!(
            d["namespace"]["prod"]["networking.k8s.io/v1"]["Ingress"]["a"]["kind"],
            "Ingress"
        );
    }
}
