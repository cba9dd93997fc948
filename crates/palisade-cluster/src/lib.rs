//! Reading the objects the checks need from a live cluster.
//!
//! # What is listed, and why
//!
//! [`RESOURCES`] lists exactly the types the checks read:
//!
//! - workloads and their pod templates: core/v1 `pods`, `replicationcontrollers`; apps/v1
//!   `deployments`, `replicasets`, `statefulsets`, `daemonsets`; batch/v1 `jobs`, `cronjobs`
//!   (pods and replica sets are needed to tell controller-owned pods from bare ones);
//! - what workloads use or expose: `services`, `serviceaccounts`, `configmaps`, `secrets`,
//!   networking.k8s.io/v1 `networkpolicies` and `ingresses`;
//! - who may do what: rbac.authorization.k8s.io/v1 `roles`, `rolebindings`, `clusterroles`,
//!   `clusterrolebindings`;
//! - `namespaces` (cluster-scoped), for namespace-level settings such as Pod Security labels.
//!
//! Each type is listed with `kube::Api<DynamicObject>` and a hand-built
//! [`kube::discovery::ApiResource`], so no discovery requests are made. Lists are paginated
//! (`limit`, then `continue` until the server returns no token). With a namespace, namespaced
//! types are listed in that namespace only and the `Namespace` list is narrowed to that one
//! namespace; cluster-scoped types are always listed whole (a namespaced workload can be
//! granted rights through a `ClusterRole`).
//!
//! Every item becomes an [`Object`](palisade_model::Object) whose source is
//! [`Source::Cluster`](palisade_model::Source::Cluster) with the context name. Items of a list
//! response have no `apiVersion`/`kind`: they are set from the [`ResourceKind`].
//! `metadata.managedFields` is dropped from every object (it is large and no check reads it).
//!
//! **Secret values are never kept**: `data`, `stringData` and the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (which holds a copy of them) are
//! removed from each Secret as soon as its page arrives; `type` and the rest of the metadata stay.
//!
//! # Error policy
//!
//! Configuration problems (unreadable kubeconfig, unknown context, no cluster at all) are a
//! [`ClusterError`]: nothing can be scanned. Once connected, a type that cannot be listed never
//! aborts the scan, it becomes a [`Diagnostic`](palisade_model::Diagnostic) whose source is
//! `cluster:<context>`:
//!
//! - 403 Forbidden: a warning `cannot list <plural>.<group>: forbidden: <server message>`, with
//!   a hint about the `get`/`list` RBAC permission; the other types are still listed;
//! - 404 Not Found: a note `<plural>.<group> is not served by this cluster; skipped`;
//! - anything else: an error naming the type; the other types are still listed.
//!
//! Three failures would only repeat for every type, so they stop the listing with one error:
//! 401 Unauthorized, credentials that cannot be obtained (e.g. a failing exec plugin), and a
//! transport failure before the server has answered anything (cluster unreachable).
//! A continue token that expires while paging (410 Gone) restarts that type's list once.

mod list;
mod resources;
pub mod watch;

pub use list::list_objects;
pub use resources::{ResourceKind, RESOURCES};

use kube::config::{Config, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::Client;
use palisade_model::Loaded;
use std::path::PathBuf;
use std::time::Duration;

/// The page size used when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Read timeout set on the client when the configuration has none, so that a server that stops
/// answering cannot hang the scan.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Where and how to read a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Kubeconfig context; the kubeconfig's current context when `None`.
    pub context: Option<String>,
    /// Kubeconfig file; `$KUBECONFIG` or `~/.kube/config` when `None` (and, when no context is
    /// given either, the in-cluster service account if there is no kubeconfig).
    pub kubeconfig: Option<PathBuf>,
    /// Restricts namespaced types to this namespace.
    pub namespace: Option<String>,
    /// Objects per list request (0: no limit).
    pub page_size: u32,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            context: None,
            kubeconfig: None,
            namespace: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// Why no client could be made: nothing was scanned.
#[derive(thiserror::Error, Debug)]
pub enum ClusterError {
    #[error("cannot read kubeconfig {path}: {reason}")]
    KubeconfigUnreadable { path: String, reason: String },
    #[error("kubeconfig {kubeconfig} has no current context; choose one with --context")]
    NoCurrentContext { kubeconfig: String },
    #[error("context \"{context}\" not found in kubeconfig {kubeconfig} (available: {available})")]
    UnknownContext {
        context: String,
        kubeconfig: String,
        /// Comma-separated context names, or `none`.
        available: String,
    },
    #[error("context \"{context}\" in kubeconfig {kubeconfig} cannot be used: {reason}")]
    InvalidContext {
        context: String,
        kubeconfig: String,
        reason: String,
    },
    #[error(
        "no cluster configured: no usable kubeconfig ({kubeconfig}) and not running inside a \
         cluster ({in_cluster})"
    )]
    NoCluster {
        kubeconfig: String,
        in_cluster: String,
    },
    #[error("cannot build a Kubernetes client for context \"{context}\": {reason}")]
    Client { context: String, reason: String },
    #[error("cannot start the async runtime: {reason}")]
    Runtime { reason: String },
}

/// Installs ring as the process-wide rustls crypto provider (the only one compiled in).
fn install_crypto_provider() {
    // Err only means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds a client from the options. Returns it with the context name used in sources and
/// diagnostics (`in-cluster` for the in-cluster service account).
///
/// - with `kubeconfig`: that file, with `context` or its current context;
/// - with only `context`: `$KUBECONFIG` (merged) or `~/.kube/config`, with that context;
/// - with neither: the default kubeconfig's current context, or else the in-cluster service
///   account.
///
/// No request is made: an unreachable server shows up in [`list_objects`].
pub async fn connect(opts: &ClusterOptions) -> Result<(Client, String), ClusterError> {
    install_crypto_provider();
    let (mut config, context) = match (&opts.kubeconfig, &opts.context) {
        (Some(path), context) => {
            let location = path.display().to_string();
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|e| ClusterError::KubeconfigUnreadable {
                    path: location.clone(),
                    reason: kubeconfig_reason(&e),
                })?;
            from_kubeconfig(kubeconfig, context.as_deref(), location).await?
        }
        (None, Some(context)) => {
            let location = default_kubeconfig_location();
            let kubeconfig =
                Kubeconfig::read().map_err(|e| ClusterError::KubeconfigUnreadable {
                    path: location.clone(),
                    reason: kubeconfig_reason(&e),
                })?;
            from_kubeconfig(kubeconfig, Some(context), location).await?
        }
        (None, None) => {
            let location = default_kubeconfig_location();
            let from_file = match Kubeconfig::read() {
                Ok(kubeconfig) => Some(from_kubeconfig(kubeconfig, None, location.clone()).await),
                Err(e) if is_missing(&e) => None,
                Err(e) => Some(Err(ClusterError::KubeconfigUnreadable {
                    path: location.clone(),
                    reason: kubeconfig_reason(&e),
                })),
            };
            match from_file {
                Some(Ok(found)) => found,
                // Like `Config::infer`: no usable kubeconfig, try the in-cluster service account.
                unusable => match Config::incluster() {
                    Ok(config) => (config, "in-cluster".to_string()),
                    Err(in_cluster) => {
                        return Err(match unusable {
                            // A kubeconfig exists but is unusable: that is the problem to report.
                            Some(Err(e)) => e,
                            _ => ClusterError::NoCluster {
                                kubeconfig: format!("{location} not found"),
                                in_cluster: error_chain(&in_cluster),
                            },
                        });
                    }
                },
            }
        }
    };
    if config.read_timeout.is_none() {
        config.read_timeout = Some(READ_TIMEOUT);
    }
    let client = Client::try_from(config).map_err(|e| ClusterError::Client {
        context: context.clone(),
        reason: error_chain(&e),
    })?;
    Ok((client, context))
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    context: Option<&str>,
    location: String,
) -> Result<(Config, String), ClusterError> {
    let name = match context {
        Some(c) => c.to_string(),
        None => match kubeconfig
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty())
        {
            Some(c) => c.to_string(),
            None => {
                return Err(ClusterError::NoCurrentContext {
                    kubeconfig: location,
                })
            }
        },
    };
    if !kubeconfig.contexts.iter().any(|c| c.name == name) {
        let names: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ClusterError::UnknownContext {
            context: name,
            kubeconfig: location,
            available: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        });
    }
    let options = KubeConfigOptions {
        context: Some(name.clone()),
        ..KubeConfigOptions::default()
    };
    match Config::from_custom_kubeconfig(kubeconfig, &options).await {
        Ok(config) => Ok((config, name)),
        Err(e) => Err(ClusterError::InvalidContext {
            context: name,
            kubeconfig: location,
            reason: error_chain(&e),
        }),
    }
}

/// Whether reading the default kubeconfig failed only because there is none.
fn is_missing(e: &KubeconfigError) -> bool {
    match e {
        KubeconfigError::FindPath => true,
        KubeconfigError::ReadConfig(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// Why a kubeconfig could not be read, without repeating its path (the message names it).
fn kubeconfig_reason(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::ReadConfig(io, _) => io.to_string(),
        other => error_chain(other),
    }
}

/// How the default kubeconfig is named in messages.
fn default_kubeconfig_location() -> String {
    match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => format!("$KUBECONFIG ({})", v.to_string_lossy()),
        _ => "~/.kube/config".to_string(),
    }
}

/// Connects and lists every type of [`RESOURCES`], blocking the calling thread on a
/// current-thread runtime. Must not be called from inside a tokio runtime.
pub fn load_cluster(opts: &ClusterOptions) -> Result<Loaded, ClusterError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Runtime {
            reason: e.to_string(),
        })?;
    runtime.block_on(async {
        let (client, context) = connect(opts).await?;
        Ok(list_objects(client, &context, opts.namespace.as_deref(), opts.page_size).await)
    })
}

/// An error and its sources, `: `-separated, skipping sources already quoted by their parent.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    let mut depth = 0;
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
        depth += 1;
        if depth >= 16 {
            break;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options() {
        let o = ClusterOptions::default();
        assert_eq!(o.page_size, 500);
        assert!(o.context.is_none() && o.kubeconfig.is_none() && o.namespace.is_none());
    }

    #[test]
    fn error_chain_skips_repeated_sources() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = kube::config::KubeconfigError::ReadConfig(inner, "/x".into());
        let text = error_chain(&e);
        assert_eq!(text.matches("gone").count(), 1, "{text}");
    }
}
