//! The shared CEL environment (`palisade_policy::cel`): compilation errors, evaluation
//! semantics, variables, messages, cost limits, and hostile input.

use palisade_model::{load_bytes, LoadOptions, Node, Source};
use palisade_policy::authorizer::RbacSnapshot;
use palisade_policy::cel::{CelSpec, CompileOptions, Inputs, SpecResult};
use palisade_policy::{Inventory, UserInfo};
use serde_json::{json, Value};

fn opts() -> CompileOptions {
    CompileOptions {
        params: true,
        authorizer: true,
        predefined_variables: Vec::new(),
        field_prefix: "spec".into(),
    }
}

fn spec_yaml(yaml: &str) -> CelSpec {
    let text = format!("apiVersion: v1\nkind: Spec\nspec:\n{yaml}");
    let loaded = load_bytes(
        text.as_bytes(),
        Source::File("t.yaml".into()),
        &LoadOptions::default(),
    );
    let root = &loaded.objects[0].root;
    CelSpec::compile(root.get("spec").expect("spec"), &opts())
}

fn spec_json(v: Value) -> CelSpec {
    CelSpec::compile(&Node::from_json(&v), &opts())
}

fn validations(exprs: &[&str]) -> CelSpec {
    let v: Vec<Value> = exprs.iter().map(|e| json!({"expression": e})).collect();
    let s = spec_json(json!({ "validations": v }));
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    s
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "a", "image": "nginx:1.25", "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}},
            {"name": "b", "image": "ghcr.io/x/y@sha256:abc", "ports": [{"containerPort": 8080}]}
        ]}
    })
}

fn request() -> Value {
    json!({
        "uid": "", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "web", "namespace": "prod", "operation": "CREATE",
        "userInfo": {"username": "alice", "groups": ["dev"]},
        "object": {"must": "not be visible"}
    })
}

fn eval_with(
    spec: &CelSpec,
    object: Option<&Value>,
    old: Option<&Value>,
    params: Option<&Value>,
) -> SpecResult {
    let req = request();
    spec.evaluate(&Inputs {
        object,
        old_object: old,
        request: &req,
        params,
        namespace_object: None,
        authorizer: None,
        variables: &[],
    })
}

fn eval(spec: &CelSpec) -> SpecResult {
    let p = pod();
    eval_with(spec, Some(&p), None, None)
}

/// Evaluates one boolean expression against the pod: Ok(bool) or Err(error message).
fn check(expr: &str) -> Result<bool, String> {
    let r = eval(&validations(&[expr]));
    if let Some(e) = r.errors.first() {
        return Err(e.message.clone());
    }
    Ok(r.failures.is_empty())
}

#[test]
fn standard_semantics() {
    for expr in [
        "object.metadata.name == 'web'",
        "object.spec.containers.all(c, c.image != '')",
        "object.spec.containers.exists(c, c.name == 'b')",
        "object.spec.containers.exists_one(c, has(c.ports))",
        "object.spec.containers.map(c, c.name) == ['a', 'b']",
        "object.spec.containers.filter(c, has(c.ports)).size() == 1",
        "size(object.spec.containers) == 2",
        "1 == 1.0 && 1u == 1 && 2 in [1.0, 2.0] && [1] == [1.0]",
        "1 < 1.5 && 2u > 1",
        "!!true && --1 == 1",
        "'héllo'.size() == 5",
        "oldObject == null",
        "params == null",
        "request.operation == 'CREATE' && request.userInfo.username == 'alice'",
        "!has(request.object)",
        "type(1) == int && type('a') == string && type(object) == map",
        "dyn(1) == 1 && bool('true')",
        "object.metadata.labels.all(k, k == 'app')",
        "{'a': 1}.exists(k, k == 'a')",
        "[1, 2, 3].all(i, v, v == i + 1)",
        "[1, 2].transformList(i, v, v * 10) == [10, 20]",
        "{'a': 1}.transformMap(k, v, v + 1) == {'a': 2}",
        "[3, 1, 2].sortBy(x, x) == [1, 2, 3]",
    ] {
        assert_eq!(check(expr), Ok(true), "{expr}");
    }
}

#[test]
fn kubernetes_libraries() {
    for expr in [
        "quantity(object.spec.containers[0].resources.limits.memory).isGreaterThan(quantity('512Mi'))",
        "quantity('500m').compareTo(quantity('1')) == -1",
        "isQuantity('1Gi') && !isQuantity('x')",
        "'a,b'.split(',') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b'",
        "'Hello'.lowerAscii() == 'hello' && '  x '.trim() == 'x' && 'abc'.substring(1) == 'bc'",
        "'abc'.indexOf('c') == 2 && 'abc'.charAt(1) == 'b' && 'aXa'.replace('X', 'y') == 'aya'",
        "'%s-%d'.format(['a', dyn(1)]) == 'a-1'",
        "strings.quote('a') == '\"a\"'",
        "object.spec.containers[1].image.matches('@sha256:') && 'abc123'.find('[0-9]+') == '123'",
        "'a1b2'.findAll('[0-9]') == ['1', '2']",
        "url('https://example.com:8443/p?q=1').getHost() == 'example.com:8443'",
        "isURL('https://a.b') && url('https://a.b/c').getScheme() == 'https'",
        "ip('10.0.0.1').family() == 4 && cidr('10.0.0.0/8').containsIP('10.1.2.3') && isCIDR('::1/128')",
        "[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6 && [3, 1].min() == 1 && [3, 1].max() == 3",
        "[[1], [2]].flatten() == [1, 2] && [1, 1, 2].distinct() == [1, 2] && lists.range(3) == [0, 1, 2]",
        "[1, 2, 3].slice(1, 2) == [2] && [3, 1].sort() == [1, 3]",
        "sets.contains([1, 2, 3], [2]) && sets.intersects([1], [1.0]) && sets.equivalent([1, 2], [2, 1])",
        "semver('1.2.3').isLessThan(semver('1.10.0')) && isSemver('1.0.0')",
        "format.dns1123Label().validate('Not_Valid').hasValue()",
        "optional.of(1).hasValue() && !optional.none().hasValue() && optional.none().orValue(2) == 2",
        "object.?metadata.?annotations.?foo.orValue('none') == 'none'",
        "object.spec.containers[?5].hasValue() == false",
        "optional.of(1).optMap(x, x + 1).value() == 2",
        "optional.none().optFlatMap(x, optional.of(x)).hasValue() == false",
        "[?optional.none(), 1] == [1] && {?'a': optional.none()} == {}",
        "duration('1h') > duration('30m') && timestamp('2024-01-01T00:00:00Z').getFullYear() == 2024",
    ] {
        assert_eq!(check(expr), Ok(true), "{expr}");
    }
}

#[test]
fn runtime_errors_follow_cel_go() {
    // Field selection on null or a missing key is an error; presence tests are not.
    let e = check("oldObject.metadata.name == 'x'").unwrap_err();
    assert!(e.contains("no such key: metadata"), "{e}");
    assert_eq!(check("has(oldObject.metadata)"), Ok(false));
    let e = check("object.metadata.nope == 1").unwrap_err();
    assert_eq!(
        e,
        "expression 'object.metadata.nope == 1' resulted in error: no such key: nope"
    );
    // Error absorption: a false element wins over an error in `all`, a true one in `exists`.
    assert_eq!(check("[0, 1].all(x, 1 / x > 5)"), Ok(false));
    assert_eq!(check("[0, 1].exists(x, 1 / x == 1)"), Ok(true));
    assert!(check("[0].all(x, 1 / x > 0)")
        .unwrap_err()
        .contains("division by zero"));
    assert!(check("-(-9223372036854775807 - 1) > 0")
        .unwrap_err()
        .contains("overflow"));
    assert!(check("9223372036854775807 + 1 > 0")
        .unwrap_err()
        .contains("overflow"));
    assert!(check("object.spec.containers[9].name == 'x'").is_err());
    // A non-boolean validation is an error, not a pass or a silent failure.
    let e = check("object.metadata.name").unwrap_err();
    assert!(e.contains("must evaluate to bool but got string"), "{e}");
}

#[test]
fn variables_are_lazy_cached_and_composable() {
    let s = spec_json(json!({
        "variables": [
            {"name": "containers", "expression": "object.spec.containers"},
            {"name": "images", "expression": "variables.containers.map(c, c.image)"},
            {"name": "broken", "expression": "1 / 0 == 1"},
        ],
        "validations": [
            {"expression": "variables.images.all(i, i != '')"},
            {"expression": "true || variables.broken"},
            {"expression": "variables.containers.all(c, variables.images.exists(i, i == c.image))"},
        ]
    }));
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    let r = eval(&s);
    assert!(r.is_clean(), "{r:?}");
    let s = spec_json(json!({
        "variables": [{"name": "broken", "expression": "object.nope"}],
        "validations": [{"expression": "variables.broken == 1"}]
    }));
    let r = eval(&s);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0]
            .message
            .contains("composited variable \"broken\" fails to evaluate: no such key: nope"),
        "{}",
        r.errors[0].message
    );
    // A variable sees the inputs, never the loop variables of the expression using it.
    let s = spec_json(json!({
        "variables": [{"name": "n", "expression": "object.metadata.name"}],
        "validations": [{"expression": "['x'].all(object, variables.n == 'web')"}]
    }));
    assert!(eval(&s).is_clean());
}

#[test]
fn variables_must_be_declared_before_use() {
    let s = spec_json(json!({
        "variables": [
            {"name": "a", "expression": "variables.b"},
            {"name": "b", "expression": "1"},
        ],
        "validations": [{"expression": "variables.c == 1"}]
    }));
    let fields: Vec<&str> = s.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.variables[0].expression",
            "spec.validations[0].expression"
        ]
    );
    assert!(s.errors()[1].message.contains("undefined field 'c'"));
}

#[test]
fn predefined_variables() {
    let s = CelSpec::compile(
        &Node::from_json(&json!({
            "validations": [{"expression": "variables.params.max >= size(variables.anyObject.spec.containers)"}]
        })),
        &CompileOptions {
            params: true,
            authorizer: false,
            predefined_variables: vec!["params".into(), "anyObject".into()],
            field_prefix: String::new(),
        },
    );
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    let p = pod();
    let req = request();
    let max = json!({"max": 1});
    let vars = [("params", &max), ("anyObject", &p)];
    let r = s.evaluate(&Inputs {
        object: Some(&p),
        old_object: None,
        request: &req,
        params: None,
        namespace_object: None,
        authorizer: None,
        variables: &vars,
    });
    assert_eq!(r.failures.len(), 1, "{r:?}");
}

#[test]
fn messages() {
    let s = spec_json(json!({"validations": [
        {"expression": "false", "message": "static", "messageExpression": "'dynamic ' + object.metadata.name"},
        {"expression": "false", "message": " static ", "messageExpression": "object.nope"},
        {"expression": "false", "message": "static", "messageExpression": "'two\\nlines'"},
        {"expression": "false", "messageExpression": "'   '"},
        {"expression": " 1 > 2 ", "reason": "Forbidden"},
    ]}));
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    let r = eval(&s);
    let msgs: Vec<(&str, &str)> = r
        .failures
        .iter()
        .map(|f| (f.message.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(
        msgs,
        [
            ("dynamic web", "Invalid"),
            ("static", "Invalid"),
            ("static", "Invalid"),
            ("failed expression: false", "Invalid"),
            ("failed expression: 1 > 2", "Forbidden"),
        ]
    );
    // messageExpression cannot use the authorizer.
    let s = spec_json(json!({"validations": [
        {"expression": "false", "messageExpression": "authorizer.path('/x').check('get').reason()"}
    ]}));
    assert_eq!(s.errors().len(), 1);
    assert!(s.errors()[0]
        .message
        .contains("undeclared reference to 'authorizer'"));
}

#[test]
fn match_conditions() {
    let s = spec_json(json!({
        "matchConditions": [
            {"name": "is-web", "expression": "object.metadata.name == 'web'"},
            {"name": "broken", "expression": "object.nope == 1"},
        ],
        "validations": [{"expression": "false"}]
    }));
    // One error and no false condition: the caller's failure policy decides.
    let r = eval(&s);
    assert!(
        r.matched && r.failures.is_empty() && r.match_errors.len() == 1,
        "{r:?}"
    );
    let s = spec_json(json!({
        "matchConditions": [
            {"name": "broken", "expression": "object.nope == 1"},
            {"name": "not-web", "expression": "object.metadata.name != 'web'"},
        ],
        "validations": [{"expression": "false"}]
    }));
    // A false condition wins over errors.
    let r = eval(&s);
    assert!(!r.matched && r.match_errors.is_empty());
    assert_eq!(r.unmatched_condition.as_deref(), Some("not-web"));
}

#[test]
fn audit_annotations() {
    let s = spec_json(json!({"auditAnnotations": [
        {"key": "name", "valueExpression": "' ' + object.metadata.name + ' '"},
        {"key": "skipped", "valueExpression": "null"},
        {"key": "empty", "valueExpression": "''"},
        {"key": "bad", "valueExpression": "1"},
    ]}));
    let r = eval(&s);
    assert_eq!(
        r.audit_annotations,
        [("name".to_string(), "web".to_string())]
    );
    assert_eq!(r.audit_errors.len(), 1);
    assert!(r.audit_errors[0]
        .message
        .contains("unsupported return type: int"));
}

#[test]
fn null_inputs() {
    let s = validations(&[
        "object == null",
        "oldObject.metadata.name == 'web'",
        "params.x == 1",
    ]);
    let old = pod();
    let params = json!({"x": 1});
    let r = eval_with(&s, None, Some(&old), Some(&params));
    assert!(r.is_clean(), "{r:?}");
}

#[test]
fn cost_limit_stops_runaway_expressions() {
    // 3000 × 3000 iterations: far over the per-expression limit, stopped at once.
    let started = std::time::Instant::now();
    let r = eval(&validations(&[
        "lists.range(3000).all(x, lists.range(3000).all(y, x + y >= 0))",
        "true",
    ]));
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].message.contains("actual cost limit exceeded"),
        "{:?}",
        r.errors
    );
    // Error absorption cannot swallow a cost error.
    let r = eval(&validations(&[
        "lists.range(3000).all(x, lists.range(3000).all(y, x + y >= 0)) || true",
    ]));
    assert!(
        r.errors[0].message.contains("actual cost limit exceeded"),
        "{r:?}"
    );
    // Many expressions each under the limit exhaust the policy's budget.
    let exprs: Vec<String> = (0..12)
        .map(|_| "lists.range(900).all(x, lists.range(200).all(y, x + y >= 0))".to_string())
        .collect();
    let refs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    let r = eval(&validations(&refs));
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.errors[0].message.contains("running out of cost budget"));
    assert!(r.failures.is_empty());
    // Quadratic library functions are charged by input size.
    let r = eval(&validations(&[
        "sets.contains(lists.range(20000), lists.range(20000).map(x, -x))",
    ]));
    assert!(r.errors[0].message.contains("cost limit"), "{r:?}");
    // Variables have a limit of their own, reported through the expression using them.
    let s = spec_json(json!({
        "variables": [{"name": "v", "expression": "lists.range(3000).all(x, lists.range(3000).all(y, true))"}],
        "validations": [{"expression": "variables.v"}]
    }));
    let r = eval(&s);
    assert!(
        r.errors[0]
            .message
            .contains("composited variable \"v\" fails to evaluate"),
        "{r:?}"
    );
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn compile_errors_name_field_line_and_column() {
    let s = spec_yaml(concat!(
        "  validations:\n",
        "  - expression: object.x == 1\n",
        "  - expression: |\n",
        "      object.spec.containers.all(c,\n",
        "        c.image.startsWith('a') &&& true)\n",
        "    message: m\n",
        "  - expression: foo.bar == 1\n",
        "  - expression: 42\n",
        "  - message: no expression\n",
    ));
    let e = s.errors();
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(e[0].field, "spec.validations[1].expression");
    assert_eq!(
        e[0].line, 8,
        "second line of the literal block, after the 3-line header"
    );
    assert_eq!(e[0].expression_line, 2);
    assert!(e[0].column > 0);
    assert_eq!(e[1].field, "spec.validations[2].expression");
    assert_eq!(e[1].line, 10);
    assert_eq!(e[1].message, "undeclared reference to 'foo'");
    assert_eq!((e[1].expression_line, e[1].column), (1, 1));
    assert_eq!(e[2].field, "spec.validations[3].expression");
    assert!(e[2].message.contains("must be a string"));
    assert_eq!(e[3].field, "spec.validations[4].expression");
    assert_eq!(e[3].message, "required value");
    // Broken expressions fail again at evaluation, the others still run.
    let r = eval(&s);
    assert_eq!(r.errors.len(), 5, "{r:?}");
    assert!(
        r.errors[0].message.contains("no such key: x"),
        "object.x is missing: an error, not a failure"
    );
    assert!(
        r.errors[1]
            .message
            .starts_with("compilation error: compilation failed: ERROR: <input>:2:"),
        "{}",
        r.errors[1].message
    );
    assert_eq!(r.failures.len(), 0);
}

#[test]
fn compile_errors_for_what_an_api_server_refuses() {
    for (expr, needle) in [
        ("params.x == 1", ""),
        (
            "math.greatest(1, 2) == 2",
            "undeclared reference to 'math.greatest'",
        ),
        (
            "base64.encode(b'a') == ''",
            "undeclared reference to 'base64.encode'",
        ),
        (
            "object.metadata.name.nope()",
            "undeclared reference to 'nope'",
        ),
        ("Foo{a: 1} == null", "message construction"),
        (
            "[1, 'a'].size() == 2",
            "expected type 'int' but found 'string'",
        ),
        ("'a'.matches('[') ", "invalid regular expression"),
        ("duration('1 hour') > duration('1m')", "invalid duration"),
        ("object.a ==", ""),
        ("", "expression is empty"),
        ("variables == null", "variables"),
    ] {
        let s = spec_json(json!({"validations": [{"expression": expr}]}));
        if expr.starts_with("params") {
            assert!(s.errors().is_empty(), "params is declared with a paramKind");
            let no_params = CelSpec::compile(
                &Node::from_json(&json!({"validations": [{"expression": expr}]})),
                &CompileOptions::default(),
            );
            assert!(no_params.errors()[0]
                .message
                .contains("undeclared reference to 'params'"));
            continue;
        }
        assert_eq!(s.errors().len(), 1, "{expr}");
        assert!(
            s.errors()[0].message.contains(needle),
            "{expr}: {}",
            s.errors()[0].message
        );
    }
}

#[test]
fn malformed_specs_are_errors_not_panics() {
    for v in [
        json!("a string"),
        json!({"validations": "nope"}),
        json!({"validations": [1, null, "x", {"expression": null}]}),
        json!({"variables": [{"expression": "1"}, {"name": 3, "expression": "1"}, {"name": "a", "expression": "1"}, {"name": "a", "expression": "2"}]}),
        json!({"matchConditions": [{"expression": "true"}], "auditAnnotations": [{"valueExpression": "'x'"}]}),
    ] {
        let s = spec_json(v.clone());
        assert!(!s.errors().is_empty(), "{v}");
        let _ = eval(&s);
    }
}

#[test]
fn hostile_expressions_do_not_crash() {
    let deep =
        |open: &str, close: &str, n: usize| format!("{}1{} == 1", open.repeat(n), close.repeat(n));
    let mut exprs = vec![
        deep("(", ")", 200),
        deep("[", "]", 200),
        format!("{} == 1", vec!["1"; 5000].join(" + ")),
        format!("{}true", "!".repeat(5001)),
        format!("{}true", "true ? true : ".repeat(300)),
        "x".repeat(70 * 1024),
        format!("object{} == 1", ".a".repeat(2000)),
        format!("[1]{}.size() == 1", ".map(x, x)".repeat(200)),
        "'\\u0000' == '\\xff'".into(),
        "b'\\xff'.size() == 1".into(),
        "'unterminated".into(),
        "1.0 / 0.0 > 0.0".into(),
        "-9223372036854775808 / -1 == 0".into(),
        "-9223372036854775808 % -1 == 0".into(),
        "'abc'.substring(5) == ''".into(),
        "'abc'.substring(2, 1) == ''".into(),
        "'abc'.charAt(-1) == ''".into(),
        "lists.range(-5).size() == 0".into(),
        "[1,2].slice(2, 1) == []".into(),
        "'a'.replace('', 'b', -5) == ''".into(),
        "'%d'.format(['x']) == ''".into(),
        "'%'.format([]) == ''".into(),
        "quantity('999999999999999999999999999Ei').isInteger()".into(),
        "ip('::ffff:1.2.3.4').family() == 6".into(),
        "cidr('1.2.3.4/99').prefixLength() == 1".into(),
        "url('::').getHost() == ''".into(),
        "semver('1.2.3-').major() == 1".into(),
        "timestamp('9999-12-31T23:59:59Z') + duration('1h') > timestamp('2000-01-01T00:00:00Z')"
            .into(),
        "duration('9223372036s') + duration('9223372036s') > duration('0s')".into(),
        "authorizer.serviceAccount('Bad NS', 'x').path('/').check('get').allowed()".into(),
        "authorizer.path('').check('get').allowed()".into(),
        "optional.of(1).value() + optional.none().value() == 1".into(),
        "[1].all(x, x)".into(),
        "{1: 2}.map(k, k) == [1]".into(),
        "[[1]].transformMapEntry(i, v, v) == {}".into(),
        "object.spec.containers.sortBy(c, c) == []".into(),
        "'a'.matches('(a*)*b')".into(),
    ];
    exprs.push(format!("'{}'.size() > 0", "a".repeat(60_000)));
    for e in exprs {
        let s = spec_json(json!({"validations": [{"expression": e}]}));
        let _ = eval(&s);
    }
}

#[test]
fn authorizer_with_rbac() {
    let inventory = Inventory::from_values([
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
               "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                         {"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "prod"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
               "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "bot"}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
               "subjects": [{"kind": "Group", "name": "monitoring"}]}),
    ]);
    let rbac = RbacSnapshot::from_inventory(&inventory);
    let s = validations(&[
        "authorizer.group('').resource('pods').namespace('prod').check('get').allowed()",
        "!authorizer.group('').resource('pods').namespace('dev').check('get').allowed()",
        "authorizer.group('').resource('pods').subresource('log').namespace('prod').name('x').check('list').allowed()",
        "!authorizer.group('').resource('pods').namespace('prod').check('delete').allowed()",
        "authorizer.group('').resource('pods').namespace('prod').check('get').reason().contains('RoleBinding \"rb/prod\"')",
        "!authorizer.group('').resource('pods').namespace('prod').check('delete').errored()",
        "authorizer.group('').resource('pods').namespace('prod').check('delete').error() == ''",
        "authorizer.requestResource.check('get').allowed()",
        "!authorizer.requestResource.check('delete').allowed()",
        "authorizer.serviceAccount('prod', 'bot').group('').resource('pods').namespace('prod').check('get').allowed()",
        "!authorizer.serviceAccount('dev', 'bot').group('').resource('pods').namespace('prod').check('get').allowed()",
        "!authorizer.path('/healthz').check('get').allowed()",
    ]);
    let p = pod();
    let req = request();
    let alice = UserInfo {
        username: "alice".into(),
        groups: vec!["dev".into()],
        ..Default::default()
    };
    let r = s.evaluate(&Inputs {
        object: Some(&p),
        old_object: None,
        request: &req,
        params: None,
        namespace_object: None,
        authorizer: Some((&rbac, &alice)),
        variables: &[],
    });
    assert!(r.is_clean(), "{r:#?}");
    // Non-resource URLs through a ClusterRoleBinding.
    let s = validations(&[
        "authorizer.path('/healthz').check('get').allowed()",
        "authorizer.path('/metrics/x').check('get').allowed()",
        "!authorizer.path('/metrics').check('get').allowed()",
        "authorizer.group('').resource('pods').check('list').allowed()",
    ]);
    let monitor = UserInfo {
        username: "prom".into(),
        groups: vec!["monitoring".into()],
        ..Default::default()
    };
    let r = s.evaluate(&Inputs {
        object: Some(&p),
        old_object: None,
        request: &req,
        params: None,
        namespace_object: None,
        authorizer: Some((&rbac, &monitor)),
        variables: &[],
    });
    assert!(r.is_clean(), "{r:#?}");
}

#[test]
fn specs_are_shared_across_threads() {
    let s = std::sync::Arc::new(validations(&[
        "object.spec.containers.all(c, c.name.size() == 1)",
    ]));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || (0..50).all(|_| eval(&s).is_clean()))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap_or(false));
    }
}
