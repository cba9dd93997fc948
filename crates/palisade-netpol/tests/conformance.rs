//! np-guard/netpol-analyzer's golden connectivity lists (`../shared/conformance/netpol`), read
//! at test time: every case's connlist must equal the expected one as a set of
//! (source, destination, connection set), compared semantically.

use palisade_model::{load_paths, LoadOptions};
use palisade_netpol::connlist::{connlist, Options};
use palisade_netpol::{BuildOptions, ConnSet, Engine, Network};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn suite() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/netpol"
    ))
    .to_path_buf()
}

type Set = BTreeMap<(String, String), ConnSet>;

fn parse_expected(text: &str) -> Result<Set, String> {
    let mut out = Set::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (pair, conns) = line
            .rsplit_once(" : ")
            .ok_or(format!("line {}: no ' : '", i + 1))?;
        let (src, dst) = pair
            .split_once(" => ")
            .ok_or(format!("line {}: no ' => '", i + 1))?;
        let c =
            ConnSet::parse(conns).ok_or(format!("line {}: bad connections {conns:?}", i + 1))?;
        out.insert((src.trim().to_string(), dst.trim().to_string()), c);
    }
    Ok(out)
}

fn actual(case: &Path) -> Set {
    let loaded = load_paths(&[case.to_path_buf()], &LoadOptions::default());
    let net = Network::build(&loaded.objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    connlist(&engine, &Options::default())
        .into_iter()
        .map(|c| ((engine.label(c.src), engine.label(c.dst)), c.conns))
        .collect()
}

#[test]
fn np_guard_connlist_goldens() {
    let root = suite();
    let mut names: Vec<String> = std::fs::read_dir(root.join("cases"))
        .expect("conformance suite ../shared/conformance/netpol is missing")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 70,
        "expected the whole suite, found {} cases",
        names.len()
    );
    let mut failed = Vec::new();
    for name in &names {
        let expected_text =
            std::fs::read_to_string(root.join("expected").join(format!("{name}.txt")))
                .unwrap_or_else(|e| panic!("{name}: expected output: {e}"));
        let expected = parse_expected(&expected_text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = actual(&root.join("cases").join(name));
        if got == expected {
            println!("PASS {name} ({} connections)", expected.len());
            continue;
        }
        let mut report = Vec::new();
        for (k, v) in &expected {
            match got.get(k) {
                None => report.push(format!("  missing {} => {} : {v}", k.0, k.1)),
                Some(g) if g != v => report.push(format!(
                    "  differs {} => {} : expected {v}, got {g}",
                    k.0, k.1
                )),
                _ => {}
            }
        }
        for (k, v) in &got {
            if !expected.contains_key(k) {
                report.push(format!("  extra   {} => {} : {v}", k.0, k.1));
            }
        }
        let n = report.len();
        report.truncate(12);
        println!("FAIL {name}: {n} differences\n{}", report.join("\n"));
        failed.push(name.clone());
    }
    println!(
        "netpol conformance: {}/{} cases pass",
        names.len() - failed.len(),
        names.len()
    );
    assert!(failed.is_empty(), "failing cases: {failed:?}");
}
