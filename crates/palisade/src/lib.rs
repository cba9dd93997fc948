//! The `palisade` command line as a library: the clap tree ([`Cli`]), the subcommands'
//! wiring modules, and the deprecated-spelling translation ([`compat`]). `main.rs` parses
//! and dispatches; keeping the tree here lets tests walk it (`tests/convention.rs` checks
//! the convention of docs/cli.md on every subcommand).

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use palisade_checks::{Profile, PssVersion, Severity};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub mod admission;
pub mod catalog;
pub mod checks;
pub mod compat;
pub mod controller;
pub mod detect;
pub mod image;
pub mod install;
pub mod netpol;
pub mod node;
pub mod observe;
pub mod paths;
pub mod policy;
pub mod rbac;
pub mod threat;

/// Exit code: no finding at or over the threshold, no input error.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: findings at or over the `--fail-on` threshold.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, or input that could not be read or parsed.
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "palisade",
    version,
    about = "Kubernetes security and observability in one binary",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan manifests, Helm output (stdin) or a live cluster for security misconfigurations.
    Scan(ScanArgs),
    /// List the one catalog of every rule any command reports (checks, RBAC risks, network
    /// policy lint, …), or explain one.
    Checks(checks::ChecksArgs),
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
    /// Attack paths across RBAC, containers, network reachability, vulnerabilities and
    /// runtime alerts: shortest paths to crown jewels, critical paths, chokepoints, diff.
    Paths(paths::PathsArgs),
    /// Network flow and DNS records from the node's packets (files or interfaces), kept in a
    /// flow store and queried: what talks to what, denials, DNS, plaintext.
    Observe(observe::ObserveArgs),
    /// CIS Kubernetes Benchmark checks for nodes and the control plane, kube-bench check files,
    /// and audit policy, encryption at rest, CoreDNS, metadata-reachability and end-of-life analyses.
    Node(node::NodeArgs),
    /// Container images: packages (SBOM), known vulnerabilities with their fixes, and how the
    /// image is built; the vulnerability database.
    Image(image::ImageArgs),
    /// Threat defense: IP and domain feeds (STIX/TAXII, Calico GlobalThreatFeed), matching of
    /// flows and DNS live or over stored history, DGA/tunnelling/NXDOMAIN detection,
    /// behaviour baselines, canary resources and blocking policy.
    Threat(threat::ThreatArgs),
    /// The manifests that run Palisade in a cluster (admission webhook, audit receiver,
    /// PolicyReport controller, node checks, flow sensor), for `kubectl apply -f -`.
    Install(install::InstallArgs),
    /// Keep PolicyReports current in a cluster: watch workloads, RBAC and network policies and
    /// re-run what each change affects (the scan pipeline), writing by server-side apply.
    Controller(controller::ControllerArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    /// wgpolicyk8s.io/v1alpha2 PolicyReports, one per object (Kyverno's layout), as YAML.
    Policyreport,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan (`-` reads standard input). Directories are searched
    /// recursively for .yaml, .yml and .json files.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Scan the cluster in your kubeconfig instead of (or as well as) files.
    #[arg(long)]
    pub cluster: bool,
    /// Kubeconfig context to use with --cluster (default: the current context).
    #[arg(long, requires = "cluster")]
    pub context: Option<String>,
    /// Only list namespaced objects in this namespace (with --cluster).
    #[arg(long, short = 'n', requires = "cluster")]
    pub namespace: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// Output format.
    #[arg(
        long = "output",
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long = "output-file", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: info, i.e. any finding].
    #[arg(long, value_name = "SEVERITY", value_parser = severity_parser())]
    pub fail_on: Option<Severity>,

    /// Check profile: pss-baseline, pss-restricted or all [default: all].
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// Run only these checks (IDs, names or PREFIX*; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Skip these checks (IDs, names or PREFIX*; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Pod Security Standards version: v1.0 … v1.37, or latest.
    #[arg(long, value_parser = parse_pss_version)]
    pub pss_version: Option<PssVersion>,
    /// Configuration file [default: .palisade.yaml in the working directory or a parent].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any .palisade.yaml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Also list suppressed findings in text output.
    #[arg(long)]
    pub show_suppressed: bool,
    /// When to use colours in text output (NO_COLOR is respected with auto).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Refuse input files larger than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_file_size: u64,

    /// Also evaluate the ValidatingAdmissionPolicies and Gatekeeper ConstraintTemplates
    /// (with their bindings, constraints and params) in these files or directories against
    /// every scanned object, as an admission CREATE would.
    #[arg(long, value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// Engine for Gatekeeper templates that carry both Rego and CEL code.
    #[arg(long, value_enum, default_value = "auto", requires = "policy")]
    pub template_engine: EngineChoice,

    /// Also scan the container images the workloads run (each distinct image once, layers
    /// cached): vulnerabilities and image hardening, joined to the workload and container.
    #[arg(long)]
    pub images: bool,
    #[command(flatten)]
    pub image: image::WorkloadImageArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum EngineChoice {
    /// CEL when the template has it, Rego otherwise.
    Auto,
    Rego,
    Cel,
}

impl EngineChoice {
    pub fn template_engine(self) -> palisade_policy::TemplateEngine {
        match self {
            EngineChoice::Auto => palisade_policy::TemplateEngine::Auto,
            EngineChoice::Rego => palisade_policy::TemplateEngine::Rego,
            EngineChoice::Cel => palisade_policy::TemplateEngine::Cel,
        }
    }
}

/// The severities every `--fail-on` (and `--severity`) accepts, most severe first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// The value parser of every `--fail-on SEVERITY`: one of [`SEVERITIES`] (case-insensitive),
/// listed in `--help`.
pub fn severity_parser() -> impl clap::builder::TypedValueParser<Value = Severity> {
    clap::builder::PossibleValuesParser::new(SEVERITIES)
        .map(|s| Severity::parse(&s).unwrap_or(Severity::Info))
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

/// Loads manifests from `paths` (files, directories, `-`) and, with `cluster`, the objects of a
/// live cluster: the one loader of every command that reads manifests and `--cluster`. A file
/// over `max_file_mib` or a cluster that cannot be read becomes an error diagnostic, never a
/// stop; the cluster counts as one source in `files`.
pub fn load_inputs(
    paths: &[PathBuf],
    cluster: Option<&palisade_cluster::ClusterOptions>,
    max_file_mib: u64,
) -> palisade_model::Loaded {
    let opts = palisade_model::LoadOptions {
        max_file_bytes: max_file_mib.saturating_mul(1024 * 1024),
        ..palisade_model::LoadOptions::default()
    };
    let mut loaded = palisade_model::load_paths(paths, &opts);
    if let Some(copts) = cluster {
        match palisade_cluster::load_cluster(copts) {
            Ok(l) => {
                loaded.files += 1;
                loaded.extend(l);
            }
            Err(e) => loaded.diagnostics.push(palisade_model::Diagnostic::new(
                palisade_model::Level::Error,
                "cluster",
                0,
                e.to_string(),
            )),
        }
    }
    loaded
}

/// Writes a command's result to `file` (`--output-file`) or standard output. A closed pipe
/// (`palisade … | head`) is not an error; anything else names the file.
pub fn write_output(text: &str, file: Option<&Path>) -> anyhow::Result<()> {
    use anyhow::Context as _;
    match file {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to standard output")
                }
                _ => Ok(()),
            }
        }
    }
}
