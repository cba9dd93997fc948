//! Kind → resource mapping for offline evaluation.
//!
//! An API server knows each kind's resource name and scope from discovery; offline we use
//! this table of the built-in API (Kubernetes 1.37) and, for kinds it does not know,
//! kubectl's guess (`UnsafeGuessKindToResource`: lower-case, `s`→`ses`, `y`→`ies`, else
//! `+s`) and assume the kind is namespaced.

use crate::request::GroupVersionResource;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: String,
    pub resource: String,
    pub namespaced: bool,
    /// `false` when the kind was not in the table and the resource was guessed.
    pub known: bool,
}

impl ResourceInfo {
    pub fn gvr(&self, version: &str) -> GroupVersionResource {
        GroupVersionResource {
            group: self.group.clone(),
            version: version.to_string(),
            resource: self.resource.clone(),
        }
    }
}

/// (group, kind, resource, namespaced)
const BUILTIN: &[(&str, &str, &str, bool)] = &[
    ("", "Binding", "bindings", true),
    ("", "ComponentStatus", "componentstatuses", false),
    ("", "ConfigMap", "configmaps", true),
    ("", "Endpoints", "endpoints", true),
    ("", "Event", "events", true),
    ("", "LimitRange", "limitranges", true),
    ("", "Namespace", "namespaces", false),
    ("", "Node", "nodes", false),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims", true),
    ("", "PersistentVolume", "persistentvolumes", false),
    ("", "Pod", "pods", true),
    ("", "PodTemplate", "podtemplates", true),
    ("", "ReplicationController", "replicationcontrollers", true),
    ("", "ResourceQuota", "resourcequotas", true),
    ("", "Secret", "secrets", true),
    ("", "ServiceAccount", "serviceaccounts", true),
    ("", "Service", "services", true),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicy",
        "mutatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    ("apiregistration.k8s.io", "APIService", "apiservices", false),
    ("apps", "ControllerRevision", "controllerrevisions", true),
    ("apps", "DaemonSet", "daemonsets", true),
    ("apps", "Deployment", "deployments", true),
    ("apps", "ReplicaSet", "replicasets", true),
    ("apps", "StatefulSet", "statefulsets", true),
    (
        "authentication.k8s.io",
        "TokenReview",
        "tokenreviews",
        false,
    ),
    (
        "authentication.k8s.io",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
    ),
    (
        "authorization.k8s.io",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
    ),
    (
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    ("batch", "CronJob", "cronjobs", true),
    ("batch", "Job", "jobs", true),
    (
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    (
        "certificates.k8s.io",
        "ClusterTrustBundle",
        "clustertrustbundles",
        false,
    ),
    ("coordination.k8s.io", "Lease", "leases", true),
    ("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
    ("events.k8s.io", "Event", "events", true),
    (
        "flowcontrol.apiserver.k8s.io",
        "FlowSchema",
        "flowschemas",
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        false,
    ),
    ("networking.k8s.io", "IngressClass", "ingressclasses", false),
    ("networking.k8s.io", "Ingress", "ingresses", true),
    ("networking.k8s.io", "IPAddress", "ipaddresses", false),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("networking.k8s.io", "ServiceCIDR", "servicecidrs", false),
    ("node.k8s.io", "RuntimeClass", "runtimeclasses", false),
    ("policy", "Eviction", "evictions", true),
    (
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("policy", "PodSecurityPolicy", "podsecuritypolicies", false),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    ("rbac.authorization.k8s.io", "Role", "roles", true),
    ("resource.k8s.io", "DeviceClass", "deviceclasses", false),
    ("resource.k8s.io", "ResourceClaim", "resourceclaims", true),
    (
        "resource.k8s.io",
        "ResourceClaimTemplate",
        "resourceclaimtemplates",
        true,
    ),
    ("resource.k8s.io", "ResourceSlice", "resourceslices", false),
    (
        "scheduling.k8s.io",
        "PriorityClass",
        "priorityclasses",
        false,
    ),
    ("storage.k8s.io", "CSIDriver", "csidrivers", false),
    ("storage.k8s.io", "CSINode", "csinodes", false),
    (
        "storage.k8s.io",
        "CSIStorageCapacity",
        "csistoragecapacities",
        true,
    ),
    ("storage.k8s.io", "StorageClass", "storageclasses", false),
    (
        "storage.k8s.io",
        "VolumeAttachment",
        "volumeattachments",
        false,
    ),
    (
        "storage.k8s.io",
        "VolumeAttributesClass",
        "volumeattributesclasses",
        false,
    ),
    (
        "templates.gatekeeper.sh",
        "ConstraintTemplate",
        "constrainttemplates",
        false,
    ),
    ("constraints.gatekeeper.sh", "*", "*", false),
    (
        "networking.x-k8s.io",
        "AdminNetworkPolicy",
        "adminnetworkpolicies",
        false,
    ),
    (
        "networking.x-k8s.io",
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies",
        false,
    ),
];

/// The resource and scope of `group`/`kind` (the version does not change either).
pub fn lookup(group: &str, _version: &str, kind: &str) -> ResourceInfo {
    for (g, k, r, namespaced) in BUILTIN {
        if *g == group && (*k == kind || *k == "*") {
            // Gatekeeper constraint CRDs use the lower-cased kind as their plural.
            let resource = if *r == "*" {
                kind.to_ascii_lowercase()
            } else {
                r.to_string()
            };
            return ResourceInfo {
                group: group.to_string(),
                resource,
                namespaced: *namespaced,
                known: true,
            };
        }
    }
    ResourceInfo {
        group: group.to_string(),
        resource: guess(kind),
        namespaced: true,
        known: false,
    }
}

/// kubectl's `UnsafeGuessKindToResource`.
pub fn guess(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        return lower;
    }
    if lower == "endpoints" {
        return lower;
    }
    if let Some(stem) = lower.strip_suffix('s') {
        return format!("{stem}ses");
    }
    if let Some(stem) = lower.strip_suffix('y') {
        return format!("{stem}ies");
    }
    format!("{lower}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_guess() {
        assert_eq!(
            lookup("networking.k8s.io", "v1", "Ingress").resource,
            "ingresses"
        );
        assert!(!lookup("", "v1", "Namespace").namespaced);
        let crd = lookup("example.com", "v1", "Policy");
        assert_eq!(crd.resource, "policies");
        assert!(crd.namespaced && !crd.known);
        assert_eq!(guess("Class"), "classes");
        assert_eq!(guess("Widget"), "widgets");
        let k = lookup("constraints.gatekeeper.sh", "v1beta1", "K8sRequiredLabels");
        assert_eq!(k.resource, "k8srequiredlabels");
        assert!(!k.namespaced);
    }
}
