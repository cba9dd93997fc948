//! Gatekeeper constraint semantics: `spec.match`, enforcement actions, parameters,
//! inventory and the review Rego sees.

use palisade_model::{load_bytes, LoadOptions as ModelLoadOptions, Object, Source};
use palisade_policy::{
    Action, AdmissionRequest, DecisionKind, Evaluation, Inventory, LoadOptions, NoOpinion,
    Operation, PolicySet, Review, UserInfo,
};
use serde_json::{json, Value};

/// A template whose Rego reports every request it sees, with the parts of the input a
/// test may want to look at in `details`.
const ALWAYS: &str = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8salways
spec:
  crd:
    spec:
      names:
        kind: K8sAlways
      validation:
        openAPIV3Schema:
          type: object
          properties:
            flag:
              type: boolean
              default: true
            items:
              type: array
              items:
                type: object
                properties:
                  num:
                    type: integer
                    default: 7
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8salways

        violation[{"msg": msg, "details": {"parameters": input.parameters, "operation": input.review.operation, "name": name, "inventory": inv}}] {
          name := object.get(input.review.object.metadata, "name", "")
          inv := count(object.get(object.get(data, "inventory", {}), "cluster", {}))
          msg := sprintf("hit %v", [name])
        }
"#;

fn objects(yaml: &str) -> Vec<Object> {
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("policy.yaml".into()),
        &ModelLoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.objects
}

fn constraint(spec: &str) -> String {
    format!(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAlways\nmetadata:\n  name: c\nspec:\n{}",
        spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

fn policies(spec: &str) -> PolicySet {
    let yaml = format!("{ALWAYS}\n---\n{}", constraint(spec));
    let set = PolicySet::from_objects(&objects(&yaml), &LoadOptions::default());
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    assert_eq!(set.len(), 1);
    set
}

fn request(object: Value) -> AdmissionRequest {
    AdmissionRequest::for_object(Some(object), None, Operation::Create, UserInfo::offline())
}

fn eval_with(set: &PolicySet, req: &AdmissionRequest, inventory: &Inventory) -> Evaluation {
    set.evaluate(&Review::new(req, inventory, &NoOpinion))
}

fn eval(set: &PolicySet, object: Value) -> Evaluation {
    eval_with(set, &request(object), &Inventory::default())
}

fn hits(set: &PolicySet, object: Value) -> bool {
    let e = eval(set, object);
    assert!(
        e.decisions
            .iter()
            .all(|d| d.kind == DecisionKind::Violation),
        "{:?}",
        e.decisions
    );
    !e.decisions.is_empty()
}

fn pod(name: &str, ns: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}})
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

fn cluster_role(name: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}})
}

fn deployment(name: &str, ns: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns}})
}

#[test]
fn no_match_matches_everything() {
    let set = policies("parameters: {}");
    assert!(hits(&set, pod("a", "default", json!({}))));
    assert!(hits(&set, cluster_role("r")));
}

#[test]
fn kinds() {
    let set = policies("match:\n  kinds:\n  - apiGroups: [apps]\n    kinds: [Deployment]");
    assert!(hits(&set, deployment("d", "x")));
    assert!(!hits(&set, pod("p", "x", json!({}))));
    let set = policies("match:\n  kinds:\n  - apiGroups: ['*']\n    kinds: [Pod, Deployment]");
    assert!(hits(&set, deployment("d", "x")));
    assert!(hits(&set, pod("p", "x", json!({}))));
    assert!(!hits(&set, cluster_role("r")));
    // An entry without kinds matches every kind of its groups.
    let set = policies("match:\n  kinds:\n  - apiGroups: ['']");
    assert!(hits(&set, pod("p", "x", json!({}))));
    assert!(!hits(&set, deployment("d", "x")));
    let set = policies("match:\n  kinds:\n  - kinds: ['*']");
    assert!(hits(&set, cluster_role("r")));
}

#[test]
fn namespaces_and_excluded_namespaces() {
    let set = policies("match:\n  namespaces: [prod-*, '*-live', exact]");
    assert!(hits(&set, pod("a", "prod-eu", json!({}))));
    assert!(hits(&set, pod("a", "shop-live", json!({}))));
    assert!(hits(&set, pod("a", "exact", json!({}))));
    assert!(!hits(&set, pod("a", "exactly", json!({}))));
    assert!(!hits(&set, pod("a", "dev", json!({}))));
    // A Namespace is matched by its own name; cluster-scoped objects are not filtered.
    assert!(hits(&set, namespace("prod-us", json!({}))));
    assert!(!hits(&set, namespace("dev", json!({}))));
    assert!(hits(&set, cluster_role("r")));

    let set = policies("match:\n  excludedNamespaces: [kube-*, '*system*']");
    assert!(!hits(&set, pod("a", "kube-system", json!({}))));
    assert!(!hits(&set, pod("a", "gatekeeper-system-x", json!({}))));
    assert!(!hits(&set, namespace("kube-public", json!({}))));
    assert!(hits(&set, pod("a", "default", json!({}))));
    assert!(hits(&set, cluster_role("r")));
}

#[test]
fn label_selector() {
    let set = policies(
        "match:\n  labelSelector:\n    matchLabels: {app: web}\n    matchExpressions:\n    - {key: tier, operator: In, values: [front, back]}\n    - {key: legacy, operator: DoesNotExist}",
    );
    assert!(hits(
        &set,
        pod("a", "x", json!({"app": "web", "tier": "front"}))
    ));
    assert!(!hits(
        &set,
        pod("a", "x", json!({"app": "web", "tier": "db"}))
    ));
    assert!(!hits(
        &set,
        pod(
            "a",
            "x",
            json!({"app": "web", "tier": "front", "legacy": "1"})
        )
    ));
    assert!(!hits(&set, pod("a", "x", json!({"tier": "front"}))));
    let set = policies("match:\n  labelSelector:\n    matchExpressions:\n    - {key: env, operator: NotIn, values: [dev]}\n    - {key: team, operator: Exists}");
    assert!(hits(&set, pod("a", "x", json!({"team": "a"}))));
    assert!(hits(
        &set,
        pod("a", "x", json!({"team": "a", "env": "prod"}))
    ));
    assert!(!hits(
        &set,
        pod("a", "x", json!({"team": "a", "env": "dev"}))
    ));
    assert!(!hits(&set, pod("a", "x", json!({}))));
    // An empty selector selects everything.
    let set = policies("match:\n  labelSelector: {}");
    assert!(hits(&set, pod("a", "x", json!({}))));
}

#[test]
fn namespace_selector() {
    let set = policies("match:\n  namespaceSelector:\n    matchLabels: {env: prod}");
    let inventory = Inventory::from_values([
        namespace("shop", json!({"env": "prod"})),
        namespace("lab", json!({"env": "dev"})),
    ]);
    let e = eval_with(&set, &request(pod("a", "shop", json!({}))), &inventory);
    assert_eq!(e.decisions.len(), 1);
    let e = eval_with(&set, &request(pod("a", "lab", json!({}))), &inventory);
    assert!(e.decisions.is_empty());
    // A Namespace under review is matched by its own labels.
    assert!(hits(&set, namespace("new", json!({"env": "prod"}))));
    assert!(!hits(&set, namespace("new", json!({"env": "dev"}))));
    // Cluster-scoped objects always match.
    assert!(hits(&set, cluster_role("r")));
    // A namespaced object whose Namespace is unknown cannot be decided: Gatekeeper
    // rejects it (an error decision carrying the constraint's actions).
    let e = eval(&set, pod("a", "unknown", json!({})));
    assert_eq!(e.decisions.len(), 1);
    assert_eq!(e.decisions[0].kind, DecisionKind::Error);
    assert!(
        e.decisions[0].message.contains("missing Namespace"),
        "{}",
        e.decisions[0].message
    );
    assert!(e.denied());
}

#[test]
fn scope() {
    let set = policies("match:\n  scope: Cluster");
    assert!(hits(&set, cluster_role("r")));
    assert!(hits(&set, namespace("n", json!({}))));
    assert!(!hits(&set, pod("a", "x", json!({}))));
    let set = policies("match:\n  scope: Namespaced");
    assert!(!hits(&set, cluster_role("r")));
    assert!(!hits(&set, namespace("n", json!({}))));
    assert!(hits(&set, pod("a", "x", json!({}))));
    let set = policies("match:\n  scope: '*'");
    assert!(hits(&set, cluster_role("r")));
    assert!(hits(&set, pod("a", "x", json!({}))));
}

#[test]
fn name_glob_and_generate_name() {
    let set = policies("match:\n  name: web-*");
    assert!(hits(&set, pod("web-1", "x", json!({}))));
    assert!(!hits(&set, pod("db-1", "x", json!({}))));
    let generated = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-", "namespace": "x"}});
    assert!(hits(&set, generated.clone()));
    let set = policies("match:\n  name: '*-1'");
    assert!(hits(&set, pod("web-1", "x", json!({}))));
    // Suffix globs never match a generateName.
    assert!(!hits(&set, generated));
}

#[test]
fn source_generated_never_matches() {
    let set = policies("match:\n  source: Generated");
    assert!(!hits(&set, pod("a", "x", json!({}))));
    let set = policies("match:\n  source: Original");
    assert!(hits(&set, pod("a", "x", json!({}))));
}

#[test]
fn update_matches_old_or_new_object() {
    let set = policies("match:\n  labelSelector:\n    matchLabels: {app: web}");
    let mut req = AdmissionRequest::for_object(
        Some(pod("a", "x", json!({}))),
        Some(pod("a", "x", json!({"app": "web"}))),
        Operation::Update,
        UserInfo::offline(),
    );
    let e = eval_with(&set, &req, &Inventory::default());
    assert_eq!(e.decisions.len(), 1);
    req.old_object = Some(pod("a", "x", json!({})));
    assert!(eval_with(&set, &req, &Inventory::default())
        .decisions
        .is_empty());
}

#[test]
fn delete_reviews_the_old_object() {
    let set = policies("match:\n  kinds:\n  - apiGroups: ['']\n    kinds: [Pod]");
    let req = AdmissionRequest::for_object(
        None,
        Some(pod("gone", "x", json!({}))),
        Operation::Delete,
        UserInfo::offline(),
    );
    let e = eval_with(&set, &req, &Inventory::default());
    assert_eq!(e.decisions.len(), 1, "{e:?}");
    let d = &e.decisions[0];
    assert_eq!(d.message, "hit gone");
    let details = d.details.as_ref().unwrap();
    assert_eq!(details["operation"], "DELETE");
    assert_eq!(details["name"], "gone");
}

#[test]
fn enforcement_actions() {
    let set = policies("enforcementAction: dryrun");
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(e.decisions[0].actions, vec![Action::DryRun]);
    assert!(!e.denied());
    let set = policies("enforcementAction: warn");
    assert_eq!(
        eval(&set, pod("a", "x", json!({}))).decisions[0].actions,
        vec![Action::Warn]
    );
    let set = policies("parameters: {}");
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(e.decisions[0].actions, vec![Action::Deny]);
    assert!(e.denied());
    let set = policies(
        "enforcementAction: scoped\nscopedEnforcementActions:\n- action: warn\n  enforcementPoints: [{name: validation.gatekeeper.sh}]\n- action: deny\n  enforcementPoints: [{name: '*'}]",
    );
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(e.decisions[0].actions, vec![Action::Deny, Action::Warn]);

    // An unknown action is refused at load.
    let yaml = format!("{ALWAYS}\n---\n{}", constraint("enforcementAction: block"));
    let set = PolicySet::from_objects(&objects(&yaml), &LoadOptions::default());
    assert!(set.is_empty());
    assert_eq!(set.diagnostics.len(), 1);
    assert!(
        set.diagnostics[0]
            .message
            .contains("unknown action \"block\""),
        "{}",
        set.diagnostics[0]
    );
    let line = yaml
        .lines()
        .position(|l| l.contains("enforcementAction: block"))
        .unwrap()
        + 1;
    assert_eq!(
        set.diagnostics[0].line as usize, line,
        "{}",
        set.diagnostics[0]
    );
}

#[test]
fn decision_fields_and_parameter_defaults() {
    let set = policies("parameters:\n  items:\n  - {}\n  - num: 1");
    let e = eval(&set, pod("a", "x", json!({})));
    let d = &e.decisions[0];
    assert_eq!(d.policy, "k8salways");
    assert_eq!(d.binding.as_deref(), Some("K8sAlways/c"));
    assert_eq!(d.engine, palisade_policy::EngineKind::Rego);
    assert_eq!(d.message, "hit a");
    let details = d.details.as_ref().unwrap();
    // Schema defaults are applied inside the given parameters.
    assert_eq!(
        details["parameters"],
        json!({"flag": true, "items": [{"num": 7}, {"num": 1}]})
    );
    assert_eq!(details["operation"], "CREATE");
    let source = d.source.as_ref().unwrap();
    assert_eq!(source.file, "policy.yaml");
    let yaml = format!("{ALWAYS}\n---\n");
    assert_eq!(
        source.line as usize,
        yaml.lines().count() + 1,
        "the constraint's first line"
    );
    // Without parameters, the template sees an empty object (no defaults).
    let set = policies("match: {}");
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(
        e.decisions[0].details.as_ref().unwrap()["parameters"],
        json!({})
    );
}

#[test]
fn parameters_must_fit_the_schema() {
    let yaml = format!(
        "{ALWAYS}\n---\n{}",
        constraint("parameters:\n  flag: sometimes")
    );
    let set = PolicySet::from_objects(&objects(&yaml), &LoadOptions::default());
    assert!(set.is_empty());
    let d = &set.diagnostics[0];
    assert!(
        d.message.contains("spec.parameters.flag: expected boolean"),
        "{d}"
    );
}

#[test]
fn inventory_is_data_inventory() {
    let set = policies("parameters: {}");
    let inventory = Inventory::from_values([
        namespace("a", json!({})),
        namespace("b", json!({})),
        pod("p", "a", json!({})),
    ]);
    let e = eval_with(&set, &request(pod("x", "a", json!({}))), &inventory);
    // Two Namespaces under cluster.v1.
    assert_eq!(e.decisions[0].details.as_ref().unwrap()["inventory"], 1);
}

#[test]
fn runtime_errors_fail_closed() {
    let yaml = r#"
apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata:
  name: k8sconflict
spec:
  crd:
    spec:
      names:
        kind: K8sConflict
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sconflict
        value = 1 { true }
        value = 2 { true }
        violation[{"msg": "conflict"}] { value == 1 }
---
apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata:
  name: k8snonstring
spec:
  crd:
    spec:
      names:
        kind: K8sNonString
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8snonstring
        violation[{"msg": 42}] { true }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sConflict
metadata:
  name: a
spec:
  enforcementAction: warn
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNonString
metadata:
  name: b
"#;
    let set = PolicySet::from_objects(&objects(yaml), &LoadOptions::default());
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(e.decisions.len(), 2, "{:?}", e.decisions);
    for d in &e.decisions {
        assert_eq!(d.kind, DecisionKind::Error);
    }
    let conflict = e
        .decisions
        .iter()
        .find(|d| d.policy == "k8sconflict")
        .unwrap();
    assert_eq!(conflict.actions, vec![Action::Warn]);
    let nonstring = e
        .decisions
        .iter()
        .find(|d| d.policy == "k8snonstring")
        .unwrap();
    assert!(
        nonstring.message.contains("msg must be a string"),
        "{}",
        nonstring.message
    );
    assert!(e.denied());
}

#[test]
fn results_without_msg_are_dropped_like_gatekeeper() {
    let yaml = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8snomsg
spec:
  crd:
    spec:
      names:
        kind: K8sNoMsg
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: v1
            rego: |
              package k8snomsg
              violation contains {"message": "no msg key"} if true
              violation contains {"msg": "kept"} if true
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNoMsg
metadata:
  name: a
"#;
    let set = PolicySet::from_objects(&objects(yaml), &LoadOptions::default());
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let e = eval(&set, pod("a", "x", json!({})));
    let messages: Vec<_> = e.decisions.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, vec!["kept"]);
}

#[test]
fn cel_engine_selection_and_variables() {
    let yaml = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sboth
spec:
  crd:
    spec:
      names:
        kind: K8sBoth
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            variables:
            - name: wanted
              expression: 'variables.params.label'
            validations:
            - expression: 'has(variables.anyObject.metadata.labels) && variables.wanted in variables.anyObject.metadata.labels'
              messageExpression: '"cel: missing " + variables.wanted + " on " + params.metadata.name'
        - engine: Rego
          source:
            rego: |
              package k8sboth
              violation[{"msg": msg}] {
                not input.review.object.metadata.labels[input.parameters.label]
                msg := sprintf("rego: missing %v", [input.parameters.label])
              }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sBoth
metadata:
  name: need-team
spec:
  parameters:
    label: team
"#;
    let objs = objects(yaml);
    for (engine, want) in [
        (
            palisade_policy::TemplateEngine::Auto,
            "cel: missing team on need-team",
        ),
        (
            palisade_policy::TemplateEngine::Cel,
            "cel: missing team on need-team",
        ),
        (palisade_policy::TemplateEngine::Rego, "rego: missing team"),
    ] {
        let set = PolicySet::from_objects(
            &objs,
            &LoadOptions {
                template_engine: engine,
            },
        );
        assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
        let e = eval(&set, pod("a", "x", json!({"app": "x"})));
        assert_eq!(e.decisions.len(), 1, "{engine:?}: {e:?}");
        assert_eq!(e.decisions[0].message, want);
        assert!(eval(&set, pod("a", "x", json!({"team": "x"})))
            .decisions
            .is_empty());
        // DELETE: anyObject / input.review.object are the old object.
        let req = AdmissionRequest::for_object(
            None,
            Some(pod("a", "x", json!({}))),
            Operation::Delete,
            UserInfo::offline(),
        );
        let e = eval_with(&set, &req, &Inventory::default());
        assert_eq!(e.decisions.len(), 1, "{engine:?} DELETE: {e:?}");
    }
}

#[test]
fn cel_failure_policy() {
    let template = |policy: &str| {
        format!(
            r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8scelerr
spec:
  crd:
    spec:
      names:
        kind: K8sCelErr
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            {policy}
            validations:
            - expression: 'variables.anyObject.spec.missing == 1'
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sCelErr
metadata:
  name: a
"#
        )
    };
    let set = PolicySet::from_objects(
        &objects(&template("failurePolicy: Fail")),
        &LoadOptions::default(),
    );
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let e = eval(&set, pod("a", "x", json!({})));
    assert_eq!(e.decisions.len(), 1);
    assert_eq!(e.decisions[0].kind, DecisionKind::Error);
    let set = PolicySet::from_objects(
        &objects(&template("failurePolicy: Ignore")),
        &LoadOptions::default(),
    );
    let e = eval(&set, pod("a", "x", json!({})));
    assert!(e.decisions.is_empty());
    assert_eq!(e.errors.len(), 1);
}
