//! The fixture node filesystems, every control's result on each.
//!
//! Git keeps no modes or owners, so each test copies its fixture into a temporary directory
//! and applies the table below: every file 600, every directory 700, owner root:root, then
//! the fixture's own exceptions. (The tests run as root in CI, which `chown` needs.)
//!
//! The expected result of every control is in `tests/expected/<fixture>-<benchmark>.txt`
//! (one `ID STATUS` line per control). `UPDATE_EXPECTED=1` rewrites them; review the diff.

use palisade_model::LoadOptions;
use palisade_node::catalog::{Benchmark, Kind};
use palisade_node::testing::{self, Layout};
use palisade_node::{Options, Profile, Root, Status};
use std::collections::BTreeMap;
use std::path::Path;

struct Fixture {
    name: &'static str,
    profile: Profile,
    layout: Layout<'static>,
}

const HARDENED: Fixture = Fixture {
    name: "kubeadm-hardened",
    profile: Profile::Kubeadm,
    layout: testing::HARDENED,
};

const MISCONFIGURED: Fixture = Fixture {
    name: "kubeadm-misconfigured",
    profile: Profile::Kubeadm,
    layout: Layout {
        modes: &[
            ("/etc/kubernetes/admin.conf", 0o644),
            ("/var/lib/etcd", 0o755),
            ("/opt/kubelet/custom-config.yaml", 0o644),
        ],
        owners: &[
            ("/var/lib/etcd", 1001, 1001),
            ("/etc/kubernetes/scheduler.conf", 1000, 1000),
        ],
    },
};

const K3S: Fixture = Fixture {
    name: "k3s",
    profile: Profile::K3s,
    layout: Layout {
        modes: &[],
        owners: &[],
    },
};

const EKS: Fixture = Fixture {
    name: "eks",
    profile: Profile::Eks,
    layout: Layout {
        modes: &[],
        owners: &[],
    },
};

/// A copy of the fixture with its modes and owners.
fn setup(f: &Fixture) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    testing::install(f.name, tmp.path(), f.layout)
        .expect("install the fixture (chown needs root, as CI runs)");
    tmp
}

fn run(f: &Fixture, b: Benchmark) -> (palisade_node::NodeRun, tempfile::TempDir) {
    let tmp = setup(f);
    let cluster = tmp.path().join("cluster");
    let loaded = cluster
        .exists()
        .then(|| palisade_model::load_paths(&[cluster], &LoadOptions::default()));
    let opts = Options {
        profile: f.profile,
        benchmark: b,
        kubernetes_version: None,
        today: Some(palisade_node::analysis::days_from_civil(2026, 12, 3)),
    };
    let run = palisade_node::run(
        &Root::new(tmp.path()),
        &opts,
        loaded.as_ref().map(|l| l.objects.as_slice()),
    );
    (run, tmp)
}

fn table(run: &palisade_node::NodeRun) -> String {
    run.results
        .iter()
        .map(|r| format!("{} {}\n", r.check.id, r.status.as_str().replace(' ', "_")))
        .collect()
}

fn statuses(run: &palisade_node::NodeRun) -> BTreeMap<&'static str, Status> {
    run.results.iter().map(|r| (r.check.id, r.status)).collect()
}

fn check_table(f: &Fixture, b: Benchmark) -> palisade_node::NodeRun {
    let (run, _tmp) = run(f, b);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/expected/{}-{}.txt",
        f.name,
        b.as_str()
    ));
    let have = table(&run);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &have).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != have {
        let w: Vec<&str> = want.lines().collect();
        let h: Vec<&str> = have.lines().collect();
        let diff: Vec<String> = h
            .iter()
            .filter(|l| !w.contains(l))
            .map(|l| format!("+ {l}"))
            .chain(
                w.iter()
                    .filter(|l| !h.contains(l))
                    .map(|l| format!("- {l}")),
            )
            .collect();
        panic!(
            "{} {} differs from {}:\n{}",
            f.name,
            b.as_str(),
            path.display(),
            diff.join("\n")
        );
    }
    run
}

#[test]
fn hardened_node_passes_every_automated_control() {
    for b in Benchmark::ALL {
        let run = check_table(&HARDENED, b);
        for r in &run.results {
            if r.kind == Kind::Automated {
                assert_eq!(
                    r.status,
                    Status::Pass,
                    "{} {:?}: {:?}",
                    r.check.id,
                    b,
                    r.evidence
                );
            }
            // Manual controls pass when they can be judged, and are WARN only when they
            // cannot be decided from the node or the manifests.
            if r.status == Status::Warn {
                assert!(
                    r.problems.is_empty() && r.evidence.iter().all(|e| e.starts_with("manual:")),
                    "{} {:?}",
                    r.check.id,
                    r.evidence
                );
            }
        }
        assert!(run.extras.is_empty(), "{:?}", run.extras);
        assert!(run.diagnostics.is_empty(), "{:?}", run.diagnostics);
    }
}

#[test]
fn misconfigured_node_fails_exactly_what_its_changes_break() {
    // Each change in generate.py / the mode table, and the controls it must break.
    use Status::{Fail, Pass, Warn};
    // (control, status under v1.10, under v1.12): Automated controls FAIL, Manual ones WARN.
    let broken: &[(&str, Status, Status)] = &[
        ("CIS-1.1.11", Fail, Fail), // etcd data dir 755
        ("CIS-1.1.13", Fail, Fail), // admin.conf 644
        ("CIS-1.1.16", Fail, Fail), // scheduler.conf owned by node:node
        ("CIS-1.2.1", Warn, Warn),  // --anonymous-auth removed: default true
        ("CIS-1.2.3", Warn, Warn),  // DenyServiceExternalIPs dropped from the plugins
        ("CIS-1.2.9", Warn, Warn),  // EventRateLimit dropped
        ("CIS-1.2.10", Fail, Fail), // AlwaysAdmit added
        ("CIS-1.2.11", Warn, Warn), // AlwaysPullImages dropped
        ("CIS-1.2.15", Fail, Fail), // --profiling removed: default true
        ("CIS-1.2.28", Warn, Warn), // identity first in the EncryptionConfiguration
        ("CIS-1.3.7", Fail, Fail),  // controller manager bound to 0.0.0.0
        ("CIS-2.2", Fail, Fail),    // etcd --client-cert-auth=false
        ("CIS-3.2.2", Warn, Warn),  // audit policy logs Secret bodies, skips exec
        ("CIS-4.1.9", Fail, Fail),  // the kubelet's --config file is 644
        ("CIS-4.2.1", Fail, Fail),  // anonymous auth on in the non-default --config file
        ("CIS-4.2.2", Fail, Fail),  // AlwaysAllow in that file
        ("CIS-4.2.4", Pass, Pass),  // (unchanged: --read-only-port=0 wins over its 10255)
        ("CIS-4.2.6", Fail, Fail),  // --make-iptables-util-chains=false over the file's true
        ("CIS-4.2.9", Warn, Warn),  // no tlsCertFile/tlsPrivateKeyFile in that file
        ("CIS-4.2.12", Warn, Warn), // no tlsCipherSuites in that file
        ("CIS-4.2.14", Warn, Warn), // no seccompDefault in that file (v1.12 only)
        // The manifests: a ClusterRole bound to a user that creates PersistentVolumes and
        // approves CSRs (palisade-rbac's RBAC017 and RBAC014)...
        ("CIS-5.1.9", Warn, Warn),
        ("CIS-5.1.11", Warn, Warn),
        // ...and a privileged Deployment with the default service account, in a namespace
        // without Pod Security labels or network policies.
        ("CIS-5.1.5", Fail, Warn),
        ("CIS-5.1.6", Fail, Warn),
        ("CIS-5.2.1", Warn, Warn),
        ("CIS-5.2.2", Warn, Warn),
        ("CIS-5.2.6", Warn, Warn),
        ("CIS-5.2.7", Warn, Warn),
        ("CIS-5.2.8", Warn, Warn),
        ("CIS-1.10-5.2.9", Warn, Warn), // added capabilities (v1.10 only)
        ("CIS-5.3.2", Warn, Warn),
        ("CIS-5.6.2", Warn, Warn), // seccomp (5.7.2 in v1.10)
    ];
    for b in Benchmark::ALL {
        let good = statuses(&run(&HARDENED, b).0);
        let bad_run = check_table(&MISCONFIGURED, b);
        let bad = statuses(&bad_run);
        let mut changed: Vec<(&str, Status)> = bad
            .iter()
            .filter(|(id, s)| good.get(*id) != Some(s))
            .map(|(id, s)| (*id, *s))
            .collect();
        changed.sort();
        let mut want: Vec<(&str, Status)> = broken
            .iter()
            .map(|(id, s10, s12)| (*id, if b == Benchmark::Cis110 { *s10 } else { *s12 }))
            .filter(|(id, s)| good.contains_key(id) && good.get(id) != Some(s))
            .collect();
        want.sort();
        assert_eq!(changed, want, "{b:?}");
        // The read-only port: config says 10255, the flag says 0, the flag wins.
        let r = bad_run
            .results
            .iter()
            .find(|r| r.check.id == "CIS-4.2.4")
            .unwrap();
        assert_eq!(r.status, Status::Pass);
        assert!(
            r.evidence[0].contains("--read-only-port=0 (flag"),
            "{:?}",
            r.evidence
        );
        // The non-default --config is the file read (the decoy at the default path is not).
        let r = bad_run
            .results
            .iter()
            .find(|r| r.check.id == "CIS-4.2.2")
            .unwrap();
        assert!(
            r.evidence[0].contains("/opt/kubelet/custom-config.yaml"),
            "{:?}",
            r.evidence
        );
        // Findings carry file and line: the manifest line of the flag, the config key's line.
        let rep = palisade_node::report::to_report(&bad_run, &[], "test");
        let f = rep
            .findings
            .iter()
            .find(|f| f.check == "CIS-1.3.7")
            .unwrap();
        assert_eq!(
            (f.source.as_str(), f.line),
            ("/etc/kubernetes/manifests/kube-controller-manager.yaml", 16)
        );
        let f = rep
            .findings
            .iter()
            .find(|f| f.check == "CIS-4.2.2")
            .unwrap();
        assert_eq!(
            (f.source.as_str(), f.line, f.path.as_str()),
            ("/opt/kubelet/custom-config.yaml", 9, "authorization.mode")
        );
        // The analyses: audit policy, encryption, Corefile, metadata reachability.
        let mut ids: Vec<&str> = bad_run.extras.iter().map(|e| e.issue.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids,
            [
                "AUD001", "AUD002", "AUD003", "DNS001", "DNS002", "DNS003", "DNS004", "ENC001",
                "EOL001", "MD001"
            ]
        );
    }
}

#[test]
fn k3s_reads_the_one_process_and_its_config_file() {
    for b in Benchmark::ALL {
        let run = check_table(&K3S, b);
        let st = statuses(&run);
        // No etcd (the default datastore): its controls are "not found", never pass or fail.
        for id in ["CIS-2.1", "CIS-2.2", "CIS-1.1.11", "CIS-1.1.12"] {
            assert_eq!(st[id], Status::NotFound, "{id}");
        }
        // k3s has no static pod manifests.
        assert_eq!(st["CIS-1.1.1"], Status::Info);
        // Built-in k3s arguments, and arguments from config.yaml and the command line.
        let r = run
            .results
            .iter()
            .find(|r| r.check.id == "CIS-1.2.15")
            .unwrap();
        assert!(r.evidence[0].contains("k3s built-in"), "{:?}", r.evidence);
        assert_eq!(st["CIS-1.2.17"], Status::Pass);
        assert_eq!(st["CIS-1.2.16"], Status::Pass);
        // aescbc first: Secrets are encrypted, with a weaker mode (ENC003), not a failure.
        assert_eq!(st["CIS-1.2.28"], Status::Pass);
        assert!(run.extras.iter().any(|e| e.issue.id == "ENC003"));
    }
}

#[test]
fn eks_skips_the_managed_control_plane() {
    for b in Benchmark::ALL {
        let run = check_table(&EKS, b);
        for r in &run.results {
            if matches!(r.check.section(), "1" | "2" | "3") {
                assert_eq!(r.status, Status::Info, "{}", r.check.id);
                assert!(r.evidence[0].contains("managed by Amazon EKS"));
            }
        }
        let st = statuses(&run);
        assert_eq!(st["CIS-4.2.1"], Status::Pass); // from the JSON --config
        assert_eq!(st["CIS-4.3.1"], Status::Fail); // metricsBindAddress 0.0.0.0:10249
    }
}

#[test]
fn a_missing_config_file_says_what_it_assumed() {
    let tmp = setup(&HARDENED);
    std::fs::remove_file(tmp.path().join("var/lib/kubelet/config.yaml")).unwrap();
    let opts = Options {
        profile: Profile::Kubeadm,
        benchmark: Benchmark::Cis112,
        kubernetes_version: None,
        today: None,
    };
    let run = palisade_node::run(&Root::new(tmp.path()), &opts, None);
    let r = run
        .results
        .iter()
        .find(|r| r.check.id == "CIS-4.2.1")
        .unwrap();
    assert_eq!(r.status, Status::Fail);
    assert!(r.evidence[0].contains("default assumed: config file /var/lib/kubelet/config.yaml (from --config) does not exist"), "{:?}", r.evidence);
    let r = run
        .results
        .iter()
        .find(|r| r.check.id == "CIS-4.1.9")
        .unwrap();
    assert_eq!(r.status, Status::NotFound);
}
