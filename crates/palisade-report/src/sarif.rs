//! SARIF 2.1.0 output, shaped for GitHub code scanning: rules carry help text and a
//! `security-severity`, results carry file/line regions (relative URIs), a logical location
//! naming the object, and stable `partialFingerprints`; suppressed findings are results with
//! `suppressions`; input diagnostics are tool execution notifications.

use crate::{Finding, Report, Severity};
use serde_json::{json, Value};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub maps this number to its own critical/high/medium/low bands.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A file path as a SARIF artifact URI: forward slashes, no leading `./`; absolute paths
/// become `file://` URIs.
fn artifact_uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let p = p.trim_start_matches("./");
    if p.starts_with('/') {
        format!("file://{}", percent_encode(p))
    } else {
        percent_encode(p)
    }
}

fn percent_encode(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A fingerprint stable across line moves: check, object and field path.
fn fingerprint(f: &Finding) -> String {
    // FNV-1a, 64 bit: deterministic across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for part in [
        f.check.as_str(),
        f.object.qualified().as_str(),
        f.path.as_str(),
        f.source.as_str(),
    ] {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn first_paragraph(md: &str) -> String {
    md.lines()
        .skip_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn result(report: &Report, f: &Finding) -> Value {
    let mut location = json!({
        "logicalLocations": [{
            "name": f.object.name,
            "fullyQualifiedName": format!("{}#{}", f.object.qualified(), f.path),
            "kind": "object",
        }],
    });
    if let Some(file) = f.file() {
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": artifact_uri(file)},
            "region": {"startLine": f.line.max(1)},
        });
    }
    let mut result = json!({
        "ruleId": f.check,
        "level": level(f.severity),
        "message": {"text": format!("{} ({} {})", f.message, f.object.kind, match &f.object.namespace {
            Some(ns) => format!("{ns}/{}", f.object.name),
            None => f.object.name.clone(),
        })},
        "locations": [location],
        "partialFingerprints": {"palisade/v1": fingerprint(f)},
        "properties": {"path": f.path, "severity": f.severity.as_str()},
    });
    if let Some(i) = report.rules.iter().position(|r| r.id == f.check) {
        result["ruleIndex"] = json!(i);
    }
    if let Some(s) = &f.suppressed {
        let mut sup = json!({
            "kind": match s.by { crate::SuppressedBy::Annotation => "inSource", crate::SuppressedBy::Config => "external" },
            "status": "accepted",
        });
        if let Some(reason) = &s.reason {
            sup["justification"] = json!(reason);
        }
        result["suppressions"] = json!([sup]);
    }
    result
}

/// Findings serialized one at a time, so a large report is never held as one JSON tree.
struct Results<'a>(&'a Report);

impl serde::Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.findings.iter().map(|f| result(self.0, f)))
    }
}

/// The SARIF log with results streamed.
#[derive(serde::Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Value,
    invocations: Value,
    column_kind: &'static str,
    results: Results<'a>,
}

/// Renders the report as a SARIF log.
fn log(report: &Report) -> Log<'_> {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let mut tags = vec!["security".to_string(), "kubernetes".to_string()];
            tags.extend(r.tags.iter().cloned());
            let full = first_paragraph(&r.docs);
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": if full.is_empty() { r.title.clone() } else { full }},
                "help": {"text": r.docs, "markdown": r.docs},
                "helpUri": r.help_uri,
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "tags": tags,
                    "security-severity": security_severity(r.severity),
                    "precision": "very-high",
                    "problem.severity": level(r.severity),
                },
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.hint {
                text.push_str(" (hint: ");
                text.push_str(h);
                text.push(')');
            }
            let mut n = json!({
                "level": match d.level {
                    palisade_model::Level::Error => "error",
                    palisade_model::Level::Warning => "warning",
                    palisade_model::Level::Note => "note",
                },
                "message": {"text": text},
            });
            if !d.source.starts_with('<') && !d.source.starts_with("cluster:") {
                let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": artifact_uri(&d.source)}}});
                if d.line > 0 {
                    loc["physicalLocation"]["region"] = json!({"startLine": d.line});
                }
                n["locations"] = json!([loc]);
            }
            n
        })
        .collect();
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: json!({"driver": {
                "name": "palisade",
                "semanticVersion": report.tool_version,
                "informationUri": "https://github.com/palisade-dev/palisade",
                "rules": rules,
            }}),
            invocations: json!([{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }]),
            column_kind: "unicodeCodePoints",
            results: Results(report),
        }],
    }
}

/// Renders the report as a SARIF log value.
pub fn to_value(report: &Report) -> Value {
    serde_json::to_value(log(report)).unwrap_or(Value::Null)
}

/// Renders the report as SARIF text.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&log(report)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(artifact_uri("./deploy/a b.yaml"), "deploy/a%20b.yaml");
        assert_eq!(artifact_uri("/abs/x.yaml"), "file:///abs/x.yaml");
    }

    #[test]
    fn validates_against_the_sarif_schema() {
        let schema_path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/schemas/sarif-schema-2.1.0.json"
        );
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(schema_path)
                .expect("../shared/schemas must be beside the checkout"),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let log = to_value(&crate::testdata::report());
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // And a broken log is rejected, so the validation above means something.
        let mut bad = log.clone();
        bad["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!validator.is_valid(&bad));
        let results = log["runs"][0]["results"].as_array().unwrap();
        let by_rule = |id: &str| results.iter().find(|r| r["ruleId"] == id).unwrap();
        assert_eq!(by_rule("PAL105")["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            by_rule("PSS101")["locations"][0]["physicalLocation"]["region"]["startLine"],
            21
        );
        assert_eq!(by_rule("PSS101")["ruleIndex"], 1);
    }
}
