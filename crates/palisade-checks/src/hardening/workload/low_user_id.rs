use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

/// UIDs below this may collide with accounts on the node.
const MIN_UID: i64 = 10000;

fn is_low(uid: i64) -> bool {
    uid > 0 && uid < MIN_UID
}

declare_check! {
    /// ## What it does
    /// Flags an effective `runAsUser` between 1 and 9999. A container's own
    /// `securityContext.runAsUser` overrides the pod's; a container-level value is reported
    /// at the container, and a pod-level value once, at the pod, when at least one container
    /// inherits it. UID 0 is left to PSS204 (`run-as-user`).
    ///
    /// When neither the pod nor the container sets `runAsUser`, nothing is reported: the
    /// image's `USER` decides, and Palisade does not read images. Windows pods and pods in a
    /// user namespace (`hostUsers: false`, whose UIDs are remapped on the node) are not
    /// checked.
    ///
    /// ## Why is this bad?
    /// Low UIDs are where the node's own accounts and system services live. A process that
    /// escapes the container keeps its UID on the host, and with a low UID it can own or
    /// read host files of a real account. A UID of 10000 or more is unlikely to match any.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   runAsUser: 1000
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   runAsNonRoot: true
    ///   runAsUser: 10001
    ///   runAsGroup: 10001
    /// ```
    pub struct LowUserId {
        id: "PAL113",
        name: "low-user-id",
        title: "Container runs with a low UID",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &[],
    }
}

impl Check for LowUserId {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        if pod.is_windows() || pod.in_user_namespace() {
            return;
        }
        let f = ["securityContext", "runAsUser"];
        let pod_uid = pod.spec.at(&f).and_then(Node::as_i64);
        let containers = pod.containers();
        let inheriting: Vec<String> = containers
            .iter()
            .filter(|c| c.node.at(&f).is_none_or(Node::is_null))
            .map(|c| c.label())
            .collect();
        if let Some(uid) = pod_uid.filter(|u| is_low(*u)) {
            if !inheriting.is_empty() {
                out.emit(
                    node::join(&pod.path("securityContext"), "runAsUser"),
                    pod.locate(&f),
                    format!(
                        "pod securityContext.runAsUser={uid} is below {MIN_UID} and applies to {}",
                        inheriting.join(", ")
                    ),
                );
            }
        }
        for c in &containers {
            if let Some(uid) = c.node.at(&f).and_then(Node::as_i64).filter(|u| is_low(*u)) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!(
                        "{} sets securityContext.runAsUser={uid}, below {MIN_UID}",
                        c.label()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_low_uids_where_they_are_set() {
        let f = run(
            &LowUserId,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
      initContainers:
        - name: init
      containers:
        - name: high
          securityContext: {runAsUser: 10001}
        - name: low
          securityContext:
            runAsUser: 33
        - name: root
          securityContext: {runAsUser: 0}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.securityContext.runAsUser",
                "spec.template.spec.containers[1].securityContext.runAsUser",
            ]
        );
        assert_eq!(f[0].line, 9);
        assert_eq!(
            f[0].message,
            "pod securityContext.runAsUser=1000 is below 10000 and applies to init container \"init\""
        );
        assert_eq!(f[1].line, 17);
    }

    #[test]
    fn high_unset_overridden_and_user_namespaced_are_clean() {
        let f = run(
            &LowUserId,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: overridden}
spec:
  securityContext: {runAsUser: 1000}
  containers:
    - name: a
      securityContext: {runAsUser: 20000}
---
apiVersion: v1
kind: Pod
metadata: {name: unset}
spec:
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: userns}
spec:
  hostUsers: false
  securityContext: {runAsUser: 1000}
  containers: [{name: a}]
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
