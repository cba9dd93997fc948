//! The console's API must never panic: the bytes are a query string (first line) and a
//! posted body (the rest), sent to every endpoint of a console over palisade-store's test
//! data with a snapshot; the query parsing alone runs too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_console::api::{Console, Snapshot, ENDPOINTS};
use palisade_store::{SqliteOptions, SqliteStore};
use std::sync::OnceLock;

const SNAPSHOT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, namespace: shop}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: db}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-ingress, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n";

fn console() -> &'static Console {
    static C: OnceLock<Console> = OnceLock::new();
    C.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("palisade-fuzz-console-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("flows.db");
        let _ = std::fs::remove_file(&path);
        let mut store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
        palisade_store::testsuite::load(&mut store);
        let snap = palisade_model::load_bytes(
            SNAPSHOT.as_bytes(),
            palisade_model::Source::Stdin,
            &palisade_model::LoadOptions::default(),
        );
        let t0 = palisade_store::testsuite::T0;
        Console::new(
            Box::new(store),
            Some(Snapshot::new(snap.objects)),
            Vec::new(),
        )
        .with_clock(move || t0 + 3 * 3_600_000)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, body) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = palisade_console::params::parse(query, 1_767_225_600_000, &["src", "dst", "name"]);
    let _ = palisade_console::api::read_alerts(body);
    let c = console();
    for (ep, _) in ENDPOINTS {
        let _ = c.handle(
            ep,
            query,
            (*ep == "impact" && !body.is_empty()).then_some(body),
        );
    }
});
