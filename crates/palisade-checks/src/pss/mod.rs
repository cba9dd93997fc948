//! Pod Security Standards: one check per upstream control, versioned like
//! `k8s.io/pod-security-admission` (`--pss-version v1.N`). Baseline controls are `PSS1nn`,
//! restricted controls `PSS2nn`. Every container list is visited in upstream order (init,
//! regular, ephemeral) and each offending container or field is its own finding.

use crate::context::Check;
use crate::meta::{PssControl, PssLevel};

mod allow_privilege_escalation;
mod apparmor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod seccomp_baseline;
mod seccomp_restricted;
mod selinux_options;
mod sysctls;
mod windows_host_process;

pub use allow_privilege_escalation::AllowPrivilegeEscalation;
pub use apparmor_profile::AppArmorProfile;
pub use capabilities_baseline::CapabilitiesBaseline;
pub use capabilities_restricted::CapabilitiesRestricted;
pub use host_namespaces::HostNamespaces;
pub use host_path_volumes::HostPathVolumes;
pub use host_ports::HostPorts;
pub use host_probes::HostProbesAndLifecycle;
pub use privileged::Privileged;
pub use proc_mount::ProcMount;
pub use proc_mount_restricted::ProcMountRestricted;
pub use restricted_volumes::RestrictedVolumes;
pub use restricted_volumes::{ALLOWED_VOLUMES, FORBIDDEN_VOLUMES};
pub use run_as_non_root::RunAsNonRoot;
pub use run_as_user::RunAsUser;
pub use seccomp_baseline::SeccompBaseline;
pub use seccomp_restricted::SeccompRestricted;
pub use selinux_options::SeLinuxOptions;
pub use sysctls::Sysctls;
pub use windows_host_process::WindowsHostProcess;

/// Every Pod Security Standards check.
pub static CHECKS: &[&dyn Check] = &[
    &HostNamespaces,
    &Privileged,
    &CapabilitiesBaseline,
    &HostPathVolumes,
    &HostPorts,
    &AppArmorProfile,
    &SeLinuxOptions,
    &ProcMount,
    &SeccompBaseline,
    &Sysctls,
    &WindowsHostProcess,
    &HostProbesAndLifecycle,
    &RestrictedVolumes,
    &AllowPrivilegeEscalation,
    &RunAsNonRoot,
    &RunAsUser,
    &SeccompRestricted,
    &CapabilitiesRestricted,
    &ProcMountRestricted,
];

pub(crate) const fn baseline(control: &'static str, since: u32) -> Option<PssControl> {
    Some(PssControl {
        level: PssLevel::Baseline,
        control,
        since,
        overrides: &[],
    })
}

pub(crate) const fn restricted(
    control: &'static str,
    since: u32,
    overrides: &'static [&'static str],
) -> Option<PssControl> {
    Some(PssControl {
        level: PssLevel::Restricted,
        control,
        since,
        overrides,
    })
}
