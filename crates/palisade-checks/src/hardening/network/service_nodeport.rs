use super::policy::{service_spec, service_type};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Flags Services of `type: NodePort`.
    ///
    /// `LoadBalancer` Services also allocate node ports; their exposure is judged by PAL402.
    ///
    /// ## Why is this bad?
    /// A NodePort Service listens on every node's addresses, on a port in the node-port range
    /// (30000–32767 by default). Anyone who can reach any node can reach the workload,
    /// bypassing the ingress layer, its TLS and its authentication, and node addresses are
    /// often reachable from far wider networks than intended.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   type: NodePort
    ///   ports:
    ///     - port: 80
    ///       nodePort: 30080
    /// ```
    ///
    /// ## Use instead
    /// Use a `ClusterIP` Service and expose it through an Ingress or Gateway (or, when it must
    /// be reachable from outside, a `LoadBalancer` restricted with `loadBalancerSourceRanges`).
    pub struct ServiceNodePort {
        id: "PAL401",
        name: "service-nodeport",
        title: "NodePort Service",
        severity: Medium,
        category: Network,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening"),
        mitre: &["T1133"],
    }
}

impl Check for ServiceNodePort {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(spec) = service_spec(obj) else {
            return;
        };
        if service_type(spec) != Some("NodePort") {
            return;
        }
        let ports: Vec<String> = spec
            .get("ports")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|p| p.get("nodePort").and_then(Node::as_i64))
            .map(|p| p.to_string())
            .collect();
        let which = if ports.is_empty() {
            "allocated node ports".to_string()
        } else {
            format!(
                "node port{} {}",
                if ports.len() == 1 { "" } else { "s" },
                ports.join(", ")
            )
        };
        out.emit(
            "spec.type",
            obj.locate(&["spec", "type"]),
            format!("Service is of type NodePort: {which} open on every node; use ClusterIP behind an Ingress"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_nodeport_services() {
        let f = run(
            &ServiceNodePort,
            r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  type: NodePort
  ports:
    - {port: 80, nodePort: 30080}
    - {port: 443}
"#,
        );
        assert_eq!(paths(&f), ["spec.type"]);
        assert_eq!(f[0].line, 7);
        assert!(
            f[0].message.contains("node port 30080 "),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn ignores_other_types_and_kinds() {
        let f = run(
            &ServiceNodePort,
            r#"
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {type: ClusterIP}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: LoadBalancer, ports: [{port: 80, nodePort: 30001}]}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: [not, a, map]
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: d}
spec: {type: NodePort}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
