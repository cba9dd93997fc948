//! Evaluation of compiled conditions against an event, through a source's field extractor.

use crate::compile::{Check, Expr, FArg, Rhs};
use crate::fields::FieldDef;
use crate::parse::Op;
use std::borrow::Cow;

/// Values a field yields for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vals<'e> {
    None,
    One(Cow<'e, str>),
    Many(Vec<Cow<'e, str>>),
}

impl<'e> Vals<'e> {
    pub fn is_none(&self) -> bool {
        match self {
            Vals::None => true,
            Vals::Many(v) => v.is_empty(),
            Vals::One(_) => false,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&str>, &[Cow<'e, str>]) = match self {
            Vals::None => (None, &[]),
            Vals::One(s) => (Some(s.as_ref()), &[]),
            Vals::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(|c| c.as_ref()))
    }
    /// Falco's rendering in outputs: one value as is, several as `(a,b)`.
    pub fn render(&self) -> Option<String> {
        match self {
            Vals::None => None,
            Vals::One(s) => Some(s.to_string()),
            Vals::Many(v) if v.is_empty() => None,
            Vals::Many(v) => Some(format!("({})", v.join(","))),
        }
    }
}

/// An event of some source: gives field values.
pub trait Event {
    fn source(&self) -> &str;
    fn extract(&self, def: &FieldDef, arg: &FArg) -> Vals<'_>;
}

pub fn eval(e: &Expr, ev: &dyn Event) -> bool {
    let mut memo = Vec::new();
    eval_memo(e, ev, &mut memo)
}

/// Evaluates with a per-event memo of check results (0 unknown, 1 false, 2 true), indexed
/// by check id; the caller clears it between events.
pub fn eval_memo(e: &Expr, ev: &dyn Event, memo: &mut Vec<u8>) -> bool {
    match e {
        Expr::Const(b) => *b,
        Expr::And(v) => v.iter().all(|x| eval_memo(x, ev, memo)),
        Expr::Or(v) => v.iter().any(|x| eval_memo(x, ev, memo)),
        Expr::Not(x) => !eval_memo(x, ev, memo),
        Expr::Check(c) => {
            if c.id >= memo.len() {
                memo.resize(c.id + 1, 0);
            }
            match memo[c.id] {
                1 => false,
                2 => true,
                _ => {
                    let r = check(c, ev);
                    memo[c.id] = if r { 2 } else { 1 };
                    r
                }
            }
        }
    }
}

fn num(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| s.parse::<u64>().ok().map(|u| u as i64))
}

/// Shell glob as fnmatch without FNM_PATHNAME: `*` (any run, `/` included), `?`, `[…]`.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches a `[...]` class at `p[i]`; returns (matched, index after the class).
fn class(p: &[char], i: usize, c: char) -> Option<(bool, usize)> {
    let mut j = i + 1;
    let negate = matches!(p.get(j), Some('!') | Some('^'));
    if negate {
        j += 1;
    }
    let mut matched = false;
    let mut first = true;
    while j < p.len() && (p[j] != ']' || first) {
        first = false;
        if j + 2 < p.len() && p[j + 1] == '-' && p[j + 2] != ']' {
            if p[j] <= c && c <= p[j + 2] {
                matched = true;
            }
            j += 3;
        } else {
            if p[j] == c {
                matched = true;
            }
            j += 1;
        }
    }
    if j >= p.len() {
        return None;
    }
    Some((matched != negate, j + 1))
}

fn pmatch(prefix: &str, path: &str) -> bool {
    if prefix.contains(['*', '?', '[']) {
        return glob(prefix, path) || glob(&format!("{}/*", prefix.trim_end_matches('/')), path);
    }
    let p = prefix.trim_end_matches('/');
    path == p
        || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'/'))
        || (p.is_empty() && path.starts_with('/'))
}

fn one(op: &Op, rhs: &Rhs, v: &str) -> bool {
    match (op, rhs) {
        (Op::Eq, Rhs::Str(s)) => v == s,
        (Op::Ne, Rhs::Str(s)) => v != s,
        (Op::Eq, Rhs::Num(n)) => num(v) == Some(*n),
        (Op::Ne, Rhs::Num(n)) => num(v) != Some(*n),
        (Op::Lt, Rhs::Num(n)) => num(v).is_some_and(|x| x < *n),
        (Op::Le, Rhs::Num(n)) => num(v).is_some_and(|x| x <= *n),
        (Op::Gt, Rhs::Num(n)) => num(v).is_some_and(|x| x > *n),
        (Op::Ge, Rhs::Num(n)) => num(v).is_some_and(|x| x >= *n),
        (Op::Contains, Rhs::Str(s)) => v.contains(s.as_str()),
        (Op::IContains, Rhs::Str(s)) => v.to_lowercase().contains(s.as_str()),
        (Op::StartsWith, Rhs::Str(s)) => v.starts_with(s.as_str()),
        (Op::EndsWith, Rhs::Str(s)) => v.ends_with(s.as_str()),
        (Op::Glob, Rhs::Str(s)) => glob(s, v),
        (Op::IGlob, Rhs::Str(s)) => glob(&s.to_lowercase(), &v.to_lowercase()),
        (Op::BContains, Rhs::Bytes(b)) => {
            !b.is_empty() && v.as_bytes().windows(b.len()).any(|w| w == b.as_slice())
        }
        (Op::BStartsWith, Rhs::Bytes(b)) => v.as_bytes().starts_with(b),
        (Op::Regex, Rhs::Regex(r)) => r.is_match(v),
        (Op::PMatch, Rhs::Paths(ps)) => ps.iter().any(|p| pmatch(p, v)),
        (Op::In | Op::Intersects, Rhs::Set(s)) => s.contains(v),
        (Op::In | Op::Intersects, Rhs::NumSet(s)) => num(v).is_some_and(|x| s.contains(&x)),
        (Op::In | Op::Intersects | Op::Eq, Rhs::Nets(n)) => crate::compile::parse_net(v)
            .is_some_and(|(a, b)| n.iter().any(|&(lo, hi)| lo <= a && b <= hi)),
        (Op::Ne, Rhs::Nets(n)) => crate::compile::parse_net(v)
            .is_some_and(|(a, b)| !n.iter().any(|&(lo, hi)| lo <= a && b <= hi)),
        _ => false,
    }
}

fn check(c: &Check, ev: &dyn Event) -> bool {
    let vals = ev.extract(c.def, &c.arg);
    if c.op == Op::Exists {
        return !vals.is_none();
    }
    if vals.is_none() {
        return false;
    }
    match (&c.op, &vals) {
        // A list field is `in` a set when every value is.
        (Op::In, Vals::Many(v)) => v.iter().all(|x| one(&c.op, &c.rhs, x)),
        _ => vals.iter().any(|x| one(&c.op, &c.rhs, x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_paths() {
        assert!(glob("/home/*/.ssh/*", "/home/a/.ssh/id_rsa"));
        assert!(glob("/proc/*/environ", "/proc/1/environ"));
        assert!(!glob("/proc/*/environ", "/proc/1/status"));
        assert!(glob("a?c[0-9]", "abc7"));
        assert!(!glob("a[!b]", "ab"));
        assert!(
            pmatch("/etc", "/etc/passwd") && pmatch("/etc/", "/etc") && !pmatch("/etc", "/etcd")
        );
    }
}
