//! The vulnerability database: OSV records (and the Debian tracker and Alpine secdb converted
//! to OSV) in one SQLite file. `affects` indexes (ecosystem, package) → advisory, `alias`
//! maps CVE ids to advisories, `meta` holds the update time and sources. The record bodies
//! are compact OSV JSON, parsed only for the packages a scan looks up.

use crate::osv::{self, Osv};
use crate::Error;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Advisories already read, per (ecosystem, name).
type Memo = std::cell::RefCell<HashMap<(String, String), std::rc::Rc<Vec<Osv>>>>;

pub struct Db {
    conn: Connection,
    path: PathBuf,
    memo: Memo,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub records: usize,
    /// Files or records that could not be read, with the reason (file and line).
    pub errors: Vec<String>,
}

/// `db status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub path: PathBuf,
    pub advisories: u64,
    pub packages: u64,
    pub ecosystems: Vec<(String, u64)>,
    /// Seconds since the epoch of the last update or import.
    pub updated: Option<u64>,
    pub sources: Vec<String>,
}

/// The ecosystem as stored: OSV's string without qualifiers after the release
/// (`Ubuntu:22.04:LTS` → `Ubuntu:22.04`).
pub fn normalize_ecosystem(e: &str) -> String {
    let mut it = e.splitn(3, ':');
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => format!("{a}:{b}"),
        (Some(a), None) => a.to_string(),
        _ => e.to_string(),
    }
}

/// Package names as compared: PyPI names normalised (PEP 503), others as written.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut dash = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !dash {
                    out.push('-');
                }
                dash = true;
            } else {
                out.push(c.to_ascii_lowercase());
                dash = false;
            }
        }
        out
    } else {
        name.to_string()
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sql(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(format!("{}: vulnerability database: {e}", path.display()))
}

impl Db {
    /// `$PALISADE_DB`, else `vuln.db` in the cache directory.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("PALISADE_DB") {
            return Some(PathBuf::from(p));
        }
        crate::Cache::default_dir().map(|d| d.join("vuln.db"))
    }

    /// Opens (creating when missing) a database for writing.
    pub fn open(path: &Path) -> Result<Db, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS advisory(id TEXT PRIMARY KEY, modified TEXT NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS affects(ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
                 PRIMARY KEY(ecosystem, name, id)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS alias(alias TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(alias, id)) WITHOUT ROWID;",
        )
        .map_err(|e| sql(path, e))?;
        Ok(Db {
            conn,
            path: path.to_path_buf(),
            memo: Default::default(),
        })
    }

    /// Opens an existing database read-only (scans and admission never write it).
    pub fn open_readonly(path: &Path) -> Result<Db, Error> {
        if !path.is_file() {
            return Err(Error::new(format!(
                "{}: no vulnerability database (run `palisade image db update` or `palisade image db import FILE`)",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sql(path, e))?;
        let ok: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = 'affects'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql(path, e))?;
        if ok.is_none() {
            return Err(Error::new(format!(
                "{}: not a palisade vulnerability database",
                path.display()
            )));
        }
        Ok(Db {
            conn,
            path: path.to_path_buf(),
            memo: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores records (a newer `modified` replaces an older record of the same id).
    pub fn insert(&mut self, records: &[Osv]) -> Result<usize, Error> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        let mut n = 0;
        {
            let mut old = tx
                .prepare_cached("SELECT modified FROM advisory WHERE id = ?1")
                .map_err(|e| sql(&path, e))?;
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO advisory(id, modified, body) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| sql(&path, e))?;
            let mut del = tx
                .prepare_cached("DELETE FROM affects WHERE id = ?1")
                .map_err(|e| sql(&path, e))?;
            let mut aff = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO affects(ecosystem, name, id) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| sql(&path, e))?;
            let mut ali = tx
                .prepare_cached("INSERT OR IGNORE INTO alias(alias, id) VALUES (?1, ?2)")
                .map_err(|e| sql(&path, e))?;
            for r in records {
                let prev: Option<String> = old
                    .query_row([&r.id], |x| x.get(0))
                    .optional()
                    .map_err(|e| sql(&path, e))?;
                if prev.is_some_and(|p| p > r.modified) {
                    continue;
                }
                let body = serde_json::to_string(r).map_err(|e| Error::new(e.to_string()))?;
                put.execute(params![r.id, r.modified, body])
                    .map_err(|e| sql(&path, e))?;
                del.execute([&r.id]).map_err(|e| sql(&path, e))?;
                for a in &r.affected {
                    if let Some(p) = &a.package {
                        let eco = normalize_ecosystem(&p.ecosystem);
                        let name = normalize_name(&eco, &p.name);
                        aff.execute(params![eco, name, r.id])
                            .map_err(|e| sql(&path, e))?;
                    }
                }
                for al in r.aliases.iter().chain(std::iter::once(&r.id)) {
                    ali.execute(params![al, r.id]).map_err(|e| sql(&path, e))?;
                }
                n += 1;
            }
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        self.memo.borrow_mut().clear();
        Ok(n)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| sql(&self.path, e))
    }

    pub fn meta(&self, key: &str) -> Option<String> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .ok()
            .flatten()
    }

    /// Marks the database as updated now from `source`.
    pub fn touch(&self, source: &str) -> Result<(), Error> {
        self.set_meta("updated", &now().to_string())?;
        let mut sources: Vec<String> = self
            .meta("sources")
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default();
        if !sources.iter().any(|s| s == source) {
            sources.push(source.to_string());
        }
        self.set_meta("sources", &sources.join("\n"))
    }

    pub fn status(&self) -> Result<Status, Error> {
        let q = |s: &str| -> Result<u64, Error> {
            self.conn
                .query_row(s, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| sql(&self.path, e))
        };
        let mut st = self
            .conn
            .prepare("SELECT ecosystem, COUNT(DISTINCT id) FROM affects GROUP BY ecosystem ORDER BY ecosystem")
            .map_err(|e| sql(&self.path, e))?;
        let ecosystems = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| sql(&self.path, e))?;
        Ok(Status {
            path: self.path.clone(),
            advisories: q("SELECT COUNT(*) FROM advisory")?,
            packages: q("SELECT COUNT(DISTINCT ecosystem || '/' || name) FROM affects")?,
            ecosystems,
            updated: self.meta("updated").and_then(|u| u.parse().ok()),
            sources: self
                .meta("sources")
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default(),
        })
    }

    /// The advisories that name (ecosystem, package).
    pub fn candidates(&self, ecosystem: &str, name: &str) -> Result<std::rc::Rc<Vec<Osv>>, Error> {
        let key = (ecosystem.to_string(), normalize_name(ecosystem, name));
        if let Some(v) = self.memo.borrow().get(&key) {
            return Ok(v.clone());
        }
        let mut st = self
            .conn
            .prepare_cached("SELECT a.id, a.body FROM affects f JOIN advisory a ON a.id = f.id WHERE f.ecosystem = ?1 AND f.name = ?2")
            .map_err(|e| sql(&self.path, e))?;
        let rows = st
            .query_map(params![key.0, key.1], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| sql(&self.path, e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, body) in rows {
            let o: Osv = serde_json::from_str(&body).map_err(|e| {
                Error::new(format!(
                    "{}: record {id} is damaged: {e}",
                    self.path.display()
                ))
            })?;
            out.push(o);
        }
        let rc = std::rc::Rc::new(out);
        self.memo.borrow_mut().insert(key, rc.clone());
        Ok(rc)
    }

    /// Whether a record for `cve` (its id or an alias) names a package of `ecosystem`.
    pub fn has_cve_in(&self, cve: &str, ecosystem: &str) -> bool {
        self.conn
            .query_row(
                "SELECT 1 FROM alias l JOIN affects f ON f.id = l.id WHERE l.alias = ?1 AND f.ecosystem = ?2 LIMIT 1",
                params![cve, ecosystem],
                |_| Ok(()),
            )
            .optional()
            .ok()
            .flatten()
            .is_some()
    }

    /// Imports a file or directory: OSV records (one per file or an array), a Debian Security
    /// Tracker JSON, an Alpine secdb file, or a zip archive of OSV files (OSV's `all.zip`).
    /// Directories are searched for `.json` and `.zip` files. Bad files are reported and
    /// skipped.
    pub fn import_path(&mut self, path: &Path) -> Result<ImportStats, Error> {
        let mut stats = ImportStats::default();
        let mut files = Vec::new();
        if path.is_dir() {
            let mut stack = vec![path.to_path_buf()];
            while let Some(d) = stack.pop() {
                let rd = std::fs::read_dir(&d)
                    .map_err(|e| Error::new(format!("{}: {e}", d.display())))?;
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "json" || x == "zip") {
                        files.push(p);
                    }
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut batch = Vec::new();
        for f in files {
            let bytes =
                std::fs::read(&f).map_err(|e| Error::new(format!("{}: {e}", f.display())))?;
            if bytes.starts_with(b"PK\x03\x04") {
                crate::zip::for_each_entry(&bytes, &f.display().to_string(), &mut |name, data| {
                    if name.ends_with(".json") {
                        records_from(
                            data,
                            &format!("{}!{name}", f.display()),
                            &mut batch,
                            &mut stats.errors,
                        );
                    }
                })
                .map_err(Error::new)?;
            } else {
                records_from(
                    &bytes,
                    &f.display().to_string(),
                    &mut batch,
                    &mut stats.errors,
                );
            }
            if batch.len() >= 5000 {
                stats.records += self.insert(&batch)?;
                batch.clear();
            }
        }
        stats.records += self.insert(&batch)?;
        Ok(stats)
    }
}

/// Reads the records of one JSON document, whatever its format.
pub fn records_from(bytes: &[u8], what: &str, out: &mut Vec<Osv>, errors: &mut Vec<String>) {
    let v: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return errors.push(format!("{what}:{}: invalid JSON: {e}", e.line())),
    };
    let one = |v: Value, out: &mut Vec<Osv>, errors: &mut Vec<String>| match serde_json::from_value::<
        Osv,
    >(v)
    {
        Ok(o) if !o.id.is_empty() => out.push(o),
        Ok(_) => errors.push(format!("{what}: OSV record without an id")),
        Err(e) => errors.push(format!("{what}: not an OSV record: {e}")),
    };
    match v {
        Value::Array(a) => a.into_iter().for_each(|x| one(x, out, errors)),
        Value::Object(ref o) if o.contains_key("distroversion") && o.contains_key("packages") => {
            out.extend(osv::from_alpine_secdb(&v))
        }
        Value::Object(ref o) if o.contains_key("id") => one(v, out, errors),
        Value::Object(ref o) if o.values().all(|x| x.is_object()) && !o.is_empty() => {
            out.extend(osv::from_debian_tracker(&v))
        }
        _ => errors.push(format!(
            "{what}: neither OSV, a Debian tracker file nor an Alpine secdb file"
        )),
    }
}
