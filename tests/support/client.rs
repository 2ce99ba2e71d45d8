//! [`TestClient`]: a tandem client ([`tandem_crdt::Client`]) on a real websocket
//! (tokio-tungstenite). It does nothing in the background: frames are read and applied only
//! inside its `wait_*` methods, which keeps tests deterministic.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tandem_crdt::{Client, DocumentConfig, Extensions, UserInfo, client_id_from_random};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{TIMEOUT, now_ms};

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `?token=`.
    pub token: Option<String>,
    /// Ask for tandem's durability messages (`?ext=durable`).
    pub durable: bool,
    /// Yjs client id; random when `None`.
    pub client_id: Option<u64>,
    /// Socket receive buffer size: a small one makes a client that does not read fall behind
    /// quickly (slow-reader tests). Not for `wss://`.
    pub recv_buffer: Option<u32>,
    /// For `wss://`: a private authority to trust (PEM), as the editor's `--ca-cert`.
    pub ca_cert: Option<std::path::PathBuf>,
}

/// How the server ended the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// A close frame with code and reason.
    Frame(u16, String),
    /// A close frame without a code.
    NoCode,
    /// The TCP connection ended without a close frame (or with an error).
    Dropped(String),
}

impl Closed {
    /// The close code, if the server sent one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Closed::Frame(code, _) => Some(*code),
            _ => None,
        }
    }
}

/// A tandem client connected to a server.
pub struct TestClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    client: Client,
    closed: Option<Closed>,
    auth_denied: Option<String>,
    frames_received: usize,
    gone: Option<tandem_crdt::Removal>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient").field("closed", &self.closed).finish_non_exhaustive()
    }
}

/// `url` with the query parameters the options ask for.
fn connect_url(url: &str, options: &ClientOptions) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url).with_context(|| format!("bad url {url}"))?;
    if let Some(token) = &options.token {
        url.query_pairs_mut().append_pair("token", token);
    }
    if options.durable {
        url.query_pairs_mut().append_pair("ext", "durable");
    }
    Ok(url.to_string())
}

impl TestClient {
    /// Connects and sends the opening frames; does not wait for the sync.
    pub async fn connect(url: &str, options: ClientOptions) -> anyhow::Result<Self> {
        let url = connect_url(url, &options)?;
        let socket = if url.starts_with("wss://") {
            let connector = tandem_connect::Connector::new(options.ca_cert.as_deref())?;
            let config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
            let (socket, _) = connector.connect(&url, Some(config)).await.map_err(|e| {
                anyhow::anyhow!(tandem_connect::Problem::from_connect(&e).to_string())
            })?;
            socket
        } else {
            Self::connect_plain(&url, &options).await?
        };
        let client_id = options.client_id.unwrap_or_else(|| client_id_from_random(rand::random()));
        let client = Client::new(
            DocumentConfig::new(client_id),
            if options.durable { Extensions::Tandem } else { Extensions::Stock },
        )?;
        let mut this = Self {
            socket,
            client,
            closed: None,
            auth_denied: None,
            frames_received: 0,
            gone: None,
        };
        let frames = this.client.connect()?;
        this.send_frames(frames).await?;
        Ok(this)
    }

    async fn connect_plain(
        url: &str,
        options: &ClientOptions,
    ) -> anyhow::Result<WebSocketStream<MaybeTlsStream<TcpStream>>> {
        let parsed = url::Url::parse(url)?;
        let addr = parsed.socket_addrs(|| None)?.into_iter().next().context("no address")?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(size) = options.recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        // Generous limits: the client must be able to receive whatever the server sends.
        let config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
        let (socket, _) = tokio::time::timeout(
            TIMEOUT,
            tokio_tungstenite::client_async_with_config(
                url,
                MaybeTlsStream::Plain(stream),
                Some(config),
            ),
        )
        .await
        .context("websocket handshake timed out")??;
        Ok(socket)
    }

    /// Connects and waits until the initial sync is done.
    pub async fn connect_synced(url: &str, options: ClientOptions) -> anyhow::Result<Self> {
        let mut client = Self::connect(url, options).await?;
        client.wait_synced().await?;
        Ok(client)
    }

    /// The underlying client state.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The underlying client state, mutably.
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.client.document().text()
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// The server's auth refusal, if one came.
    pub fn auth_denied(&self) -> Option<&str> {
        self.auth_denied.as_deref()
    }

    /// Frames received so far.
    pub fn frames_received(&self) -> usize {
        self.frames_received
    }

    /// Sends frames as binary messages.
    pub async fn send_frames(&mut self, frames: Vec<Vec<u8>>) -> anyhow::Result<()> {
        for frame in frames {
            self.socket.feed(Message::Binary(frame.into())).await?;
        }
        self.socket.flush().await?;
        Ok(())
    }

    /// Sends one message of any kind (tests of bad input).
    pub async fn send_message(&mut self, message: Message) -> anyhow::Result<()> {
        self.socket.send(message).await?;
        Ok(())
    }

    /// Replaces the chars in `range` with `text` and sends the update.
    pub async fn replace(
        &mut self,
        range: std::ops::Range<usize>,
        text: &str,
    ) -> anyhow::Result<()> {
        let frames = self.client.replace(range, text, now_ms())?;
        self.send_frames(frames).await
    }

    /// Inserts `text` at char `pos` and sends the update.
    pub async fn insert(&mut self, pos: usize, text: &str) -> anyhow::Result<()> {
        self.replace(pos..pos, text).await
    }

    /// Appends `text` at the end and sends the update.
    pub async fn append(&mut self, text: &str) -> anyhow::Result<()> {
        let end = self.client.document().len_chars();
        self.insert(end, text).await
    }

    /// Publishes presence with `name` and a cursor at `cursor`.
    pub async fn set_presence(
        &mut self,
        name: &str,
        cursor: Option<(usize, usize)>,
    ) -> anyhow::Result<()> {
        let user = UserInfo { name: name.to_owned(), color: "#3366ff".into(), color_light: None };
        let frames = self.client.set_presence(user, cursor, now_ms())?;
        self.send_frames(frames).await
    }

    /// Names of the other users present.
    pub fn peer_names(&mut self) -> Vec<String> {
        self.client
            .peers()
            .into_iter()
            .filter_map(|(peer, _)| peer.state.user.map(|u| u.name))
            .collect()
    }

    /// Reads and applies one message; `Ok(false)` when nothing came within `wait` or the
    /// connection is closed.
    pub async fn pump(&mut self, wait: Duration) -> anyhow::Result<bool> {
        let frame = match read(&mut self.socket, wait, &mut self.closed).await {
            Read::Binary(frame) => frame,
            Read::Other => return Ok(true),
            Read::Nothing => return Ok(false),
        };
        self.frames_received += 1;
        let event = self.client.receive(&frame, now_ms()).context("server sent a bad frame")?;
        if let Some(reason) = event.auth_denied {
            self.auth_denied = Some(reason);
        }
        if event.gone.is_some() {
            self.gone = event.gone;
        }
        self.send_frames(event.replies).await?;
        Ok(true)
    }

    /// Applies incoming frames until `done` holds; fails after [`TIMEOUT`] or if the
    /// connection closes first.
    pub async fn wait_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            if let Some(closed) = &self.closed {
                bail!("connection closed ({closed:?}) while waiting for {what}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("timed out waiting for {what}; text is {:?}", self.text());
            }
            self.pump(left.min(Duration::from_millis(200))).await?;
        }
        Ok(())
    }

    /// How the document left its id, once the server said so (tandem's `Gone` message).
    pub fn gone(&self) -> Option<&tandem_crdt::Removal> {
        self.gone.as_ref()
    }

    /// Waits for the initial sync.
    pub async fn wait_synced(&mut self) -> anyhow::Result<()> {
        self.wait_until("the initial sync", |c| c.client.is_synced()).await
    }

    /// Waits until the text is `expected`.
    pub async fn wait_text(&mut self, expected: &str) -> anyhow::Result<()> {
        self.wait_until(&format!("text {expected:?}"), |c| c.text() == expected).await
    }

    /// Waits until every local update is confirmed durable (needs `durable`).
    pub async fn wait_durable(&mut self) -> anyhow::Result<()> {
        self.wait_until("durable confirmations", |c| c.client.unconfirmed_count() == 0).await
    }

    /// Reads until the server closes the connection; returns how.
    pub async fn wait_closed(&mut self) -> anyhow::Result<Closed> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(closed) = &self.closed {
                return Ok(closed.clone());
            }
            if Instant::now() > deadline {
                bail!("server did not close the connection");
            }
            // Frames the client cannot parse count as read, not as a failure here.
            if let Err(error) = self.pump(Duration::from_millis(200)).await {
                eprintln!("note: ignoring a frame while waiting for the close: {error:#}");
            }
        }
    }

    /// Sends the leave message and closes the websocket.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let frames = self.client.leave(now_ms())?;
        self.send_frames(frames).await.ok();
        self.socket.close(None).await.ok();
        Ok(())
    }
}

/// What one read from a test client's websocket brought.
pub(crate) enum Read {
    /// A binary message.
    Binary(tokio_tungstenite::tungstenite::Bytes),
    /// A control message, or the server's close (now in `closed`).
    Other,
    /// Nothing within the wait, or the socket is closed.
    Nothing,
}

/// Reads one message within `wait`; how the socket ended goes into `closed`.
pub(crate) async fn read(
    socket: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
    wait: Duration,
    closed: &mut Option<Closed>,
) -> Read {
    if closed.is_some() {
        return Read::Nothing;
    }
    let message = match tokio::time::timeout(wait, socket.next()).await {
        Err(_) => return Read::Nothing,
        Ok(None) => {
            *closed = Some(Closed::Dropped("end of stream".into()));
            return Read::Nothing;
        }
        Ok(Some(Err(error))) => {
            *closed = Some(Closed::Dropped(error.to_string()));
            return Read::Nothing;
        }
        Ok(Some(Ok(message))) => message,
    };
    match message {
        Message::Binary(frame) => return Read::Binary(frame),
        Message::Close(frame) => {
            *closed = Some(match frame {
                Some(frame) => Closed::Frame(frame.code.into(), frame.reason.to_string()),
                None => Closed::NoCode,
            });
        }
        _ => {}
    }
    Read::Other
}
