//! Per-request evaluation cost, without the network: every fixture review through
//! `Admission::validate_now` with the benchmark configuration (restricted Pod Security plus
//! ten CEL/Rego policies), and the time of each unit.
//!
//!   cargo bench -p palisade-admission --bench evaluate
//!   ITERATIONS=50 valgrind --tool=callgrind target/release/deps/evaluate-*   # a profile

use palisade_admission::config::AdmissionConfig;
use palisade_admission::engine::Admission;
use palisade_admission::review;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cfg = AdmissionConfig::load(&root.join("bench/admission/admission.yaml")).expect("config");
    let admission = Admission::load(cfg).expect("policies load");
    let iterations: usize = std::env::var("ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let unit_runs = iterations.div_ceil(10);
    for name in [
        "pod-create.json",
        "pod-create-compliant.json",
        "deployment-update.json",
    ] {
        let body = std::fs::read(
            root.join("crates/palisade-admission/tests/fixtures/reviews")
                .join(name),
        )
        .unwrap();
        let req = review::parse(&body, 1 << 24).unwrap().request;
        let mut times = Vec::with_capacity(iterations);
        let mut units: BTreeMap<String, Duration> = BTreeMap::new();
        for _ in 0..iterations {
            let t = Instant::now();
            let _ = std::hint::black_box(admission.validate_now(&req, None));
            times.push(t.elapsed());
        }
        for _ in 0..unit_runs {
            for (u, d) in admission.unit_timings(&req, None) {
                *units.entry(u).or_default() += d;
            }
        }
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!("{name}: p50 {:.0} µs, p99 {:.0} µs", p(0.5), p(0.99));
        let mut by_cost: Vec<_> = units.into_iter().collect();
        by_cost.sort_by_key(|u| std::cmp::Reverse(u.1));
        for (u, d) in by_cost {
            println!(
                "    {u:<45} {:>7.1} µs",
                d.as_secs_f64() * 1e6 / unit_runs as f64
            );
        }
    }
}
