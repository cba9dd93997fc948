//! End-to-end tests of `palisade admission review`, `certs` and `manifests`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("crates/palisade-admission/tests/fixtures")
}

fn palisade() -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.current_dir(repo()).env("PALISADE_LOG", "off");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(dir: &Path) -> PathBuf {
    let p = dir.join("admission.yaml");
    std::fs::write(
        &p,
        format!(
            "podSecurity: {{defaults: {{enforce: baseline}}}}\nnamespaces: {{files: [\"{}\"]}}\nmutation: {{enabled: true}}\n",
            fixtures().join("namespaces.yaml").display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn review_answers_one_request_from_stdin_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let body = std::fs::read(fixtures().join("reviews/pod-create.json")).unwrap();
    let (code, out, err) = run(palisade()
        .args(["admission", "review", "--log", "--config"])
        .arg(&cfg)
        .write_stdin(body));
    assert_eq!(code, 1, "denied → exit 1; {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["response"]["allowed"], false);
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("restricted:latest"),
        "prod is labelled restricted: {v}"
    );
    let record: Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
    assert_eq!(record["uid"], "0df28fbd-5f5f-4c23-8b8f-b2b0b1c8a001");

    let (code, out, _) = run(palisade()
        .args(["admission", "review", "--config"])
        .arg(&cfg)
        .arg(fixtures().join("reviews/pod-create-compliant.json")));
    assert_eq!(code, 0, "{out}");

    // Mutation: a JSONPatch for the privileged pod (which it will not make safe: only
    // absent fields are filled in).
    let (code, out, _) = run(palisade()
        .args(["admission", "review", "--webhook", "mutate", "--config"])
        .arg(&cfg)
        .arg(fixtures().join("reviews/pod-create.json")));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["response"]["patchType"], "JSONPatch");
}

#[test]
fn review_reports_bad_input_and_bad_config() {
    let (code, _, err) = run(palisade()
        .args(["admission", "review"])
        .write_stdin("{oops"));
    assert_eq!(code, 2);
    assert!(
        err.contains("<stdin>") && err.contains("not valid JSON"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(&cfg, "mode: enforce\nchecks:\n  - checks: [NOPE9]\n").unwrap();
    let (code, _, err) = run(palisade()
        .args(["admission", "review", "--config"])
        .arg(&cfg)
        .write_stdin("{}"));
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:3") && err.contains("NOPE9"), "{err}");
}

#[test]
fn certs_then_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(palisade()
        .args([
            "admission",
            "certs",
            "--service",
            "palisade-admission",
            "--namespace",
            "palisade-system",
            "--secret",
            "palisade-admission-tls",
            "--out-dir",
        ])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let bundle = out.trim();
    assert!(bundle.len() > 100);
    for f in ["ca.crt", "ca.key", "tls.crt", "tls.key", "secret.yaml"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    // Refuses to overwrite.
    let (code, _, err) = run(palisade()
        .args([
            "admission",
            "certs",
            "--service",
            "s",
            "--namespace",
            "n",
            "--out-dir",
        ])
        .arg(dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("exists"), "{err}");

    let (code, out, err) = run(palisade()
        .args(["admission", "manifests", "--mutate", "--ca-file"])
        .arg(dir.path().join("ca.crt")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches(&format!("caBundle: {bundle}")).count(), 2);
    // And the output passes the scan at pss-restricted.
    let (code, out, err) = run(palisade()
        .args(["scan", "--profile", "pss-restricted", "-"])
        .write_stdin(out));
    assert_eq!(code, 0, "{out}{err}");
}
