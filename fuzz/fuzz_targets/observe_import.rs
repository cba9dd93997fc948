//! The importers must never panic: the bytes are read as a log of every import format
//! (Hubble, Calico flow and DNS logs, Inspektor Gadget trace_dns, CoreDNS), with a small line
//! limit and a small pending-query cap, and each line through netpol's typed Hubble parser;
//! records are serialized as the store would keep them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_observe::import::{Format, Importer, Options};

fuzz_target!(|data: &[u8]| {
    for format in Format::ALL {
        let mut imp = Importer::new(Options {
            max_line: 4096,
            max_pending_dns: 4,
            ..Options::new(format)
        });
        let mut out = (Vec::new(), Vec::new());
        let mut errors = 0u64;
        let _ = imp.read(data, "fuzz", &mut out, &mut |_| errors += 1);
        imp.finish(&mut out);
        assert_eq!(errors, imp.stats.errors);
        for r in &out.0 {
            let _ = serde_json::to_string(r);
        }
        for r in &out.1 {
            let _ = serde_json::to_string(r);
            let _ = r.cname_chain();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = palisade_netpol::flows::parse_hubble_line(line);
        }
    }
});
