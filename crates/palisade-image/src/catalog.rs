//! The catalogers: which files of a layer are read, and what each yields. Every function
//! here takes a path and the file's bytes (no I/O), so the layer pass, the rootfs walker and
//! the fuzz target share them.

use crate::model::{FileFacts, OsInfo, Package, PkgKind, SecretHit};
use palisade_checks::hardening::secrets::detect;

/// Largest file read for its contents (package databases, manifests, secrets).
pub const MAX_TEXT: u64 = 64 * 1024 * 1024;
/// Largest executable searched for Go build information.
pub const MAX_BINARY: u64 = 256 * 1024 * 1024;

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether the file at `path` (relative, no leading `/`) is read by a cataloger.
pub fn wants(path: &str, mode: u32, size: u64) -> bool {
    if size > MAX_BINARY {
        return false;
    }
    let b = base(path);
    let text = matches!(
        path,
        "var/lib/dpkg/status"
            | "lib/apk/db/installed"
            | "etc/os-release"
            | "usr/lib/os-release"
            | "etc/passwd"
            | "var/lib/rpm/rpmdb.sqlite"
            | "usr/lib/sysimage/rpm/rpmdb.sqlite"
    ) || (path.starts_with("var/lib/dpkg/status.d/") && !b.ends_with(".md5sums"))
        || (path.ends_with(".dist-info/METADATA"))
        || (path.ends_with(".egg-info/PKG-INFO"))
        || (path.ends_with(".egg-info") && mode & 0o170000 != 0o040000)
        || b == "package-lock.json" && !path.contains("node_modules/")
        || (b == "package.json" && is_node_module_manifest(path))
        || b == "Cargo.lock"
        || b == "go.mod"
        || (b == "pom.properties" && path.contains("META-INF/maven/"))
        || is_secret_file(path)
        || is_java_archive(path);
    if text {
        return size <= MAX_TEXT;
    }
    // Executables: Go build information.
    mode & 0o111 != 0 && size >= 1024
}

/// `node_modules/<name>/package.json` or `node_modules/@scope/<name>/package.json`.
fn is_node_module_manifest(path: &str) -> bool {
    let Some(i) = path.rfind("node_modules/") else {
        return false;
    };
    let rest = &path[i + "node_modules/".len()..];
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [_, "package.json"] => true,
        [s, _, "package.json"] => s.starts_with('@'),
        _ => false,
    }
}

fn is_java_archive(path: &str) -> bool {
    path.ends_with(".jar") || path.ends_with(".war") || path.ends_with(".ear")
}

/// Files that commonly hold credentials and are searched with the PAL301/302 detectors.
pub fn is_secret_file(path: &str) -> bool {
    let b = base(path);
    matches!(
        b,
        ".env"
            | "id_rsa"
            | "id_dsa"
            | "id_ecdsa"
            | "id_ed25519"
            | ".npmrc"
            | ".pypirc"
            | ".git-credentials"
            | ".netrc"
            | ".pgpass"
            | ".s3cfg"
    ) || b.starts_with(".env.")
        || b.ends_with(".pem")
        || b.ends_with(".key")
        || b.ends_with(".env")
        || (b == "credentials" && path.contains(".aws/"))
        || (b == "config.json" && path.contains(".docker/"))
}

/// Reads one file. Returns facts that may be empty (nothing recognised).
pub fn analyze(path: &str, data: &[u8]) -> FileFacts {
    let mut f = FileFacts {
        path: path.to_string(),
        ..FileFacts::default()
    };
    let b = base(path);
    if data.starts_with(b"\x7fELF") || data.starts_with(b"MZ") || data.starts_with(&[0xcf, 0xfa]) {
        go_binary(path, data, &mut f);
        return f;
    }
    if is_java_archive(path) && data.starts_with(b"PK") {
        java_archive(path, data, 0, &mut f);
        return f;
    }
    if b == "rpmdb.sqlite" {
        crate::rpm::rpmdb_sqlite(path, data, &mut f);
        return f;
    }
    let text = String::from_utf8_lossy(data);
    let t = text.as_ref();
    match path {
        "var/lib/dpkg/status" => dpkg(path, t, true, &mut f),
        "lib/apk/db/installed" => apk(path, t, &mut f),
        "etc/os-release" | "usr/lib/os-release" => f.os = Some(os_release(t)),
        "etc/passwd" => f.users = passwd(t),
        _ if path.starts_with("var/lib/dpkg/status.d/") => dpkg(path, t, false, &mut f),
        _ if path.ends_with(".dist-info/METADATA")
            || path.ends_with(".egg-info/PKG-INFO")
            || path.ends_with(".egg-info") =>
        {
            python(path, t, &mut f)
        }
        _ if b == "package-lock.json" => npm_lock(path, t, &mut f),
        _ if b == "package.json" => npm_manifest(path, t, &mut f),
        _ if b == "Cargo.lock" => cargo_lock(path, t, &mut f),
        _ if b == "go.mod" => go_mod(path, t, &mut f),
        _ if b == "pom.properties" => pom_properties(path, t, &mut f),
        _ => {}
    }
    if is_secret_file(path) {
        for h in detect::scan_text(b, t) {
            f.secrets.push(SecretHit {
                line: h.line + 1,
                what: h.hit.describe(),
            });
        }
    }
    f
}

fn pkg(kind: PkgKind, name: &str, version: &str, path: &str) -> Package {
    Package {
        kind,
        name: name.to_string(),
        version: version.to_string(),
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        arch: None,
        path: path.to_string(),
        layer: None,
    }
}

/// RFC 822-style stanzas (dpkg status, apk installed uses single letters): (line of the stanza
/// start, fields in order). Continuation lines (leading space) are appended to the last field.
fn stanzas(text: &str) -> Vec<(usize, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
            start = i + 2;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        } else {
            cur.push((line.to_string(), String::new()));
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

fn field<'a>(st: &'a [(String, String)], name: &str) -> Option<&'a str> {
    st.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// dpkg's `status` (with `Status:` lines) or a distroless `status.d/<pkg>` file (without).
pub fn dpkg(path: &str, text: &str, needs_status: bool, f: &mut FileFacts) {
    for (line, st) in stanzas(text) {
        let Some(name) = field(&st, "Package") else {
            f.errors
                .push(format!("{path}:{line}: stanza without a Package field"));
            continue;
        };
        if needs_status {
            let status = field(&st, "Status").unwrap_or("");
            if !status.split_whitespace().any(|w| w == "installed")
                || status.contains("not-installed")
            {
                continue;
            }
        }
        let Some(version) = field(&st, "Version") else {
            f.errors
                .push(format!("{path}:{line}: package {name} has no Version"));
            continue;
        };
        let mut p = pkg(PkgKind::Deb, name, version, path);
        p.arch = field(&st, "Architecture").map(str::to_string);
        // `Source: name` or `Source: name (version)` when the source version differs.
        match field(&st, "Source") {
            Some(s) => {
                let mut it = s.splitn(2, ' ');
                let sn = it.next().unwrap_or(name).to_string();
                let sv = it.next().map(|v| {
                    v.trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .to_string()
                });
                p.source_name = Some(sn);
                p.source_version = Some(sv.unwrap_or_else(|| version.to_string()));
            }
            None => {
                p.source_name = Some(name.to_string());
                p.source_version = Some(version.to_string());
            }
        }
        if let Some(l) = field(&st, "License") {
            p.licenses.push(l.to_string());
        }
        f.packages.push(p);
    }
}

/// apk's `lib/apk/db/installed`.
pub fn apk(path: &str, text: &str, f: &mut FileFacts) {
    for (line, st) in stanzas(text) {
        let (Some(name), Some(version)) = (field(&st, "P"), field(&st, "V")) else {
            f.errors
                .push(format!("{path}:{line}: package entry without P: or V:"));
            continue;
        };
        let mut p = pkg(PkgKind::Apk, name, version, path);
        p.arch = field(&st, "A").map(str::to_string);
        p.source_name = Some(field(&st, "o").unwrap_or(name).to_string());
        p.source_version = Some(version.to_string());
        if let Some(l) = field(&st, "L") {
            p.licenses.push(l.to_string());
        }
        f.packages.push(p);
    }
}

/// os-release: `KEY=value` with optional quotes.
pub fn os_release(text: &str) -> OsInfo {
    let mut o = OsInfo::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => o.id = v,
            "VERSION_ID" => o.version_id = v,
            "VERSION_CODENAME" => o.version_codename = v,
            "PRETTY_NAME" => o.pretty_name = v,
            _ => {}
        }
    }
    o
}

fn passwd(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(':');
            let name = it.next()?;
            let uid = it.nth(1)?.parse().ok()?;
            Some((name.to_string(), uid))
        })
        .collect()
}

/// Python core metadata (`METADATA`, `PKG-INFO`): headers up to the first blank line.
pub fn python(path: &str, text: &str, f: &mut FileFacts) {
    let head = text.split("\n\n").next().unwrap_or("");
    let st = stanzas(head)
        .into_iter()
        .next()
        .map(|s| s.1)
        .unwrap_or_default();
    let (Some(name), Some(version)) = (field(&st, "Name"), field(&st, "Version")) else {
        f.errors
            .push(format!("{path}:1: no Name or Version header"));
        return;
    };
    let mut p = pkg(PkgKind::Python, name, version, path);
    if let Some(l) = field(&st, "License-Expression").or(field(&st, "License")) {
        if !l.is_empty() && l != "UNKNOWN" && !l.contains('\n') {
            p.licenses.push(l.to_string());
        }
    }
    if p.licenses.is_empty() {
        for (k, v) in &st {
            if k == "Classifier" {
                if let Some(l) = v.strip_prefix("License :: ") {
                    p.licenses
                        .push(l.rsplit(" :: ").next().unwrap_or(l).to_string());
                }
            }
        }
    }
    f.packages.push(p);
}

fn json_license(v: &serde_json::Value) -> Vec<String> {
    match v.get("license") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Object(o)) => o
            .get("type")
            .and_then(|t| t.as_str())
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn json_error(path: &str, e: &serde_json::Error) -> String {
    format!("{path}:{}: invalid JSON: {e}", e.line())
}

/// `package-lock.json`, lockfile versions 1 (`dependencies`) and 2/3 (`packages`).
pub fn npm_lock(path: &str, text: &str, f: &mut FileFacts) {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return f.errors.push(json_error(path, &e)),
    };
    if let Some(pkgs) = v.get("packages").and_then(|p| p.as_object()) {
        for (key, p) in pkgs {
            let Some(i) = key.rfind("node_modules/") else {
                continue; // "" is the project itself; workspace members have no version to match
            };
            let name = p
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(&key[i + "node_modules/".len()..]);
            let Some(version) = p.get("version").and_then(|v| v.as_str()) else {
                continue;
            };
            if p.get("link").and_then(|l| l.as_bool()) == Some(true) {
                continue;
            }
            let mut pk = pkg(PkgKind::Npm, name, version, path);
            pk.licenses = json_license(p);
            f.packages.push(pk);
        }
    } else if let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) {
        let mut stack: Vec<&serde_json::Map<String, serde_json::Value>> = vec![deps];
        while let Some(m) = stack.pop() {
            for (name, p) in m {
                if let Some(version) = p.get("version").and_then(|v| v.as_str()) {
                    f.packages.push(pkg(PkgKind::Npm, name, version, path));
                }
                if let Some(d) = p.get("dependencies").and_then(|d| d.as_object()) {
                    stack.push(d);
                }
            }
        }
    }
}

/// `node_modules/<name>/package.json`.
pub fn npm_manifest(path: &str, text: &str, f: &mut FileFacts) {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return f.errors.push(json_error(path, &e)),
    };
    let (Some(name), Some(version)) = (
        v.get("name").and_then(|n| n.as_str()),
        v.get("version").and_then(|n| n.as_str()),
    ) else {
        return;
    };
    let mut p = pkg(PkgKind::Npm, name, version, path);
    p.licenses = json_license(&v);
    f.packages.push(p);
}

/// `Cargo.lock`: `[[package]]` tables; only packages from a registry (workspace members and
/// path dependencies have no `source`, git ones cannot be matched by version).
pub fn cargo_lock(path: &str, text: &str, f: &mut FileFacts) {
    /// (line, name, version, source) of the `[[package]]` being read.
    type Pkg = (usize, Option<String>, Option<String>, Option<String>);
    let mut cur: Option<Pkg> = None;
    let flush = |c: Option<Pkg>, f: &mut FileFacts| {
        if let Some((line, name, version, source)) = c {
            match (name, version) {
                (Some(n), Some(v)) => {
                    if source
                        .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
                    {
                        f.packages.push(pkg(PkgKind::Cargo, &n, &v, path));
                    }
                }
                _ => f.errors.push(format!(
                    "{path}:{line}: [[package]] without name or version"
                )),
            }
        }
    };
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            flush(cur.take(), f);
            if l == "[[package]]" {
                cur = Some((i + 1, None, None, None));
            }
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "name" => c.1 = Some(v),
            "version" => c.2 = Some(v),
            "source" => c.3 = Some(v),
            _ => {}
        }
    }
    flush(cur.take(), f);
}

/// `go.mod`: `require` lines and blocks (replacements are applied).
pub fn go_mod(path: &str, text: &str, f: &mut FileFacts) {
    let mut block: Option<&str> = None;
    let mut reqs: Vec<(String, String)> = Vec::new();
    let mut repl: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if l == ")" {
            block = None;
            continue;
        }
        let (verb, rest) = match block {
            Some(b) => (b, l),
            None => {
                let mut it = l.splitn(2, char::is_whitespace);
                let verb = it.next().unwrap_or("");
                let rest = it.next().unwrap_or("").trim();
                if rest == "(" {
                    block = Some(if verb == "require" {
                        "require"
                    } else if verb == "replace" {
                        "replace"
                    } else {
                        "other"
                    });
                    continue;
                }
                (verb, rest)
            }
        };
        let w: Vec<&str> = rest.split_whitespace().collect();
        match verb {
            "require" if w.len() >= 2 => reqs.push((w[0].to_string(), w[1].to_string())),
            "replace" => {
                if let Some(arrow) = w.iter().position(|x| *x == "=>") {
                    if arrow >= 1 && w.len() == arrow + 3 {
                        repl.push((
                            w[0].to_string(),
                            w[arrow + 1].to_string(),
                            w[arrow + 2].to_string(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for (m, v) in reqs {
        let (m, v) = match repl.iter().find(|r| r.0 == m) {
            Some(r) => (r.1.clone(), r.2.clone()),
            None => (m, v),
        };
        f.packages.push(pkg(PkgKind::Go, &m, &v, path));
    }
}

/// `META-INF/maven/<group>/<artifact>/pom.properties`.
pub fn pom_properties(path: &str, text: &str, f: &mut FileFacts) {
    let mut g = None;
    let mut a = None;
    let mut v = None;
    for line in text.lines() {
        if let Some((k, val)) = line.split_once('=') {
            match k.trim() {
                "groupId" => g = Some(val.trim().to_string()),
                "artifactId" => a = Some(val.trim().to_string()),
                "version" => v = Some(val.trim().to_string()),
                _ => {}
            }
        }
    }
    match (g, a, v) {
        (Some(g), Some(a), Some(v)) => {
            f.packages
                .push(pkg(PkgKind::Maven, &format!("{g}:{a}"), &v, path))
        }
        _ => f.errors.push(format!(
            "{path}:1: pom.properties without groupId, artifactId and version"
        )),
    }
}

/// A Java archive: every `META-INF/maven/<group>/<artifact>/pom.properties`, else the
/// `MANIFEST.MF` (`Implementation-Vendor-Id`/`Bundle-SymbolicName`, `Implementation-Version`);
/// nested archives (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`) one level down.
pub fn java_archive(path: &str, data: &[u8], depth: usize, f: &mut FileFacts) {
    let mut manifest = None;
    let mut found = false;
    let mut nested: Vec<(String, Vec<u8>)> = Vec::new();
    let r = crate::zip::for_each_entry(data, path, &mut |name, d| {
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            let mut g = FileFacts::default();
            pom_properties(
                &format!("{path}!{name}"),
                &String::from_utf8_lossy(d),
                &mut g,
            );
            found |= !g.packages.is_empty();
            for mut p in g.packages {
                p.path = path.to_string();
                f.packages.push(p);
            }
        } else if name == "META-INF/MANIFEST.MF" {
            manifest = Some(String::from_utf8_lossy(d).into_owned());
        } else if depth == 0 && is_java_archive(name) {
            nested.push((name.to_string(), d.to_vec()));
        }
    });
    if let Err(e) = r {
        f.errors.push(e);
        return;
    }
    if !found {
        if let Some(m) = manifest {
            let st = stanzas(&m)
                .into_iter()
                .next()
                .map(|s| s.1)
                .unwrap_or_default();
            let artifact = field(&st, "Bundle-SymbolicName")
                .or(field(&st, "Implementation-Title"))
                .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
            let version = field(&st, "Implementation-Version").or(field(&st, "Bundle-Version"));
            if let (Some(a), Some(v)) = (artifact, version) {
                let name = match field(&st, "Implementation-Vendor-Id") {
                    Some(g) if !a.contains(':') => format!("{g}:{a}"),
                    _ => a,
                };
                f.packages.push(pkg(PkgKind::Maven, &name, v, path));
            }
        }
    }
    for (name, d) in nested {
        let mut g = FileFacts::default();
        java_archive(&format!("{path}!{name}"), &d, depth + 1, &mut g);
        f.packages.extend(g.packages);
        f.errors.extend(g.errors);
    }
}

/// Go build information (Go 1.18+ inline format): the main module, its dependencies and the
/// toolchain (`stdlib`, as OSV's Go ecosystem names it).
pub fn go_binary(path: &str, data: &[u8], f: &mut FileFacts) {
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    let mut at = None;
    let mut i = 0;
    while i + 32 <= data.len() {
        if data[i..].starts_with(MAGIC) {
            at = Some(i);
            break;
        }
        i += 16; // the blob is 16-byte aligned
    }
    let Some(start) = at else { return };
    let flags = data[start + 15];
    if flags & 2 == 0 {
        f.errors.push(format!(
            "{path}: Go build information in the pre-1.18 format is not read"
        ));
        return;
    }
    let mut pos = start + 32;
    let mut next = || -> Option<&[u8]> {
        let (n, used) = uvarint(data.get(pos..)?)?;
        let s = pos + used;
        let e = s.checked_add(usize::try_from(n).ok()?)?;
        let out = data.get(s..e)?;
        pos = e;
        Some(out)
    };
    let (Some(goversion), Some(modinfo)) = (next(), next()) else {
        f.errors
            .push(format!("{path}: truncated Go build information"));
        return;
    };
    let goversion = String::from_utf8_lossy(goversion).to_string();
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        modinfo
    };
    if let Some(v) = goversion.strip_prefix("go") {
        let v = v.split([' ', '-']).next().unwrap_or(v);
        f.packages
            .push(pkg(PkgKind::Go, "stdlib", &format!("v{v}"), path));
    }
    let text = String::from_utf8_lossy(modinfo);
    let mut deps: Vec<Package> = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split('\t').collect();
        match w.as_slice() {
            ["mod", m, v, ..] | ["dep", m, v, ..] if *v != "(devel)" => {
                deps.push(pkg(PkgKind::Go, m, v, path));
            }
            ["=>", m, v, ..] => {
                if let Some(last) = deps.last_mut() {
                    last.name = m.to_string();
                    last.version = v.to_string();
                }
            }
            _ => {}
        }
    }
    f.packages.extend(deps);
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        x |= u64::from(c & 0x7f) << (7 * i);
        if c < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_and_source() {
        let t = "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nDescription: x\n more\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1+b1\n";
        let mut f = FileFacts::default();
        dpkg("var/lib/dpkg/status", t, true, &mut f);
        assert_eq!(f.packages.len(), 2);
        assert_eq!(f.packages[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(
            f.packages[0].source_version.as_deref(),
            Some("3.0.11-1~deb12u2")
        );
        assert_eq!(
            f.packages[1].source_version.as_deref(),
            Some("1:1.2.13.dfsg-1")
        );
    }

    #[test]
    fn go_mod_require_and_replace() {
        let t = "module x\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/net v0.7.0 // indirect\n\tgithub.com/a/b v1.0.0\n)\nrequire github.com/c/d v2.0.0+incompatible\nreplace github.com/a/b => github.com/a/b v1.0.1\n";
        let mut f = FileFacts::default();
        go_mod("go.mod", t, &mut f);
        let v: Vec<_> = f
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(
            v,
            [
                "golang.org/x/net@v0.7.0",
                "github.com/a/b@v1.0.1",
                "github.com/c/d@v2.0.0+incompatible"
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let mut f = FileFacts::default();
        apk(
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\n\nP:broken\n",
            &mut f,
        );
        assert_eq!(f.packages.len(), 1);
        assert_eq!(
            f.errors,
            ["lib/apk/db/installed:4: package entry without P: or V:"]
        );
        let mut f = FileFacts::default();
        npm_lock("app/package-lock.json", "{\n\"packages\": [", &mut f);
        assert!(
            f.errors[0].starts_with("app/package-lock.json:2: invalid JSON"),
            "{:?}",
            f.errors
        );
    }
}
