//! The analyses on real-shaped files: the bundled examples (examples/node/) and the
//! fixtures' audit policies and EncryptionConfigurations.

use palisade_node::component::{parse_tree, ConfigState};
use palisade_node::{audit_policy, corefile, encryption};
use std::path::Path;

fn read(p: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)).unwrap()
}

fn tree(p: &str) -> palisade_model::Node {
    let mut d = Vec::new();
    match parse_tree(&read(p), p, &mut d) {
        ConfigState::Loaded(t) => t,
        other => panic!("{p}: {other:?} {d:?}"),
    }
}

fn ids(issues: &[palisade_node::analysis::Issue]) -> Vec<(&'static str, u32)> {
    issues.iter().map(|i| (i.id, i.line)).collect()
}

#[test]
fn audit_policy_with_the_classic_mistakes() {
    let i = audit_policy::analyze(&tree("examples/node/audit-policy.yaml"));
    assert_eq!(
        ids(&i),
        [
            ("AUD002", 23),
            ("AUD002", 23),
            ("AUD002", 23),
            ("AUD001", 29),
            ("AUD001", 29),
            ("AUD001", 29),
            ("AUD001", 29)
        ]
    );
    // ConfigMaps are medium, credentials high.
    assert!(i
        .iter()
        .any(|x| x.message.starts_with("ConfigMaps")
            && x.severity == palisade_report::Severity::Medium));
    // The fixtures: hardened is clean, misconfigured has every kind of gap.
    assert!(audit_policy::analyze(&tree(
        "crates/palisade-node/tests/fixtures/kubeadm-hardened/etc/kubernetes/audit-policy.yaml"
    ))
    .is_empty());
    let bad = audit_policy::analyze(&tree("crates/palisade-node/tests/fixtures/kubeadm-misconfigured/etc/kubernetes/audit-policy.yaml"));
    assert_eq!(
        ids(&bad),
        [
            ("AUD002", 0),
            ("AUD002", 4),
            ("AUD002", 4),
            ("AUD001", 8),
            ("AUD003", 12)
        ]
    );
}

#[test]
fn encryption_configuration_half_way_through_a_migration() {
    let e = encryption::analyze(&tree("examples/node/encryption-config.yaml"));
    assert_eq!(ids(&e.issues), [("ENC001", 9)]);
    assert_eq!(e.entries.len(), 2);
    assert_eq!(e.entries[0].1, "identity (no encryption)");
    assert_eq!(e.entries[1].1, "kms v1 (deprecated)");
    let good = encryption::analyze(&tree("crates/palisade-node/tests/fixtures/kubeadm-hardened/etc/kubernetes/encryption-config.yaml"));
    assert!(good.issues.is_empty(), "{:?}", good.issues);
    // k3s writes JSON.
    let k3s = encryption::analyze(&tree("crates/palisade-node/tests/fixtures/k3s/var/lib/rancher/k3s/server/cred/encryption-config.json"));
    assert_eq!(
        k3s.issues.iter().map(|i| i.id).collect::<Vec<_>>(),
        ["ENC003"]
    );
}

#[test]
fn corefile_with_open_transfers_and_public_upstreams() {
    let (servers, i) = corefile::analyze(&read("examples/node/Corefile"));
    assert_eq!(servers.len(), 1);
    assert_eq!(
        ids(&i),
        [
            ("DNS003", 2),
            ("DNS004", 2),
            ("DNS001", 9),
            ("DNS001", 13),
            ("DNS002", 17),
            ("DNS002", 17)
        ]
    );
}

#[test]
fn every_parser_survives_mutations_of_the_real_files() {
    // Truncations and byte flips of every example and fixture config: no panics, and every
    // problem is an issue or a diagnostic (the fuzz target does the same, unbounded).
    let files = [
        "examples/node/audit-policy.yaml",
        "examples/node/encryption-config.yaml",
        "examples/node/Corefile",
        "crates/palisade-node/tests/kube-bench/node-custom.yaml",
        "crates/palisade-node/tests/fixtures/kubeadm-hardened/var/lib/kubelet/config.yaml",
    ];
    for f in files {
        let text = read(f);
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            for variant in [bytes[..cut].to_vec(), {
                let mut b = bytes.to_vec();
                b[cut] = b"{}[]:-\"'#\n\0"[cut % 11];
                b
            }] {
                let s = String::from_utf8_lossy(&variant);
                let mut d = Vec::new();
                if let ConfigState::Loaded(t) = parse_tree(&s, f, &mut d) {
                    let _ = audit_policy::analyze(&t);
                    let _ = encryption::analyze(&t);
                }
                let _ = corefile::analyze(&s);
                let _ = palisade_node::kubebench::load(&s, f);
                let _ = palisade_node::flags::Flags::parse(&palisade_node::flags::parse_cmdline(
                    &variant,
                ));
            }
        }
    }
}
