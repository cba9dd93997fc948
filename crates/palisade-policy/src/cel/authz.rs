//! The Kubernetes `authorizer` CEL library (`k8s.io/apiserver/pkg/cel/library/authz.go`):
//!
//! ```text
//! authorizer.group('apps').resource('deployments').subresource('scale')
//!           .namespace('prod').name('web').check('update').allowed()
//! authorizer.path('/healthz').check('get').reason()
//! authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('create').errored()
//! authorizer.requestResource.check('delete').error()
//! authorizer.group('').resource('pods').fieldSelector('spec.nodeName=n').labelSelector('a=b')
//! ```
//!
//! The values are opaque; `check(verb)` asks the [`crate::Authorizer`] the evaluation was
//! given, for the request's user (or the service account named by `serviceAccount`).
//! Answers are cached per evaluation, as the API server's caching authorizer does. Field
//! and label selectors are carried but not passed on: [`crate::AccessCheck`] has no place
//! for them (RBAC ignores them too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube_cel::cel::common::types::{CelMap, CelString};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::context::VariableResolver;
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{Context, ExecutionError, FunctionContext, ResolveResult, Value};
use serde::{Deserialize, Serialize};

use super::functions::{arg, no_overload};
use super::runtime::plain_error;
use crate::authorizer::{AccessCheck, Authorizer, AuthzDecision};
use crate::request::UserInfo;

const AUTHZ_PREFIX: &str = "@authz:";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    username: String,
    groups: Vec<String>,
}

/// `authorizer`: the request's user, or a service account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AuthorizerVal {
    identity: Option<Identity>,
}

impl Opaque for AuthorizerVal {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.Authorizer"
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PathCheckVal {
    identity: Option<Identity>,
    path: String,
}

impl Opaque for PathCheckVal {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.PathCheck"
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct GroupCheckVal {
    identity: Option<Identity>,
    group: String,
}

impl Opaque for GroupCheckVal {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.GroupCheck"
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ResourceCheckVal {
    identity: Option<Identity>,
    group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
    field_selector: String,
    label_selector: String,
}

impl Opaque for ResourceCheckVal {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.ResourceCheck"
    }
}

/// What `check(verb)` sends to the resolver.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    identity: Option<Identity>,
    group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
    verb: String,
    path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct DecisionVal {
    decision: AuthzDecision,
    reason: String,
    error: Option<String>,
}

impl Opaque for DecisionVal {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.Decision"
    }
}

/// The `authorizer` variable's value.
pub(crate) fn authorizer_value() -> Value {
    Value::Opaque(Arc::new(AuthorizerVal::default()))
}

pub(crate) fn register(ctx: &mut Context<'_>) {
    ctx.add_function("path", path);
    ctx.add_function("group", group);
    ctx.add_function("serviceAccount", service_account);
    ctx.add_function("resource", resource);
    ctx.add_function("subresource", |f: &FunctionContext| {
        set_field(f, "subresource", |c, v| c.subresource = v)
    });
    ctx.add_function("namespace", |f: &FunctionContext| {
        set_field(f, "namespace", |c, v| c.namespace = v)
    });
    ctx.add_function("name", |f: &FunctionContext| {
        set_field(f, "name", |c, v| c.name = v)
    });
    ctx.add_function("fieldSelector", |f: &FunctionContext| {
        set_field(f, "fieldSelector", |c, v| c.field_selector = v)
    });
    ctx.add_function("labelSelector", |f: &FunctionContext| {
        set_field(f, "labelSelector", |c, v| c.label_selector = v)
    });
    ctx.add_function("check", check);
    ctx.add_function("allowed", |f: &FunctionContext| {
        decision(f, "allowed", |d| {
            Value::Bool(d.decision == AuthzDecision::Allow)
        })
    });
    ctx.add_function("reason", |f: &FunctionContext| {
        decision(f, "reason", |d| Value::String(Arc::new(d.reason.clone())))
    });
    ctx.add_function("errored", |f: &FunctionContext| {
        decision(f, "errored", |d| Value::Bool(d.error.is_some()))
    });
    ctx.add_function("error", |f: &FunctionContext| {
        decision(f, "error", |d| {
            Value::String(Arc::new(d.error.clone().unwrap_or_default()))
        })
    });
    ctx.add_function("@requestResource", request_resource);
}

fn this_opaque<T: Opaque + Clone>(ftx: &FunctionContext, name: &str) -> Result<T, ExecutionError> {
    if let Some(Value::Opaque(o)) = &ftx.this {
        if let Some(v) = o.downcast_ref::<T>() {
            return Ok(v.clone());
        }
    }
    Err(match &ftx.this {
        Some(v) => {
            let b: Box<dyn Val> = v.clone().try_into()?;
            no_overload(name, &[b.as_ref()])
        }
        None => ExecutionError::missing_argument_or_target(),
    })
}

fn string_arg(ftx: &FunctionContext, i: usize, name: &str) -> Result<String, ExecutionError> {
    let v = arg(ftx, i)?;
    match v.downcast_ref::<CelString>() {
        Some(s) => Ok(s.inner().to_string()),
        None => Err(no_overload(name, &[v.as_ref()])),
    }
}

fn path(ftx: &FunctionContext) -> ResolveResult {
    let a: AuthorizerVal = this_opaque(ftx, "path")?;
    let p = string_arg(ftx, 0, "path")?;
    if p.trim().is_empty() {
        return Err(plain_error("path must not be empty"));
    }
    Ok(Value::Opaque(Arc::new(PathCheckVal {
        identity: a.identity,
        path: p,
    })))
}

fn group(ftx: &FunctionContext) -> ResolveResult {
    let a: AuthorizerVal = this_opaque(ftx, "group")?;
    Ok(Value::Opaque(Arc::new(GroupCheckVal {
        identity: a.identity,
        group: string_arg(ftx, 0, "group")?,
    })))
}

fn service_account(ftx: &FunctionContext) -> ResolveResult {
    let _: AuthorizerVal = this_opaque(ftx, "serviceAccount")?;
    let namespace = string_arg(ftx, 0, "serviceAccount")?;
    let name = string_arg(ftx, 1, "serviceAccount")?;
    if !is_dns1123_subdomain(&name) {
        return Err(plain_error("Invalid service account name"));
    }
    if !is_dns1123_label(&namespace) {
        return Err(plain_error("Invalid service account namespace"));
    }
    Ok(Value::Opaque(Arc::new(AuthorizerVal {
        identity: Some(Identity {
            username: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
        }),
    })))
}

fn resource(ftx: &FunctionContext) -> ResolveResult {
    let g: GroupCheckVal = this_opaque(ftx, "resource")?;
    let r = string_arg(ftx, 0, "resource")?;
    if r.trim().is_empty() {
        return Err(plain_error("resource must not be empty"));
    }
    Ok(Value::Opaque(Arc::new(ResourceCheckVal {
        identity: g.identity,
        group: g.group,
        resource: r,
        ..Default::default()
    })))
}

fn set_field(
    ftx: &FunctionContext,
    name: &str,
    set: impl Fn(&mut ResourceCheckVal, String),
) -> ResolveResult {
    let mut c: ResourceCheckVal = this_opaque(ftx, name)?;
    set(&mut c, string_arg(ftx, 0, name)?);
    Ok(Value::Opaque(Arc::new(c)))
}

fn check(ftx: &FunctionContext) -> ResolveResult {
    let verb = string_arg(ftx, 0, "check")?;
    let req = match &ftx.this {
        Some(Value::Opaque(o)) if o.downcast_ref::<ResourceCheckVal>().is_some() => {
            let c = o
                .downcast_ref::<ResourceCheckVal>()
                .cloned()
                .unwrap_or_default();
            Request {
                identity: c.identity,
                group: c.group,
                resource: c.resource,
                subresource: c.subresource,
                namespace: c.namespace,
                name: c.name,
                verb,
                path: None,
            }
        }
        _ => {
            let p: PathCheckVal = this_opaque(ftx, "check")?;
            Request {
                identity: p.identity,
                group: String::new(),
                resource: String::new(),
                subresource: String::new(),
                namespace: String::new(),
                name: String::new(),
                verb,
                path: Some(p.path),
            }
        }
    };
    let key = format!(
        "{AUTHZ_PREFIX}{}",
        serde_json::to_string(&req).unwrap_or_default()
    );
    match ftx
        .ptx
        .get_variable(&key)
        .map(|v| Value::try_from(v.as_ref()))
    {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(e),
        None => Err(plain_error("no authorizer is available to this expression")),
    }
}

fn decision(ftx: &FunctionContext, name: &str, f: impl Fn(&DecisionVal) -> Value) -> ResolveResult {
    let d: DecisionVal = this_opaque(ftx, name)?;
    Ok(f(&d))
}

/// `authorizer.requestResource`: a resource check for the request's own resource.
fn request_resource(ftx: &FunctionContext) -> ResolveResult {
    let request = ftx
        .ptx
        .get_variable("request")
        .ok_or_else(|| plain_error("request is not available"))?;
    let field = |path: &[&str]| -> String {
        let mut cur: &dyn Val = request.as_ref();
        for key in path {
            let Some(m) = cur.downcast_ref::<CelMap>() else {
                return String::new();
            };
            let k = CelString::from(*key);
            match (m as &dyn Val)
                .as_indexer()
                .map(|ix| ix.get(&k as &dyn Val))
            {
                Some(Ok(std::borrow::Cow::Borrowed(v))) => cur = v,
                _ => return String::new(),
            }
        }
        cur.downcast_ref::<CelString>()
            .map(|s| s.inner().to_string())
            .unwrap_or_default()
    };
    Ok(Value::Opaque(Arc::new(ResourceCheckVal {
        identity: None,
        group: field(&["resource", "group"]),
        resource: field(&["resource", "resource"]),
        subresource: field(&["subResource"]),
        namespace: field(&["namespace"]),
        name: field(&["name"]),
        ..Default::default()
    })))
}

/// Answers `check()` calls for one evaluation (and caches the answers).
pub(crate) struct AuthzResolver<'a> {
    pub authorizer: &'a dyn Authorizer,
    pub user: &'a UserInfo,
    cache: Mutex<HashMap<String, Value>>,
}

impl<'a> AuthzResolver<'a> {
    pub(crate) fn new(authorizer: &'a dyn Authorizer, user: &'a UserInfo) -> Self {
        AuthzResolver {
            authorizer,
            user,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl VariableResolver for AuthzResolver<'_> {
    fn resolve(&self, variable: &str) -> Option<Value> {
        let json = variable.strip_prefix(AUTHZ_PREFIX)?;
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(json).cloned()) {
            return Some(v);
        }
        let req: Request = serde_json::from_str(json).ok()?;
        let user = match &req.identity {
            Some(id) => UserInfo {
                username: id.username.clone(),
                uid: String::new(),
                groups: id.groups.clone(),
                extra: Default::default(),
            },
            None => self.user.clone(),
        };
        let check = AccessCheck {
            group: req.group,
            resource: req.resource,
            subresource: req.subresource,
            namespace: req.namespace,
            name: req.name,
            verb: req.verb,
            path: req.path,
        };
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.authorizer.authorize(&user, &check)
        }));
        let d = match answer {
            Ok((decision, reason)) => DecisionVal {
                decision,
                reason,
                error: None,
            },
            Err(_) => DecisionVal {
                decision: AuthzDecision::NoOpinion,
                reason: String::new(),
                error: Some("the authorizer failed".into()),
            },
        };
        let v = Value::Opaque(Arc::new(d));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(json.to_string(), v.clone());
        }
        Some(v)
    }
}

fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}
