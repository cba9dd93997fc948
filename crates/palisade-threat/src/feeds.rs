//! Feed parsers: every format turns text into [`Ioc`]s (an IP network or a domain) plus
//! diagnostics naming the file and line of each entry that could not be read. A bad line
//! never stops the rest of the file.
//!
//! Formats (the `format:` of a feed in the configuration):
//!
//! | format | what it reads |
//! |---|---|
//! | `plain` (`firehol`, `spamhaus-drop`, `feodo`, `domains`, `newline`) | one IP, CIDR or domain a line; `#`, `;` and `//` start comments (whole-line or after the entry) |
//! | `hosts` (`urlhaus-hosts`) | hosts-file lines `ADDRESS NAME…`; the names are the indicators |
//! | `urls` | one URL a line; its host (name or address) is the indicator |
//! | `spamhaus-json` | Spamhaus DROP JSON lines (`{"cidr": …}`; the metadata line is skipped) |
//! | `feodo-csv` | abuse.ch Feodo Tracker CSV (`dst_ip` is the second column, `#` comments) |
//! | `feodo-json` | abuse.ch Feodo Tracker JSON (`[{"ip_address": …}]`) |
//! | `csv` | Calico's CSV options: `fieldNum` (0-based) or `fieldName` with `header`, `columnDelimiter`, `commentDelimiter`, record size validation |
//! | `json` | Calico's JSON format: a JSONPath (`$`, `.key`, `['key']`, `[n]`, `[*]`, `.*`) selecting strings |
//! | `stix` | STIX 2.1 bundles (or TAXII envelopes) of indicators, see [`crate::stix`] |

use ipnet::IpNet;
use palisade_model::{Diagnostic, Level};
use std::net::IpAddr;

/// One indicator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ioc {
    Net(IpNet),
    /// Lower-case ASCII (IDNA) name without a trailing dot.
    Domain(String),
}

impl Ioc {
    pub fn kind(&self) -> &'static str {
        match self {
            Ioc::Net(_) => "ip",
            Ioc::Domain(_) => "domain",
        }
    }
}

impl std::fmt::Display for Ioc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ioc::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            Ioc::Net(n) => write!(f, "{n}"),
            Ioc::Domain(d) => f.write_str(d),
        }
    }
}

/// What a feed may contain (Calico's `content`: `IPSet` or `DomainNameSet`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Content {
    #[default]
    Any,
    Ips,
    Domains,
}

impl Content {
    pub fn parse(s: &str) -> Option<Content> {
        Some(match s.to_ascii_lowercase().as_str() {
            "any" | "" => Content::Any,
            "ip" | "ips" | "ipset" => Content::Ips,
            "domain" | "domains" | "domainnameset" => Content::Domains,
            _ => return None,
        })
    }
}

/// A CSV column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// 0-based, as Calico's `fieldNum`.
    Num(usize),
    /// A column named in the header line (Calico's `fieldName`, requires `header`).
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    pub field: Field,
    pub header: bool,
    pub delimiter: char,
    pub comment: Option<char>,
    /// Every record must have this many fields (0: as many as the first record).
    pub record_size: usize,
    pub validate_record_size: bool,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions {
            field: Field::Num(0),
            header: false,
            delimiter: ',',
            comment: Some('#'),
            record_size: 0,
            validate_record_size: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    Hosts,
    Urls,
    SpamhausJson,
    Csv(CsvOptions),
    Json(String),
    Stix,
}

impl Format {
    /// A format by its configuration name; `csv` and `json` take their options separately.
    pub fn by_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "plain" | "firehol" | "netset" | "spamhaus-drop" | "feodo" | "domains" | "newline"
            | "newlinedelimited" | "ips" => Format::Plain,
            "hosts" | "urlhaus-hosts" => Format::Hosts,
            "urls" | "urlhaus-urls" => Format::Urls,
            "spamhaus-json" => Format::SpamhausJson,
            "feodo-csv" => Format::Csv(CsvOptions {
                field: Field::Num(1),
                ..CsvOptions::default()
            }),
            "feodo-json" => Format::Json("$[*].ip_address".into()),
            "csv" => Format::Csv(CsvOptions::default()),
            "json" => Format::Json("$[*]".into()),
            "stix" | "stix2" | "taxii" => Format::Stix,
            _ => return None,
        })
    }
}

/// The result of parsing one feed file.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub iocs: Vec<Ioc>,
    pub diagnostics: Vec<Diagnostic>,
    /// Entries deliberately not indexed (STIX: expired, revoked, not yet valid; complex
    /// patterns), counted per reason.
    pub skipped: Vec<(String, u64)>,
}

impl Parsed {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
    pub(crate) fn error(&mut self, file: &str, line: usize, msg: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(Level::Error, file, line as u32, msg));
    }
    pub(crate) fn warn(&mut self, file: &str, line: usize, msg: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(Level::Warning, file, line as u32, msg));
    }
    pub(crate) fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((reason.to_string(), 1)),
        }
    }
    /// Adds a classified token, or reports it.
    fn push_token(&mut self, tok: &str, content: Content, file: &str, line: usize) {
        match classify(tok) {
            Ok(ioc) => self.push(ioc, content, file, line),
            Err(e) => self.error(file, line, e),
        }
    }
    pub(crate) fn push(&mut self, ioc: Ioc, content: Content, file: &str, line: usize) {
        match (&ioc, content) {
            (Ioc::Domain(d), Content::Ips) => {
                self.error(file, line, format!("{d:?} is a domain in an IP feed"))
            }
            (Ioc::Net(n), Content::Domains) => {
                self.error(file, line, format!("{n} is an address in a domain feed"))
            }
            _ => self.iocs.push(ioc),
        }
    }
}

/// Parses `text` (the contents of `file`) in `format`.
pub fn parse(text: &str, format: &Format, content: Content, file: &str) -> Parsed {
    let mut p = Parsed::default();
    match format {
        Format::Plain => plain(text, content, file, &mut p),
        Format::Hosts => hosts(text, content, file, &mut p),
        Format::Urls => urls(text, content, file, &mut p),
        Format::SpamhausJson => spamhaus_json(text, content, file, &mut p),
        Format::Csv(o) => csv(text, o, content, file, &mut p),
        Format::Json(path) => json(text, path, content, file, &mut p),
        Format::Stix => crate::stix::parse_into(
            text,
            content,
            file,
            palisade_detect::time::now_ns() / 1_000_000,
            &mut p,
        ),
    }
    p
}

/// An IP address, a CIDR or a domain name.
pub fn classify(tok: &str) -> Result<Ioc, String> {
    let t = tok.trim();
    if t.is_empty() {
        return Err("empty indicator".into());
    }
    if let Ok(n) = t.parse::<IpNet>() {
        return Ok(Ioc::Net(n.trunc()));
    }
    if let Ok(a) = t.parse::<IpAddr>() {
        return Ok(Ioc::Net(IpNet::from(a)));
    }
    // A range `a - b` (some netsets) is not a CIDR: say so rather than guess.
    if t.contains('/') || t.parse::<f64>().is_ok() || looks_numeric(t) {
        return Err(format!("{t:?} is not an IP address or CIDR"));
    }
    normalize_domain(t).map(Ioc::Domain)
}

fn looks_numeric(t: &str) -> bool {
    t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b':')
}

/// Lower case, IDNA (punycode), no trailing dot, `*.` removed; at least two labels of valid
/// characters.
pub fn normalize_domain(name: &str) -> Result<String, String> {
    let n = name.trim().trim_end_matches('.');
    let n = n.strip_prefix("*.").unwrap_or(n);
    let ascii = if n.is_ascii() {
        n.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(n)
            .map_err(|_| format!("{name:?} is not a valid internationalised domain name"))?
    };
    if ascii.len() > 253 {
        return Err(format!("{name:?} is longer than 253 characters"));
    }
    let mut labels = 0;
    for l in ascii.split('.') {
        labels += 1;
        if l.is_empty() || l.len() > 63 {
            return Err(format!("{name:?} has an empty or over-long label"));
        }
        if !l
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "{name:?} is not an IP address, CIDR or domain name"
            ));
        }
    }
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{name:?} is not an IP address, CIDR or domain name"
        ));
    }
    if labels < 2 {
        return Err(format!(
            "{name:?} is a single label, not a domain name an indicator can match"
        ));
    }
    Ok(ascii)
}

/// The text of a line without its comment, trimmed.
fn strip_comment(line: &str) -> &str {
    let l = line.trim();
    if l.starts_with('#') || l.starts_with(';') || l.starts_with("//") || l.starts_with('!') {
        return "";
    }
    let end = l.find([' ', '\t', '#', ';']).unwrap_or(l.len());
    let (entry, rest) = l.split_at(end);
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with(['#', ';']) || rest.starts_with("//") {
        entry
    } else {
        // More than one token: keep the whole line so the caller can say what it saw.
        l
    }
}

fn plain(text: &str, content: Content, file: &str, p: &mut Parsed) {
    for (i, line) in text.lines().enumerate() {
        let e = strip_comment(line.trim_start_matches('\u{feff}'));
        if e.is_empty() {
            continue;
        }
        if e.split_whitespace().nth(1).is_some() {
            p.error(
                file,
                i + 1,
                format!("{e:?}: more than one entry on the line (a hosts file? use format: hosts)"),
            );
            continue;
        }
        p.push_token(e, content, file, i + 1);
    }
}

/// Names a hosts file maps that are not indicators.
const HOSTS_LOCAL: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

fn hosts(text: &str, content: Content, file: &str, p: &mut Parsed) {
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let mut toks = l.split_whitespace();
        let addr = toks.next().unwrap_or("");
        if addr.parse::<IpAddr>().is_err() {
            p.error(
                file,
                i + 1,
                format!("{addr:?} is not an address: a hosts line is ADDRESS NAME…"),
            );
            continue;
        }
        let mut names = 0;
        for name in toks {
            names += 1;
            if HOSTS_LOCAL.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            match normalize_domain(name) {
                Ok(d) => p.push(Ioc::Domain(d), content, file, i + 1),
                Err(e) => p.error(file, i + 1, e),
            }
        }
        if names == 0 {
            p.error(file, i + 1, format!("{addr} maps no name"));
        }
    }
}

/// The host of a URL (`scheme://[user@]host[:port]/…`), brackets removed from IPv6.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit('@').next()?;
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

fn urls(text: &str, content: Content, file: &str, p: &mut Parsed) {
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match url_host(l) {
            Some(h) => p.push_token(h, content, file, i + 1),
            None => p.error(file, i + 1, format!("{l:?} has no host")),
        }
    }
}

fn spamhaus_json(text: &str, content: Content, file: &str, p: &mut Parsed) {
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => {
                p.error(file, i + 1, format!("not JSON: {e}"));
                continue;
            }
        };
        if v.get("type").and_then(|t| t.as_str()) == Some("metadata") {
            continue;
        }
        match v.get("cidr").and_then(|c| c.as_str()) {
            Some(c) => p.push_token(c, content, file, i + 1),
            None => p.error(file, i + 1, "no \"cidr\" string in the record"),
        }
    }
}

/// Splits one CSV record: fields may be quoted with `"` (`""` inside is a quote).
fn csv_fields(line: &str, delim: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.trim().is_empty() {
            cur.clear();
            quoted = true;
        } else if c == delim {
            out.push(std::mem::take(&mut cur).trim().to_string());
        } else {
            cur.push(c);
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn csv(text: &str, o: &CsvOptions, content: Content, file: &str, p: &mut Parsed) {
    let mut column = match &o.field {
        Field::Num(n) => Some(*n),
        Field::Name(_) => None,
    };
    let mut header_seen = !o.header;
    let mut size = o.record_size;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start_matches('\u{feff}').trim();
        if l.is_empty() || o.comment.is_some_and(|c| l.starts_with(c)) {
            continue;
        }
        let fields = csv_fields(l, o.delimiter);
        if !header_seen {
            header_seen = true;
            if let Field::Name(name) = &o.field {
                column = fields.iter().position(|f| f == name);
                if column.is_none() {
                    p.error(
                        file,
                        i + 1,
                        format!(
                            "the header has no column {name:?} (columns: {})",
                            fields.join(", ")
                        ),
                    );
                    return;
                }
            }
            if size == 0 {
                size = fields.len();
            }
            continue;
        }
        let Some(col) = column else {
            p.error(file, i + 1, "fieldName needs header: true");
            return;
        };
        if size == 0 {
            size = fields.len();
        }
        if o.validate_record_size && fields.len() != size {
            p.error(
                file,
                i + 1,
                format!("{} fields where the records have {size}", fields.len()),
            );
            continue;
        }
        match fields.get(col) {
            Some(v) => p.push_token(v, content, file, i + 1),
            None => p.error(
                file,
                i + 1,
                format!("no field {col} (0-based) in the record"),
            ),
        }
    }
}

/// One step of a JSONPath.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    All,
}

fn json_path(path: &str) -> Result<Vec<Step>, String> {
    let bad = || format!("unsupported JSONPath {path:?} (use $, .key, ['key'], [n], [*], .*)");
    let mut s = path.trim();
    s = s.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix(".*") {
            steps.push(Step::All);
            s = r;
        } else if let Some(r) = s.strip_prefix('.') {
            if r.starts_with('[') {
                s = r;
                continue;
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(Step::Key(r[..end].to_string()));
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let inner = r[..end].trim();
            if inner == "*" {
                steps.push(Step::All);
            } else if let Ok(n) = inner.parse::<usize>() {
                steps.push(Step::Index(n));
            } else if inner.len() >= 2
                && ((inner.starts_with('\'') && inner.ends_with('\''))
                    || (inner.starts_with('"') && inner.ends_with('"')))
            {
                steps.push(Step::Key(inner[1..inner.len() - 1].to_string()));
            } else {
                return Err(bad());
            }
            s = &r[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

fn select<'a>(v: &'a serde_json::Value, steps: &[Step], out: &mut Vec<&'a serde_json::Value>) {
    let Some((first, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (first, v) {
        (Step::Key(k), serde_json::Value::Object(m)) => {
            if let Some(x) = m.get(k) {
                select(x, rest, out)
            }
        }
        (Step::Index(i), serde_json::Value::Array(a)) => {
            if let Some(x) = a.get(*i) {
                select(x, rest, out)
            }
        }
        (Step::All, serde_json::Value::Array(a)) => a.iter().for_each(|x| select(x, rest, out)),
        (Step::All, serde_json::Value::Object(m)) => m.values().for_each(|x| select(x, rest, out)),
        _ => {}
    }
}

/// The 1-based line where `needle` first occurs in `text` (0 when it does not).
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    match text.find(needle) {
        Some(i) => text[..i].bytes().filter(|&b| b == b'\n').count() + 1,
        None => 0,
    }
}

fn json(text: &str, path: &str, content: Content, file: &str, p: &mut Parsed) {
    let steps = match json_path(path) {
        Ok(s) => s,
        Err(e) => return p.error(file, 0, e),
    };
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return p.error(file, e.line(), format!("not JSON: {e}")),
    };
    let mut found = Vec::new();
    select(&v, &steps, &mut found);
    if found.is_empty() {
        p.warn(file, 0, format!("the path {path} selects nothing"));
    }
    for x in found {
        match x {
            serde_json::Value::String(s) => {
                let line = line_of(text, &format!("\"{s}\""));
                p.push_token(s, content, file, line)
            }
            serde_json::Value::Array(a) if a.iter().all(|e| e.is_string()) => {
                for e in a.iter().filter_map(|e| e.as_str()) {
                    let line = line_of(text, &format!("\"{e}\""));
                    p.push_token(e, content, file, line);
                }
            }
            other => {
                let shown = other.to_string();
                let shown: String = shown.chars().take(60).collect();
                let line = line_of(text, &shown);
                p.error(
                    file,
                    line,
                    format!("the path {path} selects {shown}, not a string"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ioc {
        Ioc::Net(s.parse().unwrap())
    }

    #[test]
    fn plain_with_comments_and_bad_lines() {
        let text = "# FireHOL\n1.2.3.0/24\n;spamhaus\n5.6.7.8 ; SBL1\nnot a line\n10.0.0.1/8\nEvil.COM.\n999.1.1.1\n";
        let p = parse(text, &Format::Plain, Content::Any, "f.txt");
        assert_eq!(
            p.iocs,
            vec![
                net("1.2.3.0/24"),
                net("5.6.7.8/32"),
                net("10.0.0.0/8"),
                Ioc::Domain("evil.com".into())
            ]
        );
        let lines: Vec<u32> = p.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![5, 8]);
        assert!(p.diagnostics.iter().all(|d| d.source == "f.txt"));
    }

    #[test]
    fn content_is_enforced() {
        let p = parse("evil.com\n1.1.1.1\n", &Format::Plain, Content::Ips, "f");
        assert_eq!(p.iocs, vec![net("1.1.1.1/32")]);
        assert_eq!(p.diagnostics[0].line, 1);
    }

    #[test]
    fn hosts_file() {
        let text = "127.0.0.1 localhost\n0.0.0.0 bad.example.org  other.example.net # c\nbogus line\n::1 ip6-localhost\n";
        let p = parse(text, &Format::Hosts, Content::Any, "h");
        assert_eq!(
            p.iocs,
            vec![
                Ioc::Domain("bad.example.org".into()),
                Ioc::Domain("other.example.net".into())
            ]
        );
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].line, 3);
    }

    #[test]
    fn idna_and_wildcards() {
        assert_eq!(
            classify("*.Bücher.example").unwrap(),
            Ioc::Domain("xn--bcher-kva.example".into())
        );
        assert!(classify("localhost").is_err());
        assert!(classify("a..b").is_err());
        assert!(classify("1.2.3.4-1.2.3.9").is_err());
    }

    #[test]
    fn urls_and_hosts() {
        assert_eq!(url_host("http://u:p@Evil.com:8080/x?y"), Some("Evil.com"));
        assert_eq!(url_host("https://[2001:db8::1]:443/"), Some("2001:db8::1"));
        let p = parse(
            "http://evil.com/a.exe\nhttp://198.51.100.7/x\nhttp:///nohost\n",
            &Format::Urls,
            Content::Any,
            "u",
        );
        assert_eq!(p.iocs.len(), 2);
        assert_eq!(p.diagnostics[0].line, 3);
    }

    #[test]
    fn spamhaus_json_lines() {
        let text = "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n{oops\n{\"type\":\"metadata\",\"timestamp\":1}\n{\"sblid\":\"x\"}\n";
        let p = parse(text, &Format::SpamhausJson, Content::Ips, "drop.json");
        assert_eq!(p.iocs, vec![net("1.10.16.0/20")]);
        let lines: Vec<u32> = p.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![2, 4]);
    }

    #[test]
    fn csv_by_number_and_name() {
        let text = "# comment\n\"2021-01-01\",\"1.2.3.4\",\"443\"\n\"2021-01-01\",\"5.6.7.8\"\n\"x\",\"bad\",\"1\"\n";
        let p = parse(
            text,
            &Format::by_name("feodo-csv").unwrap(),
            Content::Ips,
            "c",
        );
        assert_eq!(p.iocs, vec![net("1.2.3.4/32")]);
        let lines: Vec<u32> = p.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![3, 4]);

        let o = CsvOptions {
            field: Field::Name("addr".into()),
            header: true,
            delimiter: '|',
            comment: Some(';'),
            ..CsvOptions::default()
        };
        let p = parse(
            ";c\nname|addr\na|9.9.9.9\nb|8.8.8.0/24\n",
            &Format::Csv(o.clone()),
            Content::Any,
            "c",
        );
        assert_eq!(p.iocs, vec![net("9.9.9.9/32"), net("8.8.8.0/24")]);
        let p = parse("name|x\n", &Format::Csv(o), Content::Any, "c");
        assert_eq!(p.diagnostics[0].line, 1);
    }

    #[test]
    fn json_paths() {
        let text =
            "{\"items\": [\n {\"ip\": \"1.2.3.4\"},\n {\"ip\": 5},\n {\"ip\": \"evil.org\"}\n]}";
        let p = parse(
            text,
            &Format::Json("$.items[*].ip".into()),
            Content::Any,
            "j",
        );
        assert_eq!(
            p.iocs,
            vec![net("1.2.3.4/32"), Ioc::Domain("evil.org".into())]
        );
        assert_eq!(p.diagnostics.len(), 1);
        let p = parse(
            "[{\"ip_address\":\"1.1.1.1\"}]",
            &Format::by_name("feodo-json").unwrap(),
            Content::Ips,
            "j",
        );
        assert_eq!(p.iocs, vec![net("1.1.1.1/32")]);
        assert!(json_path("$..x").is_err());
        let p = parse("{", &Format::Json("$".into()), Content::Any, "j");
        assert_eq!(p.errors(), 1);
    }
}
