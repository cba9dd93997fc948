//! Listing the resource types of [`RESOURCES`] page by page, and turning items into [`Object`]s.

use crate::resources::{ResourceKind, RESOURCES};
use kube::api::{Api, ListParams};
use kube::core::{DynamicObject, TypeMeta};
use kube::Client;
use palisade_model::{Diagnostic, Level, Loaded, Node, Object, Source};
use std::sync::Arc;

/// Upper bound on pages per resource type: a server that keeps returning continue tokens
/// cannot keep the scan looping forever.
const MAX_PAGES: usize = 10_000;

/// The annotation `kubectl apply` writes with the whole applied object, secret values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Lists every resource type of [`RESOURCES`] and converts the items into objects whose source
/// is `Source::Cluster(context)`.
///
/// `namespace` restricts namespaced types to that namespace (and the `Namespace` list to that
/// one namespace); cluster-scoped types are always listed whole. `page_size` is the `limit` of
/// each list request (0 means no limit: one request per type).
///
/// Never fails: a resource type that cannot be listed becomes a diagnostic and the scan goes on
/// with the others (see the crate documentation for the policy).
pub async fn list_objects(
    client: Client,
    context: &str,
    namespace: Option<&str>,
    page_size: u32,
) -> Loaded {
    let source = Arc::new(Source::Cluster(context.to_string()));
    let origin = source.display();
    let mut out = Loaded::default();
    // Whether the server has answered at all: a transport error before any answer means the
    // cluster is unreachable, and trying the other types would only repeat the same timeout.
    let mut reached = false;
    for (i, rk) in RESOURCES.iter().enumerate() {
        let name = rk.qualified_name();
        let remaining = RESOURCES.len() - i - 1;
        match list_kind(&client, rk, namespace, page_size, &source).await {
            Ok(listing) => {
                reached = true;
                tracing::debug!(
                    resource = %name,
                    count = listing.objects.len(),
                    pages = listing.pages,
                    "listed"
                );
                out.objects.extend(listing.objects);
            }
            Err(failure) => {
                tracing::debug!(resource = %name, ?failure, "list failed");
                let answered =
                    !matches!(failure, Failure::Unreachable(_) | Failure::Credentials(_));
                let first_contact = !reached;
                reached |= answered;
                match failure {
                    Failure::Forbidden(msg) => {
                        let scope = match (rk.namespaced, namespace) {
                            (true, Some(ns)) => format!("in namespace {ns}"),
                            _ => "at the cluster scope".to_string(),
                        };
                        out.diagnostics.push(
                            Diagnostic::new(
                                Level::Warning,
                                &origin,
                                0,
                                format!("cannot list {name}: forbidden: {msg}"),
                            )
                            .with_hint(format!(
                                "grant the scanning identity `get` and `list` permission on \
                                 {name} {scope} (RBAC); these objects were not scanned"
                            )),
                        );
                    }
                    Failure::NotServed => {
                        out.diagnostics.push(Diagnostic::new(
                            Level::Note,
                            &origin,
                            0,
                            format!("{name} is not served by this cluster; skipped"),
                        ));
                    }
                    Failure::Unauthorized(msg) => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Level::Error,
                                &origin,
                                0,
                                format!(
                                    "cannot list {name}: unauthorized: {msg}{}",
                                    skipped_suffix(remaining)
                                ),
                            )
                            .with_hint(format!(
                                "the credentials of context {context} were rejected: refresh \
                                 them (e.g. log in again) and retry"
                            )),
                        );
                        break;
                    }
                    Failure::Credentials(msg) => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Level::Error,
                                &origin,
                                0,
                                format!(
                                    "cannot authenticate to the cluster: {msg}{}",
                                    skipped_suffix(remaining + 1)
                                ),
                            )
                            .with_hint(format!(
                                "check the user of context {context} in the kubeconfig \
                                 (token, client certificate or exec plugin)"
                            )),
                        );
                        break;
                    }
                    Failure::Unreachable(msg) if first_contact => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Level::Error,
                                &origin,
                                0,
                                format!("cannot reach the cluster: {msg}; nothing was listed"),
                            )
                            .with_hint(format!(
                                "check the server address of context {context} and that the \
                                 API server is reachable from here"
                            )),
                        );
                        break;
                    }
                    Failure::Unreachable(msg) | Failure::Other(msg) => {
                        out.diagnostics.push(Diagnostic::new(
                            Level::Error,
                            &origin,
                            0,
                            format!("cannot list {name}: {msg}; these objects were not scanned"),
                        ));
                    }
                }
            }
        }
    }
    out.documents = out.objects.len();
    out
}

fn skipped_suffix(remaining: usize) -> String {
    match remaining {
        0 => String::new(),
        1 => "; the remaining resource type was not listed".to_string(),
        n => format!("; the remaining {n} resource types were not listed"),
    }
}

struct Listing {
    objects: Vec<Object>,
    pages: usize,
}

/// Why a resource type could not be listed.
#[derive(Debug)]
enum Failure {
    /// 403: the identity may not list this type.
    Forbidden(String),
    /// 404: the group/version or resource is not served.
    NotServed,
    /// 401: the credentials were rejected.
    Unauthorized(String),
    /// The credentials could not be obtained (exec plugin, token file, ...).
    Credentials(String),
    /// No HTTP answer (connection refused, timeout, TLS failure, ...).
    Unreachable(String),
    Other(String),
}

/// Lists one type, following continue tokens. A continue token that expired (410 Gone) while
/// paging restarts the list once from the beginning.
async fn list_kind(
    client: &Client,
    rk: &ResourceKind,
    namespace: Option<&str>,
    page_size: u32,
    source: &Arc<Source>,
) -> Result<Listing, Failure> {
    let ar = rk.api_resource();
    let api: Api<DynamicObject> = match namespace {
        Some(ns) if rk.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    let mut base = ListParams::default();
    if page_size > 0 {
        base = base.limit(page_size);
    }
    if let (Some(ns), "", "namespaces") = (namespace, rk.group, rk.plural) {
        base = base.fields(&format!("metadata.name={ns}"));
    }
    let mut restarted = false;
    'attempt: loop {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let params = match &token {
                Some(t) => base.clone().continue_token(t),
                None => base.clone(),
            };
            let list = match api.list(&params).await {
                Ok(list) => list,
                Err(e) if token.is_some() && !restarted && is_expired(&e) => {
                    tracing::debug!(
                        resource = %rk.qualified_name(),
                        "continue token expired; listing again from the start"
                    );
                    restarted = true;
                    continue 'attempt;
                }
                Err(e) => return Err(classify(&e)),
            };
            objects.reserve(list.items.len());
            for item in list.items {
                if let Some(o) = to_object(item, rk, source) {
                    objects.push(o);
                }
            }
            match list.metadata.continue_.filter(|t| !t.is_empty()) {
                None => {
                    return Ok(Listing {
                        objects,
                        pages: page,
                    })
                }
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(Failure::Other(format!(
                        "the server returned the same continue token twice (page {page})"
                    )));
                }
                Some(next) => token = Some(next),
            }
        }
        return Err(Failure::Other(format!(
            "more than {MAX_PAGES} pages; giving up"
        )));
    }
}

fn status_code(status: &kube::core::Status) -> u16 {
    if status.code != 0 {
        return status.code;
    }
    match status.reason.as_str() {
        "Unauthorized" => 401,
        "Forbidden" => 403,
        "NotFound" => 404,
        "Expired" | "Gone" => 410,
        _ => 0,
    }
}

fn is_expired(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if status_code(s) == 410)
}

fn classify(e: &kube::Error) -> Failure {
    match e {
        kube::Error::Api(status) => {
            let msg = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match status_code(status) {
                401 => Failure::Unauthorized(msg),
                403 => Failure::Forbidden(msg),
                404 => Failure::NotServed,
                0 => Failure::Other(msg),
                code => Failure::Other(format!("HTTP {code}: {msg}")),
            }
        }
        kube::Error::Service(inner) => Failure::Unreachable(crate::error_chain(inner.as_ref())),
        kube::Error::HyperError(inner) => Failure::Unreachable(crate::error_chain(inner)),
        kube::Error::Auth(_) => Failure::Credentials(crate::error_chain(e)),
        _ => Failure::Other(crate::error_chain(e)),
    }
}

/// Turns a listed item into an object: sets `apiVersion`/`kind` (list items lack them), drops
/// `metadata.managedFields`, and for Secrets drops every value (see [`strip_secret_values`]).
fn to_object(mut item: DynamicObject, rk: &ResourceKind, source: &Arc<Source>) -> Option<Object> {
    item.types = Some(TypeMeta {
        api_version: rk.api_version(),
        kind: rk.kind.to_string(),
    });
    item.metadata.managed_fields = None;
    if rk.group.is_empty() && rk.kind == "Secret" {
        strip_secret_values(&mut item);
    }
    let value = match serde_json::to_value(&item) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(kind = rk.kind, error = %e, "cannot serialise a listed item; skipped");
            return None;
        }
    };
    drop(item);
    Object::from_node(Node::from_json(&value), source.clone(), 0, None)
}

/// Removes a Secret's values: `data`, `stringData`, and the `kubectl apply` annotation that
/// holds a copy of them. `type` and the rest of the metadata stay.
fn strip_secret_values(item: &mut DynamicObject) {
    if let Some(fields) = item.data.as_object_mut() {
        fields.remove("data");
        fields.remove("stringData");
    }
    if let Some(annotations) = item.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_kind() -> &'static ResourceKind {
        RESOURCES.iter().find(|r| r.kind == "Secret").unwrap()
    }

    #[test]
    fn secrets_lose_their_values() {
        let item: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "db",
                "namespace": "prod",
                "annotations": {
                    LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                    "owner": "team-a"
                },
                "managedFields": [{"manager": "kubectl", "operation": "Update"}]
            },
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"user": "admin"}
        }))
        .unwrap();
        let source = Arc::new(Source::Cluster("c".into()));
        let o = to_object(item, secret_kind(), &source).unwrap();
        assert_eq!(o.kind, "Secret");
        assert_eq!(o.api_version, "v1");
        assert_eq!(o.namespace.as_deref(), Some("prod"));
        assert_eq!(o.root.get("type").and_then(Node::as_str), Some("Opaque"));
        assert!(o.root.get("data").is_none());
        assert!(o.root.get("stringData").is_none());
        assert!(o.metadata().get("managedFields").is_none());
        assert!(o.annotation(LAST_APPLIED).is_none());
        assert_eq!(o.annotation("owner"), Some("team-a"));
        let text = o.root.to_json().to_string();
        assert!(!text.contains("aHVudGVyMg"), "{text}");
    }

    #[test]
    fn other_kinds_keep_their_data() {
        let cm = RESOURCES.iter().find(|r| r.kind == "ConfigMap").unwrap();
        let item: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "settings", "namespace": "prod",
                         "managedFields": [{"manager": "helm"}]},
            "data": {"mode": "fast"}
        }))
        .unwrap();
        let source = Arc::new(Source::Cluster("c".into()));
        let o = to_object(item, cm, &source).unwrap();
        assert_eq!(o.kind, "ConfigMap");
        assert_eq!(
            o.root.at(&["data", "mode"]).and_then(Node::as_str),
            Some("fast")
        );
        assert!(o.metadata().get("managedFields").is_none());
        assert_eq!(*o.source, Source::Cluster("c".into()));
    }

    #[test]
    fn status_codes_fall_back_to_reasons() {
        let s = kube::core::Status::failure("nope", "Forbidden");
        assert_eq!(status_code(&s), 403);
        let s = kube::core::Status::failure("x", "Whatever").with_code(500);
        assert_eq!(status_code(&s), 500);
        let e = kube::Error::Api(kube::core::Status::failure("gone", "Expired").boxed());
        assert!(is_expired(&e));
        assert!(matches!(classify(&e), Failure::Other(_)));
    }
}
