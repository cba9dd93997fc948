//! `palisade install`: every manifest needed to run the chosen components in a cluster, as
//! one multi-document YAML stream for `kubectl apply -f -` (`deploy/` holds the default
//! output as a kustomize base).
//!
//! Decisions (docs/install.md explains each component's permissions):
//! - One image, one namespace (`palisade-system`, Pod Security `restricted`) for the
//!   Deployments; the two node-level DaemonSets (`node`: host PID and the host's root
//!   read-only; `observe`: host network and raw sockets) live in `<namespace>-node`, labelled
//!   `privileged`, so the main namespace stays restricted. Their host access is suppressed
//!   in `palisade scan` with a reason on the object (`palisade.dev/ignore-reason`).
//! - The admission component is `palisade admission manifests`' output (one renderer), less
//!   its Namespace and default-deny policy, which install writes once per namespace.
//! - RBAC: one ClusterRole per component with explicit verbs and resources (no `*`); only
//!   the controller reads the API beyond namespaces; no component reads Secrets. Service
//!   account tokens are mounted only where the API is used, through an explicit projected
//!   volume (`automountServiceAccountToken: false` everywhere).
//! - NetworkPolicies: default deny in both namespaces, then per component the ports it
//!   serves and egress to the API server and DNS (the audit receiver also to Falcosidekick
//!   when configured).
//! - PodDisruptionBudgets for the Deployments (`minAvailable: 1`, two replicas); DaemonSet
//!   pods are not evicted by drains, so they get none.
//! - The PolicyReport CRDs are written from our own schema of the wgpolicyk8s.io/v1alpha2
//!   fields (the test checks it accepts what the controller writes and that every field it
//!   declares exists in the upstream CRD); `crds: false` in the values leaves them out when
//!   Kyverno or Policy Reporter already installed them.
//! - The API server's audit webhook kubeconfig and audit policy are a ConfigMap
//!   (`palisade-audit-apiserver`) to copy to the control-plane nodes: the API server reads
//!   them from its own disk, so install cannot put them there.

use anyhow::{anyhow, bail, Context as _, Result};
use palisade_model::node::Value as NodeValue;
use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::Node;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

pub use palisade_admission::manifests::DEFAULT_IMAGE;

/// The components `--components` accepts, in output order.
pub const COMPONENTS: [&str; 5] = ["admission", "audit", "controller", "node", "observe"];

/// What the values file (`--values FILE`) may set.
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    pub image: String,
    /// Base64 of the CA certificate (`palisade admission certs` prints it): the admission
    /// webhooks' `caBundle` and the audit webhook kubeconfig's `certificate-authority-data`.
    pub ca_bundle: Option<String>,
    /// Also write ServiceMonitors (Prometheus Operator) for the metrics endpoints.
    pub service_monitor: bool,
    /// Write the PolicyReport CRDs (leave out when Kyverno installed them).
    pub crds: bool,
    pub replicas: u32,
    pub admission_failure_policy: String,
    pub admission_mutate: bool,
    /// The URL the API server posts audit events to (its kubeconfig's `server`).
    pub audit_server: Option<String>,
    /// Falcosidekick (or any JSON endpoint, http://) the audit receiver forwards alerts to.
    pub falcosidekick: Option<String>,
    /// The interface the flow sensor captures on.
    pub observe_interface: String,
}

impl Default for Values {
    fn default() -> Self {
        Values {
            image: DEFAULT_IMAGE.into(),
            ca_bundle: None,
            service_monitor: false,
            crds: true,
            replicas: 2,
            admission_failure_policy: "Fail".into(),
            admission_mutate: false,
            audit_server: None,
            falcosidekick: None,
            observe_interface: "any".into(),
        }
    }
}

fn err_at(file: &str, n: &Node, msg: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{file}:{}: {msg}", n.pos.line)
}

fn string(file: &str, n: &Node, key: &str) -> Result<String> {
    n.as_str().map(str::to_string).ok_or_else(|| {
        err_at(
            file,
            n,
            format!("{key}: expected a string, got {}", n.type_name()),
        )
    })
}

fn boolean(file: &str, n: &Node, key: &str) -> Result<bool> {
    n.as_bool().ok_or_else(|| {
        err_at(
            file,
            n,
            format!("{key}: expected true or false, got {}", n.type_name()),
        )
    })
}

impl Values {
    /// Reads a values file: YAML, every key known (an unknown key is an error naming the
    /// file and line, so a typo is never silently ignored).
    pub fn load(path: &Path) -> Result<Values> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Values::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> Result<Values> {
        let mut v = Values::default();
        let docs = parse_documents(text, Limits::default());
        let mut roots = Vec::new();
        for d in docs {
            match d.result {
                Ok(Some(n)) => roots.push(n),
                Ok(None) => {}
                Err(e) => bail!("{file}:{}: {e}", d.line),
            }
        }
        if roots.len() > 1 {
            bail!("{file}: one YAML document expected, found {}", roots.len());
        }
        let Some(root) = roots.pop() else {
            return Ok(v);
        };
        let NodeValue::Map(entries) = &root.value else {
            return Err(err_at(file, &root, "expected a mapping of values"));
        };
        for e in entries {
            let n = &e.value;
            match e.key.as_str() {
                "image" => v.image = string(file, n, "image")?,
                "caBundle" => v.ca_bundle = Some(string(file, n, "caBundle")?),
                "serviceMonitor" => v.service_monitor = boolean(file, n, "serviceMonitor")?,
                "crds" => v.crds = boolean(file, n, "crds")?,
                "replicas" => {
                    v.replicas = n
                        .as_i64()
                        .filter(|r| (1..=100).contains(r))
                        .ok_or_else(|| err_at(file, n, "replicas: expected 1 to 100"))?
                        as u32
                }
                "admission" => {
                    for a in n.entries() {
                        match a.key.as_str() {
                            "failurePolicy" => {
                                v.admission_failure_policy =
                                    string(file, &a.value, "admission.failurePolicy")?
                            }
                            "mutate" => v.admission_mutate = boolean(file, &a.value, "admission.mutate")?,
                            k => bail!("{file}:{}: unknown key admission.{k} (failurePolicy, mutate)", a.key_pos.line),
                        }
                    }
                }
                "audit" => {
                    for a in n.entries() {
                        match a.key.as_str() {
                            "server" => v.audit_server = Some(string(file, &a.value, "audit.server")?),
                            "falcosidekick" => {
                                let url = string(file, &a.value, "audit.falcosidekick")?;
                                if !url.starts_with("http://") {
                                    return Err(err_at(file, &a.value, "audit.falcosidekick: an http:// URL"));
                                }
                                v.falcosidekick = Some(url)
                            }
                            k => bail!("{file}:{}: unknown key audit.{k} (server, falcosidekick)", a.key_pos.line),
                        }
                    }
                }
                "observe" => {
                    for a in n.entries() {
                        match a.key.as_str() {
                            "interface" => v.observe_interface = string(file, &a.value, "observe.interface")?,
                            k => bail!("{file}:{}: unknown key observe.{k} (interface)", a.key_pos.line),
                        }
                    }
                }
                k => bail!(
                    "{file}:{}: unknown key {k} (image, caBundle, serviceMonitor, crds, replicas, admission, audit, observe)",
                    e.key_pos.line
                ),
            }
        }
        if v.image.is_empty() || v.image.contains(char::is_whitespace) {
            bail!("{file}: invalid image {:?}", v.image);
        }
        if let Some(b) = &v.ca_bundle {
            if b.is_empty()
                || !b
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            {
                bail!("{file}: caBundle must be base64 (of ca.crt, as `palisade admission certs` prints it)");
            }
        }
        if let Some(s) = &v.audit_server {
            if !s.starts_with("https://")
                || s.contains(|c: char| c.is_whitespace() || c.is_control())
            {
                bail!("{file}: audit.server must be an https:// URL");
            }
        }
        if let Some(s) = &v.falcosidekick {
            if s.contains(|c: char| c.is_whitespace() || c.is_control()) {
                bail!("{file}: audit.falcosidekick must be an http:// URL");
            }
        }
        let i = &v.observe_interface;
        if i.is_empty()
            || i.len() > 15
            || i.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
        {
            bail!("{file}: observe.interface must be an interface name");
        }
        if !matches!(v.admission_failure_policy.as_str(), "Fail" | "Ignore") {
            bail!("{file}: admission.failurePolicy must be Fail or Ignore");
        }
        Ok(v)
    }
}

/// What to install.
#[derive(Clone, Debug)]
pub struct InstallOptions {
    pub components: BTreeSet<String>,
    pub namespace: String,
    pub values: Values,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            components: COMPONENTS.iter().map(|c| c.to_string()).collect(),
            namespace: "palisade-system".into(),
            values: Values::default(),
        }
    }
}

/// Parses `--components a,b,c`.
pub fn parse_components(list: &[String]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for c in list
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        if !COMPONENTS.contains(&c) {
            bail!("unknown component {c:?} ({})", COMPONENTS.join(", "));
        }
        out.insert(c.to_string());
    }
    if out.is_empty() {
        bail!("no component chosen ({})", COMPONENTS.join(", "));
    }
    Ok(out)
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 57
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn labels(name: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "palisade",
    })
}

fn selector(name: &str) -> Value {
    json!({"matchLabels": {"app.kubernetes.io/name": name}})
}

fn meta(name: &str, ns: Option<&str>, component: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = ns {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert("labels".into(), labels(name, component));
    Value::Object(m)
}

fn namespace(name: &str, level: &str) -> Value {
    let mut ns = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "app.kubernetes.io/part-of": "palisade",
        }},
    });
    if level == "privileged" {
        ns["metadata"]["annotations"] = json!({
            "palisade.dev/ignore": "PAL601",
            "palisade.dev/ignore-reason": "Only Palisade's node DaemonSets run here: the CIS node checks (host PID, the host root read-only) and the flow sensor (host network, raw sockets) cannot run under baseline or restricted. The Deployments stay in the restricted namespace.",
        });
    }
    ns
}

fn default_deny(ns: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    })
}

fn service_account(name: &str, ns: &str, component: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, Some(ns), component),
        "automountServiceAccountToken": false,
    })
}

/// A ClusterRole and its binding to the component's service account.
fn cluster_rbac(name: &str, ns: &str, component: &str, rules: Value) -> [Value; 2] {
    [
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta(name, None, component),
            "rules": rules,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta(name, None, component),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        }),
    ]
}

/// The API token, CA and namespace, mounted explicitly (the service account does not
/// automount them), for the components that call the API.
fn api_token_volume() -> Value {
    json!({
        "name": "api-token",
        "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ]},
    })
}

fn api_token_mount() -> Value {
    json!({"name": "api-token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true})
}

fn restricted_container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
    })
}

fn restricted_pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

fn spread(name: &str) -> (Value, Value) {
    (
        json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": selector(name)},
        }]}}),
        json!([{
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector(name),
        }]),
    )
}

/// The image digest is the deployer's to pin: every pod-bearing object says so.
const DIGEST_REASON: &str =
    "PAL203: pin the digest of the release you deploy (values: image: REPO@sha256:...)";

#[allow(clippy::too_many_arguments)]
fn deployment(
    name: &str,
    ns: &str,
    component: &str,
    replicas: u32,
    container: Value,
    volumes: Value,
    pod_extra: Map<String, Value>,
) -> Value {
    let (affinity, topology) = spread(name);
    let mut pod = Map::new();
    pod.insert("serviceAccountName".into(), json!(name));
    pod.insert("automountServiceAccountToken".into(), json!(false));
    pod.insert("securityContext".into(), restricted_pod_security());
    pod.insert("affinity".into(), affinity);
    pod.insert("topologySpreadConstraints".into(), topology);
    pod.insert("containers".into(), json!([container]));
    pod.insert("volumes".into(), volumes);
    pod.extend(pod_extra);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": ns, "labels": labels(name, component),
            "annotations": {"palisade.dev/ignore": "PAL203", "palisade.dev/ignore-reason": DIGEST_REASON},
        },
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "selector": selector(name),
            "template": {"metadata": {"labels": labels(name, component)}, "spec": pod},
        },
    })
}

fn pdb(name: &str, ns: &str, component: &str) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(name, Some(ns), component),
        "spec": {"minAvailable": 1, "selector": selector(name)},
    })
}

fn service(name: &str, ns: &str, component: &str, port: u16, target: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, Some(ns), component),
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": target, "port": port, "targetPort": target, "protocol": "TCP"}],
        },
    })
}

fn dns_egress() -> Value {
    json!({
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    })
}

fn api_egress() -> Value {
    json!({"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]})
}

fn netpol(
    name: &str,
    ns: &str,
    component: &str,
    ingress_ports: &[u16],
    egress: Vec<Value>,
) -> Value {
    let ingress: Vec<Value> = ingress_ports
        .iter()
        .map(|p| json!({"ports": [{"port": p, "protocol": "TCP"}]}))
        .collect();
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, Some(ns), component),
        "spec": {
            "podSelector": selector(name),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    })
}

fn service_monitor(name: &str, ns: &str, component: &str, port: &str, scheme: &str) -> Value {
    let mut endpoint =
        json!({"port": port, "path": "/metrics", "scheme": scheme, "interval": "30s"});
    if scheme == "https" {
        // The serving certificate is for the Service name; Prometheus scrapes pod IPs.
        endpoint["tlsConfig"] = json!({"insecureSkipVerify": true});
    }
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(name, Some(ns), component),
        "spec": {"selector": selector(name), "endpoints": [endpoint]},
    })
}

fn resources(cpu_req: &str, mem_req: &str, cpu_lim: &str, mem_lim: &str) -> Value {
    json!({"requests": {"cpu": cpu_req, "memory": mem_req}, "limits": {"cpu": cpu_lim, "memory": mem_lim}})
}

/// The resources the controller watches: what the scan checks, the RBAC risks and the
/// network policy lint read (never Secrets).
pub const CONTROLLER_READS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "pods",
            "services",
            "namespaces",
            "serviceaccounts",
            "replicationcontrollers",
            "podtemplates",
            "limitranges",
        ],
    ),
    (
        "apps",
        &["deployments", "replicasets", "statefulsets", "daemonsets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
    (
        "policy.networking.k8s.io",
        &["adminnetworkpolicies", "baselineadminnetworkpolicies"],
    ),
    (
        "rbac.authorization.k8s.io",
        &[
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ],
    ),
];

fn controller(ns: &str, v: &Values, out: &mut Vec<Value>) {
    let name = "palisade-controller";
    let c = "controller";
    out.push(service_account(name, ns, c));
    let mut rules: Vec<Value> = CONTROLLER_READS
        .iter()
        .map(|(g, r)| json!({"apiGroups": [g], "resources": r, "verbs": ["get", "list", "watch"]}))
        .collect();
    rules.push(json!({
        "apiGroups": ["wgpolicyk8s.io"],
        "resources": ["policyreports", "clusterpolicyreports"],
        "verbs": ["get", "list", "watch", "create", "patch", "delete"],
    }));
    out.extend(cluster_rbac(name, ns, c, json!(rules)));
    // Leader election: one Lease in its own namespace.
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name, Some(ns), c),
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}],
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name, Some(ns), c),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
    }));
    let container = json!({
        "name": "controller",
        "image": v.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["controller", "--listen=0.0.0.0:8080", "--lease-namespace=$(POD_NAMESPACE)", "--identity=$(POD_NAME)"],
        "env": [
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "ports": [{"name": "http-metrics", "containerPort": 8080, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http-metrics"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http-metrics"}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": resources("100m", "128Mi", "1", "512Mi"),
        "securityContext": restricted_container_security(),
        "volumeMounts": [api_token_mount()],
    });
    out.push(deployment(
        name,
        ns,
        c,
        v.replicas,
        container,
        json!([api_token_volume()]),
        Map::new(),
    ));
    out.push(pdb(name, ns, c));
    out.push(service(name, ns, c, 8080, "http-metrics"));
    out.push(netpol(
        name,
        ns,
        c,
        &[8080],
        vec![api_egress(), dns_egress()],
    ));
    if v.service_monitor {
        out.push(service_monitor(name, ns, c, "http-metrics", "http"));
    }
}

fn admission(ns: &str, v: &Values, out: &mut Vec<Value>) -> Result<()> {
    let text =
        palisade_admission::manifests::render(&palisade_admission::manifests::ManifestOptions {
            namespace: ns.to_string(),
            image: v.image.clone(),
            replicas: v.replicas,
            ca_bundle: v.ca_bundle.clone(),
            failure_policy: v.admission_failure_policy.clone(),
            mutate: v.admission_mutate,
            ..Default::default()
        })?;
    for d in parse_documents(&text, Limits::default()) {
        let Some(node) = d.result.map_err(|e| anyhow!("admission manifests: {e}"))? else {
            continue;
        };
        let mut obj = node.to_json();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if kind == "Namespace" || (kind == "NetworkPolicy" && name == "default-deny") {
            continue; // written once per namespace by install
        }
        if let Some(labels) = obj["metadata"]["labels"].as_object_mut() {
            labels.insert("app.kubernetes.io/component".into(), json!("admission"));
        }
        out.push(obj);
    }
    if v.service_monitor {
        out.push(service_monitor(
            "palisade-admission",
            ns,
            "admission",
            "https",
            "https",
        ));
    }
    Ok(())
}

/// The audit policy the API server should use: what the detection rules read, without
/// Secret bodies.
pub const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: None
    users: [\"system:kube-proxy\"]
    verbs: [watch]
  - level: None
    resources:
      - group: \"\"
        resources: [events]
      - group: coordination.k8s.io
        resources: [leases]
  - level: None
    nonResourceURLs: [\"/healthz*\", \"/readyz*\", \"/livez*\", \"/version\"]
  # Bodies of Secrets, ConfigMaps and token requests never reach the log.
  - level: Metadata
    resources:
      - group: \"\"
        resources: [secrets, configmaps, serviceaccounts/token]
      - group: authentication.k8s.io
        resources: [tokenreviews]
  # Interactive sessions and RBAC changes in full.
  - level: RequestResponse
    resources:
      - group: \"\"
        resources: [pods/exec, pods/attach, pods/portforward, pods/ephemeralcontainers]
      - group: rbac.authorization.k8s.io
  # Workload bodies for the privileged/host-access rules.
  - level: Request
    verbs: [create, update, patch]
    resources:
      - group: \"\"
        resources: [pods, services, serviceaccounts]
      - group: apps
      - group: batch
      - group: networking.k8s.io
  - level: Metadata
";

fn audit(ns: &str, v: &Values, out: &mut Vec<Value>) {
    let name = "palisade-audit";
    let c = "audit";
    out.push(service_account(name, ns, c));
    let mut args = vec![
        json!("detect"),
        json!("serve"),
        json!("--tls-cert=/etc/palisade/tls/tls.crt"),
        json!("--tls-key=/etc/palisade/tls/tls.key"),
        json!("--listen=0.0.0.0:9765"),
    ];
    let mut egress = vec![dns_egress()];
    if let Some(url) = &v.falcosidekick {
        args.push(json!(format!("--http-output={url}")));
        let port = url
            .trim_start_matches("http://")
            .split(['/', '?'])
            .next()
            .and_then(|host| host.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(80);
        egress.push(json!({"ports": [{"port": port, "protocol": "TCP"}]}));
    }
    let container = json!({
        "name": "receiver",
        "image": v.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [{"name": "https", "containerPort": 9765, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": resources("100m", "128Mi", "2", "512Mi"),
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tls", "mountPath": "/etc/palisade/tls", "readOnly": true}],
    });
    let volumes = json!([{"name": "tls", "secret": {"secretName": "palisade-audit-tls"}}]);
    out.push(deployment(
        name,
        ns,
        c,
        v.replicas,
        container,
        volumes,
        Map::new(),
    ));
    out.push(pdb(name, ns, c));
    out.push(service(name, ns, c, 443, "https"));
    out.push(netpol(name, ns, c, &[9765], egress));
    if v.service_monitor {
        out.push(service_monitor(name, ns, c, "https", "https"));
    }
    // For the control-plane nodes (docs/install.md): the API server's --audit-webhook-config-file
    // and --audit-policy-file.
    let server = v
        .audit_server
        .clone()
        .unwrap_or_else(|| format!("https://{name}.{ns}.svc:443/k8s-audit"));
    let ca = match &v.ca_bundle {
        Some(b) => format!("    certificate-authority-data: {b}\n"),
        None => {
            "    # certificate-authority-data: the caBundle printed by `palisade admission certs`\n"
                .into()
        }
    };
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: palisade-audit\n  cluster:\n    server: {server}\n{ca}contexts:\n- name: palisade-audit\n  context:\n    cluster: palisade-audit\n    user: kube-apiserver\ncurrent-context: palisade-audit\nusers:\n- name: kube-apiserver\n"
    );
    out.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("palisade-audit-apiserver", Some(ns), c),
        "data": {"audit-webhook.kubeconfig": kubeconfig, "audit-policy.yaml": AUDIT_POLICY},
    }));
}

fn node_daemonset(
    name: &str,
    ns: &str,
    component: &str,
    ignore: &str,
    reason: &str,
    pod: Value,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": name, "namespace": ns, "labels": labels(name, component),
            "annotations": {"palisade.dev/ignore": ignore, "palisade.dev/ignore-reason": reason},
        },
        "spec": {
            "selector": selector(name),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": labels(name, component)}, "spec": pod},
        },
    })
}

/// Runs on control-plane nodes too (the CIS checks of the API server, etcd, scheduler).
fn everywhere() -> Value {
    json!([{"operator": "Exists", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute"}])
}

const NODE_IGNORE: &str = "PAL107,PAL108,PAL111,PAL203,PSS101,PSS201,PSS203,PSS204";
const NODE_REASON: &str = "The CIS node checks read the host's processes (hostPID: /proc/<pid>/cmdline of the kubelet and control plane) and its files (the host root, read-only, at /host), several of them root-owned 0600 (kubelet and PKI keys), so the check runs as root (PSS203, PSS204) with host PID (PSS101) and the host root as a read-only hostPath volume (PSS201, PAL111); it has no capabilities, no privilege escalation, a read-only root filesystem and no API access. PAL107/PAL108: the pause container that keeps the pod on the node serves nothing to probe. PAL203: pin the digest of the release you deploy.";

fn node(ns: &str, v: &Values, out: &mut Vec<Value>) {
    let name = "palisade-node";
    let c = "node";
    out.push(service_account(name, ns, c));
    let check = json!({
        "name": "cis",
        "image": v.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["node", "check", "--root=/host", "--output=json"],
        "resources": resources("50m", "64Mi", "500m", "256Mi"),
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsUser": 0,
            "runAsNonRoot": false,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": true}],
    });
    // The check runs once per pod start (results in the init container's log, `kubectl logs
    // ds/palisade-node -c cis`; `kubectl rollout restart` re-runs it); the pause container
    // keeps the pod scheduled on the node.
    let hold = json!({
        "name": "hold",
        "image": "registry.k8s.io/pause:3.10",
        "imagePullPolicy": "IfNotPresent",
        "resources": resources("5m", "8Mi", "50m", "16Mi"),
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": 65532,
            "capabilities": {"drop": ["ALL"]},
        },
    });
    let pod = json!({
        "serviceAccountName": name,
        "automountServiceAccountToken": false,
        "hostPID": true,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "tolerations": everywhere(),
        "priorityClassName": "system-node-critical",
        "initContainers": [check],
        "containers": [hold],
        "volumes": [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}],
    });
    out.push(node_daemonset(name, ns, c, NODE_IGNORE, NODE_REASON, pod));
    out.push(netpol(name, ns, c, &[], vec![]));
}

const OBSERVE_IGNORE: &str =
    "PAL107,PAL108,PAL109,PAL110,PAL112,PAL203,PSS101,PSS201,PSS203,PSS204,PSS206";
const OBSERVE_REASON: &str = "The flow sensor captures the node's packets: it needs the host network namespace (hostNetwork: PSS101) and raw sockets as root (NET_RAW, and NET_ADMIN for the capture filter and promiscuous mode: PAL109, PAL110, PSS206, PSS203, PSS204; added capabilities take effect only for root), and writes its flow store to a writable hostPath directory, /var/lib/palisade, that outlives the pod (PSS201, PAL112). It has no other capabilities, no privilege escalation, a read-only root filesystem and no API access. PAL107/PAL108: the sensor serves no HTTP endpoint to probe. PAL203: pin the digest of the release you deploy.";

fn observe(ns: &str, v: &Values, out: &mut Vec<Value>) {
    let name = "palisade-observe";
    let c = "observe";
    out.push(service_account(name, ns, c));
    let sensor = json!({
        "name": "sensor",
        "image": v.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["observe", "sensor", format!("--interface={}", v.observe_interface), "--store=/var/lib/palisade/flows.db"],
        "resources": resources("100m", "128Mi", "1", "512Mi"),
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsUser": 0,
            "runAsNonRoot": false,
            "capabilities": {"drop": ["ALL"], "add": ["NET_RAW", "NET_ADMIN"]},
        },
        "volumeMounts": [{"name": "store", "mountPath": "/var/lib/palisade"}],
    });
    let pod = json!({
        "serviceAccountName": name,
        "automountServiceAccountToken": false,
        "hostNetwork": true,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "tolerations": everywhere(),
        "containers": [sensor],
        "volumes": [{"name": "store", "hostPath": {"path": "/var/lib/palisade", "type": "DirectoryOrCreate"}}],
    });
    out.push(node_daemonset(
        name,
        ns,
        c,
        OBSERVE_IGNORE,
        OBSERVE_REASON,
        pod,
    ));
}

/// Our schema of the wgpolicyk8s.io/v1alpha2 reports (the fields of the working group's
/// API; `metadata` is the API server's).
fn report_schema(namespaced: bool) -> Value {
    let s = json!({"type": "string"});
    let i = json!({"type": "integer"});
    let object_ref = json!({"type": "object", "properties": {
        "apiVersion": s, "kind": s, "name": s, "namespace": s, "uid": s,
        "resourceVersion": s, "fieldPath": s,
    }});
    let result = json!({"type": "object", "required": ["policy"], "properties": {
        "source": s, "policy": s, "rule": s, "category": s, "message": s,
        "severity": {"type": "string", "enum": ["critical", "high", "low", "medium", "info"]},
        "result": {"type": "string", "enum": ["pass", "fail", "warn", "error", "skip"]},
        "scored": {"type": "boolean"},
        "properties": {"type": "object", "additionalProperties": s},
        "resources": {"type": "array", "items": object_ref},
        "timestamp": {"type": "object", "properties": {
            "seconds": {"type": "integer", "format": "int64"},
            "nanos": {"type": "integer", "format": "int32"},
        }},
    }});
    let _ = namespaced;
    json!({"type": "object", "properties": {
        "apiVersion": s, "kind": s, "metadata": {"type": "object"},
        "scope": object_ref,
        "results": {"type": "array", "items": result},
        "summary": {"type": "object", "properties": {"pass": i, "fail": i, "warn": i, "error": i, "skip": i}},
    }})
}

/// The PolicyReport and ClusterPolicyReport CRDs.
pub fn crds() -> Vec<Value> {
    [("PolicyReport", "policyreports", "polr", "Namespaced"), ("ClusterPolicyReport", "clusterpolicyreports", "cpolr", "Cluster")]
        .into_iter()
        .map(|(kind, plural, short, scope)| {
            let col = |name: &str, path: &str, ty: &str| json!({"name": name, "jsonPath": path, "type": ty});
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.wgpolicyk8s.io"), "labels": {"app.kubernetes.io/part-of": "palisade"}},
                "spec": {
                    "group": "wgpolicyk8s.io",
                    "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural,
                              "singular": kind.to_ascii_lowercase(), "shortNames": [short]},
                    "scope": scope,
                    "versions": [{
                        "name": "v1alpha2", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": report_schema(scope == "Namespaced")},
                        "additionalPrinterColumns": [
                            col("Kind", ".scope.kind", "string"), col("Name", ".scope.name", "string"),
                            col("Pass", ".summary.pass", "integer"), col("Fail", ".summary.fail", "integer"),
                            col("Warn", ".summary.warn", "integer"), col("Error", ".summary.error", "integer"),
                            col("Skip", ".summary.skip", "integer"), col("Age", ".metadata.creationTimestamp", "date"),
                        ],
                    }],
                },
            })
        })
        .collect()
}

/// The manifests as objects, in apply order (CRDs and namespaces first).
pub fn objects(o: &InstallOptions) -> Result<Vec<Value>> {
    let ns = o.namespace.as_str();
    if !is_dns_label(ns) {
        bail!("namespace {ns:?} must be a DNS label of at most 57 characters (lowercase letters, digits, '-')");
    }
    let node_ns = format!("{ns}-node");
    let v = &o.values;
    let has = |c: &str| o.components.contains(c);
    let mut out = Vec::new();
    if has("controller") && v.crds {
        out.extend(crds());
    }
    let main = has("admission") || has("audit") || has("controller");
    let host = has("node") || has("observe");
    if main {
        out.push(namespace(ns, "restricted"));
        out.push(default_deny(ns));
    }
    if host {
        out.push(namespace(&node_ns, "privileged"));
        out.push(default_deny(&node_ns));
    }
    if has("admission") {
        admission(ns, v, &mut out)?;
    }
    if has("audit") {
        audit(ns, v, &mut out);
    }
    if has("controller") {
        controller(ns, v, &mut out);
    }
    if has("node") {
        node(&node_ns, v, &mut out);
    }
    if has("observe") {
        observe(&node_ns, v, &mut out);
    }
    Ok(out)
}

/// The manifests as one YAML stream.
pub fn render(o: &InstallOptions) -> Result<String> {
    let objs = objects(o)?;
    let mut text = String::from(
        "# Generated by `palisade install`; see docs/install.md for what each object is for.\n",
    );
    text.push_str(&palisade_model::emit::to_yaml(&objs));
    Ok(text)
}
