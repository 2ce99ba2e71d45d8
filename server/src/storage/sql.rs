//! [`Storage`] over sqlx: SQLite (one file, WAL) and PostgreSQL share every query (both accept
//! `$N` parameters and `ON CONFLICT ... DO UPDATE`); only the schema and the connection setup
//! differ.
//!
//! Tables: `updates` (the log: autoincrement id, doc, data), `snapshots` (doc → compacted state)
//! and `documents` (doc → stored bytes and last change, for the listing).
//!
//! One server owns a SQLite file. Several servers may share a PostgreSQL database: each commit
//! ends with a `NOTIFY` on [`CHANNEL`] ([`Notice`]: the appended log id range, the documents
//! compacted) that the others turn into [`RemoteCommit`]s, awareness travels the same way, and
//! compaction merges the stored log under a per-document advisory lock instead of dropping it.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::future::BoxFuture;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqlSafeStr};

use tokio::sync::mpsc;

use super::write_connection::WriteConnection;
use super::{
    DocumentInfo, LogRow, RemoteCommit, Storage, StorageError, StoredDocument, WriteOp, unix_ms,
};

const SQLITE_SCHEMA: &str = "
CREATE TABLE documents (id TEXT PRIMARY KEY NOT NULL, stored_bytes INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE snapshots (doc TEXT PRIMARY KEY NOT NULL, state BLOB NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE updates (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX updates_by_doc ON updates (doc, id);
";

const POSTGRES_SCHEMA: &str = "
CREATE TABLE documents (id TEXT PRIMARY KEY, stored_bytes BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE snapshots (doc TEXT PRIMARY KEY, state BYTEA NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE updates (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc TEXT NOT NULL, data BYTEA NOT NULL);
CREATE INDEX updates_by_doc ON updates (doc, id);
";

/// The snapshot (`part` 0) then the log (`part` 1) in one statement: one round trip, and one
/// statement reads one consistent state in both databases, so the two parts are from the same
/// moment without a transaction.
const LOAD: &str = "SELECT state, 0 AS part, 0 AS id FROM snapshots WHERE doc = $1 \
     UNION ALL SELECT data, 1, id FROM updates WHERE doc = $1 ORDER BY part, id";
const APPEND: &str = "INSERT INTO updates (doc, data) ";
/// PostgreSQL: the appended rows' id range, for the commit notice, in one result row.
const APPEND_RANGE: (&str, &str) = (
    "WITH appended AS (INSERT INTO updates (doc, data) ",
    " RETURNING id) SELECT min(id), max(id) FROM appended",
);
const TOUCH_AFTER_APPEND: &str = "INSERT INTO documents (id, stored_bytes, updated_at) ";
const TOUCH_AFTER_APPEND_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET \
     stored_bytes = documents.stored_bytes + excluded.stored_bytes, updated_at = excluded.updated_at";
const DROP_LOG: &str = "DELETE FROM updates WHERE doc = $1";
const DROP_LOG_ROWS: &str = "DELETE FROM updates WHERE id IN ";
const UPDATES_BETWEEN: &str = "SELECT doc, data FROM updates WHERE id >= ";
const PUT_SNAPSHOT: &str = "INSERT INTO snapshots (doc, state, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (doc) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at";
const TOUCH_AFTER_SNAPSHOT: &str = "INSERT INTO documents (id, stored_bytes, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET stored_bytes = excluded.stored_bytes";
const LIST: &str = "SELECT id, stored_bytes, updated_at FROM documents ORDER BY id";
/// PostgreSQL: serializes compactions of one document across servers (released at commit).
const LOCK_DOCUMENT: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";
/// PostgreSQL: the `documents` rows a commit updates, locked in id order (followed by the ids).
const LOCK_DOCUMENT_ROWS: &str = "SELECT id FROM documents WHERE id IN (";
/// PostgreSQL: delivered to every listening server when the transaction commits.
const NOTIFY: &str = "SELECT pg_notify($1, $2)";
/// The channel servers sharing a PostgreSQL database announce their commits on.
const CHANNEL: &str = "tandem_commits";

/// An empty update as yrs encodes it (no structs, no deletions): nothing to store.
const EMPTY_UPDATE: &[u8] = &[0, 0];
/// Rows per multi-row statement: under SQLite's limit of 32,766 bound variables (and
/// PostgreSQL's 65,535) at 3 variables per row.
const ROWS_PER_STATEMENT: usize = 4_096;

/// Consecutive appends of one commit, written with one multi-row `INSERT` into the log (per
/// [`ROWS_PER_STATEMENT`] rows) and one upsert of the `documents` rows: a statement per update
/// made the writer wait on a round trip to the database per update.
#[derive(Default)]
struct AppendRun<'a> {
    updates: Vec<(&'a str, &'a [u8])>,
    /// Bytes appended per document, in first-seen order.
    documents: Vec<(&'a str, i64)>,
}

impl<'a> AppendRun<'a> {
    fn push(&mut self, doc: &'a str, update: &'a [u8]) {
        if update == EMPTY_UPDATE {
            return;
        }
        self.updates.push((doc, update));
        // Commits hold few documents compared with updates; a linear search beats hashing.
        match self.documents.iter_mut().find(|(id, _)| *id == doc) {
            Some((_, bytes)) => *bytes += update.len() as i64,
            None => self.documents.push((doc, update.len() as i64)),
        }
    }
}

/// What a server announces on [`CHANNEL`] after a commit (JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Notice {
    /// The announcing server ([`PostgresStorage`]'s random node id): it ignores its own.
    node: u64,
    /// Log rows appended, by id range (other documents' rows may fall in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updates: Option<(i64, i64)>,
    /// Documents whose log was compacted into their snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    snapshots: Vec<String>,
    /// Awareness of a document's clients: the document and the update in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presence: Option<(String, String)>,
}

impl Notice {
    /// What another server's notice asks of this one.
    fn into_commits(self) -> Vec<RemoteCommit> {
        let mut commits: Vec<RemoteCommit> =
            self.snapshots.into_iter().map(|doc| RemoteCommit::Snapshot { doc }).collect();
        if let Some((from, to)) = self.updates {
            commits.push(RemoteCommit::Updates { from, to });
        }
        if let Some((doc, update)) = self.presence {
            match BASE64.decode(update) {
                Ok(update) => commits.push(RemoteCommit::Presence { doc, update }),
                Err(error) => tracing::warn!(%error, "ignoring undecodable awareness"),
            }
        }
        commits
    }
}

/// Largest payload PostgreSQL's NOTIFY takes (its limit is 8,000 bytes).
const MAX_NOTICE_BYTES: usize = 7_900;

/// Largest NOTIFY payload PostgreSQL accepts is 8,000 bytes; doc ids are at most 128.
const SNAPSHOTS_PER_NOTICE: usize = 50;

/// The state to store as `doc`'s snapshot: `state` (the compacting server's replica) merged
/// with what is stored (snapshot and log rows, as [`LOAD`] returns them). Another server may
/// have logged updates this replica has not received yet; dropping the log without merging
/// them would lose them. `None` if a stored update does not apply, or leaves a gap: then
/// nothing may be dropped.
fn merge_snapshot(state: &[u8], stored: &[(Vec<u8>, i32, i64)]) -> Option<Vec<u8>> {
    if stored.is_empty() {
        return Some(state.to_vec());
    }
    let config = tandem_crdt::DocumentConfig {
        track_deltas: false,
        track_undo: false,
        ..tandem_crdt::DocumentConfig::new(rand::random::<u64>() & tandem_crdt::MAX_CLIENT_ID)
    };
    let mut merged = tandem_crdt::Document::from_state(config, state).ok()?;
    for (data, _, _) in stored {
        merged.apply_update(data).ok()?;
    }
    (!merged.has_held_updates()).then(|| merged.encode_state())
}

fn migrator(schema: &'static str) -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("documents, snapshots and the update log"),
        MigrationType::Simple,
        schema.into_sql_str(),
        false,
    )])
}

/// Connections that serve loads and listings: WAL lets readers run beside the writer, and
/// documents loading at once (thousands of clients reconnecting) should not queue behind one.
const SQLITE_READERS: u32 = 8;

/// SQLite storage: one database file in WAL mode with `synchronous = FULL`, so a committed
/// transaction survives a crash of the process and of the machine.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    /// Loads, listings and health checks.
    reader: SqlitePool,
    /// The one connection the writer task commits on (SQLite has a single writer anyway).
    writer: SqlitePool,
}

impl SqliteStorage {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StorageError::DataDir { path: dir.to_owned(), source })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        // SQLite's messages ("unable to open database file") do not say which file.
        let in_file = |source: StorageError| StorageError::Open {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| in_file(e.into()))?;
        migrator(SQLITE_SCHEMA).run(&writer).await.map_err(|e| in_file(e.into()))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(SQLITE_READERS)
            .connect_with(options)
            .await
            .map_err(|e| in_file(e.into()))?;
        Ok(Self { reader, writer })
    }

    /// One server per SQLite file: nobody to announce commits to.
    fn announcing_node(&self) -> Option<u64> {
        None
    }

    /// One server per SQLite file, writing through one connection: a snapshot holds every
    /// logged update, so compaction drops the whole log without reading it.
    const SHARED: Option<&'static str> = None;

    async fn watch_commits(&self) -> Result<Option<mpsc::Receiver<RemoteCommit>>, StorageError> {
        Ok(None)
    }

    async fn announce_presence(&self, _doc: &str, _update: &[u8]) -> Result<(), StorageError> {
        Ok(())
    }
}

/// PostgreSQL storage.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    /// One pool: PostgreSQL serves readers and the writer side by side. (Two fields so that
    /// both backends share the code below.)
    reader: PgPool,
    writer: PgPool,
    /// This server among those sharing the database (random).
    node: u64,
}

impl PostgresStorage {
    /// Connects to `url` and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        migrator(POSTGRES_SCHEMA).run(&pool).await?;
        let node = rand::random::<u64>();
        Ok(Self { reader: pool.clone(), writer: pool, node })
    }

    fn announcing_node(&self) -> Option<u64> {
        Some(self.node)
    }

    /// Several servers may share the database: a commit locks the documents it compacts (this
    /// statement) and merges their stored logs.
    const SHARED: Option<&'static str> = Some(LOCK_DOCUMENT);

    async fn announce_presence(&self, doc: &str, update: &[u8]) -> Result<(), StorageError> {
        let notice = Notice {
            node: self.node,
            updates: None,
            snapshots: Vec::new(),
            presence: Some((doc.to_owned(), BASE64.encode(update))),
        };
        let payload = serde_json::to_string(&notice)
            .map_err(|e| StorageError::CommitFailed(e.to_string()))?;
        if payload.len() > MAX_NOTICE_BYTES {
            tracing::debug!(doc, bytes = payload.len(), "awareness too large to announce");
            return Ok(());
        }
        sqlx::query(NOTIFY).bind(CHANNEL).bind(payload).execute(&self.writer).await?;
        Ok(())
    }

    /// Listens on [`CHANNEL`] and forwards other servers' commits.
    async fn watch_commits(&self) -> Result<Option<mpsc::Receiver<RemoteCommit>>, StorageError> {
        let mut listener = PgListener::connect_with(&self.reader).await?;
        listener.listen(CHANNEL).await?;
        let (commits, rx) = mpsc::channel(1024);
        let node = self.node;
        tokio::spawn(async move {
            loop {
                let heard = match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        match serde_json::from_str::<Notice>(notification.payload()) {
                            Ok(notice) if notice.node == node => continue,
                            Ok(notice) => notice.into_commits(),
                            Err(error) => {
                                tracing::warn!(%error, "ignoring an unreadable commit notice");
                                continue;
                            }
                        }
                    }
                    // The connection dropped (it reconnects on the next call): notices sent
                    // meanwhile are lost.
                    Ok(None) => vec![RemoteCommit::Lost],
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::warn!(%error, "listening for other servers' commits failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        vec![RemoteCommit::Lost]
                    }
                };
                for commit in heard {
                    if commits.send(commit).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

/// The smallest range holding both.
fn widen(a: Option<(i64, i64)>, b: Option<(i64, i64)>) -> Option<(i64, i64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

/// The [`Storage`] methods, identical for both backends but for the pool's type.
macro_rules! sql_storage {
    ($name:ident, $db:ty) => {
        impl $name {
            /// Writes an [`AppendRun`] (if not empty) and empties it; returns the lowest and
            /// highest log id it got.
            async fn write_run(
                run: &mut AppendRun<'_>,
                tx: &mut <$db as sqlx::Database>::Connection,
                now: i64,
            ) -> Result<Option<(i64, i64)>, sqlx::Error> {
                let mut ids: Option<(i64, i64)> = None;
                for chunk in run.updates.chunks(ROWS_PER_STATEMENT) {
                    // Only a shared database needs the ids (SQLite would hand each one over
                    // from its worker thread separately).
                    let (start, end) =
                        if Self::SHARED.is_some() { APPEND_RANGE } else { (APPEND, "") };
                    let mut insert = sqlx::QueryBuilder::<$db>::new(start);
                    insert.push_values(chunk, |mut row, (doc, update)| {
                        row.push_bind(*doc).push_bind(*update);
                    });
                    insert.push(end);
                    // Row counts vary per commit: keep them out of the prepared-statement cache.
                    if Self::SHARED.is_some() {
                        let range = insert
                            .build_query_as::<(Option<i64>, Option<i64>)>()
                            .persistent(false)
                            .fetch_one(&mut *tx)
                            .await?;
                        if let (Some(first), Some(last)) = range {
                            ids = widen(ids, Some((first, last)));
                        }
                    } else {
                        insert.build().persistent(false).execute(&mut *tx).await?;
                    }
                }
                // In id order, like `lock_documents`: rows created by this statement are locked
                // by it, in this order.
                run.documents.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for chunk in run.documents.chunks(ROWS_PER_STATEMENT) {
                    let mut touch = sqlx::QueryBuilder::<$db>::new(TOUCH_AFTER_APPEND);
                    touch.push_values(chunk, |mut row, (doc, bytes)| {
                        row.push_bind(*doc).push_bind(*bytes).push_bind(now);
                    });
                    touch.push(TOUCH_AFTER_APPEND_CONFLICT);
                    touch.build().persistent(false).execute(&mut *tx).await?;
                }
                run.updates.clear();
                run.documents.clear();
                Ok(ids)
            }

            /// Locks the `documents` rows `ops` will update, in id order: servers sharing the
            /// database and updating the same documents in one commit would otherwise
            /// deadlock (PostgreSQL then aborts one commit, which the writer retries).
            async fn lock_documents(
                tx: &mut <$db as sqlx::Database>::Connection,
                ops: &[WriteOp],
            ) -> Result<(), sqlx::Error> {
                let mut docs: Vec<&str> = ops
                    .iter()
                    .map(|op| match op {
                        WriteOp::Append { doc, .. } | WriteOp::Snapshot { doc, .. } => &**doc,
                    })
                    .collect();
                docs.sort_unstable();
                docs.dedup();
                for chunk in docs.chunks(ROWS_PER_STATEMENT) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(LOCK_DOCUMENT_ROWS);
                    let mut list = select.separated(", ");
                    for doc in chunk {
                        list.push_bind(*doc);
                    }
                    select.push(") ORDER BY id FOR UPDATE");
                    select.build().persistent(false).execute(&mut *tx).await?;
                }
                Ok(())
            }

            /// Replaces `doc`'s snapshot with `state` and drops the log it covers: on a shared
            /// database `state` merged with what is stored and exactly the rows merged.
            /// Returns false (and changes nothing) if the stored log does not merge.
            async fn compact(
                tx: &mut <$db as sqlx::Database>::Connection,
                doc: &str,
                state: &[u8],
                now: i64,
            ) -> Result<bool, sqlx::Error> {
                let merged = match Self::SHARED {
                    None => {
                        sqlx::query(DROP_LOG).bind(doc).execute(&mut *tx).await?;
                        Cow::Borrowed(state)
                    }
                    Some(_) => {
                        // `commit` holds the document's lock (taken first, in order).
                        let stored = sqlx::query_as::<_, (Vec<u8>, i32, i64)>(LOAD)
                            .bind(doc)
                            .fetch_all(&mut *tx)
                            .await?;
                        let Some(merged) = merge_snapshot(state, &stored) else {
                            tracing::warn!(
                                doc,
                                "stored log does not merge into a snapshot; not compacting"
                            );
                            return Ok(false);
                        };
                        let rows: Vec<i64> = stored
                            .iter()
                            .filter(|(_, part, _)| *part == 1)
                            .map(|(_, _, id)| *id)
                            .collect();
                        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                            let mut delete = sqlx::QueryBuilder::<$db>::new(DROP_LOG_ROWS);
                            delete.push("(");
                            let mut list = delete.separated(", ");
                            for id in chunk {
                                list.push_bind(*id);
                            }
                            delete.push(")");
                            delete.build().persistent(false).execute(&mut *tx).await?;
                        }
                        Cow::Owned(merged)
                    }
                };
                sqlx::query(PUT_SNAPSHOT)
                    .bind(doc)
                    .bind(&*merged)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(TOUCH_AFTER_SNAPSHOT)
                    .bind(doc)
                    .bind(merged.len() as i64)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                Ok(true)
            }
        }

        impl Storage for $name {
            fn load<'a>(
                &'a self,
                doc: &'a str,
            ) -> BoxFuture<'a, Result<StoredDocument, StorageError>> {
                Box::pin(async move {
                    let rows = sqlx::query_as::<_, (Vec<u8>, i32)>(LOAD)
                        .bind(doc)
                        .fetch_all(&self.reader)
                        .await?;
                    let mut snapshot = None;
                    let mut updates = Vec::with_capacity(rows.len());
                    for (data, part) in rows {
                        if part == 0 {
                            snapshot = Some(data);
                        } else {
                            updates.push(data);
                        }
                    }
                    Ok(StoredDocument { snapshot, updates })
                })
            }

            fn commit<'a>(&'a self, ops: &'a [WriteOp]) -> BoxFuture<'a, Result<(), StorageError>> {
                Box::pin(async move {
                    let now = unix_ms() as i64;
                    // Discarded unless the commit succeeds (see `write_connection`).
                    let mut connection = WriteConnection::acquire(&self.writer).await?;
                    let mut tx = connection.begin().await?;
                    if Self::SHARED.is_some() {
                        Self::lock_documents(&mut *tx, ops).await?;
                    }
                    if let Some(lock) = Self::SHARED {
                        // Every document this commit compacts, locked up front in one order:
                        // servers saving the same documents at once would otherwise deadlock.
                        // (Two ids whose lock keys collide still could; PostgreSQL then aborts
                        // one commit and the writer retries it.)
                        let mut docs: Vec<&str> = ops
                            .iter()
                            .filter_map(|op| match op {
                                WriteOp::Snapshot { doc, .. } => Some(&**doc),
                                WriteOp::Append { .. } => None,
                            })
                            .collect();
                        docs.sort_unstable();
                        docs.dedup();
                        for doc in docs {
                            sqlx::query(lock).bind(doc).execute(&mut *tx).await?;
                        }
                    }
                    // Runs of appends become a few multi-row statements; a snapshot drops the
                    // log written before it, so it splits the runs and keeps its place.
                    let mut run = AppendRun::default();
                    let mut appended: Option<(i64, i64)> = None;
                    let mut snapshots = Vec::new();
                    for op in ops {
                        match op {
                            WriteOp::Append { doc, update } => run.push(doc, update),
                            WriteOp::Snapshot { doc, state } => {
                                let ids = Self::write_run(&mut run, &mut *tx, now).await?;
                                appended = widen(appended, ids);
                                if Self::compact(&mut *tx, doc, state, now).await? {
                                    snapshots.push(doc.to_string());
                                }
                            }
                        }
                    }
                    let ids = Self::write_run(&mut run, &mut *tx, now).await?;
                    appended = widen(appended, ids);
                    if let Some(node) = self.announcing_node() {
                        let mut notices = snapshots
                            .chunks(SNAPSHOTS_PER_NOTICE)
                            .map(|docs| Notice {
                                node,
                                updates: None,
                                snapshots: docs.to_vec(),
                                presence: None,
                            })
                            .collect::<Vec<_>>();
                        if appended.is_some() {
                            notices.push(Notice {
                                node,
                                updates: appended,
                                snapshots: Vec::new(),
                                presence: None,
                            });
                        }
                        for notice in notices {
                            let payload = serde_json::to_string(&notice)
                                .map_err(|e| StorageError::CommitFailed(e.to_string()))?;
                            sqlx::query(NOTIFY)
                                .bind(CHANNEL)
                                .bind(payload)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    tx.commit().await?;
                    connection.committed();
                    Ok(())
                })
            }

            fn watch(
                &self,
            ) -> BoxFuture<'_, Result<Option<mpsc::Receiver<RemoteCommit>>, StorageError>> {
                Box::pin(self.watch_commits())
            }

            fn publish_presence<'a>(
                &'a self,
                doc: &'a str,
                update: &'a [u8],
            ) -> BoxFuture<'a, Result<(), StorageError>> {
                Box::pin(self.announce_presence(doc, update))
            }

            fn updates_between<'a>(
                &'a self,
                from: i64,
                to: i64,
                docs: &'a [Arc<str>],
            ) -> BoxFuture<'a, Result<Vec<LogRow>, StorageError>> {
                Box::pin(async move {
                    let mut rows = Vec::new();
                    for chunk in docs.chunks(ROWS_PER_STATEMENT) {
                        let mut select = sqlx::QueryBuilder::<$db>::new(UPDATES_BETWEEN);
                        select
                            .push_bind(from)
                            .push(" AND id <= ")
                            .push_bind(to)
                            .push(" AND doc IN (");
                        let mut list = select.separated(", ");
                        for doc in chunk {
                            list.push_bind(&**doc);
                        }
                        select.push(") ORDER BY id");
                        rows.extend(
                            select
                                .build_query_as::<(String, Vec<u8>)>()
                                .persistent(false)
                                .fetch_all(&self.reader)
                                .await?,
                        );
                    }
                    Ok(rows)
                })
            }

            fn list(&self) -> BoxFuture<'_, Result<Vec<DocumentInfo>, StorageError>> {
                Box::pin(async move {
                    let rows = sqlx::query_as::<_, (String, i64, i64)>(LIST)
                        .fetch_all(&self.reader)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, stored_bytes, updated_at_ms)| DocumentInfo {
                            id,
                            stored_bytes,
                            updated_at_ms,
                        })
                        .collect())
                })
            }

            fn ping(&self) -> BoxFuture<'_, Result<(), StorageError>> {
                Box::pin(async move {
                    sqlx::query("SELECT 1").execute(&self.reader).await?;
                    Ok(())
                })
            }

            fn close(&self) -> BoxFuture<'_, ()> {
                Box::pin(async move {
                    self.writer.close().await;
                    self.reader.close().await;
                })
            }
        }
    };
}

sql_storage!(SqliteStorage, sqlx::Sqlite);
sql_storage!(PostgresStorage, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn append(doc: &str, update: &[u8]) -> WriteOp {
        WriteOp::Append { doc: Arc::from(doc), update: update.to_vec() }
    }

    /// Log, snapshot, listing and a commit larger than one multi-row statement, on any backend.
    async fn log_snapshot_and_listing(storage: &dyn Storage) {
        assert!(storage.load("a").await.unwrap().is_empty());

        let (mut replica, one) = typed(1, "one");
        let two = replica.insert(3, " two", 0).unwrap();
        storage.commit(&[append("a", &one), append("b", b"x"), append("a", &two)]).await.unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(loaded.updates, vec![one, two]);

        // The snapshot drops only what was appended before it in the same commit.
        let lost = replica.insert(0, ">", 0).unwrap();
        let state = replica.encode_state();
        let snapshot = WriteOp::Snapshot { doc: Arc::from("a"), state: state.clone() };
        let three = replica.insert(0, "3", 0).unwrap();
        storage
            .commit(&[append("a", &lost), snapshot, append("a", &three), append("a", EMPTY_UPDATE)])
            .await
            .unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot.as_deref(), Some(&state[..]));
        assert_eq!(loaded.updates, vec![three.clone()]);
        assert_eq!(stored_text(&loaded), "3>one two");

        // More rows than one statement holds, interleaved over two documents, keep their order.
        let many: Vec<WriteOp> = (0..ROWS_PER_STATEMENT * 2 + 7)
            .map(|i| append(if i % 3 == 0 { "c" } else { "d" }, i.to_string().as_bytes()))
            .collect();
        storage.commit(&many).await.unwrap();
        let expected = |doc: &str| -> Vec<Vec<u8>> {
            many.iter()
                .filter_map(|op| match op {
                    WriteOp::Append { doc: d, update } if &**d == doc => Some(update.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(storage.load("c").await.unwrap().updates, expected("c"));
        assert_eq!(storage.load("d").await.unwrap().updates, expected("d"));

        let list = storage.list().await.unwrap();
        let sizes: Vec<(&str, i64)> =
            list.iter().map(|d| (d.id.as_str(), d.stored_bytes)).collect();
        let bytes = |doc: &str| expected(doc).iter().map(|u| u.len() as i64).sum::<i64>();
        let a = (state.len() + three.len()) as i64;
        assert_eq!(sizes, vec![("a", a), ("b", 1), ("c", bytes("c")), ("d", bytes("d"))]);
        storage.ping().await.unwrap();
        storage.close().await;
    }

    /// A replica that typed `text` (its id fixed so that texts order predictably).
    fn typed(client: u64, text: &str) -> (tandem_crdt::Document, Vec<u8>) {
        let config = tandem_crdt::DocumentConfig {
            track_deltas: false,
            ..tandem_crdt::DocumentConfig::new(client)
        };
        let mut document = tandem_crdt::Document::new(config).unwrap();
        let update = document.insert(0, text, 0).unwrap();
        (document, update)
    }

    fn stored_text(stored: &StoredDocument) -> String {
        let mut document = typed(99, "").0;
        for update in stored.snapshot.iter().chain(&stored.updates) {
            document.apply_update(update).unwrap();
        }
        document.text()
    }

    /// Server `a` compacts a document whose log holds an update from server `b` that `a`'s
    /// replica never saw: the snapshot must keep it.
    async fn compaction_keeps_other_servers_updates(a: &dyn Storage, b: &dyn Storage) {
        let (mine, first) = typed(1, "mine ");
        let (_, theirs) = typed(2, "theirs");
        a.commit(&[append("doc", &first)]).await.unwrap();
        b.commit(&[append("doc", &theirs)]).await.unwrap();
        let snapshot = WriteOp::Snapshot { doc: Arc::from("doc"), state: mine.encode_state() };
        a.commit(&[snapshot]).await.unwrap();

        let stored = a.load("doc").await.unwrap();
        assert!(stored.updates.is_empty(), "the merged log rows are dropped");
        let text = stored_text(&stored);
        assert!(text.contains("mine ") && text.contains("theirs"), "{text:?}");
    }

    #[tokio::test]
    async fn postgres_servers_see_each_others_commits() {
        let Some(db) =
            tandem_e2e::PostgresDatabase::create("postgres_servers_see_each_others_commits")
                .await
                .unwrap()
        else {
            return;
        };
        let a = PostgresStorage::open(&db.url).await.unwrap();
        let b = PostgresStorage::open(&db.url).await.unwrap();
        let mut a_hears = a.watch().await.unwrap().unwrap();
        let mut b_hears = b.watch().await.unwrap().unwrap();

        a.commit(&[append("x", b"x1"), append("y", b"y1"), append("x", b"x2")]).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), b_hears.recv()).await.unwrap();
        let Some(RemoteCommit::Updates { from, to }) = next else {
            panic!("expected an update notice, got {next:?}");
        };
        let rows = b.updates_between(from, to, &[Arc::from("x")]).await.unwrap();
        assert_eq!(rows, vec![("x".to_owned(), b"x1".to_vec()), ("x".to_owned(), b"x2".to_vec())]);

        compaction_keeps_other_servers_updates(&a, &b).await;
        // b hears a's appends and compaction; a hears b's append only (never its own commits).
        let mut heard = Vec::new();
        while let Ok(Some(commit)) =
            tokio::time::timeout(Duration::from_millis(500), b_hears.recv()).await
        {
            heard.push(commit);
        }
        assert!(heard.contains(&RemoteCommit::Snapshot { doc: "doc".into() }), "{heard:?}");
        let a_heard = tokio::time::timeout(Duration::from_secs(10), a_hears.recv()).await.unwrap();
        assert!(matches!(a_heard, Some(RemoteCommit::Updates { .. })), "{a_heard:?}");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), a_hears.recv()).await.is_err(),
            "a heard its own commit"
        );
        a.close().await;
        b.close().await;
        db.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn sqlite_log_snapshot_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        log_snapshot_and_listing(&storage).await;

        // Reopening runs the migrations again without harm and keeps the data.
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        assert_eq!(storage.load("b").await.unwrap().updates, vec![b"x".to_vec()]);
        assert!(storage.watch().await.unwrap().is_none(), "SQLite has no other servers to follow");
    }

    #[tokio::test]
    async fn postgres_log_snapshot_and_listing() {
        let Some(db) = tandem_e2e::PostgresDatabase::create("postgres_log_snapshot_and_listing")
            .await
            .unwrap()
        else {
            return;
        };
        let storage = PostgresStorage::open(&db.url).await.unwrap();
        log_snapshot_and_listing(&storage).await;
        db.drop_database().await.unwrap();
    }
}
