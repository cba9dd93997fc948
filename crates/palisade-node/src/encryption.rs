//! EncryptionConfiguration analysis (`apiserver.config.k8s.io/v1`): which resources are
//! encrypted, by which provider, and whether Secrets end up in plaintext.

use crate::analysis::Issue;
use palisade_model::Node;
use palisade_report::Severity;

const PROVIDERS: &[&str] = &["identity", "aescbc", "aesgcm", "secretbox", "kms"];

/// What the analysis found: issues, and for each resource entry its resources and first
/// provider (for the report).
#[derive(Debug, Default)]
pub struct Encryption {
    pub issues: Vec<Issue>,
    /// (resources, first provider description, line)
    pub entries: Vec<(Vec<String>, String, u32)>,
}

fn covers_secrets(resources: &[String]) -> bool {
    resources
        .iter()
        .any(|r| r == "secrets" || r == "*." || r == "*.*")
}

fn provider_of(p: &Node) -> Option<(&str, &Node)> {
    p.entries()
        .iter()
        .find(|e| PROVIDERS.contains(&e.key.as_str()))
        .map(|e| (e.key.as_str(), &e.value))
}

fn decode_len(b64: &str) -> Option<usize> {
    let s = b64.trim();
    if s.is_empty() || s.len() % 4 != 0 {
        return None;
    }
    let valid = s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=');
    let pad = s.bytes().rev().take_while(|c| *c == b'=').count();
    if !valid || pad > 2 || s[..s.len() - pad].contains('=') {
        return None;
    }
    Some(s.len() / 4 * 3 - pad)
}

/// Analyses an EncryptionConfiguration document.
pub fn analyze(doc: &Node) -> Encryption {
    let mut out = Encryption::default();
    let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "EncryptionConfiguration" {
        out.issues.push(Issue::new(
            "ENC005",
            doc.pos.line,
            format!("kind is {kind:?}, not EncryptionConfiguration"),
        ));
        return out;
    }
    let entries = doc.get("resources").map(|r| r.items()).unwrap_or(&[]);
    if entries.is_empty() {
        out.issues.push(Issue::new(
            "ENC005",
            doc.pos.line,
            "no resources: nothing is encrypted",
        ));
    }
    let mut secrets_seen = false;
    for e in entries {
        let resources: Vec<String> = e
            .get("resources")
            .map(|r| r.items().iter().filter_map(|i| i.scalar_string()).collect())
            .unwrap_or_default();
        let providers = e.get("providers").map(|p| p.items()).unwrap_or(&[]);
        let secrets = covers_secrets(&resources) && !secrets_seen;
        if providers.is_empty() {
            out.issues.push(Issue::new(
                "ENC005",
                e.pos.line,
                format!("entry for {} has no providers", resources.join(", ")),
            ));
            continue;
        }
        for p in providers {
            let Some((name, body)) = provider_of(p) else {
                out.issues.push(Issue::new(
                    "ENC005",
                    p.pos.line,
                    "provider is not one of identity, aescbc, aesgcm, secretbox, kms",
                ));
                continue;
            };
            let want: &[usize] = match name {
                "aescbc" | "aesgcm" => &[16, 24, 32],
                "secretbox" => &[32],
                _ => &[],
            };
            if !want.is_empty() {
                let keys = body.get("keys").map(|k| k.items()).unwrap_or(&[]);
                if keys.is_empty() {
                    out.issues.push(Issue::new(
                        "ENC004",
                        p.pos.line,
                        format!("{name} provider has no keys"),
                    ));
                }
                for k in keys {
                    let kname = k
                        .get("name")
                        .and_then(|n| n.scalar_string())
                        .unwrap_or_default();
                    let secret = k
                        .get("secret")
                        .and_then(|s| s.scalar_string())
                        .unwrap_or_default();
                    match decode_len(&secret) {
                        Some(n) if want.contains(&n) => {}
                        Some(n) => out.issues.push(Issue::new(
                            "ENC004",
                            k.pos.line,
                            format!(
                                "{name} key {kname:?} is {n} bytes; it must be {}",
                                want.iter()
                                    .map(|w| w.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )),
                        None => out.issues.push(Issue::new(
                            "ENC004",
                            k.pos.line,
                            format!("{name} key {kname:?} is not valid base64"),
                        )),
                    }
                }
            }
        }
        let (first, body) = provider_of(&providers[0]).unwrap_or(("?", &providers[0]));
        let line = providers[0].pos.line;
        let desc = match first {
            "kms" => {
                let v = body
                    .get("apiVersion")
                    .and_then(|v| v.as_str())
                    .unwrap_or("v1");
                if v == "v2" {
                    "kms v2 (envelope encryption, keys held by an external KMS)".to_string()
                } else {
                    if secrets {
                        out.issues.push(Issue::new("ENC003", line, "kms v1 is deprecated since Kubernetes 1.28 and disabled by default since 1.29: migrate to apiVersion v2"));
                    }
                    "kms v1 (deprecated)".to_string()
                }
            }
            "secretbox" => "secretbox (XSalsa20-Poly1305, local key)".into(),
            "aesgcm" => {
                if secrets {
                    out.issues.push(Issue::new("ENC003", line, "aesgcm needs its key rotated every 200,000 writes; without automated rotation prefer secretbox or kms v2").with_severity(Severity::Low));
                }
                "aesgcm (AES-GCM, local key, rotate every 200k writes)".into()
            }
            "aescbc" => {
                if secrets {
                    out.issues.push(Issue::new("ENC003", line, "aescbc is not recommended: CBC is vulnerable to padding-oracle attacks; prefer secretbox or kms v2"));
                }
                "aescbc (AES-CBC, local key, not recommended)".into()
            }
            "identity" => {
                if secrets {
                    out.issues.push(Issue::new(
                        "ENC001",
                        line,
                        if providers.len() > 1 {
                            "identity is the first provider for Secrets: new Secrets are written in plaintext (the providers below are only used to read)"
                        } else {
                            "identity is the only provider for Secrets: they are stored in plaintext"
                        },
                    ));
                }
                "identity (no encryption)".into()
            }
            _ => "unknown".into(),
        };
        if covers_secrets(&resources) {
            secrets_seen = true;
        }
        out.entries.push((resources, desc, e.pos.line));
    }
    if !secrets_seen && !entries.is_empty() {
        out.issues.push(Issue::new(
            "ENC002",
            doc.pos.line,
            "no entry lists secrets (or *. / *.*): Secrets are stored unencrypted",
        ));
    }
    out.issues.sort_by_key(|i| (i.line, i.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::yaml::{parse_documents, Limits};

    fn run(y: &str) -> Encryption {
        let d = parse_documents(y, Limits::default())
            .remove(0)
            .result
            .unwrap()
            .unwrap();
        analyze(&d)
    }

    #[test]
    fn base64_lengths() {
        assert_eq!(decode_len("AAAAAAAAAAAAAAAAAAAAAA=="), Some(16));
        assert_eq!(decode_len("AAAA"), Some(3));
        assert_eq!(decode_len("A=AA"), None);
        assert_eq!(decode_len("%%%%"), None);
    }

    #[test]
    fn identity_first_is_plaintext() {
        let e = run(r#"
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - identity: {}
      - aescbc:
          keys:
            - name: key1
              secret: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
"#);
        let ids: Vec<&str> = e.issues.iter().map(|i| i.id).collect();
        assert_eq!(ids, ["ENC001"]);
        assert_eq!(e.issues[0].line, 7);
    }

    #[test]
    fn kms_v2_is_clean_and_coverage_counts() {
        let e = run(r#"
kind: EncryptionConfiguration
resources:
  - resources: [configmaps]
    providers:
      - kms: {apiVersion: v2, name: k, endpoint: unix:///k.sock}
"#);
        let ids: Vec<&str> = e.issues.iter().map(|i| i.id).collect();
        assert_eq!(ids, ["ENC002"]);
        assert!(e.entries[0].1.starts_with("kms v2"));
    }
}
