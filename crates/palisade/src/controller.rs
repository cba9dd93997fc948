//! `palisade controller`: the PolicyReport controller (palisade-controller), in the cluster
//! (in-cluster service account) or from a workstation (kubeconfig).

use crate::{EXIT_CLEAN, EXIT_ERROR};
use anyhow::Result;
use clap::Args;
use palisade_checks::{config, Config, Profile};
use palisade_controller::controller::{run as run_controller, shutdown_signal, ControllerOptions};
use palisade_controller::lease::LeaseOptions;
use palisade_scan::{ScanConfig, Scanner};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ControllerArgs {
    /// Address of /healthz, /readyz and /metrics
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Namespace of the leader-election Lease (several replicas: one writes)
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the Lease (the pod name)
    #[arg(long, default_value = "palisade-controller")]
    pub identity: String,
    /// Scan configuration file (.palisade.yaml: checks, skip, severities, exemptions)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Policy files (ValidatingAdmissionPolicy, Gatekeeper) evaluated like `scan --policy`
    #[arg(long, value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// Kubeconfig context (default: the current one, or the in-cluster service account)
    #[arg(long)]
    pub context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

pub fn run(a: ControllerArgs) -> Result<u8> {
    let cfg = match &a.config {
        Some(p) => match Config::load(p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("palisade: error: {e}");
                return Ok(EXIT_ERROR);
            }
        },
        None => config::discover(&std::env::current_dir().unwrap_or_default())
            .and_then(|p| Config::load(&p).ok())
            .unwrap_or_default(),
    };
    let mut scan = ScanConfig::from_file(&cfg);
    // The controller keeps every kind of result current: the full catalog unless the
    // configuration narrows it.
    if cfg.profile.is_none() {
        scan.profile = Profile::All;
    }
    scan.policies = a.policy.clone();
    let scanner = match Scanner::new(&scan) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    for d in scanner.load_diagnostics() {
        eprintln!("{d}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (client, context) = palisade_cluster::connect(&palisade_cluster::ClusterOptions {
            context: a.context.clone(),
            kubeconfig: a.kubeconfig.clone(),
            ..Default::default()
        })
        .await?;
        eprintln!(
            "palisade controller: watching {context}; health and metrics on http://{}",
            a.listen
        );
        let opts = ControllerOptions {
            scanner,
            categories: crate::catalog::categories(),
            listen: Some(a.listen),
            lease: a
                .lease_namespace
                .as_deref()
                .map(|ns| LeaseOptions::new(ns, &a.identity)),
            context,
        };
        run_controller(client, opts, None, shutdown_signal()).await
    })?;
    Ok(EXIT_CLEAN)
}
