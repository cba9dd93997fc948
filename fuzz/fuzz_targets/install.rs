//! `palisade install --values FILE`: any bytes as a values file never panic, and whatever
//! values parse render manifests that load back without an error (the YAML emitter quotes
//! every user string it writes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_controller::install::{render, InstallOptions, Values};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(values) = Values::parse(text, "values.yaml") else {
        return;
    };
    let Ok(out) = render(&InstallOptions {
        values,
        ..InstallOptions::default()
    }) else {
        return;
    };
    let loaded = palisade_model::load_bytes(
        out.as_bytes(),
        palisade_model::Source::File("install.yaml".into()),
        &palisade_model::LoadOptions::default(),
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.level != palisade_model::Level::Error),
        "{:?}",
        loaded.diagnostics
    );
});
