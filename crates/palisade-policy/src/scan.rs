//! `palisade scan --policy`: every scanned object is reviewed as an admission CREATE by
//! every loaded policy, and each decision becomes a [`Finding`].
//!
//! Mapping (documented in docs/policies.md):
//! - check ID: `vap/<policy>` for a ValidatingAdmissionPolicy, `gatekeeper/<Kind>/<name>`
//!   for a Gatekeeper constraint; SARIF gets one rule per ID.
//! - severity from the action: Deny → high, Warn → medium, Audit and dryrun → low; an
//!   evaluation error under failurePolicy Fail is high.
//! - `palisade.dev/ignore` on the object suppresses a policy finding when it lists its ID
//!   (or `all`); the finding is kept and marked, as for built-in checks.
//! - Errors under failurePolicy Ignore and audit annotations are reported as diagnostics
//!   (warnings and notes), never dropped.

use palisade_model::{Diagnostic, Level, Object};
use palisade_report::{Finding, ObjectId, RuleInfo, Severity, SuppressedBy, Suppression};
use std::collections::BTreeMap;

/// The findings and diagnostics of one object.
type ObjectResult = (Vec<Finding>, Vec<Diagnostic>);

use crate::authorizer::RbacSnapshot;
use crate::decision::{Action, Decision, DecisionKind, EngineKind};
use crate::{AdmissionRequest, Authorizer, Inventory, Operation, PolicySet, Review, UserInfo};

use palisade_checks::engine::{IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION};

/// Policy findings for a set of scanned objects.
#[derive(Debug, Default)]
pub struct PolicyScan {
    pub findings: Vec<Finding>,
    /// One per policy that produced a finding, for SARIF's rule table.
    pub rules: Vec<RuleInfo>,
    pub diagnostics: Vec<Diagnostic>,
    /// Requests evaluated (objects × 1).
    pub evaluations: usize,
}

/// The check ID a decision is reported under.
pub fn check_id(d: &Decision) -> String {
    match d.engine {
        EngineKind::Cel | EngineKind::Rego => match (&d.binding, d.engine) {
            // Gatekeeper constraints are `Kind/name`; VAP bindings are plain names.
            (Some(b), _) if b.contains('/') => format!("gatekeeper/{b}"),
            _ => format!("vap/{}", d.policy),
        },
        EngineKind::Builtin => d.policy.clone(),
    }
}

/// The severity a decision is reported with.
pub fn severity(d: &Decision) -> Severity {
    if d.kind == DecisionKind::Error || d.actions.contains(&Action::Deny) {
        Severity::High
    } else if d.actions.contains(&Action::Warn) {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// Reviews every object in `objects` with every policy in `set`. What the policies may
/// consult besides the object is the scanned objects plus the set's other objects (params,
/// namespaces); CEL's `authorizer` answers from the Roles and bindings among them.
pub fn scan_objects(set: &PolicySet, objects: &[Object]) -> PolicyScan {
    // Each object is converted to JSON once: the inventory's copy is also the request's.
    let inventory = Inventory::new(
        objects
            .iter()
            .map(crate::inventory_object)
            .chain(set.others.iter().cloned()),
    );
    let authorizer = RbacSnapshot::from_inventory(&inventory);
    let inventory = &inventory;
    let authorizer: &dyn Authorizer = &authorizer;
    let review_object = |i: usize| {
        let value = &inventory.objects()[i].value;
        review_object(set, &objects[i], value, inventory, authorizer)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(objects.len() / 32 + 1);
    let per_object: Vec<ObjectResult> = if threads <= 1 {
        (0..objects.len()).map(review_object).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, ObjectResult)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= objects.len() {
                                break;
                            }
                            mine.push((i, review_object(i)));
                        }
                        mine
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    };
    let mut out = PolicyScan {
        evaluations: objects.len(),
        ..PolicyScan::default()
    };
    for (f, d) in per_object {
        out.findings.extend(f);
        out.diagnostics.extend(d);
    }
    let mut rules: BTreeMap<String, RuleInfo> = BTreeMap::new();
    for f in &out.findings {
        rules
            .entry(f.check.clone())
            .or_insert_with(|| rule_for(set, &f.check, f.severity));
    }
    out.rules = rules.into_values().collect();
    out
}

fn rule_for(set: &PolicySet, id: &str, severity: Severity) -> RuleInfo {
    let (engine, title) = if let Some(rest) = id.strip_prefix("gatekeeper/") {
        ("gatekeeper", format!("Gatekeeper constraint {rest}"))
    } else if let Some(rest) = id.strip_prefix("vap/") {
        ("vap", format!("ValidatingAdmissionPolicy {rest}"))
    } else {
        ("policy", id.to_string())
    };
    let defined = set
        .policies
        .iter()
        .find(|p| id.ends_with(p.name()))
        .and_then(|p| p.source().map(|s| format!(" Defined in {s}.")))
        .unwrap_or_default();
    RuleInfo {
        id: id.to_string(),
        name: id.rsplit('/').next().unwrap_or(id).to_string(),
        title: title.clone(),
        severity,
        docs: format!("{title}.{defined}"),
        tags: vec!["policy".into(), engine.into()],
        help_uri: String::new(),
    }
}

fn review_object(
    set: &PolicySet,
    o: &Object,
    value: &serde_json::Value,
    inventory: &Inventory,
    authorizer: &dyn Authorizer,
) -> ObjectResult {
    let request = AdmissionRequest::for_object(
        Some(value.clone()),
        None,
        Operation::Create,
        UserInfo::offline(),
    );
    let review = Review::new(&request, inventory, authorizer);
    let eval = set.evaluate(&review);
    let mut findings = Vec::new();
    let mut diags = Vec::new();
    let ignore: Vec<&str> = o
        .annotation(IGNORE_ANNOTATION)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let reason = o.annotation(IGNORE_REASON_ANNOTATION).map(str::to_string);
    for d in &eval.decisions {
        let check = check_id(d);
        let suppressed = ignore
            .iter()
            .any(|k| *k == check || *k == "all" || *k == "*")
            .then(|| Suppression {
                by: SuppressedBy::Annotation,
                reason: reason.clone(),
            });
        let message = match d.kind {
            DecisionKind::Violation => d.message.clone(),
            DecisionKind::Error => format!(
                "policy could not be evaluated (failurePolicy Fail): {}",
                d.message
            ),
        };
        findings.push(Finding {
            check,
            severity: severity(d),
            message,
            object: ObjectId::from_object(o),
            source: o.source.display(),
            line: o.line,
            path: String::new(),
            suppressed,
        });
    }
    for e in &eval.errors {
        let binding = e
            .binding
            .as_deref()
            .map(|b| format!(" (binding {b})"))
            .unwrap_or_default();
        diags.push(Diagnostic::new(
            Level::Warning,
            o.source.display(),
            o.line,
            format!(
                "{}: {} policy {}{binding} could not be evaluated and was ignored (failurePolicy Ignore): {}",
                o.display_name(),
                e.engine.as_str(),
                e.policy,
                e.message
            ),
        ));
    }
    for a in &eval.audit_annotations {
        diags.push(Diagnostic::new(
            Level::Note,
            o.source.display(),
            o.line,
            format!(
                "{}: policy {} audit annotation {}/{}: {}",
                o.display_name(),
                a.policy,
                a.policy,
                a.key,
                a.value
            ),
        ));
    }
    (findings, diags)
}
