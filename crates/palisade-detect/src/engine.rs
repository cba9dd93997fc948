//! The detection engine: compiled rules indexed by source (and, for syscall events, by event
//! type); each event is matched against the enabled rules in load order and the first rule
//! that matches raises the alert, as Falco does. Alerts are rendered in Falco's
//! `json_output` shape.

use crate::compile::{compile, Compiled, CompiledRule, FArg, Part};
use crate::eval::{eval_memo, Event, Vals};
use crate::rules::{Priority, RuleSet};
use crate::time;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

thread_local! {
    static MEMO: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub struct Engine {
    pub compiled: Compiled,
    by_source: HashMap<String, Vec<usize>>,
    /// syscall rules by event type; rules without a type constraint are in `any`.
    by_type: HashMap<String, Vec<usize>>,
    any_type: Vec<usize>,
    /// Rules whose priority is below this are not loaded (`-o priority=...` in Falco).
    pub min_priority: Priority,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub time_ns: i64,
    pub rule: String,
    pub priority: Priority,
    pub source: String,
    /// The rendered rule output (without the time/priority prefix).
    pub message: String,
    pub output_fields: Map<String, Value>,
    pub tags: Vec<String>,
    pub hostname: String,
}

/// The text line of an alert, formatted where it is written (no intermediate string).
struct OutputLine<'a>(&'a Alert);

impl std::fmt::Display for OutputLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0;
        write!(
            f,
            "{}: {} {}",
            time::hms(a.time_ns),
            a.priority.as_str(),
            a.message
        )
    }
}

/// Falco's `json_output` shape, keys in the order `to_json` gives them; serialized straight
/// into the output (no `Value` tree is built per alert).
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("hostname", &self.hostname)?;
        m.serialize_entry("output", &Collect(OutputLine(self)))?;
        m.serialize_entry("output_fields", &self.output_fields)?;
        m.serialize_entry("priority", self.priority.as_str())?;
        m.serialize_entry("rule", &self.rule)?;
        m.serialize_entry("source", &self.source)?;
        m.serialize_entry("tags", &self.tags)?;
        m.serialize_entry("time", &time::iso8601(self.time_ns))?;
        m.end()
    }
}

/// Serializes a `Display` value as a string without allocating it first.
struct Collect<T>(T);

impl<T: std::fmt::Display> Serialize for Collect<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Alert {
    /// Falco's `json_output` shape.
    pub fn to_json(&self) -> Value {
        json!({
            "hostname": self.hostname,
            "output": self.output_line(),
            "output_fields": self.output_fields,
            "priority": self.priority.as_str(),
            "rule": self.rule,
            "source": self.source,
            "tags": self.tags,
            "time": time::iso8601(self.time_ns),
        })
    }
    /// The text line: `HH:MM:SS.nnnnnnnnn: Priority message`.
    pub fn output_line(&self) -> String {
        OutputLine(self).to_string()
    }
    /// Writes the text line (without newline).
    pub fn write_output_line(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        write!(w, "{}", OutputLine(self))
    }
}

impl Engine {
    pub fn from_ruleset(set: &RuleSet) -> Engine {
        Engine::new(compile(set))
    }

    pub fn new(compiled: Compiled) -> Engine {
        let mut by_source: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_type = Vec::new();
        for (i, r) in compiled.rules.iter().enumerate() {
            by_source.entry(r.rule.source.clone()).or_default().push(i);
            if r.rule.source == "syscall" {
                match &r.evt_types {
                    Some(ts) => {
                        for t in ts {
                            by_type.entry(t.clone()).or_default().push(i);
                        }
                    }
                    None => any_type.push(i),
                }
            }
        }
        for v in by_type.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        Engine {
            compiled,
            by_source,
            by_type,
            any_type,
            min_priority: Priority::Debug,
        }
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.compiled.rules
    }

    /// The first enabled rule (in load order) that matches, if any.
    pub fn matching(&self, ev: &dyn Event) -> Option<&CompiledRule> {
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            m.clear();
            m.resize(self.compiled.checks, 0);
            self.matching_with(ev, &mut m)
        })
    }

    fn matching_with(&self, ev: &dyn Event, memo: &mut Vec<u8>) -> Option<&CompiledRule> {
        let src = ev.source();
        if src == "syscall" {
            let ty = ev.extract(
                crate::fields::lookup("syscall", "evt.type").map(|(d, _)| d)?,
                &FArg::None,
            );
            let typed: &[usize] = match &ty {
                Vals::One(t) => self
                    .by_type
                    .get(t.as_ref())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                _ => &[],
            };
            // Merge the two sorted lists to keep load order.
            let (mut i, mut j) = (0, 0);
            while i < typed.len() || j < self.any_type.len() {
                let next = match (typed.get(i), self.any_type.get(j)) {
                    (Some(&a), Some(&b)) if a < b => {
                        i += 1;
                        a
                    }
                    (Some(_), Some(&b)) => {
                        j += 1;
                        b
                    }
                    (Some(&a), None) => {
                        i += 1;
                        a
                    }
                    (None, Some(&b)) => {
                        j += 1;
                        b
                    }
                    (None, None) => break,
                };
                let r = &self.compiled.rules[next];
                if r.rule.priority <= self.min_priority && eval_memo(&r.expr, ev, memo) {
                    return Some(r);
                }
            }
            return None;
        }
        self.by_source
            .get(src)?
            .iter()
            .map(|&i| &self.compiled.rules[i])
            .find(|r| r.rule.priority <= self.min_priority && eval_memo(&r.expr, ev, memo))
    }

    /// Matches and renders the alert.
    pub fn process(&self, ev: &dyn Event, time_ns: i64, hostname: &str) -> Option<Alert> {
        let r = self.matching(ev)?;
        Some(render(r, ev, time_ns, hostname))
    }
}

/// Renders a rule's output for an event.
pub fn render(r: &CompiledRule, ev: &dyn Event, time_ns: i64, hostname: &str) -> Alert {
    let mut message = String::with_capacity(r.rule.output.len() + 64);
    let mut fields = Map::new();
    for p in &r.output {
        match p {
            Part::Lit(s) => message.push_str(s),
            Part::Rule => message.push_str(&r.rule.name),
            Part::Priority => message.push_str(r.rule.priority.as_str()),
            Part::Field { text, def, arg } => {
                let v = ev.extract(def, arg).render();
                message.push_str(v.as_deref().unwrap_or("<NA>"));
                fields.insert(text.clone(), v.map(Value::String).unwrap_or(Value::Null));
            }
        }
    }
    Alert {
        time_ns,
        rule: r.rule.name.clone(),
        priority: r.rule.priority,
        source: r.rule.source.clone(),
        message: message.trim().to_string(),
        output_fields: fields,
        tags: r.rule.tags.clone(),
        hostname: hostname.to_string(),
    }
}
