//! Workload hardening checks (`PAL1nn`): resources, probes, security context details beyond
//! the Pod Security Standards, service accounts, host paths, and API hygiene.

use crate::context::{Check, Context, Emitter, Inventory};
use palisade_model::{ContainerRef, Node, Object, PodRef};

mod automount_service_account_token;
mod cpu_limits;
mod cpu_requests;
mod dangerous_capabilities;
mod default_namespace;
mod default_service_account;
mod deprecated_api_version;
mod image_pull_policy;
mod legacy_service_account_token;
mod liveness_probe;
mod low_user_id;
mod memory_limits;
mod memory_requests;
mod net_raw_not_dropped;
mod read_only_root_filesystem;
mod readiness_probe;
mod sensitive_host_path;
mod share_process_namespace;
mod ssh_port;
mod writable_host_path;

pub use automount_service_account_token::AutomountServiceAccountToken;
pub use cpu_limits::CpuLimits;
pub use cpu_requests::CpuRequests;
pub use dangerous_capabilities::DangerousCapabilities;
pub use default_namespace::DefaultNamespace;
pub use default_service_account::DefaultServiceAccount;
pub use deprecated_api_version::DeprecatedApiVersion;
pub use image_pull_policy::ImagePullPolicy;
pub use legacy_service_account_token::LegacyServiceAccountToken;
pub use liveness_probe::LivenessProbe;
pub use low_user_id::LowUserId;
pub use memory_limits::MemoryLimits;
pub use memory_requests::MemoryRequests;
pub use net_raw_not_dropped::NetRawNotDropped;
pub use read_only_root_filesystem::ReadOnlyRootFilesystem;
pub use readiness_probe::ReadinessProbe;
pub use sensitive_host_path::SensitiveHostPath;
pub use share_process_namespace::ShareProcessNamespace;
pub use ssh_port::SshPort;
pub use writable_host_path::WritableHostPath;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[
    &CpuRequests,
    &CpuLimits,
    &MemoryRequests,
    &MemoryLimits,
    &ReadOnlyRootFilesystem,
    &AutomountServiceAccountToken,
    &LivenessProbe,
    &ReadinessProbe,
    &NetRawNotDropped,
    &DangerousCapabilities,
    &SensitiveHostPath,
    &WritableHostPath,
    &LowUserId,
    &DefaultNamespace,
    &DefaultServiceAccount,
    &ShareProcessNamespace,
    &SshPort,
    &DeprecatedApiVersion,
    &ImagePullPolicy,
    &LegacyServiceAccountToken,
];

/// `true` when `n` holds a value: not absent, not null, not an empty string, list or mapping.
pub(super) fn present(n: Option<&Node>) -> bool {
    n.is_some_and(Node::is_set)
}

/// A capability name as the runtime understands it: upper-case, without the `CAP_` prefix.
pub(super) fn cap_name(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    match up.strip_prefix("CAP_") {
        Some(rest) => rest.to_string(),
        None => up,
    }
}

/// The normalised capability names in a container's `securityContext.capabilities.<list>`.
pub(super) fn capabilities(c: &ContainerRef<'_>, list: &str) -> Vec<String> {
    crate::util::strings(c.node.at(&["securityContext", "capabilities", list]))
        .iter()
        .map(|s| cap_name(s))
        .collect()
}

/// Which half of `resources` a resource check is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    Request,
    Limit,
}

impl Bound {
    fn field(self) -> &'static str {
        match self {
            Bound::Request => "requests",
            Bound::Limit => "limits",
        }
    }
}

/// Shared logic of PAL101-PAL104: flags long-running containers (regular containers and
/// sidecars) whose `resources.<requests|limits>.<resource>` is unset and is not supplied by
/// the pod-level `spec.resources`, by the container's own limit (a request defaults to the
/// limit), or by a `type: Container` LimitRange in the same namespace of the scanned set.
pub(super) fn check_resource(
    cx: &Context<'_>,
    obj: &Object,
    out: &mut Emitter<'_>,
    resource: &str,
    bound: Bound,
) {
    let Some(pod) = obj.pod() else { return };
    let field = bound.field();
    if present(pod.spec.at(&["resources", field, resource])) {
        return;
    }
    if limit_range_supplies(cx, obj, resource, bound) {
        return;
    }
    for c in pod.containers() {
        if !c.is_long_running() {
            continue;
        }
        let f = ["resources", field, resource];
        if present(c.node.at(&f)) {
            continue;
        }
        if bound == Bound::Request && present(c.node.at(&["resources", "limits", resource])) {
            continue;
        }
        out.emit(
            c.path(&f),
            c.locate(&f),
            format!("{} does not set resources.{field}.{resource}", c.label()),
        );
    }
}

/// Does a LimitRange of the object's namespace give containers a default for `resource`?
/// Mirrors the API defaults of `LimitRangeItem`: a default limit comes from `default` or
/// `max`; a default request from `defaultRequest`, `default`, `max` or `min`.
fn limit_range_supplies(cx: &Context<'_>, obj: &Object, resource: &str, bound: Bound) -> bool {
    let ns = Inventory::namespace_of(obj);
    let keys: &[&str] = match bound {
        Bound::Limit => &["default", "max"],
        Bound::Request => &["defaultRequest", "default", "max", "min"],
    };
    cx.inventory
        .of_kind_in("LimitRange", ns)
        .iter()
        .filter(|lr| lr.group().is_empty())
        .any(|lr| {
            lr.root
                .at(&["spec", "limits"])
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .any(|item| {
                    item.get("type").and_then(Node::as_str) == Some("Container")
                        && keys.iter().any(|k| present(item.at(&[k, resource])))
                })
        })
}

/// The service account a pod runs as: `serviceAccountName`, else the deprecated
/// `serviceAccount`, else `default`. The second value is `true` when the name was given.
pub(super) fn service_account_name(pod: &PodRef<'_>) -> (String, bool) {
    for key in ["serviceAccountName", "serviceAccount"] {
        if let Some(name) = pod.spec.get(key).and_then(Node::as_str) {
            if !name.is_empty() {
                return (name.to_string(), true);
            }
        }
    }
    ("default".to_string(), false)
}

/// Whether the API server will mount a service account token into the pod, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenMount {
    /// The pod sets `automountServiceAccountToken: false`.
    DisabledByPod,
    /// The pod does not decide, and its ServiceAccount (in the scanned set) sets
    /// `automountServiceAccountToken: false`.
    DisabledByServiceAccount,
    /// The pod sets `automountServiceAccountToken: true` (this wins over the ServiceAccount).
    EnabledByPod,
    /// The pod does not decide, and its ServiceAccount is in the scanned set but does not
    /// disable automounting.
    EnabledByServiceAccount,
    /// The pod does not decide, and its ServiceAccount is not in the scanned set: the
    /// Kubernetes default (mount) applies as far as we can tell.
    ServiceAccountNotScanned,
}

impl TokenMount {
    pub(super) fn mounted(&self) -> bool {
        !matches!(
            self,
            TokenMount::DisabledByPod | TokenMount::DisabledByServiceAccount
        )
    }
}

/// Decides [`TokenMount`] for a pod, looking its ServiceAccount up in the scanned set (same
/// namespace, core group).
pub(super) fn token_mount(cx: &Context<'_>, pod: &PodRef<'_>, sa_name: &str) -> TokenMount {
    match pod
        .spec
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool)
    {
        Some(false) => return TokenMount::DisabledByPod,
        Some(true) => return TokenMount::EnabledByPod,
        None => {}
    }
    let ns = Inventory::namespace_of(pod.object);
    let sa = cx
        .inventory
        .named("ServiceAccount", ns, sa_name)
        .iter()
        .find(|sa| sa.group().is_empty());
    match sa {
        None => TokenMount::ServiceAccountNotScanned,
        Some(sa) => {
            if sa
                .root
                .get("automountServiceAccountToken")
                .and_then(Node::as_bool)
                == Some(false)
            {
                TokenMount::DisabledByServiceAccount
            } else {
                TokenMount::EnabledByServiceAccount
            }
        }
    }
}

/// `true` when a projected volume of the pod requests a service account token.
pub(super) fn projects_token(pod: &PodRef<'_>) -> bool {
    pod.spec
        .get("volumes")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| v.at(&["projected", "sources"]))
        .flat_map(Node::items)
        .any(|s| s.get("serviceAccountToken").is_some_and(Node::is_map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_are_normalised() {
        assert_eq!(cap_name("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(cap_name(" NET_RAW "), "NET_RAW");
        assert_eq!(cap_name("all"), "ALL");
    }

    #[test]
    fn presence() {
        assert!(!present(None));
        assert!(!present(Some(Node::null())));
        assert!(present(Some(&Node::bare(palisade_model::Value::Int(0)))));
        assert!(!present(Some(&Node::bare(palisade_model::Value::Str(
            String::new()
        )))));
    }
}
