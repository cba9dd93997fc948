//! kube-bench check files: the loader on files written in that format, every compare op,
//! `bin_op`, `set: false`, manual/skip types, audit/audit_config/audit_env, and commands
//! answered natively or run only with an executor (`--allow-exec`).

use palisade_node::component::{discover, Profile};
use palisade_node::kubebench::{load, variables, Runner};
use palisade_node::{Root, Status};
use std::collections::BTreeMap;
use std::path::Path;

fn fixture() -> (tempfile::TempDir, Root) {
    let tmp = tempfile::tempdir().unwrap();
    palisade_node::testing::copy_tree(
        &palisade_node::testing::fixture_dir("kubeadm-hardened"),
        tmp.path(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        tmp.path().join("var/lib/kubelet/config.yaml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("etc/kubelet.env"),
        "KUBELET_EXTRA=--v=2 --max-pods=110\n",
    )
    .unwrap();
    let root = Root::new(tmp.path());
    (tmp, root)
}

fn file(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/kube-bench")
            .join(name),
    )
    .unwrap()
}

fn statuses(results: &[palisade_node::kubebench::KbResult]) -> BTreeMap<String, Status> {
    results.iter().map(|r| (r.id.clone(), r.status)).collect()
}

#[test]
fn every_op_without_exec() {
    let (controls, diags) = load(&file("node-custom.yaml"), "node-custom.yaml");
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(controls.groups[0].checks.len(), 14);
    let (_tmp, root) = fixture();
    let disc = discover(&root, Profile::Kubeadm);
    let (procs, _) = root.processes();
    let mut runner = Runner {
        root: &root,
        processes: procs,
        vars: variables(&root, &disc, Profile::Kubeadm),
        exec: None,
    };
    let results = runner.run(&controls);
    let st = statuses(&results);
    let want = [
        ("9.1.1", Status::Pass), // flag absent from ps: the config path decides (false)
        ("9.1.2", Status::Pass), // Webhook != AlwaysAllow
        ("9.1.3", Status::Pass), // 5 >= 5 and 5 < 100
        ("9.1.4", Status::Pass), // 4096 > 1024 and <= 4096
        ("9.1.5", Status::Pass), // all four suites allowed
        ("9.1.6", Status::Pass), // the config file was set to 600 above
        ("9.1.7", Status::Pass), // root:root (tests run as root) or File not found
        ("9.1.8", Status::Pass), // 10.0.0.10 and /etc/kubernetes/kubelet.conf
        ("9.1.9", Status::Pass), // no --hostname-override; no tmp in the bootstrap path
        ("9.1.10", Status::Warn), // not scored
        ("9.1.11", Status::Warn), // manual
        ("9.1.12", Status::Info), // skip
        ("9.1.13", Status::Warn), // a shell pipeline is not run without --allow-exec
        ("9.1.14", Status::Pass), // answered natively by `cat`
    ];
    let want: BTreeMap<String, Status> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(st, want);
    let r = results.iter().find(|r| r.id == "9.1.13").unwrap();
    assert!(r.actual.contains("--allow-exec"), "{}", r.actual);
    let r = results.iter().find(|r| r.id == "9.1.3").unwrap();
    assert_eq!(
        r.expected,
        "'{.eventRecordQPS}' gte '5' AND '{.eventRecordQPS}' lt '100'"
    );
}

#[test]
fn failing_values_fail_every_op() {
    // The misconfigured kubelet config (AlwaysAllow, anonymous on, no suites) through the
    // same file, by pointing $kubeletconf at it.
    let (controls, _) = load(&file("node-custom.yaml"), "node-custom.yaml");
    let (_tmp, root) = fixture();
    std::fs::write(
        root.dir().join("var/lib/kubelet/config.yaml"),
        "authentication: {anonymous: {enabled: true}}\nauthorization: {mode: AlwaysAllow}\neventRecordQPS: 100\npodPidsLimit: 100\ntlsCipherSuites: [TLS_RSA_WITH_RC4_128_SHA]\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        root.dir().join("var/lib/kubelet/config.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let disc = discover(&root, Profile::Kubeadm);
    let (procs, _) = root.processes();
    let mut runner = Runner {
        root: &root,
        processes: procs,
        vars: variables(&root, &disc, Profile::Kubeadm),
        exec: None,
    };
    let st = statuses(&runner.run(&controls));
    for id in ["9.1.1", "9.1.2", "9.1.3", "9.1.4", "9.1.5", "9.1.6"] {
        assert_eq!(st[id], Status::Fail, "{id}");
    }
}

#[test]
fn audit_commands_run_only_through_the_executor() {
    let (controls, _) = load(&file("node-custom.yaml"), "node-custom.yaml");
    let (_tmp, root) = fixture();
    let disc = discover(&root, Profile::Kubeadm);
    let mut ran = Vec::new();
    let mut exec = |cmd: &str| -> Result<String, String> {
        ran.push(cmd.to_string());
        Ok("root 105 1 0 kubelet --config=/var/lib/kubelet/config.yaml".to_string())
    };
    let mut runner = Runner {
        root: &root,
        processes: Vec::new(),
        vars: variables(&root, &disc, Profile::Kubeadm),
        exec: Some(&mut exec),
    };
    let st = statuses(&runner.run(&controls));
    assert_eq!(st["9.1.13"], Status::Pass);
    drop(runner);
    assert!(
        ran.iter()
            .any(|c| c == "/bin/sh -c 'ps -ef | grep kubelet'"),
        "{ran:?}"
    );
    assert!(
        ran.iter().any(|c| c == "cat /var/lib/kubelet/config.yaml"),
        "variables substituted: {ran:?}"
    );
    let vars = variables(&root, &disc, Profile::Kubeadm);
    assert_eq!(
        vars["kubeletsvc"],
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
    );
    assert_eq!(vars["etcddatadir"], "/var/lib/etcd");
    assert_eq!(
        vars["apiserverconf"],
        "/etc/kubernetes/manifests/kube-apiserver.yaml"
    );
    assert_eq!(vars["kubeletconf"], "/var/lib/kubelet/config.yaml");
}

#[test]
fn broken_files_are_diagnosed_with_lines_and_the_rest_loads() {
    let (controls, diags) = load(&file("broken.yaml"), "broken.yaml");
    let msgs: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    assert!(
        msgs[0].starts_with("broken.yaml:6:") && msgs[0].contains("without an `id`"),
        "{msgs:?}"
    );
    assert!(msgs[1].contains("bin_op \"xor\""), "{msgs:?}");
    assert!(
        msgs[2].contains("unknown compare op \"approx\""),
        "{msgs:?}"
    );
    assert!(msgs[3].contains("invalid regex"), "{msgs:?}");
    assert_eq!(controls.groups[0].checks.len(), 1);
    let (c, d) = load("not: [a kube-bench file", "x.yaml");
    assert!(c.groups.is_empty() && d[0].to_string().starts_with("x.yaml:"));
}
