//! No input may panic: the example capture with random bytes changed, cut and repeated goes
//! through the reader, parser, flow table and DNS/TLS/HTTP parsers; every frame read is
//! counted as a packet, and a damaged file ends with an error, not a panic.

use palisade_observe::example;
use palisade_observe::flow::{Config, FlowTable};
use palisade_observe::sensor::read_capture;

#[test]
fn mutated_captures_never_panic() {
    let base = example::pcap();
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut errors = 0;
    for round in 0..3000 {
        let mut b = base.clone();
        for _ in 0..1 + rnd(8) {
            let i = rnd(b.len());
            b[i] = rnd(256) as u8;
        }
        if round % 5 == 0 {
            let cut = rnd(b.len());
            b.truncate(cut);
        }
        if round % 7 == 0 {
            // A record header claiming a huge length.
            let i = 24 + 8 + rnd(b.len().saturating_sub(40).max(1));
            if i + 4 <= b.len() {
                b[i..i + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            }
        }
        let mut t = FlowTable::new(Config {
            max_flows: 8,
            ..Config::default()
        });
        let mut out = (Vec::new(), Vec::new());
        let (frames, err) = read_capture(&b[..], &mut t, &mut out);
        errors += err.is_some() as u32;
        t.finish(&mut out);
        assert_eq!(t.counters.packets, frames, "every frame read is counted");
        let in_records: u64 = out.0.iter().map(|r| r.packets_out + r.packets_in).sum();
        let skipped: u64 = t.counters.skipped.values().sum();
        assert_eq!(
            in_records + skipped,
            frames,
            "every packet is in a record or skipped"
        );
    }
    assert!(errors > 100, "cuts and bad lengths are reported ({errors})");
}
