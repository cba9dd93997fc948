//! `palisade netpol`: who can talk to whom, why, what is wrong with the policies, what a
//! change would break, and least-privilege policies from observed flows. Wiring only: the
//! analyses are in palisade-netpol.

use crate::{write_output, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{Diagnostic, Level, Object};
use palisade_netpol::connlist::{connlist, exposure, merged_ranges, Options as ConnOptions};
use palisade_netpol::explain::{endpoint, explain, parse_port, render as render_explanation};
use palisade_netpol::flows::{read as read_flows, resolve_all, Format as FlowFormat, Verdict};
use palisade_netpol::impact::{impact, Impact, Row};
use palisade_netpol::lint::lint;
use palisade_netpol::recommend::{recommend, Options as RecOptions};
use palisade_netpol::render::{self, Line};
use palisade_netpol::{BuildOptions, Endpoint, Engine, Network};
pub use palisade_scan::netpol::{
    catalog_rules, is_lint_pattern, lint_rule, policy_key, report_severity,
};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct NetpolArgs {
    #[command(subcommand)]
    command: NetpolCommand,
}

#[derive(Subcommand, Debug)]
enum NetpolCommand {
    /// List the allowed connections between workloads, external ranges and the ingress
    /// controller.
    Connlist(ConnlistArgs),
    /// Explain why a connection is allowed or denied.
    Explain(ExplainArgs),
    /// Report dead, shadowed and over-broad policies and unprotected namespaces.
    Lint(LintArgs),
    /// The semantic difference in allowed connections between two snapshots or policy sets.
    Diff(DiffArgs),
    /// Least-privilege NetworkPolicies that allow exactly the observed flows.
    Recommend(RecommendArgs),
    /// Which observed flows a policy change (or the staged policies) would deny or allow.
    Impact(ImpactArgs),
}

#[derive(Args, Debug)]
struct Input {
    /// Manifests, directories, or `-` for stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read the resources from the current cluster (kubeconfig).
    #[arg(long)]
    cluster: bool,
    #[arg(long, requires = "cluster")]
    context: Option<String>,
    #[arg(long, requires = "cluster")]
    kubeconfig: Option<PathBuf>,
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_file_size: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ListFormat {
    Text,
    Json,
    Csv,
    Md,
    Dot,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct ConnlistArgs {
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: ListFormat,
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Only connections from or to this workload (ns/name, ns/name[Kind] or name); repeatable.
    #[arg(long, value_name = "WORKLOAD")]
    focus_workload: Vec<String>,
    /// Also report which workloads are reachable from any namespace or any external address
    /// (and which reach any).
    #[arg(long)]
    exposure: bool,
    /// Leave out external IP ranges.
    #[arg(long)]
    no_external: bool,
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// Source: ns/name, ns/name[Kind], an IPv4 address or {ingress-controller}.
    src: String,
    /// Destination, as the source.
    dst: String,
    /// PROTO/PORT (`TCP/8080`, `udp/53`, or a number for TCP).
    port: Option<String>,
    #[arg(long, short = 'f', value_name = "PATH", required = true)]
    file: Vec<PathBuf>,
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
}

#[derive(Args, Debug)]
struct LintArgs {
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
    /// Exit 1 when a finding is at or over this severity (info: any finding).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    fail_on: Option<palisade_report::Severity>,
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The snapshot or policy set before (file or directory).
    before: PathBuf,
    /// After.
    after: PathBuf,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: ListFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when anything differs.
    #[arg(long)]
    fail_on_diff: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FlowFormatArg {
    Auto,
    Palisade,
    Hubble,
    Calico,
}

#[derive(Args, Debug)]
struct FlowArgs {
    /// Flow log: JSON lines (Palisade schema, Hubble `observe -o json`, Calico flow logs).
    #[arg(long, value_name = "FILE", required_unless_present = "from_store")]
    flows: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    flow_format: FlowFormatArg,
    /// Read the flows from a flow store (`observe sensor --store`: a SQLite file or a
    /// clickhouse:// URL) instead of a log.
    #[arg(long, value_name = "PATH|URL", conflicts_with = "flows")]
    from_store: Option<PathBuf>,
    /// With --from-store: start of the range (15m, 2h, 7d or RFC 3339; default: all).
    #[arg(long, value_name = "DURATION|TIME", requires = "from_store")]
    since: Option<String>,
    /// With --from-store: end of the range (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", requires = "from_store")]
    until: Option<String>,
}

#[derive(Args, Debug)]
struct RecommendArgs {
    #[command(flatten)]
    flows: FlowArgs,
    /// Also allow flows the log marks as denied.
    #[arg(long)]
    include_denied: bool,
    /// Namespace of kube-dns for the DNS egress rule.
    #[arg(long, default_value = "kube-system")]
    dns_namespace: String,
    /// Leave out the DNS egress rule.
    #[arg(long)]
    no_dns: bool,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct ImpactArgs {
    #[command(flatten)]
    flows: FlowArgs,
    /// The changed policies: added, or replacing those with the same kind, namespace and
    /// name. Without it, the staged policies (annotation palisade.dev/staged: "true") are
    /// evaluated as if enforced.
    #[arg(long, value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// The --policies set replaces every policy of the snapshot.
    #[arg(long, requires = "policies")]
    replace: bool,
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
    /// Exit 1 when an observed flow would be newly denied.
    #[arg(long)]
    fail_on_deny: bool,
    #[command(flatten)]
    input: Input,
}

pub fn run(args: NetpolArgs) -> Result<u8> {
    match args.command {
        NetpolCommand::Connlist(a) => run_connlist(a),
        NetpolCommand::Explain(a) => run_explain(a),
        NetpolCommand::Lint(a) => run_lint(a),
        NetpolCommand::Diff(a) => run_diff(a),
        NetpolCommand::Recommend(a) => run_recommend(a),
        NetpolCommand::Impact(a) => run_impact(a),
    }
}

fn load_objects(
    paths: &[PathBuf],
    input: Option<&Input>,
) -> Result<(Vec<Object>, Vec<Diagnostic>)> {
    let max = input.map(|i| i.max_file_size).unwrap_or(64);
    let cluster = input
        .filter(|i| i.cluster)
        .map(|i| palisade_cluster::ClusterOptions {
            context: i.context.clone(),
            kubeconfig: i.kubeconfig.clone(),
            ..palisade_cluster::ClusterOptions::default()
        });
    let loaded = crate::load_inputs(paths, cluster.as_ref(), max);
    Ok((loaded.objects, loaded.diagnostics))
}

fn load(input: &Input) -> Result<(Vec<Object>, Vec<Diagnostic>)> {
    if input.paths.is_empty() && !input.cluster {
        anyhow::bail!("nothing to read: give files, directories, `-` for stdin, or --cluster");
    }
    load_objects(&input.paths, Some(input))
}

/// Prints diagnostics to stderr; true when one is an error.
fn report(diags: &[&Diagnostic]) -> bool {
    let mut stderr = std::io::stderr().lock();
    let mut errors = false;
    for d in diags {
        errors |= d.level == Level::Error;
        let _ = writeln!(stderr, "{d}");
    }
    errors
}

fn build(objects: &[Object], diags: &[Diagnostic], opts: &BuildOptions) -> (Network, bool) {
    let net = Network::build(objects, opts);
    let errors = report(&diags.iter().chain(&net.diagnostics).collect::<Vec<_>>());
    (net, errors)
}

fn lines_of(engine: &Engine, opts: &ConnOptions) -> Vec<Line> {
    connlist(engine, opts)
        .into_iter()
        .map(|c| Line {
            src: engine.label(c.src),
            dst: engine.label(c.dst),
            conns: c.conns,
        })
        .collect()
}

fn render_lines(lines: &[Line], format: ListFormat, title: &str) -> String {
    match format {
        ListFormat::Text => render::txt(lines),
        ListFormat::Json => render::json(lines),
        ListFormat::Csv => render::csv(lines),
        ListFormat::Md => render::md(lines),
        ListFormat::Dot => render::dot(lines),
        ListFormat::Html => render::html(lines, title, palisade_console::assets::graph_assets()),
    }
}

fn run_connlist(a: ConnlistArgs) -> Result<u8> {
    let (objects, diags) = load(&a.input)?;
    let (net, errors) = build(&objects, &diags, &BuildOptions::default());
    let engine = Engine::new(&net);
    let mut focus = Vec::new();
    for f in &a.focus_workload {
        match endpoint(&engine, f) {
            Ok(ep) => focus.push(engine.label(ep)),
            Err(e) => {
                eprintln!("palisade: error: --focus-workload: {e}");
                return Ok(EXIT_ERROR);
            }
        }
    }
    let opts = ConnOptions {
        no_external: a.no_external,
        ..ConnOptions::default()
    };
    let mut lines = lines_of(&engine, &opts);
    if !focus.is_empty() {
        lines.retain(|l| focus.contains(&l.src) || focus.contains(&l.dst));
    }
    let mut text = render_lines(&lines, a.output, "palisade netpol connlist");
    if a.exposure {
        let exp = exposure(&engine);
        let rows: Vec<_> = exp
            .iter()
            .filter(|e| focus.is_empty() || focus.contains(&net.workloads[e.workload].label()))
            .collect();
        match a.output {
            ListFormat::Json => {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "workload": net.workloads[e.workload].label(),
                            "ingress_from_any_namespace": e.ingress_any_namespace.to_string(),
                            "ingress_from_any_external": e.ingress_any_external.to_string(),
                            "egress_to_any_namespace": e.egress_any_namespace.to_string(),
                            "egress_to_any_external": e.egress_any_external.to_string(),
                        })
                    })
                    .collect();
                text = serde_json::to_string_pretty(&serde_json::json!({
                    "connections": serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
                    "exposure": v,
                }))? + "\n";
            }
            _ => {
                text.push_str("\nExposure analysis:\n");
                for e in rows {
                    let w = net.workloads[e.workload].label();
                    for (what, c) in [
                        (
                            "reachable from any pod in any namespace",
                            &e.ingress_any_namespace,
                        ),
                        (
                            "reachable from any external address",
                            &e.ingress_any_external,
                        ),
                        ("reaches any pod in any namespace", &e.egress_any_namespace),
                        ("reaches any external address", &e.egress_any_external),
                    ] {
                        if !c.is_empty() {
                            text.push_str(&format!("{w} is {what} : {c}\n"));
                        }
                    }
                }
            }
        }
    }
    write_output(&text, a.output_file.as_deref())?;
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

fn run_explain(a: ExplainArgs) -> Result<u8> {
    let (objects, diags) = load_objects(&a.file, None)?;
    let (net, errors) = build(&objects, &diags, &BuildOptions::default());
    let engine = Engine::new(&net);
    let resolve = |s: &str| endpoint(&engine, s);
    let (src, dst) = match (resolve(&a.src), resolve(&a.dst)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    if matches!((src, dst), (Endpoint::Ip(_), Endpoint::Ip(_))) {
        eprintln!("palisade: error: at least one end must be a workload");
        return Ok(EXIT_ERROR);
    }
    let query = match a.port.as_deref().map(parse_port).transpose() {
        Ok(q) => q,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let e = explain(&engine, src, dst, query);
    let text = match a.output {
        TextOrJson::Text => render_explanation(&e),
        TextOrJson::Json => {
            let steps: Vec<serde_json::Value> = e
                .steps
                .iter()
                .map(|s| {
                    serde_json::json!({"direction": s.direction.as_str(), "policy": s.policy, "rule": s.rule,
                        "action": s.action, "connections": s.conns.to_string(), "source": s.source, "line": s.line})
                })
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({
                "src": e.src, "dst": e.dst,
                "query": e.query.map(|(p, n)| format!("{}/{n}", p.as_str())),
                "verdict": if e.verdict() { "allowed" } else { "denied" },
                "allowed": e.allowed.to_string(), "egress": e.egress.to_string(), "ingress": e.ingress.to_string(),
                "steps": steps, "nearest_miss": e.near_misses,
            }))? + "\n"
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    Ok(if errors { EXIT_ERROR } else { EXIT_CLEAN })
}

fn run_lint(a: LintArgs) -> Result<u8> {
    let (objects, diags) = load(&a.input)?;
    let (net, errors) = build(&objects, &diags, &BuildOptions::default());
    let engine = Engine::new(&net);
    let found = lint(&engine);
    let text = match a.output {
        TextOrJson::Text => {
            let mut s = String::new();
            for f in &found {
                s.push_str(&format!(
                    "{}:{}: {} {} [{}] {}: {}\n",
                    f.source,
                    f.line,
                    f.severity.as_str(),
                    f.id,
                    f.name,
                    f.object,
                    f.message
                ));
            }
            s.push_str(&format!("{} finding(s)\n", found.len()));
            s
        }
        TextOrJson::Json => {
            let v: Vec<serde_json::Value> = found
                .iter()
                .map(|f| {
                    serde_json::json!({"id": f.id, "name": f.name, "severity": f.severity.as_str(),
                    "object": f.object, "message": f.message, "source": f.source, "line": f.line})
                })
                .collect();
            serde_json::to_string_pretty(&v)? + "\n"
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    if errors {
        return Ok(EXIT_ERROR);
    }
    let fail = a
        .fail_on
        .is_some_and(|t| found.iter().any(|f| report_severity(f.severity) >= t));
    Ok(if fail { EXIT_FINDINGS } else { EXIT_CLEAN })
}

fn run_diff(a: DiffArgs) -> Result<u8> {
    let (o1, d1) = load_objects(std::slice::from_ref(&a.before), None)?;
    let (o2, d2) = load_objects(std::slice::from_ref(&a.after), None)?;
    let (n1, e1) = build(&o1, &d1, &BuildOptions::default());
    let (n2, e2) = build(&o2, &d2, &BuildOptions::default());
    let (g1, g2) = (Engine::new(&n1), Engine::new(&n2));
    let ranges = merged_ranges(&g1, &g2);
    let opts = ConnOptions {
        ranges: Some(ranges),
        ..ConnOptions::default()
    };
    let changes = render::diff(&lines_of(&g1, &opts), &lines_of(&g2, &opts));
    let text = match a.output {
        ListFormat::Text => render::diff_txt(&changes),
        ListFormat::Json => render::diff_json(&changes),
        ListFormat::Csv => render::diff_csv(&changes),
        ListFormat::Md => render::diff_md(&changes),
        ListFormat::Dot | ListFormat::Html => {
            eprintln!("palisade: error: diff renders txt, json, csv or md");
            return Ok(EXIT_ERROR);
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    if e1 || e2 {
        return Ok(EXIT_ERROR);
    }
    Ok(if a.fail_on_diff && !changes.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn read_flow_log(f: &FlowArgs) -> Result<(palisade_netpol::flows::FlowLog, bool)> {
    if let Some(store) = &f.from_store {
        let log =
            crate::observe::flow_log_from_store(store, f.since.as_deref(), f.until.as_deref())?;
        return Ok((log, false));
    }
    let format = match f.flow_format {
        FlowFormatArg::Auto => FlowFormat::Auto,
        FlowFormatArg::Palisade => FlowFormat::Palisade,
        FlowFormatArg::Hubble => FlowFormat::Hubble,
        FlowFormatArg::Calico => FlowFormat::Calico,
    };
    let mut all = palisade_netpol::flows::FlowLog::default();
    let mut errors = false;
    for p in &f.flows {
        let text = if p.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading flows from stdin")?
        } else {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        };
        let log = read_flows(&text, format);
        for (line, msg) in &log.errors {
            errors = true;
            eprintln!("{}:{line}: error: {msg}", p.display());
        }
        if !log.skipped.is_empty() {
            eprintln!(
                "{}: note: {} line(s) skipped (replies or non-L4 events)",
                p.display(),
                log.skipped.len()
            );
        }
        all.flows.extend(log.flows);
    }
    Ok((all, errors))
}

fn run_recommend(a: RecommendArgs) -> Result<u8> {
    let (objects, diags) = load(&a.input)?;
    let (net, errors) = build(&objects, &diags, &BuildOptions::default());
    let (log, flow_errors) = read_flow_log(&a.flows)?;
    let (resolved, unresolved) = resolve_all(&net, &log);
    for (i, why) in &unresolved {
        eprintln!(
            "flows:{}: warning: flow left out: {why}",
            log.flows[*i].line
        );
    }
    let used: Vec<_> = resolved
        .into_iter()
        .filter(|f| a.include_denied || log.flows[f.flow].verdict != Some(Verdict::Denied))
        .collect();
    let rec = recommend(
        &net,
        &used,
        &RecOptions {
            dns_namespace: Some(a.dns_namespace.clone()),
            no_dns: a.no_dns,
        },
    );
    for n in &rec.notes {
        eprintln!("note: {n}");
    }
    let mut text = format!(
        "# Generated by palisade netpol recommend from {} observed flow(s).\n",
        used.len()
    );
    text.push_str(&rec.policies.join("---\n"));
    write_output(&text, a.output_file.as_deref())?;
    Ok(if errors || flow_errors {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    })
}

fn run_impact(a: ImpactArgs) -> Result<u8> {
    let (objects, diags) = load(&a.input)?;
    let (before_net, mut errors) = build(&objects, &diags, &BuildOptions::default());
    let after_objects: Vec<Object>;
    let staged_mode = a.policies.is_empty();
    let (after_net, after_errors) = if staged_mode {
        after_objects = objects.clone();
        let n = Network::build(
            &after_objects,
            &BuildOptions {
                enforce_staged: true,
            },
        );
        (n, false)
    } else {
        let (new, nd) = load_objects(&a.policies, None)?;
        let keys: Vec<_> = new.iter().filter_map(policy_key).collect();
        let mut merged: Vec<Object> = objects
            .iter()
            .filter(|o| match policy_key(o) {
                Some(k) => !a.replace && !keys.contains(&k),
                None => true,
            })
            .cloned()
            .collect();
        merged.extend(new);
        after_objects = merged;
        let n = Network::build(&after_objects, &BuildOptions::default());
        let e = report(&nd.iter().chain(&n.diagnostics).collect::<Vec<_>>());
        (n, e)
    };
    errors |= after_errors;
    let (log, flow_errors) = read_flow_log(&a.flows)?;
    let (resolved, unresolved) = resolve_all(&before_net, &log);
    for (i, why) in &unresolved {
        eprintln!(
            "flows:{}: warning: flow left out: {why}",
            log.flows[*i].line
        );
    }
    let (b, af) = (Engine::new(&before_net), Engine::new(&after_net));
    let result = impact(&b, &af, &resolved, &log);
    let what = if staged_mode {
        "staged policies"
    } else {
        "the policy change"
    };
    let text = match a.output {
        TextOrJson::Text => impact_text(&result, what, unresolved.len()),
        TextOrJson::Json => {
            let rows = |rs: &[Row]| -> Vec<serde_json::Value> {
                rs.iter()
                    .map(|r| serde_json::json!({"src": r.src, "dst": r.dst, "protocol": r.protocol.as_str(),
                        "port": r.port, "flows": r.flows, "bytes": r.bytes, "lines": r.lines}))
                    .collect()
            };
            serde_json::to_string_pretty(&serde_json::json!({
                "mode": if staged_mode { "staged" } else { "change" },
                "evaluated": result.evaluated, "unresolved": unresolved.len(),
                "still_allowed": result.still_allowed, "still_denied": result.still_denied,
                "newly_denied": rows(&result.newly_denied), "newly_allowed": rows(&result.newly_allowed),
            }))? + "\n"
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    if errors || flow_errors {
        return Ok(EXIT_ERROR);
    }
    Ok(if a.fail_on_deny && !result.newly_denied.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn impact_text(r: &Impact, what: &str, unresolved: usize) -> String {
    let mut s = format!(
        "Impact of {what} on {} observed flow(s){}:\n",
        r.evaluated,
        if unresolved > 0 {
            format!(" ({unresolved} left out: not resolved to the snapshot)")
        } else {
            String::new()
        }
    );
    let sum = |rs: &[Row]| rs.iter().map(|x| x.flows).sum::<u64>();
    s.push_str(&format!(
        "  newly denied:  {} flow(s) in {} connection(s)\n  newly allowed: {} flow(s) in {} connection(s)\n  unchanged:     {} allowed, {} denied\n",
        sum(&r.newly_denied), r.newly_denied.len(), sum(&r.newly_allowed), r.newly_allowed.len(), r.still_allowed, r.still_denied
    ));
    for (title, rows) in [
        ("Newly denied", &r.newly_denied),
        ("Newly allowed", &r.newly_allowed),
    ] {
        if rows.is_empty() {
            continue;
        }
        s.push_str(&format!("{title}:\n"));
        for x in rows {
            s.push_str(&format!(
                "  {} => {} : {}/{}  {} flow(s), {} bytes (lines {})\n",
                x.src,
                x.dst,
                x.protocol.as_str(),
                x.port,
                x.flows,
                x.bytes,
                x.lines
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
    s
}
