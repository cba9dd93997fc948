//! Behaviour baselines per workload (the flow's initiator), learnt from records in time
//! order. During the learning period (default 14 days from the workload's first record)
//! everything is learnt silently; afterwards:
//!
//! - a first connection to a peer (workload, or address outside the cluster), a first
//!   destination port/protocol, or a first resolved registered domain is an alert;
//! - a workload that never talked to a public address during learning and now does "starts
//!   talking to the internet";
//! - hourly egress bytes far above the workload's EWMA (α = 0.2 over past hours): more than
//!   `volume_factor` times the average and more than `volume_min_bytes`.
//!
//! New things are learnt when first alerted (one alert each). Alerts of one kind for one
//! workload are rate-limited in record time (`realert_ms`, counted when held back), and
//! each says what was new and after how long a baseline.

use palisade_detect::{Alert, Priority};
use palisade_store::psl::SuffixList;
use palisade_store::{DnsRecord, EndpointKind, FlowRecord};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct BaselineConfig {
    pub learning_ms: i64,
    pub ewma_alpha: f64,
    pub volume_factor: f64,
    pub volume_min_bytes: u64,
    /// The same kind of alert for the same workload at most once per this long.
    pub realert_ms: i64,
}

impl Default for BaselineConfig {
    fn default() -> BaselineConfig {
        BaselineConfig {
            learning_ms: 14 * 86_400_000,
            ewma_alpha: 0.2,
            volume_factor: 10.0,
            volume_min_bytes: 10 << 20,
            realert_ms: 600_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Kind {
    NewPeer,
    NewPort,
    NewDomain,
    Internet,
    Volume,
}

impl Kind {
    fn rule(self) -> &'static str {
        match self {
            Kind::NewPeer => "Baseline: first connection to a peer",
            Kind::NewPort => "Baseline: first use of a port",
            Kind::NewDomain => "Baseline: first resolution of a domain",
            Kind::Internet => "Baseline: workload starts talking to the internet",
            Kind::Volume => "Baseline: traffic volume far above its average",
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Anomaly {
    pub kind: Kind,
    pub time: i64,
    pub workload: String,
    pub pod: String,
    pub what: String,
    pub message: String,
}

#[derive(Default)]
struct W {
    first: i64,
    peers: HashSet<String>,
    ports: HashSet<(u16, String)>,
    domains: HashSet<String>,
    internet: bool,
    hour: i64,
    hour_bytes: u64,
    ewma: Option<f64>,
}

pub struct Baselines {
    pub cfg: BaselineConfig,
    psl: SuffixList,
    w: HashMap<String, W>,
    last: HashMap<(Kind, String), i64>,
    pub suppressed: u64,
}

/// A public (internet) address: not private, loopback, link-local, CGNAT, documentation… of
/// the special-purpose registries that a cluster's own traffic uses.
pub fn is_public(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        Ok(IpAddr::V6(a)) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

fn days(ms: i64) -> String {
    let d = ms as f64 / 86_400_000.0;
    if d >= 1.0 {
        format!("{d:.0} days")
    } else {
        format!("{:.1} hours", ms as f64 / 3_600_000.0)
    }
}

impl Baselines {
    pub fn new(cfg: BaselineConfig, psl: SuffixList) -> Baselines {
        Baselines {
            cfg,
            psl,
            w: HashMap::new(),
            last: HashMap::new(),
            suppressed: 0,
        }
    }

    fn emit(&mut self, out: &mut Vec<Anomaly>, a: Anomaly) {
        let key = (a.kind, a.workload.clone());
        match self.last.get(&key) {
            Some(&t) if a.time - t < self.cfg.realert_ms => self.suppressed += 1,
            _ => {
                self.last.insert(key, a.time);
                out.push(a);
            }
        }
    }

    pub fn flow(&mut self, r: &FlowRecord) -> Vec<Anomaly> {
        let mut out = Vec::new();
        let Some(wk) = r.src.workload_key() else {
            return out;
        };
        if r.src.kind != EndpointKind::Pod {
            return out;
        }
        let pod = r.src.pod.clone().unwrap_or_default();
        let t = r.start;
        let cfg = self.cfg.clone();
        let w = self.w.entry(wk.clone()).or_insert_with(|| W {
            first: t,
            hour: t / 3_600_000,
            ..W::default()
        });
        let learnt = t - w.first >= cfg.learning_ms;
        let base = days(t - w.first);
        let peer = r.dst.workload_key().unwrap_or_else(|| r.dst.ip.clone());
        let port = (r.dst.port, r.protocol.clone());
        let public = r.dst.kind == EndpointKind::External && is_public(&r.dst.ip);
        let mut found = Vec::new();
        if w.peers.insert(peer.clone()) && learnt {
            found.push((
                Kind::NewPeer,
                format!("{peer}:{}", r.dst.port),
                format!(
                    "first connection from {wk} to {peer}:{} after {base} of baseline",
                    r.dst.port
                ),
            ));
        }
        if w.ports.insert(port.clone()) && learnt {
            found.push((
                Kind::NewPort,
                format!("{}/{}", port.0, port.1),
                format!(
                    "first use of port {}/{} by {wk} (to {peer}) after {base} of baseline",
                    port.0, port.1
                ),
            ));
        }
        if public && !w.internet {
            w.internet = true;
            if learnt {
                found.push((
                    Kind::Internet,
                    r.dst.ip.clone(),
                    format!(
                        "{wk} starts talking to the internet ({}:{}) after {base} without",
                        r.dst.ip, r.dst.port
                    ),
                ));
            }
        }
        // Hourly volume against the EWMA of the past hours.
        let hour = t / 3_600_000;
        if hour != w.hour {
            let done = w.hour_bytes as f64;
            let gap = (hour - w.hour - 1).max(0);
            let a = cfg.ewma_alpha;
            let mut e = w.ewma.map_or(done, |e| a * done + (1.0 - a) * e);
            for _ in 0..gap.min(48) {
                e *= 1.0 - a;
            }
            w.ewma = Some(e);
            w.hour = hour;
            w.hour_bytes = 0;
        }
        w.hour_bytes += r.bytes_out;
        let cur = w.hour_bytes;
        if let Some(e) = w.ewma {
            if learnt && cur > cfg.volume_min_bytes && cur as f64 > cfg.volume_factor * e.max(1.0) {
                found.push((
                    Kind::Volume,
                    format!("{cur} bytes"),
                    format!(
                        "{wk} sent {cur} bytes this hour, {:.0}x its average of {:.0} bytes/hour over {base}",
                        cur as f64 / e.max(1.0),
                        e
                    ),
                ));
            }
        }
        for (kind, what, message) in found {
            self.emit(
                &mut out,
                Anomaly {
                    kind,
                    time: t,
                    workload: wk.clone(),
                    pod: pod.clone(),
                    what,
                    message,
                },
            );
        }
        out
    }

    pub fn dns(&mut self, r: &DnsRecord) -> Vec<Anomaly> {
        let mut out = Vec::new();
        let Some(wk) = r.client.workload_key() else {
            return out;
        };
        let name = r.qname.trim_end_matches('.').to_ascii_lowercase();
        if name.ends_with(".local") || name.ends_with(".arpa") || !name.contains('.') {
            return out;
        }
        let reg = self.psl.registered_domain(&name);
        let t = r.time;
        let learning = self.cfg.learning_ms;
        let w = self.w.entry(wk.clone()).or_insert_with(|| W {
            first: t,
            hour: t / 3_600_000,
            ..W::default()
        });
        let learnt = t - w.first >= learning;
        let base = days(t - w.first);
        if w.domains.insert(reg.clone()) && learnt {
            let a = Anomaly {
                kind: Kind::NewDomain,
                time: t,
                workload: wk.clone(),
                pod: r.client.pod.clone().unwrap_or_default(),
                what: reg.clone(),
                message: format!(
                    "first resolution of {reg} ({name}) by {wk} after {base} of baseline"
                ),
            };
            self.emit(&mut out, a);
        }
        out
    }
}

pub fn alert(a: &Anomaly, hostname: &str) -> Alert {
    let mut f = Map::new();
    let (ns, name) = a
        .workload
        .split_once('/')
        .unwrap_or(("", a.workload.as_str()));
    f.insert("baseline.new".into(), Value::String(a.what.clone()));
    f.insert("k8s.ns.name".into(), Value::String(ns.into()));
    f.insert("k8s.workload.name".into(), Value::String(name.into()));
    f.insert(
        "k8s.pod.name".into(),
        if a.pod.is_empty() {
            Value::Null
        } else {
            Value::String(a.pod.clone())
        },
    );
    Alert {
        time_ns: a.time.saturating_mul(1_000_000),
        rule: a.kind.rule().into(),
        priority: if a.kind == Kind::Internet || a.kind == Kind::Volume {
            Priority::Warning
        } else {
            Priority::Notice
        },
        source: "palisade_threat".into(),
        message: a.message.clone(),
        output_fields: f,
        tags: vec!["baseline".into(), "network".into()],
        hostname: hostname.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::Endpoint;

    fn flow(t: i64, dst_ip: &str, port: u16, bytes: u64) -> FlowRecord {
        FlowRecord {
            start: t,
            end: t,
            src: Endpoint {
                ip: "10.0.0.1".into(),
                kind: EndpointKind::Pod,
                namespace: Some("shop".into()),
                workload: Some("cart".into()),
                pod: Some("cart-1".into()),
                ..Endpoint::default()
            },
            dst: Endpoint {
                ip: dst_ip.into(),
                port,
                kind: EndpointKind::External,
                ..Endpoint::default()
            },
            protocol: "tcp".into(),
            bytes_out: bytes,
            ..FlowRecord::default()
        }
    }

    #[test]
    fn after_learning_only_and_explained() {
        let day = 86_400_000;
        let mut b = Baselines::new(BaselineConfig::default(), SuffixList::parse("com\n"));
        for d in 0..15 {
            for h in 0..24 {
                let t = d * day + h * 3_600_000;
                assert!(b.flow(&flow(t, "10.0.9.9", 5432, 1000)).is_empty());
            }
        }
        let t = 15 * day;
        let a = b.flow(&flow(t, "203.0.113.7", 4444, 100));
        let kinds: Vec<Kind> = a.iter().map(|x| x.kind).collect();
        assert_eq!(kinds, vec![Kind::NewPeer, Kind::NewPort, Kind::Internet]);
        assert_eq!(
            a[0].message,
            "first connection from shop/cart to 203.0.113.7:4444 after 15 days of baseline"
        );
        // The same peer again is known; a burst of new peers is rate-limited.
        assert!(b.flow(&flow(t + 1, "203.0.113.7", 4444, 100)).is_empty());
        let n: usize = (0..5)
            .map(|i| {
                b.flow(&flow(t + 2 + i, &format!("203.0.113.{}", 20 + i), 4444, 1))
                    .len()
            })
            .sum();
        assert_eq!(n, 0, "within realert_ms of the first alert");
        assert_eq!(b.suppressed, 5);
        // Volume: 100 MB in an hour after ~1 kB/hour.
        let v = b.flow(&flow(t + 3_600_000, "10.0.9.9", 5432, 100 << 20));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].kind, Kind::Volume);
        assert_eq!(
            alert(&v[0], "h").to_json()["output_fields"]["k8s.ns.name"],
            "shop"
        );
    }

    #[test]
    fn public_addresses() {
        assert!(is_public("203.0.113.7"));
        assert!(!is_public("10.1.2.3"));
        assert!(!is_public("100.64.0.1"));
        assert!(!is_public("fd00::1"));
        assert!(is_public("2001:4860::8888"));
    }
}
