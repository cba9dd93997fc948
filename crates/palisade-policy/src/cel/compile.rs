//! Parsing and lowering of one expression.
//!
//! `cel` 0.13 parses the full CEL grammar (with optional syntax) but has no type checker,
//! and its interpreter differs from cel-go in places that matter for admission policies.
//! After parsing, the expression tree is rewritten ("lowered") into calls of functions this
//! module registers, so evaluation follows cel-go:
//!
//! - field selection chains (`a.b.?c.d`) become one `@path` call: a missing field or a
//!   field of a non-map is an error (`no such key`), optional selection yields
//!   `optional.none()`, and intermediate objects are not copied;
//! - `==`, `!=` and `in` use heterogeneous equality (`1 == 1.0`);
//! - the macros (`all`, `exists`, `exists_one`, `map`, `filter`, their two-variable forms,
//!   `transformList`, `transformMap`, `transformMapEntry`, `optMap`, `optFlatMap`, `sortBy`)
//!   become native loops with cel-go's error absorption and a cost charge per iteration;
//! - `variables.<name>` becomes a lazy, cached lookup; `authorizer.requestResource` a call;
//! - negation of a non-literal is overflow-checked.
//!
//! Compile errors are what a Kubernetes API server would refuse without types: syntax,
//! undeclared identifiers and functions (including `params` without a `paramKind`),
//! unknown or later variables, message construction, mixed-type literal lists, invalid
//! regular expression, duration and timestamp literals.

use kube_cel::cel::common::ast::{
    operators, CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedEntryExpr, IdedExpr, ListExpr,
    LiteralValue, MapEntryExpr, MapExpr, SelectExpr,
};
use kube_cel::cel::common::types::{CelInt, CelString};
use kube_cel::cel::parser::Parser;

use super::value::TYPE_IDENTIFIERS;

/// A lowered expression ready to evaluate, with its static cost (the nodes evaluated once;
/// loop bodies are charged per iteration at run time).
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub expr: IdedExpr,
    pub cost: u64,
}

/// One problem in one expression. `line` and `column` are 1-based positions inside the
/// expression text (0 when unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What an expression may refer to.
pub(crate) struct Env<'a> {
    pub params: bool,
    pub authorizer: bool,
    /// The variables visible to the expression, by slot.
    pub variables: &'a [String],
}

/// The parser's nesting limit. cel-go's default is 250; `cel`'s recursive-descent parser
/// and interpreter need far more stack per level, so the limit stays at `cel`'s default.
const MAX_NESTING: u16 = 96;

/// Names callable as global functions (`size(x)`), besides qualified names.
const GLOBAL_FUNCTIONS: &[&str] = &[
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "duration",
    "timestamp",
    "size",
    "matches",
    "quantity",
    "isQuantity",
    "url",
    "isURL",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "semver",
    "isSemver",
];

/// Qualified global functions (`sets.contains(a, b)`).
const QUALIFIED_FUNCTIONS: &[&str] = &[
    "sets.contains",
    "sets.intersects",
    "sets.equivalent",
    "strings.quote",
    "lists.range",
    "optional.of",
    "optional.none",
    "optional.ofNonZeroValue",
    "ip.isCanonical",
    "format.dns1123Label",
    "format.dns1123Subdomain",
    "format.dns1035Label",
    "format.qualifiedName",
    "format.dns1123LabelPrefix",
    "format.dns1123SubdomainPrefix",
    "format.dns1035LabelPrefix",
    "format.labelValue",
    "format.uri",
    "format.uuid",
    "format.byte",
    "format.date",
    "format.datetime",
    "format.named",
];

/// Names callable as methods (`x.size()`).
const MEMBER_FUNCTIONS: &[&str] = &[
    // standard
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "value",
    "hasValue",
    "or",
    "orValue",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    // strings extension (version 2) and format
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "replace",
    "split",
    "substring",
    "trim",
    "join",
    "format",
    "reverse",
    // lists (Kubernetes library and the lists extension)
    "isSorted",
    "sum",
    "min",
    "max",
    "slice",
    "flatten",
    "distinct",
    "sort",
    "first",
    "last",
    // regex, URLs
    "find",
    "findAll",
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    // quantity and semver
    "isGreaterThan",
    "isLessThan",
    "compareTo",
    "add",
    "sub",
    "sign",
    "isInteger",
    "asInteger",
    "asApproximateFloat",
    "major",
    "minor",
    "patch",
    // IP and CIDR
    "family",
    "isUnspecified",
    "isLoopback",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "isGlobalUnicast",
    "containsIP",
    "containsCIDR",
    "masked",
    "prefixLength",
    "string",
    // named formats
    "validate",
    // authorizer
    "path",
    "group",
    "serviceAccount",
    "resource",
    "subresource",
    "namespace",
    "name",
    "check",
    "allowed",
    "reason",
    "errored",
    "error",
    "fieldSelector",
    "labelSelector",
];

/// Top-level identifiers every admission expression has.
const INPUTS: &[&str] = &["object", "oldObject", "request", "namespaceObject"];

/// How deeply an expression tree may nest (operator chains like `a + b + c` nest too).
/// Evaluation recurses once per level; with [`STACK_SIZE`] this leaves a wide margin even
/// in debug builds.
pub(crate) const MAX_DEPTH: usize = 250;

/// The longest expression accepted. The parser and the tree it builds recurse once per
/// operator of a chain (`1 + 1 + …`), so the length bounds their stack use.
pub(crate) const MAX_LENGTH: usize = 64 * 1024;

/// Parses and lowers `src`.
pub(crate) fn compile(src: &str, env: &Env<'_>) -> Result<Compiled, Vec<Issue>> {
    super::runtime::on_new_stack(|| compile_on_stack(src, env))
}

fn compile_on_stack(src: &str, env: &Env<'_>) -> Result<Compiled, Vec<Issue>> {
    if src.len() > MAX_LENGTH {
        return Err(vec![Issue {
            line: 0,
            column: 0,
            message: format!("expression is longer than {MAX_LENGTH} bytes"),
        }]);
    }
    let normalized = normalize_unary(src);
    if let Some(issue) = prescan(&normalized) {
        return Err(vec![issue]);
    }
    let parsed = parse(&normalized)?;
    if depth(&parsed) > MAX_DEPTH {
        return Err(vec![Issue {
            line: 0,
            column: 0,
            message: format!("expression nests more than {MAX_DEPTH} levels deep"),
        }]);
    }
    let mut l = Lower {
        env,
        src,
        scope: Vec::new(),
        issues: Vec::new(),
        cost: 0,
    };
    let expr = l.lower(parsed);
    if l.issues.is_empty() {
        Ok(Compiled { expr, cost: l.cost })
    } else {
        Err(l.issues)
    }
}

fn parse(src: &str) -> Result<IdedExpr, Vec<Issue>> {
    if src.trim().is_empty() {
        return Err(vec![Issue {
            line: 1,
            column: 1,
            message: "expression is empty".into(),
        }]);
    }
    let result = std::panic::catch_unwind(|| {
        Parser::new()
            .enable_optional_syntax(true)
            .max_recursion_depth(MAX_NESTING)
            .parse(src)
    });
    match result {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(errors)) => {
            let mut issues: Vec<Issue> = errors
                .errors
                .iter()
                .map(|e| {
                    let (line, column) = if e.pos.0 > 0 {
                        (e.pos.0 as u32, e.pos.1.max(0) as u32)
                    } else {
                        (0, 0)
                    };
                    let message = if e.msg.contains("Recursion limit") {
                        format!("expression nests more than {MAX_NESTING} levels deep")
                    } else {
                        e.msg.clone()
                    };
                    Issue {
                        line,
                        column,
                        message,
                    }
                })
                .collect();
            issues.dedup();
            if issues.is_empty() {
                issues.push(Issue {
                    line: 0,
                    column: 0,
                    message: "syntax error".into(),
                });
            }
            Err(issues)
        }
        Err(_) => Err(vec![Issue {
            line: 0,
            column: 0,
            message: "internal error: the CEL parser panicked".into(),
        }]),
    }
}

/// The depth of an expression tree, without recursion.
fn depth(e: &IdedExpr) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&IdedExpr, usize)> = vec![(e, 1)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        match &e.expr {
            Expr::Call(c) => {
                stack.extend(c.target.iter().map(|t| (t.as_ref(), d + 1)));
                stack.extend(c.args.iter().map(|a| (a, d + 1)));
            }
            Expr::Select(s) => stack.push((&s.operand, d + 1)),
            Expr::List(l) => stack.extend(l.elements.iter().map(|x| (x, d + 1))),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        stack.push((&me.key, d + 1));
                        stack.push((&me.value, d + 1));
                    }
                }
            }
            Expr::Comprehension(c) => {
                for x in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    stack.push((x, d + 1));
                }
            }
            Expr::Struct(st) => {
                for entry in &st.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        stack.push((&f.value, d + 1));
                    }
                }
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    max
}

/// Refuses nesting the parser would refuse anyway, before it runs: `cel`'s parser panics
/// (in debug builds) while recovering from its own nesting error. Counts brackets and
/// conditional operators outside strings and comments.
fn prescan(src: &str) -> Option<Issue> {
    let b = src.as_bytes();
    let mut depth = 0usize;
    let mut conditionals = 0usize;
    let mut prev = b'(';
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(b, i);
                prev = b'"';
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'?' if !matches!(prev, b'.' | b'[' | b'{' | b',') => conditionals += 1,
            _ => {}
        }
        if depth + conditionals > MAX_NESTING as usize - 4 {
            let line = src[..i].matches('\n').count() as u32 + 1;
            return Some(Issue {
                line,
                column: 0,
                message: format!("expression nests more than {} levels deep", MAX_NESTING - 4),
            });
        }
        if !c.is_ascii_whitespace() {
            prev = c;
        }
        i += 1;
    }
    None
}

/// The index just past the string literal starting at `b[i]` (a quote).
fn skip_string(b: &[u8], mut i: usize) -> usize {
    let c = b[i];
    let raw = i > 0 && matches!(b[i - 1], b'r' | b'R');
    let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
    i += if triple { 3 } else { 1 };
    while i < b.len() {
        if !raw && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == c && (!triple || (b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c))) {
            return i + if triple { 3 } else { 1 };
        }
        i += 1;
    }
    b.len()
}

/// `cel` 0.13's parser turns an even run of unary `!` or `-` into one operator instead of
/// none (cel-go drops the pair: `!!x` is `x`). Runs are therefore reduced here, on the
/// source, keeping every other character (and so every position) where it was: an even
/// run becomes spaces, an odd one a single operator.
fn normalize_unary(src: &str) -> std::borrow::Cow<'_, str> {
    let b = src.as_bytes();
    if !b
        .windows(2)
        .any(|w| matches!(w, [b'!', b'!'] | [b'-', b'-']))
        && !src.contains("! ")
        && !src.contains("- ")
    {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out: Vec<u8> = b.to_vec();
    let mut i = 0;
    // The last significant byte outside strings and comments.
    let mut prev: u8 = b'(';
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(b, i);
                prev = b'"';
                continue;
            }
            b'!' | b'-' => {
                let unary = if c == b'!' {
                    b.get(i + 1) != Some(&b'=')
                } else {
                    !(prev.is_ascii_alphanumeric()
                        || matches!(prev, b'_' | b')' | b']' | b'}' | b'"' | b'.'))
                };
                if !unary {
                    prev = c;
                    i += 1;
                    continue;
                }
                // Collect the run of the same operator (whitespace allowed between).
                let mut ops = vec![i];
                let mut j = i + 1;
                loop {
                    let mut k = j;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < b.len() && b[k] == c && !(c == b'!' && b.get(k + 1) == Some(&b'=')) {
                        ops.push(k);
                        j = k + 1;
                    } else {
                        break;
                    }
                }
                let keep = ops.len() % 2;
                for (n, at) in ops.iter().enumerate() {
                    if n >= keep {
                        out[*at] = b' ';
                    }
                }
                prev = c;
                i = j;
                continue;
            }
            _ => {
                if !c.is_ascii_whitespace() {
                    prev = c;
                }
            }
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(_) => std::borrow::Cow::Borrowed(src),
    }
}

struct Lower<'a> {
    env: &'a Env<'a>,
    src: &'a str,
    /// Loop variables in scope, innermost last.
    scope: Vec<String>,
    issues: Vec<Issue>,
    /// Nodes counted in the current cost frame.
    cost: u64,
}

pub(crate) fn node(expr: Expr) -> IdedExpr {
    IdedExpr { id: 0, expr }
}

pub(crate) fn call(name: &str, target: Option<IdedExpr>, args: Vec<IdedExpr>) -> IdedExpr {
    node(Expr::Call(CallExpr {
        func_name: name.to_string(),
        target: target.map(Box::new),
        args,
    }))
}

fn lit_str(s: &str) -> IdedExpr {
    node(Expr::Literal(LiteralValue::String(CelString::from(s))))
}

fn lit_int(i: i64) -> IdedExpr {
    node(Expr::Literal(LiteralValue::Int(CelInt::from(i))))
}

fn lit_bool(b: bool) -> IdedExpr {
    node(Expr::Literal(LiteralValue::Boolean(b.into())))
}

fn literal_string(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

fn ident(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Ident(n) => Some(n),
        _ => None,
    }
}

fn literal_kind(e: &IdedExpr) -> Option<&'static str> {
    match &e.expr {
        Expr::Literal(l) => Some(match l {
            LiteralValue::Boolean(_) => "bool",
            LiteralValue::Bytes(_) => "bytes",
            LiteralValue::Double(_) => "double",
            LiteralValue::Int(_) => "int",
            LiteralValue::Null => "null_type",
            LiteralValue::String(_) => "string",
            LiteralValue::UInt(_) => "uint",
        }),
        _ => None,
    }
}

impl Lower<'_> {
    fn in_scope(&self, name: &str) -> bool {
        self.scope.iter().any(|s| s == name)
    }

    fn issue_at(&mut self, needle: &str, message: String) {
        let (line, column) = locate(self.src, needle);
        let issue = Issue {
            line,
            column,
            message,
        };
        if !self.issues.contains(&issue) {
            self.issues.push(issue);
        }
    }

    fn lower(&mut self, e: IdedExpr) -> IdedExpr {
        self.cost += 1;
        let id = e.id;
        match e.expr {
            Expr::Literal(_) => e,
            Expr::Ident(name) => {
                self.check_ident(&name);
                IdedExpr {
                    id,
                    expr: Expr::Ident(name),
                }
            }
            Expr::Select(sel) if sel.test => self.lower_has(sel),
            Expr::Select(_) => self.lower_path(e),
            Expr::Call(c) => self.lower_call(id, c),
            Expr::Comprehension(c) => self.lower_comprehension(*c),
            Expr::List(list) => {
                self.check_homogeneous(list.elements.iter(), "list");
                let elements = list.elements.into_iter().map(|x| self.lower(x)).collect();
                IdedExpr {
                    id,
                    expr: Expr::List(ListExpr {
                        elements,
                        optional_indices: list.optional_indices,
                    }),
                }
            }
            Expr::Map(map) => {
                let keys: Vec<&IdedExpr> = map
                    .entries
                    .iter()
                    .filter_map(|e| match &e.expr {
                        EntryExpr::MapEntry(m) => Some(&m.key),
                        _ => None,
                    })
                    .collect();
                self.check_homogeneous(keys.into_iter(), "map key");
                let values: Vec<&IdedExpr> = map
                    .entries
                    .iter()
                    .filter_map(|e| match &e.expr {
                        EntryExpr::MapEntry(m) => Some(&m.value),
                        _ => None,
                    })
                    .collect();
                self.check_homogeneous(values.into_iter(), "map value");
                let mut entries = Vec::with_capacity(map.entries.len());
                for entry in map.entries {
                    match entry.expr {
                        EntryExpr::MapEntry(m) => entries.push(IdedEntryExpr {
                            id: entry.id,
                            expr: EntryExpr::MapEntry(MapEntryExpr {
                                key: self.lower(m.key),
                                value: self.lower(m.value),
                                optional: m.optional,
                            }),
                        }),
                        EntryExpr::StructField(f) => self.issue_at(
                            &f.field,
                            "field initializers are only allowed in message construction".into(),
                        ),
                    }
                }
                IdedExpr {
                    id,
                    expr: Expr::Map(MapExpr { entries }),
                }
            }
            Expr::Struct(s) => {
                let name = s.type_name.clone();
                self.issue_at(
                    &name,
                    format!(
                        "undeclared reference to '{name}' (message construction is not supported)"
                    ),
                );
                node(Expr::Literal(LiteralValue::Null))
            }
            Expr::Unspecified => {
                self.issues.push(Issue {
                    line: 0,
                    column: 0,
                    message: "syntax error".into(),
                });
                node(Expr::Literal(LiteralValue::Null))
            }
        }
    }

    fn check_ident(&mut self, name: &str) {
        if self.in_scope(name) || INPUTS.contains(&name) || TYPE_IDENTIFIERS.contains(&name) {
            return;
        }
        match name {
            "params" if self.env.params => {}
            "authorizer" if self.env.authorizer => {}
            "variables" => self.issue_at(
                name,
                "'variables' can only be used to select a variable (variables.<name>)".into(),
            ),
            _ => self.issue_at(name, format!("undeclared reference to '{name}'")),
        }
    }

    fn check_homogeneous<'e>(&mut self, items: impl Iterator<Item = &'e IdedExpr>, what: &str) {
        let mut first: Option<&'static str> = None;
        for item in items {
            let Some(kind) = literal_kind(item) else {
                return;
            };
            match first {
                None => first = Some(kind),
                Some(f) if f != kind => {
                    self.issues.push(Issue {
                        line: 0,
                        column: 0,
                        message: format!(
                            "expected type '{f}' but found '{kind}' in {what} literal"
                        ),
                    });
                    return;
                }
                Some(_) => {}
            }
        }
    }

    /// The slot of a declared variable.
    fn variable_slot(&mut self, name: &str) -> Option<usize> {
        let slot = self.env.variables.iter().position(|v| v == name);
        if slot.is_none() {
            self.issue_at(
                name,
                format!(
                    "undefined field '{name}' (not a variable declared before this expression)"
                ),
            );
        }
        slot
    }

    /// `has(x.f)`
    fn lower_has(&mut self, sel: SelectExpr) -> IdedExpr {
        let SelectExpr { operand, field, .. } = sel;
        if let Some(root) = ident(&operand) {
            if !self.in_scope(root) {
                if root == "variables" {
                    self.variable_slot(&field);
                    return lit_bool(true);
                }
                if root == "authorizer" && self.env.authorizer && field == "requestResource" {
                    return lit_bool(true);
                }
            }
        }
        let operand = self.lower(*operand);
        node(Expr::Select(SelectExpr {
            operand: Box::new(operand),
            field,
            test: true,
        }))
    }

    /// A chain of field selections (`a.b.?c.d`) → `@path(a, ".?.", "b", "c", "d")`.
    fn lower_path(&mut self, e: IdedExpr) -> IdedExpr {
        let mut steps: Vec<(String, bool)> = Vec::new();
        let mut cur = e;
        loop {
            match cur.expr {
                Expr::Select(sel) if !sel.test => {
                    steps.push((sel.field, false));
                    cur = *sel.operand;
                }
                Expr::Call(c)
                    if c.func_name == operators::OPT_SELECT
                        && c.target.is_none()
                        && c.args.len() == 2
                        && literal_string(&c.args[1]).is_some() =>
                {
                    let mut args = c.args;
                    let field = literal_string(&args[1]).unwrap_or_default().to_string();
                    steps.push((field, true));
                    cur = args.swap_remove(0);
                }
                other => {
                    cur = IdedExpr {
                        id: cur.id,
                        expr: other,
                    };
                    break;
                }
            }
        }
        steps.reverse();
        self.cost += steps.len() as u64;
        let root = match ident(&cur).filter(|n| !self.in_scope(n)) {
            Some("variables") => {
                let (first, optional) = steps.remove(0);
                if optional {
                    self.issue_at(
                        &first,
                        "optional selection of a variable is not supported".into(),
                    );
                }
                match self.variable_slot(&first) {
                    Some(slot) => call("@var", None, vec![lit_int(slot as i64)]),
                    None => node(Expr::Literal(LiteralValue::Null)),
                }
            }
            Some("authorizer") if self.env.authorizer => {
                let (first, optional) = steps.remove(0);
                if first != "requestResource" || optional {
                    self.issue_at(
                        &first,
                        format!("undefined field '{first}' of the authorizer"),
                    );
                }
                call("@requestResource", None, Vec::new())
            }
            _ => self.lower(cur),
        };
        if steps.is_empty() {
            return root;
        }
        let flags: String = steps
            .iter()
            .map(|(_, o)| if *o { '?' } else { '.' })
            .collect();
        let mut args = Vec::with_capacity(steps.len() + 2);
        args.push(root);
        args.push(lit_str(&flags));
        args.extend(steps.iter().map(|(f, _)| lit_str(f)));
        call("@path", None, args)
    }

    fn lower_call(&mut self, id: u64, c: CallExpr) -> IdedExpr {
        let CallExpr {
            func_name,
            target,
            mut args,
        } = c;
        let name = func_name.as_str();
        if target.is_none() {
            match (name, args.len()) {
                (operators::OPT_SELECT, 2) => {
                    return self.lower_path(IdedExpr {
                        id,
                        expr: Expr::Call(CallExpr {
                            func_name,
                            target,
                            args,
                        }),
                    })
                }
                (operators::EQUALS, 2) => return call("@eq", None, self.lower_all(args)),
                (operators::NOT_EQUALS, 2) => return call("@ne", None, self.lower_all(args)),
                (operators::IN, 2) => return call("@in_list", None, self.lower_all(args)),
                (operators::NEGATE, 1) => {
                    let numeric_literal = matches!(
                        &args[0].expr,
                        Expr::Literal(LiteralValue::Double(_))
                            | Expr::Literal(LiteralValue::Int(_))
                            | Expr::Literal(LiteralValue::UInt(_))
                    );
                    let args = self.lower_all(args);
                    return call(
                        if numeric_literal {
                            operators::NEGATE
                        } else {
                            "@neg"
                        },
                        None,
                        args,
                    );
                }
                _ => {}
            }
            if is_operator(name) {
                return IdedExpr {
                    id,
                    expr: Expr::Call(CallExpr {
                        func_name,
                        target: None,
                        args: self.lower_all(args),
                    }),
                };
            }
            if !GLOBAL_FUNCTIONS.contains(&name) {
                self.issue_at(name, format!("undeclared reference to '{name}'"));
            }
            self.check_literal_arguments(name, None, &args);
            return IdedExpr {
                id,
                expr: Expr::Call(CallExpr {
                    func_name,
                    target: None,
                    args: self.lower_all(args),
                }),
            };
        }
        let target = *target.unwrap_or_else(|| Box::new(node(Expr::Literal(LiteralValue::Null))));
        // Qualified global functions: `sets.contains(...)`.
        if let Some(prefix) = ident(&target) {
            if !self.in_scope(prefix) && !self.is_input(prefix) {
                let qualified = format!("{prefix}.{name}");
                if matches!(prefix, "params" | "authorizer") {
                    // An input this expression may not use (no paramKind; messageExpression).
                    self.issue_at(prefix, format!("undeclared reference to '{prefix}'"));
                } else if !QUALIFIED_FUNCTIONS.contains(&qualified.as_str()) {
                    self.issue_at(prefix, format!("undeclared reference to '{qualified}'"));
                }
                self.check_literal_arguments(&qualified, None, &args);
                return IdedExpr {
                    id,
                    expr: Expr::Call(CallExpr {
                        func_name,
                        target: Some(Box::new(target)),
                        args: self.lower_all(args),
                    }),
                };
            }
        }
        let macro_name = match (name, args.len()) {
            ("all", 3) => Some("@all2"),
            ("exists", 3) => Some("@exists2"),
            ("existsOne" | "exists_one", 3) => Some("@exists_one2"),
            ("transformList", 3) => Some("@transformList"),
            ("transformList", 4) => Some("@transformListF"),
            ("transformMap", 3) => Some("@transformMap"),
            ("transformMap", 4) => Some("@transformMapF"),
            ("transformMapEntry", 3) => Some("@transformMapEntry"),
            ("transformMapEntry", 4) => Some("@transformMapEntryF"),
            ("sortBy", 2) => Some("@sortBy"),
            ("optMap", 2) => Some("@optMap"),
            ("optFlatMap", 2) => Some("@optFlatMap"),
            _ => None,
        };
        if let Some(m) = macro_name {
            let vars = if args.len() >= 3 && m != "@sortBy" {
                2
            } else {
                1
            };
            let rest = args.split_off(vars);
            return self.lower_loop(m, target, args, rest);
        }
        if !MEMBER_FUNCTIONS.contains(&name) {
            self.issue_at(name, format!("undeclared reference to '{name}'"));
        }
        self.check_literal_arguments(name, Some(&target), &args);
        let mut target = self.lower(target);
        if name == "format" {
            target = call("@formatGuard", None, vec![target]);
        }
        IdedExpr {
            id,
            expr: Expr::Call(CallExpr {
                func_name,
                target: Some(Box::new(target)),
                args: self.lower_all(args),
            }),
        }
    }

    fn is_input(&self, name: &str) -> bool {
        INPUTS.contains(&name)
            || TYPE_IDENTIFIERS.contains(&name)
            || (name == "params" && self.env.params)
            || (name == "authorizer" && self.env.authorizer)
            || name == "variables"
    }

    fn lower_all(&mut self, args: Vec<IdedExpr>) -> Vec<IdedExpr> {
        args.into_iter().map(|a| self.lower(a)).collect()
    }

    /// Kubernetes validates regular expression, duration and timestamp literals at compile
    /// time.
    fn check_literal_arguments(
        &mut self,
        name: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) {
        let pattern = match (name, target.is_some(), args.len()) {
            ("matches", true, 1) | ("find", true, 1) | ("findAll", true, 1 | 2) => args.first(),
            ("matches", false, 2) => args.get(1),
            _ => None,
        };
        if let Some(p) = pattern.and_then(literal_string) {
            if let Err(e) = regex::Regex::new(p) {
                self.issue_at(
                    p,
                    format!(
                        "invalid regular expression {p:?}: {}",
                        first_line(&e.to_string())
                    ),
                );
            }
        }
        if !matches!(name, "duration" | "timestamp") || target.is_some() || args.len() != 1 {
            return;
        }
        let Some(lit) = literal_string(&args[0]) else {
            return;
        };
        let arg = std::sync::Arc::new(lit.to_string());
        let ok = if name == "duration" {
            kube_cel::cel::functions::time::duration(arg).is_ok()
        } else {
            kube_cel::cel::functions::time::timestamp(arg).is_ok()
        };
        if !ok {
            self.issue_at(lit, format!("invalid {name} literal {lit:?}"));
        }
    }

    /// Lowers a macro into a loop function: `[cost, range, var…, body…]`.
    fn lower_loop(
        &mut self,
        func: &str,
        range: IdedExpr,
        vars: Vec<IdedExpr>,
        body: Vec<IdedExpr>,
    ) -> IdedExpr {
        let range = self.lower(range);
        let mut names = Vec::with_capacity(vars.len());
        for v in &vars {
            match ident(v) {
                Some(n) => names.push(n.to_string()),
                None => self.issues.push(Issue {
                    line: 0,
                    column: 0,
                    message: format!(
                        "{}: argument must be a simple name",
                        func.trim_start_matches('@')
                    ),
                }),
            }
        }
        if names.len() == 2 && names[0] == names[1] {
            self.issue_at(
                &names[0],
                format!(
                    "{}: the two variables must be different",
                    func.trim_start_matches('@')
                ),
            );
        }
        let outer = std::mem::replace(&mut self.cost, 0);
        let depth = self.scope.len();
        self.scope.extend(names.iter().cloned());
        let body: Vec<IdedExpr> = body.into_iter().map(|b| self.lower(b)).collect();
        self.scope.truncate(depth);
        let body_cost = std::mem::replace(&mut self.cost, outer) + 1;
        let mut args = Vec::with_capacity(2 + names.len() + body.len());
        args.push(lit_int(body_cost as i64));
        args.push(range);
        args.extend(names.iter().map(|n| node(Expr::Ident(n.clone()))));
        args.extend(body);
        call(func, None, args)
    }

    /// Recognises the comprehensions `cel`'s parser expands macros into.
    fn lower_comprehension(&mut self, c: ComprehensionExpr) -> IdedExpr {
        let ComprehensionExpr {
            iter_range,
            iter_var,
            accu_var,
            accu_init,
            loop_step,
            ..
        } = c;
        let var = node(Expr::Ident(iter_var));
        let is_accu = |e: &IdedExpr| ident(e) == Some(accu_var.as_str());
        let step = match loop_step.expr {
            Expr::Call(step) => step,
            _ => return self.unsupported_comprehension(),
        };
        let init = &accu_init.expr;
        let mut sargs = step.args;
        match (init, step.func_name.as_str(), sargs.len()) {
            (Expr::Literal(LiteralValue::Boolean(b)), operators::LOGICAL_OR, 2)
                if !**b && is_accu(&sargs[0]) =>
            {
                let pred = sargs.swap_remove(1);
                self.lower_loop("@exists", iter_range, vec![var], vec![pred])
            }
            (Expr::Literal(LiteralValue::Boolean(b)), operators::LOGICAL_AND, 2)
                if **b && is_accu(&sargs[0]) =>
            {
                let pred = sargs.swap_remove(1);
                self.lower_loop("@all", iter_range, vec![var], vec![pred])
            }
            (Expr::Literal(LiteralValue::Int(_)), operators::CONDITIONAL, 3)
                if is_accu(&sargs[2]) =>
            {
                let pred = sargs.swap_remove(0);
                self.lower_loop("@exists_one", iter_range, vec![var], vec![pred])
            }
            (Expr::List(l), operators::ADD, 2) if l.elements.is_empty() && is_accu(&sargs[0]) => {
                match single_element(sargs.swap_remove(1)) {
                    Some(expr) => self.lower_loop("@map", iter_range, vec![var], vec![expr]),
                    None => self.unsupported_comprehension(),
                }
            }
            (Expr::List(l), operators::CONDITIONAL, 3)
                if l.elements.is_empty() && is_accu(&sargs[2]) =>
            {
                let append = sargs.swap_remove(1);
                let filter = sargs.swap_remove(0);
                let expr = match append.expr {
                    Expr::Call(mut add)
                        if add.func_name == operators::ADD && add.args.len() == 2 =>
                    {
                        single_element(add.args.swap_remove(1))
                    }
                    _ => None,
                };
                match expr {
                    Some(expr) => {
                        self.lower_loop("@mapf", iter_range, vec![var], vec![filter, expr])
                    }
                    None => self.unsupported_comprehension(),
                }
            }
            _ => self.unsupported_comprehension(),
        }
    }

    fn unsupported_comprehension(&mut self) -> IdedExpr {
        self.issues.push(Issue {
            line: 0,
            column: 0,
            message: "internal error: unrecognised macro expansion".into(),
        });
        node(Expr::Literal(LiteralValue::Null))
    }
}

fn single_element(e: IdedExpr) -> Option<IdedExpr> {
    match e.expr {
        Expr::List(mut l) if l.elements.len() == 1 => l.elements.pop(),
        _ => None,
    }
}

fn is_operator(name: &str) -> bool {
    name.starts_with('_')
        || name.starts_with('@')
        || name == operators::LOGICAL_NOT
        || name == operators::NEGATE
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

/// The 1-based line and column of the first whole-word occurrence of `needle` in `src`.
fn locate(src: &str, needle: &str) -> (u32, u32) {
    if needle.is_empty() {
        return (0, 0);
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = src[from..].find(needle).map(|i| i + from) {
        let before = src[..i].chars().next_back();
        let after = src[i + needle.len()..].chars().next();
        let word_start = needle.chars().next().is_some_and(is_word);
        let word_end = needle.chars().next_back().is_some_and(is_word);
        if (!word_start || !before.is_some_and(is_word))
            && (!word_end || !after.is_some_and(is_word))
        {
            let line = src[..i].matches('\n').count() as u32 + 1;
            let line_start = src[..i].rfind('\n').map_or(0, |p| p + 1);
            let column = src[line_start..i].chars().count() as u32 + 1;
            return (line, column);
        }
        from = i + needle.len().max(1);
        if from >= src.len() {
            break;
        }
        while !src.is_char_boundary(from) {
            from += 1;
        }
    }
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env<'static> {
        Env {
            params: false,
            authorizer: true,
            variables: &[],
        }
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = compile("object.x &&\n  (", &env()).unwrap_err();
        assert_eq!(e[0].line, 2, "{e:?}");
        let e = compile("", &env()).unwrap_err();
        assert_eq!(e[0].message, "expression is empty");
    }

    #[test]
    fn undeclared_references() {
        let e = compile("params.x == 1", &env()).unwrap_err();
        assert_eq!(e[0].message, "undeclared reference to 'params'");
        assert_eq!((e[0].line, e[0].column), (1, 1));
        let e = compile("object.a.map(x, y)", &env()).unwrap_err();
        assert_eq!(e[0].message, "undeclared reference to 'y'");
        let e = compile("math.greatest(1, 2) == 2", &env()).unwrap_err();
        assert_eq!(e[0].message, "undeclared reference to 'math.greatest'");
        let e = compile("variables.nope", &env()).unwrap_err();
        assert!(e[0].message.contains("undefined field 'nope'"), "{e:?}");
        assert!(compile(
            "object.a.all(x, x.b == 1) && sets.contains([1], [1])",
            &env()
        )
        .is_ok());
        assert!(compile("Foo{a: 1}", &env()).is_err());
        assert!(compile("[1, 'a']", &env()).is_err());
        assert!(compile("'a'.matches('[')", &env()).is_err());
        assert!(compile("duration('1x')", &env()).is_err());
    }

    #[test]
    fn unary_runs_are_reduced_like_cel_go() {
        assert_eq!(normalize_unary("!!x"), "  x");
        assert_eq!(normalize_unary("!!!x"), "!  x");
        assert_eq!(normalize_unary("- -1"), "   1");
        assert_eq!(normalize_unary("a - -1"), "a - -1");
        assert_eq!(normalize_unary("a --1"), "a --1");
        assert_eq!(normalize_unary("a - - -1"), "a -    1");
        assert_eq!(normalize_unary("'!!' != x"), "'!!' != x");
        assert_eq!(normalize_unary("x != !!y"), "x !=   y");
    }

    #[test]
    fn locate_finds_words() {
        assert_eq!(locate("ab a\n  a", "a"), (1, 4));
        assert_eq!(locate("x.foo(y)", "foo"), (1, 3));
        assert_eq!(locate("é y", "y"), (1, 3));
    }
}
