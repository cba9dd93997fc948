//! Conformance: every case of the kubescape cel-admission-library controls
//! (`../shared/conformance/cel-admission`), evaluated the way the library's own harness
//! (`scripts/run-control-tests.py`) does against a cluster: the case's template object with
//! its `field_change_list` applied is created (`kubectl apply`, so a CREATE in namespace
//! `default` when the object names none) under the control's policy, bound by
//! `test-resources/policy-binding.yaml` (or the case's `binding_template`) whose
//! `policyName` and name are set to the policy's, with the param object
//! `test-resources/default-control-configuration.yaml` (or the case's `param_template`).
//! `pass` means admitted, `fail` denied, `warn` admitted with a warning.

use std::path::{Path, PathBuf};

use palisade_model::{load_bytes, LoadOptions, Object, Source};
use palisade_policy::{
    inventory_object, vap, Action, AdmissionRequest, Evaluation, Inventory, NoOpinion, Operation,
    Review, UserInfo,
};
use serde_json::Value;

const ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/cel-admission"
);

fn load(path: &Path) -> Vec<Object> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let loaded = load_bytes(
        &bytes,
        Source::File(path.display().to_string()),
        &LoadOptions::default(),
    );
    for d in &loaded.diagnostics {
        assert_ne!(d.level, palisade_model::Level::Error, "{d}");
    }
    loaded.objects
}

/// `change-yaml-field.py`: `a.b.[0].c=value`, where the value is JSON when it parses as
/// JSON and a string otherwise.
fn apply_change(root: &mut Value, change: &str) -> Result<(), String> {
    let (path, raw) = change
        .split_once('=')
        .ok_or_else(|| format!("no '=' in {change:?}"))?;
    let value: Value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let fields: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, f) in fields.iter().enumerate() {
        let last = i + 1 == fields.len();
        let index = f
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok());
        match index {
            Some(n) => {
                if !cur.is_array() {
                    *cur = Value::Array(Vec::new());
                }
                let list = cur.as_array_mut().ok_or("not a list")?;
                while list.len() <= n {
                    list.push(Value::Null);
                }
                if last {
                    list[n] = value;
                    return Ok(());
                }
                if list[n].is_null() {
                    list[n] = Value::Object(Default::default());
                }
                cur = &mut list[n];
            }
            None => {
                if !cur.is_object() {
                    return Err(format!("{path}: {f} is not a field of a mapping"));
                }
                let map = cur.as_object_mut().ok_or("not a mapping")?;
                if last {
                    map.insert(f.to_string(), value);
                    return Ok(());
                }
                cur = map
                    .entry(f.to_string())
                    .or_insert_with(|| Value::Object(Default::default()));
            }
        }
    }
    Ok(())
}

fn with_name(mut o: Object, policy_name: &str) -> Object {
    let set = |n: &mut palisade_model::Node, path: &[&str], v: &str| {
        let mut cur = n;
        for k in &path[..path.len() - 1] {
            cur = match &mut cur.value {
                palisade_model::Value::Map(entries) => {
                    &mut entries
                        .iter_mut()
                        .find(|e| e.key == *k)
                        .expect("field")
                        .value
                }
                _ => panic!("not a mapping"),
            };
        }
        if let palisade_model::Value::Map(entries) = &mut cur.value {
            let e = entries
                .iter_mut()
                .find(|e| e.key == path[path.len() - 1])
                .expect("field");
            e.value.value = palisade_model::Value::Str(v.to_string());
        }
    };
    set(&mut o.root, &["spec", "policyName"], policy_name);
    let binding_name = format!("{policy_name}-binding");
    set(&mut o.root, &["metadata", "name"], &binding_name);
    o.name = binding_name;
    o
}

struct Outcome {
    denied: bool,
    warned: bool,
    summary: String,
}

fn outcome(e: &Evaluation) -> Outcome {
    let summary = e
        .decisions
        .iter()
        .map(|d| format!("[{:?} {:?}] {}", d.actions, d.kind, d.message))
        .chain(
            e.errors
                .iter()
                .map(|x| format!("[ignored error] {}", x.message)),
        )
        .collect::<Vec<_>>()
        .join("; ");
    Outcome {
        denied: e.denied(),
        warned: e
            .decisions
            .iter()
            .any(|d| d.actions.contains(&Action::Warn)),
        summary,
    }
}

#[test]
fn cel_admission_library_conformance() {
    let root = PathBuf::from(ROOT);
    let resources = root.join("test-resources");
    let mut controls: Vec<PathBuf> = std::fs::read_dir(root.join("controls"))
        .expect("conformance data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("tests.json").exists())
        .collect();
    controls.sort();
    let user = UserInfo {
        username: "kubernetes-admin".into(),
        uid: String::new(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        extra: Default::default(),
    };
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), Vec::new());
    for control in &controls {
        let id = control
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let policy_path = control.join("policy.yaml");
        let tests: Vec<Value> =
            serde_json::from_slice(&std::fs::read(control.join("tests.json")).expect("tests.json"))
                .expect("json");
        if !policy_path.exists() {
            for t in &tests {
                skipped.push(format!(
                    "{id} {}: the control has no policy.yaml",
                    t["name"]
                ));
            }
            continue;
        }
        let policy_objects = load(&policy_path);
        let policy_name = policy_objects
            .iter()
            .find(|o| o.kind == "ValidatingAdmissionPolicy")
            .map(|o| o.name.clone())
            .expect("a policy");
        for t in &tests {
            let name = t["name"].as_str().unwrap_or("?").to_string();
            let expected = t["expected"].as_str().unwrap_or("?").to_string();
            let template = t["template"].as_str().unwrap_or("");
            let binding_template = t["binding_template"]
                .as_str()
                .unwrap_or("policy-binding.yaml");
            let param_template = t["param_template"]
                .as_str()
                .unwrap_or("default-control-configuration.yaml");
            let mut object = load(&resources.join(template))
                .first()
                .map(|o| o.root.to_json())
                .expect("template object");
            let mut problem = None;
            for change in t["field_change_list"].as_array().into_iter().flatten() {
                if let Err(e) = apply_change(&mut object, change.as_str().unwrap_or("")) {
                    problem = Some(e);
                }
            }
            if let Some(p) = problem {
                failed.push(format!("{id} {name}: bad field change: {p}"));
                continue;
            }
            let mut objects = policy_objects.clone();
            let binding = load(&resources.join(binding_template)).remove(0);
            objects.push(with_name(binding, &policy_name));
            let mut used = vec![false; objects.len()];
            let mut diags = Vec::new();
            let policies = vap::load(&objects, &mut used, &mut diags);
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.level == palisade_model::Level::Error)
                .map(|d| d.to_string())
                .collect();
            if !errors.is_empty() {
                failed.push(format!(
                    "{id} {name}: policy does not load: {}",
                    errors.join("; ")
                ));
                continue;
            }
            let inventory = Inventory::new(
                load(&resources.join(param_template))
                    .iter()
                    .map(inventory_object),
            );
            let request =
                AdmissionRequest::for_object(Some(object), None, Operation::Create, user.clone());
            let review = Review::new(&request, &inventory, &NoOpinion);
            let mut evaluation = Evaluation::default();
            for p in &policies {
                p.evaluate(&review, &mut evaluation);
            }
            let o = outcome(&evaluation);
            let ok = match expected.as_str() {
                "pass" => !o.denied,
                "fail" => o.denied,
                "warn" => !o.denied && o.warned,
                other => {
                    skipped.push(format!("{id} {name}: unknown expectation {other:?}"));
                    continue;
                }
            };
            if ok {
                passed += 1;
                println!("passed  {id} {name} ({expected}) {}", o.summary);
            } else {
                println!(
                    "FAILED  {id} {name}: expected {expected}, got {}",
                    o.summary
                );
                failed.push(format!(
                    "{id} {name}: expected {expected}, got {}",
                    o.summary
                ));
            }
        }
    }
    for s in &skipped {
        println!("skipped {s}");
    }
    let total = passed + failed.len() + skipped.len();
    println!(
        "cel-admission conformance: {passed}/{total} passed, {} failed, {} skipped",
        failed.len(),
        skipped.len()
    );
    assert!(total > 0, "no conformance cases found under {ROOT}");
    assert!(
        failed.is_empty() && skipped.is_empty(),
        "{} of {total} cases failed:\n{}",
        failed.len() + skipped.len(),
        failed.join("\n")
    );
}
