//! The multiplexed websocket (`GET /api/mux`): many documents over one connection, in the
//! framing of [`tandem_crdt::mux`] (read its module doc: it is the contract with clients).
//!
//! A workspace of 2,000 files would otherwise hold 2,000 websockets. Here the socket counts
//! once against the connection limit, and each document it names gets a session of its own,
//! run by the same code as a document's own websocket ([`crate::session`]): access, CPU budget,
//! token expiry, storage back-pressure and durability numbering are per document (and so is a
//! rate limit, under the socket's).
//!
//! This module only pumps bytes:
//! - the reader decodes each message and hands a frame to its document's session through a
//!   small bounded queue (a session slowed by its limits slows the socket's reading, as a
//!   document's own socket would be read more slowly); the socket has a connection's rate
//!   limit, so many documents send no faster than one;
//! - each session has its own [`Outbox`] (per-document queue limits: a document that falls
//!   behind is closed alone with 1013); a forwarder moves its frames, with the document's
//!   header, into the socket's one queue, which [`send_loop`] writes with pings and batching;
//! - a session that ends sends `Close{doc, code, reason}` as its last message — also when the
//!   client closed the document (then right after the frames already in the socket's queue):
//!   exactly one close ends each session; the socket's end ends every session.
//!
//! A message that does not decode closes the whole socket with 1007 (its sessions leave their
//! rooms; the documents and every other client are untouched).

mod table;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::WebSocket;
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use tandem_crdt::mux::{MUX_VERSION, MuxMessage, encode_frame};
use tandem_crdt::{Extensions, MAX_DOC_ID_BYTES, validate_doc_id};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::admission::Slot;
use crate::app::App;
use crate::connection::{Read, drain_until_close, read_message, send_loop, silent};
use crate::metrics::Rejection;
use crate::outbox::{CloseReason, Outbox, OutboxReceiver, code};
use crate::peer::Peer;
use crate::session::{self, ConnectRequest, Inbound, Input, RateLimit, going_away};
use table::SessionTable;

/// Messages waiting to be written into the socket, from every document: past that, the
/// documents' forwarders wait and their own outboxes fill.
const SOCKET_QUEUE: usize = 256;
/// Frames read for one document and not yet taken by its session: past that, the socket is
/// read no further until it takes them.
const DOCUMENT_QUEUE: usize = 16;

/// Bytes a frame's header may add to it (the longest id's length and bytes, the kind): the
/// socket's message limit is `--max-message-size` plus this.
pub(crate) const HEADER_BYTES: usize = MAX_DOC_ID_BYTES + 3;

/// What a client asked for when it opened the multiplexed socket: every document it opens
/// gets the same.
#[derive(Debug, Clone)]
pub(crate) struct MuxRequest {
    /// `?token=`, checked for each document as it opens.
    pub token: Option<String>,
    /// `?ext=durable`, for every document.
    pub extensions: Extensions,
    /// The client's address, for the logs.
    pub peer: Option<Peer>,
}

/// One document's session as the reader holds it.
struct DocumentHandle {
    /// Where its frames go; `None` once the client closed the document.
    input: Option<mpsc::Sender<Bytes>>,
    /// The session's task: ends once the session left its room and its last frames and
    /// `Close` are in the socket's queue.
    task: JoinHandle<()>,
}

/// Serves one upgraded multiplexed websocket until it closes. The slot counts it, once,
/// against the connection limit until then.
pub(crate) async fn serve(socket: WebSocket, app: Arc<App>, request: MuxRequest, _slot: Arc<Slot>) {
    let started = Instant::now();
    let id = app.next_connection_id();
    let metrics = &app.metrics;
    metrics.connections.inc();
    metrics.connections_total.inc();
    let (sink, mut stream) = socket.split();
    // The socket's own outbox holds only its close (reason and signal): frames come from the
    // documents' outboxes through `queue`.
    let (closing, _) = Outbox::new(0, 0, metrics.clone());
    let (queue, frames) = mpsc::channel(SOCKET_QUEUE);
    // The queue is empty: the hello is first.
    let _ = queue.try_send(Bytes::from(MuxMessage::Hello { version: MUX_VERSION }.encode()));
    let sender = tokio::spawn(send_loop(sink, frames, closing.clone(), app.clone()));
    tracing::info!(client = id, peer = ?request.peer, "multiplexed connection open");

    let (ended_tx, ended) = mpsc::unbounded_channel();
    let mut reader = Reader {
        app: &app,
        request: &request,
        queue,
        sessions: SessionTable::new(app.config.limits.max_docs_per_connection),
        ended_tx,
        ended,
    };
    let reason = reader.run(&mut stream).await;
    closing.close(reason);
    // Every session leaves its room: its input ends.
    let tasks: Vec<_> = reader.sessions.drain().map(|handle| handle.task).collect();
    drop(reader);
    let sessions = futures_util::future::join_all(tasks);
    let _ = tokio::join!(sender, drain_until_close(&mut stream), sessions);
    metrics.connections.dec();

    let reason = closing.close_reason();
    tracing::info!(
        client = id,
        peer = ?request.peer,
        duration_ms = started.elapsed().as_millis() as u64,
        close_code = reason.as_ref().map(|r| r.code),
        reason = reason.as_ref().map_or("", |r| r.reason.as_str()),
        "multiplexed connection closed"
    );
}

/// Reads the socket and routes its messages to the documents' sessions.
struct Reader<'a> {
    app: &'a Arc<App>,
    request: &'a MuxRequest,
    /// The socket's queue of outgoing messages.
    queue: mpsc::Sender<Bytes>,
    sessions: SessionTable<DocumentHandle>,
    /// Sessions report their end here (document and generation).
    ended_tx: mpsc::UnboundedSender<(String, u64)>,
    ended: mpsc::UnboundedReceiver<(String, u64)>,
}

impl Reader<'_> {
    /// Reads until the socket ends; returns why.
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> CloseReason {
        let app = self.app;
        let idle_timeout = app.config.limits.idle_timeout;
        let idle = tokio::time::sleep(idle_timeout);
        let mut rate = RateLimit::of(&app.config.limits);
        let shutdown = app.shutdown.cancelled();
        tokio::pin!(idle, shutdown);
        loop {
            let message = tokio::select! {
                _ = &mut shutdown => return going_away(),
                _ = &mut idle => return silent(app),
                Some((doc, generation)) = self.ended.recv() => {
                    self.sessions.ended(&doc, generation);
                    continue;
                }
                message = stream.next() => message,
            };
            idle.as_mut().reset(Instant::now() + idle_timeout);
            let bytes = match read_message(app, message) {
                Read::Frame(bytes) => bytes,
                Read::Skip => continue,
                Read::End(reason) => return reason,
            };
            // The socket's rate limit is a connection's: each session's own never binds before
            // it, so many documents send no faster than one would on its own socket.
            let wait = rate.take(bytes.len(), Instant::now());
            if !wait.is_zero() {
                app.metrics.rate_limited.inc();
                tokio::select! {
                    _ = &mut shutdown => return going_away(),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            // Handing a frame on may wait for a session or for the socket's queue: a client
            // that neither reads nor answers pings meanwhile is still silent.
            let handled = tokio::select! {
                _ = &mut shutdown => return going_away(),
                _ = &mut idle => return silent(app),
                handled = self.handle(bytes) => handled,
            };
            if let Err(reason) = handled {
                return reason;
            }
        }
    }

    /// Handles one message; an `Err` closes the socket.
    async fn handle(&mut self, bytes: Bytes) -> Result<(), CloseReason> {
        let message = match MuxMessage::decode(&bytes) {
            Ok(message) => message,
            Err(error) => {
                self.app.metrics.reject(Rejection::Malformed);
                return Err(CloseReason::new(code::INVALID_PAYLOAD, error.to_string()));
            }
        };
        match message {
            MuxMessage::Frame { doc, frame } => {
                let frame = bytes.slice_ref(frame);
                self.frame(doc, frame).await;
            }
            MuxMessage::Close { doc, .. } => {
                // Its session ends once it has taken the frames queued before.
                if let Some(handle) = self.sessions.get_mut(doc) {
                    handle.input = None;
                }
            }
            // Only the server greets; a client's greeting changes nothing.
            MuxMessage::Hello { .. } => {}
        }
        Ok(())
    }

    /// Hands `frame` to `doc`'s session, opening one if there is none.
    async fn frame(&mut self, doc: &str, mut frame: Bytes) {
        if let Some(handle) = self.sessions.get_mut(doc) {
            if let Some(input) = &handle.input {
                match input.send(frame).await {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(returned)) => frame = returned,
                }
            }
            // The session ended or the client left it: this frame opens the next one, once
            // the old one's frames and close are out, so the client sees them first.
            if let Some(old) = self.sessions.take(doc) {
                let _ = old.task.await;
            }
        }
        if let Err(error) = validate_doc_id(doc) {
            self.close(doc, CloseReason::new(code::POLICY, error.to_string())).await;
            return;
        }
        let (to_session, frames) = mpsc::channel(DOCUMENT_QUEUE);
        // Never full: the channel is new.
        let _ = to_session.try_send(frame);
        let app = self.app;
        let request = ConnectRequest {
            doc: doc.to_owned(),
            token: self.request.token.clone(),
            extensions: self.request.extensions,
            peer: self.request.peer,
        };
        let queue = self.queue.clone();
        let ended = self.ended_tx.clone();
        let opened = self.sessions.open(doc, |generation| {
            let session = run_document(app.clone(), request, frames, queue, (ended, generation));
            DocumentHandle { input: Some(to_session), task: app.tracker.spawn(session) }
        });
        if opened.is_err() {
            app.metrics.reject(Rejection::DocumentLimit);
            let limit = app.config.limits.max_docs_per_connection;
            let reason = format!("more than {limit} documents on this connection; close one first");
            self.close(doc, CloseReason::new(code::TRY_AGAIN_LATER, reason)).await;
        }
    }

    /// Tells the client `doc` is closed (for a document that has no session).
    async fn close(&self, doc: &str, reason: CloseReason) {
        let message = close_message(doc, &reason);
        let _ = self.queue.send(message).await;
    }
}

/// `Close{doc}` with `reason`'s code and (cut to fit a close frame, as the socket's own) reason.
fn close_message(doc: &str, reason: &CloseReason) -> Bytes {
    let close = MuxMessage::Close { doc, code: reason.code, reason: reason.wire_reason() };
    Bytes::from(close.encode())
}

/// One document's frames as its session reads them.
struct DocumentInput {
    frames: mpsc::Receiver<Bytes>,
    /// The session's outbox, closed as soon as the client leaves: it wants nothing more.
    outbox: Arc<Outbox>,
    /// The client closed the document (or the socket): nothing is sent for it any more.
    client_left: bool,
}

impl Inbound for DocumentInput {
    async fn next(&mut self) -> Input {
        match self.frames.recv().await {
            Some(frame) => Input::Frame(frame),
            None => {
                self.client_left = true;
                let reason = CloseReason::new(code::NORMAL, "client left the document");
                self.outbox.close(reason.clone());
                Input::End(reason)
            }
        }
    }
}

/// Runs one document's session and forwards its outbox into the socket's `queue`; then, unless
/// the client left the document, what the outbox still holds; then why the session ended; then
/// reports its end to the reader.
async fn run_document(
    app: Arc<App>,
    request: ConnectRequest,
    frames: mpsc::Receiver<Bytes>,
    queue: mpsc::Sender<Bytes>,
    (ended, generation): (mpsc::UnboundedSender<(String, u64)>, u64),
) {
    let started = Instant::now();
    let id = app.next_connection_id();
    let metrics = &app.metrics;
    metrics.mux_documents.inc();
    metrics.mux_documents_total.inc();
    let limits = &app.config.limits;
    let (outbox, mut outgoing) =
        Outbox::new(limits.max_queued_messages, limits.max_queued_bytes, metrics.clone());
    let mut input = DocumentInput { frames, outbox: outbox.clone(), client_left: false };
    let session = async {
        let reason = session::run(&app, &request, id, &outbox, &mut input).await;
        outbox.close(reason);
    };
    let doc = request.doc.as_str();
    tokio::join!(session, forward(doc, &mut outgoing, &outbox, &queue));
    let reason = outbox.close_reason().unwrap_or_else(|| CloseReason::new(code::NORMAL, ""));
    // A document dropped for falling behind loses its queue (that is what it fell behind on);
    // otherwise what was queued before the close still goes out (an auth refusal, the last
    // durable message), then the close.
    // A document the client left gets nothing more but the close, which tells the client that
    // every message of this session is behind it: only then may it open the document again, so
    // that no message of the old session (a durable count, say) is taken for the new one's.
    if !input.client_left && reason.code != code::TRY_AGAIN_LATER {
        while let Some(frame) = outgoing.try_recv() {
            if queue.send(Bytes::from(encode_frame(doc, &frame))).await.is_err() {
                break;
            }
        }
    }
    let _ = queue.send(close_message(doc, &reason)).await;
    metrics.mux_documents.dec();
    tracing::info!(
        doc,
        client = id,
        peer = ?request.peer,
        duration_ms = started.elapsed().as_millis() as u64,
        close_code = reason.code,
        reason = %reason.reason,
        "disconnected"
    );
    let _ = ended.send((request.doc, generation));
}

/// Moves a document's frames from its outbox into the socket's queue, with the document's
/// header, until the outbox closes.
async fn forward(
    doc: &str,
    frames: &mut OutboxReceiver,
    outbox: &Outbox,
    queue: &mpsc::Sender<Bytes>,
) {
    let closed = outbox.closed();
    tokio::pin!(closed);
    loop {
        let frame = tokio::select! {
            biased;
            _ = &mut closed => return,
            frame = frames.recv() => frame,
        };
        let Some(frame) = frame else { return };
        if queue.send(Bytes::from(encode_frame(doc, &frame))).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_of_the_longest_id_fits_the_allowance() {
        let doc = "x".repeat(MAX_DOC_ID_BYTES);
        let frame = [7u8; 100];
        assert!(encode_frame(&doc, &frame).len() <= frame.len() + HEADER_BYTES);
    }
}
