//! One websocket connection for one document: its binary messages are the frames of one
//! [`crate::session`], and its [`Outbox`] goes into the socket. This module only pumps bytes;
//! the session checks access and limits, the room does the protocol work.
//!
//! A connection that stays silent for `--idle-timeout-secs` is closed: the send loop pings it
//! three times in that span, and every client (browsers, the `ws` package under y-websocket,
//! tungstenite under tandem-connect) answers pings by itself, so only a peer that is gone or
//! stuck (a half-open TCP connection, a frozen process) stays silent that long.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite;

use crate::admission::Slot;
use crate::app::App;
use crate::metrics::Rejection;
use crate::outbox::{CloseReason, Outbox, OutboxReceiver, code};
use crate::session::{self, ConnectRequest, Inbound, Input};

/// How long closing may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most frames written to the socket before one flush.
const MAX_BATCH_FRAMES: usize = 64;
/// Bytes after which a batch is flushed even if more frames are queued.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Serves one upgraded websocket until it closes. The slot counts it against the connection
/// limit until then.
pub(crate) async fn serve(
    socket: WebSocket,
    app: Arc<App>,
    request: ConnectRequest,
    _slot: Arc<Slot>,
) {
    let started = Instant::now();
    let id = app.next_connection_id();
    let metrics = &app.metrics;
    metrics.connections.inc();
    metrics.connections_total.inc();
    let limits = &app.config.limits;
    let (outbox, outbox_rx) =
        Outbox::new(limits.max_queued_messages, limits.max_queued_bytes, metrics.clone());
    let (sink, mut stream) = socket.split();
    let sender = tokio::spawn(send_loop(sink, outbox_rx, outbox.clone(), app.clone()));

    let idle = Box::pin(tokio::time::sleep(app.config.limits.idle_timeout));
    let mut input = SocketInput { app: &app, stream: &mut stream, idle };
    let reason = session::run(&app, &request, id, &outbox, &mut input).await;
    outbox.close(reason);
    let _ = tokio::join!(sender, drain_until_close(&mut stream));
    metrics.connections.dec();

    let reason = outbox.close_reason();
    tracing::info!(
        doc = %request.doc,
        client = id,
        peer = ?request.peer,
        duration_ms = started.elapsed().as_millis() as u64,
        close_code = reason.as_ref().map(|r| r.code),
        reason = reason.as_ref().map_or("", |r| r.reason.as_str()),
        "disconnected"
    );
}

/// A websocket of one document: its binary messages are the session's frames. It also keeps
/// the socket's idle timer, which every message resets (pongs included).
struct SocketInput<'a> {
    app: &'a App,
    stream: &'a mut SplitStream<WebSocket>,
    idle: Pin<Box<Sleep>>,
}

impl Inbound for SocketInput<'_> {
    async fn next(&mut self) -> Input {
        loop {
            let message = tokio::select! {
                _ = &mut self.idle => return Input::End(silent(self.app)),
                message = self.stream.next() => message,
            };
            self.idle.as_mut().reset(Instant::now() + self.app.config.limits.idle_timeout);
            match read_message(self.app, message) {
                Read::Frame(frame) => return Input::Frame(frame),
                Read::Skip => {}
                Read::End(reason) => return Input::End(reason),
            }
        }
    }
}

/// What one read from a websocket means.
pub(crate) enum Read {
    /// A binary message (counted in the metrics).
    Frame(Bytes),
    /// A ping or pong: nothing to do (tungstenite answers pings by itself).
    Skip,
    /// The socket ends, with this reason.
    End(CloseReason),
}

/// Sorts one read from a websocket into frames, control messages and ends.
pub(crate) fn read_message(app: &App, message: Option<Result<Message, axum::Error>>) -> Read {
    match message {
        Some(Ok(Message::Binary(frame))) => {
            app.metrics.messages_in.inc();
            app.metrics.bytes_in.add(frame.len() as u64);
            Read::Frame(frame)
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Skip,
        Some(Ok(Message::Close(_))) | None => {
            Read::End(CloseReason::new(code::NORMAL, "client closed"))
        }
        Some(Ok(Message::Text(_))) => {
            app.metrics.reject(Rejection::TextFrame);
            Read::End(CloseReason::new(
                code::UNSUPPORTED_DATA,
                "text frames are not part of the protocol; send binary frames",
            ))
        }
        Some(Err(error)) => Read::End(read_error(app, error)),
    }
}

/// Why a socket silent for the idle timeout is closed.
pub(crate) fn silent(app: &App) -> CloseReason {
    CloseReason::new(
        code::GOING_AWAY,
        format!("silent for {} s, pings unanswered", app.config.limits.idle_timeout.as_secs()),
    )
}

/// Maps a websocket read error to a close reason.
fn read_error(app: &App, error: axum::Error) -> CloseReason {
    match error.into_inner().downcast::<tungstenite::Error>() {
        Ok(error) if matches!(*error, tungstenite::Error::Capacity(_)) => {
            app.metrics.reject(Rejection::TooLarge);
            CloseReason::new(
                code::TOO_BIG,
                format!("message larger than {} bytes", app.config.limits.max_message_bytes),
            )
        }
        Ok(error) => {
            app.metrics.reject(Rejection::Malformed);
            CloseReason::new(code::INVALID_PAYLOAD, format!("websocket error: {error}"))
        }
        Err(error) => CloseReason::new(code::INVALID_PAYLOAD, format!("websocket error: {error}")),
    }
}

/// Keeps reading until the peer answers our close frame (for at most [`CLOSE_TIMEOUT`]): a
/// socket dropped with unread input is reset, and the peer may then never see the close frame
/// and its reason.
pub(crate) async fn drain_until_close(stream: &mut SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Frames waiting to go into a socket, in order.
pub(crate) trait FrameQueue: Send {
    /// The next frame; `None` once nothing more can come.
    fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + Send;
    /// The next frame if one is queued.
    fn try_recv(&mut self) -> Option<Bytes>;
}

impl FrameQueue for OutboxReceiver {
    fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + Send {
        OutboxReceiver::recv(self)
    }

    fn try_recv(&mut self) -> Option<Bytes> {
        OutboxReceiver::try_recv(self)
    }
}

impl FrameQueue for mpsc::Receiver<Bytes> {
    fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + Send {
        mpsc::Receiver::recv(self)
    }

    fn try_recv(&mut self) -> Option<Bytes> {
        mpsc::Receiver::try_recv(self).ok()
    }
}

/// Moves queued frames into the socket until `outbox` closes, then sends the close frame with
/// its reason. `frames` is the outbox's own queue, or (on a multiplexed socket, whose outbox
/// only holds its close) the queue its documents' frames come through.
pub(crate) async fn send_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: impl FrameQueue,
    outbox: Arc<Outbox>,
    app: Arc<App>,
) {
    let closed = outbox.closed();
    tokio::pin!(closed);
    let ping_every = app.config.limits.idle_timeout / 3;
    let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    loop {
        let frame = tokio::select! {
            biased;
            _ = &mut closed => break,
            frame = frames.recv() => frame,
            _ = pings.tick() => {
                let ping = tokio::select! {
                    _ = &mut closed => break,
                    sent = sink.send(Message::Ping(Bytes::new())) => sent,
                };
                if ping.is_err() {
                    break;
                }
                continue;
            }
        };
        let Some(frame) = frame else { break };
        let sent = tokio::select! {
            // A peer that stopped reading blocks this send; the outbox closing must still end it.
            _ = &mut closed => false,
            result = send_batch(&mut sink, frame, &mut frames, &app) => result.is_ok(),
        };
        if !sent {
            break;
        }
    }
    let reason = outbox.close_reason().unwrap_or_else(|| CloseReason::new(code::NORMAL, ""));
    let dropped = reason.code == code::TRY_AGAIN_LATER;
    // A peer dropped for not reading has the frames already in its socket to read before the
    // close frame, whenever it reads again: its close waits as long as a silent connection
    // may stay open (the frames still queued are dropped, so memory stays bounded).
    let timeout = if dropped { app.config.limits.idle_timeout } else { CLOSE_TIMEOUT };
    let closing = tokio::time::timeout(timeout, async {
        // What was queued before the close still goes out (an auth refusal, the last durable
        // message) — except to a peer dropped for not reading.
        if !dropped {
            while let Some(frame) = frames.try_recv() {
                if sink.feed(Message::Binary(frame)).await.is_err() {
                    return;
                }
            }
        }
        let close = CloseFrame { code: reason.code, reason: reason.wire_reason().into() };
        // `send` flushes the fed frames with the close frame.
        let _ = sink.send(Message::Close(Some(close))).await;
        let _ = sink.close().await;
    });
    if dropped {
        // Not past the server's shutdown, though.
        tokio::select! {
            _ = closing => {}
            _ = app.shutdown.cancelled() => {}
        }
    } else {
        let _ = closing.await;
    }
}

/// Writes `first` and whatever else is already queued (up to [`MAX_BATCH_FRAMES`] frames or
/// [`MAX_BATCH_BYTES`]) into the socket with one flush: with TCP_NODELAY on, a flush per frame
/// would be a write syscall and a TCP segment per relayed keystroke.
async fn send_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    first: Bytes,
    frames: &mut impl FrameQueue,
    app: &App,
) -> Result<(), axum::Error> {
    let mut count = 0;
    let mut bytes = 0;
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        count += 1;
        bytes += frame.len();
        sink.feed(Message::Binary(frame)).await?;
        if count < MAX_BATCH_FRAMES && bytes < MAX_BATCH_BYTES {
            next = frames.try_recv();
        }
    }
    sink.flush().await?;
    app.metrics.messages_out.add(count as u64);
    app.metrics.bytes_out.add(bytes as u64);
    Ok(())
}
