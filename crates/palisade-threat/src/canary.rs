//! Canary resources: decoys nothing legitimate touches, with the rules that report any touch.
//!
//! [`generate`] writes, for one namespace:
//! - two Opaque Secrets an attacker hunts for (cloud keys, a database admin password) with
//!   fake values of the right shape;
//! - a ServiceAccount and its long-lived token Secret (`kubernetes.io/service-account-token`;
//!   the ServiceAccount is bound to nothing, so its token opens nothing);
//! - a ConfigMap that looks like a forgotten bootstrap configuration;
//! - a decoy Service and the Pod behind it (the pause image; Pod Security `restricted`).
//!
//! and a Falco rule file (source `k8s_audit`, loaded with `palisade detect run --rules`) with
//! one rule per resource kind: a `get` of a decoy by name, or a `list`/`watch` of that kind in
//! the decoy namespace (or cluster-wide) by anyone but the trusted control-plane identities
//! (list `palisade_canary_trusted_users`, and kube-system's service accounts). Each request
//! counts once: at `ResponseComplete`, or at `ResponseStarted` for a watch.
//!
//! Flows to the decoy Service or Pod are reported by `palisade threat match/hunt --canary`
//! ([`CanarySet`]).

use palisade_model::Object;
use palisade_store::{EndpointKind, FlowRecord};

#[derive(Clone, Debug)]
pub struct CanaryOptions {
    pub namespace: String,
    /// Varies the fake values (the same seed gives the same files).
    pub seed: String,
}

#[derive(Clone, Debug)]
pub struct Canary {
    pub manifests: String,
    pub rules: String,
    pub secrets: Vec<String>,
    pub configmaps: Vec<String>,
    pub service_accounts: Vec<String>,
    pub service: String,
    pub pod: String,
}

struct Fake(u64);

impl Fake {
    fn new(seed: &str) -> Fake {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x1000_0000_01b3);
        }
        Fake(h | 1)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chars(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn yaml_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Generates the decoys and their rules.
pub fn generate(o: &CanaryOptions) -> Canary {
    let ns = &o.namespace;
    let mut f = Fake::new(&format!("{}/{}", o.seed, ns));
    let aws = "aws-prod-credentials".to_string();
    let db = "postgres-admin-password".to_string();
    let sa = "ci-deployer".to_string();
    let sa_token = "ci-deployer-token".to_string();
    let cm = "vault-bootstrap-config".to_string();
    let svc = "vault-internal".to_string();
    let pod = "vault-internal-0".to_string();
    let key_id = format!("AKIA{}", f.chars(16, UPPER_DIGITS));
    let secret_key = f.chars(40, B64);
    let db_pw = f.chars(24, ALNUM);
    let vault_token = format!("hvs.{}", f.chars(24, B64));
    let manifests = format!(
        "# Canary resources made by `palisade threat canary` (namespace {ns}). Nothing legitimate
# reads them: every read is reported by the rules of the companion rule file.
apiVersion: v1
kind: Secret
metadata:
  name: {aws}
  namespace: {ns}
type: Opaque
stringData:
  AWS_ACCESS_KEY_ID: {key_id}
  AWS_SECRET_ACCESS_KEY: {secret_key}
  AWS_DEFAULT_REGION: us-east-1
---
apiVersion: v1
kind: Secret
metadata:
  name: {db}
  namespace: {ns}
type: Opaque
stringData:
  username: postgres
  password: {db_pw}
  host: postgres-primary.{ns}.svc
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {sa}
  namespace: {ns}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Secret
metadata:
  name: {sa_token}
  namespace: {ns}
  annotations:
    kubernetes.io/service-account.name: {sa}
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {cm}
  namespace: {ns}
data:
  VAULT_ADDR: http://{svc}.{ns}.svc:8200
  VAULT_TOKEN: {vault_token}
---
apiVersion: v1
kind: Service
metadata:
  name: {svc}
  namespace: {ns}
spec:
  selector:
    app.kubernetes.io/name: {svc}
  ports:
    - name: http
      port: 8200
      targetPort: 8200
---
apiVersion: v1
kind: Pod
metadata:
  name: {pod}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {svc}
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65535
    runAsGroup: 65535
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: vault
      image: registry.k8s.io/pause:3.10
      ports:
        - containerPort: 8200
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [\"ALL\"]
      resources:
        requests:
          cpu: 5m
          memory: 8Mi
        limits:
          cpu: 20m
          memory: 16Mi
"
    );
    let secrets = vec![aws, db, sa_token];
    let configmaps = vec![cm];
    let service_accounts = vec![sa];
    let rule = |kind: &str, resource: &str, list: &str, names: &[String]| {
        format!(
            "
- list: {list}
  items: [{items}]

- rule: Canary {kind} Accessed
  desc: >
    A decoy {kind} made by palisade threat canary was read, or its kind was listed or watched
    in the decoy namespace or cluster-wide. Nothing legitimate does this.
  condition: >
    palisade_canary_once and ka.target.resource = {resource}
    and ((ka.verb = get and ka.target.name in ({list}) and ka.target.namespace = \"{ns}\")
         or (ka.verb in (list, watch) and (ka.target.namespace = \"{ns}\" or ka.target.namespace = \"\")
             and not palisade_canary_trusted))
  output: >
    Canary {kind} accessed (user=%ka.user.name verb=%ka.verb resource=%ka.target.resource
    name=%ka.target.name ns=%ka.target.namespace source=%ka.sourceips agent=%ka.useragent)
  priority: CRITICAL
  source: k8s_audit
  tags: [k8s, canary, mitre_credential_access, T1552.007]
",
            items = yaml_list(names)
        )
    };
    let mut rules = format!(
        "# Canary rules made by `palisade threat canary` for namespace {ns}: load them with
# `palisade detect run --rules THIS_FILE` (or serve). Falco's first-match order applies: with
# the built-in rules loaded first, a person's read of a Secret is reported by \"K8s Secret
# Read by User\" instead; load with --no-default-rules or rely on that rule for people.

- list: palisade_canary_trusted_users
  items: [\"system:kube-controller-manager\", \"system:kube-scheduler\", \"system:apiserver\"]

- macro: palisade_canary_trusted
  condition: >
    (ka.user.name in (palisade_canary_trusted_users)
     or ka.user.name startswith \"system:serviceaccount:kube-system:\"
     or ka.user.name startswith \"system:node:\")

- macro: palisade_canary_once
  condition: >
    ((ka.verb != watch and ka.stage = ResponseComplete)
     or (ka.verb = watch and ka.stage = ResponseStarted))
"
    );
    rules.push_str(&rule(
        "Secret",
        "secrets",
        "palisade_canary_secrets",
        &secrets,
    ));
    rules.push_str(&rule(
        "ConfigMap",
        "configmaps",
        "palisade_canary_configmaps",
        &configmaps,
    ));
    rules.push_str(&rule(
        "ServiceAccount",
        "serviceaccounts",
        "palisade_canary_serviceaccounts",
        &service_accounts,
    ));
    Canary {
        manifests,
        rules,
        secrets,
        configmaps,
        service_accounts,
        service: svc,
        pod,
    }
}

/// Decoy Services and Pods, read from canary manifests: flows to them are alerts.
#[derive(Clone, Debug, Default)]
pub struct CanarySet {
    /// (namespace, Service name)
    pub services: Vec<(String, String)>,
    /// (namespace, workload name of the Pod: its own name for a bare Pod)
    pub pods: Vec<(String, String)>,
}

impl CanarySet {
    pub fn from_objects(objects: &[Object]) -> CanarySet {
        let mut c = CanarySet::default();
        for o in objects {
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            match o.kind.as_str() {
                "Service" => c.services.push((ns, o.name.clone())),
                "Pod" => c.pods.push((ns, o.name.clone())),
                _ => {}
            }
        }
        c
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.pods.is_empty()
    }

    /// The decoy a flow goes to, if any.
    pub fn flow_target(&self, r: &FlowRecord) -> Option<String> {
        let d = &r.dst;
        let ns = d.namespace.as_deref()?;
        let list = match d.kind {
            EndpointKind::Service => &self.services,
            EndpointKind::Pod => &self.pods,
            _ => return None,
        };
        let names = [d.workload.as_deref(), d.pod.as_deref()];
        list.iter()
            .find(|(n, name)| n == ns && names.contains(&Some(name.as_str())))
            .map(|(n, name)| format!("{n}/{name}"))
    }
}

/// The alert of a flow to a decoy.
pub fn flow_alert(r: &FlowRecord, target: &str, hostname: &str) -> palisade_detect::Alert {
    use serde_json::{Map, Value};
    let src = r.src.workload_key().unwrap_or_else(|| r.src.ip.clone());
    let mut f = Map::new();
    f.insert("canary.target".into(), Value::String(target.into()));
    f.insert("fd.sip".into(), Value::String(r.dst.ip.clone()));
    f.insert("fd.sport".into(), Value::from(r.dst.port));
    f.insert("fd.cip".into(), Value::String(r.src.ip.clone()));
    f.insert(
        "k8s.ns.name".into(),
        r.src
            .namespace
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    f.insert(
        "k8s.workload.name".into(),
        r.src
            .workload
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    f.insert(
        "k8s.pod.name".into(),
        r.src.pod.clone().map(Value::String).unwrap_or(Value::Null),
    );
    palisade_detect::Alert {
        time_ns: r.start.saturating_mul(1_000_000),
        rule: "Canary Service Contacted".into(),
        priority: palisade_detect::Priority::Critical,
        source: "palisade_threat".into(),
        message: format!(
            "Canary Service contacted (from={src} to={target} port={} protocol={})",
            r.dst.port, r.protocol
        ),
        output_fields: f,
        tags: vec![
            "canary".into(),
            "network".into(),
            "mitre_discovery".into(),
            "T1046".into(),
        ],
        hostname: hostname.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compile_and_manifests_load() {
        let c = generate(&CanaryOptions {
            namespace: "payments".into(),
            seed: "t".into(),
        });
        let l = palisade_model::load_bytes(
            c.manifests.as_bytes(),
            palisade_model::Source::File("canary.yaml".into()),
            &Default::default(),
        );
        assert_eq!(l.objects.len(), 7, "{:?}", l.diagnostics);
        assert_eq!(l.error_count(), 0);
        let set = CanarySet::from_objects(&l.objects);
        assert_eq!(
            set.services,
            vec![("payments".into(), "vault-internal".into())]
        );
        let mut rs = palisade_detect::RuleSet::default();
        rs.load("canary-rules.yaml", &c.rules);
        let comp = palisade_detect::compile::compile(&rs);
        assert!(
            comp.diags
                .iter()
                .all(|d| d.level != palisade_detect::rules::Level::Error),
            "{:?}",
            comp.diags
        );
        assert_eq!(comp.rules.len(), 3);
        let again = generate(&CanaryOptions {
            namespace: "payments".into(),
            seed: "t".into(),
        });
        assert_eq!(c.manifests, again.manifests);
    }
}
