//! `palisade rbac`: who can do what, which permissions are dangerous, escalation paths, and
//! least-privilege roles from audit logs. Wiring only: the analyses are in palisade-rbac.

use crate::{write_output, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::Level;
use palisade_rbac::generate::{generate, read_audit_log, GenerateOptions};
use palisade_rbac::kubectl::resource_query;
use palisade_rbac::paths::{html_sections, paths, step_graph, to_dot, Node, PathOptions};
use palisade_rbac::risks::{risks, RiskOptions, Severity};
use palisade_rbac::{bootstrap, BuildOptions, Rbac, Subject, UserInfo};
pub use palisade_scan::rbac::{catalog_rules, is_risk_pattern, report_severity, risk_rule};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RbacArgs {
    #[command(subcommand)]
    command: RbacCommand,
}

#[derive(Subcommand, Debug)]
enum RbacCommand {
    /// Every subject allowed VERB on RESOURCE, with the binding → role → rule that grants it.
    WhoCan(WhoCanArgs),
    /// The effective permissions of a subject, per namespace (like `kubectl auth can-i --list`).
    Can(CanArgs),
    /// May SUBJECT do VERB on RESOURCE? yes or no, with the granting binding → role → rule
    /// (like `kubectl auth can-i VERB RESOURCE --as SUBJECT`).
    CanI(CanIArgs),
    /// Subjects holding dangerous permissions, with severity and the granting binding.
    Risks(RisksArgs),
    /// Escalation paths to cluster-admin-equivalent power, and the workloads exposed.
    Paths(PathsArgs),
    /// Least-privilege Role/ClusterRole and bindings for what a subject did in an audit log.
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
struct Input {
    /// Manifests or a snapshot: files and directories (`-` reads standard input).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read the RBAC objects (and service accounts, workloads, namespaces) of the cluster in
    /// your kubeconfig.
    #[arg(long)]
    cluster: bool,
    /// Kubeconfig context to use with --cluster.
    #[arg(long, requires = "cluster")]
    context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, requires = "cluster")]
    kubeconfig: Option<PathBuf>,
    /// Kubernetes version whose default roles and bindings (cluster-admin, admin, edit, view,
    /// system:*) fill in those the input lacks: a version we carry (see --help of the error), latest, or none.
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    kubernetes_version: String,
    /// Refuse input files larger than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_file_size: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct WhoCanArgs {
    /// The verb: get, list, watch, create, update, patch, delete, deletecollection, or a
    /// special verb (impersonate, bind, escalate, approve, use).
    verb: String,
    /// The resource as `kubectl auth can-i` reads it: pods, deployments.apps,
    /// deployments.v1.apps, widgets.example.com; RESOURCE/NAME for one object (secrets/s1 is
    /// the Secret named s1); or a non-resource URL (/healthz). A subresource goes in
    /// --subresource: `pods/exec` alone is ambiguous and refused.
    resource: String,
    /// The subresource: `pods --subresource exec`, `deployments.apps --subresource scale`.
    #[arg(long, value_name = "SUBRESOURCE")]
    subresource: Option<String>,
    /// Only in this namespace (default: any namespace).
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    /// Only for this object, the same as RESOURCE/NAME (rules limited by resourceNames count
    /// when they name it).
    #[arg(long)]
    name: Option<String>,
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
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct CanIArgs {
    /// The verb, as for `rbac who-can`.
    verb: String,
    /// The resource, read as `kubectl auth can-i` reads it (see `rbac who-can --help`):
    /// secrets/s1 is the Secret named s1; a subresource goes in --subresource.
    resource: String,
    /// Whose request: User:NAME, Group:NAME, ServiceAccount:NS/NAME,
    /// system:serviceaccount:NS:NAME or a username.
    #[arg(long = "as", value_name = "SUBJECT", required = true)]
    subject: String,
    /// Groups of the user besides the implicit ones (repeatable).
    #[arg(long = "as-group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The subresource: `pods --subresource exec`.
    #[arg(long, value_name = "SUBRESOURCE")]
    subresource: Option<String>,
    /// The object's name, the same as RESOURCE/NAME.
    #[arg(long)]
    name: Option<String>,
    /// The namespace of the request (namespaced resources; default: cluster-wide).
    #[arg(long, short = 'n')]
    namespace: Option<String>,
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
    /// Exit 1 when the answer is no.
    #[arg(long)]
    fail_on_deny: bool,
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct CanArgs {
    /// User:NAME, Group:NAME, ServiceAccount:NS/NAME, system:serviceaccount:NS:NAME, or a
    /// username.
    subject: String,
    /// Groups of the user besides the implicit ones (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Only this namespace (cluster-wide grants included, as kubectl shows them).
    #[arg(long, short = 'n')]
    namespace: Option<String>,
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
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct RisksArgs {
    /// Also judge the API server's own default bindings.
    #[arg(long)]
    include_defaults: bool,
    /// Only risks at or above this severity: low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    min_severity: Severity,
    /// Exit 1 when a risk at or above this severity is found (info: any risk).
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    fail_on: Option<palisade_report::Severity>,
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
    #[command(flatten)]
    input: Input,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum GraphFormat {
    Text,
    Json,
    Dot,
    Html,
}

#[derive(Args, Debug)]
struct PathsArgs {
    /// Also report principals whose path starts with a default grant (the control plane's).
    #[arg(long)]
    include_defaults: bool,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    output: GraphFormat,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Exit 1 when some principal has a path.
    #[arg(long)]
    fail_on_path: bool,
    #[command(flatten)]
    input: Input,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Audit log: JSON lines of audit.k8s.io/v1 Events, or an EventList (`-` for stdin).
    #[arg(long, value_name = "FILE", required = true)]
    audit_log: Vec<PathBuf>,
    /// Whose requests: User:NAME, Group:NAME, ServiceAccount:NS/NAME,
    /// system:serviceaccount:NS:NAME or a username.
    #[arg(long)]
    subject: String,
    /// Name of the generated roles and bindings [default: derived from the subject].
    #[arg(long)]
    name: Option<String>,
    /// Also allow requests the API server refused (401/403).
    #[arg(long)]
    include_denied: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    match s.to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        _ => Err(format!(
            "unknown severity {s:?}: low, medium, high or critical"
        )),
    }
}

pub fn run(args: RbacArgs) -> Result<u8> {
    match args.command {
        RbacCommand::WhoCan(a) => who_can(a),
        RbacCommand::Can(a) => can(a),
        RbacCommand::CanI(a) => can_i(a),
        RbacCommand::Risks(a) => run_risks(a),
        RbacCommand::Paths(a) => run_paths(a),
        RbacCommand::Generate(a) => run_generate(a),
    }
}

/// Loads the input and builds the snapshot; diagnostics go to stderr. The flag is true when
/// some input had errors.
fn load(input: &Input) -> Result<(Rbac, bool)> {
    if input.paths.is_empty() && !input.cluster {
        anyhow::bail!("nothing to read: give files, directories, `-` for stdin, or --cluster");
    }
    let defaults = match input.kubernetes_version.as_str() {
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
    let cluster = input.cluster.then(|| palisade_cluster::ClusterOptions {
        context: input.context.clone(),
        kubeconfig: input.kubeconfig.clone(),
        ..palisade_cluster::ClusterOptions::default()
    });
    let loaded = crate::load_inputs(&input.paths, cluster.as_ref(), input.max_file_size);
    let rbac = Rbac::build(&loaded.objects, &BuildOptions { defaults });
    let mut stderr = std::io::stderr().lock();
    let mut errors = false;
    for d in loaded.diagnostics.iter().chain(&rbac.diagnostics) {
        errors |= d.level == Level::Error;
        let _ = writeln!(stderr, "{d}");
    }
    Ok((rbac, errors))
}

fn status(errors: bool, findings: bool) -> u8 {
    if errors {
        EXIT_ERROR
    } else if findings {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// A plain text table: columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn who_can(a: WhoCanArgs) -> Result<u8> {
    let (rbac, errors) = load(&a.input)?;
    let query = match resource_query(
        &rbac.resources,
        &a.verb,
        &a.resource,
        a.name.as_deref(),
        a.subresource.as_deref(),
    ) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let (mut req, namespaced) = (query.request, query.namespaced);
    let shown = match &req.path {
        Some(p) => p.clone(),
        None => {
            let combined = req.combined_resource();
            if req.group.is_empty() {
                combined
            } else {
                format!("{combined} (apiGroup {})", req.group)
            }
        }
    };
    if namespaced {
        req.namespace = a.namespace.clone();
    } else if a.namespace.is_some() && req.path.is_none() {
        eprintln!("palisade: note: {shown} is cluster-scoped; -n is ignored");
    }
    let rows = rbac.who_can(&req, namespaced);
    match a.output {
        TextOrJson::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|w| {
                    let b = &rbac.bindings[w.grant.binding];
                    serde_json::json!({
                        "subject": w.subject,
                        "scope": w.scope.to_string(),
                        "binding": b.label(),
                        "role": rbac.roles[w.grant.role].label(),
                        "ruleIndex": w.grant.rule,
                        "rule": rbac.roles[w.grant.role].rules[w.grant.rule],
                        "source": b.origin.to_string(),
                        "default": b.default,
                    })
                })
                .collect();
            let doc = serde_json::json!({"request": req, "allowed": items});
            write_output(
                &(serde_json::to_string_pretty(&doc)? + "\n"),
                a.output_file.as_deref(),
            )?;
        }
        TextOrJson::Text => {
            let scope = match (&req.namespace, namespaced) {
                (Some(ns), true) => format!(" in namespace {ns}"),
                (None, true) => " in any namespace".to_string(),
                _ => String::new(),
            };
            let mut out = format!(
                "Who can {} {}{}{}: {} grant(s)\n\n",
                a.verb,
                shown,
                req.name
                    .as_ref()
                    .map(|n| format!(" named {n}"))
                    .unwrap_or_default(),
                scope,
                rows.len()
            );
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|w| {
                    let b = &rbac.bindings[w.grant.binding];
                    vec![
                        w.subject.to_string(),
                        w.scope.to_string(),
                        format!(
                            "{} → {} rules[{}]{}",
                            b.label(),
                            rbac.roles[w.grant.role].label(),
                            w.grant.rule,
                            if b.default { " (default)" } else { "" }
                        ),
                    ]
                })
                .collect();
            out.push_str(&table(&["SUBJECT", "SCOPE", "VIA"], &cells));
            write_output(&out, a.output_file.as_deref())?;
        }
    }
    Ok(status(errors, false))
}

fn can_i(a: CanIArgs) -> Result<u8> {
    let subject = Subject::parse(&a.subject).map_err(anyhow::Error::msg)?;
    let (rbac, errors) = load(&a.input)?;
    let query = match resource_query(
        &rbac.resources,
        &a.verb,
        &a.resource,
        a.name.as_deref(),
        a.subresource.as_deref(),
    ) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("palisade: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut req = query.request;
    if query.namespaced {
        req.namespace = a.namespace.clone();
    } else if a.namespace.is_some() && req.path.is_none() {
        eprintln!(
            "palisade: note: {} is cluster-scoped; -n is ignored",
            req.combined_resource()
        );
    }
    let user = UserInfo::of(&subject, &a.groups);
    let review = rbac.review(&user, &req);
    let text = match a.output {
        TextOrJson::Json => {
            let doc = serde_json::json!({
                "subject": subject,
                "request": req,
                "allowed": review.allowed,
                "reason": review.reason,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        TextOrJson::Text => {
            let mut s = if review.allowed { "yes\n" } else { "no\n" }.to_string();
            if !review.reason.is_empty() {
                s.push_str(&format!("{}\n", review.reason));
            }
            s
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    Ok(status(errors, a.fail_on_deny && !review.allowed))
}

fn can(a: CanArgs) -> Result<u8> {
    let subject = Subject::parse(&a.subject).map_err(anyhow::Error::msg)?;
    let (rbac, errors) = load(&a.input)?;
    let user = UserInfo::of(&subject, &a.groups);
    let tables = rbac.permissions(&user, a.namespace.as_deref());
    match a.output {
        TextOrJson::Json => {
            let doc = serde_json::json!({
                "subject": subject,
                "username": user.name,
                "groups": user.groups,
                "permissions": tables,
            });
            write_output(
                &(serde_json::to_string_pretty(&doc)? + "\n"),
                a.output_file.as_deref(),
            )?;
        }
        TextOrJson::Text => {
            let mut out = format!(
                "Permissions of {subject} (groups: {})\n",
                user.groups.join(", ")
            );
            for t in &tables {
                out.push_str(&format!("\n== {}\n", t.scope));
                if t.rows.is_empty() {
                    out.push_str("(nothing)\n");
                    continue;
                }
                let cells: Vec<Vec<String>> = t
                    .rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.resource.clone(),
                            r.non_resource_url.clone(),
                            if r.resource_names.is_empty() {
                                String::new()
                            } else {
                                format!("[{}]", r.resource_names.join(" "))
                            },
                            format!("[{}]", r.verbs.join(" ")),
                            r.via.join("; "),
                        ]
                    })
                    .collect();
                out.push_str(&table(
                    &[
                        "RESOURCES",
                        "NON-RESOURCE URLS",
                        "RESOURCE NAMES",
                        "VERBS",
                        "VIA",
                    ],
                    &cells,
                ));
            }
            write_output(&out, a.output_file.as_deref())?;
        }
    }
    Ok(status(errors, false))
}

fn run_risks(a: RisksArgs) -> Result<u8> {
    let (rbac, errors) = load(&a.input)?;
    let found: Vec<_> = risks(
        &rbac,
        &RiskOptions {
            include_defaults: a.include_defaults,
        },
    )
    .into_iter()
    .filter(|r| r.severity >= a.min_severity)
    .collect();
    match a.output {
        TextOrJson::Json => write_output(
            &(serde_json::to_string_pretty(&found)? + "\n"),
            a.output_file.as_deref(),
        )?,
        TextOrJson::Text => {
            let mut out = String::new();
            for r in &found {
                out.push_str(&format!(
                    "{}:{}: {} {} [{}] {} {}, {}\n    via {} → {}{}\n",
                    r.source,
                    r.line,
                    r.severity.as_str(),
                    r.id,
                    r.name,
                    r.subject,
                    r.title,
                    r.scope,
                    r.binding,
                    r.role,
                    if r.rule.is_empty() {
                        String::new()
                    } else {
                        format!(" rules[{}]: {}", r.rule_index.unwrap_or(0), r.rule)
                    }
                ));
            }
            let count = |s: Severity| found.iter().filter(|r| r.severity == s).count();
            out.push_str(&format!(
                "\n{} risk(s): {} critical, {} high, {} medium, {} low\n",
                found.len(),
                count(Severity::Critical),
                count(Severity::High),
                count(Severity::Medium),
                count(Severity::Low)
            ));
            write_output(&out, a.output_file.as_deref())?;
        }
    }
    let failing = a
        .fail_on
        .is_some_and(|t| found.iter().any(|r| report_severity(r.severity) >= t));
    Ok(status(errors, failing))
}

/// `rbac paths -o html`: the escalation graph drawn by the console's graph component (the
/// page of `paths -o html` and `netpol connlist -o html`), with the tables under it.
fn paths_page(report: &palisade_rbac::paths::PathsReport) -> String {
    use palisade_paths::html::{graph_page, HtmlEdge, HtmlNode};
    let g = step_graph(report);
    let nodes: Vec<HtmlNode> = g
        .nodes
        .iter()
        .map(|(n, hop)| HtmlNode {
            label: n.to_string(),
            group: n.namespace().map(str::to_string),
            kind: match n {
                Node::Principal { .. } => "identity",
                Node::NamespaceServiceAccounts { .. } | Node::NamespacePodTokens { .. } => {
                    "identity-group"
                }
                Node::NodeRoot => "node",
                Node::ClusterAdmin => "cluster-admin",
            }
            .to_string(),
            layer: *hop,
            target: *n == Node::ClusterAdmin,
        })
        .collect();
    let edges: Vec<HtmlEdge> = g
        .edges
        .iter()
        .map(|(from, to, action, via)| HtmlEdge {
            from: *from,
            to: *to,
            label: action.clone(),
            title: via.clone(),
        })
        .collect();
    let intro = format!(
        "<p>{} principals reach cluster-admin-equivalent power; {} workloads run as one of them. \
         Whole escalation graph: {} vertices, {} steps.</p>",
        report.paths.len(),
        report.workloads.len(),
        report.graph_nodes,
        report.graph_edges
    );
    graph_page(
        "RBAC escalation paths",
        &intro,
        &nodes,
        &edges,
        &html_sections(report),
        palisade_console::assets::graph_assets(),
    )
}

fn run_paths(a: PathsArgs) -> Result<u8> {
    let (rbac, errors) = load(&a.input)?;
    let report = paths(
        &rbac,
        &PathOptions {
            include_defaults: a.include_defaults,
        },
    );
    let text = match a.output {
        GraphFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        GraphFormat::Dot => to_dot(&report),
        GraphFormat::Html => paths_page(&report),
        GraphFormat::Text => {
            let mut out = String::new();
            if !report.workloads.is_empty() {
                out.push_str(
                    "Workloads running as a service account with a path to cluster-admin:\n",
                );
                for w in &report.workloads {
                    out.push_str(&format!(
                        "  {} (as {}, {} step(s))\n",
                        w.workload, w.service_account, w.path_length
                    ));
                }
                out.push('\n');
            }
            for p in &report.paths {
                out.push_str(&format!(
                    "{} → cluster-admin equivalent in {} step(s)\n",
                    p.subject,
                    p.steps.len()
                ));
                for (i, s) in p.steps.iter().enumerate() {
                    out.push_str(&format!(
                        "  {}. {}: {} → {}\n     via {}\n",
                        i + 1,
                        s.from,
                        s.action,
                        s.to,
                        s.via
                    ));
                }
            }
            out.push_str(&format!(
                "\n{} principal(s) with a path, {} workload(s) exposed (graph: {} nodes, {} steps)\n",
                report.paths.len(),
                report.workloads.len(),
                report.graph_nodes,
                report.graph_edges
            ));
            out
        }
    };
    write_output(&text, a.output_file.as_deref())?;
    Ok(status(errors, a.fail_on_path && !report.paths.is_empty()))
}

fn run_generate(a: GenerateArgs) -> Result<u8> {
    let subject = Subject::parse(&a.subject).map_err(anyhow::Error::msg)?;
    let mut requests = Vec::new();
    let mut errors = false;
    for p in &a.audit_log {
        let (source, text) = if p.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .context("cannot read standard input")?;
            ("<stdin>".to_string(), s)
        } else {
            let s = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            (p.display().to_string(), s)
        };
        let (reqs, errs) = read_audit_log(&source, &text);
        for e in &errs {
            eprintln!("{e}");
        }
        errors |= !errs.is_empty();
        requests.extend(reqs);
    }
    let name = a.name.clone().unwrap_or_else(|| {
        let base = match (&subject.kind, &subject.namespace) {
            (palisade_rbac::SubjectKind::ServiceAccount, Some(ns)) => {
                format!("{ns}-{}", subject.name)
            }
            _ => subject.name.clone(),
        };
        let clean: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}-least-privilege", clean.trim_matches('-'))
    });
    let gen = generate(
        &requests,
        &GenerateOptions {
            subject: subject.clone(),
            name,
            include_denied: a.include_denied,
        },
    );
    if gen.used == 0 {
        eprintln!(
            "palisade: warning: no request of {subject} in the audit log ({} requests read){}",
            requests.len(),
            if gen.denied > 0 {
                format!(
                    "; {} refused ones left out (--include-denied keeps them)",
                    gen.denied
                )
            } else {
                String::new()
            }
        );
    } else if gen.denied > 0 {
        eprintln!(
            "palisade: note: {} request(s) the API server refused are not allowed by these roles (--include-denied keeps them)",
            gen.denied
        );
    }
    write_output(&gen.yaml, None)?;
    Ok(status(errors, false))
}
