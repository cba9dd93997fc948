//! Questions asked of the graph: shortest paths from sources to crown jewels, critical
//! paths, chokepoints (the fixes that cut the most paths) and the difference between two
//! snapshots.
//!
//! Every search is a reverse breadth-first search from one crown jewel's vertices, so one
//! pass answers "how far, and by which next edge" for every vertex at once; a path is the
//! chain of next edges from its source.

use crate::graph::{EdgeKind, Graph, JewelKind, VertexKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Distances and next edges towards one jewel.
struct Towards {
    dist: Vec<u32>,
    next: Vec<u32>,
}

const NONE: u32 = u32::MAX;

fn towards(g: &Graph, targets: &[u32], removed: &[bool]) -> Towards {
    let n = g.vertices.len();
    let mut dist = vec![NONE; n];
    let mut next = vec![NONE; n];
    let mut queue = VecDeque::new();
    for &t in targets {
        if dist[t as usize] == NONE {
            dist[t as usize] = 0;
            queue.push_back(t);
        }
    }
    // 0-1 breadth-first search: ANY_OF edges weigh nothing.
    let mut done = vec![false; n];
    let mut order = Vec::new();
    while let Some(t) = queue.pop_front() {
        if std::mem::replace(&mut done[t as usize], true) {
            continue;
        }
        order.push(t);
        for &ei in &g.inc[t as usize] {
            if removed.get(ei as usize).copied().unwrap_or(false) {
                continue;
            }
            let e = &g.edges[ei as usize];
            let f = e.from as usize;
            let w = e.kind.weight();
            let d = dist[t as usize] + w;
            if d < dist[f] {
                dist[f] = d;
                if w == 0 {
                    queue.push_front(f as u32);
                } else {
                    queue.push_back(f as u32);
                }
            }
        }
    }
    // Among the shortest, the most likely: in order of distance, each vertex takes the
    // next edge with the highest likelihood × the best of what follows (ties: first edge).
    let mut best = vec![0.0f64; n];
    for &v in &order {
        let d = dist[v as usize];
        if targets.contains(&v) {
            best[v as usize] = 1.0;
            continue;
        }
        for &ei in &g.out[v as usize] {
            if removed.get(ei as usize).copied().unwrap_or(false) {
                continue;
            }
            let e = &g.edges[ei as usize];
            let to = dist[e.to as usize];
            if to == NONE || to + e.kind.weight() != d || !done[e.to as usize] {
                continue;
            }
            let p = e.kind.info().likelihood * best[e.to as usize];
            if next[v as usize] == NONE || p > best[v as usize] {
                best[v as usize] = p;
                next[v as usize] = ei;
            }
        }
    }
    Towards { dist, next }
}

/// One path from a source to a crown jewel.
#[derive(Clone, Debug, Serialize)]
pub struct AttackPath {
    /// The source vertex (an entry point, the internet, a pod or an identity).
    pub source: u32,
    /// Index into `Graph::jewels`.
    pub jewel: usize,
    /// Edge indices, source first.
    pub edges: Vec<u32>,
    /// Number of edges.
    pub hops: usize,
    /// The jewel's value times the product of the edges' likelihoods (0–10).
    pub risk: f64,
}

fn path_from(g: &Graph, t: &Towards, source: u32, jewel: usize) -> Option<AttackPath> {
    if t.dist[source as usize] == NONE {
        return None;
    }
    let mut edges = Vec::new();
    let mut cur = source;
    while t.next[cur as usize] != NONE {
        let e = t.next[cur as usize];
        edges.push(e);
        cur = g.edges[e as usize].to;
    }
    let risk = g.jewels[jewel].kind.value()
        * edges
            .iter()
            .map(|&e| g.edges[e as usize].kind.info().likelihood)
            .product::<f64>();
    Some(AttackPath {
        source,
        jewel,
        hops: edges
            .iter()
            .map(|&e| g.edges[e as usize].kind.weight() as usize)
            .sum(),
        edges,
        risk: (risk * 100.0).round() / 100.0,
    })
}

/// Which vertices to start from.
#[derive(Clone, Debug)]
pub enum From {
    /// The internet (entry points and alerted containers).
    Internet,
    /// Every pod and identity (what `critical` asks: any foothold).
    AnyFoothold,
    Vertices(Vec<u32>),
}

/// Resolves `--from`: `pod:NS/NAME`, `namespace:NS` (its pods), `sa:NS/NAME`, `user:NAME`,
/// `group:NAME`, `internet`, or an exact vertex key.
pub fn resolve_from(g: &Graph, spec: &str) -> Result<Vec<u32>, String> {
    let found: Vec<u32> = if spec == "internet" {
        g.find("internet").into_iter().collect()
    } else if let Some(p) = spec.strip_prefix("pod:") {
        let key = format!("pod:{p}[");
        let vs: Vec<u32> = (0..g.vertices.len() as u32)
            .filter(|&v| {
                let k = g.key(v);
                k.starts_with(&key) || k == format!("pod:{p}")
            })
            .collect();
        vs
    } else if let Some(ns) = spec.strip_prefix("namespace:") {
        (0..g.vertices.len() as u32)
            .filter(|&v| {
                let x = &g.vertices[v as usize];
                x.kind == VertexKind::Pod && x.namespace.as_deref() == Some(ns)
            })
            .collect()
    } else if let Some(sa) = spec.strip_prefix("sa:") {
        g.find(&format!("identity:ServiceAccount {sa}"))
            .into_iter()
            .collect()
    } else if let Some(u) = spec.strip_prefix("user:") {
        g.find(&format!("identity:User {u}")).into_iter().collect()
    } else if let Some(gr) = spec.strip_prefix("group:") {
        g.find(&format!("identity:Group {gr}"))
            .into_iter()
            .collect()
    } else {
        g.find(spec).into_iter().collect()
    };
    if found.is_empty() {
        Err(format!(
            "--from {spec:?} matches nothing (use internet, pod:NS/NAME, namespace:NS, sa:NS/NAME, user:NAME, group:NAME or a vertex key)"
        ))
    } else {
        Ok(found)
    }
}

/// Resolves `--to`: a jewel name (`cluster-admin`, `node-root`, `Secret NS/NAME`, …), or a
/// vertex key, which becomes an ad-hoc target. Returns jewel indices (adding a jewel for a
/// vertex target).
pub fn resolve_to(g: &mut Graph, spec: &str) -> Result<Vec<usize>, String> {
    let by_name: Vec<usize> = g
        .jewels
        .iter()
        .enumerate()
        .filter(|(_, j)| j.name.eq_ignore_ascii_case(spec))
        .map(|(i, _)| i)
        .collect();
    if !by_name.is_empty() {
        return Ok(by_name);
    }
    let key = spec
        .strip_prefix("secret:")
        .map(|s| format!("secret:{s}"))
        .unwrap_or_else(|| spec.to_string());
    let v = g.find(&key).or_else(|| {
        spec.strip_prefix("pod:").and_then(|p| {
            (0..g.vertices.len() as u32).find(|&v| g.key(v).starts_with(&format!("pod:{p}[")))
        })
    });
    match v {
        Some(v) => {
            g.jewels.push(crate::graph::Jewel {
                name: g.label(v).to_string(),
                kind: JewelKind::Marked,
                vertices: vec![v],
            });
            Ok(vec![g.jewels.len() - 1])
        }
        None => Err(format!(
            "--to {spec:?} is neither a crown jewel ({}) nor a vertex key",
            g.jewels
                .iter()
                .map(|j| j.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn sources(g: &Graph, from: &From) -> Vec<u32> {
    match from {
        From::Internet => g.find("internet").into_iter().collect(),
        // Identities only default bindings name (the control plane's), and `system:` users
        // and groups, are not footholds.
        From::AnyFoothold => (0..g.vertices.len() as u32)
            .filter(|&v| {
                let x = &g.vertices[v as usize];
                match x.kind {
                    VertexKind::Internet | VertexKind::Pod => true,
                    VertexKind::Identity => {
                        g.own_identities.contains(&v)
                            && !(x.key.starts_with("identity:User system:")
                                || x.key.starts_with("identity:Group system:"))
                    }
                    _ => false,
                }
            })
            .collect(),
        From::Vertices(v) => v.clone(),
    }
}

/// The shortest path from every source to every chosen jewel it reaches, sorted by risk
/// (highest first), then hops, then source.
pub fn shortest_paths(
    g: &Graph,
    from: &From,
    jewels: &[usize],
    removed: &[bool],
) -> Vec<AttackPath> {
    let srcs = sources(g, from);
    let mut out = Vec::new();
    for &j in jewels {
        let t = towards(g, &g.jewels[j].vertices, removed);
        for &s in &srcs {
            if g.jewels[j].vertices.contains(&s) {
                continue;
            }
            if let Some(p) = path_from(g, &t, s, j) {
                out.push(p);
            }
        }
    }
    out.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then(a.hops.cmp(&b.hops))
            .then_with(|| g.key(a.source).cmp(g.key(b.source)))
            .then(a.jewel.cmp(&b.jewel))
    });
    out
}

/// The critical jewels (cluster-admin and node root).
pub fn critical_jewels(g: &Graph) -> Vec<usize> {
    g.jewels
        .iter()
        .enumerate()
        .filter(|(_, j)| j.kind.is_critical())
        .map(|(i, _)| i)
        .collect()
}

/// One proposed fix.
#[derive(Clone, Debug, Serialize)]
pub struct Chokepoint {
    pub edge: u32,
    /// Source–jewel pairs this fix disconnects, given the fixes before it.
    pub cuts: usize,
    pub remediation: String,
}

/// The chokepoint answer.
#[derive(Clone, Debug, Serialize)]
pub struct Chokepoints {
    /// `exact` (every subset of the candidate fixes tried, smallest first) or `greedy`.
    pub method: &'static str,
    /// Connected (source, jewel) pairs before any fix.
    pub pairs: usize,
    pub fixes: Vec<Chokepoint>,
    /// Pairs still connected after every fix listed.
    pub remaining: usize,
}

/// Connected (source vertex, jewel) pairs.
type Pairs = BTreeSet<(u32, usize)>;

/// The pairs (source vertex, jewel) connected with `removed` edges gone.
fn connected(
    g: &Graph,
    srcs: &[u32],
    jewels: &[usize],
    removed: &[bool],
) -> BTreeSet<(u32, usize)> {
    let mut out = BTreeSet::new();
    for &j in jewels {
        let t = towards(g, &g.jewels[j].vertices, removed);
        for &s in srcs {
            if t.dist[s as usize] != NONE && !g.jewels[j].vertices.contains(&s) {
                out.insert((s, j));
            }
        }
    }
    out
}

/// Fixable edges on the current shortest paths of `pairs`: a set of fixes that cuts a pair
/// must contain one of them... for the path that is shortest now, so candidates are
/// recomputed after every fix.
fn candidates(g: &Graph, srcs: &[u32], jewels: &[usize], removed: &[bool]) -> BTreeSet<u32> {
    let mut c = BTreeSet::new();
    for p in shortest_paths(g, &From::Vertices(srcs.to_vec()), jewels, removed) {
        for e in p.edges {
            if g.edges[e as usize].kind.info().fixable {
                c.insert(e);
            }
        }
    }
    c
}

/// All fixable edges on some path between a source and a jewel (for the exact method).
fn relevant_edges(g: &Graph, srcs: &[u32], jewels: &[usize]) -> Vec<u32> {
    // Forward reachable from the sources, and backward reachable from the jewels.
    let n = g.vertices.len();
    let mut fwd = vec![false; n];
    let mut q: VecDeque<u32> = srcs.iter().copied().collect();
    for &s in srcs {
        fwd[s as usize] = true;
    }
    while let Some(v) = q.pop_front() {
        for &e in &g.out[v as usize] {
            let t = g.edges[e as usize].to as usize;
            if !fwd[t] {
                fwd[t] = true;
                q.push_back(t as u32);
            }
        }
    }
    let mut bwd = vec![false; n];
    for &j in jewels {
        for &v in &g.jewels[j].vertices {
            bwd[v as usize] = true;
            q.push_back(v);
        }
    }
    while let Some(v) = q.pop_front() {
        for &e in &g.inc[v as usize] {
            let f = g.edges[e as usize].from as usize;
            if !bwd[f] {
                bwd[f] = true;
                q.push_back(f as u32);
            }
        }
    }
    (0..g.edges.len() as u32)
        .filter(|&e| {
            let x = &g.edges[e as usize];
            x.kind.info().fixable && fwd[x.from as usize] && bwd[x.to as usize]
        })
        .collect()
}

/// Up to this many relevant fixable edges, the smallest complete cut is found exactly.
pub const EXACT_LIMIT: usize = 16;

/// The fixes that cut the most (source, jewel) pairs, at most `max` of them.
///
/// When at most [`EXACT_LIMIT`] fixable edges lie on any source→jewel path, every subset
/// is tried, smallest first, and the first that disconnects every pair is returned (exact:
/// no smaller set of fixes cuts every path), ordered greedily so each prefix cuts as much as
/// possible. Otherwise the greedy method: repeatedly the fix that disconnects the most
/// still-connected pairs, chosen among the fixable edges of the current shortest paths;
/// when no single fix disconnects a pair (redundant paths), the edge on the most current
/// shortest paths is taken, which removes those paths. Greedy is sound (every count is
/// recomputed by search, never estimated) but not always minimal.
pub fn chokepoints(g: &Graph, from: &From, jewels: &[usize], max: usize) -> Chokepoints {
    let srcs = sources(g, from);
    let mut removed = vec![false; g.edges.len()];
    let start = connected(g, &srcs, jewels, &removed);
    let pairs = start.len();
    let relevant = relevant_edges(g, &srcs, jewels);
    let mut order: Vec<u32> = Vec::new();
    let mut method = "greedy";
    if relevant.len() <= EXACT_LIMIT && pairs > 0 {
        let m = relevant.len();
        let mut best: Option<u32> = None;
        'size: for size in 1..=m.min(max) {
            for mask in 0u32..(1u32 << m) {
                if mask.count_ones() as usize != size {
                    continue;
                }
                let mut r = vec![false; g.edges.len()];
                for (i, &e) in relevant.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        r[e as usize] = true;
                    }
                }
                if connected(g, &srcs, jewels, &r).is_empty() {
                    best = Some(mask);
                    break 'size;
                }
            }
        }
        if let Some(mask) = best {
            method = "exact";
            order = relevant
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, &e)| e)
                .collect();
        }
    }
    let mut fixes = Vec::new();
    let mut current = start;
    if method == "exact" {
        // Order the exact set greedily.
        let mut left: Vec<u32> = order;
        while !left.is_empty() {
            let (i, after) = left
                .iter()
                .enumerate()
                .map(|(i, &e)| {
                    removed[e as usize] = true;
                    let after = connected(g, &srcs, jewels, &removed);
                    removed[e as usize] = false;
                    (i, after)
                })
                .min_by_key(|(i, a)| (a.len(), *i))
                .expect("left is not empty");
            let e = left.remove(i);
            removed[e as usize] = true;
            fixes.push(Chokepoint {
                edge: e,
                cuts: current.len() - after.len(),
                remediation: remediation(g, e),
            });
            current = after;
        }
    } else {
        while !current.is_empty() && fixes.len() < max {
            let cands = candidates(g, &srcs, jewels, &removed);
            if cands.is_empty() {
                break;
            }
            let mut best: Option<(usize, u32, Pairs)> = None;
            for &e in &cands {
                removed[e as usize] = true;
                let after = connected(g, &srcs, jewels, &removed);
                removed[e as usize] = false;
                let cut = current.len() - after.len();
                if best.as_ref().is_none_or(|(c, _, _)| cut > *c) {
                    best = Some((cut, e, after));
                }
            }
            let Some((cut, mut e, mut after)) = best else {
                break;
            };
            if cut == 0 {
                // No single fix disconnects a pair: take the edge most shortest paths use.
                let mut uses: BTreeMap<u32, usize> = BTreeMap::new();
                for p in shortest_paths(g, &From::Vertices(srcs.clone()), jewels, &removed) {
                    for x in p.edges {
                        if cands.contains(&x) {
                            *uses.entry(x).or_default() += 1;
                        }
                    }
                }
                e = uses
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(&x, _)| x)
                    .unwrap_or(e);
                removed[e as usize] = true;
                after = connected(g, &srcs, jewels, &removed);
            } else {
                removed[e as usize] = true;
            }
            fixes.push(Chokepoint {
                edge: e,
                cuts: current.len() - after.len(),
                remediation: remediation(g, e),
            });
            current = after;
        }
    }
    Chokepoints {
        method,
        pairs,
        fixes,
        remaining: current.len(),
    }
}

/// The concrete fix that removes an edge.
pub fn remediation(g: &Graph, e: u32) -> String {
    let edge = &g.edges[e as usize];
    let facts = &g.evidence[edge.evidence as usize];
    let first = facts.first();
    let at = |i: usize| {
        facts
            .get(i)
            .map(|f| {
                if f.path.is_empty() {
                    f.object.clone()
                } else {
                    format!("{} {}", f.object, f.path)
                }
            })
            .unwrap_or_default()
    };
    let checks: Vec<&str> = facts
        .iter()
        .filter(|f| f.rule.starts_with("PSS") || f.rule.starts_with("PAL"))
        .map(|f| f.rule.as_str())
        .collect();
    let to = g.label(edge.to);
    match edge.kind {
        EdgeKind::CE_MODULE_LOAD
        | EdgeKind::CE_NSENTER
        | EdgeKind::CE_PRIV_MOUNT
        | EdgeKind::CE_SYS_PTRACE
        | EdgeKind::CE_UMH_CORE_PATTERN
        | EdgeKind::CE_VAR_LOG_SYMLINK
        | EdgeKind::EXPLOIT_CONTAINERD_SOCK
        | EdgeKind::EXPLOIT_HOST_READ
        | EdgeKind::EXPLOIT_HOST_WRITE
        | EdgeKind::EXPLOIT_HOST_TRAVERSE
        | EdgeKind::SHARE_PS_NAMESPACE => format!(
            "fix {} at {} (or enforce Pod Security baseline on the namespace)",
            checks.join(" + "),
            at(0)
        ),
        EdgeKind::IDENTITY_ASSUME | EdgeKind::TOKEN_STEAL => format!(
            "PAL106: set automountServiceAccountToken: false at {} (or give the pod a service account without permissions)",
            at(0)
        ),
        EdgeKind::POD_CREATE => format!(
            "enforce Pod Security baseline on the namespace ({}: pod-security.kubernetes.io/enforce=baseline), or remove `{}` from {} {}",
            at(2),
            facts.get(1).map(|f| f.rule.as_str()).unwrap_or(""),
            facts.get(1).map(|f| f.object.as_str()).unwrap_or(""),
            facts.get(1).map(|f| f.path.as_str()).unwrap_or("")
        ),
        EdgeKind::POD_EXEC
        | EdgeKind::POD_PATCH
        | EdgeKind::TOKEN_LIST
        | EdgeKind::TOKEN_BRUTEFORCE
        | EdgeKind::ROLE_BIND
        | EdgeKind::IDENTITY_IMPERSONATE
        | EdgeKind::SECRET_READ
        | EdgeKind::ADMIN_EQUIVALENT => match (first, facts.get(1)) {
            (Some(b), Some(r)) => format!(
                "remove `{}` from {} {} ({}), or delete {}",
                r.rule, r.object, r.path, b.rule, b.object
            ),
            _ => format!("remove the grant ({})", at(0)),
        },
        EdgeKind::PERMISSION_DISCOVER => format!(
            "remove {} from the subjects of {}",
            g.label(edge.from),
            first.map(|f| f.object.as_str()).unwrap_or("")
        ),
        EdgeKind::NETWORK_REACH => format!(
            "add a NetworkPolicy selecting {} that admits only the sources that need it (today: {})",
            to,
            facts.iter().map(|f| f.rule.as_str()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
        ),
        EdgeKind::INGRESS_ROUTE => format!(
            "add a NetworkPolicy in front of {to} that does not admit {}, or remove the backend from {}",
            g.label(edge.from),
            at(0)
        ),
        EdgeKind::EXPOSED => format!("remove the public exposure of {}", at(0)),
        EdgeKind::EXPOSED_VULN => format!(
            "upgrade the image ({}): {}",
            at(0),
            facts
                .iter()
                .skip(1)
                .map(|f| format!("{} {}", f.rule, f.path))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        EdgeKind::ALERTED => format!(
            "investigate the alert ({} at {}:{}) and replace the pod",
            first.map(|f| f.rule.as_str()).unwrap_or(""),
            first.map(|f| f.source.as_str()).unwrap_or(""),
            first.map(|f| f.line).unwrap_or(0)
        ),
        EdgeKind::SECRET_MOUNT => format!("stop mounting the Secret at {}", at(0)),
        EdgeKind::CONTAINER_ATTACH
        | EdgeKind::ENDPOINT_EXPLOIT
        | EdgeKind::POD_ATTACH
        | EdgeKind::VOLUME_ACCESS
        | EdgeKind::VOLUME_DISCOVER
        | EdgeKind::MEMBER_OF
        | EdgeKind::ANY_OF => format!("{} is not fixable by itself", edge.kind),
    }
}

/// A path identified across snapshots: source key and jewel name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PathKey {
    pub source: String,
    pub jewel: String,
}

/// Paths added and removed between two snapshots (same query on both).
#[derive(Clone, Debug, Serialize)]
pub struct PathDiff {
    /// (key, hops in the new snapshot).
    pub added: Vec<(PathKey, usize)>,
    pub removed: Vec<(PathKey, usize)>,
    /// (key, hops before, hops after) for paths that got shorter or longer.
    pub changed: Vec<(PathKey, usize, usize)>,
    /// Added paths per jewel name.
    pub added_per_jewel: BTreeMap<String, usize>,
}

/// The key of a path, comparable across graphs.
pub fn path_key(g: &Graph, p: &AttackPath) -> PathKey {
    PathKey {
        source: g.key(p.source).to_string(),
        jewel: g.jewels[p.jewel].name.clone(),
    }
}

/// Compares the paths of two snapshots.
pub fn diff(old: (&Graph, &[AttackPath]), new: (&Graph, &[AttackPath])) -> PathDiff {
    let a: BTreeMap<PathKey, usize> = old.1.iter().map(|p| (path_key(old.0, p), p.hops)).collect();
    let b: BTreeMap<PathKey, usize> = new.1.iter().map(|p| (path_key(new.0, p), p.hops)).collect();
    let mut d = PathDiff {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        added_per_jewel: BTreeMap::new(),
    };
    for (k, &h) in &b {
        match a.get(k) {
            None => {
                *d.added_per_jewel.entry(k.jewel.clone()).or_default() += 1;
                d.added.push((k.clone(), h));
            }
            Some(&old_h) if old_h != h => d.changed.push((k.clone(), old_h, h)),
            _ => {}
        }
    }
    for (k, &h) in &a {
        if !b.contains_key(k) {
            d.removed.push((k.clone(), h));
        }
    }
    d
}
