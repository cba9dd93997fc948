//! RBAC analysis must never panic, whatever the objects or the audit log: the bytes are
//! read both as manifests (then every analysis runs) and as an audit log (then generate).
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_rbac::generate::{generate, read_audit_log, GenerateOptions};
use palisade_rbac::paths::{paths, PathOptions};
use palisade_rbac::risks::{risks, RiskOptions};
use palisade_rbac::{bootstrap, BuildOptions, Rbac, Request, Subject, UserInfo};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(data, Source::Stdin, &LoadOptions::default());
    let rbac = Rbac::build(
        &loaded.objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    );
    let _ = risks(&rbac, &RiskOptions { include_defaults: true });
    let _ = paths(&rbac, &PathOptions { include_defaults: true });
    let subjects: Vec<Subject> = rbac.subjects().cloned().collect();
    for s in subjects.iter().take(20) {
        let _ = rbac.permissions(&UserInfo::of(s, &[]), None);
    }
    let _ = rbac.who_can(&Request::resource("get", "", "secrets"), true);
    if let Ok(text) = std::str::from_utf8(data) {
        let (reqs, _) = read_audit_log("fuzz", text);
        if let Some(r) = reqs.first() {
            if let Ok(subject) = Subject::parse(&r.user) {
                let _ = generate(
                    &reqs,
                    &GenerateOptions {
                        subject,
                        name: "x".into(),
                        include_denied: true,
                    },
                );
            }
        }
    }
});
