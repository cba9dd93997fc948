//! A ConstraintTemplate's Rego, compiled once and evaluated per review.
//!
//! Gatekeeper compiles the template's module and its `libs` together and queries
//! `violation[r]` with `input = {"review": …, "parameters": …}` and the synced objects at
//! `data.inventory`. Each template gets its own [`regorus::Engine`], so library packages
//! of different templates never meet (Gatekeeper rewrites them under a per-template prefix
//! for the same reason).

use regorus::Engine;
use serde_json::Value;

/// The name the template's own module is registered under (it appears in error
/// positions).
pub(crate) const ENTRY_FILE: &str = "template.rego";

/// One `violation[{"msg": …, "details": …}]` result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RegoViolation {
    pub msg: String,
    pub details: Option<Value>,
}

/// A Rego syntax or compile error, positioned inside the module it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegoError {
    /// `None` for the template's `rego`, `Some(i)` for `libs[i]`.
    pub lib: Option<usize>,
    /// 1-based line and column inside that module; 0 when the error has no position.
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl std::fmt::Display for RegoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lib {
            None => f.write_str("rego")?,
            Some(i) => write!(f, "libs[{i}]")?,
        }
        if self.line > 0 {
            write!(f, " line {}, column {}", self.line, self.col)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A compiled template target. Evaluation takes a prepared engine from a pool shared by
/// every clone of the program (a new clone of `base` only when none is idle), so one
/// program serves every thread without copying the interpreter per evaluation.
#[derive(Clone)]
pub(crate) struct RegoProgram {
    base: Engine,
    pool: std::sync::Arc<crate::pool::Pool<Engine>>,
    /// `data.<package>.violation`.
    rule: String,
    /// For templates that read `data.inventory`: a hook rule that evaluates `violation`
    /// `with data.inventory as input.inventory with input as input.input`, so the
    /// inventory reaches the policy without re-preparing the engine per review (adding
    /// data would).
    hook: Option<String>,
}

/// The package of the inventory hook module.
const HOOK_PACKAGE: &str = "palisade_gatekeeper_hook";

impl std::fmt::Debug for RegoProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoProgram")
            .field("rule", &self.rule)
            .field("hook", &self.hook)
            .finish_non_exhaustive()
    }
}

fn lib_file(i: usize) -> String {
    format!("lib_{i}.rego")
}

impl RegoProgram {
    /// Parses and compiles the template's module and libraries. `v1` selects Rego v1
    /// syntax (`source.version: v1`); Gatekeeper's default, and every library template,
    /// is v0.
    pub(crate) fn compile(rego: &str, libs: &[String], v1: bool) -> Result<RegoProgram, RegoError> {
        let mut engine = Engine::new();
        engine.set_rego_v0(!v1);
        // OPA (and so Gatekeeper) makes a failing builtin undefined rather than an
        // error; regorus is strict unless told otherwise.
        engine.set_strict_builtin_errors(false);
        // `print` output is not written anywhere (engines do no I/O).
        engine.set_gather_prints(true);
        // OPA's sprintf follows Go's fmt, missing and extra arguments included.
        engine
            .add_extension(
                "sprintf".to_string(),
                2,
                Box::new(
                    |args: Vec<regorus::Value>| -> anyhow::Result<regorus::Value> {
                        Ok(super::sprintf::sprintf(&args))
                    },
                ),
            )
            .map_err(|e| RegoError {
                lib: None,
                line: 0,
                col: 0,
                message: format!("cannot install sprintf: {e}"),
            })?;
        // The parser and evaluator recurse on nesting: bound it before regorus sees it.
        for (i, src) in std::iter::once(rego)
            .chain(libs.iter().map(String::as_str))
            .enumerate()
        {
            if let Some(line) = too_deep(src) {
                return Err(RegoError {
                    lib: i.checked_sub(1),
                    line,
                    col: 1,
                    message: format!(
                        "brackets nested too deeply (more than {MAX_NESTING} levels, or `{{`/`[` nested so deep that parsing would take exponential time)"
                    ),
                });
            }
        }
        // OPA's parser corner cases (v0), then `not` as OPA's compiler rewrites it; a
        // variable only a negation could bind is OPA's compile error, so ours too.
        let compat = |src: &str, lib: Option<usize>| {
            let src = if v1 {
                std::borrow::Cow::Borrowed(src)
            } else {
                opa_compat(src)
            };
            let super::negation::Rewritten { text, unsafe_vars } =
                super::negation::rewrite_negations(&src, v1);
            match unsafe_vars.first() {
                Some(u) => Err(RegoError {
                    lib,
                    line: u.line,
                    col: u.col,
                    message: format!(
                        "var {} is unsafe: it occurs only inside `not`, which cannot bind it (OPA refuses the module)",
                        u.name
                    ),
                }),
                None => Ok(text),
            }
        };
        let package = engine
            .add_policy(ENTRY_FILE.to_string(), compat(rego, None)?)
            .map_err(|e| positioned(None, &e))?;
        for (i, lib) in libs.iter().enumerate() {
            let lib_package = engine
                .add_policy(lib_file(i), compat(lib, Some(i))?)
                .map_err(|e| positioned(Some(i), &e))?;
            // Gatekeeper only accepts libraries under `package lib.…`.
            if lib_package != "data.lib" && !lib_package.starts_with("data.lib.") {
                return Err(RegoError {
                    lib: Some(i),
                    line: 0,
                    col: 0,
                    message: format!(
                        "library package must be `lib` or start with `lib.`, found `{}`",
                        lib_package.trim_start_matches("data.")
                    ),
                });
            }
        }
        match engine.has_declared_rule_rooted_at(ENTRY_FILE, "violation") {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                return Err(RegoError {
                    lib: None,
                    line: 0,
                    col: 0,
                    message: "the module does not define the required rule `violation`".into(),
                })
            }
        }
        let mut sources = vec![rego];
        sources.extend(libs.iter().map(String::as_str));
        if let Some(e) = function_cycle(&sources) {
            return Err(e);
        }
        // Analyse and schedule the modules now, so semantic errors (unsafe variables,
        // unknown functions, recursion) are load errors and every evaluation starts from
        // a prepared engine.
        if let Err(e) = engine.eval_query("true".to_string(), false) {
            let text = e.to_string();
            let lib = module_of(&text);
            return Err(positioned(lib, &e));
        }
        let rule = format!("{package}.violation");
        let reads_inventory =
            rego.contains("inventory") || libs.iter().any(|l| l.contains("inventory"));
        let hook = if reads_inventory {
            let body = format!(
                "{rule}[r] with data.inventory as input.inventory with input as input.input"
            );
            let module = if v1 {
                format!("package {HOOK_PACKAGE}\n\nviolation contains r if {{\n  {body}\n}}\n")
            } else {
                format!("package {HOOK_PACKAGE}\n\nviolation[r] {{\n  {body}\n}}\n")
            };
            engine
                .add_policy("palisade_hook.rego".to_string(), module)
                .map_err(|e| positioned(None, &e))?;
            if let Err(e) = engine.eval_query("true".to_string(), false) {
                return Err(positioned(None, &e));
            }
            Some(format!("data.{HOOK_PACKAGE}.violation"))
        } else {
            None
        };
        Ok(RegoProgram {
            base: engine,
            pool: std::sync::Arc::new(crate::pool::Pool::for_threads()),
            rule,
            hook,
        })
    }

    /// Evaluates `violation` for one review. `inventory` is Gatekeeper's `data.inventory`
    /// document. A runtime error (a conflicting rule value, a builtin failing in a way OPA
    /// also reports, a result without a string `msg`) is returned as `Err`.
    pub(crate) fn eval(
        &self,
        review: regorus::Value,
        parameters: &regorus::Value,
        inventory: Option<&regorus::Value>,
    ) -> Result<Vec<RegoViolation>, String> {
        let mut input = std::collections::BTreeMap::new();
        input.insert(regorus::Value::from("review"), review);
        input.insert(regorus::Value::from("parameters"), parameters.clone());
        let input = regorus::Value::from(input);
        let mut engine = self.pool.take(|| self.base.clone());
        let rule = match (&self.hook, inventory) {
            (Some(hook), Some(inv)) => {
                let mut outer = std::collections::BTreeMap::new();
                outer.insert(regorus::Value::from("input"), input);
                outer.insert(regorus::Value::from("inventory"), inv.clone());
                engine.set_input(regorus::Value::from(outer));
                hook
            }
            _ => {
                engine.set_input(input);
                &self.rule
            }
        };
        let result = engine.eval_rule(rule.clone());
        // Back to the pool without this review: no input kept alive, no prints piling up
        // (`eval_rule` resets the rest of the evaluation state when it starts).
        engine.set_input(regorus::Value::Undefined);
        let _ = engine.take_prints();
        self.pool.give(engine);
        let result = result.map_err(|e| clean_runtime_error(&e.to_string()))?;
        let result = serde_json::to_value(&result).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let items = match result {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            // `violation` defined as something other than a set: Gatekeeper's query
            // `violation[r]` would iterate an object's values.
            Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
            other => return Err(format!("violation is not a set of results: {other}")),
        };
        for item in items {
            let Value::Object(mut r) = item else {
                // `r.msg` is undefined for a non-object: Gatekeeper's hook skips it.
                continue;
            };
            let msg = match r.remove("msg") {
                // The hook reads `r.msg`; without one the result is not produced.
                None => continue,
                Some(Value::String(s)) => s,
                Some(other) => {
                    return Err(format!("violation msg must be a string, found {other}"));
                }
            };
            out.push(RegoViolation {
                msg,
                details: r.remove("details"),
            });
        }
        Ok(out)
    }
}

/// Rewrites Rego v0 source where regorus's parser departs from OPA's, keeping every
/// line where it is (so error positions stay true):
///
/// - a term followed by whitespace and `(` is not a call in OPA: a ref at the end of a
///   body line and a parenthesised expression on the next line are two expressions, so a
///   `;` is put between them;
/// - `head { a } { b }` (several bodies, OPA's sugar for several rules with one head) is
///   refused by regorus for partial set rules, so each extra body gets the head repeated
///   in front of it: `head { a } head { b }`.
pub(crate) fn opa_compat(src: &str) -> std::borrow::Cow<'_, str> {
    let bytes = src.as_bytes();
    // (offset, text) insertions, in increasing offset order.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<u8> = Vec::new();
    // End offset of the last significant token, whether it can end a ref, and whether
    // a newline has been seen since.
    let mut last_end = 0usize;
    let mut last_is_ref_end = false;
    // Whether a `{` after the last token opens a rule body rather than a value: after a
    // term or `else`/`if`, not after an operator (`= {…}` is an object).
    let mut last_allows_body = false;
    let mut newline_since = false;
    // Rule tracking at depth 0.
    let mut head_start: Option<usize> = None;
    let mut head_end: Option<usize> = None;
    let mut after_body = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            if c == b'\n' {
                newline_since = true;
                if stack.is_empty() && head_end.is_none() && !after_body {
                    head_start = None;
                }
            }
            i += 1;
            continue;
        }
        // A significant token starts at i.
        let start = i;
        if stack.is_empty() {
            if after_body {
                after_body = false;
                if c == b'{' {
                    if let (Some(hs), Some(he)) = (head_start, head_end) {
                        let head: String = src[hs..he]
                            .chars()
                            .map(|ch| if ch == '\n' || ch == '\r' { ' ' } else { ch })
                            .collect();
                        inserts.push((start, format!("{} ", head.trim_end())));
                    }
                } else if !src[start..].starts_with("else") {
                    head_start = Some(start);
                    head_end = None;
                }
            } else if head_start.is_none() {
                head_start = Some(start);
                head_end = None;
            }
        }
        if c == b'(' && last_is_ref_end && newline_since && stack.last() == Some(&b'{') {
            inserts.push((last_end, ";".to_string()));
        }
        newline_since = false;
        match c {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                last_is_ref_end = false;
                last_allows_body = true;
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
                i += 1;
                last_is_ref_end = false;
                last_allows_body = true;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &src[start..i];
                let keyword = matches!(
                    word,
                    "not"
                        | "some"
                        | "every"
                        | "in"
                        | "if"
                        | "else"
                        | "with"
                        | "as"
                        | "default"
                        | "contains"
                        | "package"
                        | "import"
                );
                last_is_ref_end = !keyword && !word.as_bytes()[0].is_ascii_digit();
                last_allows_body = !keyword || word == "else" || word == "if";
            }
            b'{' | b'[' | b'(' => {
                let opens_body = c == b'{' && stack.is_empty() && last_allows_body;
                if opens_body && head_start.is_some() && head_end.is_none() {
                    head_end = Some(start);
                }
                // A value object at depth 0 (`= {…}`) is part of the head.
                stack.push(if c == b'{' && stack.is_empty() && !opens_body {
                    b'v'
                } else {
                    c
                });
                i += 1;
                last_is_ref_end = false;
                last_allows_body = false;
            }
            b'}' | b']' | b')' => {
                let opened = stack.pop();
                i += 1;
                last_is_ref_end = c == b']' || c == b')';
                last_allows_body = true;
                if c == b'}' && stack.is_empty() && head_end.is_some() && opened == Some(b'{') {
                    after_body = true;
                }
            }
            _ => {
                i += 1;
                last_is_ref_end = false;
                last_allows_body = false;
            }
        }
        last_end = i.min(bytes.len());
    }
    if inserts.is_empty() {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out =
        String::with_capacity(src.len() + inserts.iter().map(|(_, t)| t.len()).sum::<usize>());
    let mut at = 0;
    for (offset, text) in inserts {
        out.push_str(&src[at..offset]);
        out.push_str(&text);
        at = offset;
    }
    out.push_str(&src[at..]);
    std::borrow::Cow::Owned(out)
}

/// Deepest bracket nesting a template may use.
const MAX_NESTING: usize = 128;

/// regorus parses `{` and `[` by trying a comprehension first and re-parsing as a literal
/// when that fails, so parse time doubles with each nesting level (measured: 16 levels of
/// valid object/array literals take 2 s in a debug build, 20 levels of `{` several
/// seconds more). Each `{`/`[` opened at nesting level `d` costs `2^d`; a module over this
/// budget is refused before regorus sees it. The Gatekeeper library nests at most 4 levels
/// (about 16 per bracket), so real templates stay far below it.
const MAX_PARSE_COST: u64 = 1 << 16;

/// The line where brackets nest deeper than [`MAX_NESTING`], or where the nesting of `{` and
/// `[` makes parsing exceed [`MAX_PARSE_COST`], if either happens.
fn too_deep(src: &str) -> Option<u32> {
    let bytes = src.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1u32, 0usize);
    // Open `{`/`[` brackets (parentheses do not backtrack), and the parse cost so far.
    let mut open: Vec<u8> = Vec::new();
    let mut cost: u64 = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'#' => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(line);
                }
                if bytes[i] != b'(' {
                    cost = cost.saturating_add(1u64 << open.len().min(40));
                    open.push(bytes[i]);
                    if cost > MAX_PARSE_COST {
                        return Some(line);
                    }
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                open.pop();
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A call to a function that neither the modules define nor the engine provides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnknownFunction {
    pub lib: Option<usize>,
    pub line: u32,
    pub name: String,
}

/// One identifier path (`a.b.c`) directly followed by `(`.
struct Call {
    path: String,
    line: u32,
    /// The first token of a line outside any brackets: a function definition head.
    defines: bool,
    /// The function whose definition the call is in (its head's path).
    in_function: Option<String>,
}

/// What a lexical scan of one module finds.
struct ModuleScan {
    /// `a.b` of `package a.b`.
    package: String,
    /// (alias, imported path without `data.`).
    imports: Vec<(String, String)>,
    calls: Vec<Call>,
}

/// Scans Rego source for its package, imports and calls, skipping comments and strings.
/// Lexical, so it only feeds advice (unknown functions) and the recursion check, which
/// errs towards finding no cycle.
fn scan_module(src: &str) -> ModuleScan {
    let bytes = src.as_bytes();
    let mut scan = ModuleScan {
        package: String::new(),
        imports: Vec::new(),
        calls: Vec::new(),
    };
    let mut line = 1u32;
    let mut line_start = true;
    let mut prev: u8 = b'\n';
    let mut depth = 0usize;
    let mut in_function: Option<String> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                line_start = true;
                prev = c;
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                prev = b'"';
                line_start = false;
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 1;
                prev = b'`';
                line_start = false;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                let path = src[start..i].trim_end_matches('.');
                let continues_ref = matches!(prev, b'.' | b']' | b')');
                let rest_of_line = src[i..].lines().next().unwrap_or("");
                let rest_of_line = rest_of_line.split('#').next().unwrap_or("");
                let statement_start = line_start && depth == 0;
                if statement_start && path == "package" {
                    scan.package = rest_of_line.trim().to_string();
                }
                if statement_start && path == "import" {
                    // `import data.lib.x [as y]`
                    let words: Vec<&str> = rest_of_line.split_whitespace().collect();
                    if let Some(target) = words.first() {
                        let target = target.strip_prefix("data.").unwrap_or(target).to_string();
                        let alias = match words.as_slice() {
                            [_, "as", alias, ..] => alias.to_string(),
                            _ => target.rsplit('.').next().unwrap_or(&target).to_string(),
                        };
                        scan.imports.push((alias, target));
                    }
                }
                let is_call = i < bytes.len() && bytes[i] == b'(' && !continues_ref;
                if statement_start && path != "else" {
                    in_function = is_call.then(|| path.to_string());
                }
                if is_call {
                    scan.calls.push(Call {
                        path: path.to_string(),
                        line,
                        defines: statement_start,
                        in_function: if statement_start {
                            None
                        } else {
                            in_function.clone()
                        },
                    });
                }
                prev = b'a';
                line_start = false;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
            }
            c => {
                match c {
                    b'{' | b'[' | b'(' => depth += 1,
                    b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                prev = c;
                line_start = false;
                i += 1;
            }
        }
    }
    scan
}

const NOT_FUNCTIONS: &[&str] = &[
    "not", "some", "every", "in", "if", "else", "with", "as", "default", "package", "import",
    "set", "print", "contains", "or", "and",
];

/// The full name (`lib.x.f`, without `data.`) a call in `module` refers to.
fn resolve(call: &str, module: &ModuleScan) -> String {
    if let Some(rest) = call.strip_prefix("data.") {
        return rest.to_string();
    }
    let (first, rest) = match call.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (call, None),
    };
    if let Some((_, target)) = module.imports.iter().find(|(alias, _)| alias == first) {
        return match rest {
            Some(r) => format!("{target}.{r}"),
            None => target.clone(),
        };
    }
    format!("{}.{call}", module.package)
}

/// Calls in `modules` (template module first, then libs) to functions that no module
/// defines and the engine does not provide. Calls through `data.` or an import alias
/// are user functions and not checked.
pub(crate) fn unknown_functions(modules: &[&str]) -> Vec<UnknownFunction> {
    let scanned: Vec<ModuleScan> = modules.iter().map(|m| scan_module(m)).collect();
    let mut defined = std::collections::HashSet::new();
    for scan in &scanned {
        for c in scan.calls.iter().filter(|c| c.defines) {
            defined.insert(c.path.clone());
            defined.insert(c.path.rsplit('.').next().unwrap_or(&c.path).to_string());
        }
    }
    let mut out = Vec::new();
    for (m, scan) in scanned.iter().enumerate() {
        for c in scan.calls.iter().filter(|c| !c.defines) {
            let first = c.path.split('.').next().unwrap_or("");
            if first == "data"
                || scan.imports.iter().any(|(a, _)| a == first)
                || NOT_FUNCTIONS.contains(&c.path.as_str())
                || defined.contains(&c.path)
                || regorus::unstable::BUILTINS.contains_key(c.path.as_str())
            {
                continue;
            }
            if out.iter().any(|u: &UnknownFunction| u.name == c.path) {
                continue;
            }
            out.push(UnknownFunction {
                lib: m.checked_sub(1),
                line: c.line,
                name: c.path.clone(),
            });
        }
    }
    out
}

/// A cycle of functions calling each other. OPA refuses recursion when it compiles a
/// policy; regorus would recurse until the stack overflows, so it is a load error.
pub(crate) fn function_cycle(modules: &[&str]) -> Option<RegoError> {
    use std::collections::{BTreeMap, BTreeSet};
    let scanned: Vec<ModuleScan> = modules.iter().map(|m| scan_module(m)).collect();
    // function → (module, line of its first definition)
    let mut defs: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, scan) in scanned.iter().enumerate() {
        for c in scan.calls.iter().filter(|c| c.defines) {
            defs.entry(format!("{}.{}", scan.package, c.path))
                .or_insert((m, c.line));
        }
    }
    for scan in &scanned {
        for c in scan.calls.iter().filter(|c| !c.defines) {
            let (Some(f), callee) = (&c.in_function, resolve(&c.path, scan)) else {
                continue;
            };
            if defs.contains_key(&callee) {
                edges
                    .entry(format!("{}.{f}", scan.package))
                    .or_default()
                    .insert(callee);
            }
        }
    }
    // Depth-first search with an explicit stack (no recursion on untrusted depth).
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for root in defs.keys() {
        if marks.contains_key(root.as_str()) {
            continue;
        }
        let mut path: Vec<&str> = vec![root];
        let mut iters: Vec<Vec<&str>> = vec![edges
            .get(root)
            .map(|e| e.iter().map(String::as_str).collect())
            .unwrap_or_default()];
        marks.insert(root, Mark::Active);
        while let Some(next) = iters.last_mut() {
            match next.pop() {
                Some(callee) => match marks.get(callee) {
                    Some(Mark::Active) => {
                        let from = path.iter().position(|p| *p == callee).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].to_vec();
                        cycle.push(callee);
                        let (module, line) = defs.get(callee).copied().unwrap_or((0, 0));
                        return Some(RegoError {
                            lib: module.checked_sub(1),
                            line,
                            col: 1,
                            message: format!(
                                "recursive function calls are not allowed: {}",
                                cycle.join(" → ")
                            ),
                        });
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(callee, Mark::Active);
                        path.push(callee);
                        iters.push(
                            edges
                                .get(callee)
                                .map(|e| e.iter().map(String::as_str).collect())
                                .unwrap_or_default(),
                        );
                    }
                },
                None => {
                    iters.pop();
                    if let Some(done) = path.pop() {
                        marks.insert(done, Mark::Done);
                    }
                }
            }
        }
    }
    None
}

/// Which module a regorus error message points into (`--> file:line:col`).
fn module_of(text: &str) -> Option<usize> {
    let (file, _, _) = arrow(text)?;
    file.strip_prefix("lib_")
        .and_then(|s| s.strip_suffix(".rego"))
        .and_then(|n| n.parse().ok())
}

/// The `--> file:line:col` of a regorus error.
fn arrow(text: &str) -> Option<(&str, u32, u32)> {
    let rest = &text[text.find("--> ")? + 4..];
    let rest = rest.lines().next()?;
    let mut parts = rest.rsplitn(3, ':');
    let col = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    let file = parts.next()?;
    Some((file, line, col))
}

/// The message part of a regorus error (the text after the source excerpt).
fn summary(text: &str) -> String {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim();
    let last = last.strip_prefix("error: ").unwrap_or(last);
    if last.is_empty() {
        text.trim().to_string()
    } else {
        last.to_string()
    }
}

fn positioned(default_lib: Option<usize>, e: &impl std::fmt::Display) -> RegoError {
    let text = format!("{e:#}");
    match arrow(&text) {
        Some((file, line, col)) => {
            let lib = if file == ENTRY_FILE {
                None
            } else {
                module_of(&text).or(default_lib)
            };
            RegoError {
                lib,
                line,
                col,
                message: summary(&text),
            }
        }
        None => RegoError {
            lib: default_lib,
            line: 0,
            col: 0,
            message: summary(&text),
        },
    }
}

/// A runtime error on one line: `rego line L, column C: message`.
fn clean_runtime_error(text: &str) -> String {
    match arrow(text) {
        Some((file, line, col)) => {
            let module = if file == ENTRY_FILE {
                "rego".to_string()
            } else {
                file.trim_end_matches(".rego").replace("lib_", "libs[") + "]"
            };
            format!("{module} line {line}, column {col}: {}", summary(text))
        }
        None => summary(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_and_inventory() {
        let p = RegoProgram::compile(
            r#"package t
violation[{"msg": msg, "details": {"n": n}}] {
  n := input.parameters.n
  data.inventory.cluster.v1.Namespace[_]
  msg := sprintf("n=%v", [n])
}"#,
            &[],
            false,
        )
        .unwrap();
        let inv = regorus::Value::from(
            json!({"cluster": {"v1": {"Namespace": {"a": {}}}}, "namespace": {}}),
        );
        let params = regorus::Value::from(json!({"n": 1}));
        let v = p
            .eval(regorus::Value::from(json!({})), &params, Some(&inv))
            .unwrap();
        assert_eq!(
            v,
            vec![RegoViolation {
                msg: "n=1".into(),
                details: Some(json!({"n": 1}))
            }]
        );
        assert!(p
            .eval(regorus::Value::from(json!({})), &params, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn syntax_error_is_positioned() {
        // regorus points a broken rule body at the rule's opening brace.
        let e = RegoProgram::compile(
            "package t\n\nviolation[{\"msg\": m}] {\n  m := 1 +* 2\n}\n",
            &[],
            false,
        )
        .unwrap_err();
        assert_eq!(e.lib, None);
        assert_eq!(e.line, 3, "{e:?}");
        let e = RegoProgram::compile(
            "package t\nviolation[{\"msg\": \"x\"}] { true }",
            &["package lib.x\nf(x) = y { y := }".into()],
            false,
        )
        .unwrap_err();
        assert_eq!(e.lib, Some(0), "{e:?}");
    }

    #[test]
    fn opa_compat_rewrites() {
        let src = "package t\nf(x) = y { y := x } { y := 2 }\nviolation[{\"msg\": m}] {\n  m := \"a\"\n} {\n  input.review\n  (1 + 2) > 2\n  m := \"b\" # {\n}\nz := 1\n";
        let out = opa_compat(src);
        assert_eq!(
            out,
            "package t\nf(x) = y { y := x } f(x) = y { y := 2 }\nviolation[{\"msg\": m}] {\n  m := \"a\"\n} violation[{\"msg\": m}] {\n  input.review;\n  (1 + 2) > 2\n  m := \"b\" # {\n}\nz := 1\n"
        );
        assert_eq!(
            opa_compat("package t\np { a := f(1)\n  g(a) }\n"),
            "package t\np { a := f(1)\n  g(a) }\n"
        );
        assert_eq!(
            opa_compat("package t\ng(x) = {\"a\": x} {\n  x\n}\nh = {1} { true } { false }\n"),
            "package t\ng(x) = {\"a\": x} {\n  x\n}\nh = {1} { true } h = {1} { false }\n"
        );
        let p = RegoProgram::compile(src, &[], false).unwrap();
        let mut v = p
            .eval(
                regorus::Value::from(json!({})),
                &regorus::Value::new_object(),
                None,
            )
            .unwrap();
        v.sort_by(|a, b| a.msg.cmp(&b.msg));
        assert_eq!(v.len(), 2, "{v:?}");
    }

    #[test]
    fn unknown_function_scan() {
        let template = "package t\nimport data.lib.helpers as h\n# f(x) in a comment\nviolation[{\"msg\": m}] {\n  x := local(1)\n  h.g(x)\n  m := sprintf(\"no_call(%v)\", [x])\n  regex.match(\"a\", m)\n  crypto.x509.parse_certificates(m)\n  y := missing(2)\n}\nlocal(x) = y { y := x }\n";
        let lib = "package lib.helpers\ng(x) { object.get(x, \"a\", 1) == 1 }\n";
        let unknown = unknown_functions(&[template, lib]);
        let names: Vec<_> = unknown.iter().map(|u| (u.name.as_str(), u.line)).collect();
        assert_eq!(
            names,
            vec![("crypto.x509.parse_certificates", 9), ("missing", 10)]
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "package t\nviolation[{{\"msg\": \"x\"}}] {{ x := {}1{} }}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = RegoProgram::compile(&deep, &[], false).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
    }

    /// Found by the `policy` fuzz target: 90 nested `{` made regorus backtrack for minutes.
    #[test]
    fn exponential_brace_nesting_is_refused_quickly() {
        let src = format!(
            "package t\nviolation[{{\"msg\": m}}] {{\n  m := 1 *{} 1000\n}}\n",
            "{".repeat(90)
        );
        let e = RegoProgram::compile(&src, &[], false).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
        assert_eq!(e.line, 3);
        // Realistic nesting (object in array in object, four levels) still compiles.
        let ok = "package t\nviolation[{\"msg\": m, \"details\": {\"a\": [{\"b\": [1]}]}}] { m := \"x\" }\n";
        assert!(RegoProgram::compile(ok, &[], false).is_ok());
    }

    #[test]
    fn recursion_is_refused() {
        let e = RegoProgram::compile(
            "package t\nviolation[{\"msg\": m}] { m := f(1) }\nf(x) = y { y := f(x) }",
            &[],
            false,
        )
        .unwrap_err();
        assert!(e.message.contains("t.f → t.f"), "{e}");
        assert_eq!(e.line, 3);
        let lib = "package lib.a\nimport data.lib.b\ng(x) = y {\n  y := b.h(x)\n}\n";
        let lib2 = "package lib.b\nimport data.lib.a as other\nh(x) = y {\n  y := other.g(x)\n}\n";
        let e = RegoProgram::compile(
            "package t\nimport data.lib.a\nviolation[{\"msg\": m}] { m := a.g(1) }",
            &[lib.into(), lib2.into()],
            false,
        )
        .unwrap_err();
        assert!(e.message.contains("lib.a.g → lib.b.h → lib.a.g"), "{e}");
        assert_eq!(e.lib, Some(0));
        // Same-named functions in different packages are not a cycle.
        let lib3 = "package lib.c\nf(x) = y { y := x }\n";
        assert!(RegoProgram::compile("package t\nimport data.lib.c\nviolation[{\"msg\": m}] { m := f(1) }\nf(x) = y { y := c.f(x) }", &[lib3.into()], false).is_ok());
    }

    #[test]
    fn semantic_errors_at_load() {
        let e = RegoProgram::compile(
            "package t\nviolation[{\"msg\": m}] {\n  x == 1\n  m := \"a\"\n}",
            &[],
            false,
        );
        assert!(e.is_err(), "unsafe variable accepted");
    }

    #[test]
    fn missing_violation_and_bad_lib_package() {
        let e = RegoProgram::compile("package t\nallow { true }", &[], false).unwrap_err();
        assert!(e.message.contains("violation"), "{e}");
        let e = RegoProgram::compile(
            "package t\nviolation[{\"msg\": \"x\"}] { true }",
            &["package other\nx := 1".into()],
            false,
        )
        .unwrap_err();
        assert!(e.message.contains("lib"), "{e}");
    }
}
