//! Text, JSON and HTML for paths, chokepoints and diffs.

use crate::graph::{Fact, Graph};
use crate::html::{esc, graph_page, HtmlEdge, HtmlNode};
use crate::query::{AttackPath, Chokepoints, PathDiff};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

fn fact_text(f: &Fact) -> String {
    let mut s = f.object.clone();
    if !f.path.is_empty() {
        s.push(' ');
        s.push_str(&f.path);
    }
    if !f.source.is_empty() {
        let _ = write!(s, " ({}:{})", f.source, f.line);
    }
    if !f.rule.is_empty() {
        let _ = write!(s, " [{}]", f.rule);
    }
    s
}

fn facts_json(facts: &[Fact]) -> Value {
    serde_json::to_value(facts).unwrap_or(Value::Null)
}

fn path_json(g: &Graph, p: &AttackPath) -> Value {
    json!({
        "source": g.label(p.source),
        "sourceKey": g.key(p.source),
        "jewel": g.jewels[p.jewel].name,
        "hops": p.hops,
        "risk": p.risk,
        "steps": p.edges.iter().map(|&e| {
            let x = &g.edges[e as usize];
            json!({
                "kind": x.kind.as_str(),
                "from": g.label(x.from),
                "to": g.label(x.to),
                "evidence": facts_json(&g.evidence[x.evidence as usize]),
            })
        }).collect::<Vec<_>>(),
    })
}

/// Paths as text: one block per path, one line per step with its first fact.
pub fn paths_text(g: &Graph, paths: &[AttackPath], heading: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{heading}: {} path{} (graph: {} vertices, {} edges)",
        paths.len(),
        if paths.len() == 1 { "" } else { "s" },
        g.vertices.len(),
        g.edges.len()
    );
    for (i, p) in paths.iter().enumerate() {
        let _ = writeln!(
            s,
            "\n[{}] {} → {}  ({} hops, risk {:.2})",
            i + 1,
            g.label(p.source),
            g.jewels[p.jewel].name,
            p.hops,
            p.risk
        );
        for &e in &p.edges {
            let x = &g.edges[e as usize];
            let facts = &g.evidence[x.evidence as usize];
            let _ = writeln!(s, "    {:<22} → {}", x.kind.as_str(), g.label(x.to));
            for f in facts.iter().take(3) {
                let _ = writeln!(s, "    {:<22}   {}", "", fact_text(f));
            }
        }
    }
    s
}

pub fn paths_json(g: &Graph, paths: &[AttackPath], extra: Value) -> Value {
    json!({
        "paths": paths.iter().map(|p| path_json(g, p)).collect::<Vec<_>>(),
        "summary": extra,
    })
}

pub fn chokepoints_text(g: &Graph, c: &Chokepoints) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} connected source → crown jewel pair{}; {} fix{} ({} method), {} pair{} left",
        c.pairs,
        if c.pairs == 1 { "" } else { "s" },
        c.fixes.len(),
        if c.fixes.len() == 1 { "" } else { "es" },
        c.method,
        c.remaining,
        if c.remaining == 1 { "" } else { "s" },
    );
    for (i, f) in c.fixes.iter().enumerate() {
        let x = &g.edges[f.edge as usize];
        let _ = writeln!(
            s,
            "\n{}. cut {} {} → {}  (cuts {} pair{})\n   fix: {}",
            i + 1,
            x.kind.as_str(),
            g.label(x.from),
            g.label(x.to),
            f.cuts,
            if f.cuts == 1 { "" } else { "s" },
            f.remediation
        );
        for fact in &g.evidence[x.evidence as usize] {
            let _ = writeln!(s, "   evidence: {}", fact_text(fact));
        }
    }
    s
}

pub fn chokepoints_json(g: &Graph, c: &Chokepoints) -> Value {
    json!({
        "method": c.method,
        "pairs": c.pairs,
        "remaining": c.remaining,
        "fixes": c.fixes.iter().map(|f| {
            let x = &g.edges[f.edge as usize];
            json!({
                "kind": x.kind.as_str(),
                "from": g.label(x.from),
                "to": g.label(x.to),
                "cuts": f.cuts,
                "remediation": f.remediation,
                "evidence": facts_json(&g.evidence[x.evidence as usize]),
            })
        }).collect::<Vec<_>>(),
    })
}

pub fn diff_text(d: &PathDiff) -> String {
    let mut s = String::new();
    if d.added_per_jewel.is_empty() {
        let _ = writeln!(s, "no new paths");
    }
    for (j, n) in &d.added_per_jewel {
        let _ = writeln!(
            s,
            "this change adds {n} path{} to {j}",
            if *n == 1 { "" } else { "s" }
        );
    }
    for (k, h) in &d.added {
        let _ = writeln!(s, "+ {} → {} ({h} hops)", k.source, k.jewel);
    }
    for (k, h) in &d.removed {
        let _ = writeln!(s, "- {} → {} ({h} hops)", k.source, k.jewel);
    }
    for (k, a, b) in &d.changed {
        let _ = writeln!(s, "~ {} → {} ({a} → {b} hops)", k.source, k.jewel);
    }
    s
}

/// The HTML page: the union of the paths as a graph, the path list and the chokepoints.
pub fn html(
    g: &Graph,
    paths: &[AttackPath],
    chokepoints: Option<&Chokepoints>,
    title: &str,
    assets: crate::html::GraphAssets,
) -> String {
    let mut ids: HashMap<u32, usize> = HashMap::new();
    let mut nodes: Vec<HtmlNode> = Vec::new();
    let mut edges: Vec<HtmlEdge> = Vec::new();
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let targets: std::collections::HashSet<u32> = paths
        .iter()
        .flat_map(|p| g.jewels[p.jewel].vertices.iter().copied())
        .collect();
    let mut node = |v: u32, layer: usize, nodes: &mut Vec<HtmlNode>| -> usize {
        if let Some(&i) = ids.get(&v) {
            let n: &mut HtmlNode = &mut nodes[i];
            n.layer = n.layer.min(layer);
            return i;
        }
        let x = &g.vertices[v as usize];
        nodes.push(HtmlNode {
            label: x.label.clone(),
            group: x.namespace.clone(),
            kind: x.kind.as_str().to_string(),
            layer,
            target: targets.contains(&v),
        });
        ids.insert(v, nodes.len() - 1);
        nodes.len() - 1
    };
    for p in paths {
        let mut layer = 0;
        let mut cur = node(p.source, 0, &mut nodes);
        for &e in &p.edges {
            layer += 1;
            let x = &g.edges[e as usize];
            let to = node(x.to, layer, &mut nodes);
            if let std::collections::hash_map::Entry::Vacant(v) = seen.entry(e) {
                v.insert(edges.len());
                edges.push(HtmlEdge {
                    from: cur,
                    to,
                    label: x.kind.as_str().to_string(),
                    title: g.evidence[x.evidence as usize]
                        .iter()
                        .map(fact_text)
                        .collect::<Vec<_>>()
                        .join("\n"),
                });
            }
            cur = to;
        }
    }
    // Keep layers consistent (a target after its source) after the minimums above.
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in &edges {
            if nodes[e.to].layer <= nodes[e.from].layer && nodes[e.to].layer < nodes.len() {
                let l = nodes[e.from].layer + 1;
                if l < 64 && nodes[e.to].layer != l {
                    nodes[e.to].layer = l;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut sections = String::new();
    if let Some(c) = chokepoints {
        let _ = write!(
            sections,
            "<h2>Chokepoints</h2><p>{} connected source → crown jewel pairs; method: {}; {} left after these fixes.</p><table><tr><th>#</th><th>edge</th><th>cuts</th><th>fix</th></tr>",
            c.pairs, c.method, c.remaining
        );
        for (i, f) in c.fixes.iter().enumerate() {
            let x = &g.edges[f.edge as usize];
            let _ = write!(
                sections,
                "<tr><td>{}</td><td><code>{}</code> {} → {}</td><td>{}</td><td>{}</td></tr>",
                i + 1,
                x.kind.as_str(),
                esc(g.label(x.from)),
                esc(g.label(x.to)),
                f.cuts,
                esc(&f.remediation)
            );
        }
        sections.push_str("</table>");
    }
    let _ = write!(sections, "<h2>Paths</h2><table><tr><th>#</th><th>from</th><th>to</th><th>hops</th><th>risk</th><th>steps</th></tr>");
    for (i, p) in paths.iter().enumerate() {
        let steps: Vec<String> = p
            .edges
            .iter()
            .map(|&e| {
                let x = &g.edges[e as usize];
                format!("<code>{}</code> → {}", x.kind.as_str(), esc(g.label(x.to)))
            })
            .collect();
        let _ = write!(
            sections,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            i + 1,
            esc(g.label(p.source)),
            esc(&g.jewels[p.jewel].name),
            p.hops,
            p.risk,
            steps.join("<br>")
        );
    }
    sections.push_str("</table>");
    let intro = format!(
        "<p>{} paths to crown jewels; graph of {} vertices and {} edges.</p>",
        paths.len(),
        g.vertices.len(),
        g.edges.len()
    );
    graph_page(title, &intro, &nodes, &edges, &sections, assets)
}
