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

/// A self-contained page: nodes laid out on a circle grouped by namespace, edges with their
/// connections; clicking a node highlights its connections, the filter box narrows the table.
pub fn html(lines: &[Line], title: &str) -> String {
    let mut names: Vec<String> = Vec::new();
    for l in lines {
        for n in [&l.src, &l.dst] {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    names.sort_by_key(|n| (namespace_of(n).is_none(), n.clone()));
    let n = names.len().max(1) as f64;
    let (w, h, r) = (1000.0_f64, 800.0_f64, 320.0_f64);
    let pos: Vec<(f64, f64)> = (0..names.len())
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n;
            (w / 2.0 + r * a.cos(), h / 2.0 + r * a.sin())
        })
        .collect();
    let idx = |s: &str| names.iter().position(|x| x == s).unwrap_or(0);
    let mut svg = format!("<svg id=\"g\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\"><defs><marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\"/></marker></defs>");
    for (i, l) in lines.iter().enumerate() {
        let (a, b) = (pos[idx(&l.src)], pos[idx(&l.dst)]);
        let _ = write!(svg, "<line class=\"e\" data-s=\"{}\" data-d=\"{}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" marker-end=\"url(#a)\"><title>{}</title></line>", idx(&l.src), idx(&l.dst), a.0, a.1, b.0, b.1, html_escape(&format!("{} => {} : {}", l.src, l.dst, l.conns)));
        let _ = i;
    }
    for (i, name) in names.iter().enumerate() {
        let (x, y) = pos[i];
        let class = if namespace_of(name).is_none() {
            "n x"
        } else {
            "n"
        };
        let _ = write!(svg, "<g class=\"{class}\" data-i=\"{i}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>", x + 9.0, y + 4.0, html_escape(name));
    }
    svg.push_str("</svg>");
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
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
body{{font-family:sans-serif;margin:1em}}svg{{width:100%;max-width:1000px;border:1px solid #ccc}}\
.e{{stroke:#8aa;stroke-width:1}}.e.on{{stroke:#d33;stroke-width:2.5}}.e.off{{opacity:.08}}\
.n circle{{fill:#36c}}.n.x circle{{fill:#d80}}.n text{{font-size:10px}}.n.on circle{{fill:#d33}}\
table{{border-collapse:collapse;margin-top:1em}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:12px}}</style></head>\
<body><h1>{t}</h1><p>{c} allowed connections between {k} peers. Click a node to show its connections; type to filter the table.</p>\
{svg}<p><input id=\"f\" placeholder=\"filter\" size=\"40\"></p><table><thead><tr><th>src</th><th>dst</th><th>conn</th></tr></thead><tbody id=\"t\">{rows}</tbody></table>\
<script>\
const E=[...document.querySelectorAll('.e')];\
document.querySelectorAll('.n').forEach(n=>n.addEventListener('click',()=>{{const i=n.dataset.i;const on=!n.classList.contains('on');\
document.querySelectorAll('.n').forEach(m=>m.classList.remove('on'));if(on)n.classList.add('on');\
E.forEach(e=>{{const hit=e.dataset.s===i||e.dataset.d===i;e.classList.toggle('on',on&&hit);e.classList.toggle('off',on&&!hit);}});}}));\
document.getElementById('f').addEventListener('input',ev=>{{const q=ev.target.value.toLowerCase();\
document.querySelectorAll('#t tr').forEach(r=>{{r.style.display=r.textContent.toLowerCase().includes(q)?'':'none';}});}});\
</script></body></html>\n",
        t = html_escape(title),
        c = lines.len(),
        k = names.len(),
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
