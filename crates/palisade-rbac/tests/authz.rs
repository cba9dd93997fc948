//! Authorization answers for each rule of the RBAC authorizer, on the fixture
//! `fixtures/semantics.yaml`: what `kubectl auth can-i` answers on a real cluster.

mod common;

use common::{fixture, snapshot};

use palisade_model::{load_paths, Level, LoadOptions};
use palisade_rbac::bootstrap;
use palisade_rbac::{BuildOptions, Rbac, Request, Scope, Subject, UserInfo};

fn user(name: &str) -> UserInfo {
    UserInfo::of(&Subject::user(name), &[])
}

fn sa(ns: &str, name: &str) -> UserInfo {
    UserInfo::of(&Subject::service_account(ns, name), &[])
}

fn pods(verb: &str) -> Request {
    Request::resource(verb, "", "pods")
}

#[test]
fn role_binding_to_cluster_role_grants_only_in_its_namespace() {
    let r = snapshot("semantics.yaml");
    let alice = user("alice");
    assert!(r.allowed(&alice, &pods("get").in_namespace("shop")));
    assert!(r.allowed(&alice, &pods("list").in_namespace("shop")));
    assert!(!r.allowed(&alice, &pods("get").in_namespace("dev")));
    // Listing across all namespaces is a cluster-scoped request.
    assert!(!r.allowed(&alice, &pods("list")));
    assert!(!r.allowed(&alice, &pods("delete").in_namespace("shop")));
}

#[test]
fn grants_name_binding_role_and_rule() {
    let r = snapshot("semantics.yaml");
    let grants = r.authorize(&user("alice"), &pods("get").in_namespace("shop"));
    assert_eq!(grants.len(), 1);
    let text = r.describe_grant(&grants[0]);
    assert!(
        text.starts_with("RoleBinding shop/alice-pods → ClusterRole pod-reader rules[0]"),
        "{text}"
    );
}

#[test]
fn resource_names_limit_to_named_objects_and_never_match_list_or_create() {
    let r = snapshot("semantics.yaml");
    let alice = user("alice");
    let secret = || Request::resource("get", "", "secrets").in_namespace("shop");
    assert!(r.allowed(&alice, &secret().named("db-password")));
    assert!(!r.allowed(&alice, &secret().named("other")));
    assert!(!r.allowed(&alice, &secret()));
    assert!(!r.allowed(
        &alice,
        &Request::resource("list", "", "secrets").in_namespace("shop")
    ));
}

#[test]
fn cluster_role_binding_grants_cluster_scoped_and_every_namespace() {
    let r = snapshot("semantics.yaml");
    let bob = user("bob");
    assert!(r.allowed(&bob, &Request::resource("get", "", "nodes").named("n1")));
    assert!(r.allowed(&bob, &Request::resource("list", "", "nodes")));
    assert!(!r.allowed(&bob, &Request::resource("delete", "", "nodes").named("n1")));
}

#[test]
fn role_binding_never_grants_cluster_scoped_resources() {
    let r = snapshot("semantics.yaml");
    let carol = user("carol");
    assert!(!r.allowed(&carol, &Request::resource("get", "", "nodes").named("n1")));
    assert!(!r.allowed(&carol, &Request::resource("list", "", "nodes")));
}

#[test]
fn wildcard_subresource_and_group_wildcards() {
    let r = snapshot("semantics.yaml");
    let member = UserInfo::of(&Subject::user("gina"), &["devs".to_string()]);
    let scale = |g: &str, res: &str| Request::resource("update", g, res).in_namespace("dev");
    assert!(r.allowed(&member, &scale("apps", "deployments/scale")));
    assert!(r.allowed(&member, &scale("", "replicationcontrollers/scale")));
    // `*/scale` is the subresource only, never the resource itself.
    assert!(!r.allowed(&member, &scale("apps", "deployments")));
    // Not in the group: nothing.
    assert!(!r.allowed(&user("gina"), &scale("apps", "deployments/scale")));
}

#[test]
fn a_resource_does_not_cover_its_subresources() {
    let r = snapshot("semantics.yaml");
    let alice = user("alice");
    assert!(!r.allowed(
        &alice,
        &Request::resource("create", "", "pods/exec").in_namespace("shop")
    ));
    assert!(!r.allowed(
        &alice,
        &Request::resource("get", "", "pods/log").in_namespace("shop")
    ));
}

#[test]
fn service_account_subject_takes_the_role_binding_namespace() {
    let r = snapshot("semantics.yaml");
    let create = Request::resource("create", "apps", "deployments").in_namespace("ci");
    assert!(r.allowed(&sa("ci", "deployer"), &create));
    // The same name in another namespace is another account.
    assert!(!r.allowed(&sa("dev", "deployer"), &create.clone().in_namespace("dev")));
    assert!(!r.allowed(&sa("dev", "deployer"), &create));
    // The username form is the same principal.
    let by_name = UserInfo::of(
        &Subject::parse("system:serviceaccount:ci:deployer").unwrap(),
        &[],
    );
    assert!(r.allowed(&by_name, &create));
    // A user named like the account, without the prefix, is not it.
    assert!(!r.allowed(&user("deployer"), &create));
}

#[test]
fn implicit_service_account_groups() {
    let r = snapshot("semantics.yaml");
    let cm = Request::resource("get", "", "configmaps")
        .in_namespace("ci")
        .named("settings");
    assert!(r.allowed(&sa("ci", "anything"), &cm));
    assert!(!r.allowed(&sa("dev", "anything"), &cm.clone().in_namespace("dev")));
    assert!(!r.allowed(&user("alice"), &cm));
}

#[test]
fn non_resource_urls_exact_and_prefix_and_only_from_cluster_bindings() {
    let r = snapshot("semantics.yaml");
    let alice = user("alice");
    assert!(r.allowed(&alice, &Request::non_resource("get", "/healthz")));
    assert!(r.allowed(&alice, &Request::non_resource("get", "/logs/kubelet.log")));
    assert!(r.allowed(&alice, &Request::non_resource("get", "/logs/")));
    assert!(!r.allowed(&alice, &Request::non_resource("get", "/logs")));
    assert!(!r.allowed(&alice, &Request::non_resource("post", "/healthz")));
    assert!(!r.allowed(&alice, &Request::non_resource("get", "/healthz/etcd")));
}

#[test]
fn authenticated_and_unauthenticated_groups() {
    let r = snapshot("semantics.yaml");
    let anon = UserInfo::of(&Subject::user("system:anonymous"), &[]);
    assert!(anon.groups.contains(&"system:unauthenticated".to_string()));
    assert!(!anon.groups.contains(&"system:authenticated".to_string()));
    assert!(r.allowed(&anon, &Request::non_resource("get", "/healthz")));
    // Every service account is authenticated.
    assert!(r.allowed(&sa("ci", "x"), &Request::non_resource("get", "/healthz")));
}

#[test]
fn aggregated_cluster_role_gets_the_selected_roles_rules() {
    let r = snapshot("semantics.yaml");
    let dave = user("dave");
    assert!(r.allowed(
        &dave,
        &Request::resource("get", "", "pods/log").in_namespace("shop")
    ));
    assert!(!r.allowed(&dave, &pods("get").in_namespace("shop")));
}

#[test]
fn bindings_to_default_roles_resolve_from_the_chosen_version() {
    let r = snapshot("semantics.yaml");
    let erin = user("erin");
    // `edit` is aggregated from system:aggregate-to-edit (and view) in the defaults.
    assert!(r.allowed(&erin, &pods("create").in_namespace("dev")));
    assert!(r.allowed(&erin, &pods("list").in_namespace("dev")));
    assert!(r.allowed(
        &erin,
        &Request::resource("get", "", "secrets")
            .in_namespace("dev")
            .named("x")
    ));
    assert!(!r.allowed(&erin, &pods("create").in_namespace("shop")));
    // edit does not write RBAC.
    assert!(!r.allowed(
        &erin,
        &Request::resource("create", "rbac.authorization.k8s.io", "rolebindings")
            .in_namespace("dev")
    ));
    // Without defaults, the binding grants nothing and is reported.
    let loaded = load_paths(&[fixture("semantics.yaml")], &LoadOptions::default());
    let bare = Rbac::build(&loaded.objects, &BuildOptions { defaults: None });
    assert!(!bare.allowed(&erin, &pods("create").in_namespace("dev")));
    assert!(bare.diagnostics.iter().any(|d| d
        .message
        .contains("RoleBinding dev/erin-edit refers to ClusterRole edit")));
    // system:masters is cluster-admin through the default binding.
    let admin = UserInfo::of(&Subject::user("root"), &["system:masters".to_string()]);
    assert!(r.allowed(&admin, &Request::resource("delete", "", "nodes").named("n")));
    assert!(r.allowed(&admin, &Request::non_resource("get", "/anything")));
}

#[test]
fn full_wildcards_allow_everything_including_unknown_resources() {
    let r = snapshot("semantics.yaml");
    let root = sa("ops", "root-sa");
    assert!(r.allowed(
        &root,
        &Request::resource("escalate", "rbac.authorization.k8s.io", "clusterroles").named("x")
    ));
    assert!(r.allowed(
        &root,
        &Request::resource("frobnicate", "example.com", "widgets/status").in_namespace("a")
    ));
    // A resource rule never covers non-resource URLs.
    assert!(!r.allowed(&root, &Request::non_resource("get", "/metrics")));
}

#[test]
fn who_can_lists_every_subject_with_scope() {
    let r = snapshot("semantics.yaml");
    let rows = r.who_can(&pods("get"), true);
    let has =
        |s: &Subject, scope: &Scope| rows.iter().any(|w| w.subject == *s && w.scope == *scope);
    assert!(has(
        &Subject::user("alice"),
        &Scope::Namespace("shop".into())
    ));
    assert!(has(&Subject::user("erin"), &Scope::Namespace("dev".into())));
    assert!(has(
        &Subject::service_account("ops", "root-sa"),
        &Scope::Cluster
    ));
    assert!(has(&Subject::group("system:masters"), &Scope::Cluster));
    assert!(!rows.iter().any(|w| w.subject == Subject::user("bob")));
    // In one namespace only.
    let rows = r.who_can(&pods("get").in_namespace("dev"), true);
    assert!(!rows.iter().any(|w| w.subject == Subject::user("alice")));
    assert!(rows.iter().any(|w| w.subject == Subject::user("erin")));
    // Cluster-scoped: RoleBindings never count.
    let rows = r.who_can(&Request::resource("get", "", "nodes"), false);
    assert!(rows.iter().any(|w| w.subject == Subject::user("bob")));
    assert!(!rows.iter().any(|w| w.subject == Subject::user("carol")));
}

#[test]
fn can_lists_effective_permissions_per_scope() {
    let r = snapshot("semantics.yaml");
    let tables = r.permissions(&user("alice"), None);
    let cluster = &tables[0];
    assert_eq!(cluster.scope, Scope::Cluster);
    assert!(cluster
        .rows
        .iter()
        .any(|row| row.non_resource_url == "/healthz" && row.verbs == vec!["get"]));
    let shop = tables
        .iter()
        .find(|t| t.scope == Scope::Namespace("shop".into()))
        .expect("shop table");
    let pods_row = shop.rows.iter().find(|row| row.resource == "pods").unwrap();
    assert_eq!(pods_row.verbs, vec!["get", "list", "watch"]);
    let secrets = shop
        .rows
        .iter()
        .find(|row| row.resource == "secrets")
        .unwrap();
    assert_eq!(secrets.resource_names, vec!["db-password"]);
    assert_eq!(
        secrets.via,
        vec!["RoleBinding shop/alice-secret → Role shop/secret-reader"]
    );
    // -n dev: only the cluster-wide grants apply there.
    let dev = r.permissions(&user("alice"), Some("dev"));
    assert_eq!(dev.len(), 1);
    assert!(!dev[0].rows.iter().any(|row| row.resource == "pods"));
    // kubectl's spelling for grouped resources.
    let ci = r.permissions(&sa("ci", "deployer"), Some("ci"));
    assert!(ci[0]
        .rows
        .iter()
        .any(|row| row.resource == "deployments.apps"
            && row.verbs == vec!["create", "patch", "update"]));
}

#[test]
fn bad_input_is_reported_with_file_and_line_and_the_rest_is_read() {
    let loaded = load_paths(&[fixture("bad.yaml")], &LoadOptions::default());
    let r = Rbac::build(
        &loaded.objects,
        &BuildOptions {
            defaults: Some(bootstrap::latest()),
        },
    );
    let msgs: Vec<String> = r.diagnostics.iter().map(|d| d.to_string()).collect();
    let find = |needle: &str| {
        msgs.iter()
            .find(|m| m.contains(needle))
            .unwrap_or_else(|| panic!("no diagnostic with {needle:?} in {msgs:#?}"))
    };
    assert!(find("refers to Role shop/does-not-exist").contains("bad.yaml:1:"));
    assert!(find("rules[0].verbs must be a list of strings").contains("bad.yaml:17:"));
    assert!(find("rules[1] must be a mapping").contains("bad.yaml:18:"));
    assert!(find("unknown kind \"Robot\"").contains("bad.yaml:29:"));
    assert!(find("roleRef is missing").contains("bad.yaml:32:"));
    assert!(r.diagnostics.iter().all(|d| d.level != Level::Note));
    // The good rule of the malformed role still works for the good subject.
    let grace = user("grace");
    assert!(r.allowed(
        &grace,
        &Request::resource("get", "", "configmaps")
            .in_namespace("x")
            .named("y")
    ));
    assert!(!r.allowed(&grace, &pods("get").in_namespace("x").named("y")));
}
