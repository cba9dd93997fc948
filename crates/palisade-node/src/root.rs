//! The node's filesystem, seen through a root directory: `/` on the node itself, a mounted
//! node filesystem, or a fixture. This is the only module that reads files.
//!
//! Paths inside the root are written as absolute node paths (`/etc/kubernetes/admin.conf`).
//! Symbolic links are resolved inside the root (an absolute link target is taken relative
//! to the root, never to the machine running the check), at most 40 links deep.

use crate::flags::parse_cmdline;
use palisade_model::{Diagnostic, Level};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Files larger than this are not read (a config file or manifest is never this large).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The mode and owner of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
}

/// A running process: its PID and command line.
#[derive(Clone, Debug)]
pub struct Process {
    pub pid: u32,
    pub args: Vec<String>,
}

impl Process {
    /// Where its command line was read: `/proc/<pid>/cmdline`.
    pub fn source(&self) -> String {
        format!("/proc/{}/cmdline", self.pid)
    }

    /// The executable's base name (`kube-apiserver` for `/usr/local/bin/kube-apiserver`).
    pub fn exe(&self) -> &str {
        let a = self.args.first().map(String::as_str).unwrap_or("");
        a.rsplit('/').next().unwrap_or(a)
    }
}

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    NotFound,
    Other(String),
}

/// A node filesystem under a root directory.
#[derive(Clone, Debug)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host path of a node path, with symbolic links resolved inside the root.
    pub fn host_path(&self, node_path: &str) -> PathBuf {
        let mut parts: Vec<String> = Vec::new();
        let mut pending: Vec<String> = split(node_path);
        pending.reverse();
        let mut hops = 0;
        while let Some(p) = pending.pop() {
            match p.as_str() {
                "." | "" => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            parts.push(p);
            let here = self.join(&parts);
            if let Ok(target) = std::fs::read_link(&here) {
                hops += 1;
                if hops > 40 {
                    break;
                }
                parts.pop();
                let t = target.to_string_lossy().to_string();
                if t.starts_with('/') {
                    parts.clear();
                }
                let mut more = split(&t);
                more.reverse();
                pending.extend(more);
            }
        }
        self.join(&parts)
    }

    fn join(&self, parts: &[String]) -> PathBuf {
        let mut p = self.dir.clone();
        for s in parts {
            p.push(s);
        }
        p
    }

    /// Reads a text file (invalid UTF-8 is replaced).
    pub fn read(&self, node_path: &str) -> Result<String, ReadError> {
        let p = self.host_path(node_path);
        let meta = std::fs::metadata(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Other(e.to_string()),
        })?;
        if meta.is_dir() {
            return Err(ReadError::Other("is a directory".into()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(ReadError::Other(format!(
                "larger than {MAX_FILE_BYTES} bytes ({} bytes)",
                meta.len()
            )));
        }
        let bytes = std::fs::read(&p).map_err(|e| ReadError::Other(e.to_string()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The mode and owner of a file or directory; `None` when it does not exist.
    pub fn stat(&self, node_path: &str) -> Option<Stat> {
        let m = std::fs::metadata(self.host_path(node_path)).ok()?;
        Some(Stat {
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            is_dir: m.is_dir(),
        })
    }

    pub fn exists(&self, node_path: &str) -> bool {
        self.stat(node_path).is_some()
    }

    /// Names in a directory, sorted; empty when it does not exist.
    pub fn list_dir(&self, node_path: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.host_path(node_path)) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Every file under a directory (recursively, at most `limit` entries), as node paths.
    pub fn walk(&self, node_path: &str, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![node_path.trim_end_matches('/').to_string()];
        while let Some(dir) = stack.pop() {
            for name in self.list_dir(&dir) {
                if out.len() >= limit {
                    return out;
                }
                let p = format!("{dir}/{name}");
                match self.stat(&p) {
                    Some(s) if s.is_dir => stack.push(p),
                    Some(_) => out.push(p),
                    None => {}
                }
            }
        }
        out.sort();
        out
    }

    /// The processes in `/proc` (directories named by a PID with a `cmdline` file). Kernel
    /// threads (empty command lines) are skipped; unreadable entries are diagnostics.
    pub fn processes(&self) -> (Vec<Process>, Vec<Diagnostic>) {
        let mut procs = Vec::new();
        let mut diags = Vec::new();
        for name in self.list_dir("/proc") {
            let Ok(pid) = name.parse::<u32>() else {
                continue;
            };
            let path = format!("/proc/{pid}/cmdline");
            match std::fs::read(self.host_path(&path)) {
                Ok(bytes) => {
                    let args = parse_cmdline(&bytes);
                    if !args.is_empty() {
                        procs.push(Process { pid, args });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => diags.push(Diagnostic::new(
                    Level::Warning,
                    path,
                    0,
                    format!("cannot read the command line: {e}"),
                )),
            }
        }
        procs.sort_by_key(|p| p.pid);
        (procs, diags)
    }

    /// A user's name from the root's `/etc/passwd`; `root` for 0, else the number.
    pub fn user_name(&self, uid: u32) -> String {
        self.id_name("/etc/passwd", uid).unwrap_or_else(|| {
            if uid == 0 {
                "root".into()
            } else {
                uid.to_string()
            }
        })
    }

    /// A group's name from the root's `/etc/group`; `root` for 0, else the number.
    pub fn group_name(&self, gid: u32) -> String {
        self.id_name("/etc/group", gid).unwrap_or_else(|| {
            if gid == 0 {
                "root".into()
            } else {
                gid.to_string()
            }
        })
    }

    fn id_name(&self, file: &str, id: u32) -> Option<String> {
        let text = self.read(file).ok()?;
        text.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _pw = f.next()?;
            let n: u32 = f.next()?.trim().parse().ok()?;
            (n == id && !name.is_empty()).then(|| name.to_string())
        })
    }
}

fn split(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/real")).unwrap();
        std::fs::write(d.path().join("etc/real/f"), "inside").unwrap();
        std::os::unix::fs::symlink("/etc/real", d.path().join("etc/link")).unwrap();
        let r = Root::new(d.path());
        assert_eq!(r.read("/etc/link/f").unwrap(), "inside");
        assert_eq!(r.read("/etc/missing"), Err(ReadError::NotFound));
        assert_eq!(r.read("/../../etc/real/f").unwrap(), "inside");
    }

    #[test]
    fn processes_skip_kernel_threads_and_non_pids() {
        let d = tempfile::tempdir().unwrap();
        for (pid, cmd) in [("1", "systemd\0"), ("2", ""), ("self", "x\0")] {
            std::fs::create_dir_all(d.path().join("proc").join(pid)).unwrap();
            std::fs::write(d.path().join("proc").join(pid).join("cmdline"), cmd).unwrap();
        }
        let (p, diags) = Root::new(d.path()).processes();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].exe(), "systemd");
        assert!(diags.is_empty());
    }
}
