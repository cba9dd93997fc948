//! The one scan pipeline: objects in, findings out.
//!
//! `palisade scan`, the controller (`palisade controller`) and the admission webhook's check
//! units all build a [`Scanner`] from one [`ScanConfig`] and call [`Scanner::scan`]. The
//! pipeline is: the check engine (palisade-checks, profile, selection, PSS version, severity
//! overrides, exemptions), the user's policies (`--policy`: ValidatingAdmissionPolicies and
//! Gatekeeper templates through palisade-policy), then every [`FindingSource`]: the RBAC
//! risks and the network policy lint (profile `all`) and whatever a caller plugs in with
//! [`Scanner::with_sources`] (the place for extra finding sources such as image findings).
//!
//! No I/O except reading the policy files named in the configuration, once, in
//! [`Scanner::new`]. Loading manifests or a cluster is the caller's (the binary's
//! `load_inputs`, the controller's reflectors).

pub mod netpol;
pub mod rbac;
pub mod select;

use palisade_checks::engine::{EngineError, EngineOptions, ScanResult};
use palisade_checks::Category;
use palisade_checks::{CheckSettings, Config, Engine, Exemption, Profile, PssVersion, Severity};
use palisade_model::{Diagnostic, Level, LoadOptions, Loaded, Object};
use palisade_report::policyreport::Subject;
use palisade_report::{Finding, ObjectId, Report, RuleInfo};
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use select::Selection;

/// Everything that decides what a scan reports: the one configuration type of the pipeline.
#[derive(Clone, Debug, Default)]
pub struct ScanConfig {
    pub profile: Profile,
    /// When non-empty, only these rules run (IDs, names or `PREFIX*`, of any source).
    pub checks: Vec<String>,
    pub skip: Vec<String>,
    pub pss_version: Option<PssVersion>,
    pub severity_overrides: Vec<(String, Severity)>,
    pub settings: CheckSettings,
    pub exemptions: Vec<Exemption>,
    /// Policy files and directories (ValidatingAdmissionPolicy, Gatekeeper) evaluated
    /// against every object.
    pub policies: Vec<PathBuf>,
    pub template_engine: palisade_policy::TemplateEngine,
    /// Largest policy file read (bytes); 0 = the loader's default.
    pub max_file_bytes: u64,
}

impl ScanConfig {
    /// The settings of a configuration file (`.palisade.yaml`); callers then apply their
    /// command-line overrides.
    pub fn from_file(cfg: &Config) -> ScanConfig {
        ScanConfig {
            profile: cfg.profile.unwrap_or_default(),
            checks: cfg.checks.clone(),
            skip: cfg.skip.clone(),
            pss_version: cfg.pss_version,
            severity_overrides: cfg.severity.clone(),
            settings: CheckSettings {
                allowed_registries: cfg.registries.clone(),
            },
            exemptions: cfg.exemptions.clone(),
            ..ScanConfig::default()
        }
    }
}

/// The configuration names a rule no source knows, and the like: a usage error.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What one source found.
#[derive(Debug, Default)]
pub struct SourceOutput {
    pub findings: Vec<Finding>,
    /// The rules that ran (for renderers' rule tables).
    pub rules: Vec<RuleInfo>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A producer of findings beyond the check registry and the policies: the RBAC risks, the
/// network policy lint, and the sources callers add (image findings, for instance).
pub trait FindingSource: Send + Sync {
    /// A short name for phase times and logs (`rbac`, `netpol`).
    fn name(&self) -> &'static str;
    /// Does a `--checks`/`--skip` pattern name one of this source's rules? Patterns no
    /// registry check matches but a source claims go to the sources, not the check engine.
    fn claims(&self, pattern: &str) -> bool;
    /// Does the source run under this profile? (The built-in ones: only `all`.)
    fn runs_in(&self, profile: Profile) -> bool {
        profile == Profile::All
    }
    /// The findings over the scanned set, restricted to the selected rules.
    fn scan(&self, objects: &[Object], selection: &Selection) -> SourceOutput;
}

/// The subject-level RBAC risks (RBAC002…).
pub struct RbacSource;

impl FindingSource for RbacSource {
    fn name(&self) -> &'static str {
        "rbac"
    }
    fn claims(&self, pattern: &str) -> bool {
        rbac::is_risk_pattern(pattern)
    }
    fn scan(&self, objects: &[Object], selection: &Selection) -> SourceOutput {
        let (findings, rules) = rbac::scan_findings(objects, selection);
        SourceOutput {
            findings,
            rules,
            diagnostics: Vec::new(),
        }
    }
}

/// The network policy lint (NP001…).
pub struct NetpolSource;

impl FindingSource for NetpolSource {
    fn name(&self) -> &'static str {
        "netpol"
    }
    fn claims(&self, pattern: &str) -> bool {
        netpol::is_lint_pattern(pattern)
    }
    fn scan(&self, objects: &[Object], selection: &Selection) -> SourceOutput {
        let (findings, rules) = netpol::scan_findings(objects, selection);
        SourceOutput {
            findings,
            rules,
            diagnostics: Vec::new(),
        }
    }
}

/// Which parts of the pipeline a scan runs. The controller re-runs only the parts a change
/// affects (a RoleBinding: the `rbac` source; a NetworkPolicy: `netpol`); the CLI runs all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parts {
    All,
    /// The check engine and the policies.
    Checks,
    /// One finding source, by [`FindingSource::name`].
    Source(&'static str),
}

/// Time spent per phase of one scan.
#[derive(Clone, Debug, Default)]
pub struct Phases {
    pub checks: Duration,
    pub policy: Duration,
    /// Per source, in run order.
    pub sources: Vec<(&'static str, Duration)>,
}

impl Phases {
    pub fn source(&self, name: &str) -> Duration {
        self.sources
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .sum()
    }
}

/// The result of one scan.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleInfo>,
    pub diagnostics: Vec<Diagnostic>,
    /// Objects checked (objects owned by another scanned object are checked through it).
    pub objects: usize,
    pub phases: Phases,
}

/// A compiled pipeline: build once, scan many times (and from many threads).
pub struct Scanner {
    profile: Profile,
    engine: Engine,
    engine_selects_nothing: bool,
    selection: Selection,
    policies: Option<palisade_policy::PolicySet>,
    load_diagnostics: Vec<Diagnostic>,
    sources: Vec<Box<dyn FindingSource>>,
}

impl Scanner {
    /// The pipeline with the built-in sources (RBAC risks, netpol lint).
    pub fn new(cfg: &ScanConfig) -> Result<Scanner, ScanError> {
        Scanner::with_sources(cfg, Vec::new())
    }

    /// The pipeline with the built-in sources followed by `extra`.
    pub fn with_sources(
        cfg: &ScanConfig,
        extra: Vec<Box<dyn FindingSource>>,
    ) -> Result<Scanner, ScanError> {
        let mut sources: Vec<Box<dyn FindingSource>> =
            vec![Box::new(RbacSource), Box::new(NetpolSource)];
        sources.extend(extra);
        // A pattern no registry check matches but a source claims is the sources'.
        let for_sources = |p: &String| {
            palisade_checks::engine::resolve(p).is_err() && sources.iter().any(|s| s.claims(p))
        };
        let only_sources: Vec<String> = cfg
            .checks
            .iter()
            .filter(|p| for_sources(p))
            .cloned()
            .collect();
        let skip_sources: Vec<String> = cfg
            .skip
            .iter()
            .filter(|p| for_sources(p))
            .cloned()
            .collect();
        let engine_selects_nothing = !cfg.checks.is_empty() && cfg.checks.iter().all(for_sources);
        let only: Vec<String> = cfg
            .checks
            .iter()
            .filter(|p| !for_sources(p))
            .cloned()
            .collect();
        let skip: Vec<String> = cfg
            .skip
            .iter()
            .filter(|p| !for_sources(p))
            .cloned()
            .collect();
        let selection = Selection {
            // Only registry checks were asked for: no source rules.
            only: if only_sources.is_empty() && !only.is_empty() {
                vec![Selection::NOTHING.to_string()]
            } else {
                only_sources
            },
            skip: skip_sources,
        };
        let engine = Engine::new(EngineOptions {
            profile: cfg.profile,
            only,
            skip,
            pss_version: cfg.pss_version,
            severity_overrides: cfg.severity_overrides.clone(),
            settings: cfg.settings.clone(),
            exemptions: cfg.exemptions.clone(),
        })?;
        let mut load_diagnostics = Vec::new();
        let policies = (!cfg.policies.is_empty()).then(|| {
            let mut load_opts = LoadOptions::default();
            if cfg.max_file_bytes > 0 {
                load_opts.max_file_bytes = cfg.max_file_bytes;
            }
            let files = palisade_model::load_paths(&cfg.policies, &load_opts);
            load_diagnostics.extend(files.diagnostics);
            let set = palisade_policy::PolicySet::from_objects(
                &files.objects,
                &palisade_policy::LoadOptions {
                    template_engine: cfg.template_engine,
                },
            );
            load_diagnostics.extend(set.diagnostics.iter().cloned());
            if set.is_empty() {
                load_diagnostics.push(Diagnostic::new(
                    Level::Error,
                    cfg.policies
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    0,
                    "--policy: no ValidatingAdmissionPolicy or Gatekeeper ConstraintTemplate found",
                ));
            }
            set
        });
        Ok(Scanner {
            profile: cfg.profile,
            engine,
            engine_selects_nothing,
            selection,
            policies,
            load_diagnostics,
            sources,
        })
    }

    /// Diagnostics of building the pipeline (policy files that did not load), reported once.
    pub fn load_diagnostics(&self) -> &[Diagnostic] {
        &self.load_diagnostics
    }

    /// The check engine (its selected checks and severities).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The finding sources, built-in first.
    pub fn sources(&self) -> impl Iterator<Item = &dyn FindingSource> {
        self.sources.iter().map(|s| s.as_ref())
    }

    /// Runs the whole pipeline over `objects`.
    pub fn scan(&self, objects: &[Object]) -> ScanOutput {
        self.scan_parts(objects, &Parts::All)
    }

    /// Runs the chosen parts of the pipeline over `objects`.
    pub fn scan_parts(&self, objects: &[Object], parts: &Parts) -> ScanOutput {
        let mut out = ScanOutput::default();
        let checks = matches!(parts, Parts::All | Parts::Checks);
        let started = Instant::now();
        let result = if checks && !self.engine_selects_nothing {
            self.engine.run(objects)
        } else {
            ScanResult {
                objects: objects.len(),
                ..Default::default()
            }
        };
        out.objects = result.objects;
        out.findings = result.findings;
        out.diagnostics = result.diagnostics;
        if checks {
            out.rules = self.engine.rules();
        }
        let checked = Instant::now();
        out.phases.checks = checked - started;
        if let (true, Some(set)) = (checks, &self.policies) {
            let scanned = palisade_policy::scan::scan_objects(set, objects);
            tracing::info!(
                policies = set.len(),
                evaluations = scanned.evaluations,
                findings = scanned.findings.len(),
                "policies evaluated"
            );
            out.findings.extend(scanned.findings);
            out.diagnostics.extend(scanned.diagnostics);
            out.rules.extend(scanned.rules);
        }
        out.phases.policy = checked.elapsed();
        for source in &self.sources {
            let wanted = match parts {
                Parts::All => true,
                Parts::Checks => false,
                Parts::Source(name) => *name == source.name(),
            };
            if !wanted || !source.runs_in(self.profile) {
                continue;
            }
            let t = Instant::now();
            let found = source.scan(objects, &self.selection);
            out.findings.extend(found.findings);
            out.rules.extend(found.rules);
            out.diagnostics.extend(found.diagnostics);
            out.phases.sources.push((source.name(), t.elapsed()));
        }
        out
    }

    /// The objects a scan judges, for per-object reports (PolicyReports): every object not
    /// owned by another object of the set (an owned Pod or ReplicaSet is judged through its
    /// controller), with its UID and the rules that judged it, so that a rule without a
    /// finding on it is a pass. For pod-bearing objects those are the selected checks of the
    /// pod categories (Pod Security Standards, workload hardening, images); other objects
    /// list no passes (their checks, the RBAC risks and the lint judge across objects).
    pub fn subjects(&self, objects: &[Object]) -> Vec<Subject> {
        let uids: HashSet<&str> = objects.iter().filter_map(Object::uid).collect();
        let pod_checks: BTreeSet<String> = self
            .engine
            .checks()
            .iter()
            .filter(|c| {
                matches!(
                    c.meta().category,
                    Category::PodSecurity | Category::Workload | Category::Image
                )
            })
            .map(|c| c.meta().id.to_string())
            .collect();
        objects
            .iter()
            .filter(|o| !o.controller_uid().is_some_and(|u| uids.contains(u)))
            .map(|o| Subject {
                object: ObjectId::from_object(o),
                source: o.source.display(),
                uid: o.uid().map(str::to_string),
                evaluated: if o.pod().is_some() && !self.engine_selects_nothing {
                    pod_checks.clone()
                } else {
                    BTreeSet::new()
                },
            })
            .collect()
    }

    /// Scans loaded input and assembles the sorted report every renderer takes: the
    /// loader's diagnostics, then the pipeline's load diagnostics, then the scan's.
    pub fn report(&self, loaded: Loaded) -> (Report, Phases) {
        let out = self.scan(&loaded.objects);
        let mut report = Report {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            findings: out.findings,
            diagnostics: loaded.diagnostics,
            rules: out.rules,
            files: loaded.files,
            objects: out.objects,
        };
        report
            .diagnostics
            .extend(self.load_diagnostics.iter().cloned());
        report.diagnostics.extend(out.diagnostics);
        report.sort();
        (report, out.phases)
    }
}
