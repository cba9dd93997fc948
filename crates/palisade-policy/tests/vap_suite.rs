//! The native ValidatingAdmissionPolicy test format (`vap::suite::run_suite`).

use std::path::{Path, PathBuf};

use palisade_policy::suite::{CaseStatus, SuiteReport};
use palisade_policy::vap::suite::run_suite;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("palisade-vap-suite-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const POLICY: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: require-team}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
  - expression: "has(object.metadata.labels) && params.data.label in object.metadata.labels"
    messageExpression: "'must have a ' + params.data.label + ' label'"
  - expression: "request.operation != 'UPDATE' || oldObject.metadata.labels[params.data.label] == object.metadata.labels[params.data.label]"
    message: the team cannot change
  - expression: "authorizer.group('apps').resource('deployments').namespace(object.metadata.namespace).check('patch').allowed()"
    message: only deployers may create deployments
  auditAnnotations:
  - {key: team, valueExpression: "object.metadata.?labels[?params.data.label].orValue('')"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: require-team}
spec:
  policyName: require-team
  validationActions: [Deny]
  paramRef: {name: team-label, namespace: config, parameterNotFoundAction: Deny}
"#;

const RESOURCES: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: team-label, namespace: config}
data: {label: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deployer}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deployer}
subjects: [{kind: Group, name: deployers}]
"#;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod, labels: {team: a}}
spec: {replicas: 1}
"#;

fn statuses(r: &SuiteReport) -> Vec<(String, CaseStatus, String)> {
    r.cases
        .iter()
        .map(|c| (c.case.clone(), c.status, c.detail.clone()))
        .collect()
}

fn suite(dir: &Dir, cases: &str) -> PathBuf {
    dir.write("policy.yaml", POLICY);
    dir.write("resources.yaml", RESOURCES);
    dir.write("deployment.yaml", DEPLOYMENT);
    dir.write(
        "suite.yaml",
        &format!(
            "apiVersion: palisade.dev/v1alpha1\nkind: PolicyTest\nmetadata: {{name: team}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nauthorizer: rbac\ncases:\n{cases}"
        ),
    )
}

#[test]
fn passing_and_failing_cases() {
    let dir = Dir::new("basic");
    let path = suite(
        &dir,
        r#"
- name: a deployer creates a labelled deployment
  object: deployment.yaml
  userInfo: {username: alice, groups: [deployers]}
  expect:
    allowed: true
    messages: []
    auditAnnotations: {team: "^a$"}
- name: an unlabelled deployment is denied
  object:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: x, namespace: prod}
  userInfo: {username: alice, groups: [deployers]}
  expect:
    allowed: false
    messages: ["must have a team label"]
- name: a non-deployer is denied
  object: deployment.yaml
  expect:
    allowed: false
    messages: ["^only deployers"]
- name: changing the team on update is denied
  oldObject: deployment.yaml
  object:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: prod, labels: {team: b}}
  userInfo: {username: alice, groups: [deployers]}
  expect: {allowed: false, messages: ["cannot change"], warnings: []}
- name: a wrong expectation fails
  object: deployment.yaml
  userInfo: {username: alice, groups: [deployers]}
  expect: {allowed: false, messages: ["nope"]}
- name: pending
  object: deployment.yaml
  skip: not yet
  expect: {allowed: true}
- name: broken case
  expect: {allowed: true}
"#,
    );
    let r = run_suite(&path);
    let s = statuses(&r);
    assert_eq!(s.len(), 7, "{s:#?}");
    for (i, (name, status, detail)) in s.iter().enumerate().take(4) {
        assert_eq!(*status, CaseStatus::Pass, "case {i} {name}: {detail}");
    }
    assert_eq!(s[4].1, CaseStatus::Fail);
    assert!(
        s[4].2.contains("expected the request to be denied"),
        "{}",
        s[4].2
    );
    assert!(
        s[4].2.contains("expected a deny message matching /nope/"),
        "{}",
        s[4].2
    );
    assert_eq!((s[5].1, s[5].2.as_str()), (CaseStatus::Skip, "not yet"));
    assert_eq!(s[6].1, CaseStatus::Error);
    assert!(!r.ok());
    assert_eq!(r.passed(), 4);
    assert!(r.cases.iter().all(|c| c.test == "team"));
}

#[test]
fn load_problems_are_reported() {
    let dir = Dir::new("broken");
    dir.write("deployment.yaml", DEPLOYMENT);
    dir.write(
        "policy.yaml",
        &POLICY.replace(
            "params.data.label in object.metadata.labels",
            "params.data.label in",
        ),
    );
    dir.write("resources.yaml", RESOURCES);
    let path = dir.write(
        "suite.yaml",
        "kind: PolicyTest\napiVersion: palisade.dev/v1alpha1\npolicies: [policy.yaml, missing.yaml]\nresources: [resources.yaml]\ncases:\n- object: deployment.yaml\n  expect: {allowed: false}\n",
    );
    let r = run_suite(&path);
    let load = r
        .cases
        .iter()
        .find(|c| c.case == "<load>")
        .expect("a load result");
    assert_eq!(load.status, CaseStatus::Error);
    assert!(load.detail.contains("missing.yaml"), "{}", load.detail);
    assert!(
        load.detail.contains("spec.validations[0].expression"),
        "{}",
        load.detail
    );
    // The cases still run: the broken expression denies under failurePolicy Fail.
    let case = r
        .cases
        .iter()
        .find(|c| c.case == "case 1")
        .expect("the case");
    assert_eq!(case.status, CaseStatus::Pass, "{}", case.detail);
}

#[test]
fn unreadable_suites_are_errors() {
    let dir = Dir::new("empty");
    let r = run_suite(&dir.write(
        "suite.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    ));
    assert_eq!(r.cases.len(), 1);
    assert_eq!(r.cases[0].status, CaseStatus::Error);
    let r = run_suite(Path::new("/nonexistent/suite.yaml"));
    assert_eq!(r.cases[0].status, CaseStatus::Error);
    let r = run_suite(&dir.write(
        "bad.yaml",
        "kind: PolicyTest\napiVersion: x/v1\npolicies: 3\ncases: {}\n",
    ));
    assert!(
        r.cases.iter().all(|c| c.status == CaseStatus::Error),
        "{:?}",
        r.cases
    );
}
