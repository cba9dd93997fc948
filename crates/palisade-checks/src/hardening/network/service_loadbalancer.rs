use super::policy::{service_spec, service_type};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};
use std::net::IpAddr;

/// The legacy annotation that some cloud providers read instead of
/// `spec.loadBalancerSourceRanges`.
const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

/// Annotations that make a cloud load balancer internal (value, case-insensitive; `None`: any
/// value other than `false`).
const INTERNAL_ANNOTATIONS: &[(&str, Option<&str>)] = &[
    (
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        None,
    ),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        Some("internal"),
    ),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        Some("true"),
    ),
    ("networking.gke.io/load-balancer-type", Some("internal")),
    ("cloud.google.com/load-balancer-type", Some("internal")),
    (
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        Some("true"),
    ),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        Some("true"),
    ),
    (
        "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
        Some("private"),
    ),
    (
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
        Some("intranet"),
    ),
];

declare_check! {
    /// ## What it does
    /// Flags Services of `type: LoadBalancer` that accept traffic from any address: without
    /// `spec.loadBalancerSourceRanges` (or the legacy
    /// `service.beta.kubernetes.io/load-balancer-source-ranges` annotation), one finding at
    /// `spec.type`; with a range of prefix length 0 (`0.0.0.0/0`, `::/0`), one finding per
    /// such range.
    ///
    /// Services annotated as internal load balancers (AWS, Azure, GKE, OpenStack, OCI, IBM
    /// Cloud and Alibaba Cloud annotations) are not reported: they get no public address.
    ///
    /// ## Why is this bad?
    /// A cloud load balancer usually gets a public address. Without source ranges the
    /// workload is reachable from the whole internet, where it is found by scanners within
    /// minutes.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   type: LoadBalancer
    ///   ports: [{port: 443}]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   type: LoadBalancer
    ///   loadBalancerSourceRanges: ["203.0.113.0/24"]
    ///   ports: [{port: 443}]
    /// ```
    /// or make the load balancer internal, or expose the workload through an Ingress.
    pub struct ServiceLoadBalancer {
        id: "PAL402",
        name: "service-loadbalancer",
        title: "LoadBalancer Service open to any address",
        severity: Medium,
        category: Network,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening"),
        mitre: &["T1190"],
    }
}

/// A range of prefix length 0 (`0.0.0.0/0`, `::/0`, ...): every address.
fn is_any_address(range: &str) -> bool {
    let Some((ip, len)) = range.trim().split_once('/') else {
        return false;
    };
    len.trim().parse::<u8>() == Ok(0) && ip.trim().parse::<IpAddr>().is_ok()
}

fn is_internal(obj: &Object) -> bool {
    INTERNAL_ANNOTATIONS.iter().any(|(key, want)| {
        obj.annotation(key).is_some_and(|v| match want {
            Some(w) => v.trim().eq_ignore_ascii_case(w),
            None => !v.trim().eq_ignore_ascii_case("false"),
        })
    })
}

impl Check for ServiceLoadBalancer {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(spec) = service_spec(obj) else {
            return;
        };
        if service_type(spec) != Some("LoadBalancer") || is_internal(obj) {
            return;
        }
        let ranges = spec
            .get("loadBalancerSourceRanges")
            .map(Node::items)
            .unwrap_or(&[]);
        if !ranges.is_empty() {
            for (i, r) in ranges.iter().enumerate() {
                let Some(s) = r.as_str() else { continue };
                if is_any_address(s) {
                    out.emit(
                        node::index("spec.loadBalancerSourceRanges", i),
                        if r.pos.line > 0 { r.pos } else { obj.locate(&["spec", "loadBalancerSourceRanges"]) },
                        format!("LoadBalancer source range {s:?} admits every address; list only the networks that need access"),
                    );
                }
            }
            return;
        }
        if let Some(a) = obj.annotation(SOURCE_RANGES_ANNOTATION) {
            let any: Vec<&str> = a
                .split(',')
                .map(str::trim)
                .filter(|r| is_any_address(r))
                .collect();
            if !any.is_empty() {
                out.emit(
                    node::join("metadata.annotations", SOURCE_RANGES_ANNOTATION),
                    obj.locate(&["metadata", "annotations", SOURCE_RANGES_ANNOTATION]),
                    format!(
                        "LoadBalancer source ranges include {}, which admits every address",
                        any.join(", ")
                    ),
                );
            }
            if a.split(',').any(|r| !r.trim().is_empty()) {
                return;
            }
        }
        out.emit(
            "spec.type",
            obj.locate(&["spec", "type"]),
            "LoadBalancer Service has no loadBalancerSourceRanges: it accepts traffic from any address",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_open_load_balancers() {
        let f = run(
            &ServiceLoadBalancer,
            r#"
apiVersion: v1
kind: Service
metadata: {name: open}
spec:
  type: LoadBalancer
  ports: [{port: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: ranges}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges:
    - 203.0.113.0/24
    - 0.0.0.0/0
    - "::/0"
---
apiVersion: v1
kind: Service
metadata:
  name: annotated
  annotations:
    service.beta.kubernetes.io/load-balancer-source-ranges: "10.0.0.0/8, 0.0.0.0/0"
spec: {type: LoadBalancer}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.type",
                "spec.loadBalancerSourceRanges[1]",
                "spec.loadBalancerSourceRanges[2]",
                "metadata.annotations[\"service.beta.kubernetes.io/load-balancer-source-ranges\"]",
            ]
        );
        assert_eq!(
            [f[0].line, f[1].line, f[2].line, f[3].line],
            [6, 16, 17, 24]
        );
    }

    #[test]
    fn ignores_restricted_internal_and_other_services() {
        let f = run(
            &ServiceLoadBalancer,
            r#"
apiVersion: v1
kind: Service
metadata: {name: restricted}
spec: {type: LoadBalancer, loadBalancerSourceRanges: [203.0.113.0/24, 10.0.0.0/8]}
---
apiVersion: v1
kind: Service
metadata:
  name: internal
  annotations: {networking.gke.io/load-balancer-type: Internal}
spec: {type: LoadBalancer}
---
apiVersion: v1
kind: Service
metadata:
  name: aws-internal
  annotations: {service.beta.kubernetes.io/aws-load-balancer-internal: "true"}
spec: {type: LoadBalancer}
---
apiVersion: v1
kind: Service
metadata: {name: cluster}
spec: {type: ClusterIP}
---
apiVersion: v1
kind: Service
metadata: {name: odd}
spec: {type: LoadBalancer, loadBalancerSourceRanges: [7, null, "10.0.0.0/8"]}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
        assert!(is_any_address("0.0.0.0/0") && is_any_address(" ::/0") && is_any_address("0::/0"));
        assert!(
            !is_any_address("0.0.0.0/8") && !is_any_address("foo/0") && !is_any_address("0.0.0.0")
        );
    }
}
