//! Image hardening checks, in the check catalog's style: each rule has an ID, a name, a
//! default severity and its documentation (What it does / Why is this bad? / Example / Use
//! instead); `rules()` is registered in the one catalog by the binary. Secrets are found with
//! the same detectors as PAL301/PAL302 (palisade-checks' `secrets::detect`).

use crate::fs::Merged;
use crate::model::Kind;
use crate::Analysis;
use palisade_checks::hardening::secrets::detect;
use palisade_report::{RuleInfo, Severity};

/// A rule of the table, documented in the catalog's fixed sections.
pub use palisade_checks::meta::TableRule as Rule;

pub const VULN_FIXABLE: &str = "IMG001";
pub const VULN_UNFIXED: &str = "IMG002";

pub const RULES: &[Rule] = &[
    Rule { id: "IMG001", name: "vulnerable-package-fix-available", title: "Package with a known vulnerability that has a fix", severity: Severity::High,
        what: "Reports an installed package (OS or language) whose version is affected by a known vulnerability (OSV, Debian Security Tracker, Alpine secdb) for which a fixed version exists. The finding's severity is the distro's urgency, else the CVSS v3 base score, else the advisory database's rating.",
        why: "A fixed version exists, so the exposure is avoidable: rebuilding the image on an updated base or bumping the dependency removes it.",
        example: "```\nlibssl3 3.0.11-1~deb12u1 (source openssl) affected by CVE-…, fixed in 3.0.11-1~deb12u2\n```",
        fix: "Rebuild on an updated base image (`apt-get upgrade` in the build, or a newer tag) or raise the dependency to the fixed version. If the vulnerable code is not reachable, record that in a VEX document (`--vex`) with the justification." },
    Rule { id: "IMG002", name: "vulnerable-package-no-fix", title: "Package with a known vulnerability and no fix yet", severity: Severity::Medium,
        what: "Reports an installed package affected by a known vulnerability for which no fixed version has been published.",
        why: "There is nothing to upgrade to yet, but the exposure is real: the package may be removable, or the risk must be accepted knowingly.",
        example: "```\nlibtiff6 4.5.0-6 affected by CVE-… (no fix in Debian 12 yet)\n```",
        fix: "Remove the package if the image does not need it, watch for a fix, or state in a VEX document why the image is not affected." },
    Rule { id: "IMG101", name: "image-runs-as-root", title: "Image runs as root", severity: Severity::High,
        what: "Reports an image whose configuration has no `USER`, or a user that is root (`root`, UID 0, or a name that /etc/passwd maps to UID 0).",
        why: "A process running as root inside the container is root on the host if it escapes the container, and can modify everything in the image's filesystem.",
        example: "```dockerfile\nFROM debian:12\nCOPY app /app\nCMD [\"/app\"]\n```",
        fix: "```dockerfile\nFROM debian:12\nRUN useradd --uid 10001 app\nCOPY app /app\nUSER 10001\nCMD [\"/app\"]\n```" },
    Rule { id: "IMG102", name: "secret-in-image-env", title: "Secret in the image's environment", severity: Severity::Critical,
        what: "Reports an environment variable of the image configuration (`ENV`) whose value looks like a credential: a known key format, or a literal value under a secret-like name (the PAL301 detectors).",
        why: "The configuration is readable by anyone who can pull the image, and the value ends up in every container's environment.",
        example: "```dockerfile\nENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n```",
        fix: "Pass secrets at run time (a Kubernetes Secret mounted as a file or referenced with `secretKeyRef`), never at build time." },
    Rule { id: "IMG103", name: "secret-in-image-history", title: "Secret in the image's build history", severity: Severity::Critical,
        what: "Reports a history entry (`created_by`, the build command of a layer) that contains a credential (the PAL301/PAL302 detectors).",
        why: "The history ships with the image and is shown by `docker history`; deleting the secret in a later layer does not remove it.",
        example: "```dockerfile\nRUN curl -H \"Authorization: token ghp_…\" https://… \n```",
        fix: "Use build secrets (`RUN --mount=type=secret`) that are not recorded in layers or history." },
    Rule { id: "IMG104", name: "secret-in-image-file", title: "Secret in a file of the image", severity: Severity::Critical,
        what: "Reports credentials in files that commonly hold them (`.env`, private keys, `.npmrc`, `.pypirc`, `.git-credentials`, `.netrc`, AWS and Docker credential files, `*.pem`, `*.key`) in the final filesystem.",
        why: "Everyone who can pull the image can read the file.",
        example: "```\n/root/.ssh/id_rsa: looks like a PEM private key\n```",
        fix: "Remove the file from the build context (`.dockerignore`), use build secrets, and rotate the credential." },
    Rule { id: "IMG105", name: "setuid-setgid-binary", title: "setuid or setgid binary", severity: Severity::Low,
        what: "Reports regular files in the final filesystem with the setuid or setgid bit.",
        why: "A setuid binary runs with its owner's privileges; a flaw in it is a privilege escalation inside the container. Containers rarely need them.",
        example: "```\n-rwsr-xr-x root root /usr/bin/passwd\n```",
        fix: "Remove the bits in the build (`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) and run with `allowPrivilegeEscalation: false`." },
    Rule { id: "IMG106", name: "shell-or-package-manager-in-distroless", title: "Shell or package manager in an image expected to be distroless", severity: Severity::Medium,
        what: "With `--distroless`, reports a shell (`sh`, `bash`, `dash`, `ash`, `busybox`) or a package manager (`apt`, `dpkg`, `apk`, `rpm`, `dnf`, `yum`, `microdnf`, `pip`, `npm`) in the image.",
        why: "A minimal image is minimal so that an attacker who gets code execution finds no tools; a shell or a package manager gives them back.",
        example: "```\n/bin/sh present in an image expected to be distroless\n```",
        fix: "Build on a distroless or scratch base and copy only the application and its libraries into the final stage." },
    Rule { id: "IMG107", name: "end-of-life-os", title: "End-of-life operating system", severity: Severity::High,
        what: "Reports an image whose OS release (os-release) is past its end of life in Palisade's dated table.",
        why: "An end-of-life release gets no security updates: every vulnerability found after that date stays open.",
        example: "```\nDebian 10 (buster), end of life 2024-06-30\n```",
        fix: "Rebuild on a supported release." },
    Rule { id: "IMG108", name: "add-from-url", title: "ADD from a URL", severity: Severity::Medium,
        what: "Reports a history entry that shows `ADD https://…` (or `http://`).",
        why: "The download is not verified: what the URL served at build time is what the image contains, and a compromised or changed source goes unnoticed.",
        example: "```dockerfile\nADD https://example.com/tool.tar.gz /opt/\n```",
        fix: "Download with a checksum check (`ADD --checksum=sha256:…`, or `curl` then `sha256sum -c`) or copy from a verified build stage." },
    Rule { id: "IMG109", name: "world-writable-path-directory", title: "World-writable directory on PATH", severity: Severity::High,
        what: "Reports a directory of the image's PATH (from its `Env`, or the default PATH) that is writable by everyone.",
        why: "Any user in the container can plant a program there that is then run instead of the real one, also by root.",
        example: "```\n/usr/local/bin is drwxrwxrwx\n```",
        fix: "`chmod 755` the directory in the build." },
    Rule { id: "IMG110", name: "missing-healthcheck", title: "Service image without HEALTHCHECK", severity: Severity::Info,
        what: "In `palisade image scan` only, reports an image that exposes ports (a service) but has no `HEALTHCHECK`. Not reported for images run by Kubernetes (`scan --images`), which ignores HEALTHCHECK and uses probes (see PAL1xx probe checks).",
        why: "Outside Kubernetes (Docker, Compose, Swarm) a hung service is only restarted when a health check tells.",
        example: "```dockerfile\nEXPOSE 8080\nCMD [\"/server\"]\n```",
        fix: "```dockerfile\nHEALTHCHECK CMD [\"/server\", \"-healthcheck\"]\n```" },
];

/// The rules as catalog entries.
pub fn rules() -> Vec<RuleInfo> {
    RULES.iter().map(|r| r.info("image")).collect()
}

pub fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).expect("rule id in RULES")
}

/// One hardening finding: rule, message, and where (a path in the image, `config.User`,
/// `history[3]`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: String,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The image is expected to be distroless (IMG106).
    pub distroless: bool,
    /// Report IMG110 (not for images run by Kubernetes).
    pub healthcheck: bool,
    /// Today as `YYYY-MM-DD` (for the end-of-life table).
    pub today: String,
}

/// End-of-life dates: (os-release ID, VERSION_ID prefix, name, the last day of security
/// updates: Debian LTS, Ubuntu standard support, Alpine main repository support, RHEL and
/// its rebuilds maintenance support). Checked 2026-12.
pub const EOL: &[(&str, &str, &str, &str)] = &[
    ("debian", "8", "Debian 8 (jessie)", "2020-06-30"),
    ("debian", "9", "Debian 9 (stretch)", "2022-06-30"),
    ("debian", "10", "Debian 10 (buster)", "2024-06-30"),
    ("debian", "11", "Debian 11 (bullseye)", "2026-08-31"),
    ("debian", "12", "Debian 12 (bookworm)", "2028-06-30"),
    ("ubuntu", "16.04", "Ubuntu 16.04", "2021-04-30"),
    ("ubuntu", "18.04", "Ubuntu 18.04", "2023-05-31"),
    ("ubuntu", "20.04", "Ubuntu 20.04", "2025-05-31"),
    ("ubuntu", "22.04", "Ubuntu 22.04", "2027-06-01"),
    ("ubuntu", "24.04", "Ubuntu 24.04", "2029-05-31"),
    ("alpine", "3.14", "Alpine 3.14", "2023-05-01"),
    ("alpine", "3.15", "Alpine 3.15", "2023-11-01"),
    ("alpine", "3.16", "Alpine 3.16", "2024-05-23"),
    ("alpine", "3.17", "Alpine 3.17", "2024-11-22"),
    ("alpine", "3.18", "Alpine 3.18", "2025-05-09"),
    ("alpine", "3.19", "Alpine 3.19", "2025-11-01"),
    ("alpine", "3.20", "Alpine 3.20", "2026-04-01"),
    ("alpine", "3.21", "Alpine 3.21", "2026-11-01"),
    ("alpine", "3.22", "Alpine 3.22", "2027-05-01"),
    ("centos", "7", "CentOS 7", "2024-06-30"),
    ("centos", "8", "CentOS 8", "2021-12-31"),
    ("rhel", "7", "RHEL 7", "2024-06-30"),
    ("rhel", "8", "RHEL 8", "2029-05-31"),
    ("rhel", "9", "RHEL 9", "2032-05-31"),
    ("rocky", "8", "Rocky Linux 8", "2029-05-31"),
    ("rocky", "9", "Rocky Linux 9", "2032-05-31"),
];

/// The end-of-life entry of an OS, if the table has it.
pub fn eol_entry(
    id: &str,
    version: &str,
) -> Option<&'static (&'static str, &'static str, &'static str, &'static str)> {
    EOL.iter().find(|(i, v, _, _)| {
        *i == id && (version == *v || version.strip_prefix(v).is_some_and(|r| r.starts_with('.')))
    })
}

fn is_root_user(user: &str, m: &Merged) -> bool {
    let u = user.split(':').next().unwrap_or("").trim();
    if u.is_empty() || u == "root" || u == "0" {
        return true;
    }
    if u.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    m.facts
        .get("etc/passwd")
        .is_some_and(|(_, f)| f.users.iter().any(|(n, uid)| n == u && *uid == 0))
}

const SHELLS: &[&str] = &[
    "bin/sh",
    "bin/bash",
    "bin/dash",
    "bin/ash",
    "bin/busybox",
    "usr/bin/sh",
    "usr/bin/bash",
    "usr/bin/dash",
    "usr/bin/busybox",
];
const PACKAGE_MANAGERS: &[&str] = &[
    "usr/bin/apt",
    "usr/bin/apt-get",
    "usr/bin/dpkg",
    "sbin/apk",
    "usr/bin/apk",
    "bin/rpm",
    "usr/bin/rpm",
    "usr/bin/dnf",
    "usr/bin/yum",
    "usr/bin/microdnf",
    "usr/bin/pip",
    "usr/bin/pip3",
    "usr/local/bin/pip",
    "usr/local/bin/pip3",
    "usr/bin/npm",
    "usr/local/bin/npm",
];

/// Runs every hardening check.
pub fn check(a: &Analysis, o: &Options) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut add = |rule: &'static str, message: String, location: String| {
        out.push(Issue {
            rule,
            severity: crate::harden::rule(rule).severity,
            message,
            location,
        });
    };
    let m = &a.merged;
    let c = &a.config;
    // IMG101: a rootfs directory has no configuration, so no user to judge.
    if (!c.os.is_empty() || !c.diff_ids.is_empty()) && is_root_user(&c.user, m) {
        {
            let who = if c.user.is_empty() {
                "no USER is set".to_string()
            } else {
                format!("USER {} is root", c.user)
            };
            add(
                "IMG101",
                format!("the image runs as root: {who}"),
                "config.User".into(),
            );
        }
    }
    for (i, e) in c.env.iter().enumerate() {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        if let Some(h) = detect::scan_text(k, v).first() {
            add(
                "IMG102",
                format!("environment variable {k} {}", h.hit.describe()),
                format!("config.Env[{i}]"),
            );
        }
    }
    for (i, h) in c.history.iter().enumerate() {
        if let Some(t) = detect::scan_text("created_by", h).first() {
            add(
                "IMG103",
                format!(
                    "history entry {i} (the build command of a layer) {}",
                    t.hit.describe()
                ),
                format!("history[{i}]"),
            );
        }
        let lower = h.to_ascii_lowercase();
        if let Some(at) = lower.find("add ") {
            let rest = &lower[at + 4..];
            let first_arg = rest.split_whitespace().find(|w| !w.starts_with("--"));
            if first_arg.is_some_and(|w| w.starts_with("http://") || w.starts_with("https://"))
                && !lower.contains("--checksum")
            {
                add(
                    "IMG108",
                    format!("history entry {i} adds a file from a URL without a checksum"),
                    format!("history[{i}]"),
                );
            }
        }
    }
    for (path, (_, f)) in &m.facts {
        for s in &f.secrets {
            add(
                "IMG104",
                format!("/{path}:{} {}", s.line, s.what),
                format!("/{path}"),
            );
        }
    }
    for (path, (_, e)) in &m.entries {
        if e.kind == Kind::File && e.mode & 0o6000 != 0 {
            let bits = match (e.mode & 0o4000 != 0, e.mode & 0o2000 != 0) {
                (true, true) => "setuid and setgid",
                (true, false) => "setuid",
                _ => "setgid",
            };
            add(
                "IMG105",
                format!(
                    "/{path} is {bits} (mode {:04o}, owner uid {})",
                    e.mode & 0o7777,
                    e.uid
                ),
                format!("/{path}"),
            );
        }
    }
    if o.distroless {
        for p in SHELLS.iter().chain(PACKAGE_MANAGERS) {
            if m.resolve(p)
                .is_some_and(|e| e.kind == Kind::File || e.kind == Kind::Hardlink)
            {
                let what = if SHELLS.contains(p) {
                    "a shell"
                } else {
                    "a package manager"
                };
                add(
                    "IMG106",
                    format!("/{p} ({what}) is present in an image expected to be distroless"),
                    format!("/{p}"),
                );
            }
        }
    }
    if let Some(os) = &a.os {
        if let Some((_, _, name, date)) = eol_entry(&os.id, &os.version_id) {
            if !o.today.is_empty() && o.today.as_str() > *date {
                add(
                    "IMG107",
                    format!("{name} reached its end of life on {date}"),
                    "/etc/os-release".into(),
                );
            }
        }
    }
    let path = c
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        if let Some(e) = m.resolve(dir) {
            if e.kind == Kind::Dir && e.mode & 0o002 != 0 {
                add(
                    "IMG109",
                    format!(
                        "{dir} on PATH is world-writable (mode {:04o})",
                        e.mode & 0o7777
                    ),
                    dir.to_string(),
                );
            }
        }
    }
    if o.healthcheck && !c.exposed_ports.is_empty() && !c.healthcheck {
        add(
            "IMG110",
            format!(
                "the image exposes {} but has no HEALTHCHECK",
                c.exposed_ports.join(", ")
            ),
            "config.Healthcheck".into(),
        );
    }
    out
}
