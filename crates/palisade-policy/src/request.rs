//! The admission-shaped request every engine evaluates, offline or in the webhook.
//!
//! Field names and JSON shape follow `admission.k8s.io/v1` `AdmissionRequest`, so
//! [`AdmissionRequest::to_json`] is exactly what CEL's `request` variable and Gatekeeper's
//! `input.review` see.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::resources;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

impl GroupVersionKind {
    /// Splits an `apiVersion` (`apps/v1`, `v1`) and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = split_api_version(api_version);
        GroupVersionKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionResource {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub resource: String,
}

/// `group/version` → (`group`, `version`); the core group is `""`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    #[default]
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    /// Parses `CREATE`, `create`, `Create`.
    pub fn parse(s: &str) -> Option<Operation> {
        match s.to_ascii_uppercase().as_str() {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }
}

/// `authentication.k8s.io/v1` `UserInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The identity offline evaluations run as when the user does not name one.
    pub fn offline() -> Self {
        UserInfo {
            username: "palisade:offline".into(),
            uid: String::new(),
            groups: vec!["system:authenticated".into()],
            extra: BTreeMap::new(),
        }
    }
}

/// `admission.k8s.io/v1` `AdmissionRequest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    #[serde(default)]
    pub uid: String,
    pub kind: GroupVersionKind,
    pub resource: GroupVersionResource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub operation: Operation,
    #[serde(default)]
    pub user_info: UserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

impl AdmissionRequest {
    /// The request an API server would send when `object` is created (or, for
    /// `Operation::Update`, updated from `old_object`). Kind, resource, name and namespace
    /// are derived from the object; the resource comes from [`resources::lookup`].
    pub fn for_object(
        object: Option<Value>,
        old_object: Option<Value>,
        operation: Operation,
        user_info: UserInfo,
    ) -> Self {
        let subject = object.as_ref().or(old_object.as_ref());
        let api_version = subject
            .and_then(|o| str_at(o, &["apiVersion"]))
            .unwrap_or("");
        let kind_name = subject.and_then(|o| str_at(o, &["kind"])).unwrap_or("");
        let kind = GroupVersionKind::from_api_version(api_version, kind_name);
        let info = resources::lookup(&kind.group, &kind.version, &kind.kind);
        let name = subject
            .and_then(|o| {
                str_at(o, &["metadata", "name"])
                    .or_else(|| str_at(o, &["metadata", "generateName"]))
            })
            .unwrap_or("")
            .to_string();
        let namespace = if info.namespaced {
            subject
                .and_then(|o| str_at(o, &["metadata", "namespace"]))
                .map(str::to_string)
                .or_else(|| Some("default".to_string()))
        } else {
            None
        };
        AdmissionRequest {
            uid: String::new(),
            resource: info.gvr(&kind.version),
            request_kind: Some(kind.clone()),
            request_resource: Some(info.gvr(&kind.version)),
            kind,
            sub_resource: None,
            request_sub_resource: None,
            name,
            namespace,
            operation,
            user_info,
            object,
            old_object,
            dry_run: Some(false),
            options: None,
        }
    }

    /// The object the request is about: `object`, or `oldObject` for DELETE.
    pub fn subject(&self) -> Option<&Value> {
        self.object.as_ref().or(self.old_object.as_ref())
    }

    /// Whether the resource is namespaced (by the request's namespace field).
    pub fn is_namespaced(&self) -> bool {
        self.namespace.as_deref().is_some_and(|n| !n.is_empty())
    }

    /// [`AdmissionRequest::to_json`] without `object` and `oldObject`, built without copying
    /// them (CEL's `request` variable does not expose them).
    pub fn to_json_without_objects(&self) -> Value {
        let view = AdmissionRequest {
            uid: String::new(),
            kind: GroupVersionKind::default(),
            resource: GroupVersionResource::default(),
            sub_resource: None,
            request_kind: None,
            request_resource: None,
            request_sub_resource: None,
            name: String::new(),
            namespace: None,
            operation: self.operation,
            user_info: UserInfo::default(),
            object: None,
            old_object: None,
            dry_run: None,
            options: None,
        };
        let mut v = serde_json::to_value(&view).unwrap_or(Value::Object(Map::new()));
        if let Value::Object(m) = &mut v {
            let mut put = |k: &str, x: Option<Value>| match x {
                Some(x) => {
                    m.insert(k.to_string(), x);
                }
                None => {
                    m.remove(k);
                }
            };
            let j = |x: &dyn erased::Ser| x.json();
            put("uid", Some(Value::String(self.uid.clone())));
            put("kind", Some(j(&self.kind)));
            put("resource", Some(j(&self.resource)));
            put("subResource", self.sub_resource.clone().map(Value::String));
            put("requestKind", self.request_kind.as_ref().map(|x| j(x)));
            put(
                "requestResource",
                self.request_resource.as_ref().map(|x| j(x)),
            );
            put(
                "requestSubResource",
                self.request_sub_resource.clone().map(Value::String),
            );
            put("name", Some(Value::String(self.name.clone())));
            put("namespace", self.namespace.clone().map(Value::String));
            put("userInfo", Some(j(&self.user_info)));
            put("dryRun", self.dry_run.map(Value::Bool));
            put("options", self.options.clone());
        }
        v
    }

    /// The `admission.k8s.io/v1` JSON shape.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Object(Map::new()))
    }
}

mod erased {
    /// Serializes small request parts to JSON without naming their types.
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// A string at a path of object keys.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(*k)?;
    }
    cur.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_for_deployment_has_resource_and_namespace() {
        let dep = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}});
        let r =
            AdmissionRequest::for_object(Some(dep), None, Operation::Create, UserInfo::offline());
        assert_eq!(r.kind.group, "apps");
        assert_eq!(r.resource.resource, "deployments");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        let j = r.to_json();
        assert_eq!(j["operation"], "CREATE");
        assert_eq!(j["userInfo"]["username"], "palisade:offline");
        assert_eq!(j["requestKind"]["kind"], "Deployment");
    }

    #[test]
    fn json_without_objects_matches_to_json() {
        let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"}});
        let mut r = AdmissionRequest::for_object(
            Some(pod.clone()),
            Some(pod),
            Operation::Update,
            UserInfo::offline(),
        );
        r.sub_resource = Some("status".into());
        r.options = Some(json!({"kind": "UpdateOptions"}));
        let mut full = r.to_json();
        let m = full.as_object_mut().unwrap();
        m.remove("object");
        m.remove("oldObject");
        assert_eq!(r.to_json_without_objects(), full);
        let bare = AdmissionRequest::default();
        let mut full = bare.to_json();
        full.as_object_mut().unwrap().remove("object");
        assert_eq!(bare.to_json_without_objects(), full);
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace() {
        let ns = json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}});
        let r =
            AdmissionRequest::for_object(Some(ns), None, Operation::Create, UserInfo::offline());
        assert_eq!(r.namespace, None);
        assert_eq!(r.resource.resource, "namespaces");
        assert!(r.to_json().get("namespace").is_none());
    }
}
