//! Packages × advisories → vulnerability findings. OS packages are matched by their source
//! package in the distro's ecosystem (`Debian:12`, `Alpine:v3.19`, …), language packages in
//! theirs. Distro over upstream: when a language package sits where the distro's package
//! manager installs them and the distro's data has a record for the same CVE, the distro
//! record decides (its fix version, or that this release is not affected) and the upstream
//! match is dropped.

use crate::db::{normalize_ecosystem, Db};
use crate::model::{OsInfo, Package, PkgKind};
use crate::osv::{self, Osv};
use crate::version::Scheme;
use crate::Error;
use palisade_report::Severity;

/// One vulnerable package.
#[derive(Clone, Debug, PartialEq)]
pub struct Vuln {
    /// The advisory id (`CVE-…`, `GHSA-…`, `DSA-…`).
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub package: Package,
    pub ecosystem: String,
    pub installed: String,
    pub fixed: Option<String>,
    pub severity: Severity,
    /// Where the severity came from: "distro urgency", "CVSS", "advisory database", "unknown".
    pub severity_source: &'static str,
    pub cvss: Option<f64>,
    /// Set by VEX: (status, justification or statement).
    pub vex: Option<(String, String)>,
}

impl Vuln {
    /// The CVE this finding is about, when known (the id or an alias).
    pub fn cve(&self) -> Option<&str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .find(|a| a.starts_with("CVE-"))
            .map(|s| s.as_str())
    }

    /// The key findings are deduplicated by: the CVE, else the advisory id.
    pub fn key(&self) -> &str {
        self.cve().unwrap_or(&self.id)
    }
}

/// The OSV ecosystem, package name and version to look up for a package.
pub fn lookup(p: &Package, os: Option<&OsInfo>) -> Option<(String, String, String)> {
    let major_minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    let major = |v: &str| v.split('.').next().unwrap_or("").to_string();
    let src = || p.source_name.clone().unwrap_or_else(|| p.name.clone());
    let srcv = || {
        p.source_version
            .clone()
            .unwrap_or_else(|| p.version.clone())
    };
    Some(match p.kind {
        PkgKind::Deb => {
            let os = os?;
            let eco = match os.id.as_str() {
                "debian" => format!("Debian:{}", major(&os.version_id)),
                "ubuntu" => format!("Ubuntu:{}", os.version_id),
                _ => return None,
            };
            (eco, src(), srcv())
        }
        PkgKind::Apk => {
            let os = os?;
            let eco = match os.id.as_str() {
                "alpine" => format!("Alpine:v{}", major_minor(&os.version_id)),
                "wolfi" => "Wolfi".to_string(),
                "chainguard" => "Chainguard".to_string(),
                _ => return None,
            };
            (eco, src(), p.version.clone())
        }
        PkgKind::Rpm => {
            let os = os?;
            let eco = match os.id.as_str() {
                "rocky" => format!("Rocky Linux:{}", major(&os.version_id)),
                "almalinux" => format!("AlmaLinux:{}", major(&os.version_id)),
                "opensuse-leap" => format!("openSUSE:Leap {}", os.version_id),
                _ => return None,
            };
            (eco, src(), p.version.clone())
        }
        PkgKind::Cargo => ("crates.io".into(), p.name.clone(), p.version.clone()),
        PkgKind::Go => ("Go".into(), p.name.clone(), p.version.clone()),
        PkgKind::Python => ("PyPI".into(), p.name.clone(), p.version.clone()),
        PkgKind::Npm => ("npm".into(), p.name.clone(), p.version.clone()),
        PkgKind::Maven => ("Maven".into(), p.name.clone(), p.version.clone()),
    })
}

/// Paths where a distro's package manager installs language packages.
pub fn distro_managed(path: &str) -> bool {
    path.starts_with("usr/lib/python3/dist-packages/")
        || (path.starts_with("usr/lib/python3")
            && path.contains("/site-packages/")
            && !path.starts_with("usr/local/"))
        || path.starts_with("usr/share/java/")
        || path.starts_with("usr/share/nodejs/")
        || path.starts_with("usr/lib/node_modules/")
        || path.starts_with("usr/share/gocode/")
        || path.starts_with("usr/share/cargo/registry/")
}

fn distro_ecosystem(os: Option<&OsInfo>, pkgs: &[Package]) -> Option<String> {
    let p = pkgs.iter().find(|p| p.kind.is_os())?;
    lookup(p, os).map(|l| l.0)
}

/// Matches every package. Findings are sorted by severity (worst first), package and id, and
/// deduplicated per package and CVE (a record with a fix wins over one without).
pub fn match_packages(db: &Db, pkgs: &[Package], os: Option<&OsInfo>) -> Result<Vec<Vuln>, Error> {
    let distro = distro_ecosystem(os, pkgs);
    let mut out: Vec<Vuln> = Vec::new();
    for p in pkgs {
        let Some((eco, name, version)) = lookup(p, os) else {
            continue;
        };
        let scheme = Scheme::for_ecosystem(&eco);
        let cands = db.candidates(&eco, &name)?;
        let mut mine: Vec<Vuln> = Vec::new();
        for o in cands.iter() {
            for a in &o.affected {
                let Some(pid) = &a.package else { continue };
                if normalize_ecosystem(&pid.ecosystem) != eco
                    || crate::db::normalize_name(&eco, &pid.name)
                        != crate::db::normalize_name(&eco, &name)
                {
                    continue;
                }
                let (hit, fixed) = osv::affects(a, &version, scheme);
                if !hit {
                    continue;
                }
                mine.push(finding(o, a, p, &eco, &version, fixed));
            }
        }
        // Distro over upstream.
        if !p.kind.is_os() && distro_managed(&p.path) {
            if let Some(d) = &distro {
                mine.retain(|v| !v.cve().is_some_and(|c| db.has_cve_in(c, d)));
            }
        }
        mine.sort_by(|a, b| {
            a.key()
                .cmp(b.key())
                .then(b.fixed.is_some().cmp(&a.fixed.is_some()))
        });
        mine.dedup_by(|b, a| a.key() == b.key());
        out.extend(mine);
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.path.cmp(&b.package.path))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

fn finding(
    o: &Osv,
    a: &osv::Affected,
    p: &Package,
    eco: &str,
    version: &str,
    fixed: Option<String>,
) -> Vuln {
    let r = osv::rate(o, a);
    Vuln {
        id: o.id.clone(),
        aliases: o.aliases.clone(),
        summary: o.summary.clone(),
        package: p.clone(),
        ecosystem: eco.to_string(),
        installed: version.to_string(),
        fixed,
        severity: r.severity.unwrap_or(Severity::Medium),
        severity_source: r.source,
        cvss: r.cvss,
        vex: None,
    }
}
