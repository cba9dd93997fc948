use super::{service_account_name, token_mount, TokenMount};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags pods that get a service account token mounted automatically: the pod does not
    /// set `automountServiceAccountToken: false`, and the ServiceAccount it runs as
    /// (`serviceAccountName`, or `default`) is not in the scanned set with
    /// `automountServiceAccountToken: false` in the same namespace. A pod that sets
    /// `automountServiceAccountToken: true` is flagged whatever its ServiceAccount says,
    /// since the pod's setting wins.
    ///
    /// When the ServiceAccount is not among the scanned objects Palisade cannot see its
    /// setting and assumes the Kubernetes default (mount); scan the ServiceAccount together
    /// with the workload to avoid this.
    ///
    /// ## Why is this bad?
    /// Every container of the pod can read the token at
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token` and call the API server with the
    /// ServiceAccount's permissions. Most applications never talk to the API server; for
    /// them the token is only a credential waiting to be stolen.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   serviceAccountName: web
    ///   containers:
    ///     - name: web
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   serviceAccountName: web
    ///   automountServiceAccountToken: false
    ///   containers:
    ///     - name: web
    /// ```
    /// Or set `automountServiceAccountToken: false` on the ServiceAccount. Workloads that do
    /// need the API can mount a short-lived token with a `projected` volume instead.
    pub struct AutomountServiceAccountToken {
        id: "PAL106",
        name: "automount-service-account-token",
        title: "Service account token mounted automatically",
        severity: Medium,
        category: Workload,
        pss: None,
        cis: Some("5.1.6"),
        nsa: Some("Pod security: protecting Pod service account tokens"),
        mitre: &["T1528", "T1552.001"],
    }
}

impl Check for AutomountServiceAccountToken {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let (sa, _) = service_account_name(&pod);
        let why = match token_mount(cx, &pod, &sa) {
            TokenMount::DisabledByPod | TokenMount::DisabledByServiceAccount => return,
            TokenMount::EnabledByPod => {
                "pod sets automountServiceAccountToken=true: the service account token is mounted into every container".to_string()
            }
            TokenMount::EnabledByServiceAccount => format!(
                "pod does not set automountServiceAccountToken=false and its ServiceAccount {sa:?} does not disable automounting either"
            ),
            TokenMount::ServiceAccountNotScanned => format!(
                "pod does not set automountServiceAccountToken=false and its ServiceAccount {sa:?} is not in the scanned set, so the token is mounted by default"
            ),
        };
        let f = ["automountServiceAccountToken"];
        out.emit(pod.path(f[0]), pod.locate(&f), why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
        - name: web
"#;

    #[test]
    fn flags_pods_whose_service_account_is_not_scanned() {
        let f = run(&AutomountServiceAccountToken, DEPLOYMENT);
        assert_eq!(
            paths(&f),
            ["spec.template.spec.automountServiceAccountToken"]
        );
        assert_eq!(f[0].line, 8);
        assert!(
            f[0].message.contains("\"web\" is not in the scanned set"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn service_account_setting_is_honoured_in_its_namespace_only() {
        let sa = |ns: &str, automount: &str| {
            format!(
                "{DEPLOYMENT}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: web, namespace: {ns}}}\nautomountServiceAccountToken: {automount}\n"
            )
        };
        assert!(run(&AutomountServiceAccountToken, &sa("shop", "false")).is_empty());
        let f = run(&AutomountServiceAccountToken, &sa("shop", "true"));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("does not disable automounting"));
        let f = run(&AutomountServiceAccountToken, &sa("other", "false"));
        assert!(f[0].message.contains("not in the scanned set"));
    }

    #[test]
    fn pod_setting_wins() {
        let disabled = DEPLOYMENT.replace(
            "serviceAccountName: web",
            "serviceAccountName: web\n      automountServiceAccountToken: false",
        );
        assert!(run(&AutomountServiceAccountToken, &disabled).is_empty());
        let enabled = format!(
            "{}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: web, namespace: shop}}\nautomountServiceAccountToken: false\n",
            disabled.replace("Token: false", "Token: true")
        );
        let f = run(&AutomountServiceAccountToken, &enabled);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].line, 9);
        assert!(f[0]
            .message
            .contains("sets automountServiceAccountToken=true"));
    }

    #[test]
    fn default_service_account_is_looked_up() {
        let f = run(
            &AutomountServiceAccountToken,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default}
automountServiceAccountToken: false
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
