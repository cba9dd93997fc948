//! Query-string parameters of the API → a store [`Filter`] plus the endpoint's own
//! parameters. Everything the browser (or anyone) sends goes through [`parse`]; a malformed or
//! unknown parameter is an error that names it, never a panic (fuzz target `console_query`).
//!
//! | parameter | value |
//! |---|---|
//! | `since`, `until` | Unix milliseconds, an RFC 3339 time, or a duration before now (`15m`, `2h`, `7d`) |
//! | `namespace`, `workload` | a namespace; `ns/name` or `name` |
//! | `label` | `key=value`, repeatable (all must match) |
//! | `port` | 1–65535 |
//! | `protocol` | `tcp`, `udp`, `sctp`, `icmp`, `icmpv6` |
//! | `verdict` | `allowed`, `denied`, `unknown` |
//! | `scope` | `external` or `internal` |
//! | `security` | `tls` or `plaintext` |
//! | `limit` | rows, at most [`MAX_LIMIT`] |
//! | `resolution` | `minute` or `hour` (default: what the retention implies) |

use palisade_store::query::Resolution;
use palisade_store::{Filter, Scope, Security, Verdict};
use std::collections::BTreeMap;

/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 1_000_000;
/// Longest query string accepted (bytes).
pub const MAX_QUERY: usize = 16 * 1024;

/// A parsed query string.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub filter: Filter,
    /// The endpoint's own parameters (`src`, `dst`, …), last value wins.
    pub extra: BTreeMap<String, String>,
}

impl Params {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.extra.get(k).map(String::as_str)
    }
    /// A required endpoint parameter.
    pub fn require(&self, k: &str) -> Result<&str, String> {
        self.get(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("missing parameter {k:?}"))
    }
}

/// Decodes `%XX` and `+` of one component of a query string.
pub fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(format!("bad percent-encoding in {s:?}")),
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// Splits and decodes a raw query string into (key, value) pairs, in order.
pub fn pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    if query.len() > MAX_QUERY {
        return Err(format!(
            "the query string is {} bytes; at most {MAX_QUERY} are accepted",
            query.len()
        ));
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// `15s`, `10m`, `2h`, `7d`, `500ms` → milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration such as 30s, 15m, 2h or 7d"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{s:?}: the unit must be ms, s, m, h or d")),
    };
    Ok(n.saturating_mul(unit_ms))
}

/// An RFC 3339 time or a duration before `now_ms` → Unix ms.
pub fn parse_time_ms(s: &str, now_ms: i64) -> Result<i64, String> {
    if let Some(ns) = palisade_detect::time::parse_rfc3339(s.trim()) {
        return Ok(ns / 1_000_000);
    }
    parse_duration_ms(s)
        .map(|d| now_ms.saturating_sub(d))
        .map_err(|_| format!("{s:?} is neither a duration (15m, 2h, 7d) nor an RFC 3339 time"))
}

/// As [`parse_time_ms`], also accepting Unix milliseconds (what the console sends).
pub fn parse_instant(s: &str, now_ms: i64) -> Result<i64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| format!("{s:?}: time out of range"));
    }
    parse_time_ms(s, now_ms)
}

/// Parses a query string. `extras` are the endpoint's own parameter names; any other
/// unknown name is an error.
pub fn parse(query: &str, now_ms: i64, extras: &[&str]) -> Result<Params, String> {
    let mut p = Params {
        filter: Filter {
            since: 0,
            until: now_ms.saturating_add(1),
            ..Filter::default()
        },
        extra: BTreeMap::new(),
    };
    let f = &mut p.filter;
    for (k, v) in pairs(query)? {
        let bad = |what: &str| format!("parameter {k}={v:?}: {what}");
        match k.as_str() {
            "since" => f.since = parse_instant(&v, now_ms).map_err(|e| bad(&e))?,
            "until" => f.until = parse_instant(&v, now_ms).map_err(|e| bad(&e))?,
            "namespace" => f.namespace = Some(v).filter(|s| !s.is_empty()),
            "workload" => f.workload = Some(v).filter(|s| !s.is_empty()),
            "label" => {
                let (lk, lv) = v.split_once('=').ok_or_else(|| bad("expected key=value"))?;
                if lk.is_empty() {
                    return Err(bad("the label key is empty"));
                }
                f.labels.push((lk.to_string(), lv.to_string()));
            }
            "port" => {
                f.port = Some(
                    v.parse::<u16>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad("expected a port 1-65535"))?,
                )
            }
            "protocol" => {
                let l = v.to_ascii_lowercase();
                if !matches!(l.as_str(), "tcp" | "udp" | "sctp" | "icmp" | "icmpv6") {
                    return Err(bad("expected tcp, udp, sctp, icmp or icmpv6"));
                }
                f.protocol = Some(l);
            }
            "verdict" => {
                f.verdict = Some(
                    Verdict::parse(&v).ok_or_else(|| bad("expected allowed, denied or unknown"))?,
                )
            }
            "scope" => {
                f.scope = Some(match v.as_str() {
                    "external" => Scope::External,
                    "internal" => Scope::Internal,
                    _ => return Err(bad("expected external or internal")),
                })
            }
            "security" => {
                f.security = Some(match v.as_str() {
                    "tls" => Security::Tls,
                    "plaintext" => Security::Plaintext,
                    _ => return Err(bad("expected tls or plaintext")),
                })
            }
            "limit" => {
                f.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_LIMIT)
                    .ok_or_else(|| bad(&format!("expected a number 0-{MAX_LIMIT}")))?
            }
            "resolution" => {
                f.resolution = Some(match v.as_str() {
                    "minute" => Resolution::Minute,
                    "hour" => Resolution::Hour,
                    _ => return Err(bad("expected minute or hour")),
                })
            }
            other if extras.contains(&other) => {
                p.extra.insert(k.clone(), v);
            }
            _ => {
                let mut known = vec![
                    "since",
                    "until",
                    "namespace",
                    "workload",
                    "label",
                    "port",
                    "protocol",
                    "verdict",
                    "scope",
                    "security",
                    "limit",
                    "resolution",
                ];
                known.extend(extras);
                return Err(format!(
                    "unknown parameter {k:?} (this endpoint takes {})",
                    known.join(", ")
                ));
            }
        }
    }
    if f.until <= f.since {
        return Err(format!(
            "the time range is empty: since ({}) must be before until ({})",
            f.since, f.until
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000;

    #[test]
    fn every_filter_parameter() {
        let p = parse(
            "since=2h&until=2026-01-01T00%3A00%3A00Z&namespace=shop&workload=shop%2Fweb\
             &label=app%3Dweb&label=tier=front&port=5432&protocol=TCP&verdict=denied\
             &scope=internal&security=plaintext&limit=10&resolution=hour&src=a",
            NOW,
            &["src"],
        )
        .unwrap();
        let f = p.filter;
        assert_eq!(f.since, NOW - 2 * 3_600_000);
        assert_eq!(f.until, NOW);
        assert_eq!(f.namespace.as_deref(), Some("shop"));
        assert_eq!(f.workload.as_deref(), Some("shop/web"));
        assert_eq!(
            f.labels,
            vec![
                ("app".into(), "web".into()),
                ("tier".into(), "front".into())
            ]
        );
        assert_eq!(f.port, Some(5432));
        assert_eq!(f.protocol.as_deref(), Some("tcp"));
        assert_eq!(f.verdict, Some(Verdict::Denied));
        assert_eq!(f.scope, Some(Scope::Internal));
        assert_eq!(f.security, Some(Security::Plaintext));
        assert_eq!(f.limit, 10);
        assert_eq!(f.resolution, Some(Resolution::Hour));
        assert_eq!(p.extra.get("src").map(String::as_str), Some("a"));
    }

    #[test]
    fn unix_ms_and_defaults() {
        let p = parse("since=1767225000000", NOW, &[]).unwrap();
        assert_eq!(p.filter.since, 1_767_225_000_000);
        assert_eq!(parse("since=0", NOW, &[]).unwrap().filter.since, 0);
        assert_eq!(p.filter.until, NOW + 1);
        let p = parse("", NOW, &[]).unwrap();
        assert_eq!((p.filter.since, p.filter.until), (0, NOW + 1));
    }

    #[test]
    fn malformed_parameters_name_themselves() {
        for (q, needle) in [
            ("port=0", "port=\"0\""),
            ("port=70000", "port"),
            ("port=x", "port"),
            ("verdict=maybe", "verdict"),
            ("since=yesterday", "since"),
            ("until=5x", "until"),
            ("label=app", "key=value"),
            ("label==x", "label key is empty"),
            ("scope=everywhere", "scope"),
            ("security=ssl", "security"),
            ("protocol=quic", "protocol"),
            ("limit=-1", "limit"),
            ("limit=99999999999", "limit"),
            ("resolution=second", "resolution"),
            ("bogus=1", "unknown parameter \"bogus\""),
            ("namespace=%zz", "percent-encoding"),
            ("namespace=%ff", "UTF-8"),
            (
                "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                "time range is empty",
            ),
        ] {
            let e = parse(q, NOW, &[]).expect_err(q);
            assert!(e.contains(needle), "{q}: {e}");
        }
        let long = "namespace=".to_string() + &"a".repeat(MAX_QUERY);
        assert!(parse(&long, NOW, &[]).unwrap_err().contains("bytes"));
    }
}
