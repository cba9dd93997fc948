//! `palisade image` end to end on the bundled fixtures (examples/image): database import and
//! status, `image scan` (findings, VEX, --fail-on, exit codes, every output format), `image
//! sbom`, `scan --images` (findings joined to workload and container), and the admission rule
//! reading the results those scans cached.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ex(p: &str) -> String {
    repo()
        .join("examples/image")
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str], stdin: Option<Vec<u8>>) -> (i32, String, String) {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.args(args)
        .env_remove("PALISADE_DB")
        .env_remove("PALISADE_CACHE_DIR");
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Env {
    _tmp: tempfile::TempDir,
    db: String,
    cache: String,
    dir: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vuln.db").to_string_lossy().into_owned();
    let cache = tmp.path().join("cache").to_string_lossy().into_owned();
    let (code, _, err) = run(&["image", "db", "import", &ex("osv"), "--db", &db], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imported 22 advisories"), "{err}");
    let dir = tmp.path().to_path_buf();
    Env {
        _tmp: tmp,
        db,
        cache,
        dir,
    }
}

#[test]
fn db_status() {
    let e = env();
    let (code, out, _) = run(
        &["image", "db", "status", "--db", &e.db, "-o", "json"],
        None,
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["advisories"], 22);
    assert!(v["ageSeconds"].as_u64().unwrap() < 3600);
    assert!(v["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["ecosystem"] == "Debian:12"));
    let (code, _, err) = run(
        &["image", "db", "status", "--db", "/nonexistent/vuln.db"],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("no vulnerability database"), "{err}");
}

#[test]
fn image_scan_formats_vex_and_fail_on() {
    let e = env();
    let base = [
        "image",
        "scan",
        &ex("debian"),
        "--db",
        &e.db,
        "--cache-dir",
        &e.cache,
    ];
    let (code, out, _) = run(&[&base[..], &["-o", "json"]].concat(), None);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(ids.iter().filter(|i| **i == "IMG001").count(), 4, "{ids:?}");
    assert_eq!(ids.iter().filter(|i| **i == "IMG002").count(), 2, "{ids:?}");
    // --fail-on critical: libssl3/openssl are critical → 1.
    let (code, _, _) = run(&[&base[..], &["--fail-on", "critical"]].concat(), None);
    assert_eq!(code, 1);
    // VEX: the zlib finding is kept, suppressed, with the reason.
    let vex = ex("debian.openvex.json");
    let (code, out, _) = run(&[&base[..], &["-o", "json", "--vex", &vex]].concat(), None);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(!v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("zlib1g")));
    let z: Vec<&Value> = v["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["message"].as_str().unwrap().contains("zlib1g"))
        .collect();
    assert_eq!(z.len(), 1);
    assert!(
        z[0]["suppressed"]["reason"]
            .as_str()
            .unwrap()
            .contains("vulnerable_code_not_in_execute_path"),
        "{}",
        z[0]
    );
    for f in ["sarif", "junit", "text"] {
        let (code, out, _) = run(&[&base[..], &["-o", f]].concat(), None);
        assert_eq!(code, 0, "{f}");
        assert!(out.contains("IMG001"), "{f}");
    }
    // An image that cannot be read: exit 2, named.
    let (code, _, err) = run(
        &["image", "scan", "/nonexistent/image.tar", "--skip-db"],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/image.tar"), "{err}");
}

#[test]
fn sbom_formats() {
    for (fmt, key) in [
        ("cyclonedx", "bomFormat"),
        ("spdx", "spdxVersion"),
        ("json", "packages"),
    ] {
        let (code, out, err) = run(
            &["image", "sbom", &ex("alpine"), "--no-cache", "-o", fmt],
            None,
        );
        assert_eq!(code, 0, "{fmt}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v.get(key).is_some(), "{fmt}");
    }
}

#[test]
fn scan_images_then_admission() {
    let e = env();
    let (code, out, err) = run(
        &[
            "scan",
            &ex("workloads"),
            "--images",
            "--image-layout",
            &ex(""),
            "--db",
            &e.db,
            "--cache-dir",
            &e.cache,
            "-o",
            "json",
        ],
        None,
    );
    assert!(code == 0 || code == 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let img: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("IMG"))
        .collect();
    // Joined to the workload and container: the api Deployment's first container runs debian.
    let f = img
        .iter()
        .find(|f| {
            f["object"]["name"] == "api" && f["message"].as_str().unwrap().contains("libssl3")
        })
        .expect("libssl3 finding on deployment api");
    assert_eq!(
        f["path"].as_str().unwrap().split(' ').next().unwrap(),
        "spec.template.spec.containers[0].image"
    );
    assert_eq!(f["line"], 18);
    assert!(f["message"]
        .as_str()
        .unwrap()
        .starts_with("container \"api\": image fixtures/debian:12"));
    // The same image in two workloads (and an init container) gives findings on each.
    assert!(img.iter().any(|f| f["object"]["name"] == "web"
        && f["message"]
            .as_str()
            .unwrap()
            .starts_with("init container \"migrate\"")));
    assert!(
        img.iter()
            .any(|f| f["object"]["name"] == "web"
                && f["message"].as_str().unwrap().contains("lodash"))
    );
    // IMG110 (HEALTHCHECK) is not reported for Kubernetes workloads.
    assert!(!img.iter().any(|f| f["check"] == "IMG110"));

    // Admission, from the cached results only.
    let cfg = e.dir.join("admission.yaml");
    std::fs::write(
        &cfg,
        format!(
            "mode: enforce\npodSecurity:\n  enabled: false\nimages:\n  action: deny\n  vulnerabilities:\n    cacheDir: {}\n    severity: critical\n    unscanned: warn\n",
            e.cache
        ),
    )
    .unwrap();
    let review = |name: &str| std::fs::read(ex(&format!("admission/review-{name}.json"))).unwrap();
    let cfg_s = cfg.to_string_lossy().into_owned();
    let (code, out, err) = run(
        &["admission", "review", "--config", &cfg_s],
        Some(review("debian")),
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let msg = v["response"]["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("fixtures/debian:12 has a critical vulnerability with a fix"),
        "{msg}"
    );
    let (code, out, _) = run(
        &["admission", "review", "--config", &cfg_s],
        Some(review("alpine")),
    );
    assert_eq!(code, 0, "alpine has no critical vulnerability: {out}");
    let (code, out, _) = run(
        &["admission", "review", "--config", &cfg_s],
        Some(review("unscanned")),
    );
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["response"]["warnings"]
            .to_string()
            .contains("has not been scanned"),
        "{v}"
    );
    // Exempting the vulnerability lets the debian pod in.
    std::fs::write(
        &cfg,
        format!(
            "mode: enforce\npodSecurity:\n  enabled: false\nimages:\n  action: deny\n  vulnerabilities:\n    cacheDir: {}\n    exemptVulnerabilities: [CVE-2099-0001]\n",
            e.cache
        ),
    )
    .unwrap();
    let (code, out, _) = run(
        &["admission", "review", "--config", &cfg_s],
        Some(review("debian")),
    );
    assert_eq!(code, 0, "{out}");
}
