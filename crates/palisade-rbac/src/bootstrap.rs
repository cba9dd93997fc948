//! Kubernetes' default RBAC policy: the ClusterRoles, Roles and bindings the API server
//! creates at start-up (`cluster-admin`, `admin`, `edit`, `view`, `system:*`), so a binding
//! to `edit` or `system:auth-delegator` resolves even when a snapshot (or a directory of
//! manifests) does not contain the role.
//!
//! The data is in `data/bootstrap-v*.txt`, one file per Kubernetes version, in a compact
//! line format of our own (documented in the file header and parsed here): the facts are the
//! upstream bootstrap policy's, restated.

use crate::model::{Binding, BindingKind, Origin, Role, RoleKind, Rule, Subject};
use palisade_model::{LabelSelector, Node};

/// One Kubernetes version's defaults.
#[derive(Debug)]
pub struct Defaults {
    /// `1.21`.
    pub version: &'static str,
    text: &'static str,
}

/// Every version we carry, newest first.
pub static VERSIONS: &[Defaults] = &[Defaults {
    version: "1.21",
    text: include_str!("../data/bootstrap-v1.21.txt"),
}];

/// The defaults of `version` (`1.21`, `v1.21`, `1.21.3`, or `latest`).
pub fn find(version: &str) -> Option<&'static Defaults> {
    let v = version.trim().trim_start_matches('v');
    if v == "latest" {
        return VERSIONS.first();
    }
    let major_minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    VERSIONS.iter().find(|d| d.version == major_minor)
}

/// The newest version's defaults.
pub fn latest() -> &'static Defaults {
    &VERSIONS[0]
}

/// A parse error in a defaults file (tested never to happen for the bundled files).
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

enum Item {
    Role(Role),
    Binding(Binding),
}

/// Parses a defaults file into roles and bindings.
pub fn parse(d: &Defaults) -> Result<(Vec<Role>, Vec<Binding>), ParseError> {
    // Defaults have no file of the user's to point at: line 0.
    let origin = |_line: usize| Origin {
        source: format!("kubernetes v{} defaults", d.version),
        line: 0,
    };
    let mut roles = Vec::new();
    let mut bindings = Vec::new();
    let mut current: Option<Item> = None;
    let flush =
        |cur: &mut Option<Item>, roles: &mut Vec<Role>, bindings: &mut Vec<Binding>| match cur
            .take()
        {
            Some(Item::Role(r)) => roles.push(r),
            Some(Item::Binding(b)) => bindings.push(b),
            None => {}
        };
    for (i, raw) in d.text.lines().enumerate() {
        let lineno = i + 1;
        let err = |m: &str| ParseError {
            line: lineno,
            message: format!("{m}: {raw:?}"),
        };
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let indented = raw.starts_with("  ");
        let mut words = raw.split_whitespace();
        let head = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        if !indented {
            flush(&mut current, &mut roles, &mut bindings);
            match (head, rest.as_slice()) {
                ("version", [v]) => {
                    if *v != d.version {
                        return Err(err("version does not match the file's"));
                    }
                }
                ("clusterrole", [name]) => {
                    current = Some(Item::Role(new_role(
                        RoleKind::ClusterRole,
                        None,
                        name,
                        origin(lineno),
                    )))
                }
                ("role", [ns, name]) => {
                    current = Some(Item::Role(new_role(
                        RoleKind::Role,
                        Some(ns),
                        name,
                        origin(lineno),
                    )))
                }
                ("clusterrolebinding", [name]) => {
                    current = Some(Item::Binding(new_binding(
                        BindingKind::ClusterRoleBinding,
                        None,
                        name,
                        origin(lineno),
                    )))
                }
                ("rolebinding", [ns, name]) => {
                    current = Some(Item::Binding(new_binding(
                        BindingKind::RoleBinding,
                        Some(ns),
                        name,
                        origin(lineno),
                    )))
                }
                _ => return Err(err("unknown object line")),
            }
            continue;
        }
        match (&mut current, head) {
            (Some(Item::Role(r)), "label") => {
                let [kv] = rest.as_slice() else {
                    return Err(err("label takes key=value"));
                };
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| err("label takes key=value"))?;
                let mut map = match &r.labels.value {
                    palisade_model::Value::Map(m) => m.clone(),
                    _ => Vec::new(),
                };
                map.push(palisade_model::Entry {
                    key: k.to_string(),
                    key_pos: palisade_model::Pos::NONE,
                    value: Node::bare(palisade_model::Value::Str(v.to_string())),
                });
                r.labels = Node::bare(palisade_model::Value::Map(map));
            }
            (Some(Item::Role(r)), "aggregate") => {
                let [kvs] = rest.as_slice() else {
                    return Err(err("aggregate takes k=v[,k=v]"));
                };
                let mut sel = LabelSelector::default();
                for kv in kvs.split(',') {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| err("aggregate takes k=v"))?;
                    sel.match_labels.push((k.to_string(), v.to_string()));
                }
                r.aggregation.push(sel);
            }
            (Some(Item::Role(r)), "rule") => {
                let mut rule = Rule::default();
                for field in &rest {
                    let (k, v) = field
                        .split_once('=')
                        .ok_or_else(|| err("rule field without ="))?;
                    let values: Vec<String> = v
                        .split(',')
                        .map(|s| {
                            if s == "\"\"" {
                                String::new()
                            } else {
                                s.to_string()
                            }
                        })
                        .collect();
                    match k {
                        "verbs" => rule.verbs = values,
                        "groups" => rule.api_groups = values,
                        "resources" => rule.resources = values,
                        "names" => rule.resource_names = values,
                        "urls" => rule.non_resource_urls = values,
                        _ => return Err(err("unknown rule field")),
                    }
                }
                if rule.verbs.is_empty() {
                    return Err(err("rule without verbs"));
                }
                r.rules.push(rule);
            }
            (Some(Item::Binding(b)), "roleref") => match rest.as_slice() {
                ["ClusterRole", name] => {
                    b.role_kind = RoleKind::ClusterRole;
                    b.role_name = name.to_string();
                }
                ["Role", name] => {
                    b.role_kind = RoleKind::Role;
                    b.role_name = name.to_string();
                }
                _ => return Err(err("roleref takes Role|ClusterRole NAME")),
            },
            (Some(Item::Binding(b)), "subject") => {
                let s = match rest.as_slice() {
                    ["User", name] => Subject::user(name),
                    ["Group", name] => Subject::group(name),
                    ["ServiceAccount", nsname] => {
                        let (ns, name) = nsname
                            .split_once('/')
                            .ok_or_else(|| err("ServiceAccount subject is NAMESPACE/NAME"))?;
                        Subject::service_account(ns, name)
                    }
                    _ => return Err(err("subject takes User|Group|ServiceAccount NAME")),
                };
                b.subjects.push(s);
            }
            _ => return Err(err("unexpected line here")),
        }
    }
    flush(&mut current, &mut roles, &mut bindings);
    if let Some(b) = bindings.iter().find(|b| b.role_name.is_empty()) {
        return Err(ParseError {
            line: 0,
            message: format!("{} has no roleref", b.label()),
        });
    }
    Ok((roles, bindings))
}

fn new_role(kind: RoleKind, ns: Option<&str>, name: &str, origin: Origin) -> Role {
    Role {
        kind,
        namespace: ns.map(str::to_string),
        name: name.to_string(),
        rules: Vec::new(),
        aggregation: Vec::new(),
        labels: Node::bare(palisade_model::Value::Map(Vec::new())),
        origin,
        default: true,
    }
}

fn new_binding(kind: BindingKind, ns: Option<&str>, name: &str, origin: Origin) -> Binding {
    Binding {
        kind,
        namespace: ns.map(str::to_string),
        name: name.to_string(),
        role_kind: RoleKind::ClusterRole,
        role_name: String::new(),
        role: None,
        subjects: Vec::new(),
        origin,
        default: true,
    }
}

/// The default roles of `d` (empty if the file does not parse, which a test rules out).
pub fn roles(d: &Defaults) -> Vec<Role> {
    parse(d).map(|(r, _)| r).unwrap_or_default()
}

/// The default bindings of `d`.
pub fn bindings(d: &Defaults) -> Vec<Binding> {
    parse(d).map(|(_, b)| b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_version_parses_and_knows_the_user_facing_roles() {
        for d in VERSIONS {
            let (roles, bindings) = parse(d).unwrap_or_else(|e| panic!("v{}: {e:?}", d.version));
            for name in ["cluster-admin", "admin", "edit", "view", "system:discovery"] {
                assert!(
                    roles
                        .iter()
                        .any(|r| r.name == name && r.kind == RoleKind::ClusterRole),
                    "v{} lacks {name}",
                    d.version
                );
            }
            let ca = bindings
                .iter()
                .find(|b| b.name == "cluster-admin")
                .expect("cluster-admin binding");
            assert_eq!(ca.subjects, vec![Subject::group("system:masters")]);
            // Every binding refers to a role the defaults define.
            for b in &bindings {
                assert!(
                    roles.iter().any(|r| r.name == b.role_name
                        && r.kind == b.role_kind
                        && (r.kind == RoleKind::ClusterRole || r.namespace == b.namespace)),
                    "v{}: {} refers to a missing {}",
                    d.version,
                    b.label(),
                    b.role_name
                );
            }
        }
        assert_eq!(find("v1.21.3").map(|d| d.version), Some("1.21"));
        assert!(find("1.2").is_none());
    }
}
