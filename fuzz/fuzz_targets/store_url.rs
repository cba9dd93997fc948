//! `--store` arguments: the ClickHouse URL parser must never panic, and what it accepts
//! names an HTTP address and a database of letters, digits and `_`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_store::location::ClickhouseUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for url in [s.to_string(), format!("clickhouse://{s}")] {
        if let Ok(u) = ClickhouseUrl::parse(&url) {
            assert!(u.http.starts_with("http://"));
            assert!(u
                .database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        }
    }
});
