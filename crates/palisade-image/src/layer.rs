//! One layer, read once as a stream: the blob is hashed while it is decompressed (gzip, zstd
//! or plain tar, by magic bytes) and walked entry by entry; the catalogers read the files
//! they want from the stream. Nothing is written to disk. A digest mismatch, a corrupt
//! compressed stream or a truncated tar is an error naming the layer, and no result exists
//! to be cached.

use crate::catalog;
use crate::digest::{Digest, HashingReader};
use crate::model::{Entry, FileFacts, Kind, LayerFacts, ANALYZER_VERSION};
use crate::Error;
use std::io::{BufRead, BufReader, Read};

/// Normalises a tar path: no leading `/` or `./`, no empty or `.` components. `None` for
/// paths with `..` (they could not be in an image's filesystem) and for the root itself.
pub fn normalize(p: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => out.push(c),
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out.join("/"))
    }
}

/// Reads a layer blob. `expected` is the digest the manifest gives for these exact bytes;
/// `what` names the layer in errors.
pub fn read_layer(
    raw: impl Read,
    expected: Option<&Digest>,
    what: &str,
) -> Result<LayerFacts, Error> {
    let mut hr = HashingReader::new(raw);
    let facts = {
        let mut buf = BufReader::with_capacity(256 * 1024, &mut hr);
        let head = buf
            .fill_buf()
            .map_err(|e| Error::new(format!("{what}: cannot read: {e}")))?
            .to_vec();
        let mut facts = if head.starts_with(&[0x1f, 0x8b]) {
            let mut d = flate2::read::MultiGzDecoder::new(&mut buf);
            let f = walk_tar(&mut d, what)?;
            drain(&mut d, what, "gzip stream")?;
            f
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let mut d = ruzstd::decoding::StreamingDecoder::new(&mut buf)
                .map_err(|e| Error::new(format!("{what}: corrupt zstd stream: {e}")))?;
            let f = walk_tar(&mut d, what)?;
            drain(&mut d, what, "zstd stream")?;
            f
        } else {
            walk_tar(&mut buf, what)?
        };
        drain(&mut buf, what, "layer")?;
        facts.digest = String::new();
        facts
    };
    let (digest, n) = hr
        .finish()
        .map_err(|e| Error::new(format!("{what}: cannot read: {e}")))?;
    if let Some(exp) = expected {
        if &digest != exp {
            return Err(Error::new(format!(
                "{what}: digest mismatch: the manifest says {exp}, the {n} bytes read hash to {digest} (corrupt or truncated blob; nothing cached)"
            )));
        }
    }
    Ok(LayerFacts {
        digest: digest.to_string(),
        ..facts
    })
}

fn drain(r: &mut impl Read, what: &str, part: &str) -> Result<(), Error> {
    std::io::copy(r, &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| Error::new(format!("{what}: corrupt or truncated {part}: {e}")))
}

fn walk_tar(r: &mut dyn Read, what: &str) -> Result<LayerFacts, Error> {
    let mut ar = tar::Archive::new(r);
    let mut facts = LayerFacts {
        analyzer: ANALYZER_VERSION,
        digest: String::new(),
        entries: Vec::new(),
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let corrupt =
        |e: std::io::Error| Error::new(format!("{what}: corrupt or truncated layer tar: {e}"));
    for entry in ar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let h = entry.header();
        let mode = h.mode().unwrap_or(0);
        let uid = h.uid().unwrap_or(0);
        let gid = h.gid().unwrap_or(0);
        let size = entry.size();
        let ty = h.entry_type();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let Some(e) = classify(&raw_path, ty, mode, uid, gid, size, link) else {
            if normalize(&raw_path).is_none() && raw_path.contains("..") {
                facts.skipped.push(raw_path);
            }
            continue;
        };
        if e.kind == Kind::File && catalog::wants(&e.path, e.mode, e.size) {
            let mut data = Vec::with_capacity(e.size.min(1 << 20) as usize);
            entry.read_to_end(&mut data).map_err(corrupt)?;
            let f = catalog::analyze(&e.path, &data);
            if !f.is_empty() {
                facts.files.push(f);
            }
        }
        facts.entries.push(e);
    }
    Ok(facts)
}

/// Turns a tar entry into an [`Entry`], recognising whiteouts.
pub fn classify(
    raw_path: &str,
    ty: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    link: Option<String>,
) -> Option<Entry> {
    let path = normalize(raw_path)?;
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path.as_str()),
    };
    let (path, kind) = if name == ".wh..wh..opq" {
        (dir.to_string(), Kind::Opaque)
    } else if let Some(hidden) = name.strip_prefix(".wh.") {
        let p = if dir.is_empty() {
            hidden.to_string()
        } else {
            format!("{dir}/{hidden}")
        };
        (p, Kind::Whiteout)
    } else {
        let k = match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            _ => Kind::Other,
        };
        (path, k)
    };
    Some(Entry {
        path,
        kind,
        mode,
        uid,
        gid,
        size,
        link: link.and_then(|l| {
            if matches!(kind, Kind::Hardlink) {
                normalize(&l)
            } else {
                Some(l)
            }
        }),
    })
}

/// Reads a root filesystem directory as one layer (no digest, never cached). Symlinks are
/// recorded, not followed.
pub fn read_rootfs(root: &std::path::Path) -> Result<LayerFacts, Error> {
    use std::os::unix::fs::MetadataExt;
    let mut facts = LayerFacts {
        analyzer: ANALYZER_VERSION,
        digest: String::new(),
        entries: Vec::new(),
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd =
            std::fs::read_dir(&dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
        let mut items: Vec<_> = rd.filter_map(|r| r.ok()).collect();
        items.sort_by_key(|d| d.file_name());
        for d in items {
            let p = d.path();
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                facts.skipped.push(rel);
                continue;
            };
            let ft = md.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_symlink() {
                Kind::Symlink
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            let link = if ft.is_symlink() {
                std::fs::read_link(&p)
                    .ok()
                    .map(|l| l.to_string_lossy().into_owned())
            } else {
                None
            };
            let e = Entry {
                path: rel.clone(),
                kind,
                mode: md.mode() & 0o7777,
                uid: u64::from(md.uid()),
                gid: u64::from(md.gid()),
                size: if ft.is_file() { md.len() } else { 0 },
                link,
            };
            if kind == Kind::File && catalog::wants(&rel, e.mode, e.size) {
                match std::fs::read(&p) {
                    Ok(data) => {
                        let f = catalog::analyze(&rel, &data);
                        if !f.is_empty() {
                            facts.files.push(f);
                        }
                    }
                    Err(err) => facts.files.push(FileFacts {
                        path: rel.clone(),
                        errors: vec![format!("{}: {err}", p.display())],
                        ..FileFacts::default()
                    }),
                }
            }
            if kind == Kind::Dir {
                stack.push(p);
            }
            facts.entries.push(e);
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_whiteouts() {
        assert_eq!(normalize("./etc//passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("./"), None);
        let e = classify("./usr/.wh.lib", tar::EntryType::Regular, 0, 0, 0, 0, None).unwrap();
        assert_eq!((e.path.as_str(), e.kind), ("usr/lib", Kind::Whiteout));
        let e = classify(
            "etc/.wh..wh..opq",
            tar::EntryType::Regular,
            0,
            0,
            0,
            0,
            None,
        )
        .unwrap();
        assert_eq!((e.path.as_str(), e.kind), ("etc", Kind::Opaque));
    }
}
