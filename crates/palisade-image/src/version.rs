//! Version comparators, one per packaging world: dpkg, rpm, apk, semver (npm, crates.io, Go),
//! PEP 440 (PyPI) and Maven. Each is written from the tool's documented ordering rules and
//! tested with the upstream projects' own published test vectors (see `tests/versions.rs`).

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Dpkg,
    Rpm,
    Apk,
    Semver,
    Pep440,
    Maven,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Alpine:v3.19`, `PyPI`, …).
    pub fn for_ecosystem(eco: &str) -> Scheme {
        let base = eco.split(':').next().unwrap_or(eco);
        match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia"
            | "Photon OS" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "Maven" => Scheme::Maven,
            _ => Scheme::Semver,
        }
    }

    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg(a, b),
            Scheme::Rpm => rpm_evr(a, b),
            Scheme::Apk => apk(a, b),
            Scheme::Semver => semver(a, b),
            Scheme::Pep440 => pep440(a, b),
            Scheme::Maven => maven(a, b),
        }
    }
}

// ------------------------------------------------------------------------------------------
// dpkg (deb-version(7): epoch:upstream-revision, `~` sorts before everything, even the end)

fn dpkg_split(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().unwrap_or(0), r)
        }
        _ => (0, v),
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], &rest[i + 1..]),
        None => (epoch, rest, ""),
    }
}

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = dpkg_order(a.get(i).copied());
            let bc = dpkg_order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

pub fn dpkg(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = dpkg_split(a);
    let (eb, ub, rb) = dpkg_split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

// ------------------------------------------------------------------------------------------
// rpm (rpmvercmp with `~` and `^`; EVR = [epoch:]version[-release])

pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca.is_none() || cb.is_none() {
            break;
        }
        let isnum = a[i].is_ascii_digit();
        let take = |s: &[u8], mut k: usize| {
            let st = k;
            while k < s.len()
                && if isnum {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                }
            {
                k += 1;
            }
            (st, k)
        };
        let (sa, ea) = take(a, i);
        let (sb, eb) = take(b, j);
        i = ea;
        j = eb;
        if sb == eb {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut x, mut y) = (&a[sa..ea], &b[sb..eb]);
        if isnum {
            while x.len() > 1 && x[0] == b'0' {
                x = &x[1..];
            }
            while y.len() > 1 && y[0] == b'0' {
                y = &y[1..];
            }
            let c = x.len().cmp(&y.len());
            if c != Ordering::Equal {
                return c;
            }
        }
        let c = x.cmp(y);
        if c != Ordering::Equal {
            return c;
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn rpm_split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().unwrap_or(0), r)
        }
        _ => (0, v),
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], &rest[i + 1..]),
        None => (epoch, rest, ""),
    }
}

pub fn rpm_evr(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = rpm_split(a);
    let (eb, vb, rb) = rpm_split(b);
    ea.cmp(&eb).then_with(|| rpmvercmp(va, vb)).then_with(|| {
        if ra.is_empty() || rb.is_empty() {
            Ordering::Equal
        } else {
            rpmvercmp(ra, rb)
        }
    })
}

// ------------------------------------------------------------------------------------------
// apk (apk-tools: numbers, optional letter, `_suffix[N]`…, `~hash`, `-rN`)

#[derive(Debug, Default, PartialEq, Eq)]
struct Apk {
    nums: Vec<String>,
    letter: Option<u8>,
    suffixes: Vec<(i32, u64)>,
    rev: u64,
}

fn apk_suffix_rank(s: &str) -> Option<i32> {
    Some(match s {
        "alpha" => -4,
        "beta" => -3,
        "pre" => -2,
        "rc" => -1,
        "cvs" => 1,
        "svn" => 2,
        "git" => 3,
        "hg" => 4,
        "p" => 5,
        _ => return None,
    })
}

fn apk_parse(v: &str) -> Apk {
    let mut out = Apk::default();
    let (main, rev) = match v.rfind("-r") {
        Some(i) if v[i + 2..].bytes().all(|c| c.is_ascii_digit()) && i + 2 < v.len() => {
            (&v[..i], v[i + 2..].parse().unwrap_or(0))
        }
        _ => (v, 0),
    };
    out.rev = rev;
    let main = main.split('~').next().unwrap_or(main);
    let mut parts = main.split('_');
    let head = parts.next().unwrap_or("");
    for (k, comp) in head.split('.').enumerate() {
        let digits: String = comp.chars().take_while(|c| c.is_ascii_digit()).collect();
        let rest = &comp[digits.len()..];
        out.nums.push(if k == 0 {
            digits.trim_start_matches('0').to_string()
        } else {
            digits
        });
        if let Some(&l) = rest.as_bytes().first() {
            out.letter = Some(l);
        }
    }
    for s in parts {
        let name: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let n = s[name.len()..].parse().unwrap_or(0);
        out.suffixes.push((apk_suffix_rank(&name).unwrap_or(0), n));
    }
    out
}

fn apk_num(a: &str, b: &str, first: bool) -> Ordering {
    // Components after the first with a leading zero compare as decimal fractions (Gentoo's rule).
    if !first && (a.starts_with('0') || b.starts_with('0')) {
        let (x, y) = (a.trim_end_matches('0'), b.trim_end_matches('0'));
        return x.cmp(y);
    }
    let (x, y) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

pub fn apk(a: &str, b: &str) -> Ordering {
    let (x, y) = (apk_parse(a), apk_parse(b));
    for k in 0..x.nums.len().max(y.nums.len()) {
        match (x.nums.get(k), y.nums.get(k)) {
            (Some(p), Some(q)) => {
                let c = apk_num(p, q, k == 0);
                if c != Ordering::Equal {
                    return c;
                }
            }
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => {}
        }
    }
    let c = x.letter.cmp(&y.letter);
    if c != Ordering::Equal {
        return c;
    }
    for k in 0..x.suffixes.len().max(y.suffixes.len()) {
        let p = x.suffixes.get(k).copied().unwrap_or((0, 0));
        let q = y.suffixes.get(k).copied().unwrap_or((0, 0));
        let c = p.cmp(&q);
        if c != Ordering::Equal {
            return c;
        }
    }
    x.rev.cmp(&y.rev)
}

// ------------------------------------------------------------------------------------------
// semver 2.0.0 (lenient: a leading `v`, fewer than three numbers, `+incompatible`)

fn semver_parts(v: &str) -> (Vec<u64>, Vec<&str>) {
    let v = v.trim().trim_start_matches(['v', 'V', '=']);
    let v = v.split('+').next().unwrap_or(v);
    let (core, pre) = match v.find('-') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let nums = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
    (
        nums,
        pre.map(|p| p.split('.').collect()).unwrap_or_default(),
    )
}

pub fn semver(a: &str, b: &str) -> Ordering {
    let (na, pa) = semver_parts(a);
    let (nb, pb) = semver_parts(b);
    for k in 0..na.len().max(nb.len()).max(3) {
        let c = na
            .get(k)
            .copied()
            .unwrap_or(0)
            .cmp(&nb.get(k).copied().unwrap_or(0));
        if c != Ordering::Equal {
            return c;
        }
    }
    match (pa.is_empty(), pb.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for k in 0..pa.len().max(pb.len()) {
        let c = match (pa.get(k), pb.get(k)) {
            (Some(x), Some(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(m), Ok(n)) => m.cmp(&n),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                _ => x.cmp(y),
            },
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

// ------------------------------------------------------------------------------------------
// PEP 440

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum Bound<T> {
    NegInf,
    V(T),
    PosInf,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum LocalSeg {
    Str(String),
    Num(u64),
}

type Pep440Key = (
    u64,
    Vec<u64>,
    Bound<(u8, u64)>,
    Bound<u64>,
    Bound<u64>,
    Bound<Vec<LocalSeg>>,
);

fn take_num(s: &str) -> (Option<u64>, &str) {
    let s = s.trim_start_matches(['.', '-', '_']);
    let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    if d.is_empty() {
        (None, s)
    } else {
        (d.parse().ok(), &s[d.len()..])
    }
}

fn pep440_key(v: &str) -> Pep440Key {
    let v = v.trim().to_ascii_lowercase();
    let v = v.trim_start_matches('v');
    let (v, local) = match v.split_once('+') {
        Some((a, l)) => (a, Some(l)),
        None => (v, None),
    };
    let (epoch, mut s) = match v.split_once('!') {
        Some((e, r)) => (e.parse().unwrap_or(0), r),
        None => (0, v),
    };
    let mut release = Vec::new();
    loop {
        let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        if d.is_empty() {
            break;
        }
        release.push(d.parse().unwrap_or(0));
        s = &s[d.len()..];
        if s.starts_with('.') && s[1..].starts_with(|c: char| c.is_ascii_digit()) {
            s = &s[1..];
        } else {
            break;
        }
    }
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let mut pre = None;
    let mut post = None;
    let mut dev = None;
    loop {
        let t = s.trim_start_matches(['.', '-', '_']);
        let mut matched = false;
        for (word, rank) in [
            ("alpha", 0u8),
            ("a", 0),
            ("beta", 1),
            ("b", 1),
            ("preview", 2),
            ("pre", 2),
            ("rc", 2),
            ("c", 2),
        ] {
            if pre.is_none() && post.is_none() && dev.is_none() && t.starts_with(word) {
                let (n, r) = take_num(&t[word.len()..]);
                pre = Some((rank, n.unwrap_or(0)));
                s = r;
                matched = true;
                break;
            }
        }
        if matched {
            continue;
        }
        for word in ["post", "rev", "r"] {
            if post.is_none() && dev.is_none() && t.starts_with(word) {
                let (n, r) = take_num(&t[word.len()..]);
                post = Some(n.unwrap_or(0));
                s = r;
                matched = true;
                break;
            }
        }
        if matched {
            continue;
        }
        if post.is_none()
            && dev.is_none()
            && s.starts_with('-')
            && s[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            let (n, r) = take_num(&s[1..]);
            post = n;
            s = r;
            continue;
        }
        if dev.is_none() && t.starts_with("dev") {
            let (n, r) = take_num(&t[3..]);
            dev = Some(n.unwrap_or(0));
            s = r;
            continue;
        }
        break;
    }
    let pre_k = match (pre, post, dev) {
        (None, None, Some(_)) => Bound::NegInf,
        (None, _, _) => Bound::PosInf,
        (Some(p), _, _) => Bound::V(p),
    };
    let post_k = post.map(Bound::V).unwrap_or(Bound::NegInf);
    let dev_k = dev.map(Bound::V).unwrap_or(Bound::PosInf);
    let local_k = match local {
        None => Bound::NegInf,
        Some(l) => Bound::V(
            l.split(['.', '-', '_'])
                .map(|x| {
                    x.parse()
                        .map(LocalSeg::Num)
                        .unwrap_or_else(|_| LocalSeg::Str(x.to_string()))
                })
                .collect(),
        ),
    };
    (epoch, release, pre_k, post_k, dev_k, local_k)
}

pub fn pep440(a: &str, b: &str) -> Ordering {
    let (ka, kb) = (pep440_key(a), pep440_key(b));
    // Release segments compare with implicit zero padding.
    ka.0.cmp(&kb.0)
        .then_with(|| {
            for k in 0..ka.1.len().max(kb.1.len()) {
                let c = ka.1.get(k).unwrap_or(&0).cmp(kb.1.get(k).unwrap_or(&0));
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        })
        .then_with(|| ka.2.cmp(&kb.2))
        .then_with(|| ka.3.cmp(&kb.3))
        .then_with(|| ka.4.cmp(&kb.4))
        .then_with(|| ka.5.cmp(&kb.5))
}

// ------------------------------------------------------------------------------------------
// Maven (ComparableVersion's ordering, flattened: numbers, then qualifiers
// alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < others)

#[derive(Debug, Clone)]
enum MItem {
    Num(u64),
    Qual(String),
}

fn maven_items(v: &str) -> Vec<MItem> {
    let v = v.trim().to_ascii_lowercase();
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<MItem>, followed_by_digit: bool| {
        if cur.is_empty() {
            return;
        }
        let t = std::mem::take(cur);
        if let Ok(n) = t.parse() {
            out.push(MItem::Num(n));
        } else {
            let t = if followed_by_digit {
                match t.as_str() {
                    "a" => "alpha".to_string(),
                    "b" => "beta".to_string(),
                    "m" => "milestone".to_string(),
                    _ => t,
                }
            } else {
                t
            };
            out.push(MItem::Qual(t));
        }
    };
    let chars: Vec<char> = v.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '.' || c == '-' || c == '_' {
            flush(&mut cur, &mut out, false);
            continue;
        }
        if let Some(&last) = cur.as_bytes().last() {
            if (last as char).is_ascii_digit() != c.is_ascii_digit() {
                flush(&mut cur, &mut out, c.is_ascii_digit());
            }
        }
        cur.push(c);
        let _ = i;
    }
    flush(&mut cur, &mut out, false);
    out
}

fn maven_qual_rank(q: &str) -> (u8, &str) {
    match q {
        "alpha" => (0, ""),
        "beta" => (1, ""),
        "milestone" => (2, ""),
        "rc" | "cr" => (3, ""),
        "snapshot" => (4, ""),
        "" | "ga" | "final" | "release" => (5, ""),
        "sp" => (6, ""),
        other => (7, other),
    }
}

fn maven_cmp_item(a: Option<&MItem>, b: Option<&MItem>) -> Ordering {
    use MItem::*;
    let null = Qual(String::new());
    let a = a.unwrap_or(&null);
    let b = b.unwrap_or(&null);
    match (a, b) {
        (Num(x), Num(y)) => x.cmp(y),
        (Num(x), Qual(q)) => {
            if q.is_empty() && *x == 0 {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Qual(q), Num(y)) => {
            if q.is_empty() && *y == 0 {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        (Qual(x), Qual(y)) => maven_qual_rank(x).cmp(&maven_qual_rank(y)),
    }
}

pub fn maven(a: &str, b: &str) -> Ordering {
    let (x, y) = (maven_items(a), maven_items(b));
    for k in 0..x.len().max(y.len()) {
        let c = maven_cmp_item(x.get(k), y.get(k));
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}
