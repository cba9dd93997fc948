#![allow(dead_code)]
use palisade_model::{load_bytes, load_paths, LoadOptions, Object, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn example(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/netpol"
    ))
    .join(name)
}

pub fn load(paths: &[PathBuf]) -> Vec<Object> {
    let l = load_paths(paths, &LoadOptions::default());
    assert_eq!(l.error_count(), 0, "{:?}", l.diagnostics);
    l.objects
}

pub fn yaml(text: &str) -> Vec<Object> {
    let l = load_bytes(text.as_bytes(), Source::Stdin, &LoadOptions::default());
    assert_eq!(l.error_count(), 0, "{:?}", l.diagnostics);
    l.objects
}

pub fn _unused(_: Arc<()>) {}
