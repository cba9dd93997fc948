//! PolicyReports (`wgpolicyk8s.io/v1alpha2`, the Kubernetes Policy working group's format,
//! read by Kyverno's Policy Reporter and `kubectl get polr`), in Kyverno's per-resource
//! layout: one report per scanned object, in the object's namespace (a `PolicyReport`) or
//! cluster-wide for cluster-scoped objects (a `ClusterPolicyReport`), named by the object's
//! UID and owner-referenced to it when the UID is known, with the object as `scope`.
//!
//! Each finding is a result: `source: palisade`, `policy` = the rule's ID, `rule` = its
//! kebab-case name, `category`, `severity`, `result: fail` (`skip` when suppressed, with the
//! suppression in `properties`), `message`, `properties` (`path`, `file`, `line`),
//! `timestamp` (`seconds`/`nanos`, the CRD's form). Every rule that judged an object without
//! a finding on it is a `pass` result, so a fixed object's report shows passes rather than
//! vanishing. `summary` counts the results.

use crate::{Finding, ObjectId, Report, Severity, SuppressedBy};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The API version written.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// The `source` of every result.
pub const SOURCE: &str = "palisade";
/// The label every report carries, as Kyverno's `app.kubernetes.io/managed-by: kyverno`.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "palisade");

/// An object the scan judged: the reports are per subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub object: ObjectId,
    /// The object's source (file, `<stdin>`, `cluster:…`): objects with the same identity in
    /// two files are two subjects.
    pub source: String,
    pub uid: Option<String>,
    /// Rule IDs that judged this object: each without a finding on it is a `pass` result.
    pub evaluated: BTreeSet<String>,
}

/// The time of the results, as the CRD's `timestamp` (`seconds`, `nanos` since the epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

impl Timestamp {
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }
}

/// What the reports need beyond the [`Report`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub timestamp: Timestamp,
    /// Rule ID → category (the catalog's headings); rules without one get `Policy`.
    pub categories: BTreeMap<String, String>,
    /// Every object judged (findings on objects not listed get a subject of their own).
    pub subjects: Vec<Subject>,
}

/// The report's object name: the UID when known (Kyverno's naming), else a DNS-1123 name
/// made of the kind, namespace and name.
pub fn report_name(object: &ObjectId, uid: Option<&str>) -> String {
    if let Some(uid) = uid.filter(|u| !u.is_empty()) {
        return uid.to_string();
    }
    let mut raw = format!("palisade-{}", object.kind.to_ascii_lowercase());
    raw.push('-');
    raw.push_str(&object.name);
    let mut name: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.len() > 253 {
        name.truncate(253);
    }
    while name.ends_with(['-', '.']) {
        name.pop();
    }
    name
}

fn severity(s: Severity) -> &'static str {
    s.as_str()
}

fn result(
    f: Option<&Finding>,
    rule_id: &str,
    names: &BTreeMap<&str, &str>,
    opts: &Options,
) -> Value {
    let mut r = Map::new();
    r.insert("source".into(), json!(SOURCE));
    r.insert("policy".into(), json!(rule_id));
    let name = names.get(rule_id).copied().unwrap_or(rule_id);
    r.insert("rule".into(), json!(name));
    let category = opts
        .categories
        .get(rule_id)
        .map(String::as_str)
        .unwrap_or("Policy");
    r.insert("category".into(), json!(category));
    match f {
        Some(f) => {
            r.insert("severity".into(), json!(severity(f.severity)));
            let outcome = if f.suppressed.is_some() {
                "skip"
            } else {
                "fail"
            };
            r.insert("result".into(), json!(outcome));
            r.insert("message".into(), json!(f.message));
            let mut props = Map::new();
            if !f.path.is_empty() {
                props.insert("path".into(), json!(f.path));
            }
            if let Some(file) = f.file() {
                props.insert("file".into(), json!(file));
            }
            if f.line > 0 {
                props.insert("line".into(), json!(f.line.to_string()));
            }
            if let Some(s) = &f.suppressed {
                let by = match s.by {
                    SuppressedBy::Annotation => "annotation",
                    SuppressedBy::Config => "config",
                };
                props.insert("suppressedBy".into(), json!(by));
                if let Some(reason) = &s.reason {
                    props.insert("suppressionReason".into(), json!(reason));
                }
            }
            if !props.is_empty() {
                r.insert("properties".into(), Value::Object(props));
            }
        }
        None => {
            r.insert("result".into(), json!("pass"));
        }
    }
    r.insert(
        "timestamp".into(),
        json!({"seconds": opts.timestamp.seconds, "nanos": opts.timestamp.nanos}),
    );
    r.insert("scored".into(), json!(true));
    Value::Object(r)
}

/// The reports of a scan, one per subject, in subject order (subjects of findings not in
/// `opts.subjects` follow, in finding order).
pub fn reports(report: &Report, opts: &Options) -> Vec<Value> {
    let names: BTreeMap<&str, &str> = report
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let mut subjects: Vec<Subject> = opts.subjects.clone();
    let mut known: BTreeMap<(ObjectId, String), usize> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.object.clone(), s.source.clone()), i))
        .collect();
    let mut by_subject: Vec<Vec<&Finding>> = vec![Vec::new(); subjects.len()];
    for f in &report.findings {
        let key = (f.object.clone(), f.source.clone());
        let i = *known.entry(key).or_insert_with(|| {
            subjects.push(Subject {
                object: f.object.clone(),
                source: f.source.clone(),
                uid: None,
                evaluated: BTreeSet::new(),
            });
            by_subject.push(Vec::new());
            subjects.len() - 1
        });
        by_subject[i].push(f);
    }
    subjects
        .iter()
        .zip(by_subject)
        .map(|(s, found)| one_report(s, &found, &names, opts))
        .collect()
}

fn one_report(
    s: &Subject,
    found: &[&Finding],
    names: &BTreeMap<&str, &str>,
    opts: &Options,
) -> Value {
    let mut results = Vec::new();
    let mut summary = BTreeMap::from([
        ("pass", 0u64),
        ("fail", 0),
        ("warn", 0),
        ("error", 0),
        ("skip", 0),
    ]);
    for f in found {
        let r = result(Some(f), &f.check, names, opts);
        let key = if f.suppressed.is_some() {
            "skip"
        } else {
            "fail"
        };
        *summary.entry(key).or_default() += 1;
        results.push(r);
    }
    let failed: BTreeSet<&str> = found.iter().map(|f| f.check.as_str()).collect();
    for id in &s.evaluated {
        if !failed.contains(id.as_str()) {
            results.push(result(None, id, names, opts));
            *summary.entry("pass").or_default() += 1;
        }
    }
    let o = &s.object;
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(report_name(o, s.uid.as_deref())));
    if let Some(ns) = &o.namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({ MANAGED_BY.0: MANAGED_BY.1 }));
    let mut scope = Map::new();
    scope.insert("apiVersion".into(), json!(o.api_version));
    scope.insert("kind".into(), json!(o.kind));
    scope.insert("name".into(), json!(o.name));
    if let Some(ns) = &o.namespace {
        scope.insert("namespace".into(), json!(ns));
    }
    if let Some(uid) = s.uid.as_deref().filter(|u| !u.is_empty()) {
        scope.insert("uid".into(), json!(uid));
        metadata.insert(
            "ownerReferences".into(),
            json!([{"apiVersion": o.api_version, "kind": o.kind, "name": o.name, "uid": uid}]),
        );
    }
    let kind = if o.namespace.is_some() {
        "PolicyReport"
    } else {
        "ClusterPolicyReport"
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "scope": scope,
        "results": results,
        "summary": summary,
    })
}

/// The reports as one multi-document YAML stream (what `kubectl apply -f -` reads).
pub fn render(report: &Report, opts: &Options) -> String {
    palisade_model::emit::to_yaml(&reports(report, opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RuleInfo, Suppression};

    fn finding(check: &str, obj: &ObjectId, suppressed: bool) -> Finding {
        Finding {
            check: check.into(),
            severity: Severity::High,
            message: format!("{check} fired"),
            object: obj.clone(),
            source: "deploy.yaml".into(),
            line: 12,
            path: "spec.template.spec.containers[0].securityContext.privileged".into(),
            suppressed: suppressed.then(|| Suppression {
                by: SuppressedBy::Annotation,
                reason: Some("needed".into()),
            }),
        }
    }

    fn rule(id: &str, name: &str) -> RuleInfo {
        RuleInfo {
            id: id.into(),
            name: name.into(),
            title: String::new(),
            severity: Severity::High,
            docs: String::new(),
            tags: Vec::new(),
            help_uri: String::new(),
        }
    }

    #[test]
    fn one_report_per_object_with_fail_skip_pass_and_summary() {
        let web = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        let crb = ObjectId {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "ClusterRoleBinding".into(),
            namespace: None,
            name: "ops:admins".into(),
        };
        let report = Report {
            findings: vec![
                finding("PSS101", &web, false),
                finding("PAL105", &web, true),
                finding("PAL506", &crb, false),
            ],
            rules: vec![
                rule("PSS101", "privileged"),
                rule("PAL506", "cluster-admin"),
            ],
            ..Report::default()
        };
        let opts = Options {
            timestamp: Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            },
            categories: BTreeMap::from([("PSS101".into(), "Pod Security Standards".into())]),
            subjects: vec![Subject {
                object: web.clone(),
                source: "deploy.yaml".into(),
                uid: Some("0b1c".into()),
                evaluated: ["PSS101", "PSS102", "PAL105"].map(String::from).into(),
            }],
        };
        let out = reports(&report, &opts);
        assert_eq!(out.len(), 2);
        let r = &out[0];
        assert_eq!(r["kind"], "PolicyReport");
        assert_eq!(r["metadata"]["name"], "0b1c");
        assert_eq!(r["metadata"]["namespace"], "shop");
        assert_eq!(r["metadata"]["ownerReferences"][0]["uid"], "0b1c");
        assert_eq!(r["scope"]["kind"], "Deployment");
        assert_eq!(
            r["summary"],
            json!({"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 1})
        );
        let results = r["results"].as_array().unwrap();
        assert_eq!(results[0]["policy"], "PSS101");
        assert_eq!(results[0]["rule"], "privileged");
        assert_eq!(results[0]["category"], "Pod Security Standards");
        assert_eq!(results[0]["result"], "fail");
        assert_eq!(results[0]["properties"]["line"], "12");
        assert_eq!(results[0]["properties"]["file"], "deploy.yaml");
        assert_eq!(results[0]["timestamp"]["seconds"], 1_700_000_000);
        assert_eq!(results[1]["result"], "skip");
        assert_eq!(results[1]["properties"]["suppressionReason"], "needed");
        assert_eq!(results[2]["policy"], "PSS102");
        assert_eq!(results[2]["result"], "pass");
        let c = &out[1];
        assert_eq!(c["kind"], "ClusterPolicyReport");
        assert_eq!(
            c["metadata"]["name"],
            "palisade-clusterrolebinding-ops-admins"
        );
        assert!(c["metadata"].get("namespace").is_none());
        assert!(c["metadata"].get("ownerReferences").is_none());
        let text = render(&report, &opts);
        assert_eq!(text.matches("\n---\n").count(), 1);
    }
}
