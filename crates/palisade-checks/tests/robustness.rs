//! A deterministic mutation test that runs in every `cargo test`: real manifests are mutated
//! (byte flips, truncation, splices, indentation damage, type confusion) and pushed through
//! the loader, every check and the configuration parser. Nothing may panic. The cargo-fuzz
//! targets in `fuzz/` explore the same surface without a time limit.

use palisade_checks::{Config, Engine, EngineOptions};
use palisade_model::{load_bytes, LoadOptions, Source};
use std::path::Path;

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "&a ",
    "*a",
    "<<: *a\n",
    "'",
    "\"",
    "\n  ",
    "\n---\n",
    "null",
    "true",
    "-1",
    "0x7fffffffffffffff",
    "99999999999999999999",
    "~",
    "!!str ",
    "? ",
    "|\n",
    "\t",
    "\u{feff}",
    "{{ .Values.x }}",
    "containers",
    "securityContext",
    "hostPath",
    "privileged",
];

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["examples/insecure", "examples/hardened"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read(f).unwrap());
        }
    }
    out
}

#[test]
fn mutated_manifests_never_panic() {
    let engine = Engine::new(EngineOptions::default()).unwrap();
    let seeds = seeds();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut objects_seen = 0usize;
    for i in 0..3000 {
        let mut data = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data[at] = rng.next() as u8;
                }
                1 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data.truncate(at);
                }
                2 => {
                    let at = rng.below(data.len() + 1);
                    let tok = TOKENS[rng.below(TOKENS.len())];
                    data.splice(at..at, tok.bytes());
                }
                3 if data.len() > 2 => {
                    let a = rng.below(data.len());
                    let b = rng.below(data.len());
                    let (a, b) = (a.min(b), a.max(b));
                    data.drain(a..b.min(a + 64));
                }
                _ => {
                    let other = &seeds[rng.below(seeds.len())];
                    let at = rng.below(other.len());
                    data.extend_from_slice(&other[at..]);
                }
            }
        }
        let loaded = load_bytes(
            &data,
            Source::File("m.yaml".into()),
            &LoadOptions::default(),
        );
        objects_seen += loaded.objects.len();
        let result = engine.run(&loaded.objects);
        for f in &result.findings {
            assert!(!f.check.is_empty());
        }
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = Config::parse(text, "c.yaml");
        }
    }
    assert!(
        objects_seen > 1000,
        "mutations too destructive: {objects_seen} objects"
    );
}
