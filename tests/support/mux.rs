//! [`MuxTestClient`]: many tandem clients ([`tandem_crdt::Client`], one per document) over one
//! multiplexed websocket (`/api/mux`, framing of [`tandem_crdt::mux`]), written directly on
//! tokio-tungstenite. Like [`crate::TestClient`] it does nothing in the background: messages are
//! read and applied only inside its `wait_*` methods.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::SinkExt;
use tandem_crdt::mux::{MuxMessage, encode_frame};
use tandem_crdt::{Client, DocumentConfig, Extensions, UserInfo, client_id_from_random};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{Read, read};
use crate::{Closed, TIMEOUT, now_ms};

/// One document of a [`MuxTestClient`].
pub struct MuxDocument {
    /// The document's client state.
    pub client: Client,
    /// The server's `Close{doc}` (code, reason), once it came; cleared when reopened.
    pub closed: Option<(u16, String)>,
    /// The server's auth refusal for this document, if one came.
    pub auth_denied: Option<String>,
}

/// Documents over one multiplexed websocket.
pub struct MuxTestClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    extensions: Extensions,
    /// The version of the server's hello, once it came.
    pub hello: Option<u64>,
    /// The documents opened, by id.
    pub docs: HashMap<String, MuxDocument>,
    closed: Option<Closed>,
}

impl MuxTestClient {
    /// Connects to `url` (`ws://HOST/api/mux?token=…`); `durable` adds `ext=durable`.
    pub async fn connect(url: &str, durable: bool) -> anyhow::Result<Self> {
        let mut url = url::Url::parse(url).with_context(|| format!("bad url {url}"))?;
        if durable {
            url.query_pairs_mut().append_pair("ext", "durable");
        }
        let config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
        let (socket, _) = tokio::time::timeout(
            TIMEOUT,
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true),
        )
        .await
        .context("websocket handshake timed out")??;
        let extensions = if durable { Extensions::Tandem } else { Extensions::Stock };
        Ok(Self { socket, extensions, hello: None, docs: HashMap::new(), closed: None })
    }

    /// Opens `doc` (again, with a fresh client state, if it was open): sends its opening frames.
    pub async fn open(&mut self, doc: &str) -> anyhow::Result<()> {
        let mut client = Client::new(
            DocumentConfig::new(client_id_from_random(rand::random())),
            self.extensions,
        )?;
        let frames = client.connect()?;
        self.docs.insert(doc.to_owned(), MuxDocument { client, closed: None, auth_denied: None });
        self.send_frames(doc, frames).await
    }

    /// Tells the server the client leaves `doc` (without y-protocols' leave message: the
    /// server must remove its presence by itself).
    pub async fn close_doc(&mut self, doc: &str) -> anyhow::Result<()> {
        let close = MuxMessage::Close { doc, code: 1000, reason: "" }.encode();
        self.send_raw(close).await
    }

    /// Sends y-protocol frames for `doc`.
    pub async fn send_frames(&mut self, doc: &str, frames: Vec<Vec<u8>>) -> anyhow::Result<()> {
        for frame in frames {
            self.socket.feed(Message::Binary(encode_frame(doc, &frame).into())).await?;
        }
        self.socket.flush().await?;
        Ok(())
    }

    /// Sends one websocket message as it is (bad input).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.socket.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    fn doc_mut(&mut self, doc: &str) -> anyhow::Result<&mut MuxDocument> {
        self.docs.get_mut(doc).with_context(|| format!("{doc} was never opened"))
    }

    /// The text of `doc`.
    pub fn text(&self, doc: &str) -> String {
        self.docs.get(doc).map(|d| d.client.document().text()).unwrap_or_default()
    }

    /// The server's close of `doc`, if one came.
    pub fn doc_closed(&self, doc: &str) -> Option<&(u16, String)> {
        self.docs.get(doc).and_then(|d| d.closed.as_ref())
    }

    /// How the socket ended, once it has.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Appends `text` to `doc` and sends the update.
    pub async fn append(&mut self, doc: &str, text: &str) -> anyhow::Result<()> {
        let client = &mut self.doc_mut(doc)?.client;
        let end = client.document().len_chars();
        let frames = client.replace(end..end, text, now_ms())?;
        self.send_frames(doc, frames).await
    }

    /// Publishes presence named `name` in `doc`.
    pub async fn set_presence(&mut self, doc: &str, name: &str) -> anyhow::Result<()> {
        let user = UserInfo { name: name.to_owned(), color: "#3366ff".into(), color_light: None };
        let frames = self.doc_mut(doc)?.client.set_presence(user, Some((0, 0)), now_ms())?;
        self.send_frames(doc, frames).await
    }

    /// Reads and applies one message; `Ok(false)` when nothing came within `wait` or the
    /// socket is closed.
    pub async fn pump(&mut self, wait: Duration) -> anyhow::Result<bool> {
        match read(&mut self.socket, wait, &mut self.closed).await {
            Read::Binary(bytes) => self.receive(&bytes).await?,
            Read::Other => {}
            Read::Nothing => return Ok(false),
        }
        Ok(true)
    }

    async fn receive(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match MuxMessage::decode(bytes).context("server sent a bad multiplexed message")? {
            MuxMessage::Hello { version } => self.hello = Some(version),
            MuxMessage::Frame { doc, frame } => {
                let state = self.doc_mut(doc)?;
                let event =
                    state.client.receive(frame, now_ms()).context("server sent a bad frame")?;
                if let Some(reason) = event.auth_denied {
                    state.auth_denied = Some(reason);
                }
                let doc = doc.to_owned();
                self.send_frames(&doc, event.replies).await?;
            }
            MuxMessage::Close { doc, code, reason } => {
                self.doc_mut(doc)?.closed = Some((code, reason.to_owned()));
            }
        }
        Ok(())
    }

    /// Applies incoming messages until `done` holds; fails after [`TIMEOUT`] or if the socket
    /// closes first.
    pub async fn wait_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            if let Some(closed) = &self.closed {
                bail!("socket closed ({closed:?}) while waiting for {what}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("timed out waiting for {what}");
            }
            self.pump(left.min(Duration::from_millis(200))).await?;
        }
        Ok(())
    }

    /// Waits until `doc`'s initial sync is done.
    pub async fn wait_synced(&mut self, doc: &str) -> anyhow::Result<()> {
        self.wait_until(&format!("{doc} synced"), |c| {
            c.docs.get(doc).is_some_and(|d| d.client.is_synced())
        })
        .await
    }

    /// Waits until `doc`'s text is `expected`.
    pub async fn wait_text(&mut self, doc: &str, expected: &str) -> anyhow::Result<()> {
        self.wait_until(&format!("{doc} reads {expected:?}"), |c| c.text(doc) == expected).await
    }

    /// Waits until every local update of `doc` is confirmed durable (needs `durable`).
    pub async fn wait_durable(&mut self, doc: &str) -> anyhow::Result<()> {
        self.wait_until(&format!("{doc} confirmed durable"), |c| {
            c.docs.get(doc).is_some_and(|d| d.client.unconfirmed_count() == 0)
        })
        .await
    }

    /// Waits for the server's `Close{doc}`; returns its code and reason.
    pub async fn wait_doc_closed(&mut self, doc: &str) -> anyhow::Result<(u16, String)> {
        self.wait_until(&format!("{doc} closed"), |c| c.doc_closed(doc).is_some()).await?;
        Ok(self.doc_closed(doc).cloned().unwrap_or_default())
    }

    /// Reads until the server closes the socket; returns how.
    pub async fn wait_closed(&mut self) -> anyhow::Result<Closed> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(closed) = &self.closed {
                return Ok(closed.clone());
            }
            if Instant::now() > deadline {
                bail!("server did not close the socket");
            }
            self.pump(Duration::from_millis(200)).await?;
        }
    }
}
