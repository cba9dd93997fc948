//! Feed configuration: the `feeds:` section of a YAML configuration file, and Calico
//! `GlobalThreatFeed` resources (projectcalico.org/v3) found among loaded manifests.
//!
//! ```yaml
//! feeds:
//!   - name: feodo
//!     path: feeds/feodo.txt          # relative to this file; or url: https://…
//!     format: plain                  # see palisade_threat::feeds
//!     content: ip                    # ip, domain or any (default)
//!     period: 1h                     # minimum time between fetches of a url
//!     headers:
//!       - name: Auth-Key
//!         valueFrom: {env: ABUSECH_KEY}     # or {file: /etc/keys/abusech}, or value: …
//!     csv: {fieldNum: 1, header: false, columnDelimiter: ",", commentDelimiter: "#"}
//!     json: {path: "$[*].ip_address"}
//! ```
//!
//! Every mistake is a diagnostic with the file and line; a bad feed entry is skipped, the
//! others are kept.

use crate::feeds::{Content, CsvOptions, Field, Format};
use palisade_model::{Diagnostic, Level, Node, Object};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Url(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderValue {
    Literal(String),
    Env(String),
    File(PathBuf),
    /// A key of a ConfigMap or Secret that was not among the loaded manifests.
    Missing(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: HeaderValue,
}

impl Header {
    /// The header's value, read from the environment or a file when it says so.
    pub fn resolve(&self) -> Result<String, String> {
        match &self.value {
            HeaderValue::Literal(v) => Ok(v.clone()),
            HeaderValue::Env(k) => std::env::var(k)
                .map_err(|_| format!("header {}: environment variable {k} is not set", self.name)),
            HeaderValue::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("header {}: cannot read {}: {e}", self.name, p.display())),
            HeaderValue::Missing(what) => Err(format!("header {}: {what}", self.name)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSpec {
    pub name: String,
    pub source: Source,
    pub format: Format,
    pub content: Content,
    /// Minimum seconds between two fetches of a URL.
    pub period_s: u64,
    pub headers: Vec<Header>,
    /// `format: taxii`: the URL is a TAXII 2.1 server (the objects are STIX).
    pub taxii: bool,
    /// `file:line` of the definition.
    pub origin: String,
}

/// Default minimum period between fetches (Calico's default is 24h).
pub const DEFAULT_PERIOD_S: u64 = 24 * 3600;
/// Fetches more often than this are refused (a feed server is not a target).
pub const MIN_PERIOD_S: u64 = 60;

/// A Go-style or simple duration: `90s`, `15m`, `1h30m`, `7d`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(n.checked_mul(match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return None,
        })?)?;
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    any.then_some(total)
}

fn s(n: &Node, k: &str) -> Option<String> {
    n.get(k).and_then(Node::scalar_string)
}

fn csv_options(n: &Node) -> CsvOptions {
    let mut o = CsvOptions::default();
    if let Some(f) = n.get("fieldNum").and_then(Node::as_i64) {
        o.field = Field::Num(f.max(0) as usize);
    }
    if let Some(f) = s(n, "fieldName") {
        o.field = Field::Name(f);
    }
    if let Some(h) = n.get("header").and_then(Node::as_bool) {
        o.header = h;
    }
    if let Some(d) = s(n, "columnDelimiter").and_then(|d| d.chars().next()) {
        o.delimiter = d;
    }
    if let Some(d) = s(n, "commentDelimiter") {
        o.comment = d.chars().next();
    }
    if let Some(r) = n.get("recordSize").and_then(Node::as_i64) {
        o.record_size = r.max(0) as usize;
    }
    if let Some(d) = n.get("disableRecordSizeValidation").and_then(Node::as_bool) {
        o.validate_record_size = !d;
    }
    o
}

/// Parses a configuration file's text; `file` names it in diagnostics and anchors relative
/// paths.
pub fn parse_config(text: &str, file: &Path) -> (Vec<FeedSpec>, Vec<Diagnostic>) {
    let fname = file.display().to_string();
    let base = file.parent().unwrap_or(Path::new("."));
    let mut diags = Vec::new();
    let mut specs = Vec::new();
    let docs = palisade_model::yaml::parse_documents(text, Default::default());
    for d in docs {
        let root = match d.result {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                diags.push(Diagnostic::new(Level::Error, &fname, d.line, e.to_string()));
                continue;
            }
        };
        let Some(feeds) = root.get("feeds") else {
            diags.push(Diagnostic::new(
                Level::Warning,
                &fname,
                root.pos.line,
                "no feeds: section",
            ));
            continue;
        };
        for f in feeds.items() {
            let line = f.pos.line;
            let err = |m: String| Diagnostic::new(Level::Error, &fname, line, m);
            let Some(name) = s(f, "name") else {
                diags.push(err("a feed without a name".into()));
                continue;
            };
            let source = match (s(f, "path"), s(f, "url")) {
                (Some(p), None) => Source::File(base.join(p)),
                (None, Some(u)) if u.starts_with("http://") || u.starts_with("https://") => {
                    Source::Url(u)
                }
                (None, Some(u)) => {
                    diags.push(err(format!(
                        "feed {name}: url {u:?} is not http:// or https://"
                    )));
                    continue;
                }
                _ => {
                    diags.push(err(format!(
                        "feed {name}: give exactly one of path: or url:"
                    )));
                    continue;
                }
            };
            let fmt_name = s(f, "format").unwrap_or_else(|| "plain".into());
            let Some(mut format) = Format::by_name(&fmt_name) else {
                diags.push(err(format!("feed {name}: unknown format {fmt_name:?}")));
                continue;
            };
            if let (Format::Csv(o), Some(c)) = (&mut format, f.get("csv")) {
                *o = csv_options(c);
            }
            if let (Format::Json(p), Some(path)) =
                (&mut format, f.get("json").and_then(|j| s(j, "path")))
            {
                *p = path;
            }
            let content = match s(f, "content") {
                None => Content::Any,
                Some(c) => match Content::parse(&c) {
                    Some(c) => c,
                    None => {
                        diags.push(err(format!(
                            "feed {name}: content {c:?} is not ip, domain or any"
                        )));
                        continue;
                    }
                },
            };
            let period_s = match s(f, "period") {
                None => DEFAULT_PERIOD_S,
                Some(p) => {
                    match parse_duration(&p) {
                        Some(v) if v >= MIN_PERIOD_S => v,
                        Some(v) => {
                            diags.push(Diagnostic::new(
                            Level::Warning,
                            &fname,
                            line,
                            format!("feed {name}: period {v}s raised to the minimum {MIN_PERIOD_S}s"),
                        ));
                            MIN_PERIOD_S
                        }
                        None => {
                            diags.push(err(format!("feed {name}: period {p:?} is not a duration")));
                            continue;
                        }
                    }
                }
            };
            let mut headers = Vec::new();
            for h in f.get("headers").map(Node::items).unwrap_or(&[]) {
                let Some(hn) = s(h, "name") else {
                    diags.push(Diagnostic::new(
                        Level::Error,
                        &fname,
                        h.pos.line,
                        "a header without a name",
                    ));
                    continue;
                };
                let value = if let Some(v) = s(h, "value") {
                    HeaderValue::Literal(v)
                } else if let Some(vf) = h.get("valueFrom") {
                    if let Some(e) = s(vf, "env") {
                        HeaderValue::Env(e)
                    } else if let Some(p) = s(vf, "file") {
                        HeaderValue::File(base.join(p))
                    } else {
                        diags.push(Diagnostic::new(
                            Level::Error,
                            &fname,
                            h.pos.line,
                            format!("header {hn}: valueFrom needs env: or file:"),
                        ));
                        continue;
                    }
                } else {
                    diags.push(Diagnostic::new(
                        Level::Error,
                        &fname,
                        h.pos.line,
                        format!("header {hn}: no value or valueFrom"),
                    ));
                    continue;
                };
                headers.push(Header { name: hn, value });
            }
            specs.push(FeedSpec {
                name,
                source,
                format,
                content,
                period_s,
                headers,
                taxii: fmt_name.eq_ignore_ascii_case("taxii"),
                origin: format!("{fname}:{line}"),
            });
        }
    }
    (specs, diags)
}

/// A `GlobalThreatFeed` (projectcalico.org/v3) as a feed; `None` with a diagnostic when it
/// cannot be one, `Ok(None)` when it is `mode: Disabled` or has no `pull`. ConfigMap and
/// Secret references of headers are resolved from `objects`.
pub fn from_global_threat_feed(
    o: &Object,
    objects: &[Object],
) -> Result<Option<FeedSpec>, Diagnostic> {
    let file = o.source.display();
    let spec = o.root.get("spec").unwrap_or(Node::null());
    let err = |path: &[&str], m: String| {
        Diagnostic::new(
            Level::Error,
            &file,
            o.root.locate(path).line,
            format!("GlobalThreatFeed {}: {m}", o.name),
        )
    };
    if s(spec, "mode").as_deref() == Some("Disabled") {
        return Ok(None);
    }
    let content = match s(spec, "content").as_deref() {
        None | Some("IPSet") => Content::Ips,
        Some("DomainNameSet") => Content::Domains,
        Some(c) => {
            return Err(err(
                &["spec", "content"],
                format!("content {c:?} is not IPSet or DomainNameSet"),
            ))
        }
    };
    let Some(pull) = spec.get("pull") else {
        return Ok(None);
    };
    let http = pull.get("http").unwrap_or(Node::null());
    let Some(url) = s(http, "url") else {
        return Err(err(&["spec", "pull"], "pull.http.url is missing".into()));
    };
    let period_s = match s(pull, "period") {
        None => DEFAULT_PERIOD_S,
        Some(p) => parse_duration(&p)
            .ok_or_else(|| {
                err(
                    &["spec", "pull", "period"],
                    format!("period {p:?} is not a duration"),
                )
            })?
            .max(MIN_PERIOD_S),
    };
    let fmt = http.get("format").unwrap_or(Node::null());
    let format = if let Some(c) = fmt.get("csv") {
        Format::Csv(csv_options(c))
    } else if let Some(j) = fmt.get("json") {
        Format::Json(s(j, "path").unwrap_or_else(|| "$".into()))
    } else {
        Format::Plain
    };
    let mut headers = Vec::new();
    for h in http.get("headers").map(Node::items).unwrap_or(&[]) {
        let name = s(h, "name").unwrap_or_default();
        let value = if let Some(v) = s(h, "value") {
            HeaderValue::Literal(v)
        } else if let Some(vf) = h.get("valueFrom") {
            resolve_ref(vf, o.namespace.as_deref(), objects)
        } else {
            HeaderValue::Literal(String::new())
        };
        headers.push(Header { name, value });
    }
    Ok(Some(FeedSpec {
        name: o.name.clone(),
        source: Source::Url(url),
        format,
        content,
        period_s,
        headers,
        taxii: false,
        origin: format!("{file}:{}", o.line),
    }))
}

/// A header's `configMapKeyRef`/`secretKeyRef` (Calico reads them from its own namespace;
/// here any loaded ConfigMap or Secret of that name is used).
fn resolve_ref(vf: &Node, _ns: Option<&str>, objects: &[Object]) -> HeaderValue {
    for (key, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
        let Some(r) = vf.get(key) else { continue };
        let (name, k) = (
            s(r, "name").unwrap_or_default(),
            s(r, "key").unwrap_or_default(),
        );
        let obj = objects.iter().find(|x| x.kind == kind && x.name == name);
        let data = obj.and_then(|x| {
            x.root.get("stringData").and_then(|d| s(d, &k)).or_else(|| {
                let v = x.root.get("data").and_then(|d| s(d, &k))?;
                if kind == "Secret" {
                    base64_decode(&v)
                } else {
                    Some(v)
                }
            })
        });
        return match data {
            Some(v) => HeaderValue::Literal(v),
            None => HeaderValue::Missing(format!(
                "{kind} {name} key {k} is not among the loaded manifests"
            )),
        };
    }
    HeaderValue::Missing("valueFrom names neither configMapKeyRef nor secretKeyRef".into())
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    String::from_utf8(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("7d"), Some(7 * 86400));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn config_with_errors_keeps_the_rest() {
        let text = "feeds:\n  - name: a\n    path: a.txt\n    format: feodo-csv\n    csv: {fieldNum: 2}\n  - name: b\n    url: ftp://x\n  - name: c\n    url: https://feeds.example/c.json\n    format: json\n    json: {path: \"$.items[*]\"}\n    period: 10s\n    headers:\n      - name: K\n        valueFrom: {env: KEY}\n  - path: nameless\n";
        let (specs, diags) = parse_config(text, Path::new("/etc/p/threat.yaml"));
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].source, Source::File("/etc/p/a.txt".into()));
        assert!(matches!(&specs[0].format, Format::Csv(o) if o.field == Field::Num(2)));
        assert_eq!(specs[1].format, Format::Json("$.items[*]".into()));
        assert_eq!(specs[1].period_s, MIN_PERIOD_S);
        assert_eq!(specs[1].headers[0].value, HeaderValue::Env("KEY".into()));
        let lines: Vec<u32> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![6, 8, 16]);
    }

    #[test]
    fn global_threat_feed() {
        let y = "apiVersion: projectcalico.org/v3\nkind: GlobalThreatFeed\nmetadata:\n  name: sample\nspec:\n  content: DomainNameSet\n  pull:\n    period: 12h\n    http:\n      url: https://feeds.example/d.csv\n      headers:\n        - name: Key\n          valueFrom:\n            secretKeyRef: {name: keys, key: k}\n      format:\n        csv: {fieldName: domain, header: true}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: keys}\ndata: {k: c2VjcmV0}\n";
        let l = palisade_model::load_bytes(
            y.as_bytes(),
            palisade_model::Source::File("gtf.yaml".into()),
            &Default::default(),
        );
        let f = from_global_threat_feed(&l.objects[0], &l.objects)
            .unwrap()
            .unwrap();
        assert_eq!(f.content, Content::Domains);
        assert_eq!(f.period_s, 12 * 3600);
        assert_eq!(f.headers[0].resolve().unwrap(), "secret");
        assert!(
            matches!(&f.format, Format::Csv(o) if o.field == Field::Name("domain".into()) && o.header)
        );
    }
}
