//! Broken Gatekeeper input: every problem is a diagnostic naming the file and line (or a
//! suite case in error), one broken template never stops the others, nothing panics.

use palisade_model::{load_bytes, Level, LoadOptions as ModelLoadOptions, Object, Source};
use palisade_policy::gatekeeper::suite::{run_dir, run_suite};
use palisade_policy::suite::CaseStatus;
use palisade_policy::{LoadOptions, PolicySet, TemplateEngine};
use std::path::{Path, PathBuf};

fn objects(yaml: &str) -> Vec<Object> {
    load_bytes(
        yaml.as_bytes(),
        Source::File("policy.yaml".into()),
        &ModelLoadOptions::default(),
    )
    .objects
}

fn load(yaml: &str) -> PolicySet {
    PolicySet::from_objects(&objects(yaml), &LoadOptions::default())
}

fn line_of(yaml: &str, needle: &str) -> u32 {
    yaml.lines().position(|l| l.contains(needle)).expect(needle) as u32 + 1
}

fn template(name: &str, kind: &str, rego: &str) -> String {
    let rego: String = rego.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: {name}\nspec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n{rego}"
    )
}

fn constraint(kind: &str, name: &str) -> String {
    format!(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: {name}\n"
    )
}

const GOOD: &str = "package k8sgood\nviolation[{\"msg\": \"good\"}] { true }";

#[test]
fn broken_rego_names_file_line_template_and_position() {
    let broken = template(
        "k8sbroken",
        "K8sBroken",
        "package k8sbroken\n\nviolation[{\"msg\": msg}] {\n  msg := concat(\"\", [\"a\"]\n}",
    );
    let yaml = format!(
        "{broken}---\n{}---\n{}---\n{}",
        template("k8sgood", "K8sGood", GOOD),
        constraint("K8sBroken", "b"),
        constraint("K8sGood", "g")
    );
    let set = load(&yaml);
    // The good template and its constraint still load.
    assert_eq!(set.len(), 1);
    let errors: Vec<_> = set
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", set.diagnostics);
    let d = errors[0];
    assert_eq!(d.source, "policy.yaml");
    assert!(d.message.contains("k8sbroken"), "{d}");
    assert!(d.message.contains("Rego error (rego line"), "{d}");
    // regorus places an unclosed body at its rule's brace: rego line 3.
    assert_eq!(d.line, line_of(&yaml, "violation[{\"msg\": msg}] {"), "{d}");
    // The constraint of the broken template is not silently dropped.
    let w: Vec<_> = set
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Warning)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", set.diagnostics);
    assert!(
        w[0].message.contains("K8sBroken/b is not loaded"),
        "{}",
        w[0]
    );
}

#[test]
fn semantic_and_lib_errors_have_lines() {
    let unsafe_var = template(
        "k8sunsafe",
        "K8sUnsafe",
        "package k8sunsafe\nviolation[{\"msg\": \"x\"}] {\n  y == 1\n}",
    );
    let set = load(&unsafe_var);
    let d = &set.diagnostics[0];
    assert_eq!(d.line, line_of(&unsafe_var, "y == 1"), "{d}");
    assert!(d.message.contains("unsafe"), "{d}");

    let with_lib = "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8slib\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sLib\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      code:\n      - engine: Rego\n        source:\n          rego: |\n            package k8slib\n            import data.lib.helpers\n            violation[{\"msg\": \"x\"}] { helpers.f(1) }\n          libs:\n          - |\n            package lib.helpers\n            f(x) {\n              x == = 1\n            }\n";
    let set = load(with_lib);
    let d = &set.diagnostics[0];
    assert!(d.message.contains("libs[0]"), "{d}");
    assert!(d.line >= line_of(with_lib, "package lib.helpers"), "{d}");
}

#[test]
fn unknown_functions_are_warned_about() {
    let t = template(
        "k8sx509",
        "K8sX509",
        "package k8sx509\nviolation[{\"msg\": \"bad cert\"}] {\n  certs := crypto.x509.parse_certificates(input.review.object.data.cert)\n  count(certs) == 0\n}",
    );
    let set = load(&format!("{t}---\n{}", constraint("K8sX509", "c")));
    assert_eq!(set.len(), 1, "{:?}", set.diagnostics);
    let d = &set.diagnostics[0];
    assert_eq!(d.level, Level::Warning);
    assert!(d.message.contains("crypto.x509.parse_certificates"), "{d}");
    assert_eq!(d.line, line_of(&t, "crypto.x509"));
}

#[test]
fn constraint_without_template() {
    let yaml = constraint("K8sNowhere", "c");
    let set = load(&yaml);
    assert!(set.is_empty());
    assert!(set.others.is_empty(), "a constraint is not inventory");
    let d = &set.diagnostics[0];
    assert_eq!(d.level, Level::Error);
    assert_eq!((d.source.as_str(), d.line), ("policy.yaml", 1));
    assert!(
        d.message
            .contains("no ConstraintTemplate defines kind \"K8sNowhere\""),
        "{d}"
    );
    assert!(d.hint.as_deref().unwrap_or("").contains("k8snowhere"));
}

#[test]
fn template_shape_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\nspec:\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: 'package a'\n",
            "spec.crd.spec.names.kind is required",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: other\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sA\n  targets: []\n",
            "must be the lower-cased constraint kind",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sA\n  targets: []\n",
            "exactly one target",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sA\n  targets:\n  - target: elsewhere\n    rego: 'package a'\n",
            "is not recognized",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sA\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n",
            "no Rego or K8sNativeValidation code",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v2\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\n",
            "unsupported ConstraintTemplate version",
        ),
        (
            "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sa\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sA\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: 'package a\n\n      allow { true }'\n",
            "does not define the required rule `violation`",
        ),
    ];
    for (yaml, want) in cases {
        let set = load(yaml);
        assert!(set.is_empty());
        assert_eq!(set.diagnostics.len(), 1, "{yaml}: {:?}", set.diagnostics);
        let d = &set.diagnostics[0];
        assert_eq!(d.level, Level::Error);
        assert!(d.message.contains(want), "want {want:?}, got {d}");
        assert!(d.line > 0, "{d}");
    }
}

#[test]
fn engine_selection_errors() {
    let rego_only = template("k8sgood", "K8sGood", GOOD);
    let set = PolicySet::from_objects(
        &objects(&rego_only),
        &LoadOptions {
            template_engine: TemplateEngine::Cel,
        },
    );
    assert!(
        set.diagnostics[0]
            .message
            .contains("no K8sNativeValidation code"),
        "{}",
        set.diagnostics[0]
    );
    let cel_only = "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8scel\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sCel\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    code:\n    - engine: K8sNativeValidation\n      source:\n        validations:\n        - expression: 'object.metadata.name != \"\" &&'\n";
    let set = PolicySet::from_objects(
        &objects(cel_only),
        &LoadOptions {
            template_engine: TemplateEngine::Rego,
        },
    );
    assert!(
        set.diagnostics[0].message.contains("no Rego code"),
        "{}",
        set.diagnostics[0]
    );
    // A CEL syntax error names the field and the line.
    let set = load(cel_only);
    let d = &set.diagnostics[0];
    assert_eq!(d.level, Level::Error);
    assert!(
        d.message
            .contains("spec.targets[0].code[0].source.validations[0].expression"),
        "{d}"
    );
    assert_eq!(d.line, line_of(cel_only, "- expression:"), "{d}");
}

#[test]
fn constraint_shape_errors() {
    let t = template("k8sgood", "K8sGood", GOOD);
    for (spec, want) in [
        ("spec:\n  match:\n    kinds: Pod\n", "spec.match.kinds"),
        ("spec:\n  match:\n    labelSelector:\n      matchExpressions:\n      - {key: a, operator: Has}\n", "not a valid label selector operator"),
        ("spec:\n  match:\n    namespaceSelector:\n      matchExpressions:\n      - {key: a, operator: In}\n", "must be specified when operator is In"),
        ("spec:\n  match:\n    source: Elsewhere\n", "invalid source"),
        ("spec:\n  enforcementAction: scoped\n", "scopedEnforcementActions: required"),
        ("spec:\n  enforcementAction: [deny]\n", "expected a string"),
        ("spec:\n  match: []\n", "spec.match: expected an object"),
    ] {
        let yaml = format!("{t}---\n{}{spec}", constraint("K8sGood", "c"));
        let set = load(&yaml);
        assert!(set.is_empty(), "{spec}");
        let d = &set.diagnostics[0];
        assert!(d.message.contains(want), "want {want:?}, got {d}");
        assert!(d.message.contains("K8sGood/c"), "{d}");
    }
}

#[test]
fn garbage_never_panics() {
    let base = format!(
        "{}---\n{}spec:\n  match:\n    kinds:\n    - apiGroups: ['']\n      kinds: [Pod]\n  parameters:\n    x: 1\n",
        template("k8sgood", "K8sGood", GOOD),
        constraint("K8sGood", "c")
    );
    // Every prefix of a valid file, and every line replaced by garbage of other types.
    let lines: Vec<&str> = base.lines().collect();
    for n in 0..lines.len() {
        let _ = load(&lines[..n].join("\n"));
        for garbage in [
            "",
            "  x: [1, {a: b}]",
            "- 1",
            "spec: 7",
            "    rego: {a: 1}",
            "      names: []",
        ] {
            let mut mutated = lines.clone();
            mutated[n] = garbage;
            let set = load(&mutated.join("\n"));
            let request = palisade_policy::AdmissionRequest::for_object(
                Some(
                    serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
                ),
                None,
                palisade_policy::Operation::Create,
                palisade_policy::UserInfo::offline(),
            );
            let inventory = palisade_policy::Inventory::default();
            let _ = set.evaluate(&palisade_policy::Review::new(
                &request,
                &inventory,
                &palisade_policy::NoOpinion,
            ));
        }
    }
    // Hostile Rego.
    for rego in [
        "package x\nviolation[r] { r := {\"msg\": concat(\"\", [x | x := \"a\"; y := x])} }",
        "package x\nviolation[{\"msg\": m}] { m := sprintf(\"%v %d %s %[9]q %*d %.*f %\", [1]) }",
        "package x\nviolation[{\"msg\": \"x\"}] { walk(input, [p, v]); count(p) > 1000 }",
        "package x\nviolation[{\"msg\": m}] { m := f(1) }\nf(x) = y { y := f(x) }",
        "package x\nviolation[{\"msg\": m}] { m := g }\ng = h\nh = g",
        "package x\n\u{0}",
        "",
    ] {
        let set = load(&format!(
            "{}---\n{}",
            template("k8sx", "K8sX", rego),
            constraint("K8sX", "c")
        ));
        let request = palisade_policy::AdmissionRequest::for_object(
            Some(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})),
            None,
            palisade_policy::Operation::Create,
            palisade_policy::UserInfo::offline(),
        );
        let inventory = palisade_policy::Inventory::default();
        let e = set.evaluate(&palisade_policy::Review::new(
            &request,
            &inventory,
            &palisade_policy::NoOpinion,
        ));
        println!(
            "{rego:?}: {:?} {:?}",
            set.diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>(),
            e.decisions
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        );
    }
}

/// A scratch directory for suite files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-gk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n";

#[test]
fn suite_runner_reports_broken_files_as_errors() {
    let dir = scratch("broken");
    write(&dir, "template.yaml", &template("k8sgood", "K8sGood", GOOD));
    write(&dir, "constraint.yaml", &constraint("K8sGood", "c"));
    let with_schema = template("k8sgood", "K8sGood", GOOD).replace(
        "        kind: K8sGood\n",
        "        kind: K8sGood\n      validation:\n        openAPIV3Schema:\n          type: object\n          properties:\n            n: {type: integer}\n",
    );
    write(&dir, "schema-template.yaml", &with_schema);
    write(
        &dir,
        "bad-constraint.yaml",
        &format!(
            "{}spec:\n  parameters:\n    n: many\n",
            constraint("K8sGood", "c")
        ),
    );
    write(
        &dir,
        "broken-template.yaml",
        &template("k8sgood", "K8sGood", "package k8sgood\nviolation[ {"),
    );
    write(&dir, "pod.yaml", POD);
    write(&dir, "two.yaml", &format!("{POD}---\n{POD}"));
    write(&dir, "empty.yaml", "# nothing\n");
    write(&dir, "garbage.yaml", "\u{1}\u{2}: [\n");
    write(
        &dir,
        "review.yaml",
        "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  operation: DELETE\n  kind: {group: '', version: v1, kind: Pod}\n  oldObject:\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: old}\n",
    );
    write(
        &dir,
        "suite.yaml",
        r#"apiVersion: test.gatekeeper.sh/v1alpha1
kind: Suite
tests:
- name: good
  template: template.yaml
  constraint: constraint.yaml
  cases:
  - name: counts
    object: pod.yaml
    assertions: [{violations: yes}, {violations: 1, message: "^go+d$"}, {violations: no, message: bad}]
  - name: wrong-count
    object: pod.yaml
    assertions: [{violations: 2}]
  - name: two-objects
    object: two.yaml
    assertions: [{violations: yes}]
  - name: empty
    object: empty.yaml
    assertions: [{violations: yes}]
  - name: garbage
    object: garbage.yaml
    assertions: [{violations: yes}]
  - name: missing
    object: nope.yaml
    assertions: [{violations: yes}]
  - name: no-object
    assertions: [{violations: yes}]
  - name: no-assertions
    object: pod.yaml
  - name: bad-violations
    object: pod.yaml
    assertions: [{violations: maybe}]
  - name: negative
    object: pod.yaml
    assertions: [{violations: -1}]
  - name: bad-regex
    object: pod.yaml
    assertions: [{message: "("}]
  - name: missing-inventory
    object: pod.yaml
    inventory: [nope.yaml]
    assertions: [{violations: yes}]
  - name: admission-review
    object: review.yaml
    assertions: [{violations: 1}]
  - name: skipped
    skip: true
    object: nope.yaml
- name: broken-template
  template: broken-template.yaml
  constraint: constraint.yaml
  cases:
  - name: a
    object: pod.yaml
    assertions: [{violations: yes}]
- name: no-template
  constraint: constraint.yaml
  cases:
  - name: a
    object: pod.yaml
- name: invalid-constraint
  template: schema-template.yaml
  constraint: bad-constraint.yaml
  invalid: true
- name: not-invalid
  template: template.yaml
  constraint: constraint.yaml
  invalid: true
- name: skipped-test
  skip: true
  template: nope.yaml
  cases:
  - name: a
"#,
    );
    let report = run_suite(&dir.join("suite.yaml"), TemplateEngine::Auto);
    let status = |test: &str, case: &str| {
        report
            .cases
            .iter()
            .find(|c| c.test == test && c.case == case)
            .unwrap_or_else(|| panic!("no case {test}/{case}: {:#?}", report.cases))
            .clone()
    };
    for c in &report.cases {
        println!("{:?} {} / {} — {}", c.status, c.test, c.case, c.detail);
    }
    assert_eq!(status("good", "counts").status, CaseStatus::Pass);
    let wrong = status("good", "wrong-count");
    assert_eq!(wrong.status, CaseStatus::Fail);
    assert!(
        wrong.detail.contains("got 1 violations but want exactly 2"),
        "{}",
        wrong.detail
    );
    for case in [
        "two-objects",
        "empty",
        "garbage",
        "missing",
        "no-object",
        "no-assertions",
        "bad-violations",
        "negative",
        "bad-regex",
        "missing-inventory",
    ] {
        let c = status("good", case);
        assert_eq!(c.status, CaseStatus::Error, "{case}: {}", c.detail);
        assert!(!c.detail.is_empty());
    }
    assert!(status("good", "two-objects")
        .detail
        .contains("defines 2 objects"));
    assert_eq!(
        status("good", "admission-review").status,
        CaseStatus::Pass,
        "{}",
        status("good", "admission-review").detail
    );
    assert_eq!(status("good", "skipped").status, CaseStatus::Skip);
    let broken = status("broken-template", "a");
    assert_eq!(broken.status, CaseStatus::Error);
    assert!(
        broken.detail.contains("broken-template.yaml"),
        "{}",
        broken.detail
    );
    assert_eq!(status("no-template", "a").status, CaseStatus::Error);
    assert_eq!(
        status("invalid-constraint", "invalid constraint").status,
        CaseStatus::Pass
    );
    assert_eq!(
        status("not-invalid", "invalid constraint").status,
        CaseStatus::Fail
    );
    assert_eq!(status("skipped-test", "a").status, CaseStatus::Skip);
    assert!(!report.ok());

    // Not a suite / unreadable suite files are one error each, and run_dir finds suites.
    write(&dir, "not-a-suite.yaml", POD);
    let r = run_suite(&dir.join("not-a-suite.yaml"), TemplateEngine::Auto);
    assert_eq!(r.cases[0].status, CaseStatus::Error);
    let r = run_suite(&dir.join("absent.yaml"), TemplateEngine::Auto);
    assert_eq!(r.cases[0].status, CaseStatus::Error);
    let reports = run_dir(&dir, TemplateEngine::Rego);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn suite_skip_and_engine_skips() {
    let dir = scratch("skips");
    write(&dir, "template.yaml", &template("k8sgood", "K8sGood", GOOD));
    write(&dir, "constraint.yaml", &constraint("K8sGood", "c"));
    write(&dir, "pod.yaml", POD);
    write(
        &dir,
        "suite.yaml",
        "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n- name: t\n  template: template.yaml\n  constraint: constraint.yaml\n  cases:\n  - name: a\n    object: pod.yaml\n    assertions: [{violations: 1}]\n",
    );
    let r = run_suite(&dir.join("suite.yaml"), TemplateEngine::Rego);
    assert!(r.ok() && r.passed() == 1, "{r:#?}");
    let r = run_suite(&dir.join("suite.yaml"), TemplateEngine::Cel);
    assert_eq!(r.cases[0].status, CaseStatus::Skip);
    assert!(r.cases[0].detail.contains("no K8sNativeValidation"));
    write(
        &dir,
        "suite.yaml",
        "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\nskip: true\ntests:\n- name: t\n  template: template.yaml\n  constraint: constraint.yaml\n  cases:\n  - name: a\n    object: pod.yaml\n",
    );
    let r = run_suite(&dir.join("suite.yaml"), TemplateEngine::Rego);
    assert_eq!(r.cases.len(), 1);
    assert_eq!(r.cases[0].status, CaseStatus::Skip);
    let _ = std::fs::remove_dir_all(&dir);
}
