//! Shared helpers for the network checks: Services, NetworkPolicies in a namespace, the
//! workloads the engine checks, and the object a namespace-level finding is attached to.

use crate::context::{Context, Emitter, Inventory};
use crate::util::strings;
use palisade_model::{LabelSelector, Node, Object};

/// The API group of NetworkPolicy.
pub const NETWORKING_GROUP: &str = "networking.k8s.io";

/// The `spec` of a core `Service`, or `None` for anything else.
pub fn service_spec(obj: &Object) -> Option<&Node> {
    if obj.kind != "Service" || !obj.group().is_empty() {
        return None;
    }
    Some(obj.root.get("spec").unwrap_or(Node::null()))
}

/// `spec.type` of a Service, when it is a string.
pub fn service_type(spec: &Node) -> Option<&str> {
    spec.get("type").and_then(Node::as_str)
}

/// The `networking.k8s.io` NetworkPolicies whose effective namespace is `ns`, in scan order.
pub fn policies_in<'a>(inv: &Inventory<'a>, ns: &str) -> Vec<&'a Object> {
    inv.of_kind_in("NetworkPolicy", ns)
        .iter()
        .copied()
        .filter(|p| p.group() == NETWORKING_GROUP)
        .collect()
}

/// The pod selector of a NetworkPolicy (absent or null: the empty selector, all pods).
pub fn pod_selector(np: &Object) -> LabelSelector {
    LabelSelector::from_node(np.root.at(&["spec", "podSelector"]).unwrap_or(Node::null()))
}

/// `true` when `obj` carries the once-per-namespace finding about `ns` (see
/// [`Inventory::namespace_anchor`]).
pub fn is_namespace_anchor(inv: &Inventory<'_>, obj: &Object, ns: &str) -> bool {
    inv.namespace_anchor(ns)
        .is_some_and(|a| std::ptr::eq(a, obj))
}

/// The namespace a namespace-level check considers for `obj`: a Namespace object's own name, a
/// workload's effective namespace; `None` for other objects.
pub fn candidate_namespace(obj: &Object) -> Option<&str> {
    if obj.kind == "Namespace" && obj.group().is_empty() {
        Some(obj.name.as_str())
    } else if obj.pod().is_some() {
        Some(Inventory::namespace_of(obj))
    } else {
        None
    }
}

/// A traffic direction of a NetworkPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The `policyTypes` value.
    pub fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
    /// The rules field.
    pub fn field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// `true` when `np` denies all traffic in `dir` to every pod of its namespace: an empty pod
/// selector, `dir` among its policy types, and no rules for `dir`. Without `policyTypes`
/// (absent or empty), a policy is an Ingress policy (and an Egress policy only when it has
/// egress rules, which then allow something), as the API server defaults it. A rule `- {}`
/// allows everything and is no denial.
pub fn is_default_deny(np: &Object, dir: Direction) -> bool {
    let spec = np.root.get("spec").unwrap_or(Node::null());
    if !pod_selector(np).is_empty() {
        return false;
    }
    let types = spec.get("policyTypes");
    let applies = match types {
        Some(t) if !t.items().is_empty() => strings(Some(t)).iter().any(|s| s == dir.policy_type()),
        _ => dir == Direction::Ingress,
    };
    let no_rules = match spec.get(dir.field()) {
        None => true,
        Some(r) => r.is_null() || (r.is_seq() && r.items().is_empty()),
    };
    applies && no_rules
}

/// Does some NetworkPolicy in `ns` deny all `dir` traffic by default?
pub fn has_default_deny(inv: &Inventory<'_>, ns: &str, dir: Direction) -> bool {
    policies_in(inv, ns)
        .iter()
        .any(|np| is_default_deny(np, dir))
}

/// The shared logic of the default-deny checks: reports namespace `ns` once, on its anchor
/// object, when no NetworkPolicy in it denies all `dir` traffic by default.
pub fn report_missing_default_deny(
    cx: &Context<'_>,
    obj: &Object,
    out: &mut Emitter<'_>,
    dir: Direction,
) {
    let Some(ns) = candidate_namespace(obj) else {
        return;
    };
    if !is_namespace_anchor(cx.inventory, obj, ns) || has_default_deny(cx.inventory, ns, dir) {
        return;
    }
    let what = dir.field();
    let types = match dir {
        Direction::Ingress => "policyTypes [Ingress] (or none)",
        Direction::Egress => "policyTypes [Egress]",
    };
    let message = format!(
        "namespace {ns:?} runs workloads but has no default-deny {what} NetworkPolicy \
         (podSelector: {{}}, {types}, no {what} rules)"
    );
    if obj.kind == "Namespace" {
        out.emit("metadata.name", obj.locate(&["metadata", "name"]), message);
    } else {
        let (path, pos) = if obj.metadata().get("namespace").is_some() {
            ("metadata.namespace", obj.locate(&["metadata", "namespace"]))
        } else {
            ("metadata", obj.locate(&["metadata"]))
        };
        out.emit(
            path,
            pos,
            format!("{message}; reported on the namespace's first workload, as the Namespace object is not in the scan"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{load_bytes, LoadOptions, Source};

    fn objects(yaml: &str) -> Vec<Object> {
        load_bytes(yaml.as_bytes(), Source::Stdin, &LoadOptions::default()).objects
    }

    #[test]
    fn default_deny_variants() {
        let objs = objects(
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: implied-ingress}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: both}
spec:
  podSelector: {matchLabels: {}}
  policyTypes: [Ingress, Egress]
  ingress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all}
spec:
  podSelector: {}
  ingress: [{}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: selected}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-empty-types}
spec:
  podSelector: {}
  policyTypes: []
  egress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken}
spec: {podSelector: "all", policyTypes: "Ingress"}
"#,
        );
        let deny = |i: usize, d| is_default_deny(&objs[i], d);
        assert!(deny(0, Direction::Ingress) && !deny(0, Direction::Egress));
        assert!(deny(1, Direction::Ingress) && deny(1, Direction::Egress));
        assert!(!deny(2, Direction::Ingress));
        assert!(!deny(3, Direction::Ingress) && !deny(3, Direction::Egress));
        assert!(deny(4, Direction::Ingress) && !deny(4, Direction::Egress));
        assert!(!deny(5, Direction::Ingress));
    }

    #[test]
    fn anchors_prefer_the_namespace_object_then_the_first_workload() {
        let objs = objects(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: owned, namespace: a, ownerReferences: [{controller: true, uid: "rs-1"}]}
spec: {containers: [{name: c}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: a, uid: "rs-1"}
spec: {template: {spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: b}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
"#,
        );
        let inv = Inventory::new(&objs);
        let anchors = |ns: &str| -> Vec<usize> {
            (0..objs.len())
                .filter(|&i| is_namespace_anchor(&inv, &objs[i], ns))
                .collect()
        };
        // The owned Pod comes first but is checked through its ReplicaSet.
        assert_eq!(anchors("a"), [1]);
        assert_eq!(anchors("b"), [2]);
        assert!(anchors("empty").is_empty());
        assert!(anchors("default").is_empty());
    }
}
