//! Opening a websocket to a server, one step at a time (name lookup, TCP, TLS and websocket
//! handshake), so that a failure says which step failed instead of one opaque error.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::tls::{TlsConfigError, client_config};

/// How long a whole connection attempt (lookup, TCP, TLS, upgrade) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// An open websocket.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection attempt failed, by the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not `ws://HOST[:PORT]/…` or `wss://…`.
    #[error("bad server URL {url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Dns {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// No address of the host accepted a TCP connection.
    #[error("cannot connect to {addr}: {source}")]
    Tcp {
        /// The last address tried.
        addr: SocketAddr,
        /// The error connecting to it.
        source: std::io::Error,
    },
    /// TCP connected, then the TLS or websocket handshake failed.
    #[error("handshake with {host}: {source}")]
    Handshake {
        /// The host name (the one the certificate must name).
        host: String,
        /// tungstenite's error: TLS errors arrive as `Io` wrapping a `rustls::Error`, an HTTP
        /// answer other than 101 as `Http`.
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The attempt took longer than the connector's timeout.
    #[error("{host} did not answer within {}s", limit.as_secs())]
    TimedOut {
        /// The host name.
        host: String,
        /// The limit.
        limit: Duration,
    },
}

/// Opens websockets to `ws://` and `wss://` URLs with one TLS configuration.
#[derive(Clone)]
pub struct Connector {
    pub(crate) tls: Arc<ClientConfig>,
    pub(crate) timeout: Duration,
}

impl Connector {
    /// A connector trusting the platform's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured)
    /// and those of `ca_cert`.
    pub fn new(ca_cert: Option<&Path>) -> Result<Self, TlsConfigError> {
        Ok(Self::with_tls(client_config(ca_cert)?))
    }

    /// A connector with a TLS configuration built elsewhere.
    pub fn with_tls(tls: Arc<ClientConfig>) -> Self {
        Self { tls, timeout: DEFAULT_CONNECT_TIMEOUT }
    }

    /// The same connector with another limit on a whole attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects to `url` (its query included) with TCP_NODELAY set: a keystroke is one small
    /// frame and must leave at once, not wait for the peer's delayed ACK.
    pub async fn connect(
        &self,
        url: &str,
        config: Option<WebSocketConfig>,
    ) -> Result<(WsStream, Response), ConnectError> {
        let request = url
            .into_client_request()
            .map_err(|e| ConnectError::Url { url: url.to_owned(), reason: e.to_string() })?;
        let uri = request.uri();
        let bad = |reason: &str| ConnectError::Url { url: url.to_owned(), reason: reason.into() };
        let default_port = match uri.scheme_str() {
            Some("ws") => 80,
            Some("wss") => 443,
            _ => return Err(bad("expected ws:// or wss://")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        // An IPv6 literal comes bracketed, as in the URL.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(default_port);
        let attempt = async {
            let stream = open_tcp(&host, port).await?;
            let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
            tokio_tungstenite::client_async_tls_with_config(
                request,
                stream,
                config,
                Some(connector),
            )
            .await
            .map_err(|source| ConnectError::Handshake {
                host: host.clone(),
                source: Box::new(source),
            })
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::TimedOut { host, limit: self.timeout }),
        }
    }
}

/// Resolves `host` and connects to its addresses in turn.
pub(crate) async fn open_tcp(host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    let dns = |source| ConnectError::Dns { host: host.to_owned(), source };
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host, port)).await.map_err(dns)?.collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
                return Ok(stream);
            }
            Err(source) => last = Some(ConnectError::Tcp { addr, source }),
        }
    }
    Err(last.unwrap_or_else(|| {
        dns(std::io::Error::new(std::io::ErrorKind::NotFound, "no address for this name"))
    }))
}
