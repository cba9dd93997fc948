//! Bytes as an image layer (gzip, zstd or plain tar by magic), as a `docker save` / OCI
//! archive, and the merged view of the layer over itself: errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = palisade_image::layer::read_layer(data, None, "fuzz") {
        let m = palisade_image::fs::Merged::build([&f, &f]);
        let _ = m.resolve("bin/sh");
    }
    let dir = std::env::temp_dir().join(format!("palisade-fuzz-image-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("image.tar");
    if std::fs::write(&p, data).is_ok() {
        let _ = palisade_image::source::from_archive(&p, None);
    }
});
