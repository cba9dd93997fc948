//! Node results as a `palisade_report::Report` (for the JSON, SARIF and JUnit renderers),
//! and the kube-bench-like text: every control with its status and evidence, remediations,
//! and a PASS/FAIL/WARN/INFO/NOT FOUND summary per section.

use crate::catalog::{group_title, Benchmark, Kind};
use crate::eval::{NodeRun, Status};
use crate::kubebench::KbResult;
use palisade_report::{Finding, ObjectId, Report, RuleInfo, Severity};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line of the kube-bench-like output.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Section key (`1`, `4`, or a kube-bench file's controls id).
    pub section: String,
    pub section_title: String,
    pub group: String,
    pub group_title: String,
    /// Stable ID (`CIS-1.2.1`, `kube-bench/<id>`).
    pub id: String,
    /// Number shown (`1.2.1`).
    pub number: String,
    pub title: String,
    pub manual: bool,
    pub status: Status,
    pub severity: Option<Severity>,
    pub evidence: Vec<String>,
    pub remediation: String,
}

/// Counts per status.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub not_found: usize,
}

impl Counts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Warn => self.warn += 1,
            Status::Info => self.info += 1,
            Status::NotFound => self.not_found += 1,
        }
    }
}

/// The rows of a node run.
pub fn rows(run: &NodeRun) -> Vec<Row> {
    let b = run.benchmark.unwrap_or(Benchmark::Cis112);
    run.results
        .iter()
        .map(|r| {
            let section = r.number.split('.').next().unwrap_or("").to_string();
            let group = match r.number.rsplit_once('.') {
                Some((g, _)) if g.contains('.') || section != g => g.to_string(),
                _ => section.clone(),
            };
            Row {
                section_title: group_title(b, &section).unwrap_or("").to_string(),
                group_title: group_title(b, &group).unwrap_or("").to_string(),
                section,
                group,
                id: r.check.id.to_string(),
                number: r.number.to_string(),
                title: r.check.title.to_string(),
                manual: r.kind == Kind::Manual,
                status: r.status,
                severity: Some(r.check.severity),
                evidence: r.evidence.clone(),
                remediation: r.check.fix.to_string(),
            }
        })
        .collect()
}

/// The rows of kube-bench file results.
pub fn kb_rows(controls_id: &str, controls_text: &str, results: &[KbResult]) -> Vec<Row> {
    results
        .iter()
        .map(|r| Row {
            section: format!("kube-bench {controls_id}"),
            section_title: controls_text.to_string(),
            group: r.group.clone(),
            group_title: r.group_text.clone(),
            id: format!("kube-bench/{}", r.id),
            number: r.id.clone(),
            title: r.text.clone(),
            manual: !r.scored,
            status: r.status,
            severity: None,
            evidence: [
                (!r.expected.is_empty()).then(|| format!("expected: {}", r.expected)),
                (!r.actual.is_empty()).then(|| format!("seen: {}", r.actual)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            remediation: r.remediation.trim().to_string(),
        })
        .collect()
}

/// Per-section and total counts, sections in first-seen order.
pub fn summary(rows: &[Row]) -> (Vec<(String, String, Counts)>, Counts) {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for r in rows {
        if !by.contains_key(&r.section) {
            order.push((r.section.clone(), r.section_title.clone()));
        }
        by.entry(r.section.clone()).or_default().add(r.status);
        total.add(r.status);
    }
    let per = order
        .into_iter()
        .map(|(s, t)| {
            let c = by.remove(&s).unwrap_or_default();
            (s, t, c)
        })
        .collect();
    (per, total)
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} checks PASS, {} checks FAIL, {} checks WARN, {} checks INFO, {} checks NOT FOUND",
        c.pass, c.fail, c.warn, c.info, c.not_found
    )
}

/// The kube-bench-like text.
pub fn text(rows: &[Row], verbose: bool) -> String {
    let mut out = String::new();
    let mut last_section = String::new();
    let mut last_group = String::new();
    for r in rows {
        if r.section != last_section {
            if !last_section.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "[INFO] {} {}", r.section, r.section_title);
            last_section = r.section.clone();
            last_group.clear();
        }
        if r.group != last_group && r.group != r.section {
            let _ = writeln!(out, "[INFO] {} {}", r.group, r.group_title);
            last_group = r.group.clone();
        }
        let _ = writeln!(
            out,
            "[{}] {} {} ({})",
            r.status.as_str(),
            r.number,
            r.title,
            if r.manual { "Manual" } else { "Automated" }
        );
        if verbose || r.status != Status::Pass {
            for e in &r.evidence {
                let _ = writeln!(out, "        {e}");
            }
        }
    }
    let fixes: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn) && !r.remediation.is_empty())
        .collect();
    if !fixes.is_empty() {
        out.push_str("\n== Remediations ==\n");
        for r in fixes {
            let _ = writeln!(
                out,
                "{} {}",
                r.number,
                r.remediation.replace('\n', "\n    ")
            );
        }
    }
    let (per, total) = summary(rows);
    for (s, t, c) in &per {
        let _ = writeln!(out, "\n== Summary {s} {t} ==\n{}", counts_line(c));
    }
    let _ = writeln!(out, "\n== Summary total ==\n{}", counts_line(&total));
    out
}

/// Findings: every failed or warned control with a problem, every analysis finding.
pub fn to_report(run: &NodeRun, kb: &[(String, Vec<KbResult>)], tool_version: &str) -> Report {
    let mut rep = Report {
        tool_version: tool_version.to_string(),
        diagnostics: run.diagnostics.clone(),
        objects: run.components.len(),
        ..Report::default()
    };
    let mut rules: BTreeMap<String, RuleInfo> = BTreeMap::new();
    let infos = crate::catalog();
    for r in &run.results {
        if !matches!(r.status, Status::Fail | Status::Warn) || r.problems.is_empty() {
            continue;
        }
        for p in &r.problems {
            rep.findings.push(Finding {
                check: r.check.id.to_string(),
                severity: p.severity.unwrap_or(r.check.severity),
                message: format!("{} {}: {}", r.number, r.check.title, p.message),
                object: p.object.clone(),
                source: p.source.clone(),
                line: p.line,
                path: p.path.clone(),
                suppressed: None,
            });
        }
        if let Some(i) = infos.iter().find(|i| i.id == r.check.id) {
            rules.insert(i.id.clone(), i.clone());
        }
    }
    for e in &run.extras {
        rep.findings.push(Finding {
            check: e.issue.id.to_string(),
            severity: e.issue.severity,
            message: e.issue.message.clone(),
            object: e.object.clone(),
            source: e.source.clone(),
            line: e.issue.line,
            path: String::new(),
            suppressed: None,
        });
        if let Some(i) = infos.iter().find(|i| i.id == e.issue.id) {
            rules.insert(i.id.clone(), i.clone());
        }
    }
    for (file, results) in kb {
        for r in results.iter().filter(|r| {
            matches!(r.status, Status::Fail | Status::Warn) && !r.expected.starts_with("manual")
        }) {
            let id = format!("kube-bench/{}", r.id);
            let sev = if r.status == Status::Fail {
                Severity::Medium
            } else {
                Severity::Low
            };
            rep.findings.push(Finding {
                check: id.clone(),
                severity: sev,
                message: format!("{} {}: expected {}", r.id, r.text, r.expected),
                object: ObjectId {
                    api_version: "node.palisade.dev/v1".into(),
                    kind: "KubeBenchCheck".into(),
                    namespace: None,
                    name: r.id.clone(),
                },
                source: file.clone(),
                line: r.line,
                path: String::new(),
                suppressed: None,
            });
            rules.entry(id.clone()).or_insert_with(|| RuleInfo {
                id: id.clone(),
                name: format!("kube-bench-{}", r.id.replace('.', "-")),
                title: r.text.clone(),
                severity: Severity::Medium,
                docs: format!(
                    "## What it does\nkube-bench check {} from {file}.\n\n## Remediation\n{}\n",
                    r.id, r.remediation
                ),
                tags: vec!["kube-bench".into()],
                help_uri: String::new(),
            });
        }
    }
    rep.rules = rules.into_values().collect();
    rep.sort();
    rep
}

/// The JSON document: the scan report's JSON plus a `node` member with every result and
/// the per-section summary.
pub fn json(run: &NodeRun, rows: &[Row], report: &Report, profile: &str) -> Value {
    let mut v = palisade_report::json::to_value(report);
    let (per, total) = summary(rows);
    let sections: Vec<Value> = per
        .iter()
        .map(|(s, t, c)| json!({"section": s, "title": t, "counts": c}))
        .collect();
    let components: Vec<Value> = run
        .components
        .iter()
        .map(|(c, src)| json!({"component": c, "source": src}))
        .collect();
    if let Value::Object(m) = &mut v {
        m.insert(
            "node".into(),
            json!({
                "benchmark": run.benchmark.map(|b| b.as_str()),
                "profile": profile,
                "processes": run.processes,
                "components": components,
                "results": rows,
                "sections": sections,
                "total": total,
            }),
        );
    }
    v
}
