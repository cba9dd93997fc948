//! DNS analytics over DNS records in time order: DGA names, tunnelling per registered
//! domain, NXDOMAIN bursts per workload. Each detector keeps bounded state (sliding windows),
//! raises at most one alert per key per `realert_ms`, and says why in the alert.
//!
//! Thresholds (the defaults of [`DnsConfig`], evaluated by `tests/evaluation.rs` on the
//! labelled traffic of `scripts/threat-labelled-set.py`):
//!
//! | detector | key | fires when, within the window |
//! |---|---|---|
//! | DGA | workload + registered domain | the scored label's DGA score ≥ the model's threshold |
//! | tunnelling | registered domain | over 5 minutes: ≥ 20 queries, ≥ 20 distinct names, subdomain part ≥ 20 characters on average, and either its entropy ≥ 3.3 bits/character or ≥ 50% TXT/NULL/CNAME/MX queries with entropy ≥ 3.0 |
//! | NXDOMAIN burst | workload | over 60 seconds: ≥ 20 NXDOMAIN answers making ≥ 50% of the answers |

use crate::dga::{scored_label, Model};
use palisade_detect::{Alert, Priority};
use palisade_store::psl::SuffixList;
use palisade_store::DnsRecord;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};

#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// DGA score threshold (default: the model's).
    pub dga_threshold: Option<f64>,
    pub tunnel_window_ms: i64,
    pub tunnel_min_queries: usize,
    pub tunnel_min_unique: usize,
    pub tunnel_min_len: f64,
    pub tunnel_min_entropy: f64,
    pub tunnel_rare_share: f64,
    pub tunnel_rare_entropy: f64,
    pub nx_window_ms: i64,
    pub nx_min: usize,
    pub nx_share: f64,
    /// The same key alerts again only after this long.
    pub realert_ms: i64,
}

impl Default for DnsConfig {
    fn default() -> DnsConfig {
        DnsConfig {
            dga_threshold: None,
            tunnel_window_ms: 5 * 60_000,
            tunnel_min_queries: 20,
            tunnel_min_unique: 20,
            tunnel_min_len: 20.0,
            tunnel_min_entropy: 3.3,
            tunnel_rare_share: 0.5,
            tunnel_rare_entropy: 3.0,
            nx_window_ms: 60_000,
            nx_min: 20,
            nx_share: 0.5,
            realert_ms: 3_600_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum Kind {
    Dga,
    Tunnel,
    NxBurst,
}

/// One detection, with the figures that made it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Detection {
    pub kind: Kind,
    pub time: i64,
    /// `ns/workload` of the client (`` when not attributed).
    pub workload: String,
    pub pod: String,
    /// The registered domain (DGA, tunnel) or the workload (NXDOMAIN burst).
    pub key: String,
    pub example: String,
    pub why: String,
}

struct Q {
    t: i64,
    name: String,
    len: usize,
    entropy_sum: f64,
    rare: bool,
}

#[derive(Default)]
struct TunnelWin {
    q: VecDeque<Q>,
    names: HashMap<String, u32>,
    len_sum: usize,
    ent_sum: f64,
    rare: usize,
}

pub struct DnsAnalytics {
    pub model: Model,
    pub psl: SuffixList,
    pub cfg: DnsConfig,
    tunnels: HashMap<String, TunnelWin>,
    nx: HashMap<String, VecDeque<(i64, bool)>>,
    last_alert: HashMap<(u8, String), i64>,
    scored: HashMap<(String, String), bool>,
    /// Alerts held back because the key alerted less than `realert_ms` ago.
    pub suppressed: u64,
    pub records: u64,
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut freq = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes().filter(|&b| b != b'.') {
        freq[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let nf = n as f64;
    freq.iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = k as f64 / nf;
            -p * p.log2()
        })
        .sum()
}

impl DnsAnalytics {
    pub fn new(model: Model, psl: SuffixList, cfg: DnsConfig) -> DnsAnalytics {
        DnsAnalytics {
            model,
            psl,
            cfg,
            tunnels: HashMap::new(),
            nx: HashMap::new(),
            last_alert: HashMap::new(),
            scored: HashMap::new(),
            suppressed: 0,
            records: 0,
        }
    }

    fn may_alert(&mut self, kind: u8, key: &str, t: i64) -> bool {
        let k = (kind, key.to_string());
        match self.last_alert.get(&k) {
            Some(&last) if t - last < self.cfg.realert_ms => {
                self.suppressed += 1;
                false
            }
            _ => {
                self.last_alert.insert(k, t);
                true
            }
        }
    }

    /// Feeds one record; returns the detections it completes.
    pub fn observe(&mut self, r: &DnsRecord) -> Vec<Detection> {
        self.records += 1;
        let mut out = Vec::new();
        let workload = r.client.workload_key().unwrap_or_default();
        let pod = r.client.pod.clone().unwrap_or_default();
        let name = r.qname.trim_end_matches('.').to_ascii_lowercase();
        let t = r.time;
        let det = |kind, key: String, why: String| Detection {
            kind,
            time: t,
            workload: workload.clone(),
            pod: pod.clone(),
            key,
            example: name.clone(),
            why,
        };

        // DGA: each (workload, registered domain) scored once.
        if let Some(label) = scored_label(&name, &self.psl) {
            let reg = self.psl.registered_domain(&name);
            let key = (workload.clone(), reg.clone());
            if !self.scored.contains_key(&key) {
                let s = self.model.score_label(&label);
                let thr = self.cfg.dga_threshold.unwrap_or(self.model.threshold);
                let hit = s >= thr;
                self.scored.insert(key, hit);
                if hit && self.may_alert(0, &format!("{workload} {reg}"), t) {
                    let f = self.model.features(&label);
                    out.push(det(
                        Kind::Dga,
                        reg,
                        format!(
                            "label {label:?} scores {s:.3} (threshold {thr:.3}): length {}, entropy {:.2} bits/char, {:.0}% consonants, {:.0}% digits, {:.0}% unseen character trigrams",
                            label.len(),
                            f[1] * 4.0,
                            f[3] * 100.0,
                            f[2] * 100.0,
                            f[6] * 100.0
                        ),
                    ));
                }
            }
        }

        // Tunnelling, per registered domain.
        let reg = self.psl.registered_domain(&name);
        if reg != name && !name.ends_with(".local") && !name.ends_with(".arpa") {
            let sub = &name[..name.len() - reg.len()].trim_end_matches('.');
            let slen = sub.bytes().filter(|&b| b != b'.').count();
            let rare = matches!(r.qtype.as_str(), "TXT" | "NULL" | "CNAME" | "MX");
            let w = self.tunnels.entry(reg.clone()).or_default();
            let q = Q {
                t,
                name: name.clone(),
                len: slen,
                entropy_sum: entropy(sub),
                rare,
            };
            w.len_sum += q.len;
            w.ent_sum += q.entropy_sum;
            w.rare += q.rare as usize;
            *w.names.entry(q.name.clone()).or_default() += 1;
            w.q.push_back(q);
            while w
                .q
                .front()
                .is_some_and(|f| f.t <= t - self.cfg.tunnel_window_ms)
            {
                if let Some(old) = w.q.pop_front() {
                    w.len_sum -= old.len;
                    w.ent_sum -= old.entropy_sum;
                    w.rare -= old.rare as usize;
                    if let Some(c) = w.names.get_mut(&old.name) {
                        *c -= 1;
                        if *c == 0 {
                            w.names.remove(&old.name);
                        }
                    }
                }
            }
            let n = w.q.len();
            let c = &self.cfg;
            if n >= c.tunnel_min_queries && w.names.len() >= c.tunnel_min_unique {
                let mean_len = w.len_sum as f64 / n as f64;
                let mean_ent = w.ent_sum / n as f64;
                let share = w.rare as f64 / n as f64;
                let fires = mean_len >= c.tunnel_min_len
                    && (mean_ent >= c.tunnel_min_entropy
                        || (share >= c.tunnel_rare_share && mean_ent >= c.tunnel_rare_entropy));
                if fires {
                    let why = format!(
                        "{n} queries, {} distinct names in {} s; subdomains average {mean_len:.0} characters at {mean_ent:.2} bits/char; {:.0}% TXT/NULL/CNAME/MX",
                        w.names.len(),
                        c.tunnel_window_ms / 1000,
                        share * 100.0
                    );
                    if self.may_alert(1, &reg, t) {
                        out.push(det(Kind::Tunnel, reg.clone(), why));
                    }
                }
            }
        }

        // NXDOMAIN bursts, per workload.
        if let Some(rc) = &r.rcode {
            let key = if workload.is_empty() {
                r.client.ip.clone()
            } else {
                workload.clone()
            };
            let win = self.nx.entry(key.clone()).or_default();
            win.push_back((t, rc == "NXDOMAIN"));
            while win
                .front()
                .is_some_and(|f| f.0 <= t - self.cfg.nx_window_ms)
            {
                win.pop_front();
            }
            let nx = win.iter().filter(|x| x.1).count();
            let total = win.len();
            if nx >= self.cfg.nx_min && nx as f64 >= self.cfg.nx_share * total as f64 {
                let why = format!(
                    "{nx} NXDOMAIN of {total} answers in {} s",
                    self.cfg.nx_window_ms / 1000
                );
                if self.may_alert(2, &key, t) {
                    out.push(det(Kind::NxBurst, key, why));
                }
            }
        }
        out
    }
}

/// The alert of a detection, in Falco's JSON shape.
pub fn alert(d: &Detection, hostname: &str) -> Alert {
    let (rule, tags): (&str, &[&str]) = match d.kind {
        Kind::Dga => (
            "DGA domain resolved",
            &["threat", "dns", "mitre_command_and_control", "T1568.002"],
        ),
        Kind::Tunnel => (
            "DNS tunnelling",
            &["threat", "dns", "mitre_exfiltration", "T1071.004"],
        ),
        Kind::NxBurst => (
            "NXDOMAIN burst",
            &["threat", "dns", "mitre_command_and_control", "T1568.002"],
        ),
    };
    let mut f = Map::new();
    let (ns, name) = d
        .workload
        .split_once('/')
        .unwrap_or(("", d.workload.as_str()));
    let opt = |s: &str| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s.into())
        }
    };
    f.insert("dns.domain".into(), Value::String(d.key.clone()));
    f.insert("dns.qname".into(), Value::String(d.example.clone()));
    f.insert("threat.why".into(), Value::String(d.why.clone()));
    f.insert("k8s.ns.name".into(), opt(ns));
    f.insert("k8s.workload.name".into(), opt(name));
    f.insert("k8s.pod.name".into(), opt(&d.pod));
    let who = if d.workload.is_empty() {
        "<unattributed>"
    } else {
        &d.workload
    };
    Alert {
        time_ns: d.time.saturating_mul(1_000_000),
        rule: rule.into(),
        priority: Priority::Warning,
        source: "palisade_threat".into(),
        message: format!(
            "{rule} (workload={who} domain={} qname={}): {}",
            d.key, d.example, d.why
        ),
        output_fields: f,
        tags: tags.iter().map(|s| s.to_string()).collect(),
        hostname: hostname.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::Endpoint;

    fn rec(t: i64, w: &str, q: &str, qtype: &str, rcode: &str) -> DnsRecord {
        let (ns, name) = w.split_once('/').unwrap();
        DnsRecord {
            time: t,
            client: Endpoint {
                namespace: Some(ns.into()),
                workload: Some(name.into()),
                ..Endpoint::default()
            },
            qname: q.into(),
            qtype: qtype.into(),
            rcode: Some(rcode.into()),
            ..DnsRecord::default()
        }
    }

    #[test]
    fn nx_burst_once_per_key() {
        let mut a = DnsAnalytics::new(
            Model::builtin(),
            SuffixList::parse("com\n"),
            DnsConfig::default(),
        );
        let mut n = 0;
        for i in 0..60 {
            n += a
                .observe(&rec(
                    i * 100,
                    "a/b",
                    &format!("host{i}.example.com"),
                    "A",
                    "NXDOMAIN",
                ))
                .iter()
                .filter(|d| d.kind == Kind::NxBurst)
                .count();
        }
        assert_eq!(n, 1);
        assert!(a.suppressed > 0);
        let al = alert(
            &Detection {
                kind: Kind::NxBurst,
                time: 1,
                workload: "a/b".into(),
                pod: String::new(),
                key: "a/b".into(),
                example: "x".into(),
                why: "w".into(),
            },
            "h",
        );
        assert_eq!(al.to_json()["rule"], "NXDOMAIN burst");
    }

    #[test]
    fn entropy_bits() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("ab.ab") - 1.0).abs() < 1e-9);
    }
}
