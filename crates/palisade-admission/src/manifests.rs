//! `palisade admission manifests`: everything needed to run the webhook in a cluster, as
//! one multi-document YAML (the same text is committed as `deploy/palisade-admission.yaml`).
//!
//! Decisions:
//! - Two replicas (anti-affinity preferred across nodes, spread across zones), a
//!   PodDisruptionBudget with `minAvailable: 1`, and a restricted security context: the
//!   manifests pass `palisade scan` at `pss-restricted`, and the full catalog, with zero
//!   findings. The one suppression, PAL203 (no image digest), is annotated with its reason.
//! - NetworkPolicies: default deny; HTTPS in on 8443; out only to the API server (443,
//!   6443) and DNS in kube-system.
//! - RBAC: get, list and watch on namespaces (Pod Security labels), nothing else. The API
//!   token is mounted through an explicit projected volume, so
//!   `automountServiceAccountToken` stays false.
//! - Webhook rules cover what the built-in rules look at: pods (and the
//!   `ephemeralcontainers`, `exec` and `attach` subresources), pod controllers and
//!   namespaces. Extend them for custom policies on other resources. Intercepting `*/*`
//!   would put every lease and event update on the webhook's path.
//! - Without `--ca-file`, the `caBundle` is left out with a comment, rather than filled with
//!   a made-up value; the API server rejects calls until it is set (or cert-manager's
//!   CA injector sets it).

use anyhow::{bail, Result};

pub const DEFAULT_IMAGE: &str = "ghcr.io/palisade-dev/palisade:0.1.0";

/// The configuration the ConfigMap carries when none is given: warn mode, Pod Security
/// from namespace labels read from the API.
pub const DEFAULT_CONFIG: &str = "\
apiVersion: palisade.dev/v1alpha1
kind: AdmissionConfiguration
# Start in warn mode; switch to enforce once the decision log shows no surprises.
mode: warn
podSecurity:
  defaults: {enforce: privileged, warn: baseline, audit: restricted}
  exemptions:
    namespaces: [kube-system]
namespaces:
  api: true
  refresh: 60s
limits:
  evaluationDeadline: 3s
decisionLog:
  path: \"-\"
";

#[derive(Clone, Debug)]
pub struct ManifestOptions {
    pub namespace: String,
    pub name: String,
    pub image: String,
    pub replicas: u32,
    /// Base64 of the CA certificate PEM.
    pub ca_bundle: Option<String>,
    /// `Fail` or `Ignore`.
    pub failure_policy: String,
    /// 1 to 30.
    pub timeout_seconds: u32,
    pub mutate: bool,
    pub config_yaml: String,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            namespace: "palisade-system".into(),
            name: "palisade-admission".into(),
            image: DEFAULT_IMAGE.into(),
            replicas: 2,
            ca_bundle: None,
            failure_policy: "Fail".into(),
            timeout_seconds: 5,
            mutate: false,
            config_yaml: DEFAULT_CONFIG.into(),
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders the manifests.
pub fn render(o: &ManifestOptions) -> Result<String> {
    if !is_dns_label(&o.namespace) || !is_dns_label(&o.name) {
        bail!("namespace and name must be DNS labels (lowercase letters, digits, '-')");
    }
    if !(1..=30).contains(&o.timeout_seconds) {
        bail!("timeoutSeconds must be between 1 and 30 (the API server's limit)");
    }
    if o.failure_policy != "Fail" && o.failure_policy != "Ignore" {
        bail!("failurePolicy must be Fail or Ignore");
    }
    if o.replicas == 0 {
        bail!("replicas must be at least 1 (2 or more for availability)");
    }
    if o.image.is_empty() || o.image.contains(char::is_whitespace) {
        bail!("invalid image {:?}", o.image);
    }
    let (ns, name) = (&o.namespace, &o.name);
    let ca = match &o.ca_bundle {
        Some(b) => format!("caBundle: {b}"),
        None => {
            "# caBundle: base64 of ca.crt (palisade admission manifests --ca-file ca.crt)".into()
        }
    };
    let labels = format!("app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: palisade");
    let selector = format!(
        "namespaceSelector:\n    matchExpressions:\n      - key: kubernetes.io/metadata.name\n        operator: NotIn\n        values: [kube-system, {ns}]"
    );
    let common = format!(
        "failurePolicy: {fp}\n    timeoutSeconds: {to}\n    sideEffects: None\n    matchPolicy: Equivalent\n    admissionReviewVersions: [v1, v1beta1]\n    {sel}",
        fp = o.failure_policy,
        to = o.timeout_seconds,
        sel = selector.replace('\n', "\n  ")
    );
    let mut out = String::new();
    out.push_str(&format!(
        "\
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
# The token is mounted by an explicit projected volume in the Deployment.
automountServiceAccountToken: false
---
# Pod Security levels come from namespace labels: read namespaces, nothing else.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
  labels:
    {labels}
rules:
  - apiGroups: [\"\"]
    resources: [namespaces]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {name}
  labels:
    {labels}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {name}
subjects:
  - kind: ServiceAccount
    name: {name}
    namespace: {ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
data:
  admission.yaml: |
{config}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
  annotations:
    palisade.dev/ignore: PAL203
    palisade.dev/ignore-reason: pin the digest of the release you deploy (--image REPO@sha256:...)
spec:
  replicas: {replicas}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        {labels_pod}
    spec:
      serviceAccountName: {name}
      automountServiceAccountToken: false
      priorityClassName: system-cluster-critical
      terminationGracePeriodSeconds: 40
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {{type: RuntimeDefault}}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    app.kubernetes.io/name: {name}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: {name}
      containers:
        - name: webhook
          image: {image}
          imagePullPolicy: IfNotPresent
          args:
            - admission
            - serve
            - --config=/etc/palisade/admission.yaml
            - --tls-cert=/etc/palisade/tls/tls.crt
            - --tls-key=/etc/palisade/tls/tls.key
            - --listen=0.0.0.0:8443
          ports:
            - {{name: https, containerPort: 8443, protocol: TCP}}
          readinessProbe:
            httpGet: {{path: /readyz, port: https, scheme: HTTPS}}
            periodSeconds: 5
          livenessProbe:
            httpGet: {{path: /healthz, port: https, scheme: HTTPS}}
            periodSeconds: 10
            failureThreshold: 3
          resources:
            requests: {{cpu: 100m, memory: 64Mi}}
            limits: {{cpu: \"1\", memory: 256Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - {{name: config, mountPath: /etc/palisade, readOnly: true}}
            - {{name: tls, mountPath: /etc/palisade/tls, readOnly: true}}
            - {{name: api-token, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}}
      volumes:
        - name: config
          configMap:
            name: {name}
        - name: tls
          secret:
            secretName: {name}-tls
        - name: api-token
          projected:
            sources:
              - serviceAccountToken: {{path: token, expirationSeconds: 3600}}
              - configMap:
                  name: kube-root-ca.crt
                  items: [{{key: ca.crt, path: ca.crt}}]
              - downwardAPI:
                  items:
                    - path: namespace
                      fieldRef: {{fieldPath: metadata.namespace}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
---
# Deny by default; the webhook takes HTTPS from the API server (whose address is not a pod,
# so no peer restriction) and talks only to the API server and DNS.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: {ns}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {name}
  policyTypes: [Ingress, Egress]
  ingress:
    - ports:
        - {{port: 8443, protocol: TCP}}
  egress:
    - ports:
        - {{port: 443, protocol: TCP}}
        - {{port: 6443, protocol: TCP}}
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
      ports:
        - {{port: 53, protocol: UDP}}
        - {{port: 53, protocol: TCP}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels:
    {labels}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - {{name: https, port: 443, targetPort: https, protocol: TCP}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {name}
  labels:
    {labels}
webhooks:
  - name: validate.palisade.dev
    clientConfig:
      service: {{name: {name}, namespace: {ns}, path: /validate, port: 443}}
      {ca}
    rules:
      - apiGroups: [\"\"]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods, pods/ephemeralcontainers, podtemplates, replicationcontrollers, namespaces]
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments, replicasets, statefulsets, daemonsets]
      - apiGroups: [batch]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [jobs, cronjobs]
      - apiGroups: [\"\"]
        apiVersions: [v1]
        operations: [CONNECT]
        resources: [pods/exec, pods/attach]
    {common}
",
        config = indent(o.config_yaml.trim_end(), 4),
        labels_pod = labels.replace("\n    ", "\n        "),
        replicas = o.replicas,
        image = o.image,
    ));
    if o.mutate {
        out.push_str(&format!(
            "\
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: {name}
  labels:
    {labels}
webhooks:
  - name: mutate.palisade.dev
    clientConfig:
      service: {{name: {name}, namespace: {ns}, path: /mutate, port: 443}}
      {ca}
    rules:
      - apiGroups: [\"\"]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods, podtemplates, replicationcontrollers]
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments, replicasets, statefulsets, daemonsets]
      - apiGroups: [batch]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [jobs, cronjobs]
    reinvocationPolicy: IfNeeded
    {common}
"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let ok = ManifestOptions::default();
        assert!(render(&ok).is_ok());
        for bad in [
            ManifestOptions {
                timeout_seconds: 0,
                ..ok.clone()
            },
            ManifestOptions {
                timeout_seconds: 31,
                ..ok.clone()
            },
            ManifestOptions {
                failure_policy: "Maybe".into(),
                ..ok.clone()
            },
            ManifestOptions {
                namespace: "Bad_NS".into(),
                ..ok.clone()
            },
            ManifestOptions {
                replicas: 0,
                ..ok.clone()
            },
        ] {
            assert!(render(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ca_bundle_and_mutation_are_included_when_asked() {
        let o = ManifestOptions {
            ca_bundle: Some("Q0E=".into()),
            mutate: true,
            ..ManifestOptions::default()
        };
        let y = render(&o).unwrap();
        assert_eq!(y.matches("caBundle: Q0E=").count(), 2);
        assert!(y.contains("kind: MutatingWebhookConfiguration"));
        let y = render(&ManifestOptions::default()).unwrap();
        assert!(!y.contains("MutatingWebhookConfiguration"));
        assert!(y.contains("# caBundle:"));
    }
}
