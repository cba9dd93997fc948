//! Param objects for a binding (`paramKind` + `paramRef`), looked up in the review's
//! inventory as `generic.CollectParams` looks them up in the API server's informers.

use std::sync::Arc;

use palisade_model::{LabelSelector, Node};
use serde_json::Value;

use crate::inventory::Inventory;
use crate::request::{split_api_version, str_at};
use crate::resources;

#[derive(Clone, Debug)]
pub struct ParamKind {
    pub api_version: String,
    pub kind: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotFoundAction {
    /// No param object: the binding validates nothing (the default when unset).
    #[default]
    Allow,
    /// No param object: a configuration error, handled by the failure policy.
    Deny,
}

#[derive(Clone, Debug, Default)]
pub struct ParamRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<LabelSelector>,
    pub not_found: NotFoundAction,
}

/// Whether a param kind is namespaced: the built-in table, else a CustomResourceDefinition
/// in the inventory, else (offline, no discovery) namespaced exactly when some object of
/// the kind in the inventory has a namespace.
pub fn is_namespaced(kind: &ParamKind, inventory: &Inventory) -> bool {
    let (group, version) = split_api_version(&kind.api_version);
    let info = resources::lookup(group, version, &kind.kind);
    if info.known {
        return info.namespaced;
    }
    for crd in inventory.of_kind("apiextensions.k8s.io", "CustomResourceDefinition") {
        let v = &*crd.value;
        if str_at(v, &["spec", "group"]) == Some(group)
            && str_at(v, &["spec", "names", "kind"]) == Some(&kind.kind)
        {
            if let Some(scope) = str_at(v, &["spec", "scope"]) {
                return scope == "Namespaced";
            }
        }
    }
    inventory
        .of_kind(group, &kind.kind)
        .any(|o| str_at(&o.value, &["metadata", "namespace"]).is_some_and(|n| !n.is_empty()))
}

/// The params to evaluate a binding with: `[None]` when the policy or binding uses none;
/// possibly empty (nothing to evaluate) when none is found and the action is `Allow`.
/// `Err` is a configuration error, in Kubernetes' words.
pub fn collect(
    kind: Option<&ParamKind>,
    param_ref: Option<&ParamRef>,
    request_namespace: &str,
    inventory: &Inventory,
) -> Result<Vec<Option<Arc<Value>>>, String> {
    let (Some(kind), Some(pr)) = (kind, param_ref) else {
        return Ok(vec![None]);
    };
    let namespaced = is_namespaced(kind, inventory);
    if pr.namespace.as_deref().is_some_and(|n| !n.is_empty()) && !namespaced {
        return Err(
            "paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into(),
        );
    }
    let namespace = if namespaced {
        let ns = pr
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(request_namespace);
        if ns.is_empty() {
            return Err("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources".into());
        }
        Some(ns)
    } else {
        None
    };
    let (group, _) = split_api_version(&kind.api_version);
    // A namespaced object read from a file without a namespace is where `kubectl apply`
    // would put it: `default`.
    let in_scope = |v: &Value| match namespace {
        Some(ns) => {
            str_at(v, &["metadata", "namespace"])
                .filter(|n| !n.is_empty())
                .unwrap_or("default")
                == ns
        }
        None => true,
    };
    let mut params: Vec<Arc<Value>> = Vec::new();
    match (&pr.name, &pr.selector) {
        (Some(_), Some(_)) => {
            return Err("paramRef.name and paramRef.selector are mutually exclusive".into())
        }
        (Some(name), None) => {
            if let Some(o) = inventory.of_kind(group, &kind.kind).find(|o| {
                str_at(&o.value, &["metadata", "name"]) == Some(name.as_str()) && in_scope(&o.value)
            }) {
                params.push(o.value.clone());
            }
        }
        (None, Some(selector)) => {
            for o in inventory.of_kind(group, &kind.kind) {
                if !in_scope(&o.value) {
                    continue;
                }
                let labels = o
                    .value
                    .get("metadata")
                    .and_then(|m| m.get("labels"))
                    .map(Node::from_json)
                    .unwrap_or_else(|| Node::from_json(&Value::Object(Default::default())));
                if selector.matches(&labels) {
                    params.push(o.value.clone());
                }
            }
            params.sort_by(|a, b| {
                let key = |v: &Value| {
                    (
                        str_at(v, &["metadata", "namespace"])
                            .unwrap_or("")
                            .to_string(),
                        str_at(v, &["metadata", "name"]).unwrap_or("").to_string(),
                    )
                };
                key(a).cmp(&key(b))
            });
        }
        (None, None) => return Err("one of name or selector must be provided".into()),
    }
    if params.is_empty() && pr.not_found == NotFoundAction::Deny {
        return Err(
            "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
        );
    }
    Ok(params.into_iter().map(Some).collect())
}
