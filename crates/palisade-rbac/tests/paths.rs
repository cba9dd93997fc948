//! Escalation paths on `fixtures/escalation.yaml`: each principal's expected path.

mod common;

use palisade_rbac::paths::{
    html_sections, paths, step_graph, to_dot, Node, PathOptions, PathsReport,
};
use palisade_rbac::Subject;

fn report() -> PathsReport {
    paths(
        &common::snapshot("escalation.yaml"),
        &PathOptions::default(),
    )
}

/// The nodes a principal's path goes through, as text.
fn path_of(r: &PathsReport, s: &Subject) -> Option<Vec<String>> {
    r.paths
        .iter()
        .find(|p| p.subject == *s)
        .map(|p| p.steps.iter().map(|st| st.to.to_string()).collect())
}

#[test]
fn pod_creation_runs_as_a_powerful_service_account_of_the_namespace() {
    let r = report();
    let p = path_of(&r, &Subject::service_account("ci", "builder")).expect("builder has a path");
    assert_eq!(
        p,
        vec![
            "any service account in ci",
            "ServiceAccount ci/admin-bot",
            "cluster-admin equivalent"
        ]
    );
    let steps = &r
        .paths
        .iter()
        .find(|p| p.subject == Subject::service_account("ci", "builder"))
        .unwrap()
        .steps;
    assert_eq!(steps[0].action, "create pods in ci");
    assert_eq!(
        steps[0].via,
        "RoleBinding ci/builder-pods → Role ci/pod-creator"
    );
}

#[test]
fn impersonating_system_masters_is_one_step() {
    let r = report();
    assert_eq!(
        path_of(&r, &Subject::user("mallory")).unwrap(),
        vec!["cluster-admin equivalent"]
    );
}

#[test]
fn reading_a_token_secret_becomes_its_service_account() {
    let r = report();
    assert_eq!(
        path_of(&r, &Subject::user("trent")).unwrap(),
        vec![
            "ServiceAccount kube-system/rbac-manager",
            "cluster-admin equivalent"
        ]
    );
    let p = r
        .paths
        .iter()
        .find(|p| p.subject == Subject::service_account("kube-system", "rbac-manager"))
        .unwrap();
    assert!(p.steps[0]
        .action
        .starts_with("bind cluster-admin to itself"));
}

#[test]
fn exec_reaches_the_tokens_of_running_pods() {
    let r = report();
    assert_eq!(
        path_of(&r, &Subject::user("victor")).unwrap(),
        vec![
            "tokens mounted in prod's pods",
            "ServiceAccount prod/ops-sa",
            "cluster-admin equivalent"
        ]
    );
}

#[test]
fn privileged_pods_only_where_pod_security_allows_them() {
    let r = report();
    assert_eq!(
        path_of(&r, &Subject::user("nadia")).unwrap(),
        vec![
            "root on a node",
            "ServiceAccount kube-system/node-agent",
            "cluster-admin equivalent"
        ]
    );
    // secure enforces restricted and has no powerful service account: no path.
    assert!(path_of(&r, &Subject::user("walter")).is_none());
}

#[test]
fn workloads_with_a_mounted_token_of_an_escalating_account_are_listed() {
    let r = report();
    let names: Vec<&str> = r.workloads.iter().map(|w| w.workload.as_str()).collect();
    assert!(names.contains(&"Deployment ci/web"), "{names:?}");
    assert!(names.contains(&"Deployment prod/ops"), "{names:?}");
    assert!(
        names.contains(&"DaemonSet kube-system/node-agent"),
        "{names:?}"
    );
    // Its token is not mounted: a compromise of the pod gives nothing.
    assert!(!names.contains(&"Deployment ci/batch"), "{names:?}");
}

#[test]
fn default_grants_are_left_out_unless_asked() {
    let r = report();
    assert!(path_of(&r, &Subject::group("system:masters")).is_none());
    let all = paths(
        &common::snapshot("escalation.yaml"),
        &PathOptions {
            include_defaults: true,
        },
    );
    assert!(path_of(&all, &Subject::group("system:masters")).is_some());
}

#[test]
fn dot_and_html_render_the_paths() {
    let r = report();
    let dot = to_dot(&r);
    assert!(dot.starts_with("digraph escalation {"));
    assert!(dot.contains("\"User mallory\""));
    assert!(dot.contains("impersonate the group system:masters"));
    let html = html_sections(&r);
    assert!(html.contains("User victor"));
    assert!(!html.contains("<script"), "the sections carry no script");
    // Every step is an edge of the graph page, each (from, to, action) once.
    let g = step_graph(&r);
    let steps: std::collections::BTreeSet<(String, String, String)> = r
        .paths
        .iter()
        .flat_map(|p| p.steps.iter())
        .map(|s| (s.from.to_string(), s.to.to_string(), s.action.clone()))
        .collect();
    assert_eq!(g.edges.len(), steps.len());
    for (f, t, action, _) in &g.edges {
        let key = (
            g.nodes[*f].0.to_string(),
            g.nodes[*t].0.to_string(),
            action.clone(),
        );
        assert!(steps.contains(&key), "{key:?}");
    }
    assert!(g.nodes.iter().any(|(n, _)| *n == Node::ClusterAdmin));
    assert!(matches!(
        r.paths[0].steps.last().map(|s| &s.to),
        Some(Node::ClusterAdmin)
    ));
}
