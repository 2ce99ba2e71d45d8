//! [`PostgresStorage`]: a database several servers may share. Compared with SQLite a commit
//! locks the documents it touches (in one order, so servers do not deadlock), merges the
//! stored log into a snapshot instead of dropping it, and announces itself to the other
//! servers inside its transaction ([`crate::cluster`] owns that protocol).

use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};

use super::sql::{self, AppendRun, LOAD, LoadRow, ROWS_PER_STATEMENT};
use super::write_connection::WriteConnection;
use super::{
    DocumentInfo, Relocated, Stamp, Storage, StorageError, StoredDocument, WriteOp, unix_ms,
};
use crate::cluster::{self, CHANNEL, NOTIFY, PostgresCluster};

const SCHEMA: &str = "
CREATE TABLE documents (id TEXT PRIMARY KEY, stored_bytes BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE snapshots (doc TEXT PRIMARY KEY, state BYTEA NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE updates (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc TEXT NOT NULL, data BYTEA NOT NULL);
CREATE INDEX updates_by_doc ON updates (doc, id);
";
/// The appended rows' id range, for the commit notice, in one result row.
const APPEND_RANGE: (&str, &str) = (
    "WITH appended AS (INSERT INTO updates (doc, data) ",
    " RETURNING id) SELECT min(id), max(id) FROM appended",
);
const DROP_LOG_ROWS: &str = "DELETE FROM updates WHERE id IN ";
/// Serializes compactions of one document across servers (released at commit).
const LOCK_DOCUMENT: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";
/// The `documents` rows a commit updates, locked in id order.
const LOCK_DOCUMENT_ROWS: &str = "SELECT id FROM documents WHERE id IN ";

/// PostgreSQL storage.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    /// PostgreSQL serves readers and the writer side by side from one pool.
    pool: PgPool,
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
        sql::migrator(SCHEMA, crate::history::store::POSTGRES_SCHEMA).run(&pool).await?;
        Ok(Self { pool, node: rand::random::<u64>() })
    }

    /// The version history kept in the same database.
    pub fn history(&self) -> std::sync::Arc<dyn crate::history::HistoryStore> {
        std::sync::Arc::new(crate::history::store::PostgresHistory::new(
            self.pool.clone(),
            self.pool.clone(),
        ))
    }

    /// This server's membership of the servers sharing the database.
    pub fn cluster(&self) -> PostgresCluster {
        PostgresCluster::new(self.pool.clone(), self.node)
    }
}

/// Writes an [`AppendRun`] (if not empty) and empties it; returns the lowest and highest log
/// id it got.
async fn write_run(
    run: &mut AppendRun<'_>,
    tx: &mut PgConnection,
    now: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let mut ids = None;
    let (start, end) = APPEND_RANGE;
    for mut insert in run.inserts::<Postgres>(start, end) {
        // Row counts vary per commit: keep them out of the prepared-statement cache.
        let range = insert
            .build_query_as::<(Option<i64>, Option<i64>)>()
            .persistent(false)
            .fetch_one(&mut *tx)
            .await?;
        if let (Some(first), Some(last)) = range {
            ids = widen(ids, Some((first, last)));
        }
    }
    run.touch_documents::<Postgres>(tx, now).await?;
    Ok(ids)
}

/// The smallest range holding both.
fn widen(a: Option<(i64, i64)>, b: Option<(i64, i64)>) -> Option<(i64, i64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

/// Locks the `documents` rows `ops` will update, in id order: servers sharing the database and
/// updating the same documents in one commit would otherwise deadlock (PostgreSQL then aborts
/// one commit, which the writer retries). Then every document this commit compacts, in one
/// order too. (Two ids whose advisory lock keys collide still could deadlock; PostgreSQL then
/// aborts one commit and the writer retries it.)
async fn lock_documents(tx: &mut PgConnection, ops: &[WriteOp]) -> Result<(), sqlx::Error> {
    let mut docs: Vec<&str> = ops
        .iter()
        .map(|op| match op {
            WriteOp::Append { doc, .. } | WriteOp::Snapshot { doc, .. } => &**doc,
        })
        .collect();
    docs.sort_unstable();
    docs.dedup();
    for chunk in docs.chunks(ROWS_PER_STATEMENT) {
        let mut select = sql::list_statement::<Postgres, _>(LOCK_DOCUMENT_ROWS, chunk, "");
        select.push(" ORDER BY id FOR UPDATE");
        select.build().persistent(false).execute(&mut *tx).await?;
    }
    let mut compacted: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            WriteOp::Snapshot { doc, .. } => Some(&**doc),
            WriteOp::Append { .. } => None,
        })
        .collect();
    compacted.sort_unstable();
    compacted.dedup();
    for doc in compacted {
        sqlx::query(LOCK_DOCUMENT).bind(doc).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Replaces `doc`'s snapshot with `state` merged with what is stored, and drops exactly the
/// log rows merged. Returns false (and changes nothing) if the stored log does not merge.
async fn compact(
    tx: &mut PgConnection,
    doc: &str,
    state: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    // `commit` holds the document's lock (taken first, in order).
    let stored: Vec<LoadRow> = sqlx::query_as(LOAD).bind(doc).fetch_all(&mut *tx).await?;
    let Some(merged) = cluster::merge_snapshot(state, stored.iter().map(|(data, _, _)| &data[..]))
    else {
        tracing::warn!(doc, "stored log does not merge into a snapshot; not compacting");
        return Ok(false);
    };
    let rows: Vec<i64> =
        stored.iter().filter(|(_, part, _)| *part == 1).map(|(_, _, id)| *id).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut delete = sql::list_statement::<Postgres, _>(DROP_LOG_ROWS, chunk, "");
        delete.build().persistent(false).execute(&mut *tx).await?;
    }
    sql::put_snapshot::<Postgres>(tx, doc, &merged, now).await?;
    Ok(true)
}

impl Storage for PostgresStorage {
    fn load<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<StoredDocument, StorageError>> {
        Box::pin(async move { Ok(sql::load(&self.pool, doc).await?) })
    }

    fn commit<'a>(&'a self, ops: &'a [WriteOp]) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let now = unix_ms() as i64;
            // Discarded unless the commit succeeds (see `write_connection`).
            let mut connection = WriteConnection::acquire(&self.pool).await?;
            let mut tx = connection.begin().await?;
            lock_documents(&mut tx, ops).await?;
            // Runs of appends become a few multi-row statements; a snapshot drops the log
            // written before it, so it splits the runs and keeps its place.
            let mut run = AppendRun::default();
            let mut appended: Option<(i64, i64)> = None;
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    WriteOp::Append { doc, update } => run.push(doc, update),
                    WriteOp::Snapshot { doc, state } => {
                        let ids = write_run(&mut run, &mut tx, now).await?;
                        appended = widen(appended, ids);
                        if compact(&mut tx, doc, state, now).await? {
                            snapshots.push(doc.to_string());
                        }
                    }
                }
            }
            let ids = write_run(&mut run, &mut tx, now).await?;
            appended = widen(appended, ids);
            // Inside the transaction: PostgreSQL delivers the notices when it commits.
            let payloads = cluster::commit_payloads(self.node, &snapshots, appended)
                .map_err(|e| StorageError::CommitFailed(e.to_string()))?;
            for payload in payloads {
                sqlx::query(NOTIFY).bind(CHANNEL).bind(payload).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            connection.committed();
            Ok(())
        })
    }

    fn stamp<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Option<Stamp>, StorageError>> {
        Box::pin(async move { Ok(sql::stamp(&self.pool, doc).await?) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<DocumentInfo>, StorageError>> {
        Box::pin(async move { Ok(sql::list(&self.pool).await?) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(async move { Ok(sql::ping(&self.pool).await?) })
    }

    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        Box::pin(async move {
            let mut connection = WriteConnection::acquire(&self.pool).await?;
            let mut tx = connection.begin().await?;
            let relocated = sql::rename::<Postgres>(&mut tx, from, to).await?;
            tx.commit().await?;
            connection.committed();
            Ok(relocated)
        })
    }

    fn delete<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        Box::pin(async move {
            let mut connection = WriteConnection::acquire(&self.pool).await?;
            let mut tx = connection.begin().await?;
            let relocated = sql::delete::<Postgres>(&mut tx, doc).await?;
            tx.commit().await?;
            connection.committed();
            Ok(relocated)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::{Cluster, RemoteCommit};
    use crate::storage::sql::tests::{append, log_snapshot_and_listing, stored_text, typed};

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
        let mut a_hears = a.cluster().watch().await.unwrap();
        let mut b_hears = b.cluster().watch().await.unwrap();

        a.commit(&[append("x", b"x1"), append("y", b"y1"), append("x", b"x2")]).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), b_hears.recv()).await.unwrap();
        let Some(RemoteCommit::Updates { from, to }) = next else {
            panic!("expected an update notice, got {next:?}");
        };
        let rows = b.cluster().updates_between(from, to, &[Arc::from("x")]).await.unwrap();
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
    async fn postgres_log_snapshot_and_listing() {
        let Some(db) = tandem_e2e::PostgresDatabase::create("postgres_log_snapshot_and_listing")
            .await
            .unwrap()
        else {
            return;
        };
        let storage = PostgresStorage::open(&db.url).await.unwrap();
        crate::history::store::tests::record_list_read_delete(&*storage.history()).await;
        crate::history::store::tests::authors_keep_their_first_name(&*storage.history()).await;
        log_snapshot_and_listing(&storage).await;
        db.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn postgres_rename_and_delete() {
        let Some(db) =
            tandem_e2e::PostgresDatabase::create("postgres_rename_and_delete").await.unwrap()
        else {
            return;
        };
        let storage = PostgresStorage::open(&db.url).await.unwrap();
        crate::storage::sql::tests::rename_and_delete(&storage).await;
        db.drop_database().await.unwrap();
    }
}
