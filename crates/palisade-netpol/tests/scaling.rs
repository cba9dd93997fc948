//! The lint's cost must grow linearly with its input. Not a timing test: `lint_with_work`
//! counts the units that grew quadratically before (every rule compared with every rule of
//! the same subject, every policy with every workload), and these tests assert that ten
//! times the input costs at most ten times the work.

use palisade_model::{load_bytes, load_paths, LoadOptions, Object, Source};
use palisade_netpol::lint::{lint_with_work, LintWork};
use palisade_netpol::{BuildOptions, Engine, Network};
use std::path::Path;

fn lint_of(objects: &[Object]) -> (usize, LintWork) {
    let net = Network::build(objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let (findings, work) = lint_with_work(&engine);
    (findings.len(), work)
}

fn assert_linear(one: LintWork, ten: LintWork) {
    let parts = [
        ("subject_tests", one.subject_tests, ten.subject_tests),
        ("shadow_tests", one.shadow_tests, ten.shadow_tests),
        ("workload_visits", one.workload_visits, ten.workload_visits),
        ("selector_tests", one.selector_tests, ten.selector_tests),
    ];
    for (name, a, b) in parts {
        assert!(b <= 10 * a, "{name}: {a} at 1x, {b} at 10x (more than 10x)");
    }
}

/// The shared corpus, and the same corpus ten times over in one snapshot (the benchmark's
/// 10x case: every policy has nine identical copies, which NP003 must not compare pairwise).
#[test]
fn corpus_copies_cost_linear_work() {
    let corpus = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    let loaded = load_paths(&[corpus.to_path_buf()], &LoadOptions::default());
    assert!(
        loaded.objects.len() > 3000,
        "corpus not found at {corpus:?}"
    );
    let (n1, one) = lint_of(&loaded.objects);
    assert!(n1 > 0 && one.total() > 0, "the corpus has policies to lint");
    let ten_copies: Vec<Object> = (0..10).flat_map(|_| loaded.objects.clone()).collect();
    let (n10, ten) = lint_of(&ten_copies);
    // Each copy's findings again, plus NP003 for each copy shadowed by its identical twin.
    assert!(n10 >= 10 * n1, "{n10} findings at 10x, {n1} at 1x");
    assert_linear(one, ten);
    // Comparing every rule with every same-subject rule would be about 100x here.
    assert!(
        ten.shadow_tests <= 10 * one.shadow_tests,
        "{} vs {}",
        ten.shadow_tests,
        one.shadow_tests
    );
}

/// A synthetic cluster of `n` namespaces, each with two workloads, a default-deny, an
/// allow rule between its apps, DNS egress to kube-system and an exact copy of the allow
/// rule (shadowed).
fn synthetic(n: usize) -> Vec<Object> {
    let mut y = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: dns, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    for i in 0..n {
        y.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{i}, labels: {{team: t{t}}}}}\n\
---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: ns{i}, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: i, ports: [{{containerPort: 80}}]}}]}}\n\
---\napiVersion: v1\nkind: Pod\nmetadata: {{name: api, namespace: ns{i}, labels: {{app: api}}}}\nspec: {{containers: [{{name: c, image: i, ports: [{{containerPort: 8080}}]}}]}}\n\
---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: ns{i}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress, Egress], egress: [{{to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}, podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}], ports: [{{port: 53, protocol: UDP}}]}}]}}\n\
---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-to-api, namespace: ns{i}}}\nspec: {{podSelector: {{matchLabels: {{app: api}}}}, ingress: [{{from: [{{podSelector: {{matchLabels: {{app: web}}}}}}], ports: [{{port: 8080}}]}}]}}\n\
---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-to-api-copy, namespace: ns{i}}}\nspec: {{podSelector: {{matchLabels: {{app: api}}}}, ingress: [{{from: [{{podSelector: {{matchLabels: {{app: web}}}}}}], ports: [{{port: 8080}}]}}]}}\n",
            t = i % 5
        ));
    }
    load_bytes(
        y.as_bytes(),
        Source::File("synthetic.yaml".into()),
        &LoadOptions::default(),
    )
    .objects
}

#[test]
fn many_namespaces_cost_linear_work() {
    let (n1, one) = lint_of(&synthetic(50));
    let (n10, ten) = lint_of(&synthetic(500));
    // One NP003 per namespace (the copy), and NP004 for kube-system (no default-deny).
    assert_eq!(n1, 51);
    assert_eq!(n10, 501);
    assert_linear(one, ten);
}
