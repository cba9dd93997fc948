//! Golden findings for each bundled fixture image against the committed OSV fixture database
//! (examples/image/osv). The expected matches were worked out by hand from the records and
//! the version rules; each line says why.

use palisade_image::fixture;
use palisade_image::harden::{self, Options as HardenOptions};
use palisade_image::matcher::{match_packages, Vuln};
use palisade_image::{db::Db, Analysis, Options};
use palisade_report::Severity;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/image")
}

fn fixture_db(dir: &Path) -> Db {
    let mut db = Db::open(&dir.join("vuln.db")).unwrap();
    let st = db.import_path(&examples().join("osv")).unwrap();
    assert!(st.errors.is_empty(), "{:?}", st.errors);
    db.touch("examples/image/osv").unwrap();
    db
}

fn analyze(name: &str, tmp: &Path) -> Analysis {
    let spec = fixture::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1;
    let built = fixture::build(&spec);
    let dir = tmp.join(name);
    fixture::write_layout(&dir, &[(&spec, &built)]).unwrap();
    palisade_image::analyze(
        dir.to_str().unwrap(),
        &Options {
            cache: Some(tmp.join("cache")),
            ..Options::default()
        },
    )
    .unwrap()
}

fn rows(v: &[Vuln]) -> Vec<String> {
    v.iter()
        .map(|v| {
            format!(
                "{} {} {} {} fixed={}",
                v.severity,
                v.package.name,
                v.installed,
                v.id,
                v.fixed.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn issues(a: &Analysis, o: &HardenOptions) -> Vec<String> {
    harden::check(a, o)
        .into_iter()
        .map(|i| format!("{} {}", i.rule, i.location))
        .collect()
}

fn today() -> HardenOptions {
    HardenOptions {
        today: "2026-12-04".into(),
        ..HardenOptions::default()
    }
}

#[test]
fn debian_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("debian", tmp.path());
    assert_eq!(a.os.as_ref().unwrap().version_id, "12");
    let names: Vec<String> = a
        .packages
        .iter()
        .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            // `removed-pkg` is deinstalled (config-files only): not a package of the image.
            "deb:apt@2.6.1",
            "deb:base-files@12.4+deb12u4",
            "deb:bash@5.2.15-2+b2",
            "deb:libc6@2.36-9+deb12u3",
            "deb:libssl3@3.0.11-1~deb12u1",
            "deb:openssl@3.0.11-1~deb12u1",
            "deb:zlib1g@1:1.2.13.dfsg-1",
            "pypi:Flask@2.0.0",
            "pypi:requests@2.25.0",
            "pypi:urllib3@1.26.12",
        ]
    );
    // Every package carries its layer: the dpkg database from layer 1, pip packages from layer 2.
    let l = |n: &str| {
        a.packages
            .iter()
            .find(|p| p.name == n)
            .unwrap()
            .layer
            .clone()
            .unwrap()
    };
    assert_eq!(l("libc6"), a.layers[0].digest);
    assert_eq!(l("requests"), a.layers[1].digest);
    let v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    assert_eq!(
        rows(&v),
        [
            // Debian:12 openssl < 3.0.11-1~deb12u2 (`~deb12u1` sorts before `~deb12u2`); CVSS 9.8.
            "critical libssl3 3.0.11-1~deb12u1 PALFIX-2026-0001 fixed=3.0.11-1~deb12u2",
            "critical openssl 3.0.11-1~deb12u1 PALFIX-2026-0001 fixed=3.0.11-1~deb12u2",
            // `versions` lists 2.0.0 exactly; no range, so no fix; the database says HIGH.
            "high Flask 2.0.0 PALFIX-2026-0012 fixed=-",
            // Tracker: glibc bookworm fixed in 2.36-9+deb12u4 > deb12u3, urgency medium.
            "medium libc6 2.36-9+deb12u3 CVE-2099-0002 fixed=2.36-9+deb12u4",
            // 2.3.0 <= 2.25.0 < 2.31.0; CVSS AV:N/AC:H/PR:N/UI:R/C:H = 5.3.
            "medium requests 2.25.0 PALFIX-2026-0011 fixed=2.31.0",
            // Tracker: zlib bookworm open (no fix), urgency unimportant; looked up by the
            // source package `zlib` with the source version.
            "info zlib1g 1:1.2.13.dfsg-1 CVE-2099-0003 fixed=-",
            // Not listed: base-files (fixed in exactly the installed version), bash (fixed_version
            // "0": never affected), urllib3 (installed by the distro under
            // /usr/lib/python3/dist-packages; Debian has CVE-2099-0005 for bookworm, so the
            // upstream PyPI record is not used: distro over upstream).
        ]
    );
    assert_eq!(v[0].severity_source, "CVSS");
    assert_eq!(v[3].severity_source, "distro urgency");
    assert_eq!(
        issues(&a, &today()),
        [
            "IMG101 config.User",
            "IMG102 config.Env[1]",
            "IMG108 history[1]",
            "IMG104 /app/.env",
            "IMG105 /usr/bin/passwd",
            "IMG109 /usr/local/bin",
        ]
    );
    // --distroless: bash, sh (a symlink to bash), apt and dpkg; apt-get was deleted by a whiteout.
    let o = HardenOptions {
        distroless: true,
        healthcheck: true,
        ..today()
    };
    let all = issues(&a, &o);
    for want in [
        "IMG106 /bin/sh",
        "IMG106 /bin/bash",
        "IMG106 /usr/bin/apt",
        "IMG106 /usr/bin/dpkg",
        "IMG110 config.Healthcheck",
    ] {
        assert!(all.iter().any(|i| i == want), "{want} missing from {all:?}");
    }
    assert!(
        !all.iter().any(|i| i == "IMG106 /usr/bin/apt-get"),
        "{all:?}"
    );
    // End of life: Debian 12's LTS ends 2028-06-30.
    let later = HardenOptions {
        today: "2028-07-01".into(),
        ..HardenOptions::default()
    };
    assert!(issues(&a, &later).contains(&"IMG107 /etc/os-release".to_string()));
    // The opaque /etc/apt hides the lower sources.list; whiteout removed apt-get.
    assert!(
        a.merged.get("etc/apt/sources.list").is_none()
            && a.merged.get("etc/apt/sources.list.d.txt").is_some()
    );
    assert!(a.merged.get("usr/bin/apt-get").is_none());
}

#[test]
fn debian_vex_marks_not_affected() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("debian", tmp.path());
    let mut v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    let text = std::fs::read_to_string(examples().join("debian.openvex.json")).unwrap();
    let st = palisade_image::vex::parse(&text, "debian.openvex.json").unwrap();
    palisade_image::vex::apply(&st, &mut v, &a.reference, a.os.as_ref());
    let z = v.iter().find(|x| x.package.name == "zlib1g").unwrap();
    assert_eq!(
        z.vex,
        Some((
            "not_affected".into(),
            "vulnerable_code_not_in_execute_path: the image never inflates untrusted data".into()
        ))
    );
    assert_eq!(v.iter().filter(|x| x.vex.is_some()).count(), 1);
}

#[test]
fn alpine_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("alpine", tmp.path());
    let v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    assert_eq!(
        rows(&v),
        [
            // npm lodash < 4.17.21 (read from node_modules and package-lock.json: one package).
            "high lodash 4.17.20 PALFIX-2026-0030 fixed=4.17.21",
            // @babel/core only in package-lock.json; no severity in the record: medium.
            "medium @babel/core 7.23.0 PALFIX-2026-0032 fixed=7.23.2",
            // secdb v3.19: openssl fixed in 3.1.4-r3 > 3.1.4-r1 (origin of both libraries).
            // CVE-2099-0021 (fixed 3.1.2-r0) is below the installed version; busybox's "0"
            // entry means never affected; zlib is fixed in exactly 1.3-r2.
            "medium libcrypto3 3.1.4-r1 CVE-2099-0020 fixed=3.1.4-r3",
            "medium libssl3 3.1.4-r1 CVE-2099-0020 fixed=3.1.4-r3",
            // express 4.18.2 is above the fix 4.17.3: not listed.
        ]
    );
    let lic: Vec<_> = a
        .packages
        .iter()
        .filter(|p| p.name == "busybox")
        .map(|p| p.licenses.clone())
        .collect();
    assert_eq!(lic, [vec!["GPL-2.0-only".to_string()]]);
    // USER app is uid 1000 in /etc/passwd: not root. Alpine 3.19 left support on 2025-11-01.
    assert_eq!(issues(&a, &today()), ["IMG107 /etc/os-release"]);
    let o = HardenOptions {
        distroless: true,
        ..today()
    };
    assert_eq!(
        issues(&a, &o),
        [
            "IMG106 /bin/sh",
            "IMG106 /bin/busybox",
            "IMG106 /sbin/apk",
            "IMG107 /etc/os-release"
        ]
    );
}

#[test]
fn distroless_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("distroless", tmp.path());
    let names: Vec<String> = a
        .packages
        .iter()
        .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            "deb:base-files@12.4+deb12u4",
            "deb:libssl3@3.0.11-1~deb12u1",
            "deb:tzdata@2024a-0+deb12u1",
            "golang:github.com/google/uuid@v1.3.0",
            "golang:golang.org/x/net@v0.7.0",
            "golang:stdlib@v1.21.0",
        ]
    );
    let v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    assert_eq!(
        rows(&v),
        [
            "critical libssl3 3.0.11-1~deb12u1 PALFIX-2026-0001 fixed=3.0.11-1~deb12u2",
            // Go: v1.21.0 in [1.21.0, 1.21.3) (OSV's Go versions have no `v`).
            "high stdlib v1.21.0 PALFIX-2026-0040 fixed=1.21.3",
            "medium golang.org/x/net v0.7.0 PALFIX-2026-0041 fixed=0.17.0",
        ]
    );
    let o = HardenOptions {
        distroless: true,
        healthcheck: true,
        ..today()
    };
    assert!(issues(&a, &o).is_empty(), "{:?}", issues(&a, &o));
}

#[test]
fn lang_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("lang", tmp.path());
    let names: Vec<String> = a
        .packages
        .iter()
        .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            // Cargo: only registry packages (the workspace member `app` has no source).
            "cargo:serde@1.0.190",
            "cargo:smallvec@1.6.0",
            "golang:github.com/sirupsen/logrus@v1.9.0",
            "golang:golang.org/x/text@v0.3.7",
            "pypi:PyYAML@5.3.1",
            // The jar's pom.properties, and the nested BOOT-INF/lib jar's.
            "maven:com.fasterxml.jackson.core:jackson-databind@2.15.2",
            "maven:org.apache.logging.log4j:log4j-core@2.14.1",
        ]
    );
    let v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    assert_eq!(
        rows(&v),
        [
            // PEP 440: 5.3.1 < 5.4.
            "critical PyYAML 5.3.1 PALFIX-2026-0052 fixed=5.4",
            // Maven: 2.0-beta9 <= 2.14.1 < 2.15.0 (the GIT range is ignored).
            "critical org.apache.logging.log4j:log4j-core 2.14.1 PALFIX-2026-0053 fixed=2.15.0",
            "high golang.org/x/text v0.3.7 PALFIX-2026-0051 fixed=0.3.8",
            // last_affected 1.6.0 includes 1.6.0; no fix.
            "medium smallvec 1.6.0 PALFIX-2026-0050 fixed=-",
            // Not listed: logrus v1.9.0 >= fix 1.8.3; jackson-databind 2.15.2 >= limit 2.15.1.
        ]
    );
    // No configuration user problem (USER 1000:1000), no OS, nothing else.
    assert!(
        issues(&a, &today()).is_empty(),
        "{:?}",
        issues(&a, &today())
    );
}

#[test]
fn bundled_layouts_are_current() {
    // examples/image/<name> are the OCI layouts of the fixtures, committed for the README and
    // `scan --images`; PALISADE_REGEN=1 rewrites them.
    for (name, spec) in fixture::all() {
        let built = fixture::build(&spec);
        let dir = examples().join(name);
        if std::env::var_os("PALISADE_REGEN").is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            fixture::write_layout(&dir, &[(&spec, &built)]).unwrap();
        }
        for (p, bytes) in fixture::layout_files(&[(&spec, &built)]) {
            let got = std::fs::read(dir.join(&p)).unwrap_or_default();
            assert!(got == bytes, "examples/image/{name}/{p} is stale: run PALISADE_REGEN=1 cargo test -p palisade-image --test golden");
        }
    }
}

#[test]
fn severity_order_is_worst_first() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let a = analyze("lang", tmp.path());
    let v = match_packages(&db, &a.packages, a.os.as_ref()).unwrap();
    assert!(v.windows(2).all(|w| w[0].severity >= w[1].severity));
    assert_eq!(v[0].severity, Severity::Critical);
}
