//! End to end on examples/paths: the internet → an Ingress → a vulnerable web pod → its
//! mounted token → `create pods` → a privileged pod → node root; with and without each
//! chokepoint fix. Network policy cutting a path, and the path coming back without it.
//! Alerts as footholds, and the vulnerability file.

use palisade_model::{load_bytes, LoadOptions, Object, Source};
use palisade_paths::inputs::{parse_alerts, parse_config, parse_vulns};
use palisade_paths::query::{self, From};
use palisade_paths::{build, Built, EdgeKind, Inputs};
use std::path::PathBuf;

fn example(file: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/paths")
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn objects(text: &str) -> Vec<Object> {
    let l = load_bytes(
        text.as_bytes(),
        Source::File("cluster.yaml".into()),
        &LoadOptions::default(),
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    l.objects
}

/// 2026-12-03T23:00:00Z.
const NOW: i64 = 1_796_338_800_000_000_000;
const DAY: i64 = 86_400_000_000_000;

fn graph(text: &str, with_vulns: bool, with_alerts: bool) -> Built {
    let objs = objects(text);
    let vulns = parse_vulns(&example("vulns.json"), "vulns.json");
    let alerts = parse_alerts(&example("alerts.json"), "alerts.json");
    let config = parse_config(&example("paths.yaml"), "paths.yaml");
    assert!(vulns.diagnostics.is_empty() && alerts.diagnostics.is_empty());
    build(&Inputs {
        objects: &objs,
        vulns: with_vulns.then_some(&vulns),
        alerts: with_alerts.then_some(&alerts),
        config: Some(&config),
        rbac_defaults: Some(palisade_rbac::bootstrap::latest()),
        now_ns: NOW,
        alert_window_ns: DAY,
    })
}

fn cluster() -> String {
    example("cluster.yaml") + "---\n" + &example("policy.yaml")
}

/// The kinds of the shortest internet → node-root path, if any.
fn internet_to_node(b: &Built) -> Option<Vec<EdgeKind>> {
    let g = &b.graph;
    let node = g.jewels.iter().position(|j| j.name == "node-root").unwrap();
    let none = vec![false; g.edges.len()];
    let p = query::shortest_paths(g, &From::Internet, &[node], &none);
    p.first()
        .map(|p| p.edges.iter().map(|&e| g.edges[e as usize].kind).collect())
}

#[test]
fn internet_to_node_root_through_a_vulnerable_web_pod() {
    let b = graph(&cluster(), true, false);
    let g = &b.graph;
    let node = g.jewels.iter().position(|j| j.name == "node-root").unwrap();
    let none = vec![false; g.edges.len()];
    let paths = query::shortest_paths(g, &From::Internet, &[node], &none);
    assert_eq!(paths.len(), 1);
    let p = &paths[0];
    let steps: Vec<(EdgeKind, &str)> = p
        .edges
        .iter()
        .map(|&e| {
            let x = &g.edges[e as usize];
            (x.kind, g.key(x.to))
        })
        .collect();
    assert_eq!(
        steps,
        [
            (EdgeKind::EXPOSED, "entry:Ingress/shop/web"),
            (
                EdgeKind::INGRESS_ROUTE,
                "endpoint:shop/web[Deployment]:8080/TCP"
            ),
            (EdgeKind::EXPOSED_VULN, "container:shop/web[Deployment]/web"),
            (
                EdgeKind::IDENTITY_ASSUME,
                "identity:ServiceAccount shop/web"
            ),
            (
                EdgeKind::PERMISSION_DISCOVER,
                "permissionset:RoleBinding shop/web-job-runner"
            ),
            (EdgeKind::POD_CREATE, "node"),
        ]
    );
    assert_eq!(p.hops, 6);
    // 9 (node root) × 0.9 (EXPOSED_VULN).
    assert_eq!(p.risk, 8.1);
    // The vulnerability is the evidence of its edge, with the file line of the finding.
    let vuln = &g.evidence[g.edges[p.edges[2] as usize].evidence as usize];
    assert_eq!(vuln[1].rule, "CVE-2026-31337");
    assert_eq!((vuln[1].source.as_str(), vuln[1].line), ("vulns.json", 4));
    // Without the vulnerability file the endpoint is still exploitable, at a lower risk.
    let b = graph(&cluster(), false, false);
    let g = &b.graph;
    let none = vec![false; g.edges.len()];
    let p = &query::shortest_paths(g, &From::Internet, &[node], &none)[0];
    assert_eq!(
        g.edges[p.edges[2] as usize].kind,
        EdgeKind::ENDPOINT_EXPLOIT
    );
    assert_eq!(p.risk, 2.7);
}

#[test]
fn each_chokepoint_fix_cuts_the_path() {
    let base = cluster();
    assert!(internet_to_node(&graph(&base, true, false)).is_some());
    let fixes: [(&str, String); 4] = [
        (
            "Pod Security baseline on shop",
            base.replacen(
                "metadata:\n  name: shop\n",
                "metadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n",
                1,
            ),
        ),
        (
            "no token in the web pod",
            base.replacen(
                "      serviceAccountName: web\n",
                "      serviceAccountName: web\n      automountServiceAccountToken: false\n",
                1,
            ),
        ),
        (
            "no create pods",
            base.replacen("verbs: [\"create\", \"get\", \"list\"]", "verbs: [\"get\", \"list\"]", 1),
        ),
        (
            "a NetworkPolicy in front of web",
            base.clone()
                + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-deny, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n",
        ),
    ];
    for (what, text) in &fixes {
        assert_ne!(text, &base, "{what}: the fixture edit did not apply");
        assert_eq!(internet_to_node(&graph(text, true, false)), None, "{what}");
    }
}

#[test]
fn chokepoints_of_the_example_propose_one_fix_that_cuts_everything() {
    let b = graph(&cluster(), true, false);
    let g = &b.graph;
    let node = g.jewels.iter().position(|j| j.name == "node-root").unwrap();
    let c = query::chokepoints(g, &From::Internet, &[node], 5);
    assert_eq!(c.pairs, 1);
    assert_eq!(c.remaining, 0);
    assert_eq!(c.fixes.len(), 1);
    assert_eq!(c.fixes[0].cuts, 1);
    assert_eq!(c.method, "exact");
}

#[test]
fn network_policy_cuts_the_shop_to_ledger_path_and_it_returns_without_it() {
    let ledger = "endpoint:payments/ledger[Deployment]:8443/TCP";
    let reach = |b: &Built| {
        b.graph
            .edges_of(EdgeKind::NETWORK_REACH)
            .filter(|e| b.graph.key(e.to) == ledger)
            .map(|e| b.graph.key(e.from).to_string())
            .collect::<Vec<_>>()
    };
    let with = graph(&cluster(), true, false);
    assert_eq!(reach(&with), Vec::<String>::new());
    let without = graph(&example("cluster.yaml"), true, false);
    let mut from = reach(&without);
    from.sort();
    assert_eq!(
        from,
        [
            "container:shop/api[Deployment]/api",
            "container:shop/web[Deployment]/web"
        ]
    );
    // The evidence says why: nothing isolates the ledger's ingress.
    let e = without
        .graph
        .edges_of(EdgeKind::NETWORK_REACH)
        .find(|e| without.graph.key(e.to) == ledger)
        .unwrap();
    let facts = &without.graph.evidence[e.evidence as usize];
    assert!(
        facts.iter().any(|f| f.rule == "no policy isolates ingress"),
        "{facts:?}"
    );

    // From the web pod to the ledger workload (a configured crown jewel): 3 hops without
    // the policy, and only through node root with it.
    let path_to_ledger = |b: &Built| {
        let g = &b.graph;
        let j = g
            .jewels
            .iter()
            .position(|j| j.name == "Deployment payments/ledger")
            .unwrap();
        let from = query::resolve_from(g, "pod:shop/web").unwrap();
        let none = vec![false; g.edges.len()];
        query::shortest_paths(g, &From::Vertices(from), &[j], &none)
            .first()
            .map(|p| {
                p.edges
                    .iter()
                    .map(|&e| g.edges[e as usize].kind)
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(
        path_to_ledger(&without),
        Some(vec![
            EdgeKind::CONTAINER_ATTACH,
            EdgeKind::NETWORK_REACH,
            EdgeKind::ENDPOINT_EXPLOIT
        ])
    );
    let cut = path_to_ledger(&with).unwrap();
    assert!(!cut.contains(&EdgeKind::NETWORK_REACH));
    assert!(cut.contains(&EdgeKind::POD_CREATE), "{cut:?}");
}

#[test]
fn an_ingress_route_is_cut_by_policy_and_returns_without_it() {
    let base = example("cluster.yaml");
    let deny = base.clone()
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-deny, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n";
    let routes = |b: &Built| b.graph.edges_of(EdgeKind::INGRESS_ROUTE).count();
    assert_eq!(routes(&graph(&base, false, false)), 1);
    assert_eq!(routes(&graph(&deny, false, false)), 0);
}

#[test]
fn a_recent_alert_makes_a_foothold_and_an_old_one_does_not() {
    let b = graph(&cluster(), false, true);
    let alerted: Vec<&str> = b
        .graph
        .edges_of(EdgeKind::ALERTED)
        .map(|e| b.graph.key(e.to))
        .collect();
    assert_eq!(alerted, ["container:shop/api[Deployment]/api"]);
    assert_eq!(b.stats.alerts_used, 1);
    let e = b.graph.edges_of(EdgeKind::ALERTED).next().unwrap();
    let f = &b.graph.evidence[e.evidence as usize][0];
    assert_eq!((f.source.as_str(), f.line), ("alerts.json", 1));
    assert_eq!(f.rule, "Terminal shell in container (Notice)");

    // A day and a half later the alert is outside the window: counted, not used.
    let objs = objects(&cluster());
    let alerts = parse_alerts(&example("alerts.json"), "alerts.json");
    let late = build(&Inputs {
        objects: &objs,
        alerts: Some(&alerts),
        now_ns: NOW + DAY,
        alert_window_ns: DAY,
        ..Inputs::default()
    });
    assert_eq!(late.graph.edges_of(EdgeKind::ALERTED).count(), 0);
    assert_eq!(late.stats.alerts_too_old, 1);
}

#[test]
fn diff_counts_the_paths_a_change_adds() {
    let before = example("cluster.yaml").replacen(
        "verbs: [\"create\", \"get\", \"list\"]",
        "verbs: [\"get\", \"list\"]",
        1,
    );
    let a = graph(&before, true, false);
    let b = graph(&example("cluster.yaml"), true, false);
    let crit = |x: &Built| {
        let none = vec![false; x.graph.edges.len()];
        query::shortest_paths(
            &x.graph,
            &From::AnyFoothold,
            &query::critical_jewels(&x.graph),
            &none,
        )
    };
    let (pa, pb) = (crit(&a), crit(&b));
    let d = query::diff((&a.graph, &pa), (&b.graph, &pb));
    let added: Vec<(&str, &str)> = d
        .added
        .iter()
        .map(|(k, _)| (k.source.as_str(), k.jewel.as_str()))
        .collect();
    // The web pod, its service account and the internet newly reach node root.
    assert!(added.contains(&("internet", "node-root")), "{added:?}");
    assert!(added.contains(&("pod:shop/web[Deployment]", "node-root")));
    assert!(added.contains(&("identity:ServiceAccount shop/web", "node-root")));
    assert_eq!(d.added_per_jewel.get("node-root"), Some(&d.added.len()));
    assert!(d.removed.is_empty());
}
