//! `palisade threat`: feeds, matching (live records and stored history), DNS analytics,
//! baselines, canaries and blocking policy. Wiring only: the logic is palisade-threat's, and
//! alerts go out through `detect`'s outputs (Falco JSON shape, HTTP, rate limit).

use crate::detect::{hostname, OutputArgs, Outputs};
use crate::{write_output, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{Diagnostic, Level};
use palisade_store::psl::SuffixList;
use palisade_store::{Filter, Scope};
use palisade_threat::baseline::{BaselineConfig, Baselines};
use palisade_threat::canary::{self, CanaryOptions, CanarySet};
use palisade_threat::config::{self, FeedSpec, Source};
use palisade_threat::dga::{scored_label, Model};
use palisade_threat::dns::{DnsAnalytics, DnsConfig};
use palisade_threat::feeds::{self, Ioc};
use palisade_threat::fetch::{self, Outcome};
use palisade_threat::index::Index;
use palisade_threat::matcher::{self, Matcher};
use palisade_threat::records::{self, Record};
use palisade_threat::response::{self, Flavor};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ThreatArgs {
    #[command(subcommand)]
    command: ThreatCommand,
}

#[derive(Subcommand, Debug)]
enum ThreatCommand {
    /// Load the feeds (configuration file and GlobalThreatFeed resources), fetch the ones due,
    /// and show what each holds and what could not be read.
    Feeds(FeedsArgs),
    /// Match flow and DNS records (JSON lines from `observe sensor -o json`) against the
    /// feeds, canaries, DNS analytics and baselines, as they arrive.
    Match(MatchArgs),
    /// Search stored history for feed indicators ("who talked to this address in 7 days").
    Hunt(HuntArgs),
    /// Keep the feeds fresh and, whenever one brings indicators not searched for yet, search
    /// the stored history for them (the cache directory remembers what was searched).
    Watch(WatchArgs),
    /// Score names for machine-generated (DGA) labels, with the features that decided.
    Dga(DgaArgs),
    /// Generate decoy Secrets, a ServiceAccount token, a ConfigMap and a decoy Service/Pod,
    /// with the Falco rules that report any read of them.
    Canary(CanaryArgs),
    /// Generate policy that blocks a feed's (or chosen indicators') networks: ANP, Calico or
    /// Cilium.
    Block(BlockArgs),
}

#[derive(Args, Debug)]
struct FeedSource {
    /// Feed configuration file (YAML with a `feeds:` list).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Manifests: GlobalThreatFeed resources (projectcalico.org/v3) in them are feeds too.
    #[arg(long, value_name = "PATH")]
    manifests: Vec<PathBuf>,
    /// Where fetched feeds are kept (the last good copy, ETag, failures).
    #[arg(long, value_name = "DIR", default_value = ".palisade/threat-cache")]
    cache: PathBuf,
    /// Fetch even when the feed's period has not passed.
    #[arg(long)]
    refresh: bool,
    /// Extra CA certificates (PEM) trusted for HTTPS feeds.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Public suffix list [default: Debian's, /usr/share/publicsuffix].
    #[arg(long, value_name = "FILE")]
    psl: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct FeedsArgs {
    #[command(flatten)]
    src: FeedSource,
    /// Also list every indicator.
    #[arg(long)]
    list: bool,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: TextOrJson,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct MatchArgs {
    /// Record files (JSON lines; `-` is standard input).
    #[arg(value_name = "RECORDS", required = true)]
    records: Vec<PathBuf>,
    #[command(flatten)]
    src: FeedSource,
    /// Canary manifests (from `threat canary`): flows to their Service or Pod are alerts.
    #[arg(long, value_name = "FILE")]
    canary: Vec<PathBuf>,
    /// Do not run the DNS detectors (DGA, tunnelling, NXDOMAIN bursts).
    #[arg(long)]
    no_dns_analytics: bool,
    /// Run the behaviour baselines with this learning period (e.g. 14d).
    #[arg(long, value_name = "DURATION")]
    baseline: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit 1 when any alert was raised.
    #[arg(long)]
    fail_on_alert: bool,
}

#[derive(Args, Debug)]
struct HuntArgs {
    #[command(flatten)]
    src: FeedSource,
    /// The flow store (`observe sensor --store`: a SQLite file or a clickhouse:// URL).
    #[arg(long, value_name = "PATH|URL", required = true)]
    store: PathBuf,
    /// Start of the range: a duration before now or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|TIME", default_value = "7d")]
    since: String,
    /// End of the range [default: now].
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit 1 when any alert was raised.
    #[arg(long)]
    fail_on_alert: bool,
}

#[derive(Args, Debug)]
struct WatchArgs {
    #[command(flatten)]
    src: FeedSource,
    /// The flow store (a SQLite file or a clickhouse:// URL).
    #[arg(long, value_name = "PATH|URL", required = true)]
    store: PathBuf,
    /// How far back a new indicator is searched for.
    #[arg(long, value_name = "DURATION|TIME", default_value = "7d")]
    since: String,
    /// Time between two looks at the feeds (each feed is fetched no more often than its
    /// period).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    interval: String,
    /// Look once and exit (for cron and tests).
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit 1 when any alert was raised.
    #[arg(long)]
    fail_on_alert: bool,
}

#[derive(Args, Debug)]
struct DgaArgs {
    /// Names to score.
    #[arg(value_name = "NAME", required = true)]
    names: Vec<String>,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: TextOrJson,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CanaryArgs {
    /// Namespace of the decoys.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Varies the fake credential values (the same seed gives the same files).
    #[arg(long, default_value = "palisade")]
    seed: String,
    /// Write the manifests to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Write the Falco rule file here [default: next to --output-file as
    /// <name>-rules.yaml, or after the manifests on standard output].
    #[arg(long, value_name = "FILE")]
    rules_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Kind {
    Anp,
    Calico,
    Cilium,
}

#[derive(Args, Debug)]
struct BlockArgs {
    #[command(flatten)]
    src: FeedSource,
    /// Block this feed's networks (repeatable) [default: every feed].
    #[arg(long, value_name = "NAME")]
    feed: Vec<String>,
    /// Block these indicators only (a hit's address or network; repeatable).
    #[arg(long, value_name = "IP|CIDR")]
    indicator: Vec<String>,
    /// Which resources to write.
    #[arg(long, value_enum, default_value = "anp")]
    kind: Kind,
    /// ANP priority / Calico order.
    #[arg(long, default_value_t = 10)]
    priority: u32,
    /// Write the policy to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Show first (on standard error) what the block would deny among the stored flows, as
    /// `netpol impact` computes it: the cluster's manifests (files or directories).
    #[arg(long, value_name = "PATH", requires = "store")]
    impact: Vec<PathBuf>,
    /// The flow store for --impact (a SQLite file or a clickhouse:// URL).
    #[arg(long, value_name = "PATH|URL")]
    store: Option<PathBuf>,
    /// With --impact: start of the stored range (a duration before now or RFC 3339).
    #[arg(long, value_name = "DURATION|TIME", default_value = "7d")]
    since: String,
}

pub fn run(args: ThreatArgs) -> Result<u8> {
    match args.command {
        ThreatCommand::Feeds(a) => feeds_cmd(a),
        ThreatCommand::Match(a) => match_cmd(a),
        ThreatCommand::Hunt(a) => hunt_cmd(a),
        ThreatCommand::Watch(a) => watch_cmd(a),
        ThreatCommand::Dga(a) => dga_cmd(a),
        ThreatCommand::Canary(a) => canary_cmd(a),
        ThreatCommand::Block(a) => block_cmd(a),
    }
}

fn now_ms() -> i64 {
    palisade_detect::time::now_ns() / 1_000_000
}

fn psl(p: &Option<PathBuf>) -> Result<SuffixList> {
    match p {
        Some(p) => SuffixList::load(p).with_context(|| format!("cannot read {}", p.display())),
        None => Ok(SuffixList::system()),
    }
}

fn print_diags(d: &[Diagnostic]) -> bool {
    let mut err = false;
    for x in d {
        eprintln!("{x}");
        err |= x.level == Level::Error;
    }
    err
}

/// One feed's load result.
#[derive(serde::Serialize)]
struct FeedStatus {
    name: String,
    source: String,
    origin: String,
    outcome: Outcome,
    indicators: usize,
    errors: usize,
    skipped: Vec<(String, u64)>,
    fetch_failures: u64,
    parse_failures: u64,
    last_error: Option<String>,
}

/// Loads every configured feed into an index. Returns the index, per-feed status, the specs
/// and whether any input error occurred.
fn load_feeds(src: &FeedSource) -> Result<(Index, Vec<FeedStatus>, Vec<FeedSpec>, bool)> {
    let mut specs = Vec::new();
    let mut errors = false;
    if let Some(c) = &src.config {
        let text =
            std::fs::read_to_string(c).with_context(|| format!("cannot read {}", c.display()))?;
        let (s, d) = config::parse_config(&text, c);
        errors |= print_diags(&d);
        specs.extend(s);
    }
    if !src.manifests.is_empty() {
        let loaded = crate::load_inputs(&src.manifests, None, 64);
        errors |= print_diags(&loaded.diagnostics);
        for o in loaded
            .objects
            .iter()
            .filter(|o| o.kind == "GlobalThreatFeed" && o.group() == "projectcalico.org")
        {
            match config::from_global_threat_feed(o, &loaded.objects) {
                Ok(Some(s)) => specs.push(s),
                Ok(None) => eprintln!(
                    "{}:{}: note: GlobalThreatFeed {} is disabled or has no pull: not loaded",
                    o.source.display(),
                    o.line,
                    o.name
                ),
                Err(d) => errors |= print_diags(&[d]),
            }
        }
    }
    if specs.is_empty() && src.config.is_none() && src.manifests.is_empty() {
        anyhow::bail!("no feeds: give --config FILE and/or --manifests with GlobalThreatFeeds");
    }
    let tls = fetch::tls_config(src.ca_file.as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let mut index = Index::new(psl(&src.psl)?);
    let mut statuses = Vec::new();
    let now = now_ms();
    for s in &specs {
        let where_ = match &s.source {
            Source::File(p) => p.display().to_string(),
            Source::Url(u) => u.clone(),
        };
        let good = |t: &str| {
            let p = feeds::parse(t, &s.format, s.content, &where_);
            !p.iocs.is_empty() || p.errors() == 0
        };
        let f = fetch::fetch_feed(s, &src.cache, &tls, now, src.refresh, &good);
        if let Some(e) = &f.error {
            eprintln!("{}: warning: feed {}: {e}", s.origin, s.name);
            if f.text.is_none() {
                errors = true;
            }
        }
        let fid = index.add_feed(&s.name, &where_);
        let mut st = FeedStatus {
            name: s.name.clone(),
            source: where_.clone(),
            origin: s.origin.clone(),
            outcome: f.outcome,
            indicators: 0,
            errors: 0,
            skipped: Vec::new(),
            fetch_failures: f.meta.fetch_failures,
            parse_failures: f.meta.parse_failures,
            last_error: f.meta.last_error.clone().or(f.error.clone()),
        };
        if let Some(text) = f.text {
            let p = feeds::parse(&text, &s.format, s.content, &where_);
            print_diags(&p.diagnostics);
            st.errors = p.errors();
            errors |= st.errors > 0;
            st.skipped = p.skipped.clone();
            for i in &p.iocs {
                st.indicators += index.insert(i, fid) as usize;
            }
        }
        statuses.push(st);
    }
    for (d, feed) in &index.refused {
        eprintln!("warning: feed {feed}: {d} is a public suffix: matching it would match every name under it; not indexed");
    }
    Ok((index, statuses, specs, errors))
}

fn feeds_cmd(a: FeedsArgs) -> Result<u8> {
    let (index, st, _, errors) = load_feeds(&a.src)?;
    let text = match a.output {
        TextOrJson::Json => {
            let mut v = serde_json::json!({ "feeds": st, "indicators": index.len() });
            if a.list {
                v["list"] = index
                    .indicators()
                    .into_iter()
                    .map(|(i, f)| serde_json::json!({"indicator": i.to_string(), "kind": i.kind(), "feeds": f}))
                    .collect();
            }
            serde_json::to_string_pretty(&v)? + "\n"
        }
        TextOrJson::Text => {
            let mut s = format!(
                "{:<20} {:>10} {:>7} {:<12} source\n",
                "FEED", "INDICATORS", "ERRORS", "STATUS"
            );
            for f in &st {
                let outcome = serde_json::to_value(&f.outcome)?
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                s.push_str(&format!(
                    "{:<20} {:>10} {:>7} {:<12} {}\n",
                    f.name, f.indicators, f.errors, outcome, f.source
                ));
                for (why, n) in &f.skipped {
                    s.push_str(&format!("    skipped {n}: {why}\n"));
                }
                if f.fetch_failures + f.parse_failures > 0 {
                    s.push_str(&format!(
                        "    {} failed fetch(es), {} failed parse(s); last error: {}\n",
                        f.fetch_failures,
                        f.parse_failures,
                        f.last_error.as_deref().unwrap_or("-")
                    ));
                }
            }
            s.push_str(&format!(
                "{} indicator(s) indexed ({} bytes)\n",
                index.len(),
                index.mem_size()
            ));
            if a.list {
                for (i, f) in index.indicators() {
                    s.push_str(&format!(
                        "{:<40} {:<6} {}\n",
                        i.to_string(),
                        i.kind(),
                        f.join(",")
                    ));
                }
            }
            s
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

fn match_cmd(a: MatchArgs) -> Result<u8> {
    let have_feeds = a.src.config.is_some() || !a.src.manifests.is_empty();
    let (index, _, _, mut errors) = if have_feeds {
        load_feeds(&a.src)?
    } else {
        (
            Index::new(SuffixList::default()),
            Vec::new(),
            Vec::new(),
            false,
        )
    };
    let mut canaries = CanarySet::default();
    if !a.canary.is_empty() {
        let l = crate::load_inputs(&a.canary, None, 64);
        errors |= print_diags(&l.diagnostics);
        canaries = CanarySet::from_objects(&l.objects);
    }
    let host = hostname(&a.out.hostname);
    // Standard input is a live stream: every alert is written as soon as it is raised.
    let live = a.records.iter().any(|p| p.as_os_str() == "-");
    let outputs = Outputs::new(&a.out, !live)?;
    let psl = psl(&a.src.psl)?;
    let mut dns = (!a.no_dns_analytics)
        .then(|| DnsAnalytics::new(Model::builtin(), psl.clone(), DnsConfig::default()));
    let mut base = match &a.baseline {
        Some(d) => Some(Baselines::new(
            BaselineConfig {
                learning_ms: crate::observe::parse_duration_ms(d).context("--baseline")?,
                ..BaselineConfig::default()
            },
            psl.clone(),
        )),
        None => None,
    };
    let mut m = Matcher::new(&index);
    let mut alerts = 0u64;
    let mut records = 0u64;
    let mut emit = |al: palisade_detect::Alert| {
        alerts += 1;
        outputs.emit(al);
    };
    // Records are matched one at a time as they are read (the detectors' windows assume the
    // time order a sensor writes them in).
    for p in &a.records {
        use std::io::BufRead as _;
        let (name, reader): (String, Box<dyn std::io::BufRead>) = if p.as_os_str() == "-" {
            ("<stdin>".into(), Box::new(std::io::stdin().lock()))
        } else {
            match std::fs::File::open(p) {
                Ok(f) => (
                    p.display().to_string(),
                    Box::new(std::io::BufReader::new(f)),
                ),
                Err(e) => {
                    eprintln!("{}: error: cannot read: {e}", p.display());
                    errors = true;
                    continue;
                }
            }
        };
        for (i, line) in reader.lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{name}:{}: error: {e}", i + 1);
                    errors = true;
                    break;
                }
            };
            let r = match records::parse_line(&line, &name, i + 1) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(d) => {
                    eprintln!("{d}");
                    errors = true;
                    continue;
                }
            };
            records += 1;
            match &r {
                Record::Flow(f) => {
                    if m.flow(f) > 0 {
                        for h in newest(&m, f.start) {
                            emit(matcher::alert(&h, &host));
                        }
                    }
                    if let Some(t) = canaries.flow_target(f) {
                        emit(canary::flow_alert(f, &t, &host));
                    }
                    if let Some(b) = &mut base {
                        for an in b.flow(f) {
                            emit(palisade_threat::baseline::alert(&an, &host));
                        }
                    }
                }
                Record::Dns(d) => {
                    if m.dns(d) > 0 {
                        for h in newest(&m, d.time) {
                            emit(matcher::alert(&h, &host));
                        }
                    }
                    if let Some(x) = &mut dns {
                        for det in x.observe(d) {
                            emit(palisade_threat::dns::alert(&det, &host));
                        }
                    }
                    if let Some(b) = &mut base {
                        for an in b.dns(d) {
                            emit(palisade_threat::baseline::alert(&an, &host));
                        }
                    }
                }
            }
        }
    }
    let notes = outputs.finish();
    if !notes.is_empty() {
        eprintln!("{notes}");
    }
    let suppressed =
        dns.as_ref().map_or(0, |d| d.suppressed) + base.as_ref().map_or(0, |b| b.suppressed);
    eprintln!(
        "{} record(s), {alerts} alert(s){}",
        records,
        if suppressed > 0 {
            format!(", {suppressed} repeat(s) held back by the detectors' re-alert interval")
        } else {
            String::new()
        }
    );
    Ok(if errors {
        EXIT_ERROR
    } else if a.fail_on_alert && alerts > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

/// Hit groups first seen by the record just matched (live mode alerts on a group's first
/// sighting; later sightings only extend it).
fn newest(m: &Matcher<'_>, t: i64) -> Vec<matcher::Hit> {
    m.hits()
        .into_iter()
        .rev()
        .take_while(|h| h.count == 1 && h.first_seen == t)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn range(since: &str, until: Option<&str>) -> Result<Filter> {
    let now = now_ms();
    Ok(Filter {
        since: crate::observe::parse_time_ms(since, now).context("--since")?,
        until: match until {
            Some(u) => crate::observe::parse_time_ms(u, now).context("--until")?,
            None => now + 1,
        },
        ..Filter::default()
    })
}

/// Matches the stored history of `f` against `index`; emits one alert per hit group.
fn hunt_store(
    index: &Index,
    store: &dyn palisade_store::Store,
    f: &Filter,
    outputs: &Outputs,
    host: &str,
) -> Result<usize> {
    let mut m = Matcher::new(index);
    let details = store.details(&Filter {
        scope: Some(Scope::External),
        ..f.clone()
    })?;
    for r in &details {
        m.flow(r);
    }
    let dns = store.dns_by_workload(f)?;
    for r in &dns {
        m.dns_row(r);
    }
    let hits = m.hits();
    for h in &hits {
        outputs.emit(matcher::alert(h, host));
    }
    eprintln!(
        "searched {} flow record(s) and {} DNS row(s) for {} indicator(s): {} hit group(s)",
        details.len(),
        dns.len(),
        index.len(),
        hits.len()
    );
    Ok(hits.len())
}

fn hunt_cmd(a: HuntArgs) -> Result<u8> {
    let (index, _, _, errors) = load_feeds(&a.src)?;
    let store = palisade_store::open(&a.store, Default::default(), false)?;
    let f = range(&a.since, a.until.as_deref())?;
    let host = hostname(&a.out.hostname);
    let outputs = Outputs::new(&a.out, true)?;
    let hits = hunt_store(&index, store.as_ref(), &f, &outputs, &host)?;
    let notes = outputs.finish();
    if !notes.is_empty() {
        eprintln!("{notes}");
    }
    Ok(if errors {
        EXIT_ERROR
    } else if a.fail_on_alert && hits > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

/// The indicators already searched for, kept in the cache directory.
const HUNTED: &str = "hunted-indicators.txt";

fn watch_cmd(a: WatchArgs) -> Result<u8> {
    let interval = crate::observe::parse_duration_ms(&a.interval).context("--interval")?;
    let state = a.src.cache.join(HUNTED);
    let mut known: std::collections::HashSet<String> = std::fs::read_to_string(&state)
        .map(|t| t.lines().map(String::from).collect())
        .unwrap_or_default();
    let host = hostname(&a.out.hostname);
    let outputs = Outputs::new(&a.out, false)?;
    let store = palisade_store::open(&a.store, Default::default(), false)?;
    let mut any_errors = false;
    let mut total = 0usize;
    loop {
        let (index, _, _, errors) = load_feeds(&a.src)?;
        any_errors |= errors;
        // An index of the indicators not searched for yet (all of them the first time).
        let mut fresh = Index::new(psl(&a.src.psl)?);
        let mut added = Vec::new();
        for (ioc, feeds) in index.indicators() {
            let key = ioc.to_string();
            if known.contains(&key) {
                continue;
            }
            for feed in feeds {
                let id = fresh.add_feed(feed, "");
                fresh.insert(&ioc, id);
            }
            added.push(key);
        }
        if !added.is_empty() {
            let f = range(&a.since, None)?;
            total += hunt_store(&fresh, store.as_ref(), &f, &outputs, &host)?;
            known.extend(added.iter().cloned());
            let mut text: Vec<&String> = known.iter().collect();
            text.sort();
            let body: String = text.iter().map(|s| format!("{s}\n")).collect();
            std::fs::create_dir_all(&a.src.cache).ok();
            std::fs::write(&state, body)
                .with_context(|| format!("cannot write {}", state.display()))?;
        } else {
            eprintln!("no new indicator: nothing to search");
        }
        if a.once {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(interval.max(1000) as u64));
    }
    let notes = outputs.finish();
    if !notes.is_empty() {
        eprintln!("{notes}");
    }
    Ok(if any_errors {
        EXIT_ERROR
    } else if a.fail_on_alert && total > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn dga_cmd(a: DgaArgs) -> Result<u8> {
    let m = Model::builtin();
    let psl = SuffixList::system();
    let mut rows = Vec::new();
    for n in &a.names {
        let label = scored_label(n, &psl);
        let (score, f) = match &label {
            Some(l) => (Some(m.score_label(l)), Some(m.features(l))),
            None => (None, None),
        };
        rows.push(serde_json::json!({
            "name": n, "label": label, "score": score,
            "dga": score.map(|s| s >= m.threshold),
            "threshold": m.threshold,
            "features": f.map(|f| serde_json::json!({
                "length": (f[0] * 20.0).round(), "entropy": f[1] * 4.0, "digits": f[2],
                "consonants": f[3], "longest_consonant_run": (f[4] * 10.0).round(),
                "mean_trigram_logprob": -f[5] * 10.0, "unseen_trigrams": f[6],
                "min_trigram_logprob": -f[7] * 10.0, "unlikely_trigrams": f[8], "vowels": f[9],
            })),
        }));
    }
    let text = match a.output {
        TextOrJson::Json => serde_json::to_string_pretty(&rows)? + "\n",
        TextOrJson::Text => {
            let mut s = format!("{:<40} {:<20} {:>6}  verdict\n", "NAME", "LABEL", "SCORE");
            for r in &rows {
                let verdict = match r["dga"].as_bool() {
                    Some(true) => "dga",
                    Some(false) => "benign",
                    None => "not scored",
                };
                s.push_str(&format!(
                    "{:<40} {:<20} {:>6}  {verdict}\n",
                    r["name"].as_str().unwrap_or(""),
                    r["label"].as_str().unwrap_or("-"),
                    r["score"]
                        .as_f64()
                        .map(|x| format!("{x:.3}"))
                        .unwrap_or("-".into()),
                ));
            }
            s.push_str(&format!("threshold {:.3}\n", m.threshold));
            s
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    Ok(EXIT_CLEAN)
}

fn canary_cmd(a: CanaryArgs) -> Result<u8> {
    let c = canary::generate(&CanaryOptions {
        namespace: a.namespace.clone(),
        seed: a.seed.clone(),
    });
    let rules_path = a.rules_file.clone().or_else(|| {
        a.output_file.as_ref().map(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("canary");
            p.with_file_name(format!("{stem}-rules.yaml"))
        })
    });
    match rules_path {
        Some(rp) => {
            write_output(&c.manifests, a.output_file.as_deref())?;
            write_output(&c.rules, Some(&rp))?;
            eprintln!("canary rules written to {}", rp.display());
        }
        None => {
            let mut all = c.manifests.clone();
            all.push_str(
                "---\n# The Falco rule file (save separately for palisade detect --rules):\n",
            );
            all.push_str(
                &c.rules
                    .lines()
                    .map(|l| format!("# {l}\n"))
                    .collect::<String>(),
            );
            write_output(&all, None)?;
        }
    }
    Ok(EXIT_CLEAN)
}

fn block_cmd(a: BlockArgs) -> Result<u8> {
    let (index, _, specs, errors) = load_feeds(&a.src)?;
    for f in &a.feed {
        if !specs.iter().any(|s| &s.name == f) {
            anyhow::bail!("no feed named {f:?}");
        }
    }
    let mut iocs: Vec<Ioc> = Vec::new();
    let mut chosen = Vec::new();
    for s in &a.indicator {
        let i = feeds::classify(s).map_err(|e| anyhow::anyhow!("--indicator {s}: {e}"))?;
        chosen.push(i);
    }
    for (i, fs) in index.indicators() {
        let feed_ok = a.feed.is_empty() || fs.iter().any(|f| a.feed.iter().any(|x| x == f));
        let ind_ok = chosen.is_empty() || chosen.contains(&i);
        if feed_ok && ind_ok {
            iocs.push(i);
        }
    }
    for c in &chosen {
        if !iocs.contains(c) {
            eprintln!("warning: {c} is in no loaded feed; blocked as given");
            iocs.push(c.clone());
        }
    }
    let name = if !a.feed.is_empty() {
        a.feed.join("-")
    } else if !a.indicator.is_empty() {
        "hits".to_string()
    } else {
        "all-feeds".to_string()
    };
    let flavor = match a.kind {
        Kind::Anp => Flavor::Anp,
        Kind::Calico => Flavor::Calico,
        Kind::Cilium => Flavor::Cilium,
    };
    let b = response::block(&name, &iocs, flavor, a.priority);
    let mut errors = errors;
    if let (false, Some(store)) = (a.impact.is_empty(), &a.store) {
        errors |= show_impact(&a.impact, store, &a.since, &b.yaml)?;
    }
    write_output(&b.yaml, a.output_file.as_deref())?;
    eprintln!(
        "{} network(s) blocked; {} domain(s) not blockable by this resource. Check the effect on stored flows first: palisade netpol impact SNAPSHOT --policies {} --from-store STORE",
        b.networks,
        b.not_blocked.len(),
        a.output_file
            .as_deref()
            .map(Path::display)
            .map(|d| d.to_string())
            .unwrap_or_else(|| "BLOCK.yaml".into())
    );
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

/// `netpol impact` of the generated policy over the stored flows, on standard error. Only the
/// AdminNetworkPolicy is evaluated by the netpol engine; Calico and Cilium resources are not
/// modelled there, so their impact is that of the equivalent ANP (the same networks denied).
fn show_impact(snapshot: &[PathBuf], store: &Path, since: &str, yaml: &str) -> Result<bool> {
    use palisade_netpol::{BuildOptions, Engine, Network};
    let loaded = crate::load_inputs(snapshot, None, 64);
    let errors = print_diags(&loaded.diagnostics);
    let before = Network::build(&loaded.objects, &BuildOptions::default());
    let generated = palisade_model::load_bytes(
        yaml.as_bytes(),
        palisade_model::Source::File("<generated block>".into()),
        &Default::default(),
    );
    let mut after_objects = loaded.objects.clone();
    after_objects.extend(generated.objects);
    let after = Network::build(&after_objects, &BuildOptions::default());
    let log = crate::observe::flow_log_from_store(store, Some(since), None)?;
    let (resolved, unresolved) = palisade_netpol::flows::resolve_all(&before, &log);
    let r = palisade_netpol::impact::impact(
        &Engine::new(&before),
        &Engine::new(&after),
        &resolved,
        &log,
    );
    let flows: u64 = r.newly_denied.iter().map(|x| x.flows).sum();
    eprintln!(
        "impact on {} stored flow(s) since {since} ({} not resolved to the manifests): {flows} flow(s) in {} connection(s) newly denied",
        r.evaluated,
        unresolved.len(),
        r.newly_denied.len()
    );
    for x in &r.newly_denied {
        eprintln!(
            "  {} => {} : {}/{}  {} flow(s), {} bytes",
            x.src,
            x.dst,
            x.protocol.as_str(),
            x.port,
            x.flows,
            x.bytes
        );
    }
    Ok(errors)
}
