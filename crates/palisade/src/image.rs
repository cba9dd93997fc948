//! `palisade image`: container image scanning (packages, known vulnerabilities, hardening),
//! SBOMs, and the vulnerability database. Wiring only: the logic is in palisade-image.

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_image::db::Db;
use palisade_image::report::{self, ImageResult, ScanOptions};
use palisade_image::{harden, Options};
use palisade_model::{Diagnostic, Level};
use palisade_report::{Report, Severity};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand, Debug)]
enum ImageCommand {
    /// Scan images: packages, known vulnerabilities (with the fixed version), and how the
    /// image is built (root user, secrets, setuid files, end-of-life OS, …).
    Scan(ScanArgs),
    /// Write an image's software bill of materials (CycloneDX 1.5 or SPDX 2.3 JSON).
    Sbom(SbomArgs),
    /// The local vulnerability database: update, import, status.
    Db(DbArgs),
}

#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Platform of a multi-platform image: os/arch[/variant] [default: linux/amd64 when the
    /// index has several].
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Layer cache directory [default: $PALISADE_CACHE_DIR, else ~/.cache/palisade].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the layer cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Speak plain HTTP to this registry (host[:port]; repeatable). Loopback registries always
    /// use HTTP, as Docker does.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
}

impl SourceArgs {
    pub fn options(&self) -> Options {
        Options {
            platform: self.platform.clone(),
            cache: if self.no_cache {
                None
            } else {
                self.cache_dir
                    .clone()
                    .or_else(palisade_image::Cache::default_dir)
            },
            registry: palisade_image::registry::RegistryOptions {
                insecure: self.insecure_registry.clone(),
                docker_config: None,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ScanFormat {
    Text,
    Json,
    Sarif,
    Junit,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Images: an OCI layout directory, a `docker save` or OCI archive (.tar), a root
    /// filesystem directory, or a registry reference.
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<String>,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    vuln: VulnArgs,
    /// The images are expected to be distroless: report shells and package managers.
    #[arg(long)]
    distroless: bool,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: ScanFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when a finding is at or over this severity (info: any finding).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    fail_on: Option<Severity>,
    /// Also list VEX-suppressed findings in text output.
    #[arg(long)]
    show_suppressed: bool,
}

/// The vulnerability options shared by `image scan` and `scan --images`.
#[derive(Args, Debug, Clone)]
pub struct VulnArgs {
    /// Vulnerability database [default: $PALISADE_DB, else vuln.db in the cache directory].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Do not match vulnerabilities (packages and hardening only).
    #[arg(long, conflicts_with = "db")]
    pub skip_db: bool,
    /// Warn when the database is older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub max_db_age: u64,
    /// OpenVEX or CycloneDX VEX documents: statements mark findings not affected (kept,
    /// suppressed, with the reason). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Leave out vulnerabilities without a fix.
    #[arg(long)]
    pub ignore_unfixed: bool,
}

/// `scan --images`: where the workloads' images are read from, and the vulnerability options.
#[derive(Args, Debug, Clone)]
pub struct WorkloadImageArgs {
    /// Read images from these OCI layout directories (or directories of them) when their index
    /// names the workload's image (`org.opencontainers.image.ref.name`), instead of pulling.
    #[arg(long, value_name = "DIR")]
    pub image_layout: Vec<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub vuln: VulnArgs,
}

/// `scan --images`: scans each distinct image of the workloads once and returns the findings
/// joined to the workloads and containers, and the images that could not be scanned.
pub fn scan_workload_images(
    objects: &[palisade_model::Object],
    a: &WorkloadImageArgs,
) -> (Vec<palisade_report::Finding>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let db = match open_db(&a.vuln) {
        Ok(d) => d,
        Err(e) => {
            diags.push(Diagnostic::new(Level::Error, "images", 0, format!("{e:#}")));
            None
        }
    };
    let vex = match load_vex(&a.vuln.vex) {
        Ok(v) => v,
        Err(e) => {
            diags.push(Diagnostic::new(Level::Error, "images", 0, format!("{e:#}")));
            Vec::new()
        }
    };
    // Kubernetes ignores HEALTHCHECK (probes do that job): IMG110 is not reported here.
    let opts = ScanOptions {
        harden: harden::Options {
            distroless: false,
            healthcheck: false,
            today: today(),
        },
        vex,
        ignore_unfixed: a.vuln.ignore_unfixed,
    };
    let src = a.source.options();
    let uses = palisade_image::workloads::image_uses(objects);
    let layouts = palisade_image::workloads::layout_index(&a.image_layout);
    let (findings, results, d) =
        palisade_image::workloads::scan_images(&uses, &layouts, |_, location| {
            let an = analyze(location, &src)?;
            report::scan(&an, db.as_ref(), &opts)
        });
    if let Some(dir) = &src.cache {
        for r in results.values() {
            if let Err(e) = palisade_image::results::save(dir, r, palisade_image::db::now()) {
                diags.push(Diagnostic::new(
                    Level::Warning,
                    "images",
                    0,
                    format!("image result cache not written: {e}"),
                ));
            }
        }
    }
    diags.extend(d);
    (findings, diags)
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SbomFormat {
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
    /// Palisade's package list (JSON).
    Json,
}

#[derive(Args, Debug)]
struct SbomArgs {
    #[arg(value_name = "IMAGE")]
    image: String,
    #[command(flatten)]
    source: SourceArgs,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "cyclonedx"
    )]
    output: SbomFormat,
    /// Write the SBOM to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Download advisories (OSV ecosystem archives, the Debian Security Tracker JSON, Alpine
    /// secdb files) and load them. Downloads resume where they stopped and are verified.
    Update(UpdateArgs),
    /// Load advisories from files or directories offline (OSV JSON or all.zip, Debian
    /// tracker JSON, Alpine secdb JSON).
    Import(ImportArgs),
    /// Show the database: advisories per ecosystem, sources, age.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
struct DbPath {
    /// Vulnerability database [default: $PALISADE_DB, else vuln.db in the cache directory].
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct UpdateArgs {
    #[command(flatten)]
    db: DbPath,
    /// URLs to download instead of the defaults (repeatable). An optional `#sha256=<hex>`
    /// suffix is checked.
    #[arg(long = "url", value_name = "URL")]
    urls: Vec<String>,
}

#[derive(Args, Debug)]
struct ImportArgs {
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    db: DbPath,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum StatusFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    db: DbPath,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: StatusFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

pub fn run(args: ImageArgs) -> Result<u8> {
    match args.command {
        ImageCommand::Scan(a) => scan(a),
        ImageCommand::Sbom(a) => sbom(a),
        ImageCommand::Db(d) => match d.command {
            DbCommand::Update(a) => update(a),
            DbCommand::Import(a) => import(a),
            DbCommand::Status(a) => status(a),
        },
    }
}

fn db_path(p: &Option<PathBuf>) -> Result<PathBuf> {
    p.clone()
        .or_else(Db::default_path)
        .context("no database path: give --db FILE or set PALISADE_DB")
}

/// Opens the database for a scan and warns (stderr) when it is older than `max_age_days`.
pub fn open_db(v: &VulnArgs) -> Result<Option<Db>> {
    if v.skip_db {
        return Ok(None);
    }
    let db = Db::open_readonly(&db_path(&v.db)?)?;
    match db.status()?.updated {
        Some(t) => {
            let age = palisade_image::db::now().saturating_sub(t) / 86_400;
            if age > v.max_db_age {
                eprintln!(
                    "palisade: warning: the vulnerability database {} is {age} days old (over --max-db-age {}): run `palisade image db update`",
                    db.path().display(),
                    v.max_db_age
                );
            }
        }
        None => eprintln!(
            "palisade: warning: the vulnerability database {} has no update time",
            db.path().display()
        ),
    }
    Ok(Some(db))
}

/// Reads the VEX documents.
pub fn load_vex(files: &[PathBuf]) -> Result<Vec<palisade_image::vex::Statement>> {
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        out.extend(
            palisade_image::vex::parse(&text, &f.display().to_string())
                .map_err(anyhow::Error::msg)?,
        );
    }
    Ok(out)
}

fn today() -> String {
    palisade_image::sbom::rfc3339(palisade_image::db::now())[..10].to_string()
}

/// Analyses one image from any source (registry references are pulled).
pub fn analyze(
    image: &str,
    o: &Options,
) -> Result<palisade_image::Analysis, palisade_image::Error> {
    palisade_image::analyze(image, o)
}

fn scan(a: ScanArgs) -> Result<u8> {
    let db = match open_db(&a.vuln) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            return Ok(EXIT_ERROR);
        }
    };
    let opts = ScanOptions {
        harden: harden::Options {
            distroless: a.distroless,
            healthcheck: true,
            today: today(),
        },
        vex: load_vex(&a.vuln.vex)?,
        ignore_unfixed: a.vuln.ignore_unfixed,
    };
    let src = a.source.options();
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        findings: Vec::new(),
        diagnostics: Vec::new(),
        rules: harden::rules(),
        files: 0,
        objects: 0,
    };
    let mut results: Vec<ImageResult> = Vec::new();
    for image in &a.images {
        report.files += 1;
        let r = analyze(image, &src).and_then(|an| report::scan(&an, db.as_ref(), &opts));
        match r {
            Ok(r) => {
                report.objects += 1;
                for w in &r.warnings {
                    report
                        .diagnostics
                        .push(Diagnostic::new(Level::Warning, image, 0, w.clone()));
                }
                report.findings.extend(report::findings(
                    &r,
                    &report::image_object(&r.reference),
                    image,
                    0,
                    "",
                ));
                if let Some(dir) = &src.cache {
                    if let Err(e) =
                        palisade_image::results::save(dir, &r, palisade_image::db::now())
                    {
                        eprintln!("palisade: warning: image result cache not written: {e}");
                    }
                }
                results.push(r);
            }
            Err(e) => {
                report
                    .diagnostics
                    .push(Diagnostic::new(Level::Error, image, 0, e.to_string()))
            }
        }
    }
    for d in &report.diagnostics {
        eprintln!("{d}");
    }
    report.sort();
    let text =
        match a.output {
            ScanFormat::Text => {
                let mut head = String::new();
                for r in &results {
                    head.push_str(&format!(
                    "{}: {} packages{}, {} vulnerabilities ({} with a fix), {} hardening issues\n",
                    r.reference,
                    r.packages,
                    r.os.as_deref().map(|o| format!(" on {o}")).unwrap_or_default(),
                    r.vulns.len(),
                    r.vulns.iter().filter(|v| v.fixed.is_some()).count(),
                    r.issues.len()
                ));
                }
                let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
                    && a.output_file.is_none();
                head + "\n"
                    + &palisade_report::human::render(
                        &report,
                        palisade_report::human::HumanOptions {
                            color,
                            show_suppressed: a.show_suppressed,
                        },
                    )
            }
            ScanFormat::Json => palisade_report::json::render(&report),
            ScanFormat::Sarif => palisade_report::sarif::render(&report),
            ScanFormat::Junit => palisade_report::junit::render(&report),
        };
    crate::write_output(&text, a.output_file.as_deref())?;
    Ok(exit_code(&report, a.fail_on))
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

fn sbom(a: SbomArgs) -> Result<u8> {
    let an = match analyze(&a.image, &a.source.options()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    for w in &an.warnings {
        eprintln!(
            "{}",
            Diagnostic::new(Level::Warning, &a.image, 0, w.clone())
        );
    }
    let now = palisade_image::db::now();
    let v = match a.output {
        SbomFormat::Cyclonedx => palisade_image::sbom::cyclonedx(&an, now),
        SbomFormat::Spdx => palisade_image::sbom::spdx(&an, now),
        SbomFormat::Json => serde_json::json!({
            "image": an.reference,
            "manifestDigest": an.manifest_digest,
            "os": an.os,
            "layers": an.layers.iter().map(|l| serde_json::json!({"digest": l.digest, "cached": l.cached})).collect::<Vec<_>>(),
            "packages": an.packages,
        }),
    };
    crate::write_output(
        &(serde_json::to_string_pretty(&v)? + "\n"),
        a.output_file.as_deref(),
    )?;
    Ok(if an.warnings.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    })
}

fn import(a: ImportArgs) -> Result<u8> {
    let path = db_path(&a.db.db)?;
    let mut db = Db::open(&path)?;
    let mut code = EXIT_CLEAN;
    for f in &a.files {
        let st = db.import_path(f)?;
        for e in &st.errors {
            eprintln!("palisade: error: {e}");
            code = EXIT_ERROR;
        }
        eprintln!(
            "palisade: imported {} advisories from {}",
            st.records,
            f.display()
        );
        db.touch(&format!("import:{}", f.display()))?;
    }
    Ok(code)
}

fn status(a: StatusArgs) -> Result<u8> {
    let path = db_path(&a.db.db)?;
    let db = match Db::open_readonly(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let st = db.status()?;
    let now = palisade_image::db::now();
    let text = match a.output {
        StatusFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "path": st.path,
                "advisories": st.advisories,
                "packages": st.packages,
                "ecosystems": st.ecosystems.iter().map(|(e, n)| serde_json::json!({"ecosystem": e, "advisories": n})).collect::<Vec<_>>(),
                "updated": st.updated.map(palisade_image::sbom::rfc3339),
                "ageSeconds": st.updated.map(|u| now.saturating_sub(u)),
                "sources": st.sources,
            }))? + "\n"
        }
        StatusFormat::Text => {
            let mut s = format!(
                "database: {}\nadvisories: {}\npackages: {}\n",
                st.path.display(),
                st.advisories,
                st.packages
            );
            match st.updated {
                Some(u) => s.push_str(&format!(
                    "updated: {} ({} days ago)\n",
                    palisade_image::sbom::rfc3339(u),
                    now.saturating_sub(u) / 86_400
                )),
                None => s.push_str("updated: never\n"),
            }
            for src in &st.sources {
                s.push_str(&format!("source: {src}\n"));
            }
            for (e, n) in &st.ecosystems {
                s.push_str(&format!("  {e}: {n}\n"));
            }
            s
        }
    };
    crate::write_output(&text, a.output_file.as_deref())?;
    Ok(EXIT_CLEAN)
}

fn update(a: UpdateArgs) -> Result<u8> {
    let path = db_path(&a.db.db)?;
    let urls = if a.urls.is_empty() {
        palisade_image::update::default_urls()
    } else {
        a.urls.clone()
    };
    let dir = path.with_extension("downloads");
    let mut db = Db::open(&path)?;
    let mut code = EXIT_CLEAN;
    for u in &urls {
        match palisade_image::update::download(u, &dir) {
            Ok(file) => {
                let st = db.import_path(&file)?;
                for e in &st.errors {
                    eprintln!("palisade: error: {e}");
                    code = EXIT_ERROR;
                }
                eprintln!("palisade: {u}: {} advisories", st.records);
                db.touch(u)?;
            }
            Err(e) => {
                eprintln!("palisade: error: {e}");
                code = EXIT_ERROR;
            }
        }
    }
    Ok(code)
}
