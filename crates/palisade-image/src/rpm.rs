//! The rpm database in its SQLite form (`rpmdb.sqlite`, RHEL 9 / Fedora 33+): the `Packages`
//! table holds one header blob per package. The header layout (index entries of tag, type,
//! offset and count, then a data store) is rpm's on-disk header format.

use crate::model::{FileFacts, Package, PkgKind};
use std::sync::atomic::{AtomicU64, Ordering};

pub const NAME: i32 = 1000;
pub const VERSION: i32 = 1001;
pub const RELEASE: i32 = 1002;
pub const EPOCH: i32 = 1003;
pub const LICENSE: i32 = 1014;
pub const ARCH: i32 = 1022;
pub const SOURCERPM: i32 = 1044;

/// A parsed header: tag → value (strings and the first INT32).
#[derive(Debug, Default)]
pub struct Header {
    pub strings: Vec<(i32, String)>,
    pub ints: Vec<(i32, i64)>,
}

impl Header {
    fn s(&self, tag: i32) -> Option<&str> {
        self.strings
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, s)| s.as_str())
    }
    fn i(&self, tag: i32) -> Option<i64> {
        self.ints.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a header blob as stored in the database (no magic, starts with the index count).
pub fn parse_header(blob: &[u8]) -> Result<Header, String> {
    let il = be32(blob, 0).ok_or("header shorter than 8 bytes")? as usize;
    let dl = be32(blob, 4).ok_or("header shorter than 8 bytes")? as usize;
    if il > 100_000 || dl > 256 * 1024 * 1024 {
        return Err(format!(
            "implausible header sizes ({il} entries, {dl} data bytes)"
        ));
    }
    let data_start = 8 + il * 16;
    let data = blob.get(data_start..data_start + dl).ok_or_else(|| {
        format!(
            "header truncated: {} bytes, {} needed",
            blob.len(),
            data_start + dl
        )
    })?;
    let mut h = Header::default();
    for k in 0..il {
        let e = 8 + k * 16;
        let tag = be32(blob, e).unwrap_or(0) as i32;
        let ty = be32(blob, e + 4).unwrap_or(0);
        let off = be32(blob, e + 8).unwrap_or(0) as usize;
        let count = be32(blob, e + 12).unwrap_or(0);
        if off >= data.len() {
            continue;
        }
        match ty {
            // STRING, STRING_ARRAY, I18NSTRING: the first string.
            6 | 8 | 9 => {
                let rest = &data[off..];
                let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                h.strings
                    .push((tag, String::from_utf8_lossy(&rest[..end]).into_owned()));
            }
            4 if count >= 1 => {
                if let Some(v) = be32(data, off) {
                    h.ints.push((tag, i64::from(v as i32)));
                }
            }
            _ => {}
        }
    }
    Ok(h)
}

/// `name-version-release.src.rpm` → `name`.
fn source_name(srpm: &str) -> Option<String> {
    let s = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let mut parts = s.rsplitn(3, '-');
    let _release = parts.next()?;
    let _version = parts.next()?;
    parts.next().map(str::to_string)
}

/// One package from a header: version is `[epoch:]version-release`, as OSV's rpm ecosystems
/// write it.
pub fn package(h: &Header, path: &str) -> Option<Package> {
    let name = h.s(NAME)?;
    if name == "gpg-pubkey" {
        return None;
    }
    let mut version = format!("{}-{}", h.s(VERSION)?, h.s(RELEASE)?);
    if let Some(e) = h.i(EPOCH).filter(|e| *e > 0) {
        version = format!("{e}:{version}");
    }
    let source = h.s(SOURCERPM).and_then(source_name);
    Some(Package {
        kind: PkgKind::Rpm,
        name: name.to_string(),
        version: version.clone(),
        source_name: Some(source.unwrap_or_else(|| name.to_string())),
        source_version: Some(version),
        licenses: h
            .s(LICENSE)
            .map(|l| vec![l.to_string()])
            .unwrap_or_default(),
        arch: h.s(ARCH).map(str::to_string),
        path: path.to_string(),
        layer: None,
    })
}

/// Reads every package of an `rpmdb.sqlite` file given as bytes (SQLite needs a file: it is
/// written to a private temporary file and removed).
pub fn rpmdb_sqlite(path: &str, data: &[u8], f: &mut FileFacts) {
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = std::env::temp_dir().join(format!(
        "palisade-rpmdb-{}-{}.sqlite",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if let Err(e) = std::fs::write(&tmp, data) {
        f.errors
            .push(format!("{path}: cannot stage the rpm database: {e}"));
        return;
    }
    let r = (|| -> rusqlite::Result<Vec<(i64, Vec<u8>)>> {
        let c = rusqlite::Connection::open_with_flags(
            &tmp,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut st = c.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })();
    let _ = std::fs::remove_file(&tmp);
    match r {
        Err(e) => f
            .errors
            .push(format!("{path}: not a readable rpm sqlite database: {e}")),
        Ok(rows) => {
            for (hnum, blob) in rows {
                match parse_header(&blob) {
                    Ok(h) => f.packages.extend(package(&h, path)),
                    Err(e) => f.errors.push(format!("{path}: package record {hnum}: {e}")),
                }
            }
        }
    }
}

/// Builds a header blob (for fixtures and tests): string tags and INT32 tags.
pub fn build_header(strings: &[(i32, &str)], ints: &[(i32, i32)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (tag, v) in ints {
        while data.len() % 4 != 0 {
            data.push(0);
        }
        index.push((*tag, 4u32, data.len() as u32, 1u32));
        data.extend_from_slice(&v.to_be_bytes());
    }
    for (tag, s) in strings {
        index.push((*tag, 6u32, data.len() as u32, 1u32));
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(index.len() as u32).to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for (t, ty, off, c) in index {
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&ty.to_be_bytes());
        out.extend_from_slice(&off.to_be_bytes());
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(&data);
    out
}

/// The tags fixtures use.
pub mod tags {
    pub use super::{ARCH, EPOCH, LICENSE, NAME, RELEASE, SOURCERPM, VERSION};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_truncation() {
        let b = build_header(
            &[
                (NAME, "openssl-libs"),
                (VERSION, "3.0.7"),
                (RELEASE, "24.el9"),
                (SOURCERPM, "openssl-3.0.7-24.el9.src.rpm"),
                (LICENSE, "ASL 2.0"),
            ],
            &[(EPOCH, 1)],
        );
        let h = parse_header(&b).unwrap();
        let p = package(&h, "var/lib/rpm/rpmdb.sqlite").unwrap();
        assert_eq!(p.version, "1:3.0.7-24.el9");
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert!(parse_header(&b[..b.len() - 3])
            .unwrap_err()
            .contains("truncated"));
    }
}
