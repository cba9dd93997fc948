//! Audit policy analysis (`audit.k8s.io/v1` Policy), with the API server's matching: rules
//! are tried in order and the first rule that matches a request decides its level.

use crate::analysis::Issue;
use palisade_model::Node;

const LEVELS: &[&str] = &["None", "Metadata", "Request", "RequestResponse"];

/// One rule of the policy, as read.
#[derive(Clone, Debug)]
struct Rule {
    line: u32,
    level: String,
    users: bool,
    groups: bool,
    namespaces: Vec<String>,
    verbs: Vec<String>,
    /// (group, resources, has resourceNames)
    resources: Option<Vec<(String, Vec<String>, bool)>>,
    non_resource: bool,
}

impl Rule {
    /// Matches every request (nothing restricts it).
    fn is_catch_all(&self) -> bool {
        !self.users
            && !self.groups
            && self.namespaces.is_empty()
            && self.verbs.is_empty()
            && self.resources.is_none()
            && !self.non_resource
    }

    /// Matches this resource request for *some* users/namespaces, and for *all* of them?
    fn matches(&self, group: &str, resource: &str, verb: &str) -> Option<bool> {
        if self.non_resource && self.resources.is_none() {
            return None;
        }
        if !self.verbs.is_empty() && !self.verbs.iter().any(|v| v == verb || v == "*") {
            return None;
        }
        let mut all = !self.users && !self.groups && self.namespaces.is_empty();
        if let Some(rs) = &self.resources {
            let mut hit = false;
            for (g, res, named) in rs {
                if g != group && g != "*" {
                    continue;
                }
                if res.is_empty() || res.iter().any(|r| resource_matches(r, resource)) {
                    hit = true;
                    if !named {
                        all &= true;
                    } else {
                        all = false;
                    }
                }
            }
            if !hit {
                return None;
            }
        }
        Some(all)
    }
}

fn resource_matches(pattern: &str, resource: &str) -> bool {
    if pattern == "*" || pattern == resource {
        return true;
    }
    let (r, sub) = resource.split_once('/').unwrap_or((resource, ""));
    if let Some(p) = pattern.strip_suffix("/*") {
        return !sub.is_empty() && p == r;
    }
    if let Some(s) = pattern.strip_prefix("*/") {
        return sub == s;
    }
    false
}

fn strings(n: Option<&Node>) -> Vec<String> {
    n.map(|n| n.items().iter().filter_map(|i| i.scalar_string()).collect())
        .unwrap_or_default()
}

fn rank(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

/// Sensitive resources: (group, resource, what).
const SENSITIVE: &[(&str, &str, &str)] = &[
    ("", "secrets", "Secrets"),
    ("", "configmaps", "ConfigMaps"),
    (
        "",
        "serviceaccounts/token",
        "service account token requests",
    ),
    ("authentication.k8s.io", "tokenreviews", "TokenReviews"),
];
const SENSITIVE_VERBS: &[&str] = &["get", "list", "watch", "create", "update", "patch"];
const INTERACTIVE: &[(&str, &str)] = &[
    ("pods/exec", "exec"),
    ("pods/attach", "attach"),
    ("pods/portforward", "port-forward"),
];

/// Analyses a policy document.
pub fn analyze(doc: &Node) -> Vec<Issue> {
    let mut out = Vec::new();
    let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "Policy" {
        out.push(Issue::new(
            "AUD005",
            doc.pos.line,
            format!("kind is {kind:?}, not Policy"),
        ));
        return out;
    }
    let mut rules = Vec::new();
    for r in doc.get("rules").map(|n| n.items()).unwrap_or(&[]) {
        let level = r
            .get("level")
            .and_then(|l| l.as_str())
            .unwrap_or("")
            .to_string();
        if !LEVELS.contains(&level.as_str()) {
            out.push(Issue::new(
                "AUD005",
                r.pos.line,
                format!(
                    "rule level {level:?} is not one of None, Metadata, Request, RequestResponse"
                ),
            ));
            continue;
        }
        let resources = r.get("resources").map(|rs| {
            rs.items()
                .iter()
                .map(|g| {
                    (
                        g.get("group")
                            .and_then(|s| s.scalar_string())
                            .unwrap_or_default(),
                        strings(g.get("resources")),
                        !g.get("resourceNames")
                            .map(|n| n.items().is_empty())
                            .unwrap_or(true),
                    )
                })
                .collect()
        });
        rules.push(Rule {
            line: r.pos.line,
            level,
            users: !strings(r.get("users")).is_empty(),
            groups: !strings(r.get("userGroups")).is_empty(),
            namespaces: strings(r.get("namespaces")),
            verbs: strings(r.get("verbs")),
            resources,
            non_resource: !strings(r.get("nonResourceURLs")).is_empty(),
        });
    }
    if rules.is_empty() {
        out.push(Issue::new(
            "AUD005",
            doc.pos.line,
            "the policy has no valid rules: the API server refuses it",
        ));
        return out;
    }

    // AUD001: a rule that logs sensitive bodies for some request, before the first rule
    // that catches all such requests.
    for (g, res, what) in SENSITIVE {
        let mut reported = std::collections::HashSet::new();
        for verb in SENSITIVE_VERBS {
            for (i, r) in rules.iter().enumerate() {
                let Some(all) = r.matches(g, res, verb) else {
                    continue;
                };
                if rank(&r.level) >= 2 && reported.insert(i) {
                    out.push(
                        Issue::new(
                            "AUD001",
                            r.line,
                            format!("{what} are logged at {} by this rule: their contents end up in the audit log", r.level),
                        )
                        .with_severity(if *res == "configmaps" {
                            palisade_report::Severity::Medium
                        } else {
                            palisade_report::Severity::High
                        }),
                    );
                }
                if all {
                    break;
                }
            }
        }
    }

    // AUD002: interactive access not logged.
    for (res, what) in INTERACTIVE {
        let mut decided = None;
        for r in &rules {
            if let Some(all) = r.matches("", res, "create") {
                if all {
                    decided = Some(r);
                    break;
                }
            }
        }
        match decided {
            None => out.push(Issue::new(
                "AUD002",
                0,
                format!("no rule matches every {what} request ({res}): they are not logged"),
            )),
            Some(r) if r.level == "None" => out.push(Issue::new(
                "AUD002",
                r.line,
                format!("{what} requests ({res}) are matched first by this level None rule: they are not logged"),
            )),
            Some(_) => {}
        }
    }

    // AUD003/AUD004: catch-all.
    match rules.iter().position(Rule::is_catch_all) {
        None => out.push(Issue::new(
            "AUD003",
            rules.last().map(|r| r.line).unwrap_or(0),
            "no catch-all rule: requests that no rule matches are not logged",
        )),
        Some(i) => {
            if rules[i].level == "None" {
                out.push(Issue::new(
                    "AUD003",
                    rules[i].line,
                    "the catch-all rule has level None: everything not matched earlier is dropped",
                ));
            }
            for r in &rules[i + 1..] {
                out.push(Issue::new(
                    "AUD004",
                    r.line,
                    "this rule comes after the catch-all rule and never matches",
                ));
            }
        }
    }
    out.sort_by_key(|i| (i.line, i.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::yaml::{parse_documents, Limits};

    fn run(y: &str) -> Vec<Issue> {
        let d = parse_documents(y, Limits::default())
            .remove(0)
            .result
            .unwrap()
            .unwrap();
        analyze(&d)
    }

    #[test]
    fn resource_patterns() {
        assert!(resource_matches("*", "pods/exec"));
        assert!(resource_matches("pods/*", "pods/exec"));
        assert!(!resource_matches("pods/*", "pods"));
        assert!(resource_matches("*/exec", "pods/exec"));
        assert!(!resource_matches("pods", "pods/exec"));
    }

    #[test]
    fn good_policy_is_clean() {
        let i = run(r#"
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: [secrets, configmaps, serviceaccounts/token]
      - group: authentication.k8s.io
        resources: [tokenreviews]
  - level: RequestResponse
    resources:
      - group: ""
        resources: [pods/exec, pods/attach, pods/portforward]
  - level: Request
    resources:
      - group: ""
  - level: Metadata
"#);
        assert!(i.is_empty(), "{i:?}");
    }

    #[test]
    fn leaks_gaps_and_order() {
        let i = run(r#"
kind: Policy
rules:
  - level: None
    resources:
      - group: ""
        resources: [pods/exec]
  - level: RequestResponse
    users: [admin]
  - level: Request
  - level: Metadata
"#);
        let ids: Vec<(&str, u32)> = i.iter().map(|i| (i.id, i.line)).collect();
        assert_eq!(
            ids,
            [
                ("AUD002", 4),
                ("AUD001", 8),
                ("AUD001", 8),
                ("AUD001", 8),
                ("AUD001", 8),
                ("AUD001", 10),
                ("AUD001", 10),
                ("AUD001", 10),
                ("AUD001", 10),
                ("AUD004", 11),
            ]
        );
    }
}
