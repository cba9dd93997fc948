//! `palisade install`: the manifests of the chosen components (palisade-controller's
//! `install`), for `kubectl apply -f -`.

use crate::{write_output, EXIT_CLEAN, EXIT_ERROR};
use anyhow::Result;
use clap::Args;
use palisade_controller::install::{self, InstallOptions, Values};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Components to install, comma-separated: admission, audit, controller, node, observe
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "admission,audit,controller,node,observe"
    )]
    pub components: Vec<String>,
    /// The namespace of the Deployments (the node DaemonSets go to NAMESPACE-node)
    #[arg(long, short = 'n', default_value = "palisade-system")]
    pub namespace: String,
    /// A YAML file of values: image, caBundle, serviceMonitor, crds, replicas, admission,
    /// audit, observe (docs/install.md)
    #[arg(long, value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// Write the manifests to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

pub fn run(args: InstallArgs) -> Result<u8> {
    let components = match install::parse_components(&args.components) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("palisade: error: --components: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let values = match &args.values {
        Some(p) => match Values::load(p) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("palisade: error: {e:#}");
                return Ok(EXIT_ERROR);
            }
        },
        None => Values::default(),
    };
    let text = match install::render(&InstallOptions {
        components,
        namespace: args.namespace,
        values,
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            return Ok(EXIT_ERROR);
        }
    };
    write_output(&text, args.output_file.as_deref())?;
    Ok(EXIT_CLEAN)
}
