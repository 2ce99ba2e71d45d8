//! One websocket connection: checks its token, joins the document's room, then only pumps
//! bytes — frames from the socket into the room, frames from its [`Outbox`] into the socket.
//!
//! The protocol work (decoding, applying, relaying, storing) happens in [`crate::room`].
//!
//! A connection that stays silent for `--idle-timeout-secs` is closed: the send loop pings it
//! three times in that span, and every client (browsers, the `ws` package under y-websocket,
//! tungstenite under tandem-connect) answers pings by itself, so only a peer that is gone or
//! stuck (a half-open TCP connection, a frozen process) stays silent that long.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tandem_crdt::{Extensions, SessionConfig};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use crate::admission::Slot;
use crate::app::App;
use crate::auth::{Access, AuthError};
use crate::cpu_budget::{CpuBudget, MAX_FRAMES_IN_FLIGHT};
use crate::metrics::Rejection;
use crate::outbox::{CloseReason, Outbox, OutboxReceiver, code};
use crate::peer::Peer;
use crate::storage::unix_ms;
use crate::token_bucket::TokenBucket;

/// How long closing may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most frames written to the socket before one flush.
const MAX_BATCH_FRAMES: usize = 64;
/// Bytes after which a batch is flushed even if more frames are queued.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// What a client asked for when it connected.
#[derive(Debug, Clone)]
pub(crate) struct ConnectRequest {
    /// The document id (validated).
    pub doc: String,
    /// `?token=`.
    pub token: Option<String>,
    /// [`Extensions::Tandem`] for `?ext=durable`: the client understands tandem's durability
    /// messages.
    pub extensions: Extensions,
    /// The client's address, for the logs.
    pub peer: Option<Peer>,
}

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

    let reason = run_session(&app, &request, id, &outbox, &mut stream).await;
    outbox.close(reason);
    // Keep reading until the peer answers our close frame: a socket dropped with unread input
    // is reset, and the peer may then never see the close frame and its reason.
    let drain = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    });
    let _ = tokio::join!(sender, drain);
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

/// Everything between the upgrade and the close; returns why the connection ends.
async fn run_session(
    app: &Arc<App>,
    request: &ConnectRequest,
    id: u64,
    outbox: &Arc<Outbox>,
    stream: &mut SplitStream<WebSocket>,
) -> CloseReason {
    let grant = match app.authorize(request.token.as_deref(), &request.doc) {
        Ok(grant) => grant,
        Err(error) => {
            tracing::info!(doc = %request.doc, client = id, peer = ?request.peer, %error, "refused");
            // y-protocols' auth message first, so Yjs clients see "permission denied".
            outbox.push(tandem_crdt::Message::AuthDenied { reason: error.to_string() }.encode());
            return CloseReason::new(code::POLICY, error.to_string());
        }
    };
    let lease = match app.rooms.acquire(&request.doc).await {
        Ok(lease) => lease,
        Err(error) => {
            tracing::error!(doc = %request.doc, client = id, %error, "document could not be loaded");
            return CloseReason::new(
                code::INTERNAL,
                format!("document could not be loaded: {error}"),
            );
        }
    };
    let room = lease.room();
    let access = grant.access;
    let session = SessionConfig::server(request.extensions, access.into());
    let author = app.author_claim(request.token.as_deref());
    if let Err(reason) = room.join(id, session, outbox.clone(), author).await {
        return reason;
    }
    tracing::info!(
        doc = %request.doc,
        client = id,
        peer = ?request.peer,
        read_only = access == Access::ReadOnly,
        extensions = request.extensions.tandem(),
        "connected"
    );
    let limits = &app.config.limits;
    let idle = tokio::time::sleep(limits.idle_timeout);
    // The token's expiry, on the runtime's clock: the connection ends at that moment.
    let expiry = grant.expires_at.map(|exp| {
        let left = exp.saturating_mul(1000).saturating_sub(unix_ms());
        tokio::time::sleep(Duration::from_millis(left))
    });
    let expired = async move {
        match expiry {
            Some(expiry) => expiry.await,
            None => std::future::pending().await,
        }
    };
    let mut rate =
        RateLimit::new(limits.rate_messages, limits.rate_bytes, limits.max_message_bytes);
    // Frames queued for the room and not handled yet (handled off the runtime, see
    // `crate::executor`); weighed by their cost, see `crate::cpu_budget`.
    let in_flight = Arc::new(Semaphore::new(MAX_FRAMES_IN_FLIGHT as usize));
    let mut cpu = CpuBudget::new(limits.cpu_budget_ms);
    // Made once, not per frame: each new one registers with (and locks) its token.
    let closed = outbox.closed();
    let shutdown = app.shutdown.cancelled();
    tokio::pin!(closed, shutdown, idle, expired);
    let reason = loop {
        let message = tokio::select! {
            _ = &mut closed => break None,
            _ = &mut shutdown => break Some(CloseReason::new(code::GOING_AWAY, "server shutting down")),
            _ = &mut expired => break Some(token_expired(app, outbox)),
            _ = &mut idle => break Some(CloseReason::new(
                code::GOING_AWAY,
                format!("silent for {} s, pings unanswered", limits.idle_timeout.as_secs()),
            )),
            message = stream.next() => message,
        };
        idle.as_mut().reset(Instant::now() + limits.idle_timeout);
        let frame = match message {
            Some(Ok(Message::Binary(frame))) => frame,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => {
                break Some(CloseReason::new(code::NORMAL, "client closed"));
            }
            Some(Ok(Message::Text(_))) => {
                app.metrics.reject(Rejection::TextFrame);
                break Some(CloseReason::new(
                    code::UNSUPPORTED_DATA,
                    "text frames are not part of the protocol; send binary frames",
                ));
            }
            Some(Err(error)) => break Some(read_error(app, error)),
        };
        app.metrics.messages_in.inc();
        app.metrics.bytes_in.add(frame.len() as u64);
        let now = Instant::now();
        let rate_wait = rate.take(frame.len(), now);
        let cpu_wait = cpu.charge(now);
        if !rate_wait.is_zero() {
            app.metrics.rate_limited.inc();
        }
        if !cpu_wait.is_zero() {
            app.metrics.cpu_limited.inc();
        }
        let wait = rate_wait.max(cpu_wait);
        if !wait.is_zero() {
            tokio::select! {
                _ = &mut closed => break None,
                _ = &mut shutdown => break Some(CloseReason::new(code::GOING_AWAY, "server shutting down")),
                _ = &mut expired => break Some(token_expired(app, outbox)),
                _ = tokio::time::sleep(wait) => {}
            }
        }
        app.writer.wait_for_space().await;
        // Never closed, so this waits only for slots.
        let Ok(slots) = in_flight.clone().acquire_many_owned(cpu.slots()).await else {
            break None;
        };
        // A frame read before the token expired may be handled only before it expired: the
        // rate limit, storage back-pressure or the frames ahead of it may have held it past
        // that moment.
        if grant.is_expired(unix_ms() / 1000) {
            break Some(token_expired(app, outbox));
        }
        // A malformed frame closes the outbox (`closed` above), with the reason.
        room.submit(id, frame, unix_ms(), cpu.receipt(slots));
    };
    // Queued behind this connection's frames: they are all handled before it leaves.
    room.leave(id, unix_ms(), Instant::now()).await;
    // The outbox's own reason (slow reader, storage failure) wins when it closed first.
    reason.unwrap_or_else(|| CloseReason::new(code::NORMAL, ""))
}

/// Ends a connection whose token expired as a refusal at connect does: y-protocols' auth
/// message, then 1008 with the same reason.
fn token_expired(app: &App, outbox: &Outbox) -> CloseReason {
    app.metrics.reject(Rejection::Auth);
    let reason = AuthError::Expired.to_string();
    outbox.push(tandem_crdt::Message::AuthDenied { reason: reason.clone() }.encode());
    CloseReason::new(code::POLICY, reason)
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

/// Moves queued frames into the socket until the outbox closes, then sends the close frame.
async fn send_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: OutboxReceiver,
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
    frames: &mut OutboxReceiver,
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

/// Token buckets on messages and bytes: a client may burst ten seconds' worth, then is slowed
/// to the sustained rate by reading its socket less often (TCP pushes back on it).
struct RateLimit {
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl RateLimit {
    fn new(messages_per_sec: u32, bytes_per_sec: u64, max_message_bytes: usize) -> Self {
        let messages = f64::from(messages_per_sec.max(1));
        let bytes = (bytes_per_sec.max(1)) as f64;
        Self {
            messages: TokenBucket::new(messages, messages * 10.0),
            // Always room for one largest message.
            bytes: TokenBucket::new(bytes, (bytes * 10.0).max(max_message_bytes as f64)),
        }
    }

    /// Takes one message of `len` bytes; returns how long to wait before handling it.
    fn take(&mut self, len: usize, now: Instant) -> Duration {
        self.messages.take(1.0, now).max(self.bytes.take(len as f64, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_largest_message_always_fits_the_byte_bucket() {
        let mut limit = RateLimit::new(1000, 10, 8 << 20);
        assert_eq!(limit.take(8 << 20, Instant::now()), Duration::ZERO);
    }
}
