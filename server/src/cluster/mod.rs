//! Several servers on one database: each hears the others' commits and applies them to the
//! documents it has loaded, and relays their clients' awareness.
//!
//! - [`Cluster`]: what a database several servers share offers (only PostgreSQL:
//!   [`PostgresCluster`]); SQLite has one server and no cluster.
//! - `notice`: the NOTIFY protocol (what a commit announces); the PostgreSQL storage sends
//!   its commit notices inside the commit's transaction, so they go out exactly when it
//!   commits.
//! - `merge`: a compaction on a shared database merges the stored log into the snapshot
//!   instead of dropping updates this server never saw.
//! - [`follow`] turns what other servers announce into work on this server's rooms
//!   ([`Replicas`]); [`publish_presence`] announces this server's clients' awareness.

mod merge;
mod notice;
mod postgres;

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

pub(crate) use merge::merge_snapshot;
pub(crate) use notice::{CHANNEL, NOTIFY, commit_payloads};
pub use postgres::PostgresCluster;

/// A failure talking to the other servers.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A notice could not be encoded.
    #[error("notice could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One row of a document's update log: the document id and the update.
pub type LogRow = (String, Vec<u8>);

/// A commit (or awareness) another server announced on the database this one shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteCommit {
    /// Log rows with ids `from..=to` were appended (rows of other documents, or of other
    /// commits, may fall in the range).
    Updates {
        /// Lowest id.
        from: i64,
        /// Highest id.
        to: i64,
    },
    /// `doc`'s log was compacted into its snapshot: rows a server had not fetched yet may now
    /// exist only in the snapshot.
    Snapshot {
        /// The document.
        doc: String,
    },
    /// Awareness (cursors, names) of another server's clients of `doc`: not stored, only
    /// relayed.
    Presence {
        /// The document.
        doc: String,
        /// The y-protocols awareness update.
        update: Vec<u8>,
    },
    /// Announcements may have been missed (the connection to the database dropped).
    Lost,
}

/// The servers sharing this server's database.
pub trait Cluster: Send + Sync + 'static {
    /// Other servers' commits to the database, as they happen.
    fn watch(&self) -> BoxFuture<'_, Result<mpsc::Receiver<RemoteCommit>, ClusterError>>;
    /// The log rows of `docs` with ids in `from..=to`, oldest first, as `(doc, update)`.
    fn updates_between<'a>(
        &'a self,
        from: i64,
        to: i64,
        docs: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<LogRow>, ClusterError>>;
    /// Announces awareness of this server's clients of `doc` to the other servers.
    fn publish_presence<'a>(
        &'a self,
        doc: &'a str,
        update: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClusterError>>;
}

/// The documents this server has loaded, as the other servers' commits reach them.
pub(crate) trait Replicas: Sync {
    /// Counts a commit heard, before it is applied: a document loading meanwhile resyncs.
    fn heard(&self);
    /// The ids of the loaded documents.
    fn loaded(&self) -> Vec<Arc<str>>;
    /// Applies another server's update to `doc` (if loaded) and relays it.
    fn apply_update(&self, doc: &str, update: &[u8]);
    /// Applies another server's clients' awareness to `doc` (if loaded) and relays it.
    fn apply_presence(&self, doc: &str, update: &[u8]);
    /// Applies what storage holds for `doc` (if loaded) and relays what was new.
    fn resync(&self, doc: &str) -> impl Future<Output = ()> + Send;
}

/// Applies other servers' commits to `replicas`, until `commits` ends.
pub(crate) async fn follow(
    cluster: &dyn Cluster,
    replicas: &impl Replicas,
    mut commits: mpsc::Receiver<RemoteCommit>,
) {
    while let Some(commit) = commits.recv().await {
        replicas.heard();
        match commit {
            RemoteCommit::Updates { from, to } => {
                let ids = replicas.loaded();
                if ids.is_empty() {
                    continue;
                }
                match cluster.updates_between(from, to, &ids).await {
                    Ok(rows) => {
                        for (doc, update) in rows {
                            replicas.apply_update(&doc, &update);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "fetching other servers' updates failed; resyncing");
                        resync_all(replicas).await;
                    }
                }
            }
            RemoteCommit::Snapshot { doc } => replicas.resync(&doc).await,
            RemoteCommit::Presence { doc, update } => replicas.apply_presence(&doc, &update),
            RemoteCommit::Lost => resync_all(replicas).await,
        }
    }
}

async fn resync_all(replicas: &impl Replicas) {
    for doc in replicas.loaded() {
        replicas.resync(&doc).await;
    }
}

/// Announces this server's clients' awareness to the other servers, one update at a time.
pub(crate) async fn publish_presence(
    cluster: Arc<dyn Cluster>,
    mut updates: mpsc::Receiver<(Arc<str>, Vec<u8>)>,
) {
    while let Some((doc, update)) = updates.recv().await {
        if let Err(error) = cluster.publish_presence(&doc, &update).await {
            tracing::warn!(%doc, %error, "announcing awareness to other servers failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Rows of document `a` for any range; fails once the database is "down".
    struct FakeCluster {
        down: bool,
    }

    impl Cluster for FakeCluster {
        fn watch(&self) -> BoxFuture<'_, Result<mpsc::Receiver<RemoteCommit>, ClusterError>> {
            unreachable!("follow is handed its receiver")
        }

        fn updates_between<'a>(
            &'a self,
            from: i64,
            _to: i64,
            docs: &'a [Arc<str>],
        ) -> BoxFuture<'a, Result<Vec<LogRow>, ClusterError>> {
            let rows = docs.iter().map(|doc| (doc.to_string(), vec![from as u8])).collect();
            Box::pin(async move {
                if self.down {
                    Err(ClusterError::Database(sqlx::Error::PoolClosed))
                } else {
                    Ok(rows)
                }
            })
        }

        fn publish_presence<'a>(
            &'a self,
            _doc: &'a str,
            _update: &'a [u8],
        ) -> BoxFuture<'a, Result<(), ClusterError>> {
            Box::pin(async { Ok(()) })
        }
    }

    /// Documents `a` and `b` loaded; records what reaches them.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Recorded {
        fn push(&self, event: String) {
            self.0.lock().unwrap().push(event);
        }
    }

    impl Replicas for Recorded {
        fn heard(&self) {
            self.push("heard".into());
        }

        fn loaded(&self) -> Vec<Arc<str>> {
            vec![Arc::from("a"), Arc::from("b")]
        }

        fn apply_update(&self, doc: &str, update: &[u8]) {
            self.push(format!("update {doc} {update:?}"));
        }

        fn apply_presence(&self, doc: &str, update: &[u8]) {
            self.push(format!("presence {doc} {update:?}"));
        }

        async fn resync(&self, doc: &str) {
            self.push(format!("resync {doc}"));
        }
    }

    async fn followed(down: bool, commits: Vec<RemoteCommit>) -> Vec<String> {
        let (tx, rx) = mpsc::channel(commits.len());
        for commit in commits {
            tx.send(commit).await.unwrap();
        }
        drop(tx);
        let replicas = Recorded::default();
        follow(&FakeCluster { down }, &replicas, rx).await;
        replicas.0.into_inner().unwrap()
    }

    #[tokio::test]
    async fn follow_applies_fetched_rows_and_resyncs_what_it_may_have_missed() {
        let commits = vec![
            RemoteCommit::Updates { from: 7, to: 9 },
            RemoteCommit::Snapshot { doc: "b".into() },
            RemoteCommit::Presence { doc: "a".into(), update: vec![1] },
            RemoteCommit::Lost,
        ];
        let expected = [
            "heard",
            "update a [7]",
            "update b [7]",
            "heard",
            "resync b",
            "heard",
            "presence a [1]",
            "heard",
            "resync a",
            "resync b",
        ];
        assert_eq!(followed(false, commits).await, expected);

        let fetch_fails = vec![RemoteCommit::Updates { from: 1, to: 2 }];
        assert_eq!(followed(true, fetch_fails).await, ["heard", "resync a", "resync b"]);
    }
}
