//! Policies that already are, or can become, ValidatingAdmissionPolicies.
//!
//! - ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects pass through
//!   (server-set metadata and `status` removed).
//! - A Gatekeeper ConstraintTemplate with `K8sNativeValidation` code becomes one policy,
//!   and each of its constraints one binding, in the shape Gatekeeper generates: the
//!   constraint is the binding's param (`paramKind` is the constraint kind in
//!   `constraints.gatekeeper.sh/v1beta1`, `paramRef` its name); the variables `anyObject`
//!   (`object`, or `oldObject` on DELETE) and `params` (the constraint's
//!   `spec.parameters`, or null) come first, then the template's own variables, match
//!   conditions and validations. `enforcementAction` becomes `validationActions` (deny →
//!   Deny, warn → Warn, dryrun → Audit), the constraint's `match` becomes the binding's
//!   `matchResources` (kinds → resourceRules, exact namespaces → a namespaceSelector on
//!   `kubernetes.io/metadata.name`, namespaceSelector, labelSelector → objectSelector).
//!   What a binding cannot say — namespace globs (`kube-*`) and `match.name` — is checked
//!   by match conditions of the policy that read the constraint, as Gatekeeper's own
//!   generated policies do.
//! - Rego-only templates cannot be expressed: a note names them and their constraints.

use palisade_model::{Diagnostic, Level, Object};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::{actions_json, join_name, ValidationAction, API_VERSION};
use crate::resources;

const TEMPLATES_GROUP: &str = "templates.gatekeeper.sh";
const CONSTRAINTS_GROUP: &str = "constraints.gatekeeper.sh";
const ADMISSION_GROUP: &str = "admissionregistration.k8s.io";
/// The enforcement point naming the API server's ValidatingAdmissionPolicy in
/// `scopedEnforcementActions`.
const VAP_ENFORCEMENT_POINT: &str = "vap.k8s.io";
/// Names Gatekeeper reserves for its own variables.
const RESERVED_VARIABLES: &[&str] = &["anyObject", "params"];
const NAME_PREFIX: &str = "palisade-gk";

/// The ValidatingAdmissionPolicies (and bindings) that `objects` can be enforced as,
/// with a diagnostic for everything that cannot.
pub fn export_policies(objects: &[Object]) -> (Vec<Value>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();

    // Constraints by kind, in input order.
    let mut constraints: BTreeMap<&str, Vec<&Object>> = BTreeMap::new();
    for o in objects {
        if o.group() == CONSTRAINTS_GROUP {
            constraints.entry(o.kind.as_str()).or_default().push(o);
        }
    }
    let mut templated = std::collections::BTreeSet::new();

    for o in objects {
        match (o.group(), o.kind.as_str()) {
            (ADMISSION_GROUP, "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding") => {
                out.push(pass_through(o));
            }
            (TEMPLATES_GROUP, "ConstraintTemplate") => {
                let root = o.root.to_json();
                let kind = str_at(&root, &["spec", "crd", "spec", "names", "kind"]).unwrap_or("");
                if kind.is_empty() {
                    diags.push(diag(
                        o,
                        Level::Error,
                        format!(
                            "ConstraintTemplate {:?} has no spec.crd.spec.names.kind: skipped",
                            o.name
                        ),
                    ));
                    continue;
                }
                templated.insert(kind.to_string());
                let of_kind = constraints.get(kind).map(Vec::as_slice).unwrap_or(&[]);
                template(o, &root, kind, of_kind, &mut out, &mut diags);
            }
            _ => {}
        }
    }
    for (kind, list) in &constraints {
        if !templated.contains(*kind) {
            for c in list {
                diags.push(diag(
                    c,
                    Level::Warning,
                    format!(
                    "constraint {kind}/{} has no ConstraintTemplate among the inputs: not exported",
                    c.name
                ),
                ));
            }
        }
    }
    (out, diags)
}

fn diag(o: &Object, level: Level, message: String) -> Diagnostic {
    Diagnostic::new(level, o.source.display(), o.line, message)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    crate::request::str_at(v, path)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.get(*k)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// A policy or binding as given, less what the API server sets.
fn pass_through(o: &Object) -> Value {
    let mut v = o.root.to_json();
    if let Value::Object(m) = &mut v {
        m.remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
                "selfLink",
            ] {
                meta.remove(k);
            }
        }
    }
    v
}

/// The `K8sNativeValidation` source of a template's admission target, if any.
fn cel_source(root: &Value) -> Option<(&Value, &Value)> {
    let targets = at(root, &["spec", "targets"])?.as_array()?;
    for target in targets {
        for code in target
            .get("code")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if code.get("engine").and_then(Value::as_str) == Some("K8sNativeValidation") {
                if let Some(source) = code.get("source").filter(|s| s.is_object()) {
                    return Some((target, source));
                }
            }
        }
    }
    None
}

fn template(
    o: &Object,
    root: &Value,
    kind: &str,
    constraints: &[&Object],
    out: &mut Vec<Value>,
    diags: &mut Vec<Diagnostic>,
) {
    let constraint_names = || {
        if constraints.is_empty() {
            "it has no constraints among the inputs".to_string()
        } else {
            let names: Vec<String> = constraints
                .iter()
                .map(|c| format!("{kind}/{}", c.name))
                .collect();
            format!(
                "its constraints ({}) stay with the webhook",
                names.join(", ")
            )
        }
    };
    let Some((target, source)) = cel_source(root) else {
        diags.push(diag(o, Level::Note, format!(
            "ConstraintTemplate {:?} has only Rego code, which a ValidatingAdmissionPolicy cannot express: not exported; {}",
            o.name,
            constraint_names()
        )));
        return;
    };
    if source.get("generateVAP") == Some(&Value::Bool(false)) {
        diags.push(diag(
            o,
            Level::Note,
            format!(
                "ConstraintTemplate {:?} sets generateVAP: false: not exported; {}",
                o.name,
                constraint_names()
            ),
        ));
        return;
    }

    let template_vars = source
        .get("variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in &template_vars {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        if RESERVED_VARIABLES.contains(&name) {
            diags.push(diag(o, Level::Error, format!(
                "ConstraintTemplate {:?} defines the variable {name:?}, which Gatekeeper reserves: not exported",
                o.name
            )));
            return;
        }
    }
    let failure_policy = match source.get("failurePolicy").and_then(Value::as_str) {
        None => "Fail",
        Some(p @ ("Fail" | "Ignore")) => p,
        Some(p) => {
            diags.push(diag(
                o,
                Level::Error,
                format!(
                    "ConstraintTemplate {:?}: unknown failurePolicy {p:?}: not exported",
                    o.name
                ),
            ));
            return;
        }
    };
    let operations = operations(target);

    let policy_name = join_name(&[NAME_PREFIX, &o.name]);
    let mut variables = vec![
        json!({"name": "anyObject", "expression": "object != null ? object : oldObject"}),
        json!({
            "name": "params",
            "expression": "params != null && has(params.spec) && has(params.spec.parameters) ? params.spec.parameters : null",
        }),
    ];
    variables.extend(template_vars);
    // Gatekeeper's schema spells the list `matchCondition`; accept the VAP spelling too.
    let mut match_conditions: Vec<Value> = source
        .get("matchConditions")
        .or_else(|| source.get("matchCondition"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    let mut needs = Needs::default();
    let mut bindings = Vec::new();
    for c in constraints {
        if let Some(b) = binding(c, kind, &policy_name, &operations, &mut needs, diags) {
            bindings.push(b);
        }
    }
    if needs.namespace_globs {
        match_conditions.push(
            json!({"name": "palisade-gk-match-namespaces", "expression": NAMESPACES_CONDITION}),
        );
        match_conditions.push(json!({"name": "palisade-gk-match-excluded-namespaces", "expression": EXCLUDED_NAMESPACES_CONDITION}));
    }
    if needs.name {
        match_conditions
            .push(json!({"name": "palisade-gk-match-name", "expression": NAME_CONDITION}));
    }

    let validations: Vec<Value> = source
        .get("validations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if validations.is_empty() {
        diags.push(diag(o, Level::Warning, format!(
            "ConstraintTemplate {:?} has no K8sNativeValidation validations: its policy never denies",
            o.name
        )));
    }

    let mut spec = Map::new();
    spec.insert("failurePolicy".into(), json!(failure_policy));
    spec.insert(
        "paramKind".into(),
        json!({"apiVersion": format!("{CONSTRAINTS_GROUP}/v1beta1"), "kind": kind}),
    );
    spec.insert(
        "matchConstraints".into(),
        json!({"resourceRules": [{
            "apiGroups": ["*"],
            "apiVersions": ["*"],
            "operations": operations,
            "resources": ["*"],
        }]}),
    );
    if !match_conditions.is_empty() {
        spec.insert("matchConditions".into(), Value::Array(match_conditions));
    }
    spec.insert("variables".into(), Value::Array(variables));
    spec.insert("validations".into(), Value::Array(validations));
    out.push(json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": policy_name,
            "labels": {"app.kubernetes.io/managed-by": "palisade"},
            "annotations": {"palisade.dev/constraint-template": o.name},
        },
        "spec": spec,
    }));
    out.extend(bindings);
}

/// The template target's `operations` (CREATE and UPDATE when unset, as Gatekeeper's
/// webhook handles by default).
fn operations(target: &Value) -> Vec<String> {
    let all = ["CREATE", "UPDATE", "DELETE", "CONNECT"];
    let Some(ops) = target.get("operations").and_then(Value::as_array) else {
        return vec!["CREATE".into(), "UPDATE".into()];
    };
    let ops: Vec<&str> = ops.iter().filter_map(Value::as_str).collect();
    if ops.contains(&"*") {
        return all.iter().map(|s| s.to_string()).collect();
    }
    let picked: Vec<String> = all
        .iter()
        .filter(|a| ops.iter().any(|o| o.eq_ignore_ascii_case(a)))
        .map(|s| s.to_string())
        .collect();
    if picked.is_empty() {
        vec!["CREATE".into(), "UPDATE".into()]
    } else {
        picked
    }
}

/// Match conditions the policy needs because some constraint's `match` cannot be said
/// in a binding.
#[derive(Default)]
struct Needs {
    namespace_globs: bool,
    name: bool,
}

/// `match.namespaces` with globs, read from the constraint: a namespaced request matches
/// when its namespace matches one pattern (`*` is any run of characters).
const NAMESPACES_CONDITION: &str = "!has(params.spec) || !has(params.spec.match) || !has(params.spec.match.namespaces) ||
!has(request.namespace) || request.namespace == '' ||
params.spec.match.namespaces.exists(p, string(request.namespace).matches('^' + string(p).replace('*', '.*') + '$'))";

/// `match.excludedNamespaces` with globs: a namespaced request matches unless its
/// namespace matches a pattern.
const EXCLUDED_NAMESPACES_CONDITION: &str = "!has(params.spec) || !has(params.spec.match) || !has(params.spec.match.excludedNamespaces) ||
!has(request.namespace) || request.namespace == '' ||
!params.spec.match.excludedNamespaces.exists(p, string(request.namespace).matches('^' + string(p).replace('*', '.*') + '$'))";

/// `match.name`: the object's name (or, for a `prefix-*` pattern, its generateName)
/// matches the pattern.
const NAME_CONDITION: &str = "!has(params.spec) || !has(params.spec.match) || !has(params.spec.match.name) ||
[object, oldObject].exists(o, o != null && (
  (has(o.metadata.name) && string(o.metadata.name).matches('^' + string(params.spec.match.name).replace('*', '.*') + '$')) ||
  (has(o.metadata.generateName) && string(params.spec.match.name).endsWith('*') && string(o.metadata.generateName).matches('^' + string(params.spec.match.name).replace('*', '.*') + '$'))))";

/// The binding of one constraint, or `None` (with a diagnostic) when it has none.
fn binding(
    c: &Object,
    kind: &str,
    policy_name: &str,
    operations: &[String],
    needs: &mut Needs,
    diags: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let root = c.root.to_json();
    let actions = enforcement_actions(c, &root, diags)?;
    let mut match_resources = Map::new();
    let m = at(&root, &["spec", "match"])
        .cloned()
        .unwrap_or(Value::Null);

    if let Some(rules) = resource_rules(c, &m, operations, diags) {
        match_resources.insert("resourceRules".into(), Value::Array(rules));
    }

    let mut ns_exprs: Vec<Value> = Vec::new();
    let mut ns_labels = Map::new();
    for (field, op) in [("namespaces", "In"), ("excludedNamespaces", "NotIn")] {
        let Some(list) = m.get(field).and_then(Value::as_array) else {
            continue;
        };
        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        let (globs, exact): (Vec<&str>, Vec<&str>) = names.iter().partition(|n| n.contains('*'));
        if !globs.is_empty() {
            needs.namespace_globs = true;
            diags.push(diag(c, Level::Note, format!(
                "constraint {kind}/{}: match.{field} patterns {globs:?} cannot be a namespaceSelector; the policy matches them with a condition over the constraint instead",
                c.name
            )));
            if op == "In" {
                // Exact names alone would narrow the binding below what the patterns allow.
                continue;
            }
        }
        // An empty list restricts nothing.
        if !exact.is_empty() {
            ns_exprs.push(
                json!({"key": "kubernetes.io/metadata.name", "operator": op, "values": exact}),
            );
        }
    }
    if let Some(sel) = m.get("namespaceSelector").filter(|s| s.is_object()) {
        if let Some(Value::Object(labels)) = sel.get("matchLabels") {
            ns_labels.extend(labels.clone());
        }
        if let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
            ns_exprs.extend(exprs.iter().cloned());
        }
    }
    if !ns_labels.is_empty() || !ns_exprs.is_empty() {
        let mut sel = Map::new();
        if !ns_labels.is_empty() {
            sel.insert("matchLabels".into(), Value::Object(ns_labels));
        }
        if !ns_exprs.is_empty() {
            sel.insert("matchExpressions".into(), Value::Array(ns_exprs));
        }
        match_resources.insert("namespaceSelector".into(), Value::Object(sel));
    }
    if let Some(sel) = m.get("labelSelector").filter(|s| s.is_object()) {
        match_resources.insert("objectSelector".into(), sel.clone());
    }
    if m.get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
    {
        needs.name = true;
    }
    if let Some(v) = m
        .get("source")
        .and_then(Value::as_str)
        .filter(|v| *v != "All")
    {
        diags.push(diag(c, Level::Warning, format!(
            "constraint {kind}/{}: match.source: {v} has no ValidatingAdmissionPolicy equivalent; the binding matches every source",
            c.name
        )));
    }

    let mut spec = Map::new();
    spec.insert("policyName".into(), json!(policy_name));
    spec.insert(
        "paramRef".into(),
        json!({"name": c.name, "parameterNotFoundAction": "Deny"}),
    );
    spec.insert("validationActions".into(), actions_json(&actions));
    if !match_resources.is_empty() {
        spec.insert("matchResources".into(), Value::Object(match_resources));
    }
    Some(json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {
            "name": join_name(&[NAME_PREFIX, kind, &c.name]),
            "labels": {"app.kubernetes.io/managed-by": "palisade"},
            "annotations": {"palisade.dev/constraint": format!("{kind}/{}", c.name)},
        },
        "spec": spec,
    }))
}

/// `enforcementAction` (default deny) as validation actions; for `scoped`, the actions
/// listed for the `vap.k8s.io` enforcement point (no binding when there are none).
fn enforcement_actions(
    c: &Object,
    root: &Value,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<ValidationAction>> {
    let action = str_at(root, &["spec", "enforcementAction"]).unwrap_or("deny");
    let mut actions = Vec::new();
    if action.eq_ignore_ascii_case("scoped") {
        for s in at(root, &["spec", "scopedEnforcementActions"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let points = s.get("enforcementPoints").and_then(Value::as_array);
            let applies = points.into_iter().flatten().any(|p| {
                matches!(
                    p.get("name").and_then(Value::as_str),
                    Some(VAP_ENFORCEMENT_POINT | "*")
                )
            });
            if !applies {
                continue;
            }
            let a = s.get("action").and_then(Value::as_str).unwrap_or("");
            match ValidationAction::parse(a).filter(|_| !a.eq_ignore_ascii_case("audit")) {
                Some(a) => actions.push(a),
                None => diags.push(diag(
                    c,
                    Level::Warning,
                    format!(
                        "constraint {}/{}: unknown scoped enforcement action {a:?}: ignored",
                        c.kind, c.name
                    ),
                )),
            }
        }
        if actions.is_empty() {
            diags.push(diag(c, Level::Note, format!(
                "constraint {}/{} is scoped to enforcement points other than {VAP_ENFORCEMENT_POINT}: no binding",
                c.kind, c.name
            )));
            return None;
        }
    } else {
        match ValidationAction::parse(action).filter(|_| !action.eq_ignore_ascii_case("audit")) {
            Some(a) => actions.push(a),
            None => {
                diags.push(diag(c, Level::Error, format!(
                    "constraint {}/{}: unknown enforcementAction {action:?} (deny, warn, dryrun or scoped): not exported",
                    c.kind, c.name
                )));
                return None;
            }
        }
    }
    match super::check_actions(&actions) {
        Ok(a) => Some(a),
        Err(e) => {
            diags.push(diag(
                c,
                Level::Error,
                format!("constraint {}/{}: {e}: not exported", c.kind, c.name),
            ));
            None
        }
    }
}

/// `match.kinds` as resource rules; `None` when every kind matches.
fn resource_rules(
    c: &Object,
    m: &Value,
    operations: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Value>> {
    let kinds = m.get("kinds").and_then(Value::as_array)?;
    let scope = m
        .get("scope")
        .and_then(Value::as_str)
        .filter(|s| matches!(*s, "Namespaced" | "Cluster"));
    let mut rules = Vec::new();
    for entry in kinds {
        let groups: Vec<&str> = entry
            .get("apiGroups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let kind_names: Vec<&str> = entry
            .get("kinds")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let groups = if groups.is_empty() || groups.contains(&"*") {
            vec!["*"]
        } else {
            groups
        };
        for group in groups {
            let resources: Vec<String> = if kind_names.is_empty() || kind_names.contains(&"*") {
                vec!["*".into()]
            } else {
                kind_names.iter().map(|k| resource_of(group, k)).collect()
            };
            let mut rule = Map::new();
            rule.insert("apiGroups".into(), json!([group]));
            rule.insert("apiVersions".into(), json!(["*"]));
            rule.insert("operations".into(), json!(operations));
            rule.insert("resources".into(), json!(resources));
            if let Some(s) = scope {
                rule.insert("scope".into(), json!(s));
            }
            rules.push(Value::Object(rule));
        }
    }
    if rules.is_empty() {
        diags.push(diag(
            c,
            Level::Note,
            format!(
                "constraint {}/{}: match.kinds is empty, so it matches every kind",
                c.kind, c.name
            ),
        ));
        return None;
    }
    Some(rules)
}

/// The resource of `kind` in `group` (any group for `*`: the built-in table, else
/// kubectl's guess).
fn resource_of(group: &str, kind: &str) -> String {
    if group == "*" {
        let core = resources::lookup("", "v1", kind);
        if core.known {
            return core.resource;
        }
        for g in [
            "apps",
            "batch",
            "networking.k8s.io",
            "rbac.authorization.k8s.io",
            "policy",
            "autoscaling",
            "storage.k8s.io",
        ] {
            let info = resources::lookup(g, "v1", kind);
            if info.known {
                return info.resource;
            }
        }
        return resources::guess(kind);
    }
    resources::lookup(group, "v1", kind).resource
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{load_bytes, LoadOptions, Source};

    fn load(yaml: &str) -> Vec<Object> {
        let l = load_bytes(
            yaml.as_bytes(),
            Source::File("in.yaml".into()),
            &LoadOptions::default(),
        );
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        l.objects
    }

    const TEMPLATE: &str = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
  targets:
  - target: admission.k8s.gatekeeper.sh
    code:
    - engine: K8sNativeValidation
      source:
        variables:
        - name: labels
          expression: 'has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {}'
        matchCondition:
        - name: not-system
          expression: '!request.userInfo.username.startsWith("system:")'
        validations:
        - expression: 'variables.params.labels.all(l, l.key in variables.labels)'
          messageExpression: '"missing labels"'
    rego: |
      package k8srequiredlabels
      violation[{"msg": "x"}] { false }
"#;

    #[test]
    fn template_and_constraints_become_policy_and_bindings() {
        let objects = load(&format!(
            "{TEMPLATE}---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: owner
spec:
  enforcementAction: warn
  match:
    kinds:
    - apiGroups: [\"\", \"apps\"]
      kinds: [\"Pod\", \"Deployment\"]
    - apiGroups: [\"networking.k8s.io\"]
      kinds: [\"Ingress\"]
    scope: Namespaced
    namespaces: [\"prod\", \"stage\"]
    excludedNamespaces: [\"kube-*\", \"legacy\"]
    labelSelector:
      matchLabels: {{team: a}}
    namespaceSelector:
      matchExpressions:
      - {{key: tier, operator: In, values: [web]}}
  parameters:
    labels: [{{key: owner}}]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: everywhere
"
        ));
        let (out, diags) = export_policies(&objects);
        assert_eq!(out.len(), 3, "{out:#?}");
        let policy = &out[0];
        assert_eq!(policy["metadata"]["name"], "palisade-gk-k8srequiredlabels");
        assert_eq!(
            policy["spec"]["paramKind"],
            json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sRequiredLabels"})
        );
        let vars: Vec<&str> = policy["spec"]["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(vars, ["anyObject", "params", "labels"]);
        let conditions: Vec<&str> = policy["spec"]["matchConditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            conditions,
            [
                "not-system",
                "palisade-gk-match-namespaces",
                "palisade-gk-match-excluded-namespaces"
            ]
        );
        assert_eq!(policy["spec"]["failurePolicy"], "Fail");

        let b = &out[1];
        assert_eq!(b["metadata"]["name"], "palisade-gk-k8srequiredlabels-owner");
        assert_eq!(b["spec"]["policyName"], "palisade-gk-k8srequiredlabels");
        assert_eq!(
            b["spec"]["paramRef"],
            json!({"name": "owner", "parameterNotFoundAction": "Deny"})
        );
        assert_eq!(b["spec"]["validationActions"], json!(["Warn"]));
        let mr = &b["spec"]["matchResources"];
        assert_eq!(mr["resourceRules"].as_array().unwrap().len(), 3);
        assert_eq!(
            mr["resourceRules"][0]["resources"],
            json!(["pods", "deployments"])
        );
        assert_eq!(mr["resourceRules"][1]["apiGroups"], json!(["apps"]));
        assert_eq!(mr["resourceRules"][2]["resources"], json!(["ingresses"]));
        assert_eq!(mr["resourceRules"][2]["scope"], "Namespaced");
        assert_eq!(mr["objectSelector"], json!({"matchLabels": {"team": "a"}}));
        assert_eq!(
            mr["namespaceSelector"]["matchExpressions"],
            json!([
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["prod", "stage"]},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["legacy"]},
                {"key": "tier", "operator": "In", "values": ["web"]},
            ])
        );
        // No match: every kind, every namespace; default action deny.
        assert_eq!(out[2]["spec"]["validationActions"], json!(["Deny"]));
        assert!(out[2]["spec"].get("matchResources").is_none());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("kube-*"), "{diags:?}");
    }

    #[test]
    fn rego_only_templates_and_orphans_are_reported() {
        let objects = load(
            r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sdeny}
spec:
  crd: {spec: {names: {kind: K8sDeny}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sdeny
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDeny
metadata: {name: all}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sOther
metadata: {name: lost}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep, uid: x, resourceVersion: "1"}
spec: {validations: [{expression: "true"}]}
status: {observedGeneration: 1}
"#,
        );
        let (out, diags) = export_policies(&objects);
        assert_eq!(
            out,
            vec![json!({
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": "keep"},
                "spec": {"validations": [{"expression": "true"}]},
            })]
        );
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(diags[0].level, Level::Note);
        assert!(diags[0].message.contains("\"k8sdeny\" has only Rego"));
        assert!(diags[0].message.contains("K8sDeny/all"));
        assert_eq!(diags[1].level, Level::Warning);
        assert!(diags[1].message.contains("K8sOther/lost"));
    }

    #[test]
    fn scoped_enforcement_actions() {
        let objects = load(&format!(
            "{TEMPLATE}---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {{name: scoped}}
spec:
  enforcementAction: scoped
  scopedEnforcementActions:
  - action: warn
    enforcementPoints: [{{name: validation.gatekeeper.sh}}]
  - action: dryrun
    enforcementPoints: [{{name: vap.k8s.io}}]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {{name: webhook-only}}
spec:
  enforcementAction: scoped
  scopedEnforcementActions:
  - action: deny
    enforcementPoints: [{{name: validation.gatekeeper.sh}}]
"
        ));
        let (out, diags) = export_policies(&objects);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1]["spec"]["validationActions"], json!(["Audit"]));
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("webhook-only"));
    }
}
