//! The `authorizer` CEL variable asks "may this user do that?". Offline there is no API
//! server to ask, so answers come from an [`Authorizer`]: by default [`NoOpinion`]; the
//! RBAC snapshot authorizer answers from Roles and bindings in the inventory.

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
        (AuthzDecision::NoOpinion, "no authorizer configured offline".into())
    }
}
