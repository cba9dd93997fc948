//! Evaluation machinery: the per-thread root context with every function registered, the
//! cost meter, the per-evaluation state (lazy variables), and error wording.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use kube_cel::cel::common::value::Val;
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{Context, ExecutionError, Value};
use kube_cel::KubeCelExt;

use super::compile::Compiled;
use super::value::{TypeValue, TYPE_IDENTIFIERS};

/// Kubernetes' per-expression runtime cost limit (`PerCallLimit`).
pub const PER_CALL_LIMIT: u64 = 1_000_000;
/// Kubernetes' budget for all the validations (and messages) of one policy evaluation
/// (`RuntimeCELCostBudget`); audit annotations get a budget of their own.
pub const RUNTIME_BUDGET: u64 = 10_000_000;
/// Kubernetes' budget for the matchConditions of one policy evaluation
/// (`RuntimeCELCostBudgetMatchConditions`).
pub const MATCH_CONDITIONS_BUDGET: u64 = 2_500_000;

/// The message of an expression stopped by its per-call limit (cel-go's wording).
pub const COST_LIMIT_MESSAGE: &str = "operation cancelled: actual cost limit exceeded";
/// The message when a policy evaluation runs out of its total budget (Kubernetes' wording).
pub const OUT_OF_BUDGET_MESSAGE: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

/// How deeply variables may be evaluated inside each other (each level is a nested
/// interpreter call).
const MAX_VARIABLE_DEPTH: u32 = 64;

thread_local! {
    static ROOT: Context<'static> = build_root();
    static METER: Cell<Meter> = const { Cell::new(Meter::UNLIMITED) };
}

#[derive(Clone, Copy, Debug)]
struct Meter {
    used: u64,
    limit: u64,
    exceeded: bool,
}

impl Meter {
    const UNLIMITED: Meter = Meter {
        used: 0,
        limit: u64::MAX,
        exceeded: false,
    };
}

fn build_root() -> Context<'static> {
    let mut ctx = Context::default();
    ctx.register_all();
    super::functions::register(&mut ctx);
    super::macros::register(&mut ctx);
    super::authz::register(&mut ctx);
    for t in TYPE_IDENTIFIERS {
        ctx.add_variable_from_value(*t, Value::Opaque(Arc::new(TypeValue((*t).to_string()))));
    }
    ctx
}

/// Runs `f` with this thread's root context (all functions registered, no inputs).
pub(crate) fn with_root<R>(f: impl FnOnce(&Context<'static>) -> R) -> R {
    ROOT.with(f)
}

/// Charges `n` cost units to the expression being evaluated. Once the expression's limit
/// is passed every further charge fails too, so error-absorbing operators (`||`, `&&`,
/// `all`, `exists`) cannot swallow the error and keep working; the evaluator reports the
/// cost error whatever the final value.
pub(crate) fn charge(n: u64) -> Result<(), ExecutionError> {
    METER.with(|m| {
        let mut v = m.get();
        v.used = v.used.saturating_add(n);
        if v.used > v.limit {
            v.exceeded = true;
        }
        m.set(v);
        if v.exceeded {
            Err(cost_error())
        } else {
            Ok(())
        }
    })
}

pub(crate) fn cost_error() -> ExecutionError {
    plain_error(COST_LIMIT_MESSAGE)
}

/// An error whose message is printed as it is (no function name prefix).
pub(crate) fn plain_error(message: impl Into<String>) -> ExecutionError {
    ExecutionError::FunctionError {
        function: String::new(),
        message: message.into(),
    }
}

/// The stack compilation and evaluation need: `cel`'s parser and interpreter recurse once
/// per level of the expression tree, with large frames in debug builds. A new stack is
/// allocated (lazily touched) when less than [`RED_ZONE`] is left.
pub(crate) const STACK_SIZE: usize = 32 * 1024 * 1024;
pub(crate) const RED_ZONE: usize = if cfg!(debug_assertions) {
    16 * 1024 * 1024
} else {
    1024 * 1024
};

/// Runs `f` where at least [`RED_ZONE`] of stack is left: a new stack only when the
/// caller's is short, so evaluation on an ordinary thread of a release build allocates
/// none. An evaluation needs about 1.5 KiB per tree level in release builds (measured: a
/// 240-term `+` chain, 172 KiB) and 30 KiB in debug builds; nested variables check again.
pub(crate) fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SIZE, f)
}

/// Runs `f` on a new stack of [`STACK_SIZE`]: compilation, whose parser recurses once per
/// operator of a chain before the depth limit can be checked.
pub(crate) fn on_new_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(STACK_SIZE, f)
}

/// Evaluates one compiled expression in `scope` with its own meter (`limit` cost units).
/// Returns the result (cost errors and panics inside the interpreter become errors) and
/// the cost spent.
pub(crate) fn eval(
    scope: &Context<'_>,
    compiled: &Compiled,
    limit: u64,
) -> (Result<Value, ExecutionError>, u64) {
    on_big_stack(|| eval_on_stack(scope, compiled, limit))
}

fn eval_on_stack(
    scope: &Context<'_>,
    compiled: &Compiled,
    limit: u64,
) -> (Result<Value, ExecutionError>, u64) {
    let outer = METER.with(|m| {
        m.replace(Meter {
            used: compiled.cost,
            limit,
            exceeded: compiled.cost > limit,
        })
    });
    let result = if compiled.cost > limit {
        Err(cost_error())
    } else {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Value::resolve(&compiled.expr, scope)
        }))
        .unwrap_or_else(|_| Err(plain_error("internal error: the CEL interpreter panicked")))
    };
    let meter = METER.with(|m| m.replace(outer));
    if meter.exceeded {
        // cel-go stops at the limit: the cost it reports is the limit, not what a
        // size-proportional charge asked for.
        (Err(cost_error()), meter.used.min(limit))
    } else {
        (result, meter.used)
    }
}

/// Words an evaluation error the way cel-go does where the two differ.
pub fn describe(e: &ExecutionError) -> String {
    match e {
        ExecutionError::FunctionError { function, message }
            if function.is_empty() || function.starts_with('@') =>
        {
            message.clone()
        }
        ExecutionError::FunctionError { function, message } => format!("{function}: {message}"),
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::NoSuchOverload => "no such overload".into(),
        ExecutionError::UndeclaredReference(r) => format!("undeclared reference to '{r}'"),
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".into(),
        ExecutionError::Overflow(op, _, _) => format!("integer overflow in '{op}'"),
        ExecutionError::IndexOutOfBounds(i) => format!("index out of bounds: {}", short(i)),
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => format!(
            "no such overload: {} {op} {}",
            super::value::type_name(boxed(a).as_ref()),
            super::value::type_name(boxed(b).as_ref())
        ),
        ExecutionError::ValuesNotComparable(a, b) => format!(
            "no such overload: {} < {}",
            super::value::type_name(boxed(a).as_ref()),
            super::value::type_name(boxed(b).as_ref())
        ),
        other => other.to_string(),
    }
}

fn boxed(v: &Value) -> Box<dyn Val> {
    let b: Result<Box<dyn Val>, _> = v.clone().try_into();
    b.unwrap_or_else(|_| Box::new(kube_cel::cel::common::types::CelNull))
}

fn short(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        other => format!("{other:?}"),
    }
}

/// One compiled variable, as the lazy `variables.<name>` lookup needs it.
#[derive(Debug)]
pub(crate) struct VariableSlot {
    pub name: String,
    pub compiled: Result<Compiled, String>,
}

/// The state of one evaluation, reachable from the interpreter as the opaque variable
/// `@state`: the lazily evaluated variables and the cost they used.
pub(crate) struct EvalState {
    /// The spec's variables; slot `i` of `cache` is `extras + i`.
    variables: Arc<[VariableSlot]>,
    extras: usize,
    cache: Vec<OnceLock<Result<Value, String>>>,
    composition_cost: AtomicU64,
    depth: AtomicU32,
}

impl std::fmt::Debug for EvalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvalState")
    }
}

impl PartialEq for EvalState {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for EvalState {}

impl Opaque for EvalState {
    fn runtime_type_name(&self) -> &str {
        "palisade.EvalState"
    }
}

pub(crate) const STATE_VARIABLE: &str = "@state";

impl EvalState {
    pub(crate) fn new(variables: Arc<[VariableSlot]>, extras: Vec<Value>) -> EvalState {
        let n = extras.len();
        let mut cache: Vec<OnceLock<Result<Value, String>>> = extras
            .into_iter()
            .map(|v| {
                let l = OnceLock::new();
                let _ = l.set(Ok(v));
                l
            })
            .collect();
        cache.extend((0..variables.len()).map(|_| OnceLock::new()));
        EvalState {
            variables,
            extras: n,
            cache,
            composition_cost: AtomicU64::new(0),
            depth: AtomicU32::new(0),
        }
    }

    /// The cost spent evaluating variables since the last call.
    pub(crate) fn take_composition_cost(&self) -> u64 {
        self.composition_cost.swap(0, Ordering::Relaxed)
    }

    /// The value of variable slot `index`, evaluating it in `base` on first use.
    pub(crate) fn variable(
        &self,
        index: usize,
        base: &Context<'_>,
    ) -> Result<Value, ExecutionError> {
        let Some(slot) = self.cache.get(index) else {
            return Err(plain_error(format!(
                "internal error: no variable slot {index}"
            )));
        };
        if let Some(v) = slot.get() {
            return v.clone().map_err(plain_error);
        }
        let Some(var) = index
            .checked_sub(self.extras)
            .and_then(|i| self.variables.get(i))
        else {
            return Err(plain_error(format!(
                "internal error: no variable slot {index}"
            )));
        };
        let result = match &var.compiled {
            Err(e) => Err(format!(
                "composited variable \"{}\" fails to compile: {e}",
                var.name
            )),
            Ok(c) => {
                if self.depth.fetch_add(1, Ordering::Relaxed) >= MAX_VARIABLE_DEPTH {
                    self.depth.fetch_sub(1, Ordering::Relaxed);
                    return Err(plain_error(format!(
                        "composited variable \"{}\": variables nested more than {MAX_VARIABLE_DEPTH} deep",
                        var.name
                    )));
                }
                let (r, cost) = eval(base, c, PER_CALL_LIMIT);
                self.depth.fetch_sub(1, Ordering::Relaxed);
                self.composition_cost.fetch_add(cost, Ordering::Relaxed);
                r.map_err(|e| {
                    format!(
                        "composited variable \"{}\" fails to evaluate: {}",
                        var.name,
                        describe(&e)
                    )
                })
            }
        };
        let _ = slot.set(result.clone());
        result.map_err(plain_error)
    }
}

/// Finds the evaluation state from inside a function call.
pub(crate) fn state_of(ctx: &Context<'_>) -> Result<Arc<dyn Opaque>, ExecutionError> {
    match ctx
        .get_variable(STATE_VARIABLE)
        .map(|v| Value::try_from(v.as_ref()))
    {
        Some(Ok(Value::Opaque(o))) if o.runtime_type_name() == "palisade.EvalState" => Ok(o),
        _ => Err(plain_error(
            "internal error: variables are not available here",
        )),
    }
}

/// The scope an evaluation's inputs live in (the one holding `@state`), skipping the
/// scopes comprehensions add: variables are evaluated there, so they never see the loop
/// variables of the expression that uses them.
pub(crate) fn base_scope<'a>(mut ctx: &'a Context<'a>) -> &'a Context<'a> {
    loop {
        match ctx {
            Context::Child {
                variables, parent, ..
            } => {
                if variables.contains_key(STATE_VARIABLE) {
                    return ctx;
                }
                ctx = parent;
            }
            Context::Root { .. } => return ctx,
        }
    }
}

/// Adds a variable to a scope without going through `Value` (no deep copy of `v`).
pub(crate) fn set_scope_variable(ctx: &mut Context<'_>, name: &str, v: Box<dyn Val>) {
    match ctx {
        Context::Child { variables, .. } | Context::Root { variables, .. } => {
            match variables.get_mut(name) {
                Some(slot) => *slot = v,
                None => {
                    variables.insert(name.to_string(), v);
                }
            }
        }
    }
}

/// Removes a variable from a scope, handing back its value (no copy).
pub(crate) fn take_scope_variable(ctx: &mut Context<'_>, name: &str) -> Option<Box<dyn Val>> {
    match ctx {
        Context::Child { variables, .. } | Context::Root { variables, .. } => {
            variables.remove(name)
        }
    }
}
