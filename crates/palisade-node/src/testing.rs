//! Helpers for tests and benchmarks (this crate's, the CLI's): the fixture node roots, copied
//! to a directory with the modes and owners a table gives (git keeps neither).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<name>` of this crate.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

/// Modes and owners to apply to a copied fixture.
#[derive(Clone, Copy, Debug)]
pub struct Layout<'a> {
    /// (node path, mode) after the defaults (files 600, directories 700).
    pub modes: &'a [(&'a str, u32)],
    /// (node path, uid, gid), recursive for directories, after the default root:root.
    pub owners: &'a [(&'a str, u32, u32)],
}

/// The layout of the hardened kubeadm fixture: etcd's data directory owned by etcd.
pub const HARDENED: Layout<'static> = Layout {
    modes: &[],
    owners: &[("/var/lib/etcd", 1001, 1001)],
};

fn set_all(p: &Path, uid: Option<u32>, gid: Option<u32>, modes: bool) -> std::io::Result<()> {
    for e in std::fs::read_dir(p)? {
        let p = e?.path();
        let dir = p.is_dir();
        if modes {
            let m = if dir { 0o700 } else { 0o600 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m))?;
        }
        std::os::unix::fs::chown(&p, uid, gid)?;
        if dir {
            set_all(&p, uid, gid, modes)?;
        }
    }
    Ok(())
}

/// Copies fixture `name` into `to` and applies the defaults and `layout` (`chown` needs
/// root, as CI runs).
pub fn install(name: &str, to: &Path, layout: Layout<'_>) -> std::io::Result<()> {
    copy_tree(&fixture_dir(name), to)?;
    set_all(to, Some(0), Some(0), true)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))?;
    for (p, uid, gid) in layout.owners {
        let p = to.join(p.trim_start_matches('/'));
        std::os::unix::fs::chown(&p, Some(*uid), Some(*gid))?;
        if p.is_dir() {
            set_all(&p, Some(*uid), Some(*gid), false)?;
        }
    }
    for (p, m) in layout.modes {
        std::fs::set_permissions(
            to.join(p.trim_start_matches('/')),
            std::fs::Permissions::from_mode(*m),
        )?;
    }
    Ok(())
}
