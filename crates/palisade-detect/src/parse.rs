//! The Falco condition language: lexer and parser into an AST. Macros and lists are names
//! here; the compiler resolves them.
//!
//! Grammar (as libsinsp's filter parser accepts it):
//! `expr := or ; or := and ("or" and)* ; and := not ("and" not)* ;
//!  not := "not" not | atom ; atom := "(" expr ")" | check | macro-name ;
//!  check := field ["[" arg "]"] (unary-op | binary-op value | list-op list)`.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    PMatch,
    Regex,
    In,
    Intersects,
    Exists,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "pmatch" => Op::PMatch,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::PMatch => "pmatch",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Exists => "exists",
        }
    }
    /// Operators whose right side is a list.
    pub fn takes_list(&self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A right-hand side value: a literal (bare or quoted), or a name that may be a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    /// Quoted values are never list names.
    pub quoted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Not(Box<Ast>),
    /// A bare identifier in expression position: a macro.
    Macro(String),
    Check {
        field: String,
        arg: Option<String>,
        op: Op,
        /// One value, or the items of a parenthesised list (list names not yet expanded).
        values: Vec<Value>,
        list: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 0-based character offset in the condition.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.at)
    }
}

/// Limits nesting so hostile conditions cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

pub fn parse(cond: &str) -> Result<Ast, ParseError> {
    let mut p = Parser {
        s: cond.as_bytes(),
        text: cond,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err(format!("unexpected {:?}", p.rest_token())));
    }
    Ok(e)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'
}

impl<'a> Parser<'a> {
    fn err(&self, message: String) -> ParseError {
        ParseError {
            at: self.pos,
            message,
        }
    }
    fn rest_token(&self) -> String {
        self.text[self.pos..].chars().take(20).collect()
    }
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    /// Is the next word `kw` (followed by a non-identifier character)?
    fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        let end = self.pos + kw.len();
        if end <= self.s.len() && &self.s[self.pos..end] == kw.as_bytes() {
            let next = self.s.get(end).copied();
            if next.is_none_or(|c| !is_ident(c)) {
                self.pos = end;
                return true;
            }
        }
        false
    }
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("condition nested too deeply".into()));
        }
        Ok(())
    }
    fn or(&mut self) -> Result<Ast, ParseError> {
        self.enter()?;
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Ast::And(Vec::new()))
        } else {
            Ast::Or(items)
        })
    }
    fn and(&mut self) -> Result<Ast, ParseError> {
        let mut items = vec![self.not()?];
        while self.keyword("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Ast::And(Vec::new()))
        } else {
            Ast::And(items)
        })
    }
    fn not(&mut self) -> Result<Ast, ParseError> {
        if self.keyword("not") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Ast::Not(Box::new(inner)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Ast, ParseError> {
        self.ws();
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let e = self.or()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err("missing ')'".into()));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(c) if is_ident_start(c) => self.check_or_macro(),
            None => Err(self.err("unexpected end of condition".into())),
            Some(_) => Err(self.err(format!("unexpected {:?}", self.rest_token()))),
        }
    }
    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.pos < self.s.len() && is_ident(self.s[self.pos]) {
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }
    fn check_or_macro(&mut self) -> Result<Ast, ParseError> {
        let name = self.ident();
        let mut arg = None;
        if self.peek() == Some(b'[') {
            let start = self.pos + 1;
            let Some(len) = self.s[start..].iter().position(|&c| c == b']') else {
                return Err(self.err("missing ']' after field argument".into()));
            };
            arg = Some(self.text[start..start + len].to_string());
            self.pos = start + len + 1;
        }
        self.ws();
        let Some(op) = self.operator() else {
            if arg.is_some() {
                return Err(self.err(format!("missing operator after {name}")));
            }
            return Ok(Ast::Macro(name));
        };
        if op == Op::Exists {
            return Ok(Ast::Check {
                field: name,
                arg,
                op,
                values: Vec::new(),
                list: false,
            });
        }
        self.ws();
        if self.peek() == Some(b'(') {
            let values = self.list()?;
            return Ok(Ast::Check {
                field: name,
                arg,
                op,
                values,
                list: true,
            });
        }
        if op.takes_list() {
            return Err(self.err(format!("'{}' needs a list: ( ... )", op.as_str())));
        }
        let v = self.value()?;
        Ok(Ast::Check {
            field: name,
            arg,
            op,
            values: vec![v],
            list: false,
        })
    }
    fn operator(&mut self) -> Option<Op> {
        let save = self.pos;
        // Symbolic operators.
        for sym in ["==", "!=", "<=", ">=", "=", "<", ">"] {
            if self.text[self.pos..].starts_with(sym) {
                self.pos += sym.len();
                return Op::parse(sym);
            }
        }
        // Word operators.
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_alphabetic() {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        let next_ok = self.peek().is_none_or(|c| !is_ident(c));
        match Op::parse(word) {
            Some(op) if next_ok && !word.is_empty() => Some(op),
            _ => {
                self.pos = save;
                None
            }
        }
    }
    fn value(&mut self) -> Result<Value, ParseError> {
        self.ws();
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let mut out = String::new();
                let start = self.pos;
                let mut chars = self.text[start..].char_indices();
                loop {
                    let Some((i, c)) = chars.next() else {
                        return Err(self.err("unterminated string".into()));
                    };
                    if c as u32 == u32::from(q) {
                        self.pos = start + i + 1;
                        return Ok(Value {
                            text: out,
                            quoted: true,
                        });
                    }
                    if c == '\\' {
                        match chars.next() {
                            Some((_, 'n')) => out.push('\n'),
                            Some((_, 't')) => out.push('\t'),
                            Some((_, e)) => out.push(e),
                            None => return Err(self.err("unterminated string".into())),
                        }
                        continue;
                    }
                    out.push(c);
                }
            }
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_whitespace()
                        || c == b'('
                        || c == b')'
                        || c == b','
                        || c == b'"'
                        || c == b'\''
                    {
                        break;
                    }
                    self.pos += 1;
                }
                // Keep UTF-8 boundaries.
                while !self.text.is_char_boundary(self.pos) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.err("missing value".into()));
                }
                Ok(Value {
                    text: self.text[start..self.pos].to_string(),
                    quoted: false,
                })
            }
            None => Err(self.err("missing value".into())),
        }
    }
    fn list(&mut self) -> Result<Vec<Value>, ParseError> {
        // At '('.
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b',') => {
                    self.pos += 1;
                }
                None => return Err(self.err("missing ')' in list".into())),
                _ => out.push(self.value()?),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_falco_conditions() {
        let a = parse("kevt and not ka.user.name in (allowed, \"a b\") and jevt.value[/stage]=ResponseComplete").unwrap();
        let Ast::And(items) = a else { panic!("{a:?}") };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], Ast::Macro("kevt".into()));
        let Ast::Not(inner) = &items[1] else { panic!() };
        assert!(
            matches!(&**inner, Ast::Check { op: Op::In, list: true, values, .. } if values.len() == 2 && values[1].quoted)
        );
        assert!(
            matches!(&items[2], Ast::Check { field, arg: Some(a), op: Op::Eq, .. } if field == "jevt.value" && a == "/stage")
        );
        assert!(parse("evt.dir=< and evt.type in (open,openat)").is_ok());
        assert!(parse("proc.aname[2]=sh or (fd.name glob '/home/*/.ssh/*')").is_ok());
        assert!(parse("ka.target.subresource exists").is_ok());
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("x = 'unterminated").is_err());
        assert!(parse("ka.verb in get").is_err());
        let deep = "(".repeat(1000) + "a" + &")".repeat(1000);
        assert!(parse(&deep).is_err());
    }
}
