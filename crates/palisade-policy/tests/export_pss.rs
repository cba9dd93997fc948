//! `palisade policy export-vap`: the exported Pod Security Standards policies, written as
//! YAML, read back and run by the ValidatingAdmissionPolicy engine, decide Kubernetes' own
//! PSS fixtures exactly as the built-in PSS checks do.

use palisade_checks::engine::EngineOptions;
use palisade_checks::{Engine, Profile, PssVersion};
use palisade_model::{load_bytes, load_file, LoadOptions, Object, Source};
use palisade_policy::export::{
    pss_policies, to_yaml, NamespaceSelection, PssExportOptions, PssLevel, ValidationAction,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn suite_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/pss"
    ))
    .to_path_buf()
}

fn reload(values: &[Value]) -> Vec<Object> {
    let yaml = to_yaml(values);
    let loaded = load_bytes(yaml.as_bytes(), Source::Stdin, &LoadOptions::default());
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}\n{yaml}",
        loaded.diagnostics
    );
    loaded.objects
}

#[test]
fn emitted_yaml_reparses_to_equal_values() {
    let tricky = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "t", "annotations": {"a/b": "yes", "c": "0644", "d": "", "e": "~"}},
        "data": {
            "bools": ["true", "False", "on", "OFF", "y", "N", "null", "Null"],
            "numbers": ["1", "-1", "1.5", "1e3", ".inf", "0x1F", "0o7", "1_000", "+1", "12:30"],
            "syntax": ["- a", "a: b", "a #b", "#c", "[x]", "{y}", "*z", "&w", "!t", "%p", "@a", "`b", "|c", ">d", "'e'", "\"f\"", "g,h"],
            "spaces": [" lead", "trail ", "in  ner", "tab\there", "\ttab"],
            "multiline": ["a\nb", "a\nb\n", "a\nb\n\n", "\na", " a\nb", "a \nb", "a\n  b\n    c", "x\r\ny", "a\n\tb", "\u{1}ctl"],
            "unicode": ["é", "日本", "\u{2028}", "\u{feff}bom"],
            "nested": [[1, [2, []]], {}, [], {"k": {"l": [{"m": null}]}}],
            "scalars": [null, true, false, 0, -7, 1.25, 9007199254740993_i64],
            "": "empty key",
            "key: with colon": 1,
            "- dash": 2,
        },
    });
    let objects = vec![
        tricky.clone(),
        json!({"apiVersion": "v1", "kind": "List2", "items": []}),
    ];
    let back = reload(&objects);
    assert_eq!(back.len(), 2);
    for (o, v) in back.iter().zip(&objects) {
        assert_eq!(&o.root.to_json(), v);
    }

    for level in [PssLevel::Baseline, PssLevel::Restricted] {
        let opts = PssExportOptions {
            exempt_namespaces: vec!["kube-system".into()],
            exempt_usernames: vec!["system:serviceaccount:kube-system:replicaset-controller".into()],
            exempt_runtime_classes: vec!["kata".into()],
            ..PssExportOptions::default()
        };
        let values = pss_policies(level, &opts).unwrap();
        let back = reload(&values);
        assert_eq!(back.len(), values.len());
        for (o, v) in back.iter().zip(&values) {
            assert_eq!(&o.root.to_json(), v);
        }
    }
}

#[test]
fn bindings_follow_the_options() {
    let values = pss_policies(PssLevel::Restricted, &PssExportOptions::default()).unwrap();
    assert_eq!(values.len(), 3);
    assert_eq!(values[0]["kind"], "ValidatingAdmissionPolicy");
    assert_eq!(values[0]["metadata"]["name"], "palisade-pss-restricted");
    assert_eq!(values[1]["spec"]["validationActions"], json!(["Deny"]));
    assert_eq!(
        values[1]["spec"]["matchResources"]["namespaceSelector"],
        json!({"matchLabels": {"pod-security.kubernetes.io/enforce": "restricted"}})
    );
    assert_eq!(
        values[2]["metadata"]["name"],
        "palisade-pss-restricted-workloads"
    );
    assert_eq!(
        values[2]["spec"]["validationActions"],
        json!(["Warn", "Audit"])
    );

    let opts = PssExportOptions {
        actions: vec![ValidationAction::Warn],
        workload_actions: None,
        namespaces: NamespaceSelection::All,
        exempt_namespaces: vec!["kube-system".into()],
        ..PssExportOptions::default()
    };
    let values = pss_policies(PssLevel::Baseline, &opts).unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[1]["spec"]["validationActions"], json!(["Warn"]));
    assert_eq!(
        values[1]["spec"]["matchResources"],
        json!({"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
        ]}})
    );
    let bad = PssExportOptions {
        actions: vec![ValidationAction::Deny, ValidationAction::Warn],
        ..PssExportOptions::default()
    };
    assert!(pss_policies(PssLevel::Baseline, &bad).is_err());
}

/// What a level's exported policy said about one object: the check IDs its violated
/// validations name, and their messages.
type Verdict = (Vec<String>, Vec<String>);

/// The exported policy of one level, run by the ValidatingAdmissionPolicy engine.
struct Exported(Engine2);

impl Exported {
    fn new(level: PssLevel, opts: &PssExportOptions) -> Self {
        let engine = Engine2::new(&reload(&pss_policies(level, opts).unwrap()), &[]).unwrap();
        assert_eq!(
            engine.set.len(),
            1,
            "the policy and its bindings load as one policy"
        );
        Exported(engine)
    }

    /// The check IDs the violated validations name (sorted) and the messages; evaluation
    /// errors are `Err`.
    fn judge(&self, object: &Value) -> Result<Verdict, String> {
        let messages = self.0.violations(&request(object, None, CREATE))?;
        let mut ids: Vec<String> = messages
            .iter()
            .map(|m| m.split(' ').next().unwrap_or("").to_string())
            .collect();
        ids.sort();
        Ok((ids, messages))
    }
}

struct Builtin(Engine);

impl Builtin {
    fn new(profile: Profile) -> Self {
        Builtin(
            Engine::new(EngineOptions {
                profile,
                pss_version: Some(PssVersion(37)),
                ..EngineOptions::default()
            })
            .unwrap(),
        )
    }

    fn ids(&self, objects: &[Object]) -> Vec<String> {
        let mut ids: Vec<String> = self
            .0
            .run(objects)
            .findings
            .iter()
            .map(|f| f.check.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

fn levels() -> [(PssLevel, Profile); 2] {
    [
        (PssLevel::Baseline, Profile::PssBaseline),
        (PssLevel::Restricted, Profile::PssRestricted),
    ]
}

fn all_namespaces() -> PssExportOptions {
    PssExportOptions {
        namespaces: NamespaceSelection::All,
        ..PssExportOptions::default()
    }
}

/// Kubernetes' PSS fixtures for `level` at `version`: (file, expected to pass).
fn fixtures(level: &str, version: &str) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for expect in ["pass", "fail"] {
        let dir = suite_dir().join(level).join(version).join(expect);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (f, expect == "pass")));
    }
    out
}

fn load_one(file: &Path) -> Vec<Object> {
    let loaded = load_file(file, &LoadOptions::default());
    assert_eq!(
        loaded.objects.len(),
        1,
        "{}: {:?}",
        file.display(),
        loaded.diagnostics
    );
    loaded.objects
}

#[test]
fn pss_fixtures_round_trip_through_exported_policies() {
    assert!(
        suite_dir().is_dir(),
        "{} is missing: the shared conformance data must sit beside the checkout",
        suite_dir().display()
    );
    let mut failures = Vec::new();
    for (level, profile) in levels() {
        let exported = Exported::new(level, &all_namespaces());
        let builtin = Builtin::new(profile);
        let cases = fixtures(level.as_str(), "v1.37");
        assert!(
            cases.len() > 40,
            "only {} fixtures for {}",
            cases.len(),
            level.as_str()
        );
        let mut passed = 0;
        for (file, expect_pass) in &cases {
            let objects = load_one(file);
            let object = objects[0].root.to_json();
            let (ids, messages) = match exported.judge(&object) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            let builtin_ids = builtin.ids(&objects);
            if ids.is_empty() != *expect_pass {
                failures.push(format!(
                    "{}: expected {} at {}, got {messages:?}",
                    file.display(),
                    if *expect_pass { "allowed" } else { "denied" },
                    level.as_str(),
                ));
            } else if ids != builtin_ids {
                failures.push(format!(
                    "{}: exported policy names {ids:?}, built-in checks {builtin_ids:?}: {messages:?}",
                    file.display(),
                ));
            } else {
                passed += 1;
            }
            if std::env::var_os("PALISADE_SHOW_MESSAGES").is_some() {
                eprintln!("{}: {messages:?}", file.display());
            }
        }
        eprintln!(
            "export-vap round trip, {} v1.37: {passed}/{} fixtures agree",
            level.as_str(),
            cases.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every distinct fixture of every version (v1.0–v1.37 shapes: seccomp annotations, user
/// namespaces, Windows pods, …), judged at v1.37 by both engines: the same controls fire.
#[test]
fn exported_policies_agree_with_builtin_checks_on_every_fixture_shape() {
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::new();
    for level in ["baseline", "restricted"] {
        for minor in 0..=37 {
            for (file, _) in fixtures(level, &format!("v1.{minor}")) {
                if seen.insert(std::fs::read(&file).unwrap()) {
                    files.push(file);
                }
            }
        }
    }
    assert!(files.len() > 300, "only {} distinct fixtures", files.len());
    let mut failures = Vec::new();
    for (level, profile) in levels() {
        let exported = Exported::new(level, &all_namespaces());
        let builtin = Builtin::new(profile);
        let mut agree = 0;
        for file in &files {
            let objects = load_one(file);
            let object = objects[0].root.to_json();
            match exported.judge(&object) {
                Ok((ids, messages)) => {
                    let builtin_ids = builtin.ids(&objects);
                    if ids == builtin_ids {
                        agree += 1;
                    } else {
                        failures.push(format!(
                            "{} at {}: exported policy names {ids:?}, built-in checks {builtin_ids:?}: {messages:?}",
                            file.display(),
                            level.as_str()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", file.display())),
            }
        }
        eprintln!(
            "export-vap vs built-in, {} v1.37: {agree}/{} distinct fixtures agree",
            level.as_str(),
            files.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs exported Gatekeeper policies and bindings, with their constraints as params.
struct Engine2 {
    set: palisade_policy::PolicySet,
    params: Vec<palisade_policy::InventoryObject>,
}

impl Engine2 {
    /// `policies` are loaded as policies, `params` only join the inventory.
    fn new(policies: &[Object], params: &[Object]) -> Result<Self, String> {
        let set = palisade_policy::PolicySet::from_objects(
            policies,
            &palisade_policy::LoadOptions::default(),
        );
        if !set.diagnostics.is_empty() {
            return Err(format!("{:?}", set.diagnostics));
        }
        let params = params
            .iter()
            .map(palisade_policy::inventory_object)
            .collect();
        Ok(Engine2 { set, params })
    }

    /// Violations (decisions) for a request; evaluation errors are failures.
    fn violations(
        &self,
        request: &palisade_policy::AdmissionRequest,
    ) -> Result<Vec<String>, String> {
        let mut objects = self.set.others.clone();
        objects.extend(self.params.iter().cloned());
        let known = |ns: &str| {
            objects
                .iter()
                .any(|o| o.value["kind"] == "Namespace" && o.value["metadata"]["name"] == ns)
        };
        if let Some(ns) = request.namespace.as_deref().filter(|ns| !known(ns)) {
            objects.push(palisade_policy::InventoryObject {
                value: std::sync::Arc::new(json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                })),
                source: None,
            });
        }
        let inventory = palisade_policy::Inventory::new(objects);
        let authorizer = palisade_policy::NoOpinion;
        let review = palisade_policy::Review::new(request, &inventory, &authorizer);
        let eval = self.set.evaluate(&review);
        if let Some(e) = eval.errors.first() {
            return Err(e.message.clone());
        }
        Ok(eval.decisions.iter().map(|d| d.message.clone()).collect())
    }
}

fn yes_no_count(v: &Value) -> Option<Result<usize, bool>> {
    match v {
        Value::Bool(b) => Some(Err(*b)),
        Value::Number(n) => n.as_u64().map(|n| Ok(n as usize)),
        Value::String(s) if s == "yes" => Some(Err(true)),
        Value::String(s) if s == "no" => Some(Err(false)),
        _ => None,
    }
}

/// Gatekeeper's own library suites for the templates that carry `K8sNativeValidation`
/// code: exported as ValidatingAdmissionPolicies, with the constraint as the binding's
/// param, every case is decided as `gator verify` expects.
#[test]
fn gatekeeper_library_suites_through_exported_policies() {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/gatekeeper/library"
    ));
    let mut suites = Vec::new();
    for group in ["general", "pod-security-policy"] {
        for e in std::fs::read_dir(root.join(group)).unwrap().flatten() {
            let dir = e.path();
            let template = std::fs::read_to_string(dir.join("template.yaml")).unwrap_or_default();
            if template.contains("K8sNativeValidation") && dir.join("suite.yaml").is_file() {
                suites.push(dir);
            }
        }
    }
    suites.sort();
    assert!(suites.len() >= 14, "only {} CEL suites", suites.len());
    let (mut cases, mut passed) = (0, 0);
    let mut failures = Vec::new();
    for dir in &suites {
        let suite = load_one(&dir.join("suite.yaml"))[0].root.to_json();
        for test in suite["tests"].as_array().into_iter().flatten() {
            let mut inputs = load_one(&dir.join(test["template"].as_str().unwrap()));
            inputs.extend(
                load_file(
                    &dir.join(test["constraint"].as_str().unwrap()),
                    &LoadOptions::default(),
                )
                .objects,
            );
            let (exported, diags) = palisade_policy::export::export_policies(&inputs);
            assert!(
                diags
                    .iter()
                    .all(|d| d.level != palisade_model::Level::Error),
                "{}: {diags:?}",
                dir.display()
            );
            let constraints: Vec<Object> = inputs
                .into_iter()
                .filter(|o| o.group() == "constraints.gatekeeper.sh")
                .collect();
            let engine = match Engine2::new(&reload(&exported), &constraints) {
                Ok(e) => e,
                Err(e) => {
                    failures.push(format!("{}: {e}", dir.display()));
                    continue;
                }
            };
            for case in test["cases"].as_array().into_iter().flatten() {
                if case["skip"] == json!(true) {
                    continue;
                }
                cases += 1;
                let name = format!("{} {} {}", dir.display(), test["name"], case["name"]);
                let object = load_one(&dir.join(case["object"].as_str().unwrap()))[0]
                    .root
                    .to_json();
                let request = if object["kind"] == "AdmissionReview" {
                    let r = &object["request"];
                    let op = palisade_policy::Operation::parse(
                        r["operation"].as_str().unwrap_or("CREATE"),
                    )
                    .unwrap_or(palisade_policy::Operation::Create);
                    let some = |v: &Value| (!v.is_null()).then(|| v.clone());
                    palisade_policy::AdmissionRequest::for_object(
                        some(&r["object"]),
                        some(&r["oldObject"]),
                        op,
                        palisade_policy::UserInfo::offline(),
                    )
                } else {
                    palisade_policy::AdmissionRequest::for_object(
                        Some(object),
                        None,
                        palisade_policy::Operation::Create,
                        palisade_policy::UserInfo::offline(),
                    )
                };
                let got = match engine.violations(&request) {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                let mut ok = true;
                for a in case["assertions"].as_array().into_iter().flatten() {
                    let matching = match a["message"].as_str() {
                        Some(re) => {
                            let re = regex::Regex::new(re).unwrap();
                            got.iter().filter(|m| re.is_match(m)).count()
                        }
                        None => got.len(),
                    };
                    ok &= match yes_no_count(&a["violations"]) {
                        Some(Err(true)) | None => matching > 0,
                        Some(Err(false)) => matching == 0,
                        Some(Ok(n)) => matching == n,
                    };
                }
                if ok {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{name}: assertions {} not met by {got:?}",
                        case["assertions"]
                    ));
                }
            }
        }
    }
    eprintln!("export-vap Gatekeeper library: {passed}/{cases} cases as gator expects");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn yaml_value(text: &str) -> Value {
    let loaded = load_bytes(text.as_bytes(), Source::Stdin, &LoadOptions::default());
    assert_eq!(loaded.objects.len(), 1, "{:?}", loaded.diagnostics);
    loaded.objects[0].root.to_json()
}

fn request(
    object: &Value,
    old: Option<&Value>,
    op: palisade_policy::Operation,
) -> palisade_policy::AdmissionRequest {
    palisade_policy::AdmissionRequest::for_object(
        Some(object.clone()),
        old.cloned(),
        op,
        palisade_policy::UserInfo::offline(),
    )
}

fn pss_engine(level: PssLevel, opts: &PssExportOptions, namespaces: &str) -> Engine2 {
    let params = load_bytes(
        namespaces.as_bytes(),
        Source::Stdin,
        &LoadOptions::default(),
    )
    .objects;
    Engine2::new(&reload(&pss_policies(level, opts).unwrap()), &params).unwrap()
}

/// Decisions as (denies, check ID) pairs.
fn decisions(engine: &Engine2, req: &palisade_policy::AdmissionRequest) -> Vec<(bool, String)> {
    let mut objects = engine.set.others.clone();
    objects.extend(engine.params.iter().cloned());
    let inventory = palisade_policy::Inventory::new(objects);
    let authorizer = palisade_policy::NoOpinion;
    let review = palisade_policy::Review::new(req, &inventory, &authorizer);
    let eval = engine.set.evaluate(&review);
    assert!(eval.errors.is_empty(), "{:?}", eval.errors);
    eval.decisions
        .iter()
        .map(|d| {
            (
                d.denies(),
                d.message.split(' ').next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

const PRIVILEGED_POD: &str = "apiVersion: v1
kind: Pod
metadata: {name: p, namespace: apps}
spec:
  containers:
  - name: app
    image: app:1
    securityContext: {privileged: true}
";

const CREATE: palisade_policy::Operation = palisade_policy::Operation::Create;
const UPDATE: palisade_policy::Operation = palisade_policy::Operation::Update;

#[test]
fn workloads_are_warned_about_and_pods_denied() {
    let engine = pss_engine(PssLevel::Baseline, &all_namespaces(), "");
    let pod = yaml_value(PRIVILEGED_POD);
    assert_eq!(
        decisions(&engine, &request(&pod, None, CREATE)),
        [(true, "PSS102".to_string())]
    );

    for workload in [
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: apps}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: app, image: app:1}]
",
        "apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: apps}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          hostNetwork: true
          containers: [{name: app, image: app:1}]
",
        "apiVersion: v1
kind: PodTemplate
metadata: {name: t, namespace: apps}
template:
  spec:
    hostNetwork: true
    containers: [{name: app, image: app:1}]
",
    ] {
        let object = yaml_value(workload);
        let got = decisions(&engine, &request(&object, None, CREATE));
        assert_eq!(got, [(false, "PSS101".to_string())], "{workload}");
    }
    let compliant = yaml_value(
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, namespace: apps}
spec:
  template:
    spec:
      containers: [{name: app, image: app:1}]
",
    );
    assert!(decisions(&engine, &request(&compliant, None, CREATE)).is_empty());

    // Pods only: workloads are not matched at all.
    let opts = PssExportOptions {
        workload_actions: None,
        ..all_namespaces()
    };
    let engine = pss_engine(PssLevel::Baseline, &opts, "");
    let dep = yaml_value(
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: apps}
spec:
  template:
    spec:
      hostPID: true
      containers: [{name: app, image: app:1}]
",
    );
    assert!(decisions(&engine, &request(&dep, None, CREATE)).is_empty());
    assert_eq!(decisions(&engine, &request(&pod, None, CREATE)).len(), 1);
}

#[test]
fn updates_are_checked_only_when_they_can_change_the_verdict() {
    let engine = pss_engine(PssLevel::Baseline, &all_namespaces(), "");
    let old = yaml_value(PRIVILEGED_POD);
    let relabelled = yaml_value(&PRIVILEGED_POD.replace(
        "namespace: apps}",
        "namespace: apps, labels: {a: b}, finalizers: []}",
    ));
    assert!(decisions(&engine, &request(&relabelled, Some(&old), UPDATE)).is_empty());
    let new_image = yaml_value(&PRIVILEGED_POD.replace("app:1", "app:2"));
    assert_eq!(
        decisions(&engine, &request(&new_image, Some(&old), UPDATE)).len(),
        1
    );
    let debug = yaml_value(&format!(
        "{PRIVILEGED_POD}  ephemeralContainers:\n  - name: debug\n    image: busybox\n"
    ));
    assert_eq!(
        decisions(&engine, &request(&debug, Some(&old), UPDATE)).len(),
        1
    );

    let dep = |replicas: u32, image: &str| {
        yaml_value(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: apps}}
spec:
  replicas: {replicas}
  template:
    spec:
      hostIPC: true
      containers: [{{name: app, image: {image}}}]
"
        ))
    };
    let old = dep(1, "app:1");
    assert!(decisions(&engine, &request(&dep(3, "app:1"), Some(&old), UPDATE)).is_empty());
    assert_eq!(
        decisions(&engine, &request(&dep(1, "app:2"), Some(&old), UPDATE)).len(),
        1
    );
}

#[test]
fn namespace_selection_and_exemptions() {
    let namespaces = "apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {kubernetes.io/metadata.name: apps, pod-security.kubernetes.io/enforce: baseline}
---
apiVersion: v1
kind: Namespace
metadata:
  name: other
  labels: {kubernetes.io/metadata.name: other}
";
    let pod = yaml_value(PRIVILEGED_POD);
    let elsewhere = yaml_value(&PRIVILEGED_POD.replace("namespace: apps", "namespace: other"));
    // By default the level's enforce label selects the namespaces.
    let engine = pss_engine(PssLevel::Baseline, &PssExportOptions::default(), namespaces);
    assert_eq!(decisions(&engine, &request(&pod, None, CREATE)).len(), 1);
    assert!(decisions(&engine, &request(&elsewhere, None, CREATE)).is_empty());
    let restricted = pss_engine(
        PssLevel::Restricted,
        &PssExportOptions::default(),
        namespaces,
    );
    assert!(decisions(&restricted, &request(&pod, None, CREATE)).is_empty());

    let kata = yaml_value(&format!("{PRIVILEGED_POD}  runtimeClassName: kata\n"));
    let cases = [
        (
            PssExportOptions {
                exempt_namespaces: vec!["apps".into()],
                ..all_namespaces()
            },
            &pod,
        ),
        (
            PssExportOptions {
                exempt_usernames: vec![palisade_policy::UserInfo::offline().username],
                ..all_namespaces()
            },
            &pod,
        ),
        (
            PssExportOptions {
                exempt_runtime_classes: vec!["kata".into()],
                ..all_namespaces()
            },
            &kata,
        ),
    ];
    for (opts, exempt) in cases {
        let engine = pss_engine(PssLevel::Baseline, &opts, namespaces);
        assert!(
            decisions(&engine, &request(exempt, None, CREATE)).is_empty(),
            "{opts:?}"
        );
        let expected = if opts.exempt_usernames.is_empty() {
            1
        } else {
            0
        };
        assert_eq!(
            decisions(&engine, &request(&elsewhere, None, CREATE)).len(),
            expected,
            "{opts:?}"
        );
    }
}
