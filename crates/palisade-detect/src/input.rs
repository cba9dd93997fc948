//! Event input: Kubernetes audit Events as JSON lines or `EventList` documents; Palisade
//! syscall events and Tetragon export lines as JSON lines. Each bad line is reported with
//! its line number and the rest is read.

use crate::k8saudit::AuditEvent;
use crate::syscall::{from_tetragon, SyscallEvent};
use serde_json::Value;
use std::sync::Arc;

pub enum AnyEvent {
    Audit(AuditEvent),
    Syscall(SyscallEvent),
}

impl AnyEvent {
    pub fn as_event(&self) -> &dyn crate::eval::Event {
        match self {
            AnyEvent::Audit(a) => a,
            AnyEvent::Syscall(s) => s,
        }
    }
    pub fn time_ns(&self) -> i64 {
        match self {
            AnyEvent::Audit(a) => a.time_ns,
            AnyEvent::Syscall(s) => s.time_ns,
        }
    }
    pub fn hostname(&self) -> &str {
        match self {
            AnyEvent::Audit(a) => &a.hostname,
            AnyEvent::Syscall(s) => &s.hostname,
        }
    }
}

/// What one input produced.
#[derive(Default)]
pub struct Parsed {
    pub events: Vec<AnyEvent>,
    /// (line, message)
    pub errors: Vec<(usize, String)>,
    /// Lines that are valid JSON but no event we read (e.g. Tetragon `process_loader`).
    pub skipped: usize,
}

/// Classifies one JSON value into events.
pub fn classify(v: Value, line: usize, next_num: &mut u64, host: &Arc<str>, out: &mut Parsed) {
    if v.get("kind").and_then(Value::as_str) == Some("EventList") {
        match v.get("items") {
            Some(Value::Array(items)) => {
                for it in items.iter().cloned() {
                    classify(it, line, next_num, host, out);
                }
            }
            _ => out.errors.push((line, "EventList without items".into())),
        }
        return;
    }
    *next_num += 1;
    if v.get("auditID").is_some() {
        if let Some(a) = AuditEvent::new(v, *next_num, host.clone()) {
            out.events.push(AnyEvent::Audit(a));
        }
        return;
    }
    if v.get("fields").is_some() {
        match SyscallEvent::from_json(v, *next_num, host) {
            Ok(s) => out.events.push(AnyEvent::Syscall(s)),
            Err(e) => out.errors.push((line, e)),
        }
        return;
    }
    if v.get("process_exec").is_some()
        || v.get("process_exit").is_some()
        || v.get("process_kprobe").is_some()
        || v.get("process_tracepoint").is_some()
        || v.get("process_uprobe").is_some()
        || v.get("node_name").is_some()
    {
        match from_tetragon(&v, *next_num) {
            Ok(Some(s)) => out.events.push(AnyEvent::Syscall(s)),
            Ok(None) => out.skipped += 1,
            Err(e) => out.errors.push((line, e)),
        }
        return;
    }
    out.errors.push((line, "not an audit Event (no auditID), an EventList, a Palisade syscall event (no \"fields\") or a Tetragon event".into()));
}

/// Parses a whole input: one JSON document (an EventList, or one event), or JSON lines.
pub fn parse(text: &str, host: &Arc<str>) -> Parsed {
    let mut out = Parsed::default();
    let mut num = 0u64;
    let trimmed = text.trim_start();
    // A pretty-printed document spans lines: try the whole text first.
    if trimmed.starts_with('{') && !trimmed.trim_end().contains("}\n{") {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            let line = text.len() - trimmed.len();
            classify(
                v,
                1 + text[..line].matches('\n').count(),
                &mut num,
                host,
                &mut out,
            );
            return out;
        }
    }
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        // Audit events are read lazily (members parsed when a rule needs them).
        if l.contains("\"auditID\"") {
            if let Ok(Some(ev)) = AuditEvent::parse(l, num + 1, host.clone()) {
                num += 1;
                out.events.push(AnyEvent::Audit(ev));
                continue;
            }
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => classify(v, i + 1, &mut num, host, &mut out),
            Err(e) => out.errors.push((i + 1, format!("not JSON: {e}"))),
        }
    }
    out
}
