//! JUnit XML: one test suite per check that ran, one failing test case per finding, a passing
//! case for a check with no findings, and `skipped` cases for suppressed findings. Input errors
//! form their own suite so CI shows them.

use crate::Report;
use std::fmt::Write;

/// Escapes text for XML attributes and content.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut suites = String::new();
    let mut total_tests = 0;
    let mut total_failures = 0;
    let mut total_errors = 0;
    let mut total_skipped = 0;
    for rule in &report.rules {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.check == rule.id)
            .collect();
        let mut cases = String::new();
        let (mut tests, mut failures, mut skipped) = (0, 0, 0);
        if findings.is_empty() {
            tests += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"no findings\"/>",
                esc(&rule.id)
            );
        }
        for f in findings {
            tests += 1;
            let loc = if f.line > 0 {
                format!("{}:{}", f.source, f.line)
            } else {
                f.source.clone()
            };
            let name = format!("{} {}", f.object.qualified(), f.path);
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">",
                esc(&rule.id),
                esc(&name),
                esc(&f.source)
            );
            if let Some(s) = &f.suppressed {
                skipped += 1;
                let _ = writeln!(
                    cases,
                    "      <skipped message=\"suppressed: {}\"/>",
                    esc(s.reason.as_deref().unwrap_or("no reason given"))
                );
            } else {
                failures += 1;
                let _ = writeln!(
                    cases,
                    "      <failure message=\"{}\" type=\"{}\">{}\n{}\nat {}</failure>",
                    esc(&f.message),
                    f.severity,
                    esc(&loc),
                    esc(&f.message),
                    esc(&f.path)
                );
            }
            cases.push_str("    </testcase>\n");
        }
        total_tests += tests;
        total_failures += failures;
        total_skipped += skipped;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n",
            esc(&rule.id),
            esc(&rule.title)
        );
    }
    let input_errors: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.level == palisade_model::Level::Error)
        .collect();
    if !input_errors.is_empty() {
        let mut cases = String::new();
        for d in &input_errors {
            let _ = writeln!(
                cases,
                "    <testcase classname=\"input\" name=\"{}:{}\">\n      <error message=\"{}\"/>\n    </testcase>",
                esc(&d.source),
                d.line,
                esc(&d.message)
            );
        }
        total_tests += input_errors.len();
        total_errors += input_errors.len();
        let _ = write!(
            suites,
            "  <testsuite name=\"input\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\">\n{cases}  </testsuite>\n",
            n = input_errors.len()
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"palisade\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{total_errors}\" skipped=\"{total_skipped}\">\n{suites}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_and_escaping() {
        let xml = super::render(&crate::testdata::report());
        assert!(xml.contains(
            "<testsuites name=\"palisade\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"1\">"
        ));
        assert!(xml.contains("suppressed: writes to /tmp &lt;ok&gt;"));
        assert!(xml.contains("deploy/web.yaml:21"));
        assert_eq!(super::esc("a\u{1}b"), "a\u{FFFD}b");
    }
}
