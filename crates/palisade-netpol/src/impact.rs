//! Which observed flows a policy change would newly deny or newly allow, per flow and in
//! aggregate; the same comparison for staged policies (evaluated as if enforced).

use crate::conn::Protocol;
use crate::eval::{Endpoint, Engine};
use crate::flows::{FlowLog, Resolved};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub src: String,
    pub dst: String,
    pub protocol: Protocol,
    pub port: u16,
    pub flows: u64,
    pub bytes: u64,
    /// Line numbers of the first few flows (for finding them in the log).
    pub lines: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Impact {
    pub newly_denied: Vec<Row>,
    pub newly_allowed: Vec<Row>,
    /// Flows whose verdict does not change.
    pub still_allowed: u64,
    pub still_denied: u64,
    pub evaluated: u64,
}

impl Impact {
    pub fn changed(&self) -> bool {
        !self.newly_denied.is_empty() || !self.newly_allowed.is_empty()
    }
}

const MAX_LINES: usize = 5;

/// Compares every resolved flow under `before` and `after` (engines over the same workloads).
pub fn impact(before: &Engine, after: &Engine, flows: &[Resolved], log: &FlowLog) -> Impact {
    type Key = (Endpoint, Endpoint, Protocol, u16);
    let mut verdicts: HashMap<Key, (bool, bool)> = HashMap::new();
    let mut rows: HashMap<(Key, bool), Row> = HashMap::new();
    let mut out = Impact::default();
    for f in flows {
        let key = (f.src, f.dst, f.protocol, f.port);
        let (b, a) = *verdicts.entry(key).or_insert_with(|| {
            (
                before.allowed(f.src, f.dst).contains(f.protocol, f.port),
                after.allowed(f.src, f.dst).contains(f.protocol, f.port),
            )
        });
        out.evaluated += 1;
        if b == a {
            if b {
                out.still_allowed += 1;
            } else {
                out.still_denied += 1;
            }
            continue;
        }
        let flow = &log.flows[f.flow];
        let row = rows.entry((key, a)).or_insert_with(|| Row {
            src: before.label(f.src),
            dst: before.label(f.dst),
            protocol: f.protocol,
            port: f.port,
            flows: 0,
            bytes: 0,
            lines: Vec::new(),
        });
        row.flows += 1;
        row.bytes += flow.bytes;
        if row.lines.len() < MAX_LINES {
            row.lines.push(flow.line);
        }
    }
    for ((_, allowed_after), row) in rows {
        if allowed_after {
            out.newly_allowed.push(row);
        } else {
            out.newly_denied.push(row);
        }
    }
    let order = |r: &Row| {
        (
            std::cmp::Reverse(r.flows),
            r.src.clone(),
            r.dst.clone(),
            r.protocol,
            r.port,
        )
    };
    out.newly_denied.sort_by_key(order);
    out.newly_allowed.sort_by_key(order);
    out
}
