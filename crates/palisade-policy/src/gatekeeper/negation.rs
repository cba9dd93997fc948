//! `not` as OPA compiles it, applied to a module before regorus sees it.
//!
//! OPA rewrites every body before evaluation (`RewriteExprTerms` in `ast/compile.go`): a
//! call nested inside an expression's arguments (`g(x)` in `f(g(x))`, `count(x)` in
//! `count(x) > 0`, `a + b` in `a + b == c`, a call inside an array or object argument or
//! a ref's brackets) is taken out into a generated assignment placed *before* the
//! expression, and the expression reads the generated variable. It does this for negated
//! expressions too, so in OPA
//!
//! ```rego
//! not allowed(lower(input.parameters.missing))
//! ```
//!
//! is `__local0__ = lower(input.parameters.missing); not allowed(__local0__)`: the
//! assignment fails when the parameter is undefined, and so does the whole body. regorus
//! evaluates the nested call inside the negation, where undefined makes `not` true. A
//! template that relies on OPA's behaviour (a constraint leaving a parameter out) then
//! reports a violation that Gatekeeper does not. [`rewrite_negations`] rewrites the
//! source the way OPA rewrites the AST, in general: every negated expression of every
//! body (rules, functions, `else`, comprehensions, `every`) in every module.
//!
//! Refs stay where they are: `not f(input.parameters.missing)` is the negation of an
//! undefined call, true in both engines.
//!
//! OPA also refuses, at compile time, a variable that appears only inside a negated
//! expression (`not input.xs[_] == "a"`, `not input.xs[i] == "a"` with `i` bound nowhere
//! else): a negation cannot bind. regorus accepts such a body and hoists the iteration
//! out of the `not`, which turns "no element is `a`" into "some element is not `a`".
//! [`rewrite_negations`] also lists them, so the template fails to load as it does in
//! Gatekeeper.
//!
//! One more difference is mended on the way: in `not f(x, out)` (an output argument to
//! compare), regorus takes an undefined `f(x)` and an undefined `out` for equal; OPA's
//! comparison is undefined, so the negation holds. Such a call is written
//! `not f(x) == out`, which regorus evaluates as OPA does.
//!
//! All of this works on regorus's own parse of the module (`regorus::unstable`), and the rewrite
//! keeps every line where it was unless a moved call spans several lines.

use regorus::unstable::{
    Expr, ExprRef, Literal, LiteralStmt, Parser, Query, Rule, RuleHead, Source,
};
use std::collections::{HashMap, HashSet};

/// Prefix of the variables that hold hoisted calls.
const HOIST_PREFIX: &str = "__palisade_not";

/// Rewrites are applied pass by pass (a negation nested inside a call that another
/// negation moves is handled in the next pass); this bounds the passes.
const MAX_PASSES: usize = 8;

/// A variable OPA refuses inside a negated expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnsafeVar {
    /// 1-based line and column in the module text.
    pub line: u32,
    pub col: u32,
    pub name: String,
}

fn parse(text: &str, v1: bool) -> Option<regorus::unstable::Module> {
    let source = Source::from_contents("negation.rego".to_string(), text.to_string()).ok()?;
    let mut parser = Parser::new(&source).ok()?;
    if v1 {
        parser.enable_rego_v1().ok()?;
    }
    parser.parse().ok()
}

/// A module after [`rewrite_negations`].
pub(crate) struct Rewritten {
    /// The text to give regorus.
    pub text: String,
    /// The variables OPA would refuse ([`unsafe_vars`]), in the rewritten text.
    pub unsafe_vars: Vec<UnsafeVar>,
}

/// Takes every call nested inside a negated expression out into an assignment before
/// it, as OPA's compiler does, and finds the variables OPA would then refuse. A module
/// that does not parse is returned unchanged (regorus reports the error when it is
/// added). An unchanged module is parsed once, a rewritten one once more per pass.
pub(crate) fn rewrite_negations(src: &str, v1: bool) -> Rewritten {
    let mut text = src.to_string();
    for pass in 0..MAX_PASSES {
        let Some(module) = parse(&text, v1) else {
            break;
        };
        let mut planner = Planner {
            pass,
            counter: 0,
            edits: Vec::new(),
            arity: function_arity(&module),
            outputs: Vec::new(),
        };
        for rule in &module.policy {
            planner.rule(rule);
        }
        if planner.edits.is_empty() {
            let unsafe_vars = unsafe_vars(&module);
            let text = apply(&text, planner.outputs);
            return Rewritten { text, unsafe_vars };
        }
        text = apply(&text, planner.edits);
    }
    let unsafe_vars = parse(&text, v1)
        .map(|m| unsafe_vars(&m))
        .unwrap_or_default();
    Rewritten { text, unsafe_vars }
}

/// `text` with disjoint `edits` applied.
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    if edits.is_empty() {
        return text.to_string();
    }
    edits.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(text.len() + 64 * edits.len());
    let mut at = 0usize;
    for e in &edits {
        if e.start < at {
            continue;
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.replacement);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The module's functions and their number of parameters, under their own name and
/// `data.<package>.<name>`.
fn function_arity(module: &regorus::unstable::Module) -> HashMap<String, usize> {
    let package = module.package.refr.span().text();
    let mut out = HashMap::new();
    for rule in &module.policy {
        if let Rule::Spec {
            head: RuleHead::Func { refr, args, .. },
            ..
        } = rule.as_ref()
        {
            let name = refr.span().text();
            out.insert(name.to_string(), args.len());
            out.insert(format!("data.{package}.{name}"), args.len());
        }
    }
    out
}

/// One replaced statement: `[start, end)` of the text.
struct Edit {
    start: usize,
    end: usize,
    replacement: String,
}

struct Planner {
    pass: usize,
    counter: usize,
    edits: Vec<Edit>,
    /// Arity of the module's own functions, by the names a call in it may use.
    arity: HashMap<String, usize>,
    /// Negated calls with an output argument, `not f(x, out)`, as `not f(x) == out`
    /// (applied once no call is left to move).
    outputs: Vec<Edit>,
}

impl Planner {
    fn rule(&mut self, rule: &Rule) {
        match rule {
            Rule::Spec { head, bodies, .. } => {
                self.head(head);
                for body in bodies {
                    if let Some(assign) = &body.assign {
                        self.closures(&assign.value);
                    }
                    self.query(&body.query, true);
                }
            }
            Rule::Default { value, .. } => self.closures(value),
        }
    }

    fn head(&mut self, head: &RuleHead) {
        match head {
            RuleHead::Compr { assign, .. } => {
                if let Some(a) = assign {
                    self.closures(&a.value);
                }
            }
            RuleHead::Set { key, .. } => {
                if let Some(k) = key {
                    self.closures(k);
                }
            }
            RuleHead::Func { args, assign, .. } => {
                for a in args {
                    self.closures(a);
                }
                if let Some(a) = assign {
                    self.closures(&a.value);
                }
            }
        }
    }

    /// `rule_body`: the query is a rule's body, which in Rego v1 may be written without
    /// braces (`p if not f(g(x))`); a rewritten single literal then needs them.
    fn query(&mut self, query: &Query, rule_body: bool) {
        let braced = query.span.text().trim_start().starts_with('{');
        for stmt in &query.stmts {
            self.stmt(stmt, rule_body && !braced);
        }
    }

    fn stmt(&mut self, stmt: &LiteralStmt, wrap: bool) {
        if let Literal::NotExpr { expr, .. } = &stmt.literal {
            let mut hoisted: Vec<&Expr> = Vec::new();
            nested_calls(expr, true, &mut hoisted);
            // In source order and disjoint (as the walk gives them; kept so whatever the
            // parse).
            hoisted.sort_by_key(|e| e.span().start);
            let mut last_end = 0;
            hoisted.retain(|e| {
                let keep = e.span().start >= last_end;
                if keep {
                    last_end = e.span().end;
                }
                keep
            });
            let (start, end) = (stmt.span.start as usize, stmt.span.end as usize);
            let claimed = self.edits.iter().any(|e| e.start < end && start < e.end);
            if !hoisted.is_empty() && !claimed {
                self.rewrite(stmt, &hoisted, wrap);
                return;
            }
            if hoisted.is_empty() {
                self.output_argument(expr);
            }
        }
        for_each_expr(stmt, &mut |e| self.closures(e));
        if let Literal::Every { query, .. } = &stmt.literal {
            self.query(query, false);
        }
    }

    /// `not f(x, out)`, where `f` takes one parameter, compares `f(x)` with `out`. OPA:
    /// undefined when either is, so the negation holds; regorus compares an undefined
    /// result with an undefined `out` as equal. Written `not f(x) == out`, regorus agrees.
    /// Known for builtins and the module's own functions (a library function's arity is
    /// in another module).
    fn output_argument(&mut self, expr: &Expr) {
        let Expr::Call {
            fcn, params, span, ..
        } = expr
        else {
            return;
        };
        let name = fcn.span().text();
        let arity = self.arity.get(name).copied().or_else(|| {
            regorus::unstable::BUILTINS
                .get(name)
                .map(|(_, n)| usize::from(*n))
        });
        let (Some(arity), Some(out)) = (arity, params.last()) else {
            return;
        };
        if params.len() != arity + 1 {
            return;
        }
        let source = span.source.contents();
        let (start, end) = range(source, span);
        let fcn_end = fcn.span().end as usize;
        let (out_start, out_end) = range(source, out.span());
        let args = match params.len() {
            1 => "",
            n => &source[range(source, params[0].span()).0..range(source, params[n - 2].span()).1],
        };
        self.outputs.push(Edit {
            start,
            end,
            replacement: format!(
                "{}({args}) == {}",
                &source[start..fcn_end],
                &source[out_start..out_end]
            ),
        });
    }

    fn rewrite(&mut self, stmt: &LiteralStmt, hoisted: &[&Expr], wrap: bool) {
        let source = stmt.span.source.contents();
        let (base, end) = range(source, &stmt.span);
        let text = &source[base..end];
        let with_text = match stmt.with_mods.first() {
            Some(first) => format!(" {}", &text[first.span.start as usize - base..]),
            None => String::new(),
        };
        let mut assignments = String::new();
        let mut rest = String::new();
        let mut at = 0usize;
        for call in hoisted {
            let (start, end) = range(source, call.span());
            let (s, e) = (start - base, end - base);
            let var = format!("{HOIST_PREFIX}{}_{}", self.pass, self.counter);
            self.counter += 1;
            assignments.push_str(&format!("{var} := {}{with_text}; ", &text[s..e]));
            rest.push_str(&text[at..s]);
            rest.push_str(&var);
            at = e;
        }
        rest.push_str(&text[at..]);
        let replacement = if wrap {
            format!("{{ {assignments}{rest} }}")
        } else {
            format!("{assignments}{rest}")
        };
        self.edits.push(Edit {
            start: base,
            end,
            replacement,
        });
    }

    /// Visits the comprehensions inside `expr` (their bodies are queries of their own).
    fn closures(&mut self, expr: &Expr) {
        match expr {
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                self.closures(term);
                self.query(query, false);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                self.closures(key);
                self.closures(value);
                self.query(query, false);
            }
            other => children(other, &mut |c| self.closures(c)),
        }
    }
}

/// The text range of a span. regorus's span of a string literal leaves out its quotes
/// (so a span starting or ending with one does too): this puts them back.
fn range(source: &str, span: &regorus::unstable::Span) -> (usize, usize) {
    let mut start = span.start as usize;
    if start > 0 && matches!(source.as_bytes().get(start - 1), Some(b'"' | b'`')) {
        start -= 1;
    }
    (start, span_end(source, start, span.end as usize))
}

/// The end of a span that starts at `start`: one past a closing quote it left out.
fn span_end(source: &str, start: usize, end: usize) -> usize {
    let bytes = source.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < end.min(bytes.len()) {
        let c = bytes[i];
        match quote {
            Some(q) if c == b'\\' && q == b'"' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'`' => quote = Some(c),
            None => {}
        }
        i += 1;
    }
    match quote {
        Some(q) if bytes.get(end) == Some(&q) => end + 1,
        _ => end,
    }
}

/// Calls OPA would take out of a negated expression: every call that is an argument (at
/// any depth, outside comprehensions) of the expression's own operation. `top` is the
/// negated expression itself, whose call or operator stays.
fn nested_calls<'a>(expr: &'a Expr, top: bool, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::Call { params, .. } => {
            if top {
                for p in params {
                    nested_calls(p, false, out);
                }
            } else {
                out.push(expr);
            }
        }
        Expr::ArithExpr { lhs, rhs, .. }
        | Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. } => {
            if top {
                nested_calls(lhs, false, out);
                nested_calls(rhs, false, out);
            } else {
                out.push(expr);
            }
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            if top {
                membership_parts(key, value, collection, &mut |c| nested_calls(c, false, out));
            } else {
                out.push(expr);
            }
        }
        Expr::AssignExpr { lhs, rhs, .. } => {
            nested_calls(lhs, false, out);
            nested_calls(rhs, false, out);
        }
        Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {}
        other => children(other, &mut |c| nested_calls(c, false, out)),
    }
}

/// The direct sub-expressions of `expr`, comprehension terms and bodies excluded.
fn children<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    match expr {
        Expr::Array { items, .. } | Expr::Set { items, .. } => items.iter().for_each(|i| f(i)),
        Expr::Object { fields, .. } => {
            for (_, k, v) in fields {
                f(k);
                f(v);
            }
        }
        Expr::Call { fcn, params, .. } => {
            f(fcn);
            params.iter().for_each(|p| f(p));
        }
        Expr::UnaryExpr { expr, .. } => f(expr),
        Expr::RefDot { refr, .. } => f(refr),
        Expr::RefBrack { refr, index, .. } => {
            f(refr);
            f(index);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => membership_parts(key, value, collection, f),
        _ => {}
    }
}

/// `key, value in collection` (of `x in xs` and of `some … in …`), in order.
fn membership_parts<'a>(
    key: &'a Option<ExprRef>,
    value: &'a Expr,
    collection: &'a Expr,
    f: &mut dyn FnMut(&'a Expr),
) {
    if let Some(k) = key {
        f(k);
    }
    f(value);
    f(collection);
}

/// The top-level expressions of a statement (its literal's and its `with` values).
fn for_each_expr<'a>(stmt: &'a LiteralStmt, f: &mut dyn FnMut(&'a Expr)) {
    match &stmt.literal {
        Literal::SomeVars { .. } => {}
        Literal::SomeIn {
            key,
            value,
            collection,
            ..
        } => membership_parts(key, value, collection, f),
        Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => f(expr),
        Literal::Every { domain, .. } => f(domain),
    }
    for w in &stmt.with_mods {
        f(&w.refr);
        f(&w.r#as);
    }
}

/// Variables OPA refuses as unsafe inside negated expressions: `_` (each is a new
/// variable, so never bound), and a named variable that occurs nowhere in its rule but in
/// that one negated statement and is not a rule, import or root document. Call
/// arguments that the rewrite moves out are no longer inside the negation, so this runs
/// on its result. (A variable occurring elsewhere only inside other negations is also
/// unsafe in OPA; that rarer case is not reported.)
fn unsafe_vars(module: &regorus::unstable::Module) -> Vec<UnsafeVar> {
    let mut globals: HashSet<String> = ["input", "data"].iter().map(|s| s.to_string()).collect();
    for import in &module.imports {
        match &import.r#as {
            Some(alias) => {
                globals.insert(alias.text().to_string());
            }
            None => {
                let path = import.refr.span().text();
                if let Some(last) = path.rsplit('.').next() {
                    globals.insert(last.to_string());
                }
            }
        }
    }
    for rule in &module.policy {
        let refr = match rule.as_ref() {
            Rule::Spec { head, .. } => match head {
                RuleHead::Compr { refr, .. }
                | RuleHead::Set { refr, .. }
                | RuleHead::Func { refr, .. } => refr,
            },
            Rule::Default { refr, .. } => refr,
        };
        let name = refr.span().text();
        let root = name.split(['.', '[']).next().unwrap_or(name);
        globals.insert(root.to_string());
    }
    let mut out = Vec::new();
    for rule in &module.policy {
        let mut counts: HashMap<String, usize> = HashMap::new();
        visit_rule_vars(rule, &mut |name, _| {
            *counts.entry(name.to_string()).or_default() += 1
        });
        let mut negations: Vec<&LiteralStmt> = Vec::new();
        collect_negations_in_rule(rule, &mut negations);
        for stmt in negations {
            let mut here: HashMap<String, usize> = HashMap::new();
            stmt_vars(stmt, &mut |name, _| {
                *here.entry(name.to_string()).or_default() += 1
            });
            let Literal::NotExpr { expr, .. } = &stmt.literal else {
                continue;
            };
            let mut seen = HashSet::new();
            negated_vars(expr, &mut |name, span| {
                let only_here = counts.get(name) == here.get(name);
                let bad = name == "_" || (only_here && !globals.contains(name));
                if bad && (name == "_" || seen.insert(name.to_string())) {
                    out.push(UnsafeVar {
                        line: span.line,
                        col: span.col,
                        name: name.to_string(),
                    });
                }
            });
        }
    }
    out
}

type VarVisitor<'a> = dyn FnMut(&str, &regorus::unstable::Span) + 'a;

fn visit_rule_vars(rule: &Rule, f: &mut VarVisitor<'_>) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { assign, .. } => {
                    if let Some(a) = assign {
                        expr_vars(&a.value, f);
                    }
                }
                RuleHead::Set { key, .. } => {
                    if let Some(k) = key {
                        expr_vars(k, f);
                    }
                }
                RuleHead::Func { args, assign, .. } => {
                    args.iter().for_each(|a| expr_vars(a, f));
                    if let Some(a) = assign {
                        expr_vars(&a.value, f);
                    }
                }
            }
            for body in bodies {
                if let Some(a) = &body.assign {
                    expr_vars(&a.value, f);
                }
                for stmt in &body.query.stmts {
                    stmt_vars(stmt, f);
                }
            }
        }
        Rule::Default { args, value, .. } => {
            args.iter().for_each(|a| expr_vars(a, f));
            expr_vars(value, f);
        }
    }
}

/// Every variable occurrence in a statement, comprehensions and `every` bodies included.
fn stmt_vars(stmt: &LiteralStmt, f: &mut VarVisitor<'_>) {
    match &stmt.literal {
        Literal::SomeVars { vars, .. } => vars.iter().for_each(|v| f(v.text(), v)),
        Literal::Every {
            key, value, query, ..
        } => {
            if let Some(k) = key {
                f(k.text(), k);
            }
            f(value.text(), value);
            for s in &query.stmts {
                stmt_vars(s, f);
            }
        }
        _ => {}
    }
    for_each_expr(stmt, &mut |e| expr_vars(e, f));
}

/// Every variable occurrence in an expression (function names excluded).
fn expr_vars(expr: &Expr, f: &mut VarVisitor<'_>) {
    match expr {
        Expr::Var { span, .. } => f(span.text(), span),
        Expr::Call { params, .. } => params.iter().for_each(|p| expr_vars(p, f)),
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            expr_vars(term, f);
            query.stmts.iter().for_each(|s| stmt_vars(s, f));
        }
        Expr::ObjectCompr {
            key, value, query, ..
        } => {
            expr_vars(key, f);
            expr_vars(value, f);
            query.stmts.iter().for_each(|s| stmt_vars(s, f));
        }
        other => children(other, &mut |c| expr_vars(c, f)),
    }
}

/// The variables of a negated expression that the negation itself would have to bind:
/// those outside comprehensions (a comprehension is a closure with its own body).
fn negated_vars(expr: &Expr, f: &mut VarVisitor<'_>) {
    match expr {
        Expr::Var { span, .. } => f(span.text(), span),
        Expr::Call { params, .. } => params.iter().for_each(|p| negated_vars(p, f)),
        Expr::ArrayCompr { .. } | Expr::SetCompr { .. } | Expr::ObjectCompr { .. } => {}
        other => children(other, &mut |c| negated_vars(c, f)),
    }
}

fn collect_negations_in_rule<'a>(rule: &'a Rule, out: &mut Vec<&'a LiteralStmt>) {
    let mut exprs: Vec<&'a Expr> = Vec::new();
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { assign, .. } => exprs.extend(assign.iter().map(|a| &*a.value)),
                RuleHead::Set { key, .. } => exprs.extend(key.iter().map(|k| &**k)),
                RuleHead::Func { args, assign, .. } => {
                    exprs.extend(args.iter().map(|a| &**a));
                    exprs.extend(assign.iter().map(|a| &*a.value));
                }
            }
            for body in bodies {
                exprs.extend(body.assign.iter().map(|a| &*a.value));
                collect_negations(&body.query, out);
            }
        }
        Rule::Default { value, .. } => exprs.push(value),
    }
    for e in exprs {
        negations_in_expr(e, out);
    }
}

fn collect_negations<'a>(query: &'a Query, out: &mut Vec<&'a LiteralStmt>) {
    for stmt in &query.stmts {
        if matches!(stmt.literal, Literal::NotExpr { .. }) {
            out.push(stmt);
        }
        if let Literal::Every { query, .. } = &stmt.literal {
            collect_negations(query, out);
        }
        for_each_expr(stmt, &mut |e| negations_in_expr(e, out));
    }
}

fn negations_in_expr<'a>(expr: &'a Expr, out: &mut Vec<&'a LiteralStmt>) {
    match expr {
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            negations_in_expr(term, out);
            collect_negations(query, out);
        }
        Expr::ObjectCompr {
            key, value, query, ..
        } => {
            negations_in_expr(key, out);
            negations_in_expr(value, out);
            collect_negations(query, out);
        }
        other => children(other, &mut |c| negations_in_expr(c, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hoist_negated_calls(src: &str, v1: bool) -> String {
        rewrite_negations(src, v1).text
    }

    fn unsafe_negated_vars(src: &str, v1: bool) -> Vec<UnsafeVar> {
        rewrite_negations(src, v1).unsafe_vars
    }

    #[test]
    fn nested_calls_leave_the_negation() {
        let src = "package t\np { not f(lower(input.x), 1) }\n";
        assert_eq!(
            hoist_negated_calls(src, false),
            "package t\np { __palisade_not0_0 := lower(input.x); not f(__palisade_not0_0, 1) }\n"
        );
        // Operators are calls: both operands of `==` are arguments.
        let src = "package t\np { not count(input.x) + 1 == g(2) }\n";
        assert_eq!(
            hoist_negated_calls(src, false),
            "package t\np { __palisade_not0_0 := count(input.x) + 1; __palisade_not0_1 := g(2); not __palisade_not0_0 == __palisade_not0_1 }\n"
        );
        // `with` applies to the moved call as it did inside the negation.
        let src = "package t\np { not f(g(1)) with input.a as 2 }\n";
        assert_eq!(
            hoist_negated_calls(src, false),
            "package t\np { __palisade_not0_0 := g(1) with input.a as 2; not f(__palisade_not0_0) with input.a as 2 }\n"
        );
    }

    #[test]
    fn refs_and_plain_calls_stay() {
        for src in [
            "package t\np { not f(input.parameters.missing) }\n",
            "package t\np { not input.x[y] }\n",
            "package t\np { not f([x | x := g(input.a)[_]]) }\n",
            "package t\np { f(g(1)) }\n",
        ] {
            assert_eq!(hoist_negated_calls(src, false), src);
        }
    }

    #[test]
    fn every_body_kind_is_rewritten() {
        // Function bodies, else bodies, comprehension bodies, and a negation inside a call
        // that another negation moves (second pass).
        let src = "package t\nf(x) = 1 { not g(h(x)) } else = 2 { true }\nq = [y | y := input.a[_]; not g(h(y))]\nr { not g([y | not g(h(y))]) }\n";
        let out = hoist_negated_calls(src, false);
        assert_eq!(out.matches(":= h(").count(), 3, "{out}");
        assert_eq!(out.lines().count(), src.lines().count());
        // Rego v1 single-literal bodies get braces.
        let v1 = "package t\np if not f(g(1))\n";
        assert_eq!(
            hoist_negated_calls(v1, true),
            "package t\np if { __palisade_not0_0 := g(1); not f(__palisade_not0_0) }\n"
        );
    }

    #[test]
    fn statements_ending_in_strings() {
        let src = "package t\np { not f(g(\"a\")) with input.b as \"y\" }\nq { not f(g(1) == \"x\\\"\") }\nr { not f(\"a\" == g(1)) }\n";
        assert_eq!(
            hoist_negated_calls(src, false),
            "package t\np { __palisade_not0_0 := g(\"a\") with input.b as \"y\"; not f(__palisade_not0_0) with input.b as \"y\" }\nq { __palisade_not0_1 := g(1) == \"x\\\"\"; not f(__palisade_not0_1) }\nr { __palisade_not0_2 := \"a\" == g(1); not f(__palisade_not0_2) }\n"
        );
    }

    #[test]
    fn output_arguments_inside_not_are_compared() {
        let src = "package t\nf(x) = x { true }\np { not f(input.a, input.b) }\nq { not concat(\",\", input.a, \"x\") }\nr { not f(input.a) }\ns { not lib.g(1, 2) }\n";
        assert_eq!(
            hoist_negated_calls(src, false),
            "package t\nf(x) = x { true }\np { not f(input.a) == input.b }\nq { not concat(\",\", input.a) == \"x\" }\nr { not f(input.a) }\ns { not lib.g(1, 2) }\n"
        );
    }

    #[test]
    fn unparsable_source_is_unchanged() {
        let src = "package t\np { not f(g(1) }\n";
        assert_eq!(hoist_negated_calls(src, false), src);
        assert!(unsafe_negated_vars(src, false).is_empty());
    }

    #[test]
    fn unsafe_vars() {
        let src = "package t\nimport data.lib.k\ns[1] { true }\np { not input.xs[_] == 1 }\nq { not input.xs[i] == 1 }\nr { i := 1; not input.xs[i] == 1 }\nu { not s[1]; not k.f(1) }\nv(x) { not input.xs[x] }\nw { not f([y | y := input.a[_]]) }\n";
        let bad: Vec<_> = unsafe_negated_vars(src, false)
            .into_iter()
            .map(|u| (u.name, u.line))
            .collect();
        assert_eq!(bad, vec![("_".to_string(), 4), ("i".to_string(), 5)]);
    }
}
