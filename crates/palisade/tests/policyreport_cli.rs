//! `palisade scan -o policyreport`: wgpolicyk8s.io/v1alpha2 reports in Kyverno's
//! per-resource layout, validated against the upstream CRDs' schemas
//! (kubernetes-sigs/wg-policy-prototypes, in ../shared/schemas/policyreport, read here).

use assert_cmd::Command;
use palisade_model::yaml::{parse_documents, Limits};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade() -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.current_dir(repo()).env("PALISADE_LOG", "off");
    c
}

/// Every document of a YAML stream as JSON (CRD bodies included).
fn yaml_docs(text: &str) -> Vec<Value> {
    parse_documents(
        text,
        Limits {
            shallow_crds: false,
            ..Limits::default()
        },
    )
    .into_iter()
    .filter_map(|d| d.result.expect("valid YAML").map(|n| n.to_json()))
    .collect()
}

/// The v1alpha2 `openAPIV3Schema` of an upstream CRD file, as a JSON Schema validator.
fn crd_validator(file: &str) -> jsonschema::Validator {
    let path = repo().join("../shared/schemas/policyreport").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd = yaml_docs(&text).remove(0);
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1alpha2")
        .expect("v1alpha2 in the CRD")
        .clone();
    let schema = version["schema"]["openAPIV3Schema"].clone();
    assert!(schema["properties"]["results"].is_object());
    jsonschema::validator_for(&schema).unwrap()
}

const WORKLOADS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 6f1c2d3e-0000-4000-8000-000000000001
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:latest
        securityContext:
          privileged: true
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ops-admins
  uid: 6f1c2d3e-0000-4000-8000-000000000002
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: Group
  name: ops
  apiGroup: rbac.authorization.k8s.io
"#;

#[test]
fn reports_validate_against_the_upstream_crds_and_follow_kyverno_layout() {
    let out = palisade()
        .args([
            "scan",
            "-",
            "examples",
            "--no-config",
            "--profile",
            "all",
            "-o",
            "policyreport",
        ])
        .write_stdin(WORKLOADS)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = yaml_docs(&text);
    assert!(docs.len() > 10, "one report per object: {}", docs.len());
    let namespaced = crd_validator("v1alpha2-wgpolicyk8s.io_policyreports.yaml");
    let cluster = crd_validator("v1alpha2-wgpolicyk8s.io_clusterpolicyreports.yaml");
    let mut seen_fail = 0;
    for d in &docs {
        assert_eq!(d["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        let v = match d["kind"].as_str().unwrap() {
            "PolicyReport" => &namespaced,
            "ClusterPolicyReport" => &cluster,
            k => panic!("unexpected kind {k}"),
        };
        let errors: Vec<String> = v.iter_errors(d).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}\n{d:#}");
        // Summary counts equal the results.
        let results = d["results"].as_array().unwrap();
        for key in ["pass", "fail", "warn", "error", "skip"] {
            let n = results.iter().filter(|r| r["result"] == key).count() as u64;
            assert_eq!(d["summary"][key].as_u64(), Some(n), "{key} in {d:#}");
        }
        for r in results {
            assert_eq!(r["source"], "palisade");
            assert!(r["timestamp"]["seconds"].as_i64().unwrap() > 1_600_000_000);
            if r["result"] == "fail" {
                seen_fail += 1;
                assert!(!r["message"].as_str().unwrap().is_empty());
            }
        }
        // The scope is the object; the report sits in its namespace.
        assert_eq!(d["metadata"]["namespace"], d["scope"]["namespace"]);
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "palisade"
        );
    }
    assert!(seen_fail > 10);

    // The Deployment with a UID: named by it, owner-referenced, file-less (stdin).
    let web = docs
        .iter()
        .find(|d| {
            d["scope"]["kind"] == "Deployment"
                && d["scope"]["name"] == "web"
                && d["scope"]["namespace"] == "shop"
                && d["metadata"]["name"] == "6f1c2d3e-0000-4000-8000-000000000001"
        })
        .expect("report of shop/web");
    assert_eq!(web["kind"], "PolicyReport");
    assert_eq!(
        web["metadata"]["name"],
        "6f1c2d3e-0000-4000-8000-000000000001"
    );
    let owner = &web["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Deployment");
    assert_eq!(owner["uid"], "6f1c2d3e-0000-4000-8000-000000000001");
    let results = web["results"].as_array().unwrap();
    let privileged = results
        .iter()
        .find(|r| r["rule"] == "privileged")
        .expect("the privileged finding");
    assert_eq!(privileged["result"], "fail");
    assert_eq!(privileged["category"], "Pod Security Standards");
    assert!(privileged["properties"]["path"]
        .as_str()
        .unwrap()
        .ends_with("securityContext.privileged"));
    assert_eq!(privileged["properties"]["line"], "14");
    assert!(
        web["summary"]["pass"].as_u64().unwrap() > 0,
        "rules without a finding pass"
    );

    // A cluster-scoped object: a ClusterPolicyReport.
    let crb = docs
        .iter()
        .find(|d| d["scope"]["kind"] == "ClusterRoleBinding" && d["scope"]["name"] == "ops-admins")
        .expect("report of the ClusterRoleBinding");
    assert_eq!(crb["kind"], "ClusterPolicyReport");
    assert!(crb["metadata"].get("namespace").is_none());
    assert!(crb["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["result"] == "fail" && r["category"] == "RBAC"));

    // Objects read from files carry their file and line.
    let from_file = docs
        .iter()
        .flat_map(|d| d["results"].as_array().unwrap())
        .find(|r| {
            r["properties"]["file"]
                .as_str()
                .is_some_and(|f| f.starts_with("examples/"))
        })
        .expect("a result with a file");
    assert!(
        from_file["properties"]["line"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
}
