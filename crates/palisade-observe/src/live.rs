//! Live capture on interfaces through libpcap (AF_PACKET on Linux): one reader thread per
//! interface, a kernel BPF filter, a bounded queue into the flow table (a full queue is
//! counted, never silent), libpcap's own drop counters reported at the end.

use crate::flow::{FlowTable, Sink};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interfaces: Vec<String>,
    /// A BPF filter expression (tcpdump syntax), compiled by libpcap.
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Frames buffered between the reader threads and the flow table.
    pub queue: usize,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            interfaces: Vec::new(),
            filter: None,
            snaplen: 2048,
            promiscuous: false,
            queue: 65_536,
        }
    }
}

/// What the capture saw, per interface: (name, received, dropped by the kernel, dropped
/// by the interface), and frames refused by the full queue.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LiveReport {
    pub interfaces: Vec<(String, u32, u32, u32)>,
    pub queue_full: u64,
}

#[cfg(feature = "live")]
struct Frame {
    ts_ns: i64,
    linktype: u16,
    orig_len: u32,
    data: Vec<u8>,
}

#[cfg(feature = "live")]
fn now_ns() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Without the `live` feature there is no libpcap to capture with.
#[cfg(not(feature = "live"))]
pub fn capture(
    _: &LiveOptions,
    _: &mut FlowTable,
    _: &mut dyn Sink,
    _: Arc<AtomicBool>,
    _: &mut dyn FnMut(&str),
) -> Result<LiveReport, String> {
    Err("this palisade was built without live capture (feature `live` of palisade-observe)".into())
}

/// Captures until `stop` is set, then flushes the table. `opened` is called with each
/// interface's name once its capture (and filter) is in place.
#[cfg(feature = "live")]
pub fn capture(
    opts: &LiveOptions,
    table: &mut FlowTable,
    sink: &mut dyn Sink,
    stop: Arc<AtomicBool>,
    opened: &mut dyn FnMut(&str),
) -> Result<LiveReport, String> {
    use crate::sensor::frame;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::{sync_channel, RecvTimeoutError};
    use std::time::Duration;
    if opts.interfaces.is_empty() {
        return Err("no interface to capture on".into());
    }
    let (tx, rx) = sync_channel::<Frame>(opts.queue.max(1));
    let full = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for name in &opts.interfaces {
        let cap = pcap::Capture::from_device(name.as_str())
            .and_then(|c| {
                c.promisc(opts.promiscuous)
                    .snaplen(opts.snaplen)
                    .timeout(100)
                    .immediate_mode(true)
                    .open()
            })
            .map_err(|e| format!("interface {name}: {e}"))?;
        let mut cap = cap;
        if let Some(f) = &opts.filter {
            cap.filter(f, true)
                .map_err(|e| format!("BPF filter {f:?} on {name}: {e}"))?;
        }
        let linktype = cap.get_datalink().0 as u16;
        opened(name);
        let (tx, stop, full, name) = (tx.clone(), stop.clone(), full.clone(), name.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match cap.next_packet() {
                    Ok(p) => {
                        let f = Frame {
                            ts_ns: p.header.ts.tv_sec * 1_000_000_000 + p.header.ts.tv_usec * 1000,
                            linktype,
                            orig_len: p.header.len,
                            data: p.data.to_vec(),
                        };
                        if tx.try_send(f).is_err() {
                            full.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(pcap::Error::TimeoutExpired) => {}
                    Err(_) => break,
                }
            }
            let s = cap.stats().ok();
            (
                name,
                s.map_or(0, |s| s.received),
                s.map_or(0, |s| s.dropped),
                s.map_or(0, |s| s.if_dropped),
            )
        }));
    }
    drop(tx);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(f) => frame(table, f.ts_ns, f.linktype, f.orig_len, &f.data, sink),
            Err(RecvTimeoutError::Timeout) => table.sweep(now_ns(), sink),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    table.finish(sink);
    let mut rep = LiveReport {
        queue_full: full.load(Ordering::Relaxed),
        ..LiveReport::default()
    };
    for t in threads {
        if let Ok(s) = t.join() {
            rep.interfaces.push(s);
        }
    }
    Ok(rep)
}
