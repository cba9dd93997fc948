//! The Falco rule language and the event readers must never panic: the bytes are loaded as a
//! rule file (then compiled, and the rules run on a fixed audit event), and read as events
//! (audit, EventList, Palisade syscall, Tetragon) through a fixed rule set; the raw bytes
//! (UTF-8 or not) are also streamed through `EventReader` with a tiny buffer and line limit,
//! matched against the built-in rules, and every alert written.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_detect::input::{parse, EventReader, Item};
use palisade_detect::output::{write_alert, Format};
use palisade_detect::{defaults, Engine, RuleSet};
use std::sync::Arc;

const EVENT: &str = r#"{"auditID":"x","stage":"ResponseComplete","verb":"create","user":{"username":"u"},"objectRef":{"resource":"pods","namespace":"default","name":"p"},"requestObject":{"spec":{"containers":[{"image":"nginx:1","securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"/etc"}}]}},"responseStatus":{"code":201}}"#;
const RULES: &str = "- list: l\n  items: [a, b]\n- macro: m\n  condition: ka.verb in (create, l)\n- rule: r\n  desc: d\n  condition: m and ka.req.pod.containers.privileged intersects (true) and jevt.value[/stage] exists\n  output: \"%ka.user.name %ka.req.pod.volumes.hostpath %proc.name\"\n  priority: warning\n  source: k8s_audit\n- rule: s\n  desc: d\n  condition: evt.type=execve and proc.aname[2] glob 's*' and fd.snet in (10.0.0.0/8)\n  output: \"%proc.cmdline\"\n  priority: notice\n";

fuzz_target!(|data: &[u8]| {
    let host: Arc<str> = Arc::from("fuzz");
    static BUILTIN: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    let builtin = BUILTIN.get_or_init(|| Engine::from_ruleset(&defaults::ruleset()));
    let mut out = Vec::new();
    for item in EventReader::with_capacity(7, data, host.clone()).max_line(256) {
        if let Item::Event(ev) = item {
            if let Some(a) = builtin.process(ev.as_event(), ev.time_ns(), "fuzz") {
                let _ = write_alert(&mut out, &a, Format::Json);
                let _ = write_alert(&mut out, &a, Format::Text);
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = RuleSet::new();
    set.load("fuzz.yaml", text);
    let engine = Engine::from_ruleset(&set);
    for ev in parse(EVENT, &host).events {
        let _ = engine.process(ev.as_event(), ev.time_ns(), "fuzz");
    }
    let mut fixed = RuleSet::new();
    fixed.load("fixed.yaml", RULES);
    let engine = Engine::from_ruleset(&fixed);
    for ev in parse(text, &host).events {
        let _ = engine.process(ev.as_event(), ev.time_ns(), "fuzz");
    }
});
