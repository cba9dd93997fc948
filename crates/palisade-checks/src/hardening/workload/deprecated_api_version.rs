use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

/// A removed API: group/version, the kinds it is removed for (empty: every kind), the
/// Kubernetes version that stopped serving it, and what to use instead.
struct Removed {
    api_version: &'static str,
    kinds: &'static [&'static str],
    removed_in: &'static str,
    replacement: &'static str,
}

const fn removed(
    api_version: &'static str,
    kinds: &'static [&'static str],
    removed_in: &'static str,
    replacement: &'static str,
) -> Removed {
    Removed {
        api_version,
        kinds,
        removed_in,
        replacement,
    }
}

const WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet"];
const WEBHOOKS: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];
const STORAGE: &[&str] = &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"];

/// APIs removed from Kubernetes. Entries name kinds wherever the group/version still serves
/// other kinds (e.g. `networking.k8s.io/v1beta1` serves IPAddress and ServiceCIDR).
const REMOVED: &[Removed] = &[
    removed("extensions/v1beta1", WORKLOADS, "1.16", "apps/v1"),
    removed(
        "extensions/v1beta1",
        &["NetworkPolicy"],
        "1.16",
        "networking.k8s.io/v1",
    ),
    removed(
        "extensions/v1beta1",
        &["PodSecurityPolicy"],
        "1.16",
        "Pod Security Admission",
    ),
    removed(
        "extensions/v1beta1",
        &["Ingress"],
        "1.22",
        "networking.k8s.io/v1",
    ),
    removed("apps/v1beta1", &[], "1.16", "apps/v1"),
    removed("apps/v1beta2", &[], "1.16", "apps/v1"),
    removed(
        "settings.k8s.io/v1alpha1",
        &["PodPreset"],
        "1.20",
        "a mutating admission policy or webhook",
    ),
    removed("batch/v2alpha1", &["CronJob"], "1.21", "batch/v1"),
    removed(
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass"],
        "1.22",
        "networking.k8s.io/v1",
    ),
    removed(
        "rbac.authorization.k8s.io/v1alpha1",
        &[],
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    removed(
        "rbac.authorization.k8s.io/v1beta1",
        &[],
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    removed(
        "admissionregistration.k8s.io/v1beta1",
        WEBHOOKS,
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    removed(
        "apiextensions.k8s.io/v1beta1",
        &[],
        "1.22",
        "apiextensions.k8s.io/v1",
    ),
    removed(
        "apiregistration.k8s.io/v1beta1",
        &[],
        "1.22",
        "apiregistration.k8s.io/v1",
    ),
    removed(
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
        "1.22",
        "certificates.k8s.io/v1",
    ),
    removed(
        "coordination.k8s.io/v1beta1",
        &["Lease"],
        "1.22",
        "coordination.k8s.io/v1",
    ),
    removed(
        "scheduling.k8s.io/v1beta1",
        &["PriorityClass"],
        "1.22",
        "scheduling.k8s.io/v1",
    ),
    removed(
        "storage.k8s.io/v1beta1",
        STORAGE,
        "1.22",
        "storage.k8s.io/v1",
    ),
    removed("batch/v1beta1", &["CronJob"], "1.25", "batch/v1"),
    removed(
        "policy/v1beta1",
        &["PodDisruptionBudget"],
        "1.25",
        "policy/v1",
    ),
    removed(
        "policy/v1beta1",
        &["PodSecurityPolicy"],
        "1.25",
        "Pod Security Admission",
    ),
    removed(
        "autoscaling/v2beta1",
        &["HorizontalPodAutoscaler"],
        "1.25",
        "autoscaling/v2",
    ),
    removed(
        "discovery.k8s.io/v1beta1",
        &["EndpointSlice"],
        "1.25",
        "discovery.k8s.io/v1",
    ),
    removed(
        "events.k8s.io/v1beta1",
        &["Event"],
        "1.25",
        "events.k8s.io/v1",
    ),
    removed(
        "node.k8s.io/v1beta1",
        &["RuntimeClass"],
        "1.25",
        "node.k8s.io/v1",
    ),
    removed(
        "autoscaling/v2beta2",
        &["HorizontalPodAutoscaler"],
        "1.26",
        "autoscaling/v2",
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &[],
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    removed(
        "storage.k8s.io/v1beta1",
        &["CSIStorageCapacity"],
        "1.27",
        "storage.k8s.io/v1",
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        &[],
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        &[],
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

fn lookup(api_version: &str, kind: &str) -> Option<&'static Removed> {
    REMOVED
        .iter()
        .find(|r| r.api_version == api_version && (r.kinds.is_empty() || r.kinds.contains(&kind)))
}

declare_check! {
    /// ## What it does
    /// Flags objects whose `apiVersion` is no longer served by Kubernetes for their kind,
    /// naming the version that removed it and the replacement. Among others:
    /// `extensions/v1beta1` (workloads, NetworkPolicy and PodSecurityPolicy removed in
    /// v1.16, Ingress in v1.22), `apps/v1beta1` and `apps/v1beta2` (v1.16),
    /// `networking.k8s.io/v1beta1` Ingress and IngressClass, `rbac.authorization.k8s.io`
    /// `v1alpha1`/`v1beta1`, `admissionregistration.k8s.io/v1beta1` webhook configurations,
    /// `apiextensions.k8s.io/v1beta1` (all v1.22), `batch/v1beta1` CronJob,
    /// `policy/v1beta1` PodDisruptionBudget and PodSecurityPolicy, `autoscaling/v2beta1`
    /// (v1.25), `autoscaling/v2beta2` (v1.26), and the `flowcontrol.apiserver.k8s.io` betas
    /// (v1.26 to v1.32).
    ///
    /// ## Why is this bad?
    /// A current API server rejects these manifests, so they cannot be applied as written.
    /// They are also a sign that the manifests, and the security settings in them, have not
    /// been maintained: removed APIs often lack fields (such as the newer security context
    /// options) that their replacements have, and tooling pinned to them tends to lag on
    /// security fixes.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: extensions/v1beta1
    /// kind: Deployment
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// ```
    /// `kubectl convert` (a kubectl plugin) rewrites most manifests; check the fields that
    /// changed between versions (e.g. `spec.selector` is required in `apps/v1`).
    pub struct DeprecatedApiVersion {
        id: "PAL118",
        name: "deprecated-api-version",
        title: "Removed API version",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: Some("Upgrading and application security practices"),
        mitre: &[],
    }
}

impl Check for DeprecatedApiVersion {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(r) = lookup(obj.api_version.trim(), &obj.kind) else {
            return;
        };
        out.emit(
            "apiVersion",
            obj.locate(&["apiVersion"]),
            format!(
                "{} uses apiVersion {}, removed in Kubernetes v{}; use {}",
                obj.kind, r.api_version, r.removed_in, r.replacement
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn table_is_kind_aware() {
        assert_eq!(
            lookup("extensions/v1beta1", "Deployment")
                .unwrap()
                .removed_in,
            "1.16"
        );
        assert_eq!(
            lookup("extensions/v1beta1", "Ingress").unwrap().removed_in,
            "1.22"
        );
        assert_eq!(
            lookup("apps/v1beta2", "StatefulSet").unwrap().removed_in,
            "1.16"
        );
        assert_eq!(
            lookup("autoscaling/v2beta2", "HorizontalPodAutoscaler")
                .unwrap()
                .removed_in,
            "1.26"
        );
        assert!(lookup("networking.k8s.io/v1beta1", "ServiceCIDR").is_none());
        assert!(lookup("certificates.k8s.io/v1beta1", "ClusterTrustBundle").is_none());
        assert!(lookup("apps/v1", "Deployment").is_none());
        assert!(lookup("batch/v1beta1", "Job").is_none());
    }

    #[test]
    fn flags_removed_api_versions_at_api_version_line() {
        let f = run(
            &DeprecatedApiVersion,
            r#"
kind: Ingress
metadata: {name: web}
apiVersion: networking.k8s.io/v1beta1
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly}
"#,
        );
        assert_eq!(paths(&f), ["apiVersion", "apiVersion"]);
        assert_eq!(f[0].line, 4);
        assert_eq!(
            f[0].message,
            "Ingress uses apiVersion networking.k8s.io/v1beta1, removed in Kubernetes v1.22; use networking.k8s.io/v1"
        );
        assert_eq!(f[1].line, 6);
        assert!(f[1].message.contains("v1.25"));
    }

    #[test]
    fn current_api_versions_are_clean() {
        let f = run(
            &DeprecatedApiVersion,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
---
apiVersion: example.com/v1beta1
kind: Deployment
metadata: {name: custom}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
