//! [`SqliteStorage`]: one database file in WAL mode, owned by one server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite};

use super::sql::{self, APPEND, AppendRun};
use super::write_connection::WriteConnection;
use crate::history::HistoryStore;
use crate::history::store::SqliteHistory;

use super::{
    DocumentInfo, Relocated, Stamp, Storage, StorageError, StoredDocument, WriteOp, unix_ms,
};

const SCHEMA: &str = "
CREATE TABLE documents (id TEXT PRIMARY KEY NOT NULL, stored_bytes INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE snapshots (doc TEXT PRIMARY KEY NOT NULL, state BLOB NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE updates (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX updates_by_doc ON updates (doc, id);
";
const DROP_LOG: &str = "DELETE FROM updates WHERE doc = $1";

/// Connections that serve loads and listings: WAL lets readers run beside the writer, and
/// documents loading at once (thousands of clients reconnecting) should not queue behind one.
const READERS: u32 = 8;

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
        sql::migrator(SCHEMA, crate::history::store::SQLITE_SCHEMA)
            .run(&writer)
            .await
            .map_err(|e| in_file(e.into()))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(|e| in_file(e.into()))?;
        Ok(Self { reader, writer })
    }

    /// The version history kept in the same file (written through the one write connection).
    pub fn history(&self) -> Arc<dyn HistoryStore> {
        Arc::new(SqliteHistory::new(self.reader.clone(), self.writer.clone()))
    }
}

/// Writes an [`AppendRun`] (if not empty) and empties it.
async fn write_run(
    run: &mut AppendRun<'_>,
    tx: &mut sqlx::SqliteConnection,
    now: i64,
) -> Result<(), sqlx::Error> {
    for mut insert in run.inserts::<Sqlite>(APPEND, "") {
        // Row counts vary per commit: keep them out of the prepared-statement cache.
        insert.build().persistent(false).execute(&mut *tx).await?;
    }
    run.touch_documents::<Sqlite>(tx, now).await
}

impl Storage for SqliteStorage {
    fn load<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<StoredDocument, StorageError>> {
        Box::pin(async move { Ok(sql::load(&self.reader, doc).await?) })
    }

    fn commit<'a>(&'a self, ops: &'a [WriteOp]) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let now = unix_ms() as i64;
            // Discarded unless the commit succeeds (see `write_connection`).
            let mut connection = WriteConnection::acquire(&self.writer).await?;
            let mut tx = connection.begin().await?;
            // Runs of appends become a few multi-row statements; a snapshot drops the log
            // written before it, so it splits the runs and keeps its place. One server per
            // file, writing through one connection: a snapshot holds every logged update, so
            // compaction drops the whole log without reading it.
            let mut run = AppendRun::default();
            for op in ops {
                match op {
                    WriteOp::Append { doc, update } => run.push(doc, update),
                    WriteOp::Snapshot { doc, state } => {
                        write_run(&mut run, &mut tx, now).await?;
                        sqlx::query(DROP_LOG).bind(&**doc).execute(&mut *tx).await?;
                        sql::put_snapshot::<Sqlite>(&mut tx, doc, state, now).await?;
                    }
                }
            }
            write_run(&mut run, &mut tx, now).await?;
            tx.commit().await?;
            connection.committed();
            Ok(())
        })
    }

    fn stamp<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Option<Stamp>, StorageError>> {
        Box::pin(async move { Ok(sql::stamp(&self.reader, doc).await?) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<DocumentInfo>, StorageError>> {
        Box::pin(async move { Ok(sql::list(&self.reader).await?) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(async move { Ok(sql::ping(&self.reader).await?) })
    }

    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        Box::pin(async move {
            let mut connection = WriteConnection::acquire(&self.writer).await?;
            let mut tx = connection.begin().await?;
            let relocated = sql::rename::<Sqlite>(&mut tx, from, to).await?;
            tx.commit().await?;
            connection.committed();
            Ok(relocated)
        })
    }

    fn delete<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Relocated, StorageError>> {
        Box::pin(async move {
            let mut connection = WriteConnection::acquire(&self.writer).await?;
            let mut tx = connection.begin().await?;
            let relocated = sql::delete::<Sqlite>(&mut tx, doc).await?;
            tx.commit().await?;
            connection.committed();
            Ok(relocated)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.writer.close().await;
            self.reader.close().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_rename_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("t.db")).await.unwrap();
        sql::tests::rename_and_delete(&storage).await;
    }

    #[tokio::test]
    async fn authors_move_and_go_with_their_document() {
        use crate::storage::Relocated;
        use sql::tests::{append, typed};
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("t.db")).await.unwrap();
        let history = storage.history();
        storage.commit(&[append("a", &typed(1, "alpha").1)]).await.unwrap();
        history.add_authors("a", &[(1, "ada".into())]).await.unwrap();
        assert_eq!(storage.rename("a", "b").await.unwrap(), Relocated::Done);
        assert!(history.authors("a").await.unwrap().is_empty());
        assert_eq!(history.authors("b").await.unwrap(), [(1, "ada".to_owned())].into());
        assert_eq!(storage.delete("b").await.unwrap(), Relocated::Done);
        assert!(history.authors("b").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sqlite_log_snapshot_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        sql::tests::log_snapshot_and_listing(&storage).await;

        // Reopening runs the migrations again without harm and keeps the data.
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        assert_eq!(storage.load("b").await.unwrap().updates, vec![b"x".to_vec()]);
    }
}
