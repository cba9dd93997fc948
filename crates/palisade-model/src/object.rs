//! Kubernetes objects with their source, and the workload model: how to find the pod spec of
//! any pod-bearing object and walk its containers.

use crate::node::{index, join, Node, Pos};
use std::sync::Arc;

/// Where an object came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A file, by the path the user gave (relative paths stay relative).
    File(String),
    /// Standard input.
    Stdin,
    /// A live cluster, by its kubeconfig context name.
    Cluster(String),
}

impl Source {
    /// The path for files, `<stdin>` for stdin, `cluster:<context>` for clusters.
    pub fn display(&self) -> String {
        match self {
            Source::File(p) => p.clone(),
            Source::Stdin => "<stdin>".to_string(),
            Source::Cluster(ctx) => format!("cluster:{ctx}"),
        }
    }
    /// The file path, when the source is a file.
    pub fn file(&self) -> Option<&str> {
        match self {
            Source::File(p) => Some(p),
            _ => None,
        }
    }
}

/// A Kubernetes object and where it came from.
#[derive(Clone, Debug)]
pub struct Object {
    pub source: Arc<Source>,
    /// 0-based index of the YAML document in its file.
    pub document: usize,
    /// Index inside a `List`, when the object was an item of one.
    pub list_item: Option<usize>,
    /// The object's line (1-based; 0 when it has no source position).
    pub line: u32,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub root: Node,
}

impl Object {
    /// Builds an object from a parsed document. Returns `None` when `apiVersion` or `kind` is
    /// missing or not a string.
    pub fn from_node(
        root: Node,
        source: Arc<Source>,
        document: usize,
        list_item: Option<usize>,
    ) -> Option<Object> {
        let api_version = root.get("apiVersion")?.as_str()?.to_string();
        let kind = root.get("kind")?.as_str()?.to_string();
        if api_version.is_empty() || kind.is_empty() {
            return None;
        }
        let meta = root.get("metadata");
        let name = meta
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Node::scalar_string)
            .unwrap_or_default();
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Node::scalar_string)
            .filter(|s| !s.is_empty());
        let line = root.pos.line;
        Some(Object {
            source,
            document,
            list_item,
            line,
            api_version,
            kind,
            name,
            namespace,
            root,
        })
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((g, _)) => g,
            None => "",
        }
    }

    pub fn metadata(&self) -> &Node {
        self.root.get("metadata").unwrap_or(Node::null())
    }

    pub fn labels(&self) -> &Node {
        self.metadata().get("labels").unwrap_or(Node::null())
    }

    pub fn annotations(&self) -> &Node {
        self.metadata().get("annotations").unwrap_or(Node::null())
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations().get(key).and_then(Node::as_str)
    }

    pub fn uid(&self) -> Option<&str> {
        self.metadata().get("uid").and_then(Node::as_str)
    }

    /// The uid of the controlling owner (`ownerReferences[].controller: true`).
    pub fn controller_uid(&self) -> Option<&str> {
        self.metadata()
            .get("ownerReferences")?
            .items()
            .iter()
            .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
            .and_then(|r| r.get("uid"))
            .and_then(Node::as_str)
    }

    /// The position of the field at `path` (or of its nearest existing parent).
    pub fn locate(&self, path: &[&str]) -> Pos {
        self.root.locate(path)
    }

    /// A short name for messages: `Deployment default/web`.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind, ns, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The pod spec this object runs, for every pod-bearing kind; `None` otherwise.
    pub fn pod(&self) -> Option<PodRef<'_>> {
        PodRef::of(self)
    }
}

/// Where an object's pod template lives.
const POD_LOCATIONS: &[(&[&str], &str, &[&str], &str)] = &[
    (
        &["spec", "jobTemplate", "spec", "template", "spec"],
        "spec.jobTemplate.spec.template.spec",
        &["spec", "jobTemplate", "spec", "template", "metadata"],
        "spec.jobTemplate.spec.template.metadata",
    ),
    (
        &["spec", "template", "spec"],
        "spec.template.spec",
        &["spec", "template", "metadata"],
        "spec.template.metadata",
    ),
    (
        &["template", "spec"],
        "template.spec",
        &["template", "metadata"],
        "template.metadata",
    ),
];

/// A view of the pod spec inside a pod-bearing object.
#[derive(Clone, Copy, Debug)]
pub struct PodRef<'a> {
    pub object: &'a Object,
    /// The pod spec mapping.
    pub spec: &'a Node,
    /// The pod's metadata (the object's own for a Pod, the template's otherwise).
    pub meta: &'a Node,
    /// Path of the pod spec inside the object, e.g. `spec.template.spec`.
    pub spec_path: &'static str,
    pub meta_path: &'static str,
}

impl<'a> PodRef<'a> {
    fn of(obj: &'a Object) -> Option<PodRef<'a>> {
        if obj.kind == "Pod" && obj.group().is_empty() {
            let spec = obj.root.get("spec")?;
            return spec.is_map().then_some(PodRef {
                object: obj,
                spec,
                meta: obj.metadata(),
                spec_path: "spec",
                meta_path: "metadata",
            });
        }
        for (spec_path, spec_str, meta_path, meta_str) in POD_LOCATIONS {
            if *spec_str == "template.spec" && obj.kind != "PodTemplate" {
                continue;
            }
            if let Some(spec) = obj.root.at(spec_path) {
                // Only a mapping with containers is a pod spec; `spec.template` on an unrelated
                // custom resource must not be mistaken for one.
                if spec.is_map() && spec.get("containers").is_some_and(Node::is_seq) {
                    return Some(PodRef {
                        object: obj,
                        spec,
                        meta: obj.root.at(meta_path).unwrap_or(Node::null()),
                        spec_path: spec_str,
                        meta_path: meta_str,
                    });
                }
            }
        }
        None
    }

    /// `spec_path` + `.field`; `field` may be a dotted path (`securityContext.runAsUser`).
    pub fn path(&self, field: &str) -> String {
        let mut p = self.spec_path.to_string();
        for segment in field.split('.') {
            crate::node::push_key(&mut p, segment);
        }
        p
    }

    /// The line of `field...` inside the pod spec (or of its nearest existing parent).
    pub fn locate(&self, fields: &[&str]) -> Pos {
        let p = self.spec.locate(fields);
        if p.line == 0 {
            self.object_pos()
        } else {
            p
        }
    }

    fn object_pos(&self) -> Pos {
        Pos::new(self.object.line, 1)
    }

    /// The pod-level security context (or null).
    pub fn security_context(&self) -> &'a Node {
        self.spec.get("securityContext").unwrap_or(Node::null())
    }

    /// Every container: init containers, then containers, then ephemeral containers (the
    /// order Pod Security Admission visits them in).
    pub fn containers(&self) -> Vec<ContainerRef<'a>> {
        let mut out = Vec::new();
        for (field, kind) in [
            ("initContainers", ContainerKind::Init),
            ("containers", ContainerKind::Regular),
            ("ephemeralContainers", ContainerKind::Ephemeral),
        ] {
            if let Some(list) = self.spec.get(field) {
                for (i, c) in list.items().iter().enumerate() {
                    let name = c
                        .get("name")
                        .and_then(Node::scalar_string)
                        .unwrap_or_default();
                    out.push(ContainerRef {
                        node: c,
                        kind,
                        name,
                        path: index(&join(self.spec_path, field), i),
                    });
                }
            }
        }
        out
    }

    /// `true` when `spec.os.name` is `windows`.
    pub fn is_windows(&self) -> bool {
        self.spec.at(&["os", "name"]).and_then(Node::as_str) == Some("windows")
    }

    /// `true` when `hostUsers: false` (the pod runs in a user namespace).
    pub fn in_user_namespace(&self) -> bool {
        self.spec.get("hostUsers").and_then(Node::as_bool) == Some(false)
    }

    /// The pod's annotations.
    pub fn annotations(&self) -> &'a Node {
        self.meta.get("annotations").unwrap_or(Node::null())
    }

    /// The pod's labels.
    pub fn labels(&self) -> &'a Node {
        self.meta.get("labels").unwrap_or(Node::null())
    }

    /// `true` for pods that run to completion (Job, CronJob, or a Pod with
    /// `restartPolicy: Never/OnFailure`): probes and similar long-running concerns do not apply.
    pub fn runs_to_completion(&self) -> bool {
        matches!(self.object.kind.as_str(), "Job" | "CronJob")
            || matches!(
                self.spec.get("restartPolicy").and_then(Node::as_str),
                Some("Never") | Some("OnFailure")
            )
    }
}

/// Which list of the pod spec a container is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

/// A container inside a pod spec.
#[derive(Clone, Debug)]
pub struct ContainerRef<'a> {
    pub node: &'a Node,
    pub kind: ContainerKind,
    pub name: String,
    /// Path of the container inside its object, e.g. `spec.template.spec.containers[1]`.
    pub path: String,
}

impl<'a> ContainerRef<'a> {
    pub fn security_context(&self) -> &'a Node {
        self.node.get("securityContext").unwrap_or(Node::null())
    }

    /// `true` for a sidecar: an init container with `restartPolicy: Always`, which runs for the
    /// pod's whole life.
    pub fn is_sidecar(&self) -> bool {
        self.kind == ContainerKind::Init
            && self.node.get("restartPolicy").and_then(Node::as_str) == Some("Always")
    }

    /// `true` for containers that run for the life of the pod (regular containers and sidecars).
    pub fn is_long_running(&self) -> bool {
        self.kind == ContainerKind::Regular || self.is_sidecar()
    }

    /// `path` + `.a.b.c`.
    pub fn path(&self, fields: &[&str]) -> String {
        let mut p = self.path.clone();
        for f in fields {
            crate::node::push_key(&mut p, f);
        }
        p
    }

    /// Position of `fields` in the container (or its nearest existing parent).
    pub fn locate(&self, fields: &[&str]) -> Pos {
        self.node.locate(fields)
    }

    /// A label for messages: `container "web"`, `init container "setup"`.
    pub fn label(&self) -> String {
        match self.kind {
            ContainerKind::Init => format!("init container {:?}", self.name),
            ContainerKind::Regular => format!("container {:?}", self.name),
            ContainerKind::Ephemeral => format!("ephemeral container {:?}", self.name),
        }
    }

    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image").and_then(Node::as_str)
    }
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default)]
pub struct LabelSelector {
    pub match_labels: Vec<(String, String)>,
    pub expressions: Vec<(String, SelectorOp, Vec<String>)>,
    /// `true` when the selector could not be understood; it then matches nothing.
    pub invalid: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// Reads a `metav1.LabelSelector` node. A null node is the empty selector (matches all).
    pub fn from_node(n: &Node) -> LabelSelector {
        let mut sel = LabelSelector::default();
        if n.is_null() {
            return sel;
        }
        if !n.is_map() {
            sel.invalid = true;
            return sel;
        }
        for e in n.get("matchLabels").map(Node::entries).unwrap_or(&[]) {
            match e.value.scalar_string() {
                Some(v) => sel.match_labels.push((e.key.clone(), v)),
                None => sel.invalid = true,
            }
        }
        for expr in n.get("matchExpressions").map(Node::items).unwrap_or(&[]) {
            let key = expr.get("key").and_then(Node::scalar_string);
            let op = match expr.get("operator").and_then(Node::as_str) {
                Some("In") => Some(SelectorOp::In),
                Some("NotIn") => Some(SelectorOp::NotIn),
                Some("Exists") => Some(SelectorOp::Exists),
                Some("DoesNotExist") => Some(SelectorOp::DoesNotExist),
                _ => None,
            };
            let values = expr
                .get("values")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::scalar_string)
                .collect();
            match (key, op) {
                (Some(k), Some(op)) => sel.expressions.push((k, op, values)),
                _ => sel.invalid = true,
            }
        }
        sel
    }

    /// A plain `map[string]string` selector, as Services use.
    pub fn from_map(n: &Node) -> LabelSelector {
        let mut sel = LabelSelector::default();
        for e in n.entries() {
            match e.value.scalar_string() {
                Some(v) => sel.match_labels.push((e.key.clone(), v)),
                None => sel.invalid = true,
            }
        }
        sel
    }

    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty() && !self.invalid
    }

    /// Does the selector match a labels mapping?
    pub fn matches(&self, labels: &Node) -> bool {
        if self.invalid {
            return false;
        }
        let get = |k: &str| labels.get(k).and_then(Node::scalar_string);
        self.match_labels
            .iter()
            .all(|(k, v)| get(k).as_deref() == Some(v.as_str()))
            && self.expressions.iter().all(|(k, op, values)| {
                let actual = get(k);
                match op {
                    SelectorOp::In => actual.is_some_and(|a| values.contains(&a)),
                    SelectorOp::NotIn => actual.is_none_or(|a| !values.contains(&a)),
                    SelectorOp::Exists => actual.is_some(),
                    SelectorOp::DoesNotExist => actual.is_none(),
                }
            })
    }
}
