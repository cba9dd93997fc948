//! `MatchResources` (a policy's `matchConstraints`, a binding's `matchResources`) and how a
//! request matches them: `k8s.io/apiserver/pkg/admission/plugin/policy/matching` and
//! `.../webhook/predicates/{namespace,object,rules}`.

use palisade_model::{LabelSelector, Node};
use serde_json::Value;

use crate::request::{AdmissionRequest, Operation};

/// One `resourceRules` / `excludeResourceRules` entry.
#[derive(Clone, Debug, Default)]
pub struct ResourceRule {
    pub operations: Vec<String>,
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    /// `*` (default), `Cluster` or `Namespaced`.
    pub scope: String,
    pub resource_names: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchPolicy {
    Exact,
    /// The default: a rule written for another version of the same resource matches too.
    #[default]
    Equivalent,
}

#[derive(Clone, Debug, Default)]
pub struct MatchResources {
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
    pub resource_rules: Vec<ResourceRule>,
    pub exclude_resource_rules: Vec<ResourceRule>,
    pub match_policy: MatchPolicy,
}

const OPERATIONS: &[&str] = &["*", "CREATE", "UPDATE", "DELETE", "CONNECT"];

fn strings(node: &Node, key: &str, field: &str, problems: &mut Vec<(String, u32)>) -> Vec<String> {
    match node.get(key) {
        None => Vec::new(),
        Some(n) if n.is_null() => Vec::new(),
        Some(n) if n.is_seq() => n
            .items()
            .iter()
            .filter_map(|i| match i.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    problems.push((format!("{field}.{key}: items must be strings"), i.pos.line));
                    None
                }
            })
            .collect(),
        Some(n) => {
            problems.push((
                format!("{field}.{key}: must be a list of strings"),
                n.pos.line,
            ));
            Vec::new()
        }
    }
}

fn rules(
    node: &Node,
    key: &str,
    field: &str,
    problems: &mut Vec<(String, u32)>,
) -> Vec<ResourceRule> {
    let Some(list) = node.get(key).filter(|n| !n.is_null()) else {
        return Vec::new();
    };
    if !list.is_seq() {
        problems.push((format!("{field}.{key}: must be a list"), list.pos.line));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, r) in list.items().iter().enumerate() {
        let f = format!("{field}.{key}[{i}]");
        if !r.is_map() {
            problems.push((format!("{f}: must be a mapping"), r.pos.line));
            continue;
        }
        let rule = ResourceRule {
            operations: strings(r, "operations", &f, problems),
            api_groups: strings(r, "apiGroups", &f, problems),
            api_versions: strings(r, "apiVersions", &f, problems),
            resources: strings(r, "resources", &f, problems),
            scope: r
                .get("scope")
                .and_then(Node::as_str)
                .unwrap_or("*")
                .to_string(),
            resource_names: strings(r, "resourceNames", &f, problems),
        };
        for op in &rule.operations {
            if !OPERATIONS.contains(&op.as_str()) {
                problems.push((
                    format!("{f}.operations: unsupported operation {op:?}"),
                    r.pos.line,
                ));
            }
        }
        if !matches!(rule.scope.as_str(), "*" | "Cluster" | "Namespaced") {
            problems.push((
                format!("{f}.scope: unsupported scope {:?}", rule.scope),
                r.pos.line,
            ));
        }
        for (what, list) in [
            ("operations", &rule.operations),
            ("apiGroups", &rule.api_groups),
            ("apiVersions", &rule.api_versions),
            ("resources", &rule.resources),
        ] {
            if list.is_empty() {
                problems.push((format!("{f}.{what}: required value"), r.pos.line));
            }
        }
        out.push(rule);
    }
    out
}

fn selector(
    node: &Node,
    key: &str,
    field: &str,
    problems: &mut Vec<(String, u32)>,
) -> LabelSelector {
    match node.get(key) {
        None => LabelSelector::default(),
        Some(n) => {
            let s = LabelSelector::from_node(n);
            if s.invalid {
                problems.push((format!("{field}.{key}: invalid label selector"), n.pos.line));
            }
            s
        }
    }
}

impl MatchResources {
    /// Reads a `MatchResources` node. Problems (field, line) are appended to `problems`; the
    /// result is usable either way (an invalid selector matches nothing).
    pub fn from_node(
        node: &Node,
        field: &str,
        problems: &mut Vec<(String, u32)>,
    ) -> MatchResources {
        if !node.is_map() {
            problems.push((format!("{field}: must be a mapping"), node.pos.line));
            return MatchResources::default();
        }
        let match_policy = match node.get("matchPolicy").and_then(Node::as_str) {
            None | Some("Equivalent") => MatchPolicy::Equivalent,
            Some("Exact") => MatchPolicy::Exact,
            Some(other) => {
                problems.push((
                    format!("{field}.matchPolicy: unsupported value {other:?}"),
                    node.pos.line,
                ));
                MatchPolicy::Equivalent
            }
        };
        MatchResources {
            namespace_selector: selector(node, "namespaceSelector", field, problems),
            object_selector: selector(node, "objectSelector", field, problems),
            resource_rules: rules(node, "resourceRules", field, problems),
            exclude_resource_rules: rules(node, "excludeResourceRules", field, problems),
            match_policy,
        }
    }

    /// Whether the request matches. `namespace_labels` gives the labels of the request's
    /// namespace (used only when the namespace selector is not empty).
    pub fn matches(&self, req: &AdmissionRequest, namespace_labels: &dyn Fn() -> Value) -> bool {
        self.namespace_matches(req, namespace_labels)
            && self.object_matches(req)
            && !self.rules_match(&self.exclude_resource_rules, req)
            && (self.resource_rules.is_empty() || self.rules_match(&self.resource_rules, req))
    }

    fn namespace_matches(
        &self,
        req: &AdmissionRequest,
        namespace_labels: &dyn Fn() -> Value,
    ) -> bool {
        let is_namespace = is_namespace_resource(req);
        if !req.is_namespaced() && !is_namespace {
            // Cluster-scoped resources are never exempted by a namespace selector.
            return true;
        }
        if self.namespace_selector.is_empty() {
            return true;
        }
        let labels = if is_namespace
            && req.sub_resource.as_deref().unwrap_or("").is_empty()
            && matches!(req.operation, Operation::Create | Operation::Update)
        {
            labels_of(req.object.as_ref())
        } else {
            namespace_labels()
        };
        self.namespace_selector
            .matches(&palisade_model::Node::from_json(&labels))
    }

    fn object_matches(&self, req: &AdmissionRequest) -> bool {
        if self.object_selector.is_empty() {
            return true;
        }
        let matches = |o: Option<&Value>| {
            o.is_some_and(|o| {
                self.object_selector
                    .matches(&palisade_model::Node::from_json(&labels_of(Some(o))))
            })
        };
        matches(req.object.as_ref()) || matches(req.old_object.as_ref())
    }

    fn rules_match(&self, rules: &[ResourceRule], req: &AdmissionRequest) -> bool {
        if rules.iter().any(|r| r.matches(req, false)) {
            return true;
        }
        // Equivalent: the same group and resource under another version. Offline there is
        // no discovery to say which versions a resource is served in, so any version is
        // taken as equivalent (objects are not converted).
        self.match_policy == MatchPolicy::Equivalent && rules.iter().any(|r| r.matches(req, true))
    }
}

fn labels_of(o: Option<&Value>) -> Value {
    o.and_then(|o| o.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned()
        .unwrap_or(Value::Object(Default::default()))
}

/// Whether the request is for a `Namespace` object (core `v1` `namespaces`).
pub fn is_namespace_resource(req: &AdmissionRequest) -> bool {
    req.resource.group.is_empty() && req.resource.resource == "namespaces"
}

fn exact_or_wildcard(items: &[String], requested: &str) -> bool {
    items.iter().any(|i| i == "*" || i == requested)
}

impl ResourceRule {
    /// `any_version`: ignore `apiVersions` (equivalent matching).
    pub fn matches(&self, req: &AdmissionRequest, any_version: bool) -> bool {
        let is_namespace = is_namespace_resource(req) && req.resource.version == "v1";
        let scope = match self.scope.as_str() {
            "Namespaced" => !is_namespace && req.is_namespaced(),
            "Cluster" => is_namespace || !req.is_namespaced(),
            _ => true,
        };
        let op = req.operation.as_str();
        let operation = self.operations.iter().any(|o| o == "*" || o == op);
        let group = exact_or_wildcard(&self.api_groups, &req.resource.group);
        let version = any_version || exact_or_wildcard(&self.api_versions, &req.resource.version);
        let sub = req.sub_resource.as_deref().unwrap_or("");
        let resource = self.resources.iter().any(|r| {
            let (res, rsub) = r.split_once('/').unwrap_or((r.as_str(), ""));
            (res == "*" || res == req.resource.resource) && (rsub == "*" || rsub == sub)
        });
        let name = self.resource_names.is_empty() || self.resource_names.contains(&req.name);
        scope && operation && group && version && resource && name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{GroupVersionResource, UserInfo};
    use serde_json::json;

    fn rule(resources: &[&str]) -> ResourceRule {
        ResourceRule {
            operations: vec!["CREATE".into()],
            api_groups: vec!["".into()],
            api_versions: vec!["v1".into()],
            resources: resources.iter().map(|s| s.to_string()).collect(),
            scope: "*".into(),
            resource_names: vec![],
        }
    }

    fn pod_request(sub: Option<&str>) -> AdmissionRequest {
        let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a","labels":{"x":"1"}}});
        let mut r =
            AdmissionRequest::for_object(Some(pod), None, Operation::Create, UserInfo::offline());
        r.sub_resource = sub.map(str::to_string);
        r
    }

    #[test]
    fn resources_and_subresources() {
        let r = pod_request(None);
        assert!(rule(&["pods"]).matches(&r, false));
        assert!(rule(&["*"]).matches(&r, false));
        assert!(!rule(&["pods/status"]).matches(&r, false));
        let s = pod_request(Some("status"));
        assert!(rule(&["pods/status"]).matches(&s, false));
        assert!(rule(&["*/status"]).matches(&s, false));
        assert!(rule(&["pods/*"]).matches(&s, false));
        assert!(!rule(&["pods"]).matches(&s, false));
        assert!(!rule(&["*/scale"]).matches(&s, false));
        let mut v2 = r.clone();
        v2.resource = GroupVersionResource {
            group: "".into(),
            version: "v2".into(),
            resource: "pods".into(),
        };
        assert!(!rule(&["pods"]).matches(&v2, false));
        assert!(rule(&["pods"]).matches(&v2, true));
    }

    #[test]
    fn scopes() {
        let r = pod_request(None);
        let mut namespaced = rule(&["*"]);
        namespaced.scope = "Namespaced".into();
        let mut cluster = rule(&["*"]);
        cluster.scope = "Cluster".into();
        assert!(namespaced.matches(&r, false));
        assert!(!cluster.matches(&r, false));
        let ns = AdmissionRequest::for_object(
            Some(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}})),
            None,
            Operation::Create,
            UserInfo::offline(),
        );
        assert!(!namespaced.matches(&ns, false));
        assert!(cluster.matches(&ns, false));
    }
}
