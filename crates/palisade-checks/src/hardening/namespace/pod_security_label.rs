use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::Severity;
use palisade_model::{node, Node, Object};

/// The Pod Security Admission label that enforces a level.
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";
/// Namespaces created by Kubernetes itself.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

declare_check! {
    /// ## What it does
    /// Flags Namespace objects whose Pod Security Admission enforcement is missing or
    /// disabled: no `pod-security.kubernetes.io/enforce` label, or a value that is not a
    /// level (`privileged`, `baseline`, `restricted`), is reported at the check's severity
    /// (low); `enforce: privileged` is reported as medium.
    ///
    /// The namespaces Kubernetes creates itself (`kube-system`, `kube-public`,
    /// `kube-node-lease`) are not reported for a missing label, as they are usually left to
    /// the cluster-wide default; an explicit `privileged` level is still reported there
    /// (exempt `kube-system` in the configuration if it must run privileged node
    /// components). Namespaces that only appear as the namespace of other objects cannot be
    /// checked: the Namespace object must be in the scan.
    ///
    /// ## Why is this bad?
    /// Without an enforced level, the namespace falls back to the cluster's admission default,
    /// which is `privileged` unless the cluster configures otherwise: anyone who can create
    /// pods there can create privileged pods, mount the host filesystem and take over the
    /// node. `warn` and `audit` labels alone only report violations.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    ///   labels:
    ///     pod-security.kubernetes.io/warn: restricted
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    ///   labels:
    ///     pod-security.kubernetes.io/enforce: restricted   # or baseline
    ///     pod-security.kubernetes.io/warn: restricted
    /// ```
    pub struct NamespacePodSecurityLabel {
        id: "PAL601",
        name: "namespace-pod-security-label",
        title: "Namespace without an enforced Pod Security level",
        severity: Low,
        category: Namespace,
        pss: None,
        cis: Some("5.2.1"),
        nsa: Some("Kubernetes Pod security: Pod security enforcement"),
        mitre: &[],
    }
}

impl Check for NamespacePodSecurityLabel {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        if obj.kind != "Namespace" || !obj.group().is_empty() {
            return;
        }
        let system = SYSTEM_NAMESPACES.contains(&obj.name.as_str());
        let label = obj.labels().get(ENFORCE);
        match label.and_then(Node::scalar_string).as_deref() {
            Some("privileged") => out.emit_with(
                node::join("metadata.labels", ENFORCE),
                obj.locate(&["metadata", "labels", ENFORCE]),
                "namespace enforces the privileged Pod Security level: pods may run privileged and reach the host",
                Severity::Medium,
            ),
            Some("baseline" | "restricted") => {}
            _ if system => {}
            Some(other) => out.emit(
                node::join("metadata.labels", ENFORCE),
                obj.locate(&["metadata", "labels", ENFORCE]),
                format!("{ENFORCE}={other:?} is not a Pod Security level (privileged, baseline, restricted): nothing is enforced"),
            ),
            None => out.emit(
                "metadata.labels",
                obj.locate(&["metadata", "labels"]),
                format!(
                    "namespace has no {ENFORCE} label{}: pods are admitted under the cluster default, usually privileged",
                    if label.is_some() { " value" } else { "" }
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_missing_invalid_and_privileged_levels() {
        let f = run(
            &NamespacePodSecurityLabel,
            r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: v1
kind: Namespace
metadata:
  name: typo
  labels: {pod-security.kubernetes.io/enforce: Restricted}
---
apiVersion: v1
kind: Namespace
metadata: {name: bare}
---
apiVersion: v1
kind: Namespace
metadata:
  name: kube-system
  labels: {pod-security.kubernetes.io/enforce: privileged}
"#,
        );
        let enforce = "metadata.labels[\"pod-security.kubernetes.io/enforce\"]";
        assert_eq!(
            paths(&f),
            [
                "metadata.labels",
                enforce,
                enforce,
                "metadata.labels",
                enforce
            ]
        );
        assert_eq!(
            f.iter().map(|x| x.line).collect::<Vec<_>>(),
            [6, 14, 20, 24, 30]
        );
        let sev: Vec<Severity> = f.iter().map(|x| x.severity).collect();
        assert_eq!(
            sev,
            [
                Severity::Low,
                Severity::Medium,
                Severity::Low,
                Severity::Low,
                Severity::Medium
            ]
        );
        assert!(f[2]
            .message
            .contains("\"Restricted\" is not a Pod Security level"));
    }

    #[test]
    fn ignores_enforced_levels_and_unlabelled_system_namespaces() {
        let f = run(
            &NamespacePodSecurityLabel,
            r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: tools
  labels: {pod-security.kubernetes.io/enforce: baseline}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-public}
---
apiVersion: example.com/v1
kind: Namespace
metadata: {name: custom}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x, namespace: unlabelled}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
