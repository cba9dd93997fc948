//! `palisade`: the command-line entry point. Wiring only: argument parsing, reading input,
//! calling the engines, rendering, exit codes. Domain logic lives in the library crates.

use anyhow::{Context as _, Result};
use clap::Parser;
use palisade::{
    admission, compat, detect, netpol, policy, rbac, Cli, ColorChoice, Command, Format, ScanArgs,
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
};
use palisade_checks::{config, Config, Severity};
use palisade_model::Level;
use palisade_report::{human, json, junit, policyreport, sarif};
use palisade_scan::{ScanConfig, Scanner};
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
        Command::Image(args) => palisade::image::run(args),
        Command::Threat(args) => palisade::threat::run(args),
        Command::Install(args) => palisade::install::run(args),
        Command::Controller(args) => palisade::controller::run(args),
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
    // The file's settings, then the command line's: one ScanConfig for the pipeline.
    let mut scan_cfg = ScanConfig::from_file(&cfg);
    if let Some(p) = args.profile {
        scan_cfg.profile = p;
    }
    if !args.checks.is_empty() {
        scan_cfg.checks = args.checks.clone();
    }
    scan_cfg.skip.extend(args.skip.iter().cloned());
    if args.pss_version.is_some() {
        scan_cfg.pss_version = args.pss_version;
    }
    scan_cfg.policies = args.policy.clone();
    scan_cfg.template_engine = args.template_engine.template_engine();
    scan_cfg.max_file_bytes = args.max_file_size.saturating_mul(1024 * 1024);
    let scanner = match Scanner::new(&scan_cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };

    let started = std::time::Instant::now();
    let cluster = args.cluster.then(|| palisade_cluster::ClusterOptions {
        context: args.context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        namespace: args.namespace.clone(),
        ..palisade_cluster::ClusterOptions::default()
    });
    let loaded = palisade::load_inputs(&args.paths, cluster.as_ref(), args.max_file_size);
    let (files, objects) = (loaded.files, loaded.objects.len());
    let subjects = (args.format == Format::Policyreport).then(|| scanner.subjects(&loaded.objects));
    let loaded_at = std::time::Instant::now();
    let images = args
        .images
        .then(|| palisade::image::scan_workload_images(&loaded.objects, &args.image));
    let (mut report, phases) = scanner.report(loaded);
    if let Some((findings, diagnostics)) = images {
        report.findings.extend(findings);
        report.diagnostics.extend(diagnostics);
        report.sort();
    }
    let checked_at = std::time::Instant::now();
    tracing::info!(
        files,
        objects,
        load_ms = (loaded_at - started).as_secs_f64() * 1e3,
        check_ms = (checked_at - loaded_at).as_secs_f64() * 1e3,
        findings = report.findings.len(),
        "scanned"
    );

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
        Format::Policyreport => policyreport::render(
            &report,
            &policyreport::Options {
                timestamp: policyreport::Timestamp::now(),
                categories: palisade::catalog::categories(),
                subjects: subjects.unwrap_or_default(),
            },
        ),
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
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let now = std::time::Instant::now();
        eprintln!(
            "phases: load {:.1} ms, checks {:.1} ms, policy {:.1} ms, rbac {:.1} ms, netpol {:.1} ms, render {:.1} ms, total {:.1} ms ({} objects, {} findings)",
            ms(loaded_at - started),
            ms(phases.checks),
            ms(phases.policy),
            ms(phases.source("rbac")),
            ms(phases.source("netpol")),
            ms(now - checked_at),
            ms(now - started),
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
