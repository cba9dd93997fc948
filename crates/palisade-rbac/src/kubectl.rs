//! kubectl's resource arguments turned into the authorizer's request attributes, read as
//! `kubectl auth can-i VERB RESOURCE` reads them:
//!
//! - `pods`, `deployments.apps`, `deployments.v1.apps`, `pods.v1.`: a resource with an
//!   optional group (a version between resource and group is accepted and ignored);
//! - `secrets/s1`: the Secret **named** `s1`;
//! - a subresource only through `subresource` (`--subresource exec`);
//! - `name` (`--name`) is the same as `RESOURCE/NAME`;
//! - `pods/exec` alone, where `exec` is a subresource of pods, is ambiguous (a Pod named
//!   `exec`, or the `exec` subresource) and is refused, naming both spellings;
//! - a non-resource URL starts with `/`.

use crate::authz::Request;
use crate::resources::ResourceTable;
use std::fmt;

/// Why a resource argument could not be turned into a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceArgError {
    /// `RESOURCE/X` where X is a known subresource of RESOURCE.
    Ambiguous { resource: String, part: String },
    /// A name given twice (`secrets/a --name b`), or a name/subresource on a URL.
    Conflict(String),
    /// The resource could not be resolved (unknown offline, empty).
    Unknown(String),
}

impl fmt::Display for ResourceArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceArgError::Ambiguous { resource, part } => write!(
                f,
                "{resource}/{part} is ambiguous: write `{resource} --subresource {part}` for the {part} subresource, or `{resource} --name {part}` for the object named {part}"
            ),
            ResourceArgError::Conflict(m) | ResourceArgError::Unknown(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ResourceArgError {}

/// A resource argument resolved to the authorizer's attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceQuery {
    /// Verb, group, resource, subresource and name set; namespace left to the caller.
    pub request: Request,
    /// Whether the resource is namespaced (non-resource URLs are not).
    pub namespaced: bool,
}

/// Subresources Kubernetes serves for a resource (`status` is served by most and counts for
/// every resource). Used only to detect ambiguous `RESOURCE/X` arguments.
pub fn known_subresources(resource: &str) -> &'static [&'static str] {
    match resource {
        "pods" => &[
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status",
        ],
        "deployments" | "replicasets" | "statefulsets" | "replicationcontrollers" => {
            &["scale", "status"]
        }
        "nodes" | "services" => &["proxy", "status"],
        "serviceaccounts" => &["token"],
        "namespaces" => &["finalize", "status"],
        "certificatesigningrequests" => &["approval", "status"],
        "customresourcedefinitions" | "apiservices" => &["status"],
        _ => &["status"],
    }
}

/// Strips a version between resource and group: `deployments.v1.apps` → `deployments.apps`,
/// `pods.v1.` → `pods`. A middle part counts as a version when it reads `v<digits>` with an
/// optional `alpha<digits>`/`beta<digits>` suffix.
fn strip_version(spec: &str) -> String {
    let parts: Vec<&str> = spec.splitn(3, '.').collect();
    if parts.len() == 3 && is_version(parts[1]) {
        if parts[2].is_empty() {
            return parts[0].to_string();
        }
        return format!("{}.{}", parts[0], parts[2]);
    }
    spec.to_string()
}

fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|p| {
            tail.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// Turns kubectl's forms into a request: `resource` as typed (`secrets/s1`, `pods`,
/// `deployments.apps`, `/metrics`), `name` from `--name`, `subresource` from
/// `--subresource`.
pub fn resource_query(
    table: &ResourceTable,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    subresource: Option<&str>,
) -> Result<ResourceQuery, ResourceArgError> {
    let resource = resource.trim();
    if resource.starts_with('/') {
        if name.is_some() || subresource.is_some() {
            return Err(ResourceArgError::Conflict(format!(
                "{resource} is a non-resource URL: --name and --subresource do not apply"
            )));
        }
        return Ok(ResourceQuery {
            request: Request::non_resource(verb, resource),
            namespaced: false,
        });
    }
    let (res, slash_name) = match resource.split_once('/') {
        Some((r, n)) => (r, Some(n)),
        None => (resource, None),
    };
    let info = table
        .resolve(&strip_version(res))
        .map_err(ResourceArgError::Unknown)?;
    if let Some(n) = slash_name {
        if n.is_empty() || n.contains('/') {
            return Err(ResourceArgError::Unknown(format!(
                "{resource:?}: expected RESOURCE or RESOURCE/NAME (a subresource goes in --subresource)"
            )));
        }
        if let Some(other) = name {
            return Err(ResourceArgError::Conflict(format!(
                "{resource} names the object {n}, and --name names {other}: give the name once"
            )));
        }
        if subresource.is_none() && known_subresources(&info.resource).contains(&n) {
            return Err(ResourceArgError::Ambiguous {
                resource: res.to_string(),
                part: n.to_string(),
            });
        }
    }
    let combined = match subresource.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => format!("{}/{s}", info.resource),
        None => info.resource.clone(),
    };
    let mut request = Request::resource(verb, &info.group, &combined);
    request.name = slash_name.or(name).map(String::from);
    Ok(ResourceQuery {
        request,
        namespaced: info.namespaced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(
        resource: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Result<Request, ResourceArgError> {
        resource_query(&ResourceTable::builtin(), "get", resource, name, sub).map(|q| q.request)
    }

    #[test]
    fn slash_is_a_name_as_in_kubectl() {
        let r = q("secrets/s1", None, None).unwrap();
        assert_eq!(
            (
                r.group.as_str(),
                r.resource.as_str(),
                r.subresource.as_str()
            ),
            ("", "secrets", "")
        );
        assert_eq!(r.name.as_deref(), Some("s1"));
        assert_eq!(q("secrets", Some("s1"), None).unwrap(), r);
    }

    #[test]
    fn subresource_comes_from_the_flag() {
        let r = q("pods", None, Some("exec")).unwrap();
        assert_eq!(
            (r.resource.as_str(), r.subresource.as_str()),
            ("pods", "exec")
        );
        assert_eq!(r.name, None);
        let r = q("pods/web", None, Some("log")).unwrap();
        assert_eq!(r.subresource, "log");
        assert_eq!(r.name.as_deref(), Some("web"));
    }

    #[test]
    fn known_subresource_after_slash_is_ambiguous() {
        let e = q("pods/exec", None, None).unwrap_err();
        assert!(matches!(e, ResourceArgError::Ambiguous { .. }));
        let msg = e.to_string();
        assert!(msg.contains("pods --subresource exec"), "{msg}");
        assert!(msg.contains("pods --name exec"), "{msg}");
        assert!(matches!(
            q("deployments.apps/scale", None, None),
            Err(ResourceArgError::Ambiguous { .. })
        ));
        // With --subresource the part after `/` is unambiguously a name.
        assert_eq!(
            q("pods/exec", None, Some("exec")).unwrap().name.as_deref(),
            Some("exec")
        );
    }

    #[test]
    fn groups_and_versions() {
        let r = q("deployments.apps", None, None).unwrap();
        assert_eq!(
            (r.group.as_str(), r.resource.as_str()),
            ("apps", "deployments")
        );
        assert_eq!(q("deployments.v1.apps", None, None).unwrap(), r);
        let r = q("pods.v1.", None, None).unwrap();
        assert_eq!((r.group.as_str(), r.resource.as_str()), ("", "pods"));
        let r = q("cronjobs.v1beta1.batch", None, None).unwrap();
        assert_eq!(r.group, "batch");
        // A dotted group without a version is kept whole.
        let r = q("widgets.example.com", None, None).unwrap();
        assert_eq!(
            (r.group.as_str(), r.resource.as_str()),
            ("example.com", "widgets")
        );
    }

    #[test]
    fn conflicts_and_urls() {
        assert!(matches!(
            q("secrets/a", Some("b"), None),
            Err(ResourceArgError::Conflict(_))
        ));
        assert!(matches!(
            q("/metrics", Some("x"), None),
            Err(ResourceArgError::Conflict(_))
        ));
        let r = q("/metrics", None, None).unwrap();
        assert_eq!(r.path.as_deref(), Some("/metrics"));
        assert!(matches!(
            q("pods/a/b", None, None),
            Err(ResourceArgError::Unknown(_))
        ));
        assert!(matches!(
            q("nosuchthing", None, None),
            Err(ResourceArgError::Unknown(_))
        ));
    }
}
