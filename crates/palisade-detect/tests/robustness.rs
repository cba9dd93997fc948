//! Hostile rule files and events never panic: deterministic mutations of the upstream rule
//! files and the suite's events through loading, compiling, evaluation and output (the fuzz
//! target `detect` does the same with coverage guidance).

use palisade_detect::input::parse;
use palisade_detect::{Engine, RuleSet};
use std::sync::Arc;

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/falco-k8saudit"
);

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    " and ",
    " or not ",
    "\"",
    "'",
    "[",
    "]",
    "%",
    "%ka.",
    " in (",
    ",",
    "\n- rule: x\n",
    "append: true",
    "{",
    "}",
    "null",
    "- ",
    ": ",
    "\\",
    "jevt.value[",
    "~1",
    "evt.arg.",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut s = s.to_string();
    for _ in 0..1 + rng.next() % 4 {
        let mut pos = rng.next() % (s.len() + 1);
        while !s.is_char_boundary(pos) {
            pos -= 1;
        }
        if rng.next() % 2 == 0 {
            s.insert_str(pos, TOKENS[rng.next() % TOKENS.len()]);
        } else {
            let mut end = (pos + rng.next() % 30).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.replace_range(pos..end, "");
        }
    }
    s
}

#[test]
fn mutated_rules_and_events_never_panic() {
    let rules = std::fs::read_to_string(format!("{SUITE}/rules/k8s_audit_rules.yaml")).unwrap();
    let events: String = [
        "create_nginx_pod_privileged.json",
        "create_cluster_role_wildcard_resources.json",
        "create_configmap_sensitive_values.json",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(format!("{SUITE}/events/{f}")).unwrap())
    .collect::<Vec<_>>()
    .join("\n");
    let host: Arc<str> = Arc::from("t");
    let mut base = RuleSet::new();
    base.load("r.yaml", &rules);
    let engine = Engine::from_ruleset(&base);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let lines: Vec<&str> = rules.lines().collect();
    for i in 0..300 {
        // A window of the rule file, mutated.
        let start = rng.next() % lines.len();
        let window = lines[start..(start + 60).min(lines.len())].join("\n");
        let mut set = RuleSet::new();
        set.load("m.yaml", &mutate(&mut rng, &window));
        let e = Engine::from_ruleset(&set);
        let evs = mutate(&mut rng, &events);
        for ev in parse(&evs, &host).events {
            let _ = e
                .process(ev.as_event(), ev.time_ns(), "t")
                .map(|a| a.to_json());
            let _ = engine
                .process(ev.as_event(), ev.time_ns(), "t")
                .map(|a| a.to_json());
        }
        let _ = i;
    }
}
