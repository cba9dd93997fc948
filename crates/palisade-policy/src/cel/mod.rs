//! The CEL environment of Kubernetes admission: shared by ValidatingAdmissionPolicy
//! ([`crate::vap`]) and Gatekeeper's `K8sNativeValidation` engine.
//!
//! # Using it
//!
//! ```text
//! let spec = CelSpec::compile(&node, &CompileOptions {
//!     params: true,                      // `params` is declared (VAP: the policy has a paramKind)
//!     authorizer: true,                  // `authorizer` is declared (never in messageExpression)
//!     predefined_variables: vec!["params".into(), "anyObject".into()], // `variables.params`, …
//!     field_prefix: "spec".into(),       // error fields read `spec.validations[0].expression`
//! });
//! for e in spec.errors() { /* CompileError: field, YAML line, column in the expression, message */ }
//! let result = spec.evaluate(&Inputs {
//!     object: Some(&obj), old_object: None, request: &request.to_json(),
//!     params: Some(&params), namespace_object: None,
//!     authorizer: Some((&authorizer, &request.user_info)),
//!     variables: &[("params", &constraint_params), ("anyObject", &obj)],
//! });
//! // result.matched / unmatched_condition, match_errors, failures (message, reason),
//! // errors, audit_annotations, audit_errors, cost
//! ```
//!
//! [`CelSpec::compile`] reads a [`palisade_model::Node`] holding the ValidatingAdmissionPolicy
//! shaped lists `matchConditions` (name, expression), `variables` (name, expression),
//! `validations` (expression, message, messageExpression, reason) and `auditAnnotations`
//! (key, valueExpression). Every broken field or expression is one [`CompileError`] naming
//! the field (`spec.validations[2].expression`), the YAML line and the line and column
//! inside the expression; compilation never fails as a whole, and a broken expression
//! reports a `compilation error` again when it is evaluated (the caller's failure policy
//! decides). A [`CelSpec`] is `Send + Sync`: compile once, evaluate from any thread.
//!
//! [`CelSpec::evaluate`] follows the API server: matchConditions first (any false → not
//! matched; errors only when none is false), then validations, then the messages of the
//! failed ones, then audit annotations. `oldObject` is null on CREATE, `object` on DELETE,
//! `params` without a param object, `namespaceObject` for cluster-scoped requests.
//! Variables are lazy: each is evaluated on its first use, in the scope of the inputs (not
//! of the loop that uses it), at most once per evaluation, and may use the variables
//! declared before it; a failing variable fails the expressions that reach it
//! (`composited variable "x" fails to evaluate: …`).
//!
//! # Libraries
//!
//! What a Kubernetes 1.34 API server offers, from `cel` 0.13, kube-cel 0.8 and this module:
//! the standard definitions and macros (`has`, `all`, `exists`, `exists_one`, `map`,
//! `filter`), heterogeneous equality and cross-type numeric comparison, optional types
//! (`?.`, `[?`, `{?`, `optional.of/none/ofNonZeroValue`, `hasValue`, `value`, `or`,
//! `orValue`, `optMap`, `optFlatMap`), the strings extension (version 2: `charAt`, `indexOf`,
//! `lastIndexOf`, `lowerAscii`, `upperAscii`, `replace`, `split`, `substring`, `trim`, `join`,
//! `strings.quote`, `format`), the Kubernetes lists library (`isSorted`, `sum`, `min`, `max`,
//! `indexOf`, `lastIndexOf`) and lists extension (`slice`, `flatten`, `distinct`, `reverse`,
//! `sort`, `sortBy`, `first`, `last`, `lists.range`), two-variable comprehensions (`all`,
//! `exists`, `existsOne` with two variables, `transformList`, `transformMap`,
//! `transformMapEntry`), sets (`sets.contains`, `sets.intersects`, `sets.equivalent`),
//! regex (`matches`, `find`, `findAll`), URLs, quantities, IP and CIDR, semver, named formats
//! (`format.dns1123Label()…`), `type`, `dyn`, `bool`, timestamps and durations, and the
//! authorizer ([`authz`]). `size` counts code points.
//!
//! Two shortcuts that change no outcome: a `messageExpression` is evaluated only for a
//! failed validation (Kubernetes evaluates them all and uses only those), and variables are
//! cached for the whole evaluation (Kubernetes caches them per list of expressions).
//!
//! Not offered, because an API server does not offer them either: `math.*`, `base64.*`,
//! `jsonpatch.*` (mutating policies only), `cel.bind`, message construction (`Foo{…}`). Not
//! supported: type checking against OpenAPI schemas (an expression the API server would
//! reject only for its types compiles here and fails, or returns a non-boolean, at
//! evaluation — which is an evaluation error), timestamps inside `namespaceObject` stay
//! strings (an API server types them), and `string()` of a double prints Rust's shortest
//! form, which differs from Go's for exponents (`1e+21`). Expressions are limited to
//! 64 KiB and 250 levels of nesting (`cel`'s parser allows 96 levels of brackets).
//!
//! # Cost
//!
//! `cel` 0.13 has no cost tracking, and a static bound over unknown input sizes either
//! rejects ordinary policies or proves nothing. Instead the lowering pass (see
//! `compile.rs`) turns every loop into a function that charges a thread-local
//! meter before each iteration, by the size of the loop body; every expression starts with
//! its static node count charged; and the functions whose work grows with their input
//! (equality and `in` over lists and maps, `sets.*`, `matches`, `size` of strings) charge
//! in proportion. Outside loops and those functions, work is bounded by the expression size
//! times the input size. Units approximate cel-go's (one per evaluated node) and use
//! Kubernetes' limits: [`PER_CALL_LIMIT`] per expression (and per variable), then
//! [`RUNTIME_BUDGET`] for all validations and messages of one evaluation (and again for
//! the audit annotations) and [`MATCH_CONDITIONS_BUDGET`] for the matchConditions. An
//! expression over its limit stops at the next charge with cel-go's `operation cancelled:
//! actual cost limit exceeded`, which no `||` or `all` can absorb; running out of the
//! evaluation budget stops the evaluation with Kubernetes' `running out of cost budget`
//! error. Either is an evaluation error, handled by the failure policy — never a hang.

pub mod authz;
mod compile;
mod functions;
mod macros;
mod runtime;
pub mod spec;
pub mod value;

pub use compile::Issue;
pub use runtime::{describe, MATCH_CONDITIONS_BUDGET, PER_CALL_LIMIT, RUNTIME_BUDGET};
pub use spec::{
    CelSpec, CompileError, CompileOptions, ExprError, Inputs, SpecResult, ValidationFailure,
};

/// The `cel` crate this module builds on (kube-cel's re-export).
pub use kube_cel::cel as engine;
