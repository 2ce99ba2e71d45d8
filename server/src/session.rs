//! One document's session, whatever carries its frames: a websocket of its own
//! ([`crate::connection`]) or one document of a multiplexed websocket ([`crate::multiplex`]).
//!
//! The session checks the token, joins the room, then hands each frame to the room under the
//! connection's limits (rate, CPU budget, storage back-pressure, token expiry) and leaves the
//! room when its frames end. The transport only reads and writes bytes: it gives the session
//! frames through an [`Inbound`] and sends what the session's [`Outbox`] holds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tandem_crdt::{Extensions, SessionConfig};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::app::App;
use crate::auth::{Access, AuthError};
use crate::config::Limits;
use crate::cpu_budget::{CpuBudget, MAX_FRAMES_IN_FLIGHT};
use crate::metrics::Rejection;
use crate::outbox::{CloseReason, Outbox, code};
use crate::peer::Peer;
use crate::storage::unix_ms;
use crate::token_bucket::TokenBucket;

/// What a client asked for when it opened a document.
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

/// The next thing a transport has for a session.
#[derive(Debug)]
pub(crate) enum Input {
    /// One y-protocol message from the client.
    Frame(Bytes),
    /// No more frames: the session ends with this reason.
    End(CloseReason),
}

/// Where a session's frames come from.
pub(crate) trait Inbound {
    /// The next frame, or why there are no more. Cancel-safe: the session also waits for its
    /// outbox to close, the token to expire and the server to stop.
    fn next(&mut self) -> impl Future<Output = Input> + Send;
}

/// Everything between the transport's start and the end of the session; returns why it ends.
/// `id` names the session in its room (every session has its own, also on a shared socket).
pub(crate) async fn run(
    app: &Arc<App>,
    request: &ConnectRequest,
    id: u64,
    outbox: &Arc<Outbox>,
    input: &mut impl Inbound,
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
    // The token's expiry, on the runtime's clock: the session ends at that moment.
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
    let mut rate = RateLimit::of(limits);
    // Frames queued for the room and not handled yet (handled off the runtime, see
    // `crate::executor`); weighed by their cost, see `crate::cpu_budget`.
    let in_flight = Arc::new(Semaphore::new(MAX_FRAMES_IN_FLIGHT as usize));
    let mut cpu = CpuBudget::new(limits.cpu_budget_ms);
    // Made once, not per frame: each new one registers with (and locks) its token.
    let closed = outbox.closed();
    let shutdown = app.shutdown.cancelled();
    tokio::pin!(closed, shutdown, expired);
    let reason = loop {
        let input = tokio::select! {
            _ = &mut closed => break None,
            _ = &mut shutdown => break Some(going_away()),
            _ = &mut expired => break Some(token_expired(app, outbox)),
            input = input.next() => input,
        };
        let frame = match input {
            Input::Frame(frame) => frame,
            Input::End(reason) => break Some(reason),
        };
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
                _ = &mut shutdown => break Some(going_away()),
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
    // Queued behind this session's frames: they are all handled before it leaves.
    room.leave(id, unix_ms(), Instant::now()).await;
    // The outbox's own reason (slow reader, storage failure) wins when it closed first.
    reason.unwrap_or_else(|| CloseReason::new(code::NORMAL, ""))
}

/// Why everything closes when the server stops.
pub(crate) fn going_away() -> CloseReason {
    CloseReason::new(code::GOING_AWAY, "server shutting down")
}

/// Ends a session whose token expired as a refusal at connect does: y-protocols' auth
/// message, then 1008 with the same reason.
fn token_expired(app: &App, outbox: &Outbox) -> CloseReason {
    app.metrics.reject(Rejection::Auth);
    let reason = AuthError::Expired.to_string();
    outbox.push(tandem_crdt::Message::AuthDenied { reason: reason.clone() }.encode());
    CloseReason::new(code::POLICY, reason)
}

/// Token buckets on messages and bytes: a client may burst ten seconds' worth, then is slowed
/// to the sustained rate by reading its socket less often (TCP pushes back on it).
pub(crate) struct RateLimit {
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl RateLimit {
    /// The rate limit of one connection.
    pub(crate) fn of(limits: &Limits) -> Self {
        Self::new(limits.rate_messages, limits.rate_bytes, limits.max_message_bytes)
    }

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
    pub(crate) fn take(&mut self, len: usize, now: Instant) -> Duration {
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
