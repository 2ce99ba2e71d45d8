//! The one TLS client configuration every tandem client builds: the platform's root
//! certificates (which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`), plus the certificates of a
//! `--ca-cert FILE` for a private authority. Host names are always verified; there is no way to
//! accept a certificate that does not chain to one of these roots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The `--ca-cert` file could not be read or holds no PEM certificate.
    #[error("--ca-cert {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused a certificate of the `--ca-cert` file as a root.
    #[error("--ca-cert {}: {source}", path.display())]
    CaCertificate {
        /// The file.
        path: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The crypto provider offers no protocol version rustls accepts (a build problem).
    #[error("TLS configuration: {0}")]
    Provider(rustls::Error),
}

/// Builds the client configuration: platform roots plus those of `ca_cert`, if given.
///
/// A platform without roots (a container without `ca-certificates`) is not an error here: the
/// first `wss://` connection then fails as "certificate not trusted", which says what to do.
pub fn client_config(ca_cert: Option<&Path>) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = platform_roots();
    if let Some(path) = ca_cert {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|source| TlsConfigError::CaCertificate {
                path: path.to_owned(),
                source,
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Provider)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// rustls's *ring* provider, named explicitly so that no other crate's choice of provider
/// changes ours. *ring* rather than aws-lc-rs: it builds with a C compiler alone (no cmake) and
/// in a fraction of the time; rustls 0.23.48 deprecates it only because it lacks post-quantum
/// key exchange, which no tandem server offers either.
#[allow(deprecated)]
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The platform's roots; unreadable ones are logged and skipped.
fn platform_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a platform root certificate could not be loaded");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "platform root certificates");
    roots
}

/// Every certificate of a PEM file.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let bad = |reason: String| TlsConfigError::CaFile { path: path.to_owned(), reason };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = client_config(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("ca.pem") && error.contains("no PEM certificate"), "{error}");
        let missing = client_config(Some(&dir.path().join("absent.pem"))).unwrap_err();
        assert!(missing.to_string().contains("absent.pem"), "{missing}");
    }

    #[test]
    fn a_ca_file_adds_its_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
        assert!(client_config(Some(&path)).is_ok());
    }
}
