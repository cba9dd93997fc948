//! OPA's `sprintf`: Go's `fmt.Sprintf` over the arguments converted as OPA converts them
//! (integers to `int` (or `*big.Int`), other numbers to `float64`, strings to strings,
//! everything else to its Rego text). Installed in place of regorus's own `sprintf`,
//! which refuses a format whose verbs outnumber the arguments where Go writes
//! `%!v(MISSING)` — and Gatekeeper library templates rely on Go's behaviour.

use regorus::Value;

/// An argument after OPA's conversion.
#[derive(Clone, Debug, PartialEq)]
enum Arg {
    Int(i64),
    /// An integer beyond 64 bits, as decimal text.
    Big(String),
    Float(f64),
    Str(String),
}

impl Arg {
    fn from_value(v: &Value) -> Arg {
        match v {
            Value::Number(n) => {
                if n.is_integer() {
                    match n.as_i64() {
                        Some(i) => Arg::Int(i),
                        None => Arg::Big(n.format_decimal()),
                    }
                } else {
                    match n.as_f64() {
                        Some(f) => Arg::Float(f),
                        None => Arg::Str(n.format_decimal()),
                    }
                }
            }
            Value::String(s) => Arg::Str(s.to_string()),
            other => Arg::Str(rego_text(other)),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Arg::Int(_) => "int",
            Arg::Big(_) => "*big.Int",
            Arg::Float(_) => "float64",
            Arg::Str(_) => "string",
        }
    }

    /// `%v` without flags, for error forms.
    fn plain(&self) -> String {
        match self {
            Arg::Int(i) => i.to_string(),
            Arg::Big(s) | Arg::Str(s) => s.clone(),
            Arg::Float(f) => format_g(*f, None, false),
        }
    }
}

/// A value as Rego prints it (`ast.Term.String()`): strings quoted, sets in braces
/// (`set()` when empty), object keys in order.
pub(crate) fn rego_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.format_decimal(),
        Value::String(s) => go_quote(s),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(rego_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Set(s) if s.is_empty() => "set()".into(),
        Value::Set(s) => format!(
            "{{{}}}",
            s.iter().map(rego_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter_sorted()
                .map(|(k, v)| format!("{}: {}", rego_text(k), rego_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Undefined => "undefined".into(),
    }
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Default, Clone, Copy)]
struct Flags {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Shortest decimal digits and decimal-point position of `f` (> 0): `1234.5` →
/// (`12345`, 4).
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exp + 1)
}

/// `%e` from digits: `d.ddde±XX`.
fn e_form(digits: &str, dp: i32, upper: bool) -> String {
    let exp = dp - 1;
    let (first, rest) = digits.split_at(1);
    let mut s = first.to_string();
    if !rest.is_empty() {
        s.push('.');
        s.push_str(rest);
    }
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

/// `%f` from digits without trailing zeros.
fn f_form(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// Go's `%g` (`%v` for floats) of a finite, non-negative number.
fn format_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative() && f != 0.0;
    let a = f.abs();
    let body = if a == 0.0 {
        "0".to_string()
    } else {
        let (digits, dp, eprec) = match prec {
            None => {
                let (d, dp) = shortest_digits(a);
                (d, dp, 6)
            }
            Some(p) => {
                let p = p.max(1);
                let s = format!("{:.*e}", p - 1, a);
                let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
                let exp: i32 = exp.parse().unwrap_or(0);
                let d: String = mant.chars().filter(char::is_ascii_digit).collect();
                let d = d.trim_end_matches('0').to_string();
                let d = if d.is_empty() { "0".to_string() } else { d };
                let dp = exp + 1;
                let mut eprec = p as i32;
                if eprec > d.len() as i32 && d.len() as i32 >= dp {
                    eprec = d.len() as i32;
                }
                (d, dp, eprec)
            }
        };
        let exp = dp - 1;
        if exp < -4 || exp >= eprec {
            e_form(&digits, dp, upper)
        } else {
            f_form(&digits, dp)
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

fn go_exp(s: &str, upper: bool) -> String {
    // Rust `1.5e3` → Go `1.5e+03`.
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mant}{}{}{:02}",
        if upper { 'E' } else { 'e' },
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

fn pad(s: String, fl: &Flags, numeric: bool) -> String {
    let Some(w) = fl.width else { return s };
    let len = s.chars().count();
    if len >= w {
        return s;
    }
    let fill = w - len;
    if fl.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if fl.zero && numeric {
        // Zeros go after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), s[1..].to_string()),
            _ => (String::new(), s),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

fn sign(neg: bool, fl: &Flags) -> &'static str {
    if neg {
        "-"
    } else if fl.plus {
        "+"
    } else if fl.space {
        " "
    } else {
        ""
    }
}

fn bad_verb(verb: char, arg: &Arg) -> String {
    format!("%!{verb}({}={})", arg.type_name(), arg.plain())
}

fn format_int(verb: char, i: i128, fl: &Flags, arg: &Arg) -> String {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let digits = match verb {
        'v' | 'd' => a.to_string(),
        'b' => format!("{a:b}"),
        'o' => {
            if fl.sharp {
                format!("0{a:o}")
            } else {
                format!("{a:o}")
            }
        }
        'O' => format!("0o{a:o}"),
        'x' => {
            if fl.sharp {
                format!("0x{a:x}")
            } else {
                format!("{a:x}")
            }
        }
        'X' => {
            if fl.sharp {
                format!("0X{a:X}")
            } else {
                format!("{a:X}")
            }
        }
        'c' => {
            return pad(
                char::from_u32(i as u32).unwrap_or('\u{fffd}').to_string(),
                fl,
                false,
            )
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            let q = match c {
                '\'' => "'\\''".to_string(),
                c => {
                    let g = go_quote(&c.to_string());
                    format!("'{}'", &g[1..g.len() - 1])
                }
            };
            return pad(q, fl, false);
        }
        'U' => format!("U+{a:04X}"),
        _ => return bad_verb(verb, arg),
    };
    let digits = match fl.prec {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    };
    pad(format!("{}{digits}", sign(neg, fl)), fl, fl.prec.is_none())
}

fn format_float(verb: char, f: f64, fl: &Flags, arg: &Arg) -> String {
    let neg = f.is_sign_negative() && f != 0.0 && !f.is_nan();
    let a = f.abs();
    let body = if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        "Inf".to_string()
    } else {
        match verb {
            'v' | 'g' => format_g(a, fl.prec, false),
            'G' => format_g(a, fl.prec, true),
            'e' => go_exp(&format!("{:.*e}", fl.prec.unwrap_or(6), a), false),
            'E' => go_exp(&format!("{:.*e}", fl.prec.unwrap_or(6), a), true),
            'f' | 'F' => format!("{:.*}", fl.prec.unwrap_or(6), a),
            _ => return bad_verb(verb, arg),
        }
    };
    let s = if f.is_infinite() && !neg {
        format!("{}{body}", if fl.space { " " } else { "+" })
    } else {
        format!("{}{body}", sign(neg, fl))
    };
    pad(s, fl, f.is_finite())
}

fn format_str(verb: char, s: &str, fl: &Flags, arg: &Arg) -> String {
    let truncated = |s: &str| match fl.prec {
        Some(p) => s.chars().take(p).collect::<String>(),
        None => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(truncated(s), fl, false),
        'q' => {
            let t = truncated(s);
            if fl.sharp && !t.contains('`') && !t.chars().any(|c| c.is_control() && c != '\t') {
                pad(format!("`{t}`"), fl, false)
            } else {
                pad(go_quote(&t), fl, false)
            }
        }
        'x' | 'X' => {
            let bytes = truncated(s);
            let hex: String = bytes
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            pad(hex, fl, false)
        }
        _ => bad_verb(verb, arg),
    }
}

fn format_arg(verb: char, arg: &Arg, fl: &Flags) -> String {
    match arg {
        Arg::Int(i) => format_int(verb, *i as i128, fl, arg),
        Arg::Big(s) => match verb {
            'v' | 'd' => pad(s.clone(), fl, true),
            _ => bad_verb(verb, arg),
        },
        Arg::Float(f) => format_float(verb, *f, fl, arg),
        Arg::Str(s) => format_str(verb, s, fl, arg),
    }
}

/// `fmt.Sprintf(format, args...)`.
fn go_sprintf(format: &str, args: &[Arg]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut next_arg = 0;
    let mut reordered = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut fl = Flags::default();
        while i < chars.len() {
            match chars[i] {
                '-' => fl.minus = true,
                '+' => fl.plus = true,
                '#' => fl.sharp = true,
                '0' => fl.zero = !fl.minus,
                ' ' => fl.space = true,
                _ => break,
            }
            i += 1;
        }
        // Explicit argument index `[n]`.
        let mut arg_index = |i: &mut usize, next_arg: &mut usize| {
            if *i < chars.len() && chars[*i] == '[' {
                if let Some(end) = chars[*i..].iter().position(|&c| c == ']') {
                    let n: String = chars[*i + 1..*i + end].iter().collect();
                    if let Ok(n) = n.parse::<usize>() {
                        if n >= 1 {
                            *next_arg = n - 1;
                            reordered = true;
                        }
                    }
                    *i += end + 1;
                }
            }
        };
        arg_index(&mut i, &mut next_arg);
        // Width.
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            if let Some(Arg::Int(w)) = args.get(next_arg) {
                if *w < 0 {
                    fl.minus = true;
                }
                fl.width = Some(w.unsigned_abs() as usize);
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            next_arg += 1;
        } else {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i > start {
                fl.width = chars[start..i].iter().collect::<String>().parse().ok();
            }
        }
        // Precision.
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            arg_index(&mut i, &mut next_arg);
            if i < chars.len() && chars[i] == '*' {
                i += 1;
                match args.get(next_arg) {
                    Some(Arg::Int(p)) if *p >= 0 => fl.prec = Some(*p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                next_arg += 1;
            } else {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                fl.prec = Some(
                    chars[start..i]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .unwrap_or(0),
                );
            }
        }
        arg_index(&mut i, &mut next_arg);
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next_arg) {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(arg) => {
                out.push_str(&format_arg(verb, arg, &fl));
                next_arg += 1;
            }
        }
    }
    if !reordered && next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.plain()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// `sprintf(format, values)`; undefined when the arguments have the wrong types (OPA
/// refuses such a call when it type-checks the policy).
pub(crate) fn sprintf(args: &[Value]) -> Value {
    let (Some(Value::String(format)), Some(Value::Array(values))) = (args.first(), args.get(1))
    else {
        return Value::Undefined;
    };
    let args: Vec<Arg> = values.iter().map(Arg::from_value).collect();
    Value::from(go_sprintf(format, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: &[Arg]) -> String {
        go_sprintf(format, args)
    }

    #[test]
    fn go_semantics() {
        use Arg::*;
        assert_eq!(
            f("%v <%v> %v", &[Str("a".into()), Int(3)]),
            "a <3> %!v(MISSING)"
        );
        assert_eq!(f("%v", &[Int(1), Str("x".into())]), "1%!(EXTRA string=x)");
        assert_eq!(f("%d%%", &[Int(50)]), "50%");
        assert_eq!(f("%s", &[Int(5)]), "%!s(int=5)");
        assert_eq!(f("%d", &[Str("x".into())]), "%!d(string=x)");
        assert_eq!(
            f(
                "%05d|%-4d|%+d|%x|%X|%o|%b",
                &[Int(-42), Int(7), Int(3), Int(255), Int(255), Int(8), Int(5)]
            ),
            "-0042|7   |+3|ff|FF|10|101"
        );
        assert_eq!(
            f("%.2f %f %e", &[Float(1.005), Float(1.5), Float(1234.5)]),
            "1.00 1.500000 1.234500e+03"
        );
        assert_eq!(
            f(
                "%v %v %v %v",
                &[
                    Float(1.5),
                    Float(1234567.0),
                    Float(0.00001),
                    Float(100000.0)
                ]
            ),
            "1.5 1.234567e+06 1e-05 100000"
        );
        assert_eq!(f("%g %.3g", &[Float(0.5), Float(1.23456)]), "0.5 1.23");
        assert_eq!(
            f(
                "%q %5s|%-5s|%.2s",
                &[
                    Str("a\"b".into()),
                    Str("x".into()),
                    Str("y".into()),
                    Str("abc".into())
                ]
            ),
            "\"a\\\"b\"     x|y    |ab"
        );
        assert_eq!(f("%[2]v %[1]v", &[Int(1), Int(2)]), "2 1");
        assert_eq!(f("100%", &[]), "100%!(NOVERB)");
    }

    #[test]
    fn rego_values() {
        let v = Value::from_json_str(r#"[{"max": 6, "min": 3}, ["a", 1.5], null, true]"#).unwrap();
        assert_eq!(
            rego_text(&v),
            r#"[{"max": 6, "min": 3}, ["a", 1.5], null, true]"#
        );
        let out = sprintf(&[
            Value::from("%v and %v"),
            Value::from_json_str(r#"[["x"], "y"]"#).unwrap(),
        ]);
        assert_eq!(out, Value::from(r#"["x"] and y"#));
    }
}
