//! The node parsers must never panic: the bytes are read as a /proc cmdline (then as flags),
//! a kube-bench check file (then evaluated against an empty root, without exec), an audit
//! policy, an EncryptionConfiguration, a Corefile, a kubelet config and a version string.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_node::component::{lookup, parse_tree, ConfigState};
use palisade_node::flags::{feature_gates, go_duration_secs, parse_cmdline, Flags};
use palisade_node::{audit_policy, corefile, encryption, eol, kubebench, Root};

fuzz_target!(|data: &[u8]| {
    let args = parse_cmdline(data);
    let f = Flags::parse(&args);
    for a in args.iter().take(8) {
        let _ = f.get(a.trim_start_matches('-'));
        let _ = feature_gates(a);
        let _ = go_duration_secs(a);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (controls, _) = kubebench::load(text, "fuzz.yaml");
    let root = Root::new("/nonexistent-fuzz-root");
    let mut runner = kubebench::Runner {
        root: &root,
        processes: Vec::new(),
        vars: Default::default(),
        exec: None,
    };
    let _ = runner.run(&controls);
    let mut diags = Vec::new();
    if let ConfigState::Loaded(tree) = parse_tree(text, "fuzz.yaml", &mut diags) {
        let _ = audit_policy::analyze(&tree);
        let _ = encryption::analyze(&tree);
        let _ = lookup(&tree, "authentication.anonymous.enabled");
    }
    let _ = corefile::analyze(text);
    let _ = eol::check(text, 20_000);
});
