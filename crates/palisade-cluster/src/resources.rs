//! The resource types read from a cluster.

use kube::discovery::ApiResource;

/// One resource type listed from the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceKind {
    /// API group, `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// Singular PascalCase kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// Lower-case plural used in URLs, e.g. `deployments`.
    pub plural: &'static str,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

impl ResourceKind {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name kubectl uses: `secrets` for the core group, `deployments.apps` otherwise.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The kube descriptor for this type, built by hand so that no discovery requests are made.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_string(),
            version: self.version.to_string(),
            api_version: self.api_version(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
        }
    }
}

const fn core(kind: &'static str, plural: &'static str, namespaced: bool) -> ResourceKind {
    ResourceKind {
        group: "",
        version: "v1",
        kind,
        plural,
        namespaced,
    }
}

const fn grouped(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> ResourceKind {
    ResourceKind {
        group,
        version: "v1",
        kind,
        plural,
        namespaced,
    }
}

/// Every resource type listed, in the order it is listed (and in which its objects are returned).
pub const RESOURCES: &[ResourceKind] = &[
    core("Namespace", "namespaces", false),
    core("Pod", "pods", true),
    core("ReplicationController", "replicationcontrollers", true),
    core("Service", "services", true),
    core("ServiceAccount", "serviceaccounts", true),
    core("ConfigMap", "configmaps", true),
    core("Secret", "secrets", true),
    grouped("apps", "Deployment", "deployments", true),
    grouped("apps", "ReplicaSet", "replicasets", true),
    grouped("apps", "StatefulSet", "statefulsets", true),
    grouped("apps", "DaemonSet", "daemonsets", true),
    grouped("batch", "Job", "jobs", true),
    grouped("batch", "CronJob", "cronjobs", true),
    grouped(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    grouped("networking.k8s.io", "Ingress", "ingresses", true),
    grouped("rbac.authorization.k8s.io", "Role", "roles", true),
    grouped(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    grouped(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    grouped(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let secrets = RESOURCES.iter().find(|r| r.plural == "secrets").unwrap();
        assert_eq!(secrets.api_version(), "v1");
        assert_eq!(secrets.qualified_name(), "secrets");
        let crb = RESOURCES.last().unwrap();
        assert_eq!(crb.api_version(), "rbac.authorization.k8s.io/v1");
        assert_eq!(
            crb.qualified_name(),
            "clusterrolebindings.rbac.authorization.k8s.io"
        );
        let ar = crb.api_resource();
        assert_eq!(ar.kind, "ClusterRoleBinding");
        assert_eq!(ar.plural, "clusterrolebindings");
    }

    #[test]
    fn no_duplicates() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                assert!(a.group != b.group || a.plural != b.plural, "{a:?}");
            }
        }
    }
}
