//! `palisade node`: CIS Kubernetes Benchmark checks for nodes and the control plane, a
//! runner for kube-bench check files, and the audit policy, EncryptionConfiguration,
//! Corefile, metadata-reachability and end-of-life analyses. Wiring only: the logic is in
//! palisade-node.

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{Diagnostic, Level, LoadOptions};
use palisade_node::analysis::Issue;
use palisade_node::component::{discover, parse_tree, ConfigState, Profile};
use palisade_node::kubebench::{self, KbResult};
use palisade_node::report::{kb_rows, rows, text, to_report};
use palisade_node::{Benchmark, Options, Root};
use palisade_report::{Finding, ObjectId, Report, Severity};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Run the CIS Kubernetes Benchmark on this node (or a mounted root): processes in /proc,
    /// flags over config files over defaults, file modes and owners, plus the analyses.
    Check(CheckArgs),
    /// Analyse an audit policy file: Secrets logged with their bodies, exec/attach/port-forward
    /// not logged, no catch-all rule.
    AuditPolicy(FileArgs),
    /// Analyse an EncryptionConfiguration: which resources are encrypted, by which provider,
    /// whether Secrets end up in plaintext.
    Encryption(FileArgs),
    /// Check a CoreDNS Corefile (or a ConfigMap manifest holding one).
    Corefile(FileArgs),
    /// Which workloads can reach the cloud metadata API (169.254.169.254, fd00:ec2::254)
    /// under the network policies in the manifests.
    Metadata(MetadataArgs),
    /// Whether a Kubernetes version is past or near its end of life.
    Eol(EolArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Sarif,
    Junit,
}

#[derive(Args, Debug)]
struct OutputArgs {
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: Format,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when a finding is at or over this severity (info: any finding).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    fail_on: Option<Severity>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// The node's root directory: `/` on the node (or in a pod with hostPID and the host's
    /// root mounted read-only, e.g. `/host`), a mounted node filesystem, or a fixture.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Platform: where binaries, manifests and files live, and whether the control plane is
    /// managed (eks, gke, aks skip sections 1–3).
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile, default_value = "kubeadm")]
    profile: Profile,
    /// Benchmark version: cis-1.10 or cis-1.12.
    #[arg(long, value_name = "BENCHMARK", value_parser = parse_benchmark, default_value = "cis-1.12")]
    benchmark: Benchmark,
    /// Manifests (files, directories, `-`) for section 5, the CoreDNS Corefile and metadata
    /// reachability.
    #[arg(long, value_name = "PATH")]
    manifests: Vec<PathBuf>,
    /// kube-bench check files (cfg/ format) to run as well; repeatable.
    #[arg(long, value_name = "FILE")]
    checks_file: Vec<PathBuf>,
    /// Run the `audit` commands of kube-bench check files (with `sh -c`). Without it only
    /// `ps -fC`, `cat` and `stat -c` audits are answered, natively.
    #[arg(long)]
    allow_exec: bool,
    /// The Kubernetes version, for the end-of-life check, when the API server's image does
    /// not tell (k3s, managed platforms).
    #[arg(long, value_name = "VERSION")]
    kubernetes_version: Option<String>,
    /// Show the evidence of passing controls too.
    #[arg(long, short = 'v')]
    verbose: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
struct FileArgs {
    /// The file to analyse (`-` for standard input).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
struct MetadataArgs {
    /// Manifests, directories, or `-` for stdin.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
struct EolArgs {
    /// A Kubernetes version (`v1.31.2`, `1.31`) or an image reference with such a tag.
    #[arg(value_name = "VERSION")]
    version: String,
    /// Judge as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::parse(s)
        .ok_or_else(|| format!("unknown profile {s:?} (kubeadm, eks, gke, aks, k3s, rke2)"))
}

fn parse_benchmark(s: &str) -> Result<Benchmark, String> {
    Benchmark::parse(s).ok_or_else(|| format!("unknown benchmark {s:?} (cis-1.10, cis-1.12)"))
}

fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    secs.div_euclid(86_400)
}

fn emit(text: &str, file: Option<&PathBuf>) -> Result<()> {
    crate::write_output(text, file.map(PathBuf::as_path))
}

fn exit_code(report: &Report, fail_on: Option<Severity>) -> u8 {
    if report.diagnostics.iter().any(|d| d.level == Level::Error) {
        EXIT_ERROR
    } else if fail_on.is_some_and(|t| report.fails(t)) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// Renders a report in a machine format; `None` for text.
fn machine(report: &Report, f: Format) -> Option<String> {
    match f {
        Format::Text => None,
        Format::Json => Some(palisade_report::json::render(report)),
        Format::Sarif => Some(palisade_report::sarif::render(report)),
        Format::Junit => Some(palisade_report::junit::render(report)),
    }
}

pub fn run(args: NodeArgs) -> Result<u8> {
    match args.command {
        NodeCommand::Check(a) => check(a),
        NodeCommand::AuditPolicy(a) => analysis(a, Kind::Audit),
        NodeCommand::Encryption(a) => analysis(a, Kind::Encryption),
        NodeCommand::Corefile(a) => analysis(a, Kind::Corefile),
        NodeCommand::Metadata(a) => metadata(a),
        NodeCommand::Eol(a) => eol(a),
    }
}

fn check(a: CheckArgs) -> Result<u8> {
    if !a.root.is_dir() {
        eprintln!(
            "palisade: error: --root {}: not a directory",
            a.root.display()
        );
        return Ok(EXIT_ERROR);
    }
    let root = Root::new(&a.root);
    let loaded = (!a.manifests.is_empty())
        .then(|| palisade_model::load_paths(&a.manifests, &LoadOptions::default()));
    let opts = Options {
        profile: a.profile,
        benchmark: a.benchmark,
        kubernetes_version: a.kubernetes_version.clone(),
        today: Some(today()),
    };
    let mut run = palisade_node::run(&root, &opts, loaded.as_ref().map(|l| l.objects.as_slice()));
    if let Some(l) = &loaded {
        run.diagnostics.extend(l.diagnostics.iter().cloned());
    }
    let mut all_rows = rows(&run);
    let mut kb: Vec<(String, Vec<KbResult>)> = Vec::new();
    if !a.checks_file.is_empty() {
        let disc = discover(&root, a.profile);
        let (procs, _) = root.processes();
        let mut exec = |cmd: &str| -> Result<String, String> {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .output()
                .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let mut runner = kubebench::Runner {
            root: &root,
            processes: procs,
            vars: kubebench::variables(&root, &disc, a.profile),
            exec: if a.allow_exec { Some(&mut exec) } else { None },
        };
        for f in &a.checks_file {
            let name = f.display().to_string();
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => {
                    run.diagnostics.push(Diagnostic::new(
                        Level::Error,
                        &name,
                        0,
                        format!("cannot read: {e}"),
                    ));
                    continue;
                }
            };
            let (controls, diags) = kubebench::load(&text, &name);
            run.diagnostics.extend(diags);
            let results = runner.run(&controls);
            all_rows.extend(kb_rows(&controls.id, &controls.text, &results));
            kb.push((name, results));
        }
    }
    let report = to_report(&run, &kb, env!("CARGO_PKG_VERSION"));
    print_diagnostics(&run.diagnostics);
    let out = match a.out.output {
        Format::Json => {
            let v = palisade_node::report::json(&run, &all_rows, &report, a.profile.as_str());
            serde_json::to_string_pretty(&v)? + "\n"
        }
        Format::Text => {
            let mut t = text(&all_rows, a.verbose);
            let extras: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| !f.check.starts_with("CIS-") && !f.check.starts_with("kube-bench/"))
                .collect();
            if !extras.is_empty() {
                t.push_str("\n== Analyses ==\n");
                for f in extras {
                    let at = if f.line > 0 {
                        format!("{}:{}", f.source, f.line)
                    } else {
                        f.source.clone()
                    };
                    t.push_str(&format!(
                        "[{}] {} {}: {}\n",
                        f.severity.as_str().to_uppercase(),
                        f.check,
                        at,
                        f.message
                    ));
                }
            }
            t
        }
        f => machine(&report, f).unwrap_or_default(),
    };
    emit(&out, a.out.output_file.as_ref())?;
    Ok(exit_code(&report, a.out.fail_on))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Audit,
    Encryption,
    Corefile,
}

fn read_input(p: &Path) -> Result<(String, String), String> {
    if p == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
        return Ok(("<stdin>".into(), s));
    }
    let meta = std::fs::metadata(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
    if meta.len() > palisade_node::root::MAX_FILE_BYTES {
        return Err(format!(
            "{}: larger than {} bytes",
            p.display(),
            palisade_node::root::MAX_FILE_BYTES
        ));
    }
    let bytes = std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
    Ok((
        p.display().to_string(),
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

fn issue_report(
    source: &str,
    object: ObjectId,
    issues: Vec<Issue>,
    diags: Vec<Diagnostic>,
) -> Report {
    let infos = palisade_node::catalog();
    let mut rep = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        diagnostics: diags,
        files: 1,
        objects: 1,
        ..Report::default()
    };
    for i in issues {
        if let Some(r) = infos.iter().find(|r| r.id == i.id) {
            if !rep.rules.iter().any(|x| x.id == r.id) {
                rep.rules.push(r.clone());
            }
        }
        rep.findings.push(Finding {
            check: i.id.to_string(),
            severity: i.severity,
            message: i.message,
            object: object.clone(),
            source: source.to_string(),
            line: i.line,
            path: String::new(),
            suppressed: None,
        });
    }
    rep.sort();
    rep
}

fn issues_text(rep: &Report, header: &str) -> String {
    let mut t = header.to_string();
    if rep.findings.is_empty() {
        t.push_str("no problems found\n");
    }
    for f in &rep.findings {
        let at = if f.line > 0 {
            format!("{}:{}", f.source, f.line)
        } else {
            f.source.clone()
        };
        t.push_str(&format!(
            "{at}: {} {}: {}\n",
            f.severity.as_str(),
            f.check,
            f.message
        ));
    }
    t
}

fn analysis(a: FileArgs, kind: Kind) -> Result<u8> {
    let (source, text) = match read_input(&a.file) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut diags = Vec::new();
    let file_id = ObjectId {
        api_version: "node.palisade.dev/v1".into(),
        kind: "File".into(),
        namespace: None,
        name: source.clone(),
    };
    let (issues, header) = match kind {
        Kind::Corefile => {
            // A ConfigMap manifest holding a Corefile, or the Corefile itself.
            let loaded = palisade_model::load_bytes(
                text.as_bytes(),
                palisade_model::Source::File(source.clone()),
                &LoadOptions::default(),
            );
            let extras = palisade_node::eval::corefile_extras(&loaded.objects);
            if loaded
                .objects
                .iter()
                .any(|o| o.root.at(&["data", "Corefile"]).is_some())
            {
                (extras.into_iter().map(|e| e.issue).collect(), String::new())
            } else {
                let (servers, issues) = palisade_node::corefile::analyze(&text);
                (issues, format!("{} server block(s)\n", servers.len()))
            }
        }
        Kind::Audit | Kind::Encryption => match parse_tree(&text, &source, &mut diags) {
            ConfigState::Loaded(tree) => {
                if kind == Kind::Audit {
                    (palisade_node::audit_policy::analyze(&tree), String::new())
                } else {
                    let e = palisade_node::encryption::analyze(&tree);
                    let mut h = String::new();
                    for (res, desc, line) in &e.entries {
                        h.push_str(&format!("{source}:{line}: {} → {desc}\n", res.join(", ")));
                    }
                    (e.issues, h)
                }
            }
            _ => (Vec::new(), String::new()),
        },
    };
    let rep = issue_report(&source, file_id, issues, diags);
    print_diagnostics(&rep.diagnostics);
    let out = machine(&rep, a.out.output).unwrap_or_else(|| issues_text(&rep, &header));
    emit(&out, a.out.output_file.as_ref())?;
    Ok(exit_code(&rep, a.out.fail_on))
}

fn metadata(a: MetadataArgs) -> Result<u8> {
    let loaded = palisade_model::load_paths(&a.paths, &LoadOptions::default());
    let (reach, net_diags) = palisade_node::metadata::reachability(&loaded.objects);
    let mut rep = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        diagnostics: loaded
            .diagnostics
            .iter()
            .cloned()
            .chain(net_diags)
            .collect(),
        files: loaded.files,
        objects: loaded.objects.len(),
        ..Report::default()
    };
    let infos = palisade_node::catalog();
    rep.rules
        .extend(infos.iter().filter(|r| r.id == "MD001").cloned());
    for (i, r) in palisade_node::metadata::issues(&reach)
        .into_iter()
        .zip(&reach)
    {
        rep.findings.push(Finding {
            check: i.id.to_string(),
            severity: i.severity,
            message: i.message,
            object: ObjectId {
                api_version: "v1".into(),
                kind: "Workload".into(),
                namespace: None,
                name: r.workload.clone(),
            },
            source: r.source.clone(),
            line: r.line,
            path: String::new(),
            suppressed: None,
        });
    }
    rep.sort();
    print_diagnostics(&rep.diagnostics);
    let out = machine(&rep, a.out.output).unwrap_or_else(|| {
        issues_text(
            &rep,
            &format!(
                "{} workload(s) can reach the cloud metadata API\n",
                reach.len()
            ),
        )
    });
    emit(&out, a.out.output_file.as_ref())?;
    Ok(exit_code(&rep, a.out.fail_on))
}

fn eol(a: EolArgs) -> Result<u8> {
    let day = match &a.date {
        Some(d) => match palisade_node::analysis::parse_date(d) {
            Some(x) => x,
            None => {
                eprintln!("palisade: error: --date {d:?} is not YYYY-MM-DD");
                return Ok(EXIT_ERROR);
            }
        },
        None => today(),
    };
    let issues = palisade_node::eol::check(&a.version, day);
    let rep = issue_report(
        &a.version,
        ObjectId {
            api_version: "node.palisade.dev/v1".into(),
            kind: "Component".into(),
            namespace: None,
            name: "kubernetes".into(),
        },
        issues,
        Vec::new(),
    );
    let out = machine(&rep, a.out.output).unwrap_or_else(|| {
        if rep.findings.is_empty() {
            format!(
                "{}: supported (end-of-life table dated {})\n",
                a.version,
                palisade_node::eol::TABLE_DATE
            )
        } else {
            issues_text(&rep, "")
        }
    });
    emit(&out, a.out.output_file.as_ref())?;
    Ok(exit_code(&rep, a.out.fail_on))
}
