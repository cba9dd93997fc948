//! Kubernetes semantics the conformance suite exercises only indirectly, one rule per test.

mod common;
use common::yaml;
use palisade_netpol::explain::endpoint;
use palisade_netpol::{BuildOptions, ConnSet, Engine, Network, Protocol};

const PODS: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: y}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec:
  containers:
  - name: c
    ports:
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 53, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: a, labels: {app: api}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {app: api}}
spec: {containers: [{name: c}]}
";

fn conns(policies: &str, src: &str, dst: &str, opts: &BuildOptions) -> ConnSet {
    let mut objs = yaml(PODS);
    objs.extend(yaml(policies));
    let net = Network::build(&objs, opts);
    let e = Engine::new(&net);
    let (s, d) = (endpoint(&e, src).unwrap(), endpoint(&e, dst).unwrap());
    e.allowed(s, d)
}

fn c(s: &str) -> ConnSet {
    ConnSet::parse(s).unwrap()
}

const NP: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n";

#[test]
fn policy_types_default_to_ingress_plus_egress_when_egress_rules_exist() {
    let p = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  egress:\n  - ports: [{{port: 443}}]\n");
    // Ingress is isolated (no ingress rules), egress allows TCP 443 only.
    assert_eq!(
        conns(&p, "a/api", "a/web", &BuildOptions::default()),
        c("No Connections")
    );
    assert_eq!(
        conns(&p, "a/web", "1.2.3.4", &BuildOptions::default()),
        c("TCP 443")
    );
}

#[test]
fn named_ports_resolve_on_the_destination_and_need_the_same_protocol() {
    let p = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - ports: [{{port: http}}, {{port: dns}}, {{port: dns, protocol: UDP}}, {{port: 9000, endPort: 9002}}]\n");
    assert_eq!(
        conns(&p, "a/api", "a/web", &BuildOptions::default()),
        c("TCP 8080,9000-9002,UDP 53")
    );
}

#[test]
fn namespace_and_pod_selector_in_one_peer_is_and_in_two_peers_or() {
    let and = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from:\n    - namespaceSelector: {{matchLabels: {{team: y}}}}\n      podSelector: {{matchLabels: {{app: web}}}}\n");
    assert!(conns(&and, "b/client", "a/web", &BuildOptions::default()).is_empty());
    let or = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from:\n    - namespaceSelector: {{matchLabels: {{team: y}}}}\n    - podSelector: {{matchLabels: {{app: web}}}}\n");
    assert!(conns(&or, "b/client", "a/web", &BuildOptions::default()).is_all());
    // podSelector alone: the policy's namespace only.
    let same_ns = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - from:\n    - podSelector: {{matchLabels: {{app: api}}}}\n");
    assert!(conns(&same_ns, "a/api", "a/web", &BuildOptions::default()).is_all());
    assert!(conns(&same_ns, "b/client", "a/web", &BuildOptions::default()).is_empty());
}

#[test]
fn ip_block_except_and_pods_are_not_ip_blocks() {
    let p = format!("{NP}metadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}\n");
    assert!(conns(&p, "a/web", "10.2.3.4", &BuildOptions::default()).is_all());
    assert!(conns(&p, "a/web", "10.1.3.4", &BuildOptions::default()).is_empty());
    assert!(conns(&p, "a/web", "a/api", &BuildOptions::default()).is_empty());
}

const ANP: &str = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n";
const BANP: &str =
    "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n";

#[test]
fn admin_layers_deny_pass_and_baseline() {
    let allow_np = format!("{NP}metadata: {{name: allow, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - {{}}\n");
    let anp = format!("{ANP}metadata: {{name: guard}}\nspec:\n  priority: 10\n  subject: {{namespaces: {{matchLabels: {{team: x}}}}}}\n  ingress:\n  - name: pass-http\n    action: Pass\n    from: [{{namespaces: {{}}}}]\n    ports: [{{portNumber: {{port: 8080}}}}]\n  - name: deny-rest\n    action: Deny\n    from: [{{namespaces: {{matchLabels: {{team: y}}}}}}]\n");
    let banp = format!("{BANP}metadata: {{name: default}}\nspec:\n  subject: {{namespaces: {{}}}}\n  ingress:\n  - name: deny-all\n    action: Deny\n    from: [{{namespaces: {{}}}}]\n");
    let d = BuildOptions::default();
    // Passed to the NetworkPolicy, which allows everything: only 8080 survives the deny.
    let all = format!("{allow_np}---\n{anp}---\n{banp}");
    assert_eq!(conns(&all, "b/client", "a/web", &d), c("TCP 8080"));
    // api has no NetworkPolicy: the passed 8080 goes to the baseline, which denies.
    assert!(conns(&all, "b/client", "a/api", &d).is_empty());
    // Within team x (not denied by the admin rule) the baseline denies all for api...
    assert!(conns(&all, "a/web", "a/api", &d).is_empty());
    // ...but web is selected by a NetworkPolicy, so the baseline does not apply.
    assert!(conns(&all, "a/api", "a/web", &d).is_all());
    // A higher-priority Allow wins over the Deny.
    let first = format!("{ANP}metadata: {{name: first}}\nspec:\n  priority: 1\n  subject: {{pods: {{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: api}}}}}}}}\n  ingress:\n  - name: allow-b\n    action: Allow\n    from: [{{pods: {{namespaceSelector: {{matchLabels: {{team: y}}}}, podSelector: {{}}}}}}]\n    ports: [{{portRange: {{start: 1000, end: 2000, protocol: UDP}}}}]\n");
    assert_eq!(
        conns(&format!("{all}---\n{first}"), "b/client", "a/api", &d),
        c("UDP 1000-2000")
    );
    assert!(conns(&all, "a/web", "9.9.9.9", &d).is_all());
}

#[test]
fn staged_policies_have_effect_only_when_enforced() {
    let p = format!("{NP}metadata:\n  name: p\n  namespace: a\n  annotations: {{palisade.dev/staged: \"true\"}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n");
    assert!(conns(&p, "a/api", "a/web", &BuildOptions::default()).is_all());
    assert!(conns(
        &p,
        "a/api",
        "a/web",
        &BuildOptions {
            enforce_staged: true
        }
    )
    .is_empty());
    assert_eq!(Protocol::parse("sctp"), Some(Protocol::Sctp));
}

#[test]
fn a_live_snapshot_names_pods_after_their_top_controller() {
    let objs = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}\n---\n\
apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-7d9f\n  namespace: a\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web, pod-template-hash: 7d9f}}\n    spec: {containers: [{name: c}]}\n---\n\
apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-old1\n  namespace: a\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]\nspec:\n  replicas: 0\n  template:\n    metadata: {labels: {app: web, pod-template-hash: old1}}\n    spec: {containers: [{name: c}]}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-7d9f-abcde\n  namespace: a\n  labels: {app: web, pod-template-hash: 7d9f}\n  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f, controller: true}]\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.0.7}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: lonely\n  namespace: a\n  labels: {app: lonely}\nspec: {containers: [{name: c}]}\n",
    );
    let net = Network::build(&objs, &BuildOptions::default());
    let labels: Vec<String> = net.workloads.iter().map(|w| w.label()).collect();
    assert_eq!(labels, ["a/web[Deployment]", "a/lonely[Pod]"]);
    assert_eq!(net.workloads[0].pod_ips, ["10.0.0.7"]);
    assert_eq!(
        net.workloads[0]
            .labels
            .get("pod-template-hash")
            .map(String::as_str),
        Some("7d9f")
    );
}
