//! [`Outbox`]: the bounded queue of frames waiting to be sent to one connection.
//!
//! Rooms push into it without waiting (they hold the room's lock); the connection's send task
//! drains it into the socket. A peer that stops reading would make it grow without end, so past
//! a frame count or byte size the outbox closes instead: the connection is dropped with a reason
//! and the client resyncs when it reconnects. Server memory per connection stays bounded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use tandem_crdt::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, Rejection};
use crate::storage::AckSink;

/// Websocket close codes the server uses (RFC 6455 §7.4.1).
pub(crate) mod code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame where binary frames are expected.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A frame that does not decode or apply.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Refused by policy (authentication).
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed (storage, load).
    pub const INTERNAL: u16 = 1011;
    /// Come back later (the client fell behind).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The document was deleted or renamed (tandem's own code, in the private range): do
    /// not reconnect to this id.
    pub const GONE: u16 = 4410;
}

/// Why a connection is closed: the websocket close code and the reason sent with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseReason {
    /// Close code.
    pub code: u16,
    /// Human-readable reason (at most 123 bytes go on the wire).
    pub reason: String,
}

impl CloseReason {
    /// A close reason.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self { code, reason: reason.into() }
    }

    /// The reason cut to what fits in a close frame (123 bytes), on a char boundary.
    pub fn wire_reason(&self) -> &str {
        let mut end = self.reason.len().min(123);
        while !self.reason.is_char_boundary(end) {
            end -= 1;
        }
        &self.reason[..end]
    }
}

/// Frames waiting for one connection.
pub(crate) struct Outbox {
    frames: mpsc::UnboundedSender<Bytes>,
    queued_frames: AtomicUsize,
    queued_bytes: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
    closed: CancellationToken,
    /// `closed` as a plain flag: `push` runs for every relayed frame, and asking the token
    /// takes its lock.
    is_closed: AtomicBool,
    reason: Mutex<Option<CloseReason>>,
    metrics: Arc<Metrics>,
}

/// The connection's end of an [`Outbox`].
pub(crate) struct OutboxReceiver {
    frames: mpsc::UnboundedReceiver<Bytes>,
    outbox: Arc<Outbox>,
}

impl Outbox {
    /// An empty outbox that holds at most `max_frames` frames and `max_bytes` bytes.
    pub fn new(
        max_frames: usize,
        max_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> (Arc<Self>, OutboxReceiver) {
        let (frames, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Self {
            frames,
            queued_frames: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            max_frames,
            max_bytes,
            closed: CancellationToken::new(),
            is_closed: AtomicBool::new(false),
            reason: Mutex::new(None),
            metrics,
        });
        (outbox.clone(), OutboxReceiver { frames: rx, outbox })
    }

    /// Queues a frame. Returns false if the outbox is closed, or closes it (dropping the
    /// connection as too slow) if the frame would go over the limits. A single frame larger
    /// than the byte limit still goes through an empty queue: a big document's first sync
    /// must reach a client that keeps up.
    pub fn push(&self, frame: impl Into<Bytes>) -> bool {
        if self.is_closed.load(Ordering::Acquire) {
            return false;
        }
        let frame = frame.into();
        let frames = self.queued_frames.load(Ordering::Relaxed);
        let bytes = self.queued_bytes.load(Ordering::Relaxed);
        if frames > 0 && (frames >= self.max_frames || bytes + frame.len() > self.max_bytes) {
            self.metrics.reject(Rejection::SlowReader);
            self.close(CloseReason::new(
                code::TRY_AGAIN_LATER,
                "too slow: fell behind the document's updates; reconnect to resync",
            ));
            return false;
        }
        self.queued_frames.fetch_add(1, Ordering::Relaxed);
        self.queued_bytes.fetch_add(frame.len(), Ordering::Relaxed);
        self.frames.send(frame).is_ok()
    }

    /// Closes the connection with `reason` (the first reason given wins).
    pub fn close(&self, reason: CloseReason) {
        let mut slot = self.reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert(reason);
        self.is_closed.store(true, Ordering::Release);
        self.closed.cancel();
    }

    /// The reason the outbox was closed, if it was.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Resolves once the outbox is closed.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }
}

impl OutboxReceiver {
    /// The next frame; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let frame = self.frames.recv().await?;
        self.taken(&frame);
        Some(frame)
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let frame = self.frames.try_recv().ok()?;
        self.taken(&frame);
        Some(frame)
    }

    fn taken(&self, frame: &Bytes) {
        self.outbox.queued_frames.fetch_sub(1, Ordering::Relaxed);
        self.outbox.queued_bytes.fetch_sub(frame.len(), Ordering::Relaxed);
    }
}

impl AckSink for Outbox {
    fn committed(&self, seq: u64, state_vector: Vec<u8>) {
        // Built directly rather than through SyncSession::durable_frame, so the state vector is
        // the one right after this connection's update, not the room's current one (which may
        // hold updates that are not committed yet). Acks exist only for peers that asked for
        // extensions.
        self.push(Message::Durable { seq, state_vector }.encode());
    }

    fn failed(&self, reason: &str) {
        self.close(CloseReason::new(code::INTERNAL, format!("{reason}; reconnect to resend")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_closes_as_slow_reader() {
        let metrics = Arc::new(Metrics::default());
        let (outbox, mut rx) = Outbox::new(2, 1 << 20, metrics.clone());
        assert!(outbox.push(vec![1]));
        assert!(outbox.push(vec![2]));
        assert_eq!(rx.try_recv().as_deref(), Some(&[1u8][..]));
        assert!(outbox.push(vec![3]));
        assert!(!outbox.push(vec![4]));
        assert_eq!(outbox.close_reason().map(|r| r.code), Some(code::TRY_AGAIN_LATER));
        assert_eq!(metrics.rejected(Rejection::SlowReader), 1);
        assert!(!outbox.push(vec![5]));
    }

    #[test]
    fn a_big_frame_passes_an_empty_queue() {
        let (outbox, _rx) = Outbox::new(10, 4, Arc::new(Metrics::default()));
        assert!(outbox.push(vec![0; 100]));
        assert!(!outbox.push(vec![0; 1]));
    }

    #[test]
    fn wire_reason_is_cut_on_a_char_boundary() {
        let reason = CloseReason::new(1000, "é".repeat(100));
        assert_eq!(reason.wire_reason().len(), 122);
    }
}
