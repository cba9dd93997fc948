//! `palisade policy`: test policies (`test`) and export them as ValidatingAdmissionPolicy
//! (`export-vap`). Wiring only; the engines and runners live in palisade-policy.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_policy::suite::{self, CaseStatus, SuiteKind, SuiteReport};
use palisade_policy::TemplateEngine;
use palisade_report::junit::esc;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Run policy test suites: Gatekeeper `gator verify` suites (kind: Suite) and Palisade
    /// ValidatingAdmissionPolicy tests (kind: PolicyTest).
    Test(TestArgs),
    /// Write ValidatingAdmissionPolicy + binding YAML that an API server (1.30+) enforces
    /// by itself: Pod Security Standards levels, and the CEL policies in PATHs.
    ExportVap(ExportArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SuiteEngine {
    /// CEL when a template has it, Rego otherwise (what Gatekeeper runs).
    Auto,
    Rego,
    Cel,
    /// Every engine a template carries, one after the other.
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TestFormat {
    Text,
    Json,
    Junit,
}

#[derive(Args, Debug)]
struct TestArgs {
    /// Suite files, or directories searched recursively for them.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// Engine for Gatekeeper templates that carry both Rego and CEL code.
    #[arg(long, value_enum, default_value = "auto")]
    engine: SuiteEngine,
    /// Output format.
    #[arg(
        long = "output",
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    format: TestFormat,
    /// Write the results to this file instead of standard output.
    #[arg(long = "output-file", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only print failing cases (and the summary) in text output.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum PssLevelArg {
    Baseline,
    Restricted,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ActionArg {
    Deny,
    Warn,
    Audit,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum NamespacesArg {
    /// Namespaces labelled `pod-security.kubernetes.io/enforce: <level>` (like Pod Security
    /// Admission).
    Label,
    /// Every namespace (less --exempt-namespace).
    All,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Files or directories with ValidatingAdmissionPolicies and Gatekeeper templates +
    /// constraints to export (CEL only: Rego cannot run in the API server).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also export a Pod Security Standards level (latest version) as CEL.
    #[arg(long, value_enum)]
    pss: Option<PssLevelArg>,
    /// validationActions of the exported PSS binding for Pods (repeatable; Deny and Warn
    /// exclude each other).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "deny")]
    action: Vec<ActionArg>,
    /// validationActions of the PSS binding for workloads with pod templates.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "warn,audit")]
    workload_action: Vec<ActionArg>,
    /// Check Pods only, not Deployments, Jobs and other pod templates.
    #[arg(long)]
    no_workloads: bool,
    /// Which namespaces the PSS bindings select.
    #[arg(long, value_enum, default_value = "label")]
    namespaces: NamespacesArg,
    /// Namespaces the PSS policy never checks (repeatable).
    #[arg(long, value_delimiter = ',')]
    exempt_namespace: Vec<String>,
    /// Users the PSS policy never checks (repeatable).
    #[arg(long, value_delimiter = ',')]
    exempt_user: Vec<String>,
    /// runtimeClassNames the PSS policy never checks (repeatable).
    #[arg(long, value_delimiter = ',')]
    exempt_runtime_class: Vec<String>,
    /// Write the YAML to this file instead of standard output.
    #[arg(long = "output-file", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: PolicyArgs) -> Result<u8> {
    match args.command {
        PolicyCommand::Test(a) => test(a),
        PolicyCommand::ExportVap(a) => export_vap(a),
    }
}

fn run_suite(file: &suite::SuiteFile, engine: SuiteEngine) -> SuiteReport {
    match file.kind {
        SuiteKind::Vap => palisade_policy::vap::suite::run_suite(&file.path),
        SuiteKind::Gator => match engine {
            SuiteEngine::Auto => {
                palisade_policy::gatekeeper::suite::run_suite(&file.path, TemplateEngine::Auto)
            }
            SuiteEngine::Rego => {
                palisade_policy::gatekeeper::suite::run_suite(&file.path, TemplateEngine::Rego)
            }
            SuiteEngine::Cel => {
                palisade_policy::gatekeeper::suite::run_suite(&file.path, TemplateEngine::Cel)
            }
            SuiteEngine::All => {
                palisade_policy::gatekeeper::suite::run_suite_all_engines(&file.path)
            }
        },
    }
}

fn test(args: TestArgs) -> Result<u8> {
    let (files, diags) = suite::discover(&args.paths);
    for d in &diags {
        eprintln!("{d}");
    }
    if files.is_empty() {
        eprintln!("palisade: error: no test suites found in the given paths");
        return Ok(EXIT_ERROR);
    }
    let reports: Vec<SuiteReport> = files.iter().map(|f| run_suite(f, args.engine)).collect();
    let text = match args.format {
        TestFormat::Text => render_human(&reports, args.quiet),
        TestFormat::Json => {
            serde_json::to_string_pretty(&reports).context("cannot serialize the results")? + "\n"
        }
        TestFormat::Junit => render_junit(&reports),
    };
    crate::write_output(&text, args.output.as_deref())?;
    let input_errors = diags
        .iter()
        .any(|d| d.level == palisade_model::Level::Error);
    Ok(if reports.iter().all(SuiteReport::ok) && !input_errors {
        EXIT_CLEAN
    } else if reports.iter().any(|r| r.count(CaseStatus::Fail) > 0) {
        EXIT_FINDINGS
    } else {
        EXIT_ERROR
    })
}

fn status_label(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Pass => "PASS",
        CaseStatus::Fail => "FAIL",
        CaseStatus::Error => "ERROR",
        CaseStatus::Skip => "SKIP",
    }
}

fn render_human(reports: &[SuiteReport], quiet: bool) -> String {
    let mut s = String::new();
    let (mut pass, mut fail, mut error, mut skip) = (0, 0, 0, 0);
    for r in reports {
        pass += r.count(CaseStatus::Pass);
        fail += r.count(CaseStatus::Fail);
        error += r.count(CaseStatus::Error);
        skip += r.count(CaseStatus::Skip);
        let shown: Vec<_> = r
            .cases
            .iter()
            .filter(|c| !quiet || matches!(c.status, CaseStatus::Fail | CaseStatus::Error))
            .collect();
        if shown.is_empty() && quiet {
            continue;
        }
        let _ = writeln!(s, "{}", r.file);
        let test_w = shown.iter().map(|c| c.test.len()).max().unwrap_or(0);
        let case_w = shown.iter().map(|c| c.case.len()).max().unwrap_or(0);
        for c in shown {
            let engine = c.engine.map_or("-", |e| e.as_str());
            let _ = write!(
                s,
                "  {:<5} {:<7} {:<test_w$}  {:<case_w$}",
                status_label(c.status),
                engine,
                c.test,
                c.case
            );
            if !c.detail.is_empty() {
                let _ = write!(s, "  {}", c.detail.replace('\n', "\n        "));
            }
            s = s.trim_end().to_string();
            s.push('\n');
        }
    }
    let total = pass + fail + error + skip;
    let _ = writeln!(
        s,
        "\n{} suite{}, {total} case{}: {pass} passed, {fail} failed, {error} error{}, {skip} skipped",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        if total == 1 { "" } else { "s" },
        if error == 1 { "" } else { "s" },
    );
    s
}

fn render_junit(reports: &[SuiteReport]) -> String {
    let mut body = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for r in reports {
        let (f, e, sk) = (
            r.count(CaseStatus::Fail),
            r.count(CaseStatus::Error),
            r.count(CaseStatus::Skip),
        );
        tests += r.cases.len();
        failures += f;
        errors += e;
        skipped += sk;
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{sk}\">",
            esc(&r.file),
            r.cases.len()
        );
        for c in &r.cases {
            let engine = c
                .engine
                .map(|e| format!(" [{}]", e.as_str()))
                .unwrap_or_default();
            let _ = write!(
                body,
                "    <testcase classname=\"{}\" name=\"{}{}\" file=\"{}\"",
                esc(&c.test),
                esc(&c.case),
                esc(&engine),
                esc(&c.file)
            );
            match c.status {
                CaseStatus::Pass => body.push_str("/>\n"),
                CaseStatus::Fail => {
                    let _ = writeln!(
                        body,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        esc(&c.detail),
                        esc(&c.detail)
                    );
                }
                CaseStatus::Error => {
                    let _ = writeln!(
                        body,
                        ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                        esc(&c.detail),
                        esc(&c.detail)
                    );
                }
                CaseStatus::Skip => {
                    let _ = writeln!(
                        body,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(&c.detail)
                    );
                }
            }
        }
        body.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"palisade policy test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{body}</testsuites>\n"
    )
}

fn export_vap(args: ExportArgs) -> Result<u8> {
    use palisade_policy::export::{
        self, NamespaceSelection, PssExportOptions, PssLevel, ValidationAction,
    };
    if args.paths.is_empty() && args.pss.is_none() {
        eprintln!("palisade: error: nothing to export: give --pss baseline|restricted and/or policy paths");
        return Ok(EXIT_ERROR);
    }
    let action = |a: &ActionArg| match a {
        ActionArg::Deny => ValidationAction::Deny,
        ActionArg::Warn => ValidationAction::Warn,
        ActionArg::Audit => ValidationAction::Audit,
    };
    let mut objects = Vec::new();
    let mut errors = false;
    if let Some(level) = args.pss {
        let defaults = PssExportOptions::default();
        let opts = PssExportOptions {
            actions: args.action.iter().map(action).collect(),
            workload_actions: (!args.no_workloads)
                .then(|| args.workload_action.iter().map(action).collect()),
            namespaces: match args.namespaces {
                NamespacesArg::All => NamespaceSelection::All,
                NamespacesArg::Label => defaults.namespaces.clone(),
            },
            exempt_namespaces: args.exempt_namespace.clone(),
            exempt_usernames: args.exempt_user.clone(),
            exempt_runtime_classes: args.exempt_runtime_class.clone(),
            ..defaults
        };
        let level = match level {
            PssLevelArg::Baseline => PssLevel::Baseline,
            PssLevelArg::Restricted => PssLevel::Restricted,
        };
        match export::pss_policies(level, &opts) {
            Ok(o) => objects.extend(o),
            Err(e) => {
                eprintln!("palisade: error: {e}");
                return Ok(EXIT_ERROR);
            }
        }
    }
    if !args.paths.is_empty() {
        let loaded =
            palisade_model::load_paths(&args.paths, &palisade_model::LoadOptions::default());
        for d in &loaded.diagnostics {
            eprintln!("{d}");
            errors |= d.level == palisade_model::Level::Error;
        }
        let (exported, diags) = export::export_policies(&loaded.objects);
        for d in &diags {
            eprintln!("{d}");
            errors |= d.level == palisade_model::Level::Error;
        }
        if exported.is_empty() {
            eprintln!("palisade: warning: no exportable CEL policy found in the given paths");
        }
        objects.extend(exported);
    }
    let text = export::to_yaml(&objects);
    crate::write_output(&text, args.output.as_deref())?;
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}
