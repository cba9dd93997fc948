//! Runs the enabled checks over a set of objects, once per workload, and applies severity
//! overrides, exemptions and `palisade.dev/ignore` annotations. Suppressed findings are kept,
//! marked, never dropped.

use crate::config::Exemption;
use crate::context::{Check, CheckSettings, Context, Emitter, Inventory, PssVersion};
use crate::meta::PssLevel;
use crate::registry;
use palisade_model::{Diagnostic, Level, Object};
use palisade_report::{Finding, RuleInfo, Severity, SuppressedBy, Suppression};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The annotation that suppresses checks on one object: `"PAL105,privileged"`.
pub const IGNORE_ANNOTATION: &str = "palisade.dev/ignore";
/// Why the checks are suppressed; recorded with each suppressed finding.
pub const IGNORE_REASON_ANNOTATION: &str = "palisade.dev/ignore-reason";

/// A named selection of checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// Pod Security Standards, baseline level.
    PssBaseline,
    /// Pod Security Standards, baseline and restricted levels.
    PssRestricted,
    /// Every check.
    #[default]
    All,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "pss-baseline" | "baseline" => Some(Profile::PssBaseline),
            "pss-restricted" | "restricted" => Some(Profile::PssRestricted),
            "all" => Some(Profile::All),
            _ => None,
        }
    }

    pub fn includes(self, c: &dyn Check) -> bool {
        let m = c.meta();
        match self {
            Profile::All => true,
            Profile::PssRestricted => m.pss.is_some(),
            Profile::PssBaseline => m.pss.is_some_and(|p| p.level == PssLevel::Baseline),
        }
    }
}

/// Errors in the engine's configuration (unknown check IDs and the like): usage errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("unknown check {0:?} (see `palisade checks`)")]
    UnknownCheck(String),
}

/// Everything that decides which checks run and how.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    pub profile: Profile,
    /// When non-empty, only these checks run (IDs, names, or `PREFIX*` patterns).
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub pss_version: Option<PssVersion>,
    pub severity_overrides: Vec<(String, Severity)>,
    pub settings: CheckSettings,
    pub exemptions: Vec<Exemption>,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// Objects checked (objects owned by another scanned object are checked through it).
    pub objects: usize,
}

/// The findings and diagnostics of one object.
type ObjectResult = (Vec<Finding>, Vec<Diagnostic>);

/// A configured set of checks, ready to run.
pub struct Engine {
    checks: Vec<&'static dyn Check>,
    severity: HashMap<&'static str, Severity>,
    pss_version: PssVersion,
    settings: CheckSettings,
    exemptions: Vec<Exemption>,
}

/// Resolves a user's check reference (ID, name or `PREFIX*`) to checks.
pub fn resolve(key: &str) -> Result<Vec<&'static dyn Check>, EngineError> {
    let key = key.trim();
    if let Some(prefix) = key.strip_suffix('*') {
        let found: Vec<_> = registry::all()
            .iter()
            .copied()
            .filter(|c| {
                c.meta()
                    .id
                    .to_ascii_uppercase()
                    .starts_with(&prefix.to_ascii_uppercase())
                    || c.meta().name.starts_with(prefix)
            })
            .collect();
        if found.is_empty() {
            return Err(EngineError::UnknownCheck(key.to_string()));
        }
        return Ok(found);
    }
    registry::find(key)
        .map(|c| vec![c])
        .ok_or_else(|| EngineError::UnknownCheck(key.to_string()))
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Result<Engine, EngineError> {
        let pss_version = opts.pss_version.unwrap_or(PssVersion::LATEST);
        let mut selected: BTreeSet<&'static str> = BTreeSet::new();
        if opts.only.is_empty() {
            for c in registry::all() {
                if opts.profile.includes(*c) {
                    selected.insert(c.meta().id);
                }
            }
        } else {
            for k in &opts.only {
                for c in resolve(k)? {
                    selected.insert(c.meta().id);
                }
            }
        }
        for k in &opts.skip {
            for c in resolve(k)? {
                selected.remove(c.meta().id);
            }
        }
        let mut severity = HashMap::new();
        for (k, s) in &opts.severity_overrides {
            for c in resolve(k)? {
                severity.insert(c.meta().id, *s);
            }
        }
        // Pod Security Standards: controls not yet in the chosen version are inactive, and an
        // active restricted control replaces the baseline controls it overrides (as upstream).
        let active = |c: &&'static dyn Check| c.meta().pss.is_none_or(|p| p.since <= pss_version.0);
        let chosen: Vec<&'static dyn Check> = registry::all()
            .iter()
            .copied()
            .filter(|c| selected.contains(c.meta().id))
            .filter(active)
            .collect();
        let overridden: HashSet<&str> = chosen
            .iter()
            .filter_map(|c| c.meta().pss)
            .flat_map(|p| p.overrides.iter().copied())
            .collect();
        let checks = chosen
            .into_iter()
            .filter(|c| c.meta().pss.is_none_or(|p| !overridden.contains(p.control)))
            .collect();
        Ok(Engine {
            checks,
            severity,
            pss_version,
            settings: opts.settings,
            exemptions: opts.exemptions,
        })
    }

    /// The checks that will run, in ID order.
    pub fn checks(&self) -> &[&'static dyn Check] {
        &self.checks
    }

    pub fn severity_of(&self, c: &dyn Check) -> Severity {
        self.severity
            .get(c.meta().id)
            .copied()
            .unwrap_or(c.meta().severity)
    }

    /// Rule descriptions for renderers.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.checks
            .iter()
            .map(|c| c.meta().rule_info(self.severity_of(*c)))
            .collect()
    }

    /// Runs every enabled check over `objects`, on all available cores. The result is
    /// deterministic: findings come out in object order, then check order.
    pub fn run(&self, objects: &[Object]) -> ScanResult {
        let inventory = Inventory::new(objects);
        let cx = Context {
            inventory: &inventory,
            settings: &self.settings,
            pss_version: self.pss_version,
        };
        let uids: HashSet<&str> = objects.iter().filter_map(Object::uid).collect();
        // A Pod owned by a ReplicaSet owned by a Deployment is checked once, through the
        // Deployment.
        let todo: Vec<&Object> = objects
            .iter()
            .filter(|o| !o.controller_uid().is_some_and(|u| uids.contains(u)))
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
            .min(todo.len() / 64 + 1);
        let per_object: Vec<ObjectResult> = if threads <= 1 {
            todo.iter().map(|o| self.check_object(&cx, o)).collect()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let mut done: Vec<(usize, ObjectResult)> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        s.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(o) = todo.get(i) else { break };
                                mine.push((i, self.check_object(&cx, o)));
                            }
                            mine
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().expect("a check panicked"))
                    .collect()
            });
            done.sort_by_key(|(i, _)| *i);
            done.into_iter().map(|(_, r)| r).collect()
        };
        let mut result = ScanResult {
            objects: todo.len(),
            ..ScanResult::default()
        };
        for (findings, diagnostics) in per_object {
            result.findings.extend(findings);
            result.diagnostics.extend(diagnostics);
        }
        result
    }

    fn check_object(&self, cx: &Context<'_>, obj: &Object) -> ObjectResult {
        let mut diagnostics = Vec::new();
        let mut findings = Vec::new();
        let ignored = self.ignored_checks(obj, &mut diagnostics);
        let reason = obj.annotation(IGNORE_REASON_ANNOTATION).map(str::to_string);
        for check in &self.checks {
            let meta = check.meta();
            let mut em = Emitter::new(obj, meta, self.severity_of(*check));
            check.check(cx, obj, &mut em);
            for mut f in em.into_findings() {
                if ignored.contains(meta.id) {
                    f.suppressed = Some(Suppression {
                        by: SuppressedBy::Annotation,
                        reason: reason.clone(),
                    });
                } else if let Some(ex) = self.exemptions.iter().find(|e| e.matches(meta, obj)) {
                    f.suppressed = Some(Suppression {
                        by: SuppressedBy::Config,
                        reason: ex.reason.clone(),
                    });
                }
                findings.push(f);
            }
        }
        (findings, diagnostics)
    }

    fn ignored_checks(&self, obj: &Object, diags: &mut Vec<Diagnostic>) -> HashSet<&'static str> {
        let mut set = HashSet::new();
        let Some(value) = obj.annotation(IGNORE_ANNOTATION) else {
            return set;
        };
        for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if key == "all" || key == "*" {
                set.extend(registry::all().iter().map(|c| c.meta().id));
                continue;
            }
            // `vap/…` and `gatekeeper/…` name policy findings (palisade-policy honours them).
            if key.contains('/') {
                continue;
            }
            match resolve(key) {
                Ok(cs) => set.extend(cs.iter().map(|c| c.meta().id)),
                Err(_) => diags.push(Diagnostic::new(
                    Level::Warning,
                    obj.source.display(),
                    obj.root
                        .locate(&["metadata", "annotations", IGNORE_ANNOTATION])
                        .line,
                    format!(
                        "{}: {IGNORE_ANNOTATION} names unknown check {key:?}; it suppresses nothing",
                        obj.display_name()
                    ),
                )),
            }
        }
        set
    }
}
