//! Importers: flow and DNS logs of other tools become the store's [`FlowRecord`]s and
//! [`DnsRecord`]s.
//!
//! - Hubble: the exporter's files and `hubble observe -o json|jsonpb` (one Flow or one
//!   GetFlowsResponse a line), and the Observer gRPC API ([`grpc`], feature `hubble-grpc`).
//! - Calico flow logs and DNS logs (their documented JSON fields).
//! - Inspektor Gadget `trace_dns` JSON (the image-based gadget and the older built-in one).
//! - CoreDNS `log` plugin lines in the default format.
//!
//! Hubble and Calico flow lines are read by palisade-netpol's parser (`flows::parse`, the one
//! parser of those formats); this module maps its events to records. Input is read line by
//! line with a bounded line length, so memory does not grow with the file; a bad line is
//! reported with its file and line, counted, and the rest is kept.

mod convert;
mod dnslog;
#[cfg(feature = "hubble-grpc")]
pub mod grpc;

use crate::flow::Sink;
use palisade_model::lines::BoundedLines;
use palisade_netpol::flows;
use palisade_store::DnsRecord;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// The formats `observe import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Hubble flows: `hubble observe -o json` / `-o jsonpb`, the Hubble exporter's files.
    Hubble,
    /// Calico flow logs.
    CalicoFlows,
    /// Calico DNS logs.
    CalicoDns,
    /// Inspektor Gadget `trace_dns` JSON.
    IgDns,
    /// CoreDNS `log` plugin, default format.
    Coredns,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Hubble,
        Format::CalicoFlows,
        Format::CalicoDns,
        Format::IgDns,
        Format::Coredns,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Hubble => "hubble",
            Format::CalicoFlows => "calico-flows",
            Format::CalicoDns => "calico-dns",
            Format::IgDns => "ig-dns",
            Format::Coredns => "coredns",
        }
    }
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub format: Format,
    /// Time (Unix ms) for records whose line carries none (CoreDNS without a timestamp prefix).
    pub default_time_ms: i64,
    /// Longest line read (bytes); longer lines are reported and skipped.
    pub max_line: usize,
    /// DNS queries waiting for their response (Hubble, Inspektor Gadget); beyond it the
    /// oldest is recorded unanswered (counted).
    pub max_pending_dns: usize,
}

impl Options {
    pub fn new(format: Format) -> Options {
        Options {
            format,
            default_time_ms: 0,
            max_line: 16 << 20,
            max_pending_dns: 65_536,
        }
    }
}

/// What an import did; nothing is left out without a count here.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub lines: u64,
    pub flow_records: u64,
    pub dns_records: u64,
    /// Lines that could not be read (each reported with its file and line).
    pub errors: u64,
    /// Lines read but not records, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// DNS queries whose response never came (recorded without an rcode).
    pub dns_unanswered: u64,
    /// Queries recorded early because too many were waiting for a response.
    pub dns_pending_overflow: u64,
}

fn json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

/// A DNS query waiting for its response: key (client address, id or name, type).
type PendingKey = (String, String, String);

/// Converts lines (or Hubble events) of one format to records.
pub struct Importer {
    pub opts: Options,
    pub stats: Stats,
    pending: HashMap<PendingKey, (u64, DnsRecord)>,
    seq: u64,
}

impl Importer {
    pub fn new(opts: Options) -> Importer {
        Importer {
            opts,
            stats: Stats::default(),
            pending: HashMap::new(),
            seq: 0,
        }
    }

    fn skip(&mut self, why: &str) {
        *self.stats.skipped.entry(why.to_string()).or_insert(0) += 1;
    }

    /// One line (without its newline). `Err` is the reason the line could not be read.
    pub fn line(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<(), String> {
        self.stats.lines += 1;
        let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        match self.opts.format {
            Format::Coredns => {
                match dnslog::coredns(text, self.opts.default_time_ms)? {
                    Some(r) => self.emit_dns(r, sink),
                    None => self.skip("CoreDNS line that is not a query log"),
                }
                Ok(())
            }
            Format::Hubble => {
                // The typed fast path: no JSON tree for the ~1 KB of a Hubble flow.
                match flows::parse_hubble_line(text)? {
                    Some(e) => self.hubble_event(e, sink),
                    None => self.hubble_value(&json(text)?, sink),
                }
            }
            Format::CalicoFlows => match flows::parse(&json(text)?, flows::Format::Calico)? {
                Some(e) => {
                    let r = convert::calico_flow(e)?;
                    self.emit_flow(r, sink);
                    Ok(())
                }
                None => {
                    self.skip("not a layer-4 flow");
                    Ok(())
                }
            },
            Format::CalicoDns => {
                let r = dnslog::calico(&json(text)?)?;
                self.emit_dns(r, sink);
                Ok(())
            }
            Format::IgDns => {
                let q = dnslog::gadget(&json(text)?)?;
                self.dns_half(q, sink);
                Ok(())
            }
        }
    }

    /// A Hubble flow as JSON (a Flow, or a GetFlowsResponse wrapping one).
    pub fn hubble_value(
        &mut self,
        v: &serde_json::Value,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        match flows::parse(v, flows::Format::Hubble)? {
            Some(e) => self.hubble_event(e, sink),
            None => {
                let why = if v.get("node_status").is_some() {
                    "Hubble node status message"
                } else if v.get("lost_events").is_some() {
                    "Hubble lost-events message"
                } else {
                    "Hubble event without TCP, UDP or SCTP (ICMP, non-IP)"
                };
                self.skip(why);
                Ok(())
            }
        }
    }

    fn hubble_event(&mut self, e: flows::Event, sink: &mut dyn Sink) -> Result<(), String> {
        if e.dns.is_some() {
            let half = convert::hubble_dns(e)?;
            self.dns_half(half, sink);
            return Ok(());
        }
        let r = convert::hubble_flow(e)?;
        self.emit_flow(r, sink);
        Ok(())
    }

    fn emit_flow(&mut self, r: palisade_store::FlowRecord, sink: &mut dyn Sink) {
        self.stats.flow_records += 1;
        sink.flow(r);
    }

    fn emit_dns(&mut self, r: DnsRecord, sink: &mut dyn Sink) {
        self.stats.dns_records += 1;
        sink.dns(r);
    }

    /// A query waits for its response; a response completes its query (or stands alone).
    fn dns_half(&mut self, half: dnslog::Half, sink: &mut dyn Sink) {
        match half {
            dnslog::Half::Query(key, r) => {
                if self.pending.len() >= self.opts.max_pending_dns {
                    if let Some(oldest) = self
                        .pending
                        .iter()
                        .min_by_key(|(_, (seq, _))| *seq)
                        .map(|(k, _)| k.clone())
                    {
                        if let Some((_, r)) = self.pending.remove(&oldest) {
                            self.stats.dns_pending_overflow += 1;
                            self.stats.dns_unanswered += 1;
                            self.emit_dns(r, sink);
                        }
                    }
                }
                self.seq += 1;
                if let Some((_, old)) = self.pending.insert(key, (self.seq, r)) {
                    // The same query again before an answer: the first went unanswered.
                    self.stats.dns_unanswered += 1;
                    self.emit_dns(old, sink);
                }
            }
            dnslog::Half::Response(key, mut resp) => {
                if let Some((_, q)) = self.pending.remove(&key) {
                    if resp.latency_us.is_none() && resp.time >= q.time {
                        resp.latency_us = Some(((resp.time - q.time) * 1000) as u64);
                    }
                    resp.time = q.time;
                    if resp.id == 0 {
                        resp.id = q.id;
                    }
                }
                self.emit_dns(resp, sink);
            }
        }
    }

    /// Records the queries still waiting (unanswered), in arrival order.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        let mut left: Vec<(u64, DnsRecord)> = self.pending.drain().map(|(_, v)| v).collect();
        left.sort_by_key(|(seq, _)| *seq);
        for (_, r) in left {
            self.stats.dns_unanswered += 1;
            self.emit_dns(r, sink);
        }
    }

    /// Reads a stream line by line; each bad line goes to `report` as `NAME:LINE: message`.
    /// Returns the read error that ended the stream early, if any.
    pub fn read<R: Read>(
        &mut self,
        r: R,
        name: &str,
        sink: &mut dyn Sink,
        report: &mut dyn FnMut(String),
    ) -> Option<String> {
        let mut lines = BoundedLines::new(r, 256 << 10, self.opts.max_line);
        loop {
            match lines.next_line() {
                Ok(None) => return None,
                Ok(Some((n, Ok(line)))) => {
                    if let Err(e) = self.line(line, sink) {
                        self.stats.errors += 1;
                        report(format!("{name}:{n}: {e}"));
                    }
                }
                Ok(Some((n, Err(len)))) => {
                    self.stats.lines += 1;
                    self.stats.errors += 1;
                    report(format!(
                        "{name}:{n}: line of {len} bytes is longer than the limit of {} bytes; skipped",
                        self.opts.max_line
                    ));
                }
                Err(e) => return Some(format!("{name}: {e}")),
            }
        }
    }
}
