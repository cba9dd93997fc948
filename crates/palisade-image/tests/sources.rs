//! Image sources and the layer cache: the same fixture read from an OCI layout directory, an
//! OCI archive, a `docker save` archive and a root filesystem directory gives the same
//! packages; corrupt, wrongly digested and truncated layers are clear errors and leave nothing
//! in the cache; a second scan reads every layer from the cache.

use palisade_image::fixture::{self, Compression};
use palisade_image::{analyze, Cache, Options};
use std::path::Path;

fn pkgs(a: &palisade_image::Analysis) -> Vec<String> {
    a.packages
        .iter()
        .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
        .collect()
}

fn opts(cache: &Path) -> Options {
    Options {
        cache: Some(cache.to_path_buf()),
        ..Options::default()
    }
}

#[test]
fn every_source_gives_the_same_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = fixture::debian();
    let b = fixture::build(&spec);
    let layout = tmp.path().join("layout");
    fixture::write_layout(&layout, &[(&spec, &b)]).unwrap();
    let from_layout = analyze(layout.to_str().unwrap(), &Options::default()).unwrap();
    assert_eq!(from_layout.reference, "fixtures/debian:12");

    let oci_tar = tmp.path().join("debian.oci.tar");
    std::fs::write(&oci_tar, fixture::oci_archive(&spec, &b)).unwrap();
    let from_oci_tar = analyze(oci_tar.to_str().unwrap(), &Options::default()).unwrap();

    let docker_tar = tmp.path().join("debian.docker.tar");
    std::fs::write(&docker_tar, fixture::docker_archive(&spec, &b)).unwrap();
    let from_docker = analyze(docker_tar.to_str().unwrap(), &Options::default()).unwrap();
    assert_eq!(from_docker.reference, "fixtures/debian:12");

    // A root filesystem directory: the merged tree written out (whiteouts applied by hand).
    let root = tmp.path().join("rootfs");
    for l in &spec.layers {
        for f in &l.files {
            let p = root.join(&f.path);
            match &f.node {
                fixture::Node::Dir => std::fs::create_dir_all(&p).unwrap(),
                fixture::Node::File(d) => {
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, d).unwrap();
                }
                fixture::Node::Symlink(t) => std::os::unix::fs::symlink(t, &p).unwrap(),
                fixture::Node::Whiteout => std::fs::remove_file(&p).unwrap(),
                fixture::Node::Opaque => {
                    std::fs::remove_dir_all(&p).unwrap();
                    std::fs::create_dir_all(&p).unwrap();
                }
            }
        }
    }
    let from_root = analyze(root.to_str().unwrap(), &Options::default()).unwrap();

    let want = pkgs(&from_layout);
    assert_eq!(want.len(), 10);
    assert_eq!(pkgs(&from_oci_tar), want);
    assert_eq!(pkgs(&from_docker), want);
    assert_eq!(pkgs(&from_root), want);
    assert_eq!(from_docker.config.env, from_layout.config.env);
}

#[test]
fn platform_selection() {
    let tmp = tempfile::tempdir().unwrap();
    let mut amd = fixture::alpine();
    let mut arm = fixture::distroless();
    arm.architecture = "arm64".into();
    amd.name = "multi:amd64".into();
    let (ba, bb) = (fixture::build(&amd), fixture::build(&arm));
    let dir = tmp.path().join("multi");
    fixture::write_layout(&dir, &[(&amd, &ba), (&arm, &bb)]).unwrap();
    let d = dir.to_str().unwrap();
    let a = analyze(d, &Options::default()).unwrap();
    assert_eq!(a.os.unwrap().id, "alpine", "linux/amd64 is the default");
    let o = Options {
        platform: Some("linux/arm64".into()),
        ..Options::default()
    };
    assert_eq!(analyze(d, &o).unwrap().os.unwrap().id, "debian");
    let o = Options {
        platform: Some("linux/s390x".into()),
        ..Options::default()
    };
    let e = analyze(d, &o).err().unwrap().to_string();
    assert!(
        e.contains("no manifest for platform linux/s390x")
            && e.contains("linux/amd64, linux/arm64"),
        "{e}"
    );
}

#[test]
fn warm_scan_reads_layers_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = fixture::alpine();
    let b = fixture::build(&spec);
    let dir = tmp.path().join("img");
    fixture::write_layout(&dir, &[(&spec, &b)]).unwrap();
    let cache = tmp.path().join("cache");
    let cold = analyze(dir.to_str().unwrap(), &opts(&cache)).unwrap();
    assert!(cold.layers.iter().all(|l| !l.cached));
    let warm = analyze(dir.to_str().unwrap(), &opts(&cache)).unwrap();
    assert!(warm.layers.iter().all(|l| l.cached));
    assert_eq!(pkgs(&warm), pkgs(&cold));
    // The zstd layer was read (the npm packages are in it).
    assert!(pkgs(&warm).iter().any(|p| p == "npm:lodash@4.17.20"));
    assert_eq!(b.layers[1].2, "application/vnd.oci.image.layer.v1.tar+zstd");
}

/// Writes the layout with the second layer's blob replaced by `bytes` (kept under the digest
/// the manifest names).
fn damaged(tmp: &Path, f: impl Fn(&[u8]) -> Vec<u8>) -> (std::path::PathBuf, String) {
    let mut spec = fixture::debian();
    spec.layers[1].compression = Compression::Gzip;
    let b = fixture::build(&spec);
    let dir = tmp.join("bad");
    fixture::write_layout(&dir, &[(&spec, &b)]).unwrap();
    let (d, bytes, _) = &b.layers[1];
    std::fs::write(dir.join("blobs/sha256").join(d.hex()), f(bytes)).unwrap();
    (dir, d.to_string())
}

fn fails_and_caches_nothing(tmp: &Path, f: impl Fn(&[u8]) -> Vec<u8>, expect: &str) {
    let (dir, digest) = damaged(tmp, f);
    let cache = tmp.join("cache");
    let e = analyze(dir.to_str().unwrap(), &opts(&cache))
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        e.contains(expect) && e.contains("layer 2") && e.contains(&digest),
        "{e}"
    );
    let c = Cache::new(Some(cache));
    assert!(!c.contains(&digest), "a bad layer was cached");
}

#[test]
fn corrupt_layer() {
    let tmp = tempfile::tempdir().unwrap();
    // Flip bytes in the middle of the gzip stream: inflate or the CRC fails.
    fails_and_caches_nothing(
        tmp.path(),
        |b| {
            let mut v = b.to_vec();
            let m = v.len() / 2;
            for x in &mut v[m..m + 16] {
                *x ^= 0x5a;
            }
            v
        },
        "corrupt",
    );
}

#[test]
fn wrong_digest() {
    let tmp = tempfile::tempdir().unwrap();
    // A valid layer, but not the one the manifest names.
    let other = fixture::compress(
        &fixture::layer_tar(&[fixture::file("x", "y", 0o644)]),
        Compression::Gzip,
    );
    fails_and_caches_nothing(tmp.path(), move |_| other.clone(), "digest mismatch");
}

#[test]
fn truncated_layer() {
    let tmp = tempfile::tempdir().unwrap();
    fails_and_caches_nothing(tmp.path(), |b| b[..b.len() * 2 / 3].to_vec(), "truncated");
}

#[test]
fn archive_that_is_not_an_image() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.tar");
    std::fs::write(
        &p,
        fixture::layer_tar(&[fixture::file("hello", "x", 0o644)]),
    )
    .unwrap();
    let e = analyze(p.to_str().unwrap(), &Options::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("neither a docker save archive"), "{e}");
    std::fs::write(
        &p,
        b"garbage that is not a tar archive at all, not even close.......",
    )
    .unwrap();
    assert!(analyze(p.to_str().unwrap(), &Options::default()).is_err());
}
