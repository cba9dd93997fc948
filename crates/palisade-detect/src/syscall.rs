//! The `syscall` source: Palisade's JSON syscall events, and an importer for Tetragon's
//! exported JSON (`process_exec`, `process_exit`, `process_kprobe`) that maps them onto the
//! same fields, so Falco's syscall rules run on recorded events.
//!
//! Palisade's format, one JSON object a line (see docs/detect.md):
//! `{"time": "2026-11-20T10:00:00.123456789Z", "hostname": "node-1", "source": "syscall",
//!   "fields": {"evt.type": "execve", "proc.name": "nc", "proc.aname": ["nc", "sh", "containerd-shim"], …}}`
//! A field with an argument is an object (`"proc.env": {"HOME": "/root"}`, `"evt.arg": {"flags": "O_RDONLY"}`)
//! or, for indexed fields, an array (`proc.aname[1]` is the parent; without index, any ancestor).

use crate::compile::FArg;
use crate::eval::{Event, Vals};
use crate::fields::{Arg, FieldDef};
use crate::time;
use serde_json::{Map, Value};
use std::borrow::Cow;

pub struct SyscallEvent {
    pub fields: Map<String, Value>,
    pub num: u64,
    pub time_ns: i64,
    pub hostname: String,
}

fn text(v: &Value) -> Option<Cow<'_, str>> {
    Some(match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Null => return None,
        other => Cow::Owned(other.to_string()),
    })
}

impl SyscallEvent {
    /// Reads Palisade's format: `{"time", "hostname", "fields": {...}}`.
    pub fn from_json(v: Value, num: u64, default_host: &str) -> Result<SyscallEvent, String> {
        let Value::Object(mut o) = v else {
            return Err("a syscall event is a JSON object".into());
        };
        let fields = match o.remove("fields") {
            Some(Value::Object(f)) => f,
            Some(_) => return Err("\"fields\" must be an object".into()),
            None => return Err("missing \"fields\"".into()),
        };
        let time_ns = o
            .get("time")
            .and_then(Value::as_str)
            .and_then(time::parse_rfc3339)
            .or_else(|| o.get("time").and_then(Value::as_i64))
            .unwrap_or(0);
        let hostname = o
            .get("hostname")
            .and_then(Value::as_str)
            .unwrap_or(default_host)
            .to_string();
        Ok(SyscallEvent {
            fields,
            num,
            time_ns,
            hostname,
        })
    }

    fn derived(&self, name: &str) -> Option<String> {
        let s = |k: &str| self.fields.get(k).and_then(text).map(|c| c.into_owned());
        match name {
            "proc.cmdline" => {
                let n = s("proc.name")?;
                Some(match s("proc.args") {
                    Some(a) if !a.is_empty() => format!("{n} {a}"),
                    _ => n,
                })
            }
            "proc.name" => s("proc.exepath").map(|p| basename(&p).chars().take(15).collect()),
            "proc.exe" => s("proc.exepath"),
            "fd.directory" => {
                s("fd.name")
                    .filter(|n| n.starts_with('/'))
                    .map(|n| match n.rfind('/') {
                        Some(0) => "/".to_string(),
                        Some(i) => n[..i].to_string(),
                        None => n,
                    })
            }
            "fd.filename" => s("fd.name")
                .filter(|n| n.starts_with('/'))
                .map(|n| basename(&n).to_string()),
            "container.info" => Some(format!(
                "{} ({})",
                s("container.name").unwrap_or_default(),
                s("container.id").unwrap_or_default()
            )),
            "syscall.type" => s("evt.type"),
            _ => None,
        }
    }
}

pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

impl Event for SyscallEvent {
    fn source(&self) -> &str {
        "syscall"
    }

    fn extract(&self, def: &FieldDef, arg: &FArg) -> Vals<'_> {
        match def.name {
            "evt.time" => return Vals::One(Cow::Owned(time::hms(self.time_ns))),
            "evt.time.s" => return Vals::One(Cow::Owned(time::hms(self.time_ns)[..8].to_string())),
            "evt.time.iso8601" => return Vals::One(Cow::Owned(time::iso8601(self.time_ns))),
            "evt.datetime" => return Vals::One(Cow::Owned(time::datetime(self.time_ns))),
            "evt.rawtime" => return Vals::One(Cow::Owned(self.time_ns.to_string())),
            "evt.num" => return Vals::One(Cow::Owned(self.num.to_string())),
            "evt.source" => return Vals::One(Cow::Borrowed("syscall")),
            "evt.hostname" => return Vals::One(Cow::Borrowed(&self.hostname)),
            _ => {}
        }
        let v = match (self.fields.get(def.name), arg) {
            (Some(v), _) => v,
            // `evt.arg.flags` may also be written flat.
            (None, FArg::Key(k)) => match self.fields.get(&format!("{}.{k}", def.name)) {
                Some(v) => return text(v).map(Vals::One).unwrap_or(Vals::None),
                None => return Vals::None,
            },
            (None, _) => {
                return self
                    .derived(def.name)
                    .map(|s| Vals::One(Cow::Owned(s)))
                    .unwrap_or(Vals::None);
            }
        };
        match (v, arg) {
            (Value::Array(a), FArg::Index(i)) => a
                .get(*i)
                .and_then(text)
                .map(Vals::One)
                .unwrap_or(Vals::None),
            (Value::Array(a), _) if def.arg == Arg::Index && !def.list => {
                // Without an index: any ancestor (index 0 is the process itself).
                Vals::Many(a.iter().skip(1).filter_map(text).collect())
            }
            (Value::Array(a), _) => Vals::Many(a.iter().filter_map(text).collect()),
            (Value::Object(o), FArg::Key(k)) => match k.strip_suffix('*') {
                Some(prefix) => Vals::Many(
                    o.iter()
                        .filter(|(key, _)| key.starts_with(prefix))
                        .filter_map(|(_, v)| text(v))
                        .collect(),
                ),
                None => o.get(k).and_then(text).map(Vals::One).unwrap_or(Vals::None),
            },
            (other, FArg::Index(i)) if *i == 0 => text(other).map(Vals::One).unwrap_or(Vals::None),
            (other, _) => text(other).map(Vals::One).unwrap_or(Vals::None),
        }
    }
}

/// Maps one Tetragon export line onto Palisade's syscall fields. `Ok(None)` for event kinds
/// that carry no syscall (e.g. `process_loader`).
pub fn from_tetragon(v: &Value, num: u64) -> Result<Option<SyscallEvent>, String> {
    let o = v.as_object().ok_or("a Tetragon event is a JSON object")?;
    let (kind, body) = match [
        "process_exec",
        "process_exit",
        "process_kprobe",
        "process_tracepoint",
        "process_uprobe",
    ]
    .iter()
    .find_map(|k| o.get(*k).map(|b| (*k, b)))
    {
        Some(x) => x,
        None => return Ok(None),
    };
    let mut f = Map::new();
    let time_ns = o
        .get("time")
        .and_then(Value::as_str)
        .and_then(time::parse_rfc3339)
        .unwrap_or(0);
    let hostname = o
        .get("node_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let proc = body
        .get("process")
        .ok_or(format!("{kind} without process"))?;
    let parent = body.get("parent");
    let set = |f: &mut Map<String, Value>, k: &str, v: Option<Value>| {
        if let Some(v) = v {
            f.insert(k.to_string(), v);
        }
    };
    let s = |p: &Value, k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let binary = s(proc, "binary").unwrap_or_default();
    let name: String = basename(&binary).chars().take(15).collect();
    set(&mut f, "proc.exepath", Some(Value::from(binary.clone())));
    set(&mut f, "proc.exe", Some(Value::from(binary.clone())));
    set(&mut f, "proc.name", Some(Value::from(name.clone())));
    let args = s(proc, "arguments").unwrap_or_default();
    set(&mut f, "proc.args", Some(Value::from(args.clone())));
    set(
        &mut f,
        "proc.cmdline",
        Some(Value::from(if args.is_empty() {
            name.clone()
        } else {
            format!("{name} {args}")
        })),
    );
    set(&mut f, "proc.pid", proc.get("pid").cloned());
    set(&mut f, "proc.vpid", proc.get("pid").cloned());
    set(&mut f, "thread.tid", proc.get("tid").cloned());
    set(&mut f, "proc.cwd", proc.get("cwd").cloned());
    set(&mut f, "user.uid", proc.get("uid").cloned());
    if let Some(auid) = proc.get("auid").and_then(Value::as_u64) {
        f.insert(
            "user.loginuid".into(),
            Value::from(if auid == u64::from(u32::MAX) {
                -1
            } else {
                auid as i64
            }),
        );
    }
    if let Some(ts) = proc
        .get("start_time")
        .and_then(Value::as_str)
        .and_then(time::parse_rfc3339)
    {
        f.insert("proc.pid.ts".into(), Value::from(ts));
        if time_ns >= ts {
            f.insert("proc.duration".into(), Value::from(time_ns - ts));
        }
    }
    if let Some(p) = parent {
        let pbin = s(p, "binary").unwrap_or_default();
        let pname: String = basename(&pbin).chars().take(15).collect();
        let pargs = s(p, "arguments").unwrap_or_default();
        f.insert("proc.pname".into(), Value::from(pname.clone()));
        f.insert("proc.pexepath".into(), Value::from(pbin.clone()));
        f.insert("proc.pexe".into(), Value::from(pbin));
        f.insert(
            "proc.pcmdline".into(),
            Value::from(if pargs.is_empty() {
                pname
            } else {
                format!("{pname} {pargs}")
            }),
        );
        set(&mut f, "proc.ppid", p.get("pid").cloned());
    }
    // Ancestry: the process, its parent, then Tetragon's ancestors (nearest first).
    let mut chain: Vec<&Value> = vec![proc];
    chain.extend(parent);
    if let Some(a) = body.get("ancestors").and_then(Value::as_array) {
        chain.extend(a.iter());
    }
    let names: Vec<Value> = chain
        .iter()
        .map(|p| {
            Value::from(
                basename(p.get("binary").and_then(Value::as_str).unwrap_or(""))
                    .chars()
                    .take(15)
                    .collect::<String>(),
            )
        })
        .collect();
    let exes: Vec<Value> = chain
        .iter()
        .map(|p| Value::from(p.get("binary").and_then(Value::as_str).unwrap_or("")))
        .collect();
    let pids: Vec<Value> = chain
        .iter()
        .map(|p| p.get("pid").cloned().unwrap_or(Value::Null))
        .collect();
    f.insert("proc.aname".into(), Value::Array(names));
    f.insert("proc.aexe".into(), Value::Array(exes.clone()));
    f.insert("proc.aexepath".into(), Value::Array(exes));
    f.insert("proc.apid".into(), Value::Array(pids));
    // Container and pod.
    match proc.get("pod") {
        Some(pod) => {
            let c = pod.get("container").cloned().unwrap_or(Value::Null);
            let full = c
                .get("id")
                .and_then(Value::as_str)
                .map(|id| id.rsplit("://").next().unwrap_or(id).to_string())
                .unwrap_or_default();
            f.insert("container.full_id".into(), Value::from(full.clone()));
            f.insert(
                "container.id".into(),
                Value::from(full.chars().take(12).collect::<String>()),
            );
            set(&mut f, "container.name", c.get("name").cloned());
            if let Some(img) = c.pointer("/image/name").and_then(Value::as_str) {
                f.insert("container.image".into(), Value::from(img));
                let (repo, tag) = split_image(img);
                f.insert("container.image.repository".into(), Value::from(repo));
                f.insert("container.image.tag".into(), Value::from(tag));
            }
            if let Some(id) = c.pointer("/image/id").and_then(Value::as_str) {
                f.insert("container.image.id".into(), Value::from(id));
                if let Some((_, d)) = id.split_once('@') {
                    f.insert("container.image.digest".into(), Value::from(d));
                }
            }
            if let Some(ts) = c
                .get("start_time")
                .and_then(Value::as_str)
                .and_then(time::parse_rfc3339)
            {
                f.insert("container.start_ts".into(), Value::from(ts));
            }
            set(&mut f, "k8s.ns.name", pod.get("namespace").cloned());
            set(&mut f, "k8s.pod.name", pod.get("name").cloned());
            set(&mut f, "k8s.pod.uid", pod.get("uid").cloned());
            set(&mut f, "k8s.pod.id", pod.get("uid").cloned());
            if let Some(l) = pod.get("pod_labels").and_then(Value::as_object) {
                f.insert("k8s.pod.label".into(), Value::Object(l.clone()));
                let joined: Vec<String> = l
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("")))
                    .collect();
                f.insert("k8s.pod.labels".into(), Value::from(joined.join(", ")));
            }
            if pod.get("workload_kind").and_then(Value::as_str) == Some("Deployment") {
                set(&mut f, "k8s.deployment.name", pod.get("workload").cloned());
            }
        }
        None => {
            f.insert("container.id".into(), Value::from("host"));
            f.insert("container.name".into(), Value::from("host"));
        }
    }
    match kind {
        "process_exec" => {
            f.insert("evt.type".into(), Value::from("execve"));
            f.insert("evt.dir".into(), Value::from("<"));
            f.insert("evt.res".into(), Value::from("SUCCESS"));
            f.insert("evt.rawres".into(), Value::from(0));
            f.insert("evt.arg".into(), serde_json::json!({"res": "0"}));
            // Tetragon marks executions it could not attribute to a file on disk.
            let flags = s(proc, "flags").unwrap_or_default();
            f.insert(
                "proc.is_exe_from_memfd".into(),
                Value::from(binary.starts_with("/memfd:") || flags.contains("memfd")),
            );
        }
        "process_exit" => {
            f.insert("evt.type".into(), Value::from("procexit"));
            f.insert("evt.dir".into(), Value::from(">"));
            set(&mut f, "evt.rawres", body.get("status").cloned());
        }
        _ => {
            let func = body
                .get("function_name")
                .or_else(|| body.get("event"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let args: &[Value] = body
                .get("args")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            kprobe(func, args, &mut f);
            f.insert("evt.dir".into(), Value::from("<"));
            let ret = body
                .get("return")
                .and_then(|r| r.get("int_arg"))
                .and_then(Value::as_i64);
            f.insert("evt.rawres".into(), Value::from(ret.unwrap_or(0)));
            f.insert(
                "evt.res".into(),
                Value::from(if ret.unwrap_or(0) < 0 {
                    "ERROR"
                } else {
                    "SUCCESS"
                }),
            );
            set(&mut f, "evt.info", body.get("policy_name").cloned());
        }
    }
    f.retain(|_, v| !v.is_null());
    Ok(Some(SyscallEvent {
        fields: f,
        num,
        time_ns,
        hostname,
    }))
}

fn split_image(img: &str) -> (String, String) {
    let no_digest = img.split('@').next().unwrap_or(img);
    match no_digest.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (no_digest.to_string(), String::new()),
    }
}

/// Maps kprobe hooks of Tetragon's common tracing policies to syscall-level fields.
fn kprobe(func: &str, args: &[Value], f: &mut Map<String, Value>) {
    let file = args
        .iter()
        .find_map(|a| a.get("file_arg").or_else(|| a.get("path_arg")));
    let int0 = args
        .first()
        .and_then(|a| a.get("int_arg"))
        .and_then(Value::as_i64);
    let sock = args
        .iter()
        .find_map(|a| a.get("sock_arg").or_else(|| a.get("sockaddr_arg")));
    let base = func
        .trim_start_matches("__x64_sys_")
        .trim_start_matches("__arm64_sys_")
        .trim_start_matches("sys_");
    if let Some(file) = file {
        let path = file.get("path").and_then(Value::as_str).unwrap_or("");
        let perm = file.get("permission").and_then(Value::as_str).unwrap_or("");
        let write = func.contains("write")
            || perm.contains('w')
            || args.iter().any(|a| {
                a.get("int_arg")
                    .and_then(Value::as_i64)
                    .is_some_and(|m| m & 0x2 != 0)
                    && func == "security_file_permission"
            });
        let ty = match base {
            "security_file_permission"
            | "fd_install"
            | "security_file_open"
            | "openat"
            | "open"
            | "openat2" => "openat",
            "security_path_unlink" | "unlinkat" | "unlink" => "unlinkat",
            "security_path_rename" | "renameat2" => "renameat2",
            "security_path_symlink" | "symlinkat" => "symlinkat",
            "security_path_link" | "linkat" => "linkat",
            "security_path_mkdir" | "mkdirat" => "mkdirat",
            "security_path_chmod" | "fchmodat" => "fchmodat",
            other => other,
        };
        f.insert("evt.type".into(), Value::from(ty));
        f.insert("fd.name".into(), Value::from(path));
        f.insert("fd.nameraw".into(), Value::from(path));
        f.insert("fs.path.name".into(), Value::from(path));
        f.insert("fd.typechar".into(), Value::from("f"));
        f.insert("fd.type".into(), Value::from("file"));
        if let Some(fd) = int0.filter(|_| func == "fd_install") {
            f.insert("fd.num".into(), Value::from(fd));
        }
        if ty == "openat" {
            f.insert(
                "evt.is_open_read".into(),
                Value::from(!write || perm.contains('r')),
            );
            f.insert("evt.is_open_write".into(), Value::from(write));
            f.insert("evt.arg".into(), serde_json::json!({"flags": if write { "O_WRONLY" } else { "O_RDONLY" }, "name": path}));
        } else {
            f.insert(
                "evt.arg".into(),
                serde_json::json!({"name": path, "path": path, "target": path}),
            );
        }
        return;
    }
    if let Some(s) = sock {
        let family = s.get("family").and_then(Value::as_str).unwrap_or("AF_INET");
        let proto = match s.get("protocol").and_then(Value::as_str).unwrap_or("") {
            p if p.contains("UDP") => "udp",
            p if p.contains("TCP") => "tcp",
            _ if func.contains("udp") => "udp",
            _ => "tcp",
        };
        let (sa, da) = (
            s.get("saddr").and_then(Value::as_str).unwrap_or(""),
            s.get("daddr").and_then(Value::as_str).unwrap_or(""),
        );
        let (sp, dp) = (
            s.get("sport").and_then(Value::as_u64).unwrap_or(0),
            s.get("dport").and_then(Value::as_u64).unwrap_or(0),
        );
        let ty = match base {
            "tcp_connect" | "connect" | "security_socket_connect" => "connect",
            "inet_csk_accept" | "accept" | "accept4" => "accept",
            "tcp_close" | "close" => "close",
            "tcp_sendmsg" | "udp_sendmsg" | "sendto" | "sendmsg" => "sendto",
            other => other,
        };
        f.insert("evt.type".into(), Value::from(ty));
        f.insert(
            "fd.type".into(),
            Value::from(if family == "AF_INET6" { "ipv6" } else { "ipv4" }),
        );
        f.insert(
            "fd.typechar".into(),
            Value::from(if family == "AF_INET6" { "6" } else { "4" }),
        );
        f.insert("fd.sockfamily".into(), Value::from("ip"));
        f.insert("fd.l4proto".into(), Value::from(proto));
        for (k, v) in [
            ("fd.cip", sa),
            ("fd.lip", sa),
            ("fd.sip", da),
            ("fd.rip", da),
        ] {
            f.insert(k.into(), Value::from(v));
        }
        for (k, v) in [
            ("fd.cport", sp),
            ("fd.lport", sp),
            ("fd.sport", dp),
            ("fd.rport", dp),
        ] {
            f.insert(k.into(), Value::from(v));
        }
        for (k, v) in [
            ("fd.cnet", sa),
            ("fd.lnet", sa),
            ("fd.snet", da),
            ("fd.rnet", da),
        ] {
            f.insert(k.into(), Value::from(v));
        }
        f.insert(
            "fd.name".into(),
            Value::from(format!("{sa}:{sp}->{da}:{dp}")),
        );
        f.insert("fd.connected".into(), Value::from(ty == "connect"));
        return;
    }
    f.insert("evt.type".into(), Value::from(base));
    if let Some(fd) = int0 {
        f.insert("fd.num".into(), Value::from(fd));
    }
}
