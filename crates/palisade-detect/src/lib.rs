//! Palisade's Falco-compatible threat detection: the Falco rule language (rule files, the
//! condition grammar, macros, lists, exceptions, appends and overrides), compiled once and
//! evaluated per event; event sources as field extractors (`k8s_audit`: Kubernetes audit
//! Events; `syscall`: Palisade's JSON syscall events and Tetragon's export); alerts in
//! Falco's `json_output` shape.

pub mod compile;
pub mod defaults;
pub mod engine;
pub mod eval;
pub mod fields;
pub mod k8saudit;
pub mod parse;
pub mod rules;
pub mod time;

pub use engine::{Alert, Engine};
pub use rules::{Priority, RuleSet};
pub mod input;
pub mod output;
pub mod server;
pub mod syscall;
