//! The `authorizer` CEL variable asks "may this user do that?". Offline there is no API
//! server to ask, so answers come from an [`Authorizer`]: by default [`NoOpinion`]; the
//! RBAC snapshot authorizer ([`RbacSnapshot`]) answers through palisade-rbac from Roles
//! and bindings in the inventory and Kubernetes' default ones. The CEL side
//! (`authorizer.group(..).resource(..).check(verb)`, `path`, `serviceAccount`,
//! `requestResource`, and the decision's `allowed`, `reason`, `errored`, `error`) is in
//! [`crate::cel::authz`].

use std::sync::Arc;

use palisade_rbac::{bootstrap, BuildOptions, Rbac, Request};

use crate::inventory::Inventory;
use crate::request::UserInfo;

/// The attributes of one access check (`authorizer.group(g).resource(r)...check(verb)` or
/// `authorizer.path(p).check(verb)`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessCheck {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub verb: String,
    /// Set for non-resource requests (`authorizer.path("/healthz")`).
    pub path: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthzDecision {
    Allow,
    Deny,
    NoOpinion,
}

pub trait Authorizer: Send + Sync {
    /// The decision and a reason (shown by CEL's `reason()`).
    fn authorize(&self, user: &UserInfo, check: &AccessCheck) -> (AuthzDecision, String);
}

/// Answers every check with no opinion (`allowed()` is false), like an authorizer chain
/// where nothing matched.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOpinion;

impl Authorizer for NoOpinion {
    fn authorize(&self, _user: &UserInfo, _check: &AccessCheck) -> (AuthzDecision, String) {
        (
            AuthzDecision::NoOpinion,
            "no authorizer configured offline".into(),
        )
    }
}

/// Answers as the API server's RBAC authorizer would, through palisade-rbac (the one
/// authorizer: aggregated ClusterRoles resolved, Kubernetes' default roles and bindings
/// added where the snapshot lacks them, exact rule matching; see
/// [`palisade_rbac::authz`]). The snapshot is built once, from the RBAC objects of an
/// [`Inventory`], and answers every evaluation of every policy.
///
/// - Allowed: the API server's reason (`RBAC: allowed by RoleBinding "deployers/prod" of
///   ClusterRole "deployer" to Group "ci"`).
/// - Not allowed: "no opinion" (RBAC never denies), with an empty reason, or naming the
///   missing roles of the user's bindings (`RBAC: [role.rbac.authorization.k8s.io
///   "missing" not found]`).
/// - Members of `system:masters` are allowed everything, as the API server's
///   privileged-group authorizer (ahead of RBAC) allows them.
#[derive(Debug)]
pub struct RbacSnapshot {
    rbac: Rbac,
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

impl RbacSnapshot {
    /// The inventory's Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (any
    /// `rbac.authorization.k8s.io` version), with the default roles and bindings of the
    /// newest Kubernetes version palisade-rbac knows.
    pub fn from_inventory(inventory: &Inventory) -> RbacSnapshot {
        RbacSnapshot::with_defaults(inventory, Some(bootstrap::latest()))
    }

    /// As [`RbacSnapshot::from_inventory`], with the defaults of a chosen version (`None`:
    /// none).
    pub fn with_defaults(
        inventory: &Inventory,
        defaults: Option<&'static bootstrap::Defaults>,
    ) -> RbacSnapshot {
        let mut objects = Vec::new();
        for kind in ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"] {
            for o in inventory.of_kind(RBAC_GROUP, kind) {
                let file = o
                    .source
                    .as_ref()
                    .map(|s| s.file.clone())
                    .unwrap_or_else(|| "inventory".into());
                let root = palisade_model::Node::from_json(&o.value);
                let source = Arc::new(palisade_model::Source::File(file));
                objects.extend(palisade_model::Object::from_node(root, source, 0, None));
            }
        }
        RbacSnapshot::from_rbac(Rbac::build(&objects, &BuildOptions { defaults }))
    }

    /// Answers from a snapshot built elsewhere.
    pub fn from_rbac(rbac: Rbac) -> RbacSnapshot {
        RbacSnapshot { rbac }
    }

    pub fn rbac(&self) -> &Rbac {
        &self.rbac
    }
}

/// The palisade-rbac request for an access check.
fn request_of(check: &AccessCheck) -> Request {
    let mut req = match &check.path {
        Some(path) => Request::non_resource(&check.verb, path),
        None => Request {
            verb: check.verb.clone(),
            group: check.group.clone(),
            resource: check.resource.clone(),
            subresource: check.subresource.clone(),
            ..Request::default()
        },
    };
    if check.path.is_none() {
        if !check.namespace.is_empty() {
            req.namespace = Some(check.namespace.clone());
        }
        if !check.name.is_empty() {
            req.name = Some(check.name.clone());
        }
    }
    req
}

impl Authorizer for RbacSnapshot {
    fn authorize(&self, user: &UserInfo, check: &AccessCheck) -> (AuthzDecision, String) {
        if user.groups.iter().any(|g| g == "system:masters") {
            return (
                AuthzDecision::Allow,
                "allowed: member of system:masters".into(),
            );
        }
        let who = palisade_rbac::UserInfo {
            name: user.username.clone(),
            groups: user.groups.clone(),
        };
        let answer = self.rbac.review(&who, &request_of(check));
        let decision = if answer.allowed {
            AuthzDecision::Allow
        } else {
            AuthzDecision::NoOpinion
        };
        (decision, answer.reason)
    }
}
