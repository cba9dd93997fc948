//! SBOMs: CycloneDX 1.5 JSON and SPDX 2.3 JSON of an analysed image, and package URLs.

use crate::model::{OsInfo, Package, PkgKind};
use crate::Analysis;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The package URL (purl spec) of a package.
pub fn purl(p: &Package, os: Option<&OsInfo>) -> String {
    let v = enc(&p.version);
    let distro = os.map(|o| format!("{}-{}", o.id, o.version_id));
    let mut q: Vec<String> = Vec::new();
    let base = match p.kind {
        PkgKind::Deb | PkgKind::Apk | PkgKind::Rpm => {
            let ty = match p.kind {
                PkgKind::Deb => "deb",
                PkgKind::Apk => "apk",
                _ => "rpm",
            };
            let ns = os.map(|o| o.id.clone()).unwrap_or_else(|| ty.to_string());
            if let Some(a) = &p.arch {
                q.push(format!("arch={}", enc(a)));
            }
            if let Some(d) = distro {
                q.push(format!("distro={}", enc(&d)));
            }
            format!("pkg:{ty}/{}/{}@{v}", enc(&ns), enc(&p.name))
        }
        PkgKind::Npm => match p.name.split_once('/') {
            Some((scope, n)) if scope.starts_with('@') => {
                format!("pkg:npm/{}/{}@{v}", enc(scope), enc(n))
            }
            _ => format!("pkg:npm/{}@{v}", enc(&p.name)),
        },
        PkgKind::Maven => match p.name.split_once(':') {
            Some((g, a)) => format!("pkg:maven/{}/{}@{v}", enc(g), enc(a)),
            None => format!("pkg:maven/{}@{v}", enc(&p.name)),
        },
        PkgKind::Go => {
            let segs: Vec<String> = p.name.split('/').map(enc).collect();
            format!("pkg:golang/{}@{v}", segs.join("/"))
        }
        PkgKind::Python => format!(
            "pkg:pypi/{}@{v}",
            enc(&crate::db::normalize_name("PyPI", &p.name))
        ),
        PkgKind::Cargo => format!("pkg:cargo/{}@{v}", enc(&p.name)),
    };
    if q.is_empty() {
        base
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

/// RFC 3339 UTC time of a Unix timestamp.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A name-based UUID (version 5 layout) from a digest of the content.
fn uuid(seed: &str) -> String {
    let d = crate::Digest::of(seed.as_bytes());
    let h = d.hex();
    let variant = ["8", "9", "a", "b"][usize::from(h.as_bytes()[16]) % 4];
    format!(
        "{}-{}-5{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

fn seed(a: &Analysis) -> String {
    let mut s = format!("{}\n{:?}\n", a.reference, a.manifest_digest);
    for p in &a.packages {
        s.push_str(&format!(
            "{}:{}@{}:{}\n",
            p.kind.as_str(),
            p.name,
            p.version,
            p.path
        ));
    }
    s
}

fn properties(p: &Package) -> Vec<Value> {
    let mut v = vec![json!({"name": "palisade:package:path", "value": p.path})];
    if let Some(l) = &p.layer {
        v.push(json!({"name": "palisade:layer:digest", "value": l}));
    }
    if let Some(s) = &p.source_name {
        v.push(json!({"name": "palisade:package:source-name", "value": s}));
    }
    if let Some(s) = &p.source_version {
        v.push(json!({"name": "palisade:package:source-version", "value": s}));
    }
    v
}

/// CycloneDX 1.5 JSON.
pub fn cyclonedx(a: &Analysis, created: u64) -> Value {
    let mut components = Vec::new();
    if let Some(os) = &a.os {
        components.push(json!({
            "type": "operating-system",
            "bom-ref": "os",
            "name": os.id,
            "version": os.version_id,
            "description": os.pretty_name,
        }));
    }
    for (i, p) in a.packages.iter().enumerate() {
        let mut c = json!({
            "type": "library",
            "bom-ref": format!("pkg-{i}"),
            "name": p.name,
            "version": p.version,
            "purl": purl(p, a.os.as_ref()),
            "properties": properties(p),
        });
        if !p.licenses.is_empty() {
            c["licenses"] = Value::Array(
                p.licenses
                    .iter()
                    .map(|l| json!({"license": {"name": l}}))
                    .collect(),
            );
        }
        if p.kind == PkgKind::Maven {
            if let Some((g, n)) = p.name.split_once(':') {
                c["group"] = json!(g);
                c["name"] = json!(n);
            }
        }
        components.push(c);
    }
    let mut image = json!({
        "type": "container",
        "bom-ref": "image",
        "name": a.reference,
    });
    if let Some(d) = &a.manifest_digest {
        image["version"] = json!(d);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid(&seed(a))),
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(created),
            "tools": {"components": [{"type": "application", "name": "palisade", "version": env!("CARGO_PKG_VERSION")}]},
            "component": image,
        },
        "components": components,
    })
}

/// An SPDX license expression, or a `LicenseRef-` for free text.
fn spdx_license(ls: &[String]) -> String {
    if ls.is_empty() {
        return "NOASSERTION".into();
    }
    let one = |l: &str| -> String {
        // Identifiers alternating with AND/OR/WITH, as an SPDX expression has them.
        let simple = l.split_whitespace().enumerate().all(|(i, t)| {
            let op = matches!(t, "AND" | "OR" | "WITH");
            let id = t.trim_matches(['(', ')']);
            if i % 2 == 1 {
                op
            } else {
                !op && !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
            }
        });
        if simple && !l.trim().is_empty() {
            l.trim().to_string()
        } else {
            let s: String = l
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("LicenseRef-{s}")
        }
    };
    if ls.len() == 1 {
        one(&ls[0])
    } else {
        ls.iter()
            .map(|l| format!("({})", one(l)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// SPDX 2.3 JSON.
pub fn spdx(a: &Analysis, created: u64) -> Value {
    let mut packages = vec![{
        let mut p = json!({
            "name": a.reference,
            "SPDXID": "SPDXRef-Image",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "CONTAINER",
        });
        if let Some(d) = &a.manifest_digest {
            p["versionInfo"] = json!(d);
        }
        p
    }];
    let mut rels = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}),
    ];
    if let Some(os) = &a.os {
        packages.push(json!({
            "name": os.id, "SPDXID": "SPDXRef-OperatingSystem", "versionInfo": os.version_id,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": false, "primaryPackagePurpose": "OPERATING-SYSTEM",
        }));
        rels.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-OperatingSystem"}));
    }
    for (i, p) in a.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{i}");
        let mut src = format!("read from /{}", p.path);
        if let Some(l) = &p.layer {
            src.push_str(&format!(" in layer {l}"));
        }
        if let Some(s) = &p.source_name {
            src.push_str(&format!("; source package {s}"));
        }
        packages.push(json!({
            "name": p.name,
            "SPDXID": id,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": spdx_license(&p.licenses),
            "sourceInfo": src,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl(p, a.os.as_ref())}],
        }));
        rels.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": a.reference,
        "documentNamespace": format!("https://palisade.dev/spdx/image/{}", uuid(&seed(a))),
        "creationInfo": {"created": rfc3339(created), "creators": [format!("Tool: palisade-{}", env!("CARGO_PKG_VERSION"))]},
        "packages": packages,
        "relationships": rels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_and_time() {
        let mut p = Package {
            kind: PkgKind::Npm,
            name: "@babel/core".into(),
            version: "7.0.0".into(),
            source_name: None,
            source_version: None,
            licenses: vec![],
            arch: None,
            path: "x".into(),
            layer: None,
        };
        assert_eq!(purl(&p, None), "pkg:npm/%40babel/core@7.0.0");
        p.kind = PkgKind::Deb;
        p.name = "libssl3".into();
        p.version = "3.0.11-1~deb12u2".into();
        p.arch = Some("amd64".into());
        let os = OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            ..OsInfo::default()
        };
        assert_eq!(
            purl(&p, Some(&os)),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(spdx_license(&["MIT".into()]), "MIT");
        assert_eq!(
            spdx_license(&["GPL-2.0-or-later OR MIT".into()]),
            "GPL-2.0-or-later OR MIT"
        );
        assert_eq!(
            spdx_license(&["BSD License".into()]),
            "LicenseRef-BSD-License"
        );
    }
}
