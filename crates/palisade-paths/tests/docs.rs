//! docs/paths.md documents every edge of the catalog, with its preconditions.

#[test]
fn docs_list_every_edge_with_its_preconditions() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/paths.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    for e in palisade_paths::CATALOG {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", e.kind)))
            .unwrap_or_else(|| panic!("docs/paths.md has no row for {}", e.kind));
        assert!(
            row.contains(e.preconditions) && row.contains(e.meaning),
            "docs/paths.md: the row of {} is stale",
            e.kind
        );
    }
}
