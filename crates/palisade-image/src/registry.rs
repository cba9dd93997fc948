//! Registry references through `oci-client`: credentials from the Docker configuration
//! (`auths` and credential helpers), the bearer-token flow (oci-client answers the registry's
//! `WWW-Authenticate` challenge), multi-platform indexes resolved with `--platform` like
//! local layouts. Only layers the cache does not hold are downloaded, into a private
//! temporary directory laid out like an OCI layout, then analysed by the same code as local
//! images (digests verified while reading). Loopback registries are spoken to over plain
//! HTTP, as Docker does; others need `insecure` for that.

use crate::source::{choose, opened_from_manifest, Blobs};
use crate::{Analysis, Cache, Digest, Error, Options};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Registries (host[:port]) spoken to over plain HTTP.
    pub insecure: Vec<String>,
    /// Docker configuration file [default: $DOCKER_CONFIG/config.json, ~/.docker/config.json].
    pub docker_config: Option<PathBuf>,
}

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(registry);
    host == "localhost" || host == "127.0.0.1" || host == "[::1]"
}

fn docker_config_path(o: &RegistryOptions) -> Option<PathBuf> {
    if let Some(p) = &o.docker_config {
        return Some(p.clone());
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(Path::new(&d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker/config.json"))
}

/// Credentials for `registry` from a Docker configuration document: a credential helper
/// (`credHelpers[registry]`, else `credsStore`) is asked first, then `auths`.
pub fn docker_auth(config: &Value, registry: &str) -> Result<RegistryAuth, Error> {
    let keys = if registry == "docker.io" || registry == "index.docker.io" {
        vec![
            "https://index.docker.io/v1/".to_string(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    let helper = keys
        .iter()
        .find_map(|k| {
            config
                .get("credHelpers")
                .and_then(|h| h.get(k))
                .and_then(|h| h.as_str())
        })
        .or_else(|| config.get("credsStore").and_then(|s| s.as_str()));
    if let Some(h) = helper {
        return credential_helper(h, &keys[0]);
    }
    for k in &keys {
        let Some(a) = config.get("auths").and_then(|x| x.get(k)) else {
            continue;
        };
        if let Some(t) = a.get("registrytoken").and_then(|t| t.as_str()) {
            return Ok(RegistryAuth::Bearer(t.to_string()));
        }
        if let Some(enc) = a.get("auth").and_then(|t| t.as_str()) {
            let dec = palisade_checks::hardening::secrets::detect::base64_decode(enc.as_bytes());
            let s = String::from_utf8_lossy(&dec).into_owned();
            let (u, p) = s.split_once(':').ok_or_else(|| {
                Error::new(format!(
                    "docker config: auths[{k}].auth is not base64 of user:password"
                ))
            })?;
            return Ok(RegistryAuth::Basic(u.to_string(), p.to_string()));
        }
        if let (Some(u), Some(p)) = (
            a.get("username").and_then(|x| x.as_str()),
            a.get("password").and_then(|x| x.as_str()),
        ) {
            return Ok(RegistryAuth::Basic(u.to_string(), p.to_string()));
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// Runs `docker-credential-<helper> get` with the server on standard input.
fn credential_helper(helper: &str, server: &str) -> Result<RegistryAuth, Error> {
    use std::io::Write as _;
    let prog = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&prog)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("credential helper {prog}: {e}")))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::new(format!("credential helper {prog}: {e}")))?;
    if !out.status.success() {
        // "credentials not found" is anonymous access, as docker does.
        return Ok(RegistryAuth::Anonymous);
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::new(format!("credential helper {prog}: invalid answer: {e}")))?;
    let user = v.get("Username").and_then(|u| u.as_str()).unwrap_or("");
    let secret = v.get("Secret").and_then(|u| u.as_str()).unwrap_or("");
    Ok(if user == "<token>" {
        RegistryAuth::Bearer(secret.to_string())
    } else {
        RegistryAuth::Basic(user.to_string(), secret.to_string())
    })
}

fn auth_for(registry: &str, o: &RegistryOptions) -> Result<RegistryAuth, Error> {
    let Some(p) = docker_config_path(o) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let Ok(text) = std::fs::read(&p) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::new(format!("{}:{}: invalid JSON: {e}", p.display(), e.line())))?;
    docker_auth(&v, registry)
}

pub fn client(reference: &Reference, o: &RegistryOptions) -> Client {
    install_ring();
    let mut http: Vec<String> = o.insecure.clone();
    if is_loopback(reference.resolve_registry()) {
        http.push(reference.resolve_registry().to_string());
    }
    Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(http),
        platform_resolver: None,
        ..ClientConfig::default()
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the network runtime: {e}")))
}

/// Pulls and analyses a registry image.
pub fn analyze(reference: &str, opts: &Options, ro: &RegistryOptions) -> Result<Analysis, Error> {
    let r: Reference = reference
        .parse()
        .map_err(|e| Error::new(format!("{reference}: not an image reference: {e}")))?;
    let auth = auth_for(r.resolve_registry(), ro)?;
    let c = client(&r, ro);
    let rt = runtime()?;
    let tmp = TempDir::new()?;
    let (manifest, digest) = rt.block_on(async {
        let err =
            |e: oci_client::errors::OciDistributionError| Error::new(format!("{reference}: {e}"));
        let (mut body, mut digest) = c.pull_manifest_raw(&r, &auth, ACCEPT).await.map_err(err)?;
        for _ in 0..4 {
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| Error::new(format!("{reference}: manifest: invalid JSON: {e}")))?;
            let Some(list) = v.get("manifests").and_then(|m| m.as_array()) else {
                return Ok((v, digest));
            };
            let d = choose(list, opts.platform.as_deref(), reference)?;
            let want = d
                .get("digest")
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string();
            let child = r.clone_with_digest(want.clone());
            let (b, _) = c
                .pull_manifest_raw(&child, &auth, ACCEPT)
                .await
                .map_err(err)?;
            if Digest::of(&b).to_string() != want {
                return Err(Error::new(format!(
                    "{reference}: digest mismatch for manifest {want}"
                )));
            }
            body = b;
            digest = want;
        }
        Err(Error::new(format!(
            "{reference}: image indexes nested too deeply"
        )))
    })?;
    let cache = Cache::new(opts.cache.clone());
    let mut wanted: Vec<OciDescriptor> = Vec::new();
    if let Some(cd) = manifest.get("config") {
        wanted.push(
            serde_json::from_value(cd.clone())
                .map_err(|e| Error::new(format!("{reference}: config descriptor: {e}")))?,
        );
    }
    for l in manifest
        .get("layers")
        .and_then(|l| l.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let d: OciDescriptor = serde_json::from_value(l.clone())
            .map_err(|e| Error::new(format!("{reference}: layer descriptor: {e}")))?;
        if !cache.contains(&d.digest) {
            wanted.push(d);
        }
    }
    let blobs = tmp.0.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| Error::new(format!("{}: {e}", blobs.display())))?;
    rt.block_on(async {
        for d in &wanted {
            let hex = Digest::parse(&d.digest)
                .map_err(|e| Error::new(format!("{reference}: {e}")))?
                .hex()
                .to_string();
            let path = blobs.join(&hex);
            let f = tokio::fs::File::create(&path)
                .await
                .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
            c.pull_blob(&r, d, f)
                .await
                .map_err(|e| Error::new(format!("{reference}: blob {}: {e}", d.digest)))?;
        }
        Ok::<(), Error>(())
    })?;
    let opened = opened_from_manifest(
        Blobs::Dir(tmp.0.clone()),
        &manifest,
        Some(digest),
        reference.to_string(),
        reference,
    )?;
    crate::analyze_opened(opened, opts)
}

/// rustls' process-wide provider: ring, as everywhere in Palisade (a no-op when installed).
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, Error> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "palisade-pull-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).map_err(|e| Error::new(format!("{}: {e}", p.display())))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pushes an image built by [`crate::fixture`] (tests and benchmarks): its blobs, then its
/// manifest bytes unchanged (so the manifest digest is the fixture's). Returns the digest.
pub fn push(
    reference: &str,
    built: &crate::fixture::Built,
    ro: &RegistryOptions,
) -> Result<String, Error> {
    let r: Reference = reference
        .parse()
        .map_err(|e| Error::new(format!("{reference}: {e}")))?;
    let auth = auth_for(r.resolve_registry(), ro)?;
    let c = client(&r, ro);
    let rt = runtime()?;
    let err =
        |e: oci_client::errors::OciDistributionError| Error::new(format!("{reference}: push: {e}"));
    rt.block_on(async {
        c.store_auth_if_needed(r.resolve_registry(), &auth).await;
        // The token for pushing is asked for explicitly (pulls get theirs on demand).
        let _ = c.auth(&r, &auth, oci_client::RegistryOperation::Push).await;
        for (d, b, _) in &built.layers {
            c.push_blob(&r, b.clone(), &d.to_string())
                .await
                .map_err(err)?;
        }
        c.push_blob(&r, built.config.1.clone(), &built.config.0.to_string())
            .await
            .map_err(err)?;
        let ct =
            reqwest::header::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json");
        c.push_manifest_raw(&r, built.manifest.1.clone(), ct)
            .await
            .map_err(err)?;
        Ok(built.manifest.0.to_string())
    })
}

/// Pushes an image index over images already pushed to the same repository.
pub fn push_index(
    reference: &str,
    images: &[(&crate::fixture::ImageSpec, &crate::fixture::Built)],
    ro: &RegistryOptions,
) -> Result<String, Error> {
    let r: Reference = reference
        .parse()
        .map_err(|e| Error::new(format!("{reference}: {e}")))?;
    let auth = auth_for(r.resolve_registry(), ro)?;
    let c = client(&r, ro);
    let manifests: Vec<Value> = images
        .iter()
        .map(|(s, b)| {
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": b.manifest.0.to_string(),
                "size": b.manifest.1.len(),
                "platform": {"os": "linux", "architecture": s.architecture},
            })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .map_err(|e| Error::new(e.to_string()))?;
    let rt = runtime()?;
    rt.block_on(async {
        c.store_auth_if_needed(r.resolve_registry(), &auth).await;
        let ct =
            reqwest::header::HeaderValue::from_static("application/vnd.oci.image.index.v1+json");
        c.push_manifest_raw(&r, body.clone(), ct)
            .await
            .map_err(|e| Error::new(format!("{reference}: push: {e}")))
    })?;
    Ok(Digest::of(&body).to_string())
}
