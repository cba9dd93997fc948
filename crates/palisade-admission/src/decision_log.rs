//! The decision log: one JSON line per request, to stdout or to a file rotated by size
//! (`path`, `path.1` … `path.N`). Lines are written whole under a lock and flushed, so
//! concurrent requests never interleave and a crash loses at most the line being written.
//! A write error is returned to the caller, which counts it; it never panics.
//!
//! Rotation is by size: before a line would take the file past `max_bytes`, `path.(N-1)`
//! becomes `path.N` … `path` becomes `path.1` (the oldest, `path.N`, is overwritten) and a new
//! `path` is opened. A line longer than `max_bytes` gets a file of its own. A restarted
//! process appends to the existing `path` and counts its current length; if the previous one
//! died in the middle of a line, a newline ends that torn line first, so every later line is
//! whole JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DecisionLogConfig {
    /// `-` for standard output, `off` (or empty) to disable, or a file.
    pub path: String,
    /// Rotate before the file would exceed this many bytes; 0 never rotates.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` is the newest).
    pub max_files: u32,
}

impl Default for DecisionLogConfig {
    fn default() -> Self {
        DecisionLogConfig {
            path: "-".into(),
            max_bytes: 100 * 1024 * 1024,
            max_files: 5,
        }
    }
}

enum Sink {
    Off,
    Stdout,
    File {
        path: PathBuf,
        file: File,
        size: u64,
        max_bytes: u64,
        max_files: u32,
        /// A write or rotation failed: reopen `path` (ending a torn line) before the next one.
        reopen: bool,
    },
}

pub struct DecisionLog {
    sink: Mutex<Sink>,
    lines: AtomicU64,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("lines", &self.lines_written())
            .finish()
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Opens `path` for appending and returns it with its length. A file left ending in a torn
/// line (no final newline) gets that newline now.
fn open_append(path: &Path) -> io::Result<(File, u64)> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| with_path(path, e))?;
    let mut size = file.metadata().map_err(|e| with_path(path, e))?.len();
    if size > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| with_path(path, e))?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(|e| with_path(path, e))?;
            size += 1;
        }
    }
    Ok((file, size))
}

/// `rename`, where a missing `from` is not an error (nothing to rotate).
fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(with_path(from, e)),
        _ => Ok(()),
    }
}

/// `path.(N-1)` → `path.N` … `path` → `path.1`; with `max_files` 0, `path` is removed.
fn rotate(path: &Path, max_files: u32) -> io::Result<()> {
    if max_files == 0 {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(with_path(path, e)),
            _ => Ok(()),
        };
    }
    for n in (1..max_files).rev() {
        rename_if_exists(&rotated(path, n), &rotated(path, n + 1))?;
    }
    rename_if_exists(path, &rotated(path, 1))
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl DecisionLog {
    pub fn open(cfg: &DecisionLogConfig) -> io::Result<DecisionLog> {
        let sink = match cfg.path.as_str() {
            "" | "off" => Sink::Off,
            "-" => Sink::Stdout,
            p => {
                let path = PathBuf::from(p);
                let (file, size) = open_append(&path)?;
                Sink::File {
                    path,
                    file,
                    size,
                    max_bytes: cfg.max_bytes,
                    max_files: cfg.max_files,
                    reopen: false,
                }
            }
        };
        Ok(DecisionLog {
            sink: Mutex::new(sink),
            lines: AtomicU64::new(0),
        })
    }

    pub fn disabled() -> DecisionLog {
        DecisionLog {
            sink: Mutex::new(Sink::Off),
            lines: AtomicU64::new(0),
        }
    }

    /// Writes one record as one compact JSON line, flushed. An error (serializing, rotating,
    /// writing) is returned, and the line is not counted in [`Self::lines_written`].
    pub fn write(&self, record: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *sink {
            Sink::Off => return Ok(()),
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(&line)?;
                out.flush()?;
            }
            Sink::File {
                path,
                file,
                size,
                max_bytes,
                max_files,
                reopen,
            } => {
                let len = line.len() as u64;
                let written = (|| {
                    if *reopen {
                        (*file, *size) = open_append(path)?;
                        *reopen = false;
                    }
                    if *max_bytes > 0 && *size > 0 && *size + len > *max_bytes {
                        *reopen = true;
                        rotate(path, *max_files)?;
                        (*file, *size) = open_append(path)?;
                        *reopen = false;
                    }
                    file.write_all(&line)
                        .and_then(|()| file.flush())
                        .map_err(|e| with_path(path, e))
                })();
                if let Err(e) = written {
                    *reopen = true;
                    return Err(e);
                }
                *size += len;
            }
        }
        self.lines.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Lines written since [`Self::open`] (0 for a disabled log).
    pub fn lines_written(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn count_lines(p: &Path) -> usize {
        std::fs::read_to_string(p)
            .map(|t| {
                t.lines()
                    .inspect(|l| {
                        serde_json::from_str::<Value>(l).expect("each line is JSON");
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    #[test]
    fn rotation_keeps_max_files_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let cfg = DecisionLogConfig {
            path: path.display().to_string(),
            max_bytes: 1000,
            max_files: 50,
        };
        let log = DecisionLog::open(&cfg).unwrap();
        for i in 0..200 {
            log.write(&json!({"i": i, "pad": "x".repeat(40)})).unwrap();
        }
        assert_eq!(log.lines_written(), 200);
        let mut total = count_lines(&path);
        let mut files = 0;
        for n in 1..=60 {
            let p = rotated(&path, n);
            if p.exists() {
                files += 1;
                total += count_lines(&p);
                assert!(std::fs::metadata(&p).unwrap().len() <= 1000);
            }
        }
        assert_eq!(total, 200, "no line lost");
        assert!(files > 5);

        // With few files kept, exactly max_files rotated files remain.
        let path2 = dir.path().join("e.log");
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path2.display().to_string(),
            max_bytes: 500,
            max_files: 3,
        })
        .unwrap();
        for i in 0..200 {
            log.write(&json!({"i": i})).unwrap();
        }
        for n in 1..=3 {
            assert!(rotated(&path2, n).exists(), "{n}");
        }
        assert!(!rotated(&path2, 4).exists());
        // The newest lines survive: the current file ends with the last one.
        let current = std::fs::read_to_string(&path2).unwrap();
        assert_eq!(current.lines().last(), Some(r#"{"i":199}"#));
    }

    #[test]
    fn reopening_appends_and_counts_existing_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        std::fs::write(&path, "{\"old\":1}\n".repeat(50)).unwrap();
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path.display().to_string(),
            max_bytes: 505,
            max_files: 2,
        })
        .unwrap();
        log.write(&json!({"new": 1})).unwrap();
        assert_eq!(
            count_lines(&rotated(&path, 1)),
            50,
            "the full file rotated first"
        );
        assert_eq!(count_lines(&path), 1);
    }

    #[test]
    fn concurrent_writers_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let log = Arc::new(
            DecisionLog::open(&DecisionLogConfig {
                path: path.display().to_string(),
                max_bytes: 0,
                max_files: 0,
            })
            .unwrap(),
        );
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..250 {
                        log.write(&json!({"t": t, "i": i, "pad": "y".repeat(300)}))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count_lines(&path), 1000);
    }

    #[test]
    fn open_errors_name_the_path() {
        let e = DecisionLog::open(&DecisionLogConfig {
            path: "/nonexistent-dir/x/d.log".into(),
            ..DecisionLogConfig::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x/d.log"), "{e}");
        let off = DecisionLog::open(&DecisionLogConfig {
            path: "off".into(),
            ..DecisionLogConfig::default()
        })
        .unwrap();
        off.write(&json!({})).unwrap();
        assert_eq!(off.lines_written(), 0);
    }

    #[test]
    fn a_torn_last_line_is_ended_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        std::fs::write(&path, "{\"whole\":1}\n{\"torn\":").unwrap();
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path.display().to_string(),
            ..DecisionLogConfig::default()
        })
        .unwrap();
        log.write(&json!({"next": 2})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["{\"whole\":1}", "{\"torn\":", "{\"next\":2}"]);
    }

    #[test]
    fn write_errors_are_returned_and_the_log_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("d.log");
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path.display().to_string(),
            max_bytes: 20,
            max_files: 2,
        })
        .unwrap();
        log.write(&json!({"a": "0123456789"})).unwrap();
        // The directory goes away: rotating, then reopening, fails with the path named.
        std::fs::remove_dir_all(&sub).unwrap();
        let e = log.write(&json!({"b": "0123456789"})).unwrap_err();
        assert!(e.to_string().contains("d.log"), "{e}");
        assert_eq!(log.lines_written(), 1);
        // Once it is back, the next line goes to a fresh file.
        std::fs::create_dir(&sub).unwrap();
        log.write(&json!({"c": 1})).unwrap();
        assert_eq!(log.lines_written(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"c\":1}\n");
    }

    #[test]
    fn config_defaults_and_field_names() {
        let d: DecisionLogConfig = serde_json::from_value(json!({})).unwrap();
        assert_eq!(d, DecisionLogConfig::default());
        assert_eq!(
            (d.path.as_str(), d.max_bytes, d.max_files),
            ("-", 100 << 20, 5)
        );
        let c: DecisionLogConfig = serde_json::from_value(
            json!({"path": "/var/log/d.log", "maxBytes": 10, "maxFiles": 2}),
        )
        .unwrap();
        assert_eq!((c.max_bytes, c.max_files), (10, 2));
        assert!(serde_json::from_value::<DecisionLogConfig>(json!({"max_bytes": 1})).is_err());
        let off = DecisionLog::disabled();
        off.write(&json!({"x": 1})).unwrap();
        assert_eq!(off.lines_written(), 0);
        let empty = DecisionLog::open(&DecisionLogConfig {
            path: String::new(),
            ..DecisionLogConfig::default()
        })
        .unwrap();
        empty.write(&json!({"x": 1})).unwrap();
        assert_eq!(empty.lines_written(), 0);
    }
}
