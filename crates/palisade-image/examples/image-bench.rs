//! Benchmark driver for scripts/image-bench.sh (not a test: it prints timings).
//!
//! - `image-bench push REGISTRY` builds a ~100 MB Debian-based fixture image (a dpkg
//!   database of 400 packages, 60 Python packages, and ~100 MB of incompressible files in
//!   four layers) and pushes it to REGISTRY (a local docker-registry);
//! - `image-bench db FILE` writes a synthetic vulnerability database the size of OSV's Debian
//!   and PyPI data (45,000 Debian and 15,000 PyPI advisories over 26,000 packages);
//! - `image-bench scan REF DB CACHE` is one scan (pull, catalog, match) and prints its time;
//! - `image-bench match DB` times matching 2,000 packages.

use palisade_image::fixture::{self, Compression, ImageSpec, Layer};
use palisade_image::osv::{Affected, Event, Osv, PackageId, Range};
use palisade_image::{db::Db, Options, Package, PkgKind};
use std::time::Instant;

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn noise(n: usize, seed: &mut u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        v.extend_from_slice(&rng(seed).to_le_bytes());
    }
    v.truncate(n);
    v
}

fn big_image() -> ImageSpec {
    let mut spec = fixture::debian();
    let mut status = String::new();
    for i in 0..400 {
        status.push_str(&format!(
            "Package: pkg{i}\nStatus: install ok installed\nSource: src{}\nVersion: 1.{}.{}-{}+deb12u1\nArchitecture: amd64\n\n",
            i / 2,
            i % 7,
            i % 13,
            i % 5 + 1
        ));
    }
    spec.layers[0]
        .files
        .push(fixture::file("var/lib/dpkg/status", status, 0o644));
    let mut seed = 0x9e3779b97f4a7c15u64;
    for l in 0..4 {
        let mut files = vec![fixture::dir(&format!("opt/data{l}"), 0o755)];
        for f in 0..25 {
            files.push(fixture::file(
                &format!("opt/data{l}/blob{f}.bin"),
                noise(1_000_000, &mut seed),
                0o644,
            ));
        }
        for p in 0..15 {
            let n = l * 15 + p;
            files.push(fixture::file(
                &format!(
                    "usr/local/lib/python3.11/site-packages/lib{n}-2.{p}.0.dist-info/METADATA"
                ),
                format!("Metadata-Version: 2.1\nName: lib{n}\nVersion: 2.{p}.0\n\n"),
                0o644,
            ));
        }
        spec.layers.push(Layer {
            files,
            compression: Compression::Gzip,
            created_by: format!("COPY data{l} /opt/data{l}"),
        });
    }
    spec.name = "bench/debian-100mb:1".into();
    spec
}

fn synthetic_db(path: &str) {
    let _ = std::fs::remove_file(path);
    let mut db = Db::open(std::path::Path::new(path)).unwrap();
    let mut seed = 42u64;
    let mut batch = Vec::new();
    let mut n = 0;
    for (eco, count, pkgs) in [("Debian:12", 45_000u64, 20_000u64), ("PyPI", 15_000, 6_000)] {
        for i in 0..count {
            let p = rng(&mut seed) % pkgs;
            let name = if eco == "PyPI" {
                format!("lib{p}")
            } else {
                format!("src{p}")
            };
            let fixed = if eco == "PyPI" {
                format!("2.{}.{}", rng(&mut seed) % 20, rng(&mut seed) % 5)
            } else {
                format!(
                    "1.{}.{}-{}+deb12u2",
                    rng(&mut seed) % 7,
                    rng(&mut seed) % 13,
                    rng(&mut seed) % 5 + 1
                )
            };
            batch.push(Osv {
                id: format!("SYN-{eco}-{i}"),
                modified: "2026-11-01T00:00:00Z".into(),
                aliases: vec![format!("CVE-2098-{n}")],
                summary: "synthetic".into(),
                severity: vec![palisade_image::osv::OsvSeverity {
                    kind: "CVSS_V3".into(),
                    score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into(),
                }],
                affected: vec![Affected {
                    package: Some(PackageId {
                        ecosystem: eco.into(),
                        name,
                    }),
                    ranges: vec![Range {
                        kind: "ECOSYSTEM".into(),
                        events: vec![
                            Event {
                                introduced: Some("0".into()),
                                ..Event::default()
                            },
                            Event {
                                fixed: Some(fixed),
                                ..Event::default()
                            },
                        ],
                    }],
                    ..Affected::default()
                }],
                database_specific: None,
            });
            n += 1;
            if batch.len() == 5000 {
                db.insert(&batch).unwrap();
                batch.clear();
            }
        }
    }
    db.insert(&batch).unwrap();
    db.touch("synthetic").unwrap();
    eprintln!(
        "{n} advisories in {path} ({} bytes)",
        std::fs::metadata(path).unwrap().len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("push") => {
            let spec = big_image();
            let b = fixture::build(&spec);
            let size: usize = b.layers.iter().map(|l| l.1.len()).sum();
            let r = format!("{}/bench/debian-100mb:1", args[2]);
            palisade_image::registry::push(&r, &b, &Default::default()).unwrap();
            println!("{r}");
            eprintln!(
                "pushed {r}: {} layers, {size} bytes compressed",
                b.layers.len()
            );
        }
        Some("db") => synthetic_db(&args[2]),
        Some("scan") => {
            let t = Instant::now();
            let o = Options {
                cache: Some(args[4].clone().into()),
                ..Options::default()
            };
            let a = palisade_image::analyze(&args[2], &o).unwrap();
            let t1 = t.elapsed();
            let db = Db::open_readonly(std::path::Path::new(&args[3])).unwrap();
            let v =
                palisade_image::matcher::match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
            let cached = a.layers.iter().filter(|l| l.cached).count();
            println!(
                "scan: {:.1} ms (pull+catalog {:.1} ms), {} packages, {} vulnerabilities, {cached}/{} layers cached",
                t.elapsed().as_secs_f64() * 1e3,
                t1.as_secs_f64() * 1e3,
                a.packages.len(),
                v.len(),
                a.layers.len()
            );
        }
        Some("match") => {
            let db = Db::open_readonly(std::path::Path::new(&args[2])).unwrap();
            let mut pkgs = Vec::new();
            for i in 0..1500 {
                pkgs.push(Package {
                    kind: PkgKind::Deb,
                    name: format!("bin{i}"),
                    version: format!("1.{}.{}-1", i % 7, i % 13),
                    source_name: Some(format!("src{}", i * 13 % 20_000)),
                    source_version: Some(format!("1.{}.{}-1", i % 7, i % 13)),
                    licenses: vec![],
                    arch: None,
                    path: "var/lib/dpkg/status".into(),
                    layer: None,
                });
            }
            for i in 0..500 {
                pkgs.push(Package {
                    kind: PkgKind::Python,
                    name: format!("lib{}", i * 7 % 6000),
                    version: format!("2.{}.0", i % 20),
                    source_name: None,
                    source_version: None,
                    licenses: vec![],
                    arch: None,
                    path: "usr/local/lib/x".into(),
                    layer: None,
                });
            }
            let os = palisade_image::OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                ..Default::default()
            };
            // Three rounds, each on a freshly opened database (the first also warms the OS page cache).
            for _ in 0..3 {
                let db = Db::open_readonly(std::path::Path::new(&args[2])).unwrap();
                let t = Instant::now();
                let v = palisade_image::matcher::match_packages(&db, &pkgs, Some(&os)).unwrap();
                println!(
                    "match: {} packages, {} vulnerabilities, {:.1} ms",
                    pkgs.len(),
                    v.len(),
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            drop(db);
        }
        _ => eprintln!("usage: image-bench push REGISTRY | db FILE | scan REF DB CACHE | match DB"),
    }
}
