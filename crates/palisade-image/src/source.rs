//! Image sources without a network: an OCI image layout directory, a tar archive of one (or a
//! `docker save` archive), and a root filesystem directory. Archives are indexed once (entry
//! name → offset and size) and blobs are read in place, never extracted. Manifests and
//! configurations are verified against their digests like layers are.

use crate::digest::Digest;
use crate::Error;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest manifest, index or configuration read into memory.
const MAX_JSON: u64 = 8 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    OciDir(PathBuf),
    Archive(PathBuf),
    Rootfs(PathBuf),
    Registry(String),
}

impl SourceKind {
    /// A path that exists is a layout directory (it has `oci-layout`), a root filesystem
    /// directory, or an archive; anything else is a registry reference.
    pub fn detect(arg: &str) -> SourceKind {
        let p = Path::new(arg);
        if p.is_dir() {
            if p.join("oci-layout").is_file() {
                SourceKind::OciDir(p.to_path_buf())
            } else {
                SourceKind::Rootfs(p.to_path_buf())
            }
        } else if p.exists() {
            SourceKind::Archive(p.to_path_buf())
        } else {
            SourceKind::Registry(arg.to_string())
        }
    }
}

/// Where blobs are read from.
pub enum Blobs {
    Dir(PathBuf),
    Tar {
        file: PathBuf,
        index: HashMap<String, (u64, u64)>,
    },
    Memory(HashMap<String, Vec<u8>>),
}

impl Blobs {
    /// Opens the blob at `name` (a path inside the layout or archive).
    pub fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, Error> {
        match self {
            Blobs::Dir(d) => {
                let p = d.join(name);
                let f = std::fs::File::open(&p)
                    .map_err(|e| Error::new(format!("{}: {e}", p.display())))?;
                Ok(Box::new(f))
            }
            Blobs::Tar { file, index } => {
                let (off, size) = *index.get(name).ok_or_else(|| {
                    Error::new(format!("{}: the archive has no {name}", file.display()))
                })?;
                let mut f = std::fs::File::open(file)
                    .map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
                f.seek(SeekFrom::Start(off))
                    .map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
                Ok(Box::new(f.take(size)))
            }
            Blobs::Memory(m) => {
                let b = m
                    .get(name)
                    .ok_or_else(|| Error::new(format!("blob {name} was not downloaded")))?;
                Ok(Box::new(&b[..]))
            }
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        match self {
            Blobs::Dir(d) => d.join(name).is_file(),
            Blobs::Tar { index, .. } => index.contains_key(name),
            Blobs::Memory(m) => m.contains_key(name),
        }
    }

    /// Reads a small blob whole, verifying its digest when one is given.
    pub fn read_small(
        &self,
        name: &str,
        expected: Option<&Digest>,
        what: &str,
    ) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(MAX_JSON + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::new(format!("{what}: cannot read {name}: {e}")))?;
        if buf.len() as u64 > MAX_JSON {
            return Err(Error::new(format!(
                "{what}: {name} is larger than {MAX_JSON} bytes"
            )));
        }
        if let Some(d) = expected {
            let got = Digest::of(&buf);
            if &got != d {
                return Err(Error::new(format!(
                    "{what}: digest mismatch for {name}: expected {d}, got {got}"
                )));
            }
        }
        Ok(buf)
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// One layer to read: where its bytes are and the digest they must hash to.
#[derive(Clone, Debug)]
pub struct LayerRef {
    pub blob: String,
    pub digest: Digest,
    pub media_type: String,
    pub size: Option<u64>,
}

/// The parts of the image configuration the checks read.
#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    pub os: String,
    pub architecture: String,
    pub user: String,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub exposed_ports: Vec<String>,
    pub healthcheck: bool,
    pub labels: Vec<(String, String)>,
    /// `created_by` of each history entry.
    pub history: Vec<String>,
    pub diff_ids: Vec<String>,
}

impl ImageConfig {
    pub fn parse(v: &Value) -> ImageConfig {
        let c = v
            .get("config")
            .or_else(|| v.get("container_config"))
            .cloned()
            .unwrap_or(Value::Null);
        let strs = |x: Option<&Value>| -> Vec<String> {
            x.and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let s = |x: Option<&Value>| x.and_then(|v| v.as_str()).unwrap_or("").to_string();
        ImageConfig {
            os: s(v.get("os")),
            architecture: s(v.get("architecture")),
            user: s(c.get("User")),
            env: strs(c.get("Env")),
            entrypoint: strs(c.get("Entrypoint")),
            cmd: strs(c.get("Cmd")),
            exposed_ports: c
                .get("ExposedPorts")
                .and_then(|p| p.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default(),
            healthcheck: c
                .get("Healthcheck")
                .and_then(|h| h.get("Test"))
                .and_then(|t| t.as_array())
                .is_some_and(|t| {
                    t.first().and_then(|x| x.as_str()) != Some("NONE") && !t.is_empty()
                }),
            labels: c
                .get("Labels")
                .and_then(|l| l.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            history: v
                .get("history")
                .and_then(|h| h.as_array())
                .map(|a| a.iter().map(|h| s(h.get("created_by"))).collect())
                .unwrap_or_default(),
            diff_ids: strs(v.get("rootfs").and_then(|r| r.get("diff_ids"))),
        }
    }
}

/// An opened image: its configuration, its layers bottom to top, and where to read them.
pub struct Opened {
    pub reference: String,
    pub manifest_digest: Option<String>,
    pub config: ImageConfig,
    pub layers: Vec<LayerRef>,
    pub blobs: Blobs,
}

fn parse_json(b: &[u8], what: &str) -> Result<Value, Error> {
    serde_json::from_slice(b)
        .map_err(|e| Error::new(format!("{what}:{}: invalid JSON: {e}", e.line())))
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// `os/arch[/variant]`.
pub fn platform_matches(p: &Value, want: &str) -> bool {
    let os = p.get("os").and_then(|v| v.as_str()).unwrap_or("");
    let arch = p.get("architecture").and_then(|v| v.as_str()).unwrap_or("");
    let variant = p.get("variant").and_then(|v| v.as_str());
    let mut w = want.split('/');
    let (wo, wa, wv) = (w.next().unwrap_or(""), w.next().unwrap_or(""), w.next());
    wo == os && wa == arch && (wv.is_none() || wv == variant)
}

/// Picks a manifest descriptor from an index: the one matching `platform` (default
/// linux/amd64 when the index has several), skipping attestation manifests (`unknown/unknown`).
pub fn choose<'a>(
    manifests: &'a [Value],
    platform: Option<&str>,
    what: &str,
) -> Result<&'a Value, Error> {
    let candidates: Vec<&Value> = manifests
        .iter()
        .filter(|m| {
            m.get("platform")
                .and_then(|p| p.get("os"))
                .and_then(|o| o.as_str())
                != Some("unknown")
        })
        .collect();
    if platform.is_none() && candidates.len() == 1 {
        return Ok(candidates[0]);
    }
    let want = platform.unwrap_or("linux/amd64");
    candidates
        .iter()
        .find(|m| m.get("platform").is_some_and(|p| platform_matches(p, want)))
        .copied()
        .ok_or_else(|| {
            let have: Vec<String> = candidates
                .iter()
                .filter_map(|m| m.get("platform"))
                .map(|p| {
                    let mut s = format!(
                        "{}/{}",
                        p.get("os").and_then(|v| v.as_str()).unwrap_or("?"),
                        p.get("architecture")
                            .and_then(|v| v.as_str())
                            .unwrap_or("?")
                    );
                    if let Some(v) = p.get("variant").and_then(|v| v.as_str()) {
                        s = format!("{s}/{v}");
                    }
                    s
                })
                .collect();
            Error::new(format!(
                "{what}: no manifest for platform {want} (the index has: {})",
                have.join(", ")
            ))
        })
}

fn descriptor_digest(d: &Value, what: &str) -> Result<Digest, Error> {
    let s = d
        .get("digest")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::new(format!("{what}: descriptor without a digest")))?;
    Digest::parse(s).map_err(|e| Error::new(format!("{what}: {e}")))
}

/// Follows an OCI index (nested indexes too) down to one image manifest and reads it.
pub fn from_layout(blobs: Blobs, what: &str, platform: Option<&str>) -> Result<Opened, Error> {
    let index = parse_json(
        &blobs.read_small("index.json", None, what)?,
        &format!("{what}/index.json"),
    )?;
    let mut manifests = index
        .get("manifests")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    let mut reference = index_ref(&index);
    for _ in 0..4 {
        let d = choose(&manifests, platform, what)?.clone();
        if reference.is_none() {
            reference = d
                .get("annotations")
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
                .and_then(|r| r.as_str())
                .map(str::to_string);
        }
        let digest = descriptor_digest(&d, what)?;
        let body = blobs.read_small(&blob_path(&digest), Some(&digest), what)?;
        let m = parse_json(&body, &format!("{what}/{}", blob_path(&digest)))?;
        let mt = m
            .get("mediaType")
            .or(d.get("mediaType"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if INDEX_TYPES.contains(&mt) || m.get("manifests").is_some() {
            manifests = m
                .get("manifests")
                .and_then(|m| m.as_array())
                .cloned()
                .unwrap_or_default();
            continue;
        }
        return opened_from_manifest(
            blobs,
            &m,
            Some(digest.to_string()),
            reference.unwrap_or_else(|| what.to_string()),
            what,
        );
    }
    Err(Error::new(format!(
        "{what}: image indexes nested too deeply"
    )))
}

fn index_ref(_index: &Value) -> Option<String> {
    None
}

/// Reads an image manifest's config and layer descriptors.
pub fn opened_from_manifest(
    blobs: Blobs,
    m: &Value,
    manifest_digest: Option<String>,
    reference: String,
    what: &str,
) -> Result<Opened, Error> {
    let cd = m
        .get("config")
        .ok_or_else(|| Error::new(format!("{what}: manifest without a config")))?;
    let cdig = descriptor_digest(cd, what)?;
    let config = parse_json(
        &blobs.read_small(&blob_path(&cdig), Some(&cdig), what)?,
        &format!("{what}/{}", blob_path(&cdig)),
    )?;
    let mut layers = Vec::new();
    for l in m
        .get("layers")
        .and_then(|l| l.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let d = descriptor_digest(l, what)?;
        layers.push(LayerRef {
            blob: blob_path(&d),
            digest: d,
            media_type: l
                .get("mediaType")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            size: l.get("size").and_then(|s| s.as_u64()),
        });
    }
    Ok(Opened {
        reference,
        manifest_digest,
        config: ImageConfig::parse(&config),
        layers,
        blobs,
    })
}

/// Indexes a tar archive: entry name → (offset of its data, size).
pub fn index_tar(path: &Path) -> Result<HashMap<String, (u64, u64)>, Error> {
    let what = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::new(format!("{what}: {e}")))?;
    let mut ar = tar::Archive::new(std::io::BufReader::new(f));
    let mut index = HashMap::new();
    let bad = |e: std::io::Error| Error::new(format!("{what}: not a readable tar archive: {e}"));
    for e in ar.entries().map_err(bad)? {
        let e = e.map_err(bad)?;
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        if let Some(n) = crate::layer::normalize(&name) {
            index.insert(n, (e.raw_file_position(), e.size()));
        }
    }
    Ok(index)
}

/// Opens a `docker save` archive (manifest.json) or an OCI layout archive (index.json).
pub fn from_archive(path: &Path, platform: Option<&str>) -> Result<Opened, Error> {
    let what = path.display().to_string();
    let index = index_tar(path)?;
    let blobs = Blobs::Tar {
        file: path.to_path_buf(),
        index,
    };
    if blobs.exists("manifest.json") {
        let m = parse_json(
            &blobs.read_small("manifest.json", None, &what)?,
            &format!("{what}/manifest.json"),
        )?;
        let first = m
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| Error::new(format!("{what}/manifest.json: no image")))?;
        let cname = first
            .get("Config")
            .and_then(|c| c.as_str())
            .ok_or_else(|| Error::new(format!("{what}/manifest.json: no Config")))?;
        // The config's name is its digest (`<hex>.json` or `blobs/sha256/<hex>`).
        let hex = cname
            .rsplit('/')
            .next()
            .unwrap_or(cname)
            .trim_end_matches(".json");
        let cdig = Digest::parse(&format!("sha256:{hex}")).ok();
        let config = parse_json(
            &blobs.read_small(cname, cdig.as_ref(), &what)?,
            &format!("{what}/{cname}"),
        )?;
        let config = ImageConfig::parse(&config);
        let names: Vec<String> = first
            .get("Layers")
            .and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if names.len() != config.diff_ids.len() {
            return Err(Error::new(format!(
                "{what}: {} layers but {} diff_ids in the configuration",
                names.len(),
                config.diff_ids.len()
            )));
        }
        // docker save writes layers uncompressed, so each must hash to its diff_id.
        let mut layers = Vec::new();
        for (n, d) in names.iter().zip(&config.diff_ids) {
            let digest = Digest::parse(d).map_err(|e| Error::new(format!("{what}: {e}")))?;
            layers.push(LayerRef {
                blob: n.clone(),
                digest,
                media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
                size: None,
            });
        }
        let reference = first
            .get("RepoTags")
            .and_then(|t| t.as_array())
            .and_then(|a| a.first())
            .and_then(|t| t.as_str())
            .unwrap_or(&what)
            .to_string();
        return Ok(Opened {
            reference,
            manifest_digest: None,
            config,
            layers,
            blobs,
        });
    }
    if blobs.exists("index.json") {
        return from_layout(blobs, &what, platform);
    }
    Err(Error::new(format!("{what}: neither a docker save archive (manifest.json) nor an OCI layout archive (index.json)")))
}
