//! The admission rule over cached image results: deny a workload when an image it runs has an
//! active vulnerability at or above a severity that has a fix. It reads only the image result
//! cache ([`crate::results`], written by `image scan` and `scan --images`, or a warm-up job):
//! nothing is pulled at admission time. Exemptions by image (globs) and by vulnerability id,
//! and VEX statements, take findings out; an image never scanned is let through, warned
//! about, or denied, as configured.

use crate::results::{self, CachedVuln};
use crate::vex::Statement;
use palisade_report::Severity;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unscanned {
    Allow,
    Warn,
    Deny,
}

#[derive(Clone, Debug)]
pub struct Gate {
    pub cache_dir: PathBuf,
    pub threshold: Severity,
    /// Image reference globs (`registry.example/legacy/*`).
    pub exempt_images: Vec<String>,
    /// Vulnerability ids or aliases.
    pub exempt_vulnerabilities: Vec<String>,
    pub vex: Vec<Statement>,
    pub unscanned: Unscanned,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Deny(String),
    Warn(String),
}

fn vex_covers(st: &Statement, v: &CachedVuln, image: &str) -> bool {
    st.suppresses()
        && (st.vulnerability == v.id || v.aliases.contains(&st.vulnerability))
        && (st.products.is_empty()
            || st.products.iter().any(|p| {
                let base = p.split(['?', '@', '#']).next().unwrap_or(p);
                p == image || base.rsplit('/').next() == Some(v.package.as_str())
            }))
}

impl Gate {
    /// The decisions for the images of one object: (image reference, container label).
    pub fn evaluate(&self, images: &[(String, String)]) -> Vec<Decision> {
        let glob = palisade_checks::util::glob_match;
        let mut out = Vec::new();
        for (image, container) in images {
            if self.exempt_images.iter().any(|g| glob(g, image)) {
                continue;
            }
            let Some(c) = results::load(&self.cache_dir, image) else {
                let m = format!("{container}: image {image} has not been scanned (no cached result; run `palisade image scan` or `scan --images`)");
                match self.unscanned {
                    Unscanned::Allow => {}
                    Unscanned::Warn => out.push(Decision::Warn(m)),
                    Unscanned::Deny => out.push(Decision::Deny(m)),
                }
                continue;
            };
            let bad: Vec<&CachedVuln> = c
                .vulns
                .iter()
                .filter(|v| v.fixed.is_some() && v.severity() >= self.threshold)
                .filter(|v| {
                    !self
                        .exempt_vulnerabilities
                        .iter()
                        .any(|e| *e == v.id || v.aliases.contains(e))
                })
                .filter(|v| !self.vex.iter().any(|st| vex_covers(st, v, image)))
                .collect();
            if let Some(first) = bad.first() {
                let more = if bad.len() > 1 {
                    format!(" and {} more", bad.len() - 1)
                } else {
                    String::new()
                };
                out.push(Decision::Deny(format!(
                    "{container}: image {image} has a {} vulnerability with a fix: {} {} is affected by {}, fixed in {}{more}",
                    first.severity(),
                    first.package,
                    first.installed,
                    first.id,
                    first.fixed.as_deref().unwrap_or("?"),
                )));
            }
        }
        out
    }
}
