//! Loading plus every check plus every renderer must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_checks::{Engine, EngineOptions};
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_report::{human, json, junit, sarif, Report};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(data, Source::File("fuzz.yaml".into()), &LoadOptions::default());
    let engine = Engine::new(EngineOptions::default()).unwrap();
    let result = engine.run(&loaded.objects);
    let report = Report {
        tool_version: "fuzz".into(),
        findings: result.findings,
        diagnostics: loaded.diagnostics,
        rules: engine.rules(),
        files: 1,
        objects: result.objects,
    };
    let _ = human::render(&report, human::HumanOptions::default());
    let _ = json::render(&report);
    let _ = sarif::render(&report);
    let _ = junit::render(&report);
});
