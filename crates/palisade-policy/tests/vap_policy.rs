//! ValidatingAdmissionPolicy loading, matching, bindings, params, failure policies and
//! decisions (`palisade_policy::vap`).

use std::sync::Arc;

use palisade_model::{load_bytes, Diagnostic, Level, LoadOptions, Object, Source};
use palisade_policy::{
    inventory_object, vap, Action, AdmissionRequest, DecisionKind, Evaluation, Inventory,
    NoOpinion, Operation, Policy, Review, UserInfo,
};
use serde_json::{json, Value};

fn objects(yaml: &str) -> Vec<Object> {
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("policy.yaml".into()),
        &LoadOptions::default(),
    );
    assert!(
        loaded.diagnostics.iter().all(|d| d.level != Level::Error),
        "{:?}",
        loaded.diagnostics
    );
    loaded.objects
}

struct Loaded {
    policies: Vec<Arc<dyn Policy>>,
    diags: Vec<Diagnostic>,
    inventory: Inventory,
}

fn load(yaml: &str) -> Loaded {
    let objs = objects(yaml);
    let mut used = vec![false; objs.len()];
    let mut diags = Vec::new();
    let policies = vap::load(&objs, &mut used, &mut diags);
    let inventory = Inventory::new(
        objs.iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(o, _)| inventory_object(o)),
    );
    Loaded {
        policies,
        diags,
        inventory,
    }
}

fn evaluate(l: &Loaded, req: &AdmissionRequest) -> Evaluation {
    let review = Review::new(req, &l.inventory, &NoOpinion);
    let mut out = Evaluation::default();
    for p in &l.policies {
        p.evaluate(&review, &mut out);
    }
    out
}

fn create(object: Value) -> AdmissionRequest {
    AdmissionRequest::for_object(Some(object), None, Operation::Create, UserInfo::offline())
}

fn deployment(name: &str, namespace: &str, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

const REPLICAS: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  variables:
  - name: max
    expression: "int(params.data.max)"
  validations:
  - expression: "object.spec.replicas <= variables.max"
    messageExpression: "'replicas must be at most ' + string(variables.max)"
    reason: Forbidden
  auditAnnotations:
  - key: replicas
    valueExpression: "string(object.spec.replicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas-prod}
spec:
  policyName: max-replicas
  validationActions: [Deny]
  paramRef: {name: limits, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector:
      matchLabels: {env: prod}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: limits, namespace: prod}
data: {max: "2"}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
"#;

#[test]
fn policy_binding_params_and_decisions() {
    let l = load(REPLICAS);
    assert_eq!(l.policies.len(), 1);
    assert!(l.diags.is_empty(), "{:?}", l.diags);
    let e = evaluate(&l, &create(deployment("web", "prod", json!({}))));
    assert_eq!(e.decisions.len(), 1, "{e:?}");
    let d = &e.decisions[0];
    assert_eq!(d.policy, "max-replicas");
    assert_eq!(d.binding.as_deref(), Some("max-replicas-prod"));
    assert_eq!(d.actions, [Action::Deny]);
    assert_eq!(d.kind, DecisionKind::Violation);
    assert_eq!(d.message, "replicas must be at most 2");
    assert_eq!(d.reason.as_deref(), Some("Forbidden"));
    assert_eq!(
        d.source.as_ref().map(|s| (s.file.as_str(), s.line)),
        Some(("policy.yaml", 2))
    );
    assert!(e.denied());
    assert_eq!(e.audit_annotations.len(), 1);
    assert_eq!(
        (
            e.audit_annotations[0].key.as_str(),
            e.audit_annotations[0].value.as_str()
        ),
        ("replicas", "3")
    );
    // The namespace selector excludes dev; a deployment within the limit passes.
    assert!(evaluate(&l, &create(deployment("web", "dev", json!({}))))
        .decisions
        .is_empty());
    let mut small = deployment("web", "prod", json!({}));
    small["spec"]["replicas"] = json!(1);
    assert!(!evaluate(&l, &create(small)).denied());
    // Not matched by the policy's resource rules.
    let pod =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "prod"}});
    assert!(evaluate(&l, &create(pod)).decisions.is_empty());
}

#[test]
fn missing_params_follow_parameter_not_found_action() {
    let without_params = REPLICAS.replace(
        "name: limits, namespace: prod",
        "name: other, namespace: prod",
    );
    let l = load(&without_params);
    let e = evaluate(&l, &create(deployment("web", "prod", json!({}))));
    assert_eq!(e.decisions.len(), 1);
    assert_eq!(e.decisions[0].kind, DecisionKind::Error);
    assert_eq!(
        e.decisions[0].message,
        "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"
    );
    let allow = without_params.replace(
        "parameterNotFoundAction: Deny",
        "parameterNotFoundAction: Allow",
    );
    let e = evaluate(&load(&allow), &create(deployment("web", "prod", json!({}))));
    assert!(e.decisions.is_empty() && e.errors.is_empty(), "{e:?}");
    // failurePolicy Ignore: the configuration error is reported, not enforced.
    let ignore = without_params.replace("failurePolicy: Fail", "failurePolicy: Ignore");
    let e = evaluate(
        &load(&ignore),
        &create(deployment("web", "prod", json!({}))),
    );
    assert!(e.decisions.is_empty());
    assert_eq!(e.errors.len(), 1);
    assert!(e.errors[0].message.contains("no params found"));
}

#[test]
fn params_by_selector_evaluate_once_each() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicy
metadata: {name: banned-names}
spec:
  paramKind: {apiVersion: example.com/v1, kind: Ban}
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
  validations:
  - expression: "object.metadata.name != params.name"
    messageExpression: "'banned by ' + params.metadata.name"
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: all-bans}
spec:
  policyName: banned-names
  validationActions: [Warn, Audit]
  paramRef:
    selector: {matchLabels: {active: "true"}}
---
apiVersion: example.com/v1
kind: Ban
metadata: {name: ban-a, labels: {active: "true"}}
name: web
---
apiVersion: example.com/v1
kind: Ban
metadata: {name: ban-b, labels: {active: "true"}}
name: web
---
apiVersion: example.com/v1
kind: Ban
metadata: {name: ban-c, labels: {active: "false"}}
name: web
"#;
    let l = load(yaml);
    assert!(l.diags.is_empty(), "{:?}", l.diags);
    let e = evaluate(&l, &create(deployment("web", "prod", json!({}))));
    let msgs: Vec<&str> = e.decisions.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(msgs, ["banned by ban-a", "banned by ban-b"]);
    assert!(e
        .decisions
        .iter()
        .all(|d| d.actions == [Action::Warn, Action::Audit]));
    assert!(!e.denied(), "Warn and Audit never deny");
}

#[test]
fn namespaced_params_default_to_the_request_namespace() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods, namespaces]}
    - {apiGroups: [rbac.authorization.k8s.io], apiVersions: [v1], operations: [CREATE], resources: [clusterroles]}
  validations:
  - expression: "params.data.allowed == 'yes'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec:
  policyName: p
  validationActions: [Deny]
  paramRef: {name: cfg, parameterNotFoundAction: Deny}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: a}
data: {allowed: "yes"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: b}
data: {allowed: "no"}
"#;
    let l = load(yaml);
    let pod = |ns: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": ns}});
    assert!(!evaluate(&l, &create(pod("a"))).denied());
    assert!(evaluate(&l, &create(pod("b"))).denied());
    let e = evaluate(&l, &create(pod("c")));
    assert!(e.decisions[0].message.contains("no params found"), "{e:?}");
    // A Namespace request is in its own namespace (as on an API server).
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}});
    assert!(!evaluate(&l, &create(ns)).denied());
    // Another cluster-scoped request cannot use a namespaced param without a namespace.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
    let e = evaluate(&l, &create(role));
    assert!(
        e.decisions[0]
            .message
            .contains("cannot use namespaced paramRef"),
        "{:?}",
        e.decisions
    );
}

#[test]
fn runtime_errors_follow_failure_policy() {
    let yaml = |fp: &str, actions: &str| {
        format!(
            r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: p}}
spec:
  failurePolicy: {fp}
  matchConstraints:
    resourceRules:
    - {{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}}
  validations:
  - expression: "object.spec.nope == 1"
  - expression: "false"
    message: always
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: b}}
spec: {{policyName: p, validationActions: [{actions}]}}
"#
        )
    };
    let req = create(deployment("web", "prod", json!({})));
    let e = evaluate(&load(&yaml("Fail", "Deny")), &req);
    let kinds: Vec<DecisionKind> = e.decisions.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [DecisionKind::Violation, DecisionKind::Error]);
    assert_eq!(
        e.decisions[1].message,
        "expression 'object.spec.nope == 1' resulted in error: no such key: nope"
    );
    // An error under a Warn binding warns, as the API server does.
    let e = evaluate(&load(&yaml("Fail", "Warn")), &req);
    assert!(!e.denied() && e.decisions.iter().all(|d| d.actions == [Action::Warn]));
    let e = evaluate(&load(&yaml("Ignore", "Deny")), &req);
    assert_eq!(e.decisions.len(), 1);
    assert_eq!(e.decisions[0].kind, DecisionKind::Violation);
    assert_eq!(e.errors.len(), 1);
    assert!(e.errors[0].message.contains("no such key: nope"));
}

#[test]
fn match_conditions_errors_and_skips() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  matchConditions:
  - name: not-system
    expression: "!object.metadata.name.startsWith('system-')"
  validations:
  - expression: "has(object.metadata.labels.team)"
    message: needs a team
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
"#;
    let l = load(yaml);
    assert!(evaluate(&l, &create(deployment("web", "a", json!({})))).denied());
    assert!(
        evaluate(&l, &create(deployment("system-x", "a", json!({}))))
            .decisions
            .is_empty()
    );
    assert!(!evaluate(&l, &create(deployment("web", "a", json!({"team": "x"})))).denied());
}

#[test]
fn object_selector_exclusions_and_subresources() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    objectSelector:
      matchExpressions: [{key: skip, operator: DoesNotExist}]
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1beta1], operations: [CREATE, UPDATE], resources: [deployments, deployments/scale]}
    excludeResourceRules:
    - {apiGroups: [apps], apiVersions: ["*"], operations: ["*"], resources: [deployments], resourceNames: [excluded]}
  validations:
  - expression: "false"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
"#;
    let l = load(yaml);
    // The rule names v1beta1: with the default matchPolicy Equivalent, v1 matches too.
    assert!(evaluate(&l, &create(deployment("web", "a", json!({})))).denied());
    assert!(!evaluate(&l, &create(deployment("web", "a", json!({"skip": "y"})))).denied());
    assert!(!evaluate(&l, &create(deployment("excluded", "a", json!({})))).denied());
    let mut status = create(deployment("web", "a", json!({})));
    status.sub_resource = Some("status".into());
    assert!(!evaluate(&l, &status).denied());
    status.sub_resource = Some("scale".into());
    assert!(evaluate(&l, &status).denied());
    let exact = load(&yaml.replace(
        "  matchConstraints:\n",
        "  matchConstraints:\n    matchPolicy: Exact\n",
    ));
    assert!(!evaluate(&exact, &create(deployment("web", "a", json!({})))).denied());
    // DELETE: the object selector reads oldObject.
    let old = deployment("web", "a", json!({}));
    let mut del =
        AdmissionRequest::for_object(None, Some(old), Operation::Delete, UserInfo::offline());
    assert!(
        !evaluate(&l, &del).denied(),
        "DELETE is not in the rule's operations"
    );
    del.operation = Operation::Update;
    del.object = del.old_object.clone();
    assert!(evaluate(&l, &del).denied());
}

#[test]
fn namespace_object_and_unknown_namespaces() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    namespaceSelector:
      matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]
    resourceRules:
    - {apiGroups: ["", apps], apiVersions: [v1], operations: [CREATE], resources: [deployments, namespaces]}
  validations:
  - expression: "namespaceObject == null || namespaceObject.metadata.labels.?tier.orValue('') == 'gold'"
    messageExpression: "'namespace ' + namespaceObject.metadata.name + ' is not gold'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
---
apiVersion: v1
kind: Namespace
metadata: {name: gold, labels: {tier: gold}}
"#;
    let l = load(yaml);
    assert!(!evaluate(&l, &create(deployment("web", "gold", json!({})))).denied());
    let e = evaluate(&l, &create(deployment("web", "unknown", json!({}))));
    assert_eq!(
        e.decisions.len(),
        1,
        "an unknown namespace exists without labels"
    );
    assert_eq!(e.decisions[0].message, "namespace unknown is not gold");
    assert!(
        evaluate(&l, &create(deployment("web", "kube-system", json!({}))))
            .decisions
            .is_empty()
    );
    // A Namespace request: its own labels feed the selector; namespaceObject is null.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}});
    assert!(!evaluate(&l, &create(ns)).denied());
}

#[test]
fn unbound_policies_do_nothing() {
    let yaml = REPLICAS
        .split("---")
        .filter(|d| !d.contains("kind: ValidatingAdmissionPolicyBinding"))
        .collect::<Vec<_>>()
        .join("---");
    let l = load(&yaml);
    assert_eq!(l.policies.len(), 1);
    assert!(l
        .diags
        .iter()
        .any(|d| d.level == Level::Note && d.message.contains("never evaluated")));
    assert!(evaluate(&l, &create(deployment("web", "prod", json!({}))))
        .decisions
        .is_empty());
}

#[test]
fn load_diagnostics_name_file_line_policy_and_field() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: broken}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: "object.spec.replicas < 5"
  - expression: "object.spec.replicas <"
  - expression: "nope.x == 1"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: broken, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: orphan}
spec: {policyName: missing, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-constraints}
spec:
  validations: [{expression: "true"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-actions}
spec: {policyName: broken}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: fine}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations: [{expression: "true"}]
"#;
    let l = load(yaml);
    let errors: Vec<String> = l
        .diags
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("policy.yaml:11: error: ValidatingAdmissionPolicy \"broken\": spec.validations[1].expression: Syntax error")
            && e.contains("(expression line 1, column")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("policy.yaml:12: error: ValidatingAdmissionPolicy \"broken\": spec.validations[2].expression: undeclared reference to 'nope'")),
        "{errors:#?}"
    );
    assert!(errors
        .iter()
        .any(|e| e.contains("\"no-constraints\": spec.matchConstraints: required value")));
    assert!(errors
        .iter()
        .any(|e| e.contains("\"no-actions\": spec.validationActions")));
    assert!(l.diags.iter().any(|d| d.level == Level::Warning
        && d.message.contains("\"orphan\"")
        && d.message.contains("\"missing\"")));
    let names: Vec<&str> = l.policies.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        ["broken", "fine"],
        "one broken policy never stops the others"
    );
    // The broken expressions fail at evaluation: failurePolicy Fail denies.
    let e = evaluate(&l, &create(deployment("web", "a", json!({}))));
    assert_eq!(e.decisions.len(), 2);
    assert!(e.decisions.iter().all(|d| d.kind == DecisionKind::Error));
    assert!(e.decisions[0].message.starts_with("compilation error:"));
}

#[test]
fn audit_annotation_errors_deny_under_fail() {
    let yaml = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  auditAnnotations:
  - {key: bad, valueExpression: "object.nope"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Audit]}
"#;
    let e = evaluate(&load(yaml), &create(deployment("web", "a", json!({}))));
    assert!(e.denied(), "{e:?}");
    assert_eq!(e.decisions[0].actions, [Action::Deny]);
}
