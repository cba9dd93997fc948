//! `palisade admission`: the webhook server (`serve`), one offline review (`review`),
//! certificates (`certs`) and deployment manifests (`manifests`). Wiring only; everything
//! lives in palisade-admission.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_admission::certs::{self, CertOptions};
use palisade_admission::manifests::{self, ManifestOptions};
use palisade_admission::server::{self, ServeOptions, Webhook};
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args, Debug)]
pub struct AdmissionArgs {
    #[command(subcommand)]
    command: AdmissionCommand,
}

#[derive(Subcommand, Debug)]
enum AdmissionCommand {
    /// Run the validating and mutating admission webhook over HTTPS.
    Serve(ServeArgs),
    /// Answer one AdmissionReview (JSON, from a file or standard input) with the webhook's
    /// code path, and print the AdmissionReview response.
    Review(ReviewArgs),
    /// Generate a CA and a serving certificate for the webhook Service, and print the
    /// caBundle.
    Certs(CertsArgs),
    /// Print the deployment manifests (Deployment, Service, webhook configurations, RBAC…).
    Manifests(ManifestsArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Configuration file (see docs/admission.md); defaults apply without one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serving certificate chain (PEM); re-read when it changes.
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// Private key (PEM); re-read when it changes.
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// How often certificate, configuration and policy files are checked for changes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    reload_interval: Duration,
    /// How long in-flight requests may take to finish at shutdown.
    #[arg(long, default_value = "25s", value_parser = parse_duration)]
    shutdown_grace: Duration,
    /// Kubeconfig for `namespaces.api` (default: in-cluster or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    #[arg(long)]
    context: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum WebhookArg {
    Validate,
    Mutate,
}

#[derive(Args, Debug)]
struct ReviewArgs {
    /// AdmissionReview JSON file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
    /// Which webhook answers.
    #[arg(long, value_enum, default_value = "validate")]
    webhook: WebhookArg,
    /// Also print the decision-log record to standard error.
    #[arg(long)]
    log: bool,
}

#[derive(Args, Debug)]
struct CertsArgs {
    /// The webhook Service's name.
    #[arg(long)]
    service: String,
    /// The webhook Service's namespace.
    #[arg(long)]
    namespace: String,
    /// Where ca.crt, ca.key, tls.crt and tls.key are written.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Serving certificate validity in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// CA validity in days.
    #[arg(long, default_value_t = 3650)]
    ca_days: u32,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
    /// Also write a kubernetes.io/tls Secret manifest with this name (to OUT_DIR/secret.yaml).
    #[arg(long)]
    secret: Option<String>,
}

#[derive(Args, Debug)]
struct ManifestsArgs {
    #[arg(long, default_value = "palisade-system")]
    namespace: String,
    #[arg(long, default_value = "palisade-admission")]
    name: String,
    #[arg(long)]
    image: Option<String>,
    #[arg(long, default_value_t = 2)]
    replicas: u32,
    /// The CA certificate (PEM) the API server should trust, e.g. ca.crt from `certs`.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// What the API server does when the webhook cannot answer.
    #[arg(long, default_value = "Fail")]
    failure_policy: String,
    #[arg(long, default_value_t = 5)]
    timeout_seconds: u32,
    /// Include the MutatingWebhookConfiguration.
    #[arg(long)]
    mutate: bool,
    /// Configuration to put in the ConfigMap (default: a warn-mode starting point).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    palisade_admission::config::parse_duration(s)
        .ok_or_else(|| format!("invalid duration {s:?} (e.g. 500ms, 10s, 1m)"))
}

pub fn run(args: AdmissionArgs) -> Result<u8> {
    match args.command {
        AdmissionCommand::Serve(a) => serve(a),
        AdmissionCommand::Review(a) => review(a),
        AdmissionCommand::Certs(a) => certs(a),
        AdmissionCommand::Manifests(a) => manifests(a),
    }
}

fn serve(a: ServeArgs) -> Result<u8> {
    let mut opts = ServeOptions::new(a.tls_cert, a.tls_key);
    opts.config = a.config;
    opts.listen = a.listen;
    opts.reload_interval = a.reload_interval;
    opts.shutdown_grace = a.shutdown_grace;
    opts.cluster.kubeconfig = a.kubeconfig;
    opts.cluster.context = a.context;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(server::serve(opts))?;
    Ok(EXIT_CLEAN)
}

fn review(a: ReviewArgs) -> Result<u8> {
    let body = match a.file.as_deref() {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
    };
    let admission = server::load_admission(a.config.as_deref()).map_err(anyhow::Error::msg)?;
    for w in &admission.warnings {
        eprintln!("palisade: warning: {w}");
    }
    let webhook = match a.webhook {
        WebhookArg::Validate => Webhook::Validate,
        WebhookArg::Mutate => Webhook::Mutate,
    };
    let h = server::review_offline(&admission, webhook, &body);
    if a.log {
        eprintln!("{}", h.record);
    }
    if h.status != 200 {
        eprintln!(
            "palisade: error: {}: {}",
            a.file
                .as_deref()
                .map_or("<stdin>".into(), |p| p.display().to_string()),
            String::from_utf8_lossy(&h.body)
        );
        return Ok(EXIT_ERROR);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&h.body)?;
    out.write_all(b"\n")?;
    Ok(if h.record["allowed"] == false {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .context("cannot read standard input")?;
    Ok(buf)
}

fn certs(a: CertsArgs) -> Result<u8> {
    let generated = certs::generate(&CertOptions {
        service: a.service.clone(),
        namespace: a.namespace.clone(),
        days: a.days,
        ca_days: a.ca_days,
        extra_dns: Vec::new(),
        ip_sans: Vec::new(),
    })?;
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("cannot create {}", a.out_dir.display()))?;
    let written = generated.write_to(&a.out_dir, a.force)?;
    for p in &written {
        eprintln!("wrote {}", p.display());
    }
    if let Some(name) = &a.secret {
        let p = a.out_dir.join("secret.yaml");
        if p.exists() && !a.force {
            anyhow::bail!("{} exists (use --force to overwrite)", p.display());
        }
        std::fs::write(&p, generated.secret_manifest(name, &a.namespace))
            .with_context(|| format!("cannot write {}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    println!("{}", generated.ca_bundle());
    Ok(EXIT_CLEAN)
}

fn manifests(a: ManifestsArgs) -> Result<u8> {
    let ca_bundle = match &a.ca_file {
        Some(p) => {
            let pem = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(pem))
        }
        None => None,
    };
    let mut opts = ManifestOptions {
        namespace: a.namespace,
        name: a.name,
        replicas: a.replicas,
        ca_bundle,
        failure_policy: a.failure_policy,
        timeout_seconds: a.timeout_seconds,
        mutate: a.mutate,
        ..ManifestOptions::default()
    };
    if let Some(i) = a.image {
        opts.image = i;
    }
    if let Some(p) = &a.config {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        palisade_admission::config::AdmissionConfig::parse(&text, &p.display().to_string())?;
        opts.config_yaml = text;
    }
    print!("{}", manifests::render(&opts)?);
    Ok(EXIT_CLEAN)
}
