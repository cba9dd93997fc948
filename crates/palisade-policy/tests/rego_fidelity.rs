//! Rego semantics that the Gatekeeper library's own suites do not exercise, checked
//! against what OPA (and so Gatekeeper and gator) decides. Each case is a small template,
//! a constraint and an object; the comment on each assertion gives OPA's reasoning.
//!
//! The OPA facts used: its compiler assigns every call nested in an expression's
//! arguments to a generated variable *before* the expression, negated expressions
//! included (`RewriteExprTerms`); a call with an undefined argument is undefined, and
//! `not` of an undefined expression is true; a variable inside `not` must be bound
//! elsewhere (`_` never is), or the module does not compile; a function whose definitions
//! give two different outputs for one input is an evaluation error; a default rule gives
//! its value when no definition does; `with` applies to everything evaluated for its
//! expression.

use palisade_model::{load_bytes, Level, LoadOptions as ModelLoadOptions, Source};
use palisade_policy::{
    AdmissionRequest, DecisionKind, Inventory, LoadOptions, NoOpinion, Operation, PolicySet,
    Review, UserInfo,
};
use serde_json::{json, Value};

/// Loads a template with `rego` and a constraint with `parameters` (YAML flow syntax, or
/// `None` for a constraint without `spec.parameters`).
fn load(rego: &str, parameters: Option<&str>) -> PolicySet {
    let rego: String = rego.lines().map(|l| format!("        {l}\n")).collect();
    let params = parameters
        .map(|p| format!("spec:\n  parameters: {p}\n"))
        .unwrap_or_default();
    let yaml = format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sfidelity\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sFidelity\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n{rego}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sFidelity\nmetadata:\n  name: c\n{params}"
    );
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("fidelity.yaml".into()),
        &ModelLoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    PolicySet::from_objects(&loaded.objects, &LoadOptions::default())
}

/// The decisions for `object`: violation messages, and `error: …` for evaluation errors.
fn verdict(rego: &str, parameters: Option<&str>, object: Value) -> Vec<String> {
    let set = load(rego, parameters);
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    assert_eq!(set.len(), 1);
    let req =
        AdmissionRequest::for_object(Some(object), None, Operation::Create, UserInfo::offline());
    let inventory = Inventory::default();
    let e = set.evaluate(&Review::new(&req, &inventory, &NoOpinion));
    let mut out: Vec<String> = e
        .decisions
        .iter()
        .map(|d| match d.kind {
            DecisionKind::Violation => d.message.clone(),
            DecisionKind::Error => format!("error: {}", d.message),
        })
        .collect();
    out.sort();
    out
}

fn pod(image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"containers": [{"name": "app", "image": image}]}})
}

fn privileged_pod(privileged: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "securityContext": {"privileged": privileged}}]}})
}

const NONE: &[&str] = &[];

/// The issue's case: a parameter the constraint leaves out, passed through a call to a
/// helper inside `not`.
#[test]
fn nested_call_with_an_unset_parameter_inside_not() {
    let rego = r#"package k8sfidelity

violation[{"msg": msg}] {
  c := input.review.object.spec.containers[_]
  not allowed(c.image, lower(input.parameters.prefix))
  msg := sprintf("image %v is not allowed", [c.image])
}

allowed(image, prefix) {
  startswith(image, prefix)
}"#;
    // OPA evaluates `__local0__ = lower(input.parameters.prefix)` before the negation; with
    // no `prefix` that assignment is undefined and so is the body: no violation.
    assert_eq!(verdict(rego, None, pod("nginx")), NONE);
    assert_eq!(verdict(rego, Some("{}"), pod("nginx")), NONE);
    // With the parameter the helper decides.
    assert_eq!(
        verdict(rego, Some("{prefix: REG.IO/}"), pod("reg.io/app")),
        NONE
    );
    assert_eq!(
        verdict(rego, Some("{prefix: REG.IO/}"), pod("docker.io/app")),
        vec!["image docker.io/app is not allowed"]
    );
}

/// The same parameter passed as a plain reference is not moved out: the call is undefined,
/// `not` of undefined is true, and the template reports a violation.
#[test]
fn undefined_reference_argument_inside_not() {
    let rego = r#"package k8sfidelity

violation[{"msg": "not allowed"}] {
  c := input.review.object.spec.containers[_]
  not allowed(c.image, input.parameters.prefix)
}

allowed(image, prefix) {
  startswith(image, prefix)
}"#;
    assert_eq!(verdict(rego, None, pod("nginx")), vec!["not allowed"]);
    assert_eq!(verdict(rego, Some("{prefix: ngi}"), pod("nginx")), NONE);
    // A builtin with an undefined argument behaves the same.
    let rego = "package k8sfidelity\nviolation[{\"msg\": \"x\"}] {\n  not startswith(input.parameters.prefix, \"a\")\n}";
    assert_eq!(verdict(rego, None, pod("nginx")), vec!["x"]);
}

/// Operators are calls: in `not count(p) > 0`, `count(p)` is an argument of `>`.
#[test]
fn operators_inside_not() {
    let rego = r#"package k8sfidelity

violation[{"msg": "no repositories listed"}] {
  not count(input.parameters.repos) > 0
}"#;
    // Unset: `__local0__ = count(undefined)` fails before the negation.
    assert_eq!(verdict(rego, None, pod("nginx")), NONE);
    // Empty: `not 0 > 0`.
    assert_eq!(
        verdict(rego, Some("{repos: []}"), pod("nginx")),
        vec!["no repositories listed"]
    );
    assert_eq!(verdict(rego, Some("{repos: [a]}"), pod("nginx")), NONE);
    // Arithmetic in an argument is moved out with it.
    let rego = r#"package k8sfidelity

violation[{"msg": "over"}] {
  not input.parameters.max + 1 > count(input.review.object.spec.containers)
}"#;
    assert_eq!(verdict(rego, None, pod("nginx")), NONE);
    assert_eq!(verdict(rego, Some("{max: 0}"), pod("nginx")), vec!["over"]);
    assert_eq!(verdict(rego, Some("{max: 1}"), pod("nginx")), NONE);
}

/// `not` over a partial set: membership of a key, defined or not.
#[test]
fn not_over_partial_sets() {
    let rego = r#"package k8sfidelity

exempt[name] {
  name := input.parameters.exempt[_]
}

violation[{"msg": "not exempt"}] {
  not exempt[input.review.object.metadata.name]
}

violation[{"msg": "not exempt (lower-cased)"}] {
  not exempt[lower(input.review.object.metadata.name)]
}

violation[{"msg": "unknown key"}] {
  not exempt[input.review.object.metadata.missing]
}"#;
    // Unset list: the set is empty, so every key is absent. The reference with an
    // undefined key is undefined, and its negation true.
    assert_eq!(
        verdict(rego, None, pod("nginx")),
        vec!["not exempt", "not exempt (lower-cased)", "unknown key"]
    );
    assert_eq!(
        verdict(rego, Some("{exempt: [web]}"), pod("nginx")),
        vec!["unknown key"]
    );
}

/// A `with` on a negated expression applies to the calls moved out of it.
#[test]
fn with_applies_to_moved_calls() {
    let rego = r#"package k8sfidelity

violation[{"msg": "name is not X"}] {
  not is_x(upper(input.parameters.name)) with input.parameters.name as "y"
}

violation[{"msg": "overridden name is x"}] {
  is_x(upper(input.parameters.name)) with input.parameters.name as "x"
}

is_x(n) {
  n == "X"
}"#;
    // `upper("y")` is "Y", not "X": the negation holds. (Without the `with` on the moved
    // call, `upper` would see the unset parameter and the body would fail.)
    assert_eq!(
        verdict(rego, None, pod("nginx")),
        vec!["name is not X", "overridden name is x"]
    );
}

/// `else` chains: the function's value is the first body that holds, and a nested call
/// inside `not` is still evaluated before the negation.
#[test]
fn else_inside_not() {
    let rego = r#"package k8sfidelity

level(x) = "high" {
  x > 10
} else = "low" {
  true
}

violation[{"msg": "high limit"}] {
  not level(to_number(input.parameters.limit)) == "low"
}"#;
    // Unset limit: `to_number(undefined)` is undefined before the negation: nothing.
    assert_eq!(verdict(rego, None, pod("nginx")), NONE);
    assert_eq!(
        verdict(rego, Some("{limit: \"20\"}"), pod("nginx")),
        vec!["high limit"]
    );
    assert_eq!(verdict(rego, Some("{limit: \"5\"}"), pod("nginx")), NONE);
}

/// Functions with several definitions: one output per input, or an evaluation error
/// (Gatekeeper reports the error as the constraint's violation: fail closed).
#[test]
fn functions_with_several_definitions() {
    let rego = r#"package k8sfidelity

registry(image) = "internal" {
  startswith(image, "reg.io/")
}

registry(image) = "public" {
  not startswith(image, "reg.io/")
}

registry(image) = "public" {
  startswith(image, "docker.io/")
}

violation[{"msg": msg}] {
  c := input.review.object.spec.containers[_]
  not registry(c.image) == "internal"
  msg := sprintf("%v is %v", [c.image, registry(c.image)])
}"#;
    assert_eq!(verdict(rego, None, pod("reg.io/app")), NONE);
    // Two definitions agree on "public": one output.
    assert_eq!(
        verdict(rego, None, pod("docker.io/app")),
        vec!["docker.io/app is public"]
    );
    let conflicting = r#"package k8sfidelity

registry(image) = "internal" {
  contains(image, "reg")
}

registry(image) = "public" {
  contains(image, "io")
}

violation[{"msg": "public"}] {
  c := input.review.object.spec.containers[_]
  not registry(c.image) == "internal"
}"#;
    assert_eq!(
        verdict(conflicting, None, pod("docker.io/app")),
        vec!["public"]
    );
    let e = verdict(conflicting, None, pod("reg.io/app"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("error: ") && e[0].contains("multiple outputs"),
        "{e:?}"
    );
}

/// Default rules: a rule with a default is never undefined, so `not` sees its value.
#[test]
fn default_rules() {
    let rego = r#"package k8sfidelity

default privileged = false

privileged {
  input.review.object.spec.containers[_].securityContext.privileged
}

violation[{"msg": "privileged"}] {
  not privileged == false
}

violation[{"msg": "not privileged"}] {
  not privileged
}"#;
    // `privileged` is false by default: `not false` holds, `not (false == false)` does not.
    assert_eq!(
        verdict(rego, None, privileged_pod(false)),
        vec!["not privileged"]
    );
    assert_eq!(
        verdict(rego, None, privileged_pod(true)),
        vec!["privileged"]
    );
}

/// OPA refuses a variable that only a negation could bind: `_` inside `not` is never
/// bound, so `not input.xs[_] == "a"` does not compile (Gatekeeper rejects the
/// template). regorus would run it as "some element is not a". The template does not
/// load, with the position of the variable.
#[test]
fn variables_only_a_negation_could_bind_are_load_errors() {
    for (rego, var, line) in [
        (
            "package k8sfidelity\n\nviolation[{\"msg\": \"x\"}] {\n  not input.review.object.spec.containers[_].image == \"nginx\"\n}",
            "_",
            4,
        ),
        (
            "package k8sfidelity\n\nviolation[{\"msg\": \"x\"}] {\n  true\n  not input.review.object.spec.containers[i].image == \"nginx\"\n}",
            "i",
            5,
        ),
    ] {
        let set = load(rego, None);
        let errors: Vec<_> = set
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{:?}", set.diagnostics);
        let m = &errors[0].message;
        assert!(m.contains(&format!("var {var} is unsafe")), "{m}");
        assert!(m.contains(&format!("rego line {line}")), "{m}");
        assert_eq!(set.len(), 0);
    }
    // Bound elsewhere, the same negation is fine; inside a comprehension `_` belongs to
    // the comprehension's own body.
    let rego = r#"package k8sfidelity

violation[{"msg": "nginx"}] {
  some i
  input.review.object.spec.containers[i]
  not input.review.object.spec.containers[i].image == "redis"
  not count([c | c := input.review.object.spec.containers[_]; c.image == "redis"]) > 0
}"#;
    assert_eq!(verdict(rego, None, pod("nginx")), vec!["nginx"]);
    assert_eq!(verdict(rego, None, pod("redis")), NONE);
}

/// An output argument inside `not`: `not f(x, out)` with `f` of one parameter compares
/// `f(x)` with `out`. When either is undefined the comparison is undefined and the
/// negation holds, even when both are.
#[test]
fn output_argument_inside_not() {
    let rego = r#"package k8sfidelity

image_of(c) = img {
  img := c.image
}

violation[{"msg": "image differs"}] {
  c := input.review.object.spec.containers[_]
  not image_of(c, input.parameters.image)
}

violation[{"msg": "both unset"}] {
  not image_of(input.parameters.container, input.parameters.image)
}"#;
    assert_eq!(
        verdict(rego, None, pod("nginx")),
        vec!["both unset", "image differs"]
    );
    assert_eq!(
        verdict(rego, Some("{image: nginx}"), pod("nginx")),
        vec!["both unset"]
    );
    assert_eq!(
        verdict(rego, Some("{image: redis}"), pod("nginx")),
        vec!["both unset", "image differs"]
    );
}
