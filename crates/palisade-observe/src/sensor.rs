//! The sensor pipeline: frames → packet parser → flow table → attribution → a sink.

use crate::attribute::Attribution;
use crate::flow::{FlowTable, Sink};
use crate::packet;
use crate::pcap::Reader;
use palisade_store::{DnsRecord, FlowRecord};
use std::io::Read;
use std::path::Path;

/// Attributes records on their way to another sink.
pub struct Attributed<'s, 'a> {
    pub attribution: &'s Attribution<'a>,
    pub inner: &'s mut dyn Sink,
}

impl Sink for Attributed<'_, '_> {
    fn flow(&mut self, mut r: FlowRecord) {
        self.attribution.flow(&mut r);
        self.inner.flow(r);
    }
    fn dns(&mut self, mut r: DnsRecord) {
        self.attribution.dns(&mut r);
        self.inner.dns(r);
    }
}

/// Feeds one frame to the table.
pub fn frame(
    table: &mut FlowTable,
    ts_ns: i64,
    linktype: u16,
    orig_len: u32,
    data: &[u8],
    sink: &mut dyn Sink,
) {
    match packet::parse(linktype, data) {
        Ok(p) => table.packet(ts_ns, orig_len, &p, sink),
        Err(why) => table.skip(orig_len, why),
    }
}

/// Reads a pcap or pcapng stream into the table (not flushed: call `finish`). Returns the
/// number of frames read and the error that ended the file early, if any.
pub fn read_capture<R: Read>(
    r: R,
    table: &mut FlowTable,
    sink: &mut dyn Sink,
) -> (u64, Option<String>) {
    let mut reader = match Reader::new(r) {
        Ok(r) => r,
        Err(e) => return (0, Some(e.to_string())),
    };
    let mut n = 0;
    while let Some(f) = reader.next() {
        match f {
            Ok(f) => {
                n += 1;
                frame(table, f.ts_ns, f.linktype, f.orig_len, f.data, sink);
            }
            Err(e) => return (n, Some(e.to_string())),
        }
    }
    (n, None)
}

/// Reads a capture file; the error names the file.
pub fn read_file(path: &Path, table: &mut FlowTable, sink: &mut dyn Sink) -> (u64, Option<String>) {
    match std::fs::File::open(path) {
        Ok(f) => {
            let (n, e) = read_capture(std::io::BufReader::with_capacity(1 << 20, f), table, sink);
            (n, e.map(|e| format!("{}: {e}", path.display())))
        }
        Err(e) => (0, Some(format!("{}: {e}", path.display()))),
    }
}
