//! The spellings used before the one CLI convention (docs/cli.md), kept working for one
//! release. They are translated in the argument list before clap sees it, so they stay out
//! of `--help`, and each use yields a deprecation note for standard error.
//!
//! | old | new |
//! |---|---|
//! | `scan --format F`, `policy test --format F` | `-o/--output F` |
//! | `scan --output FILE` (FILE not a format name) | `--output-file FILE` |
//! | `policy export-vap --output FILE` | `--output-file FILE` |
//! | `checks --json`, `checks --markdown` | `checks -o json`, `checks -o md` |
//! | `-o human`, `-o txt`, `-o table` (any command) | `-o text` |

use std::ffi::OsString;

/// The names of output formats any command has; a `scan --output` value that is none of
/// these is the old spelling of `--output-file`.
pub const FORMAT_NAMES: &[&str] = &[
    "text",
    "json",
    "sarif",
    "junit",
    "csv",
    "md",
    "dot",
    "html",
    "policyreport",
    "cyclonedx",
    "spdx",
];

/// Old names of the text format.
pub const TEXT_ALIASES: &[&str] = &["human", "txt", "table"];

/// Rewrites the old spellings in `args` (the whole command line, program name first) to the
/// convention's, returning the new list and one `"<old> is deprecated; use <new>"` per use.
/// Everything after `--` is left alone.
pub fn rewrite(args: Vec<OsString>) -> (Vec<OsString>, Vec<String>) {
    let mut notes = Vec::new();
    let words: Vec<Option<String>> = args.iter().map(|a| a.to_str().map(String::from)).collect();
    // The subcommand path: the first one or two words that are not options.
    let first = words.get(1).cloned().flatten().unwrap_or_default();
    let second = words.get(2).cloned().flatten().unwrap_or_default();
    let path = match first.as_str() {
        "policy" | "rbac" | "netpol" | "detect" | "admission" | "checks"
            if !second.starts_with('-') =>
        {
            format!("{first} {second}")
        }
        _ => first.clone(),
    };
    let mut out: Vec<OsString> = Vec::with_capacity(args.len() + 1);
    let mut i = 0;
    while i < args.len() {
        let Some(word) = words[i].as_deref().filter(|_| i > 0) else {
            out.push(args[i].clone());
            i += 1;
            continue;
        };
        if word == "--" {
            out.extend(args[i..].iter().cloned());
            break;
        }
        // The option and its value, whether given as one word (`--output=x`, `-ox`) or two.
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ if word.starts_with("-o") && word.len() > 2 && !word.starts_with("--") => {
                ("-o", Some(word[2..].to_string()))
            }
            _ => (word, None),
        };
        let takes_format = matches!(flag, "-o" | "--output" | "--format");
        if !takes_format {
            match (path.as_str(), flag) {
                ("checks", "--json") => {
                    notes.push("`checks --json` is deprecated; use `checks -o json`".into());
                    out.extend(["-o".into(), "json".into()]);
                }
                ("checks", "--markdown") => {
                    notes.push("`checks --markdown` is deprecated; use `checks -o md`".into());
                    out.extend(["-o".into(), "md".into()]);
                }
                _ => out.push(args[i].clone()),
            }
            i += 1;
            continue;
        }
        let (value, used) = match inline {
            Some(v) => (Some(v), 1),
            // A following option is not a value (clap reports the missing value).
            None => (
                words
                    .get(i + 1)
                    .cloned()
                    .flatten()
                    .filter(|v| v == "-" || !v.starts_with('-')),
                2,
            ),
        };
        let Some(value) = value else {
            // No value (or not UTF-8): clap reports it.
            out.push(args[i].clone());
            i += 1;
            continue;
        };
        let mut flag = flag.to_string();
        let mut value = value;
        if flag == "--format" && matches!(path.as_str(), "scan" | "policy test") {
            notes.push(format!(
                "`{path} --format` is deprecated; use `{path} -o/--output`"
            ));
            flag = "--output".into();
        }
        let is_format =
            FORMAT_NAMES.contains(&value.as_str()) || TEXT_ALIASES.contains(&value.as_str());
        if flag == "--output" && (path == "policy export-vap" || (path == "scan" && !is_format)) {
            notes.push(format!(
                "`{path} --output FILE` is deprecated; use `{path} --output-file FILE`"
            ));
            flag = "--output-file".into();
        } else if TEXT_ALIASES.contains(&value.as_str()) {
            notes.push(format!("`-o {value}` is deprecated; use `-o text`"));
            value = "text".into();
        }
        out.push(flag.into());
        out.push(value.into());
        i += used;
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> (String, Vec<String>) {
        let args = line.split(' ').map(OsString::from).collect();
        let (out, notes) = rewrite(args);
        let out: Vec<String> = out.into_iter().map(|a| a.into_string().unwrap()).collect();
        (out.join(" "), notes)
    }

    #[test]
    fn old_scan_spellings_become_new_ones() {
        let (line, notes) = run("palisade scan x.yaml --format json --output r.json");
        assert_eq!(
            line,
            "palisade scan x.yaml --output json --output-file r.json"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        let (line, notes) = run("palisade scan x.yaml -o human --output=r.txt");
        assert_eq!(line, "palisade scan x.yaml -o text --output-file r.txt");
        assert_eq!(notes.len(), 2, "{notes:?}");
        let (line, notes) = run("palisade scan -osarif x.yaml");
        assert_eq!(line, "palisade scan -o sarif x.yaml");
        assert!(notes.is_empty());
    }

    #[test]
    fn new_spellings_pass_unchanged() {
        for l in [
            "palisade scan x.yaml --output json --output-file r.json",
            "palisade netpol connlist x -o text --output-file f",
            "palisade rbac who-can get secrets/s1 -o json",
            "palisade checks -o md",
        ] {
            let (line, notes) = run(l);
            assert_eq!(line, l);
            assert!(notes.is_empty(), "{l}: {notes:?}");
        }
    }

    /// Every sequence of up to four words from a vocabulary of awkward ones (options without
    /// values, `=` forms, `--`, non-UTF-8, multi-byte text): no panic, and the result has no
    /// old spelling left (a second pass changes nothing).
    #[test]
    fn never_panics_and_is_idempotent() {
        #[cfg(unix)]
        let bad = {
            use std::os::unix::ffi::OsStringExt;
            OsString::from_vec(vec![0xff, b'-', b'o'])
        };
        #[cfg(not(unix))]
        let bad = OsString::from("x");
        let vocab: Vec<OsString> = [
            "-o",
            "--output",
            "--output=",
            "--format",
            "--format=txt",
            "-o",
            "-ohuman",
            "human",
            "json",
            "r.json",
            "--",
            "--json",
            "--markdown",
            "é",
            "-",
            "",
        ]
        .iter()
        .map(OsString::from)
        .chain([bad])
        .collect();
        let heads = [
            vec!["palisade", "scan"],
            vec!["palisade", "checks"],
            vec!["palisade", "policy", "export-vap"],
            vec!["palisade", "policy", "test"],
            vec!["palisade"],
        ];
        let n = vocab.len();
        for head in &heads {
            for len in 0..=4u32 {
                for mut k in 0..n.pow(len) {
                    let mut args: Vec<OsString> = head.iter().map(OsString::from).collect();
                    for _ in 0..len {
                        args.push(vocab[k % n].clone());
                        k /= n;
                    }
                    let (once, _) = rewrite(args);
                    let (twice, notes) = rewrite(once.clone());
                    assert_eq!(once, twice, "{notes:?}");
                    assert!(notes.is_empty(), "{once:?}: {notes:?}");
                }
            }
        }
    }

    #[test]
    fn text_aliases_checks_flags_and_export_output() {
        let (line, notes) = run("palisade netpol connlist x -o txt");
        assert_eq!(line, "palisade netpol connlist x -o text");
        assert_eq!(notes, ["`-o txt` is deprecated; use `-o text`"]);
        let (line, _) = run("palisade checks --json --framework cis");
        assert_eq!(line, "palisade checks -o json --framework cis");
        let (line, notes) = run("palisade policy export-vap p.yaml --output out.yaml");
        assert_eq!(
            line,
            "palisade policy export-vap p.yaml --output-file out.yaml"
        );
        assert_eq!(notes.len(), 1);
        let (line, _) = run("palisade policy test suite.yaml --format junit");
        assert_eq!(line, "palisade policy test suite.yaml --output junit");
        // Words after `--` are paths, not options.
        let (line, notes) = run("palisade scan -- --format");
        assert_eq!(line, "palisade scan -- --format");
        assert!(notes.is_empty());
    }
}
