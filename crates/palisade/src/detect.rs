//! `palisade detect`: Falco-compatible detection over Kubernetes audit logs and syscall event
//! streams. Wiring only: the rule language, sources and server are in palisade-detect.

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_detect::engine::Alert;
use palisade_detect::fields::{table, COMMON, SOURCES};
use palisade_detect::input::{EventReader, Item};
use palisade_detect::output::{write_alert, Format, HttpOutput, RateLimiter};
use palisade_detect::rules::Level;
use palisade_detect::server::{start, ServeOptions, Sink};
use palisade_detect::{Engine, Priority, RuleSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Args, Debug)]
pub struct DetectArgs {
    #[command(subcommand)]
    command: DetectCommand,
}

#[derive(Subcommand, Debug)]
enum DetectCommand {
    /// Replay audit logs or recorded syscall/Tetragon events through the rules.
    Run(RunArgs),
    /// Serve the API server's audit webhook over HTTPS.
    Serve(ServeArgs),
    /// Load and check rule files (like `falco -V`).
    Validate(ValidateArgs),
    /// List the fields rules can use.
    Fields(FieldsArgs),
    /// The rules in effect: the built-in defaults and any --rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// One line per rule: name, priority, MITRE ATT&CK tags, where it is defined.
    List(RulesListArgs),
    /// Print rules in full (condition with macros as written, output, tags); without a
    /// name, the built-in rule file as embedded.
    Show(RulesShowArgs),
}

#[derive(Args, Debug)]
struct RulesListArgs {
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    out: RulesOutputArgs,
}

#[derive(Args, Debug)]
struct RulesShowArgs {
    /// Rule names (exact); none: the built-in rule file.
    #[arg(value_name = "RULE")]
    names: Vec<String>,
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    out: RulesOutputArgs,
}

/// Where and how `rules list|show` print.
#[derive(Args, Debug)]
struct RulesOutputArgs {
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: OutFormat,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum OutFormat {
    Json,
    Text,
}

#[derive(Args, Debug)]
struct RuleArgs {
    /// Rule files, loaded in this order after the built-in rules (like falco -r): they add
    /// rules, or append to and override the built-in ones; repeat the flag.
    #[arg(long = "rules", short = 'r', value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in Kubernetes audit rules: only the --rules files.
    #[arg(long)]
    no_default_rules: bool,
    /// Skip rules below this priority (emergency … debug).
    #[arg(long, value_name = "PRIORITY", default_value = "debug", value_parser = parse_priority)]
    min_priority: Priority,
}

// Alert outputs (also used by `threat`: one alert pipeline).
#[derive(Args, Debug)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "json"
    )]
    output: OutFormat,
    /// Write alerts to this file instead of stdout (appended).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Also POST each alert as JSON to this http:// endpoint (e.g. Falcosidekick).
    #[arg(long, value_name = "URL")]
    http_output: Option<String>,
    /// Alerts waiting for the HTTP endpoint before new ones are dropped (and counted).
    #[arg(long, default_value_t = 10_000)]
    http_buffer: usize,
    /// At most this many alerts per second per rule (0: unlimited); the excess is counted.
    #[arg(long, default_value_t = 0.0)]
    rate_limit: f64,
    /// Burst allowed above the rate limit.
    #[arg(long, default_value_t = 10.0)]
    rate_burst: f64,
    /// The hostname in alerts [default: this machine's].
    #[arg(long)]
    pub(crate) hostname: Option<String>,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit 1 when any alert was raised.
    #[arg(long)]
    fail_on_alert: bool,
    /// Exit 1 when an alert's priority is at or above this severity (emergency, alert and
    /// critical are critical; error high; warning medium; notice low; informational and
    /// debug info).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    fail_on: Option<palisade_report::Severity>,
    /// Event files: audit Events (JSON lines or an EventList), Palisade syscall events or
    /// Tetragon export (JSON lines); `-` for stdin.
    #[arg(value_name = "EVENTS", required = true)]
    events: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[arg(long, default_value = "0.0.0.0:9765")]
    listen: std::net::SocketAddr,
    #[arg(long, value_name = "PEM", required = true)]
    tls_cert: PathBuf,
    #[arg(long, value_name = "PEM", required = true)]
    tls_key: PathBuf,
    /// Events the queue holds; a batch that does not fit is refused with 429 and counted.
    #[arg(long, default_value_t = 100_000)]
    queue: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 16)]
    max_body_mib: usize,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct FieldsArgs {
    /// Only this source (syscall, k8s_audit).
    #[arg(long)]
    source: Option<String>,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: OutFormat,
    /// Write the list to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// An alert priority on the severity scale of `--fail-on`.
pub fn priority_severity(p: Priority) -> palisade_report::Severity {
    use palisade_report::Severity as S;
    match p {
        Priority::Emergency | Priority::Alert | Priority::Critical => S::Critical,
        Priority::Error => S::High,
        Priority::Warning => S::Medium,
        Priority::Notice => S::Low,
        Priority::Informational | Priority::Debug => S::Info,
    }
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    Priority::parse(s).ok_or_else(|| format!("unknown priority {s:?}: emergency, alert, critical, error, warning, notice, informational, debug"))
}

pub fn run(args: DetectArgs) -> Result<u8> {
    match args.command {
        DetectCommand::Run(a) => run_events(a),
        DetectCommand::Serve(a) => serve(a),
        DetectCommand::Validate(a) => validate(a),
        DetectCommand::Fields(a) => fields(a),
        DetectCommand::Rules(RulesCommand::List(a)) => rules_list(a),
        DetectCommand::Rules(RulesCommand::Show(a)) => rules_show(a),
    }
}

/// Loads and compiles the built-in rules (unless `--no-default-rules`) and the `--rules`
/// files, printing every diagnostic; the flag is true when a rule had an error.
fn load_rule_args(r: &RuleArgs) -> Result<(Engine, bool)> {
    if r.no_default_rules && r.rules.is_empty() {
        anyhow::bail!("no rules: --no-default-rules needs at least one --rules FILE");
    }
    load_rules(&r.rules, !r.no_default_rules)
}

/// Loads and compiles rules, printing every diagnostic; the flag is true when a rule had an
/// error.
fn load_rules(files: &[PathBuf], defaults: bool) -> Result<(Engine, bool)> {
    Ok(compile_rules(&rule_set(files, defaults)?))
}

/// The built-in rules (when `defaults`) and then `files`, in load order.
fn rule_set(files: &[PathBuf], defaults: bool) -> Result<RuleSet> {
    let mut set = RuleSet::new();
    if defaults {
        palisade_detect::defaults::load(&mut set);
    }
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        set.load(&f.display().to_string(), &text);
    }
    Ok(set)
}

/// Compiles a rule set, printing every diagnostic; the flag is true when one is an error.
fn compile_rules(set: &RuleSet) -> (Engine, bool) {
    let engine = Engine::from_ruleset(set);
    let mut errors = false;
    let mut stderr = std::io::stderr().lock();
    for d in &engine.compiled.diags {
        errors |= d.level == Level::Error;
        let _ = writeln!(stderr, "{d}");
    }
    (engine, errors)
}

pub(crate) fn hostname(h: &Option<String>) -> String {
    h.clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}

pub(crate) struct Outputs {
    format: Format,
    writer: Mutex<Box<dyn Write + Send>>,
    http: Option<HttpOutput>,
    limiter: Option<Mutex<RateLimiter>>,
    written: std::sync::atomic::AtomicU64,
    /// Alerts wait in the writer's buffer until `flush` (run); else each is flushed (serve).
    buffered: bool,
}

impl Outputs {
    pub(crate) fn new(o: &OutputArgs, buffered: bool) -> Result<Outputs> {
        let writer: Box<dyn Write + Send> = match &o.output_file {
            Some(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening {}", p.display()))?,
            ),
            None => Box::new(std::io::stdout()),
        };
        let writer: Box<dyn Write + Send> =
            Box::new(std::io::BufWriter::with_capacity(256 << 10, writer));
        let http = match &o.http_output {
            Some(u) => Some(HttpOutput::new(u, o.http_buffer, 5).map_err(|e| anyhow::anyhow!(e))?),
            None => None,
        };
        Ok(Outputs {
            format: if o.output == OutFormat::Json {
                Format::Json
            } else {
                Format::Text
            },
            writer: Mutex::new(writer),
            http,
            limiter: (o.rate_limit > 0.0)
                .then(|| Mutex::new(RateLimiter::new(o.rate_limit, o.rate_burst))),
            written: Default::default(),
            buffered,
        })
    }
    pub(crate) fn emit(&self, a: Alert) {
        if let Some(l) = &self.limiter {
            if let Ok(mut l) = l.lock() {
                if !l.allow(&a.rule) {
                    return;
                }
            }
        }
        if let Ok(mut w) = self.writer.lock() {
            let _ = write_alert(&mut *w, &a, self.format);
            if !self.buffered {
                let _ = w.flush();
            }
        }
        self.written
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = &self.http {
            h.send(&a);
        }
    }
    /// Writes out buffered alerts.
    fn flush(&self) {
        if let Ok(mut w) = self.writer.lock() {
            let _ = w.flush();
        }
    }

    pub(crate) fn finish(self) -> String {
        let mut notes = Vec::new();
        if let Ok(mut w) = self.writer.lock() {
            let _ = w.flush();
        }
        if let Some(l) = &self.limiter {
            if let Ok(l) = l.lock() {
                let n: u64 = l.dropped.values().sum();
                if n > 0 {
                    let mut per: Vec<String> =
                        l.dropped.iter().map(|(r, n)| format!("{r}: {n}")).collect();
                    per.sort();
                    notes.push(format!(
                        "{n} alert(s) suppressed by the rate limit ({})",
                        per.join(", ")
                    ));
                }
            }
        }
        if let Some(h) = self.http {
            let st = h.finish();
            use std::sync::atomic::Ordering::Relaxed;
            notes.push(format!(
                "http output: {} sent, {} dropped (buffer full), {} dropped after retries, {} retries",
                st.sent.load(Relaxed),
                st.dropped_full.load(Relaxed),
                st.dropped_failed.load(Relaxed),
                st.retries.load(Relaxed)
            ));
        }
        notes.join("\n")
    }
}

fn run_events(a: RunArgs) -> Result<u8> {
    let (mut engine, rule_errors) = load_rule_args(&a.rules)?;
    engine.min_priority = a.rules.min_priority;
    let host = hostname(&a.out.hostname);
    let host_arc: Arc<str> = Arc::from(host.as_str());
    let outputs = Outputs::new(&a.out, true)?;
    let mut input_errors = false;
    let (mut events, mut alerts) = (0u64, 0u64);
    let mut by_rule: std::collections::BTreeMap<String, u64> = Default::default();
    let mut worst: Option<palisade_report::Severity> = None;
    // Each input is streamed: one event is read, matched and dropped before the next, so
    // memory does not grow with the input. Alerts are flushed whenever the input has nothing
    // buffered (a live `-` stream gets its alerts before the reader waits for more).
    for path in &a.events {
        let (name, source): (String, Box<dyn std::io::Read>) = if path.as_os_str() == "-" {
            ("<stdin>".to_string(), Box::new(std::io::stdin()))
        } else {
            match std::fs::File::open(path) {
                Ok(f) => (path.display().to_string(), Box::new(f)),
                Err(e) => {
                    input_errors = true;
                    eprintln!("{}: error: cannot read: {e}", path.display());
                    continue;
                }
            }
        };
        let mut reader = EventReader::with_capacity(256 << 10, source, host_arc.clone());
        let mut skipped = 0u64;
        while let Some(item) = reader.next() {
            match item {
                Item::Event(ev) => {
                    events += 1;
                    if let Some(al) = engine.process(ev.as_event(), ev.time_ns(), ev.hostname()) {
                        alerts += 1;
                        worst = worst.max(Some(priority_severity(al.priority)));
                        match by_rule.get_mut(&al.rule) {
                            Some(n) => *n += 1,
                            None => {
                                by_rule.insert(al.rule.clone(), 1);
                            }
                        }
                        outputs.emit(al);
                    }
                }
                Item::Error { line, message } => {
                    input_errors = true;
                    eprintln!("{name}:{line}: error: {message}");
                }
                Item::Skipped => skipped += 1,
            }
            if !reader.has_buffered_input() {
                outputs.flush();
            }
        }
        if skipped > 0 {
            eprintln!("{name}: note: {skipped} event(s) of kinds without rules skipped");
        }
    }
    let notes = outputs.finish();
    eprintln!(
        "{events} event(s), {alerts} alert(s){}",
        if by_rule.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                by_rule
                    .iter()
                    .map(|(r, n)| format!("{r} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !notes.is_empty() {
        eprintln!("{notes}");
    }
    if rule_errors || input_errors {
        return Ok(EXIT_ERROR);
    }
    let over = a.fail_on.is_some_and(|t| worst.is_some_and(|w| w >= t));
    Ok(if (a.fail_on_alert && alerts > 0) || over {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn serve(a: ServeArgs) -> Result<u8> {
    let (mut engine, rule_errors) = load_rule_args(&a.rules)?;
    if rule_errors {
        eprintln!("palisade: error: the rules have errors; not serving");
        return Ok(EXIT_ERROR);
    }
    engine.min_priority = a.rules.min_priority;
    let outputs = Arc::new(Outputs::new(&a.out, false)?);
    let o2 = outputs.clone();
    let sink: Sink = Arc::new(move |al| o2.emit(al));
    let opts = ServeOptions {
        listen: a.listen,
        tls_cert: a.tls_cert,
        tls_key: a.tls_key,
        queue: a.queue,
        workers: a.workers,
        max_body: a.max_body_mib.saturating_mul(1 << 20),
        hostname: hostname(&a.out.hostname),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = start(Arc::new(engine), opts, sink, None).await?;
        eprintln!(
            "palisade detect: listening on https://{} (POST /k8s-audit, GET /metrics)",
            running.addr
        );
        let _ = tokio::signal::ctrl_c().await;
        let stats = running.stats.clone();
        running.shutdown().await;
        eprintln!(
            "palisade detect: {} event(s) received, {} processed, {} dropped (queue full)",
            stats.received.get(),
            stats.processed.get(),
            stats.dropped("queue_full")
        );
        anyhow::Ok(())
    })?;
    if let Ok(o) = Arc::try_unwrap(outputs) {
        let notes = o.finish();
        if !notes.is_empty() {
            eprintln!("{notes}");
        }
    }
    Ok(EXIT_CLEAN)
}

fn validate(a: ValidateArgs) -> Result<u8> {
    let (engine, errors) = load_rules(&a.files, false)?;
    let c = &engine.compiled;
    let warnings = c.diags.iter().filter(|d| d.level == Level::Warning).count();
    println!(
        "{}: {}/{} rules compiled ({} disabled), {}/{} macros compiled, {} lists; {} error(s), {} warning(s)",
        a.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
        c.rules_compiled,
        c.rules_total,
        c.rules_disabled,
        c.macros_compiled,
        c.macros_total,
        c.lists_total,
        c.errors(),
        warnings
    );
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

fn fields(a: FieldsArgs) -> Result<u8> {
    let sources: Vec<&str> = match &a.source {
        Some(s) if table(s).is_some() => vec![s.as_str()],
        Some(s) => {
            eprintln!(
                "palisade: error: unknown source {s:?} (known: {})",
                SOURCES.join(", ")
            );
            return Ok(EXIT_ERROR);
        }
        None => SOURCES.to_vec(),
    };
    let mut out = String::new();
    let mut json = Vec::new();
    for s in sources {
        let Some(t) = table(s) else { continue };
        if a.output == OutFormat::Text {
            out.push_str(&format!("Source {s}:\n"));
        }
        for d in t.iter().chain(COMMON) {
            let arg = match d.arg {
                palisade_detect::fields::Arg::None => "",
                palisade_detect::fields::Arg::Index => "[n]",
                palisade_detect::fields::Arg::Key => "[key]",
                palisade_detect::fields::Arg::KeyRequired => "[key] (required)",
                palisade_detect::fields::Arg::Pointer => "[/json/pointer] (required)",
            };
            if a.output == OutFormat::Text {
                out.push_str(&format!(
                    "  {}{arg:<1} ({}{}) {}\n",
                    d.name,
                    d.ty.as_str(),
                    if d.list { ", list" } else { "" },
                    d.desc
                ));
            } else {
                json.push(serde_json::json!({"source": s, "name": d.name, "type": d.ty.as_str(), "list": d.list, "arg": arg, "desc": d.desc}));
            }
        }
    }
    if a.output == OutFormat::Json {
        out = serde_json::to_string_pretty(&json)? + "\n";
    }
    match &a.output_file {
        Some(p) => std::fs::write(p, &out).with_context(|| format!("writing {}", p.display()))?,
        None => std::io::stdout().write_all(out.as_bytes())?,
    }
    Ok(EXIT_CLEAN)
}

/// The rule set `rules list|show` describe: the built-in rules and the --rules files, as
/// `run` would load them; compile diagnostics go to stderr.
fn described_rules(r: &RuleArgs) -> Result<(RuleSet, bool)> {
    if r.no_default_rules && r.rules.is_empty() {
        anyhow::bail!("no rules: --no-default-rules needs at least one --rules FILE");
    }
    let set = rule_set(&r.rules, !r.no_default_rules)?;
    let (_, errors) = compile_rules(&set);
    Ok((set, errors))
}

fn mitre(tags: &[String]) -> Vec<&str> {
    tags.iter()
        .map(String::as_str)
        .filter(|t| {
            t.starts_with("mitre_")
                || (t.len() >= 5
                    && t.starts_with('T')
                    && t[1..5].bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

fn rule_json(r: &palisade_detect::rules::RuleDef) -> serde_json::Value {
    serde_json::json!({
        "rule": r.name,
        "source": r.source,
        "priority": r.priority.as_str(),
        "enabled": r.enabled,
        "tags": r.tags,
        "mitre": mitre(&r.tags),
        "desc": r.desc.trim(),
        "condition": r.condition.trim(),
        "output": r.output.trim(),
        "exceptions": r.exceptions.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "file": r.loc.file,
        "line": r.loc.line,
    })
}

fn write_result(out: &str, file: &Option<PathBuf>) -> Result<()> {
    match file {
        Some(p) => std::fs::write(p, out).with_context(|| format!("writing {}", p.display())),
        None => Ok(std::io::stdout().write_all(out.as_bytes())?),
    }
}

fn rules_list(a: RulesListArgs) -> Result<u8> {
    let (set, errors) = described_rules(&a.rules)?;
    let mut out = String::new();
    if a.out.output == OutFormat::Json {
        let all: Vec<_> = set.rules.iter().map(rule_json).collect();
        out = serde_json::to_string_pretty(&all)? + "\n";
    } else {
        let width = set.rules.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for r in &set.rules {
            out.push_str(&format!(
                "{:<width$}  {:<13} {}{}  ({}:{})\n",
                r.name,
                r.priority.as_str(),
                mitre(&r.tags).join(","),
                if r.enabled { "" } else { "  [disabled]" },
                r.loc.file,
                r.loc.line,
            ));
        }
        let enabled = set.rules.iter().filter(|r| r.enabled).count();
        out.push_str(&format!("{} rule(s), {enabled} enabled\n", set.rules.len()));
    }
    write_result(&out, &a.out.output_file)?;
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

fn rules_show(a: RulesShowArgs) -> Result<u8> {
    if a.names.is_empty() {
        if a.out.output == OutFormat::Json {
            let set = palisade_detect::defaults::ruleset();
            let all: Vec<_> = set.rules.iter().map(rule_json).collect();
            write_result(
                &(serde_json::to_string_pretty(&all)? + "\n"),
                &a.out.output_file,
            )?;
        } else {
            let mut out = String::new();
            for (name, text) in palisade_detect::defaults::FILES {
                out.push_str(&format!("# {name}\n{text}"));
            }
            write_result(&out, &a.out.output_file)?;
        }
        return Ok(EXIT_CLEAN);
    }
    let (set, errors) = described_rules(&a.rules)?;
    let mut found = Vec::new();
    let mut missing = false;
    for n in &a.names {
        match set.rules.iter().find(|r| &r.name == n) {
            Some(r) => found.push(r),
            None => {
                missing = true;
                eprintln!(
                    "palisade: error: no rule named {n:?} (see `palisade detect rules list`)"
                );
            }
        }
    }
    let out = if a.out.output == OutFormat::Json {
        serde_json::to_string_pretty(&found.iter().map(|r| rule_json(r)).collect::<Vec<_>>())?
            + "\n"
    } else {
        let mut out = String::new();
        for r in &found {
            out.push_str(&format!(
                "rule: {}\nsource: {}\npriority: {}\nenabled: {}\ndefined at: {}:{}\ntags: [{}]\ndesc: {}\ncondition: {}\noutput: {}\n",
                r.name,
                r.source,
                r.priority.as_str(),
                r.enabled,
                r.loc.file,
                r.loc.line,
                r.tags.join(", "),
                r.desc.trim(),
                r.condition.trim(),
                r.output.trim(),
            ));
            if !r.exceptions.is_empty() {
                let names: Vec<&str> = r.exceptions.iter().map(|e| e.name.as_str()).collect();
                out.push_str(&format!("exceptions: {}\n", names.join(", ")));
            }
            out.push('\n');
        }
        out
    };
    write_result(&out, &a.out.output_file)?;
    Ok(if errors || missing {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    })
}
