//! Connection list renderers: np-guard's text, JSON, CSV, Markdown, Graphviz dot and a
//! self-contained HTML page with an interactive graph; and the semantic diff of two lists.

use crate::conn::ConnSet;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line of a connection list, by label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    pub src: String,
    pub dst: String,
    pub conns: ConnSet,
}

pub fn txt(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        let _ = writeln!(s, "{} => {} : {}", l.src, l.dst, l.conns);
    }
    s
}

pub fn json(lines: &[Line]) -> String {
    let v: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::json!({"src": l.src, "dst": l.dst, "conn": l.conns.to_string()}))
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(lines: &[Line]) -> String {
    let mut s = String::from("src,dst,conn\n");
    for l in lines {
        let _ = writeln!(
            s,
            "{},{},{}",
            csv_field(&l.src),
            csv_field(&l.dst),
            csv_field(&l.conns.to_string())
        );
    }
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn md(lines: &[Line]) -> String {
    let mut s = String::from("| src | dst | conn |\n|-----|-----|------|\n");
    for l in lines {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            md_cell(&l.src),
            md_cell(&l.dst),
            md_cell(&l.conns.to_string())
        );
    }
    s
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz: one cluster per namespace; external ranges and the ingress controller outside.
pub fn dot(lines: &[Line]) -> String {
    let mut nodes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        for n in [&l.src, &l.dst] {
            let group = namespace_of(n).unwrap_or_default();
            let e = nodes.entry(group).or_default();
            if !e.contains(n) {
                e.push(n.clone());
            }
        }
    }
    let mut s = String::from("digraph {\n\tcompound=true\n\tnode [shape=box fontsize=10]\n");
    for (i, (ns, members)) in nodes.iter().enumerate() {
        if ns.is_empty() {
            for m in members {
                let shape = if m.ends_with("[External]") {
                    "octagon"
                } else {
                    "diamond"
                };
                let _ = writeln!(
                    s,
                    "\t{} [label={} shape={shape} color=red2]",
                    dot_id(m),
                    dot_id(m)
                );
            }
            continue;
        }
        let _ = writeln!(
            s,
            "\tsubgraph cluster_{i} {{\n\t\tlabel={}\n\t\tstyle=dotted",
            dot_id(ns)
        );
        for m in members {
            let _ = writeln!(s, "\t\t{} [label={}]", dot_id(m), dot_id(short(m)));
        }
        s.push_str("\t}\n");
    }
    for l in lines {
        let _ = writeln!(
            s,
            "\t{} -> {} [label={} fontsize=8]",
            dot_id(&l.src),
            dot_id(&l.dst),
            dot_id(&l.conns.to_string())
        );
    }
    s.push_str("}\n");
    s
}

fn namespace_of(label: &str) -> Option<String> {
    if label.ends_with("[External]") || label.starts_with('{') {
        return None;
    }
    label.split_once('/').map(|(ns, _)| ns.to_string())
}

fn short(label: &str) -> &str {
    label.split_once('/').map(|(_, n)| n).unwrap_or(label)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The console's graph component, for self-contained report pages: the script (defining
/// the component and drawing `#graph` from the `graph-data` JSON) and the style sheet. The
/// binary passes `palisade_console::assets`; empty strings give a page with the data and the
/// table but no drawing.
#[derive(Clone, Copy, Debug, Default)]
pub struct GraphAssets<'a> {
    pub script: &'a str,
    pub style: &'a str,
}

/// JSON placed inside a `<script>` element: `<` is escaped so no string can close it.
pub fn script_json(v: &serde_json::Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// A self-contained page (one file, no network) drawn by the console's graph component:
/// workloads inside their namespaces, directed edges with their connections, search,
/// collapse/expand, keyboard selection; the table below lists every connection.
pub fn html(lines: &[Line], title: &str, assets: GraphAssets) -> String {
    let mut names: Vec<String> = Vec::new();
    for l in lines {
        for n in [&l.src, &l.dst] {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    names.sort_by_key(|n| (namespace_of(n).is_none(), n.clone()));
    let mut namespaces: Vec<String> = Vec::new();
    let nodes: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            let (group, kind) = match namespace_of(n) {
                Some(ns) => (ns, "workload"),
                None => ("(external)".to_string(), "external"),
            };
            if !namespaces.contains(&group) {
                namespaces.push(group.clone());
            }
            {
                // The workload's name without its kind (`web[Deployment]` → `web`).
                let name = short(n);
                let name = match name.rfind('[') {
                    Some(i) if i > 0 && name.ends_with(']') => &name[..i],
                    _ => name,
                };
                serde_json::json!({"id": n, "namespace": group, "name": name, "kind": kind})
            }
        })
        .collect();
    let edges: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            serde_json::json!({"src": l.src, "dst": l.dst, "flows": 1, "bytes": 0, "denied": 0,
                "plaintext": 0, "class": "allowed", "label": l.conns.to_string()})
        })
        .collect();
    let data = serde_json::json!({
        "namespaces": namespaces.iter().map(|n| serde_json::json!({"id": n})).collect::<Vec<_>>(),
        "nodes": nodes,
        "edges": edges,
        "widthBy": "flows",
    });
    let mut rows = String::new();
    for l in lines {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&l.src),
            html_escape(&l.dst),
            html_escape(&l.conns.to_string())
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{style}</style></head>\n\
<body class=\"report\"><div class=\"top\"><h1>{t}</h1><label>Search <input id=\"search\" type=\"search\" placeholder=\"workload\"></label><span id=\"legend\"></span></div>\n\
<p class=\"intro\">{c} allowed connections between {k} peers. Select an edge or a workload (click, or focus the graph: arrow keys, Enter); double-click a namespace title to collapse it.</p>\n\
<main><canvas id=\"graph\" tabindex=\"0\" aria-label=\"Connectivity graph\"></canvas><aside id=\"info\" aria-live=\"polite\"></aside></main>\n\
<section><table><thead><tr><th>src</th><th>dst</th><th>conn</th></tr></thead><tbody>{rows}</tbody></table></section>\n\
<script id=\"graph-data\" type=\"application/json\">{data}</script>\n<script>{script}</script>\n</body></html>\n",
        t = html_escape(title),
        c = lines.len(),
        k = names.len(),
        style = assets.style.replace("</", "<\\/"),
        data = script_json(&data),
        script = assets.script.replace("</script", "<\\/script"),
    )
}

/// A difference between two connection lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(Line),
    Removed(Line),
    Changed {
        src: String,
        dst: String,
        before: ConnSet,
        after: ConnSet,
    },
}

pub fn diff(before: &[Line], after: &[Line]) -> Vec<Change> {
    let b: BTreeMap<(&str, &str), &ConnSet> = before
        .iter()
        .map(|l| ((l.src.as_str(), l.dst.as_str()), &l.conns))
        .collect();
    let a: BTreeMap<(&str, &str), &ConnSet> = after
        .iter()
        .map(|l| ((l.src.as_str(), l.dst.as_str()), &l.conns))
        .collect();
    let mut out = Vec::new();
    for (k, bc) in &b {
        match a.get(k) {
            None => out.push(Change::Removed(Line {
                src: k.0.into(),
                dst: k.1.into(),
                conns: (*bc).clone(),
            })),
            Some(ac) if ac != bc => out.push(Change::Changed {
                src: k.0.into(),
                dst: k.1.into(),
                before: (*bc).clone(),
                after: (*ac).clone(),
            }),
            _ => {}
        }
    }
    for (k, ac) in &a {
        if !b.contains_key(k) {
            out.push(Change::Added(Line {
                src: k.0.into(),
                dst: k.1.into(),
                conns: (*ac).clone(),
            }));
        }
    }
    out.sort_by(|x, y| key(x).cmp(&key(y)));
    out
}

fn key(c: &Change) -> (&str, &str) {
    match c {
        Change::Added(l) | Change::Removed(l) => (&l.src, &l.dst),
        Change::Changed { src, dst, .. } => (src, dst),
    }
}

pub fn diff_txt(changes: &[Change]) -> String {
    let mut s = String::new();
    for c in changes {
        let _ = match c {
            Change::Added(l) => writeln!(s, "added    {} => {} : {}", l.src, l.dst, l.conns),
            Change::Removed(l) => writeln!(s, "removed  {} => {} : {}", l.src, l.dst, l.conns),
            Change::Changed {
                src,
                dst,
                before,
                after,
            } => {
                let gained = after.subtract(before);
                let lost = before.subtract(after);
                writeln!(s, "changed  {src} => {dst} : {before} -> {after} (gained: {gained}; lost: {lost})")
            }
        };
    }
    s
}

pub fn diff_json(changes: &[Change]) -> String {
    let v: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| match c {
            Change::Added(l) => serde_json::json!({"diff": "added", "src": l.src, "dst": l.dst, "before": null, "after": l.conns.to_string()}),
            Change::Removed(l) => serde_json::json!({"diff": "removed", "src": l.src, "dst": l.dst, "before": l.conns.to_string(), "after": null}),
            Change::Changed { src, dst, before, after } => serde_json::json!({"diff": "changed", "src": src, "dst": dst, "before": before.to_string(), "after": after.to_string()}),
        })
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

pub fn diff_csv(changes: &[Change]) -> String {
    let mut s = String::from("diff,src,dst,before,after\n");
    for c in changes {
        let (kind, src, dst, b, a) = match c {
            Change::Added(l) => ("added", &l.src, &l.dst, String::new(), l.conns.to_string()),
            Change::Removed(l) => (
                "removed",
                &l.src,
                &l.dst,
                l.conns.to_string(),
                String::new(),
            ),
            Change::Changed {
                src,
                dst,
                before,
                after,
            } => ("changed", src, dst, before.to_string(), after.to_string()),
        };
        let _ = writeln!(
            s,
            "{kind},{},{},{},{}",
            csv_field(src),
            csv_field(dst),
            csv_field(&b),
            csv_field(&a)
        );
    }
    s
}

pub fn diff_md(changes: &[Change]) -> String {
    let mut s = String::from(
        "| diff | src | dst | before | after |\n|------|-----|-----|--------|-------|\n",
    );
    for c in changes {
        let (kind, src, dst, b, a) = match c {
            Change::Added(l) => ("added", &l.src, &l.dst, String::new(), l.conns.to_string()),
            Change::Removed(l) => (
                "removed",
                &l.src,
                &l.dst,
                l.conns.to_string(),
                String::new(),
            ),
            Change::Changed {
                src,
                dst,
                before,
                after,
            } => ("changed", src, dst, before.to_string(), after.to_string()),
        };
        let _ = writeln!(
            s,
            "| {kind} | {} | {} | {} | {} |",
            md_cell(src),
            md_cell(dst),
            md_cell(&b),
            md_cell(&a)
        );
    }
    s
}
