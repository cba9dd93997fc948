//! `palisade netpol` end to end through the binary on the example in examples/netpol:
//! formats, explanations, lint, diff, recommend and impact, exit codes and errors.

use assert_cmd::Command;
use serde_json::Value;

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/netpol");

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn ex(name: &str) -> String {
    format!("{EX}/{name}")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = palisade().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn connlist_formats() {
    let (code, txt, err) = run(&[
        "netpol",
        "connlist",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        txt.contains("{ingress-controller} => shop/frontend[Deployment] : TCP 8080"),
        "{txt}"
    );
    assert!(txt
        .contains("monitoring/prometheus[Deployment] => shop/redis[Deployment] : All Connections"));
    // Isolated for ingress: payments cannot reach redis.
    assert!(!txt.contains("payments/gateway[Deployment] => shop/redis"));
    // The staged policy has no effect on the list.
    assert!(
        txt.contains("shop/frontend[Deployment] => payments/gateway[Deployment] : All Connections")
    );

    let (_, json, _) = run(&[
        "netpol",
        "connlist",
        "-o",
        "json",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), txt.lines().count());
    let (_, csv, _) = run(&["netpol", "connlist", "-o", "csv", &ex("cluster.yaml")]);
    assert!(csv.starts_with("src,dst,conn\n"));
    let (_, md, _) = run(&["netpol", "connlist", "-o", "md", &ex("cluster.yaml")]);
    assert!(md.starts_with("| src | dst | conn |"));
    let (_, dot, _) = run(&[
        "netpol",
        "connlist",
        "-o",
        "dot",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert!(
        dot.starts_with("digraph {")
            && dot.contains("subgraph cluster_")
            && dot.trim_end().ends_with('}')
    );
    let (_, html, _) = run(&[
        "netpol",
        "connlist",
        "-o",
        "html",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    // Drawn by the console's graph component, inlined: one file, no network.
    assert!(
        html.contains("<canvas id=\"graph\"")
            && html.contains("<script>")
            && !html.contains("http://cdn")
    );
    assert!(html.contains("__palisadeGraph") && html.contains("id=\"graph-data\""));

    let (_, focus, _) = run(&[
        "netpol",
        "connlist",
        "--focus-workload",
        "shop/redis",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert!(
        !focus.is_empty() && focus.lines().all(|l| l.contains("shop/redis[Deployment]")),
        "{focus}"
    );
    let (code, _, err) = run(&[
        "netpol",
        "connlist",
        "--focus-workload",
        "nope/none",
        &ex("cluster.yaml"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no workload"), "{err}");

    let (_, exp, _) = run(&[
        "netpol",
        "connlist",
        "--exposure",
        "--no-external",
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert!(exp.contains("payments/gateway[Deployment] is reachable from any pod in any namespace : All Connections"), "{exp}");
    assert!(
        !exp.contains("shop/redis[Deployment] is reachable from any pod"),
        "{exp}"
    );
}

#[test]
fn explain_allowed_and_denied_with_nearest_miss() {
    let (code, out, err) = run(&[
        "netpol",
        "explain",
        "monitoring/prometheus",
        "shop/cart",
        "TCP/7070",
        "-f",
        &ex("cluster.yaml"),
        "-f",
        &ex("policies.yaml"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "monitoring/prometheus[Deployment] => shop/cart[Deployment] on TCP/7070: ALLOWED"
        ),
        "{out}"
    );
    assert!(
        out.contains("NetworkPolicy shop/scrape-from-monitoring ingress[0]"),
        "{out}"
    );

    let (_, out, _) = run(&[
        "netpol",
        "explain",
        "payments/gateway",
        "shop/frontend",
        "TCP/9090",
        "-f",
        EX,
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "denied");
    let misses = v["nearest_miss"].as_array().unwrap();
    // frontend-from-ingress matches every source but only its http port.
    assert!(
        misses[0]
            .as_str()
            .unwrap()
            .contains("frontend-from-ingress ingress[0]")
            && misses[0].as_str().unwrap().contains("allows only TCP 8080"),
        "{misses:?}"
    );

    let (code, _, err) = run(&["netpol", "explain", "shop/nothing", "shop/cart", "-f", EX]);
    assert_eq!(code, 2);
    assert!(err.contains("no workload \"shop/nothing\""), "{err}");
    let (code, _, err) = run(&[
        "netpol",
        "explain",
        "shop/cart",
        "shop/redis",
        "ICMP/1",
        "-f",
        EX,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown protocol"), "{err}");
}

#[test]
fn lint_reports_and_fails_on_threshold() {
    let (code, out, _) = run(&["netpol", "lint", EX]);
    assert_eq!(code, 0);
    assert!(
        out.contains("NP004") && out.contains("Namespace payments"),
        "{out}"
    );
    let (code, _, _) = run(&["netpol", "lint", "--fail-on", "medium", EX]);
    assert_eq!(code, 1);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: wide, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: ghost}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0}\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n    ports:\n    - port: 443\n",
    )
    .unwrap();
    let (code, out, _) = run(&[
        "netpol",
        "lint",
        "-o",
        "json",
        &ex("cluster.yaml"),
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"NP001") && ids.contains(&"NP005") && ids.contains(&"NP003"),
        "{ids:?}"
    );
    let np005 = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "NP005")
        .unwrap();
    assert_eq!(np005["line"], 8);
    // The same findings in `palisade scan` (profile all), selectable by ID.
    let (code, out, _) = run(&[
        "scan",
        "--no-config",
        "--profile",
        "all",
        "--checks",
        "NP005",
        "-o",
        "json",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["check"], "NP005");
}

#[test]
fn diff_recommend_impact() {
    let dir = tempfile::tempdir().unwrap();
    let (code, rec, err) = run(&[
        "netpol",
        "recommend",
        "--flows",
        &ex("flows.jsonl"),
        &ex("cluster.yaml"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(rec.contains("kind: NetworkPolicy") && !rec.contains("pod-template-hash"));
    let after = dir.path().join("after");
    std::fs::create_dir(&after).unwrap();
    std::fs::copy(ex("cluster.yaml"), after.join("cluster.yaml")).unwrap();
    std::fs::write(after.join("policies.yaml"), &rec).unwrap();
    let (code, diff, err) = run(&[
        "netpol",
        "diff",
        "--fail-on-diff",
        &ex("cluster.yaml"),
        after.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        diff.contains(
            "removed  shop/redis[Deployment] => payments/gateway[Deployment] : All Connections"
        ),
        "{diff}"
    );
    assert!(diff.contains("changed  shop/frontend[Deployment] => shop/cart[Deployment] : All Connections -> TCP 7070"), "{diff}");
    let (code, same, _) = run(&[
        "netpol",
        "diff",
        "--fail-on-diff",
        after.to_str().unwrap(),
        after.to_str().unwrap(),
    ]);
    assert_eq!((code, same.as_str()), (0, ""));

    // Staged policies: the frontend's calls to the payment gateway would be cut.
    let (code, out, err) = run(&[
        "netpol",
        "impact",
        "--fail-on-deny",
        "--flows",
        &ex("flows.jsonl"),
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains(
            "shop/frontend[Deployment] => payments/gateway[Deployment] : TCP/8443  5 flow(s)"
        ),
        "{out}"
    );
    // A change: cart loses redis.
    let (code, out, _) = run(&[
        "netpol",
        "impact",
        "-o",
        "json",
        "--flows",
        &ex("flows.jsonl"),
        "--policies",
        &ex("new-policies.yaml"),
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["newly_denied"][0]["dst"], "shop/redis[Deployment]");
    assert_eq!(v["newly_denied"][0]["flows"], 50);
    assert_eq!(v["newly_allowed"].as_array().unwrap().len(), 0);
    // The recommended policies keep every observed flow.
    let p = after.join("policies.yaml");
    let (code, out, _) = run(&[
        "netpol",
        "impact",
        "--fail-on-deny",
        "--replace",
        "--flows",
        &ex("flows.jsonl"),
        "--policies",
        p.to_str().unwrap(),
        &ex("cluster.yaml"),
        &ex("policies.yaml"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("newly denied:  0 flow(s)"), "{out}");
}

#[test]
fn bad_input_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("p.yaml");
    std::fs::write(&pol, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/40}\n").unwrap();
    let (code, _, err) = run(&[
        "netpol",
        "connlist",
        &ex("cluster.yaml"),
        pol.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("p.yaml:8: error: NetworkPolicy shop/bad: invalid CIDR \"10.0.0.0/40\""),
        "{err}"
    );
    let flows = dir.path().join("f.jsonl");
    std::fs::write(&flows, "{\"src\":{\"namespace\":\"shop\",\"pod\":\"cart-1\"},\"dst\":{\"ip\":\"1.2.3.4\"},\"protocol\":\"TCP\",\"port\":80}\n{oops\n{\"src\":{},\"dst\":{},\"protocol\":\"TCP\",\"port\":70000}\n").unwrap();
    let (code, out, err) = run(&[
        "netpol",
        "recommend",
        "--flows",
        flows.to_str().unwrap(),
        &ex("cluster.yaml"),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("f.jsonl:2: error: not JSON"), "{err}");
    assert!(
        err.contains("f.jsonl:3: error: port 70000 is outside 1-65535"),
        "{err}"
    );
    // The good line was still used.
    assert!(out.contains("cidr: 1.2.3.4/32"), "{out}");
}
