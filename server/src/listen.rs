//! The accept loop: every TCP connection is admitted (or refused) the moment it is accepted,
//! then its TLS handshake (with `--tls-cert`) and its HTTP requests run in a task of its own,
//! all within one deadline until it sends a request.
//!
//! Why not `axum::serve`: it neither limits how long a client may take to send its request
//! headers nor counts connections until they are websockets, so 1,100 connections that never
//! finish their handshake exhausted the file descriptors and locked every client out. Here:
//! - [`Admission`] counts every socket from its accept; when all slots are taken, the oldest
//!   socket that is not a websocket (in its handshake, or an idle HTTP connection) is closed
//!   before the new one is admitted; websockets never take the last slots, so a server full of
//!   websockets still answers, over TLS too, and refuses upgrades with a 503 (`crate::http`);
//! - the slots are fewer than the file descriptors the process may open, with a reserve for
//!   the database, files and the sockets being closed ([`socket_budget`]);
//! - the TLS handshake and each request's headers must arrive within `--handshake-timeout-secs`;
//! - an accept that fails for want of descriptors backs off (10 ms doubling to 1 s) instead of
//!   retrying at once.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::admission::{Admission, Room, Slot};
use crate::linger::{LingerOnClose, Lingering};

/// File descriptors kept out of the socket budget: the database's connections and files, the
/// browser client's files, sockets evicted but not yet closed, the log.
pub(crate) const DESCRIPTOR_RESERVE: u64 = 64;
/// The first pause after an accept failed for want of resources; it doubles up to
/// [`MAX_ACCEPT_BACKOFF`] while accepts keep failing.
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// A socket's slot, in each of its requests' extensions (with its [`LingerOnClose`]): the
/// websocket upgrade takes it over.
#[derive(Clone)]
pub(crate) struct ConnectionSlot(pub Arc<Slot>);

/// What the accept loop needs.
pub(crate) struct Listening {
    /// The router every connection's requests go to.
    pub router: Router,
    /// With TLS: the acceptor (it presents the current certificate).
    pub tls: Option<TlsAcceptor>,
    /// Counts the sockets.
    pub admission: Arc<Admission>,
    /// How long a TLS handshake and each request's headers may take.
    pub handshake_timeout: Duration,
}

/// Accepts connections on `listener` until `stop` is cancelled; then asks every HTTP
/// connection to finish its request and close, and waits for them up to `grace`. (Websockets
/// are not waited for here: they watch the server's own shutdown token.)
pub(crate) async fn serve(
    listener: TcpListener,
    listening: Listening,
    stop: CancellationToken,
    grace: Duration,
) {
    let listening = Arc::new(listening);
    let connections = TaskTracker::new();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    'accept: loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, addr) = match accepted {
            Ok(accepted) => {
                backoff = MIN_ACCEPT_BACKOFF;
                accepted
            }
            // The peer gave up before we took it: nothing to wait for.
            Err(error) if is_peer_error(&error) => continue,
            Err(error) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: retrying at once would spin
                // on the same error while the backlog waits.
                tracing::warn!(%error, pause_ms = backoff.as_millis() as u64, "accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        // Without TCP_NODELAY, Nagle's algorithm holds a small frame back until the peer's
        // delayed ACK (40 ms on Linux): a floor under every relayed keystroke's latency. The
        // send loop batches frames itself (connection.rs), so small segments are not the cost
        // Nagle guards against.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        // This socket waits, the only one accepted and not yet counted, until there is room.
        loop {
            match listening.admission.make_room() {
                Room::Free => break,
                Room::Making => tokio::select! {
                    _ = stop.cancelled() => break 'accept,
                    _ = listening.admission.freed() => {}
                },
            }
        }
        let slot = listening.admission.admit();
        connections.spawn(connection(tcp, addr, slot, listening.clone(), stop.clone()));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(grace, connections.wait()).await.is_err() {
        tracing::warn!("HTTP connections still open after {grace:?}; stopping anyway");
    }
}

/// Errors of one incoming connection rather than of the listener.
fn is_peer_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// One accepted socket: its TLS handshake, then HTTP until it closes, is upgraded, is evicted
/// or the server stops.
async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    slot: Slot,
    listening: Arc<Listening>,
    stop: CancellationToken,
) {
    let slot = Arc::new(slot);
    match &listening.tls {
        None => http(tcp, addr, slot, &listening, stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(listening.handshake_timeout, acceptor.accept(tcp));
            let tls = tokio::select! {
                _ = slot.evicted() => return,
                tls = handshake => tls,
            };
            match tls {
                Ok(Ok(tls)) => http(tls, addr, slot, &listening, stop).await,
                Ok(Err(error)) => tracing::debug!(peer = %addr, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
            }
        }
    }
}

/// Serves HTTP/1.1 on `io`: each request gets the peer's address and the socket's slot in its
/// extensions. The connection ends when its client closes it, when a request's headers take
/// longer than the handshake timeout (hyper's header timer, which also closes a keep-alive
/// connection that stays silent), when it is evicted, or after the server stops.
async fn http<Io>(
    io: Io,
    addr: SocketAddr,
    slot: Arc<Slot>,
    listening: &Listening,
    stop: CancellationToken,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = listening.router.clone();
    let request_slot = slot.clone();
    let linger = LingerOnClose::default();
    let io = Lingering::new(io, linger.clone(), slot.clone());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        request.extensions_mut().insert(ConnectionSlot(request_slot.clone()));
        request.extensions_mut().insert(linger.clone());
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(listening.handshake_timeout);
    let connection = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(peer = %addr, %error, "HTTP connection ended");
            }
        }
        // Dropping the connection closes the socket.
        _ = slot.evicted() => tracing::debug!(peer = %addr, "evicted to make room"),
        _ = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// How many sockets fit in `max_open_files` descriptors when `open_now` are in use and
/// [`DESCRIPTOR_RESERVE`] are kept back; never below one.
pub(crate) fn socket_budget(max_open_files: u64, open_now: u64) -> usize {
    let budget = max_open_files.saturating_sub(open_now).saturating_sub(DESCRIPTOR_RESERVE);
    usize::try_from(budget.max(1)).unwrap_or(usize::MAX)
}

/// Raises the soft limit on open files to the hard one and returns how many sockets fit in it
/// beside what is open already; `None` where the limit cannot be read.
pub(crate) fn socket_budget_of_this_process() -> Option<usize> {
    let max_open_files = rlimit::increase_nofile_limit(u64::MAX).ok()?;
    // Linux lists the open descriptors; elsewhere assume the reserve covers them.
    let open_now = std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64);
    Some(socket_budget(max_open_files, open_now))
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::admission::HTTP_RESERVE;
    use crate::tls::testing::{client_config, server_config};

    const GET: &[u8] = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    /// Serves a route answering `hello` until the returned token is cancelled.
    async fn start(
        tls: Option<TlsAcceptor>,
        limit: usize,
        handshake_timeout: Duration,
    ) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let listening = Listening {
            router: Router::new().route("/hello", get(|| async { "hello" })),
            tls,
            admission: Admission::new(limit),
            handshake_timeout,
        };
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, listening, stop.clone(), Duration::from_secs(1)));
        (addr, stop)
    }

    /// Reads until the server closes the socket; what it sent.
    async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> String {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
        match read.await {
            Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
            Err(_) => panic!("the server did not close the socket"),
        }
    }

    async fn tls_get(addr: SocketAddr, ca: &tandem_e2e::TestCa) -> String {
        let connector = tokio_rustls::TlsConnector::from(client_config(ca));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(GET).await.unwrap();
        read_to_close(&mut tls).await
    }

    #[test]
    fn the_budget_keeps_a_reserve_of_descriptors() {
        assert_eq!(socket_budget(1024, 40), 1024 - 40 - DESCRIPTOR_RESERVE as usize);
        assert_eq!(socket_budget(64, 40), 1);
    }

    #[tokio::test]
    async fn a_silent_tls_client_does_not_hold_up_the_next_handshake() {
        let (config, ca) = server_config();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (addr, stop) = start(Some(acceptor), 16, Duration::from_secs(30)).await;
        let _silent = TcpStream::connect(addr).await.unwrap();
        assert!(tls_get(addr, &ca).await.ends_with("hello"));
        stop.cancel();
    }

    #[tokio::test]
    async fn handshakes_and_headers_that_take_too_long_are_dropped() {
        let (config, _) = server_config();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tls_addr, tls_stop) = start(Some(acceptor), 16, Duration::from_millis(200)).await;
        let (addr, stop) = start(None, 16, Duration::from_millis(200)).await;
        let mut silent_tls = TcpStream::connect(tls_addr).await.unwrap();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
        let trickle = async {
            // One header line every 50 ms: never a whole request within the timeout.
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    break;
                }
            }
        };
        let (silent_tls, silent, ()) =
            tokio::join!(read_to_close(&mut silent_tls), read_to_close(&mut silent), trickle);
        assert_eq!(silent_tls, "");
        assert_eq!(silent, "");
        assert!(!read_to_close(&mut slow).await.contains("hello"));
        tls_stop.cancel();
        stop.cancel();
    }

    #[tokio::test]
    async fn a_full_house_of_handshakes_makes_room_for_a_request() {
        let (addr, stop) = start(None, 2, Duration::from_secs(30)).await;
        let mut oldest = TcpStream::connect(addr).await.unwrap();
        let mut newer = Vec::new();
        for _ in 1..2 + HTTP_RESERVE {
            newer.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(GET).await.unwrap();
        assert!(read_to_close(&mut client).await.ends_with("hello"));
        // The oldest handshake was closed to make room.
        assert_eq!(read_to_close(&mut oldest).await, "");
        stop.cancel();
    }
}
