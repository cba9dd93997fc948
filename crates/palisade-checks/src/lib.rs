//! The built-in check catalog: Pod Security Standards (every control, versioned like
//! upstream) and the Palisade hardening checks, with the engine that runs them, applies
//! configuration, and records suppressions.
//!
//! Layout: one file per check under `pss/` and `hardening/<category>/`; each check's doc
//! comment is its user documentation (see `declare_check!`), and `registry::all()` lists them.
//! Invariant: checks never do I/O; the engine is deterministic for a given input.

pub mod config;
pub mod context;
pub mod docs;
pub mod engine;
pub mod hardening;
pub mod meta;
pub mod pss;
pub mod registry;
pub mod util;

#[cfg(test)]
pub(crate) mod testing;

pub use config::{Config, ConfigError, Exemption};
pub use context::{Check, CheckSettings, Context, Emitter, Inventory, PssVersion};
pub use engine::{Engine, EngineError, EngineOptions, Profile, ScanResult};
pub use meta::{CatalogEntry, Category, CheckMeta, PssControl, PssLevel};
pub use palisade_report::Severity;
pub use registry::Catalog;
