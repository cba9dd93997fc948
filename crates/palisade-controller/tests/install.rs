//! `palisade install` output, for every combination of components: it parses, every object
//! matches its k8s-openapi type with no unknown field, the project's own scan (`--profile
//! all`) finds nothing but documented suppressions, `rbac paths` finds no escalation path,
//! and `deploy/` (the kustomize base) holds the default output and renders with Debian's
//! kubectl.

use palisade_controller::install::{
    self, objects, parse_components, render, InstallOptions, Values, COMPONENTS,
};
use palisade_model::{load_bytes, Level, LoadOptions, Object, Source};
use palisade_scan::{ScanConfig, Scanner};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn combinations() -> Vec<BTreeSet<String>> {
    (1u32..(1 << COMPONENTS.len()))
        .map(|mask| {
            COMPONENTS
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| c.to_string())
                .collect()
        })
        .collect()
}

fn rich_values() -> Values {
    Values::parse(
        "image: registry.example/palisade@sha256:0000000000000000000000000000000000000000000000000000000000000000\ncaBundle: LS0tLS1CRUdJTg==\nserviceMonitor: true\nreplicas: 3\nadmission:\n  mutate: true\n  failurePolicy: Ignore\naudit:\n  falcosidekick: http://falcosidekick.falco:2801\n  server: https://10.96.0.50:443/k8s-audit\n",
        "values.yaml",
    )
    .unwrap()
}

/// Deserialises `v` as `T` and serialises it back: equal JSON means every field is one
/// of the type's (k8s-openapi ignores unknown fields on input, so they would be lost).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) {
    let typed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{} does not deserialise: {e}\n{v:#}", v["kind"]));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, v, "{} has fields its type lacks", v["kind"]);
}

fn typed(v: &Value) {
    use k8s_openapi::api::{
        admissionregistration::v1 as adm, apps::v1 as apps, core::v1 as core,
        networking::v1 as net, policy::v1 as pol, rbac::v1 as rbac,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    match v["kind"].as_str().unwrap() {
        "Namespace" => round_trip::<core::Namespace>(v),
        "ServiceAccount" => round_trip::<core::ServiceAccount>(v),
        "ConfigMap" => round_trip::<core::ConfigMap>(v),
        "Service" => round_trip::<core::Service>(v),
        "ClusterRole" => round_trip::<rbac::ClusterRole>(v),
        "ClusterRoleBinding" => round_trip::<rbac::ClusterRoleBinding>(v),
        "Role" => round_trip::<rbac::Role>(v),
        "RoleBinding" => round_trip::<rbac::RoleBinding>(v),
        "Deployment" => round_trip::<apps::Deployment>(v),
        "DaemonSet" => round_trip::<apps::DaemonSet>(v),
        "PodDisruptionBudget" => round_trip::<pol::PodDisruptionBudget>(v),
        "NetworkPolicy" => round_trip::<net::NetworkPolicy>(v),
        "ValidatingWebhookConfiguration" => round_trip::<adm::ValidatingWebhookConfiguration>(v),
        "MutatingWebhookConfiguration" => round_trip::<adm::MutatingWebhookConfiguration>(v),
        "CustomResourceDefinition" => round_trip::<ext::CustomResourceDefinition>(v),
        // The Prometheus Operator's type is not in k8s-openapi: its fields are checked here.
        "ServiceMonitor" => {
            assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1");
            let keys: BTreeSet<&str> = v["spec"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, BTreeSet::from(["selector", "endpoints"]));
            for e in v["spec"]["endpoints"].as_array().unwrap() {
                for k in e.as_object().unwrap().keys() {
                    assert!(
                        ["port", "path", "scheme", "interval", "tlsConfig"].contains(&k.as_str()),
                        "{k}"
                    );
                }
            }
        }
        k => panic!("install writes a {k}, which this test does not know"),
    }
}

fn load(text: &str) -> Vec<Object> {
    let loaded = load_bytes(
        text.as_bytes(),
        Source::File("install.yaml".into()),
        &LoadOptions::default(),
    );
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.level != Level::Note)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.objects
}

fn check(o: &InstallOptions, scanner: &Scanner) {
    let text = render(o).unwrap();
    let objs = objects(o).unwrap();
    // Parses: as many objects as written, each a Kubernetes object.
    let loaded = load(&text);
    assert_eq!(loaded.len(), objs.len(), "{:?}", o.components);
    for v in &objs {
        typed(v);
    }
    // The project's own scan: zero active findings; every suppression carries its reason.
    let out = scanner.scan(&loaded);
    let active: Vec<String> = out
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f.check,
                f.object.qualified(),
                f.path,
                f.message
            )
        })
        .collect();
    assert!(
        active.is_empty(),
        "{:?}:\n{}",
        o.components,
        active.join("\n")
    );
    for f in out
        .findings
        .iter()
        .filter_map(|f| f.suppressed.as_ref().map(|s| (f, s)))
    {
        let reason = f.1.reason.as_deref().unwrap_or("");
        assert!(
            reason.len() > 20,
            "{} on {} suppressed without a reason",
            f.0.check,
            f.0.object.qualified()
        );
    }
    // Least privilege: no `*` anywhere in RBAC rules, and no escalation path.
    for v in objs
        .iter()
        .filter(|v| matches!(v["kind"].as_str(), Some("Role" | "ClusterRole")))
    {
        for rule in v["rules"].as_array().unwrap() {
            for key in ["apiGroups", "resources", "verbs"] {
                for item in rule[key].as_array().unwrap() {
                    assert_ne!(item, "*", "{} {}", v["metadata"]["name"], key);
                }
            }
        }
    }
    let rbac = palisade_rbac::Rbac::build(
        &loaded,
        &palisade_rbac::BuildOptions {
            defaults: Some(palisade_rbac::bootstrap::latest()),
        },
    );
    let paths = palisade_rbac::paths::paths(&rbac, &palisade_rbac::paths::PathOptions::default());
    assert!(
        paths.paths.is_empty(),
        "{:?}: escalation paths {}",
        o.components,
        paths.paths.len()
    );
    let risks = palisade_rbac::risks::risks(&rbac, &Default::default());
    assert!(
        risks.is_empty(),
        "{:?}: {} RBAC risks",
        o.components,
        risks.len()
    );
}

#[test]
fn every_combination_parses_types_scans_clean_and_has_no_rbac_path() {
    let scanner = Scanner::new(&ScanConfig {
        profile: palisade_checks::Profile::All,
        ..ScanConfig::default()
    })
    .unwrap();
    let combos = combinations();
    assert_eq!(combos.len(), 31);
    for components in combos {
        for values in [Values::default(), rich_values()] {
            let o = InstallOptions {
                components: components.clone(),
                namespace: "palisade-system".into(),
                values,
            };
            check(&o, &scanner);
        }
    }
}

#[test]
fn what_each_component_writes() {
    let all = InstallOptions {
        values: rich_values(),
        ..InstallOptions::default()
    };
    let objs = objects(&all).unwrap();
    let find = |kind: &str, name: &str| {
        objs.iter()
            .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} missing"))
    };
    // CRDs first, then namespaces.
    assert_eq!(objs[0]["kind"], "CustomResourceDefinition");
    assert_eq!(
        find("Namespace", "palisade-system")["metadata"]["labels"]
            ["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(
        find("Namespace", "palisade-system-node")["metadata"]["labels"]
            ["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    // Webhooks carry the CA bundle, and mutation was asked for.
    let vwc = find("ValidatingWebhookConfiguration", "palisade-admission");
    assert_eq!(
        vwc["webhooks"][0]["clientConfig"]["caBundle"],
        "LS0tLS1CRUdJTg=="
    );
    find("MutatingWebhookConfiguration", "palisade-admission");
    // Probes and resources on every container of every workload.
    for w in objs
        .iter()
        .filter(|v| matches!(v["kind"].as_str(), Some("Deployment" | "DaemonSet")))
    {
        let spec = &w["spec"]["template"]["spec"];
        for c in spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(spec["initContainers"].as_array().into_iter().flatten())
        {
            assert!(
                c["resources"]["limits"]["memory"].is_string(),
                "{}",
                w["metadata"]["name"]
            );
            assert!(c["resources"]["requests"]["cpu"].is_string());
        }
        if w["kind"] == "Deployment" {
            let c = &spec["containers"][0];
            assert!(c["readinessProbe"].is_object() && c["livenessProbe"].is_object());
            assert_eq!(w["spec"]["replicas"], 3);
            find(
                "PodDisruptionBudget",
                w["metadata"]["name"].as_str().unwrap(),
            );
            find("ServiceMonitor", w["metadata"]["name"].as_str().unwrap());
        }
    }
    // The audit webhook kubeconfig and policy for the control plane.
    let cm = find("ConfigMap", "palisade-audit-apiserver");
    let kubeconfig = cm["data"]["audit-webhook.kubeconfig"].as_str().unwrap();
    assert!(kubeconfig.contains("server: https://10.96.0.50:443/k8s-audit"));
    assert!(kubeconfig.contains("certificate-authority-data: LS0tLS1CRUdJTg=="));
    let policy = cm["data"]["audit-policy.yaml"].as_str().unwrap();
    let doc = palisade_model::yaml::parse_documents(policy, Default::default())
        .remove(0)
        .result
        .unwrap()
        .unwrap();
    let issues = palisade_node::audit_policy::analyze(&doc);
    assert!(
        issues.is_empty(),
        "palisade node audit-policy on our own policy: {issues:?}"
    );
    // The receiver forwards to Falcosidekick and may reach it.
    let audit = find("Deployment", "palisade-audit");
    assert!(audit["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .contains(&Value::from(
            "--http-output=http://falcosidekick.falco:2801"
        )));
    let np = find("NetworkPolicy", "palisade-audit");
    assert!(np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ports"][0]["port"] == 2801));
    // Only the controller reads the API beyond namespaces, and nobody reads Secrets.
    for r in objs.iter().filter(|v| v["kind"] == "ClusterRole") {
        for rule in r["rules"].as_array().unwrap() {
            assert!(!rule["resources"]
                .as_array()
                .unwrap()
                .contains(&Value::from("secrets")));
        }
    }
    // crds: false leaves them out.
    let mut no_crds = all.clone();
    no_crds.values.crds = false;
    assert!(objects(&no_crds)
        .unwrap()
        .iter()
        .all(|v| v["kind"] != "CustomResourceDefinition"));
}

#[test]
fn bad_values_and_components_name_the_problem() {
    let e = Values::parse("image: x\nreplicaz: 2\n", "v.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("v.yaml:2: unknown key replicaz"), "{e}");
    let e = Values::parse("audit:\n  falcosidekick: https://x\n", "v.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("v.yaml:2:"), "{e}");
    let e = Values::parse("serviceMonitor: maybe\n", "v.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("serviceMonitor: expected true or false"), "{e}");
    let e = Values::parse("caBundle: \"not base64!\"\n", "v.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("caBundle must be base64"), "{e}");
    let e = Values::parse("audit:\n  server: \"https://x\\n  evil: 1\"\n", "v.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("audit.server"), "{e}");
    assert!(parse_components(&["controller,nodes".into()]).is_err());
    assert_eq!(
        parse_components(&["node".into(), "audit".into()])
            .unwrap()
            .len(),
        2
    );
    let bad_ns = InstallOptions {
        namespace: "Palisade".into(),
        ..InstallOptions::default()
    };
    assert!(render(&bad_ns).is_err());
}

/// Every property our CRDs declare exists in the upstream wgpolicyk8s.io v1alpha2 schema
/// (../shared/schemas/policyreport), at the same place and with the same type.
#[test]
fn our_crd_schema_is_a_subset_of_upstreams() {
    fn walk(ours: &Value, theirs: &Value, path: &str) {
        assert_eq!(ours["type"], theirs["type"], "{path}");
        if let Some(props) = ours["properties"].as_object() {
            for (k, v) in props {
                let t = &theirs["properties"][k];
                assert!(t.is_object(), "{path}.{k} is not upstream's");
                walk(v, t, &format!("{path}.{k}"));
            }
        }
        if ours["items"].is_object() {
            walk(&ours["items"], &theirs["items"], &format!("{path}[]"));
        }
        if let Some(e) = ours["enum"].as_array() {
            let theirs = theirs["enum"].as_array().unwrap();
            assert!(e.iter().all(|x| theirs.contains(x)), "{path} enum");
        }
    }
    for (crd, file) in install::crds().iter().zip([
        "v1alpha2-wgpolicyk8s.io_policyreports.yaml",
        "v1alpha2-wgpolicyk8s.io_clusterpolicyreports.yaml",
    ]) {
        let text =
            std::fs::read_to_string(repo().join("../shared/schemas/policyreport").join(file))
                .unwrap();
        let upstream = palisade_model::yaml::parse_documents(
            &text,
            palisade_model::yaml::Limits {
                shallow_crds: false,
                ..Default::default()
            },
        )
        .remove(0)
        .result
        .unwrap()
        .unwrap()
        .to_json();
        assert_eq!(crd["metadata"]["name"], upstream["metadata"]["name"]);
        assert_eq!(crd["spec"]["scope"], upstream["spec"]["scope"]);
        assert_eq!(
            crd["spec"]["names"]["kind"],
            upstream["spec"]["names"]["kind"]
        );
        let theirs = upstream["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "v1alpha2")
            .unwrap();
        walk(
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            &theirs["schema"]["openAPIV3Schema"],
            "",
        );
    }
}

#[test]
fn deploy_holds_the_default_output_and_kustomize_renders_it() {
    let default = render(&InstallOptions::default()).unwrap();
    let committed = std::fs::read_to_string(repo().join("deploy/palisade.yaml")).unwrap();
    assert!(
        committed == default,
        "deploy/palisade.yaml is stale: run `palisade install > deploy/palisade.yaml`"
    );
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", "deploy/"])
        .current_dir(repo())
        .output()
        .expect("kubectl (Debian package kubectl; scripts/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = load(&String::from_utf8(out.stdout).unwrap());
    let ours = load(&default);
    let key = |o: &Object| (o.kind.clone(), o.namespace.clone(), o.name.clone());
    let a: BTreeSet<_> = rendered.iter().map(key).collect();
    let b: BTreeSet<_> = ours.iter().map(key).collect();
    assert!(
        b.is_subset(&a),
        "kustomize lost objects: {:?}",
        b.difference(&a).collect::<Vec<_>>()
    );
}
