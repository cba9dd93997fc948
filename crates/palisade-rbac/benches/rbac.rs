//! RBAC analyses on a synthetic cluster: 500 namespaces, 10,000 service accounts, 5,000 roles
//! (4,500 Roles, 500 ClusterRoles) of realistic shapes, 50,000 bindings (45,000 RoleBindings,
//! 5,000 ClusterRoleBindings), 5,000 Deployments, plus Kubernetes' default roles. Prints the
//! time to build the snapshot, `who-can` and `can` (median and max over many queries) and
//! `paths` for every subject.
//!
//!     cargo bench -p palisade-rbac --bench rbac [-- NAMESPACES]

use palisade_model::{Node, Object, Source};
use palisade_rbac::paths::{paths, PathOptions};
use palisade_rbac::risks::{risks, RiskOptions};
use palisade_rbac::{bootstrap, BuildOptions, Rbac, Request, Subject, UserInfo};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A small deterministic generator (64-bit LCG), so every run measures the same cluster.
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

/// Rule shapes seen in real charts and operators, most harmless, a few dangerous.
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
        (
            &["get", "list", "watch"],
            "networking.k8s.io",
            &["ingresses", "networkpolicies"],
        ),
        (&["update", "patch"], "", &["pods/status"]),
        (&["get", "list", "watch"], "", &["secrets"]),
        (&["create"], "", &["pods/exec"]),
        (&["create"], "", &["pods"]),
        (&["create"], "", &["serviceaccounts/token"]),
    ];
    // Dangerous shapes (the last four) are rarer.
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

fn object(v: Value) -> Object {
    Object::from_node(
        Node::from_json(&v),
        Arc::new(Source::File("synthetic.yaml".into())),
        0,
        None,
    )
    .expect("generated objects have apiVersion and kind")
}

fn generate(namespaces: usize) -> Vec<Object> {
    let mut rng = Rng(42);
    let mut out = Vec::new();
    let sa_per_ns = 20;
    let roles_per_ns = 9;
    let cluster_roles = namespaces;
    let rb_per_ns = 90;
    let crbs = namespaces * 10;
    for n in 0..namespaces {
        let ns = format!("ns-{n}");
        let level = ["privileged", "baseline", "restricted"][rng.below(3)];
        out.push(object(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": level}}})));
        for s in 0..sa_per_ns {
            out.push(object(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": format!("sa-{s}"), "namespace": ns}})));
        }
        for r in 0..roles_per_ns {
            let rules: Vec<Value> = (0..3 + rng.below(6)).map(|_| rule(&mut rng)).collect();
            out.push(object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": format!("role-{r}"), "namespace": ns}, "rules": rules}),
            ));
        }
        for b in 0..rb_per_ns {
            let (kind, name) = if rng.below(4) == 0 {
                ("ClusterRole", format!("cr-{}", rng.below(cluster_roles)))
            } else {
                ("Role", format!("role-{}", rng.below(roles_per_ns)))
            };
            let mut subjects = vec![
                json!({"kind": "ServiceAccount", "name": format!("sa-{}", rng.below(sa_per_ns)), "namespace": ns}),
            ];
            if rng.below(5) == 0 {
                subjects.push(json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{}", rng.below(2000))}));
            }
            if rng.below(10) == 0 {
                subjects.push(json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("team-{}", rng.below(100))}));
            }
            out.push(object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("rb-{b}"), "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
                "subjects": subjects}),
            ));
        }
        for d in 0..10 {
            out.push(object(
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("app-{d}"), "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": d}}, "template": {
                    "metadata": {"labels": {"app": d}},
                    "spec": {"serviceAccountName": format!("sa-{}", rng.below(sa_per_ns)),
                             "containers": [{"name": "app", "image": "app:1"}]}}}}),
            ));
        }
    }
    for c in 0..cluster_roles {
        let rules: Vec<Value> = (0..3 + rng.below(6)).map(|_| rule(&mut rng)).collect();
        out.push(object(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": format!("cr-{c}")}, "rules": rules}),
        ));
    }
    for b in 0..crbs {
        let role = if rng.below(200) == 0 {
            "cluster-admin".to_string()
        } else if rng.below(20) == 0 {
            ["view", "edit", "admin"][rng.below(3)].to_string()
        } else {
            format!("cr-{}", rng.below(cluster_roles))
        };
        let subject = match rng.below(3) {
            0 => {
                json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{}", rng.below(2000))})
            }
            1 => {
                json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("team-{}", rng.below(100))})
            }
            _ => {
                json!({"kind": "ServiceAccount", "name": format!("sa-{}", rng.below(sa_per_ns)), "namespace": format!("ns-{}", rng.below(namespaces))})
            }
        };
        out.push(object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("crb-{b}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]})));
    }
    out
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms, p99 {:.2} ms, max {:.2} ms over {}",
        ms(v[v.len() / 2]),
        ms(v[(v.len() * 99 / 100).min(v.len() - 1)]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn main() {
    let namespaces: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let t = Instant::now();
    let objects = generate(namespaces);
    println!("generated {} objects in {:.2?}", objects.len(), t.elapsed());

    let t = Instant::now();
    let rbac = Rbac::build(
        &objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    );
    println!(
        "build: {:.2?} ({} roles, {} bindings, {} service accounts, {} workloads, {} diagnostics)",
        t.elapsed(),
        rbac.roles.len(),
        rbac.bindings.len(),
        rbac.service_accounts.len(),
        rbac.workloads.len(),
        rbac.diagnostics.len()
    );

    let queries = [
        Request::resource("get", "", "secrets"),
        Request::resource("create", "", "pods"),
        Request::resource("create", "", "pods/exec").in_namespace("ns-7"),
        Request::resource("update", "apps", "deployments").in_namespace("ns-42"),
        Request::resource("get", "", "nodes"),
        Request::non_resource("get", "/healthz"),
    ];
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..20 {
        for q in &queries {
            let namespaced = q.path.is_none() && q.resource != "nodes";
            let t = Instant::now();
            rows += rbac.who_can(q, namespaced).len();
            times.push(t.elapsed());
        }
    }
    println!("who-can: {} ({} rows per round)", stats(times), rows / 20);

    let mut times = Vec::new();
    let mut rng = Rng(7);
    for i in 0..500 {
        let s = match i % 3 {
            0 => Subject::service_account(
                &format!("ns-{}", rng.below(namespaces)),
                &format!("sa-{}", rng.below(20)),
            ),
            1 => Subject::user(&format!("user-{}", rng.below(2000))),
            _ => Subject::group(&format!("team-{}", rng.below(100))),
        };
        let user = UserInfo::of(&s, &[]);
        let t = Instant::now();
        let tables = rbac.permissions(&user, None);
        times.push(t.elapsed());
        assert!(!tables.is_empty());
    }
    println!("can: {}", stats(times));

    let t = Instant::now();
    let found = risks(&rbac, &RiskOptions::default());
    println!("risks: {:.2?} ({} risks)", t.elapsed(), found.len());

    let t = Instant::now();
    let report = paths(&rbac, &PathOptions::default());
    println!(
        "paths (every subject): {:.2?} ({} principals with a path, {} workloads exposed, graph {} nodes / {} steps)",
        t.elapsed(),
        report.paths.len(),
        report.workloads.len(),
        report.graph_nodes,
        report.graph_edges
    );
}
