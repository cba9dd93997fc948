//! The command-line convention of docs/cli.md, asserted on every subcommand of the clap tree,
//! and the deprecated spellings (still accepted, with a note on stderr).

use assert_cmd::Command as Bin;
use clap::{Arg, ArgAction, Command, CommandFactory};
use palisade::compat::FORMAT_NAMES;
use palisade::{Cli, SEVERITIES};
use std::path::{Path, PathBuf};

/// Every command with its path (`palisade rbac who-can`), leaves and groups alike.
fn walk(cmd: &Command, path: String, out: &mut Vec<(String, Command)>) {
    for sub in cmd.get_subcommands() {
        let p = format!("{path} {}", sub.get_name());
        walk(sub, p.clone(), out);
        out.push((p, sub.clone()));
    }
}

fn commands() -> Vec<(String, Command)> {
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    walk(&root, "palisade".into(), &mut out);
    out
}

fn visible_args(cmd: &Command) -> Vec<&Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .collect()
}

fn values(a: &Arg) -> Vec<String> {
    a.get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect()
}

fn value_name(a: &Arg) -> String {
    a.get_value_names()
        .and_then(|v| v.first().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

#[test]
fn every_subcommand_follows_the_convention() {
    let mut problems = Vec::new();
    let cmds = commands();
    assert!(cmds.len() >= 30, "only {} commands walked", cmds.len());
    for (path, cmd) in &cmds {
        let args = visible_args(cmd);
        let long = |name: &str| args.iter().find(|a| a.get_long() == Some(name)).copied();
        let mut bad = |m: String| problems.push(format!("{path}: {m}"));
        for a in &args {
            let l = a.get_long().unwrap_or("");
            // -o is --output, and --output is -o FORMAT with lower-case one-word formats.
            if a.get_short() == Some('o') && l != "output" {
                bad(format!("-o is --{l}, not --output"));
            }
            if l == "output" {
                if a.get_short() != Some('o') {
                    bad("--output has no -o".into());
                }
                if value_name(a) != "FORMAT" {
                    bad(format!("--output takes {}, not FORMAT", value_name(a)));
                }
                let vals = values(a);
                if !vals.iter().any(|v| v == "json") {
                    bad(format!("-o has no json: {vals:?}"));
                }
                for v in &vals {
                    if !FORMAT_NAMES.contains(&v.as_str()) {
                        bad(format!("-o value {v:?} is not one of {FORMAT_NAMES:?}"));
                    }
                }
                if long("output-file").is_none() {
                    bad("has -o but no --output-file".into());
                }
            }
            // One spelling for the output file; no old spellings in the help.
            if l.starts_with("output") && !matches!(l, "output" | "output-file") {
                bad(format!("--{l}: the output file is --output-file"));
            }
            if l == "output-file" && value_name(a) != "FILE" {
                bad(format!("--output-file takes {}, not FILE", value_name(a)));
            }
            if matches!(l, "format" | "json" | "markdown" | "out" | "outfile") {
                bad(format!("--{l} is not a convention flag (use -o/--output)"));
            }
            // --fail-on SEVERITY everywhere, with the same severities; --fail-on-X are flags.
            if l == "fail-on" {
                if value_name(a) != "SEVERITY" || values(a) != SEVERITIES {
                    bad(format!(
                        "--fail-on takes {} {:?}, not SEVERITY {SEVERITIES:?}",
                        value_name(a),
                        values(a)
                    ));
                }
            } else if l.starts_with("fail-on") && takes_value(a) {
                bad(format!("--{l} takes a value; --fail-on-<thing> is a flag"));
            }
            if l == "color" && values(a) != ["auto", "always", "never"] {
                bad(format!("--color values {:?}", values(a)));
            }
            if a.get_short() == Some('n') && l != "namespace" {
                bad(format!("-n is --{l}, not --namespace"));
            }
            for v in values(a) {
                if ["human", "txt", "table"].contains(&v.as_str()) {
                    bad(format!("--{l} offers {v:?}: the human format is text"));
                }
            }
        }
    }
    // Commands that report findings or alerts with a severity fail on one.
    for path in [
        "palisade scan",
        "palisade rbac risks",
        "palisade netpol lint",
        "palisade detect run",
    ] {
        let (_, cmd) = cmds
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{path} missing"));
        if !visible_args(cmd)
            .iter()
            .any(|a| a.get_long() == Some("fail-on"))
        {
            problems.push(format!("{path}: no --fail-on SEVERITY"));
        }
    }
    assert!(
        problems.is_empty(),
        "convention broken:\n{}",
        problems.join("\n")
    );
}

/// The walk itself would notice a broken rule: a command built to break each one fails.
#[test]
fn the_checks_catch_a_broken_command() {
    let broken = Command::new("x")
        .arg(Arg::new("format").long("format").short('o'))
        .arg(Arg::new("fail").long("fail-on-diff").action(ArgAction::Set));
    let args = visible_args(&broken);
    assert!(args
        .iter()
        .any(|a| a.get_short() == Some('o') && a.get_long() != Some("output")));
    assert!(args
        .iter()
        .any(|a| a.get_long() == Some("fail-on-diff") && takes_value(a)));
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn palisade() -> Bin {
    let mut c = Bin::cargo_bin("palisade").unwrap();
    c.current_dir(repo()).env("PALISADE_LOG", "off");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = palisade().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn old_scan_spellings_work_and_warn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let f = file.to_str().unwrap();
    let (code, stdout, stderr) = run(&[
        "scan",
        "examples/insecure",
        "--no-config",
        "--format",
        "json",
        "--output",
        f,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "report went to the file");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(!v["findings"].as_array().unwrap().is_empty());
    assert!(
        stderr.contains("warning: `scan --format` is deprecated; use `scan -o/--output`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`scan --output FILE` is deprecated; use `scan --output-file FILE`"),
        "{stderr}"
    );
    // New spellings: same report, no warning.
    let (code, stdout, stderr) = run(&[
        "scan",
        "examples/insecure",
        "--no-config",
        "--output",
        "json",
    ]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("deprecated"), "{stderr}");
    let w: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(w["findings"], v["findings"]);
}

#[test]
fn old_text_format_names_work_and_warn() {
    let (code, human, stderr) = run(&["scan", "examples/insecure", "--no-config", "-o", "human"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`-o human` is deprecated; use `-o text`"),
        "{stderr}"
    );
    let (_, text, _) = run(&["scan", "examples/insecure", "--no-config", "-o", "text"]);
    assert_eq!(human, text);
    let (code, _, stderr) = run(&[
        "netpol",
        "connlist",
        "examples/netpol/cluster.yaml",
        "examples/netpol/policies.yaml",
        "-o",
        "txt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("`-o txt` is deprecated"), "{stderr}");
    // Unknown formats are still usage errors.
    let (code, _, _) = run(&[
        "netpol",
        "connlist",
        "examples/netpol/cluster.yaml",
        "examples/netpol/policies.yaml",
        "-o",
        "yaml",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn old_checks_flags_work_and_warn() {
    let (code, stdout, stderr) = run(&["checks", "--json"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("`checks --json` is deprecated"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v.as_array().unwrap().len() > 65);
    let (code, md, stderr) = run(&["checks", "--markdown"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("`checks --markdown` is deprecated"));
    assert!(md.starts_with("# Check catalog"));
}
