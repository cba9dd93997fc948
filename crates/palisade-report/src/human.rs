//! Human output: findings grouped by object, colours on a terminal, a summary by severity.

use crate::{Report, Severity};
use std::fmt::Write;

/// Options for the human renderer.
#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    pub color: bool,
    pub show_suppressed: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn sev_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

/// Renders the report for people.
pub fn render(report: &Report, opts: HumanOptions) -> String {
    let mut out = String::new();
    let c = opts.color;
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| opts.show_suppressed || f.suppressed.is_none())
        .collect();
    let mut i = 0;
    while i < shown.len() {
        let head = shown[i];
        let mut j = i;
        while j < shown.len() && shown[j].object == head.object && shown[j].source == head.source {
            j += 1;
        }
        let loc = if head.file().is_some() {
            let first_line = shown[i..j].iter().map(|f| f.line).min().unwrap_or(0);
            format!("{}:{}", head.source, first_line)
        } else {
            head.source.clone()
        };
        let _ = writeln!(
            out,
            "{} {}",
            paint(c, "1", &head.object.qualified()),
            paint(c, "2", &format!("({loc})"))
        );
        for f in &shown[i..j] {
            let sev = format!("{:<8}", f.severity.as_str().to_uppercase());
            let _ = write!(
                out,
                "  {} {} {}",
                paint(c, sev_code(f.severity), &sev),
                paint(c, "1", &f.check),
                f.message
            );
            if let Some(s) = &f.suppressed {
                let why = s.reason.as_deref().unwrap_or("no reason given");
                let by = match s.by {
                    crate::SuppressedBy::Annotation => "annotation",
                    crate::SuppressedBy::Config => "config",
                };
                let _ = write!(
                    out,
                    " {}",
                    paint(c, "2", &format!("[suppressed by {by}: {why}]"))
                );
            }
            out.push('\n');
            let at = if f.line > 0 {
                format!("{} (line {})", f.path, f.line)
            } else {
                f.path.clone()
            };
            let _ = writeln!(out, "           {}", paint(c, "2", &at));
        }
        out.push('\n');
        i = j;
    }
    out.push_str(&summary_line(report, c));
    out
}

/// The closing summary: counts by severity, suppressed findings and input problems.
pub fn summary_line(report: &Report, color: bool) -> String {
    let s = report.summary();
    let mut parts = Vec::new();
    for sev in Severity::ALL {
        let n = s.by_severity.get(&sev).copied().unwrap_or(0);
        if n > 0 {
            parts.push(paint(color, sev_code(sev), &format!("{n} {sev}")));
        }
    }
    let mut line = format!(
        "{} {} in {} {} from {} {}",
        s.findings,
        if s.findings == 1 {
            "finding"
        } else {
            "findings"
        },
        s.objects,
        if s.objects == 1 { "object" } else { "objects" },
        s.files,
        if s.files == 1 { "source" } else { "sources" },
    );
    if !parts.is_empty() {
        let _ = write!(line, " ({})", parts.join(", "));
    }
    if s.suppressed > 0 {
        let _ = write!(
            line,
            "; {} suppressed (--show-suppressed lists them)",
            s.suppressed
        );
    }
    if s.errors > 0 || s.warnings > 0 {
        let _ = write!(
            line,
            "; {} input {}, {} {}",
            s.errors,
            if s.errors == 1 { "error" } else { "errors" },
            s.warnings,
            if s.warnings == 1 {
                "warning"
            } else {
                "warnings"
            }
        );
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_object_and_counts_suppressed() {
        let r = crate::testdata::report();
        let text = render(&r, HumanOptions::default());
        assert!(
            text.starts_with("Deployment/shop/web (deploy/web.yaml:21)\n"),
            "{text}"
        );
        assert!(text.contains("CRITICAL PSS101"));
        assert!(!text.contains("PAL105"), "suppressed hidden by default");
        assert!(text.contains("1 finding in 3 objects from 2 sources (1 critical); 1 suppressed"));
        assert!(text.contains("1 input error"));
        assert!(!text.contains('\x1b'));
        let all = render(
            &r,
            HumanOptions {
                color: true,
                show_suppressed: true,
            },
        );
        assert!(all.contains("suppressed by annotation: writes to /tmp <ok>"));
        assert!(all.contains('\x1b'));
    }
}
