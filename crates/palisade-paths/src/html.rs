//! A self-contained HTML graph page (inline SVG and a few lines of script, no network):
//! vertices in columns by layer (hops from the source), in horizontal bands by group
//! (namespace), directed edges with their labels. Everything a page shows comes through
//! [`graph_page`], so swapping it for the console's graph component is a change here only.

use std::collections::BTreeMap;
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

const COL: f64 = 300.0;
const ROW: f64 = 46.0;
const BOX_W: f64 = 190.0;
const BOX_H: f64 = 30.0;

/// The page: `intro` and `sections` are HTML the caller escaped.
pub fn graph_page(
    title: &str,
    intro: &str,
    nodes: &[HtmlNode],
    edges: &[HtmlEdge],
    sections: &str,
) -> String {
    // Bands: cluster-wide first, then namespaces in order; within a band, one row per
    // node of the fullest column.
    let mut bands: BTreeMap<(bool, String), Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        bands
            .entry((n.group.is_some(), n.group.clone().unwrap_or_default()))
            .or_default()
            .push(i);
    }
    let mut pos = vec![(0.0f64, 0.0f64); nodes.len()];
    let mut y = 10.0;
    let mut band_rects = String::new();
    let layers = nodes.iter().map(|n| n.layer).max().unwrap_or(0) + 1;
    let width = 40.0 + layers as f64 * COL;
    for ((_, name), members) in &bands {
        let mut per_layer: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in members {
            per_layer.entry(nodes[i].layer).or_default().push(i);
        }
        let rows = per_layer.values().map(Vec::len).max().unwrap_or(1);
        let top = y;
        for (layer, list) in &mut per_layer {
            list.sort_by(|a, b| nodes[*a].label.cmp(&nodes[*b].label));
            for (r, &i) in list.iter().enumerate() {
                pos[i] = (30.0 + *layer as f64 * COL, top + 22.0 + r as f64 * ROW);
            }
        }
        let h = 22.0 + rows as f64 * ROW;
        let _ = write!(
            band_rects,
            "<rect class=\"band\" x=\"4\" y=\"{top:.0}\" width=\"{:.0}\" height=\"{h:.0}\"/><text class=\"bl\" x=\"10\" y=\"{:.0}\">{}</text>",
            width - 8.0,
            top + 14.0,
            esc(if name.is_empty() { "cluster" } else { name })
        );
        y += h + 8.0;
    }
    let height = y + 10.0;
    let mut svg = format!(
        "<svg id=\"g\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" xmlns=\"http://www.w3.org/2000/svg\"><defs><marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\"/></marker></defs>{band_rects}"
    );
    for (i, e) in edges.iter().enumerate() {
        let (a, b) = (pos[e.from], pos[e.to]);
        let (x1, y1) = (a.0 + BOX_W, a.1 + BOX_H / 2.0);
        let (x2, y2) = (b.0, b.1 + BOX_H / 2.0);
        let (x2, y2) = if b.0 <= a.0 {
            (b.0 + BOX_W / 2.0, b.1 + if b.1 > a.1 { 0.0 } else { BOX_H })
        } else {
            (x2, y2)
        };
        let dx = ((x2 - x1).abs() / 2.0).max(40.0);
        let _ = write!(
            svg,
            "<g class=\"e\" data-s=\"{}\" data-d=\"{}\" id=\"e{i}\"><path d=\"M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}\" marker-end=\"url(#a)\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text><title>{}</title></g>",
            e.from,
            e.to,
            x1 + dx,
            x2 - dx,
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 3.0,
            esc(&e.label),
            esc(&e.title)
        );
    }
    for (i, n) in nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let short: String = if n.label.chars().count() > 34 {
            n.label.chars().take(33).collect::<String>() + "…"
        } else {
            n.label.clone()
        };
        let _ = write!(
            svg,
            "<g class=\"n {}{}\" data-i=\"{i}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"5\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text><title>{}</title></g>",
            esc(&n.kind),
            if n.target { " target" } else { "" },
            x + 6.0,
            y + 19.0,
            esc(&short),
            esc(&n.label)
        );
    }
    svg.push_str("</svg>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
body{{font-family:sans-serif;margin:1em}}#w{{overflow:auto;border:1px solid #ccc}}\
.band{{fill:#f6f7fb;stroke:#dde}}.bl{{font-size:11px;fill:#778;font-weight:bold}}\
.e path{{fill:none;stroke:#99a;stroke-width:1.3}}.e text{{font-size:9px;fill:#557;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px}}\
.e.on path{{stroke:#d33;stroke-width:2.5}}.e.off{{opacity:.12}}\
.n rect{{fill:#eef;stroke:#88a}}.n text{{font-size:11px}}.n.internet rect,.n.entrypoint rect{{fill:#ffe9c7}}\
.n.identity rect,.n.permissionset rect{{fill:#e4f4e4}}.n.target rect{{fill:#f4cccc;stroke:#c33}}.n.on rect{{stroke:#d33;stroke-width:2.5}}\
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:left;vertical-align:top}}\
code{{font-size:11px}}</style></head>\
<body><h1>{t}</h1>{intro}<p>Click a box to show its edges; hover an edge for its evidence.</p><div id=\"w\">{svg}</div>{sections}\
<script>\
const E=[...document.querySelectorAll('.e')];\
document.querySelectorAll('.n').forEach(n=>n.addEventListener('click',()=>{{const i=n.dataset.i;const on=!n.classList.contains('on');\
document.querySelectorAll('.n').forEach(m=>m.classList.remove('on'));if(on)n.classList.add('on');\
E.forEach(e=>{{const hit=e.dataset.s===i||e.dataset.d===i;e.classList.toggle('on',on&&hit);e.classList.toggle('off',on&&!hit);}});}}));\
</script></body></html>\n",
        t = esc(title),
    )
}
