//! Compiles rule conditions: macros inlined, lists expanded (recursively) into sets, fields
//! resolved against the rule's source with their arguments checked, operators and values
//! type-checked, exceptions turned into `and not (…)`. Compiled once; evaluated per event.

use crate::fields::{lookup, Arg, FieldDef, FieldType, SOURCES};
use crate::parse::{parse, Ast, Op, Value};
use crate::rules::{Diag, Exception, Level, Loc, RuleDef, RuleSet};
use regex::Regex;
use std::collections::{HashMap, HashSet};

/// A field's argument, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FArg {
    None,
    Index(usize),
    Key(String),
}

#[derive(Clone, Debug)]
pub enum Rhs {
    None,
    Str(String),
    Num(i64),
    /// `in`/`intersects` over strings (the set), in order for display.
    Set(HashSet<String>),
    NumSet(Vec<i64>),
    /// `pmatch` prefixes.
    Paths(Vec<String>),
    Regex(Regex),
    /// Networks for ipnet/ip fields: inclusive IPv4 ranges.
    Nets(Vec<(u32, u32)>),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct Check {
    pub def: &'static FieldDef,
    pub arg: FArg,
    pub op: Op,
    pub rhs: Rhs,
    /// Identical checks (the same macro inlined in many rules) share an id, so an event
    /// evaluates each at most once.
    pub id: usize,
}

#[derive(Clone, Debug)]
pub enum Expr {
    Const(bool),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Check(Box<Check>),
}

/// A part of a compiled output string.
#[derive(Clone, Debug)]
pub enum Part {
    Lit(String),
    Field {
        text: String,
        def: &'static FieldDef,
        arg: FArg,
    },
    Rule,
    Priority,
}

#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub rule: RuleDef,
    pub expr: Expr,
    pub output: Vec<Part>,
    /// `evt.type` values the condition requires (syscall rules), for the rule index.
    pub evt_types: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// Enabled rules, in load order.
    pub rules: Vec<CompiledRule>,
    pub diags: Vec<Diag>,
    pub rules_total: usize,
    /// Distinct checks over all enabled rules (the size of the per-event memo).
    pub checks: usize,
    pub rules_compiled: usize,
    pub rules_disabled: usize,
    pub macros_total: usize,
    pub macros_compiled: usize,
    pub lists_total: usize,
}

impl Compiled {
    pub fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
}

struct Ctx<'r> {
    set: &'r RuleSet,
    macro_asts: HashMap<String, Result<Ast, String>>,
}

const MAX_LIST_DEPTH: usize = 32;

impl Ctx<'_> {
    fn macro_ast(&mut self, name: &str) -> Option<Result<Ast, String>> {
        if let Some(a) = self.macro_asts.get(name) {
            return Some(a.clone());
        }
        let m = self.set.macro_def(name)?;
        let r = parse(&m.condition)
            .map_err(|e| format!("macro {name} ({}:{}): {e}", m.loc.file, m.loc.line));
        self.macro_asts.insert(name.to_string(), r.clone());
        Some(r)
    }

    /// Expands a value list: list names become their items, recursively.
    fn expand(&self, values: &[Value], out: &mut Vec<String>, depth: usize) -> Result<(), String> {
        if depth > MAX_LIST_DEPTH {
            return Err("lists nested too deeply (a list includes itself?)".into());
        }
        for v in values {
            if !v.quoted {
                if let Some(l) = self.set.list(&v.text) {
                    // Items are condition text: `'"10.0.0.0/8"'` in YAML is a quoted value.
                    let inner: Vec<Value> = l.items.iter().map(|t| list_item(t)).collect();
                    self.expand(&inner, out, depth + 1)?;
                    continue;
                }
            }
            out.push(v.text.clone());
        }
        Ok(())
    }

    /// Inlines macros; `stack` detects cycles.
    fn inline(&mut self, ast: &Ast, stack: &mut Vec<String>) -> Result<Ast, String> {
        Ok(match ast {
            Ast::And(v) => Ast::And(
                v.iter()
                    .map(|a| self.inline(a, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Or(v) => Ast::Or(
                v.iter()
                    .map(|a| self.inline(a, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Not(a) => Ast::Not(Box::new(self.inline(a, stack)?)),
            Ast::Macro(name) => {
                if stack.iter().any(|s| s == name) {
                    return Err(format!(
                        "macro {name} includes itself ({})",
                        stack.join(" → ")
                    ));
                }
                if stack.len() > 64 {
                    return Err("macros nested too deeply".into());
                }
                let Some(m) = self.macro_ast(name) else {
                    return Err(format!("undefined macro {name}"));
                };
                let m = m?;
                stack.push(name.clone());
                let r = self.inline(&m, stack);
                stack.pop();
                r?
            }
            c @ Ast::Check { .. } => c.clone(),
        })
    }

    fn check(
        &self,
        source: &str,
        field: &str,
        arg: &Option<String>,
        op: &Op,
        values: &[Value],
        list: bool,
    ) -> Result<Check, String> {
        let Some((def, implied)) = lookup(source, field) else {
            let other: Vec<&str> = SOURCES
                .iter()
                .copied()
                .filter(|s| *s != source && lookup(s, field).is_some())
                .collect();
            return Err(if other.is_empty() {
                format!("unknown field {field}")
            } else {
                format!(
                    "field {field} belongs to source {} (the rule's source is {source})",
                    other.join(", ")
                )
            });
        };
        let arg_text = arg.clone().or(implied);
        let farg = match (def.arg, &arg_text) {
            (Arg::None, Some(a)) => {
                return Err(format!("field {field} takes no argument (got [{a}])"))
            }
            (Arg::None, None) | (Arg::Index | Arg::Key, None) => FArg::None,
            (Arg::KeyRequired | Arg::Pointer, None) => {
                return Err(format!("field {field} needs an argument: {field}[…]"))
            }
            (Arg::Index, Some(a)) => match a.trim().parse::<usize>() {
                Ok(i) => FArg::Index(i),
                Err(_) => return Err(format!("field {field} takes a numeric index, not [{a}]")),
            },
            (Arg::Pointer, Some(a)) => {
                if !a.is_empty() && !a.starts_with('/') {
                    return Err(format!("{field}[{a}]: a JSON pointer starts with /"));
                }
                FArg::Key(a.clone())
            }
            (Arg::Key | Arg::KeyRequired, Some(a)) => FArg::Key(a.clone()),
        };
        if *op == Op::Exists {
            return Ok(Check {
                def,
                arg: farg,
                op: Op::Exists,
                rhs: Rhs::None,
                id: 0,
            });
        }
        let mut items = Vec::new();
        self.expand(values, &mut items, 0)?;
        if list && !op.takes_list() && items.len() != 1 {
            return Err(format!(
                "operator {} takes one value, not a list",
                op.as_str()
            ));
        }
        let ty = def.ty;
        let bad_op = || {
            format!(
                "operator {} cannot be used with field {field} of type {}",
                op.as_str(),
                ty.as_str()
            )
        };
        let num = |s: &str| -> Result<i64, String> {
            s.trim()
                .parse::<i64>()
                .or_else(|_| s.trim().parse::<u64>().map(|u| u as i64))
                .map_err(|_| {
                    format!(
                        "type mismatch: {s:?} is not a number (field {field} is {})",
                        ty.as_str()
                    )
                })
        };
        let rhs = match ty {
            t if t.numeric() => match op {
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => Rhs::Num(num(&items[0])?),
                Op::In | Op::Intersects => {
                    Rhs::NumSet(items.iter().map(|s| num(s)).collect::<Result<_, _>>()?)
                }
                _ => return Err(bad_op()),
            },
            FieldType::Bool => {
                let b = |s: &str| match s.trim() {
                    "true" | "1" => Ok("true".to_string()),
                    "false" | "0" => Ok("false".to_string()),
                    o => Err(format!(
                        "type mismatch: {o:?} is not a boolean (field {field})"
                    )),
                };
                match op {
                    Op::Eq | Op::Ne => Rhs::Str(b(&items[0])?),
                    Op::In | Op::Intersects => {
                        Rhs::Set(items.iter().map(|s| b(s)).collect::<Result<_, _>>()?)
                    }
                    _ => return Err(bad_op()),
                }
            }
            FieldType::IpNet | FieldType::Ip
                if matches!(op, Op::In | Op::Intersects | Op::Eq | Op::Ne)
                    && ty == FieldType::IpNet =>
            {
                let nets = items.iter().map(|s| parse_net(s).ok_or_else(|| format!("type mismatch: {s:?} is not an IPv4 address or network (field {field})"))).collect::<Result<_, _>>()?;
                Rhs::Nets(nets)
            }
            FieldType::Bytes => match op {
                Op::BContains | Op::BStartsWith => Rhs::Bytes(hex(&items[0]).ok_or_else(|| {
                    format!("{} needs hex bytes, not {:?}", op.as_str(), items[0])
                })?),
                Op::Contains | Op::StartsWith | Op::Eq | Op::Ne | Op::EndsWith | Op::IContains => {
                    Rhs::Str(items[0].clone())
                }
                _ => return Err(bad_op()),
            },
            _ => match op {
                Op::Lt | Op::Le | Op::Gt | Op::Ge => return Err(bad_op()),
                Op::BContains | Op::BStartsWith => Rhs::Bytes(hex(&items[0]).ok_or_else(|| {
                    format!("{} needs hex bytes, not {:?}", op.as_str(), items[0])
                })?),
                Op::In | Op::Intersects => Rhs::Set(items.into_iter().collect()),
                Op::PMatch => Rhs::Paths(items),
                Op::Regex => Rhs::Regex(
                    Regex::new(&items[0]).map_err(|e| format!("bad regex {:?}: {e}", items[0]))?,
                ),
                Op::IContains => Rhs::Str(items[0].to_lowercase()),
                _ => Rhs::Str(items[0].clone()),
            },
        };
        Ok(Check {
            def,
            arg: farg,
            op: op.clone(),
            rhs,
            id: 0,
        })
    }

    fn lower(&self, source: &str, ast: &Ast, errs: &mut Vec<String>) -> Expr {
        match ast {
            Ast::And(v) => Expr::And(v.iter().map(|a| self.lower(source, a, errs)).collect()),
            Ast::Or(v) => Expr::Or(v.iter().map(|a| self.lower(source, a, errs)).collect()),
            Ast::Not(a) => Expr::Not(Box::new(self.lower(source, a, errs))),
            Ast::Macro(m) => {
                errs.push(format!("undefined macro {m}"));
                Expr::Const(false)
            }
            Ast::Check {
                field,
                arg,
                op,
                values,
                list,
            } => match self.check(source, field, arg, op, values, *list) {
                Ok(c) => Expr::Check(Box::new(c)),
                Err(e) => {
                    if !errs.contains(&e) {
                        errs.push(e);
                    }
                    Expr::Const(false)
                }
            },
        }
    }
}

fn list_item(t: &str) -> Value {
    let s = t.trim();
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        return Value {
            text: s[1..s.len() - 1].to_string(),
            quoted: true,
        };
    }
    Value {
        text: s.to_string(),
        quoted: false,
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// An IPv4 address or CIDR as an inclusive range.
pub fn parse_net(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u32>().ok().filter(|l| *l <= 32)?),
        None => (s, 32),
    };
    let ip: std::net::Ipv4Addr = a.parse().ok()?;
    let ip = u32::from(ip);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((ip & mask, (ip & mask) | !mask))
}

fn exception_ast(e: &Exception) -> Option<Ast> {
    let val = |t: &str| Value {
        text: t.to_string(),
        quoted: false,
    };
    let cmp = |field: &str, comp: &str, v: &[String]| -> Option<Ast> {
        let op = Op::parse(comp.trim())?;
        if op == Op::Exists {
            return Some(Ast::Check {
                field: field.to_string(),
                arg: None,
                op,
                values: vec![],
                list: false,
            });
        }
        let list = op.takes_list() || v.len() != 1;
        Some(Ast::Check {
            field: field.to_string(),
            arg: None,
            op,
            values: v.iter().map(|s| val(s)).collect(),
            list,
        })
    };
    // Fields with an argument (`proc.aname[2]`) keep it.
    let split = |f: &str| -> (String, Option<String>) {
        match f.strip_suffix(']').and_then(|x| x.split_once('[')) {
            Some((n, a)) => (n.to_string(), Some(a.to_string())),
            None => (f.to_string(), None),
        }
    };
    let with_arg = |a: Ast, arg: Option<String>| match a {
        Ast::Check {
            field,
            op,
            values,
            list,
            ..
        } => Ast::Check {
            field,
            arg,
            op,
            values,
            list,
        },
        o => o,
    };
    let mut rows = Vec::new();
    if e.tuple {
        for row in &e.values {
            let mut and = Vec::new();
            for ((f, c), v) in e.fields.iter().zip(&e.comps).zip(row) {
                let (f, arg) = split(f);
                and.push(with_arg(cmp(&f, c, std::slice::from_ref(v))?, arg));
            }
            rows.push(Ast::And(and));
        }
    } else {
        let f = e.fields.first()?;
        let (f, arg) = split(f);
        let c = e.comps.first().map(String::as_str).unwrap_or("=");
        for row in &e.values {
            rows.push(with_arg(cmp(&f, c, row)?, arg.clone()));
        }
    }
    if rows.is_empty() {
        return None;
    }
    Some(Ast::Or(rows))
}

/// Parses an output string: `%field`, `%field[arg]`, `%rule`, `%priority`.
fn compile_output(source: &str, text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
                j += 1;
            }
            // A trailing dot is punctuation, not part of the field.
            while j > start && b[j - 1] == b'.' {
                j -= 1;
            }
            if j == start {
                lit.push('%');
                i += 1;
                continue;
            }
            let name = &text[start..j];
            let mut arg = None;
            let mut end = j;
            if b.get(j) == Some(&b'[') {
                if let Some(k) = text[j..].find(']') {
                    arg = Some(text[j + 1..j + k].to_string());
                    end = j + k + 1;
                }
            }
            let part = match name {
                "rule" => Part::Rule,
                "priority" => Part::Priority,
                _ => {
                    let Some((def, implied)) = lookup(source, name) else {
                        return Err(format!("output: unknown field %{name}"));
                    };
                    let a = arg.clone().or(implied);
                    let farg = match (def.arg, a) {
                        (_, None) => FArg::None,
                        (Arg::Index, Some(x)) => FArg::Index(
                            x.parse()
                                .map_err(|_| format!("output: %{name} takes a numeric index"))?,
                        ),
                        (Arg::None, Some(x)) => {
                            return Err(format!("output: %{name} takes no argument (got [{x}])"))
                        }
                        (_, Some(x)) => FArg::Key(x),
                    };
                    if matches!(def.arg, Arg::KeyRequired | Arg::Pointer) && farg == FArg::None {
                        return Err(format!("output: %{name} needs an argument"));
                    }
                    Part::Field {
                        text: text[start..end].to_string(),
                        def,
                        arg: farg,
                    }
                }
            };
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(part);
            i = end;
        } else {
            let ch_len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            lit.push_str(&text[i..i + ch_len]);
            i += ch_len;
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// The `evt.type` values a syscall condition requires, when its top level says so.
fn evt_types(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Check(c) if c.def.name == "evt.type" => match (&c.op, &c.rhs) {
            (Op::Eq, Rhs::Str(s)) => Some(vec![s.clone()]),
            (Op::In, Rhs::Set(s)) => Some(s.iter().cloned().collect()),
            _ => None,
        },
        Expr::And(v) => v.iter().find_map(evt_types),
        Expr::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                all.extend(evt_types(x)?);
            }
            Some(all)
        }
        _ => None,
    }
}

pub fn compile(set: &RuleSet) -> Compiled {
    let mut out = Compiled {
        diags: set.diags.clone(),
        lists_total: set.lists.len(),
        macros_total: set.macros.len(),
        ..Compiled::default()
    };
    let mut ctx = Ctx {
        set,
        macro_asts: HashMap::new(),
    };
    // Macros on their own: inlined and checked against the source their fields belong to.
    for m in &set.macros {
        let ast = match ctx.macro_ast(&m.name) {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                out.diags.push(Diag {
                    level: Level::Error,
                    loc: m.loc.clone(),
                    item: Some(format!("macro {}", m.name)),
                    message: e,
                });
                continue;
            }
            None => continue,
        };
        let inlined = match ctx.inline(&ast, &mut vec![m.name.clone()]) {
            Ok(a) => a,
            Err(e) => {
                out.diags.push(Diag {
                    level: Level::Error,
                    loc: m.loc.clone(),
                    item: Some(format!("macro {}", m.name)),
                    message: e,
                });
                continue;
            }
        };
        let mut best: Option<Vec<String>> = None;
        for s in SOURCES {
            let mut errs = Vec::new();
            ctx.lower(s, &inlined, &mut errs);
            if errs.is_empty() {
                best = Some(Vec::new());
                break;
            }
            if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                best = Some(errs);
            }
        }
        match best {
            Some(e) if e.is_empty() => out.macros_compiled += 1,
            Some(errs) => {
                for e in errs {
                    out.diags.push(Diag {
                        level: Level::Error,
                        loc: m.loc.clone(),
                        item: Some(format!("macro {}", m.name)),
                        message: e,
                    });
                }
            }
            None => {}
        }
    }
    for r in &set.rules {
        out.rules_total += 1;
        let item = Some(format!("rule {}", r.name));
        let loc: Loc = r.loc.clone();
        if crate::fields::table(&r.source).is_none() {
            out.diags.push(Diag {
                level: Level::Error,
                loc,
                item,
                message: format!(
                    "unknown source {:?} (known: {})",
                    r.source,
                    SOURCES.join(", ")
                ),
            });
            continue;
        }
        let ast = match parse(&r.condition) {
            Ok(a) => a,
            Err(e) => {
                out.diags.push(Diag {
                    level: Level::Error,
                    loc,
                    item,
                    message: format!("condition: {e}"),
                });
                continue;
            }
        };
        let mut full = match ctx.inline(&ast, &mut Vec::new()) {
            Ok(a) => a,
            Err(e) => {
                out.diags.push(Diag {
                    level: Level::Error,
                    loc,
                    item,
                    message: e,
                });
                continue;
            }
        };
        let mut ex_errs = Vec::new();
        let ex: Vec<Ast> = r
            .exceptions
            .iter()
            .filter_map(|e| {
                let a = exception_ast(e);
                if a.is_none() && !e.values.is_empty() {
                    ex_errs.push(format!("exception {:?}: bad fields or comps", e.name));
                }
                a
            })
            .collect();
        if !ex.is_empty() {
            full = Ast::And(vec![full, Ast::Not(Box::new(Ast::Or(ex)))]);
        }
        let mut errs = ex_errs;
        let expr = ctx.lower(&r.source, &full, &mut errs);
        let output = match compile_output(&r.source, &r.output) {
            Ok(p) => p,
            Err(e) => {
                errs.push(e);
                Vec::new()
            }
        };
        if !errs.is_empty() {
            let unknown_only = errs
                .iter()
                .all(|e| e.starts_with("unknown field") || e.starts_with("output: unknown field"));
            let level = if r.skip_if_unknown_filter && unknown_only {
                Level::Warning
            } else {
                Level::Error
            };
            for e in errs {
                let message = if level == Level::Warning {
                    format!("{e}; rule skipped (skip-if-unknown-filter)")
                } else {
                    e
                };
                out.diags.push(Diag {
                    level,
                    loc: loc.clone(),
                    item: item.clone(),
                    message,
                });
            }
            continue;
        }
        out.rules_compiled += 1;
        if !r.enabled {
            out.rules_disabled += 1;
            continue;
        }
        let evt_types = if r.source == "syscall" {
            evt_types(&expr)
        } else {
            None
        };
        out.rules.push(CompiledRule {
            rule: r.clone(),
            expr,
            output,
            evt_types,
        });
    }
    let mut ids: HashMap<String, usize> = HashMap::new();
    for r in &mut out.rules {
        number(&mut r.expr, &r.rule.source, &mut ids);
    }
    out.checks = ids.len();
    out
}

/// Gives identical checks the same id.
fn number(e: &mut Expr, source: &str, ids: &mut HashMap<String, usize>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|x| number(x, source, ids)),
        Expr::Not(x) => number(x, source, ids),
        Expr::Const(_) => {}
        Expr::Check(c) => {
            let key = format!(
                "{source}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{}",
                c.def.name,
                c.arg,
                c.op,
                rhs_key(&c.rhs)
            );
            let n = ids.len();
            c.id = *ids.entry(key).or_insert(n);
        }
    }
}

fn rhs_key(r: &Rhs) -> String {
    match r {
        Rhs::Set(s) => {
            let mut v: Vec<&String> = s.iter().collect();
            v.sort();
            format!("set{v:?}")
        }
        Rhs::Regex(re) => format!("re{}", re.as_str()),
        other => format!("{other:?}"),
    }
}
