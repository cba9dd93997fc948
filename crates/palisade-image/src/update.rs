//! `db update`: resumable, verified downloads. A download goes to `<name>.part` and resumes
//! from its length with an HTTP `Range` request (a server that ignores it answers 200 and the
//! file starts over); it becomes `<name>` only when complete: the byte count matches the
//! announced length and, when the URL ends in `#sha256=<hex>`, the digest matches. Zip
//! archives are checked entry by entry (CRC-32) when imported.

use crate::{Digest, Error};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// OSV's per-ecosystem archives for the ecosystems the matcher reads, the Debian Security
/// Tracker, and Alpine's secdb for the supported releases.
pub fn default_urls() -> Vec<String> {
    let mut v: Vec<String> = [
        "Debian",
        "Ubuntu",
        "Alpine",
        "Rocky%20Linux",
        "AlmaLinux",
        "Wolfi",
        "Chainguard",
        "PyPI",
        "npm",
        "Go",
        "crates.io",
        "Maven",
    ]
    .iter()
    .map(|e| format!("https://osv-vulnerabilities.storage.googleapis.com/{e}/all.zip"))
    .collect();
    v.push("https://security-tracker.debian.org/tracker/data/json".into());
    for r in ["v3.20", "v3.21", "v3.22"] {
        for repo in ["main", "community"] {
            v.push(format!("https://secdb.alpinelinux.org/{r}/{repo}.json"));
        }
    }
    v
}

/// The local file name of a URL (its path, flattened), with `.json` for extension-less JSON.
pub fn file_name(url: &str) -> String {
    let u = url.split('#').next().unwrap_or(url);
    let path = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
    let mut s: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.ends_with(".zip") && !s.ends_with(".json") {
        s.push_str(".json");
    }
    s
}

/// Downloads `url` into `dir` (resuming a `.part` file) and returns the complete file.
pub fn download(url: &str, dir: &Path) -> Result<PathBuf, Error> {
    let (u, want) = match url.split_once("#sha256=") {
        Some((u, h)) => (
            u,
            Some(
                Digest::parse(&format!("sha256:{h}"))
                    .map_err(|e| Error::new(format!("{url}: {e}")))?,
            ),
        ),
        None => (url, None),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
    let name = file_name(url);
    let part = dir.join(format!("{name}.part"));
    let done = dir.join(&name);
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the network runtime: {e}")))?;
    crate::registry::install_ring();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::new(format!("{u}: {e}")))?;
        let mut req = client.get(u);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| Error::new(format!("{u}: {e}")))?;
        let status = resp.status();
        let resumed = status.as_u16() == 206;
        if status.as_u16() == 416 && have > 0 {
            // Already complete: the server has nothing after our length.
        } else if !status.is_success() {
            return Err(Error::new(format!("{u}: HTTP {status}")));
        }
        let total = if resumed {
            resp.headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|n| n.parse::<u64>().ok())
        } else {
            resp.content_length()
        };
        if status.as_u16() != 416 {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(resumed)
                .write(true)
                .truncate(!resumed)
                .open(&part)
                .map_err(|e| Error::new(format!("{}: {e}", part.display())))?;
            while let Some(chunk) = resp.chunk().await.map_err(|e| {
                Error::new(format!(
                    "{u}: download interrupted: {e} (run again to resume)"
                ))
            })? {
                f.write_all(&chunk)
                    .map_err(|e| Error::new(format!("{}: {e}", part.display())))?;
            }
            f.flush()
                .map_err(|e| Error::new(format!("{}: {e}", part.display())))?;
        }
        let len = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if let Some(t) = total {
            if len != t {
                return Err(Error::new(format!(
                    "{u}: truncated download: {len} of {t} bytes (run again to resume)"
                )));
            }
        }
        Ok(())
    })?;
    if let Some(want) = want {
        let bytes =
            std::fs::read(&part).map_err(|e| Error::new(format!("{}: {e}", part.display())))?;
        let got = Digest::of(&bytes);
        if got != want {
            let _ = std::fs::remove_file(&part);
            return Err(Error::new(format!(
                "{u}: digest mismatch: expected {want}, got {got}; the download was discarded"
            )));
        }
    }
    std::fs::rename(&part, &done).map_err(|e| Error::new(format!("{}: {e}", done.display())))?;
    Ok(done)
}
