//! [`Writer`]: the one task that writes to storage, with group commit.
//!
//! Rooms hand it writes without waiting ([`Writer::write`]); the task takes everything pending,
//! commits it in one transaction, and only then tells each connection whose updates were in it
//! ([`AckSink::committed`]). While a commit runs, new writes queue up and go into the next one,
//! so one fsync covers many updates under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot};

use super::{Storage, StorageError, WriteOp};
use crate::metrics::Metrics;

/// Most jobs committed in one transaction.
const MAX_BATCH_JOBS: usize = 4_096;
/// Pauses before retrying a failed commit; after the last the batch is reported failed.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(500)];

/// Who to tell when a write has committed: a connection waiting to send a durable message.
pub trait AckSink: Send + Sync + 'static {
    /// The peer's update messages through number `seq` are stored; `state_vector` is the stored
    /// document's state vector right after them.
    fn committed(&self, seq: u64, state_vector: Vec<u8>);
    /// The write could not be stored; the peer should reconnect and resend.
    fn failed(&self, reason: &str);
}

/// A confirmation owed after a write commits.
pub struct Ack {
    /// Who to tell.
    pub sink: Arc<dyn AckSink>,
    /// The peer's update message count the write completes.
    pub seq: u64,
    /// The document's state vector after the write.
    pub state_vector: Vec<u8>,
}

enum Job {
    Write(WriteOp, Option<Ack>),
    Flush(oneshot::Sender<Result<(), String>>),
}

struct Shared {
    pending_bytes: AtomicUsize,
    space: Notify,
    max_pending_bytes: usize,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
}

impl Writer {
    /// Starts the writer task over `storage`. Producers slow down ([`Writer::wait_for_space`])
    /// while more than `max_pending_bytes` wait to be written.
    pub fn spawn(
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
        max_pending_bytes: usize,
    ) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            pending_bytes: AtomicUsize::new(0),
            space: Notify::new(),
            max_pending_bytes,
        });
        tokio::spawn(run(storage, rx, shared.clone(), metrics));
        Self { jobs, shared }
    }

    /// Queues a write; `ack` is told once it has committed (or failed).
    pub fn write(&self, op: WriteOp, ack: Option<Ack>) {
        self.shared.pending_bytes.fetch_add(op.len(), Ordering::Relaxed);
        if let Err(mpsc::error::SendError(Job::Write(_, Some(ack)))) =
            self.jobs.send(Job::Write(op, ack))
        {
            ack.sink.failed("server is shutting down");
        }
    }

    /// Waits until every write queued before this call has committed.
    pub async fn flush(&self) -> Result<(), StorageError> {
        let (done, wait) = oneshot::channel();
        self.jobs.send(Job::Flush(done)).map_err(|_| StorageError::WriterStopped)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(StorageError::CommitFailed(reason)),
            Err(_) => Err(StorageError::WriterStopped),
        }
    }

    /// Returns once the backlog of unwritten bytes is under the limit: connections call it
    /// before reading more from their socket, so a slow database slows clients down instead of
    /// growing memory.
    pub async fn wait_for_space(&self) {
        loop {
            // Registered before the check, so a wake-up between the two is not lost.
            let notified = self.shared.space.notified();
            if self.shared.pending_bytes.load(Ordering::Relaxed) <= self.shared.max_pending_bytes {
                return;
            }
            notified.await;
        }
    }
}

async fn run(
    storage: Arc<dyn Storage>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH_JOBS {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut ops = Vec::with_capacity(jobs.len());
        let mut acks: Vec<Ack> = Vec::new();
        let mut flushes = Vec::new();
        for job in jobs {
            match job {
                Job::Write(op, ack) => {
                    ops.push(op);
                    if let Some(ack) = ack {
                        keep_latest(&mut acks, ack);
                    }
                }
                Job::Flush(done) => flushes.push(done),
            }
        }
        let bytes: usize = ops.iter().map(WriteOp::len).sum();
        let started = Instant::now();
        let result = commit_with_retry(&*storage, &ops).await;
        metrics.storage_commit_seconds.observe(started.elapsed());
        match &result {
            Ok(()) => {
                for ack in acks {
                    ack.sink.committed(ack.seq, ack.state_vector);
                }
            }
            Err(error) => {
                metrics.storage_errors.inc();
                tracing::error!(%error, writes = ops.len(), "storage commit failed");
                for ack in acks {
                    ack.sink.failed("storage failure");
                }
            }
        }
        for done in flushes {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        }
        shared.pending_bytes.fetch_sub(bytes, Ordering::Relaxed);
        shared.space.notify_waiters();
    }
}

/// Keeps one ack per sink, the one with the highest sequence number: a connection whose many
/// updates share a commit needs one durable message, not one per update.
fn keep_latest(acks: &mut Vec<Ack>, ack: Ack) {
    match acks.iter_mut().find(|a| Arc::ptr_eq(&a.sink, &ack.sink)) {
        Some(existing) if existing.seq < ack.seq => *existing = ack,
        Some(_) => {}
        None => acks.push(ack),
    }
}

async fn commit_with_retry(storage: &dyn Storage, ops: &[WriteOp]) -> Result<(), StorageError> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match storage.commit(ops).await {
            Ok(()) => return Ok(()),
            Err(error) => match delays.next() {
                // Appends are idempotent (CRDT updates) and a snapshot replaces, so retrying a
                // batch that may have half-reported success is safe.
                Some(delay) => {
                    tracing::warn!(%error, "storage commit failed, retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => return Err(error),
            },
        }
    }
}
