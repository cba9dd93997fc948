use super::baseline;
use crate::context::{is_true, Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags containers that set `securityContext.privileged: true`.
    ///
    /// ## Why is this bad?
    /// A privileged container runs with every capability, sees every host device and is not
    /// confined by seccomp, AppArmor or SELinux: escaping to the node is trivial.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     securityContext:
    ///       privileged: true
    /// ```
    ///
    /// ## Use instead
    /// Remove `privileged` (or set it to `false`) and grant only the specific capabilities
    /// the workload needs.
    pub struct Privileged {
        id: "PSS102",
        name: "privileged",
        title: "Privileged container",
        severity: Critical,
        category: PodSecurity,
        pss: baseline("privileged", 0),
        cis: Some("5.2.2"),
        nsa: Some("Pod security: non-root containers and no privileged containers"),
        mitre: &["T1611"],
    }
}

impl Check for Privileged {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            let f = ["securityContext", "privileged"];
            if is_true(c.node.at(&f)) {
                out.emit(
                    c.path(&f),
                    c.locate(&f),
                    format!("{} must not set securityContext.privileged=true", c.label()),
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
    fn flags_privileged_containers_with_path_and_line() {
        let f = run(
            &Privileged,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - name: init
          securityContext: {privileged: false}
      containers:
        - name: a
        - name: b
          securityContext:
            privileged: true
"#,
        );
        assert_eq!(
            paths(&f),
            ["spec.template.spec.containers[1].securityContext.privileged"]
        );
        assert_eq!(f[0].line, 15);
        assert!(f[0].message.contains("container \"b\""));
    }
}
