//! [`Storage`] over sqlx: SQLite (one file, WAL) and PostgreSQL share every query (both accept
//! `$N` parameters and `ON CONFLICT ... DO UPDATE`); only the schema and the connection setup
//! differ.
//!
//! Tables: `updates` (the log: autoincrement id, doc, data), `snapshots` (doc → compacted state)
//! and `documents` (doc → stored bytes and last change, for the listing).

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{DocumentInfo, Storage, StorageError, StoredDocument, WriteOp, unix_ms};

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
const TOUCH_AFTER_APPEND: &str = "INSERT INTO documents (id, stored_bytes, updated_at) ";
const TOUCH_AFTER_APPEND_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET \
     stored_bytes = documents.stored_bytes + excluded.stored_bytes, updated_at = excluded.updated_at";
const DROP_LOG: &str = "DELETE FROM updates WHERE doc = $1";
const PUT_SNAPSHOT: &str = "INSERT INTO snapshots (doc, state, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (doc) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at";
const TOUCH_AFTER_SNAPSHOT: &str = "INSERT INTO documents (id, stored_bytes, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET stored_bytes = excluded.stored_bytes";
const LIST: &str = "SELECT id, stored_bytes, updated_at FROM documents ORDER BY id";

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

    /// Writes the run (if any) and empties it.
    async fn write<DB>(
        &mut self,
        tx: &mut <DB as sqlx::Database>::Connection,
        now: i64,
    ) -> Result<(), sqlx::Error>
    where
        DB: sqlx::Database + sqlx::database::HasStatementCache,
        for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
        <DB as sqlx::Database>::Arguments: Default + sqlx::IntoArguments<DB>,
        for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        for chunk in self.updates.chunks(ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::<DB>::new(APPEND);
            insert.push_values(chunk, |mut row, (doc, update)| {
                row.push_bind(*doc).push_bind(*update);
            });
            // Row counts vary per commit: do not fill the prepared-statement cache with them.
            insert.build().persistent(false).execute(&mut *tx).await?;
        }
        for chunk in self.documents.chunks(ROWS_PER_STATEMENT) {
            let mut touch = sqlx::QueryBuilder::<DB>::new(TOUCH_AFTER_APPEND);
            touch.push_values(chunk, |mut row, (doc, bytes)| {
                row.push_bind(*doc).push_bind(*bytes).push_bind(now);
            });
            touch.push(TOUCH_AFTER_APPEND_CONFLICT);
            touch.build().persistent(false).execute(&mut *tx).await?;
        }
        self.updates.clear();
        self.documents.clear();
        Ok(())
    }
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
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        migrator(SQLITE_SCHEMA).run(&writer).await?;
        let reader =
            SqlitePoolOptions::new().max_connections(SQLITE_READERS).connect_with(options).await?;
        Ok(Self { reader, writer })
    }
}

/// PostgreSQL storage.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    /// One pool: PostgreSQL serves readers and the writer side by side. (Two fields so that
    /// both backends share the code below.)
    reader: PgPool,
    writer: PgPool,
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
        Ok(Self { reader: pool.clone(), writer: pool })
    }
}

/// The [`Storage`] methods, identical for both backends but for the pool's type.
macro_rules! sql_storage {
    ($name:ident, $db:ty) => {
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
                    let mut tx = self.writer.begin().await?;
                    // Runs of appends become a few multi-row statements; a snapshot drops the
                    // log written before it, so it splits the runs and keeps its place.
                    let mut run = AppendRun::default();
                    for op in ops {
                        match op {
                            WriteOp::Append { doc, update } => run.push(doc, update),
                            WriteOp::Snapshot { doc, state } => {
                                run.write::<$db>(&mut *tx, now).await?;
                                sqlx::query(DROP_LOG).bind(&**doc).execute(&mut *tx).await?;
                                sqlx::query(PUT_SNAPSHOT)
                                    .bind(&**doc)
                                    .bind(state.as_slice())
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                                sqlx::query(TOUCH_AFTER_SNAPSHOT)
                                    .bind(&**doc)
                                    .bind(state.len() as i64)
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                        }
                    }
                    run.write::<$db>(&mut *tx, now).await?;
                    tx.commit().await?;
                    Ok(())
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

        storage
            .commit(&[append("a", b"one"), append("b", b"x"), append("a", b"two")])
            .await
            .unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(loaded.updates, vec![b"one".to_vec(), b"two".to_vec()]);

        // The snapshot drops only what was appended before it in the same commit.
        let snapshot = WriteOp::Snapshot { doc: Arc::from("a"), state: b"state".to_vec() };
        storage
            .commit(&[
                append("a", b"lost"),
                snapshot,
                append("a", b"three"),
                append("a", EMPTY_UPDATE),
            ])
            .await
            .unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot.as_deref(), Some(&b"state"[..]));
        assert_eq!(loaded.updates, vec![b"three".to_vec()]);

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
        assert_eq!(sizes, vec![("a", 10), ("b", 1), ("c", bytes("c")), ("d", bytes("d"))]);
        storage.ping().await.unwrap();
        storage.close().await;
    }

    #[tokio::test]
    async fn sqlite_log_snapshot_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        log_snapshot_and_listing(&storage).await;

        // Reopening runs the migrations again without harm and keeps the data.
        let storage = SqliteStorage::open(&dir.path().join("sub/t.db")).await.unwrap();
        assert_eq!(storage.load("b").await.unwrap().updates, vec![b"x".to_vec()]);
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
