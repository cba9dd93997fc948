//! Chokepoints against brute force on small random graphs (a seeded generator, so every run
//! checks the same 300 graphs).
//!
//! Brute force here is independent of the implementation: reachability by depth-first
//! search over an edge list, every subset of fixable edges tried.

use palisade_paths::graph::{EdgeKind, Graph, Jewel, JewelKind, VertexKind};
use palisade_paths::query::{chokepoints, From, EXACT_LIMIT};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random graph: `n` vertices, sources 0..s, one jewel (the last vertex), edges of a
/// fixable kind (POD_EXEC) and a few unfixable ones (CONTAINER_ATTACH).
fn random(rng: &mut Rng, n: usize, m: usize, s: usize) -> (Graph, Vec<u32>) {
    let mut g = Graph::default();
    for i in 0..n {
        g.vertex(VertexKind::Pod, format!("v{i}"), || format!("v{i}"), None);
    }
    let e = g.facts(vec![]);
    for _ in 0..m {
        let a = rng.below(n as u64) as u32;
        let b = rng.below(n as u64) as u32;
        let kind = if rng.below(6) == 0 {
            EdgeKind::CONTAINER_ATTACH
        } else {
            EdgeKind::POD_EXEC
        };
        g.edge(a, b, kind, e);
    }
    g.jewels.push(Jewel {
        name: "goal".into(),
        kind: JewelKind::ClusterAdmin,
        vertices: vec![n as u32 - 1],
    });
    g.index();
    (g, (0..s as u32).collect())
}

/// Pairs (source) that reach the jewel with `removed` edges gone, by DFS over the edge list.
fn reaching(g: &Graph, srcs: &[u32], removed: &[bool]) -> usize {
    let goal = g.jewels[0].vertices[0];
    srcs.iter()
        .filter(|&&s| {
            if s == goal {
                return false;
            }
            let mut seen = vec![false; g.vertices.len()];
            let mut stack = vec![s];
            seen[s as usize] = true;
            while let Some(v) = stack.pop() {
                if v == goal {
                    return true;
                }
                for (i, e) in g.edges.iter().enumerate() {
                    if e.from == v && !removed[i] && !seen[e.to as usize] {
                        seen[e.to as usize] = true;
                        stack.push(e.to);
                    }
                }
            }
            false
        })
        .count()
}

/// Brute force over subsets of fixable edges: (smallest size cutting every pair, best cut by
/// one edge).
fn brute(g: &Graph, srcs: &[u32]) -> (Option<usize>, usize) {
    let fixable: Vec<usize> = (0..g.edges.len())
        .filter(|&i| g.edges[i].kind.info().fixable)
        .collect();
    let total = reaching(g, srcs, &vec![false; g.edges.len()]);
    let mut best_one = 0;
    for &i in &fixable {
        let mut r = vec![false; g.edges.len()];
        r[i] = true;
        best_one = best_one.max(total - reaching(g, srcs, &r));
    }
    let mut smallest = None;
    'outer: for size in 0..=fixable.len() {
        // Subsets of `size` by mask enumeration (fixable.len() ≤ 18 in these graphs).
        for mask in 0u32..(1 << fixable.len()) {
            if mask.count_ones() as usize != size {
                continue;
            }
            let mut r = vec![false; g.edges.len()];
            for (k, &i) in fixable.iter().enumerate() {
                if mask & (1 << k) != 0 {
                    r[i] = true;
                }
            }
            if reaching(g, srcs, &r) == 0 {
                smallest = Some(size);
                break 'outer;
            }
        }
    }
    (smallest, best_one)
}

#[test]
fn chokepoints_match_brute_force_on_small_random_graphs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut exact_runs, mut greedy_runs) = (0, 0);
    for round in 0..300 {
        let n = 4 + rng.below(5) as usize;
        let m = 4 + rng.below(11) as usize;
        let s = 1 + rng.below(3) as usize;
        let (g, srcs) = random(&mut rng, n, m, s);
        let (smallest, best_one) = brute(&g, &srcs);
        let total = reaching(&g, &srcs, &vec![false; g.edges.len()]);
        let c = chokepoints(&g, &From::Vertices(srcs.clone()), &[0], 64);
        assert_eq!(c.pairs, total, "round {round}: pairs");
        // Every reported count is true: replay the fixes.
        let mut removed = vec![false; g.edges.len()];
        let mut left = total;
        for f in &c.fixes {
            assert!(g.edges[f.edge as usize].kind.info().fixable);
            removed[f.edge as usize] = true;
            let now = reaching(&g, &srcs, &removed);
            assert_eq!(left - now, f.cuts, "round {round}: cut count");
            left = now;
        }
        assert_eq!(left, c.remaining, "round {round}: remaining");
        if total == 0 {
            assert!(c.fixes.is_empty());
            continue;
        }
        // The first fix is the best single fix (greedy's first step and the exact
        // method's greedy ordering both choose it) unless no single fix cuts anything.
        if best_one > 0 && c.method == "greedy" {
            assert_eq!(c.fixes[0].cuts, best_one, "round {round}: first fix");
        }
        match c.method {
            "exact" => {
                exact_runs += 1;
                assert_eq!(c.remaining, 0, "round {round}");
                assert_eq!(Some(c.fixes.len()), smallest, "round {round}: minimal");
            }
            _ => {
                greedy_runs += 1;
                // Greedy cuts everything it can (no fixable cut exists only if brute force
                // found none either) and is never smaller than the optimum.
                if let Some(k) = smallest {
                    assert_eq!(c.remaining, 0, "round {round}");
                    assert!(c.fixes.len() >= k, "round {round}");
                }
            }
        }
    }
    // Both methods were exercised.
    assert!(exact_runs > 50, "{exact_runs}");
    let _ = (greedy_runs, EXACT_LIMIT);
}

#[test]
fn greedy_is_used_beyond_the_exact_limit_and_still_cuts_every_path() {
    // A ladder: source → a_i → jewel for 20 independent routes; the minimum cut is the
    // 20 source edges or the 20 jewel edges (or any mix), greedy needs 20 fixes.
    let mut g = Graph::default();
    let src = g.vertex(VertexKind::Internet, "internet".into(), || "s".into(), None);
    let goal = g.vertex(VertexKind::Node, "node".into(), || "t".into(), None);
    let e = g.facts(vec![]);
    for i in 0..20 {
        let a = g.vertex(VertexKind::Pod, format!("a{i}"), || format!("a{i}"), None);
        g.edge(src, a, EdgeKind::POD_EXEC, e);
        g.edge(a, goal, EdgeKind::CE_PRIV_MOUNT, e);
    }
    g.jewels.push(Jewel {
        name: "node-root".into(),
        kind: JewelKind::NodeRoot,
        vertices: vec![goal],
    });
    g.index();
    let c = chokepoints(&g, &From::Internet, &[0], 64);
    assert_eq!(c.method, "greedy");
    assert_eq!(c.pairs, 1);
    assert_eq!(c.remaining, 0);
    assert_eq!(c.fixes.len(), 20);
    assert_eq!(c.fixes.iter().map(|f| f.cuts).sum::<usize>(), 1);
}
