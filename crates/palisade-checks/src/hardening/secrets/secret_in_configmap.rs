use super::detect;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Entry, Node, Object, Pos};

declare_check! {
    /// ## What it does
    /// Flags ConfigMap entries that contain a credential. A single-line entry is reported when
    /// its key is secret-like (`password`, `api_key`, `client.secret`, ...) and its value is a
    /// plausible literal; any entry is reported when it contains a known credential format
    /// (AWS access key id, PEM private key, GitHub, Slack, Google API or Stripe live key, JSON
    /// Web Token, URL with an embedded password) or a long random-looking token. Multi-line
    /// entries (configuration files) are read line by line, and `key: value` / `key=value`
    /// settings inside them are judged by their own keys.
    ///
    /// The finding points at the offending line inside a block scalar (`|`) when it can be
    /// computed, otherwise at the entry. Only the first offending line of each entry is
    /// reported; the message counts the others. `binaryData` entries are decoded and scanned
    /// when they hold text; binary content is not inspected. Certificates and public keys are
    /// not secrets and are skipped. Messages never include the value.
    ///
    /// ## Why is this bad?
    /// ConfigMaps are meant for non-confidential data: they are not encrypted at rest, are
    /// readable by far more users and controllers than Secrets (`view` can read ConfigMaps,
    /// not Secrets), and are routinely printed, diffed and committed.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ConfigMap
    /// data:
    ///   application.properties: |
    ///     spring.datasource.url=jdbc:postgresql://db:5432/app
    ///     spring.datasource.password=hunter22
    /// ```
    ///
    /// ## Use instead
    /// Move the credential into a Secret (or an external secret manager) and mount it, or
    /// have the application read it from an environment variable populated by
    /// `secretKeyRef`.
    pub struct SecretInConfigMap {
        id: "PAL302",
        name: "secret-in-configmap",
        title: "Credential in a ConfigMap",
        severity: High,
        category: Secrets,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: Secrets"),
        mitre: &["T1552.007"],
    }
}

impl Check for SecretInConfigMap {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        if obj.kind != "ConfigMap" || !obj.group().is_empty() {
            return;
        }
        for field in ["data", "binaryData"] {
            let entries = obj.root.get(field).map(Node::entries).unwrap_or(&[]);
            for (k, entry) in entries.iter().enumerate() {
                let Some(raw) = entry.value.as_str() else {
                    continue;
                };
                let decoded;
                let text = if field == "binaryData" {
                    match String::from_utf8(detect::base64_decode(raw.as_bytes())) {
                        Ok(s) => {
                            decoded = s;
                            decoded.as_str()
                        }
                        Err(_) => continue,
                    }
                } else {
                    raw
                };
                let hits = detect::scan_text(&entry.key, text);
                let Some(first) = hits.first() else { continue };
                let multi_line = text.trim_end_matches(['\n', '\r']).contains('\n');
                let (pos, message) = if multi_line {
                    let pos = if field == "data" {
                        line_in_block(entry, entries.get(k + 1), text, first.line)
                    } else {
                        entry.key_pos
                    };
                    let setting = first
                        .key
                        .and_then(|(s, e)| text.lines().nth(first.line).and_then(|l| l.get(s..e)))
                        .map(|k| format!("setting {k:?} "))
                        .unwrap_or_default();
                    let more = match hits.len() {
                        1 => String::new(),
                        n => format!(
                            " (and {} more line{})",
                            n - 1,
                            if n == 2 { "" } else { "s" }
                        ),
                    };
                    (
                        pos,
                        format!(
                            "ConfigMap key {:?}, line {} of the {}value: {}{}{}; store it in a Secret",
                            entry.key,
                            first.line + 1,
                            if field == "binaryData" { "decoded " } else { "" },
                            setting,
                            first.hit.describe(),
                            more
                        ),
                    )
                } else {
                    (
                        entry.key_pos,
                        format!(
                            "ConfigMap key {:?} {}; store it in a Secret",
                            entry.key,
                            first.hit.describe()
                        ),
                    )
                };
                out.emit(node::join(field, &entry.key), pos, message);
            }
        }
    }
}

/// The source line of line `n` (0-based) of a block scalar: the scalar's node starts at its
/// first non-empty line. Falls back to the entry's key when the value is not a block below its
/// key (a quoted string with `\n` escapes) or the computed line runs into the next entry
/// (folded scalars join lines).
fn line_in_block(entry: &Entry, next: Option<&Entry>, text: &str, n: usize) -> Pos {
    let start = entry.value.pos;
    if start.line == 0 || start.line <= entry.key_pos.line {
        return entry.key_pos;
    }
    let leading = text.lines().take_while(|l| l.trim().is_empty()).count();
    let Some(offset) = n.checked_sub(leading) else {
        return entry.key_pos;
    };
    let Ok(offset) = u32::try_from(offset) else {
        return entry.key_pos;
    };
    let line = start.line.saturating_add(offset);
    if next.is_some_and(|e| e.key_pos.line > 0 && line >= e.key_pos.line) {
        return entry.key_pos;
    }
    Pos::new(line, start.col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    const YAML: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data:
  LOG_LEVEL: debug
  DB_PASSWORD: hunter22
  DB_PASSWORD_FILE: /run/secrets/db
  application.properties: |
    server.port=8080
    spring.datasource.url=jdbc:postgresql://db:5432/app

    spring.datasource.password=hunter22
    api.token=${API_TOKEN}
    aws.key=AKIAIOSFODNN7EXAMPLE
  ca.crt: |
    -----BEGIN CERTIFICATE-----
    MIIBszCCAVmgAwIBAgIUQ2Zx9Qm2Lr7Tv4Kp8Wn3Hs6Yd1Bf5Gc0JaMAoGCCqGSM49
    -----END CERTIFICATE-----
  quoted: "user=app\npassword=hunter22\n"
binaryData:
  creds.env: dXNlcj1hcHAKcGFzc3dvcmQ9aHVudGVyMjIK
  image.png: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk
"#;

    #[test]
    fn flags_entries_and_lines_inside_files() {
        let f = run(&SecretInConfigMap, YAML);
        assert_eq!(
            paths(&f),
            [
                "data.DB_PASSWORD",
                "data[\"application.properties\"]",
                "data.quoted",
                "binaryData[\"creds.env\"]",
            ]
        );
        assert_eq!(f[0].line, 7);
        // Line 4 of the block scalar that starts on line 10.
        assert_eq!(f[1].line, 13);
        assert!(
            f[1].message
                .contains("line 4 of the value: setting \"spring.datasource.password\""),
            "{}",
            f[1].message
        );
        assert!(
            f[1].message.contains("(and 1 more line)"),
            "{}",
            f[1].message
        );
        // A quoted value with escapes: the entry's line.
        assert_eq!(f[2].line, 20);
        assert_eq!(f[3].line, 22);
        assert!(f[3].message.contains("decoded value"), "{}", f[3].message);
        assert!(f.iter().all(|x| !x.message.contains("hunter22")));
    }

    #[test]
    fn ignores_plain_config_and_other_kinds() {
        let f = run(
            &SecretInConfigMap,
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: nginx}
data:
  nginx.conf: |
    server {
      listen 8080;
      auth_basic "closed";
      auth_basic_user_file /etc/nginx/htpasswd;
      location / { proxy_pass http://backend:8080; }
    }
  token-ttl: "3600"
  secret-name: app-credentials
  odd: {nested: map}
binaryData:
  junk: "!!!"
---
apiVersion: example.com/v1
kind: ConfigMap
metadata: {name: not-core}
data:
  password: hunter22
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }

    #[test]
    fn folded_scalar_lines_stay_inside_the_entry() {
        let f = run(
            &SecretInConfigMap,
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data:
  a: >
    x=1

    y=2

    password=hunter22
  b: plain
"#,
        );
        assert_eq!(paths(&f), ["data.a"]);
        assert!(f[0].line >= 6 && f[0].line < 12, "{}", f[0].line);
    }
}
