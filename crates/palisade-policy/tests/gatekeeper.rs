//! Conformance: every `gator verify` suite of the Gatekeeper library
//! (../shared/conformance/gatekeeper) passes with the Rego engine, and — for templates
//! that carry `K8sNativeValidation` code — with the CEL engine too (cases of Rego-only
//! templates are listed as skipped there), and with `Auto` (CEL where a template has it,
//! as Gatekeeper prefers).

use palisade_policy::gatekeeper::suite::{run_dir, run_suite_all_engines};
use palisade_policy::suite::{CaseStatus, SuiteReport};
use palisade_policy::TemplateEngine;
use std::path::Path;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/gatekeeper"
);

fn library() -> std::path::PathBuf {
    let dir = Path::new(CORPUS).join("library");
    assert!(
        dir.is_dir(),
        "conformance corpus missing at {}",
        dir.display()
    );
    dir
}

fn run(reports: Vec<SuiteReport>) -> (usize, usize, usize, Vec<String>) {
    let dir = library();
    assert!(
        !reports.is_empty(),
        "no suites found under {}",
        dir.display()
    );
    let (mut passed, mut total, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for r in &reports {
        let file = r.file.strip_prefix(CORPUS).unwrap_or(&r.file);
        for c in &r.cases {
            let status = match c.status {
                CaseStatus::Pass => "PASS",
                CaseStatus::Fail => "FAIL",
                CaseStatus::Error => "ERROR",
                CaseStatus::Skip => "SKIP",
            };
            let engine = c.engine.map_or("-", |e| e.as_str());
            let mut line = format!("{status:5} [{engine}] {file} :: {} :: {}", c.test, c.case);
            if !c.detail.is_empty() {
                line.push_str(&format!(" — {}", c.detail));
            }
            println!("{line}");
            match c.status {
                CaseStatus::Skip => skipped += 1,
                CaseStatus::Pass => {
                    passed += 1;
                    total += 1;
                }
                _ => {
                    total += 1;
                    failures.push(line);
                }
            }
        }
    }
    (passed, total, skipped, failures)
}

fn check(engine: TemplateEngine, name: &str) {
    check_reports(run_dir(&library(), engine), name);
}

fn check_reports(reports: Vec<SuiteReport>, name: &str) {
    let (passed, total, skipped, failures) = run(reports);
    println!("{name}: {passed}/{total} cases passed, {skipped} skipped");
    assert!(total > 0, "{name}: no case ran");
    assert!(
        failures.is_empty(),
        "{name}: {} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn library_suites_pass_with_rego() {
    check(TemplateEngine::Rego, "rego");
}

#[test]
fn library_suites_pass_with_cel() {
    check(TemplateEngine::Cel, "cel");
}

#[test]
fn library_suites_pass_with_auto() {
    check(TemplateEngine::Auto, "auto");
}

#[test]
fn library_suites_pass_with_every_engine_a_template_carries() {
    let (files, diags) = palisade_policy::suite::discover(&[library()]);
    assert!(diags.is_empty(), "{diags:?}");
    let reports = files
        .iter()
        .map(|f| run_suite_all_engines(&f.path))
        .collect();
    check_reports(reports, "all engines");
}
