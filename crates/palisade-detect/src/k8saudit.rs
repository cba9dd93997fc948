//! The `k8s_audit` source: Kubernetes audit Events (`audit.k8s.io/v1`), with the k8saudit
//! plugin's `ka.*` fields and the json plugin's `jevt.*`.

use crate::compile::FArg;
use crate::eval::{Event, Vals};
use crate::fields::FieldDef;
use crate::time;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;

pub struct AuditEvent {
    /// The event's JSON text.
    raw: Box<str>,
    /// Top-level members, parsed on first use (most rules read a few small members; the
    /// request and response objects are parsed only when a rule reaches them).
    /// (key, value text range in `raw`, parsed value).
    top: Vec<(Key, std::ops::Range<usize>, OnceCell<Value>)>,
    pub num: u64,
    /// Nanoseconds since the epoch (stageTimestamp, else requestReceivedTimestamp).
    pub time_ns: i64,
    pub hostname: std::sync::Arc<str>,
}

impl AuditEvent {
    /// Reads one event's JSON text. `Ok(None)` when it is JSON but not an audit event (no
    /// `auditID`).
    pub fn parse(
        raw: &str,
        num: u64,
        hostname: std::sync::Arc<str>,
    ) -> Result<Option<AuditEvent>, String> {
        // Locate the top-level members without parsing them (see `scan_members`).
        let members = scan_members(raw)?;
        if !members.iter().any(|(k, _)| k.get(raw) == "auditID") {
            return Ok(None);
        }
        let top: Vec<(Key, std::ops::Range<usize>, OnceCell<Value>)> = members
            .into_iter()
            .map(|(k, r)| (k, r, OnceCell::new()))
            .collect();
        let mut ev = AuditEvent {
            raw: raw.into(),
            top,
            num,
            time_ns: 0,
            hostname,
        };
        ev.time_ns = ["stageTimestamp", "requestReceivedTimestamp"]
            .iter()
            .find_map(|k| {
                ev.top(k)
                    .and_then(Value::as_str)
                    .and_then(time::parse_rfc3339)
            })
            .unwrap_or(0);
        Ok(Some(ev))
    }

    /// From an already parsed value (EventList items).
    pub fn new(json: Value, num: u64, hostname: std::sync::Arc<str>) -> Option<AuditEvent> {
        json.get("auditID")?;
        AuditEvent::parse(&json.to_string(), num, hostname)
            .ok()
            .flatten()
    }

    /// A top-level member, parsed once.
    pub fn top(&self, key: &str) -> Option<&Value> {
        let (_, range, cell) = self.top.iter().find(|(k, _, _)| k.get(&self.raw) == key)?;
        Some(cell.get_or_init(|| {
            serde_json::from_str(self.raw.get(range.clone()).unwrap_or("null"))
                .unwrap_or(Value::Null)
        }))
    }

    /// The value at a path of keys from the top.
    pub fn at(&self, keys: &[&str]) -> Option<&Value> {
        let (first, rest) = keys.split_first()?;
        let mut cur = self.top(first)?;
        for k in rest {
            cur = cur.get(*k)?;
        }
        Some(cur)
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// An RFC 6901 JSON pointer from the top.
    pub fn pointer(&self, p: &str) -> Option<&Value> {
        if p.is_empty() {
            return None;
        }
        let rest = p.strip_prefix('/')?;
        let (first, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let v = if first.contains('~') {
            self.top(&first.replace("~1", "/").replace("~0", "~"))?
        } else {
            self.top(first)?
        };
        if tail.is_empty() {
            Some(v)
        } else {
            v.pointer(tail)
        }
    }
}

/// Text of a JSON value as the plugin renders it: strings as is, other scalars as JSON
/// text, objects and arrays as compact JSON.
fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        other => Cow::Owned(other.to_string()),
    }
}

fn get<'a>(e: &'a AuditEvent, keys: &[&str]) -> Option<&'a Value> {
    e.at(keys)
}

fn scalar<'a>(v: &'a AuditEvent, keys: &[&str]) -> Vals<'a> {
    match get(v, keys) {
        Some(x) => Vals::One(text(x)),
        None => Vals::None,
    }
}

fn list<'a>(v: &'a AuditEvent, keys: &[&str]) -> Vals<'a> {
    match get(v, keys) {
        Some(Value::Array(a)) => Vals::Many(a.iter().map(text).collect()),
        _ => Vals::None,
    }
}

/// The plugin's recursive walk: arrays along the path are flattened (all elements, or the
/// indexed one at the first array); missing leaves are `None` entries.
fn walk<'a>(v: &'a Value, index: Option<usize>, keys: &[&str], out: &mut Vec<Option<&'a Value>>) {
    let mut cur = v;
    for (i, k) in keys.iter().enumerate() {
        if let Value::Array(arr) = cur {
            match index {
                None => {
                    for x in arr {
                        walk(x, None, &keys[i..], out);
                    }
                    return;
                }
                Some(n) => match arr.get(n) {
                    Some(x) => cur = x,
                    None => return,
                },
            }
        }
        match cur.get(*k) {
            Some(x) => cur = x,
            None => {
                out.push(None);
                return;
            }
        }
    }
    out.push(Some(cur));
}

fn values<'a>(
    e: &'a AuditEvent,
    index: Option<usize>,
    keys: &[&str],
) -> Option<Vec<Option<&'a Value>>> {
    // The walk's root must exist (requestObject.spec.containers, …).
    let mut out = Vec::new();
    let (first, rest) = keys.split_first()?;
    let mut cur = e.top(first)?;
    for (i, k) in rest.iter().enumerate() {
        if cur.is_array() {
            walk(cur, index, &rest[i..], &mut out);
            return Some(out);
        }
        cur = cur.get(*k)?;
    }
    // A leaf array is one value, as in the plugin (its elements are not flattened here).
    out.push(Some(cur));
    Some(out)
}

fn skip_nil<'a>(vals: Option<Vec<Option<&'a Value>>>) -> Vals<'a> {
    match vals {
        Some(v) => Vals::Many(
            v.into_iter()
                .flatten()
                .filter(|x| !x.is_null())
                .map(text)
                .collect(),
        ),
        None => Vals::None,
    }
}

fn index(arg: &FArg) -> Option<usize> {
    match arg {
        FArg::Index(i) => Some(*i),
        _ => None,
    }
}

fn repo(image: &str) -> &str {
    let no_tag = image.split(':').next().unwrap_or(image);
    no_tag.split('@').next().unwrap_or(no_tag)
}

fn containers<'a>(v: &'a AuditEvent, list: &str, idx: Option<usize>, field: &str) -> Vals<'a> {
    let base = ["requestObject", "spec", list];
    let sub = |keys: &[&str]| -> Option<Vec<Option<&'a Value>>> {
        let mut k: Vec<&str> = base.to_vec();
        k.extend_from_slice(keys);
        values(v, idx, &k)
    };
    match field {
        "image" => match sub(&["image"]) {
            Some(x) => Vals::Many(x.into_iter().flatten().map(text).collect()),
            None => Vals::None,
        },
        "image.repository" => match sub(&["image"]) {
            Some(x) => Vals::Many(
                x.into_iter()
                    .flatten()
                    .map(|i| match text(i) {
                        Cow::Borrowed(s) => Cow::Borrowed(repo(s)),
                        Cow::Owned(s) => Cow::Owned(repo(&s).to_string()),
                    })
                    .collect(),
            ),
            None => Vals::None,
        },
        "name" => skip_nil(sub(&["name"])),
        "args" | "command" => match sub(&[field]) {
            Some(x) => {
                let joined: Vec<Cow<str>> = x
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_array())
                    .map(|a| {
                        Cow::Owned(
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(" "),
                        )
                    })
                    .collect();
                if joined.is_empty() {
                    Vals::None
                } else {
                    Vals::Many(joined)
                }
            }
            None => Vals::None,
        },
        "host_port" => match sub(&["ports"]) {
            Some(x) => Vals::Many(
                x.into_iter()
                    .flatten()
                    .filter_map(|p| p.as_array())
                    .flatten()
                    .filter_map(|p| p.get("hostPort").or_else(|| p.get("containerPort")))
                    .map(text)
                    .collect(),
            ),
            None => Vals::None,
        },
        "privileged" => skip_nil(sub(&["securityContext", "privileged"])),
        "allow_privilege_escalation" => {
            skip_nil(sub(&["securityContext", "allowPrivilegeEscalation"]))
        }
        "read_only_fs" => skip_nil(sub(&["securityContext", "readOnlyRootFilesystem"])),
        "run_as_user" => skip_nil(sub(&["securityContext", "runAsUser"])),
        "run_as_group" => skip_nil(sub(&["securityContext", "runAsGroup"])),
        "proc_mount" => skip_nil(sub(&["securityContext", "procMount"])),
        "add_capabilities" => match sub(&["securityContext", "capabilities", "add"]) {
            Some(x) => Vals::Many(
                x.into_iter()
                    .flatten()
                    .flat_map(|a| {
                        a.as_array()
                            .map(|a| a.iter().map(text).collect::<Vec<_>>())
                            .unwrap_or_else(|| vec![text(a)])
                    })
                    .collect(),
            ),
            None => Vals::None,
        },
        "eff_run_as_user" | "eff_run_as_group" => {
            let key = if field == "eff_run_as_user" {
                "runAsUser"
            } else {
                "runAsGroup"
            };
            let pod = get(v, &["requestObject", "spec", "securityContext", key])
                .map(text)
                .unwrap_or(Cow::Borrowed("0"));
            match sub(&["securityContext", key]) {
                Some(x) => Vals::Many(
                    x.into_iter()
                        .map(|c| {
                            c.filter(|c| !c.is_null())
                                .map(text)
                                .unwrap_or_else(|| pod.clone())
                        })
                        .collect(),
                ),
                None => Vals::None,
            }
        }
        _ => Vals::None,
    }
}

fn subject_names<'a>(v: &'a AuditEvent, kind: &str) -> Vals<'a> {
    let Some(subjects) = get(v, &["requestObject", "subjects"]).and_then(Value::as_array) else {
        return Vals::Many(Vec::new());
    };
    let ns_names = kind == "NamespacedServiceAccount";
    let want = if ns_names { "ServiceAccount" } else { kind };
    Vals::Many(
        subjects
            .iter()
            .filter(|s| s.get("kind").and_then(Value::as_str) == Some(want))
            .filter_map(|s| {
                let name = s.get("name").and_then(Value::as_str)?;
                Some(if ns_names {
                    Cow::Owned(format!(
                        "{}:{name}",
                        s.get("namespace").and_then(Value::as_str).unwrap_or("")
                    ))
                } else {
                    Cow::Borrowed(name)
                })
            })
            .collect(),
    )
}

impl Event for AuditEvent {
    fn source(&self) -> &str {
        "k8s_audit"
    }

    fn extract(&self, def: &FieldDef, arg: &FArg) -> Vals<'_> {
        let v = self;
        let name = def.name;
        // The fields nearly every rule reads, checked first (string matches are sequential).
        match name {
            "jevt.value" => {
                return match arg {
                    FArg::Key(p) => match self.pointer(p) {
                        Some(x) => Vals::One(text(x)),
                        None => Vals::None,
                    },
                    _ => Vals::None,
                }
            }
            "ka.verb" => return scalar(v, &["verb"]),
            "ka.target.resource" => return scalar(v, &["objectRef", "resource"]),
            "ka.user.name" => return scalar(v, &["user", "username"]),
            "ka.target.subresource" => return scalar(v, &["objectRef", "subresource"]),
            "ka.target.name" => return scalar(v, &["objectRef", "name"]),
            "ka.target.namespace" => return scalar(v, &["objectRef", "namespace"]),
            "ka.response.code" => return scalar(v, &["responseStatus", "code"]),
            _ => {}
        }
        if let Some(rest) = name.strip_prefix("ka.req.pod.") {
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                if let Some(field) = rest.strip_prefix(list).and_then(|r| r.strip_prefix('.')) {
                    return containers(v, list, index(arg), field);
                }
            }
        }
        match name {
            "ka.auditid" => scalar(v, &["auditID"]),
            "ka.stage" => scalar(v, &["stage"]),
            "ka.auth.decision" => scalar(v, &["annotations", "authorization.k8s.io/decision"]),
            "ka.auth.reason" => scalar(v, &["annotations", "authorization.k8s.io/reason"]),
            "ka.auth.openshift.decision" => {
                scalar(v, &["annotations", "authentication.openshift.io/decision"])
            }
            "ka.auth.openshift.username" => {
                scalar(v, &["annotations", "authentication.openshift.io/username"])
            }
            "ka.validations.admission.policy.failure" => scalar(
                v,
                &[
                    "annotations",
                    "validation.policy.admission.k8s.io/validation_failure",
                ],
            ),
            "ka.security.pod.violations" => scalar(
                v,
                &["annotations", "pod-security.kubernetes.io/audit-violations"],
            ),
            "ka.user.name" => scalar(v, &["user", "username"]),
            "ka.user.groups" => list(v, &["user", "groups"]),
            "ka.impuser.name" => scalar(v, &["impersonatedUser", "username"]),
            "ka.verb" => scalar(v, &["verb"]),
            "ka.uri" => scalar(v, &["requestURI"]),
            "ka.uri.param" => {
                let (Some(uri), FArg::Key(key)) =
                    (get(v, &["requestURI"]).and_then(Value::as_str), arg)
                else {
                    return Vals::None;
                };
                let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
                query
                    .split('&')
                    .filter_map(|kv| {
                        let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
                        (percent_decode(k) == *key).then(|| percent_decode(val))
                    })
                    .next()
                    .map(|s| Vals::One(Cow::Owned(s)))
                    .unwrap_or(Vals::None)
            }
            "ka.target.name" => scalar(v, &["objectRef", "name"]),
            "ka.target.namespace" => scalar(v, &["objectRef", "namespace"]),
            "ka.target.resource" => scalar(v, &["objectRef", "resource"]),
            "ka.target.subresource" => scalar(v, &["objectRef", "subresource"]),
            "ka.target.pod.name" => {
                let res = get(v, &["objectRef", "resource"]).and_then(Value::as_str);
                let sub = get(v, &["objectRef", "subresource"])
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if res == Some("pods") && sub.is_empty() {
                    scalar(v, &["responseObject", "metadata", "name"])
                } else {
                    Vals::None
                }
            }
            "ka.req.binding.subjects" => list(v, &["requestObject", "subjects"]),
            "ka.req.binding.subjects.user_names" => subject_names(v, "User"),
            "ka.req.binding.subjects.serviceaccount_names" => subject_names(v, "ServiceAccount"),
            "ka.req.binding.subjects.serviceaccount_ns_names" => {
                subject_names(v, "NamespacedServiceAccount")
            }
            "ka.req.binding.subjects.group_names" => subject_names(v, "Group"),
            "ka.req.binding.role" => scalar(v, &["requestObject", "roleRef", "name"]),
            "ka.req.binding.subject.has_name" => Vals::One(Cow::Borrowed("true")),
            "ka.req.configmap.name" => scalar(v, &["objectRef", "name"]),
            "ka.req.configmap.obj" => scalar(v, &["requestObject", "data"]),
            "ka.req.container.image" => match get(v, &["requestObject", "spec", "containers"])
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|c| c.get("image"))
            {
                Some(i) => Vals::One(text(i)),
                None => Vals::None,
            },
            "ka.req.container.image.repository" => {
                match get(v, &["requestObject", "spec", "containers"])
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|c| c.get("image"))
                {
                    Some(Value::String(s)) => Vals::One(Cow::Borrowed(repo(s))),
                    Some(other) => Vals::One(Cow::Owned(repo(&other.to_string()).to_string())),
                    None => Vals::None,
                }
            }
            "ka.req.container.privileged" => {
                match get(v, &["requestObject", "spec", "containers"]).and_then(Value::as_array) {
                    Some(cs) => {
                        let any = cs.iter().any(|c| {
                            c.pointer("/securityContext/privileged")
                                .and_then(Value::as_bool)
                                == Some(true)
                        });
                        Vals::One(Cow::Borrowed(if any { "true" } else { "false" }))
                    }
                    None => Vals::None,
                }
            }
            "ka.req.pod.host_ipc" => scalar(v, &["requestObject", "spec", "hostIPC"]),
            "ka.req.pod.host_network" | "ka.req.container.host_network" => {
                scalar(v, &["requestObject", "spec", "hostNetwork"])
            }
            "ka.req.pod.host_pid" => scalar(v, &["requestObject", "spec", "hostPID"]),
            "ka.req.pod.run_as_user" => scalar(
                v,
                &["requestObject", "spec", "securityContext", "runAsUser"],
            ),
            "ka.req.pod.run_as_group" => scalar(
                v,
                &["requestObject", "spec", "securityContext", "runAsGroup"],
            ),
            "ka.req.pod.fs_group" => {
                scalar(v, &["requestObject", "spec", "securityContext", "fsGroup"])
            }
            "ka.req.pod.supplemental_groups" => list(
                v,
                &[
                    "requestObject",
                    "spec",
                    "securityContext",
                    "supplementalGroups",
                ],
            ),
            "ka.req.role.rules" => list(v, &["requestObject", "rules"]),
            "ka.req.role.rules.apiGroups" => rules_field(v, index(arg), "apiGroups"),
            "ka.req.role.rules.nonResourceURLs" => rules_field(v, index(arg), "nonResourceURLs"),
            "ka.req.role.rules.verbs" => rules_field(v, index(arg), "verbs"),
            "ka.req.role.rules.resources" => rules_field(v, index(arg), "resources"),
            "ka.req.service.type" => scalar(v, &["requestObject", "spec", "type"]),
            "ka.req.service.ports" => {
                skip_nil(values(v, index(arg), &["requestObject", "spec", "ports"]))
            }
            "ka.req.pod.volumes.hostpath" => skip_nil(values(
                v,
                index(arg),
                &["requestObject", "spec", "volumes", "hostPath", "path"],
            )),
            "ka.req.volume.hostpath" => {
                let FArg::Key(want) = arg else {
                    return Vals::None;
                };
                let Some(paths) = values(
                    v,
                    None,
                    &["requestObject", "spec", "volumes", "hostPath", "path"],
                ) else {
                    return Vals::None;
                };
                let prefix = want.strip_suffix('*');
                let hit =
                    paths
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .any(|p| match prefix {
                            Some(pre) => p.starts_with(pre),
                            None => p == want,
                        });
                Vals::One(Cow::Borrowed(if hit { "true" } else { "false" }))
            }
            "ka.req.pod.volumes.flexvolume_driver" => skip_nil(values(
                v,
                index(arg),
                &["requestObject", "spec", "volumes", "flexVolume", "driver"],
            )),
            "ka.req.pod.volumes.volume_type" => {
                match values(v, index(arg), &["requestObject", "spec", "volumes"]) {
                    Some(vols) => Vals::Many(
                        vols.into_iter()
                            .flatten()
                            .filter_map(Value::as_object)
                            .flat_map(|o| {
                                o.keys()
                                    .filter(|k| *k != "name")
                                    .map(|k| Cow::Borrowed(k.as_str()))
                            })
                            .collect(),
                    ),
                    None => Vals::None,
                }
            }
            "ka.resp.name" => scalar(v, &["responseObject", "metadata", "name"]),
            "ka.response.code" => scalar(v, &["responseStatus", "code"]),
            "ka.response.reason" => scalar(v, &["responseStatus", "reason"]),
            "ka.useragent" => scalar(v, &["userAgent"]),
            "ka.sourceips" => {
                match (get(v, &["sourceIPs"]).and_then(Value::as_array), index(arg)) {
                    (Some(a), None) => Vals::Many(a.iter().map(text).collect()),
                    (Some(a), Some(i)) => {
                        a.get(i).map(|x| Vals::One(text(x))).unwrap_or(Vals::None)
                    }
                    _ => Vals::None,
                }
            }
            "ka.cluster.name" => scalar(v, &["annotations", "cluster_name"]),
            "jevt.value" => match arg {
                FArg::Key(p) => match self.pointer(p) {
                    Some(x) => Vals::One(text(x)),
                    None => Vals::None,
                },
                _ => Vals::None,
            },
            "jevt.obj" => Vals::One(Cow::Borrowed(self.raw())),
            "jevt.time" | "evt.time" => Vals::One(Cow::Owned(time::hms(self.time_ns))),
            "jevt.time.iso8601" | "evt.time.iso8601" => {
                Vals::One(Cow::Owned(time::iso8601(self.time_ns)))
            }
            "jevt.rawtime" | "evt.rawtime" => Vals::One(Cow::Owned(self.time_ns.to_string())),
            "evt.time.s" => Vals::One(Cow::Owned(time::hms(self.time_ns)[..8].to_string())),
            "evt.datetime" => Vals::One(Cow::Owned(time::datetime(self.time_ns))),
            "evt.num" => Vals::One(Cow::Owned(self.num.to_string())),
            "evt.source" => Vals::One(Cow::Borrowed("k8s_audit")),
            "evt.hostname" => Vals::One(Cow::Borrowed(&self.hostname)),
            _ => Vals::None,
        }
    }
}

fn rules_field<'a>(v: &'a AuditEvent, idx: Option<usize>, key: &str) -> Vals<'a> {
    match values(v, idx, &["requestObject", "rules", key]) {
        Some(arr) => Vals::Many(
            arr.into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flat_map(|a| a.iter().filter(|x| !x.is_null()).map(text))
                .collect(),
        ),
        None => Vals::None,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A member name: a span of the event text, or decoded when it had escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Span(std::ops::Range<usize>),
    Owned(Box<str>),
}

impl Key {
    pub fn get<'a>(&'a self, raw: &'a str) -> &'a str {
        match self {
            Key::Span(r) => raw.get(r.clone()).unwrap_or(""),
            Key::Owned(s) => s,
        }
    }
}

/// Splits a JSON object's text into its top-level members (key, value byte range) with a
/// structural scan: strings (with escapes) and nesting are followed exactly, but values are
/// not parsed here; each is parsed with serde_json when a rule first reads it (a member that
/// then fails to parse is absent). Errors name the byte offset.
pub fn scan_members(raw: &str) -> Result<Vec<(Key, std::ops::Range<usize>)>, String> {
    let b = raw.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1;
        }
    };
    // Index just past the string starting at `i` (a quote); also whether it had escapes.
    let string = |i: usize| -> Result<(usize, bool), String> {
        let mut j = i + 1;
        let mut escaped = false;
        while j < b.len() {
            match b[j] {
                b'"' => return Ok((j + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                c if c < 0x20 => return Err(format!("control character in a string at byte {j}")),
                _ => j += 1,
            }
        }
        Err(format!("unterminated string at byte {i}"))
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Err("not a JSON object".into());
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        ws(&mut i);
        match b.get(i) {
            Some(b'}') if out.is_empty() => {
                i += 1;
                break;
            }
            Some(b'"') => {}
            _ => return Err(format!("expected a member name at byte {i}")),
        }
        let (end, escaped) = string(i)?;
        let key = if escaped {
            Key::Owned(
                serde_json::from_str::<String>(&raw[i..end])
                    .map_err(|e| format!("bad member name at byte {i}: {e}"))?
                    .into_boxed_str(),
            )
        } else {
            Key::Span(i + 1..end - 1)
        };
        i = end;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return Err(format!("expected ':' at byte {i}"));
        }
        i += 1;
        ws(&mut i);
        let start = i;
        match b.get(i) {
            Some(b'"') => i = string(i)?.0,
            Some(b'{') | Some(b'[') => {
                let mut stack: Vec<u8> = Vec::new();
                loop {
                    match b.get(i) {
                        None => return Err(format!("unterminated value starting at byte {start}")),
                        Some(b'"') => {
                            i = string(i)?.0;
                            continue;
                        }
                        Some(&c @ (b'{' | b'[')) => {
                            if stack.len() >= 256 {
                                return Err(format!("nesting deeper than 256 at byte {i}"));
                            }
                            stack.push(if c == b'{' { b'}' } else { b']' });
                        }
                        Some(&c @ (b'}' | b']')) => {
                            if stack.pop() != Some(c) {
                                return Err(format!("mismatched '{}' at byte {i}", c as char));
                            }
                            if stack.is_empty() {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            Some(_) => {
                while i < b.len() && !matches!(b[i], b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
                if i == start {
                    return Err(format!("missing value at byte {i}"));
                }
            }
            None => return Err("unexpected end of input".into()),
        }
        out.push((key, start..i));
        ws(&mut i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                i += 1;
                break;
            }
            _ => return Err(format!("expected ',' or '}}' at byte {i}")),
        }
    }
    ws(&mut i);
    if i != b.len() {
        return Err(format!("trailing characters at byte {i}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_members() {
        let raw =
            r#" {"a": {"x": [1, "}]\"", {"y": null}]}, "b\u0041": "s,}", "c": 12.5e3 , "d": true}"#;
        let m = scan_members(raw).unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.get(raw)).collect();
        assert_eq!(keys, ["a", "bA", "c", "d"]);
        assert_eq!(&raw[m[0].1.clone()], r#"{"x": [1, "}]\"", {"y": null}]}"#);
        assert_eq!(&raw[m[1].1.clone()], r#""s,}""#);
        assert_eq!(&raw[m[2].1.clone()], "12.5e3");
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a"}"#,
            r#"{"a": [}"#,
            r#"{"a": "x}"#,
            r#"{"a": 1} x"#,
            r#"{"a": 1,}"#,
            r#"{"a":}"#,
        ] {
            assert!(scan_members(bad).is_err(), "{bad}");
        }
        assert_eq!(scan_members("{}").unwrap().len(), 0);
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(300), "]".repeat(300));
        assert!(scan_members(&deep).is_err());
    }
}
