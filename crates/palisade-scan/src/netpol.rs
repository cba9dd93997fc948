//! Network policy lint (palisade-netpol's `lint::CATALOG`, NP001…) as scan findings and
//! catalog rules.

use crate::select::{pattern_hits, picked, Selection};
use palisade_model::Object;
use palisade_netpol::lint::{lint, LintDef, Severity as LintSeverity, CATALOG};
use palisade_netpol::{BuildOptions, Engine, Network};

/// The example and the fix of each lint, in the catalog's documentation.
const LINT_DOCS: &[(&str, &str, &str)] = &[
    (
        "NP001",
        "```yaml\nkind: NetworkPolicy\nmetadata: {name: api-ingress, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: apii}}   # no pod is labelled app=apii\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]\n```",
        "Select the pods the policy is meant for (check the labels with `kubectl get pods --show-labels`), or delete the policy.",
    ),
    (
        "NP002",
        "```yaml\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}  # no such namespace\n```",
        "Fix the selector so it matches the intended peers; a peer that matches nothing is usually a renamed label or namespace.",
    ),
    (
        "NP003",
        "```yaml\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from: [{namespaceSelector: {}}]            # every pod of every namespace\n  - from: [{podSelector: {matchLabels: {app: web}}}]  # already allowed by the rule above\n```",
        "Remove the shadowed rule, or narrow the broader rule so that each rule states a distinct intent.",
    ),
    (
        "NP004",
        "A namespace `shop` whose workloads have no NetworkPolicy selecting every pod for ingress.",
        "Add a default-deny policy to the namespace and allow the needed traffic explicitly:\n\n```yaml\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n```",
    ),
    (
        "NP005",
        "```yaml\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n```",
        "Allow egress to the addresses and ports the workload uses (the database's range, DNS to kube-dns), or route external traffic through an egress proxy.",
    ),
    (
        "NP006",
        "```yaml\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}}]   # every namespace, every port\n```",
        "Name the client namespaces and pods, and the ports they use:\n\n```yaml\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}}]\n    ports: [{port: 8080}]\n```",
    ),
    (
        "NP007",
        "An AdminNetworkPolicy rule with `action: Pass` for pods that no NetworkPolicy selects, with no BaselineAdminNetworkPolicy.",
        "Add the NetworkPolicies the Pass rule delegates to, or a BaselineAdminNetworkPolicy with the default you want, or use Allow/Deny in the admin policy.",
    ),
];

/// The catalog entry of a lint (one per `CATALOG` row of palisade-netpol), shared by `scan`'s
/// report and `palisade checks`.
pub fn lint_rule(d: &LintDef) -> palisade_report::RuleInfo {
    let (example, instead) = LINT_DOCS
        .iter()
        .find(|(id, _, _)| *id == d.id)
        .map(|(_, e, u)| (*e, *u))
        .unwrap_or((
            "(no example recorded)",
            "See `palisade netpol explain` for the rules deciding a connection.",
        ));
    palisade_report::RuleInfo {
        id: d.id.to_string(),
        name: d.name.to_string(),
        title: format!("Network policy: {}", d.title),
        severity: report_severity(d.severity),
        docs: format!(
            "## What it does\nFinds this condition: **{}**, judged over the workloads, namespaces and policies of the snapshot (NetworkPolicies, AdminNetworkPolicies and the BaselineAdminNetworkPolicy), at the policy's or rule's line.\n\n## Why is this bad?\n{}.\n\n## Example\n{example}\n\n## Use instead\n{instead}\n\n## Notes\n`palisade netpol lint` reports the same; `palisade netpol explain` shows why a given connection is allowed. `palisade scan` (profile `all`) reports it when the input has policies.\n",
            d.title, d.why
        ),
        tags: vec!["network".into(), "netpol".into()],
        help_uri: palisade_checks::meta::help_uri(d.id),
    }
}

/// Every network policy lint as a catalog rule.
pub fn catalog_rules() -> Vec<palisade_report::RuleInfo> {
    CATALOG.iter().map(lint_rule).collect()
}

/// A lint's severity on the scale every `--fail-on` and report uses.
pub fn report_severity(s: LintSeverity) -> palisade_report::Severity {
    match s {
        LintSeverity::Low => palisade_report::Severity::Low,
        LintSeverity::Medium => palisade_report::Severity::Medium,
        LintSeverity::High => palisade_report::Severity::High,
    }
}

/// Does a `--checks`/`--skip` pattern name a netpol lint rule?
pub fn is_lint_pattern(p: &str) -> bool {
    CATALOG
        .iter()
        .any(|d| pattern_hits(p, d.id) || pattern_hits(p, d.name))
}

/// Lint findings for `palisade scan` (profile `all`), when the input has policies.
pub fn scan_findings(
    objects: &[Object],
    selection: &Selection,
) -> (
    Vec<palisade_report::Finding>,
    Vec<palisade_report::RuleInfo>,
) {
    let picked = |id: &str, name: &str| picked(selection, id, name);
    let defs: Vec<_> = CATALOG.iter().filter(|d| picked(d.id, d.name)).collect();
    let has_policies = objects.iter().any(|o| policy_key(o).is_some());
    if defs.is_empty() || !has_policies {
        return (Vec::new(), Vec::new());
    }
    let sev = report_severity;
    let rules = defs.iter().copied().map(lint_rule).collect();
    let net = Network::build(objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let index = palisade_model::load::ObjectIndex::new(objects);
    let mut findings = Vec::new();
    for f in lint(&engine) {
        if !defs.iter().any(|d| d.id == f.id) {
            continue;
        }
        // Report at the object that contains the line.
        let Some(obj) = index.containing(&f.source, f.line) else {
            continue;
        };
        findings.push(palisade_report::Finding {
            check: f.id.to_string(),
            severity: sev(f.severity),
            message: format!("{}: {}", f.object, f.message),
            object: palisade_report::ObjectId::from_object(obj),
            source: f.source.clone(),
            line: f.line,
            path: String::new(),
            suppressed: None,
        });
    }
    (findings, rules)
}

/// A network policy object's (kind, namespace, name): the objects the lint judges.
pub fn policy_key(o: &Object) -> Option<(String, String, String)> {
    matches!(
        o.kind.as_str(),
        "NetworkPolicy" | "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy"
    )
    .then(|| {
        (
            o.kind.clone(),
            o.namespace.clone().unwrap_or_else(|| "default".into()),
            o.name.clone(),
        )
    })
}
