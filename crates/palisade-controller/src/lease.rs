//! Leader election on a `coordination.k8s.io/v1` Lease, as Kubernetes' own controllers do:
//! the holder renews `renewTime` every few seconds; another replica takes the lease over
//! when `renewTime + leaseDurationSeconds` has passed. Updates carry the resourceVersion
//! read, so two replicas racing for an expired lease cannot both win (the loser gets 409).

use crate::controller::Metrics;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct LeaseOptions {
    pub namespace: String,
    pub name: String,
    /// This replica's name (the pod name).
    pub identity: String,
    pub duration: Duration,
    pub renew_every: Duration,
}

impl LeaseOptions {
    pub fn new(namespace: &str, identity: &str) -> LeaseOptions {
        LeaseOptions {
            namespace: namespace.into(),
            name: "palisade-controller".into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

/// Whether this replica leads, kept current by a background task.
pub struct Leadership {
    leader: Arc<AtomicBool>,
    client: Client,
    opts: Option<LeaseOptions>,
}

impl Leadership {
    /// Starts campaigning; with no options this replica is always the leader.
    pub fn start(client: Client, opts: Option<LeaseOptions>, metrics: Arc<Metrics>) -> Leadership {
        let leader = Arc::new(AtomicBool::new(opts.is_none()));
        metrics.leader.set(i64::from(opts.is_none()));
        if let Some(o) = opts.clone() {
            let (client, leader) = (client.clone(), leader.clone());
            tokio::spawn(async move {
                let api: Api<Lease> = Api::namespaced(client, &o.namespace);
                loop {
                    let held = match try_acquire(&api, &o).await {
                        Ok(held) => held,
                        Err(e) => {
                            tracing::warn!(error = %e, "lease");
                            false
                        }
                    };
                    if held != leader.swap(held, Ordering::Relaxed) {
                        tracing::info!(identity = o.identity, leader = held, "leadership changed");
                    }
                    metrics.leader.set(i64::from(held));
                    tokio::time::sleep(o.renew_every).await;
                }
            });
        }
        Leadership {
            leader,
            client,
            opts,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Gives the lease up (at shutdown) so another replica takes over at once.
    pub async fn release(&self) {
        let Some(o) = &self.opts else { return };
        if !self.is_leader() {
            return;
        }
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &o.namespace);
        if let Ok(mut lease) = api.get(&o.name).await {
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
                let _ = api.replace(&o.name, &PostParams::default(), &lease).await;
            }
        }
    }
}

fn seconds(t: &Option<MicroTime>) -> i64 {
    t.as_ref().map_or(0, |t| t.0.as_second())
}

/// One round: create, renew or take over the lease. Returns whether this replica holds it.
pub async fn try_acquire(api: &Api<Lease>, o: &LeaseOptions) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let duration = o.duration.as_secs() as i32;
    match api.get_opt(&o.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(o.name.clone()),
                    namespace: Some(o.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(o.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            let mine = spec.holder_identity.as_deref() == Some(o.identity.as_str());
            let expired = spec.holder_identity.is_none()
                || seconds(&spec.renew_time)
                    + i64::from(spec.lease_duration_seconds.unwrap_or(duration))
                    < now.as_second();
            if !mine && !expired {
                return Ok(false);
            }
            if !mine {
                spec.holder_identity = Some(o.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.lease_duration_seconds = Some(duration);
            spec.renew_time = Some(MicroTime(now));
            match api.replace(&o.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}
