use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::util::strings;
use palisade_model::{node, Node, Object};

declare_check! {
    /// ## What it does
    /// Flags Ingresses (`networking.k8s.io` or the legacy `extensions` group) that serve
    /// hosts without TLS: an Ingress with no `spec.tls` at all is one finding at `spec`;
    /// otherwise each rule whose `host` is not listed in any `spec.tls[].hosts` is a finding
    /// at that rule's `host`. A `tls` host `*.example.com` covers `a.example.com`. A rule
    /// without a host is covered by a `tls` entry without `hosts` (the controller's default
    /// certificate).
    ///
    /// ## Why is this bad?
    /// Without TLS, requests and responses (credentials, session cookies, personal data)
    /// cross the network in clear text and can be read or modified by anyone on the path.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   rules:
    ///     - host: shop.example.com
    ///       http: {paths: [...]}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   tls:
    ///     - hosts: [shop.example.com]
    ///       secretName: shop-example-com-tls
    ///   rules:
    ///     - host: shop.example.com
    ///       http: {paths: [...]}
    /// ```
    pub struct IngressWithoutTls {
        id: "PAL404",
        name: "ingress-without-tls",
        title: "Ingress host without TLS",
        severity: Medium,
        category: Network,
        pss: None,
        cis: None,
        nsa: Some("Network separation and hardening: Encryption"),
        mitre: &["T1040"],
    }
}

/// Does a `tls` host cover a rule host? Exact match (case-insensitive) or a `*.` wildcard
/// covering exactly one more label.
fn covers(tls_host: &str, host: &str) -> bool {
    if tls_host.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = tls_host.strip_prefix("*.") else {
        return false;
    };
    match host.split_once('.') {
        Some((label, rest)) => {
            !label.is_empty() && label != "*" && rest.eq_ignore_ascii_case(suffix)
        }
        None => false,
    }
}

impl Check for IngressWithoutTls {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        if obj.kind != "Ingress" || !matches!(obj.group(), "networking.k8s.io" | "extensions") {
            return;
        }
        let spec = obj.root.get("spec").unwrap_or(Node::null());
        let tls = spec.get("tls").map(Node::items).unwrap_or(&[]);
        if tls.is_empty() {
            out.emit(
                "spec",
                obj.locate(&["spec"]),
                "Ingress has no spec.tls: every host it serves is plain HTTP",
            );
            return;
        }
        let tls_hosts: Vec<String> = tls.iter().flat_map(|t| strings(t.get("hosts"))).collect();
        let default_cert = tls
            .iter()
            .any(|t| t.is_map() && t.get("hosts").is_none_or(|h| h.items().is_empty()));
        let rules = spec.get("rules").map(Node::items).unwrap_or(&[]);
        for (i, rule) in rules.iter().enumerate() {
            if !rule.is_map() {
                continue;
            }
            let path = node::index("spec.rules", i);
            match rule
                .get("host")
                .and_then(Node::scalar_string)
                .filter(|h| !h.is_empty())
            {
                Some(host) => {
                    if !tls_hosts.iter().any(|t| covers(t, &host)) {
                        out.emit(
                            node::join(&path, "host"),
                            rule.locate(&["host"]),
                            format!("Ingress host {host:?} is not listed in any spec.tls[].hosts: it is served over plain HTTP"),
                        );
                    }
                }
                None => {
                    if !default_cert {
                        out.emit(
                            path,
                            if rule.pos.line > 0 { rule.pos } else { obj.locate(&["spec", "rules"]) },
                            "Ingress rule without a host is not covered by a spec.tls entry without hosts: it is served over plain HTTP",
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_ingresses_and_hosts_without_tls() {
        let f = run(
            &IngressWithoutTls,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain}
spec:
  rules:
    - host: shop.example.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: partial}
spec:
  tls:
    - hosts: [shop.example.com, "*.apps.example.com"]
      secretName: tls
  rules:
    - host: SHOP.example.com
    - host: admin.example.com
    - host: api.apps.example.com
    - host: deep.api.apps.example.com
    - http: {paths: []}
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec",
                "spec.rules[1].host",
                "spec.rules[3].host",
                "spec.rules[4]"
            ]
        );
        assert_eq!(
            [f[0].line, f[1].line, f[2].line, f[3].line],
            [5, 18, 20, 21]
        );
        assert!(
            f[1].message.contains("\"admin.example.com\""),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn ignores_covered_hosts_and_other_kinds() {
        let f = run(
            &IngressWithoutTls,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ok}
spec:
  tls:
    - hosts: [shop.example.com]
    - secretName: default-cert
  rules:
    - host: shop.example.com
    - http: {paths: []}
---
apiVersion: traefik.io/v1alpha1
kind: Ingress
metadata: {name: other}
spec: {rules: [{host: a.example.com}]}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: odd}
spec: {tls: [{hosts: [a.example.com]}], rules: [7, ~, {host: a.example.com}]}
"#,
        );
        assert!(f.is_empty(), "{:?}", paths(&f));
        assert!(covers("*.example.com", "a.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
    }
}
