//! The image result cache: what `image scan` and `scan --images` found per image reference,
//! kept for admission, which never pulls (`<cache>/images/<sha256 of reference>.json`).
//! Written atomically; an unreadable entry is "not scanned".

use crate::matcher::Vuln;
use crate::report::ImageResult;
use palisade_report::Severity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedVuln {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub package: String,
    pub installed: String,
    #[serde(default)]
    pub fixed: Option<String>,
    pub severity: String,
}

impl CachedVuln {
    pub fn severity(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or(Severity::Medium)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cached {
    pub reference: String,
    /// Seconds since the epoch.
    pub scanned: u64,
    pub vulns: Vec<CachedVuln>,
}

fn path(dir: &Path, reference: &str) -> PathBuf {
    dir.join("images").join(format!(
        "{}.json",
        crate::Digest::of(reference.as_bytes()).hex()
    ))
}

fn cached(v: &Vuln) -> CachedVuln {
    CachedVuln {
        id: v.id.clone(),
        aliases: v.aliases.clone(),
        package: v.package.name.clone(),
        installed: v.installed.clone(),
        fixed: v.fixed.clone(),
        severity: v.severity.as_str().to_string(),
    }
}

/// Stores a result (VEX is applied at admission time, so every match is kept).
pub fn save(dir: &Path, r: &ImageResult, now: u64) -> Result<(), String> {
    let c = Cached {
        reference: r.reference.clone(),
        scanned: now,
        vulns: r.vulns.iter().map(cached).collect(),
    };
    let p = path(dir, &r.reference);
    let parent = p.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let tmp = p.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(&c).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &p).map_err(|e| format!("{}: {e}", p.display()))
}

pub fn load(dir: &Path, reference: &str) -> Option<Cached> {
    let b = std::fs::read(path(dir, reference)).ok()?;
    serde_json::from_slice::<Cached>(&b)
        .ok()
        .filter(|c| c.reference == reference)
}
