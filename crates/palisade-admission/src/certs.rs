//! `palisade admission certs`: a CA and a serving certificate for the webhook Service
//! (ECDSA P-256), and loading PEM certificate/key files for the server.
//!
//! The serving certificate names `SVC`, `SVC.NS`, `SVC.NS.svc` and
//! `SVC.NS.svc.cluster.local`; the API server calls the webhook as `SVC.NS.svc` and verifies
//! it against the caBundle (the CA certificate, base64).

use anyhow::{bail, Context as _, Result};
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct CertOptions {
    pub service: String,
    pub namespace: String,
    /// Serving certificate validity in days.
    pub days: u32,
    /// CA validity in days.
    pub ca_days: u32,
    pub extra_dns: Vec<String>,
    pub ip_sans: Vec<std::net::IpAddr>,
}

/// A CA and a serving certificate signed by it, as PEM.
#[derive(Clone, Debug)]
pub struct GeneratedCerts {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    /// The serving certificate (leaf only: the API server trusts the CA directly).
    pub cert_pem: String,
    pub key_pem: String,
}

/// `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 86_400) as i64
}

fn validity(params: &mut CertificateParams, days: u32) {
    // From yesterday, so clock skew between nodes does not make a fresh certificate
    // "not yet valid".
    let (y, m, d) = civil_from_days(today() - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(today() + i64::from(days));
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

/// Generates the CA and the serving certificate.
pub fn generate(opts: &CertOptions) -> Result<GeneratedCerts> {
    if opts.service.is_empty() || opts.namespace.is_empty() {
        bail!("--service and --namespace must not be empty");
    }
    if opts.days == 0 || opts.ca_days < opts.days {
        bail!(
            "the serving certificate must be valid for at least a day, and no longer than the CA"
        );
    }
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("{}.{} webhook CA", opts.service, opts.namespace),
    );
    ca.distinguished_name
        .push(DnType::OrganizationName, "Palisade");
    validity(&mut ca, opts.ca_days);
    let ca_cert = ca.self_signed(&ca_key)?;

    let (s, n) = (&opts.service, &opts.namespace);
    let mut names = vec![
        s.clone(),
        format!("{s}.{n}"),
        format!("{s}.{n}.svc"),
        format!("{s}.{n}.svc.cluster.local"),
    ];
    names.extend(opts.extra_dns.iter().cloned());
    let mut leaf = CertificateParams::new(names)?;
    for ip in &opts.ip_sans {
        leaf.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    leaf.distinguished_name
        .push(DnType::CommonName, format!("{s}.{n}.svc"));
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    validity(&mut leaf, opts.days);
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let issuer = Issuer::new(ca, &ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok(GeneratedCerts {
        ca_cert_pem: ca_cert.pem(),
        ca_key_pem: ca_key.serialize_pem(),
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    })
}

impl GeneratedCerts {
    /// What goes in a webhook's `clientConfig.caBundle`.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_cert_pem)
    }

    /// Writes `ca.crt`, `ca.key`, `tls.crt` and `tls.key` (keys mode 0600 on Unix).
    pub fn write_to(&self, dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
        let files = [
            ("ca.crt", &self.ca_cert_pem, false),
            ("ca.key", &self.ca_key_pem, true),
            ("tls.crt", &self.cert_pem, false),
            ("tls.key", &self.key_pem, true),
        ];
        if !force {
            for (name, _, _) in &files {
                let p = dir.join(name);
                if p.exists() {
                    bail!("{} exists (use --force to overwrite)", p.display());
                }
            }
        }
        let mut written = Vec::new();
        for (name, text, secret) in files {
            let p = dir.join(name);
            write_file(&p, text.as_bytes(), secret)
                .with_context(|| format!("cannot write {}", p.display()))?;
            written.push(p);
        }
        Ok(written)
    }

    /// A `kubernetes.io/tls` Secret with `tls.crt`, `tls.key` and `ca.crt`.
    pub fn secret_manifest(&self, name: &str, namespace: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n  ca.crt: {}\n",
            b(&self.cert_pem),
            b(&self.key_pem),
            b(&self.ca_cert_pem)
        )
    }
}

fn write_file(p: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = o.open(p)?;
    f.write_all(bytes)
}

/// Reads a PEM certificate chain and private key, with errors naming the file.
pub fn load_pem_files(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let cert_bytes =
        std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: invalid PEM: {e}", cert.display()))?;
    if chain.is_empty() {
        bail!("{}: no certificate found", cert.display());
    }
    let key_bytes = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
    let private = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| anyhow::anyhow!("{}: no private key found: {e}", key.display()))?;
    // The key must match the certificate.
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private.clone_key())
        .map_err(|e| anyhow::anyhow!("{}: unsupported private key: {e}", key.display()))?;
    rustls::sign::CertifiedKey::new(chain.clone(), signing)
        .keys_match()
        .map_err(|e| {
            anyhow::anyhow!(
                "{} does not match the certificate in {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    Ok((chain, private))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    fn opts() -> CertOptions {
        CertOptions {
            service: "palisade-admission".into(),
            namespace: "palisade-system".into(),
            days: 365,
            ca_days: 3650,
            extra_dns: Vec::new(),
            ip_sans: vec!["127.0.0.1".parse().unwrap()],
        }
    }

    #[test]
    fn the_leaf_verifies_against_the_ca_for_the_service_name() {
        let g = generate(&opts()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(g.ca_cert_pem.as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        let leaf = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).unwrap();
        let now = UnixTime::now();
        for name in [
            "palisade-admission.palisade-system.svc",
            "palisade-admission.palisade-system.svc.cluster.local",
        ] {
            let n = ServerName::try_from(name).unwrap();
            v.verify_server_cert(&leaf, &[], &n, &[], now)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let wrong = ServerName::try_from("evil.palisade-system.svc").unwrap();
        assert!(v.verify_server_cert(&leaf, &[], &wrong, &[], now).is_err());
        assert!(g.ca_bundle().len() > 100);
        assert!(g
            .secret_manifest("s", "ns")
            .contains("type: kubernetes.io/tls"));
    }

    #[test]
    fn files_round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&opts()).unwrap();
        let written = g.write_to(dir.path(), false).unwrap();
        assert_eq!(written.len(), 4);
        assert!(
            g.write_to(dir.path(), false).is_err(),
            "no silent overwrite"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("tls.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (chain, _) =
            load_pem_files(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap();
        assert_eq!(chain.len(), 1);

        let e =
            load_pem_files(&dir.path().join("tls.key"), &dir.path().join("tls.key")).unwrap_err();
        assert!(e.to_string().contains("tls.key: no certificate"), "{e}");
        let e =
            load_pem_files(&dir.path().join("tls.crt"), &dir.path().join("tls.crt")).unwrap_err();
        assert!(e.to_string().contains("tls.crt: no private key"), "{e}");
        let e =
            load_pem_files(&dir.path().join("tls.crt"), &dir.path().join("ca.key")).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        let e =
            load_pem_files(&dir.path().join("nope.crt"), &dir.path().join("tls.key")).unwrap_err();
        assert!(e.to_string().contains("nope.crt"), "{e}");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }
}
