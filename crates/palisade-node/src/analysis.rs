//! The analyses beyond the benchmark's file and flag checks: audit policy, encryption at
//! rest, CoreDNS Corefile, cloud metadata reachability, Kubernetes end of life. Each gives
//! [`Issue`]s with IDs from the table below, documented in the same style as the CIS checks.

use palisade_report::{RuleInfo, Severity};

/// One problem an analysis found.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub id: &'static str,
    pub severity: Severity,
    /// 1-based line in the analysed file; 0 when not tied to a line.
    pub line: u32,
    pub message: String,
}

impl Issue {
    pub fn new(id: &'static str, line: u32, message: impl Into<String>) -> Issue {
        let severity = rule(id).map(|r| r.severity).unwrap_or(Severity::Info);
        Issue {
            id,
            severity,
            line,
            message: message.into(),
        }
    }

    pub fn with_severity(mut self, s: Severity) -> Issue {
        self.severity = s;
        self
    }
}

/// A rule of the table, documented in the catalog's fixed sections.
pub use palisade_checks::meta::TableRule as Rule;

use Severity::{Critical, High, Low, Medium};

pub static RULES: &[Rule] = &[
    Rule { id: "AUD001", name: "audit-logs-secret-bodies", title: "Audit policy logs Secret or token bodies", severity: High,
        what: "Finds audit Policy rules that log `secrets`, `configmaps`, `tokenreviews`, `tokenrequests` or `serviceaccounts/token` at `Request` or `RequestResponse` level, taking rule order into account (the first matching rule decides).",
        why: "Request bodies of these resources carry credentials; at these levels they are copied into the audit log, which is usually shipped to a wider audience than the cluster's Secrets.",
        fix: "Add an earlier rule that logs these resources at `Metadata`.", example: "```yaml\n- level: RequestResponse\n  resources: [{group: \"\", resources: [secrets]}]\n```" },
    Rule { id: "AUD002", name: "audit-misses-exec", title: "Audit policy does not log exec, attach or port-forward", severity: High,
        what: "Finds `pods/exec`, `pods/attach` and `pods/portforward` requests whose first matching rule is `None`, or that no rule matches.",
        why: "Interactive access to a container is the most common step of an attack inside a cluster; without these events there is no trace of it.",
        fix: "Log `pods/exec`, `pods/attach` and `pods/portforward` at `Metadata` or higher.", example: "```yaml\n- level: None\n  resources: [{group: \"\", resources: [pods/exec]}]\n```" },
    Rule { id: "AUD003", name: "audit-missing-catch-all", title: "Audit policy has no catch-all rule", severity: Medium,
        what: "Checks that some rule matches every request (no `users`, `userGroups`, `verbs`, `resources`, `namespaces` or `nonResourceURLs` restriction) at a level other than `None`.",
        why: "Requests no rule matches are not logged at all, so new resources and API groups silently escape auditing.",
        fix: "End the policy with `- level: Metadata`.", example: "```yaml\nrules:\n  - level: Metadata\n    resources: [{group: \"\", resources: [pods]}]\n# nothing else is logged\n```" },
    Rule { id: "AUD004", name: "audit-unreachable-rule", title: "Audit policy rule can never match", severity: Low,
        what: "Finds rules placed after a catch-all rule.",
        why: "The first matching rule decides the level, so these rules have no effect and mislead readers.",
        fix: "Move the rule before the catch-all, or delete it.", example: "```yaml\n- level: Metadata\n- level: RequestResponse   # never reached\n  resources: [{group: \"\", resources: [pods/exec]}]\n```" },
    Rule { id: "AUD005", name: "audit-policy-invalid", title: "Audit policy is not a valid Policy", severity: High,
        what: "Checks the kind, that there are rules, and that each rule's level is one of None, Metadata, Request, RequestResponse.",
        why: "The API server refuses to start with an invalid policy, or audits nothing.",
        fix: "Write an `audit.k8s.io/v1` Policy with at least one rule.", example: "```yaml\nkind: Policy\nrules: []\n```" },
    Rule { id: "ENC001", name: "encryption-identity-first", title: "Secrets are stored in plaintext: identity is the first provider", severity: Critical,
        what: "Reads the EncryptionConfiguration and finds resource entries covering Secrets whose first provider is `identity`.",
        why: "The first provider encrypts new writes; with `identity` first, Secrets are written to etcd in the clear even though keys are configured below it.",
        fix: "Put `kms` (apiVersion v2), `secretbox`, `aesgcm` or `aescbc` first and rewrite existing Secrets (`kubectl get secrets -A -o json | kubectl replace -f -`).", example: "```yaml\nproviders:\n  - identity: {}\n  - secretbox: {keys: [{name: k1, secret: <base64>}]}\n```" },
    Rule { id: "ENC002", name: "encryption-secrets-not-covered", title: "Secrets are not covered by the EncryptionConfiguration", severity: Critical,
        what: "Checks that some resource entry lists `secrets`, `*.` or `*.*`.",
        why: "Resources that no entry lists are stored unencrypted.",
        fix: "Add `secrets` to a resource entry with a real provider first.", example: "```yaml\nresources:\n  - resources: [configmaps]\n    providers: [{secretbox: {keys: [{name: k1, secret: <base64>}]}}]\n```" },
    Rule { id: "ENC003", name: "encryption-weak-provider", title: "Encryption provider is weaker than recommended", severity: Medium,
        what: "Explains the first provider of each entry: `kms` v2 (recommended: envelope encryption with keys outside the node), `secretbox` (XSalsa20-Poly1305, strong, local key), `aesgcm` (strong, but the key must be rotated every 200,000 writes), `aescbc` (not recommended: vulnerable to padding-oracle attacks), `kms` v1 (deprecated since 1.28, disabled by default since 1.29).",
        why: "Local keys sit next to the data on the control plane node; weak modes let an attacker with etcd access recover plaintext.",
        fix: "Prefer `kms` v2; otherwise `secretbox`.", example: "```yaml\nproviders:\n  - aescbc: {keys: [{name: k1, secret: <base64>}]}\n```" },
    Rule { id: "ENC004", name: "encryption-bad-key", title: "Encryption key is missing or has the wrong length", severity: High,
        what: "Checks that `aescbc`/`aesgcm` keys decode to 16, 24 or 32 bytes and `secretbox` keys to 32 bytes, and that every provider has a key.",
        why: "The API server refuses to start with a malformed key, or runs without the intended protection.",
        fix: "Generate keys with `head -c 32 /dev/urandom | base64`.", example: "```yaml\n- secretbox: {keys: [{name: k1, secret: c2hvcnQ=}]}\n```" },
    Rule { id: "ENC005", name: "encryption-config-invalid", title: "EncryptionConfiguration is not valid", severity: High,
        what: "Checks the kind and that resources and providers are present.",
        why: "An invalid file stops the API server, or leaves resources unencrypted.",
        fix: "Write an `apiserver.config.k8s.io/v1` EncryptionConfiguration.", example: "```yaml\nkind: EncryptionConfig\n```" },
    Rule { id: "DNS001", name: "coredns-zone-exposed", title: "CoreDNS exposes zone data", severity: High,
        what: "Finds `transfer` blocks (zone transfers: `to *` to anyone) and the `kubernetes` plugin with `pods insecure` (answers for any pod IP without checking that a pod has it).",
        why: "Zone transfers list every Service and namespace of the cluster to whoever asks; `pods insecure` lets anyone mint DNS names for arbitrary IPs.",
        fix: "Remove `transfer` (or limit `to` to known secondaries); use `pods verified` or `pods disabled`.", example: "```text\ntransfer {\n    to *\n}\n```" },
    Rule { id: "DNS002", name: "coredns-untrusted-forward", title: "CoreDNS forwards to resolvers over plaintext on the internet", severity: Medium,
        what: "Finds `forward` targets that are public IP addresses reached over plain DNS (not `tls://`).",
        why: "Queries leave the network unencrypted and answers can be spoofed on the way; a public resolver also sees every external name the cluster resolves.",
        fix: "Forward to `/etc/resolv.conf` (the node's resolvers) or to `tls://` upstreams with `tls_servername`.", example: "```text\nforward . 8.8.8.8\n```" },
    Rule { id: "DNS003", name: "coredns-missing-cache", title: "CoreDNS server block has no cache", severity: Low,
        what: "Finds server blocks that forward without the `cache` plugin.",
        why: "Every query goes upstream: slower, and an easy amplifier against the upstream resolvers.",
        fix: "Add `cache 30`.", example: "```text\n.:53 {\n    forward . /etc/resolv.conf\n}\n```" },
    Rule { id: "DNS004", name: "coredns-missing-loop", title: "CoreDNS server block has no loop detection", severity: Medium,
        what: "Finds server blocks that forward without the `loop` plugin.",
        why: "A forwarding loop (for example through a node resolv.conf pointing at 127.0.0.53) makes CoreDNS exhaust memory and crash, taking cluster DNS down.",
        fix: "Add `loop`.", example: "```text\n.:53 {\n    forward . /etc/resolv.conf\n    cache 30\n}\n```" },
    Rule { id: "DNS005", name: "corefile-invalid", title: "Corefile cannot be parsed", severity: High,
        what: "Reports unbalanced braces and blocks without a server key.",
        why: "CoreDNS refuses to load the file.",
        fix: "Fix the syntax.", example: "```text\n.:53 {\n    errors\n```" },
    Rule { id: "MD001", name: "metadata-api-reachable", title: "Workload can reach the cloud metadata API", severity: High,
        what: "Runs the network policy engine over the manifests and lists workloads whose egress to `169.254.169.254/32` is allowed (TCP 80); host-network pods are reported as reachable because policies do not apply to them. The IPv6 address `fd00:ec2::254` is reported for workloads not isolated for egress (the engine models IPv4 ipBlocks only).",
        why: "The instance metadata service hands out the node's cloud credentials; a compromised pod that reaches it acts with the node's cloud role.",
        fix: "Add an egress policy with an `ipBlock` that excepts `169.254.169.254/32` (or a deny rule in an AdminNetworkPolicy), and require IMDSv2 with a hop limit of 1.", example: "A namespace without an egress policy: every pod reaches `169.254.169.254`." },
    Rule { id: "EOL001", name: "kubernetes-end-of-life", title: "Kubernetes version is past or near its end of life", severity: High,
        what: "Compares the control plane's Kubernetes minor version (from the API server image tag or `--kubernetes-version`) with a dated table of upstream end-of-life dates; within 90 days is medium.",
        why: "Versions past end of life get no security fixes.",
        fix: "Upgrade to a supported minor version.", example: "`registry.k8s.io/kube-apiserver:v1.29.4` after 2025-02-28." },
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

pub fn rule_infos() -> Vec<RuleInfo> {
    RULES.iter().map(|r| r.info("node")).collect()
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD` to days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(parse_date("2026-12-03"), Some(days_from_civil(2026, 12, 3)));
        assert_eq!(parse_date("2026-13-03"), None);
    }

    #[test]
    fn every_rule_is_documented_once() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id));
            assert!(!r.what.is_empty() && !r.why.is_empty() && !r.fix.is_empty());
        }
    }
}
