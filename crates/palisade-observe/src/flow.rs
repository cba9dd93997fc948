//! The bidirectional flow table: packets become flow records (5-tuple, first/last seen,
//! packets and bytes each way, TCP flags and state, TLS or plaintext, the first HTTP/1.x
//! request and status) and DNS records (queries matched to responses by id). Idle and
//! active timeouts flush records; a full table evicts its least recently seen flows, each
//! one emitted early and counted. Time is the packets' own, so files replay exactly.

use crate::dns;
use crate::l7::{self, Tls};
use crate::packet::{proto_name, Packet, Skip, ACK, FIN, RST, SYN, TCP, UDP};
use foldhash::fast::FixedState;
use palisade_store::{DnsRecord, Endpoint, FlowRecord, HttpInfo, Security, TcpState, Verdict};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

type Map<K, V> = HashMap<K, V, FixedState>;

#[derive(Clone, Debug)]
pub struct Config {
    /// A flow with no packet for this long is flushed.
    pub idle_timeout_ns: i64,
    /// A long flow is flushed as a record every this often (counters restart).
    pub active_timeout_ns: i64,
    /// A closed or reset TCP flow is flushed after this much quiet.
    pub closed_linger_ns: i64,
    /// At most this many flows are tracked at once.
    pub max_flows: usize,
    /// At most this many (client, address) → name tags from DNS answers.
    pub max_name_tags: usize,
    /// The reporter written into records.
    pub reporter: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            idle_timeout_ns: 60_000_000_000,
            active_timeout_ns: 300_000_000_000,
            closed_linger_ns: 5_000_000_000,
            max_flows: 262_144,
            max_name_tags: 262_144,
            reporter: "sensor".into(),
        }
    }
}

/// Counters of the sensor (Prometheus reads these); nothing is dropped without one.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    /// Frames without a flow, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    pub flows_created: u64,
    pub flow_records: u64,
    /// Flows flushed early because the table was full.
    pub evicted: u64,
    pub dns_records: u64,
    /// DNS payloads on port 53 that did not parse.
    pub dns_errors: u64,
    /// Queries flushed without a response.
    pub dns_unanswered: u64,
    /// Queries beyond the per-flow cap of pending queries, recorded without matching.
    pub dns_pending_overflow: u64,
    /// Name tags dropped when the tag map was full.
    pub name_tags_dropped: u64,
}

/// Receives records.
pub trait Sink {
    fn flow(&mut self, r: FlowRecord);
    fn dns(&mut self, r: DnsRecord);
}

impl Sink for (Vec<FlowRecord>, Vec<DnsRecord>) {
    fn flow(&mut self, r: FlowRecord) {
        self.0.push(r);
    }
    fn dns(&mut self, r: DnsRecord) {
        self.1.push(r);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    a: IpAddr,
    b: IpAddr,
    ap: u16,
    bp: u16,
    proto: u8,
}

fn key(p: &Packet) -> (Key, bool) {
    if (p.src, p.sport) <= (p.dst, p.dport) {
        (
            Key {
                a: p.src,
                b: p.dst,
                ap: p.sport,
                bp: p.dport,
                proto: p.proto,
            },
            true,
        )
    } else {
        (
            Key {
                a: p.dst,
                b: p.src,
                ap: p.dport,
                bp: p.sport,
                proto: p.proto,
            },
            false,
        )
    }
}

struct Pending {
    id: u16,
    ts_ns: i64,
    qname: String,
    qtype: u16,
}

struct Flow {
    /// The initiator is `a` of the key when true.
    a_initiates: bool,
    last_ns: i64,
    slice_start_ns: i64,
    pk_out: u64,
    by_out: u64,
    pk_in: u64,
    by_in: u64,
    flags: u8,
    syn: bool,
    syn_ack: bool,
    fin_out: bool,
    fin_in: bool,
    rst: bool,
    saw_out: bool,
    saw_in: bool,
    payload_out: bool,
    payload_in: bool,
    security: Security,
    sni: Option<String>,
    http: Option<HttpInfo>,
    pending: Vec<Pending>,
    dns_name: Option<String>,
}

pub struct FlowTable {
    cfg: Config,
    flows: Map<Key, Flow>,
    /// (client, address) → the name the client resolved.
    names: Map<(IpAddr, IpAddr), String>,
    pub counters: Counters,
    next_sweep_ns: i64,
}

const MAX_PENDING: usize = 64;

impl FlowTable {
    pub fn new(cfg: Config) -> FlowTable {
        FlowTable {
            flows: Map::with_capacity_and_hasher(cfg.max_flows.min(1 << 16), FixedState::default()),
            names: Map::default(),
            cfg,
            counters: Counters::default(),
            next_sweep_ns: i64::MIN,
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Counts a frame that carried no flow.
    pub fn skip(&mut self, orig_len: u32, why: Skip) {
        self.counters.packets += 1;
        self.counters.bytes += orig_len as u64;
        *self.counters.skipped.entry(why.as_str()).or_default() += 1;
    }

    /// Adds one decoded packet of `orig_len` bytes on the wire.
    pub fn packet(&mut self, ts_ns: i64, orig_len: u32, p: &Packet, sink: &mut dyn Sink) {
        self.counters.packets += 1;
        self.counters.bytes += orig_len as u64;
        if ts_ns >= self.next_sweep_ns {
            self.sweep(ts_ns, sink);
            self.next_sweep_ns = ts_ns + 1_000_000_000;
        }
        let (k, from_a) = key(p);
        // A new SYN on a finished connection starts a new one.
        let restart = p.proto == TCP
            && p.flags & (SYN | ACK) == SYN
            && self
                .flows
                .get(&k)
                .is_some_and(|f| f.rst || (f.fin_out && f.fin_in));
        if restart {
            if let Some(f) = self.flows.remove(&k) {
                self.emit(k, f, false, sink);
            }
        }
        if !self.flows.contains_key(&k) {
            if self.flows.len() >= self.cfg.max_flows.max(1) {
                self.evict(sink);
            }
            let sender_is_server = match p.proto {
                TCP if p.flags & SYN != 0 => p.flags & ACK != 0,
                TCP | UDP => p.sport < 1024 && p.dport >= 1024,
                _ => false,
            };
            let a_initiates = from_a != sender_is_server;
            let (client, server) = if a_initiates { (k.a, k.b) } else { (k.b, k.a) };
            let dns_name = self.names.get(&(client, server)).cloned();
            self.counters.flows_created += 1;
            self.flows.insert(
                k,
                Flow {
                    a_initiates,
                    last_ns: ts_ns,
                    slice_start_ns: ts_ns,
                    pk_out: 0,
                    by_out: 0,
                    pk_in: 0,
                    by_in: 0,
                    flags: 0,
                    syn: false,
                    syn_ack: false,
                    fin_out: false,
                    fin_in: false,
                    rst: false,
                    saw_out: false,
                    saw_in: false,
                    payload_out: false,
                    payload_in: false,
                    security: Security::Unknown,
                    sni: None,
                    http: None,
                    pending: Vec::new(),
                    dns_name,
                },
            );
        }
        let Some(f) = self.flows.get_mut(&k) else {
            return;
        };
        let out = from_a == f.a_initiates;
        f.last_ns = f.last_ns.max(ts_ns);
        if out {
            f.pk_out += 1;
            f.by_out += orig_len as u64;
            f.saw_out = true;
        } else {
            f.pk_in += 1;
            f.by_in += orig_len as u64;
            f.saw_in = true;
        }
        if p.proto == TCP {
            f.flags |= p.flags;
            if p.flags & SYN != 0 {
                if p.flags & ACK != 0 {
                    f.syn_ack = true;
                } else {
                    f.syn = true;
                }
            }
            if p.flags & FIN != 0 {
                if out {
                    f.fin_out = true;
                } else {
                    f.fin_in = true;
                }
            }
            if p.flags & RST != 0 {
                f.rst = true;
            }
        }
        let mut dns_msgs = Vec::new();
        if !p.payload.is_empty() {
            let dns_port = p.sport == 53 || p.dport == 53;
            if dns_port && (p.proto == UDP || p.proto == TCP) {
                let msg = if p.proto == UDP {
                    Some(p.payload)
                } else {
                    // DNS over TCP: a two-byte length, then the message (whole in one segment).
                    let l = p
                        .payload
                        .get(..2)
                        .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize);
                    l.and_then(|l| p.payload.get(2..2 + l))
                };
                if let Some(m) = msg {
                    match dns::parse(m) {
                        Ok(m) => dns_msgs.push(m),
                        Err(_) => self.counters.dns_errors += 1,
                    }
                }
                if f.security == Security::Unknown {
                    f.security = Security::Plaintext;
                }
            } else if out && !f.payload_out {
                f.payload_out = true;
                if let Some(t) = l7::tls(p.payload) {
                    f.security = Security::Tls;
                    if let Tls::ClientHello { sni } = t {
                        f.sni = sni;
                    }
                } else if let Some(h) = l7::http_request(p.payload) {
                    f.http = Some(h);
                    f.security = Security::Plaintext;
                } else if f.security == Security::Unknown && l7::plaintext(p.payload) {
                    f.security = Security::Plaintext;
                }
            } else if !out && !f.payload_in {
                f.payload_in = true;
                if l7::tls(p.payload).is_some() {
                    f.security = Security::Tls;
                } else if let Some(s) = l7::http_status(p.payload) {
                    if let Some(h) = &mut f.http {
                        h.status = Some(s);
                    }
                    if f.security == Security::Unknown {
                        f.security = Security::Plaintext;
                    }
                } else if f.security == Security::Unknown && l7::plaintext(p.payload) {
                    f.security = Security::Plaintext;
                }
            }
        }
        for m in dns_msgs {
            self.dns_message(k, from_a, ts_ns, m, sink);
        }
    }

    fn endpoint(ip: IpAddr, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.to_string(),
            port,
            ..Endpoint::default()
        }
    }

    fn dns_message(
        &mut self,
        k: Key,
        from_a: bool,
        ts_ns: i64,
        m: dns::Message,
        sink: &mut dyn Sink,
    ) {
        let proto = proto_name(k.proto);
        let (sender, sport, receiver, rport) = if from_a {
            (k.a, k.ap, k.b, k.bp)
        } else {
            (k.b, k.bp, k.a, k.ap)
        };
        let Some(f) = self.flows.get_mut(&k) else {
            return;
        };
        if !m.response {
            if let Some((qname, qtype)) = m.question {
                if f.pending.len() >= MAX_PENDING {
                    self.counters.dns_pending_overflow += 1;
                    let p = f.pending.remove(0);
                    let r = unanswered(&self.cfg, k, f.a_initiates, p, &proto);
                    self.counters.dns_records += 1;
                    self.counters.dns_unanswered += 1;
                    sink.dns(r);
                }
                let Some(f) = self.flows.get_mut(&k) else {
                    return;
                };
                f.pending.push(Pending {
                    id: m.id,
                    ts_ns,
                    qname,
                    qtype,
                });
            }
            return;
        }
        let (qname, qtype) = m.question.clone().unwrap_or_default();
        let pos = f
            .pending
            .iter()
            .position(|p| p.id == m.id && p.qname.eq_ignore_ascii_case(&qname));
        let query = pos.map(|i| f.pending.remove(i));
        let client = Self::endpoint(receiver, rport);
        let server = Self::endpoint(sender, sport);
        let rec = DnsRecord {
            time: query.as_ref().map_or(ts_ns, |q| q.ts_ns) / 1_000_000,
            client,
            server,
            protocol: proto,
            id: m.id,
            qname: qname.clone(),
            qtype: dns::type_name(qtype),
            rcode: Some(dns::rcode_name(m.rcode)),
            latency_us: query.map(|q| ((ts_ns - q.ts_ns).max(0) / 1000) as u64),
            answers: m.answers,
            reporter: self.cfg.reporter.clone(),
        };
        for a in &rec.answers {
            if a.rtype == "A" || a.rtype == "AAAA" {
                if let Ok(ip) = a.data.parse::<IpAddr>() {
                    if self.names.len() >= self.cfg.max_name_tags
                        && !self.names.contains_key(&(receiver, ip))
                    {
                        self.counters.name_tags_dropped += self.names.len() as u64;
                        self.names.clear();
                    }
                    self.names.insert(
                        (receiver, ip),
                        qname.trim_end_matches('.').to_ascii_lowercase(),
                    );
                }
            }
        }
        self.counters.dns_records += 1;
        sink.dns(rec);
    }

    fn record(&self, k: Key, f: &Flow, evicted: bool) -> FlowRecord {
        let (c, cp, s, sp) = if f.a_initiates {
            (k.a, k.ap, k.b, k.bp)
        } else {
            (k.b, k.bp, k.a, k.ap)
        };
        let tcp_state = (k.proto == TCP).then_some({
            if f.rst {
                TcpState::Reset
            } else if f.fin_out && f.fin_in {
                TcpState::Closed
            } else if (f.syn && f.syn_ack) || (f.saw_out && f.saw_in) {
                TcpState::Established
            } else {
                TcpState::Attempted
            }
        });
        let mut dst = Self::endpoint(s, sp);
        dst.dns_name = f.dns_name.clone();
        FlowRecord {
            start: f.slice_start_ns / 1_000_000,
            end: f.last_ns / 1_000_000,
            src: Self::endpoint(c, cp),
            dst,
            protocol: proto_name(k.proto),
            packets_out: f.pk_out,
            bytes_out: f.by_out,
            packets_in: f.pk_in,
            bytes_in: f.by_in,
            tcp_state,
            tcp_flags: f.flags,
            security: f.security,
            sni: f.sni.clone(),
            http: f.http.clone(),
            verdict: Verdict::Unknown,
            reporter: self.cfg.reporter.clone(),
            evicted,
            ..FlowRecord::default()
        }
    }

    fn emit(&mut self, k: Key, mut f: Flow, evicted: bool, sink: &mut dyn Sink) {
        let proto = proto_name(k.proto);
        for p in std::mem::take(&mut f.pending) {
            self.counters.dns_records += 1;
            self.counters.dns_unanswered += 1;
            sink.dns(unanswered(&self.cfg, k, f.a_initiates, p, &proto));
        }
        if f.pk_out + f.pk_in > 0 {
            self.counters.flow_records += 1;
            sink.flow(self.record(k, &f, evicted));
        }
    }

    /// Flushes idle, closed and over-long flows as of `now_ns`.
    pub fn sweep(&mut self, now_ns: i64, sink: &mut dyn Sink) {
        let cfg = &self.cfg;
        let mut done = Vec::new();
        let mut slices = Vec::new();
        for (k, f) in &self.flows {
            let idle = now_ns - f.last_ns;
            if idle >= cfg.idle_timeout_ns
                || ((f.rst || (f.fin_out && f.fin_in)) && idle >= cfg.closed_linger_ns)
            {
                done.push(*k);
            } else if now_ns - f.slice_start_ns >= cfg.active_timeout_ns {
                slices.push(*k);
            }
        }
        for k in done {
            if let Some(f) = self.flows.remove(&k) {
                self.emit(k, f, false, sink);
            }
        }
        for k in slices {
            let rec = self.flows.get(&k).map(|f| self.record(k, f, false));
            if let (Some(rec), Some(f)) = (rec, self.flows.get_mut(&k)) {
                if f.pk_out + f.pk_in > 0 {
                    self.counters.flow_records += 1;
                    sink.flow(rec);
                }
                f.slice_start_ns = now_ns;
                f.pk_out = 0;
                f.by_out = 0;
                f.pk_in = 0;
                f.by_in = 0;
            }
        }
    }

    /// Evicts the least recently seen sixteenth of the table.
    fn evict(&mut self, sink: &mut dyn Sink) {
        let mut ages: Vec<(i64, Key)> = self.flows.iter().map(|(k, f)| (f.last_ns, *k)).collect();
        let n = (ages.len() / 16).max(1);
        ages.select_nth_unstable_by_key(n - 1, |a| a.0);
        for (_, k) in ages.into_iter().take(n) {
            if let Some(f) = self.flows.remove(&k) {
                self.counters.evicted += 1;
                self.emit(k, f, true, sink);
            }
        }
    }

    /// Flushes everything (end of file, shutdown).
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        let keys: Vec<Key> = self.flows.keys().copied().collect();
        for k in keys {
            if let Some(f) = self.flows.remove(&k) {
                self.emit(k, f, false, sink);
            }
        }
    }
}

fn unanswered(cfg: &Config, k: Key, a_initiates: bool, p: Pending, proto: &str) -> DnsRecord {
    let (c, cp, s, sp) = if a_initiates {
        (k.a, k.ap, k.b, k.bp)
    } else {
        (k.b, k.bp, k.a, k.ap)
    };
    DnsRecord {
        time: p.ts_ns / 1_000_000,
        client: FlowTable::endpoint(c, cp),
        server: FlowTable::endpoint(s, sp),
        protocol: proto.to_string(),
        id: p.id,
        qname: p.qname,
        qtype: dns::type_name(p.qtype),
        rcode: None,
        answers: Vec::new(),
        latency_us: None,
        reporter: cfg.reporter.clone(),
    }
}
