//! `palisade observe`: the network sensor (capture files and interfaces → flow and DNS
//! records, attributed to workloads and policies) and queries over the flow store. Wiring
//! only: capture, flow table and attribution live in palisade-observe, aggregation, store and
//! queries in palisade-store.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{LoadOptions, Object};
use palisade_netpol::{BuildOptions, Network};
use palisade_observe::attribute::Attribution;
use palisade_observe::flow::{Config, Counters, FlowTable, Sink};
use palisade_observe::sensor::{read_file, Attributed};
use palisade_store::ingest::{Ingest, IngestOptions};
use palisade_store::psl::SuffixList;
use palisade_store::query::{Filter, StoreStats};
use palisade_store::{DnsRecord, EndpointKind, FlowRecord, Scope, Security, Store, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ObserveArgs {
    #[command(subcommand)]
    command: ObserveCommand,
}

#[derive(Subcommand, Debug)]
enum ObserveCommand {
    /// Build flow and DNS records from capture files (-r) or live interfaces (-i), attribute
    /// them to workloads and policies of a snapshot, and store or print them.
    Sensor(SensorArgs),
    /// Query the flow store: flows, top talkers, the service graph, DNS, new edges, denials.
    Query(QueryArgs),
    /// Serve the console and its JSON API over the flow store (the service graph, flows, DNS,
    /// alerts, explain/recommend/impact with a snapshot) and Prometheus metrics.
    Serve(ServeArgs),
    /// Import flow and DNS logs of other tools (Hubble, Calico, Inspektor Gadget, CoreDNS),
    /// attribute them like the sensor's records, and store or print them.
    Import(ImportArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ImportFormat {
    /// Hubble flows: `hubble observe -o json` or `-o jsonpb`, the Hubble exporter's files.
    Hubble,
    /// Calico flow logs (JSON lines).
    CalicoFlows,
    /// Calico DNS logs (JSON lines).
    CalicoDns,
    /// Inspektor Gadget `trace_dns` JSON.
    IgDns,
    /// CoreDNS `log` plugin lines (default format).
    Coredns,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Log files to import; `-` is standard input.
    #[arg(value_name = "FILE", required_unless_present = "hubble_server")]
    files: Vec<PathBuf>,
    /// The format of the files (`--format` is reserved by the CLI convention for the old
    /// spelling of -o).
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        required_unless_present = "hubble_server"
    )]
    input_format: Option<ImportFormat>,
    /// Read flows from a Hubble server or Relay through the Observer gRPC API (host:port or
    /// http://host:port) instead of files.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["files", "input_format"])]
    hubble_server: Option<String>,
    /// With --hubble-server: keep streaming new flows until interrupted.
    #[arg(long, requires = "hubble_server")]
    follow: bool,
    /// With --hubble-server: start with the last N flows of the server's buffer (0: none
    /// with --follow, all without).
    #[arg(long, value_name = "N", requires = "hubble_server")]
    last: Option<u64>,
    /// Manifests of the cluster (pods with IPs, Services, Nodes, policies) for attribution.
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    live_cluster: LiveClusterArgs,
    /// Write records to this flow store instead of standard output: a SQLite file, or
    /// clickhouse://[user[:password]@]host[:port][/database] (HTTP port).
    #[arg(long, value_name = "PATH|URL")]
    store: Option<PathBuf>,
    /// Time for records whose line has none (CoreDNS without a timestamp prefix): RFC 3339
    /// or a duration before now; default now.
    #[arg(long, value_name = "TIME")]
    default_time: Option<String>,
    /// Output format of the records (without --store): text (a table) or json (JSON lines).
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: RecordFormat,
    /// Write the records to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// Attribution from the live cluster instead of a snapshot file.
#[derive(Args, Debug, Clone)]
struct LiveClusterArgs {
    /// Attribute records from the live cluster instead of --snapshot: Pods, their
    /// controllers, Services, Nodes, Namespaces and NetworkPolicies, watched through the API
    /// and kept current while records come in.
    #[arg(long, conflicts_with = "snapshot")]
    cluster: bool,
    /// Kubeconfig context (with --cluster; default: the current context).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    context: Option<String>,
    /// Kubeconfig file (with --cluster; default: $KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    kubeconfig: Option<PathBuf>,
}

impl LiveClusterArgs {
    /// Connects and waits for the first listing of every watched kind.
    fn start(&self) -> Result<Option<palisade_observe::watch::ClusterView>> {
        if !self.cluster {
            return Ok(None);
        }
        let view = palisade_observe::watch::ClusterView::start(&palisade_cluster::ClusterOptions {
            context: self.context.clone(),
            kubeconfig: self.kubeconfig.clone(),
            ..palisade_cluster::ClusterOptions::default()
        })
        .map_err(anyhow::Error::msg)?;
        view.wait_synced(Duration::from_secs(60))
            .map_err(anyhow::Error::msg)?;
        for e in view.take_errors() {
            eprintln!("palisade: warning: {e}");
        }
        eprintln!(
            "palisade: attributing from cluster {} (watching)",
            view.context
        );
        Ok(Some(view))
    }
}

/// Reports the watch errors of a run; `true` when there were some.
fn watch_errors(view: Option<&palisade_observe::watch::ClusterView>) -> bool {
    let errors = view.map(|v| v.take_errors()).unwrap_or_default();
    for e in &errors {
        eprintln!("palisade: warning: {e}");
    }
    !errors.is_empty()
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum RecordFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct SensorArgs {
    /// Read packets from a pcap or pcapng file (repeatable).
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        required_unless_present = "interface"
    )]
    read: Vec<PathBuf>,
    /// Capture on this interface (repeatable; needs root or CAP_NET_RAW).
    #[arg(short = 'i', long, value_name = "IFACE", conflicts_with = "read")]
    interface: Vec<String>,
    /// BPF filter for live capture (tcpdump syntax).
    #[arg(long, value_name = "EXPR", requires = "interface")]
    filter: Option<String>,
    /// Stop a live capture after this long (15s, 10m, 2h); without it, capture until killed.
    #[arg(long, value_name = "DURATION", requires = "interface")]
    duration: Option<String>,
    /// Manifests of the cluster (pods with IPs, Services, Nodes, policies) for attribution.
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    live_cluster: LiveClusterArgs,
    /// Write records to this flow store instead of standard output: a SQLite file, or
    /// clickhouse://[user[:password]@]host[:port][/database] (HTTP port).
    #[arg(long, value_name = "PATH|URL")]
    store: Option<PathBuf>,
    /// A flow idle this long is flushed.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    idle_timeout: String,
    /// A long flow is flushed as a record this often.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    active_timeout: String,
    /// Flows tracked at once; beyond it the least recently seen are flushed early (counted).
    #[arg(long, value_name = "N", default_value_t = 262_144)]
    max_flows: usize,
    /// Output format of the records (without --store): text (a table) or json (JSON lines).
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: RecordFormat,
    /// Write the records to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum QueryKind {
    /// Edges (source, destination, port, protocol, verdict) with counters.
    Flows,
    /// Sources by bytes.
    Top,
    /// Service graph edges with byte, flow and deny counts.
    Graph,
    /// DNS queries by workload.
    Dns,
    /// DNS queries by registered domain.
    Domains,
    /// Edges first seen at or after --new-since.
    NewEdges,
    /// Denied flows grouped by the deciding policy.
    Denied,
    /// Flow records kept whole (denied, plaintext, external, drifting).
    Details,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TableFormat {
    Text,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum VerdictArg {
    Allowed,
    Denied,
    Unknown,
}

#[derive(Args, Debug)]
struct QueryArgs {
    /// What to list.
    #[arg(value_enum)]
    what: QueryKind,
    /// The flow store `observe sensor --store` writes: a SQLite file or a clickhouse:// URL.
    #[arg(long, value_name = "PATH|URL")]
    store: PathBuf,
    /// Start of the range: a duration before now (15m, 2h, 7d) or an RFC 3339 time.
    /// Default: all retained history.
    #[arg(long, value_name = "DURATION|TIME")]
    since: Option<String>,
    /// End of the range (RFC 3339). Default: now.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Flows with an end in this namespace.
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    /// Flows with an end in this workload (`ns/name` or `name`).
    #[arg(long, value_name = "WORKLOAD")]
    workload: Option<String>,
    /// Flows with an end whose workload has this label (repeatable, all must match).
    #[arg(long, short = 'l', value_name = "KEY=VALUE")]
    label: Vec<String>,
    #[arg(long)]
    port: Option<u16>,
    /// tcp, udp, sctp, icmp.
    #[arg(long, value_name = "PROTOCOL")]
    protocol: Option<String>,
    #[arg(long, value_enum)]
    verdict: Option<VerdictArg>,
    /// Only flows with an external end.
    #[arg(long, conflicts_with = "internal")]
    external: bool,
    /// Only flows inside the cluster.
    #[arg(long)]
    internal: bool,
    /// Only flows that negotiated TLS.
    #[arg(long, conflicts_with = "plaintext")]
    tls: bool,
    /// Only flows that sent plaintext.
    #[arg(long)]
    plaintext: bool,
    /// For new-edges: edges first seen at or after this time (duration before now or RFC 3339).
    #[arg(
        long,
        value_name = "DURATION|TIME",
        required_if_eq("what", "new-edges")
    )]
    new_since: Option<String>,
    /// At most this many rows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    limit: usize,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: TableFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// The flow store (written by `observe sensor --store` or `observe import --store`).
    #[arg(long, value_name = "PATH")]
    store: PathBuf,
    /// Manifests of the cluster, for explain, recommend, impact and the policies of a workload.
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    /// Detect alerts (JSON lines of `palisade detect run -o json`) for the alert timeline.
    #[arg(long, value_name = "FILE")]
    alerts: Option<PathBuf>,
    /// Address to listen on (localhost only by default).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7480")]
    listen: std::net::SocketAddr,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key); default plain HTTP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn serve(a: ServeArgs) -> Result<u8> {
    palisade_console::cli::run(palisade_console::cli::ServeConfig {
        store: open_store(&a.store)?,
        snapshot: a.snapshot,
        alerts: a.alerts,
        options: palisade_console::ServeOptions {
            listen: a.listen,
            tls: a.tls_cert.zip(a.tls_key),
        },
    })
}

pub fn run(args: ObserveArgs) -> Result<u8> {
    match args.command {
        ObserveCommand::Sensor(a) => sensor(a),
        ObserveCommand::Query(a) => query(a),
        ObserveCommand::Serve(a) => serve(a),
        ObserveCommand::Import(a) => import(a),
    }
}

/// `15s`, `10m`, `2h`, `7d` → milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("{s:?}: expected a duration such as 30s, 15m, 2h or 7d"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => anyhow::bail!("{s:?}: the unit must be ms, s, m, h or d"),
    };
    Ok(n.saturating_mul(unit_ms))
}

/// A duration before now, or an RFC 3339 time → Unix ms.
pub fn parse_time_ms(s: &str, now_ms: i64) -> Result<i64> {
    if let Some(ns) = palisade_detect::time::parse_rfc3339(s.trim()) {
        return Ok(ns / 1_000_000);
    }
    parse_duration_ms(s)
        .map(|d| now_ms - d)
        .with_context(|| format!("{s:?} is neither a duration nor an RFC 3339 time"))
}

fn now_ms() -> i64 {
    palisade_detect::time::now_ns() / 1_000_000
}

/// The snapshot's objects and network model (diagnostics printed); `true` on load errors.
fn load_snapshot(paths: &[PathBuf]) -> (Vec<Object>, Network, bool) {
    let mut objects = Vec::new();
    let mut errors = false;
    if !paths.is_empty() {
        let loaded = palisade_model::load_paths(paths, &LoadOptions::default());
        for d in &loaded.diagnostics {
            eprintln!("{d}");
            errors |= d.level == palisade_model::Level::Error;
        }
        objects = loaded.objects;
    }
    let net = Network::build(&objects, &BuildOptions::default());
    for d in &net.diagnostics {
        eprintln!("{d}");
    }
    (objects, net, errors)
}

/// Prints records as they come (text table rows or JSON lines).
struct Printer {
    out: Box<dyn Write>,
    format: RecordFormat,
    header: bool,
    error: Option<std::io::Error>,
}

fn end_label(e: &palisade_store::Endpoint) -> String {
    match (&e.namespace, &e.workload, e.kind) {
        (Some(ns), Some(w), _) => format!("{ns}/{w}"),
        (None, Some(w), _) => w.clone(),
        (_, _, EndpointKind::External) => match &e.dns_name {
            Some(n) => format!("{} ({n})", e.ip),
            None => e.ip.clone(),
        },
        _ => e.ip.clone(),
    }
}

impl Printer {
    fn header(&mut self) {
        if !self.header {
            self.header = true;
            self.line(format!(
                "{:<5} {:<32} {:<40} {:>6} {:>7} {:>6} {:>7}  {:<11} {:<9} {}",
                "PROTO",
                "SOURCE",
                "DESTINATION",
                "PKTS>",
                "BYTES>",
                "PKTS<",
                "BYTES<",
                "STATE",
                "SECURITY",
                "VERDICT"
            ));
        }
    }
    fn line(&mut self, s: String) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{s}") {
                self.error = Some(e);
            }
        }
    }
}

impl Sink for Printer {
    fn flow(&mut self, r: FlowRecord) {
        match self.format {
            RecordFormat::Json => {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                v["type"] = "flow".into();
                self.line(v.to_string());
            }
            RecordFormat::Text => {
                self.header();
                let verdict = match (r.verdict, r.computed_verdict) {
                    (Verdict::Unknown, Some(c)) => format!("{} (policy)", c.as_str()),
                    (v, _) => v.as_str().to_string(),
                };
                let sec = match (&r.http, r.security) {
                    (Some(h), _) => format!(
                        "http {} {}",
                        h.method,
                        h.status.map(|s| s.to_string()).unwrap_or_default()
                    ),
                    (None, s) => s.as_str().to_string(),
                };
                let line = format!(
                    "{:<5} {:<32} {:<40} {:>6} {:>7} {:>6} {:>7}  {:<11} {:<9} {}",
                    r.protocol,
                    format!("{}", end_label(&r.src)),
                    format!("{}:{}", end_label(&r.dst), r.dst.port),
                    r.packets_out,
                    r.bytes_out,
                    r.packets_in,
                    r.bytes_in,
                    r.tcp_state.map(|s| s.as_str()).unwrap_or("-"),
                    sec,
                    verdict
                );
                self.line(line.trim_end().to_string());
            }
        }
    }
    fn dns(&mut self, r: DnsRecord) {
        match self.format {
            RecordFormat::Json => {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                v["type"] = "dns".into();
                self.line(v.to_string());
            }
            RecordFormat::Text => {
                self.header();
                let answers: Vec<&str> = r.answers.iter().map(|a| a.data.as_str()).collect();
                let line = format!(
                    "dns   {:<32} {} {} {} {}",
                    end_label(&r.client),
                    r.qname,
                    r.qtype,
                    r.rcode.as_deref().unwrap_or("(no response)"),
                    answers.join(",")
                );
                self.line(line.trim_end().to_string());
            }
        }
    }
}

/// Where records go: the store's ingest queue, or printed (the sensor's and the importers').
struct Output {
    ingest: Option<Ingest>,
    printer: Option<Printer>,
}

impl Output {
    fn open(store: Option<&Path>, file: Option<&Path>, format: RecordFormat) -> Result<Output> {
        let ingest = match store {
            Some(p) => {
                let store = palisade_store::open(p, Default::default(), true)?;
                Some(Ingest::start(
                    store,
                    SuffixList::system(),
                    IngestOptions::default(),
                ))
            }
            None => None,
        };
        let printer = match (&ingest, file) {
            (Some(_), _) => None,
            (None, Some(p)) => Some(Box::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            )) as Box<dyn Write>),
            (None, None) => {
                Some(Box::new(std::io::BufWriter::new(std::io::stdout())) as Box<dyn Write>)
            }
        }
        .map(|out| Printer {
            out,
            format,
            header: false,
            error: None,
        });
        Ok(Output { ingest, printer })
    }

    /// Flushes the store (or the printer) and reports; `true` when something failed.
    fn finish(self) -> Result<bool> {
        let mut errors = false;
        if let Some(i) = self.ingest {
            i.flush();
            for e in i.take_errors() {
                eprintln!("palisade: error: {e}");
                errors = true;
            }
            let stats = i.stats.clone();
            if let Some(store) = i.finish() {
                let s: StoreStats = store.stats()?;
                eprintln!(
                    "palisade: stored {} records in {} batches; the store holds {} minute rows, {} hourly rows, {} detail rows, {} DNS rows ({} bytes)",
                    stats.ingested.load(std::sync::atomic::Ordering::Relaxed),
                    stats.batches.load(std::sync::atomic::Ordering::Relaxed),
                    s.minute_rows,
                    s.hour_rows,
                    s.detail_rows,
                    s.dns_rows,
                    s.bytes
                );
            }
        }
        if let Some(mut p) = self.printer {
            if let Err(e) = p.out.flush() {
                p.error.get_or_insert(e);
            }
            if let Some(e) = p.error {
                eprintln!("palisade: error: writing the records: {e}");
                errors = true;
            }
        }
        Ok(errors)
    }
}

impl Sink for Output {
    fn flow(&mut self, r: FlowRecord) {
        match (&mut self.printer, &self.ingest) {
            (Some(p), _) => p.flow(r),
            (None, Some(i)) => {
                i.submit_flow(r);
            }
            (None, None) => {}
        }
    }
    fn dns(&mut self, r: DnsRecord) {
        match (&mut self.printer, &self.ingest) {
            (Some(p), _) => p.dns(r),
            (None, Some(i)) => {
                i.submit_dns(r);
            }
            (None, None) => {}
        }
    }
}

fn report_counters(c: &Counters) {
    let skipped: Vec<String> = c.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
    eprintln!(
        "palisade: {} packets ({} bytes): {} flow records, {} DNS records{}{}{}",
        c.packets,
        c.bytes,
        c.flow_records,
        c.dns_records,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped {}", skipped.join(", "))
        },
        if c.evicted > 0 {
            format!("; {} flows flushed early (table full)", c.evicted)
        } else {
            String::new()
        },
        if c.dns_errors + c.dns_unanswered > 0 {
            format!(
                "; {} DNS payloads unreadable, {} queries unanswered",
                c.dns_errors, c.dns_unanswered
            )
        } else {
            String::new()
        }
    );
}

fn sensor(a: SensorArgs) -> Result<u8> {
    let (objects, net, snapshot_errors) = load_snapshot(&a.snapshot);
    let attribution = if a.snapshot.is_empty() {
        Attribution::empty()
    } else {
        Attribution::new(&objects, &net)
    };
    let cfg = Config {
        idle_timeout_ns: parse_duration_ms(&a.idle_timeout)? * 1_000_000,
        active_timeout_ns: parse_duration_ms(&a.active_timeout)? * 1_000_000,
        max_flows: a.max_flows,
        ..Config::default()
    };
    let mut table = FlowTable::new(cfg);
    let view = a.live_cluster.start()?;
    let mut output = Output::open(a.store.as_deref(), a.output_file.as_deref(), a.output)?;
    let mut attributing = Attributing::new(view.clone(), &attribution, &mut output);
    let sink: &mut dyn Sink = &mut attributing;
    let mut read_errors = false;
    if a.interface.is_empty() {
        for p in &a.read {
            let (_, err) = read_file(p, &mut table, sink);
            if let Some(e) = err {
                eprintln!("palisade: error: {e}");
                read_errors = true;
            }
        }
        table.finish(sink);
    } else {
        live(&a, &mut table, sink)?;
    }
    report_counters(&table.counters);
    watch_errors(view.as_ref());
    let store_errors = output.finish()?;
    Ok(if read_errors || snapshot_errors || store_errors {
        crate::EXIT_ERROR
    } else {
        crate::EXIT_CLEAN
    })
}

/// Records on their way to the output, attributed from the live cluster when one is watched
/// (`--cluster`), else from the snapshot: what `sensor` and `import` both feed.
enum Attributing<'s, 'a> {
    Snapshot(Attributed<'s, 'a>),
    Cluster(palisade_observe::watch::LiveAttributed<'s>),
}

impl<'s, 'a> Attributing<'s, 'a> {
    fn new(
        view: Option<palisade_observe::watch::ClusterView>,
        attribution: &'s Attribution<'a>,
        output: &'s mut dyn Sink,
    ) -> Attributing<'s, 'a> {
        match view {
            Some(v) => {
                Attributing::Cluster(palisade_observe::watch::LiveAttributed::new(v, output))
            }
            None => Attributing::Snapshot(Attributed {
                attribution,
                inner: output,
            }),
        }
    }
}

impl Sink for Attributing<'_, '_> {
    fn flow(&mut self, r: palisade_store::FlowRecord) {
        match self {
            Attributing::Snapshot(s) => s.flow(r),
            Attributing::Cluster(c) => c.flow(r),
        }
    }
    fn dns(&mut self, r: palisade_store::DnsRecord) {
        match self {
            Attributing::Snapshot(s) => s.dns(r),
            Attributing::Cluster(c) => c.dns(r),
        }
    }
}

fn import(a: ImportArgs) -> Result<u8> {
    use palisade_observe::import::{Format, Importer, Options};
    let (objects, net, snapshot_errors) = load_snapshot(&a.snapshot);
    let attribution = if a.snapshot.is_empty() {
        Attribution::empty()
    } else {
        Attribution::new(&objects, &net)
    };
    let now = now_ms();
    let default_time_ms = match &a.default_time {
        Some(t) => parse_time_ms(t, now).context("--default-time")?,
        None => now,
    };
    let view = a.live_cluster.start()?;
    let mut output = Output::open(a.store.as_deref(), a.output_file.as_deref(), a.output)?;
    let mut attributing = Attributing::new(view.clone(), &attribution, &mut output);
    let sink: &mut dyn Sink = &mut attributing;
    let format = match a.input_format {
        _ if a.hubble_server.is_some() => Format::Hubble,
        Some(ImportFormat::Hubble) => Format::Hubble,
        Some(ImportFormat::CalicoFlows) => Format::CalicoFlows,
        Some(ImportFormat::CalicoDns) => Format::CalicoDns,
        Some(ImportFormat::IgDns) => Format::IgDns,
        Some(ImportFormat::Coredns) => Format::Coredns,
        None => anyhow::bail!("--input-format is required with files"),
    };
    let mut imp = Importer::new(Options {
        default_time_ms,
        ..Options::new(format)
    });
    let mut read_errors = false;
    let mut report = |e: String| eprintln!("palisade: error: {e}");
    if let Some(addr) = &a.hubble_server {
        let req = palisade_observe::import::grpc::Request {
            addr: addr.clone(),
            follow: a.follow,
            last: a.last,
        };
        match palisade_observe::import::grpc::import(&req, &mut imp, sink, &mut report) {
            Ok(st) => {
                if st.lost_events > 0 {
                    eprintln!(
                        "palisade: warning: the Hubble server reported {} flows lost before they reached it",
                        st.lost_events
                    );
                }
            }
            Err(e) => {
                eprintln!("palisade: error: {e}");
                read_errors = true;
            }
        }
    }
    for p in &a.files {
        let name = p.display().to_string();
        let fatal = if name == "-" {
            imp.read(std::io::stdin().lock(), "<stdin>", sink, &mut report)
        } else {
            match std::fs::File::open(p) {
                Ok(f) => imp.read(f, &name, sink, &mut report),
                Err(e) => Some(format!("{name}: {e}")),
            }
        };
        if let Some(e) = fatal {
            eprintln!("palisade: error: {e}");
            read_errors = true;
        }
    }
    imp.finish(sink);
    watch_errors(view.as_ref());
    let st = &imp.stats;
    let skipped: Vec<String> = st.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
    eprintln!(
        "palisade: {} lines: {} flow records, {} DNS records, {} lines not readable{}{}",
        st.lines,
        st.flow_records,
        st.dns_records,
        st.errors,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped {}", skipped.join(", "))
        },
        if st.dns_unanswered > 0 {
            format!("; {} DNS queries unanswered", st.dns_unanswered)
        } else {
            String::new()
        }
    );
    let bad_lines = st.errors > 0;
    let store_errors = output.finish()?;
    Ok(
        if read_errors || bad_lines || snapshot_errors || store_errors {
            crate::EXIT_ERROR
        } else {
            crate::EXIT_CLEAN
        },
    )
}

fn live(a: &SensorArgs, table: &mut FlowTable, sink: &mut dyn Sink) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(d) = &a.duration {
        let ms = parse_duration_ms(d)?;
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms.max(0) as u64));
            stop.store(true, Ordering::Relaxed);
        });
    }
    let opts = palisade_observe::live::LiveOptions {
        interfaces: a.interface.clone(),
        filter: a.filter.clone(),
        ..Default::default()
    };
    let rep = palisade_observe::live::capture(&opts, table, sink, stop, &mut |name| {
        eprintln!("palisade: capturing on {name}")
    })
    .map_err(anyhow::Error::msg)?;
    for (name, received, dropped, if_dropped) in &rep.interfaces {
        eprintln!("palisade: {name}: {received} packets received, {dropped} dropped by the kernel, {if_dropped} by the interface");
    }
    if rep.queue_full > 0 {
        eprintln!(
            "palisade: warning: {} packets dropped: the sensor could not keep up",
            rep.queue_full
        );
    }
    Ok(())
}

fn filter_of(a: &QueryArgs, now: i64) -> Result<Filter> {
    let since = match &a.since {
        Some(s) => parse_time_ms(s, now).context("--since")?,
        None => 0,
    };
    let until = match &a.until {
        Some(s) => parse_time_ms(s, now).context("--until")?,
        None => now + 1,
    };
    let labels = a
        .label
        .iter()
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--label {l:?}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Filter {
        since,
        until,
        namespace: a.namespace.clone(),
        workload: a.workload.clone(),
        labels,
        port: a.port,
        protocol: a.protocol.clone(),
        verdict: a.verdict.map(|v| match v {
            VerdictArg::Allowed => Verdict::Allowed,
            VerdictArg::Denied => Verdict::Denied,
            VerdictArg::Unknown => Verdict::Unknown,
        }),
        scope: if a.external {
            Some(Scope::External)
        } else if a.internal {
            Some(Scope::Internal)
        } else {
            None
        },
        security: if a.tls {
            Some(Security::Tls)
        } else if a.plaintext {
            Some(Security::Plaintext)
        } else {
            None
        },
        limit: a.limit,
        resolution: None,
    })
}

fn open_store(p: &Path) -> Result<Box<dyn Store>> {
    Ok(palisade_store::open(p, Default::default(), false)?)
}

fn time(ms: i64) -> String {
    let s = palisade_detect::time::iso8601(ms * 1_000_000);
    // Millisecond precision: 2026-12-01T10:00:00.123Z
    format!("{}Z", &s[..23])
}

/// A result as rows of cells (the first row the header), for text and CSV.
fn table_text(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    s
}

fn table_csv(rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// One query's answer: the records as JSON, and the same records as table rows under `header`
/// (for text and CSV).
fn tabulate<T: serde::Serialize>(
    records: &[T],
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(serde_json::Value, Vec<Vec<String>>)> {
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.extend(records.iter().map(row));
    Ok((serde_json::to_value(records)?, rows))
}

fn query(a: QueryArgs) -> Result<u8> {
    let store = open_store(&a.store)?;
    let now = now_ms();
    let f = filter_of(&a, now)?;
    let (json, rows): (serde_json::Value, Vec<Vec<String>>) = match a.what {
        QueryKind::Flows => {
            let r = store.flows(&f)?;
            tabulate(
                &r,
                &[
                    "SOURCE",
                    "DESTINATION",
                    "PORT",
                    "PROTO",
                    "VERDICT",
                    "FLOWS",
                    "BYTES_OUT",
                    "BYTES_IN",
                    "TLS",
                    "PLAINTEXT",
                    "FIRST",
                    "LAST",
                ],
                |e| {
                    let dst = if e.dst_name.is_empty() {
                        e.dst.label()
                    } else {
                        format!("{} ({})", e.dst.label(), e.dst_name)
                    };
                    vec![
                        e.src.label(),
                        dst,
                        e.port.to_string(),
                        e.protocol.clone(),
                        e.verdict.clone(),
                        e.counts.flows.to_string(),
                        e.counts.bytes_out.to_string(),
                        e.counts.bytes_in.to_string(),
                        e.counts.tls_flows.to_string(),
                        e.counts.plaintext_flows.to_string(),
                        time(e.counts.first_seen),
                        time(e.counts.last_seen),
                    ]
                },
            )?
        }
        QueryKind::NewEdges => {
            let t = parse_time_ms(a.new_since.as_deref().unwrap_or("0s"), now)
                .context("--new-since")?;
            let r = store.new_edges(&f, t)?;
            tabulate(
                &r,
                &[
                    "SOURCE",
                    "DESTINATION",
                    "PORT",
                    "PROTO",
                    "VERDICT",
                    "FLOWS",
                    "FIRST",
                ],
                |e| {
                    vec![
                        e.src.label(),
                        e.dst.label(),
                        e.port.to_string(),
                        e.protocol.clone(),
                        e.verdict.clone(),
                        e.counts.flows.to_string(),
                        time(e.counts.first_seen),
                    ]
                },
            )?
        }
        QueryKind::Top => {
            let r = store.top_talkers(&f)?;
            tabulate(&r, &["SOURCE", "BYTES_OUT", "BYTES_IN", "FLOWS"], |t| {
                vec![
                    t.end.label(),
                    t.bytes_out.to_string(),
                    t.bytes_in.to_string(),
                    t.flows.to_string(),
                ]
            })?
        }
        QueryKind::Graph => {
            let r = store.graph(&f)?;
            tabulate(
                &r,
                &["SOURCE", "DESTINATION", "BYTES", "FLOWS", "DENIED"],
                |e| {
                    vec![
                        e.src.label(),
                        e.dst.label(),
                        e.bytes.to_string(),
                        e.flows.to_string(),
                        e.denied.to_string(),
                    ]
                },
            )?
        }
        QueryKind::Dns => {
            let r = store.dns_by_workload(&f)?;
            tabulate(
                &r,
                &[
                    "CLIENT", "NAME", "TYPE", "RCODE", "QUERIES", "ANSWERS", "LAST",
                ],
                |d| {
                    vec![
                        d.client.label(),
                        d.qname.clone(),
                        d.qtype.clone(),
                        if d.rcode.is_empty() {
                            "(no response)".into()
                        } else {
                            d.rcode.clone()
                        },
                        d.counts.queries.to_string(),
                        d.counts.answers.clone(),
                        time(d.counts.last_seen),
                    ]
                },
            )?
        }
        QueryKind::Domains => {
            let r = store.dns_by_domain(&f)?;
            tabulate(&r, &["DOMAIN", "QUERIES", "CLIENTS", "NAMES"], |d| {
                vec![
                    d.domain.clone(),
                    d.queries.to_string(),
                    d.clients.to_string(),
                    d.names.to_string(),
                ]
            })?
        }
        QueryKind::Denied => {
            let r = store.denied_by_policy(&f)?;
            tabulate(&r, &["POLICY", "FLOWS", "EDGES", "FIRST", "LAST"], |p| {
                vec![
                    p.policy.clone(),
                    p.flows.to_string(),
                    p.edges.to_string(),
                    time(p.first_seen),
                    time(p.last_seen),
                ]
            })?
        }
        QueryKind::Details => {
            let r = store.details(&f)?;
            tabulate(
                &r,
                &[
                    "START",
                    "SOURCE",
                    "DESTINATION",
                    "PROTO",
                    "FLOWS",
                    "VERDICT",
                    "SECURITY",
                    "POLICY",
                    "NEAREST_MISS",
                ],
                |d| {
                    vec![
                        time(d.start),
                        // Stored detail rows drop the (ephemeral) source port: 0.
                        match d.src.port {
                            0 => format!("{} {}", end_label(&d.src), d.src.ip),
                            p => format!("{} {}:{p}", end_label(&d.src), d.src.ip),
                        },
                        format!("{} {}:{}", end_label(&d.dst), d.dst.ip, d.dst.port),
                        d.protocol.clone(),
                        d.connections().to_string(),
                        d.effective_verdict().as_str().to_string(),
                        d.security.as_str().to_string(),
                        d.policy
                            .clone()
                            .or(d.computed_policy.clone())
                            .unwrap_or_default(),
                        d.nearest_miss.clone().unwrap_or_default(),
                    ]
                },
            )?
        }
    };
    let text = match a.output {
        TableFormat::Json => serde_json::to_string_pretty(&json)? + "\n",
        TableFormat::Csv => table_csv(&rows),
        TableFormat::Text => {
            if rows.len() <= 1 {
                eprintln!("palisade: nothing in the store matches");
            }
            table_text(&rows)
        }
    };
    crate::write_output(&text, a.output_file.as_deref())?;
    Ok(crate::EXIT_CLEAN)
}

/// The stored flows of a time range as a netpol flow log, for `netpol recommend/impact
/// --from-store` (the conversion is the console's, `palisade_console::api::flow_log`: edges
/// between workloads from the aggregates, external peers with their addresses from the detail
/// records).
pub fn flow_log_from_store(
    path: &Path,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<palisade_netpol::flows::FlowLog> {
    let store = open_store(path)?;
    let now = now_ms();
    let f = Filter {
        since: match since {
            Some(s) => parse_time_ms(s, now).context("--since")?,
            None => 0,
        },
        until: match until {
            Some(s) => parse_time_ms(s, now).context("--until")?,
            None => now + 1,
        },
        ..Filter::default()
    };
    Ok(palisade_console::api::flow_log(&*store, &f)?)
}
