use super::detect;
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags container environment variables whose literal `value` looks like a credential:
    /// a secret-like name (`DB_PASSWORD`, `API_KEY`, `client_secret`, `GITHUB_TOKEN`, ...)
    /// with a plausible literal value, a value in a known credential format (AWS access key
    /// id, PEM private key, GitHub, Slack, Google API or Stripe live key, JSON Web Token, URL
    /// with an embedded password), or a long random-looking token.
    ///
    /// Names that refer to a secret rather than hold it (`*_FILE`, `*_PATH`, `*_REF`,
    /// `*_NAME`, `*_URL`, `*_TTL`, ...) and values that cannot be a secret (empty, shorter
    /// than 4 characters, `true`/`false`, file paths, URLs, `${VAR}` / `$(VAR)` / `{{ ... }}`
    /// placeholders, masks such as `********`) are not reported. Hex-only strings such as
    /// digests and commit ids never count as high-entropy. Multi-line values are read line by
    /// line (settings such as `password=...` inside them count by their own names) and
    /// certificates are skipped. Messages never include the value.
    ///
    /// ## Why is this bad?
    /// A literal value is stored in the manifest, in version control, in the object in etcd
    /// (unencrypted, unlike Secrets with encryption at rest) and is readable by everyone who
    /// can read the workload, which is far more people than can read Secrets.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD
    ///     value: hunter22
    /// ```
    ///
    /// ## Use instead
    /// Store the value in a Secret (or an external secret manager) and mount it as a file,
    /// or reference it:
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD
    ///     valueFrom:
    ///       secretKeyRef: {name: db, key: password}
    /// ```
    pub struct SecretInEnv {
        id: "PAL301",
        name: "secret-in-env",
        title: "Credential in an environment variable value",
        severity: High,
        category: Secrets,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: Secrets"),
        mitre: &["T1552.007"],
    }
}

impl Check for SecretInEnv {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            let env = c.node.get("env").map(Node::items).unwrap_or(&[]);
            for (j, var) in env.iter().enumerate() {
                let Some(value) = var.get("value").and_then(Node::scalar_string) else {
                    continue;
                };
                if value.is_empty() || var.get("value").and_then(Node::as_bool).is_some() {
                    continue;
                }
                let name = var
                    .get("name")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                let Some(hit) = detect::scan_text(&name, &value).first().map(|h| h.hit) else {
                    continue;
                };
                out.emit(
                    node::join(&node::index(&c.path(&["env"]), j), "value"),
                    var.locate(&["value"]),
                    format!(
                        "{} env var {:?} {}; reference a Secret instead",
                        c.label(),
                        name,
                        hit.describe()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_literal_credentials_with_path_and_line() {
        let f = run(
            &SecretInEnv,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: app
          env:
            - name: LOG_LEVEL
              value: debug
            - name: DB_PASSWORD
              value: hunter22
            - name: DB_PASSWORD_FILE
              value: /run/secrets/db
            - name: UPSTREAM
              value: "https://svc:Sup3rS3cret@api.internal/v1"
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: t, key: token}}
            - name: API_KEY
              value: "${API_KEY}"
            - name: AWS_KEY
              value: AKIAIOSFODNN7EXAMPLE
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.template.spec.containers[0].env[1].value",
                "spec.template.spec.containers[0].env[3].value",
                "spec.template.spec.containers[0].env[6].value",
            ]
        );
        assert_eq!(f[0].line, 14);
        assert_eq!(f[2].line, 24);
        assert!(f[0].message.contains("\"DB_PASSWORD\""), "{}", f[0].message);
        assert!(
            f[1].message.contains("URL with an embedded password"),
            "{}",
            f[1].message
        );
        assert!(f[2]
            .message
            .contains("AWS access key id (20 chars, redacted)"));
        for x in &f {
            for secret in ["hunter22", "Sup3rS3cret", "AKIAIOSFODNN7EXAMPLE"] {
                assert!(!x.message.contains(secret), "{}", x.message);
            }
        }
    }

    #[test]
    fn ignores_references_placeholders_and_odd_input() {
        let f = run(
            &SecretInEnv,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      env: {not: a-list}
  containers:
    - name: app
      env:
        - name: PASSWORD
          value: ""
        - name: SECRET
          value: true
        - name: CLIENT_SECRET
          value: null
        - value: no-name-here
        - "just a string"
        - name: GOOGLE_APPLICATION_CREDENTIALS
          value: /var/secrets/google/key.json
        - name: IMAGE_DIGEST
          value: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        - name: REQUEST_ID
          value: 550e8400-e29b-41d4-a716-446655440000
        - name: TRUST_ANCHORS
          value: |
            -----BEGIN CERTIFICATE-----
            MIIBwTCCAWagAwIBAgIQeDZp5lDaIygQ5UfMKZrFATAKBggqhkjOPQQDAjApMScw
            -----END CERTIFICATE-----
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
