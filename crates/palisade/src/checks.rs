//! `palisade checks`: list the one catalog (every rule any command reports), filter it by
//! source, framework or severity, explain one rule, or print it as Markdown (docs/checks.md).

use crate::catalog::catalog;
use crate::{write_output, EXIT_CLEAN, EXIT_ERROR};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use palisade_checks::{CatalogEntry, Severity};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ChecksArgs {
    #[command(subcommand)]
    pub command: Option<ChecksCommand>,
    /// Only rules from this source: pss, scan, rbac, netpol (see the SOURCE column).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// Only rules in this framework: pss-baseline, pss-restricted, cis, nsa, mitre.
    #[arg(long)]
    pub framework: Option<String>,
    /// Only rules of this severity or higher.
    #[arg(long, value_name = "SEVERITY", value_parser = crate::severity_parser())]
    pub severity: Option<Severity>,
    /// Output format (md is the whole catalog with documentation: docs/checks.md).
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub output: ChecksFormat,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ChecksFormat {
    Text,
    Json,
    Md,
}

#[derive(Subcommand, Debug)]
pub enum ChecksCommand {
    /// Print a rule's documentation.
    Explain {
        /// Rule ID or name, e.g. PSS102, privileged, RBAC005 or NP004.
        id: String,
    },
}

fn explain(e: &CatalogEntry) -> String {
    let r = &e.rule;
    let mut s = format!("# {} {} — {}\n\n", r.id, r.name, r.title);
    s.push_str(&format!("Severity: {}\nSource: {}\n", r.severity, e.source));
    if !e.frameworks.is_empty() {
        s.push_str(&format!("Frameworks: {}\n", e.frameworks.join(", ")));
    }
    s.push('\n');
    s.push_str(&r.docs);
    s
}

pub fn run(args: ChecksArgs) -> Result<u8> {
    let cat = catalog();
    if let Some(ChecksCommand::Explain { id }) = &args.command {
        let Some(e) = cat.find(id) else {
            eprintln!("palisade: error: unknown check {id:?} (see `palisade checks`)");
            return Ok(EXIT_ERROR);
        };
        write_output(&explain(e), args.output_file.as_deref())?;
        return Ok(EXIT_CLEAN);
    }
    if args.output == ChecksFormat::Md {
        if args.source.is_some() || args.framework.is_some() || args.severity.is_some() {
            eprintln!("palisade: error: -o md prints the whole catalog; filters do not apply");
            return Ok(EXIT_ERROR);
        }
        write_output(
            &palisade_checks::docs::catalog_markdown(cat),
            args.output_file.as_deref(),
        )?;
        return Ok(EXIT_CLEAN);
    }
    if let Some(s) = &args.source {
        let known = cat.sources();
        if !known.contains(&s.as_str()) {
            eprintln!(
                "palisade: error: unknown source {s:?} ({})",
                known.join(", ")
            );
            return Ok(EXIT_ERROR);
        }
    }
    if let Some(f) = &args.framework {
        let mut known: Vec<&str> = Vec::new();
        for e in cat.entries() {
            for fw in &e.frameworks {
                if !known.contains(&fw.as_str()) {
                    known.push(fw);
                }
            }
        }
        if !known.contains(&f.as_str()) {
            eprintln!(
                "palisade: error: unknown framework {f:?} ({})",
                known.join(", ")
            );
            return Ok(EXIT_ERROR);
        }
    }
    let selected: Vec<&CatalogEntry> = cat
        .entries()
        .iter()
        .filter(|e| {
            args.source.as_deref().is_none_or(|s| e.source == s)
                && args
                    .framework
                    .as_deref()
                    .is_none_or(|f| e.frameworks.iter().any(|x| x == f))
                && args.severity.is_none_or(|s| e.rule.severity >= s)
        })
        .collect();
    let text = match args.output {
        ChecksFormat::Json => {
            let v: Vec<_> = selected
                .iter()
                .map(|e| {
                    let r = &e.rule;
                    serde_json::json!({
                        "id": r.id, "name": r.name, "title": r.title, "severity": r.severity,
                        "source": e.source, "category": e.category, "frameworks": e.frameworks,
                        "tags": r.tags, "helpUri": r.help_uri,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&v)? + "\n"
        }
        _ => {
            let id_w = selected
                .iter()
                .map(|e| e.rule.id.len())
                .max()
                .unwrap_or(2)
                .max(7);
            let name_w = selected
                .iter()
                .map(|e| e.rule.name.len())
                .max()
                .unwrap_or(4);
            let mut s = format!(
                "{:<id_w$} {:<name_w$} {:<7} {:<9} TITLE\n",
                "ID", "NAME", "SOURCE", "SEVERITY"
            );
            for e in &selected {
                let r = &e.rule;
                s.push_str(&format!(
                    "{:<id_w$} {:<name_w$} {:<7} {:<9} {}\n",
                    r.id,
                    r.name,
                    e.source,
                    r.severity.as_str(),
                    r.title
                ));
            }
            s.push_str(&format!(
                "\n{} rules (`palisade checks explain ID` for details)\n",
                selected.len()
            ));
            s
        }
    };
    write_output(&text, args.output_file.as_deref())?;
    Ok(EXIT_CLEAN)
}
