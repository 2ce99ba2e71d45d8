//! Native TLS: `--tls-cert` / `--tls-key` make the server speak https and wss on its listening
//! port, with rustls.
//!
//! - [`ServerTls`] holds the certificate, which is reloaded when its files change or on SIGHUP
//!   (a certbot renewal), without touching connections already open. The accept loop
//!   (`crate::listen`) runs each handshake in the connection's own task, time-limited, so a
//!   client that connects and says nothing holds up no one.

mod certificate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use certificate::ReloadableCert;

/// The certificate chain and private key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain: the server's certificate first, then intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds nothing usable.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key does not fit the certificate (or rustls cannot use it).
    #[error("{} with {}: {reason}", cert.display(), key.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
    /// The crypto provider offers no protocol version rustls accepts (a build problem).
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

/// rustls's *ring* provider, as tandem's clients use (see tandem-connect for why *ring*).
#[allow(deprecated)]
fn crypto_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The server's TLS: an acceptor whose certificate follows its files.
pub struct ServerTls {
    files: TlsFiles,
    cert: Arc<ReloadableCert>,
    acceptor: TlsAcceptor,
}

impl ServerTls {
    /// Reads the certificate and key; fails if they cannot serve.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let cert = Arc::new(ReloadableCert::new(certificate::load(&files)?));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(crypto_provider()))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        // HTTP/1.1 only: browsers open websockets with an HTTP/1.1 upgrade, and the server does
        // not offer websockets over HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { files, cert, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    /// The acceptor for each connection's handshake; it always presents the current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// Reloads the certificate when its files change (checked every `interval`) or on SIGHUP,
    /// until `shutdown` is cancelled.
    pub fn watch(
        &self,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + use<> {
        certificate::watch(self.cert.clone(), self.files.clone(), interval, shutdown)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! TLS configurations for unit tests, from a certificate authority made on the spot.

    use std::sync::Arc;

    use rustls::{ClientConfig, RootCertStore, ServerConfig};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tandem_e2e::{TestCa, Validity};

    /// A server configuration for `localhost`, and the authority that signed it.
    pub fn server_config() -> (ServerConfig, TestCa) {
        let ca = TestCa::new("unit test CA").unwrap();
        let cert = ca.issue(&["localhost"], Validity::Current).unwrap();
        let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(super::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        (config, ca)
    }

    /// A client configuration trusting only `ca`.
    pub fn client_config(ca: &TestCa) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap()).unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(super::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}
