//! The sensor's parsers must never panic: the bytes are read as a pcap/pcapng file through
//! the flow table, as a frame of every link type, and as a DNS message, TLS record, HTTP
//! request and status line, and public suffix list.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_observe::flow::{Config, FlowTable};
use palisade_observe::sensor::{frame, read_capture};
use palisade_observe::{dns, l7};

fuzz_target!(|data: &[u8]| {
    let mut table = FlowTable::new(Config {
        max_flows: 16,
        ..Config::default()
    });
    let mut out = (Vec::new(), Vec::new());
    let _ = read_capture(data, &mut table, &mut out);
    for (i, lt) in [0u16, 1, 101, 113, 228, 229, 276].into_iter().enumerate() {
        frame(&mut table, i as i64, lt, data.len() as u32, data, &mut out);
    }
    // The payload as if it were the application data of a DNS flow over TCP.
    if data.len() > 2 {
        let _ = dns::parse(&data[2..]);
    }
    let _ = dns::parse(data);
    let _ = l7::tls(data);
    let _ = l7::http_request(data);
    let _ = l7::http_status(data);
    let _ = l7::plaintext(data);
    table.finish(&mut out);
    for r in &out.1 {
        let _ = r.cname_chain();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let psl = palisade_store::psl::SuffixList::parse(text);
        for name in text.lines().take(16) {
            let _ = psl.registered_domain(name);
        }
    }
});
