//! The functions the lowering pass calls (`@path`, `@eq`, `@ne`, `@in`, `@neg`, `@var`) and
//! the library functions `cel` 0.13 and kube-cel lack or get wrong for Kubernetes: `size`
//! counts code points, `matches` caches compiled patterns and is metered, `type`, `dyn`,
//! `bool`, and metered `sets.*` with heterogeneous equality.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::cel::common::ast::{Expr, IdedExpr, LiteralValue};
use kube_cel::cel::common::types::{
    CelBytes, CelDouble, CelInt, CelList, CelMap, CelOptional, CelString,
};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::{Context, ExecutionError, FunctionContext, ResolveResult, Value};

use super::runtime::{base_scope, charge, plain_error, state_of, EvalState};
use super::value::{equal, type_name, TypeValue};

pub(crate) fn register(ctx: &mut Context<'_>) {
    ctx.add_function("@path", path);
    ctx.add_function("@eq", eq);
    ctx.add_function("@ne", ne);
    ctx.add_function("@in_list", in_fn);
    ctx.add_function("@neg", neg);
    ctx.add_function("@var", var);
    ctx.add_function("size", size);
    ctx.add_function("matches", matches);
    ctx.add_function("type", type_fn);
    ctx.add_function("dyn", dyn_fn);
    ctx.add_function("bool", bool_fn);
    ctx.add_function("sets.contains", sets_contains);
    ctx.add_function("sets.intersects", sets_intersects);
    ctx.add_function("sets.equivalent", sets_equivalent);
    ctx.add_function("lists.range", lists_range);
    ctx.add_function("@formatGuard", format_guard);
}

/// Longest precision a `format` verb may ask for (`%.Nf`): kube-cel would allocate
/// whatever it is given.
const MAX_FORMAT_PRECISION: usize = 1000;

/// `lists.range(n)`: charged by its length before anything is allocated.
fn lists_range(ftx: &FunctionContext) -> ResolveResult {
    let n = arg(ftx, 0)?;
    let Some(n) = n.downcast_ref::<CelInt>().map(|i| *i.inner()) else {
        return Err(no_overload("lists.range", &[n.as_ref()]));
    };
    let n = n.max(0);
    charge(1 + n as u64 / 8)?;
    Ok(Value::List(Arc::new((0..n).map(Value::Int).collect())))
}

/// The receiver of `format`, refused when it asks for a precision no one needs (the
/// lowering pass wraps every `format` receiver in this).
fn format_guard(ftx: &FunctionContext) -> ResolveResult {
    let v = arg(ftx, 0)?;
    if let Some(s) = v.downcast_ref::<CelString>() {
        let b = s.inner().as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && b.get(i + 1) == Some(&b'.') {
                let digits: String = s.inner()[i + 2..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if digits.len() > 4
                    || digits
                        .parse::<usize>()
                        .is_ok_and(|p| p > MAX_FORMAT_PRECISION)
                {
                    return Err(plain_error(format!(
                        "format: precision {digits} is larger than {MAX_FORMAT_PRECISION}"
                    )));
                }
            }
            i += 1;
        }
        charge(1 + b.len() as u64 / 100)?;
    }
    Value::try_from(v.as_ref())
}

pub(crate) fn arg<'a>(
    ftx: &'a FunctionContext<'a, '_>,
    i: usize,
) -> Result<Cow<'a, dyn Val>, ExecutionError> {
    match ftx.args.get(i) {
        Some(e) => resolve(e, ftx.ptx),
        None => Err(ExecutionError::invalid_argument_count(
            i + 1,
            ftx.args.len(),
        )),
    }
}

pub(crate) fn literal_int(ftx: &FunctionContext<'_, '_>, i: usize) -> Result<i64, ExecutionError> {
    match ftx.args.get(i).map(|e| &e.expr) {
        Some(Expr::Literal(LiteralValue::Int(n))) => Ok(*n.inner()),
        _ => Err(plain_error(format!(
            "internal error: {} expects a literal",
            ftx.name
        ))),
    }
}

pub(crate) fn optional_none() -> Value {
    Value::Opaque(Arc::new(OptionalValue::none()))
}

pub(crate) fn optional_of(v: Value) -> Value {
    Value::Opaque(Arc::new(OptionalValue::of(v)))
}

/// `@path(root, flags, field…)`: `root.f1.f2…`, where `flags` has one character per field,
/// `.` for a plain selection and `?` for an optional one (`root.?f`).
fn path(ftx: &FunctionContext) -> ResolveResult {
    let v = navigate(ftx.args, ftx.ptx)?;
    Value::try_from(v.as_ref())
}

/// Resolves an argument expression. A field selection (`@path`) is followed in place, so
/// the selected value is borrowed from the input rather than copied twice through a
/// function result.
pub(crate) fn resolve<'a>(
    e: &'a IdedExpr,
    ctx: &'a Context<'a>,
) -> Result<Cow<'a, dyn Val>, ExecutionError> {
    match &e.expr {
        Expr::Call(c) if c.func_name == "@path" && c.target.is_none() => navigate(&c.args, ctx),
        _ => Value::resolve_val(e, ctx),
    }
}

/// `@path(root, flags, field…)` arguments to the value they select.
fn navigate<'a>(
    args: &'a [IdedExpr],
    ctx: &'a Context<'a>,
) -> Result<Cow<'a, dyn Val>, ExecutionError> {
    let Some(root) = args.first() else {
        return Err(plain_error("internal error: @path without arguments"));
    };
    let root = resolve(root, ctx)?;
    let out = |selected: Selected<'_>| -> Cow<'a, dyn Val> {
        match selected {
            Selected::Value(v, false) => Cow::Owned(v.clone_as_boxed()),
            Selected::Value(v, true) => {
                let b: Box<dyn Val> = Box::new(CelOptional::of(v.clone_as_boxed()));
                Cow::Owned(b)
            }
            Selected::None => {
                let b: Box<dyn Val> = Box::new(CelOptional::none());
                Cow::Owned(b)
            }
        }
    };
    match root {
        Cow::Borrowed(r) => match walk(r, args)? {
            Selected::Value(v, false) => Ok(Cow::Borrowed(v)),
            other => Ok(out(other)),
        },
        Cow::Owned(b) => Ok(out(walk(b.as_ref(), args)?)),
    }
}

enum Selected<'v> {
    /// The value, and whether the selection was optional (the result is `optional.of`).
    Value(&'v dyn Val, bool),
    /// An optional selection found nothing.
    None,
}

/// Follows `args[2..]` (flags in `args[1]`: `.` plain, `?` optional) from `root`.
fn walk<'v>(root: &'v dyn Val, args: &[IdedExpr]) -> Result<Selected<'v>, ExecutionError> {
    let lit = |i: usize| match args.get(i).map(|e| &e.expr) {
        Some(Expr::Literal(LiteralValue::String(s))) => Ok(s),
        _ => Err(plain_error("internal error: @path expects literal fields")),
    };
    let flags = lit(1)?.inner();
    let mut cur = root;
    let mut optional = false;
    if let Some(opt) = cur.downcast_ref::<CelOptional>() {
        optional = true;
        match opt.option() {
            Some(v) => cur = v,
            None => return Ok(Selected::None),
        }
    }
    for (i, flag) in flags.bytes().enumerate() {
        let key = lit(2 + i)?;
        optional |= flag == b'?';
        let found = match cur.downcast_ref::<CelMap>() {
            Some(m) => match (m as &dyn Val)
                .as_indexer()
                .map(|ix| ix.get(key as &dyn Val))
            {
                Some(Ok(Cow::Borrowed(v))) => Some(v),
                _ => None,
            },
            None => None,
        };
        match found {
            Some(v) => cur = v,
            None if optional => return Ok(Selected::None),
            None => return Err(ExecutionError::no_such_key(key.inner())),
        }
    }
    Ok(Selected::Value(cur, optional))
}

fn eq(ftx: &FunctionContext) -> ResolveResult {
    let a = arg(ftx, 0)?;
    let b = arg(ftx, 1)?;
    let mut work = 0;
    let r = equal(a.as_ref(), b.as_ref(), &mut work);
    if work > 8 {
        charge(work / 8)?;
    }
    Ok(Value::Bool(r))
}

fn ne(ftx: &FunctionContext) -> ResolveResult {
    match eq(ftx)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Ok(other),
    }
}

fn in_fn(ftx: &FunctionContext) -> ResolveResult {
    let elem = arg(ftx, 0)?;
    let coll = arg(ftx, 1)?;
    if let Some(list) = coll.downcast_ref::<CelList>() {
        charge(1 + list.inner().len() as u64 / 8)?;
        let mut work = 0;
        return Ok(Value::Bool(
            list.inner()
                .iter()
                .any(|x| equal(elem.as_ref(), x.as_ref(), &mut work)),
        ));
    }
    if coll.downcast_ref::<CelMap>().is_some() {
        if let Some(c) = coll.as_container() {
            return match c.contains(elem.as_ref()) {
                Ok(b) => Ok(Value::Bool(b)),
                Err(_) => Ok(Value::Bool(false)),
            };
        }
    }
    Err(no_overload("in", &[elem.as_ref(), coll.as_ref()]))
}

fn neg(ftx: &FunctionContext) -> ResolveResult {
    let v = arg(ftx, 0)?;
    if let Some(i) = v.downcast_ref::<CelInt>() {
        return i
            .inner()
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| plain_error("integer overflow in negation"));
    }
    if let Some(d) = v.downcast_ref::<CelDouble>() {
        return Ok(Value::Float(-*d.inner()));
    }
    match v.as_negator() {
        Some(n) => Value::try_from(n.negate()?.as_ref()),
        None => Err(no_overload("-_", &[v.as_ref()])),
    }
}

/// `@var(slot)`: `variables.<name>`, evaluated on first use and cached.
fn var(ftx: &FunctionContext) -> ResolveResult {
    let slot = literal_int(ftx, 0)?;
    let state = state_of(ftx.ptx)?;
    let Some(state) = state.downcast_ref::<EvalState>() else {
        return Err(plain_error("internal error: no evaluation state"));
    };
    state.variable(
        usize::try_from(slot).unwrap_or(usize::MAX),
        base_scope(ftx.ptx),
    )
}

pub(crate) fn no_overload(function: &str, args: &[&dyn Val]) -> ExecutionError {
    let types: Vec<String> = args.iter().map(|a| type_name(*a)).collect();
    plain_error(format!(
        "no matching overload for '{}' applied to '({})'",
        function.trim_start_matches('@'),
        types.join(", ")
    ))
}

/// The receiver of a method call, or the first argument of a global call, and the
/// remaining arguments.
fn receiver<'a>(
    ftx: &'a FunctionContext<'a, '_>,
) -> Result<(Cow<'a, dyn Val>, usize), ExecutionError> {
    match &ftx.this {
        Some(this) => {
            let b: Box<dyn Val> = this.clone().try_into()?;
            Ok((Cow::Owned(b), 0))
        }
        None => Ok((arg(ftx, 0)?, 1)),
    }
}

fn size(ftx: &FunctionContext) -> ResolveResult {
    let (v, first) = receiver(ftx)?;
    if ftx.args.len() != first {
        return Err(ExecutionError::invalid_argument_count(
            first,
            ftx.args.len(),
        ));
    }
    let n = if let Some(s) = v.downcast_ref::<CelString>() {
        charge(s.inner().len() as u64 / 100)?;
        s.inner().chars().count()
    } else if let Some(b) = v.downcast_ref::<CelBytes>() {
        b.inner().len()
    } else if let Some(l) = v.downcast_ref::<CelList>() {
        l.inner().len()
    } else if let Some(m) = v.downcast_ref::<CelMap>() {
        m.inner().len()
    } else {
        return Err(no_overload("size", &[v.as_ref()]));
    };
    Ok(Value::Int(n as i64))
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Result<regex::Regex, String>>> = RefCell::new(HashMap::new());
}

/// A compiled pattern from this thread's cache.
pub(crate) fn regex(pattern: &str) -> Result<regex::Regex, ExecutionError> {
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(r) = c.get(pattern) {
            return r.clone().map_err(plain_error);
        }
        if c.len() >= 256 {
            c.clear();
        }
        let r = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                format!(
                    "invalid regular expression {pattern:?}: {}",
                    e.to_string().lines().last().unwrap_or("")
                )
            });
        c.insert(pattern.to_string(), r.clone());
        r.map_err(plain_error)
    })
}

fn matches(ftx: &FunctionContext) -> ResolveResult {
    let (s, first) = receiver(ftx)?;
    let p = arg(ftx, first)?;
    let (Some(s), Some(p)) = (s.downcast_ref::<CelString>(), p.downcast_ref::<CelString>()) else {
        return Err(no_overload("matches", &[s.as_ref(), p.as_ref()]));
    };
    charge(1 + (s.inner().len() as u64 + p.inner().len() as u64) / 32)?;
    Ok(Value::Bool(regex(p.inner())?.is_match(s.inner())))
}

fn type_fn(ftx: &FunctionContext) -> ResolveResult {
    let v = arg(ftx, 0)?;
    if let Ok(Value::Opaque(o)) = Value::try_from(v.as_ref()) {
        if o.runtime_type_name() == "type" {
            return Ok(Value::Opaque(Arc::new(TypeValue("type".into()))));
        }
    }
    Ok(Value::Opaque(Arc::new(TypeValue(type_name(v.as_ref())))))
}

fn dyn_fn(ftx: &FunctionContext) -> ResolveResult {
    let v = arg(ftx, 0)?;
    Value::try_from(v.as_ref())
}

fn bool_fn(ftx: &FunctionContext) -> ResolveResult {
    let v = arg(ftx, 0)?;
    if let Ok(Value::Bool(b)) = Value::try_from(v.as_ref()) {
        return Ok(Value::Bool(b));
    }
    match v.downcast_ref::<CelString>().map(|s| s.inner()) {
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(Value::Bool(true)),
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(Value::Bool(false)),
        Some(other) => Err(plain_error(format!(
            "type conversion error from 'string' to 'bool': {other:?}"
        ))),
        None => Err(no_overload("bool", &[v.as_ref()])),
    }
}

/// Two resolved arguments.
type Pair<'a> = (Cow<'a, dyn Val>, Cow<'a, dyn Val>);

fn two_lists<'a>(ftx: &'a FunctionContext<'a, '_>, name: &str) -> Result<Pair<'a>, ExecutionError> {
    let a = arg(ftx, 0)?;
    let b = arg(ftx, 1)?;
    if a.downcast_ref::<CelList>().is_none() || b.downcast_ref::<CelList>().is_none() {
        return Err(no_overload(name, &[a.as_ref(), b.as_ref()]));
    }
    let n = list_len(a.as_ref()) as u64 * list_len(b.as_ref()) as u64;
    charge(1 + n / 8)?;
    Ok((a, b))
}

fn list_len(v: &dyn Val) -> usize {
    v.downcast_ref::<CelList>().map_or(0, |l| l.inner().len())
}

fn list_items(v: &dyn Val) -> &[Box<dyn Val>] {
    v.downcast_ref::<CelList>().map_or(&[], |l| l.inner())
}

/// Whether every element of `b` is in `a`.
fn contains_all(a: &dyn Val, b: &dyn Val) -> bool {
    let mut work = 0;
    list_items(b).iter().all(|y| {
        list_items(a)
            .iter()
            .any(|x| equal(x.as_ref(), y.as_ref(), &mut work))
    })
}

fn sets_contains(ftx: &FunctionContext) -> ResolveResult {
    let (a, b) = two_lists(ftx, "sets.contains")?;
    Ok(Value::Bool(contains_all(a.as_ref(), b.as_ref())))
}

fn sets_equivalent(ftx: &FunctionContext) -> ResolveResult {
    let (a, b) = two_lists(ftx, "sets.equivalent")?;
    Ok(Value::Bool(
        contains_all(a.as_ref(), b.as_ref()) && contains_all(b.as_ref(), a.as_ref()),
    ))
}

fn sets_intersects(ftx: &FunctionContext) -> ResolveResult {
    let (a, b) = two_lists(ftx, "sets.intersects")?;
    let mut work = 0;
    Ok(Value::Bool(list_items(b.as_ref()).iter().any(|y| {
        list_items(a.as_ref())
            .iter()
            .any(|x| equal(x.as_ref(), y.as_ref(), &mut work))
    })))
}
