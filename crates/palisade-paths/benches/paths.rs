//! The attack graph on a synthetic cluster, as a live snapshot reads it (Deployments,
//! ReplicaSets and Pods with owner references and uids): NAMESPACES namespaces × 5 apps × 4
//! replicas (500 → 10,000 pods of 2,500 workloads; 1,250 → 25,000 pods), 20 service
//! accounts, 9 Roles and 90 RoleBindings per namespace, 10 ClusterRoleBindings per namespace
//! (500 → 50,000 bindings), 4 NetworkPolicies per namespace (500 → 2,000), a Service per app,
//! an Ingress in every fifth namespace and a LoadBalancer in every tenth; some privileged,
//! hostPID and hostPath workloads. Rule shapes and binding mix follow the RBAC benchmark;
//! the policies follow the network policy benchmark.
//!
//! Prints the time to build the graph from loaded objects, to find every critical path
//! (any foothold to cluster-admin or node root) and the peak RSS.
//!
//!     cargo bench -p palisade-paths --bench paths [-- NAMESPACES]

use palisade_model::{Node, Object, Source};
use palisade_paths::query::{critical_jewels, shortest_paths, From};
use palisade_paths::{build, Inputs};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn object(v: Value) -> Object {
    Object::from_node(
        Node::from_json(&v),
        Arc::new(Source::File("synthetic.yaml".into())),
        0,
        None,
    )
    .expect("generated objects have apiVersion and kind")
}

fn rule(rng: &mut Rng) -> Value {
    const SHAPES: &[(&[&str], &str, &[&str])] = &[
        (
            &["get", "list", "watch"],
            "",
            &["pods", "services", "endpoints"],
        ),
        (&["get", "list", "watch"], "", &["configmaps"]),
        (
            &[
                "get", "list", "watch", "create", "update", "patch", "delete",
            ],
            "apps",
            &["deployments", "replicasets"],
        ),
        (&["create", "patch"], "", &["events"]),
        (
            &["get", "create", "update"],
            "coordination.k8s.io",
            &["leases"],
        ),
        (&["get", "list", "watch"], "batch", &["jobs", "cronjobs"]),
        (&["update", "patch"], "", &["pods/status"]),
        (&["get", "list", "watch"], "", &["secrets"]),
        (&["create"], "", &["pods/exec"]),
        (&["create"], "", &["pods"]),
        (&["patch"], "", &["pods"]),
    ];
    let i = if rng.below(10) == 0 {
        SHAPES.len() - 1 - rng.below(4)
    } else {
        rng.below(SHAPES.len() - 4)
    };
    let (verbs, group, resources) = SHAPES[i];
    let mut r = json!({"apiGroups": [group], "resources": resources, "verbs": verbs});
    if rng.below(8) == 0 {
        r["resourceNames"] = json!([format!("obj-{}", rng.below(50))]);
    }
    r
}

const APPS: [(&str, &str, u16); 5] = [
    ("web", "frontend", 8080),
    ("api", "backend", 9090),
    ("worker", "backend", 8081),
    ("db", "data", 5432),
    ("cache", "data", 6379),
];

fn generate(namespaces: usize) -> Vec<Object> {
    let mut rng = Rng(7);
    let mut out = Vec::new();
    let teams = ["red", "blue", "green", "gold", "teal"];
    let mut uid = 0u64;
    let mut next_uid = || {
        uid += 1;
        format!("uid-{uid}")
    };
    for n in 0..namespaces {
        let ns = format!("ns-{n:04}");
        let team = teams[n % teams.len()];
        let level = ["privileged", "baseline", "restricted"][rng.below(3)];
        out.push(object(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
            "labels": {"team": team, "pod-security.kubernetes.io/enforce": level}}}),
        ));
        for s in 0..20 {
            out.push(object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": format!("sa-{s}"), "namespace": ns}})));
        }
        for (app, tier, port) in APPS {
            let mut spec = json!({
                "serviceAccountName": format!("sa-{}", rng.below(20)),
                "containers": [{"name": app, "image": format!("example/{app}:1"),
                    "ports": [{"name": "main", "containerPort": port}]}]});
            match rng.below(100) {
                0..=3 => spec["containers"][0]["securityContext"] = json!({"privileged": true}),
                4..=5 => spec["hostPID"] = json!(true),
                6..=8 => {
                    spec["volumes"] = json!([{"name": "logs", "hostPath": {"path": "/var/log"}}]);
                    spec["containers"][0]["volumeMounts"] =
                        json!([{"name": "logs", "mountPath": "/host/log"}]);
                }
                _ => {}
            }
            let labels = json!({"app.kubernetes.io/name": app, "tier": tier});
            let d_uid = next_uid();
            let rs_uid = next_uid();
            let rs = format!("{app}-7d9f8c6b5");
            out.push(object(
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": app, "namespace": ns, "uid": d_uid},
                "spec": {"replicas": 4, "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": spec}}}),
            ));
            out.push(object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs, "namespace": ns, "uid": rs_uid,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": d_uid, "controller": true}]},
                "spec": {"replicas": 4, "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": spec}}})));
            for r in 0..4 {
                let p_uid = next_uid();
                out.push(object(json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("{rs}-{r:05}"), "namespace": ns, "uid": p_uid, "labels": labels,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": rs_uid, "controller": true}]},
                    "spec": spec})));
            }
            out.push(object(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"type": if app == "api" && n % 10 == 0 { "LoadBalancer" } else { "ClusterIP" },
                    "selector": {"app.kubernetes.io/name": app},
                    "ports": [{"port": 80, "targetPort": port}]}})));
        }
        if n % 5 == 0 {
            out.push(object(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
            ));
        }
        // Policies (the network policy benchmark's four shapes).
        out.push(object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": team}}}]}]}}),
        ));
        out.push(object(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "web-to-backend", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"tier": "backend"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}],
                    "ports": [{"port": "main"}]}]}})));
        out.push(object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "backend-to-data", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"tier": "data"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "backend"}}}],
                    "ports": [{"port": 5432}, {"port": 6379}]}]}}),
        ));
        out.push(object(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "web-from-anywhere", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
                "ingress": [{"ports": [{"port": 8080}]}]}}),
        ));
        // RBAC (the RBAC benchmark's mix).
        for r in 0..9 {
            let rules: Vec<Value> = (0..3 + rng.below(6)).map(|_| rule(&mut rng)).collect();
            out.push(object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": format!("role-{r}"), "namespace": ns}, "rules": rules}),
            ));
        }
        for b in 0..90 {
            let (kind, name) = if rng.below(4) == 0 {
                ("ClusterRole", format!("cr-{}", rng.below(namespaces)))
            } else {
                ("Role", format!("role-{}", rng.below(9)))
            };
            let mut subjects = vec![
                json!({"kind": "ServiceAccount", "name": format!("sa-{}", rng.below(20)), "namespace": ns}),
            ];
            if rng.below(5) == 0 {
                subjects.push(json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{}", rng.below(2000))}));
            }
            out.push(object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("rb-{b}"), "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
                "subjects": subjects}),
            ));
        }
    }
    for c in 0..namespaces {
        let rules: Vec<Value> = (0..3 + rng.below(6)).map(|_| rule(&mut rng)).collect();
        out.push(object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": format!("cr-{c}")}, "rules": rules}),
        ));
    }
    for b in 0..namespaces * 10 {
        let role = if rng.below(200) == 0 {
            "cluster-admin".to_string()
        } else if rng.below(20) == 0 {
            ["view", "edit", "admin"][rng.below(3)].to_string()
        } else {
            format!("cr-{}", rng.below(namespaces))
        };
        let subject = match rng.below(3) {
            0 => {
                json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{}", rng.below(2000))})
            }
            1 => {
                json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("team-{}", rng.below(100))})
            }
            _ => {
                json!({"kind": "ServiceAccount", "name": format!("sa-{}", rng.below(20)), "namespace": format!("ns-{:04}", rng.below(namespaces))})
            }
        };
        out.push(object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("crb-{b}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]})));
    }
    out
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let namespaces: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let t = Instant::now();
    let objects = generate(namespaces);
    let pods = objects.iter().filter(|o| o.kind == "Pod").count();
    let bindings = objects
        .iter()
        .filter(|o| o.kind.ends_with("RoleBinding"))
        .count();
    let policies = objects.iter().filter(|o| o.kind == "NetworkPolicy").count();
    println!(
        "generated {} objects ({pods} pods, {bindings} bindings, {policies} network policies) in {:.2?}; RSS {:.0} MiB",
        objects.len(),
        t.elapsed(),
        rss_mib()
    );
    let t = Instant::now();
    let built = build(&Inputs {
        objects: &objects,
        rbac_defaults: Some(palisade_rbac::bootstrap::latest()),
        ..Inputs::default()
    });
    let build_time = t.elapsed();
    let g = &built.graph;
    println!(
        "graph: {} vertices, {} edges ({} pods, {} identities, {} permission sets, {} endpoints, {} entry points) built in {build_time:.2?}",
        g.vertices.len(),
        g.edges.len(),
        built.stats.pods,
        built.stats.identities,
        built.stats.permission_sets,
        built.stats.endpoints,
        built.stats.entry_points
    );
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &g.edges {
        *kinds.entry(e.kind.as_str()).or_default() += 1;
    }
    let mut kinds: Vec<(&str, usize)> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    println!(
        "edges by kind: {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let t = Instant::now();
    let none = vec![false; g.edges.len()];
    let paths = shortest_paths(g, &From::AnyFoothold, &critical_jewels(g), &none);
    let query_time = t.elapsed();
    let from_internet = paths
        .iter()
        .filter(|p| g.key(p.source) == "internet")
        .count();
    println!(
        "critical paths: {} (from the internet: {from_internet}) found in {query_time:.2?}",
        paths.len()
    );
    println!(
        "build + critical paths: {:.2?}; peak RSS {:.0} MiB",
        build_time + query_time,
        rss_mib()
    );
}
