//! `palisade`: the command-line entry point. Wiring only: argument parsing, reading input,
//! calling the engines, rendering, exit codes. Domain logic lives in the library crates.

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use palisade_checks::engine::EngineOptions;
use palisade_checks::{
    config, registry, CheckSettings, Config, Engine, Profile, PssVersion, Severity,
};
use palisade_model::{Diagnostic, Level, LoadOptions};
use palisade_report::{human, json, junit, sarif, Report};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod admission;
mod detect;
mod netpol;
mod policy;
mod rbac;

/// Exit code: no finding at or over the threshold, no input error.
pub(crate) const EXIT_CLEAN: u8 = 0;
/// Exit code: findings at or over the `--fail-on` threshold.
pub(crate) const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, or input that could not be read or parsed.
pub(crate) const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "palisade",
    version,
    about = "Kubernetes security and observability in one binary",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan manifests, Helm output (stdin) or a live cluster for security misconfigurations.
    Scan(ScanArgs),
    /// List the check catalog, or explain one check.
    Checks(ChecksArgs),
    /// Test ValidatingAdmissionPolicies and Gatekeeper policies, or export them as
    /// ValidatingAdmissionPolicy.
    Policy(policy::PolicyArgs),
    /// The admission webhook: serve, review one request offline, certificates, manifests.
    Admission(admission::AdmissionArgs),
    /// RBAC: who can do what, dangerous permissions, escalation paths, least-privilege roles
    /// from audit logs.
    Rbac(rbac::RbacArgs),
    /// Network policies: who can talk to whom and why, lint, diff, recommended policies from
    /// flow logs, and the impact of a change on observed flows.
    Netpol(netpol::NetpolArgs),
    /// Falco-compatible threat detection over audit logs (files or the API server's audit
    /// webhook) and recorded syscall/Tetragon events.
    Detect(detect::DetectArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Files and directories to scan (`-` reads standard input). Directories are searched
    /// recursively for .yaml, .yml and .json files.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Scan the cluster in your kubeconfig instead of (or as well as) files.
    #[arg(long)]
    cluster: bool,
    /// Kubeconfig context to use with --cluster (default: the current context).
    #[arg(long, requires = "cluster")]
    context: Option<String>,
    /// Only list namespaced objects in this namespace (with --cluster).
    #[arg(long, short = 'n', requires = "cluster")]
    namespace: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, requires = "cluster")]
    kubeconfig: Option<PathBuf>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "human")]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: info, i.e. any finding].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,

    /// Check profile: pss-baseline, pss-restricted or all [default: all].
    #[arg(long, value_parser = parse_profile)]
    profile: Option<Profile>,
    /// Run only these checks (IDs, names or PREFIX*; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    checks: Vec<String>,
    /// Skip these checks (IDs, names or PREFIX*; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Pod Security Standards version: v1.0 … v1.37, or latest.
    #[arg(long, value_parser = parse_pss_version)]
    pss_version: Option<PssVersion>,
    /// Configuration file [default: .palisade.yaml in the working directory or a parent].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any .palisade.yaml.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
    /// Also list suppressed findings in human output.
    #[arg(long)]
    show_suppressed: bool,
    /// When to use colours in human output (NO_COLOR is respected with auto).
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Refuse input files larger than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_file_size: u64,

    /// Also evaluate the ValidatingAdmissionPolicies and Gatekeeper ConstraintTemplates
    /// (with their bindings, constraints and params) in these files or directories against
    /// every scanned object, as an admission CREATE would.
    #[arg(long, value_name = "PATH")]
    policy: Vec<PathBuf>,
    /// Engine for Gatekeeper templates that carry both Rego and CEL code.
    #[arg(long, value_enum, default_value = "auto", requires = "policy")]
    template_engine: EngineChoice,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum EngineChoice {
    /// CEL when the template has it, Rego otherwise.
    Auto,
    Rego,
    Cel,
}

impl EngineChoice {
    fn template_engine(self) -> palisade_policy::TemplateEngine {
        match self {
            EngineChoice::Auto => palisade_policy::TemplateEngine::Auto,
            EngineChoice::Rego => palisade_policy::TemplateEngine::Rego,
            EngineChoice::Cel => palisade_policy::TemplateEngine::Cel,
        }
    }
}

#[derive(Args, Debug)]
struct ChecksArgs {
    #[command(subcommand)]
    command: Option<ChecksCommand>,
    /// Only checks in this framework: pss-baseline, pss-restricted, cis, nsa, mitre.
    #[arg(long)]
    framework: Option<String>,
    /// Only checks of this severity or higher.
    #[arg(long, value_parser = parse_severity)]
    severity: Option<Severity>,
    /// Print the whole catalog as Markdown (this is how docs/checks.md is made).
    #[arg(long)]
    markdown: bool,
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum ChecksCommand {
    /// Print a check's documentation.
    Explain {
        /// Check ID or name, e.g. PSS102 or privileged.
        id: String,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?} (critical, high, medium, low, info)"))
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::parse(s)
        .ok_or_else(|| format!("unknown profile {s:?} (pss-baseline, pss-restricted, all)"))
}

fn parse_pss_version(s: &str) -> Result<PssVersion, String> {
    PssVersion::parse(s).ok_or_else(|| {
        format!(
            "unknown version {s:?}: use v1.0 … {} or latest",
            PssVersion::LATEST
        )
    })
}

fn main() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Checks(args) => checks(args),
        Command::Policy(args) => policy::run(args),
        Command::Admission(args) => admission::run(args),
        Command::Rbac(args) => rbac::run(args),
        Command::Netpol(args) => netpol::run(args),
        Command::Detect(args) => detect::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PALISADE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn scan(args: ScanArgs) -> Result<u8> {
    if args.paths.is_empty() && !args.cluster {
        eprintln!("palisade: error: nothing to scan: give files, directories, `-` for stdin, or --cluster");
        return Ok(EXIT_ERROR);
    }
    // Configuration: explicit --config, else .palisade.yaml found upward, unless --no-config.
    let cfg = if args.no_config {
        Config::default()
    } else {
        let path = match &args.config {
            Some(p) => Some(p.clone()),
            None => config::discover(&std::env::current_dir().unwrap_or_default()),
        };
        match path {
            Some(p) => match Config::load(&p) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("palisade: error: {e}");
                    return Ok(EXIT_ERROR);
                }
            },
            None => Config::default(),
        }
    };
    let mut only = cfg.checks.clone();
    if !args.checks.is_empty() {
        only = args.checks.clone();
    }
    let mut skip = cfg.skip.clone();
    skip.extend(args.skip.iter().cloned());
    // RBAC001… (subject-level RBAC risks, palisade-rbac) are selected like checks but are
    // not in the check registry: patterns only they match go to them, not to the engine.
    let is_rbac_only = |p: &String| {
        palisade_checks::engine::resolve(p).is_err()
            && (rbac::is_risk_pattern(p) || netpol::is_lint_pattern(p))
    };
    let only_checks: Vec<String> = only.iter().filter(|p| is_rbac_only(p)).cloned().collect();
    let skip_checks: Vec<String> = skip.iter().filter(|p| is_rbac_only(p)).cloned().collect();
    let engine_selects_nothing = !only.is_empty() && only.iter().all(is_rbac_only);
    let only: Vec<String> = only.into_iter().filter(|p| !is_rbac_only(p)).collect();
    let skip: Vec<String> = skip.into_iter().filter(|p| !is_rbac_only(p)).collect();
    let (only_checks, skip_checks) = if only_checks.is_empty() && !only.is_empty() {
        // Only registry checks were asked for: no RBAC risks.
        (vec!["-".to_string()], skip_checks)
    } else {
        (only_checks, skip_checks)
    };
    let engine = match Engine::new(EngineOptions {
        profile: args.profile.or(cfg.profile).unwrap_or_default(),
        only,
        skip,
        pss_version: args.pss_version.or(cfg.pss_version),
        severity_overrides: cfg.severity.clone(),
        settings: CheckSettings {
            allowed_registries: cfg.registries.clone(),
        },
        exemptions: cfg.exemptions.clone(),
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };

    let load_opts = LoadOptions {
        max_file_bytes: args.max_file_size.saturating_mul(1024 * 1024),
        ..LoadOptions::default()
    };
    let started = std::time::Instant::now();
    let mut loaded = palisade_model::load_paths(&args.paths, &load_opts);
    if args.cluster {
        let opts = palisade_cluster::ClusterOptions {
            context: args.context.clone(),
            kubeconfig: args.kubeconfig.clone(),
            namespace: args.namespace.clone(),
            ..palisade_cluster::ClusterOptions::default()
        };
        match palisade_cluster::load_cluster(&opts) {
            Ok(l) => {
                // The cluster counts as one source in the summary.
                loaded.files += 1;
                loaded.extend(l);
            }
            Err(e) => {
                loaded
                    .diagnostics
                    .push(Diagnostic::new(Level::Error, "cluster", 0, e.to_string()))
            }
        }
    }

    let loaded_at = std::time::Instant::now();
    let mut result = if engine_selects_nothing {
        palisade_checks::engine::ScanResult {
            objects: loaded.objects.len(),
            ..Default::default()
        }
    } else {
        engine.run(&loaded.objects)
    };
    let mut rules = engine.rules();
    if !args.policy.is_empty() {
        let policies = palisade_model::load_paths(&args.policy, &load_opts);
        loaded.diagnostics.extend(policies.diagnostics);
        let set = palisade_policy::PolicySet::from_objects(
            &policies.objects,
            &palisade_policy::LoadOptions {
                template_engine: args.template_engine.template_engine(),
            },
        );
        loaded.diagnostics.extend(set.diagnostics.iter().cloned());
        if set.is_empty() {
            loaded.diagnostics.push(Diagnostic::new(
                Level::Error,
                args.policy
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                0,
                "--policy: no ValidatingAdmissionPolicy or Gatekeeper ConstraintTemplate found",
            ));
        }
        let scanned = palisade_policy::scan::scan_objects(&set, &loaded.objects);
        tracing::info!(
            policies = set.len(),
            evaluations = scanned.evaluations,
            findings = scanned.findings.len(),
            "policies evaluated"
        );
        result.findings.extend(scanned.findings);
        result.diagnostics.extend(scanned.diagnostics);
        rules.extend(scanned.rules);
    }
    if args.profile.or(cfg.profile).unwrap_or_default() == Profile::All {
        let (found, rbac_rules) = rbac::scan_findings(&loaded.objects, &only_checks, &skip_checks);
        result.findings.extend(found);
        rules.extend(rbac_rules);
        let (found, netpol_rules) =
            netpol::scan_findings(&loaded.objects, &only_checks, &skip_checks);
        result.findings.extend(found);
        rules.extend(netpol_rules);
    }
    let checked_at = std::time::Instant::now();
    tracing::info!(
        files = loaded.files,
        objects = loaded.objects.len(),
        load_ms = (loaded_at - started).as_secs_f64() * 1e3,
        check_ms = (checked_at - loaded_at).as_secs_f64() * 1e3,
        findings = result.findings.len(),
        "scanned"
    );
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        findings: result.findings,
        diagnostics: loaded.diagnostics,
        rules,
        files: loaded.files,
        objects: result.objects,
    };
    report.diagnostics.extend(result.diagnostics);
    report.sort();

    // Diagnostics always go to stderr, whatever the format (machine output stays on stdout).
    let mut stderr = std::io::stderr().lock();
    for d in &report.diagnostics {
        let _ = writeln!(stderr, "{d}");
    }
    drop(stderr);

    let color = args.output.is_none() && args.format == Format::Human && use_color(args.color);
    let text = match args.format {
        Format::Human => human::render(
            &report,
            human::HumanOptions {
                color,
                show_suppressed: args.show_suppressed,
            },
        ),
        Format::Json => json::render(&report),
        Format::Sarif => sarif::render(&report),
        Format::Junit => junit::render(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("cannot write to standard output");
                }
            }
        }
    }

    tracing::info!(
        render_ms = checked_at.elapsed().as_secs_f64() * 1e3,
        "rendered"
    );
    let threshold = args.fail_on.or(cfg.fail_on).unwrap_or(Severity::Info);
    let input_errors = report.diagnostics.iter().any(|d| d.level == Level::Error);
    Ok(if input_errors {
        EXIT_ERROR
    } else if report.fails(threshold) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn checks(args: ChecksArgs) -> Result<u8> {
    if let Some(ChecksCommand::Explain { id }) = &args.command {
        let Some(check) = registry::find(id) else {
            eprintln!("palisade: error: unknown check {id:?} (see `palisade checks`)");
            return Ok(EXIT_ERROR);
        };
        let m = check.meta();
        println!("# {} {} — {}\n", m.id, m.name, m.title);
        println!("Severity: {}", m.severity);
        if !m.frameworks().is_empty() {
            println!("Frameworks: {}", m.frameworks().join(", "));
        }
        println!();
        print!("{}", m.markdown());
        return Ok(EXIT_CLEAN);
    }
    if args.markdown {
        print!("{}", palisade_checks::docs::catalog_markdown());
        return Ok(EXIT_CLEAN);
    }
    if let Some(f) = &args.framework {
        let known = ["pss-baseline", "pss-restricted", "cis", "nsa", "mitre"];
        if !known.contains(&f.as_str()) {
            eprintln!(
                "palisade: error: unknown framework {f:?} ({})",
                known.join(", ")
            );
            return Ok(EXIT_ERROR);
        }
    }
    let selected: Vec<_> = registry::all()
        .iter()
        .filter(|c| {
            let m = c.meta();
            args.framework
                .as_deref()
                .is_none_or(|f| m.frameworks().contains(&f))
                && args.severity.is_none_or(|s| m.severity >= s)
        })
        .collect();
    if args.json {
        let v: Vec<_> = selected
            .iter()
            .map(|c| {
                let m = c.meta();
                serde_json::json!({
                    "id": m.id, "name": m.name, "title": m.title, "severity": m.severity,
                    "category": m.category.as_str(), "frameworks": m.frameworks(), "tags": m.tags(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(EXIT_CLEAN);
    }
    let name_w = selected
        .iter()
        .map(|c| c.meta().name.len())
        .max()
        .unwrap_or(4);
    println!("{:<7} {:<name_w$} {:<9} TITLE", "ID", "NAME", "SEVERITY");
    for c in &selected {
        let m = c.meta();
        println!(
            "{:<7} {:<name_w$} {:<9} {}",
            m.id,
            m.name,
            m.severity.as_str(),
            m.title
        );
    }
    println!(
        "\n{} checks (`palisade checks explain ID` for details)",
        selected.len()
    );
    Ok(EXIT_CLEAN)
}
