//! The self-contained HTML graph page (one file, no network), drawn by the console's graph
//! component, which the caller passes in ([`GraphAssets`]): vertices grouped by namespace,
//! directed edges with their labels and evidence. Everything a page shows comes through
//! [`graph_page`].

use std::fmt::Write as _;

/// A vertex of the page.
#[derive(Clone, Debug)]
pub struct HtmlNode {
    pub label: String,
    /// The band it is drawn in (a namespace); `None`: the cluster-wide band.
    pub group: Option<String>,
    /// A CSS class (the vertex kind).
    pub kind: String,
    /// Column.
    pub layer: usize,
    /// Drawn as a target.
    pub target: bool,
}

/// A directed edge of the page.
#[derive(Clone, Debug)]
pub struct HtmlEdge {
    pub from: usize,
    pub to: usize,
    pub label: String,
    /// Shown on hover (evidence).
    pub title: String,
}

/// Escapes text for HTML content and attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub use palisade_netpol::render::GraphAssets;

/// The page, drawn by the console's graph component (the same as the console's and
/// `netpol connlist -o html`'s): vertices inside their group (namespace; cluster-wide ones in
/// `(cluster)`), attack edges directed, targets marked; `intro` and `sections` are HTML the
/// caller escaped.
pub fn graph_page(
    title: &str,
    intro: &str,
    nodes: &[HtmlNode],
    edges: &[HtmlEdge],
    sections: &str,
    assets: GraphAssets,
) -> String {
    let mut groups: Vec<String> = Vec::new();
    let id = |i: usize| format!("v{i}");
    let nodes_json: Vec<serde_json::Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let group = n.group.clone().unwrap_or_else(|| "(cluster)".into());
            if !groups.contains(&group) {
                groups.push(group.clone());
            }
            let kind = if n.target { "target" } else { n.kind.as_str() };
            serde_json::json!({"id": id(i), "namespace": group, "name": n.label, "kind": kind,
                "note": format!("{} ({}{}, {} hop(s) from the source)", n.label, n.kind,
                    if n.target { ", crown jewel" } else { "" }, n.layer)})
        })
        .collect();
    let edges_json: Vec<serde_json::Value> = edges
        .iter()
        .filter(|e| e.from < nodes.len() && e.to < nodes.len())
        .map(|e| {
            serde_json::json!({"src": id(e.from), "dst": id(e.to), "flows": 1, "bytes": 0,
                "denied": 0, "plaintext": 0, "class": "attack",
                "label": if e.title.is_empty() { e.label.clone() } else { format!("{} — {}", e.label, e.title) }})
        })
        .collect();
    let data = serde_json::json!({
        "namespaces": groups.iter().map(|g| serde_json::json!({"id": g})).collect::<Vec<_>>(),
        "nodes": nodes_json,
        "edges": edges_json,
        "widthBy": "flows",
    });
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{style}</style></head>\n\
<body class=\"report\"><div class=\"top\"><h1>{t}</h1><label>Search <input id=\"search\" type=\"search\" placeholder=\"vertex\"></label><span id=\"legend\"></span></div>\n\
<div class=\"intro\">{intro}<p>Select an edge for its evidence or a vertex for its edges (click, or focus the graph: arrow keys, Enter); double-click a group title to collapse it. Crown jewels are drawn red.</p></div>\n\
<main><canvas id=\"graph\" tabindex=\"0\" aria-label=\"Attack graph\"></canvas><aside id=\"info\" aria-live=\"polite\"></aside></main>\n\
<section>{sections}</section>\n\
<script id=\"graph-data\" type=\"application/json\">{data}</script>\n<script>{script}</script>\n</body></html>\n",
        t = esc(title),
        style = assets.style.replace("</", "<\\/"),
        data = palisade_netpol::render::script_json(&data),
        script = assets.script.replace("</script", "<\\/script"),
    );
    out
}
