//! The Dockerfile, checked with the project's own rules where they apply (no Docker engine
//! here to build it): the base images go through the scan pipeline's image checks as the
//! images of a pod running as the Dockerfile's USER (PAL201 latest tag, PAL202 no tag, the
//! restricted Pod Security controls on the user); ENV and ARG values through the secret
//! detectors of PAL301/PAL302; plus what the issue asks of the image: multi-stage, a
//! distroless runtime, a numeric non-root USER, no remote ADD, an exec-form ENTRYPOINT.

use palisade_checks::hardening::secrets::detect::scan_text;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_scan::{ScanConfig, Scanner};
use serde_json::json;
use std::path::Path;

/// (instruction, arguments) with continuation lines joined and comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(rest) => {
                current.push_str(rest);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                let (i, a) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push((i.to_ascii_uppercase(), a.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_passes_the_rules_that_apply() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    let ins = instructions(&text);
    let froms: Vec<&str> = ins
        .iter()
        .filter(|(i, _)| i == "FROM")
        .map(|(_, a)| a.split_whitespace().next().unwrap())
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    let runtime = *froms.last().unwrap();
    assert!(
        runtime.starts_with("gcr.io/distroless/"),
        "distroless runtime: {runtime}"
    );
    assert!(
        runtime.ends_with(":nonroot"),
        "the distroless nonroot variant: {runtime}"
    );

    // USER of the final stage: numeric, not root, with a group.
    let last_from = ins.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let user = ins[last_from..]
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, a)| a.clone())
        .expect("a USER in the runtime stage");
    let (uid, gid) = user.split_once(':').expect("USER uid:gid");
    let uid: i64 = uid.parse().expect("numeric uid");
    let gid: i64 = gid.parse().expect("numeric gid");
    assert!(uid > 0 && gid > 0, "non-root user {user}");

    // The images and the user through the scan pipeline, as a pod would run them.
    let containers: Vec<_> = froms
        .iter()
        .enumerate()
        .map(|(i, image)| {
            json!({"name": format!("stage{i}"), "image": image,
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                    "runAsNonRoot": true, "runAsUser": uid, "runAsGroup": gid,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
            )
        })
        .collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "image", "namespace": "x"},
        "spec": {"containers": containers}});
    let loaded = load_bytes(
        pod.to_string().as_bytes(),
        Source::File("Dockerfile".into()),
        &LoadOptions::default(),
    );
    let scanner = Scanner::new(&ScanConfig {
        checks: vec!["PAL201".into(), "PAL202".into(), "PSS2*".into()],
        ..ScanConfig::default()
    })
    .unwrap();
    let out = scanner.scan(&loaded.objects);
    let found: Vec<String> = out
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.check, f.message))
        .collect();
    assert!(found.is_empty(), "{found:#?}");

    // No secrets in ENV or ARG, no remote ADD, an exec-form ENTRYPOINT.
    for (i, a) in &ins {
        if i == "ENV" || i == "ARG" {
            let hits = scan_text("Dockerfile", a);
            assert!(hits.is_empty(), "{i} {a}: secret-like value");
        }
        if i == "ADD" {
            assert!(!a.contains("://"), "remote ADD: {a}");
        }
    }
    let entry = ins
        .iter()
        .rev()
        .find(|(i, _)| i == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    assert!(entry.1.starts_with('['), "exec form: {}", entry.1);
    // Pinned builder: a versioned Rust image, not latest.
    assert!(froms[0].starts_with("rust:1."), "{}", froms[0]);
}
