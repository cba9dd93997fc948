//! The inputs `paths` reads besides Kubernetes objects, parsed from text the caller read:
//!
//! - **alerts**: `palisade detect` output (Falco's JSON alert shape), one JSON object per
//!   line, or a JSON array of them;
//! - **vulnerabilities**: a small documented JSON/YAML file, image → findings
//!   (`{"images": {"IMAGE": [{"id", "severity", "fixed", "remote"}]}}`) until `palisade image`
//!   lands;
//! - **configuration**: crown jewels named by kind, namespace and name.
//!
//! Every problem is a [`Diagnostic`] naming the source and line; bad records are skipped and
//! counted, the rest is kept.

use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::{Diagnostic, Level, Node};

/// One runtime alert that names a pod.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub rule: String,
    pub priority: String,
    /// Nanoseconds since the epoch.
    pub time_ns: i64,
    pub namespace: String,
    pub pod: String,
    /// `None` when the alert does not name the container.
    pub container: Option<String>,
    pub source: String,
    pub line: u32,
}

/// Alerts read from one file.
#[derive(Clone, Debug, Default)]
pub struct Alerts {
    pub alerts: Vec<Alert>,
    /// Well-formed alerts that name no pod (audit alerts about other objects, host events).
    pub without_pod: usize,
    pub diagnostics: Vec<Diagnostic>,
}

fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(serde_json::Value::as_str)
}

/// Parses `palisade detect` / Falco JSON alerts: JSON lines, or one JSON array.
pub fn parse_alerts(text: &str, source: &str) -> Alerts {
    let mut out = Alerts::default();
    let trimmed = text.trim_start();
    let records: Vec<(u32, Result<serde_json::Value, String>)> = if trimmed.starts_with('[') {
        let first = (text.len() - trimmed.len()) as u32;
        let line = 1 + text[..first as usize].matches('\n').count() as u32;
        match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(v) => v.into_iter().map(|a| (line, Ok(a))).collect(),
            Err(e) => vec![(e.line() as u32, Err(e.to_string()))],
        }
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                (
                    i as u32 + 1,
                    serde_json::from_str(l).map_err(|e| e.to_string()),
                )
            })
            .collect()
    };
    for (line, rec) in records {
        let v = match rec {
            Ok(v) => v,
            Err(e) => {
                out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    source,
                    line,
                    format!("not a JSON alert: {e}"),
                ));
                continue;
            }
        };
        let (Some(rule), Some(time)) = (str_field(&v, "rule"), str_field(&v, "time")) else {
            out.diagnostics.push(Diagnostic::new(
                Level::Error,
                source,
                line,
                "alert without \"rule\" or \"time\" (expected Falco's JSON alert shape)",
            ));
            continue;
        };
        let Some(time_ns) = palisade_detect::time::parse_rfc3339(time) else {
            out.diagnostics.push(Diagnostic::new(
                Level::Error,
                source,
                line,
                format!("alert time {time:?} is not RFC 3339"),
            ));
            continue;
        };
        let fields = v.get("output_fields");
        let f = |k: &str| {
            fields
                .and_then(|o| o.get(k))
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty() && *s != "<NA>")
        };
        // Syscall alerts name the pod; audit alerts about a pod name it as the target.
        let pod = f("k8s.pod.name")
            .map(|p| (f("k8s.ns.name"), p))
            .or_else(|| {
                (f("ka.target.resource") == Some("pods"))
                    .then(|| f("ka.target.name").map(|p| (f("ka.target.namespace"), p)))
                    .flatten()
            });
        let Some((Some(ns), pod)) = pod else {
            out.without_pod += 1;
            continue;
        };
        out.alerts.push(Alert {
            rule: rule.to_string(),
            priority: str_field(&v, "priority").unwrap_or("").to_string(),
            time_ns,
            namespace: ns.to_string(),
            pod: pod.to_string(),
            container: f("container.name").map(str::to_string),
            source: source.to_string(),
            line,
        });
    }
    out
}

/// One vulnerability of an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Vuln {
    pub id: String,
    pub severity: String,
    /// The fixed version; empty when there is none.
    pub fixed: String,
    /// Exploitable over the network.
    pub remote: bool,
    pub line: u32,
}

/// Vulnerabilities per image reference.
#[derive(Clone, Debug, Default)]
pub struct Vulns {
    pub images: Vec<(String, Vec<Vuln>)>,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Vulns {
    /// The vulnerabilities that make an exposed endpoint an EXPOSED_VULN edge: remote, with a
    /// fix. An image matches by its full reference, or without tag/digest when the file lists
    /// the bare repository.
    pub fn exploitable(&self, image: &str) -> Vec<&Vuln> {
        let bare = strip_tag(image);
        self.images
            .iter()
            .filter(|(i, _)| i == image || (strip_tag(i) == i.as_str() && i == bare))
            .flat_map(|(_, v)| v.iter())
            .filter(|v| v.remote && !v.fixed.is_empty())
            .collect()
    }
}

/// `repo/name:tag@sha256:…` → `repo/name` (a `:` after the last `/` starts the tag).
fn strip_tag(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[slash..].find(':') {
        Some(c) => &no_digest[..slash + c],
        None => no_digest,
    }
}

fn parse_tree(text: &str, source: &str, what: &str, diags: &mut Vec<Diagnostic>) -> Option<Node> {
    let docs = parse_documents(
        text,
        Limits {
            shallow_crds: false,
            ..Limits::default()
        },
    );
    let mut root = None;
    for d in docs {
        match d.result {
            Ok(Some(n)) if root.is_none() => root = Some(n),
            Ok(Some(_)) => diags.push(Diagnostic::new(
                Level::Warning,
                source,
                d.line,
                format!("{what}: only the first document is read"),
            )),
            Ok(None) => {}
            Err(e) => diags.push(Diagnostic::new(
                Level::Error,
                source,
                e.pos.line,
                format!("{what}: {e}"),
            )),
        }
    }
    root
}

/// Parses a vulnerability file (JSON or YAML).
pub fn parse_vulns(text: &str, source: &str) -> Vulns {
    let mut out = Vulns {
        source: source.to_string(),
        ..Vulns::default()
    };
    let Some(root) = parse_tree(text, source, "vulnerability file", &mut out.diagnostics) else {
        return out;
    };
    let Some(images) = root.get("images").filter(|n| n.is_map()) else {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            source,
            root.pos.line,
            "vulnerability file: expected a mapping `images: {IMAGE: [{id, severity, fixed, remote}]}`",
        ));
        return out;
    };
    for e in images.entries() {
        let mut list = Vec::new();
        if !e.value.is_seq() {
            out.diagnostics.push(Diagnostic::new(
                Level::Error,
                source,
                e.value.pos.line,
                format!("image {:?}: expected a list of vulnerabilities", e.key),
            ));
            continue;
        }
        for v in e.value.items() {
            let id = v.get("id").and_then(Node::scalar_string);
            // Absent is false; present must be a boolean.
            let remote = match v.get("remote") {
                None => Some(false),
                Some(r) => r.as_bool(),
            };
            match (id, remote) {
                (Some(id), Some(remote)) => list.push(Vuln {
                    id,
                    severity: v
                        .get("severity")
                        .and_then(Node::scalar_string)
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                    fixed: v
                        .get("fixed")
                        .and_then(Node::scalar_string)
                        .unwrap_or_default(),
                    remote,
                    line: v.pos.line,
                }),
                (None, _) => out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    source,
                    v.pos.line,
                    format!("image {:?}: vulnerability without an `id`; skipped", e.key),
                )),
                (Some(id), None) => out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    source,
                    v.pos.line,
                    format!("{id}: `remote` must be true or false; skipped"),
                )),
            }
        }
        out.images.push((e.key.clone(), list));
    }
    out
}

/// A crown jewel named in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JewelRef {
    /// `Secret`, or a pod-bearing kind (`Deployment`, `Pod`, …).
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub line: u32,
}

/// The `paths` configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub crown_jewels: Vec<JewelRef>,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses the configuration (YAML or JSON):
///
/// ```yaml
/// crownJewels:
///   - {kind: Secret, namespace: payments, name: db-credentials}
///   - {kind: Deployment, namespace: payments, name: ledger}
/// ```
pub fn parse_config(text: &str, source: &str) -> Config {
    let mut out = Config {
        source: source.to_string(),
        ..Config::default()
    };
    let Some(root) = parse_tree(text, source, "paths configuration", &mut out.diagnostics) else {
        return out;
    };
    for e in root.entries() {
        if e.key != "crownJewels" {
            out.diagnostics.push(Diagnostic::new(
                Level::Warning,
                source,
                e.key_pos.line,
                format!("unknown key {:?} (expected crownJewels)", e.key),
            ));
        }
    }
    let Some(list) = root.get("crownJewels") else {
        return out;
    };
    if !list.is_seq() {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            source,
            list.pos.line,
            "crownJewels must be a list of {kind, namespace, name}",
        ));
        return out;
    }
    for j in list.items() {
        let s = |k: &str| {
            j.get(k)
                .and_then(Node::scalar_string)
                .filter(|s| !s.is_empty())
        };
        match (s("kind"), s("namespace"), s("name")) {
            (Some(kind), Some(namespace), Some(name)) => out.crown_jewels.push(JewelRef {
                kind,
                namespace,
                name,
                line: j.pos.line,
            }),
            _ => out.diagnostics.push(Diagnostic::new(
                Level::Error,
                source,
                j.pos.line,
                "crown jewel needs kind, namespace and name; skipped",
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_from_json_lines_name_pods_and_report_bad_lines() {
        let text = r#"{"rule":"Terminal shell in container","priority":"Notice","time":"2026-12-03T22:00:00Z","output_fields":{"k8s.ns.name":"shop","k8s.pod.name":"web-5d8f9-x2x","container.name":"app"}}
not json
{"rule":"r","time":"2026-12-03T22:00:00Z","output_fields":{}}
{"rule":"r"}
{"rule":"Attach to pod","time":"2026-12-03T22:00:01Z","output_fields":{"ka.target.resource":"pods","ka.target.namespace":"db","ka.target.name":"pg-0"}}
"#;
        let a = parse_alerts(text, "alerts.json");
        assert_eq!(a.alerts.len(), 2);
        assert_eq!(a.alerts[0].pod, "web-5d8f9-x2x");
        assert_eq!(a.alerts[0].container.as_deref(), Some("app"));
        assert_eq!(a.alerts[1].namespace, "db");
        assert_eq!(a.alerts[1].line, 5);
        assert_eq!(a.without_pod, 1);
        let lines: Vec<u32> = a.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [2, 4]);
    }

    #[test]
    fn vulns_keep_remote_fixed_ones_and_name_bad_entries() {
        let text = r#"{"images": {
  "shop/web:1.0": [
    {"id": "CVE-1", "severity": "critical", "fixed": "1.1", "remote": true},
    {"id": "CVE-2", "severity": "high", "fixed": "", "remote": true},
    {"id": "CVE-3", "severity": "high", "fixed": "1.2", "remote": false},
    {"severity": "low"},
    {"id": "CVE-4", "remote": "yes please"}
  ],
  "shop/api": [{"id": "CVE-5", "fixed": "2", "remote": true}]
}}"#;
        let v = parse_vulns(text, "vulns.json");
        let ids: Vec<&str> = v
            .exploitable("shop/web:1.0")
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["CVE-1"]);
        assert!(v.exploitable("shop/web:2.0").is_empty());
        assert_eq!(v.exploitable("shop/api:7@sha256:00").len(), 1);
        let lines: Vec<u32> = v.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [6, 7]);
    }

    #[test]
    fn config_names_jewels_and_reports_incomplete_ones() {
        let c = parse_config(
            "crownJewels:\n  - {kind: Secret, namespace: pay, name: db}\n  - {kind: Secret}\nextra: 1\n",
            "paths.yaml",
        );
        assert_eq!(c.crown_jewels.len(), 1);
        assert_eq!(c.crown_jewels[0].name, "db");
        assert_eq!(c.diagnostics.len(), 2);
        assert_eq!(c.diagnostics[1].line, 3);
    }
}
