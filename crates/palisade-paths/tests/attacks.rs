//! One fixture per KubeHound attack (tests/fixtures/<ATTACK>.yaml): the graph has exactly the
//! expected edge of that kind, between the expected vertices, with its evidence (object,
//! field path, file and line, rule).

use palisade_model::{load_paths, LoadOptions};
use palisade_paths::{build, EdgeKind, Fact, Graph, Inputs};
use std::path::PathBuf;

fn fixture(name: &str) -> (Graph, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.yaml"));
    let loaded = load_paths(std::slice::from_ref(&path), &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let built = build(&Inputs {
        objects: &loaded.objects,
        ..Inputs::default()
    });
    (built.graph, path.display().to_string())
}

/// The edges of `kind` as (from key, to key, facts).
fn edges(g: &Graph, kind: EdgeKind) -> Vec<(String, String, Vec<Fact>)> {
    g.edges_of(kind)
        .map(|e| {
            (
                g.key(e.from).to_string(),
                g.key(e.to).to_string(),
                g.evidence[e.evidence as usize].clone(),
            )
        })
        .collect()
}

/// Exactly one edge of `kind`, from `from` to `to`; returns its facts.
fn one(g: &Graph, kind: EdgeKind, from: &str, to: &str) -> Vec<Fact> {
    let e = edges(g, kind);
    assert_eq!(e.len(), 1, "{kind}: {e:#?}");
    assert_eq!((e[0].0.as_str(), e[0].1.as_str()), (from, to), "{kind}");
    e[0].2.clone()
}

fn fact(f: &Fact) -> (&str, &str, u32, &str) {
    (f.object.as_str(), f.path.as_str(), f.line, f.rule.as_str())
}

#[test]
fn ce_module_load() {
    let (g, src) = fixture("CE_MODULE_LOAD");
    let f = one(
        &g,
        EdgeKind::CE_MODULE_LOAD,
        "container:attacks/modload[Pod]/app",
        "node",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/modload",
            "spec.containers[0].securityContext.capabilities.add",
            11,
            "PSS103"
        )
    );
    assert_eq!(f[0].source, src);
    // Not privileged: no other escape.
    assert_eq!(edges(&g, EdgeKind::CE_PRIV_MOUNT).len(), 0);
    assert_eq!(edges(&g, EdgeKind::CE_NSENTER).len(), 0);
}

#[test]
fn ce_nsenter() {
    let (g, _) = fixture("CE_NSENTER");
    let f = one(
        &g,
        EdgeKind::CE_NSENTER,
        "container:attacks/nsenter[Pod]/app",
        "node",
    );
    assert_eq!(
        f.iter().map(fact).collect::<Vec<_>>(),
        [
            (
                "Pod attacks/nsenter",
                "spec.containers[0].securityContext.privileged",
                11,
                "PSS102"
            ),
            ("Pod attacks/nsenter", "spec.hostPID", 6, "PSS101"),
        ]
    );
}

#[test]
fn ce_priv_mount() {
    let (g, _) = fixture("CE_PRIV_MOUNT");
    let f = one(
        &g,
        EdgeKind::CE_PRIV_MOUNT,
        "container:attacks/privmount[Pod]/app",
        "node",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/privmount",
            "spec.containers[0].securityContext.privileged",
            10,
            "PSS102"
        )
    );
    // Privileged without hostPID: no nsenter, no ptrace.
    assert!(edges(&g, EdgeKind::CE_NSENTER).is_empty());
    assert!(edges(&g, EdgeKind::CE_SYS_PTRACE).is_empty());
}

#[test]
fn ce_sys_ptrace() {
    let (g, _) = fixture("CE_SYS_PTRACE");
    let f = one(
        &g,
        EdgeKind::CE_SYS_PTRACE,
        "container:attacks/ptrace[Pod]/app",
        "node",
    );
    let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["PSS101", "PSS103", "PSS106"]);
    assert_eq!(f[0].line, 6);
    // The added capabilities are not SYS_MODULE and it is not privileged.
    assert!(edges(&g, EdgeKind::CE_MODULE_LOAD).is_empty());
}

#[test]
fn ce_umh_core_pattern() {
    let (g, _) = fixture("CE_UMH_CORE_PATTERN");
    let f = one(
        &g,
        EdgeKind::CE_UMH_CORE_PATTERN,
        "container:attacks/corepattern[Pod]/app",
        "node",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/corepattern",
            "spec.volumes[0].hostPath",
            14,
            "PSS104"
        )
    );
    // /proc/sys/kernel is not /var/log: the container runs as non-root anyway.
    assert!(edges(&g, EdgeKind::CE_VAR_LOG_SYMLINK).is_empty());
}

#[test]
fn ce_var_log_symlink() {
    let (g, _) = fixture("CE_VAR_LOG_SYMLINK");
    let f = one(
        &g,
        EdgeKind::CE_VAR_LOG_SYMLINK,
        "container:attacks/varlog[Pod]/app",
        "node",
    );
    let rules: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["PSS104", "PSS203"]);
    assert_eq!(f[0].path, "spec.volumes[0].hostPath");
    // /var/log is not a sensitive path for PAL111: no host read/write escape.
    assert!(edges(&g, EdgeKind::EXPLOIT_HOST_READ).is_empty());
}

#[test]
fn container_attach() {
    let (g, _) = fixture("CONTAINER_ATTACH");
    let f = one(
        &g,
        EdgeKind::CONTAINER_ATTACH,
        "pod:attacks/attach[Pod]",
        "container:attacks/attach[Pod]/app",
    );
    assert_eq!(
        fact(&f[0]),
        ("Pod attacks/attach", "spec.containers[0]", 7, "container")
    );
}

#[test]
fn endpoint_exploit() {
    let (g, _) = fixture("ENDPOINT_EXPLOIT");
    let f = one(
        &g,
        EdgeKind::ENDPOINT_EXPLOIT,
        "endpoint:attacks/web[Pod]:8080/TCP",
        "container:attacks/web[Pod]/app",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/web",
            "spec.containers[0].ports[0]",
            10,
            "containerPort"
        )
    );
}

#[test]
fn exploit_containerd_sock() {
    let (g, _) = fixture("EXPLOIT_CONTAINERD_SOCK");
    let f = one(
        &g,
        EdgeKind::EXPLOIT_CONTAINERD_SOCK,
        "container:attacks/sock[Pod]/app",
        "node",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/sock",
            "spec.volumes[0].hostPath.path",
            13,
            "PAL111"
        )
    );
}

#[test]
fn exploit_host_read() {
    let (g, _) = fixture("EXPLOIT_HOST_READ");
    let f = one(
        &g,
        EdgeKind::EXPLOIT_HOST_READ,
        "container:attacks/hostread[Pod]/app",
        "node",
    );
    assert_eq!(f[0].rule, "PAL111");
    assert_eq!(f[0].path, "spec.volumes[0].hostPath.path");
    assert!(edges(&g, EdgeKind::EXPLOIT_HOST_WRITE).is_empty());
}

#[test]
fn exploit_host_traverse() {
    let (g, _) = fixture("EXPLOIT_HOST_TRAVERSE");
    let f = one(
        &g,
        EdgeKind::EXPLOIT_HOST_TRAVERSE,
        "volume:attacks/traverse[Pod]/kubelet",
        "volume:attacks/victim[Pod]/service-account-token",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "Pod attacks/traverse",
            "spec.volumes[0].hostPath",
            13,
            "PSS104"
        )
    );
    // The stolen token leads to the victim's identity.
    one(
        &g,
        EdgeKind::TOKEN_STEAL,
        "volume:attacks/victim[Pod]/service-account-token",
        "identity:ServiceAccount attacks/victim",
    );
}

#[test]
fn exploit_host_write() {
    let (g, _) = fixture("EXPLOIT_HOST_WRITE");
    let f = one(
        &g,
        EdgeKind::EXPLOIT_HOST_WRITE,
        "container:attacks/hostwrite[Pod]/app",
        "node",
    );
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.rule.as_str(), f.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("PAL111", "spec.volumes[0].hostPath.path"),
            ("PAL112", "spec.containers[0].volumeMounts[0].readOnly"),
        ]
    );
    assert!(edges(&g, EdgeKind::EXPLOIT_HOST_READ).is_empty());
}

#[test]
fn identity_assume() {
    let (g, _) = fixture("IDENTITY_ASSUME");
    let f = one(
        &g,
        EdgeKind::IDENTITY_ASSUME,
        "container:attacks/assume[Pod]/app",
        "identity:ServiceAccount attacks/worker",
    );
    assert_eq!(f[0].rule, "PAL106");
    assert_eq!(f[0].path, "spec.automountServiceAccountToken");
}

#[test]
fn identity_impersonate() {
    let (g, src) = fixture("IDENTITY_IMPERSONATE");
    let f = one(
        &g,
        EdgeKind::IDENTITY_IMPERSONATE,
        "permissionset:ClusterRoleBinding impersonator",
        "identity:User alice",
    );
    assert_eq!(f[0].object, "ClusterRoleBinding impersonator");
    assert_eq!((f[0].source.as_str(), f[0].line), (src.as_str(), 10));
    assert_eq!(
        (f[1].object.as_str(), f[1].path.as_str()),
        ("ClusterRole impersonator", "rules[0]")
    );
    assert_eq!(f[1].line, 1);
    one(
        &g,
        EdgeKind::PERMISSION_DISCOVER,
        "identity:User mallory",
        "permissionset:ClusterRoleBinding impersonator",
    );
}

#[test]
fn permission_discover() {
    let (g, _) = fixture("PERMISSION_DISCOVER");
    let f = one(
        &g,
        EdgeKind::PERMISSION_DISCOVER,
        "identity:ServiceAccount attacks/worker",
        "permissionset:RoleBinding attacks/reader",
    );
    assert_eq!(
        fact(&f[0]),
        (
            "RoleBinding attacks/reader",
            "subjects",
            9,
            "binds Role attacks/reader"
        )
    );
}

#[test]
fn pod_attach() {
    let (g, _) = fixture("POD_ATTACH");
    one(&g, EdgeKind::POD_ATTACH, "node", "pod:attacks/anypod[Pod]");
}

#[test]
fn pod_create() {
    let (g, _) = fixture("POD_CREATE");
    let f = one(
        &g,
        EdgeKind::POD_CREATE,
        "permissionset:RoleBinding attacks/deployer",
        "node",
    );
    assert_eq!(f[0].rule, "create pods in attacks");
    assert_eq!((f[1].path.as_str(), f[1].line), ("rules[0]", 1));
    assert!(f[2].rule.contains("Pod Security not enforced"));
}

#[test]
fn pod_create_is_cut_by_pod_security_baseline() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/POD_CREATE.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: attacks\n  labels: {pod-security.kubernetes.io/enforce: baseline}\n");
    let loaded = palisade_model::load_bytes(
        text.as_bytes(),
        palisade_model::Source::Stdin,
        &LoadOptions::default(),
    );
    let built = build(&Inputs {
        objects: &loaded.objects,
        ..Inputs::default()
    });
    assert!(edges(&built.graph, EdgeKind::POD_CREATE).is_empty());
}

#[test]
fn pod_exec() {
    let (g, _) = fixture("POD_EXEC");
    let f = one(
        &g,
        EdgeKind::POD_EXEC,
        "permissionset:RoleBinding attacks/exec",
        "pod:attacks/target[Pod]",
    );
    assert_eq!(f[0].rule, "exec into pods in attacks");
    assert_eq!(f[1].rule, "create pods/exec (apiGroups \"\")");
    assert!(edges(&g, EdgeKind::POD_PATCH).is_empty());
}

#[test]
fn pod_patch() {
    let (g, _) = fixture("POD_PATCH");
    let f = one(
        &g,
        EdgeKind::POD_PATCH,
        "permissionset:RoleBinding attacks/patcher",
        "pod:attacks/target[Pod]",
    );
    assert_eq!(f[1].rule, "patch pods (apiGroups \"\")");
    assert!(edges(&g, EdgeKind::POD_EXEC).is_empty());
}

#[test]
fn role_bind() {
    let (g, _) = fixture("ROLE_BIND");
    let f = one(
        &g,
        EdgeKind::ROLE_BIND,
        "permissionset:RoleBinding attacks/binder",
        "permissionset:RoleBinding attacks/secret-admin",
    );
    assert_eq!(f[0].rule, "bind Role attacks/secret-admin to itself");
    assert_eq!(f[1].path, "rules[0]");
}

#[test]
fn share_ps_namespace() {
    let (g, _) = fixture("SHARE_PS_NAMESPACE");
    let e = edges(&g, EdgeKind::SHARE_PS_NAMESPACE);
    let pairs: Vec<(&str, &str)> = e.iter().map(|x| (x.0.as_str(), x.1.as_str())).collect();
    assert_eq!(
        pairs,
        [
            (
                "container:attacks/shared[Pod]/app",
                "container:attacks/shared[Pod]/sidecar"
            ),
            (
                "container:attacks/shared[Pod]/sidecar",
                "container:attacks/shared[Pod]/app"
            ),
        ]
    );
    assert_eq!(
        fact(&e[0].2[0]),
        (
            "Pod attacks/shared",
            "spec.shareProcessNamespace",
            6,
            "PAL116"
        )
    );
}

#[test]
fn token_bruteforce() {
    let (g, _) = fixture("TOKEN_BRUTEFORCE");
    let f = one(
        &g,
        EdgeKind::TOKEN_BRUTEFORCE,
        "permissionset:RoleBinding attacks/getter",
        "identity:ServiceAccount attacks/deployer",
    );
    assert_eq!(
        f[0].rule,
        "get secrets in attacks (token Secret deployer-token)"
    );
    assert!(edges(&g, EdgeKind::TOKEN_LIST).is_empty());
}

#[test]
fn token_list() {
    let (g, _) = fixture("TOKEN_LIST");
    let f = one(
        &g,
        EdgeKind::TOKEN_LIST,
        "permissionset:RoleBinding attacks/lister",
        "identity:ServiceAccount attacks/deployer",
    );
    assert_eq!(f[1].rule, "list secrets (apiGroups \"\")");
    assert!(edges(&g, EdgeKind::TOKEN_BRUTEFORCE).is_empty());
}

#[test]
fn token_steal() {
    let (g, _) = fixture("TOKEN_STEAL");
    let f = one(
        &g,
        EdgeKind::TOKEN_STEAL,
        "volume:attacks/steal[Pod]/service-account-token",
        "identity:ServiceAccount attacks/worker",
    );
    assert_eq!(f[0].rule, "PAL106");
}

#[test]
fn volume_discover() {
    let (g, _) = fixture("VOLUME_DISCOVER");
    let f = one(
        &g,
        EdgeKind::VOLUME_DISCOVER,
        "container:attacks/hostwrite[Pod]/app",
        "volume:attacks/hostwrite[Pod]/etc",
    );
    assert_eq!(f[0].rule, "PSS104");
}

#[test]
fn volume_access() {
    let (g, _) = fixture("VOLUME_ACCESS");
    one(
        &g,
        EdgeKind::VOLUME_ACCESS,
        "node",
        "volume:attacks/hostwrite[Pod]/etc",
    );
}

#[test]
fn every_kubehound_attack_has_a_fixture() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for info in palisade_paths::CATALOG {
        if info.origin == palisade_paths::graph::Origin::KubeHound {
            assert!(
                dir.join(format!("{}.yaml", info.kind)).exists(),
                "{} has no fixture",
                info.kind
            );
        }
    }
}
