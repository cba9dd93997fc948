//! Least-privilege roles from an audit log: what a subject did (audit `Event`s, as JSON lines
//! or `EventList` documents) becomes the Roles, ClusterRole and bindings that allow exactly
//! that.
//!
//! - Namespaced requests go to one Role per namespace (with a RoleBinding); cluster-scoped
//!   requests (and a namespaced resource listed across all namespaces) and non-resource URLs
//!   go to one ClusterRole (with a ClusterRoleBinding).
//! - Requests the API server refused (a response code of 401 or 403) were not done: they are
//!   left out unless `include_denied` is set, and counted.
//! - Each event is counted once (by `auditID`, across stages).
//! - `resourceNames` are kept where the authorizer can use them: for verbs about one object
//!   (`get`, `update`, `patch`, `delete`, and subresources), when every request for that
//!   resource and verb named an object and there are at most [`MAX_NAMES`] names. `create`,
//!   `list`, `watch` and `deletecollection` never carry names.
//! - Rules are merged: the same resources with the same names share verbs, and the same
//!   verbs and names share resources within a group.

use crate::authz::Request;
use crate::model::Subject;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The largest number of distinct object names kept in `resourceNames`.
pub const MAX_NAMES: usize = 10;

/// A request read from an audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRequest {
    pub user: String,
    pub groups: Vec<String>,
    pub request: Request,
    pub code: Option<i64>,
    /// Where the event was read (`file:line`).
    pub at: String,
}

/// Problems met while reading a log: never fatal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    pub source: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: error: {}", self.source, self.line, self.message)
    }
}

/// Reads audit events from `text`: one JSON document (an `EventList` or an `Event`, however
/// it is laid out), or JSON lines, each an `Event` or an `EventList`. A malformed line is
/// reported with its line number and skipped.
pub fn read_audit_log(source: &str, text: &str) -> (Vec<AuditRequest>, Vec<LogError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let line = line_at(text, 0);
        take_value(&v, source, line, &mut out, &mut errors, &mut seen);
        return (out, errors);
    }
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => take_value(&v, source, i + 1, &mut out, &mut errors, &mut seen),
            Err(e) => errors.push(LogError {
                source: source.to_string(),
                line: i + 1,
                message: format!("not valid JSON: {e}"),
            }),
        }
    }
    (out, errors)
}

fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    // Skip leading whitespace so the line is the value's own.
    let rest = &text[offset..];
    let skip = rest.len() - rest.trim_start().len();
    text.as_bytes()[..offset + skip]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn take_value(
    v: &Value,
    source: &str,
    line: usize,
    out: &mut Vec<AuditRequest>,
    errors: &mut Vec<LogError>,
    seen: &mut HashSet<String>,
) {
    match v.get("kind").and_then(Value::as_str) {
        Some("EventList") => {
            for (i, item) in v
                .get("items")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                match event(item, source, line) {
                    Ok(Some((id, r))) => {
                        if id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                            out.push(r)
                        }
                    }
                    Ok(None) => {}
                    Err(m) => errors.push(LogError {
                        source: source.to_string(),
                        line,
                        message: format!("items[{i}]: {m}"),
                    }),
                }
            }
        }
        Some("Event") | None => match event(v, source, line) {
            Ok(Some((id, r))) => {
                if id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                    out.push(r)
                }
            }
            Ok(None) => {}
            Err(m) => errors.push(LogError {
                source: source.to_string(),
                line,
                message: m,
            }),
        },
        Some(other) => errors.push(LogError {
            source: source.to_string(),
            line,
            message: format!("expected an audit Event or EventList, not kind {other:?}"),
        }),
    }
}

/// One event → its request (`None` for a stage that carries no decision, e.g. `Panic`).
#[allow(clippy::type_complexity)]
fn event(
    v: &Value,
    source: &str,
    line: usize,
) -> Result<Option<(Option<String>, AuditRequest)>, String> {
    if !v.is_object() {
        return Err("an audit event must be a JSON object".into());
    }
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    let verb = s("/verb").ok_or("event has no verb")?;
    let user = s("/user/username").ok_or("event has no user.username")?;
    let groups = v
        .pointer("/user/groups")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let request = match v.get("objectRef").filter(|o| o.is_object()) {
        Some(o) => {
            let os = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
            let resource = os("resource");
            if resource.is_empty() {
                return Err("objectRef has no resource".into());
            }
            Request {
                verb: verb.to_string(),
                group: os("apiGroup").to_string(),
                resource: resource.to_string(),
                subresource: os("subresource").to_string(),
                namespace: Some(os("namespace"))
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                name: Some(os("name"))
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                path: None,
            }
        }
        None => {
            let uri = s("/requestURI").ok_or("event has neither objectRef nor requestURI")?;
            let path = uri.split('?').next().unwrap_or(uri);
            Request::non_resource(verb, path)
        }
    };
    Ok(Some((
        s("/auditID").map(str::to_string),
        AuditRequest {
            user: user.to_string(),
            groups,
            request,
            code: v.pointer("/responseStatus/code").and_then(Value::as_i64),
            at: format!("{source}:{line}"),
        },
    )))
}

/// Options of [`generate`].
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// The subject whose requests to allow.
    pub subject: Subject,
    /// Name of the generated roles and bindings.
    pub name: String,
    /// Also allow requests the API server refused (401/403).
    pub include_denied: bool,
}

/// A generated rule (before rendering).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GenRule {
    pub group: String,
    pub resources: BTreeSet<String>,
    pub names: BTreeSet<String>,
    pub verbs: BTreeSet<String>,
    pub urls: BTreeSet<String>,
}

/// What [`generate`] produces.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// Namespace → rules of its Role.
    pub roles: BTreeMap<String, Vec<GenRule>>,
    /// Rules of the ClusterRole.
    pub cluster_rules: Vec<GenRule>,
    /// Requests of the subject that were used.
    pub used: usize,
    /// Requests left out because the API server refused them.
    pub denied: usize,
    /// The manifests (YAML, several documents).
    pub yaml: String,
}

fn matches_subject(r: &AuditRequest, s: &Subject) -> bool {
    match s.kind {
        crate::model::SubjectKind::Group => r.groups.contains(&s.name),
        _ => r.user == s.username(),
    }
}

/// Verbs the authorizer can limit by name for a plain resource.
fn nameable(verb: &str, subresource: &str) -> bool {
    !subresource.is_empty() && verb != "list" && verb != "watch"
        || matches!(verb, "get" | "update" | "patch" | "delete")
}

/// Builds least-privilege roles for `opts.subject` from `requests`.
pub fn generate(requests: &[AuditRequest], opts: &GenerateOptions) -> Generated {
    let mut gen = Generated::default();
    // (scope ns or None, group, resource/sub, verb) → names seen (None: some unnamed)
    type Key = (Option<String>, String, String, String);
    let mut seen: BTreeMap<Key, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut urls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in requests
        .iter()
        .filter(|r| matches_subject(r, &opts.subject))
    {
        if matches!(r.code, Some(401 | 403)) && !opts.include_denied {
            gen.denied += 1;
            continue;
        }
        gen.used += 1;
        let q = &r.request;
        if let Some(p) = &q.path {
            urls.entry(p.clone()).or_default().insert(q.verb.clone());
            continue;
        }
        let key = (
            q.namespace.clone(),
            q.group.clone(),
            q.combined_resource(),
            q.verb.clone(),
        );
        let named = nameable(&q.verb, &q.subresource) && q.name.is_some();
        let e = seen.entry(key).or_insert_with(|| named.then(BTreeSet::new));
        match (e.as_mut(), named, &q.name) {
            (Some(set), true, Some(n)) => {
                set.insert(n.clone());
                if set.len() > MAX_NAMES {
                    *e = None;
                }
            }
            _ => *e = None,
        }
    }
    // Group by scope → (group, names) → resource → verbs, then merge.
    let mut by_scope: BTreeMap<Option<String>, Vec<GenRule>> = BTreeMap::new();
    for ((ns, group, resource, verb), names) in seen {
        let rules = by_scope.entry(ns).or_default();
        let names = names.unwrap_or_default();
        match rules.iter_mut().find(|r| {
            r.group == group
                && r.names == names
                && r.resources.len() == 1
                && r.resources.contains(&resource)
        }) {
            Some(r) => {
                r.verbs.insert(verb);
            }
            None => rules.push(GenRule {
                group,
                resources: BTreeSet::from([resource]),
                names,
                verbs: BTreeSet::from([verb]),
                urls: BTreeSet::new(),
            }),
        }
    }
    for rules in by_scope.values_mut() {
        *rules = merge_resources(std::mem::take(rules));
    }
    for (ns, rules) in by_scope {
        match ns {
            Some(ns) => {
                gen.roles.insert(ns, rules);
            }
            None => gen.cluster_rules.extend(rules),
        }
    }
    // Non-resource URLs with the same verbs share a rule.
    let mut by_verbs: BTreeMap<BTreeSet<String>, BTreeSet<String>> = BTreeMap::new();
    for (u, verbs) in urls {
        by_verbs.entry(verbs).or_default().insert(u);
    }
    for (verbs, urls) in by_verbs {
        gen.cluster_rules.push(GenRule {
            group: String::new(),
            resources: BTreeSet::new(),
            names: BTreeSet::new(),
            verbs,
            urls,
        });
    }
    gen.yaml = render(&gen, opts);
    gen
}

/// Rules in one group with the same verbs and names share one rule.
fn merge_resources(rules: Vec<GenRule>) -> Vec<GenRule> {
    let mut merged: BTreeMap<(String, BTreeSet<String>, BTreeSet<String>), BTreeSet<String>> =
        BTreeMap::new();
    for r in rules {
        merged
            .entry((r.group, r.verbs, r.names))
            .or_default()
            .extend(r.resources);
    }
    merged
        .into_iter()
        .map(|((group, verbs, names), resources)| GenRule {
            group,
            resources,
            names,
            verbs,
            urls: BTreeSet::new(),
        })
        .collect()
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn yaml_list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| yaml_str(&s)).collect();
    format!("[{}]", v.join(", "))
}

fn render_rules(rules: &[GenRule], out: &mut String) {
    out.push_str("rules:\n");
    for r in rules {
        if !r.urls.is_empty() {
            out.push_str(&format!(
                "  - nonResourceURLs: {}\n    verbs: {}\n",
                yaml_list(r.urls.iter().cloned()),
                yaml_list(r.verbs.iter().cloned())
            ));
            continue;
        }
        out.push_str(&format!(
            "  - apiGroups: [{}]\n    resources: {}\n",
            yaml_str(&r.group),
            yaml_list(r.resources.iter().cloned())
        ));
        if !r.names.is_empty() {
            out.push_str(&format!(
                "    resourceNames: {}\n",
                yaml_list(r.names.iter().cloned())
            ));
        }
        out.push_str(&format!(
            "    verbs: {}\n",
            yaml_list(r.verbs.iter().cloned())
        ));
    }
}

fn subject_yaml(s: &Subject) -> String {
    match s.kind {
        crate::model::SubjectKind::ServiceAccount => format!(
            "  - kind: ServiceAccount\n    name: {}\n    namespace: {}\n",
            yaml_str(&s.name),
            yaml_str(s.namespace.as_deref().unwrap_or("default"))
        ),
        k => format!(
            "  - kind: {}\n    apiGroup: rbac.authorization.k8s.io\n    name: {}\n",
            k.as_str(),
            yaml_str(&s.name)
        ),
    }
}

fn render(gen: &Generated, opts: &GenerateOptions) -> String {
    let mut out = String::new();
    let name = yaml_str(&opts.name);
    let subj = subject_yaml(&opts.subject);
    let header = format!(
        "# Generated by palisade rbac generate for {} from {} audited requests{}.\n",
        opts.subject,
        gen.used,
        if gen.denied > 0 {
            format!(" ({} refused requests left out)", gen.denied)
        } else {
            String::new()
        }
    );
    out.push_str(&header);
    if !gen.cluster_rules.is_empty() {
        out.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
        ));
        render_rules(&gen.cluster_rules, &mut out);
        out.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {name}\nsubjects:\n{subj}"
        ));
    }
    for (ns, rules) in &gen.roles {
        let ns = yaml_str(ns);
        out.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        ));
        render_rules(rules, &mut out);
        out.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {name}\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {name}\nsubjects:\n{subj}"
        ));
    }
    out
}
