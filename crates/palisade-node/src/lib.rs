//! Palisade's node checks: the CIS Kubernetes Benchmark (v1.10 and v1.12) for nodes and the
//! control plane, read from the node itself or a mounted root (processes in `/proc`, flags
//! over config files over defaults, file modes and owners), a runner for kube-bench check
//! files, and analyses kube-bench does not do: audit policy, EncryptionConfiguration, CoreDNS
//! Corefile, cloud metadata reachability and Kubernetes end of life.
//!
//! - [`root`]: the node filesystem under a root directory (the only reader here).
//! - [`flags`]: command lines and pflag-style flags.
//! - [`component`]: profiles, discovery, effective settings.
//! - [`catalog`]: the CIS controls, as data with their documentation.
//! - [`eval`]: the run: one result per control, and the analyses' findings.
//! - [`report`]: results to a `palisade_report::Report` and the kube-bench-like text.
//! - [`kubebench`]: kube-bench `cfg/` check files.

pub mod analysis;
pub mod audit_policy;
pub mod catalog;
pub mod component;
pub mod corefile;
pub mod encryption;
pub mod eol;
pub mod eval;
pub mod flags;
pub mod kubebench;
pub mod metadata;
pub mod report;
pub mod root;
#[doc(hidden)]
pub mod testing;

pub use catalog::{Benchmark, CisCheck, CATALOG};
pub use component::Profile;
pub use eval::{run, CheckResult, NodeRun, Options, Status};
pub use root::Root;

/// Every check this crate contributes to the check registry (`palisade checks`, `checks
/// explain`, docs/checks.md): the CIS controls and the analyses' rules, sorted by ID.
pub fn catalog() -> Vec<palisade_report::RuleInfo> {
    let mut v = catalog::catalog();
    v.extend(analysis::rule_infos());
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}
