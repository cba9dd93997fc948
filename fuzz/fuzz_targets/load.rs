//! The loader must never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(data, Source::Stdin, &LoadOptions::default());
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
});
