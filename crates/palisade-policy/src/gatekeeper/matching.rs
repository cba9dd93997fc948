//! A constraint's `spec.match`, with Gatekeeper's semantics (`pkg/mutation/match` and
//! `pkg/target`):
//!
//! - every criterion that is set must hold; an unset one holds;
//! - the request matches when its `object` or its `oldObject` matches (on DELETE the
//!   object is the old object), and it is an error when it has neither;
//! - `kinds`: any entry whose `kinds` and `apiGroups` are empty, contain `*` or contain
//!   the object's kind and group;
//! - `namespaces` / `excludedNamespaces`: globs with `*` at the start and/or end, tested
//!   against the object's name for a Namespace, else the request's Namespace object, else
//!   the namespace the object declares; cluster-scoped objects are never excluded or
//!   required by them;
//! - `labelSelector`: the object's labels;
//! - `namespaceSelector`: a Namespace matches by its own labels; a cluster-scoped object
//!   always matches; a namespaced object matches by its Namespace's labels, and is an
//!   error when the Namespace is unknown (Gatekeeper then rejects the request);
//! - `scope`: `Cluster` (Namespaces and objects without a namespace), `Namespaced`
//!   (objects with a namespace, not Namespaces), anything else matches all;
//! - `name`: a glob on `metadata.name`, or a prefix glob (`name-*`) on `generateName`;
//! - `source`: `All` (default), `Original` or `Generated`; the requests Palisade reviews
//!   are originals.

use serde_json::{Map, Value};

use crate::request::{split_api_version, str_at, AdmissionRequest, Operation};

/// A Gatekeeper wildcard: `*` at the start and/or end globs, otherwise exact.
pub fn wildcard_matches(pattern: &str, candidate: &str) -> bool {
    let (starts, ends) = (pattern.starts_with('*'), pattern.ends_with('*'));
    if starts && ends {
        candidate.contains(inner(pattern))
    } else if starts {
        candidate.ends_with(&pattern[1..])
    } else if ends {
        candidate.starts_with(&pattern[..pattern.len() - 1])
    } else {
        pattern == candidate
    }
}

/// The `generateName` form: only prefix (`name-*`) and contains (`*x*`) globs match.
fn wildcard_matches_generate_name(pattern: &str, candidate: &str) -> bool {
    let (starts, ends) = (pattern.starts_with('*'), pattern.ends_with('*'));
    if starts && ends {
        candidate.contains(inner(pattern))
    } else if ends {
        candidate.starts_with(&pattern[..pattern.len() - 1])
    } else {
        false
    }
}

/// `*x*` → `x`; `*` → ``.
fn inner(pattern: &str) -> &str {
    let p = pattern.strip_prefix('*').unwrap_or(pattern);
    p.strip_suffix('*').unwrap_or(p)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindsEntry {
    pub api_groups: Vec<String>,
    pub kinds: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// A `metav1.LabelSelector`, validated as `LabelSelectorAsSelector` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub match_labels: Vec<(String, String)>,
    pub expressions: Vec<(String, SelectorOp, Vec<String>)>,
}

impl Selector {
    pub fn from_json(v: &Value, field: &str) -> Result<Selector, String> {
        let mut sel = Selector::default();
        let Value::Object(m) = v else {
            return Err(format!("{field}: expected a label selector object"));
        };
        match m.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                for (k, v) in labels {
                    let Some(v) = v.as_str() else {
                        return Err(format!("{field}.matchLabels.{k}: expected a string"));
                    };
                    sel.match_labels.push((k.clone(), v.to_string()));
                }
            }
            Some(_) => return Err(format!("{field}.matchLabels: expected a map of strings")),
        }
        match m.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, e) in exprs.iter().enumerate() {
                    let at = format!("{field}.matchExpressions[{i}]");
                    let key = str_at(e, &["key"]).ok_or_else(|| format!("{at}.key: required"))?;
                    let op = match str_at(e, &["operator"]) {
                        Some("In") => SelectorOp::In,
                        Some("NotIn") => SelectorOp::NotIn,
                        Some("Exists") => SelectorOp::Exists,
                        Some("DoesNotExist") => SelectorOp::DoesNotExist,
                        Some(other) => {
                            return Err(format!(
                                "{at}.operator: {other:?} is not a valid label selector operator"
                            ))
                        }
                        None => return Err(format!("{at}.operator: required")),
                    };
                    let values: Vec<String> = match e.get("values") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(vs)) => vs
                            .iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .ok_or_else(|| format!("{at}.values: expected strings"))
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => return Err(format!("{at}.values: expected a list of strings")),
                    };
                    match op {
                        SelectorOp::In | SelectorOp::NotIn if values.is_empty() => {
                            return Err(format!("{at}.values: must be specified when operator is In or NotIn"))
                        }
                        SelectorOp::Exists | SelectorOp::DoesNotExist if !values.is_empty() => {
                            return Err(format!("{at}.values: may not be specified when operator is Exists or DoesNotExist"))
                        }
                        _ => {}
                    }
                    sel.expressions.push((key.to_string(), op, values));
                }
            }
            Some(_) => return Err(format!("{field}.matchExpressions: expected a list")),
        }
        Ok(sel)
    }

    /// Whether `labels` (a JSON map; anything else counts as no labels) satisfies every
    /// requirement.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.match_labels
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
            && self.expressions.iter().all(|(k, op, values)| {
                let actual = get(k);
                match op {
                    SelectorOp::In => actual.is_some_and(|a| values.iter().any(|v| v == a)),
                    SelectorOp::NotIn => actual.is_none_or(|a| !values.iter().any(|v| v == a)),
                    SelectorOp::Exists => actual.is_some(),
                    SelectorOp::DoesNotExist => actual.is_none(),
                }
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MatchSource {
    #[default]
    All,
    Original,
    Generated,
}

/// A constraint's `spec.match`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// `false` when the constraint has no `spec.match`: it then matches every request,
    /// even one without an object.
    pub present: bool,
    pub kinds: Vec<KindsEntry>,
    pub scope: Option<String>,
    pub namespaces: Vec<String>,
    pub excluded_namespaces: Vec<String>,
    pub label_selector: Option<Selector>,
    pub namespace_selector: Option<Selector>,
    pub name: Option<String>,
    pub source: MatchSource,
}

fn string_list(m: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{at}.{key}: expected a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{at}.{key}: expected a list of strings")),
    }
}

fn opt_string(m: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{at}.{key}: expected a string")),
    }
}

impl Match {
    /// Reads `spec.match` (`None` or null: no match criteria). Malformed criteria are
    /// errors, as Gatekeeper refuses such a constraint.
    pub fn from_json(v: Option<&Value>) -> Result<Match, String> {
        let at = "spec.match";
        let m = match v {
            None | Some(Value::Null) => return Ok(Match::default()),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(format!("{at}: expected an object")),
        };
        let mut out = Match {
            present: true,
            ..Match::default()
        };
        match m.get("kinds") {
            None | Some(Value::Null) => {}
            Some(Value::Array(entries)) => {
                for (i, e) in entries.iter().enumerate() {
                    let Value::Object(e) = e else {
                        return Err(format!("{at}.kinds[{i}]: expected an object"));
                    };
                    let here = format!("{at}.kinds[{i}]");
                    out.kinds.push(KindsEntry {
                        api_groups: string_list(e, "apiGroups", &here)?,
                        kinds: string_list(e, "kinds", &here)?,
                    });
                }
            }
            Some(_) => return Err(format!("{at}.kinds: expected a list")),
        }
        out.scope = opt_string(m, "scope", at)?;
        out.namespaces = string_list(m, "namespaces", at)?;
        out.excluded_namespaces = string_list(m, "excludedNamespaces", at)?;
        if let Some(sel) = m.get("labelSelector").filter(|v| !v.is_null()) {
            out.label_selector = Some(Selector::from_json(sel, "spec.match.labelSelector")?);
        }
        if let Some(sel) = m.get("namespaceSelector").filter(|v| !v.is_null()) {
            out.namespace_selector =
                Some(Selector::from_json(sel, "spec.match.namespaceSelector")?);
        }
        out.name = opt_string(m, "name", at)?;
        out.source = match opt_string(m, "source", at)?.as_deref() {
            None | Some("All") => MatchSource::All,
            Some("Original") => MatchSource::Original,
            Some("Generated") => MatchSource::Generated,
            Some(other) => {
                return Err(format!(
                    "{at}.source: invalid source {other:?} (All, Original or Generated)"
                ))
            }
        };
        Ok(out)
    }

    /// Whether the constraint applies to `request`. `namespace` is the request's
    /// Namespace object when known.
    pub fn matches(
        &self,
        request: &AdmissionRequest,
        namespace: Option<&Value>,
    ) -> Result<bool, String> {
        if !self.present {
            return Ok(true);
        }
        // Gatekeeper reviews the old object as the object on DELETE.
        let object = if request.operation == Operation::Delete {
            request.old_object.as_ref()
        } else {
            request.object.as_ref()
        };
        let objects = [object, request.old_object.as_ref()];
        let mut none = 0;
        for obj in objects {
            match obj {
                Some(o) if !o.is_null() => {
                    if self.matches_object(o, namespace)? {
                        return Ok(true);
                    }
                }
                _ => none += 1,
            }
        }
        if none == objects.len() {
            return Err("neither object nor old object are defined".into());
        }
        Ok(false)
    }

    /// The criteria for one object.
    pub fn matches_object(&self, obj: &Value, ns: Option<&Value>) -> Result<bool, String> {
        let api_version = str_at(obj, &["apiVersion"]).unwrap_or("");
        let kind = str_at(obj, &["kind"]).unwrap_or("");
        let (group, _) = split_api_version(api_version);
        let is_namespace = kind == "Namespace" && group.is_empty();
        let obj_ns = str_at(obj, &["metadata", "namespace"]).unwrap_or("");
        let obj_name = str_at(obj, &["metadata", "name"]).unwrap_or("");

        // kinds
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|k| {
                let kind_ok = k.kinds.is_empty() || k.kinds.iter().any(|x| x == "*" || x == kind);
                let group_ok =
                    k.api_groups.is_empty() || k.api_groups.iter().any(|x| x == "*" || x == group);
                kind_ok && group_ok
            })
        {
            return Ok(false);
        }

        // scope
        let has_namespace = !obj_ns.is_empty() || ns.is_some();
        match self.scope.as_deref() {
            // Cluster: Namespaces and objects without a namespace.
            Some("Cluster") if !is_namespace && has_namespace => return Ok(false),
            // Namespaced: objects with a namespace, not Namespaces.
            Some("Namespaced") if is_namespace || !has_namespace => return Ok(false),
            _ => {}
        }

        // namespaces / excludedNamespaces
        let ns_name = if is_namespace {
            Some(obj_name)
        } else if let Some(ns) = ns {
            Some(str_at(ns, &["metadata", "name"]).unwrap_or(""))
        } else if !obj_ns.is_empty() {
            Some(obj_ns)
        } else {
            None
        };
        if !self.namespaces.is_empty() {
            if let Some(n) = ns_name {
                if !self.namespaces.iter().any(|p| wildcard_matches(p, n)) {
                    return Ok(false);
                }
            }
        }
        if !self.excluded_namespaces.is_empty() {
            if let Some(n) = ns_name {
                if self
                    .excluded_namespaces
                    .iter()
                    .any(|p| wildcard_matches(p, n))
                {
                    return Ok(false);
                }
            }
        }

        // labelSelector
        if let Some(sel) = &self.label_selector {
            if !sel.matches(obj.pointer("/metadata/labels")) {
                return Ok(false);
            }
        }

        // namespaceSelector
        if let Some(sel) = &self.namespace_selector {
            if is_namespace {
                if !sel.matches(obj.pointer("/metadata/labels")) {
                    return Ok(false);
                }
            } else if ns.is_none() && obj_ns.is_empty() {
                // cluster-scoped, not a Namespace: matches
            } else {
                let Some(ns) = ns else {
                    return Err(format!(
                        "namespace selector for namespace-scoped object but missing Namespace {obj_ns:?}"
                    ));
                };
                if !sel.matches(ns.pointer("/metadata/labels")) {
                    return Ok(false);
                }
            }
        }

        // name
        if let Some(pattern) = &self.name {
            let generate_name = str_at(obj, &["metadata", "generateName"]).unwrap_or("");
            if !(wildcard_matches(pattern, obj_name)
                || wildcard_matches_generate_name(pattern, generate_name))
            {
                return Ok(false);
            }
        }

        // source: Palisade reviews original objects only.
        if self.source == MatchSource::Generated {
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_matches("kube-*", "kube-system"));
        assert!(!wildcard_matches("kube-*", "kubesystem"));
        assert!(wildcard_matches("*-system", "gatekeeper-system"));
        assert!(wildcard_matches("*sys*", "kube-system"));
        assert!(wildcard_matches("*", "anything"));
        assert!(wildcard_matches("", ""));
        assert!(!wildcard_matches("prod", "production"));
        assert!(wildcard_matches_generate_name("web-*", "web-"));
        assert!(!wildcard_matches_generate_name("*-web", "x-web"));
        assert!(!wildcard_matches_generate_name("web", "web"));
    }
}
