//! kube-bench `cfg/` check files: loading and evaluation, so a team's custom checks keep
//! working.
//!
//! A file has `controls` metadata (`id`, `text`, `type`) and `groups` of `checks`; each check
//! has an `audit` command (and optionally `audit_config`, `audit_env`), `tests` with
//! `bin_op` (`and`/`or`) and `test_items` (`flag`, `path`, `env`, `set`, `compare` with `op`
//! one of eq, noteq, gt, gte, lt, lte, has, nothave, regex, valid_elements, bitmask), `type`
//! (`manual`, `skip`), `scored` and `remediation`. Matching follows kube-bench: a flag is
//! found by substring and its value read as `flag=value`, `flag: value` or a bare boolean
//! flag; a path is a `{.a.b}` expression (lists read as comma-separated values) over the YAML/JSON output of `audit_config`, used
//! when the flag is absent from the `audit` output; `set` defaults to true; an unscored
//! check that fails is WARN.
//!
//! Audit commands are never run without permission: the caller passes an [`Exec`] only when
//! `--allow-exec` was given. Without it, three common audit shapes are answered natively
//! from the root (no process is started): `ps -fC NAME`, `cat FILE` and `stat -c FORMAT FILE`
//! (`%a`, `%U`, `%G`, `%n`). Any other command is reported as not run.

use crate::eval::Status;
use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::{Diagnostic, Level, Node, Value};
use regex::Regex;
use std::collections::BTreeMap;

/// Runs an audit command: output or error text.
pub type Exec<'a> = &'a mut dyn FnMut(&str) -> Result<String, String>;

#[derive(Clone, Debug, PartialEq)]
pub struct Compare {
    pub op: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestItem {
    pub flag: Option<String>,
    pub path: Option<String>,
    pub env: Option<String>,
    pub set: bool,
    pub compare: Option<Compare>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub id: String,
    pub text: String,
    pub audit: Option<String>,
    pub audit_config: Option<String>,
    pub audit_env: Option<String>,
    pub kind: Option<String>,
    pub bin_op: String,
    pub items: Vec<TestItem>,
    pub scored: bool,
    pub remediation: String,
    pub multiple: bool,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: String,
    pub text: String,
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Controls {
    pub id: String,
    pub text: String,
    pub version: String,
    pub groups: Vec<Group>,
}

pub const OPS: &[&str] = &[
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "has",
    "nothave",
    "regex",
    "valid_elements",
    "bitmask",
];

fn s(n: Option<&Node>) -> Option<String> {
    n.and_then(|n| n.scalar_string())
}

/// Loads a check file. Problems are diagnostics naming the file and line; checks that
/// cannot be used are dropped with an error, the rest load.
pub fn load(text: &str, source: &str) -> (Controls, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut out = Controls::default();
    let docs = parse_documents(text, Limits::default());
    let mut root = None;
    for d in docs {
        match d.result {
            Ok(Some(n)) => {
                root = Some(n);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                diags.push(Diagnostic::new(
                    Level::Error,
                    source,
                    e.pos.line,
                    format!("cannot parse: {}", e.message),
                ));
                return (out, diags);
            }
        }
    }
    let Some(root) = root else {
        diags.push(Diagnostic::new(Level::Error, source, 0, "empty check file"));
        return (out, diags);
    };
    out.id = s(root.get("id")).unwrap_or_default();
    out.text = s(root.get("text")).unwrap_or_default();
    out.version = s(root.get("version")).unwrap_or_default();
    let Some(groups) = root.get("groups").filter(|g| g.is_seq()) else {
        diags.push(Diagnostic::new(
            Level::Error,
            source,
            root.pos.line,
            "no `groups` list: not a kube-bench controls file",
        ));
        return (out, diags);
    };
    for g in groups.items() {
        let mut group = Group {
            id: s(g.get("id")).unwrap_or_default(),
            text: s(g.get("text")).unwrap_or_default(),
            checks: Vec::new(),
        };
        for c in g.get("checks").map(|c| c.items()).unwrap_or(&[]) {
            let id = s(c.get("id")).unwrap_or_default();
            if id.is_empty() {
                diags.push(Diagnostic::new(
                    Level::Error,
                    source,
                    c.pos.line,
                    "check without an `id`: skipped",
                ));
                continue;
            }
            let tests = c.get("tests");
            let bin_op = tests
                .and_then(|t| s(t.get("bin_op")))
                .unwrap_or_else(|| "and".into());
            if bin_op != "and" && bin_op != "or" {
                diags.push(Diagnostic::new(
                    Level::Error,
                    source,
                    c.pos.line,
                    format!("check {id}: bin_op {bin_op:?} is not `and` or `or`: skipped"),
                ));
                continue;
            }
            let mut items = Vec::new();
            let mut bad = false;
            for t in tests
                .and_then(|t| t.get("test_items"))
                .map(|t| t.items())
                .unwrap_or(&[])
            {
                let compare = t.get("compare").map(|cm| Compare {
                    op: s(cm.get("op")).unwrap_or_default(),
                    value: s(cm.get("value")).unwrap_or_default(),
                });
                if let Some(cm) = &compare {
                    if !OPS.contains(&cm.op.as_str()) {
                        diags.push(Diagnostic::new(
                            Level::Error,
                            source,
                            t.pos.line,
                            format!(
                                "check {id}: unknown compare op {:?} (known: {})",
                                cm.op,
                                OPS.join(", ")
                            ),
                        ));
                        bad = true;
                    }
                    if cm.op == "regex" && Regex::new(&cm.value).is_err() {
                        diags.push(Diagnostic::new(
                            Level::Error,
                            source,
                            t.pos.line,
                            format!("check {id}: invalid regex {:?}", cm.value),
                        ));
                        bad = true;
                    }
                }
                let item = TestItem {
                    flag: s(t.get("flag")),
                    path: s(t.get("path")),
                    env: s(t.get("env")),
                    set: t.get("set").and_then(|v| v.as_bool()).unwrap_or(true),
                    compare,
                    line: t.pos.line,
                };
                if item.flag.is_none() && item.path.is_none() && item.env.is_none() {
                    diags.push(Diagnostic::new(
                        Level::Error,
                        source,
                        t.pos.line,
                        format!("check {id}: test item without flag, path or env"),
                    ));
                    bad = true;
                }
                items.push(item);
            }
            if bad {
                continue;
            }
            group.checks.push(Check {
                id,
                text: s(c.get("text")).unwrap_or_default(),
                audit: s(c.get("audit")),
                audit_config: s(c.get("audit_config")),
                audit_env: s(c.get("audit_env")),
                kind: s(c.get("type")),
                bin_op,
                items,
                scored: c.get("scored").and_then(|v| v.as_bool()).unwrap_or(false),
                remediation: s(c.get("remediation")).unwrap_or_default(),
                multiple: c
                    .get("use_multiple_values")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                line: c.pos.line,
            });
        }
        out.groups.push(group);
    }
    (out, diags)
}

/// The result of one kube-bench check.
#[derive(Clone, Debug, PartialEq)]
pub struct KbResult {
    pub group: String,
    pub group_text: String,
    pub id: String,
    pub text: String,
    pub status: Status,
    pub expected: String,
    pub actual: String,
    pub remediation: String,
    pub scored: bool,
    pub line: u32,
}

/// Compares a value as kube-bench's `compareOp` does.
pub fn compare(op: &str, value: &str, want: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    match op {
        "eq" => {
            if lower == "true" || lower == "false" {
                lower == want
            } else {
                value == want
            }
        }
        "noteq" => {
            if lower == "true" || lower == "false" {
                lower != want
            } else {
                value != want
            }
        }
        "gt" | "gte" | "lt" | "lte" => {
            let (Ok(a), Ok(b)) = (value.trim().parse::<i64>(), want.trim().parse::<i64>()) else {
                return false;
            };
            match op {
                "gt" => a > b,
                "gte" => a >= b,
                "lt" => a < b,
                _ => a <= b,
            }
        }
        "has" => value.contains(want),
        "nothave" => !value.contains(want),
        "regex" => Regex::new(want).is_ok_and(|r| r.is_match(value)),
        "valid_elements" => {
            let split = |s: &str| -> Vec<String> {
                s.trim_end_matches(',')
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .collect()
            };
            let allowed = split(want);
            split(value).iter().all(|v| allowed.contains(v))
        }
        "bitmask" => match (
            u32::from_str_radix(value.trim(), 8),
            u32::from_str_radix(want.trim(), 8),
        ) {
            (Ok(have), Ok(max)) => max & have == have,
            _ => false,
        },
        _ => false,
    }
}

/// kube-bench's flag lookup: present by substring, value after `=` or `: `, else `true` for
/// a `--flag`.
fn flag_value(out: &str, flag: &str) -> Option<String> {
    if out.is_empty() || flag.is_empty() || !out.contains(flag) {
        return None;
    }
    let re = Regex::new(&format!(r"({})(=|: *)*([^\s]*) *", regex::escape(flag))).ok()?;
    let caps = re.captures(out)?;
    let v = caps.get(3).map(|m| m.as_str()).unwrap_or("");
    Some(if !v.is_empty() {
        v.to_string()
    } else if flag.starts_with("--") {
        "true".into()
    } else {
        caps.get(1)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    })
}

/// A `{.a.b[0].c}` path over a YAML/JSON document.
fn path_value(doc: &Node, path: &str) -> Option<String> {
    let p = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('.');
    let mut n = doc;
    for part in p.split('.').filter(|s| !s.is_empty()) {
        let (key, idx) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            n = n.get(key)?;
        }
        if let Some(i) = idx {
            n = n.items().get(i)?;
        }
    }
    match &n.value {
        Value::Null => None,
        Value::Seq(items) => Some(
            items
                .iter()
                .filter_map(|i| i.scalar_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Map(_) => Some(n.to_json().to_string()),
        _ => n.scalar_string(),
    }
}

fn env_value(out: &str, env: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{env}=")).map(str::to_string))
        .filter(|v| !v.is_empty())
}

/// Evaluates one test item on outputs: (pass, expectation text).
fn eval_item(t: &TestItem, audit: &str, config: Option<&str>, env: Option<&str>) -> (bool, String) {
    let mut found = None;
    let mut what = String::new();
    if let Some(f) = &t.flag {
        what = f.clone();
        found = flag_value(audit, f);
    }
    if found.is_none() {
        if let (Some(p), Some(cfg)) = (&t.path, config) {
            what = p.clone();
            let docs = parse_documents(cfg, Limits::default());
            found = docs
                .into_iter()
                .find_map(|d| d.result.ok().flatten())
                .and_then(|n| path_value(&n, p));
        }
    }
    if found.is_none() {
        if let (Some(e), Some(out)) = (&t.env, env) {
            what = e.clone();
            found = env_value(out, e);
        }
    }
    if !t.set {
        return (found.is_none(), format!("'{what}' is not present"));
    }
    match (&found, &t.compare) {
        (Some(v), Some(c)) => (
            compare(&c.op, v, &c.value),
            format!("'{what}' {} '{}'", c.op, c.value),
        ),
        (None, Some(c)) => (
            false,
            format!("'{what}' {} '{}' (not present)", c.op, c.value),
        ),
        (f, None) => (f.is_some(), format!("'{what}' is present")),
    }
}

/// Substitutes `$variables` (longest names first).
pub fn substitute(cmd: &str, vars: &BTreeMap<String, String>) -> String {
    let mut keys: Vec<&String> = vars.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = cmd.to_string();
    for k in keys {
        out = out.replace(&format!("${k}"), &vars[k]);
    }
    out
}

/// Answers simple audit commands without running anything.
fn native(cmd: &str, root: &crate::root::Root, procs: &[crate::root::Process]) -> Option<String> {
    if cmd.contains(['|', ';', '&', '`', '$', '>', '<']) || cmd.contains("sh -c") {
        return None;
    }
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let prog = words.first()?.rsplit('/').next()?;
    match (prog, &words[1..]) {
        ("ps", [a, name]) if *a == "-fC" || *a == "-C" => Some(
            procs
                .iter()
                .filter(|p| p.exe() == *name)
                .map(|p| p.args.join(" "))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("cat", [file]) => root.read(file).ok(),
        ("stat", [c, fmt, file]) if *c == "-c" => {
            let st = root.stat(file)?;
            let fmt = fmt.trim_matches(['\'', '"']);
            Some(
                fmt.replace("%a", &format!("{:o}", st.mode))
                    .replace("%U", &root.user_name(st.uid))
                    .replace("%G", &root.group_name(st.gid))
                    .replace("%n", file),
            )
        }
        _ => None,
    }
}

/// Where audits come from: the node's root and processes, and optionally a command runner.
pub struct Runner<'a> {
    pub root: &'a crate::root::Root,
    pub processes: Vec<crate::root::Process>,
    pub vars: BTreeMap<String, String>,
    pub exec: Option<Exec<'a>>,
}

impl Runner<'_> {
    fn output(&mut self, cmd: &str) -> Result<String, String> {
        let cmd = substitute(cmd, &self.vars);
        if let Some(exec) = self.exec.as_mut() {
            return exec(&cmd);
        }
        native(&cmd, self.root, &self.processes)
            .ok_or_else(|| format!("audit command not run (pass --allow-exec to run it): {cmd}"))
    }

    /// Evaluates every check of a controls file.
    pub fn run(&mut self, controls: &Controls) -> Vec<KbResult> {
        let mut out = Vec::new();
        for g in &controls.groups {
            for c in &g.checks {
                let mut r = KbResult {
                    group: g.id.clone(),
                    group_text: g.text.clone(),
                    id: c.id.clone(),
                    text: c.text.clone(),
                    status: Status::Warn,
                    expected: String::new(),
                    actual: String::new(),
                    remediation: c.remediation.clone(),
                    scored: c.scored,
                    line: c.line,
                };
                match c.kind.as_deref() {
                    Some("manual") => {
                        r.expected = "manual check".into();
                        out.push(r);
                        continue;
                    }
                    Some("skip") => {
                        r.status = Status::Info;
                        r.expected = "skipped (type: skip)".into();
                        out.push(r);
                        continue;
                    }
                    _ => {}
                }
                let fetch =
                    |cmd: &Option<String>, this: &mut Self| -> Result<Option<String>, String> {
                        match cmd {
                            None => Ok(None),
                            Some(c) => this.output(c).map(Some),
                        }
                    };
                let audit = fetch(&c.audit, self);
                let config = fetch(&c.audit_config, self);
                let env = fetch(&c.audit_env, self);
                let errors: Vec<String> = [&audit, &config, &env]
                    .iter()
                    .filter_map(|r| r.as_ref().err().cloned())
                    .collect();
                let (audit, config, env) = (
                    audit.ok().flatten().unwrap_or_default(),
                    config.ok().flatten(),
                    env.ok().flatten(),
                );
                if c.items.is_empty()
                    || (audit.is_empty() && config.is_none() && env.is_none() && !errors.is_empty())
                {
                    r.status = Status::Warn;
                    r.actual = if errors.is_empty() {
                        "no tests".into()
                    } else {
                        errors.join("; ")
                    };
                    out.push(r);
                    continue;
                }
                let rows: Vec<&str> = if c.multiple {
                    audit.lines().collect()
                } else {
                    vec![audit.trim_end()]
                };
                let mut expectations = Vec::new();
                let mut results = Vec::new();
                for t in &c.items {
                    let mut ok = true;
                    let mut exp = String::new();
                    for row in &rows {
                        let (pass, e) = eval_item(t, row, config.as_deref(), env.as_deref());
                        exp = e;
                        if !pass {
                            ok = false;
                            break;
                        }
                    }
                    expectations.push(exp);
                    results.push(ok);
                }
                let pass = if c.bin_op == "or" {
                    results.iter().any(|x| *x)
                } else {
                    results.iter().all(|x| *x)
                };
                r.expected = expectations.join(if c.bin_op == "or" { " OR " } else { " AND " });
                r.actual = audit.trim_end().chars().take(400).collect();
                if !errors.is_empty() {
                    r.actual = format!("{} [{}]", r.actual, errors.join("; "));
                }
                r.status = match (pass, c.scored) {
                    (true, _) => Status::Pass,
                    (false, true) => Status::Fail,
                    (false, false) => Status::Warn,
                };
                out.push(r);
            }
        }
        out
    }
}

/// kube-bench's variables from what discovery found (`$kubeletsvc` is the first of the
/// profile's unit files that exists on the node).
pub fn variables(
    root: &crate::root::Root,
    disc: &crate::component::Discovery,
    profile: crate::component::Profile,
) -> BTreeMap<String, String> {
    use crate::component::Component as C;
    let mut v = BTreeMap::new();
    let p = profile.paths();
    for (c, prefix) in [
        (C::ApiServer, "apiserver"),
        (C::ControllerManager, "controllermanager"),
        (C::Scheduler, "scheduler"),
        (C::Etcd, "etcd"),
        (C::Kubelet, "kubelet"),
        (C::Proxy, "proxy"),
    ] {
        v.insert(format!("{prefix}bin"), c.name().to_string());
        if let Some(m) = crate::component::manifest_path(profile, c) {
            v.insert(format!("{prefix}conf"), m);
        }
        if let Some(f) = disc.get(c) {
            if let Some(cfg) = &f.config {
                v.insert(format!("{prefix}conf"), cfg.path.clone());
            }
            if let Some(k) = f.setting("kubeconfig").value {
                v.insert(format!("{prefix}kubeconfig"), k);
            }
            if c == C::Kubelet {
                if let Some(ca) = f.setting("client-ca-file").value {
                    v.insert("kubeletcafile".into(), ca);
                }
            }
            if c == C::Etcd {
                if let Some(d) = f.setting("data-dir").value {
                    v.insert("etcddatadir".into(), d);
                }
            }
        }
    }
    if let Some(svc) = p
        .kubelet_service
        .iter()
        .find(|s| root.exists(s))
        .or(p.kubelet_service.first())
    {
        v.insert("kubeletsvc".into(), svc.to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op() {
        assert!(
            compare("eq", "false", "false")
                && compare("eq", "FALSE", "false")
                && !compare("eq", "x", "y")
        );
        assert!(
            compare("noteq", "AlwaysAllow,RBAC", "AlwaysAllow")
                && !compare("noteq", "True", "true")
        );
        assert!(compare("gt", "31", "30") && !compare("gt", "30", "30"));
        assert!(compare("gte", "30", "30") && !compare("gte", "x", "30"));
        assert!(compare("lt", "1", "2") && compare("lte", "2", "2") && !compare("lte", "3", "2"));
        assert!(compare("has", "Node,RBAC", "RBAC") && !compare("has", "Node", "RBAC"));
        assert!(
            compare("nothave", "Node,RBAC", "AlwaysAllow")
                && !compare("nothave", "AlwaysAllow", "AlwaysAllow")
        );
        assert!(
            compare("regex", "127.0.0.1:10249", r"^127\.0\.0\.1")
                && !compare("regex", "0.0.0.0", "^127")
        );
        assert!(
            compare("valid_elements", "a,b", "a,b,c") && !compare("valid_elements", "a,d", "a,b,c")
        );
        assert!(
            compare("bitmask", "600", "644")
                && compare("bitmask", "644", "644")
                && !compare("bitmask", "664", "644")
        );
    }

    #[test]
    fn flag_forms() {
        assert_eq!(
            flag_value("kubelet --read-only-port=0 --x", "--read-only-port").as_deref(),
            Some("0")
        );
        assert_eq!(
            flag_value("readOnlyPort: 0", "readOnlyPort").as_deref(),
            Some("0")
        );
        assert_eq!(
            flag_value("apiserver --profiling --x=1", "--profiling").as_deref(),
            Some("true")
        );
        assert_eq!(
            flag_value("root:root", "root:root").as_deref(),
            Some("root:root")
        );
        assert_eq!(flag_value("other", "--profiling"), None);
    }
}
