//! kubectl resource arguments (`rbac who-can VERB RESOURCE [--name] [--subresource]`) must
//! never panic: the bytes are split at newlines into resource, name and subresource.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_rbac::kubectl::resource_query;
use palisade_rbac::resources::ResourceTable;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let resource = parts.next().unwrap_or_default();
    let name = parts.next().filter(|s| !s.is_empty());
    let sub = parts.next().filter(|s| !s.is_empty());
    let table = ResourceTable::builtin();
    match resource_query(&table, "get", resource, name, sub) {
        Ok(q) => {
            let _ = q.request.combined_resource();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
