use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags containers that receive Secrets through environment variables: `env[].valueFrom
    /// .secretKeyRef` (one finding per variable) and `envFrom[].secretRef` (one finding per
    /// source).
    ///
    /// ## Why is this bad?
    /// Environment variables are copied into every child process, readable from
    /// `/proc/<pid>/environ` by anything running as the same user, written into crash dumps
    /// and debug endpoints, and often logged by frameworks at startup. They also never
    /// change: a rotated Secret reaches the container only after a restart, whereas a mounted
    /// Secret volume is updated in place.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD
    ///     valueFrom:
    ///       secretKeyRef: {name: db, key: password}
    /// envFrom:
    ///   - secretRef: {name: api-keys}
    /// ```
    ///
    /// ## Use instead
    /// Mount the Secret as files and have the application read them (many images support a
    /// `*_FILE` variable pointing at the file):
    /// ```yaml
    /// env:
    ///   - name: DB_PASSWORD_FILE
    ///     value: /run/secrets/db/password
    /// volumeMounts:
    ///   - {name: db, mountPath: /run/secrets/db, readOnly: true}
    /// volumes:
    ///   - name: db
    ///     secret: {secretName: db}
    /// ```
    pub struct SecretAsEnvVar {
        id: "PAL303",
        name: "secret-as-env-var",
        title: "Secret exposed as an environment variable",
        severity: Low,
        category: Secrets,
        pss: None,
        cis: Some("5.4.1"),
        nsa: Some("Network separation and hardening: Secrets"),
        mitre: &[],
    }
}

impl Check for SecretAsEnvVar {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        for c in pod.containers() {
            let env = c.node.get("env").map(Node::items).unwrap_or(&[]);
            for (j, var) in env.iter().enumerate() {
                let Some(r) = var.at(&["valueFrom", "secretKeyRef"]) else {
                    continue;
                };
                if r.is_null() {
                    continue;
                }
                let name = var
                    .get("name")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                let secret = r
                    .get("name")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                let path = node::index(&c.path(&["env"]), j);
                out.emit(
                    format!("{path}.valueFrom.secretKeyRef"),
                    var.locate(&["valueFrom", "secretKeyRef"]),
                    format!(
                        "{} env var {name:?} is read from Secret {secret:?}; mount the Secret as a file instead",
                        c.label()
                    ),
                );
            }
            let env_from = c.node.get("envFrom").map(Node::items).unwrap_or(&[]);
            for (k, src) in env_from.iter().enumerate() {
                let Some(r) = src.get("secretRef") else {
                    continue;
                };
                if r.is_null() {
                    continue;
                }
                let secret = r
                    .get("name")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                let path = node::index(&c.path(&["envFrom"]), k);
                out.emit(
                    format!("{path}.secretRef"),
                    src.locate(&["secretRef"]),
                    format!(
                        "{} imports every key of Secret {secret:?} as environment variables; mount the Secret as files instead",
                        c.label()
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
    fn flags_secret_key_refs_and_env_from() {
        let f = run(
            &SecretAsEnvVar,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: backup
              env:
                - name: MODE
                  value: full
                - name: DB_PASSWORD
                  valueFrom:
                    secretKeyRef: {name: db, key: password}
                - name: REGION
                  valueFrom:
                    configMapKeyRef: {name: cfg, key: region}
              envFrom:
                - configMapRef: {name: cfg}
                - secretRef: {name: api-keys}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.jobTemplate.spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef",
                "spec.jobTemplate.spec.template.spec.containers[0].envFrom[1].secretRef",
            ]
        );
        assert_eq!(f[0].line, 18);
        assert_eq!(f[1].line, 24);
        assert!(f[0].message.contains("Secret \"db\""), "{}", f[0].message);
        assert!(
            f[1].message.contains("Secret \"api-keys\""),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_volumes_and_non_workloads() {
        let f = run(
            &SecretAsEnvVar,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      env:
        - name: DB_PASSWORD_FILE
          value: /run/secrets/db/password
        - name: BROKEN
          valueFrom: ~
      envFrom: [~, "x", {secretRef: ~}]
      volumeMounts: [{name: db, mountPath: /run/secrets/db}]
  volumes: [{name: db, secret: {secretName: db}}]
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: x}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
    }
}
