//! Against a real registry: Debian's `docker-registry` (the CNCF distribution server), started
//! here on a loopback port with a temporary configuration and storage; the fixture images are
//! pushed with oci-client, then scanned by reference (cold: pulled; warm: every layer from the
//! cache), a multi-platform index is resolved with the platform option, and a registry with
//! htpasswd authentication is read with credentials from a Docker configuration file.

use palisade_image::fixture;
use palisade_image::registry::{self, RegistryOptions};
use palisade_image::{analyze, Options};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Registry {
    child: Child,
    addr: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, auth: Option<&Path>) -> Registry {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let auth = auth
        .map(|h| {
            format!(
                "auth:\n  htpasswd:\n    realm: palisade-test\n    path: {}\n",
                h.display()
            )
        })
        .unwrap_or_default();
    let cfg = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n{auth}http:\n  addr: {addr}\n",
        dir.join("storage").display()
    );
    let cfg_path = dir.join("config.yml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("docker-registry (Debian package docker-registry; scripts/install-test-deps.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Registry { child, addr }
}

fn pkgs(a: &palisade_image::Analysis) -> Vec<String> {
    a.packages
        .iter()
        .map(|p| format!("{}:{}@{}", p.kind.as_str(), p.name, p.version))
        .collect()
}

#[test]
fn push_then_scan_cold_and_warm() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = start(tmp.path(), None);
    let ro = RegistryOptions::default();
    for (name, spec) in fixture::all() {
        let b = fixture::build(&spec);
        let reference = format!("{}/fixtures/{name}:1", reg.addr);
        let digest = registry::push(&reference, &b, &ro).unwrap();
        assert_eq!(digest, b.manifest.0.to_string());

        let cache = tmp.path().join("cache");
        let opts = Options {
            cache: Some(cache),
            ..Options::default()
        };
        let cold = analyze(&reference, &opts).unwrap();
        assert_eq!(cold.manifest_digest.as_deref(), Some(digest.as_str()));
        assert!(
            cold.layers.iter().all(|l| !l.cached),
            "{name}: cold scan read from the cache"
        );
        let warm = analyze(&reference, &opts).unwrap();
        assert!(
            warm.layers.iter().all(|l| l.cached),
            "{name}: warm scan pulled layers"
        );
        assert_eq!(pkgs(&warm), pkgs(&cold));

        // The same packages as the local layout of the same image.
        let dir = tmp.path().join(format!("layout-{name}"));
        fixture::write_layout(&dir, &[(&spec, &b)]).unwrap();
        let local = analyze(dir.to_str().unwrap(), &Options::default()).unwrap();
        assert_eq!(pkgs(&cold), pkgs(&local), "{name}");
    }
    let e = analyze(
        &format!("{}/fixtures/missing:1", reg.addr),
        &Options::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("fixtures/missing:1"), "{e}");
}

#[test]
fn multi_platform_index() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = start(tmp.path(), None);
    let ro = RegistryOptions::default();
    let amd = fixture::alpine();
    let mut arm = fixture::distroless();
    arm.architecture = "arm64".into();
    let (ba, bb) = (fixture::build(&amd), fixture::build(&arm));
    let repo = format!("{}/fixtures/multi", reg.addr);
    registry::push(&format!("{repo}:amd64"), &ba, &ro).unwrap();
    registry::push(&format!("{repo}:arm64"), &bb, &ro).unwrap();
    registry::push_index(&format!("{repo}:1"), &[(&amd, &ba), (&arm, &bb)], &ro).unwrap();
    let a = analyze(&format!("{repo}:1"), &Options::default()).unwrap();
    assert_eq!(a.os.unwrap().id, "alpine");
    assert_eq!(a.manifest_digest.unwrap(), ba.manifest.0.to_string());
    let o = Options {
        platform: Some("linux/arm64".into()),
        ..Options::default()
    };
    let b = analyze(&format!("{repo}:1"), &o).unwrap();
    assert_eq!(b.os.unwrap().id, "debian");
    let o = Options {
        platform: Some("windows/amd64".into()),
        ..Options::default()
    };
    let e = analyze(&format!("{repo}:1"), &o).err().unwrap().to_string();
    assert!(e.contains("no manifest for platform windows/amd64"), "{e}");
}

#[test]
fn credentials_from_docker_config() {
    // htpasswd with a bcrypt hash of "s3cret" for user "ci" (`htpasswd -nbB`).
    let tmp = tempfile::tempdir().unwrap();
    let line = bcrypt_line("ci", "s3cret")
        .expect("htpasswd (Debian apache2-utils; scripts/install-test-deps.sh installs it)");
    let htpasswd = tmp.path().join("htpasswd");
    std::fs::write(&htpasswd, line).unwrap();
    let reg = start(tmp.path(), Some(&htpasswd));
    let cfg = tmp.path().join("docker.json");
    // base64("ci:s3cret")
    std::fs::write(
        &cfg,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "Y2k6czNjcmV0"}}}}}}"#,
            reg.addr
        ),
    )
    .unwrap();
    let ro = RegistryOptions {
        docker_config: Some(cfg.clone()),
        ..RegistryOptions::default()
    };
    let spec = fixture::lang();
    let b = fixture::build(&spec);
    let reference = format!("{}/private/lang:1", reg.addr);
    registry::push(&reference, &b, &ro).unwrap();
    let opts = Options {
        registry: ro,
        ..Options::default()
    };
    assert_eq!(pkgs(&analyze(&reference, &opts).unwrap()).len(), 7);
    // Without credentials the registry refuses.
    let anon = RegistryOptions {
        docker_config: Some(tmp.path().join("none.json")),
        ..RegistryOptions::default()
    };
    let e = analyze(
        &reference,
        &Options {
            registry: anon,
            ..Options::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.to_lowercase().contains("not authorized"), "{e}");
}

fn bcrypt_line(user: &str, pass: &str) -> Option<String> {
    let out = Command::new("htpasswd")
        .args(["-nbB", user, pass])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string() + "\n")
}
