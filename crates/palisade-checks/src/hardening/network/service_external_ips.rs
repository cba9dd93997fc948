use super::policy::service_spec;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::{quote_list, strings};
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags Services that set `spec.externalIPs`.
    ///
    /// ## Why is this bad?
    /// `externalIPs` make kube-proxy capture traffic for the listed addresses on every node.
    /// Anyone allowed to create or edit a Service can list someone else's address and
    /// intercept its traffic from inside the cluster (CVE-2020-8554, a man-in-the-middle
    /// that Kubernetes cannot fix by design). Clusters should block the field with an
    /// admission policy (for example the `DenyServiceExternalIPs` admission plugin), and
    /// manifests should not rely on it.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   externalIPs: ["198.51.100.7"]
    /// ```
    ///
    /// ## Use instead
    /// Remove `externalIPs`; expose the Service with a `LoadBalancer` (restricted with
    /// `loadBalancerSourceRanges`) or an Ingress.
    pub struct ServiceExternalIps {
        id: "PAL403",
        name: "service-external-ips",
        title: "Service with externalIPs",
        severity: High,
        category: Network,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening"),
        mitre: &["T1557"],
    }
}

impl Check for ServiceExternalIps {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(spec) = service_spec(obj) else {
            return;
        };
        let Some(ips) = spec.get("externalIPs") else {
            return;
        };
        if ips.items().is_empty() && ips.as_str().is_none_or(str::is_empty) {
            return;
        }
        let list = if ips.is_seq() {
            strings(Some(ips))
        } else {
            ips.scalar_string().into_iter().collect()
        };
        out.emit(
            "spec.externalIPs",
            obj.locate(&["spec", "externalIPs"]),
            format!(
                "Service sets externalIPs {}: traffic to these addresses can be intercepted cluster-wide (CVE-2020-8554)",
                quote_list(&list)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_external_ips() {
        let f = run(
            &ServiceExternalIps,
            r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  externalIPs:
    - 198.51.100.7
"#,
        );
        assert_eq!(paths(&f), ["spec.externalIPs"]);
        assert_eq!(f[0].line, 7);
        assert!(
            f[0].message.contains("\"198.51.100.7\""),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn ignores_empty_or_absent_external_ips() {
        let f = run(
            &ServiceExternalIps,
            r#"
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {externalIPs: []}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {externalIPs: ~}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: {type: ClusterIP}
---
apiVersion: v1
kind: Endpoints
metadata: {name: d}
spec: {externalIPs: [198.51.100.7]}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
