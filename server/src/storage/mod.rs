//! Durable storage of documents: an append-only update log per document, compacted into a
//! snapshot in the background. Loading a document = its snapshot + the log's tail.
//!
//! [`Storage`] is the trait the rest of the server sees; [`SqliteStorage`] (the default, WAL
//! mode) and [`PostgresStorage`] implement it with sqlx, sharing their statements (`sql`), and
//! [`Writer`] funnels every write through one task that group-commits whatever is pending in
//! one transaction. What several servers on one database tell each other is
//! [`crate::cluster`]'s.

mod backup;
pub mod error;
mod postgres;
mod sql;
mod sqlite;
mod write_connection;
mod writer;

use std::sync::Arc;

use futures_util::future::BoxFuture;

pub use backup::{BackupError, backup_sqlite};
pub use error::StorageError;
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;
pub use writer::{Ack, AckSink, Writer};

use crate::cluster::Cluster;
use crate::config::Database;
use crate::history::HistoryStore;

/// A stored document as loaded: apply `snapshot`, then `updates` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDocument {
    /// The compacted state, if the log was ever compacted.
    pub snapshot: Option<Vec<u8>>,
    /// Updates logged since the snapshot, oldest first.
    pub updates: Vec<Vec<u8>>,
}

impl StoredDocument {
    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.updates.is_empty()
    }
}

/// Identifies what is stored for a document at one moment ([`Storage::stamp`]): the id of its
/// last log row, and its snapshot's time and size. Log ids are never reused and a compaction
/// rewrites the snapshot and drops the log, so every stored change gives a new stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    last_update: Option<i64>,
    snapshot_at: Option<i64>,
    snapshot_bytes: Option<i64>,
}

impl Stamp {
    /// The stamp of a document with nothing stored is `None`.
    pub(crate) fn of(
        last_update: Option<i64>,
        snapshot_at: Option<i64>,
        snapshot_bytes: Option<i64>,
    ) -> Option<Self> {
        let stamp = Self { last_update, snapshot_at, snapshot_bytes };
        (last_update.is_some() || snapshot_at.is_some()).then_some(stamp)
    }
}

/// One document in the listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentInfo {
    /// The document id.
    pub id: String,
    /// Bytes stored for it (snapshot + log).
    pub stored_bytes: i64,
    /// When it last changed, unix milliseconds.
    pub updated_at_ms: i64,
}

/// What a rename or delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relocated {
    /// Done, in one transaction.
    Done,
    /// Nothing is stored under the id.
    NoSuchDocument,
    /// A rename's new id already holds a document: nothing changed.
    TargetTaken,
}

/// One write, applied in order inside a batch's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Append an update to a document's log.
    Append {
        /// The document.
        doc: std::sync::Arc<str>,
        /// The encoded update.
        update: Vec<u8>,
    },
    /// Replace a document's snapshot with `state` and drop the log: the state holds every
    /// update this server appended before this op (the room that sends it has applied them
    /// all). On a shared database other servers' rows are merged in first.
    Snapshot {
        /// The document.
        doc: std::sync::Arc<str>,
        /// The full encoded state.
        state: Vec<u8>,
    },
}

impl WriteOp {
    /// Bytes this op carries (for back-pressure accounting).
    pub fn len(&self) -> usize {
        match self {
            WriteOp::Append { update, .. } => update.len(),
            WriteOp::Snapshot { state, .. } => state.len(),
        }
    }

    /// Whether the op carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A document store. Writes arrive in batches that must commit atomically, in order.
pub trait Storage: Send + Sync + 'static {
    /// Everything stored for `doc` (empty if it does not exist).
    fn load<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<StoredDocument, StorageError>>;
    /// Applies `ops` in order in one transaction. On a database several servers share
    /// (PostgreSQL), a snapshot is merged with what is stored (another server may have logged
    /// updates its replica lacks) and drops exactly the log rows merged.
    fn commit<'a>(&'a self, ops: &'a [WriteOp]) -> BoxFuture<'a, Result<(), StorageError>>;
    /// The stamp of what is stored for `doc` now (`None`: nothing), read without reading the
    /// document: whether a text built from it earlier still holds.
    fn stamp<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Option<Stamp>, StorageError>>;
    /// Every stored document, by id.
    fn list(&self) -> BoxFuture<'_, Result<Vec<DocumentInfo>, StorageError>>;
    /// Checks that the database answers.
    fn ping(&self) -> BoxFuture<'_, Result<(), StorageError>>;
    /// Moves everything stored for `from` to `to`, in one transaction, unless `to` is taken.
    /// The caller first stops the room's writes and flushes the writer.
    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        let _ = (from, to);
        Box::pin(async { Err(StorageError::CommitFailed("this store cannot rename".into())) })
    }
    /// Removes everything stored for `doc`, in one transaction (same caveat as `rename`).
    fn delete<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        let _ = doc;
        Box::pin(async { Err(StorageError::CommitFailed("this store cannot delete".into())) })
    }
    /// Closes the connections (after the last write).
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// An opened database: where documents are stored, and the other servers sharing it.
pub struct Opened {
    /// The store.
    pub storage: Arc<dyn Storage>,
    /// The servers sharing the database; `None` when no other server can write to it (SQLite).
    pub cluster: Option<Arc<dyn Cluster>>,
    /// The documents' version history, in the same database.
    pub history: Arc<dyn HistoryStore>,
}

/// Opens (and migrates) the configured database.
pub async fn open(database: &Database) -> Result<Opened, StorageError> {
    Ok(match database {
        Database::Sqlite(path) => {
            let storage = SqliteStorage::open(path).await?;
            Opened { history: storage.history(), storage: Arc::new(storage), cluster: None }
        }
        Database::Postgres(url) => {
            let storage = PostgresStorage::open(url).await?;
            Opened {
                cluster: Some(Arc::new(storage.cluster())),
                history: storage.history(),
                storage: Arc::new(storage),
            }
        }
    })
}

/// Milliseconds since the unix epoch (0 if the clock is before it).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
