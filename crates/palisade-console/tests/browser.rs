//! The console in real headless Chromium: two servers are seeded here (palisade-store's
//! synthetic test data with a snapshot and alerts; 2,500 workloads in 500 namespaces) and
//! `console/test/browser.mjs` drives Debian's Chromium through playwright-core (installed by
//! `npm ci` with the console's build). It writes the screenshots in docs/console/ and prints
//! the render and filter timings, which this test passes on to its output.
//!
//! Without Chromium or Node.js the test fails under CI (`CI` set) and is skipped elsewhere.

use palisade_console::api::{read_alerts, Console, Snapshot};
use palisade_store::aggregate::HOUR_MS;
use palisade_store::testsuite::{self, T0};
use palisade_store::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const ALERTS: &str = r#"{"time":"2026-01-01T00:10:00Z","rule":"Shell in container","priority":"Warning","source":"syscall","output":"shell in shop/web pod web-7d4b9c-x1","output_fields":{"k8s.ns.name":"shop"}}
{"time":"2026-01-01T02:00:00Z","rule":"Secret read","priority":"Notice","source":"k8s_audit","output":"job read a secret","output_fields":{"ka.target.namespace":"batch"}}
{"time":"2026-01-01T00:00:06Z","rule":"Threat feed match","priority":"Warning","source":"palisade_threat","output":"Threat feed match (feed=feodo indicator=203.0.113.5)","output_fields":{"threat.feed":"feodo","threat.indicator":"203.0.113.5","threat.field":"flow.dst","threat.observed":"203.0.113.5:443","k8s.ns.name":"shop","k8s.workload.name":"web"}}
"#;

fn tool(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn console_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let console_dir = root.join("console");
    let have = tool(&chromium, "--version")
        && tool("node", "--version")
        && console_dir.join("node_modules/playwright-core").exists();
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser test needs {chromium} (Debian package chromium: scripts/install-test-deps.sh), \
             Node.js, and console/node_modules (npm ci, run by the build)"
        );
        eprintln!("skipped: Chromium, Node.js or console/node_modules is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Small: the store suite's data, a snapshot of that cluster and two alerts.
    let mut small =
        SqliteStore::open(&dir.path().join("small.db"), &SqliteOptions::default()).unwrap();
    testsuite::load(&mut small);
    let snap = palisade_model::load_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshot.yaml"),
        &palisade_model::LoadOptions::default(),
    );
    let (alerts, bad) = read_alerts(ALERTS);
    assert!(bad.is_empty());
    let small = Arc::new(
        Console::new(Box::new(small), Some(Snapshot::new(snap.objects)), alerts)
            .with_clock(|| T0 + 3 * HOUR_MS),
    );
    // Large: 2,500 workloads in 500 namespaces, one minute of flows.
    let mut large =
        SqliteStore::open(&dir.path().join("large.db"), &SqliteOptions::default()).unwrap();
    palisade_console::synth::load(&mut large, 500, 5, T0, 1);
    let large =
        Arc::new(Console::new(Box::new(large), None, Vec::new()).with_clock(|| T0 + 120_000));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = palisade_console::ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let s1 = rt
        .block_on(palisade_console::serve(small, opts.clone()))
        .unwrap();
    let s2 = rt.block_on(palisade_console::serve(large, opts)).unwrap();
    // A report page: `netpol connlist -o html` of the bundled example cluster.
    let ex = palisade_model::load_paths(
        &[
            root.join("examples/netpol/cluster.yaml"),
            root.join("examples/netpol/policies.yaml"),
        ],
        &palisade_model::LoadOptions::default(),
    );
    let net = palisade_netpol::Network::build(&ex.objects, &Default::default());
    let engine = palisade_netpol::Engine::new(&net);
    let lines: Vec<palisade_netpol::render::Line> =
        palisade_netpol::connlist::connlist(&engine, &Default::default())
            .into_iter()
            .map(|c| palisade_netpol::render::Line {
                src: engine.label(c.src),
                dst: engine.label(c.dst),
                conns: c.conns,
            })
            .collect();
    let report = dir.path().join("connlist.html");
    std::fs::write(
        &report,
        palisade_netpol::render::html(&lines, "connlist", palisade_console::assets::graph_assets()),
    )
    .unwrap();
    let shots = root.join("docs/console");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg("test/browser.mjs")
        .current_dir(&console_dir)
        .env("SMALL_URL", format!("{}/", s1.url()))
        .env("LARGE_URL", format!("{}/", s2.url()))
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .env("REPORT_HTML", &report)
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    println!("browser timings: {stdout}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{stderr}\n{stdout}"
    );
    let t: serde_json::Value = serde_json::from_str(stdout.trim()).expect("timings as JSON");
    assert!(t["timings"]["first_graph"]["nodes"] == 2501, "{t}");
    assert!(
        t["timings"]["report"]["drawn"].as_u64().unwrap_or(0) > 0,
        "{t}"
    );
    for p in [
        "connlist-report.png",
        "graph.png",
        "edge-explain.png",
        "impact.png",
        "flows.png",
        "dark.png",
        "large-expanded.png",
    ] {
        let meta = std::fs::metadata(shots.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(meta.len() > 1000, "{p} is a real image");
    }
    rt.block_on(s1.shutdown());
    rt.block_on(s2.shutdown());
}
