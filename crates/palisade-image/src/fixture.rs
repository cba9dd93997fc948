//! Fixture images written from small file trees: tar layers (deterministic: mtime 0, sorted
//! as given), gzip or zstd compression, OCI image layouts (directory or tar), `docker save`
//! archives, and the bundled fixture images (Debian-like, Alpine-like, distroless-like, and
//! one with language packages) that the tests, the README and the benchmarks use.

use crate::digest::Digest;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug)]
pub enum Node {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    /// `.wh.<name>` for the path.
    Whiteout,
    /// `.wh..wh..opq` inside the directory.
    Opaque,
}

#[derive(Clone, Debug)]
pub struct FileSpec {
    pub path: String,
    pub node: Node,
    pub mode: u32,
    pub uid: u64,
}

pub fn file(path: &str, data: impl Into<Vec<u8>>, mode: u32) -> FileSpec {
    FileSpec {
        path: path.into(),
        node: Node::File(data.into()),
        mode,
        uid: 0,
    }
}
pub fn dir(path: &str, mode: u32) -> FileSpec {
    FileSpec {
        path: path.into(),
        node: Node::Dir,
        mode,
        uid: 0,
    }
}
pub fn symlink(path: &str, target: &str) -> FileSpec {
    FileSpec {
        path: path.into(),
        node: Node::Symlink(target.into()),
        mode: 0o777,
        uid: 0,
    }
}
pub fn whiteout(path: &str) -> FileSpec {
    FileSpec {
        path: path.into(),
        node: Node::Whiteout,
        mode: 0o644,
        uid: 0,
    }
}
pub fn opaque(dir: &str) -> FileSpec {
    FileSpec {
        path: dir.into(),
        node: Node::Opaque,
        mode: 0o644,
        uid: 0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Clone, Debug)]
pub struct Layer {
    pub files: Vec<FileSpec>,
    pub compression: Compression,
    /// The Dockerfile line recorded in the history.
    pub created_by: String,
}

#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub name: String,
    pub layers: Vec<Layer>,
    /// The `config` object of the image configuration (User, Env, …).
    pub config: Value,
    pub architecture: String,
}

/// An uncompressed tar of the files (deterministic).
pub fn layer_tar(files: &[FileSpec]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(f.uid);
        h.set_gid(f.uid);
        h.set_mode(f.mode);
        let (path, data): (String, &[u8]) = match &f.node {
            Node::File(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                (f.path.clone(), d)
            }
            Node::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                (format!("{}/", f.path), &[])
            }
            Node::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name(t).expect("link name");
                (f.path.clone(), &[])
            }
            Node::Whiteout => {
                h.set_entry_type(tar::EntryType::Regular);
                let (d, n) = f
                    .path
                    .rsplit_once('/')
                    .map(|(d, n)| (format!("{d}/"), n))
                    .unwrap_or((String::new(), &f.path));
                (format!("{d}.wh.{n}"), &[])
            }
            Node::Opaque => {
                h.set_entry_type(tar::EntryType::Regular);
                (format!("{}/.wh..wh..opq", f.path), &[])
            }
        };
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data).expect("tar in memory");
    }
    b.into_inner().expect("tar in memory")
}

pub fn compress(tar: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).expect("gzip in memory");
            e.finish().expect("gzip in memory")
        }
        Compression::Zstd => {
            ruzstd::encoding::compress_to_vec(tar, ruzstd::encoding::CompressionLevel::Fastest)
        }
    }
}

/// The blobs of an image: (digest, bytes) of layers, config, manifest; and the diff_ids.
pub struct Built {
    pub layers: Vec<(Digest, Vec<u8>, &'static str)>,
    pub uncompressed: Vec<Vec<u8>>,
    pub config: (Digest, Vec<u8>),
    pub manifest: (Digest, Vec<u8>),
}

fn media(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

pub fn build(spec: &ImageSpec) -> Built {
    let mut layers = Vec::new();
    let mut uncompressed = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for l in &spec.layers {
        let t = layer_tar(&l.files);
        diff_ids.push(Digest::of(&t).to_string());
        let c = compress(&t, l.compression);
        layers.push((Digest::of(&c), c, media(l.compression)));
        uncompressed.push(t);
        history.push(json!({"created": "1970-01-01T00:00:00Z", "created_by": l.created_by}));
    }
    let config = json!({
        "architecture": spec.architecture,
        "os": "linux",
        "config": spec.config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let cb = serde_json::to_vec(&config).expect("json");
    let cd = Digest::of(&cb);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cb.len()},
        "layers": layers.iter().map(|(d, b, m)| json!({"mediaType": m, "digest": d.to_string(), "size": b.len()})).collect::<Vec<_>>(),
    });
    let mb = serde_json::to_vec(&manifest).expect("json");
    Built {
        layers,
        uncompressed,
        config: (cd, cb),
        manifest: (Digest::of(&mb), mb),
    }
}

/// The files of an OCI image layout (path, bytes), one or more images in its index.
pub fn layout_files(images: &[(&ImageSpec, &Built)]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let mut manifests = Vec::new();
    for (spec, b) in images {
        for (d, bytes, _) in &b.layers {
            files.push((format!("blobs/sha256/{}", d.hex()), bytes.clone()));
        }
        files.push((
            format!("blobs/sha256/{}", b.config.0.hex()),
            b.config.1.clone(),
        ));
        files.push((
            format!("blobs/sha256/{}", b.manifest.0.hex()),
            b.manifest.1.clone(),
        ));
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": b.manifest.0.to_string(),
            "size": b.manifest.1.len(),
            "platform": {"os": "linux", "architecture": spec.architecture},
            "annotations": {"org.opencontainers.image.ref.name": spec.name},
        }));
    }
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    files.push((
        "index.json".into(),
        serde_json::to_vec_pretty(&index).expect("json"),
    ));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    files
}

pub fn write_layout(dir: &Path, images: &[(&ImageSpec, &Built)]) -> std::io::Result<()> {
    for (p, b) in layout_files(images) {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().expect("parent"))?;
        std::fs::write(p, b)?;
    }
    Ok(())
}

fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_mode(0o644);
        h.set_size(d.len() as u64);
        b.append_data(&mut h, p, &d[..]).expect("tar in memory");
    }
    b.into_inner().expect("tar in memory")
}

/// An OCI layout packed in a tar (what `skopeo copy … oci-archive:` writes).
pub fn oci_archive(spec: &ImageSpec, b: &Built) -> Vec<u8> {
    tar_of(&layout_files(&[(spec, b)]))
}

/// A `docker save` archive (legacy layout: `<id>/layer.tar`, `<config hex>.json`, manifest.json).
pub fn docker_archive(spec: &ImageSpec, b: &Built) -> Vec<u8> {
    let mut files = Vec::new();
    let mut names = Vec::new();
    for t in &b.uncompressed {
        let n = format!("{}/layer.tar", Digest::of(t).hex());
        files.push((n.clone(), t.clone()));
        names.push(n);
    }
    let cname = format!("{}.json", b.config.0.hex());
    files.push((cname.clone(), b.config.1.clone()));
    let m = json!([{"Config": cname, "RepoTags": [spec.name], "Layers": names}]);
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&m).expect("json"),
    ));
    tar_of(&files)
}

// ------------------------------------------------------------------------------------------
// The bundled fixture images.

fn dpkg_stanza(name: &str, source: Option<&str>, version: &str) -> String {
    let src = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!("Package: {name}\nStatus: install ok installed\nPriority: optional\n{src}Version: {version}\nArchitecture: amd64\nDescription: {name} (fixture)\n")
}

fn os_release(id: &str, version: &str, codename: &str, pretty: &str) -> String {
    format!("PRETTY_NAME=\"{pretty}\"\nID={id}\nVERSION_ID=\"{version}\"\nVERSION_CODENAME={codename}\n")
}

fn python_metadata(name: &str, version: &str, license: &str) -> String {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: {license}\n\nA fixture package.\n")
}

fn base_dirs() -> Vec<FileSpec> {
    [
        "bin",
        "etc",
        "usr",
        "usr/bin",
        "usr/lib",
        "usr/local",
        "usr/local/bin",
        "usr/sbin",
        "var",
        "var/lib",
        "tmp",
    ]
    .iter()
    .map(|d| dir(d, if *d == "tmp" { 0o1777 } else { 0o755 }))
    .collect()
}

/// A Debian 12-like image: dpkg status (with Source fields), a shell and apt, passwd with a
/// setuid bit, a world-writable /usr/local/bin, a Python package installed by the distro and one
/// by pip, a `.env` file with a password, a secret in ENV and an `ADD https://` in the history.
/// The second layer deletes /usr/bin/apt-get (whiteout) and replaces /etc/apt (opaque).
pub fn debian() -> ImageSpec {
    let status = [
        dpkg_stanza("base-files", None, "12.4+deb12u4"),
        dpkg_stanza("bash", None, "5.2.15-2+b2"),
        dpkg_stanza("libc6", Some("glibc"), "2.36-9+deb12u3"),
        dpkg_stanza("libssl3", Some("openssl"), "3.0.11-1~deb12u1"),
        dpkg_stanza("openssl", None, "3.0.11-1~deb12u1"),
        dpkg_stanza("zlib1g", Some("zlib (1:1.2.13.dfsg-1)"), "1:1.2.13.dfsg-1"),
        dpkg_stanza("apt", None, "2.6.1"),
        "Package: removed-pkg\nStatus: deinstall ok config-files\nVersion: 1.0-1\nArchitecture: amd64\n".to_string(),
    ]
    .join("\n");
    let mut l1 = base_dirs();
    l1[6].mode = 0o777; // usr/local/bin world-writable
    l1.extend([
        file("etc/os-release", os_release("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"), 0o644),
        file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", 0o644),
        dir("etc/apt", 0o755),
        file("etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n", 0o644),
        file("bin/bash", vec![0u8; 64], 0o755),
        symlink("bin/sh", "bash"),
        file("usr/bin/passwd", vec![0u8; 64], 0o4755),
        file("usr/bin/apt-get", vec![0u8; 64], 0o755),
        file("usr/bin/apt", vec![0u8; 64], 0o755),
        file("usr/bin/dpkg", vec![0u8; 64], 0o755),
        dir("var/lib/dpkg", 0o755),
        file("var/lib/dpkg/status", status, 0o644),
        dir("usr/lib/python3", 0o755),
        dir("usr/lib/python3/dist-packages", 0o755),
        dir("usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info", 0o755),
        file("usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA", python_metadata("urllib3", "1.26.12", "MIT"), 0o644),
    ]);
    let l2 = vec![
        whiteout("usr/bin/apt-get"),
        opaque("etc/apt"),
        file("etc/apt/sources.list.d.txt", "replaced\n", 0o644),
        dir("app", 0o755),
        file(
            "app/.env",
            "DATABASE_URL=postgres://app@db/app\nDB_PASSWORD=Zq8vT3xLw9Rk2pN7\n",
            0o600,
        ),
        dir("usr/local/lib", 0o755),
        dir("usr/local/lib/python3.11", 0o755),
        dir("usr/local/lib/python3.11/site-packages", 0o755),
        dir(
            "usr/local/lib/python3.11/site-packages/requests-2.25.0.dist-info",
            0o755,
        ),
        file(
            "usr/local/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA",
            python_metadata("requests", "2.25.0", "Apache 2.0"),
            0o644,
        ),
        dir(
            "usr/local/lib/python3.11/site-packages/Flask-2.0.0.dist-info",
            0o755,
        ),
        file(
            "usr/local/lib/python3.11/site-packages/Flask-2.0.0.dist-info/METADATA",
            python_metadata("Flask", "2.0.0", "BSD-3-Clause"),
            0o644,
        ),
        file("usr/local/bin/fetch-tool", vec![0u8; 64], 0o755),
    ];
    ImageSpec {
        name: "fixtures/debian:12".into(),
        architecture: "amd64".into(),
        config: json!({
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DB_PASSWORD=Zq8vT3xLw9Rk2pN7", "LANG=C.UTF-8"],
            "Cmd": ["python3", "-m", "app"],
            "ExposedPorts": {"8080/tcp": {}},
        }),
        layers: vec![
            Layer {
                files: l1,
                compression: Compression::Gzip,
                created_by: "/bin/sh -c #(nop) ADD file:debian-rootfs.tar.xz in / ".into(),
            },
            Layer {
                files: l2,
                compression: Compression::Gzip,
                created_by:
                    "ADD https://example.com/fetch-tool /usr/local/bin/fetch-tool # buildkit".into(),
            },
        ],
    }
}

/// An Alpine 3.19-like image: apk database (with origins and licences), busybox, a non-root
/// USER (a name that /etc/passwd maps to 1000), and an npm application (package-lock.json and
/// node_modules). One layer is zstd-compressed.
pub fn alpine() -> ImageSpec {
    let installed = "C:Q1fixture=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\nP:libcrypto3\nV:3.1.4-r1\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:libssl3\nV:3.1.4-r1\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:zlib\nV:1.3-r2\nA:x86_64\nL:Zlib\no:zlib\n";
    let mut l1 = base_dirs();
    l1.extend([
        file(
            "etc/os-release",
            os_release("alpine", "3.19.1", "", "Alpine Linux v3.19"),
            0o644,
        ),
        file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/ash\napp:x:1000:1000::/home/app:/sbin/nologin\n",
            0o644,
        ),
        dir("lib", 0o755),
        dir("lib/apk", 0o755),
        dir("lib/apk/db", 0o755),
        file("lib/apk/db/installed", installed, 0o644),
        file("bin/busybox", vec![0u8; 64], 0o755),
        symlink("bin/sh", "/bin/busybox"),
        dir("sbin", 0o755),
        file("sbin/apk", vec![0u8; 64], 0o755),
    ]);
    let lock = json!({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "web", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.20", "license": "MIT"},
            "node_modules/express": {"version": "4.18.2", "license": "MIT"},
            "node_modules/@babel/core": {"version": "7.23.0", "license": "MIT"},
        }
    });
    let l2 = vec![
        dir("app", 0o755),
        file(
            "app/package-lock.json",
            serde_json::to_vec_pretty(&lock).expect("json"),
            0o644,
        ),
        dir("app/node_modules", 0o755),
        dir("app/node_modules/lodash", 0o755),
        file(
            "app/node_modules/lodash/package.json",
            r#"{"name":"lodash","version":"4.17.20","license":"MIT"}"#,
            0o644,
        ),
    ];
    ImageSpec {
        name: "fixtures/alpine:3.19".into(),
        architecture: "amd64".into(),
        config: json!({"User": "app", "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["node", "/app/server.js"]}),
        layers: vec![
            Layer {
                files: l1,
                compression: Compression::Gzip,
                created_by: "/bin/sh -c #(nop) ADD file:alpine-minirootfs.tar.gz in / ".into(),
            },
            Layer {
                files: l2,
                compression: Compression::Zstd,
                created_by: "COPY app /app # buildkit".into(),
            },
        ],
    }
}

/// A Go binary with build information (Go 1.18+ inline format) for `go_version` and modules.
pub fn go_binary(go_version: &str, main: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let mut modinfo = Vec::new();
    modinfo.extend_from_slice(b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6");
    let mut text = format!("path\t{main}\nmod\t{main}\t(devel)\t\n");
    for (m, v) in deps {
        text.push_str(&format!("dep\t{m}\t{v}\th1:fixture=\n"));
    }
    modinfo.extend_from_slice(text.as_bytes());
    modinfo.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
    let mut out = b"\x7fELF\x02\x01\x01".to_vec();
    out.resize(4096, 0);
    out.extend_from_slice(b"\xff Go buildinf:");
    out.push(8);
    out.push(2);
    out.resize(4096 + 32, 0);
    let varint = |n: usize, out: &mut Vec<u8>| {
        let mut n = n as u64;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    };
    varint(go_version.len(), &mut out);
    out.extend_from_slice(go_version.as_bytes());
    varint(modinfo.len(), &mut out);
    out.extend_from_slice(&modinfo);
    out.resize(out.len() + 1024, 0);
    out
}

/// A distroless-style image: `status.d/` package files, no shell, no package manager, a
/// numeric non-root USER, and a Go binary.
pub fn distroless() -> ImageSpec {
    let st = |n: &str, s: Option<&str>, v: &str| {
        dpkg_stanza(n, s, v).replace("Status: install ok installed\n", "")
    };
    let mut l1 = vec![
        dir("etc", 0o755),
        dir("var", 0o755),
        dir("var/lib", 0o755),
        dir("var/lib/dpkg", 0o755),
        dir("var/lib/dpkg/status.d", 0o755),
    ];
    l1.extend([
        file("etc/os-release", os_release("debian", "12", "bookworm", "Distroless"), 0o644),
        file("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", 0o644),
        file("var/lib/dpkg/status.d/base-files", st("base-files", None, "12.4+deb12u4"), 0o644),
        file("var/lib/dpkg/status.d/libssl3", st("libssl3", Some("openssl"), "3.0.11-1~deb12u1"), 0o644),
        file("var/lib/dpkg/status.d/libssl3.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x86_64-linux-gnu/libssl.so.3\n", 0o644),
        file("var/lib/dpkg/status.d/tzdata", st("tzdata", None, "2024a-0+deb12u1"), 0o644),
    ]);
    let l2 = vec![
        dir("app", 0o755),
        file(
            "app/server",
            go_binary(
                "go1.21.0",
                "example.com/server",
                &[
                    ("golang.org/x/net", "v0.7.0"),
                    ("github.com/google/uuid", "v1.3.0"),
                ],
            ),
            0o755,
        ),
    ];
    ImageSpec {
        name: "fixtures/distroless:nonroot".into(),
        architecture: "amd64".into(),
        config: json!({"User": "65532", "Entrypoint": ["/app/server"]}),
        layers: vec![
            Layer {
                files: l1,
                compression: Compression::Gzip,
                created_by: "bazel build //base:static".into(),
            },
            Layer {
                files: l2,
                compression: Compression::None,
                created_by: "COPY /out/server /app/server # buildkit".into(),
            },
        ],
    }
}

/// An image with language packages only: Cargo.lock, go.mod, a Python egg-info, a Java jar
/// (pom.properties) with a nested jar, and a Spring Boot style fat jar.
pub fn lang() -> ImageSpec {
    let cargo = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.190\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    let gomod = "module example.com/tool\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.7\n\tgithub.com/sirupsen/logrus v1.9.0 // indirect\n)\n";
    let pom = "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n";
    let inner = crate::zip::write_stored(&[(
        "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
        b"groupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.15.2\n",
    )]);
    let jar = crate::zip::write_stored(&[
        (
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\nImplementation-Title: app\n",
        ),
        (
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            pom.as_bytes(),
        ),
        ("BOOT-INF/lib/jackson-databind-2.15.2.jar", &inner),
    ]);
    let files = vec![
        dir("srv", 0o755),
        file("srv/rust/Cargo.lock", cargo, 0o644),
        file("srv/go/go.mod", gomod, 0o644),
        file(
            "srv/py/PyYAML-5.3.1-py3.8.egg-info",
            python_metadata("PyYAML", "5.3.1", "MIT"),
            0o644,
        ),
        file("srv/java/app.jar", jar, 0o644),
    ];
    ImageSpec {
        name: "fixtures/lang:1".into(),
        architecture: "amd64".into(),
        config: json!({"User": "1000:1000", "Cmd": ["/srv/run"]}),
        layers: vec![Layer {
            files,
            compression: Compression::Gzip,
            created_by: "COPY srv /srv # buildkit".into(),
        }],
    }
}

/// Every bundled fixture, by directory name under examples/image/.
pub fn all() -> Vec<(&'static str, ImageSpec)> {
    vec![
        ("debian", debian()),
        ("alpine", alpine()),
        ("distroless", distroless()),
        ("lang", lang()),
    ]
}
