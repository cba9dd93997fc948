//! The opt-in mutating half: a JSONPatch (RFC 6902) that fills in secure defaults where
//! they are absent. It never overwrites a value the user set (even an insecure one), and it
//! is idempotent: applying the patch and asking again gives an empty patch.
//!
//! Defaults (each can be turned off):
//! - pod `securityContext.seccompProfile: {type: RuntimeDefault}` when the pod level has
//!   none (a container's own profile still wins, as in Kubernetes);
//! - container `allowPrivilegeEscalation: false`, except for privileged containers and
//!   containers adding `SYS_ADMIN`, which the API server would then reject (listed in
//!   `skipped`);
//! - container `capabilities.drop` gets `ALL` (appended to an existing list; `add` is never
//!   touched);
//! - pod `runAsNonRoot: true` when nothing sets it and every container's effective
//!   `runAsUser` is a non-zero number. An image's own `USER` cannot be known without
//!   pulling it, so the spec's `runAsUser` is what counts;
//! - pod `automountServiceAccountToken: false` when absent.
//!
//! Pods are patched on CREATE only (their spec is immutable afterwards); pod-template kinds
//! on CREATE and UPDATE. Ephemeral containers are left alone (they are added through a
//! subresource, which is not patched). Windows pods (`spec.os.name: windows`) get only the
//! service-account default: the Linux security settings are invalid for them.

use palisade_policy::{AdmissionRequest, Operation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MutationOptions {
    pub seccomp_runtime_default: bool,
    pub disallow_privilege_escalation: bool,
    pub drop_all_capabilities: bool,
    pub run_as_non_root: bool,
    pub automount_service_account_token: bool,
}

impl Default for MutationOptions {
    fn default() -> Self {
        MutationOptions {
            seccomp_runtime_default: true,
            disallow_privilege_escalation: true,
            drop_all_capabilities: true,
            run_as_non_root: true,
            automount_service_account_token: true,
        }
    }
}

/// One JSONPatch operation, with why it is there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatchOp {
    pub op: &'static str,
    pub path: String,
    pub value: Value,
    #[serde(skip)]
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Mutation {
    pub patch: Vec<PatchOp>,
    /// Defaults not applied, and why.
    pub skipped: Vec<String>,
}

impl Mutation {
    pub fn is_empty(&self) -> bool {
        self.patch.is_empty()
    }

    /// The RFC 6902 JSON array.
    pub fn to_json_patch(&self) -> Vec<u8> {
        serde_json::to_vec(&self.patch).unwrap_or_else(|_| b"[]".to_vec())
    }

    /// One line per operation for the decision log.
    pub fn summary(&self) -> Vec<String> {
        self.patch
            .iter()
            .map(|p| format!("{} {} ({})", p.op, p.path, p.reason))
            .collect()
    }

    fn add(&mut self, path: String, value: Value, reason: &str) {
        self.patch.push(PatchOp {
            op: "add",
            path,
            value,
            reason: reason.to_string(),
        });
    }
}

/// Where the pod spec of a kind is.
fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, kind) {
        ("", "Pod") => "/spec",
        ("", "PodTemplate") => "/template/spec",
        ("", "ReplicationController")
        | ("apps", "Deployment")
        | ("apps", "ReplicaSet")
        | ("apps", "StatefulSet")
        | ("apps", "DaemonSet")
        | ("batch", "Job") => "/spec/template/spec",
        ("batch", "CronJob") => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    })
}

/// The secure-defaults patch for a request.
pub fn secure_defaults(request: &AdmissionRequest, opts: &MutationOptions) -> Mutation {
    if request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return Mutation::default();
    }
    let is_pod = request.kind.group.is_empty() && request.kind.kind == "Pod";
    let op_ok = match request.operation {
        Operation::Create => true,
        Operation::Update => !is_pod,
        _ => false,
    };
    match (&request.object, op_ok) {
        (Some(o), true) => secure_defaults_for_object(o, opts),
        _ => Mutation::default(),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Absent or explicitly null.
fn absent(v: Option<&Value>) -> bool {
    v.is_none_or(Value::is_null)
}

/// The secure-defaults patch for an object of any pod-bearing kind.
pub fn secure_defaults_for_object(object: &Value, opts: &MutationOptions) -> Mutation {
    let mut m = Mutation::default();
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let Some(ptr) = pod_spec_pointer(group, kind) else {
        return m;
    };
    let Some(spec) = object.pointer(ptr).and_then(Value::as_object) else {
        return m;
    };
    let windows = spec
        .get("os")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        == Some("windows");

    if opts.automount_service_account_token && absent(spec.get("automountServiceAccountToken")) {
        m.add(
            format!("{ptr}/automountServiceAccountToken"),
            Value::Bool(false),
            "no service account token unless asked for",
        );
    }
    if windows {
        if opts.seccomp_runtime_default
            || opts.disallow_privilege_escalation
            || opts.drop_all_capabilities
            || opts.run_as_non_root
        {
            m.skipped
                .push("windows pod: Linux security defaults not applicable".into());
        }
        return m;
    }

    // Pod-level securityContext additions, merged into one op when it is absent.
    let pod_sc = spec.get("securityContext");
    let pod_sc_obj = pod_sc.and_then(Value::as_object);
    let pod_sc_usable = absent(pod_sc) || pod_sc_obj.is_some();
    let mut pod_adds: Vec<(&str, Value, &str)> = Vec::new();
    let legacy_seccomp = object
        .pointer(&format!(
            "{}/metadata/annotations",
            ptr.strip_suffix("/spec").unwrap_or("")
        ))
        .and_then(|a| a.get("seccomp.security.alpha.kubernetes.io/pod"))
        .is_some();
    if opts.seccomp_runtime_default
        && pod_sc_usable
        && absent(pod_sc_obj.and_then(|s| s.get("seccompProfile")))
        && !legacy_seccomp
    {
        pod_adds.push((
            "seccompProfile",
            json!({"type": "RuntimeDefault"}),
            "seccomp RuntimeDefault",
        ));
    }
    let containers: Vec<(&str, usize, &Value)> = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|list| {
            spec.get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flat_map(move |a| a.iter().enumerate().map(move |(i, c)| (list, i, c)))
        })
        .collect();
    if opts.run_as_non_root
        && pod_sc_usable
        && absent(pod_sc_obj.and_then(|s| s.get("runAsNonRoot")))
        && !containers.is_empty()
    {
        let pod_user = pod_sc_obj
            .and_then(|s| s.get("runAsUser"))
            .and_then(Value::as_i64);
        let mut all_non_root = true;
        let mut any_set = false;
        for (_, _, c) in &containers {
            if !c.is_object() {
                all_non_root = false;
            }
            let sc = c.get("securityContext");
            if sc
                .and_then(|s| s.get("runAsNonRoot"))
                .is_some_and(|v| !v.is_null())
            {
                any_set = true;
            }
            let user = sc
                .and_then(|s| s.get("runAsUser"))
                .and_then(Value::as_i64)
                .or(pod_user);
            if user.is_none_or(|u| u <= 0) {
                all_non_root = false;
            }
        }
        if all_non_root && !any_set {
            pod_adds.push((
                "runAsNonRoot",
                Value::Bool(true),
                "runAsNonRoot: every container runs as a non-zero UID",
            ));
        } else if !any_set {
            m.skipped
                .push("runAsNonRoot: not every container has a known non-zero runAsUser".into());
        }
    }
    if !pod_adds.is_empty() {
        if pod_sc_obj.is_some() {
            for (k, v, why) in pod_adds {
                m.add(format!("{ptr}/securityContext/{k}"), v, why);
            }
        } else {
            let reasons: Vec<&str> = pod_adds.iter().map(|a| a.2).collect();
            let obj: Map<String, Value> = pod_adds
                .into_iter()
                .map(|(k, v, _)| (k.to_string(), v))
                .collect();
            m.add(
                format!("{ptr}/securityContext"),
                Value::Object(obj),
                &reasons.join(", "),
            );
        }
    } else if !pod_sc_usable {
        m.skipped
            .push("pod securityContext is not an object: left alone".into());
    }

    for (list, i, c) in containers {
        if !c.is_object() {
            m.skipped.push(format!("{list}[{i}] is not an object"));
            continue;
        }
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let base = format!("{ptr}/{list}/{i}");
        let sc = c.get("securityContext");
        let sc_obj = sc.and_then(Value::as_object);
        if !absent(sc) && sc_obj.is_none() {
            m.skipped.push(format!(
                "container {name:?}: securityContext is not an object"
            ));
            continue;
        }
        let mut adds: Vec<(String, Value, String)> = Vec::new();
        if opts.disallow_privilege_escalation
            && absent(sc_obj.and_then(|s| s.get("allowPrivilegeEscalation")))
        {
            let privileged = sc_obj
                .and_then(|s| s.get("privileged"))
                .and_then(Value::as_bool)
                == Some(true);
            let sys_admin = sc_obj
                .and_then(|s| s.get("capabilities"))
                .and_then(|c| c.get("add"))
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .any(|c| c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN")
                });
            if privileged || sys_admin {
                m.skipped.push(format!(
                    "container {name:?}: {}, allowPrivilegeEscalation left unset",
                    if privileged {
                        "privileged"
                    } else {
                        "adds SYS_ADMIN"
                    }
                ));
            } else {
                adds.push((
                    "allowPrivilegeEscalation".into(),
                    Value::Bool(false),
                    "allowPrivilegeEscalation false".into(),
                ));
            }
        }
        if opts.drop_all_capabilities {
            let caps = sc_obj.and_then(|s| s.get("capabilities"));
            match caps {
                c if absent(c) => adds.push((
                    "capabilities".into(),
                    json!({"drop": ["ALL"]}),
                    "drop ALL capabilities".into(),
                )),
                Some(Value::Object(cm)) => match cm.get("drop") {
                    d if absent(d) => m.add(
                        format!("{base}/securityContext/capabilities/drop"),
                        json!(["ALL"]),
                        "drop ALL capabilities",
                    ),
                    Some(Value::Array(d)) => {
                        if !d.iter().any(|v| v.as_str() == Some("ALL")) {
                            m.add(
                                format!("{base}/securityContext/capabilities/drop/-"),
                                json!("ALL"),
                                "drop ALL capabilities",
                            );
                        }
                    }
                    _ => m.skipped.push(format!(
                        "container {name:?}: capabilities.drop is not a list"
                    )),
                },
                _ => m
                    .skipped
                    .push(format!("container {name:?}: capabilities is not an object")),
            }
        }
        if adds.is_empty() {
            continue;
        }
        if sc_obj.is_some() {
            for (k, v, why) in adds {
                m.add(format!("{base}/securityContext/{}", escape(&k)), v, &why);
            }
        } else {
            let why: Vec<String> = adds.iter().map(|a| a.2.clone()).collect();
            let obj: Map<String, Value> = adds.into_iter().map(|(k, v, _)| (k, v)).collect();
            m.add(
                format!("{base}/securityContext"),
                Value::Object(obj),
                &format!("container {name:?}: {}", why.join(", ")),
            );
        }
    }
    m
}

/// Splits a JSON pointer into unescaped tokens.
fn tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("{path:?} is not a JSON pointer"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Applies an RFC 6902 patch (`add`, `replace`, `remove`, `test`).
pub fn apply(target: &mut Value, patch: &[PatchOp]) -> Result<(), String> {
    for (i, p) in patch.iter().enumerate() {
        let err = |m: &str| format!("patch op {i} ({} {}): {m}", p.op, p.path);
        let toks = tokens(&p.path).map_err(|e| err(&e))?;
        let Some((last, parents)) = toks.split_last() else {
            match p.op {
                "add" | "replace" => {
                    *target = p.value.clone();
                    continue;
                }
                _ => return Err(err("cannot apply to the root")),
            }
        };
        let mut cur = &mut *target;
        for t in parents {
            cur = match cur {
                Value::Object(m) => m.get_mut(t.as_str()),
                Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| err("path does not exist"))?;
        }
        match (p.op, cur) {
            ("add", Value::Object(m)) => {
                m.insert(last.clone(), p.value.clone());
            }
            ("add", Value::Array(a)) => {
                if last == "-" {
                    a.push(p.value.clone());
                } else {
                    let idx: usize = last.parse().map_err(|_| err("bad array index"))?;
                    if idx > a.len() {
                        return Err(err("array index out of range"));
                    }
                    a.insert(idx, p.value.clone());
                }
            }
            ("replace", Value::Object(m)) => {
                let slot = m
                    .get_mut(last.as_str())
                    .ok_or_else(|| err("no such member"))?;
                *slot = p.value.clone();
            }
            ("replace", Value::Array(a)) => {
                let slot = last
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| err("no such element"))?;
                *slot = p.value.clone();
            }
            ("remove", Value::Object(m)) => {
                m.remove(last.as_str())
                    .ok_or_else(|| err("no such member"))?;
            }
            ("remove", Value::Array(a)) => {
                let idx = last
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < a.len())
                    .ok_or_else(|| err("no such element"))?;
                a.remove(idx);
            }
            ("test", cur) => {
                let v = match cur {
                    Value::Object(m) => m.get(last.as_str()),
                    Value::Array(a) => last.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                };
                if v != Some(&p.value) {
                    return Err(err("test failed"));
                }
            }
            (op, _) if !["add", "replace", "remove", "test"].contains(&op) => {
                return Err(err("unsupported operation"))
            }
            _ => return Err(err("parent is not an object or array")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_policy::UserInfo;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":spec})
    }

    fn converge(obj: &Value) -> Value {
        let m = secure_defaults_for_object(obj, &MutationOptions::default());
        let mut patched = obj.clone();
        apply(&mut patched, &m.patch).unwrap_or_else(|e| panic!("{e}\n{:#?}", m.patch));
        let again = secure_defaults_for_object(&patched, &MutationOptions::default());
        assert!(again.is_empty(), "idempotent: {:#?}", again.patch);
        // The patch is valid JSON Patch.
        let ops: Vec<Value> = serde_json::from_slice(&m.to_json_patch()).unwrap();
        assert_eq!(ops.len(), m.patch.len());
        patched
    }

    #[test]
    fn bare_pod_gets_every_default() {
        let p = pod(json!({"containers":[{"name":"c","image":"x:1",
            "securityContext":{"runAsUser":1000}}]}));
        let out = converge(&p);
        let s = &out["spec"];
        assert_eq!(s["automountServiceAccountToken"], false);
        assert_eq!(
            s["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(s["securityContext"]["runAsNonRoot"], true);
        let c = &s["containers"][0]["securityContext"];
        assert_eq!(c["allowPrivilegeEscalation"], false);
        assert_eq!(c["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(c["runAsUser"], 1000, "user values kept");
    }

    #[test]
    fn user_values_are_never_overwritten() {
        let p = pod(json!({
            "automountServiceAccountToken": true,
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers":[{"name":"c","image":"x:1","securityContext":{
                "allowPrivilegeEscalation": true,
                "capabilities": {"drop": ["NET_RAW"], "add": ["NET_ADMIN"]}}}]}));
        let m = secure_defaults_for_object(&p, &MutationOptions::default());
        assert_eq!(m.patch.len(), 1, "{:#?}", m.patch);
        assert_eq!(
            m.patch[0].path,
            "/spec/containers/0/securityContext/capabilities/drop/-"
        );
        let out = converge(&p);
        assert_eq!(
            out["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json!(["NET_RAW", "ALL"])
        );
        assert_eq!(
            out["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
            true
        );
        assert_eq!(
            out["spec"]["securityContext"]["seccompProfile"]["type"],
            "Unconfined"
        );
        assert!(m.skipped.iter().any(|s| s.contains("runAsNonRoot")));
    }

    #[test]
    fn privileged_and_sys_admin_are_skipped_with_a_reason() {
        let p = pod(json!({"containers":[
            {"name":"a","image":"x","securityContext":{"privileged":true}},
            {"name":"b","image":"x","securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}]}));
        let m = secure_defaults_for_object(&p, &MutationOptions::default());
        assert!(
            m.skipped.iter().any(|s| s.contains("\"a\": privileged")),
            "{:?}",
            m.skipped
        );
        assert!(
            m.skipped
                .iter()
                .any(|s| s.contains("\"b\": adds SYS_ADMIN")),
            "{:?}",
            m.skipped
        );
        let out = converge(&p);
        assert!(out["spec"]["containers"][0]["securityContext"]
            .get("allowPrivilegeEscalation")
            .is_none());
    }

    #[test]
    fn run_as_non_root_needs_every_container() {
        let p = pod(json!({"securityContext":{"runAsUser":0},"containers":[
            {"name":"a","image":"x","securityContext":{"runAsUser":1000}},
            {"name":"b","image":"x"}]}));
        let out = converge(&p);
        assert!(out["spec"]["securityContext"].get("runAsNonRoot").is_none());
        let p = pod(json!({"securityContext":{"runAsUser":10},"containers":[
            {"name":"a","image":"x"},{"name":"b","image":"x","securityContext":null}]}));
        let out = converge(&p);
        assert_eq!(out["spec"]["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            out["spec"]["containers"][1]["securityContext"]["allowPrivilegeEscalation"],
            false
        );
    }

    #[test]
    fn workload_paths() {
        let d = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
            "spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}});
        let m = secure_defaults_for_object(&d, &MutationOptions::default());
        assert!(m
            .patch
            .iter()
            .all(|p| p.path.starts_with("/spec/template/spec/")));
        converge(&d);
        let cj = json!({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"d"},
            "spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"x"}],"containers":[{"name":"c","image":"x"}]}}}}}});
        let m = secure_defaults_for_object(&cj, &MutationOptions::default());
        assert!(m
            .patch
            .iter()
            .any(|p| p.path
                == "/spec/jobTemplate/spec/template/spec/initContainers/0/securityContext"));
        converge(&cj);
    }

    #[test]
    fn windows_pods_get_only_the_token_default() {
        let p = pod(json!({"os":{"name":"windows"},"containers":[{"name":"c","image":"x"}]}));
        let m = secure_defaults_for_object(&p, &MutationOptions::default());
        assert_eq!(m.patch.len(), 1);
        assert_eq!(m.patch[0].path, "/spec/automountServiceAccountToken");
        assert!(!m.skipped.is_empty());
    }

    #[test]
    fn nothing_for_other_requests() {
        let p = pod(json!({"containers":[{"name":"c","image":"x"}]}));
        let opts = MutationOptions::default();
        let req = |op| AdmissionRequest::for_object(Some(p.clone()), None, op, UserInfo::offline());
        assert!(!secure_defaults(&req(Operation::Create), &opts).is_empty());
        assert!(
            secure_defaults(&req(Operation::Update), &opts).is_empty(),
            "pods: create only"
        );
        assert!(secure_defaults(&req(Operation::Delete), &opts).is_empty());
        let mut r = req(Operation::Create);
        r.sub_resource = Some("ephemeralcontainers".into());
        assert!(secure_defaults(&r, &opts).is_empty());
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}});
        assert!(secure_defaults_for_object(&cm, &opts).is_empty());
    }

    #[test]
    fn odd_shapes_never_panic() {
        let opts = MutationOptions::default();
        for spec in [
            json!({"containers": "nope"}),
            json!({"containers": [1, "x", null, {"securityContext": "str"}]}),
            json!({"securityContext": 5, "containers": [{"name":"c"}]}),
            json!({"containers": [{"securityContext": {"capabilities": {"drop": "ALL"}}}]}),
            json!({"containers": [{"securityContext": {"capabilities": 3}}]}),
            json!(null),
        ] {
            let p = pod(spec);
            let m = secure_defaults_for_object(&p, &opts);
            let mut patched = p.clone();
            apply(&mut patched, &m.patch).unwrap();
        }
    }

    #[test]
    fn apply_errors_name_the_op() {
        let mut v = json!({"a": {}});
        let bad = vec![PatchOp {
            op: "add",
            path: "/x/y".into(),
            value: json!(1),
            reason: String::new(),
        }];
        let e = apply(&mut v, &bad).unwrap_err();
        assert!(e.contains("patch op 0") && e.contains("/x/y"), "{e}");
        let esc = vec![PatchOp {
            op: "add",
            path: "/a/b~1c".into(),
            value: json!(1),
            reason: String::new(),
        }];
        apply(&mut v, &esc).unwrap();
        assert_eq!(v["a"]["b/c"], 1);
    }
}
