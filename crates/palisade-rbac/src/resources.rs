//! Which API group a resource belongs to and whether it is namespaced: the built-in
//! Kubernetes resources, plus the CustomResourceDefinitions of the snapshot. Offline there is
//! no discovery, so `who-can get deployments` needs this table to know `deployments` is
//! `apps` and namespaced (a RoleBinding can grant it), while `nodes` is cluster-scoped (only a
//! ClusterRoleBinding can).

use palisade_model::{Node, Object};
use std::collections::HashMap;

/// `(group, resource, namespaced)` of the built-in API, core group first so a bare `events`
/// means the core one, as kubectl resolves it.
const BUILTIN: &[(&str, &str, bool)] = &[
    ("", "pods", true),
    ("", "services", true),
    ("", "endpoints", true),
    ("", "configmaps", true),
    ("", "secrets", true),
    ("", "serviceaccounts", true),
    ("", "persistentvolumeclaims", true),
    ("", "replicationcontrollers", true),
    ("", "events", true),
    ("", "limitranges", true),
    ("", "resourcequotas", true),
    ("", "podtemplates", true),
    ("", "bindings", true),
    ("", "nodes", false),
    ("", "namespaces", false),
    ("", "persistentvolumes", false),
    ("", "componentstatuses", false),
    ("apps", "deployments", true),
    ("apps", "replicasets", true),
    ("apps", "statefulsets", true),
    ("apps", "daemonsets", true),
    ("apps", "controllerrevisions", true),
    ("batch", "jobs", true),
    ("batch", "cronjobs", true),
    ("autoscaling", "horizontalpodautoscalers", true),
    ("policy", "poddisruptionbudgets", true),
    ("networking.k8s.io", "networkpolicies", true),
    ("networking.k8s.io", "ingresses", true),
    ("networking.k8s.io", "ingressclasses", false),
    ("networking.k8s.io", "ipaddresses", false),
    ("networking.k8s.io", "servicecidrs", false),
    ("rbac.authorization.k8s.io", "roles", true),
    ("rbac.authorization.k8s.io", "rolebindings", true),
    ("rbac.authorization.k8s.io", "clusterroles", false),
    ("rbac.authorization.k8s.io", "clusterrolebindings", false),
    ("storage.k8s.io", "storageclasses", false),
    ("storage.k8s.io", "csidrivers", false),
    ("storage.k8s.io", "csinodes", false),
    ("storage.k8s.io", "volumeattachments", false),
    ("storage.k8s.io", "volumeattributesclasses", false),
    ("storage.k8s.io", "csistoragecapacities", true),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
        false,
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions", false),
    ("apiregistration.k8s.io", "apiservices", false),
    ("certificates.k8s.io", "certificatesigningrequests", false),
    ("certificates.k8s.io", "clustertrustbundles", false),
    ("certificates.k8s.io", "signers", false),
    ("coordination.k8s.io", "leases", true),
    ("discovery.k8s.io", "endpointslices", true),
    ("events.k8s.io", "events", true),
    ("node.k8s.io", "runtimeclasses", false),
    ("scheduling.k8s.io", "priorityclasses", false),
    ("authentication.k8s.io", "tokenreviews", false),
    ("authentication.k8s.io", "selfsubjectreviews", false),
    ("authorization.k8s.io", "subjectaccessreviews", false),
    ("authorization.k8s.io", "selfsubjectaccessreviews", false),
    ("authorization.k8s.io", "selfsubjectrulesreviews", false),
    ("authorization.k8s.io", "localsubjectaccessreviews", true),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", false),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        false,
    ),
    ("resource.k8s.io", "resourceclaims", true),
    ("resource.k8s.io", "resourceclaimtemplates", true),
    ("resource.k8s.io", "deviceclasses", false),
    ("resource.k8s.io", "resourceslices", false),
    ("metrics.k8s.io", "pods", true),
    ("metrics.k8s.io", "nodes", false),
];

/// A resolved resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: String,
    pub resource: String,
    pub namespaced: bool,
}

/// The resources known offline.
#[derive(Clone, Debug, Default)]
pub struct ResourceTable {
    /// `(group, resource)` → namespaced.
    scope: HashMap<(String, String), bool>,
    /// resource → groups, in table order.
    groups: HashMap<String, Vec<String>>,
}

impl ResourceTable {
    pub fn builtin() -> ResourceTable {
        let mut t = ResourceTable::default();
        for (g, r, ns) in BUILTIN {
            t.add(g, r, *ns);
        }
        t
    }

    fn add(&mut self, group: &str, resource: &str, namespaced: bool) {
        let key = (group.to_string(), resource.to_string());
        if self.scope.insert(key, namespaced).is_none() {
            self.groups
                .entry(resource.to_string())
                .or_default()
                .push(group.to_string());
        }
    }

    /// Adds the resource a CustomResourceDefinition serves.
    pub fn add_crd(&mut self, crd: &Object) {
        let spec = crd.root.get("spec").unwrap_or(Node::null());
        let group = spec.get("group").and_then(Node::as_str);
        let plural = spec.at(&["names", "plural"]).and_then(Node::as_str);
        if let (Some(g), Some(p)) = (group, plural) {
            let namespaced = spec.get("scope").and_then(Node::as_str) != Some("Cluster");
            self.add(g, p, namespaced);
        }
    }

    /// Whether `resource` in `group` is namespaced; `None` when unknown.
    pub fn namespaced(&self, group: &str, resource: &str) -> Option<bool> {
        self.scope
            .get(&(group.to_string(), resource.to_string()))
            .copied()
    }

    /// Resolves kubectl's spelling: `pods`, `deployments.apps`, `deployments.apps/scale`
    /// (the subresource is split off by the caller). A bare name takes the first group that
    /// serves it; an unknown bare name is an error (offline there is no discovery), an
    /// unknown `resource.group` is taken as a namespaced custom resource.
    pub fn resolve(&self, spec: &str) -> Result<ResourceInfo, String> {
        let spec = spec.trim().to_ascii_lowercase();
        if spec.is_empty() {
            return Err("empty resource".into());
        }
        if spec == "*" {
            return Ok(ResourceInfo {
                group: "*".into(),
                resource: "*".into(),
                namespaced: true,
            });
        }
        if let Some(groups) = self.groups.get(&spec) {
            let g = &groups[0];
            return Ok(ResourceInfo {
                group: g.clone(),
                resource: spec.clone(),
                namespaced: self.namespaced(g, &spec).unwrap_or(true),
            });
        }
        if let Some((res, group)) = spec.split_once('.') {
            let group = if group == "core" { "" } else { group };
            return Ok(ResourceInfo {
                group: group.to_string(),
                resource: res.to_string(),
                namespaced: self.namespaced(group, res).unwrap_or(true),
            });
        }
        // Singular and short names kubectl users type.
        let alias = match spec.as_str() {
            "po" | "pod" => Some("pods"),
            "svc" | "service" => Some("services"),
            "cm" | "configmap" => Some("configmaps"),
            "secret" => Some("secrets"),
            "sa" | "serviceaccount" => Some("serviceaccounts"),
            "no" | "node" => Some("nodes"),
            "ns" | "namespace" => Some("namespaces"),
            "deploy" | "deployment" => Some("deployments"),
            "ds" | "daemonset" => Some("daemonsets"),
            "sts" | "statefulset" => Some("statefulsets"),
            "rs" | "replicaset" => Some("replicasets"),
            "job" => Some("jobs"),
            "cj" | "cronjob" => Some("cronjobs"),
            "pv" | "persistentvolume" => Some("persistentvolumes"),
            "pvc" | "persistentvolumeclaim" => Some("persistentvolumeclaims"),
            "role" => Some("roles"),
            "rolebinding" => Some("rolebindings"),
            "clusterrole" => Some("clusterroles"),
            "clusterrolebinding" => Some("clusterrolebindings"),
            "csr" | "certificatesigningrequest" => Some("certificatesigningrequests"),
            "crd" | "crds" => Some("customresourcedefinitions"),
            "ing" | "ingress" => Some("ingresses"),
            "netpol" | "networkpolicy" => Some("networkpolicies"),
            _ => None,
        };
        match alias {
            Some(a) => self.resolve(a),
            None => Err(format!(
                "unknown resource {spec:?}: offline there is no API discovery; write it as RESOURCE.GROUP (e.g. widgets.example.com)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_kubectl_spellings() {
        let t = ResourceTable::builtin();
        let d = t.resolve("deployments.apps").unwrap();
        assert_eq!((d.group.as_str(), d.namespaced), ("apps", true));
        assert_eq!(t.resolve("deploy").unwrap().group, "apps");
        assert_eq!(t.resolve("events").unwrap().group, "");
        assert!(!t.resolve("nodes").unwrap().namespaced);
        assert!(!t.resolve("clusterroles").unwrap().namespaced);
        let w = t.resolve("widgets.example.com").unwrap();
        assert_eq!(
            (w.group.as_str(), w.resource.as_str()),
            ("example.com", "widgets")
        );
        assert!(t.resolve("widgets").is_err());
    }
}
