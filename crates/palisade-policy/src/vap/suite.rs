//! Native test suites for ValidatingAdmissionPolicies: a `PolicyTest` YAML file names the
//! policy files and the objects they may consult, and lists cases — a request and what
//! the policies must decide. The format is documented in `docs/policy-tests.md`.
//!
//! ```yaml
//! apiVersion: palisade.dev/v1alpha1
//! kind: PolicyTest
//! metadata: {name: require-team-label}
//! policies: [policy.yaml, binding.yaml]   # files or directories, relative to this file
//! resources: [params.yaml]                # params, namespaces, RBAC objects
//! authorizer: rbac                        # or none (the default)
//! cases:
//! - name: a deployment without the label is denied
//!   object: deployment.yaml               # a file, or an inline object
//!   expect:
//!     allowed: false
//!     messages: ["team"]                  # regular expressions
//! ```

use std::path::{Path, PathBuf};

use palisade_model::{load_paths, Level, LoadOptions, Node, Object};
use regex::Regex;
use serde_json::Value;

use crate::authorizer::{Authorizer, NoOpinion, RbacSnapshot};
use crate::decision::{Action, EngineKind, Evaluation};
use crate::inventory::Inventory;
use crate::request::{AdmissionRequest, Operation, UserInfo};
use crate::suite::{CaseResult, CaseStatus, SuiteReport};
use crate::{inventory_object, Review};

/// The `kind` of a suite file.
pub const SUITE_KIND: &str = "PolicyTest";

/// Runs one suite file. Never panics: unreadable files, broken policies and malformed
/// cases are `Error` results naming the problem.
pub fn run_suite(path: &Path) -> SuiteReport {
    let file = path.display().to_string();
    let mut report = SuiteReport {
        file: file.clone(),
        cases: Vec::new(),
    };
    let error = |test: &str, case: &str, detail: String| CaseResult {
        file: file.clone(),
        test: test.to_string(),
        case: case.to_string(),
        engine: Some(EngineKind::Cel),
        status: CaseStatus::Error,
        detail,
    };
    let loaded = load_paths(&[path.to_path_buf()], &LoadOptions::default());
    let suite = loaded
        .objects
        .iter()
        .find(|o| o.kind == SUITE_KIND)
        .map(|o| o.root.clone());
    let Some(suite) = suite else {
        let mut detail = format!("no {SUITE_KIND} document found");
        for d in loaded
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
        {
            detail.push_str(&format!("; {d}"));
        }
        report.cases.push(error("", "", detail));
        return report;
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let test = suite
        .at(&["metadata", "name"])
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            path.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string()
        });

    // Policies and resources.
    let files = |key: &str| -> Result<Vec<PathBuf>, String> {
        match suite.get(key) {
            None => Ok(Vec::new()),
            Some(n) if n.is_null() => Ok(Vec::new()),
            Some(n) => n
                .items()
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(|s| dir.join(s))
                        .ok_or_else(|| format!("{key}: items must be file or directory paths"))
                })
                .collect::<Result<Vec<_>, _>>()
                .and_then(|v| {
                    if v.is_empty() && !n.is_seq() {
                        Err(format!("{key}: must be a list of paths"))
                    } else {
                        Ok(v)
                    }
                }),
        }
    };
    let (policy_files, resource_files) = match (files("policies"), files("resources")) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) => {
            report.cases.push(error(&test, "", e));
            return report;
        }
    };
    if policy_files.is_empty() {
        report.cases.push(error(
            &test,
            "",
            "policies: at least one file is required".into(),
        ));
        return report;
    }
    let mut problems = Vec::new();
    let mut objects: Vec<Object> = Vec::new();
    for f in policy_files.iter().chain(&resource_files) {
        if !f.exists() {
            problems.push(format!("{}: no such file or directory", f.display()));
        }
    }
    let policies_loaded = load_paths(&policy_files, &LoadOptions::default());
    let resources_loaded = load_paths(&resource_files, &LoadOptions::default());
    for d in policies_loaded
        .diagnostics
        .iter()
        .chain(&resources_loaded.diagnostics)
        .filter(|d| d.level == Level::Error)
    {
        problems.push(d.to_string());
    }
    objects.extend(policies_loaded.objects);
    let mut used = vec![false; objects.len()];
    let mut diags = Vec::new();
    let policies = super::load(&objects, &mut used, &mut diags);
    for d in diags.iter().filter(|d| d.level >= Level::Warning) {
        problems.push(d.to_string());
    }
    if policies.is_empty() {
        problems.push("no ValidatingAdmissionPolicy found in the policy files".into());
    }
    let inventory = Inventory::new(
        objects
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(o, _)| inventory_object(o))
            .chain(resources_loaded.objects.iter().map(inventory_object)),
    );
    let rbac;
    let authorizer: &dyn Authorizer = match suite.get("authorizer").and_then(Node::as_str) {
        None | Some("none") => &NoOpinion,
        Some("rbac") => {
            rbac = RbacSnapshot::from_inventory(&inventory);
            &rbac
        }
        Some(other) => {
            problems.push(format!(
                "authorizer: unsupported value {other:?} (none or rbac)"
            ));
            &NoOpinion
        }
    };
    if !problems.is_empty() {
        report
            .cases
            .push(error(&test, "<load>", problems.join("\n")));
    }

    let cases = suite.get("cases").map(Node::items).unwrap_or(&[]);
    if cases.is_empty() {
        report.cases.push(error(
            &test,
            "",
            "cases: at least one case is required".into(),
        ));
    }
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Node::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("case {}", i + 1));
        let mut result = CaseResult {
            file: file.clone(),
            test: test.clone(),
            case: name,
            engine: Some(EngineKind::Cel),
            status: CaseStatus::Pass,
            detail: String::new(),
        };
        if let Some(reason) = case.get("skip").filter(|s| !s.is_null()) {
            result.status = CaseStatus::Skip;
            result.detail = reason.scalar_string().unwrap_or_else(|| "skipped".into());
            report.cases.push(result);
            continue;
        }
        match run_case(case, &dir, &policies, &inventory, authorizer) {
            Ok(failures) if failures.is_empty() => {}
            Ok(failures) => {
                result.status = CaseStatus::Fail;
                result.detail = failures.join("\n");
            }
            Err(e) => {
                result.status = CaseStatus::Error;
                result.detail = e;
            }
        }
        report.cases.push(result);
    }
    report
}

fn object_at(case: &Node, key: &str, dir: &Path) -> Result<Option<Value>, String> {
    match case.get(key) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) if n.is_map() => Ok(Some(n.to_json())),
        Some(n) => {
            let Some(p) = n.as_str() else {
                return Err(format!("{key}: must be a file path or an object"));
            };
            let path = dir.join(p);
            let loaded = load_paths(std::slice::from_ref(&path), &LoadOptions::default());
            if let Some(d) = loaded.diagnostics.iter().find(|d| d.level == Level::Error) {
                return Err(format!("{key}: {d}"));
            }
            match loaded.objects.first() {
                Some(o) => Ok(Some(o.root.to_json())),
                None => Err(format!("{key}: no object in {}", path.display())),
            }
        }
    }
}

fn patterns(n: Option<&Node>, key: &str) -> Result<Option<Vec<Regex>>, String> {
    let Some(n) = n.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    if !n.is_seq() {
        return Err(format!(
            "expect.{key}: must be a list of regular expressions"
        ));
    }
    n.items()
        .iter()
        .map(|p| {
            let s = p
                .scalar_string()
                .ok_or_else(|| format!("expect.{key}: items must be strings"))?;
            Regex::new(&s).map_err(|e| format!("expect.{key}: {s:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Checks that every pattern matches one of `messages`; an empty pattern list means no
/// message at all.
fn check_messages(
    what: &str,
    pats: &Option<Vec<Regex>>,
    messages: &[&str],
    failures: &mut Vec<String>,
) {
    let Some(pats) = pats else {
        return;
    };
    if pats.is_empty() && !messages.is_empty() {
        failures.push(format!("expected no {what}, got: {}", messages.join(" | ")));
    }
    for p in pats {
        if !messages.iter().any(|m| p.is_match(m)) {
            failures.push(format!(
                "expected a {what} matching /{p}/, got: {}",
                if messages.is_empty() {
                    "none".to_string()
                } else {
                    messages.join(" | ")
                }
            ));
        }
    }
}

fn run_case(
    case: &Node,
    dir: &Path,
    policies: &[std::sync::Arc<dyn crate::Policy>],
    inventory: &Inventory,
    authorizer: &dyn Authorizer,
) -> Result<Vec<String>, String> {
    let object = object_at(case, "object", dir)?;
    let old_object = object_at(case, "oldObject", dir)?;
    if object.is_none() && old_object.is_none() {
        return Err("a case needs object or oldObject".into());
    }
    let operation = match case.get("operation").and_then(Node::as_str) {
        Some(s) => {
            Operation::parse(s).ok_or_else(|| format!("operation: unsupported value {s:?}"))?
        }
        None if object.is_some() && old_object.is_some() => Operation::Update,
        None if object.is_none() => Operation::Delete,
        None => Operation::Create,
    };
    let user = match case.get("userInfo") {
        Some(u) if u.is_map() => {
            serde_json::from_value::<UserInfo>(u.to_json()).map_err(|e| format!("userInfo: {e}"))?
        }
        Some(_) => return Err("userInfo: must be a mapping".into()),
        None => UserInfo::offline(),
    };
    let mut req = AdmissionRequest::for_object(object, old_object, operation, user);
    if let Some(ns) = case.get("namespace") {
        req.namespace = ns.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    }
    if let Some(sub) = case.get("subResource").and_then(Node::as_str) {
        req.sub_resource = Some(sub.to_string());
        req.request_sub_resource = Some(sub.to_string());
    }
    if let Some(name) = case.get("requestName").and_then(Node::as_str) {
        req.name = name.to_string();
    }
    let review = Review::new(&req, inventory, authorizer);
    let mut eval = Evaluation::default();
    for p in policies {
        p.evaluate(&review, &mut eval);
    }

    let expect = case.get("expect").ok_or("expect: required")?;
    if !expect.is_map() {
        return Err("expect: must be a mapping".into());
    }
    let mut failures = Vec::new();
    let denies: Vec<&str> = eval
        .decisions
        .iter()
        .filter(|d| d.denies())
        .map(|d| d.message.as_str())
        .collect();
    let warnings: Vec<&str> = eval
        .decisions
        .iter()
        .filter(|d| d.actions.contains(&Action::Warn))
        .map(|d| d.message.as_str())
        .collect();
    let errors: Vec<&str> = eval.errors.iter().map(|e| e.message.as_str()).collect();
    if let Some(allowed) = expect.get("allowed") {
        let allowed = allowed
            .as_bool()
            .ok_or("expect.allowed: must be true or false")?;
        if allowed == eval.denied() {
            failures.push(if allowed {
                format!(
                    "expected the request to be allowed, it was denied: {}",
                    denies.join(" | ")
                )
            } else {
                "expected the request to be denied, it was allowed".to_string()
            });
        }
    }
    check_messages(
        "deny message",
        &patterns(expect.get("messages"), "messages")?,
        &denies,
        &mut failures,
    );
    check_messages(
        "warning",
        &patterns(expect.get("warnings"), "warnings")?,
        &warnings,
        &mut failures,
    );
    check_messages(
        "ignored error",
        &patterns(expect.get("errors"), "errors")?,
        &errors,
        &mut failures,
    );
    if let Some(ann) = expect.get("auditAnnotations").filter(|n| !n.is_null()) {
        if !ann.is_map() {
            return Err(
                "expect.auditAnnotations: must be a mapping of key to regular expression".into(),
            );
        }
        for e in ann.entries() {
            let pat = e
                .value
                .scalar_string()
                .ok_or_else(|| format!("expect.auditAnnotations.{}: must be a string", e.key))?;
            let re = Regex::new(&pat)
                .map_err(|err| format!("expect.auditAnnotations.{}: {err}", e.key))?;
            let values: Vec<&str> = eval
                .audit_annotations
                .iter()
                .filter(|a| a.key == e.key)
                .map(|a| a.value.as_str())
                .collect();
            if !values.iter().any(|v| re.is_match(v)) {
                failures.push(format!(
                    "expected audit annotation {:?} matching /{pat}/, got: {}",
                    e.key,
                    if values.is_empty() {
                        "none".into()
                    } else {
                        values.join(" | ")
                    }
                ));
            }
        }
    }
    Ok(failures)
}
