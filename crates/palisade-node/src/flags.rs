//! Command lines and flags as Kubernetes components (spf13/pflag) read them.
//!
//! `--name=value` and `--name value` both set a flag; a known boolean flag given alone
//! (`--profiling`) is `true` and never takes the next word as its value (pflag's rule for
//! boolean flags). When a flag is repeated, the last occurrence wins, except that every
//! occurrence is kept for list-valued readers ([`Flags::all`]). Single-dash flags (`-v=2`)
//! are accepted the same way.

/// Boolean flags of the components we inspect: given alone they mean `true`, and the word
/// after them is not their value.
const BOOL_FLAGS: &[&str] = &[
    "anonymous-auth",
    "profiling",
    "allow-privileged",
    "service-account-lookup",
    "service-account-extend-token-expiration",
    "use-service-account-credentials",
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "rotate-certificates",
    "make-iptables-util-chains",
    "protect-kernel-defaults",
    "seccomp-default",
    "authentication-token-webhook",
    "enable-bootstrap-token-auth",
    "leader-elect",
    "cluster-init",
    "protect-kernel-defaults",
    "secrets-encryption",
    "selinux",
    "server-tls-bootstrap",
];

/// NUL-separated `/proc/<pid>/cmdline` bytes to arguments (invalid UTF-8 is replaced; a
/// trailing NUL does not make an empty argument).
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// One flag as written: its name without dashes and its value (`None` for a bare flag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

/// The flags of one command line, in order, and its positional arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub flags: Vec<Flag>,
    pub positional: Vec<String>,
}

impl Flags {
    /// Parses arguments (without the program name).
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Flags {
        let mut out = Flags::default();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_ref();
            i += 1;
            if a == "--" {
                out.positional
                    .extend(args[i..].iter().map(|s| s.as_ref().to_string()));
                break;
            }
            let body = if let Some(b) = a.strip_prefix("--") {
                b
            } else if let Some(b) = a.strip_prefix('-').filter(|b| !b.is_empty()) {
                b
            } else {
                out.positional.push(a.to_string());
                continue;
            };
            if let Some((n, v)) = body.split_once('=') {
                out.flags.push(Flag {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                });
                continue;
            }
            let takes_next = !BOOL_FLAGS.contains(&body)
                && args
                    .get(i)
                    .is_some_and(|n| !n.as_ref().starts_with('-') || n.as_ref() == "-");
            let value = if takes_next {
                i += 1;
                Some(args[i - 1].as_ref().to_string())
            } else {
                None
            };
            out.flags.push(Flag {
                name: body.to_string(),
                value,
            });
        }
        out
    }

    /// The effective value of a flag: the last occurrence; a bare flag is `"true"`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .map(|f| f.value.clone().unwrap_or_else(|| "true".into()))
    }

    /// Every value given for a (repeatable) flag, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.value.clone().unwrap_or_else(|| "true".into()))
            .collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f.name == name)
    }

    /// Adds `name=value` pairs as flags (k3s `--kube-apiserver-arg=name=value`).
    pub fn push_pair(&mut self, pair: &str) {
        let pair = pair.trim_start_matches('-');
        let (n, v) = match pair.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (pair, None),
        };
        if !n.is_empty() {
            self.flags.push(Flag {
                name: n.to_string(),
                value: v,
            });
        }
    }
}

/// A comma-separated flag value as a list (empty items dropped, whitespace trimmed).
pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `--feature-gates=A=true,B=false` as pairs; items without `=bool` are reported as errors.
pub fn feature_gates(v: &str) -> (Vec<(String, bool)>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for item in split_list(v) {
        match item.split_once('=') {
            Some((k, b)) if b.eq_ignore_ascii_case("true") => ok.push((k.trim().into(), true)),
            Some((k, b)) if b.eq_ignore_ascii_case("false") => ok.push((k.trim().into(), false)),
            _ => bad.push(item),
        }
    }
    (ok, bad)
}

/// A Go duration (`4h0m0s`, `30m`, `0`, `1.5h`) in seconds; `None` when malformed.
pub fn go_duration_secs(s: &str) -> Option<f64> {
    let s = s.trim();
    if s == "0" {
        return Some(0.0);
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * mult;
    }
    Some(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_bytes() {
        assert_eq!(parse_cmdline(b"kubelet\0--a=b\0"), ["kubelet", "--a=b"]);
        assert!(parse_cmdline(b"").is_empty());
        assert_eq!(parse_cmdline(b"x\0\0y"), ["x", "", "y"]);
    }

    #[test]
    fn pflag_forms() {
        let f = Flags::parse(&[
            "--config",
            "/etc/k/c.yaml",
            "--profiling",
            "--v=2",
            "-x=1",
            "--anonymous-auth",
            "false-ish-positional",
            "--authorization-mode=Node,RBAC",
            "--authorization-mode=RBAC",
        ]);
        assert_eq!(f.get("config").as_deref(), Some("/etc/k/c.yaml"));
        assert_eq!(f.get("profiling").as_deref(), Some("true"));
        assert_eq!(f.get("anonymous-auth").as_deref(), Some("true"));
        assert_eq!(f.positional, ["false-ish-positional"]);
        assert_eq!(f.get("authorization-mode").as_deref(), Some("RBAC"));
        assert_eq!(f.all("authorization-mode").len(), 2);
        assert_eq!(f.get("x").as_deref(), Some("1"));
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn gates_and_durations() {
        let (ok, bad) = feature_gates("A=true, B=False,C");
        assert_eq!(ok, [("A".to_string(), true), ("B".to_string(), false)]);
        assert_eq!(bad, ["C"]);
        assert_eq!(go_duration_secs("4h0m0s"), Some(14400.0));
        assert_eq!(go_duration_secs("1.5m"), Some(90.0));
        assert_eq!(go_duration_secs("0"), Some(0.0));
        assert_eq!(go_duration_secs("5x"), None);
        assert_eq!(go_duration_secs(""), None);
    }
}
