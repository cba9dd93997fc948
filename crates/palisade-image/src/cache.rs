//! The layer cache: one JSON file of [`LayerFacts`] per layer digest, written atomically
//! (temporary file, then rename) and only after the layer's digest was verified. An entry of
//! an older analyzer version, or one that does not parse, is a miss.

use crate::model::{LayerFacts, ANALYZER_VERSION};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
}

impl Cache {
    pub fn new(dir: Option<PathBuf>) -> Cache {
        Cache { dir }
    }

    /// `$PALISADE_CACHE_DIR`, else `$XDG_CACHE_HOME/palisade`, else `~/.cache/palisade`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("PALISADE_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(Path::new(&d).join("palisade"));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/palisade"))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        Some(
            self.dir
                .as_ref()?
                .join("layers")
                .join("sha256")
                .join(format!("{hex}.json")),
        )
    }

    pub fn get(&self, digest: &str) -> Option<LayerFacts> {
        let p = self.path(digest)?;
        let b = std::fs::read(p).ok()?;
        let f: LayerFacts = serde_json::from_slice(&b).ok()?;
        (f.analyzer == ANALYZER_VERSION && f.digest == digest).then_some(f)
    }

    pub fn contains(&self, digest: &str) -> bool {
        self.get(digest).is_some()
    }

    /// Stores verified facts. A cache that cannot be written is not an error for the scan; the
    /// reason is returned for a warning.
    pub fn put(&self, f: &LayerFacts) -> Result<(), String> {
        let Some(p) = self.path(&f.digest) else {
            return Ok(());
        };
        let dir = p.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        let body = serde_json::to_vec(f).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &p).map_err(|e| format!("{}: {e}", p.display()))
    }
}
