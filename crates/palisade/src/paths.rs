//! `palisade paths`: attack paths across RBAC, containers, network reachability,
//! vulnerabilities and runtime alerts. Wiring only: the graph and its queries are in
//! palisade-paths.

use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{Diagnostic, Level, Object};
use palisade_paths::inputs::{parse_alerts, parse_config, parse_vulns, Alerts, Config, Vulns};
use palisade_paths::query::{self, From};
use palisade_paths::{build, render, Built, Inputs};
use palisade_rbac::bootstrap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PathsArgs {
    #[command(subcommand)]
    command: Option<PathsCommand>,
    #[command(flatten)]
    query: Box<QueryArgs>,
}

#[derive(Subcommand, Debug)]
enum PathsCommand {
    /// Every path to cluster-admin or node root, from the internet and from any pod or
    /// identity (any foothold).
    Critical(Box<QueryArgs>),
    /// The fewest fixes (edges) that cut the most paths, each with its remediation.
    Chokepoints(Box<ChokepointArgs>),
    /// The paths one snapshot adds to or removes from another ("this PR adds 3 paths to
    /// node root").
    Diff(Box<DiffArgs>),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TextOrJson {
    Text,
    Json,
}

/// What the graph is built from.
#[derive(Args, Debug, Clone)]
struct Sources {
    /// Runtime alerts: `palisade detect` output (Falco JSON alerts, one per line). A recent
    /// alert on a container makes it a foothold (ALERTED). Repeatable.
    #[arg(long, value_name = "FILE")]
    alerts: Vec<PathBuf>,
    /// Only alerts newer than this count (`15m`, `2h`, `7d`, or an RFC 3339 time).
    #[arg(long, value_name = "DURATION|TIME", default_value = "24h")]
    since: String,
    /// Image vulnerabilities (`{"images": {IMAGE: [{id, severity, fixed, remote}]}}`): an
    /// exposed endpoint whose image has a remote vulnerability with a fix is EXPOSED_VULN.
    #[arg(long, value_name = "FILE")]
    vulns: Option<PathBuf>,
    /// Crown jewels (`crownJewels: [{kind, namespace, name}]`); objects labelled
    /// palisade.dev/crown-jewel=true are jewels too.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Kubernetes version whose default roles and bindings fill in those the input lacks
    /// (latest, a version we carry, or none).
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    kubernetes_version: String,
    /// Refuse input files larger than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_file_size: u64,
}

#[derive(Args, Debug)]
struct Input {
    /// Manifests, directories, or `-` for stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read the resources from the current cluster (kubeconfig).
    #[arg(long)]
    cluster: bool,
    /// Kubeconfig context to use with --cluster.
    #[arg(long, requires = "cluster")]
    context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, requires = "cluster")]
    kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    sources: Sources,
}

#[derive(Args, Debug)]
struct Selection {
    /// Start from: internet (the default), pod:NS/NAME, namespace:NS, sa:NS/NAME, user:NAME,
    /// group:NAME or a vertex key. Repeatable.
    #[arg(long, value_name = "SOURCE")]
    from: Vec<String>,
    /// Only paths to: cluster-admin, node-root, a marked jewel (`Secret NS/NAME`), or a
    /// vertex key (`pod:NS/NAME`, `secret:NS/NAME`). Repeatable.
    #[arg(long, value_name = "TARGET")]
    to: Vec<String>,
}

#[derive(Args, Debug)]
struct QueryArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    select: Selection,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: Format,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when a path is found.
    #[arg(long)]
    fail_on_path: bool,
}

#[derive(Args, Debug)]
struct ChokepointArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// Propose at most this many fixes.
    #[arg(long, value_name = "N", default_value_t = 10)]
    max: usize,
    /// Cut the critical paths (from any foothold to cluster-admin or node root) instead of
    /// those from --from (default: the internet).
    #[arg(long)]
    critical: bool,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The snapshot before (a file or directory).
    old: PathBuf,
    /// The snapshot after.
    new: PathBuf,
    #[command(flatten)]
    sources: Sources,
    #[command(flatten)]
    select: Selection,
    /// Compare the critical paths (from any foothold) instead of those from --from.
    #[arg(long)]
    critical: bool,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: TextOrJson,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when the new snapshot adds a path.
    #[arg(long)]
    fail_on_path: bool,
}

pub fn run(args: PathsArgs) -> Result<u8> {
    match args.command {
        None => run_query(*args.query, false),
        Some(PathsCommand::Critical(q)) => run_query(*q, true),
        Some(PathsCommand::Chokepoints(c)) => run_chokepoints(*c),
        Some(PathsCommand::Diff(d)) => run_diff(*d),
    }
}

/// Alerts, vulnerabilities and configuration, read once.
struct Extra {
    alerts: Option<Alerts>,
    vulns: Option<Vulns>,
    config: Option<Config>,
    defaults: Option<&'static bootstrap::Defaults>,
    now_ns: i64,
    window_ns: i64,
    diagnostics: Vec<Diagnostic>,
}

fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

/// `15m`, `2h`, `7d`, `30s` → nanoseconds; an RFC 3339 time → nanoseconds before now.
fn window(since: &str, now_ns: i64) -> Result<i64> {
    let s = since.trim();
    if let Some(t) = palisade_detect::time::parse_rfc3339(s) {
        return Ok(now_ns - t);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("--since {since:?}: expected 15m, 2h, 7d or an RFC 3339 time"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => anyhow::bail!("--since {since:?}: unit must be s, m, h or d"),
    };
    Ok(n.saturating_mul(secs).saturating_mul(1_000_000_000))
}

fn read_extra(s: &Sources) -> Result<Extra> {
    let now_ns = palisade_detect::time::now_ns();
    let mut diagnostics = Vec::new();
    let alerts = if s.alerts.is_empty() {
        None
    } else {
        let mut all = Alerts::default();
        for p in &s.alerts {
            let a = parse_alerts(&read_text(p)?, &p.display().to_string());
            all.alerts.extend(a.alerts);
            all.without_pod += a.without_pod;
            diagnostics.extend(a.diagnostics);
        }
        Some(all)
    };
    let vulns = match &s.vulns {
        Some(p) => {
            let mut v = parse_vulns(&read_text(p)?, &p.display().to_string());
            diagnostics.append(&mut v.diagnostics);
            Some(v)
        }
        None => None,
    };
    let config = match &s.config {
        Some(p) => {
            let mut c = parse_config(&read_text(p)?, &p.display().to_string());
            diagnostics.append(&mut c.diagnostics);
            Some(c)
        }
        None => None,
    };
    let defaults = match s.kubernetes_version.as_str() {
        "none" => None,
        v => Some(bootstrap::find(v).with_context(|| {
            format!(
                "no default roles for Kubernetes {v:?}: known versions are {} (or latest, none)",
                bootstrap::VERSIONS
                    .iter()
                    .map(|d| d.version)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?),
    };
    Ok(Extra {
        alerts,
        vulns,
        config,
        defaults,
        now_ns,
        window_ns: window(&s.since, now_ns)?,
        diagnostics,
    })
}

fn load_objects(
    paths: &[PathBuf],
    input: Option<&Input>,
    max_mib: u64,
) -> (Vec<Object>, Vec<Diagnostic>) {
    let cluster = input
        .filter(|i| i.cluster)
        .map(|i| palisade_cluster::ClusterOptions {
            context: i.context.clone(),
            kubeconfig: i.kubeconfig.clone(),
            ..palisade_cluster::ClusterOptions::default()
        });
    let loaded = crate::load_inputs(paths, cluster.as_ref(), max_mib);
    (loaded.objects, loaded.diagnostics)
}

fn graph_of(objects: &[Object], extra: &Extra) -> Built {
    build(&Inputs {
        objects,
        alerts: extra.alerts.as_ref(),
        vulns: extra.vulns.as_ref(),
        config: extra.config.as_ref(),
        rbac_defaults: extra.defaults,
        now_ns: extra.now_ns,
        alert_window_ns: extra.window_ns,
    })
}

/// Prints diagnostics and counted drops to stderr; true when one is an error.
fn report(diags: &[&Diagnostic], built: Option<&Built>) -> bool {
    let mut stderr = std::io::stderr().lock();
    let mut errors = false;
    for d in diags {
        errors |= d.level == Level::Error;
        let _ = writeln!(stderr, "{d}");
    }
    if let Some(b) = built {
        let s = &b.stats;
        if s.alerts_too_old + s.alerts_unmatched + s.alerts_without_pod > 0 {
            let _ = writeln!(
                stderr,
                "note: alerts: {} used, {} older than --since, {} naming no known pod or container, {} naming no pod",
                s.alerts_used, s.alerts_too_old, s.alerts_unmatched, s.alerts_without_pod
            );
        }
        if s.pods_without_network > 0 {
            let _ = writeln!(
                stderr,
                "note: {} workloads are not in the network model (no NETWORK_REACH edges for them)",
                s.pods_without_network
            );
        }
    }
    errors
}

/// Resolves --from/--to; `critical` starts from any foothold and targets the critical jewels.
fn select(
    g: &mut palisade_paths::Graph,
    sel: &Selection,
    critical: bool,
) -> Result<(From, Vec<usize>)> {
    let from = if sel.from.is_empty() {
        if critical {
            From::AnyFoothold
        } else {
            From::Internet
        }
    } else {
        let mut v = Vec::new();
        for f in &sel.from {
            v.extend(query::resolve_from(g, f).map_err(anyhow::Error::msg)?);
        }
        From::Vertices(v)
    };
    let jewels = if sel.to.is_empty() {
        if critical {
            query::critical_jewels(g)
        } else {
            (0..g.jewels.len()).collect()
        }
    } else {
        let mut v = Vec::new();
        for t in &sel.to {
            v.extend(query::resolve_to(g, t).map_err(anyhow::Error::msg)?);
        }
        v
    };
    Ok((from, jewels))
}

fn prepare(q: &QueryArgs) -> Result<(Built, bool)> {
    let i = &q.input;
    if i.paths.is_empty() && !i.cluster {
        anyhow::bail!("nothing to read: give files, directories, `-` for stdin, or --cluster");
    }
    let extra = read_extra(&i.sources)?;
    let (objects, diags) = load_objects(&i.paths, Some(i), i.sources.max_file_size);
    let built = graph_of(&objects, &extra);
    let all: Vec<&Diagnostic> = diags
        .iter()
        .chain(&extra.diagnostics)
        .chain(&built.diagnostics)
        .collect();
    let errors = report(&all, Some(&built));
    Ok((built, errors))
}

fn exit(errors: bool, fail: bool) -> u8 {
    if errors {
        EXIT_ERROR
    } else if fail {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

fn run_query(q: QueryArgs, critical: bool) -> Result<u8> {
    let (mut built, errors) = prepare(&q)?;
    let (from, jewels) = select(&mut built.graph, &q.select, critical)?;
    let g = &built.graph;
    let none = vec![false; g.edges.len()];
    let paths = query::shortest_paths(g, &from, &jewels, &none);
    let heading = if critical {
        "critical paths (to cluster-admin or node root, from any foothold)"
    } else {
        "attack paths"
    };
    let text = match q.output {
        Format::Text => render::paths_text(g, &paths, heading),
        Format::Json => {
            let mut v = render::paths_json(
                g,
                &paths,
                serde_json::to_value(&built.stats).unwrap_or_default(),
            );
            v["jewels"] = serde_json::to_value(&g.jewels).unwrap_or_default();
            serde_json::to_string_pretty(&v)? + "\n"
        }
        Format::Html => {
            let c = query::chokepoints(g, &from, &jewels, 10);
            render::html(
                g,
                &paths,
                Some(&c),
                &format!("palisade paths: {heading}"),
                palisade_console::assets::graph_assets(),
            )
        }
    };
    crate::write_output(&text, q.output_file.as_deref())?;
    Ok(exit(errors, q.fail_on_path && !paths.is_empty()))
}

fn run_chokepoints(c: ChokepointArgs) -> Result<u8> {
    let (mut built, errors) = prepare(&c.query)?;
    let (from, jewels) = select(&mut built.graph, &c.query.select, c.critical)?;
    let g = &built.graph;
    let cp = query::chokepoints(g, &from, &jewels, c.max);
    let text = match c.query.output {
        Format::Text => render::chokepoints_text(g, &cp),
        Format::Json => serde_json::to_string_pretty(&render::chokepoints_json(g, &cp))? + "\n",
        Format::Html => {
            let none = vec![false; g.edges.len()];
            let paths = query::shortest_paths(g, &from, &jewels, &none);
            render::html(
                g,
                &paths,
                Some(&cp),
                "palisade paths: chokepoints",
                palisade_console::assets::graph_assets(),
            )
        }
    };
    crate::write_output(&text, c.query.output_file.as_deref())?;
    Ok(exit(errors, c.query.fail_on_path && cp.pairs > 0))
}

fn run_diff(d: DiffArgs) -> Result<u8> {
    let extra = read_extra(&d.sources)?;
    let mut errors = false;
    let mut sides = Vec::new();
    for p in [&d.old, &d.new] {
        let (objects, diags) = load_objects(std::slice::from_ref(p), None, d.sources.max_file_size);
        let mut built = graph_of(&objects, &extra);
        let all: Vec<&Diagnostic> = diags.iter().chain(&built.diagnostics).collect();
        errors |= report(&all, Some(&built));
        let (from, jewels) = select(&mut built.graph, &d.select, d.critical)?;
        let none = vec![false; built.graph.edges.len()];
        let paths = query::shortest_paths(&built.graph, &from, &jewels, &none);
        sides.push((built, paths));
    }
    errors |= report(&extra.diagnostics.iter().collect::<Vec<_>>(), None);
    let diff = query::diff(
        (&sides[0].0.graph, &sides[0].1),
        (&sides[1].0.graph, &sides[1].1),
    );
    let text = match d.output {
        TextOrJson::Text => render::diff_text(&diff),
        TextOrJson::Json => serde_json::to_string_pretty(&diff)? + "\n",
    };
    crate::write_output(&text, d.output_file.as_deref())?;
    Ok(exit(errors, d.fail_on_path && !diff.added.is_empty()))
}
