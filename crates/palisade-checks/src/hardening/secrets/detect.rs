//! Secret detection shared by the Secrets checks: secret-like names, known credential formats
//! and high-entropy tokens, with hand-written matchers (no regular expressions).
//!
//! Nothing here keeps or returns the matched text: a [`Hit`] says what a value looks like and
//! how long the match is, so messages built with [`Hit::describe`] never leak the secret.

/// What a detector found. Carries no part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub kind: HitKind,
    /// Length, in characters, of the matched text.
    pub len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    /// A known credential format; the text says which, with its article ("an AWS access key id").
    Format(&'static str),
    /// A literal, plausible value under a secret-like name.
    SensitiveName,
    /// A long random-looking token.
    HighEntropy,
}

impl Hit {
    /// A redacted description for messages, e.g. "looks like an AWS access key id (20 chars,
    /// redacted)".
    pub fn describe(&self) -> String {
        match self.kind {
            HitKind::Format(what) => format!("looks like {what} ({} chars, redacted)", self.len),
            HitKind::SensitiveName => format!(
                "is a literal value for a secret-like name ({} chars, redacted)",
                self.len
            ),
            HitKind::HighEntropy => format!(
                "contains a high-entropy string that may be a key or token ({} chars, redacted)",
                self.len
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Names

/// Words that make a name secret-like wherever a name token ends with them (`PGPASSWORD`,
/// `dbPassword`, `csrf_token`).
const STRONG_SUFFIX_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credentials",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
];

/// Words that make a name secret-like only as a whole token (`DB_PASS`, but not `BYPASS`).
const STRONG_WORDS: &[&str] = &["pass", "pwd", "creds"];

/// Ambiguous words (`AUTH_MODE: basic`): the name counts only with a value that also looks like
/// a secret (see [`looks_secretish`]).
const WEAK_WORDS: &[&str] = &["auth"];

/// Two-token names that are secret-like (`API_KEY`, `aws_secret_access_key`, `signing-key`).
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("client", "secret"),
];

/// Tokens that may follow the secret-like part of a name without changing what the value is
/// (`SECRET_KEY_BASE`, `API_KEY_B64`). Any other trailing token (`_FILE`, `_PATH`, `_REF`,
/// `_NAME`, `_URL`, `_LENGTH`, `_TTL`, ...) names something about the secret, not the secret.
const SECRET_TAIL: &[&str] = &[
    "key",
    "value",
    "val",
    "b64",
    "base64",
    "raw",
    "plain",
    "plaintext",
    "data",
    "string",
    "str",
    "base",
    "hex",
    "pem",
    "bytes",
];

/// How strongly a name suggests a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameClass {
    NotSensitive,
    /// Needs a secret-looking value too.
    Weak,
    Strong,
}

/// Splits a name into lower-case tokens at `_`, `-`, `.`, any other non-alphanumeric
/// character, and camelCase boundaries (`dbPassword` → `db`, `password`; `APIKey` → `api`,
/// `key`).
pub fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Classifies a key or variable name.
pub fn classify_name(name: &str) -> NameClass {
    let t = name_tokens(name);
    let mut best = NameClass::NotSensitive;
    for i in 0..t.len() {
        let (class, end) =
            if i + 1 < t.len() && PAIRS.iter().any(|(a, b)| t[i] == *a && t[i + 1] == *b) {
                (NameClass::Strong, i + 2)
            } else if STRONG_WORDS.contains(&t[i].as_str())
                || STRONG_SUFFIX_WORDS.iter().any(|w| t[i].ends_with(w))
            {
                (NameClass::Strong, i + 1)
            } else if WEAK_WORDS.contains(&t[i].as_str()) {
                (NameClass::Weak, i + 1)
            } else {
                continue;
            };
        if t[end..].iter().all(|x| SECRET_TAIL.contains(&x.as_str())) {
            best = best.max(class);
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Values

/// `true` for values that could be a literal secret: at least 4 characters and not a
/// placeholder (`${VAR}`, `$(VAR)`, `{{ .Values.x }}`, `<password>`), a boolean-like word, a
/// file path, a URL or secret-manager reference, or a mask (`********`).
pub fn is_plausible_secret_value(value: &str) -> bool {
    let v = value.trim();
    if v.chars().count() < 4 {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if is_placeholder(v) || is_path(v) {
        return false;
    }
    const WORDS: &[&str] = &[
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "none",
        "null",
        "nil",
        "enabled",
        "disabled",
        "enable",
        "disable",
        "required",
        "optional",
        "empty",
        "undefined",
        "unset",
        "n/a",
        "redacted",
    ];
    if WORDS.contains(&lower.as_str()) {
        return false;
    }
    if v.contains("://") {
        // A URL names where the secret is; one with a password in it is a known format.
        return false;
    }
    const REFERENCES: &[&str] = &["vault:", "ref+", "arn:", "projects/", "secretref:"];
    if REFERENCES.iter().any(|p| lower.starts_with(p)) {
        return false;
    }
    if is_object_reference(v) {
        return false;
    }
    let first = v.chars().next().unwrap_or(' ');
    if v.chars().all(|c| c == first) {
        return false;
    }
    true
}

/// `namespace/name` with both parts lower-case DNS labels: a reference to a Kubernetes
/// object (`default/ca-secret`), as annotations and flags name Secrets.
fn is_object_reference(v: &str) -> bool {
    let label = |p: &str| {
        !p.is_empty()
            && p.len() <= 253
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            && p.as_bytes()[0].is_ascii_alphanumeric()
    };
    v.split_once('/')
        .is_some_and(|(ns, name)| label(ns) && label(name))
}

/// Template and variable placeholders that are replaced before use.
pub fn is_placeholder(v: &str) -> bool {
    let v = v.trim();
    if ["${", "$(", "{{", "#{", "%("].iter().any(|p| v.contains(p)) {
        return true;
    }
    if let Some(rest) = v.strip_prefix('$') {
        if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return true;
        }
    }
    let wrapped = |open: &str, close: &str| {
        v.len() > open.len() + close.len() && v.starts_with(open) && v.ends_with(close)
    };
    wrapped("<", ">") || wrapped("%", "%") || wrapped("__", "__") || wrapped("@@", "@@")
}

fn is_path(v: &str) -> bool {
    let b = v.as_bytes();
    v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("../")
        || v.starts_with("~/")
        || v.starts_with("file:")
        || (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
}

/// For weak names: at least 8 characters, no whitespace, and at least two of lower-case,
/// upper-case, digits and symbols.
pub fn looks_secretish(v: &str) -> bool {
    let v = v.trim();
    if v.chars().count() < 8 || v.chars().any(char::is_whitespace) {
        return false;
    }
    let classes = [
        v.chars().any(|c| c.is_ascii_lowercase()),
        v.chars().any(|c| c.is_ascii_uppercase()),
        v.chars().any(|c| c.is_ascii_digit()),
        v.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    classes.iter().filter(|&&x| x).count() >= 2
}

/// A name/value pair whose name is secret-like and whose value is a plausible literal.
pub fn sensitive_pair(name: &str, value: &str) -> Option<Hit> {
    let ok = match classify_name(name) {
        NameClass::NotSensitive => false,
        NameClass::Strong => is_plausible_secret_value(value),
        NameClass::Weak => is_plausible_secret_value(value) && looks_secretish(value),
    };
    ok.then(|| Hit {
        kind: HitKind::SensitiveName,
        len: value.trim().chars().count(),
    })
}

/// Everything about one literal `name: value`: a known format first (the most specific
/// message), then the name, then entropy.
pub fn classify_pair(name: &str, value: &str) -> Option<Hit> {
    known_format(value)
        .or_else(|| sensitive_pair(name, value))
        .or_else(|| high_entropy(value))
}

// ---------------------------------------------------------------------------------------------
// Known formats

fn run_len(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    b.get(from..)
        .unwrap_or(&[])
        .iter()
        .take_while(|&&c| ok(c))
        .count()
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn ends_word(b: &[u8], at: usize) -> bool {
    b.get(at).is_none_or(|c| !c.is_ascii_alphanumeric())
}

/// The first known credential format in `text`: AWS access key ids, PEM private keys (also
/// base64-encoded), GitHub, Slack, Google API, Stripe live keys, JSON Web Tokens, and URLs with
/// a password.
pub fn known_format(text: &str) -> Option<Hit> {
    if let Some(h) = pem_private_key(text) {
        return Some(h);
    }
    let b = text.as_bytes();
    for i in 0..b.len() {
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            continue;
        }
        if let Some(h) = format_at(b, i) {
            return Some(h);
        }
    }
    url_with_password(text)
}

fn format_at(b: &[u8], i: usize) -> Option<Hit> {
    let rest = &b[i..];
    let hit = |what, len| {
        Some(Hit {
            kind: HitKind::Format(what),
            len,
        })
    };
    // AWS access key ids: AKIA (long-term) or ASIA (temporary) + 16 of [0-9A-Z].
    if rest.starts_with(b"AKIA") || rest.starts_with(b"ASIA") {
        let n = run_len(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if n == 16 {
            return hit("an AWS access key id", 20);
        }
    }
    for p in [&b"ghp_"[..], b"gho_", b"ghu_", b"ghs_", b"ghr_"] {
        if rest.starts_with(p) {
            let n = run_len(b, i + 4, |c| c.is_ascii_alphanumeric());
            if n >= 36 && ends_word(b, i + 4 + n) {
                return hit("a GitHub token", 4 + n);
            }
        }
    }
    if rest.starts_with(b"github_pat_") {
        let n = run_len(b, i + 11, |c| c.is_ascii_alphanumeric() || c == b'_');
        if n >= 22 {
            return hit("a GitHub token", 11 + n);
        }
    }
    if rest.len() > 5 && rest.starts_with(b"xox") && b"baprs".contains(&rest[3]) && rest[4] == b'-'
    {
        let n = run_len(b, i + 5, |c| c.is_ascii_alphanumeric() || c == b'-');
        if n >= 10 {
            return hit("a Slack token", 5 + n);
        }
    }
    if rest.starts_with(b"AIza") && run_len(b, i + 4, is_b64url) >= 35 {
        return hit("a Google API key", 39);
    }
    if rest.starts_with(b"sk_live_") || rest.starts_with(b"rk_live_") {
        let n = run_len(b, i + 8, |c| c.is_ascii_alphanumeric());
        if n >= 16 {
            return hit("a Stripe live secret key", 8 + n);
        }
    }
    if rest.starts_with(b"eyJ") {
        if let Some(len) = jwt_len(b, i) {
            return hit("a JSON Web Token", len);
        }
    }
    // base64 of "-----BEGIN": a base64-encoded PEM block.
    if rest.starts_with(b"LS0tLS1CRUdJTi") {
        let n = run_len(b, i, |c| {
            c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
        });
        let head = &b[i..i + n.min(96)];
        let decoded = base64_decode(head);
        let text = String::from_utf8_lossy(&decoded);
        let header = text.lines().next().unwrap_or("");
        if header.contains("PRIVATE KEY") {
            return hit("a base64-encoded PEM private key", n);
        }
    }
    None
}

/// `header.payload.signature`, where header and payload are base64url JSON objects (`eyJ`).
fn jwt_len(b: &[u8], i: usize) -> Option<usize> {
    let h = run_len(b, i, is_b64url);
    if h < 10 || b.get(i + h) != Some(&b'.') {
        return None;
    }
    let p0 = i + h + 1;
    if !b.get(p0..)?.starts_with(b"eyJ") {
        return None;
    }
    let p = run_len(b, p0, is_b64url);
    if p < 10 || b.get(p0 + p) != Some(&b'.') {
        return None;
    }
    let s0 = p0 + p + 1;
    let s = run_len(b, s0, is_b64url);
    Some(s0 + s - i)
}

/// `-----BEGIN ... PRIVATE KEY-----` (RSA, EC, OpenSSH, PKCS#8, encrypted, PGP blocks).
fn pem_private_key(text: &str) -> Option<Hit> {
    let mut from = 0;
    while let Some(off) = text[from..].find("-----BEGIN ") {
        let start = from + off;
        let after = start + "-----BEGIN ".len();
        let close = text[after..].find("-----")?;
        let label = &text[after..after + close];
        if label.contains("PRIVATE KEY") && !label.contains('\n') {
            let end = match text[after..].find("-----END ") {
                Some(e) => {
                    let e = after + e + "-----END ".len();
                    text[e..].find("-----").map_or(text.len(), |c| e + c + 5)
                }
                None => after + close + 5,
            };
            return Some(Hit {
                kind: HitKind::Format("a PEM private key"),
                len: text[start..end].chars().count(),
            });
        }
        from = after;
    }
    None
}

/// `scheme://user:password@host`: a URL whose user info carries a non-placeholder password.
fn url_with_password(text: &str) -> Option<Hit> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find("://") {
        let sep = from + off;
        from = sep + 3;
        // The scheme: letters, digits, `+`, `-`, `.`, starting with a letter.
        let mut s = sep;
        while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b"+-.".contains(&b[s - 1])) {
            s -= 1;
        }
        while s < sep && !b[s].is_ascii_alphabetic() {
            s += 1;
        }
        if s == sep {
            continue;
        }
        let auth_start = sep + 3;
        let auth_len = run_len(b, auth_start, |c| {
            !c.is_ascii_whitespace() && !b"/?#\"'`<>,;".contains(&c)
        });
        let authority = &text[auth_start..auth_start + auth_len];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
        let Some((_, password)) = userinfo.split_once(':') else {
            continue;
        };
        if host.is_empty() || password.is_empty() || is_placeholder(password) {
            continue;
        }
        let first = password.chars().next().unwrap_or('*');
        if password.chars().all(|c| c == first) && matches!(first, '*' | 'x' | 'X') {
            continue;
        }
        return Some(Hit {
            kind: HitKind::Format("a URL with an embedded password"),
            len: text[s..auth_start + auth_len].chars().count(),
        });
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Entropy

/// Minimum token length for the entropy test.
pub const ENTROPY_MIN_LEN: usize = 24;
/// Longer tokens are embedded data (images, fonts, bundles), not credentials.
pub const ENTROPY_MAX_LEN: usize = 512;
/// Minimum Shannon entropy, in bits per character.
pub const ENTROPY_THRESHOLD: f64 = 4.0;

/// Shannon entropy of the bytes of `s`, in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn is_b64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'-')
}

/// The first token of `text` that looks random: 24–512 characters of the base64 / base64url
/// alphabet with upper-case, lower-case and digits and entropy ≥ 4.0 bits per character.
/// Hex-only strings (digests, commit ids, UUIDs) never count, nor do paths, identifiers built
/// from words, SSH public keys, subresource-integrity hashes and `data:` URIs.
pub fn high_entropy(text: &str) -> Option<Hit> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_b64_char(b[i]) {
            i += 1;
            continue;
        }
        let n = run_len(b, i, is_b64_char);
        let tok = &text[i..i + n];
        let preceded_by = |p: &str| text[..i].ends_with(p);
        if !preceded_by("base64,") && random_looking(tok) {
            return Some(Hit {
                kind: HitKind::HighEntropy,
                len: tok.len(),
            });
        }
        i += n;
    }
    None
}

fn random_looking(tok: &str) -> bool {
    let t = tok;
    let len = t.len();
    if !(ENTROPY_MIN_LEN..=ENTROPY_MAX_LEN).contains(&len) {
        return false;
    }
    let count = |f: fn(&u8) -> bool| t.as_bytes().iter().filter(|c| f(c)).count();
    if t.bytes()
        .all(|c| c.is_ascii_hexdigit() || c == b'-' || c == b'_')
    {
        return false;
    }
    if count(u8::is_ascii_uppercase) == 0
        || count(u8::is_ascii_lowercase) == 0
        || count(u8::is_ascii_digit) == 0
    {
        return false;
    }
    // Paths and word-built identifiers: separators far more often than in random base64.
    let slashes = count(|c| *c == b'/');
    let dashes = count(|c| *c == b'-' || *c == b'_');
    if t.starts_with('/') || t.contains("//") || slashes * 12 > len || dashes * 8 > len {
        return false;
    }
    // SSH public keys (wire format starts with a zero length byte) and SRI hashes.
    if t.starts_with("AAAA")
        || ["sha256-", "sha384-", "sha512-"]
            .iter()
            .any(|p| t.starts_with(p))
    {
        return false;
    }
    !word_built(t) && shannon_entropy(t) >= ENTROPY_THRESHOLD && !encodes_plain_text(t)
}

/// `true` when the token is base64 of ordinary text: printable ASCII with whitespace or a
/// URL (`tcp://127.0.0.1:5705`), or a lower-case identifier (`test-ca-bundle`). Encoded
/// random data, or a mixed-case password, does not qualify.
fn encodes_plain_text(t: &str) -> bool {
    if t.len() % 4 == 1 {
        return false;
    }
    let decoded = base64_decode(t.as_bytes());
    if decoded.len() < 4 || !decoded.iter().all(|c| (0x20..0x7f).contains(c)) {
        return false;
    }
    let text = String::from_utf8_lossy(&decoded);
    text.contains(' ')
        || text.contains("://")
        || text
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(&c))
}

/// `true` when at least 40% of the token is made of words of five or more letters
/// (`Kubernetes`, `Platform`): camelCase identifiers, not random data, in which such runs are
/// rare.
fn word_built(t: &str) -> bool {
    let b = t.as_bytes();
    let (mut in_words, mut i) = (0, 0);
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_uppercase() {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        if i == start {
            i += 1;
        } else if i - start >= 5 {
            in_words += i - start;
        }
    }
    in_words * 5 >= b.len() * 2
}

// ---------------------------------------------------------------------------------------------
// Text documents

/// A finding inside a text value: its 0-based line index and what was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextHit {
    pub line: usize,
    pub hit: Hit,
    /// For `key: value` / `key=value` lines, the byte range of the key within the line.
    pub key: Option<(usize, usize)>,
}

/// Scans a (possibly multi-line) value stored under `entry_name`: a single-line value is judged
/// as a whole by its name; every line is searched for known formats, `key: value` /
/// `key = value` settings with secret-like keys, and high-entropy tokens. Certificate and
/// public-key PEM blocks are skipped. One hit per line, in line order.
pub fn scan_text(entry_name: &str, text: &str) -> Vec<TextHit> {
    let mut out = Vec::new();
    let single = !text.trim_end_matches(['\n', '\r']).contains('\n');
    if single {
        if let Some(hit) = sensitive_pair(entry_name, text) {
            if known_format(text).is_none() {
                out.push(TextHit {
                    line: 0,
                    hit,
                    key: None,
                });
                return out;
            }
        }
    }
    let mut in_public_pem = false;
    for (n, line) in text.lines().enumerate() {
        if let Some(hit) = known_format(line) {
            out.push(TextHit {
                line: n,
                hit,
                key: None,
            });
            continue;
        }
        if line.contains("-----BEGIN ") {
            in_public_pem = true;
            continue;
        }
        if line.contains("-----END ") {
            in_public_pem = false;
            continue;
        }
        if in_public_pem {
            continue;
        }
        if let Some((k, v)) = split_setting(line) {
            if let Some(hit) = sensitive_pair(&line[k.0..k.1], v) {
                out.push(TextHit {
                    line: n,
                    hit,
                    key: Some(k),
                });
                continue;
            }
        }
        if let Some(hit) = high_entropy(line) {
            out.push(TextHit {
                line: n,
                hit,
                key: None,
            });
        }
    }
    out
}

/// Splits a configuration line into a key (as a byte range of `line`) and a value: YAML
/// `key: value`, properties/INI/dotenv `key=value` or `key = value`, JSON `"key": "value",`,
/// shell `export KEY=value`, flags `--key=value`. Quotes, a trailing `,`/`;` and `# comments`
/// after unquoted values are removed. URLs (`http://...`) are not settings.
pub fn split_setting(line: &str) -> Option<((usize, usize), &str)> {
    let sep = line.find([':', '='])?;
    let raw_key = &line[..sep];
    let trimmed = raw_key.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut ks = raw_key.len() - raw_key.trim_start().len();
    let mut ke = ks + trimmed.len();
    // Leading "- " (YAML lists), "export ", "--" flags, "$" variables and quotes.
    loop {
        let k = &line[ks..ke];
        let next = if let Some(r) = k.strip_prefix("export ") {
            r
        } else if k.starts_with('-') {
            k.trim_start_matches(['-', ' '])
        } else if let Some(r) = k.strip_prefix(['$', '"', '\'']) {
            r
        } else {
            break;
        };
        ks += k.len() - next.len();
    }
    while ke > ks && line[..ke].ends_with(['"', '\'']) {
        ke -= 1;
    }
    let key = &line[ks..ke];
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return None;
    }
    let mut v = line[sep + 1..].trim();
    if v.starts_with("//") {
        return None;
    }
    v = v.trim_end_matches([',', ';']).trim_end();
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v = &v[1..v.len() - 1];
    } else if let Some(c) = v.find(" #") {
        v = v[..c].trim_end();
    }
    Some(((ks, ke), v))
}

/// Decodes standard or URL-safe base64, skipping whitespace and stopping at padding or any
/// other character.
pub fn base64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> Option<&'static str> {
        match known_format(text)?.kind {
            HitKind::Format(w) => Some(w),
            _ => None,
        }
    }

    #[test]
    fn name_tokens_split_on_separators_and_case() {
        assert_eq!(name_tokens("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(name_tokens("dbPassword"), ["db", "password"]);
        assert_eq!(name_tokens("APIKey"), ["api", "key"]);
        assert_eq!(
            name_tokens("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
        assert_eq!(name_tokens("oauth2Token"), ["oauth2", "token"]);
        assert_eq!(name_tokens("--client-secret"), ["client", "secret"]);
        assert!(name_tokens("пароль").is_empty());
    }

    #[test]
    fn sensitive_names() {
        for n in [
            "PASSWORD",
            "DB_PASSWORD",
            "PGPASSWORD",
            "mysql-root-password",
            "db.passwd",
            "SMTP_PASS",
            "GITHUB_TOKEN",
            "refreshToken",
            "API_KEY",
            "apiKey",
            "x-api-key",
            "AWS_SECRET_ACCESS_KEY",
            "aws_access_key",
            "PRIVATE_KEY",
            "client_secret",
            "SECRET_KEY_BASE",
            "GOOGLE_CREDENTIALS",
            "ENCRYPTION_KEY",
            "jwt.secret",
        ] {
            assert_eq!(classify_name(n), NameClass::Strong, "{n}");
        }
        assert_eq!(classify_name("BASIC_AUTH"), NameClass::Weak);
        for n in [
            "PASSWORD_FILE",
            "API_KEY_PATH",
            "SECRET_NAME",
            "SECRET_REF",
            "TOKEN_URL",
            "PASSWORD_MIN_LENGTH",
            "TOKEN_TTL",
            "AUTH_ENABLED",
            "BYPASS",
            "PASS_THROUGH",
            "AWS_ACCESS_KEY_ID",
            "PUBLIC_KEY",
            "MAX_TOKENS",
            "secretary",
            "KEY",
            "",
        ] {
            assert_eq!(classify_name(n), NameClass::NotSensitive, "{n}");
        }
    }

    #[test]
    fn plausible_values() {
        for v in ["hunter22", "s3cr3t!", "changeme", "1234"] {
            assert!(is_plausible_secret_value(v), "{v}");
        }
        for v in [
            "",
            "abc",
            "  x ",
            "${DB_PASSWORD}",
            "$(DB_PASSWORD)",
            "$DB_PASSWORD",
            "{{ .Values.password }}",
            "<your-password>",
            "__PASSWORD__",
            "/etc/secrets/db-password",
            "./creds.json",
            "true",
            "False",
            "disabled",
            "********",
            "https://vault.example.com/v1/secret/db",
            "vault:secret/data/db#password",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
            "default/ca-secret",
        ] {
            assert!(!is_plausible_secret_value(v), "{v:?}");
        }
    }

    #[test]
    fn sensitive_pairs_need_a_plausible_value() {
        assert!(sensitive_pair("DB_PASSWORD", "hunter22").is_some());
        assert!(sensitive_pair("DB_PASSWORD", "${DB_PASSWORD}").is_none());
        assert!(sensitive_pair("DB_PASSWORD_FILE", "hunter22").is_none());
        assert!(sensitive_pair("DB_HOST", "hunter22").is_none());
        // Weak names need a secret-looking value.
        assert!(sensitive_pair("AUTH", "basic").is_none());
        assert!(sensitive_pair("AUTH", "oauth").is_none());
        assert!(sensitive_pair("BASIC_AUTH", "admin:Secr3t").is_some());
        assert_eq!(sensitive_pair("TOKEN", " abcd1234 ").unwrap().len, 8);
    }

    #[test]
    fn known_formats() {
        assert_eq!(fmt("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key id"));
        assert_eq!(
            fmt("id=ASIAIOSFODNN7EXAMPLE;"),
            Some("an AWS access key id")
        );
        assert_eq!(fmt("AKIAIOSFODNN7EXAMPLEX"), None, "too long");
        assert_eq!(fmt("xAKIAIOSFODNN7EXAMPLE"), None, "inside a word");
        assert_eq!(
            fmt("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"),
            Some("a PEM private key")
        );
        assert_eq!(
            fmt("-----BEGIN OPENSSH PRIVATE KEY-----"),
            Some("a PEM private key")
        );
        assert_eq!(
            fmt("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
            None
        );
        assert_eq!(fmt("-----BEGIN PUBLIC KEY-----"), None);
        let ghp = format!("ghp_{}", "a1B2c3D4e5".repeat(4).get(..36).unwrap());
        assert_eq!(fmt(&ghp), Some("a GitHub token"));
        assert_eq!(fmt("ghp_short"), None);
        assert_eq!(
            fmt("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
            Some("a GitHub token")
        );
        assert_eq!(fmt("xoxb-123456789012-abcdefABCDEF"), Some("a Slack token"));
        assert_eq!(fmt("xoxz-123456789012-abcdefABCDEF"), None);
        assert_eq!(
            fmt("key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
            Some("a Google API key")
        );
        assert_eq!(fmt("AIzaShort"), None);
        assert_eq!(
            fmt("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            Some("a Stripe live secret key")
        );
        assert_eq!(fmt("sk_test_4eC39HqLyjWDarjtT1zdp7dc"), None);
        assert_eq!(
            fmt("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
            Some("a JSON Web Token")
        );
        assert_eq!(
            fmt("eyJhbGciOiJIUzI1NiJ9"),
            None,
            "a header alone is not a token"
        );
        assert_eq!(
            fmt("postgres://app:s3cret@db:5432/app"),
            Some("a URL with an embedded password")
        );
        assert_eq!(
            fmt("redis://:s3cret@redis:6379/0"),
            Some("a URL with an embedded password")
        );
        assert_eq!(fmt("postgres://app@db:5432/app"), None);
        assert_eq!(fmt("postgres://app:${DB_PASSWORD}@db/app"), None);
        assert_eq!(fmt("postgres://app:****@db/app"), None);
        assert_eq!(fmt("https://example.com/a:b@c"), None, "@ after the path");
        assert_eq!(fmt("mailto:user@example.com"), None);
        // base64 of "-----BEGIN RSA PRIVATE KEY-----" vs "-----BEGIN CERTIFICATE-----".
        assert_eq!(
            fmt("LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo="),
            Some("a base64-encoded PEM private key")
        );
        assert_eq!(fmt("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="), None);
    }

    #[test]
    fn hit_messages_never_contain_the_value() {
        let v = "AKIAIOSFODNN7EXAMPLE";
        let d = known_format(v).unwrap().describe();
        assert_eq!(d, "looks like an AWS access key id (20 chars, redacted)");
        assert!(!d.contains("IOSFODNN"));
    }

    #[test]
    fn entropy() {
        assert!(shannon_entropy("aaaa") < 0.01);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert_eq!(shannon_entropy(""), 0.0);
        // Random-looking tokens fire.
        for v in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Zx9Qm2Lr7Tv4Kp8Wn3Hs6Yd1Bf5Gc0Ja",
            "session=q8Fz2KwLm9XpR4tN7vB1cY6hJ3dS5gA0",
            // base64 of random bytes, and of a mixed-case key
            "QVFBTWdYaFZ3QkNlRGhBQTlubFBhRnlmVVNhdEdENGRyRldEdlE9PQ==",
        ] {
            assert!(high_entropy(v).is_some(), "{v}");
        }
        // Ordinary configuration does not.
        for v in [
            "550e8400-e29b-41d4-a716-446655440000",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:5b161f051d017e55d358435f295f5e9a297e66158f136321d9b04520ec6c48a3",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "https://github.com/kubernetes/ingress-nginx/releases/download/v1.2.0/deploy.yaml",
            "/var/lib/kubelet/pods/Volumes2/kubernetes.io~secret/Token",
            "org.springframework.boot.autoconfigure.EnableAutoConfiguration",
            "AbstractSingletonProxyFactoryBean",
            "kubernetes-dashboard-metrics-scraper-7d4b9c8f6",
            "Kubernetes1IsAGreatPlatformForRunning",
            "ProductionDatabaseConnectionPool2024",
            "The quick brown fox jumps over the lazy dog 12 times",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
            "integrity=sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "MY_APP_CONFIG_VALUE_2024_PRODUCTION_EU_WEST",
            // base64 of "policy validator CA bundle", "tcp://127.0.0.1:5705", "test-tap-ca-bundle"
            "cG9saWN5IHZhbGlkYXRvciBDQSBidW5kbGU=",
            "dGNwOi8vMTI3LjAuMC4xOjU3MDU=",
            "dGVzdC10YXAtY2EtYnVuZGxl",
        ] {
            assert!(high_entropy(v).is_none(), "{v}");
        }
        assert_eq!(
            high_entropy("x Zx9Qm2Lr7Tv4Kp8Wn3Hs6Yd1Bf5Gc0Ja y")
                .unwrap()
                .len,
            32
        );
    }

    #[test]
    fn random_tokens_are_found() {
        // A deterministic generator of random base64url tokens: the filters above must not
        // cost more than a few percent of recall.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut found = 0;
        for _ in 0..500 {
            let tok: String = (0..32)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ALPHABET[(x % 64) as usize] as char
                })
                .collect();
            found += usize::from(high_entropy(&tok).is_some());
        }
        assert!(found >= 475, "only {found} of 500 random tokens found");
    }

    #[test]
    fn classify_pair_prefers_the_most_specific() {
        let h = classify_pair("PASSWORD", "AKIAIOSFODNN7EXAMPLE").unwrap();
        assert_eq!(h.kind, HitKind::Format("an AWS access key id"));
        assert_eq!(
            classify_pair("PASSWORD", "hunter22").unwrap().kind,
            HitKind::SensitiveName
        );
        assert_eq!(
            classify_pair("SESSION", "Zx9Qm2Lr7Tv4Kp8Wn3Hs6Yd1Bf5Gc0Ja")
                .unwrap()
                .kind,
            HitKind::HighEntropy
        );
        assert_eq!(classify_pair("LOG_LEVEL", "debug"), None);
    }

    #[test]
    fn settings_in_lines() {
        let key = |l: &'static str| split_setting(l).map(|((s, e), v)| (&l[s..e], v));
        assert_eq!(key("password: hunter22"), Some(("password", "hunter22")));
        assert_eq!(
            key("  db.password = \"hunter22\""),
            Some(("db.password", "hunter22"))
        );
        assert_eq!(key("export DB_PASS='x y'"), Some(("DB_PASS", "x y")));
        assert_eq!(key("  \"apiKey\": \"abc123\","), Some(("apiKey", "abc123")));
        assert_eq!(key("- --token=abcd # comment"), Some(("token", "abcd")));
        assert_eq!(
            key("$password = 'hunter22';"),
            Some(("password", "hunter22"))
        );
        assert_eq!(
            key("url: http://example.com"),
            Some(("url", "http://example.com"))
        );
        assert_eq!(key("http://example.com"), None);
        assert_eq!(key("just some words"), None);
        assert_eq!(key("a b: c"), None);
    }

    #[test]
    fn scanning_documents() {
        let doc = "\
[client]
user = app
password = hunter22
host = db.internal
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ2Zx9Qm2Lr7Tv4Kp8Wn3Hs6Yd1Bf5Gc0JaMAoGCCqGSM49
-----END CERTIFICATE-----
password_file = /run/secrets/db
token = ${TOKEN}
aws_key = AKIAIOSFODNN7EXAMPLE
";
        let hits = scan_text("my.cnf", doc);
        let lines: Vec<usize> = hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, [2, 9]);
        assert_eq!(hits[0].hit.kind, HitKind::SensitiveName);
        assert_eq!(
            &doc.lines().nth(2).unwrap()[hits[0].key.unwrap().0..hits[0].key.unwrap().1],
            "password"
        );
        assert_eq!(hits[1].hit.kind, HitKind::Format("an AWS access key id"));
        // Single-line values are judged by the entry's own name.
        assert_eq!(scan_text("DB_PASSWORD", "hunter22").len(), 1);
        assert!(scan_text("LOG_LEVEL", "hunter22").is_empty());
        assert!(scan_text("DB_PASSWORD", "").is_empty());
    }

    #[test]
    fn odd_input_never_panics() {
        let nasty = [
            "        : /tmp",
            " = ",
            "-:",
            "\"\":\"\"",
            "пароль: секрет-значение-1234567890AbCdEfGh",
            "key: 🔑🔑🔑AKIA🔑ghp_🔑eyJ.eyJ.",
            "-----BEGIN ",
            "-----BEGIN PRIVATE KEY",
            "x://:@",
            "://user:pw@",
            "eyJaaaaaaaaaaaa.eyJbbbbbbbbbbbb.",
            "LS0tLS1CRUdJTi",
            "xoxb-",
            "$",
            "__",
        ];
        for s in nasty {
            for (i, _) in s.char_indices() {
                let t = &s[i..];
                let _ = scan_text(t, t);
                let _ = classify_pair(t, t);
                let _ = split_setting(t);
                let _ = base64_decode(t.as_bytes());
            }
        }
        assert!(split_setting("        : /tmp").is_none());
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode(b"aGVsbG8="), b"hello");
        assert_eq!(base64_decode(b"aGVs\nbG8"), b"hello");
        assert_eq!(base64_decode(b"-_8"), [0xfb, 0xff]);
        assert!(base64_decode(b"!!!").is_empty());
    }
}
