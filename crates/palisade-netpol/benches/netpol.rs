//! Synthetic cluster benchmark: `cargo bench -p palisade-netpol --bench netpol`.
//!
//! 500 namespaces, each with 5 Deployments of 4 pods (10,000 Pod objects owned by 2,500
//! ReplicaSets) and 4 NetworkPolicies of realistic shapes (2,000 policies): a default-deny,
//! tier-to-tier allows with ports, cross-namespace allows by team label, and egress to DNS and
//! to external CIDRs. Measures loading, the connection list, `explain`, and the impact of one
//! policy change over 1,000,000 flows; prints peak RSS.

use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_netpol::connlist::{connlist, Options};
use palisade_netpol::explain::explain;
use palisade_netpol::flows::{FlowLog, Resolved};
use palisade_netpol::impact::impact;
use palisade_netpol::{BuildOptions, Endpoint, Engine, Network, Protocol};
use std::fmt::Write as _;
use std::time::Instant;

const NAMESPACES: usize = 500;
const APPS: [(&str, &str, u16); 5] = [
    ("web", "frontend", 8080),
    ("api", "backend", 9090),
    ("worker", "backend", 9091),
    ("db", "data", 5432),
    ("cache", "data", 6379),
];
const REPLICAS: usize = 4;

fn generate() -> String {
    let mut y = String::with_capacity(40 << 20);
    let teams = ["red", "blue", "green", "gold", "teal"];
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n:03}");
        let team = teams[n % teams.len()];
        let _ = write!(y, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    team: {team}\n    env: {}\n---\n", if n % 3 == 0 { "prod" } else { "dev" });
        for (app, tier, port) in APPS {
            for r in 0..REPLICAS {
                let _ = write!(
                    y,
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {app}-7d9f8c6b5-{r:05}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {app}\n    tier: {tier}\n    pod-template-hash: 7d9f8c6b5\n  ownerReferences:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n    name: {app}-7d9f8c6b5\n    controller: true\nspec:\n  containers:\n  - name: {app}\n    image: example/{app}:1\n    ports:\n    - name: main\n      containerPort: {port}\nstatus:\n  podIP: 10.{}.{}.{}\n---\n",
                    n / 200, n % 200, r + 1
                );
            }
        }
        // 1. Default-deny, DNS egress, egress to the team's namespaces.
        let _ = write!(y, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - {{protocol: UDP, port: 53}}\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          team: {team}\n---\n");
        // 2. Web to the backend tier on the named port.
        let _ = write!(y, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web-to-backend\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels:\n      tier: backend\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app.kubernetes.io/name: web\n    ports:\n    - port: main\n---\n");
        // 3. Data tier from the backend; backend egress to an external range.
        let _ = write!(y, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: backend-to-data\n  namespace: {ns}\nspec:\n  podSelector:\n    matchExpressions:\n    - {{key: tier, operator: In, values: [data, backend]}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          tier: backend\n    ports:\n    - port: 5432\n    - port: 6379\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 172.{}.0.0/16\n        except: [172.{}.1.0/24]\n    ports:\n    - port: 443\n---\n", 16 + n % 16, 16 + n % 16);
        // 4. The API from the team's frontends in every namespace of the team.
        let _ = write!(y, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: api-from-team\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: api\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          team: {team}\n      podSelector:\n        matchLabels:\n          tier: frontend\n    ports:\n    - port: 9090\n      endPort: 9091\n---\n");
    }
    y
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
    let text = generate();
    println!(
        "generated {:.1} MiB of YAML",
        text.len() as f64 / (1 << 20) as f64
    );
    let t = Instant::now();
    let loaded = load_bytes(
        text.as_bytes(),
        Source::Stdin,
        &LoadOptions {
            max_file_bytes: 1 << 30,
            ..LoadOptions::default()
        },
    );
    let t_load = t.elapsed();
    drop(text);
    let t = Instant::now();
    let net = Network::build(&loaded.objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let t_build = t.elapsed();
    let pods = loaded.objects.iter().filter(|o| o.kind == "Pod").count();
    println!(
        "objects {}, pods {pods}, workloads {}, namespaces {}, policies {}",
        loaded.objects.len(),
        net.workloads.len(),
        net.namespaces.len(),
        net.policies.len()
    );
    assert!(net.diagnostics.is_empty(), "{:?}", &net.diagnostics[..1]);
    let t = Instant::now();
    let list = connlist(&engine, &Options::default());
    let t_list = t.elapsed();
    println!(
        "load (YAML parse) {:.2?}, model + engine {:.2?}, connlist {:.2?}: {} connections",
        t_load,
        t_build,
        t_list,
        list.len()
    );

    // explain: pairs spread over the cluster.
    let n = net.workloads.len();
    let iters = 2000;
    let t = Instant::now();
    let mut denied = 0;
    for i in 0..iters {
        let (a, b) = ((i * 7919) % n, (i * 104729 + 13) % n);
        let e = explain(
            &engine,
            Endpoint::Workload(a),
            Endpoint::Workload(b),
            Some((Protocol::Tcp, 9090)),
        );
        denied += usize::from(!e.verdict());
    }
    let per = t.elapsed() / iters as u32;
    println!("explain: {per:.2?} per query ({iters} queries, {denied} denied)");

    // impact: 1,000,000 flows between random workloads; the change drops api-from-team in one
    // namespace and widens web-to-backend in another.
    let flows: Vec<Resolved> = (0..1_000_000usize)
        .map(|i| {
            let a = (i.wrapping_mul(2654435761)) % n;
            // Two flows in three stay in the source's namespace; each goes to the port its
            // destination listens on.
            let b = if i % 3 != 0 {
                (a / 5) * 5 + ((i / 3) % 5)
            } else {
                (i.wrapping_mul(40503) + 7) % n
            };
            let port = [8080, 9090, 9091, 5432, 6379][b % 5];
            Resolved {
                src: Endpoint::Workload(a),
                dst: Endpoint::Workload(b),
                protocol: Protocol::Tcp,
                port,
                flow: 0,
            }
        })
        .collect();
    let log = FlowLog {
        flows: vec![palisade_netpol::flows::Flow {
            time: None,
            src: Default::default(),
            dst: Default::default(),
            protocol: Protocol::Tcp,
            port: 1,
            bytes: 0,
            packets: 0,
            verdict: None,
            policy: None,
            line: 1,
        }],
        ..FlowLog::default()
    };
    let mut changed = loaded.objects.clone();
    changed.retain(|o| {
        !(o.kind == "NetworkPolicy"
            && o.name == "api-from-team"
            && o.namespace.as_deref() == Some("ns-007"))
    });
    let extra = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web-to-backend\n  namespace: ns-011\nspec:\n  podSelector: {}\n  ingress:\n  - {}\n";
    changed.retain(|o| {
        !(o.kind == "NetworkPolicy"
            && o.name == "web-to-backend"
            && o.namespace.as_deref() == Some("ns-011"))
    });
    changed.extend(load_bytes(extra.as_bytes(), Source::Stdin, &LoadOptions::default()).objects);
    let t = Instant::now();
    let after_net = Network::build(&changed, &BuildOptions::default());
    let after = Engine::new(&after_net);
    let t_after = t.elapsed();
    let t = Instant::now();
    let r = impact(&engine, &after, &flows, &log);
    let t_impact = t.elapsed();
    println!(
        "impact over {} flows: {t_impact:.2?} (+{t_after:.2?} to build the changed policy set): {} newly denied connection(s), {} newly allowed, {} unchanged allowed, {} unchanged denied",
        r.evaluated,
        r.newly_denied.len(),
        r.newly_allowed.len(),
        r.still_allowed,
        r.still_denied
    );
    println!("peak RSS {:.0} MiB", rss_mib());
}
