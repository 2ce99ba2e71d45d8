//! [`History`]: the handle rooms and the API use to record versions. Rooms hand automatic
//! versions and their writers' names over without waiting ([`History::queue`],
//! [`History::queue_authors`]); one task writes them in order. Another
//! task prunes old versions by [`super::retention`]'s rule, at start and then periodically.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::retention;
use super::store::{HistoryStore, NewVersion};
use crate::storage::error::StorageError;

enum Job {
    Record(Arc<str>, NewVersion),
    Authors(Arc<str>, Vec<(u64, String)>),
    Flush(oneshot::Sender<()>),
}

/// Records and reads versions; cheap to clone.
#[derive(Clone)]
pub struct History {
    store: Arc<dyn HistoryStore>,
    jobs: mpsc::UnboundedSender<Job>,
    interval: Duration,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("interval", &self.interval).finish_non_exhaustive()
    }
}

impl History {
    /// Starts the task that writes queued versions into `store`. A changed document gets an
    /// automatic version every `interval`.
    pub fn spawn(store: Arc<dyn HistoryStore>, interval: Duration) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_queued(store.clone(), rx));
        Self { store, jobs, interval }
    }

    /// Where versions are kept.
    pub fn store(&self) -> &dyn HistoryStore {
        &*self.store
    }

    /// How often a changed document gets an automatic version.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Records an automatic version of `doc` soon, unless its latest version has the same text.
    pub fn queue(&self, doc: Arc<str>, version: NewVersion) {
        if self.jobs.send(Job::Record(doc, version)).is_err() {
            tracing::warn!("version history writer stopped; a version is not recorded");
        }
    }

    /// Stores the names of `doc`'s client ids soon ([`super::authorship`]).
    pub fn queue_authors(&self, doc: Arc<str>, names: Vec<(u64, String)>) {
        if self.jobs.send(Job::Authors(doc, names)).is_err() {
            tracing::warn!("version history writer stopped; authors' names are not stored");
        }
    }

    /// Waits until every version and name queued so far is written (shutdown, tests).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_queued(store: Arc<dyn HistoryStore>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Record(doc, version) => {
                // A version is a convenience, not an edit: one that cannot be stored is logged
                // and dropped (the document itself is safe in its log).
                if let Err(error) = store.record(&doc, &version, true).await {
                    tracing::warn!(doc = %doc, %error, "recording a version failed");
                }
            }
            Job::Authors(doc, names) => {
                // Like a version, a convenience: the text is safe without it.
                if let Err(error) = store.add_authors(&doc, &names).await {
                    tracing::warn!(doc = %doc, %error, "storing authors' names failed");
                }
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Prunes every document's versions by the retention rule at `now_ms`; returns how many
/// versions were dropped.
pub async fn prune(
    store: &dyn HistoryStore,
    now_ms: i64,
    keep_all: Duration,
) -> Result<usize, StorageError> {
    let mut dropped = 0;
    for doc in store.documents().await? {
        let versions = store.list(&doc).await?;
        let ids = retention::to_prune(&versions, now_ms, keep_all);
        if !ids.is_empty() {
            store.delete(&doc, &ids).await?;
            dropped += ids.len();
        }
    }
    Ok(dropped)
}

/// Prunes at once, then every `every`, forever (the server aborts it at shutdown).
pub async fn prune_periodically(store: Arc<dyn HistoryStore>, keep_all: Duration, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match prune(&*store, crate::storage::unix_ms() as i64, keep_all).await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, "old versions pruned"),
            Err(error) => tracing::warn!(%error, "pruning versions failed"),
        }
    }
}
