//! The JSON output. Its schema is documented in `docs/output.md` and versioned by
//! `schemaVersion`; fields are only ever added within a version.

use crate::Report;
use serde_json::{json, Value};

pub const SCHEMA_VERSION: u32 = 1;

/// Renders the report as a JSON value.
pub fn to_value(report: &Report) -> Value {
    let s = report.summary();
    let by_sev: serde_json::Map<String, Value> = crate::Severity::ALL
        .iter()
        .map(|sev| {
            (
                sev.as_str().to_string(),
                json!(s.by_severity.get(sev).copied().unwrap_or(0)),
            )
        })
        .collect();
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "palisade", "version": report.tool_version},
        "summary": {
            "files": s.files,
            "objects": s.objects,
            "findings": s.findings,
            "suppressed": s.suppressed,
            "bySeverity": by_sev,
            "inputErrors": s.errors,
            "inputWarnings": s.warnings,
        },
        "findings": report.active().collect::<Vec<_>>(),
        "suppressed": report.suppressed().collect::<Vec<_>>(),
        "diagnostics": report.diagnostics.iter().map(|d| json!({
            "level": d.level.as_str(),
            "source": d.source,
            "line": d.line,
            "message": d.message,
            "hint": d.hint,
        })).collect::<Vec<_>>(),
        "checks": report.rules.iter().map(|r| json!({
            "id": r.id, "name": r.name, "title": r.title, "severity": r.severity, "tags": r.tags,
        })).collect::<Vec<_>>(),
    })
}

/// Renders the report as pretty-printed JSON text.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(report)).unwrap_or_default();
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
