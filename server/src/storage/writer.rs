//! [`Writer`]: the one task that writes to storage, with group commit.
//!
//! Rooms hand it writes without waiting ([`Writer::write`]); the task takes everything pending,
//! commits it in one transaction, and only then tells each connection whose updates were in it
//! ([`AckSink::committed`]). While a commit runs, new writes queue up and go into the next one,
//! so one fsync covers many updates under load.
//!
//! A confirmation is a promise that the update is stored, so a batch that storage refuses (a
//! full disk, a database restarting) is never dropped: the writer holds it, retries with
//! backoff, adds the writes that arrive meanwhile, and confirms only once a commit succeeds.
//! Until then connections get no confirmation (their clients keep the updates unconfirmed),
//! [`Writer::failure`] says why for `/healthz`, and the held bytes count toward the backlog
//! that [`Writer::wait_for_space`] bounds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot};

use super::{Storage, StorageError, WriteOp};
use crate::metrics::Metrics;

/// Most jobs committed in one transaction.
const MAX_BATCH_JOBS: usize = 4_096;
/// The pause before the first retry of a refused batch; it doubles on each failure...
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// ...up to this, so that a recovered disk is used again within a couple of seconds.
const MAX_RETRY: Duration = Duration::from_secs(2);

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
    /// Why the held batch failed, while storage refuses it.
    failure: Mutex<Option<String>>,
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
            failure: Mutex::new(None),
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

    /// Why storage refuses writes, while it does (the writer is holding and retrying them).
    pub fn failure(&self) -> Option<String> {
        lock(&self.shared.failure).clone()
    }

    /// Waits until every write queued before this call has committed; fails (without dropping
    /// the writes, which stay queued) if an attempt to commit them fails.
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

/// What one transaction commits: the writes, the confirmations they owe, and the flushes
/// waiting for them.
#[derive(Default)]
struct Batch {
    jobs: usize,
    bytes: usize,
    ops: Vec<WriteOp>,
    acks: Vec<Ack>,
    flushes: Vec<oneshot::Sender<Result<(), String>>>,
}

impl Batch {
    fn add(&mut self, job: Job) {
        self.jobs += 1;
        match job {
            Job::Write(op, ack) => {
                self.bytes += op.len();
                self.ops.push(op);
                if let Some(ack) = ack {
                    keep_latest(&mut self.acks, ack);
                }
            }
            Job::Flush(done) => self.flushes.push(done),
        }
    }

    /// Adds the jobs already queued (up to [`MAX_BATCH_JOBS`]).
    fn take_queued(&mut self, rx: &mut mpsc::UnboundedReceiver<Job>) {
        while self.jobs < MAX_BATCH_JOBS {
            match rx.try_recv() {
                Ok(job) => self.add(job),
                Err(_) => break,
            }
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
        let mut batch = Batch::default();
        batch.add(first);
        batch.take_queued(&mut rx);
        commit_held(&*storage, &mut batch, &mut rx, &shared, &metrics).await;
        for ack in batch.acks {
            ack.sink.committed(ack.seq, ack.state_vector);
        }
        for done in batch.flushes {
            let _ = done.send(Ok(()));
        }
        shared.pending_bytes.fetch_sub(batch.bytes, Ordering::Relaxed);
        shared.space.notify_waiters();
    }
}

/// Commits `batch`, retrying until storage takes it: the confirmations it owes are promises,
/// and the updates are still in the rooms' memory and unconfirmed at their clients, so giving
/// up would only turn a delay into a loss. Writes queued during a pause join the batch;
/// flushes in it are told of each failure. Appends are idempotent (CRDT updates) and a
/// snapshot replaces, so retrying a batch whose commit may have half-reported success is safe.
async fn commit_held(
    storage: &dyn Storage,
    batch: &mut Batch,
    rx: &mut mpsc::UnboundedReceiver<Job>,
    shared: &Shared,
    metrics: &Metrics,
) {
    let mut delay = FIRST_RETRY;
    loop {
        let started = Instant::now();
        let result = storage.commit(&batch.ops).await;
        metrics.storage_commit_seconds.observe(started.elapsed());
        let error = match result {
            Ok(()) => break,
            Err(error) => error.to_string(),
        };
        metrics.storage_errors.inc();
        metrics.storage_failing.set(1);
        tracing::error!(
            %error,
            writes = batch.ops.len(),
            bytes = batch.bytes,
            retry_in_ms = delay.as_millis() as u64,
            "storage commit failed; holding the writes and retrying"
        );
        for done in batch.flushes.drain(..) {
            let _ = done.send(Err(error.clone()));
        }
        *lock(&shared.failure) = Some(error);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY);
        batch.take_queued(rx);
    }
    if lock(&shared.failure).take().is_some() {
        metrics.storage_failing.set(0);
        tracing::info!(writes = batch.ops.len(), "storage accepts writes again");
    }
}

/// Locks `mutex`, ignoring poisoning: the value is a plain reason string, always whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::storage::{DocumentInfo, Stamp, StoredDocument};

    /// Storage that refuses every commit while `refuse` is set, and records what it stored.
    #[derive(Default)]
    struct FakeStorage {
        refuse: AtomicBool,
        attempts: AtomicUsize,
        stored: Mutex<Vec<WriteOp>>,
    }

    impl Storage for FakeStorage {
        fn load<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<StoredDocument, StorageError>> {
            Box::pin(async { Ok(StoredDocument::default()) })
        }

        fn commit<'a>(&'a self, ops: &'a [WriteOp]) -> BoxFuture<'a, Result<(), StorageError>> {
            Box::pin(async move {
                self.attempts.fetch_add(1, Ordering::Relaxed);
                if self.refuse.load(Ordering::Relaxed) {
                    return Err(StorageError::CommitFailed("database or disk is full".into()));
                }
                lock(&self.stored).extend_from_slice(ops);
                Ok(())
            })
        }

        fn stamp<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Stamp>, StorageError>> {
            Box::pin(async { Ok(None) })
        }

        fn list(&self) -> BoxFuture<'_, Result<Vec<DocumentInfo>, StorageError>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn ping(&self) -> BoxFuture<'_, Result<(), StorageError>> {
            Box::pin(async { Ok(()) })
        }

        fn close(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
    }

    /// A connection's confirmations, as received.
    #[derive(Default)]
    struct Sink {
        committed: Mutex<Vec<u64>>,
        failed: Mutex<Vec<String>>,
    }

    impl AckSink for Sink {
        fn committed(&self, seq: u64, _: Vec<u8>) {
            lock(&self.committed).push(seq);
        }

        fn failed(&self, reason: &str) {
            lock(&self.failed).push(reason.to_owned());
        }
    }

    fn append(update: &[u8]) -> WriteOp {
        WriteOp::Append { doc: Arc::from("doc"), update: update.to_vec() }
    }

    fn ack(sink: &Arc<Sink>, seq: u64) -> Option<Ack> {
        Some(Ack { sink: sink.clone(), seq, state_vector: Vec::new() })
    }

    struct Setup {
        storage: Arc<FakeStorage>,
        metrics: Arc<Metrics>,
        writer: Writer,
        sink: Arc<Sink>,
    }

    fn refusing_storage(max_pending_bytes: usize) -> Setup {
        let storage = Arc::new(FakeStorage::default());
        storage.refuse.store(true, Ordering::Relaxed);
        let metrics = Arc::new(Metrics::default());
        let writer = Writer::spawn(storage.clone(), metrics.clone(), max_pending_bytes);
        Setup { storage, metrics, writer, sink: Arc::new(Sink::default()) }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_batch_is_held_unconfirmed_and_committed_when_storage_returns() {
        let Setup { storage, metrics, writer, sink } = refusing_storage(1 << 20);
        writer.write(append(b"one"), ack(&sink, 1));
        writer.write(append(b"two"), ack(&sink, 2));
        let flushed = writer.flush().await;
        assert!(matches!(flushed, Err(StorageError::CommitFailed(_))), "{flushed:?}");

        // A minute of refusals: retried, never confirmed, never reported as dropped.
        tokio::time::sleep(Duration::from_secs(60)).await;
        writer.write(append(b"three"), ack(&sink, 3));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(lock(&sink.committed).is_empty(), "confirmed while storage refused");
        assert!(lock(&sink.failed).is_empty(), "the writes were given up");
        assert!(lock(&storage.stored).is_empty());
        let attempts = storage.attempts.load(Ordering::Relaxed);
        // 50 ms doubling to 2 s: 7 attempts in the first 3.2 s, then one every 2 s.
        assert!((30..=45).contains(&attempts), "{attempts} attempts in 65 s");
        assert_eq!(metrics.storage_errors.get(), attempts as u64);
        assert_eq!(metrics.storage_failing.get(), 1);
        assert_eq!(writer.failure().as_deref(), Some("commit failed: database or disk is full"));

        storage.refuse.store(false, Ordering::Relaxed);
        tokio::time::sleep(MAX_RETRY).await;
        writer.flush().await.unwrap();
        assert_eq!(*lock(&sink.committed), vec![3], "one confirmation, for the latest update");
        assert_eq!(*lock(&storage.stored), vec![append(b"one"), append(b"two"), append(b"three")]);
        assert_eq!(writer.failure(), None);
        assert_eq!(metrics.storage_failing.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn held_writes_keep_producers_waiting_until_they_commit() {
        let Setup { storage, writer, sink, .. } = refusing_storage(10);
        writer.write(append(&[7; 64]), ack(&sink, 1));
        let waiting = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.wait_for_space().await })
        };
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!waiting.is_finished(), "a producer went on while storage refused writes");

        storage.refuse.store(false, Ordering::Relaxed);
        tokio::time::timeout(MAX_RETRY * 2, waiting).await.unwrap().unwrap();
        assert_eq!(*lock(&sink.committed), vec![1]);
    }
}
