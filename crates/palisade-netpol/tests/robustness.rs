//! Hostile input never panics: thousands of deterministic mutations of the example snapshot,
//! policies and flow logs go through every analysis (the fuzz target `netpol` does the same
//! with coverage guidance).

mod common;
use common::example;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_netpol::connlist::{connlist, exposure, Options};
use palisade_netpol::explain::explain;
use palisade_netpol::flows::{read, resolve_all, Format};
use palisade_netpol::impact::impact;
use palisade_netpol::lint::lint;
use palisade_netpol::recommend::{recommend, Options as RecOptions};
use palisade_netpol::{BuildOptions, Endpoint, Engine, Network};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{}",
    "[]",
    "null",
    "-",
    "0",
    "65536",
    "-1",
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/33",
    "Pass",
    "Deny",
    "matchExpressions: [{key: a, operator: Bogus}]",
    "namedPort: x",
    "endPort: 1",
    "ipBlock: {}",
    "\"",
    "'",
    ":",
    "\n  - ",
    "\n",
    "port: http",
    "protocol: ICMP",
    "priority: 5000",
    "&a",
    "*a",
];

fn mutate(rng: &mut Rng, input: &str) -> String {
    let mut s = input.to_string();
    for _ in 0..1 + rng.below(4) {
        let pos = {
            let mut p = rng.below(s.len() + 1);
            while !s.is_char_boundary(p) {
                p -= 1;
            }
            p
        };
        match rng.below(4) {
            0 => s.insert_str(pos, TOKENS[rng.below(TOKENS.len())]),
            1 => {
                let mut end = (pos + rng.below(40)).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(pos..end, "");
            }
            2 => {
                // Duplicate a line elsewhere.
                let lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let l = lines[rng.below(lines.len())].to_string();
                    s.insert_str(pos, &format!("{l}\n"));
                }
            }
            _ => {
                let mut end = (pos + 1).min(s.len());
                while !s.is_char_boundary(end) {
                    end += 1;
                }
                s.replace_range(pos..end, TOKENS[rng.below(TOKENS.len())]);
            }
        }
    }
    s
}

fn exercise(manifests: &str, flows: &str) {
    let loaded = load_bytes(manifests.as_bytes(), Source::Stdin, &LoadOptions::default());
    let net = Network::build(&loaded.objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let _ = connlist(&engine, &Options::default());
    let _ = lint(&engine);
    let _ = exposure(&engine);
    if net.workloads.len() >= 2 {
        let _ = explain(&engine, Endpoint::Workload(0), Endpoint::Workload(1), None);
    }
    let staged = Network::build(
        &loaded.objects,
        &BuildOptions {
            enforce_staged: true,
        },
    );
    let after = Engine::new(&staged);
    let log = read(flows, Format::Auto);
    let (resolved, _) = resolve_all(&net, &log);
    let _ = recommend(&net, &resolved, &RecOptions::default());
    let _ = impact(&engine, &after, &resolved, &log);
}

#[test]
fn mutated_inputs_never_panic() {
    let cluster = std::fs::read_to_string(example("cluster.yaml")).unwrap();
    let policies = std::fs::read_to_string(example("policies.yaml")).unwrap();
    let new = std::fs::read_to_string(example("new-policies.yaml")).unwrap();
    let flows: String = std::fs::read_to_string(example("flows.jsonl"))
        .unwrap()
        .lines()
        .take(30)
        .collect::<Vec<_>>()
        .join("\n");
    let base = format!("{cluster}\n---\n{policies}\n---\n{new}");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..400 {
        let m = mutate(&mut rng, &base);
        let f = mutate(&mut rng, &flows);
        exercise(&m, &f);
    }
    // Policy-only mutations hit the policy parser more often.
    for _ in 0..1500 {
        let m = mutate(&mut rng, &policies);
        exercise(&format!("{cluster}\n---\n{m}"), "");
    }
}
