//! The `palisade detect run` path without the CLI, for profiling:
//!
//!     cargo build --release -p palisade-detect --example replay
//!     valgrind --tool=callgrind target/release/examples/replay RULES.yaml EVENTS > /dev/null
//!
//! Streams EVENTS through the rules (the built-in set when RULES is `-`) and writes every
//! alert as a JSON line to standard output through a buffer.

use palisade_detect::input::{EventReader, Item};
use palisade_detect::output::{write_alert, Format};
use palisade_detect::{defaults, Engine, RuleSet};
use std::io::Write;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, events] = args.as_slice() else {
        return Err("usage: replay RULES.yaml|- EVENTS".into());
    };
    let set = if rules == "-" {
        defaults::ruleset()
    } else {
        let mut set = RuleSet::new();
        set.load(rules, &std::fs::read_to_string(rules)?);
        set
    };
    let engine = Engine::from_ruleset(&set);
    for d in &engine.compiled.diags {
        eprintln!("{d}");
    }
    let host: Arc<str> = Arc::from("replay");
    let mut out = std::io::BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
    let (mut n, mut alerts) = (0u64, 0u64);
    for item in EventReader::with_capacity(256 << 10, std::fs::File::open(events)?, host) {
        match item {
            Item::Event(ev) => {
                n += 1;
                if let Some(a) = engine.process(ev.as_event(), ev.time_ns(), ev.hostname()) {
                    alerts += 1;
                    write_alert(&mut out, &a, Format::Json)?;
                }
            }
            Item::Error { line, message } => eprintln!("{events}:{line}: error: {message}"),
            Item::Skipped => {}
        }
    }
    out.flush()?;
    eprintln!("{n} event(s), {alerts} alert(s)");
    Ok(())
}
