//! CoreDNS Corefile parsing and checks.
//!
//! A Corefile is a list of server blocks (`zone[:port] ... { directives }`); each directive
//! is a plugin name with arguments and an optional nested block. Comments start with `#`;
//! quoted strings may hold spaces. Snippets (`(name) { ... }`) are skipped.

use crate::analysis::Issue;

/// One directive: plugin name, arguments, nested directives, line.
#[derive(Clone, Debug, PartialEq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub block: Vec<Directive>,
    pub line: u32,
}

/// A server block.
#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub keys: Vec<String>,
    pub directives: Vec<Directive>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Newline,
}

fn tokenize(text: &str) -> Vec<(Tok, u32)> {
    let mut out = Vec::new();
    let mut line = 1u32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push((Tok::Newline, line));
                line += 1;
            }
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '{' if chars.peek() == Some(&'$') => {
                let mut w = String::from(c);
                read_word(&mut chars, &mut w);
                out.push((Tok::Word(w), line));
            }
            '{' => out.push((Tok::Open, line)),
            '}' => out.push((Tok::Close, line)),
            c if c.is_whitespace() => {}
            '"' => {
                let start = line;
                let mut w = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                w.push(n);
                            }
                        }
                        '\n' => {
                            line += 1;
                            w.push(c)
                        }
                        _ => w.push(c),
                    }
                }
                out.push((Tok::Word(w), start));
            }
            _ => {
                let mut w = String::from(c);
                read_word(&mut chars, &mut w);
                out.push((Tok::Word(w), line));
            }
        }
    }
    out
}

/// Reads the rest of a word; `{$ENV}` placeholders belong to it.
fn read_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, w: &mut String) {
    let in_placeholder = |w: &String| w.rfind("{$").is_some_and(|i| !w[i..].contains('}'));
    while let Some(&n) = chars.peek() {
        if in_placeholder(w) {
            if n == '\n' {
                break;
            }
            w.push(n);
            chars.next();
            continue;
        }
        if n == '{' {
            let mut look = chars.clone();
            look.next();
            if look.peek() == Some(&'$') {
                w.push(n);
                chars.next();
                continue;
            }
        }
        if n.is_whitespace() || n == '{' || n == '}' || n == '#' {
            break;
        }
        w.push(n);
        chars.next();
    }
}

/// Parses a Corefile. Errors (unbalanced braces, a block without keys) are issues with
/// lines; what parsed is still returned.
pub fn parse(text: &str) -> (Vec<Server>, Vec<Issue>) {
    let toks = tokenize(text);
    let mut i = 0;
    let mut servers = Vec::new();
    let mut issues = Vec::new();
    while i < toks.len() {
        // Server keys up to `{`.
        let mut keys = Vec::new();
        let mut line = 0;
        while i < toks.len() {
            match &toks[i].0 {
                Tok::Word(w) => {
                    if keys.is_empty() {
                        line = toks[i].1;
                    }
                    keys.push(w.clone());
                }
                Tok::Newline if keys.is_empty() => {}
                Tok::Newline => {
                    // keys may continue on the next line only after a trailing comma
                    if !keys.last().is_some_and(|k: &String| k.ends_with(',')) {
                        break;
                    }
                }
                Tok::Open => break,
                Tok::Close => {
                    issues.push(Issue::new("DNS005", toks[i].1, "unexpected `}`"));
                }
            }
            i += 1;
        }
        if i >= toks.len() {
            if !keys.is_empty() {
                issues.push(Issue::new(
                    "DNS005",
                    line,
                    format!("server block {:?} has no `{{`", keys.join(" ")),
                ));
            }
            break;
        }
        if toks[i].0 != Tok::Open {
            issues.push(Issue::new(
                "DNS005",
                line,
                format!("server block {:?} has no `{{`", keys.join(" ")),
            ));
            i += 1;
            continue;
        }
        if keys.is_empty() {
            issues.push(Issue::new(
                "DNS005",
                toks[i].1,
                "a block without server keys",
            ));
        }
        let open_line = toks[i].1;
        i += 1;
        let (directives, closed) = parse_block(&toks, &mut i, &mut issues, 0);
        if !closed {
            issues.push(Issue::new("DNS005", open_line, "unclosed `{`"));
        }
        let keys: Vec<String> = keys
            .iter()
            .flat_map(|k| {
                k.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        if keys
            .first()
            .is_some_and(|k| k.starts_with('(') && k.ends_with(')'))
        {
            continue; // snippet definition
        }
        servers.push(Server {
            keys,
            directives,
            line,
        });
    }
    (servers, issues)
}

const MAX_DEPTH: usize = 32;

fn parse_block(
    toks: &[(Tok, u32)],
    i: &mut usize,
    issues: &mut Vec<Issue>,
    depth: usize,
) -> (Vec<Directive>, bool) {
    let mut out = Vec::new();
    let mut cur: Option<Directive> = None;
    while *i < toks.len() {
        let (t, line) = (&toks[*i].0, toks[*i].1);
        *i += 1;
        match t {
            Tok::Word(w) => match cur.as_mut() {
                Some(d) => d.args.push(w.clone()),
                None => {
                    cur = Some(Directive {
                        name: w.clone(),
                        args: Vec::new(),
                        block: Vec::new(),
                        line,
                    })
                }
            },
            Tok::Newline => {
                if let Some(d) = cur.take() {
                    out.push(d);
                }
            }
            Tok::Open => {
                if depth >= MAX_DEPTH {
                    issues.push(Issue::new("DNS005", line, "blocks nested too deeply"));
                    return (out, false);
                }
                let (inner, closed) = parse_block(toks, i, issues, depth + 1);
                if !closed {
                    issues.push(Issue::new("DNS005", line, "unclosed `{`"));
                }
                match cur.as_mut() {
                    Some(d) => d.block = inner,
                    None => issues.push(Issue::new(
                        "DNS005",
                        line,
                        "a `{` block without a directive",
                    )),
                }
                if let Some(d) = cur.take() {
                    out.push(d);
                }
            }
            Tok::Close => {
                if let Some(d) = cur.take() {
                    out.push(d);
                }
                return (out, true);
            }
        }
    }
    if let Some(d) = cur.take() {
        out.push(d);
    }
    (out, false)
}

fn is_public_ip(s: &str) -> Option<bool> {
    let host = s
        .rsplit_once(':')
        .filter(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
        .map(|(h, _)| h)
        .unwrap_or(s);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = host.parse().ok()?;
    Some(match ip {
        std::net::IpAddr::V4(v) => {
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.octets()[0] == 100 && (64..128).contains(&v.octets()[1]))
        }
        std::net::IpAddr::V6(v) => {
            !(v.is_loopback()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80)
        }
    })
}

/// Checks a parsed Corefile.
pub fn check(servers: &[Server]) -> Vec<Issue> {
    let mut out = Vec::new();
    for s in servers {
        let name = s.keys.join(" ");
        let has = |p: &str| s.directives.iter().any(|d| d.name == p);
        let mut forwards = false;
        for d in &s.directives {
            match d.name.as_str() {
                "transfer" => {
                    let tos: Vec<&String> = d
                        .block
                        .iter()
                        .filter(|b| b.name == "to")
                        .flat_map(|b| b.args.iter())
                        .collect();
                    if tos.iter().any(|t| *t == "*") {
                        out.push(Issue::new("DNS001", d.line, format!("server {name}: `transfer ... to *` lets anyone download the zones (every Service and namespace)")));
                    } else {
                        out.push(
                            Issue::new(
                                "DNS001",
                                d.line,
                                format!(
                                    "server {name}: zone transfers are enabled to {}",
                                    tos.iter()
                                        .map(|s| s.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                            .with_severity(palisade_report::Severity::Medium),
                        );
                    }
                }
                "kubernetes" => {
                    for b in &d.block {
                        if b.name == "pods"
                            && b.args.first().map(String::as_str) == Some("insecure")
                        {
                            out.push(Issue::new("DNS001", b.line, format!("server {name}: `pods insecure` answers for any pod IP without checking that a pod has it")).with_severity(palisade_report::Severity::Medium));
                        }
                    }
                }
                "forward" | "proxy" => {
                    forwards = true;
                    for t in d.args.iter().skip(1) {
                        if t.starts_with("tls://")
                            || t.starts_with("/")
                            || t.starts_with("https://")
                        {
                            continue;
                        }
                        let addr = t.strip_prefix("dns://").unwrap_or(t);
                        if is_public_ip(addr) == Some(true) {
                            out.push(Issue::new("DNS002", d.line, format!("server {name}: forwards to {t} over plaintext DNS across the internet")));
                        }
                    }
                }
                _ => {}
            }
        }
        if forwards && !has("cache") {
            out.push(Issue::new(
                "DNS003",
                s.line,
                format!("server {name} forwards queries without `cache`"),
            ));
        }
        if forwards && !has("loop") {
            out.push(Issue::new(
                "DNS004",
                s.line,
                format!("server {name} forwards queries without `loop` detection"),
            ));
        }
    }
    out.sort_by_key(|i| (i.line, i.id));
    out
}

/// Parses and checks.
pub fn analyze(text: &str) -> (Vec<Server>, Vec<Issue>) {
    let (servers, mut issues) = parse(text);
    issues.extend(check(&servers));
    issues.sort_by_key(|i| (i.line, i.id));
    (servers, issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBEADM: &str = r#".:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"#;

    #[test]
    fn parses_the_kubeadm_default() {
        let (s, issues) = analyze(KUBEADM);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].keys, [".:53"]);
        assert_eq!(s[0].directives.len(), 10);
        let k = &s[0].directives[3];
        assert_eq!(
            (k.name.as_str(), k.args.len(), k.block.len()),
            ("kubernetes", 3, 3)
        );
        // the kubeadm default has `pods insecure`
        let ids: Vec<(&str, u32)> = issues.iter().map(|i| (i.id, i.line)).collect();
        assert_eq!(ids, [("DNS001", 8)]);
    }

    #[test]
    fn exposure_forwarding_and_guards() {
        let (_, issues) = analyze(
            "example.org {\n  file db.example.org\n  transfer {\n    to *\n  }\n}\n.:53 {\n  forward . 8.8.8.8 10.0.0.2 tls://1.1.1.1\n}\n",
        );
        let ids: Vec<(&str, u32)> = issues.iter().map(|i| (i.id, i.line)).collect();
        assert_eq!(
            ids,
            [("DNS001", 3), ("DNS003", 7), ("DNS004", 7), ("DNS002", 8)]
        );
    }

    #[test]
    fn syntax_errors_have_lines() {
        let (_, issues) = analyze(".:53 {\n  errors\n");
        assert_eq!(issues[0].id, "DNS005");
        assert_eq!(issues[0].line, 1);
        let (_, issues) = analyze("}\n");
        assert_eq!(issues[0].id, "DNS005");
    }
}
