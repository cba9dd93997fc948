//! Bytes as a feed in every format (plain, hosts, URLs, Spamhaus JSON, CSV by number and by
//! name, JSON by path, STIX), as a feed configuration, as records, as a TAXII/HTTP response
//! and as a DGA model; the indicators go through the index and the matcher.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_threat::feeds::{self, Content, CsvOptions, Field, Format};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let formats = [
        Format::Plain,
        Format::Hosts,
        Format::Urls,
        Format::SpamhausJson,
        Format::Csv(CsvOptions::default()),
        Format::Csv(CsvOptions {
            field: Field::Name("ip".into()),
            header: true,
            delimiter: ';',
            ..CsvOptions::default()
        }),
        Format::Json("$.items[*].ip".into()),
        Format::Json("$[*]['a'][0]".into()),
        Format::Stix,
    ];
    let psl = palisade_store::psl::SuffixList::parse("com\nco.uk\n*.ck\n!www.ck\n");
    let mut index = palisade_threat::index::Index::new(psl);
    let f = index.add_feed("fuzz", "fuzz");
    for fmt in &formats {
        for content in [Content::Any, Content::Ips, Content::Domains] {
            let p = feeds::parse(&text, fmt, content, "fuzz");
            for i in &p.iocs {
                index.insert(i, f);
            }
        }
    }
    let _ = palisade_threat::config::parse_config(&text, std::path::Path::new("fuzz.yaml"));
    let _ = palisade_threat::fetch::parse_response(data);
    let _ = palisade_threat::dga::Model::parse(&text);
    let _ = palisade_threat::stix::values(&text);
    let (recs, _) = palisade_threat::records::parse(&text, "fuzz");
    let mut m = palisade_threat::matcher::Matcher::new(&index);
    for r in &recs {
        match r {
            palisade_threat::records::Record::Flow(x) => {
                m.flow(x);
            }
            palisade_threat::records::Record::Dns(x) => {
                m.dns(x);
            }
        }
    }
    for line in text.lines().take(64) {
        let _ = index.lookup_domain(line);
        let _ = index.lookup_ip_str(line);
    }
});
