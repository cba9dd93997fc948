//! `scan --images`: the images the scanned workloads run, each analysed once (the same
//! reference in many workloads is one scan, and layers come from the cache), and the findings
//! joined to every workload and container that uses it. Images are found locally first: OCI
//! layout directories whose index names the reference (`org.opencontainers.image.ref.name`),
//! then the registry. Each image's result is also written to the result cache that admission
//! reads (see [`results`]).

use crate::report::{findings, ImageResult};
use crate::Error;
use palisade_model::{Diagnostic, Level, Object};
use palisade_report::{Finding, ObjectId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One container's image.
#[derive(Clone, Debug)]
pub struct ImageUse {
    pub image: String,
    pub object: ObjectId,
    pub source: String,
    pub line: u32,
    /// `spec.template.spec.containers[0].image`
    pub path: String,
    /// `container "web"`
    pub container: String,
}

/// Every container image of every pod-bearing object, in object order.
pub fn image_uses(objects: &[Object]) -> Vec<ImageUse> {
    let mut out = Vec::new();
    for o in objects {
        let Some(pod) = o.pod() else { continue };
        for c in pod.containers() {
            let Some(image) = c.image().filter(|i| !i.trim().is_empty()) else {
                continue;
            };
            out.push(ImageUse {
                image: image.trim().to_string(),
                object: ObjectId::from_object(o),
                source: o.source.display(),
                line: c.locate(&["image"]).line,
                path: c.path(&["image"]),
                container: c.label(),
            });
        }
    }
    out
}

/// The reference names of the images in OCI layout directories: name → directory.
pub fn layout_index(dirs: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut m = BTreeMap::new();
    let mut add = |d: &Path| {
        let Ok(b) = std::fs::read(d.join("index.json")) else {
            return;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else {
            return;
        };
        for e in v
            .get("manifests")
            .and_then(|x| x.as_array())
            .map(|a| a.as_slice())
            .unwrap_or(&[])
        {
            if let Some(n) = e
                .get("annotations")
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
                .and_then(|n| n.as_str())
            {
                m.entry(n.to_string()).or_insert_with(|| d.to_path_buf());
            }
        }
    };
    for d in dirs {
        if d.join("oci-layout").is_file() {
            add(d);
        } else if let Ok(rd) = std::fs::read_dir(d) {
            let mut subs: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("oci-layout").is_file())
                .collect();
            subs.sort();
            for s in subs {
                add(&s);
            }
        }
    }
    m
}

/// Scans each distinct image once with `scan_one` (given the reference and where to read it:
/// a local layout directory or the reference itself) and returns the findings joined to the
/// workloads, the results by image, and a diagnostic for each image that could not be read.
pub fn scan_images(
    uses: &[ImageUse],
    layouts: &BTreeMap<String, PathBuf>,
    mut scan_one: impl FnMut(&str, &str) -> Result<ImageResult, Error>,
) -> (Vec<Finding>, BTreeMap<String, ImageResult>, Vec<Diagnostic>) {
    let mut results: BTreeMap<String, Result<ImageResult, String>> = BTreeMap::new();
    for u in uses {
        if results.contains_key(&u.image) {
            continue;
        }
        let location = layouts
            .get(&u.image)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| u.image.clone());
        let r = scan_one(&u.image, &location).map(|mut r| {
            r.reference = u.image.clone();
            r
        });
        results.insert(u.image.clone(), r.map_err(|e| e.to_string()));
    }
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for u in uses {
        match &results[&u.image] {
            Ok(r) => {
                let mut f = findings(r, &u.object, &u.source, u.line, &u.path);
                for x in &mut f {
                    x.message = format!("{}: {}", u.container, x.message);
                }
                out.extend(f);
            }
            Err(e) => diags.push(Diagnostic::new(
                Level::Error,
                &u.source,
                u.line,
                format!(
                    "{} {}: image {} could not be scanned: {e}",
                    u.object.qualified(),
                    u.container,
                    u.image
                ),
            )),
        }
    }
    let ok = results
        .into_iter()
        .filter_map(|(k, v)| v.ok().map(|r| (k, r)))
        .collect();
    (out, ok, diags)
}
