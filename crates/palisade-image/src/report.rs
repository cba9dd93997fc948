//! One image's result (vulnerabilities and hardening issues) and its findings in the shape
//! every renderer takes (`palisade_report::Finding`), for `image scan`, `scan --images` and
//! admission alike.

use crate::db::Db;
use crate::harden::{self, Issue};
use crate::matcher::{match_packages, Vuln};
use crate::vex::{self, Statement};
use crate::{Analysis, Error};
use palisade_report::{Finding, ObjectId, Severity, SuppressedBy, Suppression};

#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    pub harden: harden::Options,
    pub vex: Vec<Statement>,
    /// Leave out vulnerabilities without a fix.
    pub ignore_unfixed: bool,
}

/// What was found in one image.
#[derive(Clone, Debug)]
pub struct ImageResult {
    pub reference: String,
    pub os: Option<String>,
    pub packages: usize,
    pub vulns: Vec<Vuln>,
    pub issues: Vec<Issue>,
    pub warnings: Vec<String>,
}

/// Matches (when a database is given) and checks an analysed image.
pub fn scan(a: &Analysis, db: Option<&Db>, o: &ScanOptions) -> Result<ImageResult, Error> {
    let mut vulns = match db {
        Some(db) => match_packages(db, &a.packages, a.os.as_ref())?,
        None => Vec::new(),
    };
    if o.ignore_unfixed {
        vulns.retain(|v| v.fixed.is_some());
    }
    vex::apply(&o.vex, &mut vulns, &a.reference, a.os.as_ref());
    Ok(ImageResult {
        reference: a.reference.clone(),
        os: a.os.as_ref().map(|o| {
            if o.pretty_name.is_empty() {
                format!("{} {}", o.id, o.version_id)
            } else {
                o.pretty_name.clone()
            }
        }),
        packages: a.packages.len(),
        vulns,
        issues: harden::check(a, &o.harden),
        warnings: a.warnings.clone(),
    })
}

/// The message of a vulnerability finding.
pub fn vuln_message(v: &Vuln) -> String {
    let mut m = format!("{} {} is affected by {}", v.package.name, v.installed, v.id);
    if let Some(c) = v.cve().filter(|c| *c != v.id) {
        m.push_str(&format!(" ({c})"));
    }
    if let Some(s) = v
        .package
        .source_name
        .as_deref()
        .filter(|s| *s != v.package.name)
    {
        m.push_str(&format!(", source package {s}"));
    }
    match &v.fixed {
        Some(f) => m.push_str(&format!("; fixed in {f}")),
        None => m.push_str("; no fix yet"),
    }
    let sev = match (v.severity_source, v.cvss) {
        ("CVSS", Some(c)) => format!("CVSS {c:.1}"),
        ("distro urgency", _) => "distro urgency".to_string(),
        ("unknown", _) => "severity unknown".to_string(),
        (s, _) => s.to_string(),
    };
    m.push_str(&format!(" [{}, {sev}]", v.ecosystem));
    if let Some(l) = &v.package.layer {
        m.push_str(&format!(" (layer {})", &l[..l.len().min(19)]));
    }
    if !v.summary.is_empty() {
        m.push_str(&format!(": {}", v.summary));
    }
    m
}

/// Findings of one image, attached to `object` (the image itself, or the workload that runs
/// it) at `source:line`, with `prefix` before each path (`spec.containers[0].image` → the
/// finding's path is `<prefix> /var/lib/dpkg/status`).
pub fn findings(
    r: &ImageResult,
    object: &ObjectId,
    source: &str,
    line: u32,
    prefix: &str,
) -> Vec<Finding> {
    let join = |p: &str| {
        if prefix.is_empty() {
            p.to_string()
        } else {
            format!("{prefix} {p}")
        }
    };
    let who = if prefix.is_empty() {
        String::new()
    } else {
        format!("image {}: ", r.reference)
    };
    let mut out = Vec::new();
    for v in &r.vulns {
        out.push(Finding {
            check: if v.fixed.is_some() {
                harden::VULN_FIXABLE
            } else {
                harden::VULN_UNFIXED
            }
            .to_string(),
            severity: v.severity,
            message: format!("{who}{}", vuln_message(v)),
            object: object.clone(),
            source: source.to_string(),
            line,
            path: join(&format!("/{}", v.package.path)),
            suppressed: v.vex.as_ref().map(|(status, reason)| Suppression {
                by: SuppressedBy::Config,
                reason: Some(if reason.is_empty() {
                    format!("VEX: {status}")
                } else {
                    format!("VEX: {status}: {reason}")
                }),
            }),
        });
    }
    for i in &r.issues {
        out.push(Finding {
            check: i.rule.to_string(),
            severity: i.severity,
            message: format!("{who}{}", i.message),
            object: object.clone(),
            source: source.to_string(),
            line,
            path: join(&i.location),
            suppressed: None,
        });
    }
    out
}

/// The image as the object of its own findings.
pub fn image_object(reference: &str) -> ObjectId {
    ObjectId {
        api_version: "oci/v1".into(),
        kind: "Image".into(),
        namespace: None,
        name: reference.to_string(),
    }
}

/// Whether an admission policy denies: an active (not VEX-suppressed) vulnerability at or above
/// `threshold` that has a fix.
pub fn denies(r: &ImageResult, threshold: Severity) -> Vec<&Vuln> {
    r.vulns
        .iter()
        .filter(|v| v.vex.is_none() && v.fixed.is_some() && v.severity >= threshold)
        .collect()
}
