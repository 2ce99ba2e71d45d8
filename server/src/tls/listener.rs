//! [`TlsListener`]: any axum [`Listener`] wrapped so that what it accepts is TLS.
//!
//! Handshakes run in their own tasks, each with a time limit, so a client that connects and
//! then says nothing (or says it slowly) holds one task for a while and never the accept loop.
//! A bounded number of handshakes run at once; past that, new TCP connections wait in the
//! kernel's backlog until one finishes.

use std::fmt::Debug;
use std::io;
use std::time::Duration;

use axum::serve::Listener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Limits of a [`TlsListener`].
#[derive(Debug, Clone, Copy)]
pub struct HandshakeLimits {
    /// How long one handshake may take.
    pub timeout: Duration,
    /// Handshakes running at once.
    pub max_in_flight: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), max_in_flight: 1024 }
    }
}

/// A listener whose connections come out TLS-encrypted.
///
/// The inner listener's `accept` must be cancel-safe (tokio's `TcpListener` is): it is polled
/// alongside the handshakes in flight and dropped when one of them finishes first.
pub struct TlsListener<L: Listener> {
    inner: L,
    acceptor: TlsAcceptor,
    limits: HandshakeLimits,
    handshakes: JoinSet<Option<Accepted<L>>>,
}

/// A connection whose handshake succeeded, with its peer's address.
type Accepted<L> = (TlsStream<<L as Listener>::Io>, <L as Listener>::Addr);

impl<L: Listener> TlsListener<L> {
    /// Wraps `inner`; every connection it accepts goes through `acceptor`'s handshake.
    pub fn new(inner: L, acceptor: TlsAcceptor, limits: HandshakeLimits) -> Self {
        Self { inner, acceptor, limits, handshakes: JoinSet::new() }
    }
}

impl<L> Listener for TlsListener<L>
where
    L: Listener,
    L::Addr: Debug + Sync + 'static,
{
    type Io = TlsStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < self.limits.max_in_flight.max(1);
            tokio::select! {
                (io, addr) = self.inner.accept(), if room => {
                    let handshake = self.acceptor.accept(io);
                    let limit = self.limits.timeout;
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(limit, handshake).await {
                            Ok(Ok(stream)) => Some((stream, addr)),
                            Ok(Err(error)) => {
                                tracing::debug!(peer = ?addr, %error, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(peer = ?addr, ?limit, "TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(accepted)) = done {
                        return accepted;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::tls::testing::{client_config, server_config};

    #[tokio::test]
    async fn a_silent_client_does_not_hold_up_the_next_handshake() {
        let (server, ca) = server_config();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let limits = HandshakeLimits { timeout: Duration::from_secs(30), max_in_flight: 16 };
        let mut listener = TlsListener::new(tcp, TlsAcceptor::from(Arc::new(server)), limits);
        let accepted = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.unwrap();
            byte[0]
        });
        // Connects and never says anything: its handshake waits, the next one goes through.
        let _silent = TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(client_config(&ca));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(&[42]).await.unwrap();
        tls.flush().await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), accepted).await.unwrap().unwrap();
        assert_eq!(got, 42);
    }

    #[tokio::test]
    async fn a_handshake_that_takes_too_long_is_dropped() {
        let (server, _) = server_config();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let limits = HandshakeLimits { timeout: Duration::from_millis(100), max_in_flight: 16 };
        let mut listener = TlsListener::new(tcp, TlsAcceptor::from(Arc::new(server)), limits);
        tokio::spawn(async move {
            let _ = listener.accept().await;
        });
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        // The server gives up on the silent client and closes its socket.
        let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    }
}
