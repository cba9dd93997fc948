//! Shared by the integration tests: loading a fixture into a snapshot.

use palisade_model::{load_paths, LoadOptions};
use palisade_rbac::{bootstrap, BuildOptions, Rbac};
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn snapshot(name: &str) -> Rbac {
    let loaded = load_paths(&[fixture(name)], &LoadOptions::default());
    assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
    Rbac::build(
        &loaded.objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    )
}
