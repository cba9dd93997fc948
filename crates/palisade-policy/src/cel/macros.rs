//! The comprehension macros as native loops.
//!
//! Every function here is called by the lowering pass with the arguments
//! `[cost, range, var…, body…]`: `cost` is the literal cost charged per iteration (the body's
//! node count), `range` the list or map iterated, `var…` the loop variable identifiers and
//! `body…` the unevaluated expressions. Error handling follows cel-go: `all` is false if any
//! element is false even when others fail, `exists` true if any is true; otherwise an error
//! from any element is the result. `exists_one`, `map`, `filter` and the transforms fail on
//! the first error.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::cel::common::ast::{Expr, IdedExpr};
use kube_cel::cel::common::types::{CelBool, CelList, CelMap, CelOptional};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::objects::{Key, Map};
use kube_cel::cel::{Context, ExecutionError, FunctionContext, ResolveResult, Value};

use super::functions::{arg, literal_int, no_overload, optional_none, optional_of, resolve};
use super::runtime::{charge, plain_error, set_scope_variable};

pub(crate) fn register(ctx: &mut Context<'_>) {
    ctx.add_function("@all", |f: &FunctionContext| {
        quantifier(f, 1, Quantifier::All)
    });
    ctx.add_function("@exists", |f: &FunctionContext| {
        quantifier(f, 1, Quantifier::Exists)
    });
    ctx.add_function("@exists_one", |f: &FunctionContext| {
        quantifier(f, 1, Quantifier::ExistsOne)
    });
    ctx.add_function("@all2", |f: &FunctionContext| {
        quantifier(f, 2, Quantifier::All)
    });
    ctx.add_function("@exists2", |f: &FunctionContext| {
        quantifier(f, 2, Quantifier::Exists)
    });
    ctx.add_function("@exists_one2", |f: &FunctionContext| {
        quantifier(f, 2, Quantifier::ExistsOne)
    });
    ctx.add_function("@map", |f: &FunctionContext| {
        transform(f, 1, false, Output::List)
    });
    ctx.add_function("@mapf", |f: &FunctionContext| {
        transform(f, 1, true, Output::List)
    });
    ctx.add_function("@transformList", |f: &FunctionContext| {
        transform(f, 2, false, Output::List)
    });
    ctx.add_function("@transformListF", |f: &FunctionContext| {
        transform(f, 2, true, Output::List)
    });
    ctx.add_function("@transformMap", |f: &FunctionContext| {
        transform(f, 2, false, Output::Map)
    });
    ctx.add_function("@transformMapF", |f: &FunctionContext| {
        transform(f, 2, true, Output::Map)
    });
    ctx.add_function("@transformMapEntry", |f: &FunctionContext| {
        transform(f, 2, false, Output::Entries)
    });
    ctx.add_function("@transformMapEntryF", |f: &FunctionContext| {
        transform(f, 2, true, Output::Entries)
    });
    ctx.add_function("@sortBy", sort_by);
    ctx.add_function("@optMap", |f: &FunctionContext| opt_map(f, false));
    ctx.add_function("@optFlatMap", |f: &FunctionContext| opt_map(f, true));
}

fn ident_at<'a>(ftx: &'a FunctionContext<'_, '_>, i: usize) -> Result<&'a str, ExecutionError> {
    match ftx.args.get(i).map(|e| &e.expr) {
        Some(Expr::Ident(n)) => Ok(n),
        _ => Err(plain_error(format!(
            "internal error: {} expects a variable name",
            ftx.name
        ))),
    }
}

fn body_at<'a>(ftx: &'a FunctionContext<'_, '_>, i: usize) -> Result<&'a IdedExpr, ExecutionError> {
    ftx.args
        .get(i)
        .ok_or_else(|| plain_error(format!("internal error: {} lacks its body", ftx.name)))
}

/// The (first, second) loop values of every element: for one variable the list element or
/// map key; for two, (index, element) or (key, value).
/// One iteration's loop values.
type Element<'a> = (Box<dyn Val>, Option<&'a dyn Val>);

fn elements(range: &dyn Val, vars: usize) -> Result<Vec<Element<'_>>, ExecutionError> {
    if let Some(l) = range.downcast_ref::<CelList>() {
        return Ok(l
            .inner()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if vars == 1 {
                    (v.clone_as_boxed(), None)
                } else {
                    let idx: Box<dyn Val> =
                        Box::new(kube_cel::cel::common::types::CelInt::from(i as i64));
                    (idx, Some(v.as_ref()))
                }
            })
            .collect());
    }
    if let Some(m) = range.downcast_ref::<CelMap>() {
        return Ok(m
            .inner()
            .iter()
            .map(|(k, v)| {
                (
                    k.inner().clone_as_boxed(),
                    (vars == 2).then_some(v.as_ref()),
                )
            })
            .collect());
    }
    Err(no_overload("comprehension", &[range]))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quantifier {
    All,
    Exists,
    ExistsOne,
}

fn quantifier(ftx: &FunctionContext, vars: usize, q: Quantifier) -> ResolveResult {
    let cost = literal_int(ftx, 0)?.max(1) as u64;
    let range = arg(ftx, 1)?;
    let names: Vec<&str> = (0..vars)
        .map(|i| ident_at(ftx, 2 + i))
        .collect::<Result<_, _>>()?;
    let body = body_at(ftx, 2 + vars)?;
    let items = elements(range.as_ref(), vars)?;
    let mut scope = ftx.ptx.new_inner_scope();
    let mut error: Option<ExecutionError> = None;
    let mut count = 0u64;
    for (first, second) in items {
        charge(cost)?;
        set_scope_variable(&mut scope, names[0], first);
        if let Some(second) = second {
            set_scope_variable(&mut scope, names[1], second.clone_as_boxed());
        }
        let r = match resolve(body, &scope) {
            Ok(v) => v
                .downcast_ref::<CelBool>()
                .map(|b| *b.inner())
                .ok_or_else(|| {
                    plain_error(format!(
                        "no matching overload: predicate returned {}",
                        super::value::type_name(v.as_ref())
                    ))
                }),
            Err(e) => Err(e),
        };
        match (q, r) {
            (Quantifier::All, Ok(false)) => return Ok(Value::Bool(false)),
            (Quantifier::Exists, Ok(true)) => return Ok(Value::Bool(true)),
            (Quantifier::ExistsOne, Ok(true)) => count += 1,
            (Quantifier::ExistsOne, Err(e)) => return Err(e),
            (_, Ok(_)) => {}
            (_, Err(e)) => {
                error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(Value::Bool(match q {
        Quantifier::All => true,
        Quantifier::Exists => false,
        Quantifier::ExistsOne => count == 1,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    List,
    Map,
    Entries,
}

fn transform(ftx: &FunctionContext, vars: usize, filtered: bool, out: Output) -> ResolveResult {
    let cost = literal_int(ftx, 0)?.max(1) as u64;
    let range = arg(ftx, 1)?;
    let names: Vec<&str> = (0..vars)
        .map(|i| ident_at(ftx, 2 + i))
        .collect::<Result<_, _>>()?;
    let filter = if filtered {
        Some(body_at(ftx, 2 + vars)?)
    } else {
        None
    };
    let body = body_at(ftx, 2 + vars + usize::from(filtered))?;
    let items = elements(range.as_ref(), vars)?;
    let mut scope = ftx.ptx.new_inner_scope();
    let mut list: Vec<Value> = Vec::new();
    let mut map: HashMap<Key, Value> = HashMap::new();
    for (first, second) in items {
        charge(cost)?;
        let key = if out == Output::Map {
            Some(map_key(first.as_ref())?)
        } else {
            None
        };
        set_scope_variable(&mut scope, names[0], first);
        if let Some(second) = second {
            set_scope_variable(&mut scope, names[1], second.clone_as_boxed());
        }
        if let Some(filter) = filter {
            let keep = resolve(filter, &scope)?;
            match keep.downcast_ref::<CelBool>() {
                Some(b) if *b.inner() => {}
                Some(_) => continue,
                None => return Err(no_overload("filter", &[keep.as_ref()])),
            }
        }
        let v = Value::resolve(body, &scope)?;
        match out {
            Output::List => list.push(v),
            Output::Map => {
                if let Some(k) = key {
                    map.insert(k, v);
                }
            }
            Output::Entries => match v {
                Value::Map(m) => {
                    for (k, v) in m.map.iter() {
                        if map.insert(k.clone(), v.clone()).is_some() {
                            return Err(plain_error(format!(
                                "insert failed: key {} already exists",
                                super::value::to_json(&Value::from(k))
                            )));
                        }
                    }
                }
                other => {
                    let b: Box<dyn Val> = other.try_into()?;
                    return Err(no_overload("transformMapEntry", &[b.as_ref()]));
                }
            },
        }
    }
    Ok(match out {
        Output::List => Value::List(Arc::new(list)),
        Output::Map | Output::Entries => Value::Map(Map { map: Arc::new(map) }),
    })
}

fn map_key(v: &dyn Val) -> Result<Key, ExecutionError> {
    match Value::try_from(v)? {
        Value::Int(i) => Ok(Key::Int(i)),
        Value::UInt(u) => Ok(Key::Uint(u)),
        Value::Bool(b) => Ok(Key::Bool(b)),
        Value::String(s) => Ok(Key::String(s)),
        _ => Err(no_overload("map key", &[v])),
    }
}

/// `list.sortBy(x, key)`: the list ordered by `key` (stable).
fn sort_by(ftx: &FunctionContext) -> ResolveResult {
    let cost = literal_int(ftx, 0)?.max(1) as u64;
    let range = arg(ftx, 1)?;
    let name = ident_at(ftx, 2)?;
    let body = body_at(ftx, 3)?;
    let Some(list) = range.downcast_ref::<CelList>() else {
        return Err(no_overload("sortBy", &[range.as_ref()]));
    };
    let mut scope = ftx.ptx.new_inner_scope();
    let mut keyed: Vec<(Box<dyn Val>, usize)> = Vec::with_capacity(list.inner().len());
    for (i, item) in list.inner().iter().enumerate() {
        charge(cost)?;
        set_scope_variable(&mut scope, name, item.clone_as_boxed());
        keyed.push((Value::resolve_val(body, &scope)?.into_owned(), i));
    }
    charge(keyed.len() as u64)?;
    let mut error = None;
    keyed.sort_by(
        |(a, _), (b, _)| match a.as_comparer().map(|c| c.compare(b.as_ref())) {
            Some(Ok(o)) => o,
            _ => {
                error.get_or_insert_with(|| no_overload("sortBy", &[a.as_ref(), b.as_ref()]));
                Ordering::Equal
            }
        },
    );
    if let Some(e) = error {
        return Err(e);
    }
    let out: Vec<Value> = keyed
        .iter()
        .map(|(_, i)| Value::try_from(list.inner()[*i].as_ref()))
        .collect::<Result<_, _>>()?;
    Ok(Value::List(Arc::new(out)))
}

/// `opt.optMap(x, expr)` and `opt.optFlatMap(x, expr)`.
fn opt_map(ftx: &FunctionContext, flat: bool) -> ResolveResult {
    let target = arg(ftx, 1)?;
    let name = ident_at(ftx, 2)?;
    let body = body_at(ftx, 3)?;
    let Some(opt) = target.downcast_ref::<CelOptional>() else {
        return Err(no_overload(
            if flat { "optFlatMap" } else { "optMap" },
            &[target.as_ref()],
        ));
    };
    let Some(inner) = opt.option() else {
        return Ok(optional_none());
    };
    let mut scope = ftx.ptx.new_inner_scope();
    set_scope_variable(&mut scope, name, inner.clone_as_boxed());
    let v = Value::resolve(body, &scope)?;
    if !flat {
        return Ok(optional_of(v));
    }
    match &v {
        Value::Opaque(o) if o.runtime_type_name() == "optional_type" => Ok(v),
        other => {
            let b: Box<dyn Val> = other.clone().try_into()?;
            Err(no_overload("optFlatMap", &[b.as_ref()]))
        }
    }
}
