//! Event input: Kubernetes audit Events as JSON lines or `EventList` documents; Palisade
//! syscall events and Tetragon export lines as JSON lines. Each bad line is reported with
//! its line number and the rest is read. `EventReader` streams: one event at a time, in
//! memory bounded by the longest line or document, whatever the input's size.

use crate::k8saudit::AuditEvent;
use crate::syscall::{from_tetragon, SyscallEvent};
use palisade_model::lines::BoundedLines;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
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

/// One item of an input stream.
pub enum Item {
    Event(AnyEvent),
    /// A line (or document) that could not be read; the stream goes on after it.
    Error {
        line: usize,
        message: String,
    },
    /// Valid JSON that is no event we read (e.g. Tetragon `process_loader`).
    Skipped,
}

/// Lines longer than this are reported and skipped without being held in memory.
pub const MAX_LINE: usize = 64 << 20;

/// Reads events from a byte stream one at a time, in memory bounded by the longest line
/// (or pretty-printed document): JSON lines — each line an audit Event, an `EventList`, a
/// Palisade syscall event or a Tetragon event — or JSON documents spread over lines (as
/// `kubectl get --raw` or `jq` print them), each read whole.
///
/// A line that does not complete a JSON value starts a document; the document ends at a
/// line starting with `}` or `]` in the first column where the text parses. A line
/// starting with `{` in the first column while a document is open means the open one was
/// truncated: it is reported with its first line and reading goes on from the new line.
pub struct EventReader<R: Read> {
    lines: BoundedLines<R>,
    num: u64,
    host: Arc<str>,
    /// An open multi-line document: its first line and text so far.
    doc: Option<(usize, String)>,
    pending: VecDeque<Item>,
    eof: bool,
}

impl<R: Read> EventReader<R> {
    pub fn new(r: R, host: Arc<str>) -> EventReader<R> {
        EventReader::with_capacity(64 << 10, r, host)
    }

    pub fn with_capacity(capacity: usize, r: R, host: Arc<str>) -> EventReader<R> {
        EventReader {
            lines: BoundedLines::new(r, capacity, MAX_LINE),
            num: 0,
            host,
            doc: None,
            pending: VecDeque::new(),
            eof: false,
        }
    }

    /// Sets the longest line accepted (bytes).
    pub fn max_line(mut self, n: usize) -> Self {
        self.lines.set_max(n);
        self
    }

    /// Whether input is already buffered, so the next item comes without waiting on the
    /// source (a caller flushes its output before it may block).
    pub fn has_buffered_input(&self) -> bool {
        !self.pending.is_empty() || self.lines.has_buffered_input()
    }

    /// The line number of the last line read.
    pub fn line(&self) -> usize {
        self.lines.number()
    }

    fn error(&mut self, line: usize, message: String) {
        self.pending.push_back(Item::Error { line, message });
    }

    fn classify_value(&mut self, v: Value, line: usize) {
        let mut out = Parsed::default();
        classify(v, line, &mut self.num, &self.host, &mut out);
        self.pending.extend(out.events.into_iter().map(Item::Event));
        for (line, message) in out.errors {
            self.pending.push_back(Item::Error { line, message });
        }
        self.pending
            .extend(std::iter::repeat_with(|| Item::Skipped).take(out.skipped));
    }

    /// Reads lines until at least one item is pending or the input ends.
    fn fill(&mut self) {
        while self.pending.is_empty() && !self.eof {
            match self.lines.read_line() {
                Err(e) => {
                    let line = self.lines.number() + 1;
                    self.error(line, format!("read error: {e}"));
                    self.eof = true;
                }
                Ok(Err(len)) => {
                    let line = self.lines.number();
                    self.error(
                        line,
                        format!(
                            "line of {len} bytes is longer than the limit ({} bytes); skipped",
                            self.lines.max()
                        ),
                    );
                }
                Ok(Ok(false)) => {
                    self.eof = true;
                    if let Some((start, _)) = self.doc.take() {
                        self.error(
                            start,
                            "incomplete JSON document (the input ended inside it)".into(),
                        );
                    }
                }
                Ok(Ok(true)) => self.take_line(),
            }
        }
    }

    fn take_line(&mut self) {
        // The line is moved out while it is read (its buffer is reused for the next one).
        let buf = std::mem::take(self.lines.buf_mut());
        self.take_text(&buf);
        *self.lines.buf_mut() = buf;
    }

    fn take_text(&mut self, buf: &[u8]) {
        let line_no = self.lines.number();
        let text = match std::str::from_utf8(buf) {
            Ok(t) => t,
            Err(e) => {
                self.error(line_no, format!("not UTF-8 text: {e}"));
                return;
            }
        };
        if let Some((start, mut doc)) = self.doc.take() {
            if text.starts_with('{') {
                // A new top-level value: the open document was cut off.
                self.error(
                    start,
                    "incomplete JSON document (a new one starts at line ".to_string()
                        + &line_no.to_string()
                        + ")",
                );
            } else {
                doc.push('\n');
                doc.push_str(text);
                if doc.len() > self.lines.max() {
                    self.error(
                        start,
                        format!(
                            "JSON document longer than the limit ({} bytes); skipped",
                            self.lines.max()
                        ),
                    );
                    return;
                }
                if text.starts_with('}') || text.starts_with(']') {
                    match serde_json::from_str::<Value>(&doc) {
                        Ok(v) => self.classify_value(v, start),
                        Err(e) if e.is_eof() => self.doc = Some((start, doc)),
                        Err(e) => {
                            self.error(start + e.line().saturating_sub(1), format!("not JSON: {e}"))
                        }
                    }
                } else {
                    self.doc = Some((start, doc));
                }
                return;
            }
        }
        let l = text.trim();
        if l.is_empty() {
            return;
        }
        // Audit events are read lazily (members parsed when a rule needs them).
        if l.contains("\"auditID\"") {
            if let Ok(Some(ev)) = AuditEvent::parse(l, self.num + 1, self.host.clone()) {
                self.num += 1;
                self.pending.push_back(Item::Event(AnyEvent::Audit(ev)));
                return;
            }
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => self.classify_value(v, line_no),
            Err(e) if e.is_eof() => self.doc = Some((line_no, text.to_string())),
            Err(e) => self.error(line_no, format!("not JSON: {e}")),
        }
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        self.fill();
        self.pending.pop_front()
    }
}

/// Parses a whole input held in memory (the same reader as a stream).
pub fn parse(text: &str, host: &Arc<str>) -> Parsed {
    let mut out = Parsed::default();
    for item in EventReader::new(text.as_bytes(), host.clone()) {
        match item {
            Item::Event(e) => out.events.push(e),
            Item::Error { line, message } => out.errors.push((line, message)),
            Item::Skipped => out.skipped += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"get","user":{"username":"u"}}"#;

    fn items(text: &str, max_line: usize) -> (Vec<u64>, Vec<(usize, String)>) {
        let host: Arc<str> = Arc::from("h");
        let (mut nums, mut errors) = (Vec::new(), Vec::new());
        for it in EventReader::with_capacity(16, text.as_bytes(), host).max_line(max_line) {
            match it {
                Item::Event(AnyEvent::Audit(a)) => nums.push(a.num),
                Item::Event(_) | Item::Skipped => {}
                Item::Error { line, message } => errors.push((line, message)),
            }
        }
        (nums, errors)
    }

    #[test]
    fn json_lines_pretty_documents_and_bad_lines() {
        // JSON lines with a CRLF, a blank line and a line that is not JSON.
        let text = format!("{EV}\r\n\n{{oops}}\n{EV}\n");
        let (nums, errors) = items(&text, 1 << 20);
        assert_eq!(nums, [1, 2]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 3, "{errors:?}");

        // A pretty-printed EventList, then a line event.
        let list = serde_json::json!({"kind": "EventList", "items": [
            serde_json::from_str::<Value>(EV).unwrap(),
            serde_json::from_str::<Value>(EV).unwrap()]});
        let text = format!("{}\n{EV}\n", serde_json::to_string_pretty(&list).unwrap());
        let (nums, errors) = items(&text, 1 << 20);
        assert_eq!(nums, [1, 2, 3], "{errors:?}");
        assert!(errors.is_empty(), "{errors:?}");

        // A truncated line is reported with its line number and the next line is read.
        let cut = &EV[..40];
        let text = format!("{EV}\n{cut}\n{EV}\n{cut}");
        let (nums, errors) = items(&text, 1 << 20);
        assert_eq!(nums, [1, 2]);
        assert_eq!(
            errors.iter().map(|e| e.0).collect::<Vec<_>>(),
            [2, 4],
            "{errors:?}"
        );
    }

    #[test]
    fn overlong_lines_are_skipped_without_being_kept() {
        let long = format!(r#"{{"auditID":"x","pad":"{}"}}"#, "y".repeat(10_000));
        let text = format!("{EV}\n{long}\n{EV}\n");
        let (nums, errors) = items(&text, 1_000);
        assert_eq!(nums, [1, 2]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 2);
        assert!(errors[0].1.contains("longer than the limit"), "{errors:?}");
    }
}
