//! Network policy analysis must never panic: the bytes are read as manifests (then the
//! engine, connlist, lint, exposure and explain run) and as a flow log in every format
//! (then resolution, recommend and impact).
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_netpol::connlist::{connlist, exposure, Options};
use palisade_netpol::explain::explain;
use palisade_netpol::flows::{read, resolve_all, Format};
use palisade_netpol::impact::impact;
use palisade_netpol::lint::lint;
use palisade_netpol::recommend::{recommend, Options as RecOptions};
use palisade_netpol::{BuildOptions, Endpoint, Engine, Network};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(data, Source::Stdin, &LoadOptions::default());
    let net = Network::build(&loaded.objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let _ = connlist(&engine, &Options::default());
    let _ = lint(&engine);
    let _ = exposure(&engine);
    if net.workloads.len() >= 2 {
        let _ = explain(&engine, Endpoint::Workload(0), Endpoint::Workload(1), None);
    }
    let staged = Network::build(&loaded.objects, &BuildOptions { enforce_staged: true });
    let after = Engine::new(&staged);
    if let Ok(text) = std::str::from_utf8(data) {
        for f in [Format::Auto, Format::Palisade, Format::Hubble, Format::Calico] {
            let log = read(text, f);
            let (flows, _) = resolve_all(&net, &log);
            let _ = recommend(&net, &flows, &RecOptions::default());
            let _ = impact(&engine, &after, &flows, &log);
        }
    }
});
