//! The decision log: one JSON line per request, to stdout or to a file rotated by size
//! (`path`, `path.1` … `path.N`). Lines are written whole under a lock and flushed, so
//! concurrent requests never interleave and a crash loses at most the line being written.
//! A write error is returned to the caller, which counts it; it never panics.
//!
//! The server writes through a [`QueuedLog`]: requests hand their serialized line to a
//! bounded queue and one writer thread writes them, so no request waits for the disk. A
//! full queue drops the line and counts it (`decision_log_dropped_total`), a failed write is
//! counted (`decision_log_errors_total`), and closing the queue (at shutdown) writes every
//! line still queued before it returns.
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
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DecisionLogConfig {
    /// `-` for standard output, `off` (or empty) to disable, or a file.
    pub path: String,
    /// Rotate before the file would exceed this many bytes; 0 never rotates.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` is the newest).
    pub max_files: u32,
    /// Lines the server may hold waiting for the writer; past it lines are dropped and
    /// counted. At least 1.
    pub queue_lines: u32,
}

impl Default for DecisionLogConfig {
    fn default() -> Self {
        DecisionLogConfig {
            path: "-".into(),
            max_bytes: 100 * 1024 * 1024,
            max_files: 5,
            queue_lines: 8192,
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
        self.write_line(&line_of(record)?)
    }

    /// Writes one line made by [`line_of`] (ending in a newline), as [`Self::write`] does.
    pub fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *sink {
            Sink::Off => return Ok(()),
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(line)?;
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
                    file.write_all(line)
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

    fn is_off(&self) -> bool {
        matches!(
            *self.sink.lock().unwrap_or_else(|e| e.into_inner()),
            Sink::Off
        )
    }
}

/// One record as a compact JSON line ending in a newline.
pub fn line_of(record: &Value) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    Ok(line)
}

enum Message {
    Line(Vec<u8>),
    /// Answered once every line queued before it is written.
    Flush(std::sync::mpsc::Sender<()>),
}

/// How a [`QueuedLog`] reports what it could not write.
pub trait LogCounters: Send + Sync + 'static {
    /// A line dropped because the queue was full.
    fn dropped(&self);
    /// A line the writer failed to write (the error is logged once per failure).
    fn failed(&self, error: &io::Error);
}

/// A bounded queue in front of a [`DecisionLog`] with one writer thread (see the module
/// documentation).
pub struct QueuedLog {
    log: Arc<DecisionLog>,
    tx: Mutex<Option<std::sync::mpsc::SyncSender<Message>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    counters: Arc<dyn LogCounters>,
}

impl std::fmt::Debug for QueuedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedLog").field("log", &self.log).finish()
    }
}

impl QueuedLog {
    /// Starts the writer thread for `log`, with room for `capacity` waiting lines.
    pub fn start(
        log: DecisionLog,
        capacity: usize,
        counters: Arc<dyn LogCounters>,
    ) -> io::Result<QueuedLog> {
        let log = Arc::new(log);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(capacity.max(1));
        let writer = if log.is_off() {
            None
        } else {
            let (log, counters) = (log.clone(), counters.clone());
            Some(
                std::thread::Builder::new()
                    .name("decision-log".into())
                    .spawn(move || {
                        // Ends when every sender is gone and the queue is empty.
                        for m in rx {
                            match m {
                                Message::Line(line) => {
                                    if let Err(e) = log.write_line(&line) {
                                        counters.failed(&e);
                                    }
                                }
                                Message::Flush(done) => {
                                    let _ = done.send(());
                                }
                            }
                        }
                    })?,
            )
        };
        Ok(QueuedLog {
            log,
            tx: Mutex::new(writer.is_some().then_some(tx)),
            writer: Mutex::new(writer),
            counters,
        })
    }

    /// Queues one record. Never blocks: a full queue (or a closed log) drops the line and
    /// counts it; a record that cannot be serialized is counted as a failed write.
    pub fn write(&self, record: &Value) {
        let line = match line_of(record) {
            Ok(l) => l,
            Err(e) => return self.counters.failed(&e),
        };
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let sent = match &*tx {
            Some(tx) => tx.try_send(Message::Line(line)).is_ok(),
            None => self.log.is_off(),
        };
        drop(tx);
        if !sent {
            self.counters.dropped();
        }
    }

    /// Waits until every line queued before this call is written (or failed).
    pub fn flush(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(tx) = tx {
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            if tx.send(Message::Flush(done_tx)).is_ok() {
                let _ = done_rx.recv();
            }
        }
    }

    /// Stops taking lines, writes every queued one and stops the writer. Later records are
    /// dropped and counted.
    pub fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer {
            let _ = w.join();
        }
    }

    /// Lines written so far.
    pub fn lines_written(&self) -> u64 {
        self.log.lines_written()
    }
}

impl Drop for QueuedLog {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            ..DecisionLogConfig::default()
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
            ..DecisionLogConfig::default()
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
            ..DecisionLogConfig::default()
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
                ..DecisionLogConfig::default()
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

    /// A log rotating at 20 bytes in a directory the test can remove: (temp dir, that
    /// directory, log path, log).
    fn log_in_removable_dir() -> (tempfile::TempDir, PathBuf, PathBuf, DecisionLog) {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("d.log");
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path.display().to_string(),
            max_bytes: 20,
            max_files: 2,
            ..DecisionLogConfig::default()
        })
        .unwrap();
        (dir, sub, path, log)
    }

    #[test]
    fn write_errors_are_returned_and_the_log_recovers() {
        let (_dir, sub, path, log) = log_in_removable_dir();
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

    #[derive(Default)]
    struct Counted {
        dropped: AtomicU64,
        failed: AtomicU64,
    }

    impl LogCounters for Counted {
        fn dropped(&self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        fn failed(&self, _: &io::Error) {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn queued(path: &Path, capacity: usize) -> (QueuedLog, Arc<Counted>) {
        let log = DecisionLog::open(&DecisionLogConfig {
            path: path.display().to_string(),
            max_bytes: 0,
            ..DecisionLogConfig::default()
        })
        .unwrap();
        let counters = Arc::new(Counted::default());
        (
            QueuedLog::start(log, capacity, counters.clone()).unwrap(),
            counters,
        )
    }

    #[test]
    fn queued_lines_are_all_written_by_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let (q, counters) = queued(&path, 10_000);
        for i in 0..2000 {
            q.write(&json!({"i": i}));
        }
        q.flush();
        assert_eq!(count_lines(&path), 2000, "flush waits for the queue");
        for i in 0..3000 {
            q.write(&json!({"i": i}));
        }
        q.close();
        assert_eq!(count_lines(&path), 5000, "close writes what is queued");
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
        // After close nothing is written, and every record is counted as dropped.
        q.write(&json!({"late": true}));
        assert_eq!(count_lines(&path), 5000);
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(q.lines_written(), 5000);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let (q, counters) = queued(&path, 1);
        // Hold the sink so the writer blocks on its first line.
        let sink = q.log.sink.lock().unwrap();
        for i in 0..10 {
            q.write(&json!({"i": i}));
        }
        drop(sink);
        q.close();
        let dropped = counters.dropped.load(Ordering::Relaxed);
        assert!(
            dropped >= 8,
            "at most one line waits, one is being written: {dropped}"
        );
        assert_eq!(
            count_lines(&path) as u64 + dropped,
            10,
            "every line written or counted"
        );
        assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn queued_write_failures_are_counted() {
        let (_dir, sub, path, log) = log_in_removable_dir();
        let counters = Arc::new(Counted::default());
        let q = QueuedLog::start(log, 16, counters.clone()).unwrap();
        q.write(&json!({"a": "0123456789"}));
        q.flush();
        std::fs::remove_dir_all(&sub).unwrap();
        q.write(&json!({"b": "0123456789"}));
        q.flush();
        assert_eq!(counters.failed.load(Ordering::Relaxed), 1);
        std::fs::create_dir(&sub).unwrap();
        q.write(&json!({"c": 1}));
        q.close();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"c\":1}\n");
        assert_eq!(q.lines_written(), 2);
    }

    #[test]
    fn an_off_log_queues_nothing() {
        let q = QueuedLog::start(DecisionLog::disabled(), 4, Arc::new(Counted::default())).unwrap();
        for _ in 0..10 {
            q.write(&json!({}));
        }
        q.flush();
        q.close();
        assert_eq!(q.lines_written(), 0);
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
        assert_eq!(d.queue_lines, 8192);
        let q: DecisionLogConfig = serde_json::from_value(json!({"queueLines": 16})).unwrap();
        assert_eq!(q.queue_lines, 16);
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
