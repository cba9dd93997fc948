//! The JSON output. Its schema is documented in `docs/output.md` and versioned by
//! `schemaVersion`; fields are only ever added within a version.

use crate::{Finding, Report};
use serde::Serialize;
use serde_json::{json, Value};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    summary: Summary,
    findings: Vec<&'a Finding>,
    suppressed: Vec<&'a Finding>,
    diagnostics: Vec<Diag<'a>>,
    checks: Vec<Check<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    files: usize,
    objects: usize,
    findings: usize,
    suppressed: usize,
    by_severity: serde_json::Map<String, Value>,
    input_errors: usize,
    input_warnings: usize,
}

#[derive(Serialize)]
struct Diag<'a> {
    level: &'static str,
    source: &'a str,
    line: u32,
    message: &'a str,
    hint: Option<&'a str>,
}

#[derive(Serialize)]
struct Check<'a> {
    id: &'a str,
    name: &'a str,
    title: &'a str,
    severity: crate::Severity,
    tags: &'a [String],
}

fn doc(report: &Report) -> Doc<'_> {
    let s = report.summary();
    let by_severity = crate::Severity::ALL
        .iter()
        .map(|sev| {
            (
                sev.as_str().to_string(),
                json!(s.by_severity.get(sev).copied().unwrap_or(0)),
            )
        })
        .collect();
    Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "palisade",
            version: &report.tool_version,
        },
        summary: Summary {
            files: s.files,
            objects: s.objects,
            findings: s.findings,
            suppressed: s.suppressed,
            by_severity,
            input_errors: s.errors,
            input_warnings: s.warnings,
        },
        findings: report.active().collect(),
        suppressed: report.suppressed().collect(),
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| Diag {
                level: d.level.as_str(),
                source: &d.source,
                line: d.line,
                message: &d.message,
                hint: d.hint.as_deref(),
            })
            .collect(),
        checks: report
            .rules
            .iter()
            .map(|r| Check {
                id: &r.id,
                name: &r.name,
                title: &r.title,
                severity: r.severity,
                tags: &r.tags,
            })
            .collect(),
    }
}

/// Renders the report as a JSON value.
pub fn to_value(report: &Report) -> Value {
    serde_json::to_value(doc(report)).unwrap_or(Value::Null)
}

/// Renders the report as pretty-printed JSON text.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&doc(report)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape() {
        let v = super::to_value(&crate::testdata::report());
        assert_eq!(v["schemaVersion"], 1);
        assert_eq!(v["findings"].as_array().unwrap().len(), 1);
        assert_eq!(v["findings"][0]["check"], "PSS101");
        assert_eq!(v["findings"][0]["object"]["apiVersion"], "apps/v1");
        assert_eq!(v["findings"][0]["line"], 21);
        assert_eq!(v["suppressed"][0]["suppressed"]["by"], "annotation");
        assert_eq!(v["summary"]["bySeverity"]["critical"], 1);
        assert_eq!(v["diagnostics"][0]["line"], 3);
    }
}
