//! Kubernetes minor versions and their upstream end-of-life dates (the dated table), and the
//! version a node runs.

use crate::analysis::{parse_date, Issue};
use palisade_report::Severity;

/// Upstream end-of-life dates (kubernetes.io/releases; the last two are the dates the
/// release policy sets when a minor is released: 14 months of patch support).
pub const EOL: &[(u32, &str)] = &[
    (25, "2023-10-28"),
    (26, "2024-02-28"),
    (27, "2024-06-28"),
    (28, "2024-10-28"),
    (29, "2025-02-28"),
    (30, "2025-06-28"),
    (31, "2025-10-28"),
    (32, "2026-02-28"),
    (33, "2026-06-28"),
    (34, "2026-10-27"),
    (35, "2027-02-28"),
    (36, "2027-06-28"),
    (37, "2027-10-28"),
];

/// The date the table was last checked; a version newer than the table is reported as
/// unknown rather than supported.
pub const TABLE_DATE: &str = "2026-12-01";

/// `v1.30.2`, `1.30`, `registry.k8s.io/kube-apiserver:v1.30.2` → 30.
pub fn minor_of(s: &str) -> Option<u32> {
    let tag = s.rsplit(':').next().unwrap_or(s);
    let v = tag.trim().trim_start_matches('v');
    let mut it = v.split(['.', '-', '+']);
    (it.next()? == "1").then_some(())?;
    it.next()?.parse().ok()
}

/// Judges a version on a day (days since the epoch).
pub fn check(version: &str, today: i64) -> Vec<Issue> {
    let Some(minor) = minor_of(version) else {
        return vec![Issue::new(
            "EOL001",
            0,
            format!("cannot read a Kubernetes version from {version:?}"),
        )
        .with_severity(Severity::Info)];
    };
    let Some((_, date)) = EOL.iter().find(|(m, _)| *m == minor) else {
        let newest = EOL.last().map(|e| e.0).unwrap_or(0);
        let msg = if minor > newest {
            format!("Kubernetes 1.{minor} is newer than the end-of-life table (dated {TABLE_DATE}); not judged")
        } else {
            format!(
                "Kubernetes 1.{minor} reached end of life before {}",
                EOL[0].1
            )
        };
        let sev = if minor > newest {
            Severity::Info
        } else {
            Severity::High
        };
        return vec![Issue::new("EOL001", 0, msg).with_severity(sev)];
    };
    let eol = parse_date(date).unwrap_or(i64::MAX);
    if today > eol {
        vec![Issue::new(
            "EOL001",
            0,
            format!("Kubernetes 1.{minor} reached end of life on {date}: no more security fixes"),
        )]
    } else if eol - today <= 90 {
        vec![Issue::new(
            "EOL001",
            0,
            format!(
                "Kubernetes 1.{minor} reaches end of life on {date} ({} days)",
                eol - today
            ),
        )
        .with_severity(Severity::Medium)]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::days_from_civil;

    #[test]
    fn versions_and_dates() {
        assert_eq!(minor_of("registry.k8s.io/kube-apiserver:v1.30.2"), Some(30));
        assert_eq!(minor_of("v1.33.1+k3s1"), Some(33));
        assert_eq!(minor_of("2.0"), None);
        let today = days_from_civil(2026, 12, 3);
        assert_eq!(check("v1.30.2", today)[0].severity, Severity::High);
        assert_eq!(check("v1.35.0", today)[0].severity, Severity::Medium);
        assert!(check("v1.37.0", today).is_empty());
        assert_eq!(check("v1.40.0", today)[0].severity, Severity::Info);
        assert_eq!(check("v1.20.0", today)[0].severity, Severity::High);
    }
}
