//! Bundles the front-end (`console/` at the repository root) with npm and esbuild into
//! `$OUT_DIR/console`, and writes the table of embedded files (`$OUT_DIR/assets.rs`).
//!
//! Runs when the front-end's sources, `package.json`, `package-lock.json` or `build.mjs`
//! change (cargo's `rerun-if-changed`): `npm ci` when `node_modules` is missing or older
//! than the lock file, then `node build.mjs`. Node.js is needed to build, never to run.
//! `PALISADE_CONSOLE_DIST=DIR` takes an already built directory instead (a machine
//! without Node.js).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let console = manifest.join("../../console");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for p in ["src", "package.json", "package-lock.json", "build.mjs"] {
        println!("cargo:rerun-if-changed={}", console.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=PALISADE_CONSOLE_DIST");
    let dist = match std::env::var_os("PALISADE_CONSOLE_DIST") {
        Some(d) => PathBuf::from(d),
        None => {
            let dist = out.join("console");
            build(&console, &dist);
            dist
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .unwrap_or_else(|e| panic!("reading the built console {}: {e}", dist.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for needed in ["index.html", "app.js", "app.css", "graph.js", "NOTICES.txt"] {
        if !files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == needed))
        {
            panic!(
                "the built console in {} lacks {needed}: run `npm ci && npm run build` in console/",
                dist.display()
            );
        }
    }
    let mut table = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            f.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).unwrap();
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "palisade-console: cannot run {what}: {e}. Building the console needs Node.js (18 or \
             newer) and npm on PATH (Debian: apt-get install nodejs npm); or build it elsewhere \
             (`cd console && npm ci && node build.mjs --outdir DIR`) and set \
             PALISADE_CONSOLE_DIST=DIR"
        )
    });
    if !status.success() {
        panic!("palisade-console: {what} failed ({status}); see its output above");
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn build(console: &Path, dist: &Path) {
    let marker = console.join("node_modules/.package-lock.json");
    let fresh = match (mtime(&marker), mtime(&console.join("package-lock.json"))) {
        (Some(m), Some(l)) => m >= l,
        _ => false,
    };
    if !fresh {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(console),
            "`npm ci` (installs the bundler from package-lock.json)",
        );
    }
    let _ = std::fs::remove_dir_all(dist);
    run(
        Command::new("node")
            .arg("build.mjs")
            .arg("--outdir")
            .arg(dist)
            .current_dir(console),
        "`node build.mjs` (esbuild bundle)",
    );
}
