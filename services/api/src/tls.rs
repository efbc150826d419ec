//! HTTPS for API nodes without a TLS-terminating proxy in front (`api.tls.cert_file` and
//! `api.tls.key_file`): rustls with ring, HTTP/1.1 only, as the server speaks.
//!
//! Handshakes run concurrently, each bounded by [`HANDSHAKE_TIMEOUT`]: a client that opens a
//! connection and says nothing must not hold up the clients behind it.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain in {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("cannot read the private key in {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("the certificate and key do not make a TLS server: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1).
pub fn acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, TlsError> {
    let certificate_error = |reason: String| TlsError::Certificate {
        path: cert_file.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|error| certificate_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| certificate_error(error.to_string()))?;
    if chain.is_empty() {
        return Err(certificate_error("no CERTIFICATE block".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|error| TlsError::Key {
        path: key_file.display().to_string(),
        reason: error.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TCP connections and hands on those whose TLS handshake succeeded.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<(io::Result<TlsStream<TcpStream>>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        Self {
            tcp,
            acceptor,
            handshakes: JoinSet::new(),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, address)) => {
                        let handshake = self.acceptor.accept(stream);
                        self.handshakes.spawn(async move {
                            let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
                                .await
                                .unwrap_or_else(|_| {
                                    Err(io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))
                                });
                            (stream, address)
                        });
                    }
                    Err(error) => accept_failed(error).await,
                },
                Some(done) = self.handshakes.join_next() => match done {
                    Ok((Ok(stream), address)) => return (stream, address),
                    Ok((Err(error), address)) => {
                        tracing::debug!(%error, %address, "tls handshake failed");
                    }
                    Err(error) => tracing::warn!(%error, "tls handshake task failed"),
                },
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// As axum does for plain TCP: a failed connection is skipped; anything else (out of file
/// descriptors) is logged and waited out, rather than spinning.
async fn accept_failed(error: io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !per_connection {
        tracing::error!(%error, "accepting a connection failed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
