//! Evaluation of the DNS detectors on the labelled sets that `scripts/threat-labelled-set.py`
//! builds (examples/threat/dns). Prints precision, recall and false-positive rates; asserts
//! the goals: DGA recall ≥ 0.90 at a false-positive rate ≤ 1% on the test split; every
//! tunnel detected within 5 minutes of its first query and no tunnelling alert on a benign
//! domain; the DGA bot's NXDOMAIN burst detected and no burst alert for benign workloads.

use palisade_store::psl::SuffixList;
use palisade_store::{DnsRecord, Endpoint};
use palisade_threat::dga::{scored_label, Model};
use palisade_threat::dns::{DnsAnalytics, DnsConfig, Kind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/threat/dns")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn psl() -> SuffixList {
    let l = SuffixList::system();
    assert!(
        !l.is_empty(),
        "the evaluation needs Debian's public suffix list (package publicsuffix; scripts/install-test-deps.sh installs it)"
    );
    l
}

#[test]
fn dga_recall_at_one_percent_fpr() {
    let m = Model::builtin();
    let psl = psl();
    let text = data("dga-labelled.tsv");
    let (mut tp, mut fp, mut tn, mut fneg) = (0u32, 0u32, 0u32, 0u32);
    let mut fam: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut unscored = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        if f[0] != "test" {
            continue;
        }
        let Some(label) = scored_label(f[3], &psl) else {
            unscored += 1;
            continue;
        };
        let hit = m.score_label(&label) >= m.threshold;
        match (f[1], hit) {
            ("dga", true) => tp += 1,
            ("dga", false) => fneg += 1,
            (_, true) => fp += 1,
            (_, false) => tn += 1,
        }
        if f[1] == "dga" {
            let e = fam.entry(f[2].to_string()).or_default();
            e.0 += hit as u32;
            e.1 += 1;
        }
    }
    let recall = tp as f64 / (tp + fneg) as f64;
    let fpr = fp as f64 / (fp + tn) as f64;
    let precision = tp as f64 / (tp + fp) as f64;
    println!(
        "DGA (test split): {} DGA, {} benign names; precision {precision:.4}, recall {recall:.4}, false-positive rate {fpr:.4} at threshold {:.4} ({unscored} unscored)",
        tp + fneg,
        fp + tn,
        m.threshold
    );
    for (f, (hit, n)) in &fam {
        println!(
            "  {f:<13} recall {:.4} ({hit}/{n})",
            *hit as f64 / *n as f64
        );
    }
    assert!(
        tp + fneg >= 1000 && fp + tn >= 1000,
        "the labelled set is too small"
    );
    assert!(recall >= 0.90, "DGA recall {recall:.4} < 0.90");
    assert!(fpr <= 0.01, "DGA false-positive rate {fpr:.4} > 1%");
}

#[test]
fn tunnels_and_nxdomain_bursts() {
    let psl = psl();
    let mut a = DnsAnalytics::new(Model::builtin(), psl.clone(), DnsConfig::default());
    let text = data("traffic.tsv");
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    let mut label_of_domain: HashMap<String, String> = HashMap::new();
    let mut benign_domains: HashSet<String> = HashSet::new();
    let mut detections = Vec::new();
    let mut records = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 6, "{line}");
        let t: i64 = f[0].parse().unwrap();
        let (ns, w) = f[1].split_once('/').unwrap();
        let reg = psl.registered_domain(f[2]);
        first_seen.entry(f[5].to_string()).or_insert(t);
        if f[5] == "benign" {
            benign_domains.insert(reg.clone());
        } else {
            label_of_domain.insert(reg, f[5].to_string());
        }
        let r = DnsRecord {
            time: t,
            client: Endpoint {
                namespace: Some(ns.into()),
                workload: Some(w.into()),
                ..Endpoint::default()
            },
            qname: f[2].into(),
            qtype: f[3].into(),
            rcode: Some(f[4].into()),
            ..DnsRecord::default()
        };
        records += 1;
        detections.extend(a.observe(&r));
    }
    let tunnels: Vec<_> = detections
        .iter()
        .filter(|d| d.kind == Kind::Tunnel)
        .collect();
    let bursts: Vec<_> = detections
        .iter()
        .filter(|d| d.kind == Kind::NxBurst)
        .collect();
    println!(
        "DNS traffic: {records} records, {} benign domains; {} tunnel alert(s), {} NXDOMAIN burst alert(s)",
        benign_domains.len(),
        tunnels.len(),
        bursts.len()
    );
    for style in ["iodine", "dnscat"] {
        let d = tunnels
            .iter()
            .find(|d| label_of_domain.get(&d.key).map(String::as_str) == Some(style))
            .unwrap_or_else(|| panic!("{style} tunnel not detected"));
        let delay = d.time - first_seen[style];
        println!(
            "  {style:<7} detected after {:.1} s: {}",
            delay as f64 / 1000.0,
            d.why
        );
        assert!(delay <= 5 * 60_000, "{style} detected after {delay} ms");
    }
    let false_tunnels: Vec<_> = tunnels
        .iter()
        .filter(|d| !label_of_domain.contains_key(&d.key))
        .collect();
    println!(
        "  tunnel false positives on benign domains: {}",
        false_tunnels.len()
    );
    assert!(false_tunnels.is_empty(), "{false_tunnels:?}");
    let bot = bursts
        .iter()
        .find(|d| d.workload == "data/etl")
        .expect("the DGA bot's NXDOMAIN burst");
    println!(
        "  NXDOMAIN burst of data/etl after {:.1} s: {}",
        (bot.time - first_seen["dga"]) as f64 / 1000.0,
        bot.why
    );
    assert_eq!(bursts.len(), 1, "{bursts:?}");
}
