//! The attack graph must never panic: the bytes are read as manifests (then the graph is
//! built and every query and renderer runs), and as a detect alert file, a vulnerability file
//! and a paths configuration (then the graph is built with them).
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_paths::inputs::{parse_alerts, parse_config, parse_vulns};
use palisade_paths::query::{chokepoints, critical_jewels, diff, shortest_paths, From};
use palisade_paths::{build, render, Inputs};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(data, Source::Stdin, &LoadOptions::default());
    let text = std::str::from_utf8(data).unwrap_or("");
    let alerts = parse_alerts(text, "alerts");
    let vulns = parse_vulns(text, "vulns");
    let config = parse_config(text, "config");
    let built = build(&Inputs {
        objects: &loaded.objects,
        alerts: Some(&alerts),
        vulns: Some(&vulns),
        config: Some(&config),
        now_ns: 0,
        alert_window_ns: i64::MAX,
        ..Inputs::default()
    });
    let g = &built.graph;
    let none = vec![false; g.edges.len()];
    let all: Vec<usize> = (0..g.jewels.len()).collect();
    let paths = shortest_paths(g, &From::AnyFoothold, &critical_jewels(g), &none);
    let from_internet = shortest_paths(g, &From::Internet, &all, &none);
    let c = chokepoints(g, &From::Internet, &all, 4);
    let _ = render::paths_text(g, &paths, "fuzz");
    let _ = render::paths_json(g, &paths, serde_json::Value::Null);
    let _ = render::chokepoints_text(g, &c);
    let _ = render::html(g, &from_internet, Some(&c), "fuzz", Default::default());
    let d = diff((g, &paths), (g, &from_internet));
    let _ = render::diff_text(&d);
});
