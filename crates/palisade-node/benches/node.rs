//! A full node check (every section, both analyses and section 5 over the fixture's
//! manifests) on the fixture roots. Prints the median and the fastest of N runs.
//!
//! `cargo bench -p palisade-node` (or `taskset -c 1 cargo bench -p palisade-node`).

use palisade_model::LoadOptions;
use palisade_node::{Benchmark, Options, Profile, Root};
use std::path::Path;
use std::time::{Duration, Instant};

fn measure(name: &str, iters: usize, mut f: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = Vec::with_capacity(iters);
    let mut results = 0;
    for _ in 0..iters {
        let t = Instant::now();
        results = f();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{name:<48} median {:>8.2} ms   min {:>8.2} ms   ({iters} runs, {results} results)",
        times[iters / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (name, profile) in [
        ("kubeadm-hardened", Profile::Kubeadm),
        ("kubeadm-misconfigured", Profile::Kubeadm),
        ("k3s", Profile::K3s),
        ("eks", Profile::Eks),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        palisade_node::testing::copy_tree(&fixtures.join(name), tmp.path()).unwrap();
        let root = Root::new(tmp.path());
        let cluster = tmp.path().join("cluster");
        let opts = Options {
            profile,
            benchmark: Benchmark::Cis112,
            kubernetes_version: None,
            today: Some(palisade_node::analysis::days_from_civil(2026, 12, 3)),
        };
        measure(&format!("{name}: full check incl. manifests"), 50, || {
            let loaded = cluster.exists().then(|| {
                palisade_model::load_paths(std::slice::from_ref(&cluster), &LoadOptions::default())
            });
            let run =
                palisade_node::run(&root, &opts, loaded.as_ref().map(|l| l.objects.as_slice()));
            let report = palisade_node::report::to_report(&run, &[], "bench");
            let rows = palisade_node::report::rows(&run);
            std::hint::black_box(palisade_node::report::text(&rows, false));
            std::hint::black_box(report.findings.len());
            run.results.len()
        });
    }
}
