//! What a check sees: the object under check, the whole scanned set (for cross-object checks
//! such as NetworkPolicy coverage), the configuration, and a sink for findings.

use crate::hardening::network::policy;
use crate::meta::CheckMeta;
use palisade_model::{LabelSelector, Node, Object, Pos};
use palisade_report::{Finding, ObjectId, Severity};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// The Kubernetes minor version the Pod Security Standards are evaluated at (`v1.N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PssVersion(pub u32);

impl PssVersion {
    /// The newest version this build knows.
    pub const LATEST: PssVersion = PssVersion(37);

    /// Parses `v1.N`, `1.N` or `latest`.
    pub fn parse(s: &str) -> Option<PssVersion> {
        if s == "latest" {
            return Some(Self::LATEST);
        }
        let rest = s.strip_prefix('v').unwrap_or(s);
        let minor = rest.strip_prefix("1.")?.parse::<u32>().ok()?;
        (minor <= Self::LATEST.0).then_some(PssVersion(minor))
    }
}

impl std::fmt::Display for PssVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v1.{}", self.0)
    }
}

/// Settings checks read.
#[derive(Clone, Debug, Default)]
pub struct CheckSettings {
    /// Allowed image registries (host, or host/path prefix). Empty: PAL204 has nothing to
    /// compare against and reports nothing.
    pub allowed_registries: Vec<String>,
}

/// The scanned set, indexed for cross-object checks.
pub struct Inventory<'a> {
    pub objects: &'a [Object],
    by_kind: HashMap<&'a str, Vec<&'a Object>>,
    /// Objects by kind and effective namespace, so a per-workload lookup of the policies,
    /// service accounts or limit ranges of its namespace costs what that namespace holds,
    /// not what the whole scan holds.
    by_kind_ns: HashMap<&'a str, HashMap<&'a str, Vec<&'a Object>>>,
    /// Objects by kind, effective namespace and name (kind → namespace → name).
    by_name: HashMap<&'a str, HashMap<&'a str, HashMap<&'a str, Vec<&'a Object>>>>,
    /// Namespaces that appear in the scan: Namespace objects and namespaces of namespaced
    /// objects.
    pub namespaces: BTreeSet<String>,
    anchors: OnceLock<HashMap<String, usize>>,
    np_selectors: OnceLock<HashMap<&'a str, Vec<LabelSelector>>>,
}

impl<'a> Inventory<'a> {
    pub fn new(objects: &'a [Object]) -> Self {
        let mut by_kind: HashMap<&str, Vec<&Object>> = HashMap::new();
        let mut by_kind_ns: HashMap<&str, HashMap<&str, Vec<&Object>>> = HashMap::new();
        let mut by_name: HashMap<&str, HashMap<&str, HashMap<&str, Vec<&Object>>>> = HashMap::new();
        let mut namespaces = BTreeSet::new();
        for o in objects {
            by_kind.entry(o.kind.as_str()).or_default().push(o);
            by_kind_ns
                .entry(o.kind.as_str())
                .or_default()
                .entry(Self::namespace_of(o))
                .or_default()
                .push(o);
            by_name
                .entry(o.kind.as_str())
                .or_default()
                .entry(Self::namespace_of(o))
                .or_default()
                .entry(o.name.as_str())
                .or_default()
                .push(o);
            if o.kind == "Namespace" && o.group().is_empty() {
                namespaces.insert(o.name.clone());
            }
            if let Some(ns) = &o.namespace {
                namespaces.insert(ns.clone());
            }
        }
        Inventory {
            objects,
            by_kind,
            by_kind_ns,
            by_name,
            namespaces,
            anchors: OnceLock::new(),
            np_selectors: OnceLock::new(),
        }
    }

    /// Objects of a kind (any API group).
    pub fn of_kind(&self, kind: &str) -> &[&'a Object] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Objects of a kind (any API group) whose effective namespace is `ns`, in scan order.
    pub fn of_kind_in(&self, kind: &str, ns: &str) -> &[&'a Object] {
        self.by_kind_ns
            .get(kind)
            .and_then(|m| m.get(ns))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Objects of a kind (any API group) named `name` whose effective namespace is `ns`, in
    /// scan order.
    pub fn named(&self, kind: &str, ns: &str, name: &str) -> &[&'a Object] {
        self.by_name
            .get(kind)
            .and_then(|m| m.get(ns))
            .and_then(|m| m.get(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The distinct pod selectors (`spec.podSelector`; absent or null: all pods) of the
    /// `networking.k8s.io` NetworkPolicies in `ns`, parsed once for the whole inventory.
    /// Copies of one policy count once, so testing a workload against them costs the number
    /// of different selectors of its namespace.
    pub fn network_policy_selectors(&self, ns: &str) -> &[LabelSelector] {
        let all = self.np_selectors.get_or_init(|| {
            let mut out: HashMap<&str, Vec<LabelSelector>> = HashMap::new();
            let mut seen: HashSet<(&str, String)> = HashSet::new();
            for np in self.of_kind("NetworkPolicy") {
                if np.group() != policy::NETWORKING_GROUP {
                    continue;
                }
                let ns = Self::namespace_of(np);
                let sel = policy::pod_selector(np);
                if seen.insert((ns, format!("{sel:?}"))) {
                    out.entry(ns).or_default().push(sel);
                }
            }
            out
        });
        all.get(ns).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The object that carries once-per-namespace findings about `ns`: the Namespace object
    /// when it is scanned, otherwise the namespace's first pod-bearing object (in scan order)
    /// that the engine checks itself (not owned by a controller that is also scanned). `None`
    /// when nothing runs in the namespace. Computed once for the whole inventory.
    pub fn namespace_anchor(&self, ns: &str) -> Option<&'a Object> {
        let anchors = self.anchors.get_or_init(|| {
            let uids: HashSet<&str> = self.objects.iter().filter_map(Object::uid).collect();
            let mut namespace_obj: HashMap<&str, usize> = HashMap::new();
            let mut first_workload: HashMap<&str, usize> = HashMap::new();
            for (i, o) in self.objects.iter().enumerate() {
                if o.kind == "Namespace" && o.group().is_empty() {
                    namespace_obj.entry(o.name.as_str()).or_insert(i);
                } else if o.pod().is_some() && !o.controller_uid().is_some_and(|u| uids.contains(u))
                {
                    first_workload.entry(Self::namespace_of(o)).or_insert(i);
                }
            }
            first_workload
                .into_iter()
                .map(|(ns, w)| (ns.to_string(), namespace_obj.get(ns).copied().unwrap_or(w)))
                .collect()
        });
        anchors.get(ns).map(|&i| &self.objects[i])
    }

    /// The object's effective namespace: its own, or `default` when unset.
    pub fn namespace_of(o: &Object) -> &str {
        o.namespace.as_deref().unwrap_or("default")
    }
}

/// Context for one check run on one object.
pub struct Context<'a> {
    pub inventory: &'a Inventory<'a>,
    pub settings: &'a CheckSettings,
    pub pss_version: PssVersion,
}

/// Collects the findings one check makes on one object.
pub struct Emitter<'a> {
    pub(crate) object: &'a Object,
    pub(crate) meta: &'static CheckMeta,
    pub(crate) severity: Severity,
    pub(crate) out: Vec<Finding>,
}

impl<'a> Emitter<'a> {
    pub fn new(object: &'a Object, meta: &'static CheckMeta, severity: Severity) -> Self {
        Emitter {
            object,
            meta,
            severity,
            out: Vec::new(),
        }
    }

    /// Reports a finding at `path` (field path inside the object) and `pos`.
    pub fn emit(&mut self, path: impl Into<String>, pos: Pos, message: impl Into<String>) {
        self.emit_with(path, pos, message, self.severity);
    }

    /// Reports a finding with a severity other than the check's default (used sparingly, e.g.
    /// a wildcard that also covers secrets).
    pub fn emit_with(
        &mut self,
        path: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
        severity: Severity,
    ) {
        let line = if pos.line > 0 {
            pos.line
        } else {
            self.object.line
        };
        self.out.push(Finding {
            check: self.meta.id.to_string(),
            severity,
            message: message.into(),
            object: ObjectId::from_object(self.object),
            source: self.object.source.display(),
            line,
            path: path.into(),
            suppressed: None,
        });
    }

    pub fn findings(&self) -> &[Finding] {
        &self.out
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.out
    }
}

/// A check: metadata plus logic. Checks are pure: no I/O, no global state.
pub trait Check: Send + Sync {
    fn meta(&self) -> &'static CheckMeta;
    /// Inspects one object and emits findings.
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>);
}

/// `true` when `n` is the boolean `true`.
pub fn is_true(n: Option<&Node>) -> bool {
    n.and_then(Node::as_bool) == Some(true)
}

/// `true` when `n` is the boolean `false`.
pub fn is_false(n: Option<&Node>) -> bool {
    n.and_then(Node::as_bool) == Some(false)
}
