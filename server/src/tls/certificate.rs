//! The server's certificate: read from PEM files, handed to every TLS handshake by a resolver
//! whose certificate can be swapped while the server runs, and swapped when the files change or
//! on SIGHUP. Connections already open keep the session they negotiated: a reload only changes
//! what the next handshake presents.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

use super::{TlsError, TlsFiles, crypto_provider};

/// Reads the certificate chain and its key, and checks that they belong together.
pub(crate) fn load(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path)
            .map_err(|e| TlsError::File { path: path.to_owned(), reason: e.to_string() })
    };
    let bad = |path: &Path, reason: String| TlsError::File { path: path.to_owned(), reason };
    let chain = CertificateDer::pem_slice_iter(&read(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&files.cert, format!("not a PEM certificate chain ({e})")))?;
    if chain.is_empty() {
        return Err(bad(
            &files.cert,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?)
        .map_err(|e| bad(&files.key, format!("no PEM private key in it ({e})")))?;
    CertifiedKey::from_der(chain, key, &crypto_provider()).map_err(|e| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    })
}

/// Hands the current certificate to every handshake; [`Self::replace`] swaps it.
pub(crate) struct ReloadableCert {
    current: ArcSwap<CertifiedKey>,
}

impl ReloadableCert {
    /// Starts with `key`.
    pub fn new(key: CertifiedKey) -> Self {
        Self { current: ArcSwap::from_pointee(key) }
    }

    /// Handshakes from now on present `key`.
    pub fn replace(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCert").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// What identifies a version of a file: a replaced file (certbot swaps symlinks, a copy writes
/// in place) changes its inode, size or modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &PathBuf) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp { modified: meta.modified().ok(), len: meta.len(), inode })
}

fn stamps(files: &TlsFiles) -> [Option<FileStamp>; 2] {
    [stamp(&files.cert), stamp(&files.key)]
}

/// Reloads `cert` from `files` when they change (checked every `interval`) or on SIGHUP, until
/// `shutdown`. A reload that fails (a half-written file, a key that does not match) keeps the
/// certificate in use and says why; the next change is tried again.
pub(crate) async fn watch(
    cert: Arc<ReloadableCert>,
    files: TlsFiles,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut seen = stamps(&files);
    let mut hangups = hangup_signals();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => false,
            () = next_hangup(&mut hangups) => true,
        };
        let now = stamps(&files);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        match load(&files) {
            Ok(key) => {
                cert.replace(key);
                tracing::info!(cert = %files.cert.display(), on_signal = forced, "TLS certificate reloaded");
            }
            Err(error) => {
                tracing::warn!(%error, "TLS certificate not reloaded; the previous one stays in use");
            }
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangup_signals() -> Hangups {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; certificate files are still watched");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signals() -> Hangups {}

/// Resolves on the next SIGHUP; never where there is none.
async fn next_hangup(hangups: &mut Hangups) {
    #[cfg(unix)]
    if let Some(signal) = hangups
        && signal.recv().await.is_some()
    {
        return;
    }
    let _ = hangups;
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use tandem_e2e::{TestCa, Validity};

    use super::*;

    #[test]
    fn files_that_cannot_serve_are_refused_with_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("unit test CA").unwrap();
        let files =
            ca.issue(&["localhost"], Validity::Current).unwrap().write(dir.path(), &ca).unwrap();
        let files = TlsFiles { cert: files.cert, key: files.key };
        assert!(load(&files).is_ok());

        let other_key = ca.issue(&["localhost"], Validity::Current).unwrap().key_pem;
        std::fs::write(&files.key, other_key).unwrap();
        let mismatch = load(&files).unwrap_err().to_string();
        assert!(mismatch.contains("cert.pem") && mismatch.contains("key.pem"), "{mismatch}");

        std::fs::write(&files.cert, "no certificate here").unwrap();
        let empty = load(&files).unwrap_err().to_string();
        assert!(empty.contains("cert.pem") && empty.contains("no PEM certificate"), "{empty}");

        let missing = TlsFiles { cert: dir.path().join("absent.pem"), key: files.key.clone() };
        assert!(load(&missing).unwrap_err().to_string().contains("absent.pem"));
    }
}
