//! Test helpers: run one check over inline YAML.

use crate::context::{Check, CheckSettings, Context, Emitter, Inventory, PssVersion};
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_report::Finding;

/// Runs `check` over every object in `yaml` (all objects form the inventory) with default
/// settings at the latest PSS version.
pub fn run(check: &dyn Check, yaml: &str) -> Vec<Finding> {
    run_with(check, yaml, &CheckSettings::default(), PssVersion::LATEST)
}

/// Like [`run`], with settings and a PSS version.
pub fn run_with(
    check: &dyn Check,
    yaml: &str,
    settings: &CheckSettings,
    version: PssVersion,
) -> Vec<Finding> {
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("test.yaml".into()),
        &LoadOptions::default(),
    );
    assert!(
        loaded.error_count() == 0,
        "test YAML does not parse: {:?}",
        loaded.diagnostics
    );
    let inventory = Inventory::new(&loaded.objects);
    let cx = Context {
        inventory: &inventory,
        settings,
        pss_version: version,
    };
    let mut out = Vec::new();
    for o in &loaded.objects {
        let mut em = Emitter::new(o, check.meta(), check.meta().severity);
        check.check(&cx, o, &mut em);
        out.extend(em.into_findings());
    }
    out
}

/// The field paths of findings, for compact assertions.
pub fn paths(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.path.as_str()).collect()
}
