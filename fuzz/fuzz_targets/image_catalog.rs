//! Bytes through every package-database and manifest parser of palisade-image (dpkg, apk, rpm
//! headers, Python metadata, npm, Cargo.lock, go.mod, Go build information, Java archives,
//! os-release), the zip reader, OSV / Debian tracker / Alpine secdb records, VEX documents and
//! Docker configurations: errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_image::catalog;

const PATHS: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/x",
    "lib/apk/db/installed",
    "etc/os-release",
    "etc/passwd",
    "usr/lib/python3/dist-packages/x.dist-info/METADATA",
    "app/package-lock.json",
    "app/node_modules/x/package.json",
    "Cargo.lock",
    "go.mod",
    "META-INF/maven/g/a/pom.properties",
    "app.jar",
    "root/.env",
    "usr/bin/app",
];

fuzz_target!(|data: &[u8]| {
    for p in PATHS {
        let _ = catalog::analyze(p, data);
    }
    let mut f = palisade_image::FileFacts::default();
    catalog::go_binary("bin", data, &mut f);
    catalog::java_archive("a.jar", data, 0, &mut f);
    let _ = palisade_image::rpm::parse_header(data);
    let _ = palisade_image::zip::for_each_entry(data, "fuzz.zip", &mut |_, _| {});
    let (mut out, mut errs) = (Vec::new(), Vec::new());
    palisade_image::db::records_from(data, "fuzz.json", &mut out, &mut errs);
    for o in &out {
        for a in &o.affected {
            for s in [
                palisade_image::version::Scheme::Dpkg,
                palisade_image::version::Scheme::Pep440,
                palisade_image::version::Scheme::Maven,
            ] {
                let _ = palisade_image::osv::affects(a, "1.0", s);
            }
            let _ = palisade_image::osv::rate(o, a);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = palisade_image::vex::parse(text, "fuzz.vex");
        for (a, b) in [(text, "1.0"), ("1.0", text)] {
            for s in [
                palisade_image::version::Scheme::Dpkg,
                palisade_image::version::Scheme::Rpm,
                palisade_image::version::Scheme::Apk,
                palisade_image::version::Scheme::Semver,
                palisade_image::version::Scheme::Pep440,
                palisade_image::version::Scheme::Maven,
            ] {
                let _ = s.compare(a, b);
            }
        }
        let _ = palisade_image::osv::cvss3_base(text);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            let _ = palisade_image::registry::docker_auth(&v, "registry.example");
        }
    }
});
