//! SBOMs of every fixture image, checked by the formats' own published validators, loaded from
//! installed packages at test time (scripts/image-test-deps.sh installs them; nothing is
//! copied into the repository):
//! - CycloneDX 1.5: the JSON schema CycloneDX publishes (`bom-1.5.schema.json`, with the
//!   `spdx` and `jsf` schemas it references), as shipped in npm `@cyclonedx/cyclonedx-library`;
//! - SPDX 2.3: `pyspdxtools` (PyPI `spdx-tools`, the SPDX project's own parser and validator).

use palisade_image::{fixture, sbom, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn deps() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/image-test-deps");
    assert!(
        d.join("py/bin/pyspdxtools").exists(),
        "{} is missing: run scripts/image-test-deps.sh (scripts/install-test-deps.sh runs it)",
        d.display()
    );
    d
}

struct LocalSchemas(PathBuf);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or("");
        let p = self.0.join(name);
        Ok(serde_json::from_slice(
            &std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?,
        )?)
    }
}

fn analyses(tmp: &Path) -> Vec<palisade_image::Analysis> {
    fixture::all()
        .into_iter()
        .map(|(name, spec)| {
            let b = fixture::build(&spec);
            let dir = tmp.join(name);
            fixture::write_layout(&dir, &[(&spec, &b)]).unwrap();
            palisade_image::analyze(dir.to_str().unwrap(), &Options::default()).unwrap()
        })
        .collect()
}

#[test]
fn cyclonedx_1_5_is_valid_against_the_published_schema() {
    let schemas = deps().join("node_modules/@cyclonedx/cyclonedx-library/res/schema");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(schemas.join("bom-1.5.SNAPSHOT.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::options()
        .with_retriever(LocalSchemas(schemas))
        .build(&schema)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for a in analyses(tmp.path()) {
        let doc = sbom::cyclonedx(&a, 1_733_300_000);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", a.reference);
        let comps = doc["components"].as_array().unwrap();
        assert_eq!(
            comps.len(),
            a.packages.len() + usize::from(a.os.is_some()),
            "{}",
            a.reference
        );
        assert!(comps
            .iter()
            .filter(|c| c["type"] == "library")
            .all(|c| c["purl"].as_str().unwrap().starts_with("pkg:")));
    }
    // The schema does reject a broken document (the check can fail).
    let mut bad = sbom::cyclonedx(&analyses(tmp.path()).remove(0), 0);
    bad["components"][0]["type"] = Value::from("not-a-type");
    assert!(!v.is_valid(&bad));
}

#[test]
fn spdx_2_3_passes_the_spdx_tools_validator() {
    let tool = deps().join("py/bin/pyspdxtools");
    let tmp = tempfile::tempdir().unwrap();
    for a in analyses(tmp.path()) {
        let doc = sbom::spdx(&a, 1_733_300_000);
        let p = tmp.path().join("doc.spdx.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        let out = std::process::Command::new(&tool)
            .arg("-i")
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !text.to_lowercase().contains("validation"),
            "{}: {text}",
            a.reference
        );
        let pkgs = doc["packages"].as_array().unwrap();
        assert_eq!(
            pkgs.len(),
            a.packages.len() + 1 + usize::from(a.os.is_some())
        );
    }
    // A document the validator refuses: the tool does check.
    let p = tmp.path().join("bad.spdx.json");
    let mut bad = sbom::spdx(&analyses(tmp.path()).remove(0), 0);
    bad["packages"][1]["SPDXID"] = Value::from("not an id");
    std::fs::write(&p, serde_json::to_vec(&bad).unwrap()).unwrap();
    let out = std::process::Command::new(&tool)
        .arg("-i")
        .arg(&p)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() || text.to_lowercase().contains("validation"),
        "{text}"
    );
}
