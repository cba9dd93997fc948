//! RBAC risks (palisade-rbac's `risks::CATALOG`) as scan findings and catalog rules: the
//! subject-level risks of `rbac risks`, reported at the binding's subject.

use crate::select::{pattern_hits, picked, Selection};
use palisade_rbac::risks::{risks, RiskDef, RiskOptions, Severity};
use palisade_rbac::{bootstrap, BuildOptions, Rbac};

/// The catalog entry of an RBAC risk (one per `CATALOG` row of palisade-rbac), shared by
/// `scan`'s report and `palisade checks`: documentation in the catalog's sections, the
/// example role generated from what the risk matches.
pub fn risk_rule(d: &RiskDef) -> palisade_report::RuleInfo {
    let scope = match d.namespace_severity {
        Some(ns) => format!(
            "Severity is {} through a ClusterRoleBinding and {} through a RoleBinding (one namespace); a rule limited to resourceNames is one level lower.",
            d.cluster_severity.as_str(),
            ns.as_str()
        ),
        None => format!(
            "Severity is {}. The resources are cluster-scoped, so only a ClusterRoleBinding grants them.",
            d.cluster_severity.as_str()
        ),
    };
    let what = if d.grants.is_empty() {
        "Reports every subject (user, group or service account) bound to the `cluster-admin` ClusterRole.".to_string()
    } else {
        let grants: Vec<String> = d
            .grants
            .iter()
            .map(|(verbs, group, res)| {
                format!(
                    "`{}` on `{}`{}",
                    verbs.join("`/`"),
                    res,
                    if group.is_empty() || *group == "*" {
                        String::new()
                    } else {
                        format!(" ({group})")
                    }
                )
            })
            .collect();
        format!(
            "Reports every subject (user, group or service account) of a RoleBinding or ClusterRoleBinding whose role's effective rules (aggregated and default roles included) grant any of: {}.",
            grants.join("; ")
        )
    };
    let (kind, binding) = if d.namespace_severity.is_some() {
        ("Role", "RoleBinding")
    } else {
        ("ClusterRole", "ClusterRoleBinding")
    };
    let meta_ns = if kind == "Role" {
        "\n  namespace: ci"
    } else {
        ""
    };
    let example = match d.grants.first() {
        None => "```yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ci-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: deployer\n  namespace: ci\n```".to_string(),
        Some((verbs, group, res)) => format!(
            "```yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: deployer{meta_ns}\nrules:\n- apiGroups: [\"{group}\"]\n  resources: [\"{res}\"]\n  verbs: [{}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding}\nmetadata:\n  name: deployer{meta_ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n  name: deployer\nsubjects:\n- kind: ServiceAccount\n  name: deployer\n  namespace: ci\n```",
            verbs.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
        ),
    };
    let instead = "Grant only the verbs and resources the subject uses (`palisade rbac generate` derives them from an audit log); prefer a RoleBinding in the one namespace that needs it over a ClusterRoleBinding, and name the objects with `resourceNames` where the subject works on known ones. Where the power is needed (a controller that must do this), keep the subject's credentials out of reach: a dedicated service account, no token Secret, workloads that cannot be exec'd into.";
    palisade_report::RuleInfo {
        id: d.id.to_string(),
        name: d.name.to_string(),
        title: format!("RBAC risk: subject {}", d.title),
        severity: report_severity(d.cluster_severity),
        docs: format!(
            "## What it does\n{what}\n\n## Why is this bad?\n{}. {scope}\n\n## Example\n{example}\n\n## Use instead\n{instead}\n\n## Notes\n`palisade rbac risks` lists each grant with its binding, role and rule; `palisade rbac paths` shows what it leads to. `palisade scan` (profile `all`) reports it at the binding's subject.\n",
            d.why
        ),
        tags: vec!["rbac".into()],
        help_uri: palisade_checks::meta::help_uri(d.id),
    }
}

/// Every RBAC risk as a catalog rule.
pub fn catalog_rules() -> Vec<palisade_report::RuleInfo> {
    palisade_rbac::risks::CATALOG
        .iter()
        .map(risk_rule)
        .collect()
}

/// A risk's severity on the scale every `--fail-on` and report uses.
pub fn report_severity(s: Severity) -> palisade_report::Severity {
    match s {
        Severity::Low => palisade_report::Severity::Low,
        Severity::Medium => palisade_report::Severity::Medium,
        Severity::High => palisade_report::Severity::High,
        Severity::Critical => palisade_report::Severity::Critical,
    }
}

/// Does a --checks/--skip pattern name an RBAC risk (`RBAC003`, `read-secrets`, `RBAC*`)?
pub fn is_risk_pattern(p: &str) -> bool {
    palisade_rbac::risks::CATALOG
        .iter()
        .any(|d| pattern_hits(p, d.id) || pattern_hits(p, d.name))
}

/// `palisade scan`'s RBAC findings: the subject-level risks of `rbac risks` (RBAC001…) for
/// the bindings in the scanned input, judged with Kubernetes' default roles filled in. They
/// complement the role-level PAL5xx checks: those judge what a role's rules say, these what
/// a subject can really do (through `edit`, aggregated roles, or a RoleBinding scope).
/// Selected with --checks/--skip by ID or name like any check; only in the `all` profile.
pub fn scan_findings(
    objects: &[palisade_model::Object],
    selection: &Selection,
) -> (
    Vec<palisade_report::Finding>,
    Vec<palisade_report::RuleInfo>,
) {
    use palisade_rbac::risks::CATALOG;
    let picked = |id: &str, name: &str| picked(selection, id, name);
    // PAL506 already reports every binding to cluster-admin, per subject: RBAC001 would
    // repeat it word for word, so scan leaves it to `rbac risks`.
    let defs: Vec<_> = CATALOG
        .iter()
        .filter(|d| d.id != "RBAC001" && picked(d.id, d.name))
        .collect();
    if defs.is_empty()
        || !objects.iter().any(|o| {
            o.group() == palisade_rbac::model::RBAC_GROUP
                && matches!(o.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        })
    {
        return (Vec::new(), Vec::new());
    }
    let rbac = Rbac::build(
        objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    );
    let sev = report_severity;
    let rules = defs.iter().copied().map(risk_rule).collect();
    let index = palisade_model::load::ObjectIndex::new(objects);
    let mut findings = Vec::new();
    for r in risks(&rbac, &RiskOptions::default()) {
        if !defs.iter().any(|d| d.id == r.id) {
            continue;
        }
        let b = &rbac.bindings[r.binding_index];
        // Locate the binding object to report at its subject's line.
        let Some(obj) = index
            .starting_at(&b.origin.source, b.origin.line)
            .find(|o| o.kind == b.kind.as_str() && o.name == b.name)
        else {
            continue;
        };
        let subject_node = obj
            .root
            .get("subjects")
            .and_then(|s| s.items().get(r.subject_index));
        let path = format!("subjects[{}]", r.subject_index);
        let line = subject_node
            .map(|n| n.pos.line)
            .filter(|l| *l > 0)
            .unwrap_or(obj.line);
        let mut message = format!("{} {}, {}, via {}", r.subject, r.title, r.scope, r.role);
        if !r.rule.is_empty() {
            message.push_str(&format!(
                " rules[{}] ({})",
                r.rule_index.unwrap_or(0),
                r.rule
            ));
        }
        findings.push(palisade_report::Finding {
            check: r.id.to_string(),
            severity: sev(r.severity),
            message,
            object: palisade_report::ObjectId::from_object(obj),
            source: obj.source.display(),
            line,
            path,
            suppressed: None,
        });
    }
    (findings, rules)
}
