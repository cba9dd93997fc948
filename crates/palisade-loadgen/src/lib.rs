//! A minimal HTTPS/1.1 keep-alive client (rustls + hyper) for talking to the admission
//! webhook: used by the load generator and by the webhook's integration tests, so both
//! exercise the server over real TLS.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A client TLS configuration trusting only the CA certificates in `ca_pem`.
pub fn client_config(ca_pem: &[u8]) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert?)?;
        n += 1;
    }
    anyhow::ensure!(n > 0, "no CA certificate found in the PEM data");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    /// The certificate chain the server presented in this connection's handshake.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// Connects and completes the TLS handshake, verifying the server as `server_name`.
pub async fn connect(
    addr: SocketAddr,
    server_name: &str,
    cfg: Arc<rustls::ClientConfig>,
) -> anyhow::Result<Conn> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(server_name.to_string())?;
    let tls = TlsConnector::from(cfg).connect(name, tcp).await?;
    let peer_certificates = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        sender,
        host: server_name.to_string(),
        peer_certificates,
    })
}

/// Writes `bytes` as-is on a fresh TLS connection and returns everything the server sends
/// until it closes the connection. A failed write is ignored (a server may answer and
/// close before reading a request it refuses), so the caller sees the server's answer
/// rather than a broken pipe.
pub async fn raw_exchange(
    addr: SocketAddr,
    server_name: &str,
    cfg: Arc<rustls::ClientConfig>,
    bytes: &[u8],
) -> anyhow::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(server_name.to_string())?;
    let mut tls = TlsConnector::from(cfg).connect(name, tcp).await?;
    let _ = tls.write_all(bytes).await;
    let _ = tls.flush().await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tls.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A close without TLS close_notify after the answer is still an answer.
            Err(_) if !out.is_empty() => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

impl Conn {
    /// Sends one request and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> anyhow::Result<Reply> {
        self.sender.ready().await?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Full::new(body))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    /// POSTs a JSON body.
    pub async fn post_json(&mut self, path: &str, body: impl Into<Bytes>) -> anyhow::Result<Reply> {
        self.request("POST", path, body.into(), Some("application/json"))
            .await
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Reply> {
        self.request("GET", path, Bytes::new(), None).await
    }

    /// Whether the connection can still send requests.
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }
}
