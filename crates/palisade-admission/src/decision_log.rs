//! The decision log: one JSON line per request, to stdout or to a file rotated by size
//! (`path`, `path.1` … `path.N`). Lines are written whole under a lock and flushed, so
//! concurrent requests never interleave and a crash loses at most the line being written.
//! A write error is returned to the caller, which counts it; it never panics.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
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

fn open_append(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, size))
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

    /// Writes one record as one line.
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
            } => {
                let len = line.len() as u64;
                if *max_bytes > 0 && *size > 0 && *size + len > *max_bytes {
                    // path.(N-1) → path.N … path → path.1; the oldest falls off.
                    if *max_files == 0 {
                        std::fs::remove_file(&*path)?;
                    } else {
                        for n in (1..*max_files).rev() {
                            let from = rotated(path, n);
                            if from.exists() {
                                std::fs::rename(&from, rotated(path, n + 1))?;
                            }
                        }
                        std::fs::rename(&*path, rotated(path, 1))?;
                    }
                    let (f, s) = open_append(path)?;
                    *file = f;
                    *size = s;
                }
                file.write_all(&line)?;
                file.flush()?;
                *size += len;
            }
        }
        self.lines.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

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
        assert!(rotated(&path2, 3).exists());
        assert!(!rotated(&path2, 4).exists());
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
}
