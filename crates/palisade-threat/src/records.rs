//! Flow and DNS records as `palisade observe sensor -o json` writes them: JSON lines, each a
//! FlowRecord or DnsRecord with `"type": "flow"` or `"dns"` (without `type`, a line with a
//! `qname` is DNS). A bad line is a diagnostic with its line number; the rest is read.

use palisade_model::{Diagnostic, Level};
use palisade_store::{DnsRecord, FlowRecord};

#[derive(Clone, Debug)]
pub enum Record {
    Flow(FlowRecord),
    Dns(DnsRecord),
}

impl Record {
    pub fn time(&self) -> i64 {
        match self {
            Record::Flow(f) => f.start,
            Record::Dns(d) => d.time,
        }
    }
}

/// Parses JSON lines; `file` names the input in diagnostics.
pub fn parse(text: &str, file: &str) -> (Vec<Record>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line, file, i + 1) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(d) => diags.push(d),
        }
    }
    (out, diags)
}

/// Parses one line (`lineno` is 1-based); `None` for a blank or `#` line.
pub fn parse_line(line: &str, file: &str, lineno: usize) -> Result<Option<Record>, Diagnostic> {
    let l = line.trim();
    if l.is_empty() || l.starts_with('#') {
        return Ok(None);
    }
    let err = |m: String| Diagnostic::new(Level::Error, file, lineno as u32, m);
    let v: serde_json::Value =
        serde_json::from_str(l).map_err(|e| err(format!("not JSON: {e}")))?;
    let is_dns = match v.get("type").and_then(|t| t.as_str()) {
        Some("dns") => true,
        Some("flow") => false,
        Some(t) => return Err(err(format!("unknown record type {t:?} (flow or dns)"))),
        None => v.get("qname").is_some(),
    };
    let r = if is_dns {
        serde_json::from_value::<DnsRecord>(v).map(Record::Dns)
    } else {
        serde_json::from_value::<FlowRecord>(v).map(Record::Flow)
    };
    r.map(Some).map_err(|e| {
        err(format!(
            "not a {} record: {e}",
            if is_dns { "DNS" } else { "flow" }
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_lines() {
        let text = r#"{"type":"flow","start":1,"end":2,"src":{"ip":"10.0.0.1","port":1,"kind":"pod"},"dst":{"ip":"1.2.3.4","port":443,"kind":"external"},"protocol":"tcp","packets_out":1,"bytes_out":1,"packets_in":0,"bytes_in":0,"reporter":"sensor"}
{"time":5,"client":{"ip":"10.0.0.1","port":5353,"kind":"pod"},"server":{"ip":"10.96.0.10","port":53,"kind":"service"},"protocol":"udp","id":1,"qname":"a.example","qtype":"A","reporter":"sensor"}
nope
{"type":"dns","time":"x"}
"#;
        let (r, d) = parse(text, "rec.jsonl");
        assert_eq!(r.len(), 2);
        assert!(matches!(r[1], Record::Dns(_)));
        let lines: Vec<u32> = d.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![3, 4]);
    }
}
