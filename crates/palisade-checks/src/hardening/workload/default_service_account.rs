use super::{projects_token, service_account_name, token_mount};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags pods that run as their namespace's `default` ServiceAccount (no
    /// `serviceAccountName`, the deprecated `serviceAccount`, or either set to `default`)
    /// and get its token: automatically (see PAL106 for how that is decided) or through a
    /// `projected` `serviceAccountToken` volume.
    ///
    /// A pod whose token is not mounted (the pod, or a scanned `default` ServiceAccount of
    /// its namespace, sets `automountServiceAccountToken: false`) is not reported: it holds
    /// no credential of the default account, which is what CIS recommends for workloads
    /// that do not use the API.
    ///
    /// ## Why is this bad?
    /// Every pod of the namespace that does not choose an account shares the `default`
    /// one. Any permission granted to it, often added "just to make something work", is
    /// then held by every such pod, and a compromise of one of them is a compromise of all.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///     - name: web
    /// ```
    ///
    /// ## Use instead
    /// Create a ServiceAccount per workload and bind only the permissions it needs; if it
    /// needs none, also disable the token:
    /// ```yaml
    /// spec:
    ///   serviceAccountName: web
    ///   automountServiceAccountToken: false
    ///   containers:
    ///     - name: web
    /// ```
    pub struct DefaultServiceAccount {
        id: "PAL115",
        name: "default-service-account",
        title: "Pod uses the default service account",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: Some("5.1.5"),
        nsa: None,
        mitre: &[],
    }
}

impl Check for DefaultServiceAccount {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let (sa, explicit) = service_account_name(&pod);
        if sa != "default" {
            return;
        }
        if !token_mount(cx, &pod, &sa).mounted() && !projects_token(&pod) {
            return;
        }
        let key = if explicit && pod.spec.get("serviceAccountName").is_none() {
            "serviceAccount"
        } else {
            "serviceAccountName"
        };
        let message = if explicit {
            format!("pod sets {key}: default and holds the default ServiceAccount's token")
        } else {
            "pod does not set serviceAccountName and runs with the default ServiceAccount's token"
                .to_string()
        };
        out.emit(pod.path(key), pod.locate(&[key]), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_pods_on_the_default_service_account() {
        let f = run(
            &DefaultServiceAccount,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  serviceAccount: default
  containers: [{name: a}]
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.serviceAccountName",
                "spec.serviceAccount"
            ]
        );
        assert_eq!(f[0].line, 8);
        assert!(f[0].message.contains("does not set serviceAccountName"));
        assert_eq!(f[1].line, 14);
        assert!(f[1].message.contains("sets serviceAccount: default"));
    }

    #[test]
    fn projected_token_counts_even_without_automount() {
        let f = run(
            &DefaultServiceAccount,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: false
  containers: [{name: a}]
  volumes:
    - name: token
      projected:
        sources:
          - serviceAccountToken: {path: token, audience: vault}
"#,
        );
        assert_eq!(paths(&f), ["spec.serviceAccountName"]);
    }

    #[test]
    fn dedicated_or_tokenless_pods_are_clean() {
        let f = run(
            &DefaultServiceAccount,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: dedicated, namespace: shop}
spec:
  serviceAccountName: web
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: no-token, namespace: shop}
spec:
  automountServiceAccountToken: false
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: sa-disabled, namespace: ops}
spec:
  containers: [{name: a}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: ops}
automountServiceAccountToken: false
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
