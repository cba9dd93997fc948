//! Container image analysis: sources (OCI layout directories and archives, `docker save`
//! archives, root filesystem directories), layers read one by one as streams and cached by
//! digest, merged with whiteout and opaque-directory rules without extracting anything
//! ([`fs`]), the package catalog ([`catalog`], [`rpm`]), SBOMs ([`sbom`]), the vulnerability
//! database ([`db`], [`osv`]), version comparators ([`version`]), matching ([`matcher`]),
//! VEX ([`vex`]) and the image hardening checks ([`harden`]).
//!
//! No I/O happens in the catalogers, comparators, matcher or checks: they take bytes and
//! values; [`analyze`] and [`db`] are the readers.

pub mod cache;
pub mod catalog;
pub mod db;
pub mod digest;
pub mod fixture;
pub mod fs;
pub mod gate;
pub mod harden;
pub mod layer;
pub mod matcher;
pub mod model;
pub mod osv;
pub mod registry;
pub mod report;
pub mod results;
pub mod rpm;
pub mod sbom;
pub mod source;
pub mod update;
pub mod version;
pub mod vex;
pub mod workloads;
pub mod zip;

pub use cache::Cache;
pub use digest::Digest;
pub use model::{Entry, FileFacts, Kind, LayerFacts, OsInfo, Package, PkgKind};
pub use source::{ImageConfig, SourceKind};

/// An error with its context (file, layer, digest) in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    pub fn new(s: impl Into<String>) -> Error {
        Error(s.into())
    }
}

/// How an image is analysed.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `os/arch[/variant]` for multi-platform indexes.
    pub platform: Option<String>,
    pub cache: Option<std::path::PathBuf>,
    pub registry: registry::RegistryOptions,
}

/// Where each layer's facts came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    pub digest: String,
    pub cached: bool,
}

/// The analysed image.
pub struct Analysis {
    pub reference: String,
    pub manifest_digest: Option<String>,
    pub config: ImageConfig,
    pub layers: Vec<LayerInfo>,
    pub merged: fs::Merged,
    pub os: Option<OsInfo>,
    pub packages: Vec<Package>,
    /// Problems reading parts of the image (named by file and line); the rest was analysed.
    pub warnings: Vec<String>,
}

/// Analyses an image from any source (see [`SourceKind::detect`]); registry references are
/// pulled ([`registry`]).
pub fn analyze(arg: &str, opts: &Options) -> Result<Analysis, Error> {
    match SourceKind::detect(arg) {
        SourceKind::Rootfs(p) => {
            let l = layer::read_rootfs(&p)?;
            Ok(finish(
                arg.to_string(),
                None,
                ImageConfig::default(),
                vec![l],
                vec![LayerInfo {
                    digest: String::new(),
                    cached: false,
                }],
            ))
        }
        SourceKind::OciDir(p) => {
            let o = source::from_layout(
                source::Blobs::Dir(p.clone()),
                &p.display().to_string(),
                opts.platform.as_deref(),
            )?;
            analyze_opened(o, opts)
        }
        SourceKind::Archive(p) => {
            analyze_opened(source::from_archive(&p, opts.platform.as_deref())?, opts)
        }
        SourceKind::Registry(r) => registry::analyze(&r, opts, &opts.registry),
    }
}

/// Reads every layer of an opened image, from the cache when it holds the digest.
pub fn analyze_opened(o: source::Opened, opts: &Options) -> Result<Analysis, Error> {
    let cache = Cache::new(opts.cache.clone());
    let mut facts = Vec::with_capacity(o.layers.len());
    let mut infos = Vec::with_capacity(o.layers.len());
    let mut warnings = Vec::new();
    for (i, l) in o.layers.iter().enumerate() {
        let key = l.digest.to_string();
        if let Some(f) = cache.get(&key) {
            facts.push(f);
            infos.push(LayerInfo {
                digest: key,
                cached: true,
            });
            continue;
        }
        let what = format!("{}: layer {} ({})", o.reference, i + 1, l.digest);
        let f = layer::read_layer(o.blobs.open(&l.blob)?, Some(&l.digest), &what)?;
        if let Err(e) = cache.put(&f) {
            warnings.push(format!("layer cache not written: {e}"));
        }
        facts.push(f);
        infos.push(LayerInfo {
            digest: key,
            cached: false,
        });
    }
    let mut a = finish(o.reference, o.manifest_digest, o.config, facts, infos);
    a.warnings.splice(0..0, warnings);
    Ok(a)
}

fn finish(
    reference: String,
    manifest_digest: Option<String>,
    config: ImageConfig,
    facts: Vec<LayerFacts>,
    infos: Vec<LayerInfo>,
) -> Analysis {
    let mut warnings = Vec::new();
    for f in &facts {
        for s in &f.skipped {
            warnings.push(format!(
                "layer {}: entry {s:?} skipped (path leaves the image root)",
                f.digest
            ));
        }
    }
    let merged = fs::Merged::build(facts.iter());
    let mut os = None;
    let mut packages = Vec::new();
    // os-release: /etc wins over /usr/lib, as systemd reads them.
    for p in ["etc/os-release", "usr/lib/os-release"] {
        if os.is_none() {
            os = merged.facts.get(p).and_then(|(_, f)| f.os.clone());
        }
    }
    for (path, (idx, f)) in &merged.facts {
        for e in &f.errors {
            warnings.push(e.clone());
        }
        let layer = infos
            .get(*idx)
            .map(|l| l.digest.clone())
            .filter(|d| !d.is_empty());
        for p in &f.packages {
            let mut p = p.clone();
            p.layer = layer.clone();
            p.path = path.clone();
            packages.push(p);
        }
    }
    // The same npm package read from package-lock.json and from node_modules: keep one.
    let mut seen = std::collections::HashSet::new();
    packages.retain(|p| p.kind != PkgKind::Npm || seen.insert((p.name.clone(), p.version.clone())));
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.path).cmp(&(b.kind, &b.name, &b.version, &b.path))
    });
    Analysis {
        reference,
        manifest_digest,
        config,
        layers: infos,
        merged,
        os,
        packages,
        warnings,
    }
}
