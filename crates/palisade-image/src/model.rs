//! What the layer pass keeps: file metadata of every entry, and the facts of the files the
//! catalogers read (packages, OS identity, users, secrets). This is what the layer cache
//! stores, keyed by the layer's digest; file contents are never kept.

use serde::{Deserialize, Serialize};

/// Bumped whenever the analysis of a layer changes, so older cache entries are ignored.
pub const ANALYZER_VERSION: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
    /// `.wh.<name>`: the named path (and everything under it) of lower layers is deleted.
    Whiteout,
    /// `.wh..wh..opq` in a directory: the directory's contents from lower layers are hidden.
    Opaque,
}

/// One tar entry (paths are relative, without a leading `/` or `./`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PkgKind {
    Deb,
    Apk,
    Rpm,
    Cargo,
    Go,
    Python,
    Npm,
    Maven,
}

impl PkgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PkgKind::Deb => "deb",
            PkgKind::Apk => "apk",
            PkgKind::Rpm => "rpm",
            PkgKind::Cargo => "cargo",
            PkgKind::Go => "golang",
            PkgKind::Python => "pypi",
            PkgKind::Npm => "npm",
            PkgKind::Maven => "maven",
        }
    }

    pub fn is_os(self) -> bool {
        matches!(self, PkgKind::Deb | PkgKind::Apk | PkgKind::Rpm)
    }
}

/// One package found in the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub kind: PkgKind,
    pub name: String,
    pub version: String,
    /// The source package (dpkg `Source:`, apk origin, rpm source RPM name); the distro
    /// advisories are keyed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The file the package was read from (database, manifest, binary).
    pub path: String,
    /// Digest of the layer that file came from (filled in after merging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// OS identity from os-release.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    pub id: String,
    #[serde(default)]
    pub version_id: String,
    #[serde(default)]
    pub version_codename: String,
    #[serde(default)]
    pub pretty_name: String,
}

/// A secret found in a file (never its value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretHit {
    /// 1-based line.
    pub line: usize,
    pub what: String,
}

/// What the catalogers learnt from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// `/etc/passwd`: user name → uid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<(String, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretHit>,
    /// Problems reading the file (with line numbers where there are lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl FileFacts {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.os.is_none()
            && self.users.is_empty()
            && self.secrets.is_empty()
            && self.errors.is_empty()
    }
}

/// The analysis of one layer: what the cache stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFacts {
    pub analyzer: u32,
    /// The digest of the layer blob as read (compressed, for registry and OCI layers).
    pub digest: String,
    pub entries: Vec<Entry>,
    pub files: Vec<FileFacts>,
    /// Entries skipped as unsafe (`..` components), counted, not silently dropped.
    #[serde(default)]
    pub skipped: Vec<String>,
}
