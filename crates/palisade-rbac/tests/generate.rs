//! `rbac generate`: the roles generated from an audit log allow exactly what the subject did:
//! every audited request of the subject is allowed by them, refused requests and requests
//! it never made are not.

use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_rbac::generate::{generate, read_audit_log, GenerateOptions};
use palisade_rbac::{BuildOptions, Rbac, Request, Subject, UserInfo};

fn log() -> (Vec<palisade_rbac::generate::AuditRequest>, Vec<String>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/audit.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let (reqs, errs) = read_audit_log("audit.jsonl", &text);
    (reqs, errs.iter().map(|e| e.to_string()).collect())
}

#[test]
fn reads_json_lines_and_event_lists_dedupes_stages_and_reports_bad_lines() {
    let (reqs, errs) = log();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("audit.jsonl:6: error: not valid JSON"),
        "{errs:?}"
    );
    // 16 events, one a second stage of id-1: 15 requests.
    assert_eq!(reqs.len(), 15);
    assert!(reqs.iter().any(|r| r.request.resource == "services"));
}

#[test]
fn generated_roles_allow_exactly_the_audited_requests() {
    let (reqs, _) = log();
    let subject = Subject::service_account("ci", "deployer");
    let gen = generate(
        &reqs,
        &GenerateOptions {
            subject: subject.clone(),
            name: "deployer-least-privilege".into(),
            include_denied: false,
        },
    );
    assert_eq!(gen.denied, 1);
    assert_eq!(gen.used, 13);
    let loaded = load_bytes(
        gen.yaml.as_bytes(),
        Source::File("generated.yaml".into()),
        &LoadOptions::default(),
    );
    assert_eq!(
        loaded.error_count(),
        0,
        "{:?}\n{}",
        loaded.diagnostics,
        gen.yaml
    );
    let rbac = Rbac::build(&loaded.objects, &BuildOptions { defaults: None });
    assert!(rbac.diagnostics.is_empty(), "{:?}", rbac.diagnostics);
    let user = UserInfo::of(&subject, &[]);
    for r in reqs.iter().filter(|r| r.user == subject.username()) {
        let refused = matches!(r.code, Some(403));
        assert_eq!(
            rbac.allowed(&user, &r.request),
            !refused,
            "{:?} at {}\n{}",
            r.request,
            r.at,
            gen.yaml
        );
    }
    // Nothing it did not do.
    let not_done = [
        Request::resource("delete", "apps", "deployments")
            .in_namespace("ci")
            .named("web"),
        Request::resource("get", "apps", "deployments")
            .in_namespace("ci")
            .named("api"),
        Request::resource("get", "", "configmaps")
            .in_namespace("ci")
            .named("c"),
        Request::resource("list", "", "pods").in_namespace("prod"),
        Request::resource("list", "", "secrets").in_namespace("ci"),
        Request::resource("get", "", "nodes").named("n1"),
        Request::resource("create", "", "pods/exec")
            .in_namespace("ci")
            .named("other"),
        Request::resource("update", "coordination.k8s.io", "leases")
            .in_namespace("kube-system")
            .named("other"),
        Request::non_resource("get", "/metrics"),
    ];
    for q in &not_done {
        assert!(
            !rbac.allowed(&user, q),
            "{q:?} should not be allowed\n{}",
            gen.yaml
        );
    }
    // Names are kept for single-object verbs, never for list/watch/create.
    assert!(
        gen.yaml.contains("resourceNames: [\"a\", \"b\"]"),
        "{}",
        gen.yaml
    );
    assert!(gen.yaml.contains("kind: ClusterRole\n"));
    assert!(gen.yaml.contains("namespace: \"kube-system\""));
}

#[test]
fn denied_requests_are_kept_when_asked() {
    let (reqs, _) = log();
    let subject = Subject::service_account("ci", "deployer");
    let gen = generate(
        &reqs,
        &GenerateOptions {
            subject,
            name: "x".into(),
            include_denied: true,
        },
    );
    assert_eq!(gen.denied, 0);
    assert!(gen.yaml.contains("\"secrets\""));
}
