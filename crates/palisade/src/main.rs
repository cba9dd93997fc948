//! `palisade`: the command-line entry point. Wiring only: argument parsing, reading input,
//! calling the engines, rendering, exit codes. Domain logic lives in the library crates.

use anyhow::{Context as _, Result};
use clap::Parser;
use palisade::{
    admission, compat, detect, netpol, policy, rbac, Cli, ColorChoice, Command, Format, ScanArgs,
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
};
use palisade_checks::engine::EngineOptions;
use palisade_checks::{config, CheckSettings, Config, Engine, Profile, Severity};
use palisade_model::{Diagnostic, Level, LoadOptions};
use palisade_report::{human, json, junit, sarif, Report};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    init_tracing();
    // Old spellings (docs/cli.md, "Deprecated spellings") still work, with a note.
    let (args, deprecated) = compat::rewrite(std::env::args_os().collect());
    for note in &deprecated {
        eprintln!("palisade: warning: {note}");
    }
    let cli = match Cli::try_parse_from(args) {
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
        Command::Checks(args) => palisade::checks::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Admission(args) => admission::run(args),
        Command::Rbac(args) => rbac::run(args),
        Command::Netpol(args) => netpol::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Paths(args) => palisade::paths::run(args),
        Command::Observe(args) => palisade::observe::run(args),
        Command::Node(args) => palisade::node::run(args),
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
    let cluster = args.cluster.then(|| palisade_cluster::ClusterOptions {
        context: args.context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        namespace: args.namespace.clone(),
        ..palisade_cluster::ClusterOptions::default()
    });
    let mut loaded = palisade::load_inputs(&args.paths, cluster.as_ref(), args.max_file_size);

    let loaded_at = std::time::Instant::now();
    let mut result = if engine_selects_nothing {
        palisade_checks::engine::ScanResult {
            objects: loaded.objects.len(),
            ..Default::default()
        }
    } else {
        engine.run(&loaded.objects)
    };
    let checks_at = std::time::Instant::now();
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
    let policy_at = std::time::Instant::now();
    let (mut rbac_at, mut netpol_at) = (policy_at, policy_at);
    if args.profile.or(cfg.profile).unwrap_or_default() == Profile::All {
        let (found, rbac_rules) = rbac::scan_findings(&loaded.objects, &only_checks, &skip_checks);
        result.findings.extend(found);
        rules.extend(rbac_rules);
        rbac_at = std::time::Instant::now();
        let (found, netpol_rules) =
            netpol::scan_findings(&loaded.objects, &only_checks, &skip_checks);
        result.findings.extend(found);
        rules.extend(netpol_rules);
        netpol_at = std::time::Instant::now();
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

    let color = args.output.is_none() && args.format == Format::Text && use_color(args.color);
    let text = match args.format {
        Format::Text => human::render(
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
    // PALISADE_PHASE_TIMES=1: one line of phase times on stderr (scripts/bench-scan.sh).
    if std::env::var_os("PALISADE_PHASE_TIMES").is_some_and(|v| !v.is_empty() && v != "0") {
        let ms = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1e3;
        let now = std::time::Instant::now();
        eprintln!(
            "phases: load {:.1} ms, checks {:.1} ms, policy {:.1} ms, rbac {:.1} ms, netpol {:.1} ms, render {:.1} ms, total {:.1} ms ({} objects, {} findings)",
            ms(started, loaded_at),
            ms(loaded_at, checks_at),
            ms(checks_at, policy_at),
            ms(policy_at, rbac_at),
            ms(rbac_at, netpol_at),
            ms(netpol_at, now),
            ms(started, now),
            report.objects,
            report.findings.len()
        );
    }
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
