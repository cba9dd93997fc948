//! OSV records (the schema's fields the matcher reads), their range semantics, severity, and
//! the conversion of the Debian Security Tracker JSON and Alpine secdb into OSV records.

use crate::version::Scheme;
use palisade_report::Severity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Osv {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PackageId {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<PackageId>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<OsvSeverity>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Event {
    fn version(&self) -> &str {
        self.introduced
            .as_deref()
            .or(self.fixed.as_deref())
            .or(self.last_affected.as_deref())
            .or(self.limit.as_deref())
            .unwrap_or("")
    }
}

/// Whether `v` is affected by one range, and the fix that applies (the first `fixed` event
/// above `v`). OSV's evaluation: events sorted by version (`introduced: "0"` first); an
/// `introduced` at or below `v` starts an affected interval, a `fixed` at or below `v` or a
/// `last_affected` below `v` ends it; with `limit` events, `v` must be below one of them.
pub fn range_affects(r: &Range, v: &str, scheme: Scheme) -> (bool, Option<String>) {
    if r.kind == "GIT" {
        return (false, None);
    }
    let cmp = |a: &str, b: &str| -> Ordering {
        match (a, b) {
            ("0", "0") => Ordering::Equal,
            ("0", _) => Ordering::Less,
            (_, "0") => Ordering::Greater,
            _ => scheme.compare(a, b),
        }
    };
    let mut events: Vec<&Event> = r.events.iter().collect();
    events.sort_by(|a, b| cmp(a.version(), b.version()));
    let limits: Vec<&str> = events.iter().filter_map(|e| e.limit.as_deref()).collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|l| *l == "*" || cmp(v, l) == Ordering::Less)
    {
        return (false, None);
    }
    let mut affected = false;
    let mut fix = None;
    for e in &events {
        if let Some(i) = &e.introduced {
            if cmp(i, v) != Ordering::Greater {
                affected = true;
            }
        } else if let Some(f) = &e.fixed {
            if cmp(f, v) != Ordering::Greater {
                affected = false;
            }
        } else if let Some(l) = &e.last_affected {
            if cmp(l, v) == Ordering::Less {
                affected = false;
            }
        }
    }
    if affected {
        fix = events
            .iter()
            .filter_map(|e| e.fixed.as_deref())
            .find(|f| cmp(f, v) == Ordering::Greater)
            .map(str::to_string);
    }
    (affected, fix)
}

/// Whether `v` is affected by an `affected` entry: listed in `versions` or inside a range.
pub fn affects(a: &Affected, v: &str, scheme: Scheme) -> (bool, Option<String>) {
    let mut hit = a
        .versions
        .iter()
        .any(|x| scheme.compare(x, v) == Ordering::Equal);
    let mut fix: Option<String> = None;
    for r in &a.ranges {
        let (h, f) = range_affects(r, v, scheme);
        if h {
            hit = true;
            if let Some(f) = f {
                fix = Some(match fix {
                    Some(old) if scheme.compare(&old, &f) == Ordering::Less => old,
                    _ => f,
                });
            }
        }
    }
    (hit, if hit { fix } else { None })
}

/// Debian urgency (tracker) → severity. `None` for "not yet assigned" and unknown words.
pub fn urgency_severity(u: &str) -> Option<Severity> {
    match u
        .trim_end_matches('*')
        .trim_end_matches("**")
        .to_ascii_lowercase()
        .as_str()
    {
        "unimportant" | "end-of-life" => Some(Severity::Info),
        "low" | "negligible" => Some(Severity::Low),
        "medium" | "moderate" => Some(Severity::Medium),
        "high" | "important" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

fn roundup(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) + 1) as f64 / 10.0
    }
}

/// The CVSS v3.x base score of a vector (`CVSS:3.1/AV:N/AC:L/...`); `None` for other versions
/// or incomplete vectors.
pub fn cvss3_base(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    if !parts.next()?.starts_with("CVSS:3") {
        return None;
    }
    let mut m = std::collections::HashMap::new();
    for p in parts {
        let (k, v) = p.split_once(':')?;
        m.insert(k, v);
    }
    let changed = *m.get("S")? == "C";
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        Some(match *m.get(k)? {
            "H" => 0.56,
            "L" => 0.22,
            "N" => 0.0,
            _ => return None,
        })
    };
    let iss = 1.0 - (1.0 - cia("C")?) * (1.0 - cia("I")?) * (1.0 - cia("A")?);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let expl = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    Some(if changed {
        roundup((1.08 * (impact + expl)).min(10.0))
    } else {
        roundup((impact + expl).min(10.0))
    })
}

pub fn score_severity(s: f64) -> Severity {
    if s >= 9.0 {
        Severity::Critical
    } else if s >= 7.0 {
        Severity::High
    } else if s >= 4.0 {
        Severity::Medium
    } else if s > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// How a finding's severity was decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Rated {
    pub severity: Option<Severity>,
    pub source: &'static str,
    pub cvss: Option<f64>,
}

/// Severity: the distro's urgency first, then the CVSS v3 base score, then the database's
/// own rating (GitHub's LOW/MODERATE/HIGH/CRITICAL).
pub fn rate(o: &Osv, a: &Affected) -> Rated {
    let urgency = [
        a.ecosystem_specific.as_ref(),
        a.database_specific.as_ref(),
        o.database_specific.as_ref(),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| {
        v.get("urgency")
            .and_then(|u| u.as_str())
            .and_then(urgency_severity)
    });
    let cvss = a
        .severity
        .iter()
        .chain(&o.severity)
        .filter(|s| s.kind.starts_with("CVSS_V3"))
        .filter_map(|s| cvss3_base(&s.score))
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    if let Some(s) = urgency {
        return Rated {
            severity: Some(s),
            source: "distro urgency",
            cvss,
        };
    }
    if let Some(c) = cvss {
        return Rated {
            severity: Some(score_severity(c)),
            source: "CVSS",
            cvss,
        };
    }
    let db = [a.database_specific.as_ref(), o.database_specific.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| {
            v.get("severity")
                .and_then(|u| u.as_str())
                .and_then(urgency_severity)
        });
    Rated {
        severity: db,
        source: if db.is_some() {
            "advisory database"
        } else {
            "unknown"
        },
        cvss,
    }
}

/// Debian release codenames → the OSV ecosystem `Debian:<version>`.
pub fn debian_release(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "stretch" => "9",
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        _ => return None,
    })
}

/// Converts the Debian Security Tracker JSON (`{source package: {CVE: {releases: {codename:
/// {status, fixed_version, urgency}}}}}`) into OSV records keyed by CVE, one `affected` per
/// package and release. Open issues have no fix; `fixed_version: "0"` (never affected) and
/// `sid` are skipped.
pub fn from_debian_tracker(v: &Value) -> Vec<Osv> {
    let mut by_cve: std::collections::BTreeMap<String, Osv> = Default::default();
    let Some(pkgs) = v.as_object() else {
        return Vec::new();
    };
    for (pkg, cves) in pkgs {
        let Some(cves) = cves.as_object() else {
            continue;
        };
        for (cve, info) in cves {
            let Some(rels) = info.get("releases").and_then(|r| r.as_object()) else {
                continue;
            };
            for (codename, r) in rels {
                let Some(ver) = debian_release(codename) else {
                    continue;
                };
                let status = r.get("status").and_then(|s| s.as_str()).unwrap_or("");
                let fixed = r.get("fixed_version").and_then(|s| s.as_str());
                if status == "undetermined" || fixed == Some("0") || status == "not-affected" {
                    continue;
                }
                let mut events = vec![Event {
                    introduced: Some("0".into()),
                    ..Event::default()
                }];
                if status == "resolved" {
                    match fixed {
                        Some(f) => events.push(Event {
                            fixed: Some(f.to_string()),
                            ..Event::default()
                        }),
                        None => continue,
                    }
                }
                let urgency = r.get("urgency").and_then(|u| u.as_str()).unwrap_or("");
                let o = by_cve.entry(cve.clone()).or_insert_with(|| Osv {
                    id: cve.clone(),
                    summary: info
                        .get("description")
                        .and_then(|d| d.as_str())
                        .unwrap_or("")
                        .to_string(),
                    ..Osv::default()
                });
                o.affected.push(Affected {
                    package: Some(PackageId {
                        ecosystem: format!("Debian:{ver}"),
                        name: pkg.clone(),
                    }),
                    ranges: vec![Range {
                        kind: "ECOSYSTEM".into(),
                        events,
                    }],
                    ecosystem_specific: Some(serde_json::json!({"urgency": urgency})),
                    ..Affected::default()
                });
            }
        }
    }
    by_cve.into_values().collect()
}

/// Converts an Alpine secdb file (`{distroversion, packages: [{pkg: {name, secfixes:
/// {version: [CVE…]}}}]}`) into OSV records: each listed CVE is fixed in that version
/// (`0` = never affected, skipped).
pub fn from_alpine_secdb(v: &Value) -> Vec<Osv> {
    let release = v
        .get("distroversion")
        .and_then(|d| d.as_str())
        .unwrap_or("");
    let mut out: std::collections::BTreeMap<String, Osv> = Default::default();
    for p in v
        .get("packages")
        .and_then(|p| p.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let Some(pkg) = p.get("pkg") else { continue };
        let name = pkg.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let Some(fixes) = pkg.get("secfixes").and_then(|s| s.as_object()) else {
            continue;
        };
        for (ver, ids) in fixes {
            if ver == "0" {
                continue;
            }
            for id in ids.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
                let Some(id) = id.as_str() else { continue };
                let id = id.split_whitespace().next().unwrap_or(id).to_string();
                let o = out.entry(id.clone()).or_insert_with(|| Osv {
                    id: id.clone(),
                    ..Osv::default()
                });
                o.affected.push(Affected {
                    package: Some(PackageId {
                        ecosystem: format!("Alpine:{release}"),
                        name: name.to_string(),
                    }),
                    ranges: vec![Range {
                        kind: "ECOSYSTEM".into(),
                        events: vec![
                            Event {
                                introduced: Some("0".into()),
                                ..Event::default()
                            },
                            Event {
                                fixed: Some(ver.clone()),
                                ..Event::default()
                            },
                        ],
                    }],
                    ..Affected::default()
                });
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores() {
        // Published base scores: CVE-2021-44228 (10.0), CVE-2014-0160 (7.5), a local 7.8.
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            Some(10.0)
        );
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            Some(7.5)
        );
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"),
            Some(7.8)
        );
        assert_eq!(
            cvss3_base("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"),
            Some(0.0)
        );
        assert_eq!(cvss3_base("CVSS:4.0/AV:N"), None);
    }

    #[test]
    fn range_events() {
        let r = |ev: Vec<Event>| Range {
            kind: "ECOSYSTEM".into(),
            events: ev,
        };
        let i = |v: &str| Event {
            introduced: Some(v.into()),
            ..Event::default()
        };
        let f = |v: &str| Event {
            fixed: Some(v.into()),
            ..Event::default()
        };
        let la = |v: &str| Event {
            last_affected: Some(v.into()),
            ..Event::default()
        };
        let lim = |v: &str| Event {
            limit: Some(v.into()),
            ..Event::default()
        };
        let s = Scheme::Semver;
        // Two intervals: [1.0, 1.2) and [2.0, 2.1).
        let two = r(vec![f("2.1.0"), i("1.0.0"), f("1.2.0"), i("2.0.0")]);
        assert_eq!(range_affects(&two, "0.9.0", s), (false, None));
        assert_eq!(
            range_affects(&two, "1.1.0", s),
            (true, Some("1.2.0".into()))
        );
        assert_eq!(range_affects(&two, "1.5.0", s), (false, None));
        assert_eq!(
            range_affects(&two, "2.0.5", s),
            (true, Some("2.1.0".into()))
        );
        let last = r(vec![i("0"), la("1.4.0")]);
        assert_eq!(range_affects(&last, "1.4.0", s), (true, None));
        assert_eq!(range_affects(&last, "1.4.1", s), (false, None));
        let limited = r(vec![i("0"), lim("3.0.0")]);
        assert!(range_affects(&limited, "2.9.0", s).0 && !range_affects(&limited, "3.0.0", s).0);
    }
}
