//! Findings, severities and reports, and the renderers that turn a [`Report`] into text for
//! people (`human`) and for machines (`json`, `sarif`, `junit`).
//!
//! Invariant: renderers never drop anything. Suppressed findings and input diagnostics are
//! carried in every format (SARIF `suppressions` and notifications, JUnit `skipped`, JSON
//! arrays), and the human output counts them in its summary.

pub mod human;
pub mod json;
pub mod junit;
pub mod policyreport;
pub mod sarif;

use palisade_model::Diagnostic;
use serde::Serialize;
use std::collections::BTreeMap;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectId {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    pub fn from_object(o: &palisade_model::Object) -> Self {
        ObjectId {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        }
    }

    /// `Kind/namespace/name` or `Kind/name`.
    pub fn qualified(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// Why a finding was suppressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `annotation` (the object's `palisade.dev/ignore`) or `config` (an exemption in the
    /// configuration file).
    pub by: SuppressedBy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressedBy {
    Annotation,
    Config,
}

/// One misconfiguration in one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The check's stable ID, e.g. `PSS101` or `PAL105`.
    pub check: String,
    pub severity: Severity,
    pub message: String,
    pub object: ObjectId,
    /// The object's source: a file path, `<stdin>` or `cluster:<context>`.
    pub source: String,
    /// 1-based line of the offending field (or its nearest present parent); 0 when unknown.
    pub line: u32,
    /// The field path inside the object, e.g. `spec.template.spec.containers[1].securityContext.privileged`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl Finding {
    /// The file path when the source is a file.
    pub fn file(&self) -> Option<&str> {
        if self.source == "<stdin>" || self.source.starts_with("cluster:") {
            None
        } else {
            Some(&self.source)
        }
    }
}

/// What a renderer needs to know about a check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleInfo {
    pub id: String,
    /// Kebab-case name, e.g. `privileged-container`.
    pub name: String,
    pub title: String,
    pub severity: Severity,
    /// The check's full documentation, in Markdown.
    pub docs: String,
    /// Frameworks and tags (e.g. `pss-baseline`, `cis-5.2.1`, `mitre-T1611`).
    pub tags: Vec<String>,
    pub help_uri: String,
}

/// Counts for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    pub findings: usize,
    pub suppressed: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    pub errors: usize,
    pub warnings: usize,
}

/// Everything a scan produced.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub tool_version: String,
    /// Active and suppressed findings, sorted by source, line, check.
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// The checks that ran, sorted by ID.
    pub rules: Vec<RuleInfo>,
    pub files: usize,
    pub objects: usize,
}

impl Report {
    /// Sorts findings into a stable order.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.source, a.line, &a.object, &a.check, &a.path, &a.message)
                .cmp(&(&b.source, b.line, &b.object, &b.check, &b.path, &b.message))
        });
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    pub fn suppressed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_some())
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            files: self.files,
            objects: self.objects,
            ..Summary::default()
        };
        for f in &self.findings {
            if f.suppressed.is_some() {
                s.suppressed += 1;
            } else {
                s.findings += 1;
                *s.by_severity.entry(f.severity).or_default() += 1;
            }
        }
        for d in &self.diagnostics {
            match d.level {
                palisade_model::Level::Error => s.errors += 1,
                palisade_model::Level::Warning => s.warnings += 1,
                palisade_model::Level::Note => {}
            }
        }
        s
    }

    /// `true` when an active finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.active().any(|f| f.severity >= threshold)
    }

    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    use super::*;
    use palisade_model::Level;

    pub fn report() -> Report {
        let obj = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        let mut r = Report {
            tool_version: "0.1.0".into(),
            files: 2,
            objects: 3,
            ..Report::default()
        };
        r.rules.push(RuleInfo {
            id: "PSS101".into(),
            name: "privileged".into(),
            title: "Privileged containers".into(),
            severity: Severity::Critical,
            docs: "## What it does\nFlags `privileged: true` & <friends>.".into(),
            tags: vec!["pss-baseline".into()],
            help_uri: "https://palisade.dev/checks/PSS101".into(),
        });
        r.rules.push(RuleInfo {
            id: "PAL105".into(),
            name: "read-only-root-filesystem".into(),
            title: "Writable root filesystem".into(),
            severity: Severity::Medium,
            docs: "## What it does\nChecks readOnlyRootFilesystem.".into(),
            tags: vec![],
            help_uri: "https://palisade.dev/checks/PAL105".into(),
        });
        r.findings.push(Finding {
            check: "PSS101".into(),
            severity: Severity::Critical,
            message: "container \"web\" sets securityContext.privileged=true".into(),
            object: obj.clone(),
            source: "deploy/web.yaml".into(),
            line: 21,
            path: "spec.template.spec.containers[0].securityContext.privileged".into(),
            suppressed: None,
        });
        r.findings.push(Finding {
            check: "PAL105".into(),
            severity: Severity::Medium,
            message: "container \"web\" does not set readOnlyRootFilesystem: true".into(),
            object: obj,
            source: "deploy/web.yaml".into(),
            line: 18,
            path: "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem".into(),
            suppressed: Some(Suppression {
                by: SuppressedBy::Annotation,
                reason: Some("writes to /tmp <ok>".into()),
            }),
        });
        r.diagnostics.push(Diagnostic::new(
            Level::Error,
            "deploy/broken.yaml",
            3,
            "cannot parse document 1: did not find expected key",
        ));
        r.sort();
        r
    }
}
