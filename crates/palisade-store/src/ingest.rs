//! The ingest path: a bounded queue in front of one writer thread that aggregates records and
//! writes a batch when it holds `batch_records` records or `flush_every` has passed. A full
//! queue refuses records (`try_submit`), counted as dropped; blocking `submit` waits instead
//! (file input, where back-pressure is right). A failed write is counted and reported; the
//! writer keeps going with the next batch.

use crate::aggregate::Aggregator;
use crate::psl::SuffixList;
use crate::query::{Store, StoreError};
use crate::record::{DnsRecord, FlowRecord};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Queue capacity in records.
    pub queue: usize,
    /// Write when this many records are aggregated.
    pub batch_records: u64,
    /// …or when this much time has passed since the last write.
    pub flush_every: Duration,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            queue: 65_536,
            batch_records: 50_000,
            flush_every: Duration::from_secs(5),
        }
    }
}

/// Counters of the ingest path (Prometheus reads these).
#[derive(Debug, Default)]
pub struct IngestStats {
    pub ingested: AtomicU64,
    pub dropped_queue_full: AtomicU64,
    pub dropped_write_error: AtomicU64,
    pub batches: AtomicU64,
    pub rows_written: AtomicU64,
    pub write_nanos: AtomicU64,
    pub max_write_nanos: AtomicU64,
}

enum Item {
    Flow(Box<FlowRecord>),
    Dns(Box<DnsRecord>),
    Flush(SyncSender<()>),
}

/// A running writer.
pub struct Ingest {
    tx: Option<SyncSender<Item>>,
    thread: Option<JoinHandle<Box<dyn Store>>>,
    pub stats: Arc<IngestStats>,
    errors: Arc<Mutex<Vec<StoreError>>>,
}

impl Ingest {
    pub fn start(store: Box<dyn Store>, psl: SuffixList, opts: IngestOptions) -> Ingest {
        let (tx, rx) = sync_channel(opts.queue.max(1));
        let stats = Arc::new(IngestStats::default());
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (st, er) = (stats.clone(), errors.clone());
        let thread = std::thread::Builder::new()
            .name("palisade-store-writer".into())
            .spawn(move || writer(store, psl, opts, rx, st, er))
            .expect("spawning the store writer thread");
        Ingest {
            tx: Some(tx),
            thread: Some(thread),
            stats,
            errors,
        }
    }

    fn send(&self, item: Item, block: bool) -> bool {
        let Some(tx) = &self.tx else { return false };
        let ok = if block {
            tx.send(item).is_ok()
        } else {
            match tx.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            }
        };
        if !ok {
            self.stats
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Queues a flow record, waiting for room.
    pub fn submit_flow(&self, r: FlowRecord) -> bool {
        self.send(Item::Flow(Box::new(r)), true)
    }
    pub fn submit_dns(&self, r: DnsRecord) -> bool {
        self.send(Item::Dns(Box::new(r)), true)
    }
    /// Queues a flow record unless the queue is full (then it is counted as dropped).
    pub fn try_submit_flow(&self, r: FlowRecord) -> bool {
        self.send(Item::Flow(Box::new(r)), false)
    }
    pub fn try_submit_dns(&self, r: DnsRecord) -> bool {
        self.send(Item::Dns(Box::new(r)), false)
    }

    /// Writes everything queued so far and waits until it is written.
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        if self.send(Item::Flush(tx), true) {
            let _ = rx.recv();
        }
    }

    /// Errors of failed writes since the last call.
    pub fn take_errors(&self) -> Vec<StoreError> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Writes what is left, stops the writer and returns the store.
    pub fn finish(mut self) -> Option<Box<dyn Store>> {
        self.tx.take();
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer(
    mut store: Box<dyn Store>,
    psl: SuffixList,
    opts: IngestOptions,
    rx: Receiver<Item>,
    stats: Arc<IngestStats>,
    errors: Arc<Mutex<Vec<StoreError>>>,
) -> Box<dyn Store> {
    let mut agg = Aggregator::new(psl);
    let mut last = Instant::now();
    let write = |agg: &mut Aggregator, store: &mut Box<dyn Store>| {
        if agg.pending() == 0 {
            return;
        }
        let batch = agg.take();
        let t = Instant::now();
        match store.write(&batch) {
            Ok(()) => {
                let ns = t.elapsed().as_nanos() as u64;
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.rows_written.fetch_add(
                    (batch.flows.len() * 2 + batch.details.len() + batch.dns.len() * 2) as u64,
                    Ordering::Relaxed,
                );
                stats.write_nanos.fetch_add(ns, Ordering::Relaxed);
                stats.max_write_nanos.fetch_max(ns, Ordering::Relaxed);
            }
            Err(e) => {
                stats
                    .dropped_write_error
                    .fetch_add(batch.records, Ordering::Relaxed);
                errors.lock().unwrap_or_else(|e| e.into_inner()).push(e);
            }
        }
    };
    loop {
        let wait = opts.flush_every.saturating_sub(last.elapsed());
        match rx.recv_timeout(wait) {
            Ok(Item::Flow(r)) => {
                stats.ingested.fetch_add(1, Ordering::Relaxed);
                agg.add_flow(&r);
            }
            Ok(Item::Dns(r)) => {
                stats.ingested.fetch_add(1, Ordering::Relaxed);
                agg.add_dns(&r);
            }
            Ok(Item::Flush(done)) => {
                write(&mut agg, &mut store);
                last = Instant::now();
                let _ = done.send(());
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                write(&mut agg, &mut store);
                return store;
            }
        }
        if agg.pending() >= opts.batch_records || last.elapsed() >= opts.flush_every {
            write(&mut agg, &mut store);
            last = Instant::now();
        }
    }
}
