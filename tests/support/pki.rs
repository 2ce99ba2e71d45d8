//! [`TestCa`]: a certificate authority made at test time, and the server certificates it issues
//! (valid, expired, for another host). No private key is ever committed: each test run makes its
//! own.

use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use sha2::{Digest, Sha256};

/// When an issued certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From the past until far in the future.
    Current,
    /// It expired years ago.
    Expired,
}

/// A private certificate authority for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    serial: std::cell::Cell<u64>,
}

impl TestCa {
    /// A new authority named `name`.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key)?.pem();
        Ok(Self { issuer: Issuer::new(params, key), pem, serial: 1.into() })
    }

    /// The authority's certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the authority's certificate to `dir/ca.pem` and returns the path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem)?;
        Ok(path)
    }

    /// A server certificate for `names` (DNS names or IP addresses), with a new key.
    pub fn issue(&self, names: &[&str], validity: Validity) -> anyhow::Result<ServerCert> {
        let key = KeyPair::generate()?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone())?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().cloned().unwrap_or_default());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        params.serial_number = Some(serial.into());
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = match validity {
            Validity::Current => rcgen::date_time_ymd(2200, 1, 1),
            Validity::Expired => rcgen::date_time_ymd(2021, 1, 1),
        };
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            spki: key.subject_public_key_info(),
            serial,
        })
    }
}

/// The files a TLS server is started with, and the authority that signed its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The authority's certificate, PEM: what a client passes as `--ca-cert`.
    pub ca: PathBuf,
}

/// A server certificate and its key.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    spki: Vec<u8>,
    /// Its serial number, to tell certificates apart after a reload.
    pub serial: u64,
}

impl ServerCert {
    /// Writes `cert.pem` and `key.pem` into `dir` (created if missing), and the certificate of
    /// `ca`, which signed it, as `ca.pem`.
    pub fn write(&self, dir: &Path, ca: &TestCa) -> std::io::Result<TlsFiles> {
        std::fs::create_dir_all(dir)?;
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.cert_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok(TlsFiles { cert, key, ca: ca.write(dir)? })
    }

    /// The certificate, DER: what a TLS client sees the server present.
    pub fn der(&self) -> rustls_pki_types::CertificateDer<'static> {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_slice(self.cert_pem.as_bytes())
            .expect("rcgen writes valid PEM")
    }

    /// base64 of the SHA-256 of the key's SubjectPublicKeyInfo: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust this one key.
    pub fn spki_sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&self.spki))
    }
}
