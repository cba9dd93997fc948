//! Secrets checks: credentials written into manifests (environment variable values,
//! ConfigMaps) and Secrets handed to containers through the environment. The shared detector
//! is in `detect`.

use crate::context::Check;

pub mod detect;
mod secret_as_env_var;
mod secret_in_configmap;
mod secret_in_env;

pub use secret_as_env_var::SecretAsEnvVar;
pub use secret_in_configmap::SecretInConfigMap;
pub use secret_in_env::SecretInEnv;

/// Every check in this category.
pub static CHECKS: &[&dyn Check] = &[&SecretInEnv, &SecretInConfigMap, &SecretAsEnvVar];
